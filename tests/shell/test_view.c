/* Unit tests of the operations console's view (daemon/shell/view.c):
 * records handed in as the topics carry them, the JSON answers and the
 * bounds, each expected text written by hand.
 *
 * usage: test_view [--exposition]
 * With --exposition, prints the view's metric families for a few groups on
 * stdout, for `promtool check metrics` (the view_promtool test). */
#include "test.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "jsonw.h"
#include "view.h"

#define CHECK_TEXT(buf, lit) CHECK_MEM((buf).p, (buf).len, lit, sizeof(lit) - 1)

/* A case record as topics.cases carries it, cut to the members the view
 * reads and a marker `x` to tell the versions apart. */
static int put_case(cxp_view *v, const char *id, const char *cust, const char *state,
                    const char *due, const char *updated, const char *role, int x) {
  char rec[512];
  int n = snprintf(rec, sizeof rec,
                   "{\"case_id\":\"%s\",\"customer_id\":\"%s\",\"segment\":\"gold\","
                   "\"state\":\"%s\",\"updated_at\":\"%s\",\"role\":\"%s\","
                   "\"next_deadline\":%s%s%s,\"x\":%d}",
                   id, cust, state, updated, role, due ? "\"" : "", due ? due : "null",
                   due ? "\"" : "", x);
  return cxp_view_case(v, id, strlen(id), rec, (size_t)n);
}

static cxp_view_conf conf_of(uint32_t cases, uint32_t groups, uint32_t alerts) {
  cxp_view_conf c = {cases, groups, 3, alerts, 1};
  return c;
}

#define T(hm) "2026-11-23T" hm ":00.000Z"
#define T_MS(h, m) (1795417200000LL + ((h) - 7) * 3600000LL + (m) * 60000LL)

/* max_cases 2: a third case takes the place of the closed one, a fourth
 * (none closed) the least recently updated open one; each drop counted. */
static void bound(void) {
  cxp_view_conf c = conf_of(2, 4, 4);
  cxp_view *v = cxp_view_create(&c);
  cxp_buf b;
  cxp_buf_init(&b);
  CHECK_INT(put_case(v, "a", "u1", "open", T("08:00"), T("07:00"), "agent", 1), 0);
  CHECK_INT(put_case(v, "b", "u2", "closed", NULL, T("07:05"), "agent", 1), 0);
  CHECK_INT(put_case(v, "c", "u3", "open", T("07:30"), T("07:10"), "lead", 1), 0);
  cxp_view_stats s = cxp_view_stats_get(v);
  CHECK_INT(s.cases, 2);
  CHECK_INT(s.open, 2);
  CHECK_INT(s.cases_dropped, 1);
  /* Open cases by next_deadline: c (07:30) before a (08:00). */
  cxp_view_case_query q = {CXP_VIEW_ALL, NULL, NULL, NULL, 100, T_MS(7, 45)};
  cxp_view_cases_json(v, &q, &b);
  CHECK_TEXT(b, "{\"cases\":[{\"case_id\":\"c\",\"customer_id\":\"u3\",\"segment\":\"gold\","
                "\"state\":\"open\",\"updated_at\":\"2026-11-23T07:10:00.000Z\",\"role\":"
                "\"lead\",\"next_deadline\":\"2026-11-23T07:30:00.000Z\",\"x\":1},"
                "{\"case_id\":\"a\",\"customer_id\":\"u1\",\"segment\":\"gold\",\"state\":"
                "\"open\",\"updated_at\":\"2026-11-23T07:00:00.000Z\",\"role\":\"agent\","
                "\"next_deadline\":\"2026-11-23T08:00:00.000Z\",\"x\":1}],\"total\":2}");
  /* a updated (x 2) is now the most recent: d takes c's place. */
  CHECK_INT(put_case(v, "a", "u1", "open", T("08:00"), T("07:20"), "agent", 2), 0);
  CHECK_INT(put_case(v, "d", "u4", "open", NULL, T("07:25"), "agent", 1), 0);
  s = cxp_view_stats_get(v);
  CHECK_INT(s.cases, 2);
  CHECK_INT(s.cases_dropped, 2);
  /* overdue at 08:30: a only (d has no deadline); limit 1 of total 1. */
  q.state = CXP_VIEW_OVERDUE;
  q.now_ms = T_MS(8, 30);
  cxp_buf_reset(&b);
  cxp_view_cases_json(v, &q, &b);
  CHECK_TEXT(b, "{\"cases\":[{\"case_id\":\"a\",\"customer_id\":\"u1\",\"segment\":\"gold\","
                "\"state\":\"open\",\"updated_at\":\"2026-11-23T07:20:00.000Z\",\"role\":"
                "\"agent\",\"next_deadline\":\"2026-11-23T08:00:00.000Z\",\"x\":2}],"
                "\"total\":1}");
  /* An older record of a is kept out; a tombstone forgets d. */
  CHECK_INT(put_case(v, "a", "u1", "closed", NULL, T("07:01"), "agent", 3), 0);
  CHECK_INT(cxp_view_case(v, "d", 1, NULL, 0), 0);
  q.state = CXP_VIEW_OPEN;
  q.limit = 10;
  q.role = "agent";
  cxp_buf_reset(&b);
  cxp_view_cases_json(v, &q, &b);
  CHECK_INT(strstr(b.p, "\"x\":2") != NULL, 1);
  CHECK_INT(strstr(b.p, "\"total\":1}") != NULL, 1);
  q.role = "lead";
  cxp_buf_reset(&b);
  cxp_view_cases_json(v, &q, &b);
  CHECK_TEXT(b, "{\"cases\":[],\"total\":0}");
  /* Not records: refused and counted. */
  CHECK_INT(cxp_view_case(v, "z", 1, "[1]", 3), -1);
  CHECK_INT(cxp_view_case(v, "z", 1, "{\"case_id\":\"z\"}", 15), -1);
  CHECK_INT(cxp_view_stats_get(v).refused, 2);
  cxp_buf_free(&b);
  cxp_view_destroy(v);
}

/* With no case closed, a full view lets go of the lowest priority first:
 * P3 before P1 though the P1 case is older. */
static void bound_priority(void) {
  cxp_view_conf c = conf_of(2, 4, 4);
  cxp_view *v = cxp_view_create(&c);
  const char *rec[3] = {
      "{\"case_id\":\"p1\",\"customer_id\":\"u\",\"state\":\"open\",\"priority\":1,"
      "\"updated_at\":\"2026-11-23T07:00:00.000Z\",\"next_deadline\":null}",
      "{\"case_id\":\"p3\",\"customer_id\":\"u\",\"state\":\"open\",\"priority\":3,"
      "\"updated_at\":\"2026-11-23T07:10:00.000Z\",\"next_deadline\":null}",
      "{\"case_id\":\"p2\",\"customer_id\":\"u\",\"state\":\"open\",\"priority\":2,"
      "\"updated_at\":\"2026-11-23T07:20:00.000Z\",\"next_deadline\":null}"};
  for (int i = 0; i < 3; i++) CHECK_INT(cxp_view_case(v, "", 0, rec[i], strlen(rec[i])), 0);
  cxp_buf b;
  cxp_buf_init(&b);
  cxp_view_case_query q = {CXP_VIEW_OPEN, NULL, NULL, NULL, 10, 0};
  cxp_view_cases_json(v, &q, &b);
  /* No deadlines: by case id. */
  CHECK(strstr(b.p, "\"case_id\":\"p1\"") != NULL);
  CHECK(strstr(b.p, "\"case_id\":\"p2\"") != NULL);
  CHECK(strstr(b.p, "\"case_id\":\"p3\"") == NULL);
  CHECK_INT(cxp_view_stats_get(v).cases_dropped, 1);
  cxp_buf_free(&b);
  cxp_view_destroy(v);
}

/* 5000 cases through a view of 100, every third closed again and every
 * seventh time the one before forgotten by a tombstone: every case is held,
 * let go or forgotten, once; and the answer lists what the view counts. */
static void many(void) {
  cxp_view_conf c = conf_of(100, 4, 4);
  cxp_view *v = cxp_view_create(&c);
  int forgotten = 0;
  for (int i = 0; i < 5000; i++) {
    char id[16], t[32];
    snprintf(id, sizeof id, "c%d", i);
    snprintf(t, sizeof t, "2026-11-23T%02d:%02d:%02d.000Z", 7 + i / 3600, i / 60 % 60, i % 60);
    CHECK_INT(put_case(v, id, "u", "open", t, t, "r", 1), 0);
    if (i % 3 == 0) CHECK_INT(put_case(v, id, "u", "closed", NULL, t, "r", 2), 0);
    if (i % 7 == 0 && i > 0) {
      snprintf(id, sizeof id, "c%d", i - 1); /* held: the newest before this one */
      uint32_t before = cxp_view_stats_get(v).cases;
      CHECK_INT(cxp_view_case(v, id, strlen(id), NULL, 0), 0);
      forgotten += (int)(before - cxp_view_stats_get(v).cases); /* 0 when let go already */
    }
  }
  cxp_view_stats s = cxp_view_stats_get(v);
  CHECK_LE(s.cases, 100);
  CHECK_INT(s.cases + s.cases_dropped + (uint64_t)forgotten, 5000);
  cxp_buf b;
  cxp_buf_init(&b);
  cxp_view_case_query q = {CXP_VIEW_ALL, NULL, NULL, NULL, 1000, 0};
  cxp_view_cases_json(v, &q, &b);
  char want[32];
  snprintf(want, sizeof want, "\"total\":%u}", s.cases);
  CHECK(strstr(b.p, want) != NULL);
  /* The newest case is held, and open ones only while none is closed. */
  CHECK(strstr(b.p, "\"case_id\":\"c4999\"") != NULL);
  cxp_buf_free(&b);
  cxp_view_destroy(v);
}

/* A customer's cases, and markup in an id served as JSON escapes. */
static void customer_and_escapes(void) {
  cxp_view_conf c = conf_of(10, 4, 4);
  cxp_view *v = cxp_view_create(&c);
  CHECK_INT(put_case(v, "k<1>", "<script>&", "open", T("08:00"), T("07:00"), "a", 1), 0);
  CHECK_INT(put_case(v, "k2", "other", "open", T("08:00"), T("07:00"), "a", 1), 0);
  cxp_buf b;
  cxp_buf_init(&b);
  cxp_jw j;
  cxp_jw_init(&j, &b);
  cxp_jw_obj(&j, NULL);
  cxp_view_customer_cases(v, "<script>&", &j, "records");
  cxp_jw_end(&j);
  CHECK_TEXT(b, "{\"records\":[{\"case_id\":\"k\\u003c1\\u003e\",\"customer_id\":"
                "\"\\u003cscript\\u003e\\u0026\",\"segment\":\"gold\",\"state\":\"open\","
                "\"updated_at\":\"2026-11-23T07:00:00.000Z\",\"role\":\"a\",\"next_deadline\":"
                "\"2026-11-23T08:00:00.000Z\",\"x\":1}]}");
  cxp_buf_free(&b);
  cxp_view_destroy(v);
}

static int put_window(cxp_view *v, const char *group, const char *start, const char *end,
                      const char *csat, int events, int revision) {
  char rec[512];
  int n = snprintf(rec, sizeof rec,
                   "{\"window_start\":\"%s\",\"window_end\":\"%s\",\"group\":%s,\"n\":{\"csat\":"
                   "2,\"events\":%d},\"csat\":%s,\"nps\":null,\"ces\":4.5,\"low_n\":[\"csat\"],"
                   "\"incomplete\":false,\"revision\":%d}",
                   start, end, group, events, csat, revision);
  return cxp_view_indicator(v, rec, (size_t)n);
}

/* Trend of 3: the oldest window goes, a revision replaces its window, a
 * score_drop alert flags the latest window; max_groups 2 drops a third
 * group's records. */
static void segments(void) {
  cxp_view_conf c = conf_of(10, 2, 4);
  cxp_view *v = cxp_view_create(&c);
  const char *g = "{\"segment\":\"gold\"}";
  CHECK_INT(put_window(v, g, T("07:00"), T("07:01"), "50", 2, 0), 0);
  CHECK_INT(put_window(v, g, T("07:02"), T("07:03"), "100", 3, 0), 0);
  CHECK_INT(put_window(v, g, T("07:01"), T("07:02"), "0", 1, 0), 0);
  CHECK_INT(put_window(v, g, T("07:03"), T("07:04"), "75", 4, 0), 0);
  CHECK_INT(put_window(v, g, T("07:02"), T("07:03"), "80", 5, 1), 0);
  CHECK_INT(put_window(v, g, T("07:02"), T("07:03"), "10", 9, 0), 0); /* older revision */
  CHECK_INT(put_window(v, "{\"segment\":\"basic\"}", T("07:00"), T("07:01"), "null", 1, 0), 0);
  CHECK_INT(put_window(v, "{}", T("07:00"), T("07:01"), "1", 1, 0), 0);
  const char *drop = "{\"type\":\"segment.anomaly\",\"priority\":\"P3\",\"anomaly\":{\"kind\":"
                     "\"score_drop\",\"group\":{\"segment\":\"gold\"},\"window_start\":"
                     "\"2026-11-23T07:03:00.000Z\",\"window_end\":\"2026-11-23T07:04:00.000Z\"}}";
  CHECK_INT(cxp_view_alert(v, drop, strlen(drop)), 0);
  /* A group's servqual.gap for the same window flags it too; one for
   * another window, or a customer's (no servqual member), does not. */
  const char *gap = "{\"type\":\"servqual.gap\",\"priority\":\"P3\",\"customer_id\":null,"
                    "\"servqual\":{\"group\":{\"segment\":\"gold\"},\"window_start\":"
                    "\"2026-11-23T07:03:00.000Z\",\"window_end\":\"2026-11-23T07:04:00.000Z\","
                    "\"dimensions\":[{\"dimension\":\"empathy\",\"gap\":-2,\"n\":30}]}}";
  const char *gap_old = "{\"type\":\"servqual.gap\",\"priority\":\"P3\",\"servqual\":{"
                        "\"group\":{\"segment\":\"basic\"},\"window_start\":"
                        "\"2026-11-23T06:59:00.000Z\",\"window_end\":\"2026-11-23T07:00:00.000Z\"}}";
  const char *gap_cust = "{\"type\":\"servqual.gap\",\"priority\":\"P3\",\"customer_id\":\"c1\"}";
  CHECK_INT(cxp_view_alert(v, gap, strlen(gap)), 0);
  CHECK_INT(cxp_view_alert(v, gap_old, strlen(gap_old)), 0);
  CHECK_INT(cxp_view_alert(v, gap_cust, strlen(gap_cust)), 0);
  cxp_view_stats s = cxp_view_stats_get(v);
  CHECK_INT(s.groups, 2);
  CHECK_INT(s.groups_dropped, 1);
  cxp_buf b;
  cxp_buf_init(&b);
  cxp_view_segments_json(v, &b);
  CHECK_TEXT(b, "{\"segments\":[{\"group\":{\"segment\":\"gold\"},\"window_s\":60,"
                "\"window_start\":\"2026-11-23T07:03:00.000Z\",\"window_end\":"
                "\"2026-11-23T07:04:00.000Z\",\"csat\":75,\"nps\":null,\"ces\":4.5,\"n\":"
                "{\"csat\":2,\"events\":4},\"low_n\":[\"csat\"],\"incomplete\":false,"
                "\"revision\":0,\"trend\":["
                "{\"window_start\":\"2026-11-23T07:01:00.000Z\",\"csat\":0,\"nps\":null,"
                "\"n\":{\"csat\":2,\"events\":1}},"
                "{\"window_start\":\"2026-11-23T07:02:00.000Z\",\"csat\":80,\"nps\":null,"
                "\"n\":{\"csat\":2,\"events\":5}},"
                "{\"window_start\":\"2026-11-23T07:03:00.000Z\",\"csat\":75,\"nps\":null,"
                "\"n\":{\"csat\":2,\"events\":4}}],\"flags\":[\"drop\",\"servqual_gap\"]},"
                "{\"group\":{\"segment\":\"basic\"},\"window_s\":60,\"window_start\":"
                "\"2026-11-23T07:00:00.000Z\",\"window_end\":\"2026-11-23T07:01:00.000Z\","
                "\"csat\":null,\"nps\":null,\"ces\":4.5,\"n\":{\"csat\":2,\"events\":1},"
                "\"low_n\":[\"csat\"],\"incomplete\":false,\"revision\":0,\"trend\":["
                "{\"window_start\":\"2026-11-23T07:00:00.000Z\",\"csat\":null,\"nps\":null,"
                "\"n\":{\"csat\":2,\"events\":1}}],\"flags\":[]}]}");
  /* Gauges: max_metric_groups 1, so gold only and one group dropped. */
  cxp_buf_reset(&b);
  cxp_metrics m;
  cxp_metrics_init(&m, &b);
  cxp_view_metrics(v, &m);
  CHECK(strstr(b.p, "cxpulse_segment_csat{group=\"segment=gold\",window=\"60s\"} 75\n") != NULL);
  CHECK(strstr(b.p, "cxpulse_segment_n{group=\"segment=gold\",window=\"60s\"} 4\n") != NULL);
  CHECK(strstr(b.p, "segment=basic") == NULL);
  CHECK(strstr(b.p, "cxpulse_segment_groups_dropped 1\n") != NULL);
  cxp_buf_free(&b);
  cxp_view_destroy(v);
}

/* The followers read their topics in no order with each other: a
 * score_drop alert read before any window of its group still flags the
 * window it names when that comes; the group shows only once it has one. */
static void flag_before_window(void) {
  cxp_view_conf c = conf_of(10, 2, 4);
  cxp_view *v = cxp_view_create(&c);
  const char *drop = "{\"type\":\"segment.anomaly\",\"priority\":\"P3\",\"anomaly\":{\"kind\":"
                     "\"score_drop\",\"group\":{\"segment\":\"gold\"},\"window_start\":"
                     "\"2026-11-23T07:03:00.000Z\",\"window_end\":\"2026-11-23T07:04:00.000Z\"}}";
  CHECK_INT(cxp_view_alert(v, drop, strlen(drop)), 0);
  cxp_buf b;
  cxp_buf_init(&b);
  cxp_view_segments_json(v, &b);
  CHECK_TEXT(b, "{\"segments\":[]}");
  CHECK_INT(put_window(v, "{\"segment\":\"gold\"}", T("07:03"), T("07:04"), "75", 4, 0), 0);
  cxp_buf_reset(&b);
  cxp_view_segments_json(v, &b);
  CHECK(strstr(b.p, "\"flags\":[\"drop\"]") != NULL);
  cxp_buf_free(&b);
  cxp_view_destroy(v);
}

/* A ring of 3 alerts, newest first, filtered by type and priority. */
static void alerts(void) {
  cxp_view_conf c = conf_of(10, 2, 3);
  cxp_view *v = cxp_view_create(&c);
  const char *a[4] = {"{\"type\":\"churn.risk\",\"priority\":\"P3\",\"i\":1}",
                      "{\"type\":\"recovery.required\",\"priority\":\"P1\",\"i\":2}",
                      "{\"type\":\"recovery.closed_loop\",\"priority\":\"P2\",\"i\":3}",
                      "{\"type\":\"recovery.required\",\"priority\":\"P4\",\"i\":4}"};
  for (int i = 0; i < 4; i++) CHECK_INT(cxp_view_alert(v, a[i], strlen(a[i])), 0);
  const char *bad = "{\"type\":\"x\",\"priority\":\"P9\"}";
  CHECK_INT(cxp_view_alert(v, bad, strlen(bad)), -1);
  cxp_buf b;
  cxp_buf_init(&b);
  cxp_view_alert_query q = {NULL, 0, 100};
  cxp_view_alerts_json(v, &q, &b);
  CHECK_TEXT(b, "{\"alerts\":[{\"type\":\"recovery.required\",\"priority\":\"P4\",\"i\":4},"
                "{\"type\":\"recovery.closed_loop\",\"priority\":\"P2\",\"i\":3},"
                "{\"type\":\"recovery.required\",\"priority\":\"P1\",\"i\":2}]}");
  q.type = "recovery.*";
  q.priority = 2;
  cxp_buf_reset(&b);
  cxp_view_alerts_json(v, &q, &b);
  CHECK_TEXT(b, "{\"alerts\":[{\"type\":\"recovery.closed_loop\",\"priority\":\"P2\",\"i\":3},"
                "{\"type\":\"recovery.required\",\"priority\":\"P1\",\"i\":2}]}");
  q.type = "recovery.required";
  q.priority = 0;
  q.limit = 1;
  cxp_buf_reset(&b);
  cxp_view_alerts_json(v, &q, &b);
  CHECK_TEXT(b, "{\"alerts\":[{\"type\":\"recovery.required\",\"priority\":\"P4\",\"i\":4}]}");
  cxp_buf_free(&b);
  cxp_view_destroy(v);
}

static void exposition(void) {
  cxp_view_conf c = {10, 4, 3, 4, 2};
  cxp_view *v = cxp_view_create(&c);
  put_window(v, "{\"segment\":\"gold\",\"channel\":\"we\\\"b\"}", T("07:00"), T("07:01"), "50",
             2, 0);
  put_window(v, "{}", T("07:00"), T("08:00"), "50", 2, 0);
  put_window(v, "{\"segment\":\"x\"}", T("07:00"), T("08:00"), "50", 2, 0);
  cxp_buf b;
  cxp_buf_init(&b);
  cxp_metrics m;
  cxp_metrics_init(&m, &b);
  cxp_view_metrics(v, &m);
  fwrite(b.p, 1, b.len, stdout);
  cxp_buf_free(&b);
  cxp_view_destroy(v);
}

/* The first `limit` cases of a large view are the head of the whole order:
 * 600 cases, open and closed, deadlines with many ties (broken by case
 * id) and some with none; every limit from 1 to 40 and a few roles give
 * the first `limit` records of the full answer and the same total. */
static void top_of_many(void) {
  cxp_view_conf c = conf_of(1000, 4, 4);
  cxp_view *v = cxp_view_create(&c);
  uint64_t rng = 12345;
  for (int i = 0; i < 600; i++) {
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    char id[16], cust[16], due[32];
    snprintf(id, sizeof id, "k%03d", (int)((rng >> 33) % 1000));
    snprintf(cust, sizeof cust, "u%d", i);
    snprintf(due, sizeof due, "2026-11-23T%02d:%02d:00.000Z", (int)((rng >> 20) % 4) + 7,
             (int)((rng >> 40) % 3) * 15);
    const char *state = (rng >> 50) % 5 == 0 ? "closed" : "open";
    CHECK_INT(put_case(v, id, cust, state, (rng >> 45) % 7 == 0 ? NULL : due, T("07:00"),
                       (rng >> 55) % 2 ? "agent" : "lead", i),
              0);
  }
  cxp_buf all, some;
  cxp_buf_init(&all);
  cxp_buf_init(&some);
  static const char *const roles[] = {NULL, "agent", "lead"};
  for (int r = 0; r < 3; r++)
    for (cxp_view_state st = CXP_VIEW_OPEN; st <= CXP_VIEW_ALL; st++) {
      cxp_view_case_query q = {st, roles[r], NULL, NULL, 1000, T_MS(8, 20)};
      cxp_buf_reset(&all);
      cxp_view_cases_json(v, &q, &all);
      cJSON *whole = cJSON_Parse(all.p);
      const cJSON *wc = cJSON_GetObjectItemCaseSensitive(whole, "cases");
      int total = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(whole, "total"));
      CHECK_INT(cJSON_GetArraySize(wc), total);
      CHECK_GT(total, 40);
      for (uint32_t limit = 1; limit <= 40; limit++) {
        q.limit = limit;
        cxp_buf_reset(&some);
        cxp_view_cases_json(v, &q, &some);
        cJSON *part = cJSON_Parse(some.p);
        const cJSON *pc = cJSON_GetObjectItemCaseSensitive(part, "cases");
        CHECK_INT(cJSON_GetArraySize(pc), (int)limit);
        CHECK_INT((int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(part, "total")),
                  total);
        for (uint32_t k = 0; k < limit; k++) {
          const char *a = cJSON_GetStringValue(
              cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(pc, (int)k), "case_id"));
          const char *b = cJSON_GetStringValue(
              cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(wc, (int)k), "case_id"));
          if (!a || !b || strcmp(a, b) != 0) {
            CHECK_STR(a ? a : "(none)", b ? b : "(none)");
            break;
          }
        }
        cJSON_Delete(part);
      }
      cJSON_Delete(whole);
    }
  cxp_buf_free(&all);
  cxp_buf_free(&some);
  cxp_view_destroy(v);
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--exposition") == 0) {
    exposition();
    return 0;
  }
  bound();
  bound_priority();
  many();
  top_of_many();
  customer_and_escapes();
  segments();
  flag_before_window();
  alerts();
  return TEST_REPORT();
}
