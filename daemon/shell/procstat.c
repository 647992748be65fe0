#include "procstat.h"

#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

int cxp_procstat_parse(const char *line, double ticks, double page, double boot,
                       cxp_procstat *ps) {
  ps->cpu_seconds = ps->virtual_bytes = ps->resident_bytes = ps->start_time = NAN;
  /* The command name may contain ") ", so the fields start after the last
   * ')'. From there: state (field 3), then fields 4..24, of which utime
   * (14), stime (15), starttime (22), vsize (23) and rss (24) are read. */
  const char *p = strrchr(line, ')');
  unsigned long utime, stime, vsize;
  unsigned long long start;
  long rss;
  if (p == NULL || !(ticks > 0) ||
      sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %*d %*d"
                    " %llu %lu %ld",
             &utime, &stime, &start, &vsize, &rss) != 5)
    return -1;
  ps->cpu_seconds = (double)(utime + stime) / ticks;
  ps->virtual_bytes = (double)vsize;
  ps->resident_bytes = (double)rss * page;
  ps->start_time = boot + (double)start / ticks;
  return 0;
}

/* The boot time from /proc/stat's btime line, NAN when missing. It never
 * changes, so it is read once. */
static double boot_time(void) {
  static double boot = -1;
  if (boot >= 0 || isnan(boot)) return boot;
  boot = NAN;
  FILE *f = fopen("/proc/stat", "r");
  char line[512];
  unsigned long long b;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "btime %llu", &b) == 1) {
      boot = (double)b;
      break;
    }
  if (f) fclose(f);
  return boot;
}

/* Open descriptors, the directory's own left out; NAN without /proc. */
static double open_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL) return NAN;
  char own[16];
  snprintf(own, sizeof own, "%d", dirfd(d));
  double n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.' && strcmp(e->d_name, own) != 0) n++;
  closedir(d);
  return n;
}

void cxp_procstat_read(cxp_procstat *ps) {
  char line[1024] = "";
  FILE *f = fopen("/proc/self/stat", "r");
  if (f == NULL || fgets(line, sizeof line, f) == NULL) line[0] = '\0';
  if (f) fclose(f);
  cxp_procstat_parse(line, (double)sysconf(_SC_CLK_TCK), (double)sysconf(_SC_PAGESIZE),
                     boot_time(), ps);
  ps->open_fds = open_fds();
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    ps->max_fds = NAN;
  else
    ps->max_fds = rl.rlim_cur == RLIM_INFINITY ? INFINITY : (double)rl.rlim_cur;
}

static void family(cxp_metrics *m, const char *name, cxp_metric_type type, const char *help,
                   double v) {
  if (isnan(v)) return;
  cxp_metrics_family(m, name, type, help);
  /* Byte and descriptor counts as the whole numbers they are, not in the
   * shortest %g (1.048576e+08), which reads back the same but not as well. */
  if (v >= 0 && v < 9007199254740992.0 && v == floor(v))
    cxp_metrics_u64(m, NULL, (uint64_t)v);
  else
    cxp_metrics_f64(m, NULL, v);
}

void cxp_procstat_metrics(cxp_metrics *m, const cxp_procstat *ps) {
  family(m, "process_cpu_seconds_total", CXP_METRIC_COUNTER,
         "CPU time used by the process, user and system, in seconds.", ps->cpu_seconds);
  family(m, "process_open_fds", CXP_METRIC_GAUGE, "File descriptors the process has open.",
         ps->open_fds);
  family(m, "process_max_fds", CXP_METRIC_GAUGE,
         "The most file descriptors the process may open (its soft limit).", ps->max_fds);
  family(m, "process_virtual_memory_bytes", CXP_METRIC_GAUGE,
         "Size of the process's virtual address space in bytes.", ps->virtual_bytes);
  family(m, "process_resident_memory_bytes", CXP_METRIC_GAUGE,
         "Bytes of the process's memory resident in RAM.", ps->resident_bytes);
  family(m, "process_start_time_seconds", CXP_METRIC_GAUGE,
         "When the process started, in seconds since the Unix epoch.", ps->start_time);
}
