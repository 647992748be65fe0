#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int cxp_log_level = CXP_LOG_INFO;

static const char *names[] = {"error", "warn", "info", "debug"};

int cxp_log_parse_level(const char *name) {
  for (int i = 0; i < 4; i++)
    if (strcmp(name, names[i]) == 0) return i;
  return -1;
}

const char *cxp_log_level_name(int level) {
  return level >= 0 && level < 4 ? names[level] : "?";
}

void cxp_log_write(int level, const char *comp, const char *fmt, ...) {
  /* Under journald (JOURNAL_STREAM is set) a "<N>" prefix carries the
   * syslog priority and journald adds the time itself; on a terminal a
   * timestamp and a level word read better. */
  static int journal = -1;
  static const int prio[] = {3, 4, 6, 7};
  char line[2048];
  int n;
  va_list ap;

  if (journal < 0) journal = getenv("JOURNAL_STREAM") != NULL;
  if (journal) {
    n = snprintf(line, sizeof line, "<%d>%s: ", prio[level], comp);
  } else {
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s: ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L, names[level], comp);
  }
  if (n < 0 || (size_t)n >= sizeof line) n = 0;
  va_start(ap, fmt);
  int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
  va_end(ap);
  if (m < 0) m = 0;
  size_t len = (size_t)n + (size_t)m;
  if (len > sizeof line - 2) len = sizeof line - 2;
  /* One write per line so lines from librdkafka's threads never interleave
   * mid-line. */
  line[len++] = '\n';
  fwrite(line, 1, len, stderr);
}
