/* The process's own figures as Prometheus' client libraries export them
 * (process_cpu_seconds_total, process_resident_memory_bytes, ...), so that
 * dashboards and rules written for any exporter read cxpulse too.
 *
 * Read from /proc/self/stat, /proc/self/fd and getrlimit() for each
 * scrape, on the loop: a few small reads of files the kernel makes up on
 * the spot, no waiting on disks or the network. */
#ifndef CXP_PROCSTAT_H
#define CXP_PROCSTAT_H

#include "metrics.h"

/* NAN where a figure could not be read. */
typedef struct cxp_procstat {
  double cpu_seconds;    /* user and system time of every thread */
  double virtual_bytes;  /* the address space's size */
  double resident_bytes; /* pages in memory */
  double start_time;     /* seconds since the Unix epoch */
  double open_fds, max_fds; /* max_fds: the soft limit; +Inf when unlimited */
} cxp_procstat;

/* A /proc/<pid>/stat line into ps's cpu, memory and start figures, given
 * the clock ticks per second, the page size and the boot time (seconds
 * since the epoch; NAN leaves start_time NAN): 0, or -1 when the line does
 * not parse (those figures then NAN). The command name in parentheses may
 * hold spaces and parentheses itself. */
int cxp_procstat_parse(const char *line, double ticks, double page, double boot,
                       cxp_procstat *ps);

/* This process's figures. */
void cxp_procstat_read(cxp_procstat *ps);

/* The process_* families with their HELP and TYPE lines; a figure that is
 * NAN is left out, family and all. */
void cxp_procstat_metrics(cxp_metrics *m, const cxp_procstat *ps);

#endif
