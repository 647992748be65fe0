/* Tools for SREs beside the daemon: `cxpulse tail` follows one of the
 * daemon's output topics in readable form; `cxpulse top` follows a running
 * instance's admin endpoint, refreshing in place. Both are ordinary blocking
 * command-line programs: no loop of the daemon's is involved. */
#ifndef CXP_CLI_H
#define CXP_CLI_H

int cxp_tail_main(int argc, char **argv);
int cxp_top_main(int argc, char **argv);
/* `cxpulse state`: the per-customer state a changelog topic holds. */
int cxp_state_main(int argc, char **argv);

/* One record of a topic as a readable line ("alerts", "indicators",
 * "dead-letters"), into out; the raw value when it is not the JSON the kind
 * expects. Returns the line's length. */
#include <stddef.h>
size_t cxp_tail_format(char *out, size_t cap, const char *kind, const char *val, size_t len);

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
