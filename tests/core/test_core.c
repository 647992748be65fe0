/* Unit tests of the functional core end to end (daemon/core/core.c):
 * messages in, alerts and dead letters out, through the emit callback.
 * The pipeline is customers_only's (helpers.h): segment windows
 * (test_window.c), recovery cases (test_cases.c) and churn (test_churn.c)
 * have tests of their own, so the events here, days apart and out of order,
 * are judged by the per-customer rules alone.
 *
 * Every expected value was worked out by hand (the arithmetic is in the
 * comment beside it), never taken from the code's own output. */
#include "helpers.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "pipeline.h"
#include "state.h"
#include "timeutil.h"

/* The closed-loop tests' pipeline: the satisfaction alerts have tests of
 * their own. */
static void closed_loop_pipeline(cxp_pipeline *pl) {
  customers_only(pl);
  pl->drop_enabled = pl->sq_enabled = 0;
}

/* A core at that pipeline, its outputs into `out`, emptied. */
static void closed_loop_core(cxp_core *core, cxp_pipeline *pl, outs *out) {
  closed_loop_pipeline(pl);
  out->n = 0;
  cxp_core_init(core, pl, collect, out);
}

#define RECV_MS (T0 + 5000)  /* 2026-11-23T07:00:05.000Z */
#define NOW_MS (T0 + 6000)   /* 2026-11-23T07:00:06.000Z */

static cxp_reason feed_len(cxp_core *c, int32_t part, int64_t off, const char *payload,
                           size_t len) {
  cxp_msg m;
  memset(&m, 0, sizeof m);
  m.topic = "cx.events";
  m.partition = part;
  m.offset = off;
  m.payload = payload;
  m.len = len;
  m.key = "kk";
  m.key_len = 2;
  m.received_ms = RECV_MS;
  m.now_ms = NOW_MS;
  return cxp_core_process(c, &m);
}

static cxp_reason feed(cxp_core *c, int32_t part, int64_t off, const char *payload) {
  return feed_len(c, part, off, payload, strlen(payload));
}

/* An NPS response as JSON; `extra` is appended inside the object. */
static const char *nps(char *buf, size_t n, const char *eid, const char *cid, int64_t ts,
                       int score, const char *extra) {
  snprintf(buf, n,
           "{\"event_id\":\"%s\",\"customer_id\":\"%s\",\"type\":\"survey.nps\","
           "\"ts\":%lld,\"score\":%d%s}",
           eid, cid, (long long)ts, score, extra ? extra : "");
  return buf;
}

static int jnull(const cJSON *o, const char *k) {
  return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, k));
}

static void test_core_closed_loop(void) {
  static outs out;
  cxp_pipeline pl;
  cxp_core core;
  char buf[512];
  closed_loop_core(&core, &pl, &out);

  /* A detractor (2): exactly one closed-loop alert, P2. */
  CHECK_INT(feed(&core, 0, 1, nps(buf, sizeof buf, "e1", "c1", T0, 2, NULL)), CXP_OK);
  CHECK_INT(out.n, 1);
  CHECK_INT(count_stream(&out, CXP_STREAM_ALERTS), 1);
  CHECK_INT(core.n.alerts[CXP_AL_CLOSED_LOOP], 1);
  CHECK_INT(core.n.processed, 1);
  CHECK_INT(core.n.consumed, 1);
  CHECK_INT(core.n.by_type[CXP_EV_NPS], 1);
  CHECK_INT(core.n.outputs[CXP_STREAM_ALERTS], 1);
  if (out.n == 1) {
    CHECK_STR(out.key[0], "c1"); /* keyed by customer_id */
    cJSON *j = cJSON_Parse(out.val[0]);
    CHECK(j != NULL);
    CHECK_STR(get_s(j, "type"), "recovery.closed_loop");
    CHECK_STR(get_s(j, "priority"), "P2");
    CHECK_STR(get_s(j, "customer_id"), "c1");
    CHECK_STR(get_s(j, "event_id"), "e1");
    CHECK(jnull(j, "segment"));
    const char *aid = get_s(j, "alert_id");
    CHECK(aid != NULL);
    if (aid) {
      CHECK_INT(strlen(aid), 32);
      CHECK_INT(strspn(aid, "0123456789abcdef"), 32);
    }
    const char *cid = get_s(j, "case_id");
    /* "cl-" and 16 hex digits. */
    CHECK(cid != NULL);
    if (cid) {
      CHECK_INT(strlen(cid), 19);
      CHECK_PREFIX(cid, "cl-");
      if (strlen(cid) == 19) CHECK_INT(strspn(cid + 3, "0123456789abcdef"), 16);
    }
    CHECK_STR(get_s(j, "event_ts"), "2026-11-23T07:00:00.000Z");
    CHECK_STR(get_s(j, "emitted_at"), "2026-11-23T07:00:06.000Z"); /* now_ms */
    /* deadline: T0 + 48 h = 2026-11-25T07:00Z. */
    CHECK_STR(get_s(j, "deadline"), "2026-11-25T07:00:00.000Z");
    CHECK_STR(get_s(j, "role"), "frontline_agent");
    CHECK_STR(get_s(j, "pipeline"), "default");
    CHECK_STR(get_s(j, "schema"), "cxpulse.alert/1");
    const cJSON *acts = cJSON_GetObjectItemCaseSensitive(j, "actions");
    CHECK_INT(cJSON_GetArraySize(acts), 3);
    CHECK_STR(cJSON_GetArrayItem(acts, 0)->valuestring, "contact_customer");
    CHECK_STR(cJSON_GetArrayItem(acts, 2)->valuestring, "log_root_cause");
    /* Reasons: the score (2, contribution 1) and the decayed mean, which over
     * one response is that response: 2. No CSAT yet, so no csat reason. */
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(j, "reasons");
    CHECK_INT(cJSON_GetArraySize(rs), 2);
    const cJSON *r0 = cJSON_GetArrayItem(rs, 0), *r1 = cJSON_GetArrayItem(rs, 1);
    CHECK_STR(get_s(r0, "factor"), "nps_score");
    CHECK_NEAR(get_n(r0, "value"), 2, 0);
    CHECK_NEAR(get_n(r0, "contribution"), 1, 0);
    CHECK_STR(get_s(r1, "factor"), "nps_decayed_mean");
    CHECK_NEAR(get_n(r1, "value"), 2, 1e-9);
    cJSON_Delete(j);
  }
  out.n = 0;

  /* A promoter (9), a passive (7) give none; the NPS mean still moves. */
  CHECK_INT(feed(&core, 0, 2, nps(buf, sizeof buf, "p1", "c2", T0, 9, NULL)), CXP_OK);
  CHECK_INT(feed(&core, 0, 3, nps(buf, sizeof buf, "p2", "c3", T0, 7, NULL)), CXP_OK);
  CHECK_INT(out.n, 0);
  CHECK_INT(core.n.processed, 3);

  /* Reasons include the customer's CSAT once one is known: CSAT 4 at T0 - 30 d
   * and 1 at T0 give 0.5 / 1.5 = 33.3333%. NPS 10 at T0 - 30 d and 6 at T0
   * give (0.5 * 10 + 6) / 1.5 = 7.3333. */
  char b2[512];
  snprintf(b2, sizeof b2,
           "{\"event_id\":\"s1\",\"customer_id\":\"c4\",\"type\":\"survey.csat\","
           "\"ts\":%lld,\"score\":4}", (long long)(T0 - 30 * D_MS));
  CHECK_INT(feed(&core, 0, 4, b2), CXP_OK);
  snprintf(b2, sizeof b2,
           "{\"event_id\":\"s2\",\"customer_id\":\"c4\",\"type\":\"survey.csat\","
           "\"ts\":%lld,\"score\":1}", (long long)T0);
  CHECK_INT(feed(&core, 0, 5, b2), CXP_OK);
  CHECK_INT(feed(&core, 0, 6, nps(buf, sizeof buf, "s3", "c4", T0 - 30 * D_MS, 10, NULL)),
            CXP_OK);
  CHECK_INT(out.n, 0);
  CHECK_INT(feed(&core, 0, 7, nps(buf, sizeof buf, "s4", "c4", T0, 6, NULL)), CXP_OK);
  CHECK_INT(out.n, 1);
  if (out.n == 1) {
    cJSON *j = cJSON_Parse(out.val[0]);
    CHECK_STR(get_s(j, "priority"), "P3");
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(j, "reasons");
    CHECK_INT(cJSON_GetArraySize(rs), 3);
    CHECK_STR(get_s(cJSON_GetArrayItem(rs, 1), "factor"), "nps_decayed_mean");
    CHECK_NEAR(get_n(cJSON_GetArrayItem(rs, 1), "value"), 11.0 / 1.5, 1e-4);
    CHECK_STR(get_s(cJSON_GetArrayItem(rs, 2), "factor"), "csat");
    CHECK_NEAR(get_n(cJSON_GetArrayItem(rs, 2), "value"), 100.0 / 3.0, 1e-4);
    cJSON_Delete(j);
  }
  out.n = 0;
  cxp_core_close(&core);
}

static void test_core_priority(void) {
  static outs out;
  cxp_pipeline pl;
  cxp_core core;
  char buf[512], cid[32], eid[32];
  closed_loop_core(&core, &pl, &out);

  /* Scores 0-3: P2, 4-6: P3, 7-10: none. Premium ("gold"): P1 and P2; a
   * segment not in the premium list ("silver") is not lifted. Each score goes
   * to a customer of its own, so no cooldown interferes. */
  static const char *segs[3] = {NULL, "gold", "silver"};
  static const char *want[3][11] = {
      {"P2", "P2", "P2", "P2", "P3", "P3", "P3", NULL, NULL, NULL, NULL},
      {"P1", "P1", "P1", "P1", "P2", "P2", "P2", NULL, NULL, NULL, NULL},
      {"P2", "P2", "P2", "P2", "P3", "P3", "P3", NULL, NULL, NULL, NULL}};
  int64_t off = 0;
  for (int s = 0; s < 3; s++) {
    for (int score = 0; score <= 10; score++) {
      char extra[64] = "", ctx[64];
      snprintf(cid, sizeof cid, "c-%d-%d", s, score);
      snprintf(eid, sizeof eid, "e-%d-%d", s, score);
      if (segs[s]) snprintf(extra, sizeof extra, ",\"segment\":\"%s\"", segs[s]);
      snprintf(ctx, sizeof ctx, "segment %s score %d", segs[s] ? segs[s] : "-", score);
      test_ctx = ctx;
      CHECK_INT(feed(&core, 0, ++off, nps(buf, sizeof buf, eid, cid, T0, score, extra)),
                CXP_OK);
      CHECK_INT(out.n, want[s][score] ? 1 : 0);
      if (out.n == 1 && want[s][score]) {
        cJSON *j = cJSON_Parse(out.val[0]);
        CHECK_STR(get_s(j, "priority"), want[s][score]);
        if (segs[s])
          CHECK_STR(get_s(j, "segment"), segs[s]);
        else
          CHECK(jnull(j, "segment"));
        cJSON_Delete(j);
      }
      out.n = 0;
    }
  }
  test_ctx = NULL;
  /* 2 x 7 detractors per segment kind: 21 alerts. */
  CHECK_INT(core.n.alerts[CXP_AL_CLOSED_LOOP], 21);

  /* The segment sticks: a profile says "platinum", the later NPS says nothing. */
  snprintf(buf, sizeof buf,
           "{\"event_id\":\"pr1\",\"customer_id\":\"cp\",\"type\":\"profile\","
           "\"ts\":%lld,\"segment\":\"platinum\"}", (long long)T0);
  CHECK_INT(feed(&core, 0, ++off, buf), CXP_OK);
  CHECK_INT(feed(&core, 0, ++off, nps(buf, sizeof buf, "np1", "cp", T0 + 1, 5, NULL)),
            CXP_OK);
  CHECK_INT(out.n, 1);
  if (out.n == 1) {
    cJSON *j = cJSON_Parse(out.val[0]);
    CHECK_STR(get_s(j, "priority"), "P2"); /* 5 is P3, lifted to P2 */
    CHECK_STR(get_s(j, "segment"), "platinum");
    cJSON_Delete(j);
  }
  out.n = 0;

  /* With closed_loop disabled a detractor raises nothing. */
  cxp_core_close(&core);
  pl.closed_loop_enabled = 0;
  cxp_core_init(&core, &pl, collect, &out);
  CHECK_INT(feed(&core, 0, 1, nps(buf, sizeof buf, "x1", "cx", T0, 0, NULL)), CXP_OK);
  CHECK_INT(out.n, 0);
  CHECK_INT(core.n.processed, 1);
  out.n = 0;
  cxp_core_close(&core);
}

static void test_core_cooldown(void) {
  static outs out;
  cxp_pipeline pl;
  cxp_core core;
  char buf[512];
  closed_loop_core(&core, &pl, &out);

  /* Cooldown 24 h = 86400000 ms in event time. */
  CHECK_INT(feed(&core, 0, 1, nps(buf, sizeof buf, "e1", "c1", T0, 1, NULL)), CXP_OK);
  CHECK_INT(out.n, 1);
  /* 23 h 59 min 59.999 s later: suppressed. */
  CHECK_INT(feed(&core, 0, 2, nps(buf, sizeof buf, "e2", "c1", T0 + D_MS - 1, 1, NULL)),
            CXP_OK);
  CHECK_INT(out.n, 1);
  CHECK_INT(core.n.suppressed_cooldown, 1);
  /* Exactly 24 h after the first alert: alerted again. */
  CHECK_INT(feed(&core, 0, 3, nps(buf, sizeof buf, "e3", "c1", T0 + D_MS, 1, NULL)),
            CXP_OK);
  CHECK_INT(out.n, 2);
  /* 12 h after that second alert: suppressed (the window restarts at each alert). */
  CHECK_INT(feed(&core, 0, 4, nps(buf, sizeof buf, "e4", "c1", T0 + D_MS + 12 * H_MS, 1,
                                  NULL)),
            CXP_OK);
  CHECK_INT(out.n, 2);
  CHECK_INT(core.n.suppressed_cooldown, 2);
  /* The cooldown is per customer: another customer at the same time alerts. */
  CHECK_INT(feed(&core, 0, 5, nps(buf, sizeof buf, "e5", "c2", T0 + D_MS + 12 * H_MS, 1,
                                  NULL)),
            CXP_OK);
  CHECK_INT(out.n, 3);
  CHECK_INT(core.n.alerts[CXP_AL_CLOSED_LOOP], 3);
  CHECK_INT(core.n.processed, 5);
  out.n = 0;

  /* A late detractor is judged against the cooldown on both sides of the
   * last alert, and never moves the stamp back. (1) Detractor at T0 alerts; one at
   * T0 - 1 h arriving later alerts too, 1 h apart, where the reverse arrival
   * order gives one alert. (2) Then one at T0 + 1 h is 1 h after the alert at
   * T0 and must be suppressed, but against the moved stamp (T0 - 48 h here)
   * 49 h >= 24 h lets it through. */
  CHECK_INT(feed(&core, 1, 1, nps(buf, sizeof buf, "o1", "c9", T0, 1, NULL)), CXP_OK);
  CHECK_INT(out.n, 1);
  CHECK_INT(feed(&core, 1, 2, nps(buf, sizeof buf, "o2", "c9", T0 - H_MS, 1, NULL)),
            CXP_OK);
  CHECK_INT(out.n, 1); /* (1) suppressed */
  out.n = 0;
  CHECK_INT(feed(&core, 1, 3, nps(buf, sizeof buf, "o3", "c8", T0, 1, NULL)), CXP_OK);
  CHECK_INT(feed(&core, 1, 4, nps(buf, sizeof buf, "o4", "c8", T0 - 48 * H_MS, 1, NULL)),
            CXP_OK);
  int before = out.n; /* 2: the T0 - 48 h one is 48 h from T0, a fair alert */
  CHECK_INT(feed(&core, 1, 5, nps(buf, sizeof buf, "o5", "c8", T0 + H_MS, 1, NULL)),
            CXP_OK);
  CHECK_INT(out.n, before); /* (2) suppressed */
  out.n = 0;
  cxp_core_close(&core);
}

static void test_core_consent_dup(void) {
  static outs out;
  cxp_pipeline pl;
  cxp_core core;
  char buf[512];
  closed_loop_core(&core, &pl, &out);

  /* consent:false keeps the detractor out of outreach, yet the response still
   * counts in the customer's aggregates. */
  snprintf(buf, sizeof buf,
           "{\"event_id\":\"pf\",\"customer_id\":\"c1\",\"type\":\"profile\","
           "\"ts\":%lld,\"segment\":\"gold\",\"consent\":false}", (long long)T0);
  CHECK_INT(feed(&core, 0, 1, buf), CXP_OK);
  CHECK_INT(feed(&core, 0, 2, nps(buf, sizeof buf, "e1", "c1", T0 + 1000, 0, NULL)),
            CXP_OK);
  CHECK_INT(out.n, 0);
  CHECK_INT(core.n.suppressed_consent, 1);
  CHECK_INT(core.n.alerts[CXP_AL_CLOSED_LOOP], 0);
  CHECK_INT(core.n.processed, 2);
  cxp_customer *cu = cxp_shard_find(cxp_state_shard(&core.state, 0), "c1", 2);
  CHECK(cu != NULL);
  if (cu) CHECK_NEAR(cxp_customer_nps_mean(cu), 0, 1e-12);
  /* A profile that does not mention consent leaves it as it was. */
  snprintf(buf, sizeof buf,
           "{\"event_id\":\"pf2\",\"customer_id\":\"c1\",\"type\":\"profile\","
           "\"ts\":%lld,\"segment\":\"gold\"}", (long long)T0 + 2000);
  CHECK_INT(feed(&core, 0, 3, buf), CXP_OK);
  CHECK_INT(feed(&core, 0, 4, nps(buf, sizeof buf, "e2", "c1", T0 + 3000, 0, NULL)),
            CXP_OK);
  CHECK_INT(out.n, 0);
  CHECK_INT(core.n.suppressed_consent, 2);
  /* Consent given again: the next detractor alerts (P2 lifted to P1, gold). */
  snprintf(buf, sizeof buf,
           "{\"event_id\":\"pf3\",\"customer_id\":\"c1\",\"type\":\"profile\","
           "\"ts\":%lld,\"segment\":\"gold\",\"consent\":true}", (long long)T0 + 4000);
  CHECK_INT(feed(&core, 0, 5, buf), CXP_OK);
  CHECK_INT(feed(&core, 0, 6, nps(buf, sizeof buf, "e3", "c1", T0 + 5000, 0, NULL)),
            CXP_OK);
  CHECK_INT(out.n, 1);
  if (out.n == 1) {
    cJSON *j = cJSON_Parse(out.val[0]);
    CHECK_STR(get_s(j, "priority"), "P1");
    CHECK_STR(get_s(j, "event_id"), "e3");
    cJSON_Delete(j);
  }
  out.n = 0;

  /* Duplicates: the same event id at a new offset, then an old offset with a
   * new id. Neither alerts, both are counted, neither is "processed". */
  CHECK_INT(feed(&core, 0, 10, nps(buf, sizeof buf, "d1", "c2", T0, 2, NULL)), CXP_OK);
  CHECK_INT(out.n, 1);
  uint64_t processed = core.n.processed;
  CHECK_INT(feed(&core, 0, 11, nps(buf, sizeof buf, "d1", "c2", T0 + D_MS * 2, 2, NULL)),
            CXP_OK);
  CHECK_INT(feed(&core, 0, 10, nps(buf, sizeof buf, "d2", "c2", T0 + D_MS * 3, 2, NULL)),
            CXP_OK);
  CHECK_INT(out.n, 1);
  CHECK_INT(core.n.duplicates, 2);
  CHECK_INT(core.n.processed, processed);
  CHECK_INT(core.n.alerts[CXP_AL_CLOSED_LOOP], 2);
  /* The duplicate's response did not enter the mean: still 2. */
  cxp_customer *c2 = cxp_shard_find(cxp_state_shard(&core.state, 0), "c2", 2);
  if (c2) CHECK_NEAR(cxp_customer_nps_mean(c2), 2, 1e-12);
  out.n = 0;
  cxp_core_close(&core);
}

/* The alert id of one detractor response processed in a fresh core. */
static void alert_id_of(const cxp_pipeline *pl, const char *eid, const char *cid,
                        char id[33], char case_id[20]) {
  static outs out;
  cxp_core core;
  char buf[512];
  id[0] = case_id[0] = '\0';
  out.n = 0;
  cxp_core_init(&core, pl, collect, &out);
  feed(&core, 0, 1, nps(buf, sizeof buf, eid, cid, T0, 3, NULL));
  CHECK_INT(out.n, 1);
  if (out.n == 1) {
    cJSON *j = cJSON_Parse(out.val[0]);
    const char *a = get_s(j, "alert_id"), *c = get_s(j, "case_id");
    if (a && strlen(a) == 32) memcpy(id, a, 33);
    if (c && strlen(c) == 19) memcpy(case_id, c, 20);
    cJSON_Delete(j);
  }
  out.n = 0;
  cxp_core_close(&core);
}

static void test_core_alert_id(void) {
  cxp_pipeline pl, other;
  closed_loop_pipeline(&pl);
  customers_only(&other);
  snprintf(other.name, sizeof other.name, "other");
  char a1[33], a2[33], a3[33], a4[33], a5[33];
  char k1[20], k2[20], k3[20], k4[20], k5[20];
  alert_id_of(&pl, "e1", "c1", a1, k1);
  alert_id_of(&pl, "e1", "c1", a2, k2);
  alert_id_of(&pl, "e2", "c1", a3, k3);
  alert_id_of(&pl, "e1", "c2", a4, k4);
  alert_id_of(&other, "e1", "c1", a5, k5);
  /* A replay yields the same ids. */
  CHECK_INT(strlen(a1), 32);
  CHECK_STR(a1, a2);
  CHECK_STR(k1, k2);
  /* Another triggering event, customer or pipeline: other ids. */
  CHECK_STR_NE(a1, a3);
  CHECK_STR_NE(k1, k3);
  CHECK_STR_NE(a1, a4);
  CHECK_STR_NE(a1, a5);
  CHECK_STR_NE(k1, k5);
}

static void test_core_dead_letters(void) {
  static outs out;
  cxp_pipeline pl;
  cxp_core core;
  char buf[512];
  closed_loop_core(&core, &pl, &out);

  /* NPS 11: one dead letter, out_of_range, naming the field. */
  const char *bad = "{\"event_id\":\"b1\",\"customer_id\":\"c1\",\"type\":\"survey.nps\","
                    "\"ts\":\"2026-11-23T07:00:00Z\",\"score\":11}";
  CHECK_INT(feed(&core, 3, 42, bad), CXP_BAD_OUT_OF_RANGE);
  CHECK_INT(out.n, 1);
  CHECK_INT(count_stream(&out, CXP_STREAM_DEAD_LETTERS), 1);
  CHECK_INT(core.n.dead[CXP_BAD_OUT_OF_RANGE], 1);
  CHECK_INT(core.n.processed, 0);
  CHECK_INT(core.n.consumed, 1);
  if (out.n == 1) {
    CHECK_STR(out.key[0], "kk"); /* keyed like the input */
    cJSON *j = cJSON_Parse(out.val[0]);
    CHECK(j != NULL);
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(j, "source");
    CHECK_STR(get_s(src, "topic"), "cx.events");
    CHECK_NEAR(get_n(src, "partition"), 3, 0);
    CHECK_NEAR(get_n(src, "offset"), 42, 0);
    CHECK_STR(get_s(j, "reason"), "out_of_range");
    CHECK_CONTAINS(get_s(j, "detail"), "score");
    CHECK_STR(get_s(j, "payload"), bad);
    CHECK_STR(get_s(j, "payload_encoding"), "utf-8");
    CHECK_STR(get_s(j, "received_at"), "2026-11-23T07:00:05.000Z"); /* RECV_MS */
    CHECK_STR(get_s(j, "pipeline"), "default");
    CHECK_STR(get_s(j, "schema"), "cxpulse.dead_letter/1");
    cJSON_Delete(j);
  }
  out.n = 0;

  /* Processing goes on: the next good event (a detractor) is applied. */
  CHECK_INT(feed(&core, 3, 43, nps(buf, sizeof buf, "g1", "c1", T0, 0, NULL)), CXP_OK);
  CHECK_INT(core.n.processed, 1);
  CHECK_INT(out.n, 1);
  CHECK_INT(count_stream(&out, CXP_STREAM_ALERTS), 1);
  out.n = 0;

  /* Bytes that are not UTF-8: ff fe 7b 7d ("\xff\xfe{}") is invalid JSON and
   * travels as base64: 11111111 11111110 01111011 -> 111111 111111 111001 111011
   * = "//57"; 01111101 -> 011111 010000 = "fQ" + "==". */
  CHECK_INT(feed_len(&core, 3, 44, "\xff\xfe{}", 4), CXP_BAD_INVALID_JSON);
  CHECK_INT(out.n, 1);
  if (out.n == 1) {
    cJSON *j = cJSON_Parse(out.val[0]);
    CHECK(j != NULL);
    CHECK_STR(get_s(j, "reason"), "invalid_json");
    CHECK_STR(get_s(j, "payload"), "//57fQ==");
    CHECK_STR(get_s(j, "payload_encoding"), "base64");
    cJSON_Delete(j);
  }
  out.n = 0;

  /* Bytes that are not UTF-8 inside a JSON string make the event invalid:
   * "c\xff" and "c\xfe" must not become one customer "c\ufffd". */
  {
    const char *nu = "{\"event_id\":\"u1\",\"customer_id\":\"c\xff\",\"type\":\"survey.nps\","
                     "\"ts\":1795417200000,\"score\":0}";
    CHECK_INT(feed(&core, 3, 50, nu), CXP_BAD_INVALID_JSON);
    CHECK_INT(count_stream(&out, CXP_STREAM_ALERTS), 0);
    out.n = 0;
  }

  /* A NUL byte is valid UTF-8, so the payload stays text, escaped. */
  CHECK_INT(feed_len(&core, 3, 45, "{\0}", 3), CXP_BAD_INVALID_JSON);
  CHECK_INT(out.n, 1);
  if (out.n == 1) CHECK_CONTAINS(out.val[0], "\"payload\":\"{\\u0000}\"");
  out.n = 0;

  /* too_large at the pipeline's limit (256 bytes): 257 bytes of which the
   * first 256 would be fine is still one too many. */
  cxp_core_close(&core);
  pl.max_event_bytes = 256;
  cxp_core_init(&core, &pl, collect, &out);
  char big[300];
  int n = snprintf(big, sizeof big, "%s", nps(buf, sizeof buf, "t1", "c1", T0, 9, NULL));
  memset(big + n, ' ', sizeof big - (size_t)n);
  CHECK_INT(feed_len(&core, 0, 1, big, 256), CXP_OK);
  CHECK_INT(feed_len(&core, 0, 2, big, 257), CXP_BAD_TOO_LARGE);
  CHECK_INT(core.n.dead[CXP_BAD_TOO_LARGE], 1);
  out.n = 0;

  /* The future check applies only when the shell asks for it: ts at
   * received + 86400 s + 1 ms. */
  cxp_msg m;
  memset(&m, 0, sizeof m);
  m.topic = "cx.events";
  m.partition = 0;
  m.offset = 3;
  m.payload = nps(buf, sizeof buf, "f1", "c5", RECV_MS + D_MS + 1, 9, NULL);
  m.len = strlen(m.payload);
  m.received_ms = RECV_MS;
  m.check_future = 1;
  CHECK_INT(cxp_core_process(&core, &m), CXP_BAD_TIMESTAMP);
  m.check_future = 0;
  m.offset = 4;
  CHECK_INT(cxp_core_process(&core, &m), CXP_OK);
  out.n = 0;

  /* With no arrival time the dead letter is stamped with the event clock (the
   * largest event time applied, RECV_MS + 1 d + 1 ms = 2026-11-24T07:00:05.001Z);
   * no topic gives a null partition; no key gives an empty key. */
  memset(&m, 0, sizeof m);
  m.partition = -1;
  m.offset = 7; /* replay: the line number */
  m.payload = "{";
  m.len = 1;
  CHECK_INT(cxp_core_process(&core, &m), CXP_BAD_INVALID_JSON);
  CHECK_INT(out.n, 1);
  if (out.n == 1) {
    CHECK_STR(out.key[0], "");
    cJSON *j = cJSON_Parse(out.val[0]);
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(j, "source");
    CHECK(jnull(src, "topic"));
    CHECK(jnull(src, "partition"));
    CHECK_NEAR(get_n(src, "offset"), 7, 0);
    CHECK_STR(get_s(j, "received_at"), "2026-11-24T07:00:05.001Z");
    cJSON_Delete(j);
  }
  out.n = 0;

  /* A shell-side dead letter (e.g. a Kafka message error). */
  memset(&m, 0, sizeof m);
  m.topic = "cx.events";
  m.partition = 1;
  m.offset = 9;
  m.payload = "x";
  m.len = 1;
  m.received_ms = T0;
  cxp_core_dead_letter(&core, &m, CXP_BAD_LATE, "event is late");
  CHECK_INT(out.n, 1);
  CHECK_INT(core.n.dead[CXP_BAD_LATE], 1);
  if (out.n == 1) {
    cJSON *j = cJSON_Parse(out.val[0]);
    CHECK_STR(get_s(j, "reason"), "late");
    CHECK_STR(get_s(j, "detail"), "event is late");
    CHECK_STR(get_s(j, "payload"), "x");
    CHECK_STR(get_s(j, "received_at"), "2026-11-23T07:00:00.000Z");
    cJSON_Delete(j);
  }
  out.n = 0;
  cxp_core_close(&core);
}

static void test_core_batch(void) {
  /* Several messages under one batch: the decoded trees share the arena until
   * batch_end; outputs and state are as if processed one by one. An alert with
   * now_ms 0 is stamped with its event time. */
  static outs out;
  cxp_pipeline pl;
  cxp_core core;
  char buf[512];
  closed_loop_core(&core, &pl, &out);
  cxp_core_batch_begin(&core);
  for (int i = 0; i < 50; i++) {
    char eid[16], cid[16];
    snprintf(eid, sizeof eid, "b%d", i);
    snprintf(cid, sizeof cid, "c%d", i % 5);
    cxp_msg m;
    memset(&m, 0, sizeof m);
    m.partition = 0;
    m.offset = i + 1;
    /* Customer i % 5 answers 3 every hour; the first of each alerts. */
    m.payload = nps(buf, sizeof buf, eid, cid, T0 + (int64_t)(i / 5) * H_MS, 3, NULL);
    m.len = strlen(m.payload);
    CHECK_INT(cxp_core_process(&core, &m), CXP_OK);
  }
  cxp_core_batch_end(&core);
  /* 5 customers, 10 responses each, all within 9 h: 5 alerts, 45 suppressed. */
  CHECK_INT(out.n, 5);
  CHECK_INT(core.n.suppressed_cooldown, 45);
  CHECK_INT(core.n.processed, 50);
  CHECK_INT(core.state.customers, 5);
  if (out.n >= 1) {
    cJSON *j = cJSON_Parse(out.val[0]);
    CHECK_STR(get_s(j, "emitted_at"), "2026-11-23T07:00:00.000Z");
    cJSON_Delete(j);
  }
  out.n = 0;
  cxp_core_close(&core);
}

static void test_core_satisfaction_alerts(void) {
  static outs out;
  cxp_pipeline pl;
  customers_only(&pl);
  pl.closed_loop_enabled = 0;
  cxp_core core;
  char buf[512];
  cxp_core_init(&core, &pl, collect, &out);
#define CSAT(eid, cid, ts, score)                                                      \
  (snprintf(buf, sizeof buf,                                                          \
            "{\"event_id\":\"%s\",\"customer_id\":\"%s\",\"type\":\"survey.csat\","    \
            "\"ts\":%lld,\"score\":%d}",                                               \
            eid, cid, (long long)(ts), score),                                         \
   buf)
  /* Three CSAT 5 sixty days back, then CSAT 1 now. Main half-life 30 d: the
   * old ones weigh 2^-2 = 0.25 each: SI = 0.75 / 1.75 = 42.857 (over the
   * floor of 40). Baseline, 90 d: 2^(-60/90) = 0.6299605 each: 1.8898816 /
   * 2.8898816 = 65.3963. 65.3963 - 42.857 = 22.54 >= 15: a drop, P3. */
  int64_t old = T0 - 60 * D_MS;
  CHECK_INT(feed(&core, 0, 1, CSAT("a1", "d1", old, 5)), CXP_OK);
  CHECK_INT(feed(&core, 0, 2, CSAT("a2", "d1", old, 5)), CXP_OK);
  CHECK_INT(feed(&core, 0, 3, CSAT("a3", "d1", old, 5)), CXP_OK);
  CHECK_INT(out.n, 0);
  CHECK_INT(feed(&core, 0, 4, CSAT("a4", "d1", T0, 1)), CXP_OK);
  CHECK_INT(out.n, 1);
  if (out.n == 1) {
    cJSON *j = cJSON_Parse(out.val[0]);
    CHECK_STR(get_s(j, "type"), "satisfaction.drop");
    CHECK_STR(get_s(j, "priority"), "P3");
    CHECK(jnull(j, "case_id"));
    const cJSON *r0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "reasons"), 0);
    const cJSON *r1 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "reasons"), 1);
    CHECK_STR(get_s(r0, "factor"), "satisfaction_index");
    CHECK_NEAR(get_n(r0, "value"), 42.8571, 1e-3);
    CHECK_NEAR(get_n(r0, "contribution"), 42.8571 - 65.3963, 1e-3);
    CHECK_STR(get_s(r1, "factor"), "si_baseline");
    CHECK_NEAR(get_n(r1, "value"), 65.3963, 1e-3);
    cJSON_Delete(j);
  }
  out.n = 0;
  /* Another CSAT 1 the same day: SI 0.75 / 2.75 = 27.27, under the floor,
   * but within the 24 h cooldown. */
  CHECK_INT(feed(&core, 0, 5, CSAT("a5", "d1", T0 + H_MS, 1)), CXP_OK);
  CHECK_INT(out.n, 0);
  CHECK_INT(core.n.suppressed_cooldown, 1);

  /* Too few responses: two CSAT 1 give SI 0 but need 3 responses. */
  CHECK_INT(feed(&core, 0, 6, CSAT("b1", "d2", T0, 1)), CXP_OK);
  CHECK_INT(feed(&core, 0, 7, CSAT("b2", "d2", T0, 1)), CXP_OK);
  CHECK_INT(out.n, 0);
  /* The third is under the floor (SI 0): P2. */
  CHECK_INT(feed(&core, 0, 8, CSAT("b3", "d2", T0, 1)), CXP_OK);
  CHECK_INT(out.n, 1);
  if (out.n == 1) CHECK_CONTAINS(out.val[0], "\"priority\":\"P2\"");
  out.n = 0;
  /* Steady satisfaction: three CSAT 5 now: SI 100, baseline 100: nothing. */
  CHECK_INT(feed(&core, 0, 9, CSAT("c1", "d3", T0, 5)), CXP_OK);
  CHECK_INT(feed(&core, 0, 10, CSAT("c2", "d3", T0, 5)), CXP_OK);
  CHECK_INT(feed(&core, 0, 11, CSAT("c3", "d3", T0, 5)), CXP_OK);
  CHECK_INT(out.n, 0);
#undef CSAT

  /* servqual.gap: reliability expected 7, perceived 3 (-4): one response,
   * under the 2 needed: nothing. Then 6 -> 5 (-1): mean -2.5 < -1.5: one
   * alert, P3 (not <= -3), naming reliability and its strategy. */
#define SQV(eid, cid, dim, e, p)                                                        \
  (snprintf(buf, sizeof buf,                                                          \
            "{\"event_id\":\"%s\",\"customer_id\":\"%s\",\"type\":\"survey.servqual\"," \
            "\"ts\":%lld,\"dimensions\":{\"%s\":{\"expected\":%d,\"perceived\":%d}}}",  \
            eid, cid, (long long)T0, dim, e, p),                                      \
   buf)
  CHECK_INT(feed(&core, 1, 1, SQV("q1", "g1", "reliability", 7, 3)), CXP_OK);
  CHECK_INT(count_stream(&out, CXP_STREAM_ALERTS), 0);
  CHECK_INT(feed(&core, 1, 2, SQV("q2", "g1", "reliability", 6, 5)), CXP_OK);
  /* The pooled SI here is 50 + (-2.5) * 50 / 6 = 29.17, under the floor: the
   * drop alert fires too once 3 responses are in; with 2 it does not. */
  CHECK_INT(out.n, 1);
  if (out.n == 1) {
    cJSON *j = cJSON_Parse(out.val[0]);
    CHECK_STR(get_s(j, "type"), "servqual.gap");
    CHECK_STR(get_s(j, "priority"), "P3");
    const cJSON *r0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "reasons"), 0);
    CHECK_STR(get_s(r0, "factor"), "servqual_gap.reliability");
    CHECK_NEAR(get_n(r0, "value"), -2.5, 1e-6);
    CHECK_NEAR(get_n(r0, "contribution"), -1.0, 1e-6);
    const cJSON *a0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "actions"), 0);
    CHECK_STR(cJSON_IsString(a0) ? a0->valuestring : NULL,
              "standardise_process_and_control_quality");
    cJSON_Delete(j);
  }
  out.n = 0;
  /* A good empathy answer touches only empathy: no gap alert. */
  CHECK_INT(feed(&core, 1, 3, SQV("q3", "g1", "empathy", 4, 6)), CXP_OK);
  CHECK_INT(core.n.alerts[CXP_AL_SERVQUAL_GAP], 1);
  out.n = 0;
  /* consent:false holds back outreach (the drop) but not the quality gap. */
  snprintf(buf, sizeof buf,
           "{\"event_id\":\"pf\",\"customer_id\":\"g2\",\"type\":\"profile\","
           "\"ts\":%lld,\"segment\":\"gold\",\"consent\":false}", (long long)T0);
  CHECK_INT(feed(&core, 1, 4, buf), CXP_OK);
  CHECK_INT(feed(&core, 1, 5, SQV("r1", "g2", "tangibles", 7, 1)), CXP_OK);
  CHECK_INT(feed(&core, 1, 6, SQV("r2", "g2", "tangibles", 7, 1)), CXP_OK);
  CHECK_INT(feed(&core, 1, 7, SQV("r3", "g2", "tangibles", 7, 1)), CXP_OK);
  /* Gap -6 <= -3: P2, lifted to P1 for gold; the third response would be a
   * drop (SI 0) but consent holds it. */
  CHECK_INT(core.n.alerts[CXP_AL_SERVQUAL_GAP], 2);
  CHECK_INT(core.n.alerts[CXP_AL_SATISFACTION_DROP], 2);
  CHECK_INT(core.n.suppressed_consent, 1);
  CHECK_INT(out.n, 1);
  if (out.n == 1) {
    CHECK_CONTAINS(out.val[0], "\"priority\":\"P1\"");
    CHECK_CONTAINS(out.val[0], "\"improve_physical_environment\"");
  }
  out.n = 0;
#undef SQV

  /* Kano: a minor (3) complaint marked must_be is raised to major; so is one
   * about an attribute the pipeline classes as must-be; a critical one stays
   * critical. */
  cxp_core_close(&core);
  customers_only(&pl);
  snprintf(pl.kano_must_be, sizeof pl.kano_must_be, "[\"billing_accuracy\"]");
  cxp_pipeline_derive(&pl);
  cxp_core_init(&core, &pl, collect, &out);
  const char *complaints[] = {
      "{\"event_id\":\"k1\",\"customer_id\":\"k\",\"type\":\"complaint\",\"ts\":1795417200000,"
      "\"case_id\":\"x1\",\"category\":\"design\",\"severity\":3,\"kano\":\"must_be\"}",
      "{\"event_id\":\"k2\",\"customer_id\":\"k\",\"type\":\"complaint\",\"ts\":1795417200000,"
      "\"case_id\":\"x2\",\"category\":\"design\",\"severity\":4,"
      "\"attribute\":\"billing_accuracy\"}",
      "{\"event_id\":\"k3\",\"customer_id\":\"k\",\"type\":\"complaint\",\"ts\":1795417200000,"
      "\"case_id\":\"x3\",\"category\":\"design\",\"severity\":1,\"kano\":\"must_be\"}",
      "{\"event_id\":\"k4\",\"customer_id\":\"k\",\"type\":\"complaint\",\"ts\":1795417200000,"
      "\"case_id\":\"x4\",\"category\":\"design\",\"severity\":4,\"attribute\":\"colour\"}"};
  for (int i = 0; i < 4; i++) CHECK_INT(feed(&core, 2, i, complaints[i]), CXP_OK);
  CHECK_INT(core.n.kano_raised, 2);
  cxp_core_close(&core);
}

/* Every output comes with the message it answers to (core.h): an event's
 * own cxp_msg, or a tick's (no payload, offset -1, its partition), whose
 * wall time is the alert's emitted_at. A detractor on partition 3 at offset
 * 41: the closed-loop alert answers to it; a tick 30 days on answers for
 * the breaches of its case's deadlines. */
static void test_core_origin(void) {
  static outs out;
  cxp_pipeline pl;
  cxp_pipeline_defaults(&pl);
  pl.win_enabled = pl.churn_enabled = 0;
  cxp_core core;
  cxp_core_init(&core, &pl, collect, &out);
  char buf[256];
  const char *ev = nps(buf, sizeof buf, "e1", "c1", T0, 2, NULL);
  cxp_msg m = {"cx.events", 3, 41, ev, strlen(ev), "c1", 2, RECV_MS, NOW_MS, 0};
  CHECK_INT(cxp_core_process(&core, &m), CXP_OK);
  CHECK_EQ(count_stream(&out, CXP_STREAM_ALERTS), 1);
  for (int i = 0; i < out.n; i++) {
    CHECK(out.from[i] == &m);
    CHECK_EQ(out.from_offset[i], 41);
    CHECK_EQ(out.from_partition[i], 3);
  }
  int before = out.n;
  cxp_msg at = cxp_msg_clock(3, RECV_MS + 30 * D_MS);
  CHECK_GT(cxp_core_tick_input(&core, &at), 0);
  CHECK_GT(out.n, before);
  char when[25];
  cxp_time_format(at.now_ms, when);
  for (int i = before; i < out.n; i++) {
    CHECK(out.from[i] == &at);
    CHECK_EQ(out.from_offset[i], -1);
    CHECK_EQ(out.from_partition[i], 3);
    cJSON *j = cJSON_Parse(out.val[i]);
    CHECK_STR(get_s(j, "type"), "recovery.sla_breached");
    CHECK_STR(get_s(j, "emitted_at"), when);
    cJSON_Delete(j);
  }
  cxp_core_close(&core);
}

int main(void) {
  test_core_closed_loop();
  test_core_priority();
  test_core_cooldown();
  test_core_consent_dup();
  test_core_alert_id();
  test_core_dead_letters();
  test_core_batch();
  test_core_satisfaction_alerts();
  test_core_origin();
  return TEST_REPORT();
}
