/* The traffic generator (daemon/tools/gen.c): the synthetic customers
 * behave as the churn evaluation (`cxpulse eval-churn`) relies on, in the
 * demo world and in the others (docs/scenario.md, "Other worlds"). */
#include "helpers.h"

#include <stdint.h>
#include <stdio.h>
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

/* FNV-1a over each event and its key, a line each: a digest of a stream. */
static uint64_t fnv(uint64_t h, const char *p, size_t n) {
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 0x100000001b3ULL;
  return h;
}

/* The digest of the first `events` events of a generator with these
 * options, and how many of them are cancellations. */
static uint64_t digest(const cxp_gen_opts *o, long events, long *cancels) {
  cxp_gen *g = cxp_gen_create(o);
  char buf[1024], key[32];
  size_t klen;
  uint64_t h = 0xcbf29ce484222325ULL;
  *cancels = 0;
  for (long i = 0; i < events; i++) {
    size_t n = cxp_gen_next(g, buf, sizeof buf, key, sizeof key, &klen);
    h = fnv(fnv(fnv(fnv(h, buf, n), "\n", 1), key, klen), "\n", 1);
    *cancels += strstr(buf, "\"type\":\"subscription.cancelled\"") != NULL;
  }
  cxp_gen_destroy(g);
  return h;
}

/* The demo world is the default: the demo, the tests and the benchmarks
 * depend on its events, so a change to them must be meant. The digests
 * were taken from the generator as it stands since its provider keeps to
 * the SLA most of the time and its CX team calls detractors back
 * (docs/scenario.md), with the options below: the default ones (hours of
 * event time), and a 200-day history of 500 customers (its cancellations
 * included). */
static void test_gen_demo_unchanged(void) {
  cxp_gen_opts o;
  cxp_gen_opts_default(&o);
  CHECK_INT(o.world, CXP_GEN_DEMO);
  o.seed = 1;
  long cancels;
  CHECK_EQ(digest(&o, 100000, &cancels), 0x4357e79ead61adadULL);
  CHECK_INT(cancels, 0);
  o.seed = 7;
  o.customers = 500;
  o.events_per_sec = 200000 / (200 * 86400.0);
  CHECK_EQ(digest(&o, 200000, &cancels), 0xa0bc497fb2af9793ULL);
  CHECK_INT(cancels, 190);
}

static void test_gen_world_names(void) {
  CHECK_INT(cxp_gen_world_by_name("demo"), CXP_GEN_DEMO);
  CHECK_INT(cxp_gen_world_by_name("recovery"), CXP_GEN_RECOVERY);
  CHECK_INT(cxp_gen_world_by_name("competitor"), CXP_GEN_COMPETITOR);
  CHECK_INT(cxp_gen_world_by_name("renewal"), CXP_GEN_RENEWAL);
  CHECK_INT(cxp_gen_world_by_name("Renewal"), -1);
  CHECK_INT(cxp_gen_world_by_name(""), -1);
  for (int w = 0; w < CXP_GEN__WORLDS; w++) {
    CHECK_INT(cxp_gen_world_by_name(cxp_gen_world_name(w)), w);
    CHECK_CONTAINS(cxp_gen_world_names(), cxp_gen_world_name(w));
  }
  CHECK_STR(cxp_gen_world_name(CXP_GEN__WORLDS), "?");
  cxp_gen_opts o;
  cxp_gen_opts_default(&o);
  o.world = CXP_GEN__WORLDS;
  CHECK(cxp_gen_create(&o) == NULL);
}

/* A history of the other worlds as the tests read it back from the events:
 * 1000 customers, 300,000 events over 300 days. */
enum { W_CUSTOMERS = 1000, W_EVENTS = 300000, W_DAYS = 300 };

typedef struct wcust {
  int64_t cancel_at;  /* 0: still subscribed at the end */
  int64_t last_fee;   /* his latest renewal fee; 0 none */
  int64_t open_at;    /* his open case's opening */
  int segment;        /* 0 gold, 1 silver, 2 bronze; -1 unseen */
  int64_t first_case; /* his first case's opening (a failure or complaint); 0 none */
  int64_t poor_at;    /* the latest resolution more than 5 days after its case opened */
  int64_t days_to_renewal; /* at his cancellation: CXP_GEN_TERM_DAYS less the
                            * days since his latest fee, in ms; meaningful with a fee */
} wcust;

static const char *const seg_names[] = {"gold", "silver", "bronze"};

static void world_history(int world, uint64_t seed, wcust *cu, int64_t *start) {
  cxp_gen_opts o;
  cxp_gen_opts_default(&o);
  o.seed = seed;
  o.world = world;
  o.customers = W_CUSTOMERS;
  o.events_per_sec = (double)W_EVENTS / (W_DAYS * 86400.0);
  o.bad_ratio = 0;
  *start = o.start_ms;
  memset(cu, 0, W_CUSTOMERS * sizeof *cu);
  for (int i = 0; i < W_CUSTOMERS; i++) cu[i].segment = -1;
  char fee[3][48];
  for (int s = 0; s < 3; s++)
    snprintf(fee[s], sizeof fee[s], "\"type\":\"purchase\",\"amount\":%.2f}",
             cxp_gen_renewal_fee(seg_names[s]));
  cxp_gen *g = cxp_gen_create(&o);
  char buf[1024], key[32];
  size_t klen;
  for (int i = 0; i < W_EVENTS; i++) {
    cxp_gen_next(g, buf, sizeof buf, key, sizeof key, &klen);
    int64_t t = cxp_gen_time(g);
    long ci = strtol(key + 1, NULL, 10);
    if (ci < 0 || ci >= W_CUSTOMERS) continue;
    wcust *c = &cu[ci];
    for (int s = 0; s < 3 && c->segment < 0; s++) {
      char want[32];
      snprintf(want, sizeof want, "\"segment\":\"%s\"", seg_names[s]);
      if (strstr(buf, want)) c->segment = s;
    }
    if (strstr(buf, "\"type\":\"subscription.cancelled\"")) {
      c->cancel_at = t;
      c->days_to_renewal = CXP_GEN_TERM_DAYS * D_MS - (t - c->last_fee);
    } else if (strstr(buf, "\"type\":\"complaint\"") ||
               strstr(buf, "\"type\":\"service.failure\"")) {
      if (!c->first_case) c->first_case = t;
      c->open_at = t;
    } else if (strstr(buf, "\"type\":\"recovery.resolved\"")) {
      if (t - c->open_at > 5 * D_MS) c->poor_at = t;
    } else if (c->segment >= 0 && strstr(buf, fee[c->segment])) {
      c->last_fee = t;
    }
  }
  cxp_gen_destroy(g);
}

/* Every world is deterministic for a seed, differs from the demo's, and
 * has customers who cancel. */
static void test_gen_worlds_deterministic(void) {
  cxp_gen_opts o;
  cxp_gen_opts_default(&o);
  o.seed = 3;
  o.customers = 500;
  o.events_per_sec = 200000 / (200 * 86400.0);
  long c_demo, c1, c2;
  uint64_t demo = digest(&o, 200000, &c_demo);
  for (int w = CXP_GEN_RECOVERY; w < CXP_GEN__WORLDS; w++) {
    o.world = w;
    uint64_t a = digest(&o, 200000, &c1), b = digest(&o, 200000, &c2);
    CHECK_EQ(a, b);
    CHECK_NE(a, demo);
    /* Over 200 days, a few % a month of 500 customers: 20 at the very least. */
    CHECK_GT(c1, 20);
    CHECK_INT(c1, c2);
  }
}

static wcust wc[W_CUSTOMERS];

/* Competitor: the bronze customers subscribed at the shock cancel over the
 * 120 days after it at several times the rate of the others; before the
 * shock, at much the same rate. By design the others have only the hazard
 * no signal explains, 0.0004 a day: 1 - e^-0.048 = 4.7% over 120 days.
 * The bronze add the offer: taken up at 0.02 x sensitivity (uniform 0..1)
 * a day once word of it has spread, and followed by a cancellation four
 * times in five, which takes most of the price-sensitive half of them
 * (seed 5: 41% against 5%; seeds 1..4 alike). */
static void test_gen_competitor(void) {
  int64_t start;
  world_history(CXP_GEN_COMPETITOR, 5, wc, &start);
  int64_t shock = start + CXP_GEN_SHOCK_DAY * D_MS, early = start + 60 * D_MS;
  /* [bronze][0 before the shock (day 60..180), 1 after]: at risk, cancelled */
  double risk[2][2] = {{0}}, gone[2][2] = {{0}};
  for (int i = 0; i < W_CUSTOMERS; i++) {
    const wcust *c = &wc[i];
    if (c->segment < 0) continue;
    int b = c->segment == 2;
    if (!c->cancel_at || c->cancel_at >= early) {
      risk[b][0]++;
      gone[b][0] += c->cancel_at && c->cancel_at < shock;
    }
    if (!c->cancel_at || c->cancel_at >= shock) {
      risk[b][1]++;
      gone[b][1] += c->cancel_at != 0;
    }
  }
  double before_b = gone[1][0] / risk[1][0], before_o = gone[0][0] / risk[0][0];
  double after_b = gone[1][1] / risk[1][1], after_o = gone[0][1] / risk[0][1];
  printf("competitor: cancelled before the shock, bronze %.3f others %.3f; after it, "
         "bronze %.3f others %.3f\n", before_b, before_o, after_b, after_o);
  CHECK_GT(risk[1][1], 200);
  CHECK_GT(risk[0][1], 200);
  CHECK_GT(after_b, 4 * after_o);
  CHECK_LT(after_o, 0.1);
  CHECK_LT(before_b, 2 * before_o + 0.02);
}

/* Renewal: a customer who has paid a fee and then cancels does so in the
 * weeks before his next renewal date (notice is given three weeks ahead,
 * the cancellation falls in the two before the date). Measured from his
 * latest fee, which is paid at his first event on or after the date, the
 * next date is 91 days on: cancellations from 21 days before it to 5 after
 * cover 26 of the 91 days, 29% of the cancellations if they fell anywhere;
 * by design all but those of the off-cycle hazard (0.0002 a day, against a
 * few % a quarter at the renewals) and a few late decisions fall there
 * (seed 5: 257 of 287, 90%; seeds 1..4 88..91%). */
static void test_gen_renewal(void) {
  int64_t start;
  world_history(CXP_GEN_RENEWAL, 5, wc, &start);
  long with_fee = 0, near = 0, fees = 0;
  for (int i = 0; i < W_CUSTOMERS; i++) {
    const wcust *c = &wc[i];
    fees += c->last_fee != 0;
    if (!c->cancel_at || !c->last_fee) continue;
    with_fee++;
    near += c->days_to_renewal <= 21 * D_MS && c->days_to_renewal >= -5 * D_MS;
  }
  printf("renewal: %ld of %ld cancellations after a fee fall near the renewal date; "
         "%ld customers paid a fee\n", near, with_fee, fees);
  CHECK_GT(fees, 800);
  CHECK_GT(with_fee, 60);
  CHECK_GT((double)near / (double)with_fee, 0.8);
}

/* Recovery: of the customers still subscribed on day 150, those whose case
 * was handled poorly (resolved more than 5 days after it opened: mostly the
 * stalled resolutions, a quarter of the cases) in the 60 days before cancel
 * over the next 90 days far more often than those who never had a case,
 * who have only the hazard no signal explains (0.0003 a day: 2.7% over 90
 * days). A grudge of one case adds 0.007 a day, at full weight from two
 * weeks after the judgement and halving every 45 days after, about 0.4
 * over those days, more for those with two: well over a quarter decide to
 * go, most of them cancelling within the 90 days (seed 5: 72% of 39
 * against 4% of 301, since the CX team's call backs of detractors draw
 * from the stream too; 41% against 6% before). Counted from a cohort alive at
 * one date, so that those who left early (and had no time for a case) do
 * not count among the customers without one. */
static void test_gen_recovery(void) {
  int64_t start;
  world_history(CXP_GEN_RECOVERY, 5, wc, &start);
  int64_t d = start + 150 * D_MS;
  double poor = 0, poor_gone = 0, none = 0, none_gone = 0;
  for (int i = 0; i < W_CUSTOMERS; i++) {
    const wcust *c = &wc[i];
    if (c->segment < 0 || (c->cancel_at && c->cancel_at < d)) continue;
    int gone = c->cancel_at && c->cancel_at < d + 90 * D_MS;
    if (!c->first_case || c->first_case >= d) {
      none++;
      none_gone += gone;
    } else if (c->poor_at >= d - 60 * D_MS && c->poor_at < d) {
      poor++;
      poor_gone += gone;
    }
  }
  printf("recovery: cancelled within 90 days of day 150, after a poorly handled case %.3f "
         "(of %.0f), without a case %.3f (of %.0f)\n",
         poor_gone / poor, poor, none_gone / none, none);
  CHECK_GT(poor, 30);
  CHECK_GT(none, 40);
  CHECK_GT(poor_gone / poor, 3 * (none_gone / none));
}

int main(void) {
  test_gen_winding_down();
  test_gen_demo_unchanged();
  test_gen_world_names();
  test_gen_worlds_deterministic();
  test_gen_competitor();
  test_gen_renewal();
  test_gen_recovery();
  return TEST_REPORT();
}
