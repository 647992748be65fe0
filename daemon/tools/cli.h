/* Tools for SREs beside the daemon: `cxpulse tail` follows one of the
 * daemon's output topics in readable form; `cxpulse top` follows a running
 * instance's admin endpoint, refreshing in place. Both are ordinary blocking
 * command-line programs: no loop of the daemon's is involved. */
#ifndef CXP_CLI_H
#define CXP_CLI_H

#include <signal.h>

/* Set by cxp_cli_on_stop (SIGINT, SIGTERM, ...): a tool's loop ends. */
extern volatile sig_atomic_t cxp_cli_stop;
void cxp_cli_on_stop(int sig);

int cxp_tail_main(int argc, char **argv);
int cxp_top_main(int argc, char **argv);
/* `cxpulse state`: the per-customer state a changelog topic holds. */
int cxp_state_main(int argc, char **argv);

/* One record of a topic as a readable line ("alerts", "indicators",
 * "dead-letters", "cases"), into out; the raw value when it is not the JSON the kind
 * expects. Returns the line's length. */
#include <stddef.h>
size_t cxp_tail_format(char *out, size_t cap, const char *kind, const char *val, size_t len);

/* tail's filters, all of which a record must pass. A record that is not a
 * JSON object, or lacks a field a filter reads, passes none. */
#define CXP_TAIL_MAX_FILTER 16
typedef struct cxp_tail_filter {
  /* --type: each a comma-separated list of alert types, a name ending in
   * '.' or '*' standing for every type it begins ("recovery." or
   * "recovery.*"); the type must be one of them. */
  const char *types[CXP_TAIL_MAX_FILTER];
  int n_types;
  /* --customer: customer_id must be one of these. */
  const char *customers[CXP_TAIL_MAX_FILTER];
  int n_customers;
  int priority; /* --priority: P1 to P<priority> pass (P1 is the most urgent); 0 any */
} cxp_tail_filter;

/* 1 when the record val[0, len) passes f, 0 when it does not. With no filter
 * set every record passes, JSON or not. */
int cxp_tail_match(const cxp_tail_filter *f, const char *val, size_t len);

/* top's latency figures from a /metrics exposition, into out: "p50 6.00 ms
 * p99 > 10.00 ms   mean 5.10 ms over 100 events" (the quantiles
 * interpolated inside their histogram bucket, scrape.h), or a dash and why
 * when nothing was measured. Returns the length. */
size_t cxp_top_latency(char *out, size_t cap, const char *metrics);
/* top's lag from the same: the sum over the partitions and the `worst` (at
 * most 8) furthest behind, "1200 messages over 4 partitions; worst p3 800,
 * p0 300" (partitions without lag not named). Returns the length. */
size_t cxp_top_lag(char *out, size_t cap, const char *metrics, int worst);

#endif
