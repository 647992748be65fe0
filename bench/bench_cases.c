/* bench_cases: speed and memory of the recovery cases module alone.
 *
 * Three phases on one partition:
 *  1. open N cases (service.failure, severity 1..4 in turn, one a second of
 *     event time, customers reused every 50 000): ns per opening event, and
 *     bytes held per open case once all N are open;
 *  2. acknowledge and resolve half of them (ns per step event);
 *  3. one event far in the future: every remaining deadline fires
 *     (breaches at three levels, follow-ups, closes): deadlines/s.
 *
 *   taskset -c 0 ./build/bench_cases [N]      (default 1000000)
 *
 * stdout gets one JSON line (for scripts); stderr gets a line for people. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cases.h"

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long long fired;
static void on_breach(void *o, const void *origin, const cxp_case_breach *b) {
  (void)o, (void)origin, (void)b, fired++;
}
static void on_outcome(void *o, const void *origin, const cxp_case_outcome *x) {
  (void)o, (void)origin, (void)x, fired++;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000000;
  if (n < 1) n = 1;
  cxp_cases_conf c;
  cxp_cases_conf_defaults(&c);
  c.max_open = (uint32_t)n;
  cxp_cases_cbs cb = {NULL, on_breach, NULL, on_outcome, NULL, NULL, NULL, NULL, NULL};
  cxp_cases *cs = cxp_cases_create(&c, &cb);
  if (cs == NULL) return 1;
  const int64_t T0 = 1795417200000LL;
  static const char *cats[3] = {"operational", "promise", "communication"};
  char kid[32], cid[32];
  cxp_event e;
  memset(&e, 0, sizeof e);
  e.type = CXP_EV_FAILURE;
  e.detected_by = (cxp_str){"provider", 8};
  e.touchpoint = (cxp_str){"app", 3};
  e.segment = (cxp_str){"basic", 5};

  double t0 = now_s();
  for (long i = 0; i < n; i++) {
    e.case_id.n = (size_t)snprintf(kid, sizeof kid, "case-%ld", i);
    e.case_id.p = kid;
    e.customer_id.n = (size_t)snprintf(cid, sizeof cid, "cust-%ld", i % 50000);
    e.customer_id.p = cid;
    e.event_id = e.case_id;
    e.category = (cxp_str){cats[i % 3], strlen(cats[i % 3])};
    e.severity = (int)(i % 4) + 1;
    e.ts_ms = T0 + i * 1000;
    cxp_cases_add(cs, &e, 0, NULL);
  }
  double t1 = now_s();
  cxp_cases_stats st = cxp_cases_stats_get(cs);
  size_t bytes = cxp_cases_bytes(cs);
  uint32_t open = st.open, deadlines = st.open_deadlines;

  cxp_event s;
  memset(&s, 0, sizeof s);
  long steps = 0;
  for (long i = 0; i < n; i += 2) {
    s.case_id.n = (size_t)snprintf(kid, sizeof kid, "case-%ld", i);
    s.case_id.p = kid;
    s.customer_id = (cxp_str){"x", 1};
    s.event_id = s.case_id;
    s.ts_ms = T0 + (n - 1) * 1000; /* no clock movement */
    s.type = CXP_EV_REC_ACKNOWLEDGED;
    cxp_cases_add(cs, &s, 0, NULL);
    s.type = CXP_EV_REC_RESOLVED;
    cxp_cases_add(cs, &s, 0, NULL);
    steps += 2;
  }
  double t2 = now_s();

  fired = 0;
  cxp_event far;
  memset(&far, 0, sizeof far);
  far.type = CXP_EV_USAGE;
  far.ts_ms = T0 + n * 1000LL + 400LL * 86400000LL;
  cxp_cases_add(cs, &far, 0, NULL);
  double t3 = now_s();

  double ns_open = (t1 - t0) * 1e9 / (double)n;
  double ns_step = steps ? (t2 - t1) * 1e9 / (double)steps : 0;
  double dps = (double)fired / (t3 - t2);
  fprintf(stderr,
          "bench_cases: %ld cases; open %.0f ns/event; step %.0f ns/event; %u open with "
          "%u deadlines in %zu bytes (%.0f B/case, %zu B/case in the structures); "
          "%lld deadlines fired at %.2f M/s\n",
          n, ns_open, ns_step, open, deadlines, bytes, (double)bytes / open,
          cxp_cases_bytes_per_case(cs), fired, dps / 1e6);
  printf("{\"cases\":%ld,\"ns_per_open\":%.1f,\"ns_per_step\":%.1f,\"bytes\":%zu,"
         "\"bytes_per_case\":%.1f,\"deadlines_fired\":%lld,\"deadlines_per_s\":%.0f}\n",
         n, ns_open, ns_step, bytes, (double)bytes / open, fired, dps);
  cxp_cases_destroy(cs);
  return 0;
}
