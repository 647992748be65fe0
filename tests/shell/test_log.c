/* Unit tests of logging (daemon/shell/log.c): lines in each format, and the
 * per-call-site rate limit of warnings with its count of lines held back. */
#include "helpers.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

/* Log lines in each format, on a terminal and under journald: 2026-11-23
 * 07:00:00.042Z is T0 + 42 ms. */
static void test_log_render(void) {
  char line[512];
  cxp_log_render(line, sizeof line, CXP_LOG_TEXT, 0, T0 + 42, CXP_LOG_WARN, "commit", "x failed");
  CHECK_STR(line, "2026-11-23T07:00:00.042Z warn  commit: x failed\n");
  cxp_log_render(line, sizeof line, CXP_LOG_TEXT, 1, T0, CXP_LOG_ERROR, "kafka", "down");
  CHECK_STR(line, "<3>kafka: down\n");
  cxp_log_render(line, sizeof line, CXP_LOG_LOGFMT, 0, T0, CXP_LOG_INFO, "daemon",
                 "said \"hi\"\tthen\nleft");
  CHECK_STR(line, "ts=2026-11-23T07:00:00.000Z level=info component=daemon "
                  "msg=\"said \\\"hi\\\"\\tthen\\nleft\"\n");
  cxp_log_render(line, sizeof line, CXP_LOG_JSON, 1, T0, CXP_LOG_DEBUG, "http", "a\001b");
  CHECK_STR(line, "<7>{\"level\":\"debug\",\"component\":\"http\",\"msg\":\"a\\u0001b\"}\n");
  cxp_log_render(line, sizeof line, CXP_LOG_JSON, 0, T0, CXP_LOG_INFO, "x", "y");
  CHECK_STR(line, "{\"ts\":\"2026-11-23T07:00:00.000Z\",\"level\":\"info\",\"component\":\"x\","
                  "\"msg\":\"y\"}\n");
  /* A message longer than the line is cut, and the line still ends. */
  char big[1000];
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  size_t n = cxp_log_render(line, 100, CXP_LOG_JSON, 0, T0, CXP_LOG_INFO, "x", big);
  CHECK_LE(n, 99);
  CHECK_INT(line[n - 1], '\n');
  CHECK_INT(cxp_log_parse_format("logfmt"), CXP_LOG_LOGFMT);
  CHECK_INT(cxp_log_parse_format("xml"), -1);
}

/* A clock the rate limits read, moved by the test. */
static int64_t fake_ms;
static int64_t fake_clock(void) { return fake_ms; }

static int count_lines(const char *path) {
  FILE *f = fopen(path, "r");
  int n = 0, c;
  while (f && (c = fgetc(f)) != EOF) n += c == '\n';
  if (f) fclose(f);
  return n;
}

/* One call site of cxp_warn: its lines share a rate limit. */
static void warn_refused(int i) { cxp_warn("test", "refused %d", i); }

static void test_log_rate_limit(void) {
  char path[] = "/tmp/cxp-test-log-XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  close(fd);
  int saved = capture_begin(path);
  cxp_log_clock = fake_clock;
  uint64_t before = cxp_log_suppressed_total();
  /* 25 at once: 10 lines, 15 held back. */
  fake_ms = 1000;
  for (int i = 0; i < 25; i++) warn_refused(i);
  fflush(stderr);
  int after_burst = count_lines(path);
  /* The interval over: the count (naming the last held back), the line,
   * 9 more, and 11 held back. */
  fake_ms = 1000 + CXP_LOG_INTERVAL_MS;
  for (int i = 100; i < 121; i++) warn_refused(i);
  fflush(stderr);
  int after_second = count_lines(path);
  /* A timer writes the count once the interval is over, not before. */
  fake_ms = 1000 + 2 * CXP_LOG_INTERVAL_MS - 1;
  cxp_log_flush_suppressed();
  fflush(stderr);
  int before_flush = count_lines(path);
  fake_ms = 1000 + 2 * CXP_LOG_INTERVAL_MS;
  cxp_log_flush_suppressed();
  cxp_log_flush_suppressed(); /* nothing more to say */
  fflush(stderr);
  int after_flush = count_lines(path);
  /* Info lines are never held back. */
  int level = cxp_log_level;
  cxp_log_level = CXP_LOG_INFO;
  for (int i = 0; i < 30; i++) cxp_info("test", "info %d", i);
  cxp_log_level = level;
  capture_end(saved);
  cxp_log_clock = NULL;
  CHECK_INT(after_burst, 10);
  CHECK_INT(after_second, 10 + 1 + 10);
  CHECK_INT(before_flush, 21);
  CHECK_INT(after_flush, 22);
  CHECK_INT(count_lines(path), 22 + 30);
  CHECK_INT(cxp_log_suppressed_total() - before, 15 + 11);
  size_t len;
  char err[128];
  char *text = cxp_read_file(path, &len, err, sizeof err);
  CHECK_CONTAINS(text, "15 more line(s) like this suppressed in the last 10 s: refused 24");
  CHECK_CONTAINS(text, "11 more line(s) like this suppressed in the last 10 s: refused 120");
  free(text);
  unlink(path);
}

int main(void) {
  test_log_render();
  test_log_rate_limit();
  return TEST_REPORT();
}
