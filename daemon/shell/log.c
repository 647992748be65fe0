#include "log.h"

#include <pthread.h>
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

int64_t cxp_wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void write_line(int level, const char *comp, const char *msg) {
  static int journal = -1;
  char line[4096];
  if (journal < 0) journal = getenv("JOURNAL_STREAM") != NULL;
  size_t len =
      cxp_log_render(line, sizeof line, cxp_log_format, journal, cxp_wall_ms(), level, comp, msg);
  /* One write per line so lines from librdkafka's threads never interleave
   * mid-line. */
  fwrite(line, 1, len, stderr);
}

int64_t (*cxp_log_clock)(void);

static int64_t now_ms(void) {
  if (cxp_log_clock) return cxp_log_clock();
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sites are shared by the loop and librdkafka's threads (its log callback
 * is one site): their counts change under this lock. */
static pthread_mutex_t sites_lock = PTHREAD_MUTEX_INITIALIZER;
static cxp_log_site *sites;
static uint64_t suppressed_total;

/* Called with the lock held: the site's suppressed count, if its interval
 * is over, as one line into out (empty otherwise); a new interval begins. */
static void close_interval(cxp_log_site *s, int64_t now, char *out, size_t cap) {
  out[0] = '\0';
  if (now - s->since_ms < CXP_LOG_INTERVAL_MS) return;
  if (s->suppressed)
    snprintf(out, cap, "%u more line(s) like this suppressed in the last %lld s: %s",
             s->suppressed, (long long)((now - s->since_ms + 999) / 1000), s->last);
  s->since_ms = now;
  s->written = s->suppressed = 0;
}

void cxp_log_write_at(cxp_log_site *site, int level, const char *comp, const char *fmt, ...) {
  char msg[1800], note[1900];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (level > CXP_LOG_WARN) {
    write_line(level, comp, msg);
    return;
  }
  int64_t now = now_ms();
  pthread_mutex_lock(&sites_lock);
  if (site->written == 0 && site->suppressed == 0) site->since_ms = now;
  close_interval(site, now, note, sizeof note);
  int write = site->written < CXP_LOG_BURST;
  if (write) {
    site->written++;
  } else {
    site->suppressed++;
    suppressed_total++;
    site->level = level;
    site->comp = comp;
    snprintf(site->last, sizeof site->last, "%.*s", (int)sizeof site->last - 1, msg);
    if (!site->listed) {
      site->listed = 1;
      site->next = sites;
      sites = site;
    }
  }
  pthread_mutex_unlock(&sites_lock);
  if (note[0]) write_line(level, comp, note);
  if (write) write_line(level, comp, msg);
}

void cxp_log_flush_suppressed(void) {
  int64_t now = now_ms();
  for (;;) {
    char note[1900];
    int level = 0;
    const char *comp = NULL;
    pthread_mutex_lock(&sites_lock);
    for (cxp_log_site *s = sites; s && comp == NULL; s = s->next)
      if (s->suppressed && now - s->since_ms >= CXP_LOG_INTERVAL_MS) {
        level = s->level;
        comp = s->comp;
        close_interval(s, now, note, sizeof note);
      }
    pthread_mutex_unlock(&sites_lock);
    if (comp == NULL) return;
    write_line(level, comp, note);
  }
}

uint64_t cxp_log_suppressed_total(void) {
  pthread_mutex_lock(&sites_lock);
  uint64_t n = suppressed_total;
  pthread_mutex_unlock(&sites_lock);
  return n;
}
