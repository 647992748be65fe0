/* The process_* metrics (daemon/shell/procstat.c): a stat line written by
 * hand, this test's own process read live, and the families' exact text. */
#include "test.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "jsonw.h"
#include "metrics.h"
#include "procstat.h"

/* A command name with spaces and parentheses of its own, then the fields:
 * utime 250 and stime 50 ticks, starttime 123456 ticks after boot, vsize
 * 100 MiB, rss 2560 pages. */
static const char *const stat_line =
    "1234 (cx (a) b) S 1 1234 1234 0 -1 4194560 100 0 2 0 250 50 0 0 20 0 3 0 123456 "
    "104857600 2560 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 17 1 0 0 0 0 0\n";

static void parse(void) {
  cxp_procstat ps;
  /* 100 ticks a second, 4096-byte pages, booted at 1,700,000,000. */
  CHECK_INT(cxp_procstat_parse(stat_line, 100, 4096, 1700000000, &ps), 0);
  CHECK_NEAR(ps.cpu_seconds, 3.0, 1e-12);              /* (250 + 50) / 100 */
  CHECK_NEAR(ps.virtual_bytes, 104857600, 0);
  CHECK_NEAR(ps.resident_bytes, 10485760, 0);          /* 2560 * 4096 */
  CHECK_NEAR(ps.start_time, 1700001234.56, 1e-6);      /* boot + 123456 / 100 */
  /* No boot time: the rest still read. */
  CHECK_INT(cxp_procstat_parse(stat_line, 100, 4096, NAN, &ps), 0);
  CHECK(isnan(ps.start_time));
  CHECK_NEAR(ps.cpu_seconds, 3.0, 1e-12);

  /* Bad input: every figure NAN. */
  static const char *const bad[] = {
      "",
      "1234 cx S 1 1234",                           /* no parentheses */
      "1234 (cx) S 1 1234 1234 0 -1 4194560 100 0", /* cut short */
      "1234 (cx) S 1 1234 1234 0 -1 4194560 100 0 2 0 x 50 0 0 20 0 3 0 1 2 3",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    test_ctx = bad[i];
    CHECK_INT(cxp_procstat_parse(bad[i], 100, 4096, 1700000000, &ps), -1);
    CHECK(isnan(ps.cpu_seconds) && isnan(ps.resident_bytes) && isnan(ps.start_time));
  }
  test_ctx = NULL;
  CHECK_INT(cxp_procstat_parse(stat_line, 0, 4096, 1700000000, &ps), -1); /* no tick rate */
}

/* This process, read live: plausible figures, and the two that can be
 * known exactly (one more descriptor; the soft limit set here). */
static void live(void) {
  cxp_procstat ps;
  time_t now = time(NULL);
  cxp_procstat_read(&ps);
  CHECK_GT(ps.resident_bytes, 1e6);
  CHECK_GE(ps.virtual_bytes, ps.resident_bytes);
  CHECK_GE(ps.cpu_seconds, 0.0);
  /* Started within the last hour (and not in the future: the boot time
   * is whole seconds, hence the one second of slack). */
  CHECK_GT(ps.start_time, (double)now - 3600);
  CHECK_LE(ps.start_time, (double)now + 1);
  CHECK_GE(ps.open_fds, 3.0);
  double before = ps.open_fds;
  int fd = open("/dev/null", O_RDONLY);
  CHECK_GE(fd, 0);
  cxp_procstat_read(&ps);
  CHECK_NEAR(ps.open_fds, before + 1, 0);
  close(fd);
  cxp_procstat_read(&ps);
  CHECK_NEAR(ps.open_fds, before, 0);

  struct rlimit rl;
  CHECK_INT(getrlimit(RLIMIT_NOFILE, &rl), 0);
  if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= 512) {
    struct rlimit low = {512, rl.rlim_max};
    CHECK_INT(setrlimit(RLIMIT_NOFILE, &low), 0);
    cxp_procstat_read(&ps);
    CHECK_NEAR(ps.max_fds, 512, 0);
    CHECK_INT(setrlimit(RLIMIT_NOFILE, &rl), 0);
  }
}

/* The families as written, by hand: HELP, TYPE, the value; a NAN figure
 * left out, family and all; an unlimited descriptor limit as +Inf. */
static void text(void) {
  cxp_procstat ps = {.cpu_seconds = 3.5,
                     .virtual_bytes = 104857600,
                     .resident_bytes = 10485760,
                     .start_time = NAN,
                     .open_fds = 12,
                     .max_fds = INFINITY};
  cxp_buf b;
  cxp_metrics m;
  cxp_buf_init(&b);
  cxp_metrics_init(&m, &b);
  cxp_procstat_metrics(&m, &ps);
  static const char want[] =
      "# HELP process_cpu_seconds_total CPU time used by the process, user and system, in "
      "seconds.\n"
      "# TYPE process_cpu_seconds_total counter\n"
      "process_cpu_seconds_total 3.5\n"
      "# HELP process_open_fds File descriptors the process has open.\n"
      "# TYPE process_open_fds gauge\n"
      "process_open_fds 12\n"
      "# HELP process_max_fds The most file descriptors the process may open (its soft limit).\n"
      "# TYPE process_max_fds gauge\n"
      "process_max_fds +Inf\n"
      "# HELP process_virtual_memory_bytes Size of the process's virtual address space in "
      "bytes.\n"
      "# TYPE process_virtual_memory_bytes gauge\n"
      "process_virtual_memory_bytes 104857600\n"
      "# HELP process_resident_memory_bytes Bytes of the process's memory resident in RAM.\n"
      "# TYPE process_resident_memory_bytes gauge\n"
      "process_resident_memory_bytes 10485760\n";
  CHECK_MEM(b.p, b.len, want, sizeof want - 1);
  cxp_buf_free(&b);
}

int main(void) {
  parse();
  live();
  text();
  return TEST_REPORT();
}
