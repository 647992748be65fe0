/* Unit tests of the customer and segment models of docs/domain.md end to
 * end through the core (a replay-like core: one input partition, windows
 * merged in place): SERVQUAL advice for a customer and for a group,
 * delivered value, the loyalty triad, value-based priority, pre-emption,
 * consistency, and the AHP weights of the satisfaction index.
 *
 * Every expected value was worked out by hand (the arithmetic is in the
 * comment beside it), never taken from the code's own output.
 *
 * With --alerts FILE --records FILE the alerts and indicator records the
 * tests produce are written as JSON lines, for the schema checks. */
#include "helpers.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ahp.h"
#include "alert.h"
#include "core.h"
#include "customer.h"
#include "pipeline.h"
#include "state.h"

static FILE *alerts_file, *records_file;

/* The outputs of a test, to the files when asked. */
static void save(const outs *o) {
  for (int i = 0; i < o->n; i++) {
    FILE *f = o->stream[i] == CXP_STREAM_ALERTS       ? alerts_file
              : o->stream[i] == CXP_STREAM_INDICATORS ? records_file
                                                      : NULL;
    if (f) fprintf(f, "%s\n", o->val[i]);
  }
}

/* The index of the first output of `stream` whose text holds `needle`
 * (NULL: any), or -1. */
static int find_out(const outs *o, cxp_stream stream, const char *needle) {
  for (int i = 0; i < o->n; i++)
    if (o->stream[i] == stream && (needle == NULL || strstr(o->val[i], needle))) return i;
  return -1;
}

static int count_type(const outs *o, const char *type) {
  char needle[64];
  snprintf(needle, sizeof needle, "\"type\":\"%s\"", type);
  int n = 0;
  for (int i = 0; i < o->n; i++)
    n += o->stream[i] == CXP_STREAM_ALERTS && strstr(o->val[i], needle) != NULL;
  return n;
}

static const char *arr_s(const cJSON *o, const char *k, int i) {
  const cJSON *v = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, k), i);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *arr_o(const cJSON *o, const char *k, int i) {
  return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, k), i);
}

static const cJSON *obj(const cJSON *o, const char *k) {
  return cJSON_GetObjectItemCaseSensitive(o, k);
}

/* A pipeline of customers only, with no alert but the one a test is on. */
static void quiet_pipeline(cxp_pipeline *pl) {
  customers_only(pl);
  pl->drop_enabled = pl->closed_loop_enabled = pl->sq_enabled = 0;
}

/* A windowed pipeline: one length, one grouping, lateness 0, `min_n`; no
 * cases, no churn, no per-customer alerts. */
static void window_pipeline(cxp_pipeline *pl, const char *length, const char *group_by,
                            int min_n) {
  quiet_pipeline(pl);
  pl->win_enabled = 1;
  pl->anomaly_enabled = pl->agent_flag_enabled = 0;
  snprintf(pl->win_lengths, sizeof pl->win_lengths, "[\"%s\"]", length);
  snprintf(pl->win_group_by, sizeof pl->win_group_by, "[\"%s\"]", group_by);
  pl->win_lateness_s = 0;
  pl->win_min_n = min_n;
  char err[256];
  CHECK_INT(cxp_pipeline_windows(pl, err, sizeof err), 0);
}

/* ---- SERVQUAL ------------------------------------------------------------- */

#define SQ2(eid, cid, ts, d1, e1, p1, d2, e2, p2, extra)                                      \
  (snprintf(buf, sizeof buf,                                                                \
            "{\"event_id\":\"%s\",\"customer_id\":\"%s\",\"type\":\"survey.servqual\","     \
            "\"ts\":\"%s\",\"dimensions\":{\"%s\":{\"expected\":%d,\"perceived\":%d},"      \
            "\"%s\":{\"expected\":%d,\"perceived\":%d}}%s}",                                \
            eid, cid, ts, d1, e1, p1, d2, e2, p2, extra),                                   \
   buf)

/* A customer at -3 on tangibles and -6 on assurance: one alert names both,
 * worst first, each with its strategy. */
static void test_sq_customer(void) {
  static outs o;
  char buf[512];
  cxp_pipeline pl;
  cxp_core core;
  memset(&o, 0, sizeof o);
  quiet_pipeline(&pl);
  pl.sq_enabled = 1; /* threshold -1.5, 2 responses a dimension */
  cxp_core_init(&core, &pl, collect, &o);

  /* Tangibles 7 -> 4 (-3), assurance 7 -> 1 (-6), reliability 6 -> 6 (0):
   * one response each, under the 2 needed: nothing. */
  CHECK_INT(feed_core(&core, 1,
                      SQ2("s1", "k1", "2026-11-23T07:00:00Z", "tangibles", 7, 4, "assurance", 7,
                          1, "")),
            CXP_OK);
  CHECK_INT(count_type(&o, "servqual.gap"), 0);
  CHECK_INT(feed_core(&core, 2,
                      SQ2("s2", "k1", "2026-11-23T07:10:00Z", "reliability", 6, 6, "empathy", 5,
                          5, "")),
            CXP_OK);
  CHECK_INT(count_type(&o, "servqual.gap"), 0);
  /* The second answer of the same ratings: tangibles -3, assurance -6 (the
   * same at any weights), both under -1.5. P2: the worst, -6, is -3 or
   * less. Actions: assurance's strategy, then tangibles'. Reasons:
   * assurance -6 (contribution -6 - -1.5 = -4.5), tangibles -3 (-1.5), then
   * reliability 0 and empathy 0 at contribution 0. */
  CHECK_INT(feed_core(&core, 3,
                      SQ2("s3", "k1", "2026-11-23T07:20:00Z", "tangibles", 7, 4, "assurance", 7,
                          1, "")),
            CXP_OK);
  CHECK_INT(count_type(&o, "servqual.gap"), 1);
  int i = find_out(&o, CXP_STREAM_ALERTS, "servqual.gap");
  if (i >= 0) {
    cJSON *j = cJSON_Parse(o.val[i]);
    CHECK_STR(get_s(j, "priority"), "P2");
    CHECK_STR(get_s(j, "customer_id"), "k1");
    CHECK_STR(arr_s(j, "actions", 0), "empower_and_certify_staff");
    CHECK_STR(arr_s(j, "actions", 1), "improve_physical_environment");
    CHECK(arr_s(j, "actions", 2) == NULL);
    CHECK_STR(get_s(arr_o(j, "reasons", 0), "factor"), "servqual_gap.assurance");
    CHECK_NEAR(get_n(arr_o(j, "reasons", 0), "value"), -6, 1e-6);
    CHECK_NEAR(get_n(arr_o(j, "reasons", 0), "contribution"), -4.5, 1e-6);
    CHECK_STR(get_s(arr_o(j, "reasons", 1), "factor"), "servqual_gap.tangibles");
    CHECK_NEAR(get_n(arr_o(j, "reasons", 1), "value"), -3, 1e-6);
    CHECK_NEAR(get_n(arr_o(j, "reasons", 1), "contribution"), -1.5, 1e-6);
    CHECK_STR(get_s(arr_o(j, "reasons", 2), "factor"), "servqual_gap.reliability");
    CHECK_NEAR(get_n(arr_o(j, "reasons", 2), "contribution"), 0, 1e-9);
    CHECK_STR(get_s(arr_o(j, "reasons", 3), "factor"), "servqual_gap.empathy");
    CHECK(arr_o(j, "reasons", 4) == NULL);
    cJSON_Delete(j);
  }
  save(&o);
  o.n = 0;
  /* An answer touching reliability and empathy (0 each): no dimension it
   * touched is under the threshold, so no alert is even tried (the cooldown
   * would hold it back), though two others still are under. */
  CHECK_INT(feed_core(&core, 4,
                      SQ2("s4", "k1", "2026-11-23T07:30:00Z", "reliability", 7, 7, "empathy", 7,
                          7, "")),
            CXP_OK);
  CHECK_INT(count_type(&o, "servqual.gap"), 0);
  CHECK_INT(core.n.suppressed_cooldown, 0);
  /* Bad input: a perceived rating of 8 is out of range, dead-lettered; the
   * customer's figures are untouched. */
  CHECK_INT(feed_core(&core, 5,
                      SQ2("s5", "k1", "2026-11-23T07:40:00Z", "tangibles", 7, 8, "assurance", 7,
                          1, "")),
            CXP_BAD_OUT_OF_RANGE);
  cxp_core_close(&core);
}

/* A gold window whose reliability gap over 3 answers is -5/3: one group
 * alert; silver's -6 over 1 answer and gold's empathy over 2 are under
 * min_n 3 and not named. */
static void test_sq_segment(void) {
  static outs o;
  char buf[512];
  cxp_pipeline pl;
  cxp_core core;
  memset(&o, 0, sizeof o);
  window_pipeline(&pl, "1h", "segment", 3);
  pl.sq_enabled = 1;
  cxp_core_init(&core, &pl, collect, &o);
  cxp_core_merge_local(&core, 1);

  /* gold, hour 07: reliability -3, -1, -1 (mean -5/3 = -1.6667, n 3);
   * tangibles 0, +1, -2 (mean -1/3); empathy -5, -4 (n 2). */
  const char *gold = ",\"segment\":\"gold\"";
  CHECK_INT(feed_core(&core, 1,
                      SQ2("g1", "gc1", "2026-11-23T07:01:00Z", "reliability", 7, 4, "tangibles",
                          5, 5, gold)),
            CXP_OK);
  CHECK_INT(feed_core(&core, 2,
                      SQ2("g2", "gc2", "2026-11-23T07:02:00Z", "reliability", 6, 5, "tangibles",
                          4, 5, gold)),
            CXP_OK);
  CHECK_INT(feed_core(&core, 3,
                      SQ2("g3", "gc3", "2026-11-23T07:03:00Z", "reliability", 7, 6, "tangibles",
                          6, 4, gold)),
            CXP_OK);
  CHECK_INT(feed_core(&core, 4,
                      SQ2("g4", "gc4", "2026-11-23T07:04:00Z", "empathy", 7, 2, "assurance", 5,
                          5, gold)),
            CXP_OK);
  CHECK_INT(feed_core(&core, 5,
                      SQ2("g5", "gc5", "2026-11-23T07:05:00Z", "empathy", 7, 3, "assurance", 5,
                          5, gold)),
            CXP_OK);
  CHECK_INT(feed_core(&core, 6,
                      SQ2("v1", "sc1", "2026-11-23T07:06:00Z", "reliability", 7, 1, "empathy", 5,
                          5, ",\"segment\":\"silver\"")),
            CXP_OK);
  CHECK_INT(count_type(&o, "servqual.gap"), 0);
  /* Hour 08 starts: the watermark (lateness 0) closes hour 07. */
  CHECK_INT(feed_core(&core, 7,
                      "{\"event_id\":\"u1\",\"customer_id\":\"gc1\",\"type\":\"usage\","
                      "\"ts\":\"2026-11-23T08:00:30Z\",\"segment\":\"gold\"}"),
            CXP_OK);
  CHECK_INT(count_stream(&o, CXP_STREAM_INDICATORS), 2);
  CHECK_INT(count_type(&o, "servqual.gap"), 1);
  int i = find_out(&o, CXP_STREAM_ALERTS, "servqual.gap");
  if (i >= 0) {
    CHECK_STR(o.key[i], "{\"segment\":\"gold\"}");
    cJSON *j = cJSON_Parse(o.val[i]);
    /* -1.6667 is not -3 or less: P3; a group alert is not lifted. */
    CHECK_STR(get_s(j, "priority"), "P3");
    CHECK(cJSON_IsNull(obj(j, "customer_id")));
    CHECK_STR(get_s(j, "segment"), "gold");
    CHECK_STR(get_s(j, "event_ts"), "2026-11-23T08:00:00.000Z");
    CHECK_STR(arr_s(j, "actions", 0), "standardise_process_and_control_quality");
    CHECK(arr_s(j, "actions", 1) == NULL);
    /* Reason: -5/3, contribution -5/3 + 1.5 = -1/6. */
    CHECK_STR(get_s(arr_o(j, "reasons", 0), "factor"), "servqual_gap.reliability");
    CHECK_NEAR(get_n(arr_o(j, "reasons", 0), "value"), -5.0 / 3, 1e-4);
    CHECK_NEAR(get_n(arr_o(j, "reasons", 0), "contribution"), -1.0 / 6, 1e-4);
    const cJSON *sq = obj(j, "servqual");
    CHECK_STR(get_s(sq, "window_start"), "2026-11-23T07:00:00.000Z");
    CHECK_STR(get_s(obj(sq, "group"), "segment"), "gold");
    const cJSON *d0 = arr_o(sq, "dimensions", 0);
    CHECK_STR(get_s(d0, "dimension"), "reliability");
    CHECK_NEAR(get_n(d0, "gap"), -5.0 / 3, 1e-4);
    CHECK_NEAR(get_n(d0, "n"), 3, 0);
    CHECK(arr_o(sq, "dimensions", 1) == NULL);
    cJSON_Delete(j);
  }
  save(&o);
  cxp_core_close(&core);

  /* The same answers with the alert switched off: records, no alert. */
  memset(&o, 0, sizeof o);
  pl.sq_enabled = 0;
  cxp_core_init(&core, &pl, collect, &o);
  cxp_core_merge_local(&core, 1);
  CHECK_INT(feed_core(&core, 1,
                      SQ2("g1", "gc1", "2026-11-23T07:01:00Z", "reliability", 7, 1, "tangibles",
                          5, 5, gold)),
            CXP_OK);
  cxp_core_finish(&core);
  CHECK_INT(count_type(&o, "servqual.gap"), 0);
  cxp_core_close(&core);
}

/* ---- delivered value and the loyalty triad --------------------------------- */

#define EV(eid, cid, type, ts, extra)                                             \
  (snprintf(buf, sizeof buf,                                                      \
            "{\"event_id\":\"%s\",\"customer_id\":\"%s\",\"type\":\"%s\","        \
            "\"ts\":\"%s\",\"segment\":\"gold\"%s}",                             \
            eid, cid, type, ts, extra),                                           \
   buf)

/* v1's history, all at 06:59:50 and read then (every weight 1):
 *   CSAT 4: product 1. Contacts: resolved, 600 + 300 s (time 900 / 1800 =
 *   0.5); not resolved, 1200 + 600 s (1): service 1/2, time (0.5 + 1) / 2
 *   = 0.75, unresolved share 0.5. CES 5: (7 - 5) / 6 = 1/3; effort (1/3 +
 *   0.5) / 2 = 5/12. Purchase 1500, compensation 500: net 1000, money
 *   1000 / (1000 + 1000) = 0.5. No complaint or failure: inconvenience 0.
 *   Value (1 + 0.5) / 2 = 0.75; cost (0.5 + 0.75 + 5/12 + 0) / 4 = 5/12;
 *   ratio 0.75 / (5/12) = 1.8.
 * v2: CSAT 1 (product 0) and a complaint (inconvenience 1 - 2^-1 = 0.5):
 *   ratio 0 / 0.5 = 0.
 * Hour 07 (lateness 0: 07:00 closes hour 06): v1's first event there is a
 * usage (his ratio then: 1.8, his sums a few seconds older), then a
 * purchase (a repeat: he bought at 06:59); v2 a usage (0); v3 a first
 * purchase and a referral (no value part: no ratio); v4 a referral and a
 * complaint. Customers 4; delivered value n 2, mean (1.8 + 0) / 2 = 0.9,
 * share under 1: 1/2. Loyalty: 1 repeat purchase, 2 referrals, 1
 * complaint per 4 customers: 25, 50, 25 per 100. */
static void test_value_loyalty(void) {
  static outs o;
  char buf[512];
  cxp_pipeline pl;
  cxp_core core;
  memset(&o, 0, sizeof o);
  window_pipeline(&pl, "1h", "segment", 30);
  cxp_core_init(&core, &pl, collect, &o);
  cxp_core_merge_local(&core, 1);
  const char *h = "2026-11-23T06:59:50Z";
  int64_t off = 1;
  CHECK_INT(feed_core(&core, off++, EV("a1", "v1", "survey.csat", h, ",\"score\":4")), CXP_OK);
  CHECK_INT(feed_core(&core, off++,
                      EV("a2", "v1", "contact", h,
                         ",\"wait_s\":600,\"handle_s\":300,\"resolved\":true")),
            CXP_OK);
  CHECK_INT(feed_core(&core, off++,
                      EV("a3", "v1", "contact", h,
                         ",\"wait_s\":1200,\"handle_s\":600,\"resolved\":false")),
            CXP_OK);
  CHECK_INT(feed_core(&core, off++, EV("a4", "v1", "survey.ces", h, ",\"score\":5")), CXP_OK);
  CHECK_INT(feed_core(&core, off++, EV("a5", "v1", "purchase", h, ",\"amount\":1500")), CXP_OK);
  CHECK_INT(feed_core(&core, off++,
                      EV("a6", "v1", "recovery.compensated", h,
                         ",\"case_id\":\"K1\",\"amount\":500")),
            CXP_OK);
  CHECK_INT(feed_core(&core, off++, EV("b1", "v2", "survey.csat", h, ",\"score\":1")), CXP_OK);
  CHECK_INT(feed_core(&core, off++,
                      EV("b2", "v2", "complaint", h,
                         ",\"case_id\":\"K2\",\"category\":\"design\",\"severity\":3")),
            CXP_OK);

  cxp_shard *sh = core.state.shards[0];
  cxp_customer *v1 = cxp_shard_find(sh, "v1", 2), *v2 = cxp_shard_find(sh, "v2", 2);
  CHECK(v1 != NULL && v2 != NULL);
  if (v1 && v2) {
    cxp_indicators in;
    const int64_t t = T0 - 10 * S_MS;
    cxp_customer_indicators(v1, &core.customer, t, &in);
    CHECK_NEAR(in.value_parts[0], 1, 1e-6);
    CHECK_NEAR(in.value_parts[1], 0.5, 1e-6);
    CHECK(isnan(in.value_parts[2]) && isnan(in.value_parts[3]));
    CHECK_NEAR(in.cost_parts[0], 0.5, 1e-6);
    CHECK_NEAR(in.cost_parts[1], 0.75, 1e-6);
    CHECK_NEAR(in.cost_parts[2], 5.0 / 12, 1e-6);
    CHECK_NEAR(in.cost_parts[3], 0, 1e-9);
    CHECK_NEAR(in.value, 0.75, 1e-6);
    CHECK_NEAR(in.cost, 5.0 / 12, 1e-6);
    CHECK_NEAR(in.value_ratio, 1.8, 1e-6);
    cxp_customer_indicators(v2, &core.customer, t, &in);
    CHECK_NEAR(in.value_ratio, 0, 1e-9);
    CHECK(isnan(in.cost_parts[0])); /* no purchase: no money part */
  }

  CHECK_INT(feed_core(&core, off++, EV("a7", "v1", "usage", "2026-11-23T07:00:00Z", "")),
            CXP_OK);
  CHECK_INT(feed_core(&core, off++,
                      EV("a8", "v1", "purchase", "2026-11-23T07:00:20Z", ",\"amount\":10")),
            CXP_OK);
  CHECK_INT(feed_core(&core, off++, EV("b3", "v2", "usage", "2026-11-23T07:00:25Z", "")),
            CXP_OK);
  CHECK_INT(feed_core(&core, off++,
                      EV("c1", "v3", "purchase", "2026-11-23T07:00:30Z", ",\"amount\":10")),
            CXP_OK);
  CHECK_INT(feed_core(&core, off++, EV("c2", "v3", "referral", "2026-11-23T07:00:40Z", "")),
            CXP_OK);
  CHECK_INT(feed_core(&core, off++, EV("d1", "v4", "referral", "2026-11-23T07:00:50Z", "")),
            CXP_OK);
  CHECK_INT(feed_core(&core, off++,
                      EV("d2", "v4", "complaint", "2026-11-23T07:00:55Z",
                         ",\"case_id\":\"K3\",\"category\":\"design\",\"severity\":3")),
            CXP_OK);
  cxp_core_finish(&core);
  int i = find_out(&o, CXP_STREAM_INDICATORS, "\"window_start\":\"2026-11-23T07:00:00.000Z\"");
  CHECK(i >= 0);
  if (i >= 0) {
    cJSON *j = cJSON_Parse(o.val[i]);
    const cJSON *dv = obj(j, "delivered_value"), *ly = obj(j, "loyalty");
    CHECK_NEAR(get_n(dv, "n"), 2, 0);
    CHECK_NEAR(get_n(dv, "mean_ratio"), 0.9, 1e-4);
    CHECK_NEAR(get_n(dv, "share_under_1"), 0.5, 1e-9);
    CHECK_NEAR(get_n(ly, "customers"), 4, 0);
    CHECK_NEAR(get_n(ly, "repeat_purchases"), 1, 0);
    CHECK_NEAR(get_n(ly, "referrals"), 2, 0);
    CHECK_NEAR(get_n(ly, "repeat_purchase_rate"), 25, 1e-9);
    CHECK_NEAR(get_n(ly, "referral_rate"), 50, 1e-9);
    CHECK_NEAR(get_n(ly, "complaint_rate"), 25, 1e-9);
    /* Activity: the 2 referrals per 4 customers: 50. */
    CHECK_NEAR(get_n(obj(j, "activity"), "participations"), 2, 0);
    CHECK_NEAR(get_n(obj(j, "activity"), "index"), 50, 1e-9);
    cJSON_Delete(j);
  }
  /* Hour 06: v1 and v2, both with a ratio at their first event there (v1's
   * CSAT alone: value 1 against a cost of inconvenience 0, floored at 0.05:
   * 20; v2's CSAT 1: 0): mean 10, share under 1: 1/2; 1 complaint of 2
   * customers: 50. */
  i = find_out(&o, CXP_STREAM_INDICATORS, "\"window_start\":\"2026-11-23T06:00:00.000Z\"");
  CHECK(i >= 0);
  if (i >= 0) {
    cJSON *j = cJSON_Parse(o.val[i]);
    CHECK_NEAR(get_n(obj(j, "delivered_value"), "mean_ratio"), 10, 1e-4);
    CHECK_NEAR(get_n(obj(j, "delivered_value"), "share_under_1"), 0.5, 1e-9);
    CHECK_NEAR(get_n(obj(j, "loyalty"), "complaint_rate"), 50, 1e-9);
    CHECK_NEAR(get_n(obj(j, "loyalty"), "repeat_purchase_rate"), 0, 1e-9);
    cJSON_Delete(j);
  }
  /* Per customer, per 30 days (half-life 30 d: count x ln 2): v3's one
   * purchase and one referral, each read at its time: 0.693147; v4's
   * complaint likewise. */
  cxp_customer *v3 = cxp_shard_find(sh, "v3", 2), *v4 = cxp_shard_find(sh, "v4", 2);
  CHECK(v3 != NULL && v4 != NULL);
  if (v3 && v4) {
    cxp_indicators in;
    cxp_customer_indicators(v3, &core.customer, T0 + 30 * S_MS, &in);
    CHECK_NEAR(in.repeat_purchase_rate, M_LN2, 1e-6);
    cxp_customer_indicators(v3, &core.customer, T0 + 40 * S_MS, &in);
    CHECK_NEAR(in.referral_rate, M_LN2, 1e-6);
    CHECK_NEAR(in.complaint_rate, 0, 1e-9);
    cxp_customer_indicators(v4, &core.customer, T0 + 55 * S_MS, &in);
    CHECK_NEAR(in.complaint_rate, M_LN2, 1e-6);
  }
  save(&o);
  /* Bad input: a negative purchase amount is dead-lettered; v3's spend is
   * unchanged. */
  CHECK_INT(feed_core(&core, off++,
                      EV("c3", "v3", "purchase", "2026-11-23T08:00:00Z", ",\"amount\":-5")),
            CXP_BAD_OUT_OF_RANGE);
  cxp_core_close(&core);
}

/* A customer counts in a window at his first event there, by event time:
 * at the millisecond on either side of a boundary, and not again for an
 * event that comes after a later one of his (1-minute windows, lateness
 * 120 s, so 07:00 is still open at 07:01:30):
 *   x 07:00:59.999, x 07:01:00.000, x 07:00:30, y 07:01:30, y 07:01:40,
 *   y 07:00:45, then z at 07:10 closes both. 07:00: events 3 (x, x, y),
 *   customers 1 (x; y's 07:00:45 came after his 07:01:30). 07:01: events 3
 *   (x, y, y), customers 2. */
static void test_customers_at_boundaries(void) {
  static outs o;
  char buf[512];
  cxp_pipeline pl;
  cxp_core core;
  memset(&o, 0, sizeof o);
  window_pipeline(&pl, "1m", "segment", 1);
  pl.win_lateness_s = 120;
  char err[256];
  CHECK_INT(cxp_pipeline_windows(&pl, err, sizeof err), 0);
  cxp_core_init(&core, &pl, collect, &o);
  cxp_core_merge_local(&core, 1);
  static const char *const ev[][3] = {
      {"b1", "x", "2026-11-23T07:00:59.999Z"}, {"b2", "x", "2026-11-23T07:01:00.000Z"},
      {"b3", "x", "2026-11-23T07:00:30Z"},     {"b4", "y", "2026-11-23T07:01:30Z"},
      {"b7", "y", "2026-11-23T07:01:40Z"},     {"b5", "y", "2026-11-23T07:00:45Z"},
      {"b6", "z", "2026-11-23T07:10:00Z"},
  };
  for (int k = 0; k < 7; k++)
    CHECK_INT(feed_core(&core, k + 1, EV(ev[k][0], ev[k][1], "usage", ev[k][2], "")),
              CXP_OK);
  cxp_core_finish(&core);
  static const char *const start[2] = {"2026-11-23T07:00:00.000Z",
                                       "2026-11-23T07:01:00.000Z"};
  static const int events[2] = {3, 3}, customers[2] = {1, 2};
  for (int w = 0; w < 2; w++) {
    char needle[64];
    snprintf(needle, sizeof needle, "\"window_start\":\"%s\"", start[w]);
    int i = find_out(&o, CXP_STREAM_INDICATORS, needle);
    CHECK(i >= 0);
    if (i < 0) continue;
    cJSON *j = cJSON_Parse(o.val[i]);
    CHECK_NEAR(get_n(obj(j, "n"), "events"), events[w], 0);
    CHECK_NEAR(get_n(obj(j, "loyalty"), "customers"), customers[w], 0);
    cJSON_Delete(j);
  }
  cxp_core_close(&core);
}

/* ---- value-based priority -------------------------------------------------- */

/* The closed-loop alert of `cid` after the events given, on a fresh core
 * with churn scoring and the closed loop (P2 for 0-3, P3 for 4-6). */
static cJSON *closed_loop_after(const char *cid, const char *first, int score) {
  static outs o;
  char buf[512];
  cxp_pipeline pl;
  cxp_core core;
  memset(&o, 0, sizeof o);
  quiet_pipeline(&pl);
  pl.churn_enabled = pl.closed_loop_enabled = 1;
  cxp_core_init(&core, &pl, collect, &o);
  CHECK_INT(feed_core(&core, 1, first), CXP_OK);
  snprintf(buf, sizeof buf,
           "{\"event_id\":\"n1\",\"customer_id\":\"%s\",\"type\":\"survey.nps\","
           "\"ts\":\"2026-11-23T07:00:00Z\",\"score\":%d}",
           cid, score);
  CHECK_INT(feed_core(&core, 2, buf), CXP_OK);
  int i = find_out(&o, CXP_STREAM_ALERTS, "recovery.closed_loop");
  CHECK(i >= 0);
  save(&o);
  cxp_core_close(&core);
  return i >= 0 ? cJSON_Parse(o.val[i]) : NULL;
}

/* The last reason of an alert, or NULL. */
static const cJSON *last_reason(const cJSON *j) {
  const cJSON *r = obj(j, "reasons");
  int n = cJSON_GetArraySize(r);
  return n ? cJSON_GetArrayItem(r, n - 1) : NULL;
}

/* A customer with 150,000 of purchases and no profile clv, then an NPS 2
 * at the same time (default model and settings):
 *   value = 150000 x ln 2 / 90 d x 365 d = 421,664.53 (his long-horizon
 *   spend rate projected over churn.value.horizon_days);
 *   churn logit -3.3 + detractor 0.7 + low satisfaction 1.1 x (50 - 20) / 50
 *   + value below cost 0.7 x (1 - 0.2 / ((150000 / 151000 + 0) / 2)) =
 *   -1.521867: p = 0.179187; value at risk 75,556.72 >= 10,000: the
 *   closed-loop alert, P2 by its score, is lifted to P1.
 * The same with 1,500: value 4,216.65, logit -1.706667, p 0.153597, value at
 * risk 647.66: no lift, P2.
 * A profile clv of 2,000,000 and an NPS 5 (P3): logit -3.3 + 0.7 (the
 * value part 0.5 over a cost floored at 0.05: not under cost; SI 50), p
 * 0.069138, value at risk 138,276.84 >= 100,000: two levels, P1. */
static void test_value_priority(void) {
  /* The tiers: each threshold reached lifts a level; 0 turns one off; no
   * value at risk (0, negative, NaN) lifts nothing; never past P1. */
  CHECK_INT(cxp_alert_value_tier(9999.99, 10000, 100000), 0);
  CHECK_INT(cxp_alert_value_tier(10000, 10000, 100000), 1);
  CHECK_INT(cxp_alert_value_tier(100000, 10000, 100000), 2);
  CHECK_INT(cxp_alert_value_tier(1e9, 0, 100000), 1);
  CHECK_INT(cxp_alert_value_tier(1e9, 0, 0), 0);
  CHECK_INT(cxp_alert_value_tier(NAN, 10000, 100000), 0);
  CHECK_INT(cxp_alert_value_tier(-5, 0.5, 1), 0);
  CHECK_INT(cxp_alert_lift_by(3, 2), 1);
  CHECK_INT(cxp_alert_lift_by(2, 2), 1);
  CHECK_INT(cxp_alert_lift_by(4, 0), 4);
  cJSON *j = closed_loop_after("rich",
                               "{\"event_id\":\"p1\",\"customer_id\":\"rich\",\"type\":"
                               "\"purchase\",\"ts\":\"2026-11-23T07:00:00Z\",\"amount\":150000}",
                               2);
  CHECK_STR(get_s(j, "priority"), "P1");
  CHECK_STR(get_s(last_reason(j), "factor"), "value_at_risk");
  CHECK_NEAR(get_n(last_reason(j), "value"), 75556.72, 0.5);
  cJSON_Delete(j);
  j = closed_loop_after("poor",
                        "{\"event_id\":\"p1\",\"customer_id\":\"poor\",\"type\":\"purchase\","
                        "\"ts\":\"2026-11-23T07:00:00Z\",\"amount\":1500}",
                        2);
  CHECK_STR(get_s(j, "priority"), "P2");
  CHECK_STR_NE(get_s(last_reason(j), "factor"), "value_at_risk");
  cJSON_Delete(j);
  j = closed_loop_after("vip",
                        "{\"event_id\":\"p1\",\"customer_id\":\"vip\",\"type\":\"profile\","
                        "\"ts\":\"2026-11-23T07:00:00Z\",\"segment\":\"basic\",\"clv\":2000000}",
                        5);
  CHECK_STR(get_s(j, "priority"), "P1");
  CHECK_NEAR(get_n(last_reason(j), "value"), 138276.84, 0.5);
  cJSON_Delete(j);
}

/* recovery.required: a case's priority is lifted when the customer's value
 * reaches recovery.high_value (5,000): with no profile clv, his spend
 * projected ahead: 150,000 of purchases are 421,664.53 (lifted: a severity
 * 3 complaint is P2), 1,500 are 4,216.65 (not: P3). */
static void test_case_value(void) {
  static const struct {
    const char *amount, *priority;
  } t[] = {{"150000", "P2"}, {"1500", "P3"}};
  for (int k = 0; k < 2; k++) {
    static outs o;
    char buf[512];
    cxp_pipeline pl;
    cxp_core core;
    memset(&o, 0, sizeof o);
    quiet_pipeline(&pl);
    pl.rec_enabled = 1;
    cxp_core_init(&core, &pl, collect, &o);
    snprintf(buf, sizeof buf,
             "{\"event_id\":\"p1\",\"customer_id\":\"w1\",\"type\":\"purchase\","
             "\"ts\":\"2026-11-23T07:00:00Z\",\"amount\":%s}",
             t[k].amount);
    CHECK_INT(feed_core(&core, 1, buf), CXP_OK);
    CHECK_INT(feed_core(&core, 2,
                        "{\"event_id\":\"c1\",\"customer_id\":\"w1\",\"type\":\"complaint\","
                        "\"ts\":\"2026-11-23T07:00:00Z\",\"case_id\":\"KV\","
                        "\"category\":\"other\",\"severity\":3}"),
              CXP_OK);
    int i = find_out(&o, CXP_STREAM_ALERTS, "recovery.required");
    CHECK(i >= 0);
    if (i >= 0) {
      cJSON *j = cJSON_Parse(o.val[i]);
      CHECK_STR(get_s(j, "priority"), t[k].priority);
      cJSON_Delete(j);
    }
    save(&o);
    cxp_core_close(&core);
  }
}

/* ---- pre-emption over every failure case ------------------------------------ */

#define CASE_EV(eid, cid, type, ts, kase, extra)                                          \
  (snprintf(buf, sizeof buf,                                                              \
            "{\"event_id\":\"%s\",\"customer_id\":\"%s\",\"type\":\"%s\",\"ts\":\"%s\","  \
            "\"case_id\":\"%s\"%s}",                                                      \
            eid, cid, type, ts, kase, extra),                                             \
   buf)

/* Four cases in gold's 07:00 hour, each resolved and followed up, so that
 * they close (300 s after) within the hour:
 *   K1 a failure detected by the provider, then a complaint on it:
 *      pre-empted;
 *   K2 a complaint, then the provider reports the failure: not pre-empted
 *      (the provider came second), but a failure case;
 *   K3 a complaint alone: a failure case, not pre-empted;
 *   K4 a failure detected by the customer: not pre-empted.
 * preemption: failure_cases 4, preempted 1, ratio 0.25. (Counting only the
 * cases service.failure opened, it was 2, 1 and 0.5.) A detractor's case
 * is none of them. */
static void test_preemption(void) {
  static outs o;
  char buf[512];
  cxp_pipeline pl;
  cxp_core core;
  memset(&o, 0, sizeof o);
  window_pipeline(&pl, "1h", "segment", 30);
  pl.rec_enabled = 1;
  pl.rec_detractor_cases = 1;
  cxp_core_init(&core, &pl, collect, &o);
  cxp_core_merge_local(&core, 1);
  const char *fp = ",\"category\":\"operational\",\"severity\":3,\"segment\":\"gold\","
                   "\"detected_by\":\"provider\"";
  const char *fc = ",\"category\":\"operational\",\"severity\":3,\"segment\":\"gold\","
                   "\"detected_by\":\"customer\"";
  const char *cp = ",\"category\":\"operational\",\"severity\":3,\"segment\":\"gold\"";
  int64_t off = 1;
  CHECK_INT(feed_core(&core, off++,
                      CASE_EV("e1", "u1", "service.failure", "2026-11-23T07:00:00Z", "K1", fp)),
            CXP_OK);
  CHECK_INT(feed_core(&core, off++,
                      CASE_EV("e2", "u2", "complaint", "2026-11-23T07:01:00Z", "K2", cp)),
            CXP_OK);
  CHECK_INT(feed_core(&core, off++,
                      CASE_EV("e3", "u3", "complaint", "2026-11-23T07:02:00Z", "K3", cp)),
            CXP_OK);
  CHECK_INT(feed_core(&core, off++,
                      CASE_EV("e4", "u4", "service.failure", "2026-11-23T07:03:00Z", "K4", fc)),
            CXP_OK);
  CHECK_INT(feed_core(&core, off++,
                      CASE_EV("e5", "u1", "complaint", "2026-11-23T07:04:00Z", "K1", cp)),
            CXP_OK);
  CHECK_INT(feed_core(&core, off++,
                      CASE_EV("e6", "u2", "service.failure", "2026-11-23T07:05:00Z", "K2", fp)),
            CXP_OK);
  /* A detractor (opens a closed-loop case, not a failure case). */
  CHECK_INT(feed_core(&core, off++,
                      "{\"event_id\":\"e7\",\"customer_id\":\"u5\",\"type\":\"survey.nps\","
                      "\"ts\":\"2026-11-23T07:06:00Z\",\"score\":1,\"segment\":\"gold\"}"),
            CXP_OK);
  const char *ids[4][2] = {{"u1", "K1"}, {"u2", "K2"}, {"u3", "K3"}, {"u4", "K4"}};
  for (int k = 0; k < 4; k++) {
    char eid[8];
    snprintf(eid, sizeof eid, "r%d", k);
    CHECK_INT(feed_core(&core, off++,
                        CASE_EV(eid, ids[k][0], "recovery.resolved", "2026-11-23T07:10:00Z",
                                ids[k][1], "")),
              CXP_OK);
    snprintf(eid, sizeof eid, "f%d", k);
    CHECK_INT(feed_core(&core, off++,
                        CASE_EV(eid, ids[k][0], "recovery.followed_up", "2026-11-23T07:20:00Z",
                                ids[k][1], "")),
              CXP_OK);
  }
  /* 09:00 closes the cases (07:25) and then hour 07. */
  CHECK_INT(feed_core(&core, off++,
                      "{\"event_id\":\"z\",\"customer_id\":\"u9\",\"type\":\"usage\","
                      "\"ts\":\"2026-11-23T09:00:00Z\",\"segment\":\"gold\"}"),
            CXP_OK);
  int i = find_out(&o, CXP_STREAM_INDICATORS, "\"window_start\":\"2026-11-23T07:00:00.000Z\"");
  CHECK(i >= 0);
  if (i >= 0) {
    cJSON *j = cJSON_Parse(o.val[i]);
    const cJSON *pe = obj(j, "preemption");
    CHECK_NEAR(get_n(pe, "failure_cases"), 4, 0);
    CHECK_NEAR(get_n(pe, "preempted"), 1, 0);
    CHECK_NEAR(get_n(pe, "ratio"), 0.25, 1e-9);
    cJSON_Delete(j);
  }
  save(&o);
  /* Bad input: a recovery step without its case_id is dead-lettered. */
  CHECK(feed_core(&core, off++,
                  "{\"event_id\":\"bad\",\"customer_id\":\"u1\",\"type\":\"recovery.resolved\","
                  "\"ts\":\"2026-11-23T09:01:00Z\"}") != CXP_OK);
  cxp_core_close(&core);
}

/* ---- consistency across channels and agents --------------------------------- */

/* Groupings all, channel and agent_id; hour 07 (each answer its own
 * customer):
 *   a1: CSAT 5, 5 on app, 5 on web, NPS 10 on app; a2: CSAT 1 on web, 1, 1
 *   on phone, NPS 0 on phone; one CSAT 5 on app without an agent.
 * Channels: app CSAT 100 (3 of 3), NPS 100; web 50 (1 of 2); phone 0, NPS
 * -100. CSAT across channels: 100, 50, 0: mean 50, sd sqrt((2500 + 0 +
 * 2500) / 3) = 40.8248, n 3; NPS: 100, -100: sd 100, n 2.
 * Agents (the one without is left out): a1 CSAT 100, NPS 100; a2 CSAT 0,
 * NPS -100: sd 50 and 100, n 2 each. Only the all-customers record has
 * sub-groups: the channel and agent records show n 0 and sd null. */
static void test_consistency(void) {
  static outs o;
  char buf[512];
  cxp_pipeline pl;
  cxp_core core;
  memset(&o, 0, sizeof o);
  window_pipeline(&pl, "1h", "all", 30);
  snprintf(pl.win_group_by, sizeof pl.win_group_by, "[\"all\",\"channel\",\"agent_id\"]");
  char err[256];
  CHECK_INT(cxp_pipeline_windows(&pl, err, sizeof err), 0);
  cxp_core_init(&core, &pl, collect, &o);
  cxp_core_merge_local(&core, 1);
  static const struct {
    const char *type, *agent, *channel;
    int score;
  } in[] = {{"survey.csat", "a1", "app", 5},   {"survey.csat", "a1", "app", 5},
            {"survey.csat", "a1", "web", 5},   {"survey.nps", "a1", "app", 10},
            {"survey.csat", "a2", "web", 1},   {"survey.csat", "a2", "phone", 1},
            {"survey.csat", "a2", "phone", 1}, {"survey.nps", "a2", "phone", 0},
            {"survey.csat", NULL, "app", 5}};
  int64_t off = 1;
  for (size_t k = 0; k < sizeof in / sizeof in[0]; k++) {
    char agent[32] = "";
    if (in[k].agent) snprintf(agent, sizeof agent, ",\"agent_id\":\"%s\"", in[k].agent);
    snprintf(buf, sizeof buf,
             "{\"event_id\":\"k%zu\",\"customer_id\":\"q%zu\",\"type\":\"%s\","
             "\"ts\":\"2026-11-23T07:%02zu:00Z\",\"score\":%d,\"channel\":\"%s\"%s}",
             k, k, in[k].type, k, in[k].score, in[k].channel, agent);
    CHECK_INT(feed_core(&core, off++, buf), CXP_OK);
  }
  CHECK_INT(feed_core(&core, off++,
                      "{\"event_id\":\"z\",\"customer_id\":\"q9\",\"type\":\"usage\","
                      "\"ts\":\"2026-11-23T08:00:30Z\"}"),
            CXP_OK);
  int i = -1;
  for (int k = 0; k < o.n; k++)
    if (o.stream[k] == CXP_STREAM_INDICATORS && strcmp(o.key[k], "{}") == 0) i = k;
  CHECK(i >= 0);
  if (i >= 0) {
    cJSON *j = cJSON_Parse(o.val[i]);
    const cJSON *ch = obj(obj(j, "consistency"), "channels");
    const cJSON *ag = obj(obj(j, "consistency"), "agents");
    CHECK_NEAR(get_n(obj(ch, "csat"), "n"), 3, 0);
    CHECK_NEAR(get_n(obj(ch, "csat"), "sd"), 40.8248, 1e-3);
    CHECK_NEAR(get_n(obj(ch, "nps"), "n"), 2, 0);
    CHECK_NEAR(get_n(obj(ch, "nps"), "sd"), 100, 1e-6);
    CHECK_NEAR(get_n(obj(ag, "csat"), "n"), 2, 0);
    CHECK_NEAR(get_n(obj(ag, "csat"), "sd"), 50, 1e-6);
    CHECK_NEAR(get_n(obj(ag, "nps"), "sd"), 100, 1e-6);
    cJSON_Delete(j);
  }
  i = find_out(&o, CXP_STREAM_INDICATORS, "\"group\":{\"channel\":\"app\"}");
  CHECK(i >= 0);
  if (i >= 0) {
    cJSON *j = cJSON_Parse(o.val[i]);
    const cJSON *ch = obj(obj(j, "consistency"), "channels");
    CHECK_NEAR(get_n(obj(ch, "csat"), "n"), 0, 0);
    CHECK(cJSON_IsNull(obj(obj(ch, "csat"), "sd")));
    cJSON_Delete(j);
  }
  save(&o);
  cxp_core_close(&core);
}

/* ---- AHP weights --------------------------------------------------------------- */

/* A pipeline file's text loaded: 0 or -1 with err. */
static int load(cxp_pipeline *pl, const char *text, char *err, size_t errlen) {
  return cxp_pipeline_from_json(pl, cJSON_Parse(text), "p.json", err, errlen);
}

static void test_ahp(void) {
  char err[400];
  double w[4], cr;
  /* Consistent 3 x 3: a12 = 2, a13 = 6, a23 = 3 (= 6 / 2): weights
   * proportional to 6 : 3 : 1, i.e. 0.6, 0.3, 0.1; lambda_max 3, CR 0. */
  const double c3[9] = {1, 2, 6, 1.0 / 2, 1, 3, 1.0 / 6, 1.0 / 3, 1};
  CHECK_INT(cxp_ahp_weights(c3, 3, w, &cr, err, sizeof err), 0);
  CHECK_NEAR(w[0], 0.6, 1e-9);
  CHECK_NEAR(w[1], 0.3, 1e-9);
  CHECK_NEAR(w[2], 0.1, 1e-9);
  CHECK_NEAR(cr, 0, 1e-9);
  /* A cycle (1 beats 2 by 9, 2 beats 3 by 9, 3 beats 1 by 9): by symmetry
   * w = 1/3 each, lambda_max = 1 + 9 + 1/9 = 10.1111; CI = (10.1111 - 3) / 2
   * = 3.5556; CR = 3.5556 / 0.58 = 6.1303. */
  const double x3[9] = {1, 9, 1.0 / 9, 1.0 / 9, 1, 9, 9, 1.0 / 9, 1};
  CHECK_INT(cxp_ahp_weights(x3, 3, w, &cr, err, sizeof err), 0);
  CHECK_NEAR(w[0], 1.0 / 3, 1e-9);
  CHECK_NEAR(cr, (1 + 9 + 1.0 / 9 - 3) / 2 / 0.58, 1e-6);
  CHECK_INT(cxp_ahp_from_json("[[1,9,0.1111],[0.1111,1,9],[9,0.1111,1]]", 3, w, &cr, err,
                              sizeof err),
            -1);
  CHECK(strstr(err, "CR 6.13") != NULL);
  /* Not a comparison matrix. */
  const double nr[4] = {1, 2, 2, 1}; /* a21 should be 1/2 */
  CHECK_INT(cxp_ahp_weights(nr, 2, w, &cr, err, sizeof err), -1);
  CHECK(strstr(err, "reciprocal") != NULL);
  const double nd[4] = {2, 1, 1, 1};
  CHECK_INT(cxp_ahp_weights(nd, 2, w, &cr, err, sizeof err), -1);
  const double ng[4] = {1, -2, -0.5, 1};
  CHECK_INT(cxp_ahp_weights(ng, 2, w, &cr, err, sizeof err), -1);
  CHECK_INT(cxp_ahp_from_json("[[1,2],[0.5]]", 2, w, &cr, err, sizeof err), -1);

  /* In a pipeline: csat, nps, ces, servqual, each twice the next (consistent):
   * weights 8, 4, 2, 1 fifteenths. 0.5 and 0.25 stand for 1/2 and 1/4; 0.333
   * would stand for 1/3 (within 1 %). */
  cxp_pipeline pl;
  CHECK_INT(load(&pl,
                 "{\"satisfaction_index\":{\"pairwise\":[[1,2,4,8],[0.5,1,2,4],"
                 "[0.25,0.5,1,2],[0.125,0.25,0.5,1]]}}",
                 err, sizeof err),
            0);
  CHECK_NEAR(pl.si_w_csat, 8.0 / 15, 1e-9);
  CHECK_NEAR(pl.si_w_nps, 4.0 / 15, 1e-9);
  CHECK_NEAR(pl.si_w_ces, 2.0 / 15, 1e-9);
  CHECK_NEAR(pl.si_w_servqual, 1.0 / 15, 1e-9);
  CHECK_NEAR(pl.si_pairwise_cr, 0, 1e-9);
  /* The index with them: CSAT 100 and NPS mean 4 (40): (8 x 100 + 4 x 40)
   * / 12 = 80. */
  cxp_customer_conf cf;
  cxp_pipeline_customer(&pl, &cf);
  CHECK_NEAR(cxp_satisfaction_index(100, 4, NAN, NAN, &cf), 80, 1e-9);
  /* Refused: inconsistent (the cycle with a fourth that ties: CR 2.3812),
   * not reciprocal, not 4 x 4, and given beside the weights. */
  CHECK_INT(load(&pl,
                 "{\"satisfaction_index\":{\"pairwise\":[[1,9,0.1111,1],[0.1111,1,9,1],"
                 "[9,0.1111,1,1],[1,1,1,1]]}}",
                 err, sizeof err),
            -1);
  CHECK(strstr(err, "satisfaction_index.pairwise") != NULL && strstr(err, "CR 2.38") != NULL);
  CHECK_INT(load(&pl,
                 "{\"satisfaction_index\":{\"pairwise\":[[1,3,1,1],[3,1,1,1],"
                 "[1,1,1,1],[1,1,1,1]]}}",
                 err, sizeof err),
            -1);
  CHECK(strstr(err, "reciprocal") != NULL);
  CHECK_INT(load(&pl, "{\"satisfaction_index\":{\"pairwise\":[[1,2],[0.5,1]]}}", err,
                 sizeof err),
            -1);
  CHECK(strstr(err, "4 rows of 4 numbers") != NULL);
  CHECK_INT(load(&pl,
                 "{\"satisfaction_index\":{\"weights\":{\"csat\":2},\"pairwise\":[[1,1,1,1],"
                 "[1,1,1,1],[1,1,1,1],[1,1,1,1]]}}",
                 err, sizeof err),
            -1);
  CHECK(strstr(err, "not both") != NULL);
}

int main(int argc, char **argv) {
  for (int a = 1; a + 1 < argc; a += 2) {
    FILE **f = strcmp(argv[a], "--alerts") == 0    ? &alerts_file
               : strcmp(argv[a], "--records") == 0 ? &records_file
                                                   : NULL;
    if (f == NULL || (*f = fopen(argv[a + 1], "w")) == NULL) {
      fprintf(stderr, "usage: %s [--alerts FILE] [--records FILE]\n", argv[0]);
      return 2;
    }
  }
  test_sq_customer();
  test_sq_segment();
  test_value_loyalty();
  test_customers_at_boundaries();
  test_value_priority();
  test_case_value();
  test_preemption();
  test_consistency();
  test_ahp();
  if (alerts_file) fclose(alerts_file);
  if (records_file) fclose(records_file);
  return TEST_REPORT();
}
