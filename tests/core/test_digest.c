/* The breach digest through the core (digest.c, corecases.c): which
 * breaches it takes, its windows and roles, its cap, the cases settled
 * before its end, its id, and a restart between a breach and its digest.
 *
 * Every expected value was worked out by hand (the arithmetic is in the
 * comment beside it), never taken from the code's own output. The default
 * SLA, segment silver (not premium, so priority = severity): severity 2
 * acknowledge within 60 min, severity 3 within 240 min; escalation levels
 * at 1x, 2x, 4x the allowed time, to team_lead, service_manager,
 * head_of_customer_service; digest window 60 min, from P3. */
#include "helpers.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "pipeline.h"
#include "staterec.h"
#include "timeutil.h"

/* Recovery on, the digest as asked; windows, churn and the satisfaction
 * alerts off, so that the alerts seen are the cases' own. */
static void digest_pipeline(cxp_pipeline *pl, int on) {
  cxp_pipeline_defaults(pl);
  pl->win_enabled = pl->churn_enabled = 0;
  pl->drop_enabled = pl->sq_enabled = 0;
  pl->rec_digest_enabled = on;
  char err[256];
  CHECK_INT(cxp_pipeline_cases(pl, err, sizeof err), 0);
}

static const char *time_of_ms(int64_t ms, char buf[25]) {
  cxp_time_format(ms, buf);
  return buf;
}

/* A case opened by a complaint of customer `cust`, severity `sev`, at `ts`. */
static cxp_reason open_case(cxp_core *c, int64_t off, const char *id, const char *cust,
                            int sev, int64_t ts) {
  char buf[320];
  snprintf(buf, sizeof buf,
           "{\"event_id\":\"o-%s\",\"type\":\"complaint\",\"customer_id\":\"%s\",\"ts\":%lld,"
           "\"segment\":\"silver\",\"case_id\":\"%s\",\"category\":\"operational\","
           "\"severity\":%d}",
           id, cust, (long long)ts, id, sev);
  return feed_core_part(c, 0, off, buf);
}

static cxp_reason ack(cxp_core *c, int64_t off, const char *id, const char *cust, int64_t ts) {
  char buf[256];
  snprintf(buf, sizeof buf,
           "{\"event_id\":\"a-%s\",\"type\":\"recovery.acknowledged\",\"customer_id\":\"%s\","
           "\"ts\":%lld,\"case_id\":\"%s\"}",
           id, cust, (long long)ts, id);
  return feed_core_part(c, 0, off, buf);
}

/* Another customer's event: it only moves the partition's clock. */
static cxp_reason clock_to(cxp_core *c, int32_t part, int64_t off, int64_t ts) {
  char buf[160];
  snprintf(buf, sizeof buf,
           "{\"event_id\":\"t%lld\",\"type\":\"usage\",\"customer_id\":\"u9\",\"ts\":%lld}",
           (long long)off, (long long)ts);
  return feed_core_part(c, part, off, buf);
}

/* The alerts of out from index `from` on, as "type/priority/role" joined by
 * commas (case ids for breaches: "sla_breached:K3/P2/team_lead"). */
static const char *alert_list(const outs *o, int from, char *buf, size_t n) {
  size_t len = 0;
  buf[0] = '\0';
  for (int i = from; i < o->n; i++) {
    if (o->stream[i] != CXP_STREAM_ALERTS) continue;
    cJSON *j = cJSON_Parse(o->val[i]);
    const char *t = get_s(j, "type"), *cid = get_s(j, "case_id"), *r = get_s(j, "role");
    len += (size_t)snprintf(buf + len, n - len, "%s%s%s%s/%s/%s", len ? "," : "",
                            t ? t : "?", cid ? ":" : "", cid ? cid : "",
                            get_s(j, "priority") ? get_s(j, "priority") : "?", r ? r : "-");
    cJSON_Delete(j);
    if (len >= n) break;
  }
  return buf;
}

/* The digest alert at out index i, parsed (the caller deletes it), or NULL. */
static cJSON *digest_at(const outs *o, int i) {
  if (i < 0 || i >= o->n || o->stream[i] != CXP_STREAM_ALERTS) return NULL;
  cJSON *j = cJSON_Parse(o->val[i]);
  const char *t = get_s(j, "type");
  if (t && strcmp(t, "recovery.sla_digest") == 0) return j;
  cJSON_Delete(j);
  return NULL;
}

/* The first digest from index `from` on: its index, or -1. */
static int find_digest(const outs *o, int from) {
  for (int i = from; i < o->n; i++) {
    cJSON *j = digest_at(o, i);
    int hit = j != NULL;
    cJSON_Delete(j);
    if (hit) return i;
  }
  return -1;
}

/* A digest's cases as "case:customer:level:step:due-hh:mm[:steps]" joined by
 * commas, the steps as step level pairs. */
static const char *cases_of(const cJSON *j, char *buf, size_t n) {
  const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "digest");
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(d, "cases"), *it;
  size_t len = 0;
  buf[0] = '\0';
  cJSON_ArrayForEach(it, a) {
    const char *due = get_s(it, "due");
    len += (size_t)snprintf(buf + len, n - len, "%s%s:%s:%s:%d:%s:%.5s", len ? "," : "",
                            get_s(it, "case_id"), get_s(it, "customer_id"),
                            get_s(it, "priority"), (int)get_n(it, "level"), get_s(it, "step"),
                            due ? due + 11 : "?");
    const cJSON *s, *steps = cJSON_GetObjectItemCaseSensitive(it, "steps");
    cJSON_ArrayForEach(s, steps)
    len += (size_t)snprintf(buf + len, n - len, ":%s%d", get_s(s, "step"), (int)get_n(s, "level"));
    if (len >= n) break;
  }
  return buf;
}

static double digest_n(const cJSON *j, const char *k) {
  return get_n(cJSON_GetObjectItemCaseSensitive(j, "digest"), k);
}

static const char *digest_s(const cJSON *j, const char *k) {
  return get_s(cJSON_GetObjectItemCaseSensitive(j, "digest"), k);
}

/* ---- the scenario of sections 1 and 2 --------------------------------------
 * K1 (u1) severity 3 at 07:00: acknowledge due 11:00 (P3), level 2 at 15:00.
 * K2 (u2) severity 3 at 07:20: due 11:20 (P3).
 * K3 (u3) severity 2 at 10:00: due 11:00 (P2), level 2 at 12:00 (P1).
 * The clock goes to 11:30, then 12:05. */
static void two_and_one(cxp_core *c, outs *o) {
  CHECK_INT(open_case(c, 0, "K1", "u1", 3, T0), CXP_OK);
  CHECK_INT(open_case(c, 1, "K2", "u2", 3, T0 + 20 * M_MS), CXP_OK);
  CHECK_INT(open_case(c, 2, "K3", "u3", 2, T0 + 3 * H_MS), CXP_OK);
  o->n = 0;
  CHECK_INT(clock_to(c, 0, 3, T0 + 4 * H_MS + 30 * M_MS), CXP_OK);
}

/* ---- 1. off: every breach its own alert ------------------------------------ */

static void test_off_unchanged(void) {
  test_ctx = "digest off";
  static outs o;
  cxp_pipeline pl;
  digest_pipeline(&pl, 0);
  cxp_core c;
  cxp_core_init(&c, &pl, collect, &o);
  char buf[512];
  two_and_one(&c, &o);
  /* 11:30: K1 and K3 at 11:00 (opening order), K2 at 11:20. */
  CHECK_STR(alert_list(&o, 0, buf, sizeof buf),
            "recovery.sla_breached:K1/P3/team_lead,recovery.sla_breached:K3/P2/team_lead,"
            "recovery.sla_breached:K2/P3/team_lead");
  o.n = 0;
  /* 12:05: K3's level 2 at 12:00, P2 lifted one: P1. */
  CHECK_INT(clock_to(&c, 0, 4, T0 + 5 * H_MS + 5 * M_MS), CXP_OK);
  CHECK_STR(alert_list(&o, 0, buf, sizeof buf), "recovery.sla_breached:K3/P1/service_manager");
  CHECK_EQ(c.n.alerts[CXP_AL_SLA_DIGEST], 0);
  cxp_core_close(&c);
}

/* ---- 2. on: one digest for the two low ones, the P2 case its own ----------- */

static void test_two_in_one_window(void) {
  test_ctx = "two P3 breaches, one digest";
  static outs o;
  cxp_pipeline pl;
  digest_pipeline(&pl, 1);
  cxp_core c;
  cxp_core_init(&c, &pl, collect, &o);
  o.with_cases = 1;
  char buf[1024];
  two_and_one(&c, &o);
  /* 11:30: only K3's breach is an alert; K1 and K2 still escalate on
   * topics.cases (two records "escalated", and K3's). */
  CHECK_STR(alert_list(&o, 0, buf, sizeof buf), "recovery.sla_breached:K3/P2/team_lead");
  int escalated = 0;
  for (int i = 0; i < o.n; i++)
    if (o.stream[i] == CXP_STREAM_CASES && strstr(o.val[i], "\"change\":\"escalated\""))
      escalated++;
  CHECK_INT(escalated, 3);
  o.n = 0;
  o.with_cases = 0;
  /* 12:05: the window 11:00-12:00 ended at 12:00, before K3's level 2
   * (12:00) fires: the digest first, then K3's P1. */
  CHECK_INT(clock_to(&c, 0, 4, T0 + 5 * H_MS + 5 * M_MS), CXP_OK);
  CHECK_STR(alert_list(&o, 0, buf, sizeof buf),
            "recovery.sla_digest/P3/team_lead,recovery.sla_breached:K3/P1/service_manager");
  cJSON *j = digest_at(&o, 0);
  CHECK(j != NULL);
  char t[25];
  CHECK_STR(get_s(j, "event_ts"), time_of_ms(T0 + 5 * H_MS, t));
  CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "customer_id")));
  CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "case_id")));
  CHECK_STR(o.key[0], "team_lead");
  CHECK_STR(digest_s(j, "window_start"), time_of_ms(T0 + 4 * H_MS, t));
  CHECK_STR(digest_s(j, "window_end"), time_of_ms(T0 + 5 * H_MS, t));
  CHECK_EQ((int64_t)digest_n(j, "level"), 1);
  CHECK_EQ((int64_t)digest_n(j, "cases_listed"), 2);
  CHECK_EQ((int64_t)digest_n(j, "cases_omitted"), 0);
  CHECK_EQ((int64_t)digest_n(j, "cases_settled"), 0);
  /* In the order they breached: K1 at 11:00, K2 at 11:20; each its
   * acknowledgement at level 1, deadline = due. */
  CHECK_STR(cases_of(j, buf, sizeof buf),
            "K1:u1:P3:1:acknowledge:11:00:acknowledge1,K2:u2:P3:1:acknowledge:11:20:acknowledge1");
  const cJSON *k1 = cJSON_GetArrayItem(
      cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "digest"), "cases"), 0);
  CHECK_STR(get_s(k1, "deadline"), time_of_ms(T0 + 4 * H_MS, t));
  CHECK_STR(get_s(k1, "segment"), "silver");
  const cJSON *r0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "reasons"), 0);
  CHECK_STR(get_s(r0, "factor"), "breached_cases");
  CHECK_EQ((int64_t)get_n(r0, "value"), 2);
  /* The id: from pipeline, type, role, window and partition; the same
   * events again give the same. */
  char id1[40];
  snprintf(id1, sizeof id1, "%s", get_s(j, "alert_id"));
  cJSON_Delete(j);
  CHECK_EQ(c.n.alerts[CXP_AL_SLA_DIGEST], 1);
  CHECK_EQ(c.n.alerts[CXP_AL_SLA_BREACHED], 2);
  cxp_core_close(&c);

  static outs o2;
  cxp_core_init(&c, &pl, collect, &o2);
  two_and_one(&c, &o2);
  CHECK_INT(clock_to(&c, 0, 4, T0 + 5 * H_MS + 5 * M_MS), CXP_OK);
  j = digest_at(&o2, find_digest(&o2, 0));
  CHECK_STR(j ? get_s(j, "alert_id") : NULL, id1);
  cJSON_Delete(j);
  cxp_core_close(&c);

  /* The same on input partition 1: another digest, another id. */
  cxp_core_init(&c, &pl, collect, &o2);
  o2.n = 0;
  const char *ev[3] = {
      "{\"event_id\":\"p1\",\"type\":\"complaint\",\"customer_id\":\"u1\",\"ts\":%lld,"
      "\"segment\":\"silver\",\"case_id\":\"K1\",\"category\":\"operational\",\"severity\":3}",
      NULL, NULL};
  char e[320];
  snprintf(e, sizeof e, ev[0], (long long)T0);
  CHECK_INT(feed_core_part(&c, 1, 0, e), CXP_OK);
  CHECK_INT(clock_to(&c, 1, 1, T0 + 5 * H_MS + 5 * M_MS), CXP_OK);
  j = digest_at(&o2, find_digest(&o2, 0));
  CHECK(j != NULL);
  CHECK_EQ((int64_t)digest_n(j, "partition"), 1);
  CHECK(j && strcmp(get_s(j, "alert_id"), id1) != 0);
  cJSON_Delete(j);
  cxp_core_close(&c);
}

/* ---- 3. acknowledged before the window ends ------------------------------- */

/* K1 (07:00) and K2 (07:20) breach at 11:00 and 11:20. K1 is acknowledged
 * at 11:40, after its breach, within the window: it is settled, not listed.
 * K4 (u4, severity 3 at 07:30, due 11:30) is acknowledged at 12:00, the
 * window's end itself: done by the end, settled; that event also moves the
 * clock to the end, so the digest goes out with it, listing K2 alone. */
static void test_settled(void) {
  test_ctx = "settled before the end";
  static outs o;
  cxp_pipeline pl;
  digest_pipeline(&pl, 1);
  cxp_core c;
  cxp_core_init(&c, &pl, collect, &o);
  char buf[512];
  CHECK_INT(open_case(&c, 0, "K1", "u1", 3, T0), CXP_OK);
  CHECK_INT(open_case(&c, 1, "K2", "u2", 3, T0 + 20 * M_MS), CXP_OK);
  CHECK_INT(open_case(&c, 2, "K4", "u4", 3, T0 + 30 * M_MS), CXP_OK);
  CHECK_INT(ack(&c, 3, "K1", "u1", T0 + 4 * H_MS + 40 * M_MS), CXP_OK);
  CHECK_INT(find_digest(&o, 0), -1);
  o.n = 0;
  CHECK_INT(ack(&c, 4, "K4", "u4", T0 + 5 * H_MS), CXP_OK);
  CHECK_STR(alert_list(&o, 0, buf, sizeof buf), "recovery.sla_digest/P3/team_lead");
  cJSON *j = digest_at(&o, 0);
  CHECK_STR(cases_of(j, buf, sizeof buf), "K2:u2:P3:1:acknowledge:11:20:acknowledge1");
  CHECK_EQ((int64_t)digest_n(j, "cases_listed"), 1);
  CHECK_EQ((int64_t)digest_n(j, "cases_settled"), 2);
  cJSON_Delete(j);
  cxp_core_close(&c);

  /* A step done after the end counts as not done, even when it is the
   * event that moves the clock past it: K1 (due 11:00) acknowledged at
   * 12:10, the first event after its opening, breaches and is listed. */
  static outs o3;
  cxp_core_init(&c, &pl, collect, &o3);
  CHECK_INT(open_case(&c, 0, "K1", "u1", 3, T0), CXP_OK);
  CHECK_INT(ack(&c, 1, "K1", "u1", T0 + 5 * H_MS + 10 * M_MS), CXP_OK);
  j = digest_at(&o3, find_digest(&o3, 0));
  CHECK_STR(j ? cases_of(j, buf, sizeof buf) : NULL, "K1:u1:P3:1:acknowledge:11:00:acknowledge1");
  cJSON_Delete(j);
  cxp_core_close(&c);

  /* Every case settled: no digest at all. */
  static outs o2;
  cxp_core_init(&c, &pl, collect, &o2);
  CHECK_INT(open_case(&c, 0, "K1", "u1", 3, T0), CXP_OK);
  CHECK_INT(ack(&c, 1, "K1", "u1", T0 + 4 * H_MS + 40 * M_MS), CXP_OK);
  CHECK_INT(clock_to(&c, 0, 2, T0 + 6 * H_MS), CXP_OK);
  CHECK_INT(count_stream(&o2, CXP_STREAM_ALERTS), 1); /* K1's recovery.required */
  CHECK_INT(find_digest(&o2, 0), -1);
  cxp_core_close(&c);
}

/* ---- 4. roles and levels --------------------------------------------------- */

/* Severity 4 acknowledged within 30 min (recovery.sla.sev4.acknowledge_min):
 * K4 (u4) at 07:00 reaches level 1 at 07:30 (P4, team_lead), level 2 at
 * 08:00 (P3, service_manager), level 3 at 09:00 (P2: its own alert to
 * head_of_customer_service); K5 (u5) at 07:10: 07:40, 08:10, 09:10. The
 * clock goes to 07:50 (both at level 1), then 08:30, then 09:05. (Had it
 * jumped from 07:10 to 08:30, each case would have escalated once, to
 * level 2, as a grouped breach: section 5.3.) */
static void test_roles(void) {
  test_ctx = "one digest per role";
  static outs o;
  cxp_pipeline pl;
  cxp_pipeline_defaults(&pl);
  pl.win_enabled = pl.churn_enabled = pl.drop_enabled = pl.sq_enabled = 0;
  pl.rec_digest_enabled = 1;
  pl.rec_ack_min[3] = 30;
  char err[256], buf[1024], t[25];
  CHECK_INT(cxp_pipeline_cases(&pl, err, sizeof err), 0);
  cxp_core c;
  cxp_core_init(&c, &pl, collect, &o);
  CHECK_INT(open_case(&c, 0, "K4", "u4", 4, T0), CXP_OK);
  CHECK_INT(open_case(&c, 1, "K5", "u5", 4, T0 + 10 * M_MS), CXP_OK);
  CHECK_INT(clock_to(&c, 0, 2, T0 + 50 * M_MS), CXP_OK);
  o.n = 0;
  /* 08:30: the window 07:00-08:00 goes out before K4's 08:00 level fires,
   * so both are at level 1 in it. */
  CHECK_INT(clock_to(&c, 0, 3, T0 + H_MS + 30 * M_MS), CXP_OK);
  CHECK_STR(alert_list(&o, 0, buf, sizeof buf), "recovery.sla_digest/P4/team_lead");
  cJSON *j = digest_at(&o, 0);
  CHECK_STR(digest_s(j, "window_start"), time_of_ms(T0, t));
  CHECK_STR(cases_of(j, buf, sizeof buf),
            "K4:u4:P4:1:acknowledge:07:30:acknowledge1,K5:u5:P4:1:acknowledge:07:40:acknowledge1");
  char id1[40];
  snprintf(id1, sizeof id1, "%s", get_s(j, "alert_id"));
  cJSON_Delete(j);
  o.n = 0;
  /* 09:05: the window 08:00-09:00 to service_manager (level 2, P3), then
   * K4's level 3 at 09:00, P2, its own. */
  CHECK_INT(clock_to(&c, 0, 4, T0 + 2 * H_MS + 5 * M_MS), CXP_OK);
  CHECK_STR(alert_list(&o, 0, buf, sizeof buf),
            "recovery.sla_digest/P3/service_manager,"
            "recovery.sla_breached:K4/P2/head_of_customer_service");
  j = digest_at(&o, 0);
  CHECK_EQ((int64_t)digest_n(j, "level"), 2);
  CHECK_STR(o.key[0], "service_manager");
  CHECK_STR(cases_of(j, buf, sizeof buf),
            "K4:u4:P3:2:acknowledge:08:00:acknowledge2,K5:u5:P3:2:acknowledge:08:10:acknowledge2");
  CHECK(strcmp(get_s(j, "alert_id"), id1) != 0);
  cJSON_Delete(j);
  cxp_core_close(&c);

  /* from_priority 4: only P4 waits; level 2 (P3) is an alert again. */
  pl.rec_digest_from = 4;
  CHECK_INT(cxp_pipeline_cases(&pl, err, sizeof err), 0);
  cxp_core_init(&c, &pl, collect, &o);
  CHECK_INT(open_case(&c, 0, "K4", "u4", 4, T0), CXP_OK);
  CHECK_INT(clock_to(&c, 0, 1, T0 + 50 * M_MS), CXP_OK);
  o.n = 0;
  CHECK_INT(clock_to(&c, 0, 2, T0 + H_MS + 30 * M_MS), CXP_OK);
  CHECK_STR(alert_list(&o, 0, buf, sizeof buf),
            "recovery.sla_digest/P4/team_lead,recovery.sla_breached:K4/P3/service_manager");
  cxp_core_close(&c);
}

/* ---- 5. the window's bounds ------------------------------------------------ */

/* K2 (severity 3 at 07:59) is due 11:59, in 11:00-12:00; K1 (at 08:00) is
 * due 12:00, the next window's start. An event at exactly 12:00 ends the
 * first window: its digest lists K2 alone; K1 waits for 13:00. */
static void test_bounds(void) {
  test_ctx = "window bounds";
  static outs o;
  cxp_pipeline pl;
  digest_pipeline(&pl, 1);
  cxp_core c;
  cxp_core_init(&c, &pl, collect, &o);
  char buf[512], t[25];
  CHECK_INT(open_case(&c, 0, "K2", "u2", 3, T0 + 59 * M_MS), CXP_OK);
  CHECK_INT(open_case(&c, 1, "K1", "u1", 3, T0 + H_MS), CXP_OK);
  o.n = 0;
  CHECK_INT(clock_to(&c, 0, 2, T0 + 5 * H_MS - 1), CXP_OK); /* 11:59:59.999 */
  CHECK_INT(find_digest(&o, 0), -1);
  CHECK_INT(clock_to(&c, 0, 3, T0 + 5 * H_MS), CXP_OK);
  cJSON *j = digest_at(&o, find_digest(&o, 0));
  CHECK(j != NULL);
  CHECK_STR(cases_of(j, buf, sizeof buf), "K2:u2:P3:1:acknowledge:11:59:acknowledge1");
  CHECK_STR(digest_s(j, "window_end"), time_of_ms(T0 + 5 * H_MS, t));
  cJSON_Delete(j);
  o.n = 0;
  CHECK_INT(clock_to(&c, 0, 4, T0 + 6 * H_MS), CXP_OK);
  j = digest_at(&o, find_digest(&o, 0));
  CHECK_STR(j ? cases_of(j, buf, sizeof buf) : NULL, "K1:u1:P3:1:acknowledge:12:00:acknowledge1");
  CHECK_STR(j ? digest_s(j, "window_start") : NULL, time_of_ms(T0 + 5 * H_MS, t));
  cJSON_Delete(j);
  cxp_core_close(&c);

  /* A case opened with its deadline long past (07:00, the clock at 13:30):
   * its 11:00 window went out already, so it is listed in 13:00-14:00's. */
  static outs o2;
  cxp_core_init(&c, &pl, collect, &o2);
  CHECK_INT(clock_to(&c, 0, 0, T0 + 6 * H_MS + 30 * M_MS), CXP_OK);
  CHECK_INT(open_case(&c, 1, "K6", "u6", 3, T0), CXP_OK);
  CHECK_INT(find_digest(&o2, 0), -1);
  CHECK_INT(clock_to(&c, 0, 2, T0 + 7 * H_MS), CXP_OK);
  j = digest_at(&o2, find_digest(&o2, 0));
  CHECK_STR(j ? digest_s(j, "window_start") : NULL, time_of_ms(T0 + 6 * H_MS, t));
  CHECK_STR(j ? cases_of(j, buf, sizeof buf) : NULL, "K6:u6:P3:1:acknowledge:11:00:acknowledge1");
  cJSON_Delete(j);
  cxp_core_close(&c);
}

/* ---- 6. the cap ------------------------------------------------------------ */

/* max_cases 2; K1, K2, K7 breach at 11:00, 11:20, 11:40: two listed, one
 * omitted, three breached. */
static void test_cap(void) {
  test_ctx = "cap";
  static outs o;
  cxp_pipeline pl;
  cxp_pipeline_defaults(&pl);
  pl.win_enabled = pl.churn_enabled = pl.drop_enabled = pl.sq_enabled = 0;
  pl.rec_digest_enabled = 1;
  pl.rec_digest_max = 2;
  char err[256], buf[512];
  CHECK_INT(cxp_pipeline_cases(&pl, err, sizeof err), 0);
  cxp_core c;
  cxp_core_init(&c, &pl, collect, &o);
  CHECK_INT(open_case(&c, 0, "K1", "u1", 3, T0), CXP_OK);
  CHECK_INT(open_case(&c, 1, "K2", "u2", 3, T0 + 20 * M_MS), CXP_OK);
  CHECK_INT(open_case(&c, 2, "K7", "u7", 3, T0 + 40 * M_MS), CXP_OK);
  o.n = 0;
  CHECK_INT(clock_to(&c, 0, 3, T0 + 5 * H_MS + 5 * M_MS), CXP_OK);
  CHECK_STR(alert_list(&o, 0, buf, sizeof buf), "recovery.sla_digest/P3/team_lead");
  cJSON *j = digest_at(&o, 0);
  CHECK_STR(cases_of(j, buf, sizeof buf),
            "K1:u1:P3:1:acknowledge:11:00:acknowledge1,K2:u2:P3:1:acknowledge:11:20:acknowledge1");
  CHECK_EQ((int64_t)digest_n(j, "cases_listed"), 2);
  CHECK_EQ((int64_t)digest_n(j, "cases_omitted"), 1);
  const cJSON *r0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "reasons"), 0);
  CHECK_EQ((int64_t)get_n(r0, "value"), 3);
  cJSON_Delete(j);
  cxp_core_close(&c);
}

/* ---- 7. a restart between the breaches and their digest -------------------- */

/* The scenario of section 2 to 11:30, the partition's customers written
 * (K1 and K2 at level 1 in u1's and u2's records, the clock's customer u9
 * at 11:30), then a new core restores them and sees 12:05: the breaches
 * fired before the restart do not fire again, but the digest lists both,
 * with the id the uninterrupted run gave it. A restore past the window's
 * end (u9 written at 12:05) sends nothing again. */
static void test_restart(void) {
  test_ctx = "restart";
  static outs o, o2;
  cxp_pipeline pl;
  digest_pipeline(&pl, 1);
  cxp_core a;
  cxp_core_init(&a, &pl, collect, &o);
  char buf[1024];
  two_and_one(&a, &o);
  cxp_buf fr;
  cxp_buf_init(&fr);
  CHECK_INT(cxp_core_state_flush(&a, 0, &fr), 4); /* u1, u2, u3, u9 */
  CHECK_INT(clock_to(&a, 0, 4, T0 + 5 * H_MS + 5 * M_MS), CXP_OK);
  cJSON *j = digest_at(&o, find_digest(&o, 0));
  char id1[40];
  const char *aid = j ? get_s(j, "alert_id") : NULL;
  CHECK(aid != NULL);
  snprintf(id1, sizeof id1, "%s", aid ? aid : "");
  cJSON_Delete(j);

  cxp_core b;
  cxp_core_init(&b, &pl, collect, &o2);
  restore_frames(&b, &fr);
  o2.n = 0;
  CHECK_INT(clock_to(&b, 0, 4, T0 + 5 * H_MS + 5 * M_MS), CXP_OK);
  CHECK_STR(alert_list(&o2, 0, buf, sizeof buf),
            "recovery.sla_digest/P3/team_lead,recovery.sla_breached:K3/P1/service_manager");
  j = digest_at(&o2, 0);
  CHECK_STR(j ? get_s(j, "alert_id") : NULL, id1);
  CHECK_STR(j ? cases_of(j, buf, sizeof buf) : NULL,
            "K1:u1:P3:1:acknowledge:11:00:acknowledge1,K2:u2:P3:1:acknowledge:11:20:acknowledge1");
  cJSON_Delete(j);
  cxp_core_close(&b);

  /* Written after the digest went out: restored at 12:05, nothing again. */
  cxp_buf_reset(&fr);
  cxp_core_state_flush(&a, 0, &fr);
  cxp_core_init(&b, &pl, collect, &o2);
  restore_frames(&b, &fr);
  o2.n = 0;
  CHECK_INT(clock_to(&b, 0, 5, T0 + 5 * H_MS + 10 * M_MS), CXP_OK);
  CHECK_INT(find_digest(&o2, 0), -1);
  cxp_core_close(&b);
  cxp_buf_free(&fr);
  cxp_core_close(&a);
}

/* ---- 8. the quiet partition's wall clock ----------------------------------- */

/* No event after 11:30 (arrived at wall time W): a tick at W + 31 min moves
 * the clock to 12:01, past the window's end. */
static void test_tick(void) {
  test_ctx = "tick";
  static outs o;
  cxp_pipeline pl;
  digest_pipeline(&pl, 1);
  cxp_core c;
  cxp_core_init(&c, &pl, collect, &o);
  const int64_t W = 1700000000000LL;
  char e[320];
  snprintf(e, sizeof e,
           "{\"event_id\":\"o1\",\"type\":\"complaint\",\"customer_id\":\"u1\",\"ts\":%lld,"
           "\"segment\":\"silver\",\"case_id\":\"K1\",\"category\":\"operational\","
           "\"severity\":3}",
           (long long)T0);
  cxp_msg m = {"in", 0, 0, e, strlen(e), NULL, 0, W - 5 * H_MS, W - 5 * H_MS, 0};
  CHECK_INT(cxp_core_process(&c, &m), CXP_OK);
  snprintf(e, sizeof e,
           "{\"event_id\":\"t1\",\"type\":\"usage\",\"customer_id\":\"u9\",\"ts\":%lld}",
           (long long)(T0 + 4 * H_MS + 30 * M_MS));
  cxp_msg m2 = {"in", 0, 1, e, strlen(e), NULL, 0, W, W, 0};
  CHECK_INT(cxp_core_process(&c, &m2), CXP_OK);
  CHECK_INT(find_digest(&o, 0), -1);
  cxp_msg tick = cxp_msg_clock(0, W + 31 * M_MS);
  cxp_core_tick_input(&c, &tick);
  cJSON *j = digest_at(&o, find_digest(&o, 0));
  char buf[256];
  CHECK_STR(j ? cases_of(j, buf, sizeof buf) : NULL, "K1:u1:P3:1:acknowledge:11:00:acknowledge1");
  cJSON_Delete(j);
  cxp_core_close(&c);
}

/* With --alerts FILE: the alerts of the scenario of section 2 and of the
 * cap's, one a line, for the schema check (tests/core/CMakeLists.txt). */
static void write_alerts(const char *path) {
  FILE *f = fopen(path, "w");
  CHECK(f != NULL);
  if (f == NULL) return;
  static outs o;
  cxp_pipeline pl;
  digest_pipeline(&pl, 1);
  pl.rec_digest_max = 1;
  char err[256];
  CHECK_INT(cxp_pipeline_cases(&pl, err, sizeof err), 0);
  cxp_core c;
  cxp_core_init(&c, &pl, collect, &o);
  two_and_one(&c, &o);
  CHECK_INT(clock_to(&c, 0, 4, T0 + 5 * H_MS + 5 * M_MS), CXP_OK);
  CHECK_INT(ack(&c, 5, "K1", "u1", T0 + 5 * H_MS + 10 * M_MS), CXP_OK);
  CHECK_INT(clock_to(&c, 0, 6, T0 + 12 * H_MS), CXP_OK);
  int digests = 0;
  for (int i = 0; i < o.n; i++)
    if (o.stream[i] == CXP_STREAM_ALERTS) {
      fprintf(f, "%s\n", o.val[i]);
      digests += strstr(o.val[i], "recovery.sla_digest") != NULL;
    }
  CHECK_INT(digests, 1);
  fclose(f);
  cxp_core_close(&c);
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--alerts") == 0) {
    write_alerts(argv[2]);
    return TEST_REPORT();
  }
  test_off_unchanged();
  test_two_in_one_window();
  test_settled();
  test_roles();
  test_bounds();
  test_cap();
  test_restart();
  test_tick();
  return TEST_REPORT();
}
