/* Recovery cases through the core (corecases.c, core.c): the order of a
 * case's alerts, the closed loop's cases, grouped breaches and the SLA
 * matrix's deadlines, with alerts read back as JSON.
 *
 * Every expected value was worked out by hand (the arithmetic is in the
 * comment beside it), never taken from the code's own output. */
#include "helpers.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "pipeline.h"
#include "timeutil.h"

/* Recovery on; windows, churn and the satisfaction alerts off, so that the
 * alerts seen are the cases' own. */
static void rec_pipeline(cxp_pipeline *pl) {
  cxp_pipeline_defaults(pl);
  pl->win_enabled = pl->churn_enabled = 0;
  pl->drop_enabled = pl->sq_enabled = 0;
}

static cxp_reason feed(cxp_core *c, int64_t off, const char *payload) {
  cxp_msg m;
  memset(&m, 0, sizeof m);
  m.topic = "cx.events";
  m.partition = 0;
  m.offset = off;
  m.payload = payload;
  m.len = strlen(payload);
  m.key = "k";
  m.key_len = 1;
  return cxp_core_process(c, &m);
}

static const char *nps(char *buf, size_t n, const char *eid, const char *cid, int64_t ts,
                       int score) {
  snprintf(buf, n,
           "{\"event_id\":\"%s\",\"customer_id\":\"%s\",\"type\":\"survey.nps\","
           "\"ts\":%lld,\"score\":%d}",
           eid, cid, (long long)ts, score);
  return buf;
}

/* An event of another customer that only moves the partition's clock. */
static const char *tick_ev(char *buf, size_t n, const char *eid, int64_t ts) {
  snprintf(buf, n,
           "{\"event_id\":\"%s\",\"customer_id\":\"other\",\"type\":\"usage\",\"ts\":%lld}",
           eid, (long long)ts);
  return buf;
}

/* Alert i of out, parsed (the caller deletes it); NULL when it is not an
 * alert. */
static cJSON *alert_at(const outs *o, int i) {
  if (i >= o->n || o->stream[i] != CXP_STREAM_ALERTS) return NULL;
  return cJSON_Parse(o->val[i]);
}

static double jnum(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static const char *time_of(int64_t ms, char buf[25]) {
  cxp_time_format(ms, buf);
  return buf;
}

/* ---- 1. the opening alert goes first --------------------------------------- */

/* A detractor answer (score 2) stamped T0 arrives after the partition's clock
 * reached T0 + 5 days. Its case (severity 2, major) opens with every
 * deadline up to then already past: acknowledge 60 min (levels at T0 + 1 h,
 * 2 h, 4 h), resolve 24 h (levels at 24 h, 48 h, 96 h); the abandon time,
 * 8 x 24 h = 192 h, is not reached. The closed-loop alert goes out first,
 * then the six breaches in the order of their dues. */
static void test_late_detractor_order(void) {
  test_ctx = "late detractor: order";
  static outs out;
  cxp_pipeline pl;
  rec_pipeline(&pl);
  cxp_core core;
  cxp_core_init(&core, &pl, collect, &out);
  char buf[256];
  CHECK_INT(feed(&core, 0, tick_ev(buf, sizeof buf, "t1", T0 + 5 * D_MS)), CXP_OK);
  CHECK_INT(out.n, 0);
  CHECK_INT(feed(&core, 1, nps(buf, sizeof buf, "n1", "u1", T0, 2)), CXP_OK);
  CHECK_INT(count_stream(&out, CXP_STREAM_ALERTS), 7);
  static const struct {
    const char *step;
    int level;
    int64_t due;
  } want[6] = {{"acknowledge", 1, H_MS},      {"acknowledge", 2, 2 * H_MS},
               {"acknowledge", 3, 4 * H_MS},  {"resolve", 1, 24 * H_MS},
               {"resolve", 2, 48 * H_MS},     {"resolve", 3, 96 * H_MS}};
  cJSON *j = alert_at(&out, 0);
  CHECK_STR(get_s(j, "type"), "recovery.closed_loop");
  char t[25];
  CHECK_STR(get_s(j, "deadline"), time_of(T0 + H_MS, t));
  char case_id[64];
  snprintf(case_id, sizeof case_id, "%s", get_s(j, "case_id") ? get_s(j, "case_id") : "");
  cJSON_Delete(j);
  for (int i = 0; i < 6; i++) {
    j = alert_at(&out, 1 + i);
    CHECK_STR(get_s(j, "type"), "recovery.sla_breached");
    CHECK_STR(get_s(j, "case_id"), case_id);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "escalation");
    CHECK_STR(get_s(e, "step"), want[i].step);
    CHECK_EQ((int64_t)jnum(e, "level"), want[i].level);
    CHECK_STR(get_s(j, "event_ts"), time_of(T0 + want[i].due, t));
    cJSON_Delete(j);
  }
  cxp_core_close(&core);
}

int main(void) {
  test_late_detractor_order();
  return TEST_REPORT();
}
