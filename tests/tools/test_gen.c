/* The traffic generator (daemon/tools/gen.c): the synthetic customers
 * behave as the churn evaluation (`cxpulse eval-churn`) relies on. */
#include "helpers.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

/* The generator's world (docs/scenario.md) as the evaluation relies on it:
 * a customer who cancels has wound down first. Two passes over the same
 * seeded history (the generator is deterministic): the first finds each
 * customer's cancellation, the second counts his events (and purchases) in
 * the 14 days before it against the 70 days before those. By design (he
 * comes 0.3 as often once decided, 2 + Exp(mean 20) days before he
 * cancels) the winding-down covers on average 2 + 20 (1 - e^-0.6) = 11.0 of
 * those 14 days, so the recent rate is about 0.3 x 11.0/14 + 3.0/14 = 0.45
 * of the earlier one (less where a fading activity came first), and
 * purchases, which stop, about 3.0/14 = 0.21 (plus the few bought through
 * the 15% that still do). Customers who stay, over the last 84 days of the
 * history, keep nearly their rate (only a fading cause lowers it). */
static void test_gen_winding_down(void) {
  enum { CUSTOMERS = 1000, EVENTS = 300000, DAYS = 200 };
  cxp_gen_opts o;
  cxp_gen_opts_default(&o);
  o.seed = 11;
  o.customers = CUSTOMERS;
  o.events_per_sec = (double)EVENTS / (DAYS * 86400.0);
  o.bad_ratio = 0;
  static int64_t cancel_at[CUSTOMERS];
  /* [0] recent 14 days, [1] the 70 before; events, purchases; leavers and
   * stayers. */
  double ev[2][2] = {{0}}, pu[2][2] = {{0}};
  int64_t end = 0;
  long leavers = 0;
  char buf[1024], key[32];
  size_t klen;
  int too_long = 0;
  for (int pass = 0; pass < 2; pass++) {
    cxp_gen *g = cxp_gen_create(&o);
    for (int i = 0; i < EVENTS; i++) {
      size_t n = cxp_gen_next(g, buf, sizeof buf, key, sizeof key, &klen);
      too_long += n >= sizeof buf;
      int64_t t = cxp_gen_time(g);
      long ci = strtol(key + 1, NULL, 10);
      if (ci < 0 || ci >= CUSTOMERS) continue;
      int cancel = strstr(buf, "\"type\":\"subscription.cancelled\"") != NULL;
      if (pass == 0) {
        if (cancel) cancel_at[ci] = t;
        end = t;
        continue;
      }
      if (cancel) continue;
      int stayer = cancel_at[ci] == 0;
      int64_t ref = stayer ? end : cancel_at[ci];
      if (ref - o.start_ms < 84 * D_MS) continue; /* too early to have a history */
      int w = t >= ref - 14 * D_MS ? 0 : t >= ref - 84 * D_MS ? 1 : -1;
      if (w < 0) continue;
      ev[stayer][w] += 1;
      if (strstr(buf, "\"type\":\"purchase\"")) pu[stayer][w] += 1;
    }
    cxp_gen_destroy(g);
  }
  for (int i = 0; i < CUSTOMERS; i++)
    if (cancel_at[i] && cancel_at[i] - o.start_ms >= 84 * D_MS) leavers++;
  double ev_leave = (ev[0][0] / 14) / (ev[0][1] / 70), pu_leave = (pu[0][0] / 14) / (pu[0][1] / 70);
  double ev_stay = (ev[1][0] / 14) / (ev[1][1] / 70), pu_stay = (pu[1][0] / 14) / (pu[1][1] / 70);
  CHECK_INT(too_long, 0);
  /* Seed 11 gives 293 leavers with that much history; rates 0.465 and
   * 0.235, stayers 1.08 and 1.02. */
  CHECK_GT(leavers, 150);
  CHECK_GT(ev_leave, 0.35);
  CHECK_LT(ev_leave, 0.6);
  CHECK_LT(pu_leave, 0.35);
  CHECK_GT(ev_stay, 0.85);
  CHECK_GT(pu_stay, 0.85);
}

int main(void) {
  test_gen_winding_down();
  return TEST_REPORT();
}
