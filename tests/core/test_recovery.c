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

/* The steps of a breach's escalation, as "step:level,..." into buf. */
static const char *steps_of(const cJSON *j, char *buf, size_t n) {
  const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "escalation");
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(e, "steps");
  size_t len = 0;
  buf[0] = '\0';
  for (const cJSON *x = a ? a->child : NULL; x && len < n; x = x->next)
    len += (size_t)snprintf(buf + len, n - len, "%s%s:%d", len ? "," : "",
                            get_s(x, "step") ? get_s(x, "step") : "?",
                            (int)jnum(x, "level"));
  return buf;
}

/* A detractor answer (score 2) stamped T0 arrives after the partition's clock
 * reached T0 + 5 days. Its case (severity 2, major) opens with every
 * deadline up to then already past: acknowledge 60 min (levels at T0 + 1 h,
 * 2 h, 4 h), resolve 24 h (levels at 24 h, 48 h, 96 h); the abandon time,
 * 8 x 24 h = 192 h, is not reached. The closed-loop alert goes out first,
 * then one breach for all six levels passed: level 3, named for the
 * acknowledgement (the first step to reach it, at 4 h: overdue 4 - 1 = 3 h),
 * naming both steps at level 3; P2 lifted by 3 - 1 levels: P1 (not past). */
static void test_late_detractor_order(void) {
  test_ctx = "late detractor: order";
  static outs out;
  cxp_pipeline pl;
  rec_pipeline(&pl);
  cxp_core core;
  cxp_core_init(&core, &pl, collect, &out);
  char buf[256], t[25];
  CHECK_INT(feed(&core, 0, tick_ev(buf, sizeof buf, "t1", T0 + 5 * D_MS)), CXP_OK);
  CHECK_INT(out.n, 0);
  CHECK_INT(feed(&core, 1, nps(buf, sizeof buf, "n1", "u1", T0, 2)), CXP_OK);
  CHECK_INT(count_stream(&out, CXP_STREAM_ALERTS), 2);
  cJSON *j = alert_at(&out, 0);
  CHECK_STR(get_s(j, "type"), "recovery.closed_loop");
  CHECK_STR(get_s(j, "deadline"), time_of(T0 + H_MS, t));
  char case_id[64];
  snprintf(case_id, sizeof case_id, "%s", get_s(j, "case_id") ? get_s(j, "case_id") : "");
  cJSON_Delete(j);
  j = alert_at(&out, 1);
  CHECK_STR(get_s(j, "type"), "recovery.sla_breached");
  CHECK_STR(get_s(j, "case_id"), case_id);
  CHECK_STR(get_s(j, "priority"), "P1");
  CHECK_STR(get_s(j, "event_ts"), time_of(T0 + 4 * H_MS, t));
  CHECK_STR(get_s(j, "role"), "head_of_customer_service");
  const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "escalation");
  CHECK_EQ((int64_t)jnum(e, "level"), 3);
  CHECK_STR(get_s(e, "step"), "acknowledge");
  CHECK_STR(steps_of(j, buf, sizeof buf), "acknowledge:3,resolve:3");
  cJSON_Delete(j);
  cxp_core_close(&core);
}

/* ---- 2. one breach alert per level and case ------------------------------ */

/* A gold complaint of severity 1 at T0 (premium x 0.5): acknowledge 7.5 min
 * (levels at T0 + 7:30, 15:00, 30:00), resolve 2 h (levels at 2 h, 4 h,
 * 8 h), abandoned at 8 x 2 h = 16 h. The clock moves by other customers'
 * events at 10, 20 and 40 min: the acknowledgement breaches levels 1, 2, 3,
 * one alert each. The resolution's levels (3 h, 5 h, 9 h) reach no level
 * the case has not reached: no alert. */
static void test_one_per_level(void) {
  test_ctx = "one breach alert per level";
  static outs out;
  cxp_pipeline pl;
  rec_pipeline(&pl);
  cxp_core core;
  cxp_core_init(&core, &pl, collect, &out);
  char buf[512], t[25];
  snprintf(buf, sizeof buf,
           "{\"event_id\":\"c1\",\"type\":\"complaint\",\"customer_id\":\"u2\",\"ts\":%lld,"
           "\"segment\":\"gold\",\"case_id\":\"K2\",\"category\":\"operational\","
           "\"severity\":1}",
           (long long)T0);
  CHECK_INT(feed(&core, 0, buf), CXP_OK);
  static const int64_t at_min[6] = {10, 20, 40, 180, 300, 540};
  static const int64_t due_s[3] = {450, 900, 1800};
  for (int i = 0; i < 6; i++) {
    char eid[8];
    snprintf(eid, sizeof eid, "t%d", i);
    CHECK_INT(feed(&core, 1 + i, tick_ev(buf, sizeof buf, eid, T0 + at_min[i] * M_MS)),
              CXP_OK);
  }
  CHECK_INT(count_stream(&out, CXP_STREAM_ALERTS), 4);
  cJSON *j = alert_at(&out, 0);
  CHECK_STR(get_s(j, "type"), "recovery.required");
  cJSON_Delete(j);
  for (int k = 0; k < 3; k++) {
    j = alert_at(&out, 1 + k);
    CHECK_STR(get_s(j, "type"), "recovery.sla_breached");
    CHECK_STR(get_s(j, "event_ts"), time_of(T0 + due_s[k] * S_MS, t));
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "escalation");
    CHECK_EQ((int64_t)jnum(e, "level"), k + 1);
    snprintf(t, sizeof t, "acknowledge:%d", k + 1);
    CHECK_STR(steps_of(j, buf, sizeof buf), t);
    cJSON_Delete(j);
  }
  cxp_core_close(&core);
}

/* ---- 3. a detractor within the cooldown ----------------------------------- */

static int count_type(const outs *o, const char *type) {
  int n = 0;
  for (int i = 0; i < o->n; i++) {
    cJSON *j = alert_at(o, i);
    const char *t = get_s(j, "type");
    n += t && strcmp(t, type) == 0;
    cJSON_Delete(j);
  }
  return n;
}

/* u3 answers 2 at T0: recovery.closed_loop and a case. He answers 5 at
 * T0 + 2 h, within the 24 h cooldown: no alert (the cooldown, docs/domain.md
 * 6.2), so no case of its own either (every case is announced): it joins
 * the open one (merged; its severity stays 2, the higher). At T0 + 25 h,
 * outside the cooldown, an answer of 6 alerts again and opens a second case. */
static void test_detractor_cooldown(void) {
  test_ctx = "detractor within the cooldown";
  static outs out;
  cxp_pipeline pl;
  rec_pipeline(&pl);
  cxp_core core;
  cxp_core_init(&core, &pl, collect, &out);
  char buf[256];
  CHECK_INT(feed(&core, 0, nps(buf, sizeof buf, "n1", "u3", T0, 2)), CXP_OK);
  CHECK_INT(count_type(&out, "recovery.closed_loop"), 1);
  CHECK_EQ(cxp_core_cases_open(&core, 0), 1);
  CHECK_INT(feed(&core, 1, nps(buf, sizeof buf, "n2", "u3", T0 + 2 * H_MS, 5)), CXP_OK);
  CHECK_INT(count_type(&out, "recovery.closed_loop"), 1);
  CHECK_EQ(cxp_core_cases_open(&core, 0), 1);
  CHECK_EQ(core.n.suppressed_cooldown, 1);
  cxp_cases_stats st;
  cxp_core_cases_stats(&core, &st);
  CHECK_EQ(st.opened, 1);
  char id[20];
  cxp_cases_detractor_id(id, pl.name, str_of("u3"), str_of("n1"));
  cxp_case_info ci;
  CHECK_INT(cxp_cases_get(core.cases[0], id, 19, &ci), 0);
  CHECK_INT(ci.severity, 2);
  CHECK_INT(ci.opened_at, T0);
  CHECK_INT(feed(&core, 2, nps(buf, sizeof buf, "n3", "u3", T0 + 25 * H_MS, 6)), CXP_OK);
  CHECK_INT(count_type(&out, "recovery.closed_loop"), 2);
  CHECK_EQ(cxp_core_cases_open(&core, 0), 2);

  /* u4 answers 3 at 25 h (alert, case), his case is acknowledged, resolved
   * and followed up at 25:10, 25:20, 25:30 and closes at 25:35 (settle 5
   * min); the clock passes that at 26 h. His answer of 4 at 26:01 is within
   * the cooldown and he has no open detractor case: nothing opens. */
  CHECK_INT(feed(&core, 3, nps(buf, sizeof buf, "n4", "u4", T0 + 25 * H_MS, 3)), CXP_OK);
  CHECK_INT(count_type(&out, "recovery.closed_loop"), 3);
  CHECK_EQ(cxp_core_cases_open(&core, 0), 3);
  cxp_cases_detractor_id(id, pl.name, str_of("u4"), str_of("n4"));
  static const char *const steps[3] = {"acknowledged", "resolved", "followed_up"};
  for (int i = 0; i < 3; i++) {
    snprintf(buf, sizeof buf,
             "{\"event_id\":\"s%d\",\"type\":\"recovery.%s\",\"customer_id\":\"u4\","
             "\"ts\":%lld,\"case_id\":\"%s\"}",
             i, steps[i], (long long)(T0 + 25 * H_MS + (i + 1) * 10 * M_MS), id);
    CHECK_INT(feed(&core, 4 + i, buf), CXP_OK);
  }
  CHECK_INT(feed(&core, 7, tick_ev(buf, sizeof buf, "t9", T0 + 26 * H_MS)), CXP_OK);
  CHECK_EQ(cxp_core_cases_open(&core, 0), 2);
  CHECK_INT(feed(&core, 8, nps(buf, sizeof buf, "n5", "u4", T0 + 26 * H_MS + M_MS, 4)), CXP_OK);
  CHECK_EQ(cxp_core_cases_open(&core, 0), 2);
  CHECK_INT(count_type(&out, "recovery.closed_loop"), 3);
  CHECK_EQ(core.n.suppressed_cooldown, 2);
  cxp_core_cases_stats(&core, &st);
  CHECK_EQ(st.opened, 3);
  cxp_core_close(&core);
}

int main(void) {
  test_late_detractor_order();
  test_one_per_level();
  test_detractor_cooldown();
  return TEST_REPORT();
}
