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

#include "cases.h"
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
 * reached T0 + 5 days = 120 h. Its case (severity 2, major) opens with
 * deadlines already past: acknowledge within the closed loop's 48 h (levels
 * at T0 + 48 h, 96 h, 192 h), resolve 24 h (levels at 24 h, 48 h, 96 h); the
 * abandon time, 8 x 24 h = 192 h, is not reached. The closed-loop alert
 * (deadline T0 + 48 h) goes out first, then one breach for the five levels
 * passed: level 3, named for the resolution (the step that reached it, at
 * 96 h), naming acknowledge at 2 and resolve at 3; P2 lifted by 3 - 1
 * levels: P1 (not past). */
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
  CHECK_STR(get_s(j, "deadline"), time_of(T0 + 48 * H_MS, t));
  char case_id[64];
  snprintf(case_id, sizeof case_id, "%s", get_s(j, "case_id") ? get_s(j, "case_id") : "");
  cJSON_Delete(j);
  j = alert_at(&out, 1);
  CHECK_STR(get_s(j, "type"), "recovery.sla_breached");
  CHECK_STR(get_s(j, "case_id"), case_id);
  CHECK_STR(get_s(j, "priority"), "P1");
  CHECK_STR(get_s(j, "event_ts"), time_of(T0 + 96 * H_MS, t));
  CHECK_STR(get_s(j, "role"), "head_of_customer_service");
  const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "escalation");
  CHECK_EQ((int64_t)jnum(e, "level"), 3);
  CHECK_STR(get_s(e, "step"), "resolve");
  CHECK_STR(steps_of(j, buf, sizeof buf), "acknowledge:2,resolve:3");
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

static const char *complaint(char *buf, size_t n, const char *kid, const char *cid,
                             const char *seg, int sev, int64_t ts);

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

  /* u5 complains (case K7, announced by recovery.required), then answers 1
   * naming K7: the answer joins K7 (no new case) and still gets its
   * closed-loop alert, outside any cooldown of his. */
  out.n = 0;
  CHECK_INT(feed(&core, 9, complaint(buf, sizeof buf, "K7", "u5", "basic", 3, T0 + 26 * H_MS)),
            CXP_OK);
  snprintf(buf, sizeof buf,
           "{\"event_id\":\"n6\",\"customer_id\":\"u5\",\"type\":\"survey.nps\","
           "\"ts\":%lld,\"score\":1,\"case_id\":\"K7\"}",
           (long long)(T0 + 26 * H_MS + M_MS));
  CHECK_INT(feed(&core, 10, buf), CXP_OK);
  CHECK_INT(count_type(&out, "recovery.required"), 1);
  CHECK_INT(count_type(&out, "recovery.closed_loop"), 1);
  CHECK_EQ(cxp_core_cases_open(&core, 0), 3);
  cxp_core_cases_stats(&core, &st);
  CHECK_EQ(st.opened, 4);
  CHECK_EQ(cxp_cases_stats_get(core.cases[0]).merged, 2); /* u3's 5, u5's 1 */
  cxp_core_close(&core);
}

/* ---- 4. the SLA matrix and every step's deadline --------------------------- */

/* A complaint of severity sev by customer cid, segment seg, case kid, at ts. */
static const char *complaint(char *buf, size_t n, const char *kid, const char *cid,
                             const char *seg, int sev, int64_t ts) {
  snprintf(buf, n,
           "{\"event_id\":\"e-%s\",\"type\":\"complaint\",\"customer_id\":\"%s\",\"ts\":%lld,"
           "\"segment\":\"%s\",\"case_id\":\"%s\",\"category\":\"design\",\"severity\":%d}",
           kid, cid, (long long)ts, seg, kid, sev);
  return buf;
}

/* The matrix of docs/domain.md 5.3's example, with an apology due 2 h after
 * a severity-2 case opens (recovery.sla.sev2.apologize_h). Hand-computed
 * allowed times, by case (all opened at T0; follow-up from a resolution at
 * T0 + 1 h):
 *   A gold, sev 2: (gold, any), factor 0.5: acknowledge 60 x 0.5 = 30 min,
 *     apologize 1 h (its own), compensate none (0 x 0.5), resolve 24 x 0.5
 *     = 12 h, follow up 72 x 0.5 = 36 h;
 *   B gold, sev 1: (gold, 1): acknowledge 5 min (its own); no factor and
 *     gold is premium: x 0.5: apologize none (sev 1 has 0), resolve 4 x 0.5
 *     = 2 h, follow up 36 h;
 *   C basic, sev 2: factor 1.5: acknowledge 90 min, apologize 2 x 1.5 =
 *     3 h, compensate 48 h (its own), resolve 36 h, follow up 108 h;
 *   D silver (not listed, not premium), sev 2: acknowledge 60 min,
 *     apologize 2 h, resolve 24 h, follow up 72 h. */
static void test_sla_matrix(void) {
  test_ctx = "SLA matrix";
  static outs out;
  cxp_pipeline pl;
  rec_pipeline(&pl);
  pl.rec_apologize_h[1] = 2;
  snprintf(pl.rec_sla_matrix, sizeof pl.rec_sla_matrix, "%s",
           "[{\"segment\":\"gold\",\"factor\":0.5,\"apologize_h\":1},"
           "{\"segment\":\"gold\",\"severity\":1,\"acknowledge_min\":5},"
           "{\"segment\":\"basic\",\"factor\":1.5,\"compensate_h\":48}]");
  char err[256] = "";
  CHECK_INT(cxp_pipeline_cases(&pl, err, sizeof err), 0);
  CHECK_STR(err, "");
  cxp_core core;
  cxp_core_init(&core, &pl, collect, &out);
  char buf[512];
  static const struct {
    const char *id, *seg;
    int sev;
    int64_t dl[CXP_DL__COUNT]; /* ack, resolve, follow up, apologize, compensate; 0 none */
  } want[4] = {
      {"A", "gold", 2, {30 * M_MS, 12 * H_MS, 37 * H_MS, 1 * H_MS, 0}},
      {"B", "gold", 1, {5 * M_MS, 2 * H_MS, 37 * H_MS, 0, 0}},
      {"C", "basic", 2, {90 * M_MS, 36 * H_MS, 109 * H_MS, 3 * H_MS, 48 * H_MS}},
      {"D", "silver", 2, {60 * M_MS, 24 * H_MS, 73 * H_MS, 2 * H_MS, 0}},
  };
  for (int i = 0; i < 4; i++) {
    char cid[8];
    snprintf(cid, sizeof cid, "c%s", want[i].id);
    CHECK_INT(feed(&core, i, complaint(buf, sizeof buf, want[i].id, cid, want[i].seg,
                                       want[i].sev, T0)),
              CXP_OK);
  }
  /* Resolved at T0 + 1 h: the follow-up's deadline counts from there. */
  for (int i = 0; i < 4; i++) {
    snprintf(buf, sizeof buf,
             "{\"event_id\":\"r-%s\",\"type\":\"recovery.resolved\",\"customer_id\":\"c%s\","
             "\"ts\":%lld,\"case_id\":\"%s\"}",
             want[i].id, want[i].id, (long long)(T0 + H_MS), want[i].id);
    CHECK_INT(feed(&core, 10 + i, buf), CXP_OK);
  }
  for (int i = 0; i < 4; i++) {
    cxp_case_info ci;
    test_ctx = want[i].id;
    CHECK_INT(cxp_cases_get(core.cases[0], want[i].id, 1, &ci), 0);
    for (int d = 0; d < CXP_DL__COUNT; d++)
      CHECK_INT(ci.deadline[d], want[i].dl[d] ? T0 + want[i].dl[d] : 0);
  }
  test_ctx = "SLA matrix: breaches";
  /* The clock to T0 + 3 h: C's acknowledgement passes levels 1 (90 min)
   * and 2 (180 min), its apology level 1 (3 h): one alert, level 2, for
   * the acknowledgement, naming both. D's: acknowledge levels 1 and 2 (60,
   * 120 min), apology level 1 (2 h): the same. */
  out.n = 0;
  CHECK_INT(feed(&core, 20, tick_ev(buf, sizeof buf, "t1", T0 + 3 * H_MS)), CXP_OK);
  int seen = 0;
  for (int i = 0; i < out.n; i++) {
    cJSON *j = alert_at(&out, i);
    const char *kid = get_s(j, "case_id");
    if (kid && (strcmp(kid, "C") == 0 || strcmp(kid, "D") == 0)) {
      seen++;
      const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "escalation");
      CHECK_EQ((int64_t)jnum(e, "level"), 2);
      CHECK_STR(get_s(e, "step"), "acknowledge");
      CHECK_STR(steps_of(j, buf, sizeof buf), "acknowledge:2,apologize:1");
    }
    cJSON_Delete(j);
  }
  CHECK_INT(seen, 2);
  cxp_core_close(&core);
}

/* Matrices refused, each with the entry and the member named. */
static void test_sla_matrix_refused(void) {
  test_ctx = "SLA matrix refused";
  static const struct {
    const char *json, *err;
  } rows[] = {
      {"{}", "recovery.sla_matrix: expected an array of entries"},
      {"[{\"factor\":2}]", "recovery.sla_matrix[0]: 'segment' is missing"},
      {"[{\"segment\":\"gold\"}]", "recovery.sla_matrix[0]: neither a 'factor' nor a step's time"},
      {"[{\"segment\":\"gold\",\"factor\":0}]",
       "recovery.sla_matrix[0]: 'factor' must be a number 0.01..10"},
      {"[{\"segment\":\"gold\",\"severity\":5,\"factor\":1}]",
       "recovery.sla_matrix[0]: 'severity' must be an integer 1..4"},
      {"[{\"segment\":\"gold\",\"resolve_h\":0}]",
       "recovery.sla_matrix[0]: 'resolve_h' must be a number 0.01..8760"},
      {"[{\"segment\":\"gold\",\"apologize_h\":\"2\"}]",
       "recovery.sla_matrix[0]: 'apologize_h' must be a number 0.01..8760 or 0 (none)"},
      {"[{\"segment\":\"gold\",\"speed\":2}]", "recovery.sla_matrix[0]: unknown member 'speed'"},
      {"[{\"segment\":\"gold\",\"factor\":1},{\"segment\":\"gold\",\"factor\":2}]",
       "recovery.sla_matrix[1]: same segment and severity as recovery.sla_matrix[0]"},
      {"[{\"segment\":\"\",\"factor\":1}]",
       "recovery.sla_matrix[0]: 'segment' must be a string of 1..64 bytes"},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    cxp_cases_conf c;
    cxp_cases_conf_defaults(&c);
    cJSON *a = cJSON_Parse(rows[i].json);
    char err[200] = "";
    CHECK_INT(cxp_cases_sla_from_json(&c, a, err, sizeof err), -1);
    CHECK_STR(err, rows[i].err);
    CHECK_INT(c.n_sla, 0);
    cJSON_Delete(a);
  }
  /* Through the pipeline: the load fails with the same sentence. */
  cxp_pipeline pl;
  rec_pipeline(&pl);
  snprintf(pl.rec_sla_matrix, sizeof pl.rec_sla_matrix, "[{\"segment\":\"gold\"}]");
  char err[200] = "";
  CHECK_INT(cxp_pipeline_cases(&pl, err, sizeof err), -1);
  CHECK_STR(err, "recovery.sla_matrix[0]: neither a 'factor' nor a step's time");
  /* Thirty-three entries: one too many. */
  cxp_buf b;
  cxp_buf_init(&b);
  cxp_buf_putc(&b, '[');
  for (int i = 0; i < 33; i++) {
    char e[64];
    int n = snprintf(e, sizeof e, "%s{\"segment\":\"s%d\",\"factor\":1}", i ? "," : "", i);
    cxp_buf_put(&b, e, (size_t)n);
  }
  cxp_buf_put(&b, "]", 2);
  cxp_cases_conf c;
  cxp_cases_conf_defaults(&c);
  cJSON *a = cJSON_Parse(b.p);
  CHECK_INT(cxp_cases_sla_from_json(&c, a, err, sizeof err), -1);
  CHECK_STR(err, "recovery.sla_matrix: 33 entries, expected at most 32");
  cJSON_Delete(a);
  cxp_buf_free(&b);
  test_ctx = NULL;
}

/* A reload that changes the matrix: an open case takes its segment's new
 * times. A gold case of severity 2 opened at T0 (acknowledge 60 x 0.5 = 30
 * min); the new matrix gives gold a factor 2: 120 min, so nothing breaches
 * at T0 + 60 min, level 1 at T0 + 120 min. */
static int reload_breaches;
static void count_breach(void *o, const void *from, const cxp_case_breach *b) {
  (void)o, (void)from, (void)b;
  reload_breaches++;
}

static void test_sla_matrix_reload(void) {
  test_ctx = "SLA matrix reload";
  cxp_cases_conf conf;
  cxp_cases_conf_defaults(&conf);
  cxp_cases_cbs cbs = {NULL, count_breach, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
  cxp_cases *cs = cxp_cases_create(&conf, &cbs);
  cxp_event e;
  memset(&e, 0, sizeof e);
  e.type = CXP_EV_COMPLAINT;
  e.event_id = str_of("e1");
  e.customer_id = str_of("c1");
  e.case_id = str_of("K");
  e.segment = str_of("gold");
  e.category = str_of("design");
  e.severity = 2;
  e.ts_ms = T0;
  CHECK_INT(cxp_cases_add(cs, &e, 0, NULL), CXP_CASE_OPENED);
  cxp_case_info ci;
  CHECK_INT(cxp_cases_get(cs, "K", 1, &ci), 0);
  CHECK_INT(ci.deadline[CXP_DL_ACKNOWLEDGE], T0 + 30 * M_MS);
  cJSON *a = cJSON_Parse("[{\"segment\":\"gold\",\"factor\":2}]");
  char err[200] = "";
  CHECK_INT(cxp_cases_sla_from_json(&conf, a, err, sizeof err), 0);
  cJSON_Delete(a);
  CHECK_INT(cxp_cases_set_conf(cs, &conf), 0);
  CHECK_INT(cxp_cases_get(cs, "K", 1, &ci), 0);
  CHECK_INT(ci.deadline[CXP_DL_ACKNOWLEDGE], T0 + 120 * M_MS);
  CHECK_INT(ci.deadline[CXP_DL_RESOLVE], T0 + 48 * H_MS);
  cxp_event t = e;
  t.type = CXP_EV_USAGE;
  t.case_id = (cxp_str){NULL, 0};
  t.ts_ms = T0 + 60 * M_MS;
  cxp_cases_add(cs, &t, 0, NULL);
  CHECK_INT(reload_breaches, 0);
  t.ts_ms = T0 + 120 * M_MS;
  cxp_cases_add(cs, &t, 0, NULL);
  CHECK_INT(reload_breaches, 1);
  cxp_cases_destroy(cs);
  test_ctx = NULL;
}

/* alerts.closed_loop.deadline_h is the detractor case's time to
 * acknowledge, x its segment's factor: 6 h; gold (premium) 6 x 0.5 = 3 h.
 * A gold detractor at T0 gets a deadline of T0 + 3 h on its alert and its
 * case; a basic one T0 + 6 h. */
static void test_closed_loop_deadline(void) {
  test_ctx = "closed-loop deadline";
  static outs out;
  cxp_pipeline pl;
  rec_pipeline(&pl);
  pl.closed_loop_deadline_h = 6;
  cxp_pipeline_derive(&pl);
  char err[200] = "";
  CHECK_INT(cxp_pipeline_cases(&pl, err, sizeof err), 0);
  cxp_core core;
  cxp_core_init(&core, &pl, collect, &out);
  static const struct {
    const char *cid, *seg;
    int64_t allowed;
  } rows[2] = {{"g1", "gold", 3 * H_MS}, {"b1", "basic", 6 * H_MS}};
  char buf[256], t[25];
  for (int i = 0; i < 2; i++) {
    snprintf(buf, sizeof buf,
             "{\"event_id\":\"n%d\",\"customer_id\":\"%s\",\"type\":\"survey.nps\","
             "\"ts\":%lld,\"score\":1,\"segment\":\"%s\"}",
             i, rows[i].cid, (long long)T0, rows[i].seg);
    out.n = 0;
    CHECK_INT(feed(&core, i, buf), CXP_OK);
    cJSON *j = alert_at(&out, 0);
    CHECK_STR(get_s(j, "type"), "recovery.closed_loop");
    CHECK_STR(get_s(j, "deadline"), time_of(T0 + rows[i].allowed, t));
    cxp_case_info ci;
    const char *kid = get_s(j, "case_id");
    CHECK_INT(cxp_cases_get(core.cases[0], kid ? kid : "", kid ? strlen(kid) : 0, &ci), 0);
    CHECK_INT(ci.deadline[CXP_DL_ACKNOWLEDGE], T0 + rows[i].allowed);
    cJSON_Delete(j);
  }
  cxp_core_close(&core);
}

/* The levels of apologize and compensate travel in the case's section (the
 * high nibbles of its first two level bytes). Apologize within 2 h and
 * compensate within 3 h at severity 2: a case opened at T0, the clock at
 * T0 + 7 h: acknowledge levels 1, 2, 3 (1, 2, 4 h), apologize 1, 2 (2, 4 h;
 * 3 at 8 h), compensate 1, 2 (3, 6 h). Restored into a fresh module, the
 * levels are the same, and the next due is apologize's level 3 at 8 h. A
 * section whose level byte holds 4 in a high nibble is refused. */
static void test_step_levels_restored(void) {
  test_ctx = "step levels restored";
  cxp_cases_conf conf;
  cxp_cases_conf_defaults(&conf);
  conf.apologize_ms[1] = 2 * H_MS;
  conf.compensate_ms[1] = 3 * H_MS;
  reload_breaches = 0;
  cxp_cases_cbs cbs = {NULL, count_breach, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
  cxp_cases *a = cxp_cases_create(&conf, &cbs);
  cxp_event e;
  memset(&e, 0, sizeof e);
  e.type = CXP_EV_COMPLAINT;
  e.event_id = str_of("e1");
  e.customer_id = str_of("c1");
  e.case_id = str_of("K");
  e.category = str_of("design");
  e.severity = 2;
  e.ts_ms = T0;
  CHECK_INT(cxp_cases_add(a, &e, 0, NULL), CXP_CASE_OPENED);
  cxp_event t = e;
  t.type = CXP_EV_USAGE;
  t.case_id = (cxp_str){NULL, 0};
  t.ts_ms = T0 + 7 * H_MS;
  cxp_cases_add(a, &t, 0, NULL);
  CHECK_INT(reload_breaches, 1); /* one jump: one alert, level 3 */
  cxp_buf sec;
  cxp_buf_init(&sec);
  cxp_cases_encode(a, "c1", 2, &sec);
  cxp_cases *b = cxp_cases_create(&conf, &cbs);
  char err[256] = "";
  CHECK_INT(cxp_cases_restore(b, "c1", 2, (const uint8_t *)sec.p, sec.len, T0 + 7 * H_MS, err,
                              sizeof err),
            0);
  CHECK_STR(err, "");
  cxp_case_info ci;
  CHECK_INT(cxp_cases_get(b, "K", 1, &ci), 0);
  CHECK_INT(ci.level[CXP_DL_ACKNOWLEDGE], 3);
  CHECK_INT(ci.level[CXP_DL_APOLOGIZE], 2);
  CHECK_INT(ci.level[CXP_DL_COMPENSATE], 2);
  CHECK_INT(ci.level[CXP_DL_RESOLVE], 0);
  CHECK_INT(ci.deadline[CXP_DL_APOLOGIZE], T0 + 2 * H_MS);
  CHECK_INT(ci.deadline[CXP_DL_COMPENSATE], T0 + 3 * H_MS);
  /* 8 h: apologize reaches 3, a level the case has reached: no alert. */
  t.ts_ms = T0 + 8 * H_MS;
  reload_breaches = 0;
  cxp_cases_add(b, &t, 0, NULL);
  CHECK_INT(reload_breaches, 0);
  CHECK_INT(cxp_cases_get(b, "K", 1, &ci), 0);
  CHECK_INT(ci.level[CXP_DL_APOLOGIZE], 3);
  /* The level bytes are the section's last three before its parked-step
   * count (no parked steps, no closed cases): 3 | 2 << 4, 0 | 2 << 4, 0. */
  CHECK(sec.len > 4);
  if (sec.len > 4) {
    const uint8_t *lv = (const uint8_t *)sec.p + sec.len - 4;
    CHECK_INT(lv[0], 3 | 2 << 4);
    CHECK_INT(lv[1], 2 << 4);
    CHECK_INT(lv[2], 0);
    ((uint8_t *)sec.p)[sec.len - 4] = 3 | 4 << 4;
    cxp_cases *c = cxp_cases_create(&conf, &cbs);
    CHECK_INT(cxp_cases_restore(c, "c1", 2, (const uint8_t *)sec.p, sec.len, T0, err,
                                sizeof err),
              -1);
    CHECK_CONTAINS(err, "escalation level 4, expected 0..3");
    cxp_cases_destroy(c);
  }
  cxp_buf_free(&sec);
  cxp_cases_destroy(a);
  cxp_cases_destroy(b);
  test_ctx = NULL;
}

/* With the closed-loop alert off, a detractor's case is still announced as
 * it opens: by recovery.required, P2 for an answer of 2 (severity 2), its
 * deadline the case's acknowledgement, the closed loop's 48 h. */
static void test_detractor_without_closed_loop(void) {
  test_ctx = "detractor case, closed loop off";
  static outs out;
  cxp_pipeline pl;
  rec_pipeline(&pl);
  pl.closed_loop_enabled = 0;
  cxp_core core;
  cxp_core_init(&core, &pl, collect, &out);
  char buf[256], t[25];
  CHECK_INT(feed(&core, 0, nps(buf, sizeof buf, "n1", "u8", T0, 2)), CXP_OK);
  CHECK_INT(count_stream(&out, CXP_STREAM_ALERTS), 1);
  cJSON *j = alert_at(&out, 0);
  CHECK_STR(get_s(j, "type"), "recovery.required");
  CHECK_STR(get_s(j, "priority"), "P2");
  CHECK_STR(get_s(j, "deadline"), time_of(T0 + 48 * H_MS, t));
  char id[20];
  cxp_cases_detractor_id(id, pl.name, str_of("u8"), str_of("n1"));
  CHECK_STR(get_s(j, "case_id"), id);
  cJSON_Delete(j);
  CHECK_EQ(cxp_core_cases_open(&core, 0), 1);
  cxp_core_close(&core);
}

int main(void) {
  test_late_detractor_order();
  test_one_per_level();
  test_detractor_cooldown();
  test_closed_loop_deadline();
  test_detractor_without_closed_loop();
  test_sla_matrix();
  test_sla_matrix_refused();
  test_sla_matrix_reload();
  test_step_levels_restored();
  return TEST_REPORT();
}
