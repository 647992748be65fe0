/* Unit tests of a customer's state (daemon/core/customer.c, state.c): the
 * decayed survey sums, duplicates, the shard table, and the indicators
 * derived from the sums, in any order of the events.
 *
 * Every expected value was worked out by hand (the arithmetic is in the
 * comment beside it), never taken from the code's own output. */
#include "helpers.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "customer.h"
#include "pipeline.h"
#include "state.h"

/* The pipeline of these tests: customers_only's (helpers.h). Its main
 * half-life is the default 30 days. */
static cxp_pipeline TP;
static cxp_customer_conf TC; /* the customer settings of TP */

/* --------------------------------------------------------------------------
 * per-customer state */

static cxp_event survey(cxp_event_type t, int64_t ts, int score) {
  cxp_event ev;
  memset(&ev, 0, sizeof ev);
  ev.type = t;
  ev.ts_ms = ts;
  ev.score = score;
  return ev;
}

static void test_customer_surveys(void) {
  cxp_state st;
  cxp_state_init(&st);
  cxp_shard *sh = cxp_state_shard(&st, 0);
  const int64_t hl = 2592000000LL; /* 30 d */

  /* No responses yet: -1. */
  cxp_customer *a = cxp_shard_get(&st, sh, "a", 1);
  CHECK_NEAR(cxp_customer_csat(a), -1, 0);
  CHECK_NEAR(cxp_customer_nps_mean(a), -1, 0);
  CHECK_INT(a->nps_last_score, -1);

  /* CSAT 5 at T0 and 2 at T0 + 30 d, read at T0 + 30 d: weights 0.5 and 1;
   * satisfied share 0.5 / 1.5 = 33.333...%. The reverse order agrees. */
  cxp_event e1 = survey(CXP_EV_CSAT, T0, 5), e2 = survey(CXP_EV_CSAT, T0 + hl, 2);
  cxp_customer_apply(a, &e1, &TC);
  cxp_customer_apply(a, &e2, &TC);
  CHECK_NEAR(cxp_customer_csat(a), 100.0 / 3.0, 1e-9);
  cxp_customer *b = cxp_shard_get(&st, sh, "b", 1);
  cxp_customer_apply(b, &e2, &TC);
  cxp_customer_apply(b, &e1, &TC);
  CHECK_NEAR(cxp_customer_csat(b), 100.0 / 3.0, 1e-9);
  CHECK_NEAR(cxp_customer_csat(a), cxp_customer_csat(b), 1e-9);
  CHECK_INT(a->last_ts_ms, T0 + hl);
  CHECK_INT(b->last_ts_ms, T0 + hl);
  /* CSAT responses leave NPS alone. */
  CHECK_NEAR(cxp_customer_nps_mean(a), -1, 0);

  /* NPS 10 at T0 and 4 at T0 + 30 d: (0.5 * 10 + 1 * 4) / 1.5 = 9 / 1.5 = 6. The
   * latest by event time is 4 whatever the arrival order. */
  cxp_event n1 = survey(CXP_EV_NPS, T0, 10), n2 = survey(CXP_EV_NPS, T0 + hl, 4);
  cxp_customer *c = cxp_shard_get(&st, sh, "c", 1);
  cxp_customer_apply(c, &n1, &TC);
  cxp_customer_apply(c, &n2, &TC);
  CHECK_NEAR(cxp_customer_nps_mean(c), 6.0, 1e-9);
  CHECK_INT(c->nps_last_score, 4);
  cxp_customer *d = cxp_shard_get(&st, sh, "d", 1);
  cxp_customer_apply(d, &n2, &TC);
  cxp_customer_apply(d, &n1, &TC);
  CHECK_NEAR(cxp_customer_nps_mean(d), 6.0, 1e-9);
  CHECK_INT(d->nps_last_score, 4);
  CHECK_NEAR(cxp_customer_csat(d), -1, 0);
  /* Two NPS responses with the same ts: the lower score is the latest in
   * either arrival order. */
  cxp_event q1 = survey(CXP_EV_NPS, T0, 9), q2 = survey(CXP_EV_NPS, T0, 3);
  cxp_customer *qa = cxp_shard_get(&st, sh, "qa", 2), *qb = cxp_shard_get(&st, sh, "qb", 2);
  cxp_customer_apply(qa, &q1, &TC);
  cxp_customer_apply(qa, &q2, &TC);
  cxp_customer_apply(qb, &q2, &TC);
  cxp_customer_apply(qb, &q1, &TC);
  CHECK_INT(qa->nps_last_score, 3);
  CHECK_INT(qb->nps_last_score, 3);

  /* Three CSAT responses in all six orders: 4 at T0, 3 at T0 + 15 d, 5 at
   * T0 + 60 d. Weights at T0 + 60 d: 2^-2 = 0.25, 2^-1.5 = 0.353553390593, 1.
   * Satisfied (4, 5): 1.25; all: 1.603553390593; share 77.9518790788%. */
  const cxp_event t3[3] = {survey(CXP_EV_CSAT, T0, 4),
                           survey(CXP_EV_CSAT, T0 + 15 * D_MS, 3),
                           survey(CXP_EV_CSAT, T0 + 60 * D_MS, 5)};
  const int perm[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
  for (int p = 0; p < 6; p++) {
    char id[8];
    snprintf(id, sizeof id, "p%d", p);
    cxp_customer *cu = cxp_shard_get(&st, sh, id, strlen(id));
    for (int i = 0; i < 3; i++) cxp_customer_apply(cu, &t3[perm[p][i]], &TC);
    CHECK_NEAR(cxp_customer_csat(cu), 77.9518790788, 1e-9);
  }

  /* Across a landmark move: CSAT 5 at T0, 2 at T0 + 360 d (12 half-lives).
   * Share 2^-12 / (2^-12 + 1) = 1 / 4097 = 0.0244081034903588%. T0 + 360 d =
   * 1826521200000 lies past the grid line 44 * 41472000000 = 1824768000000,
   * so the forward order rescales; both orders end on that landmark. */
  cxp_event f1 = survey(CXP_EV_CSAT, T0, 5), f2 = survey(CXP_EV_CSAT, T0 + 360 * D_MS, 2);
  cxp_customer *g = cxp_shard_get(&st, sh, "g", 1), *r = cxp_shard_get(&st, sh, "r", 1);
  cxp_customer_apply(g, &f1, &TC);
  CHECK_INT(g->landmark_ms[CXP_HL_MAIN], 1783296000000LL);
  cxp_customer_apply(g, &f2, &TC);
  cxp_customer_apply(r, &f2, &TC);
  cxp_customer_apply(r, &f1, &TC);
  CHECK_INT(g->landmark_ms[CXP_HL_MAIN], 1824768000000LL);
  CHECK_INT(r->landmark_ms[CXP_HL_MAIN], 1824768000000LL);
  /* Fixed point: the older response, 2^-11.3 of the newer, keeps about 17
   * bits after the 16-bit shift of the move, so 1e-6 points is the bound. */
  CHECK_NEAR(cxp_customer_csat(g), 100.0 / 4097.0, 1e-6);
  CHECK_NEAR(cxp_customer_csat(r), 100.0 / 4097.0, 1e-6);

  /* NPS classes at every boundary. */
  static const int cls[11] = {-1, -1, -1, -1, -1, -1, -1, 0, 0, 1, 1};
  for (int s = 0; s <= 10; s++) CHECK_INT(cxp_nps_class(s), cls[s]);
  CHECK_STR(cxp_nps_class_name(cxp_nps_class(10)), "promoter");
  CHECK_STR(cxp_nps_class_name(cxp_nps_class(7)), "passive");
  CHECK_STR(cxp_nps_class_name(cxp_nps_class(0)), "detractor");
  CHECK(cxp_nps_class_name(-2) == NULL); /* no response */
  CHECK(cxp_nps_class_name(2) == NULL);

  cxp_state_close(&st);
}

static void test_customer_dedup(void) {
  cxp_state st;
  cxp_state_init(&st);
  cxp_shard *sh = cxp_state_shard(&st, 2);
  cxp_customer *c = cxp_shard_get(&st, sh, "c1", 2);

  /* By offset: an offset at or below the last applied one is a replay. */
  CHECK_INT(cxp_customer_seen(c, 5, "e1", 2), 0);
  CHECK_INT(c->last_offset, 5);
  CHECK_INT(cxp_customer_seen(c, 5, "e2", 2), 1);
  CHECK_INT(cxp_customer_seen(c, 4, "e3", 2), 1);
  /* By event id at a new offset. */
  CHECK_INT(cxp_customer_seen(c, 6, "e1", 2), 1);
  CHECK_INT(cxp_customer_seen(c, 7, "e4", 2), 0);
  CHECK_INT(c->last_offset, 7);

  /* The id ring holds 8: fill r0..r7 (offset -1 skips the offset test). */
  cxp_customer *d = cxp_shard_get(&st, sh, "d", 1);
  char id[4] = "r0";
  for (int i = 0; i < 8; i++) {
    id[1] = (char)('0' + i);
    CHECK_INT(cxp_customer_seen(d, -1, id, 2), 0);
  }
  CHECK_INT(cxp_customer_seen(d, -1, "r0", 2), 1); /* all 8 still known */
  CHECK_INT(cxp_customer_seen(d, -1, "r7", 2), 1);
  CHECK_INT(cxp_customer_seen(d, -1, "r8", 2), 0); /* the 9th pushes r0 out */
  CHECK_INT(cxp_customer_seen(d, -1, "r0", 2), 0); /* forgotten; re-enters over r1 */
  CHECK_INT(cxp_customer_seen(d, -1, "r2", 2), 1);
  CHECK_INT(cxp_customer_seen(d, -1, "r1", 2), 0);
  CHECK_INT(d->last_offset, -1);

  /* The shard table: the same id is the same customer; growth past the load
   * limit (512 of 1024 slots) keeps every customer findable. */
  CHECK(cxp_shard_get(&st, sh, "c1", 2) == c);
  CHECK(cxp_shard_find(sh, "c1", 2) == c);
  CHECK(cxp_shard_find(sh, "c", 1) == NULL);
  for (int i = 0; i < 1500; i++) {
    char k[16];
    snprintf(k, sizeof k, "cust-%d", i);
    cxp_shard_get(&st, sh, k, strlen(k));
  }
  /* c1, d and 1500 more. */
  CHECK_INT(sh->count, 1502);
  CHECK_INT(st.customers, 1502);
  CHECK_GE(sh->cap, 2 * 1502);
  CHECK(cxp_shard_find(sh, "c1", 2) == c);
  CHECK(cxp_shard_find(sh, "cust-1499", 9) != NULL);
  CHECK(cxp_shard_find(sh, "cust-1500", 9) == NULL);
  /* An id longer than 128 bytes is never stored. */
  char longid[130];
  memset(longid, 'z', sizeof longid);
  CHECK(cxp_shard_get(&st, sh, longid, 129) == NULL);
  /* Another partition is another shard; dropping one forgets its customers. */
  cxp_shard *sh9 = cxp_state_shard(&st, 9);
  CHECK(sh9 != sh);
  cxp_shard_get(&st, sh9, "c1", 2);
  CHECK_INT(st.customers, 1503);
  cxp_state_drop(&st, 2);
  CHECK_INT(st.customers, 1);
  CHECK(cxp_state_shard(&st, -1) == NULL);
  cxp_state_close(&st);
}

/* --------------------------------------------------------------------------
 * per-customer indicators (docs/domain.md section 3) */

/* A decoded event at ts, for the customer-level tests. */
static cxp_event ev_at(cxp_event_type t, int64_t ts) {
  cxp_event ev;
  memset(&ev, 0, sizeof ev);
  ev.type = t;
  ev.ts_ms = ts;
  ev.consent = -1;
  return ev;
}

static cxp_event sq_ev(int64_t ts, int dim, double expected, double perceived) {
  cxp_event ev = ev_at(CXP_EV_SERVQUAL, ts);
  ev.sq_mask = 1u << dim;
  ev.sq_expected[dim] = expected;
  ev.sq_perceived[dim] = perceived;
  return ev;
}

static cxp_event contact_ev(int64_t ts, int resolved, double wait, double handle,
                            double sentiment) {
  cxp_event ev = ev_at(CXP_EV_CONTACT, ts);
  ev.resolved = resolved;
  ev.wait_s = wait;
  ev.handle_s = handle;
  ev.has_sentiment = 1;
  ev.sentiment = sentiment;
  return ev;
}

static void test_customer_indicators(void) {
  cxp_state st;
  cxp_state_init(&st);
  cxp_shard *sh = cxp_state_shard(&st, 0);
  cxp_customer *c = cxp_shard_get(&st, sh, "ind", 3);
  cxp_indicators in;

  /* Nothing yet: every ratio is NAN, the index too. */
  cxp_customer_indicators(c, &TC, T0, &in);
  CHECK(isnan(in.csat) && isnan(in.nps_mean) && isnan(in.ces) && isnan(in.si));
  CHECK_INT(in.nps_class, -2);

  /* All at T0, so every weight is equal and means are plain means.
   * CSAT 5, 4, 2: top-2-box 2 of 3 = 66.6667%. */
  cxp_event e = survey(CXP_EV_CSAT, T0, 5);
  cxp_customer_apply(c, &e, &TC);
  e.score = 4;
  cxp_customer_apply(c, &e, &TC);
  e.score = 2;
  cxp_customer_apply(c, &e, &TC);
  cxp_customer_indicators(c, &TC, T0, &in);
  CHECK_NEAR(in.csat, 200.0 / 3.0, 1e-6);
  /* The index with CSAT alone is the CSAT share. */
  CHECK_NEAR(in.si, 200.0 / 3.0, 1e-6);

  /* NPS 9 and 7: mean 8, component 80; latest class (same ts: the lower
   * score, 7) is passive. SI = (66.667 + 80) / 2 = 73.3333. */
  e = survey(CXP_EV_NPS, T0, 9);
  cxp_customer_apply(c, &e, &TC);
  e.score = 7;
  cxp_customer_apply(c, &e, &TC);
  cxp_customer_indicators(c, &TC, T0, &in);
  CHECK_NEAR(in.nps_mean, 8, 1e-6);
  CHECK_INT(in.nps_class, 0);
  CHECK_NEAR(in.si, (200.0 / 3.0 + 80) / 2, 1e-6);

  /* CES 2 and 6: mean 4, not high effort; component (4 - 1) / 6 * 100 = 50.
   * SI = (66.667 + 80 + 50) / 3 = 65.5556. */
  e = survey(CXP_EV_CES, T0, 2);
  cxp_customer_apply(c, &e, &TC);
  e.score = 6;
  cxp_customer_apply(c, &e, &TC);
  cxp_customer_indicators(c, &TC, T0, &in);
  CHECK_NEAR(in.ces, 4, 1e-6);
  CHECK_INT(in.high_effort, 0);
  CHECK_NEAR(in.si, (200.0 / 3.0 + 80 + 50) / 3, 1e-6);

  /* SERVQUAL on a subset: reliability 6 -> 4 (-2) and 7 -> 6 (-1): mean -1.5;
   * empathy 5 -> 6 (+1); tangibles never asked: NAN. Pooled gap for the index
   * (-2 - 1 + 1) / 3 = -0.6667: component 50 + (-0.6667) * 50 / 6 = 44.4444.
   * SI = (66.6667 + 80 + 50 + 44.4444) / 4 = 60.2778. */
  cxp_event q = sq_ev(T0, CXP_SQ_RELIABILITY, 6, 4);
  cxp_customer_apply(c, &q, &TC);
  q = sq_ev(T0, CXP_SQ_RELIABILITY, 7, 6);
  cxp_customer_apply(c, &q, &TC);
  q = sq_ev(T0, CXP_SQ_EMPATHY, 5, 6);
  cxp_customer_apply(c, &q, &TC);
  cxp_customer_indicators(c, &TC, T0, &in);
  CHECK_NEAR(in.sq_gap[CXP_SQ_RELIABILITY], -1.5, 1e-6);
  CHECK_NEAR(in.sq_gap[CXP_SQ_EMPATHY], 1, 1e-6);
  CHECK(isnan(in.sq_gap[CXP_SQ_TANGIBLES]));
  CHECK_NEAR(in.si, (200.0 / 3.0 + 80 + 50 + (50 - 50.0 / 9)) / 4, 1e-6);

  /* Weights: CSAT counted twice: (2 * 66.6667 + 80 + 50 + 44.4444) / 5 = 61.5556. */
  cxp_customer_conf w = TC;
  w.si_w[0] = 2;
  cxp_customer_indicators(c, &w, T0, &in);
  CHECK_NEAR(in.si, (400.0 / 3.0 + 80 + 50 + (50 - 50.0 / 9)) / 5, 1e-6);
  CHECK(isnan(cxp_satisfaction_index(NAN, NAN, NAN, NAN, &TC)));
  CHECK_NEAR(cxp_satisfaction_index(NAN, 5, NAN, 0, &TC), (50 + 50) / 2.0, 1e-12);

  /* Delivered value. Contacts: resolved, 300 + 600 s, sentiment 0.5; not
   * resolved, 900 + 1800 s (over the 1800 s norm: 1), sentiment -0.5.
   * Service 1/2; personnel ((0.5+1)/2 + (-0.5+1)/2) / 2 = 0.5; time cost
   * (900/1800 + 1) / 2 = 0.75. One complaint at T0, read at T0: inconvenience
   * 1 - 2^-1 = 0.5. Effort (7 - 4) / 6 = 0.5. Money: no signal.
   * Value (0.6667 + 0.5 + 0.5 + 0.8) / 4 = 0.616667;
   * cost (0.75 + 0.5 + 0.5) / 3 = 0.583333; ratio 1.057143. */
  cxp_event k = contact_ev(T0, 1, 300, 600, 0.5);
  cxp_customer_apply(c, &k, &TC);
  k = contact_ev(T0, 0, 900, 1800, -0.5);
  cxp_customer_apply(c, &k, &TC);
  cxp_event cp = ev_at(CXP_EV_COMPLAINT, T0);
  cxp_customer_apply(c, &cp, &TC);
  cxp_customer_indicators(c, &TC, T0, &in);
  CHECK_NEAR(in.value_parts[0], 2.0 / 3.0, 1e-6);
  CHECK_NEAR(in.value_parts[1], 0.5, 1e-6);
  CHECK_NEAR(in.value_parts[2], 0.5, 1e-6);
  CHECK_NEAR(in.value_parts[3], 0.8, 1e-6);
  CHECK(isnan(in.cost_parts[0]));
  CHECK_NEAR(in.cost_parts[1], 0.75, 1e-6);
  CHECK_NEAR(in.cost_parts[2], 0.5, 1e-6);
  CHECK_NEAR(in.cost_parts[3], 0.5, 1e-6);
  CHECK_NEAR(in.value, (2.0 / 3.0 + 0.5 + 0.5 + 0.8) / 4, 1e-6);
  CHECK_NEAR(in.cost, (0.75 + 0.5 + 0.5) / 3, 1e-6);
  CHECK_NEAR(in.value_ratio, ((2.0 / 3.0 + 1.8) / 4) / (1.75 / 3), 1e-6);
  /* One half-life later the complaint counts 0.5. */
  cxp_customer_indicators(c, &TC, T0 + 30 * D_MS, &in);
  CHECK_NEAR(in.complaints, 0.5, 1e-6);

  /* Recency, frequency, monetary at two half-lives (14 d, 90 d). Purchases
   * of 100 at T0 and 50 at T0 + 14 d, usage of 3 at T0 + 14 d, read at
   * T0 + 14 d: short: monetary 100 * 0.5 + 50 = 100, frequency 0.5 + 1 + 3 =
   * 4.5; long: 2^(-14/90) = 0.8977866, monetary 89.77866 + 50 = 139.77866,
   * frequency 0.8977866 + 4 = 4.8977866. Recency read at T0 + 20 d: 6 days.
   * Money is kept with 7 fraction bits (range over resolution): 1e-3. */
  cxp_customer *r = cxp_shard_get(&st, sh, "rfm", 3);
  cxp_event pu = ev_at(CXP_EV_PURCHASE, T0);
  pu.amount = 100;
  cxp_customer_apply(r, &pu, &TC);
  pu = ev_at(CXP_EV_PURCHASE, T0 + 14 * D_MS);
  pu.amount = 50;
  cxp_customer_apply(r, &pu, &TC);
  cxp_event us = ev_at(CXP_EV_USAGE, T0 + 14 * D_MS);
  us.count = 3;
  cxp_customer_apply(r, &us, &TC);
  cxp_customer_indicators(r, &TC, T0 + 14 * D_MS, &in);
  CHECK_NEAR(in.mon_short, 100, 1e-3);
  CHECK_NEAR(in.freq_short, 4.5, 1e-4);
  CHECK_NEAR(in.mon_long, 139.77866, 1e-3);
  CHECK_NEAR(in.freq_long, 4.8977866, 1e-4);
  cxp_customer_indicators(r, &TC, T0 + 20 * D_MS, &in);
  CHECK_NEAR(in.recency_days, 6, 1e-9);
  CHECK(isnan(in.csat));
  /* Activity: feedback and a referral at T0 read two half-lives later: 2 * 0.25. */
  cxp_event fb = ev_at(CXP_EV_FEEDBACK, T0), rf = ev_at(CXP_EV_REFERRAL, T0);
  cxp_customer_apply(r, &fb, &TC);
  cxp_customer_apply(r, &rf, &TC);
  cxp_customer_indicators(r, &TC, T0 + 60 * D_MS, &in);
  CHECK_NEAR(in.activity, 0.5, 1e-6);
  cxp_state_close(&st);
}

/* The same events in any order, or applied twice over (a replay the dedup
 * does not see, as after a restart), give bit-identical sums. */
static void test_customer_order_independence(void) {
  enum { N = 24 };
  cxp_event evs[N];
  for (int i = 0; i < N; i++) {
    int64_t ts = T0 + (int64_t)((i * 7919) % 200) * H_MS; /* within one grid cell */
    switch (i % 6) {
    case 0: evs[i] = survey(CXP_EV_CSAT, ts, 1 + i % 5); break;
    case 1: evs[i] = survey(CXP_EV_NPS, ts, i % 11); break;
    case 2: evs[i] = survey(CXP_EV_CES, ts, 1 + i % 7); break;
    case 3: evs[i] = sq_ev(ts, i % 5, 1 + i % 7, 7 - i % 7); break;
    case 4: evs[i] = contact_ev(ts, i & 1, 60 * i, 30 * i, (i % 3) - 1.0); break;
    default:
      evs[i] = ev_at(CXP_EV_PURCHASE, ts);
      evs[i].amount = 10.5 * i;
    }
  }
  cxp_state st;
  cxp_state_init(&st);
  cxp_shard *sh = cxp_state_shard(&st, 0);
  cxp_customer *ref = cxp_shard_get(&st, sh, "ref", 3);
  for (int i = 0; i < N; i++) cxp_customer_apply(ref, &evs[i], &TC);
  uint64_t rng = 12345;
  for (int trial = 0; trial < 50; trial++) {
    int idx[N];
    for (int i = 0; i < N; i++) idx[i] = i;
    for (int i = N - 1; i > 0; i--) { /* Fisher-Yates with a fixed seed */
      rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
      int j = (int)((rng >> 33) % (uint64_t)(i + 1));
      int t = idx[i];
      idx[i] = idx[j];
      idx[j] = t;
    }
    char id[16];
    snprintf(id, sizeof id, "s%d", trial);
    cxp_customer *c = cxp_shard_get(&st, sh, id, strlen(id));
    for (int i = 0; i < N; i++) cxp_customer_apply(c, &evs[idx[i]], &TC);
    CHECK_MEM(c->sum, sizeof c->sum, ref->sum, sizeof ref->sum);
    CHECK_MEM(c->landmark_ms, sizeof c->landmark_ms, ref->landmark_ms, sizeof ref->landmark_ms);
    CHECK_INT(c->nps_last_score, ref->nps_last_score);
  }
  /* Twice over: every sum is exactly double the single pass (no saturation
   * at these sizes), whatever the interleaving. */
  cxp_customer *twice = cxp_shard_get(&st, sh, "twice", 5);
  for (int i = 0; i < N; i++) cxp_customer_apply(twice, &evs[i], &TC);
  for (int i = N - 1; i >= 0; i--) cxp_customer_apply(twice, &evs[i], &TC);
  for (int i = 0; i < CXP_S__COUNT; i++) CHECK_EQ(twice->sum[i], 2 * ref->sum[i]);
  /* A replayed message is not applied twice: the core's dedup holds. */
  cxp_state_close(&st);
}

/* The state's customers live in its slab (slab.h): a dropped partition's
 * records serve the next customers; adopting a partition from a state that
 * holds it alone (a restore's) takes that state's chunks as they are, the
 * customers where they were; from a state holding others too, each is
 * copied and the others stay where they were. cxp_customer_bytes: the
 * record rounded to 16 bytes, and two table slots with their tags. */
static void test_state_slab(void) {
  cxp_state a, b;
  cxp_state_init(&a);
  cxp_state_init(&b);
  cxp_shard *a0 = cxp_state_shard(&a, 0);
  cxp_customer *x = cxp_shard_get(&a, a0, "x", 1), *y = cxp_shard_get(&a, a0, "yy", 2);
  /* His record: the struct, "x" and its NUL, rounded up to 16 bytes; two
   * slots of a pointer and a 2-byte tag. */
  CHECK_INT(cxp_customer_bytes(x), (sizeof(cxp_customer) + 2 + 15) / 16 * 16 + 2 * (8 + 2));
  CHECK_INT(a.bytes, 2 * cxp_customer_bytes(x));
  CHECK_INT(cxp_customer_seen(x, 41, "e1", 2), 0);
  CHECK_INT(a.slab.n_chunks, 1);
  /* b holds partition 0 too: x there is replaced by a's. */
  cxp_shard *b0 = cxp_state_shard(&b, 0);
  cxp_customer *bx = cxp_shard_get(&b, b0, "x", 1);
  CHECK_INT(cxp_customer_seen(bx, 7, "e0", 2), 0);
  CHECK_INT(cxp_state_adopt(&b, &a, 0), 2);
  CHECK_INT(b.slab.n_chunks, 2);
  CHECK_INT(a.slab.n_chunks, 0);
  CHECK_INT(b.customers, 2);
  CHECK_INT(a.customers, 0);
  CHECK(cxp_shard_find(b0, "x", 1) == x); /* the record itself, not a copy */
  CHECK(cxp_shard_find(b0, "yy", 2) == y);
  CHECK_INT(x->last_offset, 41);
  CHECK_INT(b.bytes, 2 * cxp_customer_bytes(x));
  /* b's own x went back to its slab: the next customer of that size is
   * his record. */
  CHECK(cxp_shard_get(&b, cxp_state_shard(&b, 5), "z", 1) == bx);
  CHECK_INT(bx->last_offset, -1); /* a new customer's start, not x's */
  cxp_state_close(&a);

  /* a holding partitions 1 and 2: adopting 1 copies its customers. */
  cxp_state_init(&a);
  cxp_customer *p1 = cxp_shard_get(&a, cxp_state_shard(&a, 1), "p1", 2);
  cxp_customer *p2 = cxp_shard_get(&a, cxp_state_shard(&a, 2), "p2", 2);
  CHECK_INT(cxp_customer_seen(p1, 3, "e", 1), 0);
  CHECK_INT(cxp_customer_seen(p2, 4, "e", 1), 0);
  CHECK_INT(cxp_state_adopt(&b, &a, 1), 1);
  cxp_customer *c1 = cxp_shard_find(cxp_state_shard(&b, 1), "p1", 2);
  CHECK(c1 != NULL && c1 != p1);
  if (c1) CHECK_INT(c1->last_offset, 3);
  CHECK_INT(a.slab.n_chunks, 1);
  CHECK(cxp_shard_find(a.shards[2], "p2", 2) == p2);
  CHECK_INT(p2->last_offset, 4);
  CHECK_INT(a.customers, 1);
  CHECK_INT(b.customers, 4);
  /* Dropping partition 2 frees p2's record for a's next customer. */
  cxp_state_drop(&a, 2);
  CHECK(cxp_shard_get(&a, cxp_state_shard(&a, 3), "q3", 2) == p2);
  cxp_state_close(&a);
  cxp_state_close(&b);
}

int main(void) {
  customers_only(&TP);
  cxp_pipeline_customer(&TP, &TC);
  test_customer_surveys();
  test_customer_dedup();
  test_customer_indicators();
  test_customer_order_independence();
  test_state_slab();
  return TEST_REPORT();
}
