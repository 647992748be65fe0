#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int cxp_log_level = CXP_LOG_INFO;
int cxp_log_format = CXP_LOG_TEXT;

static const char *names[] = {"error", "warn", "info", "debug"};
static const char *formats[] = {"text", "logfmt", "json"};

int cxp_log_parse_level(const char *name) {
  for (int i = 0; i < 4; i++)
    if (strcmp(name, names[i]) == 0) return i;
  return -1;
}

int cxp_log_parse_format(const char *name) {
  for (int i = 0; i < 3; i++)
    if (strcmp(name, formats[i]) == 0) return i;
  return -1;
}

const char *cxp_log_level_name(int level) {
  return level >= 0 && level < 4 ? names[level] : "?";
}

/* Appends s quoted for logfmt or JSON (the same escapes serve both: \" \\
 * \n \t and \u00XX for other control bytes); bytes past cap are dropped. */
static size_t quoted(char *out, size_t n, size_t cap, const char *s) {
  static const char hex[] = "0123456789abcdef";
  if (n < cap) out[n++] = '"';
  for (; *s && n + 7 < cap; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') {
      out[n++] = '\\';
      out[n++] = (char)ch;
    } else if (ch == '\n') {
      out[n++] = '\\';
      out[n++] = 'n';
    } else if (ch == '\t') {
      out[n++] = '\\';
      out[n++] = 't';
    } else if (ch < 0x20) {
      memcpy(out + n, "\\u00", 4);
      out[n + 4] = hex[ch >> 4];
      out[n + 5] = hex[ch & 15];
      n += 6;
    } else {
      out[n++] = (char)ch;
    }
  }
  if (n < cap) out[n++] = '"';
  return n;
}

size_t cxp_log_render(char *out, size_t cap, int format, int journal, int64_t now_ms,
                      int level, const char *comp, const char *msg) {
  /* Under journald (JOURNAL_STREAM is set) a "<N>" prefix carries the syslog
   * priority and journald adds the time itself; elsewhere the line has its
   * own UTC timestamp. */
  static const int prio[] = {3, 4, 6, 7};
  char ts[64] = "";
  int n = 0;
  if (cap < 64) return 0;
  if (level < 0 || level > 3) level = CXP_LOG_ERROR;
  if (!journal) {
    time_t sec = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)((now_ms % 1000 + 1000) % 1000));
  }
  cap -= 2; /* room for the newline and a NUL */
  if (journal) n = snprintf(out, cap, "<%d>", prio[level]);
  size_t len = (size_t)(n > 0 ? n : 0);
  switch (format) {
    case CXP_LOG_LOGFMT:
      if (!journal) len += (size_t)snprintf(out + len, cap - len, "ts=%s ", ts);
      len += (size_t)snprintf(out + len, cap - len, "level=%s component=%s msg=", names[level],
                              comp);
      len = quoted(out, len, cap, msg);
      break;
    case CXP_LOG_JSON:
      len += (size_t)snprintf(out + len, cap - len, "{");
      if (!journal) len += (size_t)snprintf(out + len, cap - len, "\"ts\":\"%s\",", ts);
      len += (size_t)snprintf(out + len, cap - len, "\"level\":\"%s\",\"component\":",
                              names[level]);
      len = quoted(out, len, cap, comp);
      len += (size_t)snprintf(out + len, cap - len, ",\"msg\":");
      len = quoted(out, len, cap, msg);
      if (len < cap) out[len++] = '}';
      break;
    default:
      if (journal)
        len += (size_t)snprintf(out + len, cap - len, "%s: %s", comp, msg);
      else
        len += (size_t)snprintf(out + len, cap - len, "%s %-5s %s: %s", ts, names[level], comp,
                                msg);
      break;
  }
  if (len > cap) len = cap;
  out[len++] = '\n';
  out[len] = '\0';
  return len;
}

void cxp_log_write(int level, const char *comp, const char *fmt, ...) {
  static int journal = -1;
  char msg[1800], line[4096];
  va_list ap;
  if (journal < 0) journal = getenv("JOURNAL_STREAM") != NULL;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  size_t len = cxp_log_render(line, sizeof line, cxp_log_format, journal,
                              (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, level, comp, msg);
  /* One write per line so lines from librdkafka's threads never interleave
   * mid-line. */
  fwrite(line, 1, len, stderr);
}
