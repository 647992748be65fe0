/* Unit tests of the recovery cases' records on topics.cases (caserec.c,
 * corecaserec.c): a core fed events by hand, its CASES outputs compared
 * with values worked out from the defaults (docs/domain.md section 5):
 * severity 2, not premium: acknowledge within 1 h, resolve within 24 h,
 * follow up within 72 h of the resolution, closed 5 min after both;
 * escalation level 1 at the deadline, to team_lead.
 *
 * usage: test_caserec [--records FILE]
 * With --records, writes every record the tests saw to FILE as JSON lines
 * for schemas/case.schema.json (the caserec_schema test). */
#include "helpers.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "pipeline.h"

static FILE *records;

#define FAIL(id, cust, ts, cid)                                                            \
  "{\"event_id\":\"" id "\",\"type\":\"service.failure\",\"customer_id\":\"" cust       \
  "\",\"ts\":\"" ts "\",\"case_id\":\"" cid "\",\"category\":\"operational\","           \
  "\"severity\":2,\"detected_by\":\"customer\",\"segment\":\"basic\"}"
#define STEP(id, type, cust, ts, cid)                                                      \
  "{\"event_id\":\"" id "\",\"type\":\"" type "\",\"customer_id\":\"" cust "\",\"ts\":\"" \
  ts "\",\"case_id\":\"" cid "\"}"

/* The case records of the outputs, parsed, in order; *n how many. */
static int case_records(const outs *o, cJSON **out, int max) {
  int n = 0;
  for (int i = 0; i < o->n && n < max; i++) {
    if (o->stream[i] != CXP_STREAM_CASES) continue;
    out[n] = cJSON_Parse(o->val[i]);
    CHECK(out[n] != NULL);
    CHECK_STR(o->key[i], get_s(out[n], "case_id"));
    if (records) fprintf(records, "%s\n", o->val[i]);
    n++;
  }
  return n;
}

static void free_records(cJSON **r, int n) {
  for (int i = 0; i < n; i++) cJSON_Delete(r[i]);
}

static void core_with_cases(cxp_core *c, cxp_pipeline *pl, outs *o) {
  cxp_pipeline_defaults(pl);
  pl->win_enabled = pl->churn_enabled = 0;
  memset(o, 0, sizeof *o);
  o->with_cases = 1;
  cxp_core_init(c, pl, collect, o);
}

/* Acknowledged, resolved and followed up in time: three step records
 * after the opening, then the closing at 09:05 (followed up 09:00 +
 * settle 5 min), seen with the next event. */
static void recovered_well(void) {
  cxp_pipeline pl;
  cxp_core c;
  outs o;
  core_with_cases(&c, &pl, &o);
  const char *ev[] = {FAIL("f1", "u1", "2026-11-23T07:00:00Z", "k2"),
                      STEP("s1", "recovery.acknowledged", "u1", "2026-11-23T07:10:00Z", "k2"),
                      STEP("s2", "recovery.resolved", "u1", "2026-11-23T08:00:00Z", "k2"),
                      STEP("s3", "recovery.followed_up", "u1", "2026-11-23T09:00:00Z", "k2"),
                      "{\"event_id\":\"x\",\"type\":\"usage\",\"customer_id\":\"u1\",\"ts\":"
                      "\"2026-11-23T10:00:00Z\"}"};
  for (int i = 0; i < 5; i++) CHECK_INT(feed_core(&c, i, ev[i]), CXP_OK);
  cJSON *r[8];
  int n = case_records(&o, r, 8);
  CHECK_INT(n, 5);
  static const char *const change[5] = {"opened", "step", "step", "step", "closed"};
  static const char *const step[4] = {"acknowledge", "resolve", "follow_up", NULL};
  /* Follow up: 72 h after the resolution at 08:00. */
  static const char *const due[4] = {"2026-11-23T08:00:00.000Z", "2026-11-24T07:00:00.000Z",
                                     "2026-11-26T08:00:00.000Z", NULL};
  for (int i = 0; i < n && i < 5; i++) {
    CHECK_STR(get_s(r[i], "change"), change[i]);
    int k = i < 4 ? i : 3;
    if (step[k]) {
      CHECK_STR(get_s(r[i], "step"), step[k]);
      CHECK_STR(get_s(r[i], "next_deadline"), due[k]);
    } else { /* every step done: null, not absent */
      CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r[i], "step")));
      CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r[i], "next_deadline")));
    }
    CHECK_INT(get_n(r[i], "overdue_s"), 0);
    CHECK_INT(get_n(r[i], "escalation_level"), 0);
  }
  if (n == 5) {
    CHECK_STR(get_s(r[4], "state"), "closed");
    CHECK_STR(get_s(r[4], "updated_at"), "2026-11-23T09:05:00.000Z");
    CHECK_STR(get_s(r[4], "closed_reason"), "closed");
    CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r[4], "recovered_well")));
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(r[4], "steps");
    CHECK_STR(get_s(steps, "resolved"), "2026-11-23T08:00:00.000Z");
    CHECK_STR(get_s(steps, "followed_up"), "2026-11-23T09:00:00.000Z");
    CHECK_STR(get_s(r[3], "state"), "open");
    CHECK(cJSON_GetObjectItemCaseSensitive(r[3], "closed_reason") == NULL);
  }
  free_records(r, n);
  cxp_core_close(&c);
}

/* Not acknowledged by 08:00; an apology at 08:30 moves the clock past it:
 * level 1 fires first (its record at the due, 08:00, to team_lead), then
 * the step's record, 1800 s past the acknowledge deadline still due. */
static void overdue(void) {
  cxp_pipeline pl;
  cxp_core c;
  outs o;
  core_with_cases(&c, &pl, &o);
  CHECK_INT(feed_core(&c, 0, FAIL("f1", "u2", "2026-11-23T07:00:00Z", "k3")), CXP_OK);
  CHECK_INT(feed_core(&c, 1, STEP("s1", "recovery.apologized", "u2", "2026-11-23T08:30:00Z",
                                  "k3")),
            CXP_OK);
  cJSON *r[8];
  int n = case_records(&o, r, 8);
  CHECK_INT(n, 3);
  if (n == 3) {
    CHECK_STR(get_s(r[0], "role"), "frontline_agent");
    CHECK_STR(get_s(r[1], "change"), "escalated");
    CHECK_STR(get_s(r[1], "updated_at"), "2026-11-23T08:00:00.000Z");
    CHECK_INT(get_n(r[1], "overdue_s"), 0);
    CHECK_STR(get_s(r[1], "role"), "team_lead");
    CHECK_STR(get_s(r[2], "change"), "step");
    CHECK_STR(get_s(r[2], "step"), "acknowledge");
    CHECK_STR(get_s(r[2], "next_deadline"), "2026-11-23T08:00:00.000Z");
    CHECK_INT(get_n(r[2], "overdue_s"), 1800);
    CHECK_INT(get_n(r[2], "escalation_level"), 1);
    CHECK_STR(get_s(r[2], "role"), "team_lead");
    CHECK_STR(get_s(cJSON_GetObjectItemCaseSensitive(r[2], "steps"), "apologized"),
              "2026-11-23T08:30:00.000Z");
  }
  free_records(r, n);
  cxp_core_close(&c);
}

/* A detractor's second answer within the closed loop's cooldown (24 h)
 * names no case and joins his open one: 5 at 07:00 opens it at severity 3
 * (P3); 2 at 08:00 lifts it to severity 2 (P2), a step record under the
 * first answer's case id. */
static void detractor_joins(void) {
  cxp_pipeline pl;
  cxp_core c;
  outs o;
  core_with_cases(&c, &pl, &o);
  CHECK_INT(feed_core(&c, 0, "{\"event_id\":\"n1\",\"type\":\"survey.nps\",\"customer_id\":"
                             "\"u5\",\"ts\":\"2026-11-23T07:00:00Z\",\"score\":5}"),
            CXP_OK);
  CHECK_INT(feed_core(&c, 1, "{\"event_id\":\"n2\",\"type\":\"survey.nps\",\"customer_id\":"
                             "\"u5\",\"ts\":\"2026-11-23T08:00:00Z\",\"score\":2}"),
            CXP_OK);
  cJSON *r[8];
  int n = case_records(&o, r, 8);
  CHECK_INT(n, 2);
  if (n == 2) {
    CHECK_STR(get_s(r[0], "change"), "opened");
    CHECK_STR(get_s(r[0], "kind"), "detractor");
    CHECK_INT(get_n(r[0], "severity"), 3);
    CHECK_INT(get_n(r[0], "priority"), 3);
    CHECK_STR(get_s(r[1], "case_id"), get_s(r[0], "case_id"));
    CHECK_STR(get_s(r[1], "change"), "step");
    CHECK_STR(get_s(r[1], "updated_at"), "2026-11-23T08:00:00.000Z");
    CHECK_INT(get_n(r[1], "severity"), 2);
    CHECK_INT(get_n(r[1], "priority"), 2);
  }
  free_records(r, n);
  cxp_core_close(&c);
}

/* With an apology due within 2 h at severity 2, the step due next goes
 * in the order of a recovery: acknowledge (by 08:00), then apologize (by
 * 09:00, counted from the opening), then resolve (by 11-24 07:00). */
static void apology_next(void) {
  cxp_pipeline pl;
  cxp_core c;
  outs o;
  core_with_cases(&c, &pl, &o);
  pl.rec_apologize_h[1] = 2;
  CHECK_INT(cxp_pipeline_cases(&pl, NULL, 0), 0);
  cxp_core_close(&c);
  memset(&o, 0, sizeof o);
  o.with_cases = 1;
  cxp_core_init(&c, &pl, collect, &o);
  const char *ev[] = {FAIL("f1", "u6", "2026-11-23T07:00:00Z", "k6"),
                      STEP("s1", "recovery.acknowledged", "u6", "2026-11-23T07:10:00Z", "k6"),
                      STEP("s2", "recovery.apologized", "u6", "2026-11-23T07:20:00Z", "k6")};
  for (int i = 0; i < 3; i++) CHECK_INT(feed_core(&c, i, ev[i]), CXP_OK);
  cJSON *r[8];
  int n = case_records(&o, r, 8);
  CHECK_INT(n, 3);
  static const char *const step[3] = {"acknowledge", "apologize", "resolve"};
  static const char *const due[3] = {"2026-11-23T08:00:00.000Z", "2026-11-23T09:00:00.000Z",
                                     "2026-11-24T07:00:00.000Z"};
  for (int i = 0; i < n && i < 3; i++) {
    CHECK_STR(get_s(r[i], "step"), step[i]);
    CHECK_STR(get_s(r[i], "next_deadline"), due[i]);
  }
  free_records(r, n);
  cxp_core_close(&c);
}

/* topics.cases "": no record. */
static void off(void) {
  cxp_pipeline pl;
  cxp_core c;
  outs o;
  core_with_cases(&c, &pl, &o);
  pl.topic_cases[0] = '\0';
  CHECK_INT(feed_core(&c, 0, FAIL("f1", "u3", "2026-11-23T07:00:00Z", "k4")), CXP_OK);
  CHECK_INT(count_stream(&o, CXP_STREAM_CASES), 0);
  CHECK_INT(count_stream(&o, CXP_STREAM_ALERTS), 1);
  cxp_core_close(&c);
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--records") == 0) {
    records = fopen(argv[2], "w");
    if (records == NULL) return 1;
  }
  recovered_well();
  overdue();
  detractor_joins();
  apology_next();
  off();
  if (records) fclose(records);
  return TEST_REPORT();
}
