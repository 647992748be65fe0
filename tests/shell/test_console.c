/* The operations console against librdkafka's mock cluster, in one
 * process: the daemon writes its recovery cases to topics.cases, follows
 * that topic, the indicators and the alerts into its view, and answers
 * /v1/cases, /v1/segments, /v1/alerts and /v1/customers/{id} from it.
 *
 * One input partition, four events, in order (the defaults: severity 2
 * acknowledge within 1 h and resolve within 24 h; a detractor's closed
 * loop, P2 for a score of 2, acknowledge within alerts.closed_loop.deadline_h,
 * set to 1 h here (48 by default); escalation level 1 at the deadline, to
 * team_lead):
 *   07:00 kc: service.failure, case k1, operational, severity 2, segment
 *         basic -> k1 opened: acknowledge by 08:00 (recovery.required P2)
 *   07:05 c<script>: NPS 2 -> case cl-6695a6dd0276c07e opened: acknowledge
 *         by 08:05 (recovery.closed_loop P2)
 *   07:30 kc: recovery.acknowledged k1 -> k1 step: resolve by 11-24 07:00
 *   08:30 kc: usage -> the clock passes 08:05: the closed loop's case
 *         escalates to level 1 at 08:05 (recovery.sla_breached P2)
 * So four case records and three alerts; and two indicator records of the
 * group {"segment":"gold"} written to the indicators topic by hand (as
 * another instance would), CSAT 80 then 60. The wall clock is past
 * 2026-11-24, so both open cases are overdue now. */
#include "kafka_harness.h"

#include <netinet/in.h>

#include "admin.h"

#define CL "cl-6695a6dd0276c07e"
#define TOKEN "t0k"
#define N_ANSWERS 24

typedef struct probe_run {
  run r;
  int port;
  char answers[N_ANSWERS][65536];
  int n;
} probe_run;

/* A free port to put the admin endpoint on. */
static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = -1;
  if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &len) == 0)
    port = ntohs(a.sin_port);
  if (fd >= 0) close(fd);
  return port;
}

static const char *const paths[N_ANSWERS] = {
    "/v1/cases",                                  /* 0 */
    "/v1/cases?role=team_lead",                   /* 1 */
    "/v1/cases?state=overdue",                    /* 2 */
    "/v1/cases?segment=basic&limit=5",            /* 3 */
    "/v1/cases?limit=1",                          /* 4 */
    "/v1/cases?state=%6fpen&role=team%5Flead",    /* 5 */
    "/v1/alerts",                                 /* 6 */
    "/v1/alerts?type=recovery.*&priority=P2&limit=2", /* 7 */
    "/v1/segments",                               /* 8 */
    "/v1/customers/c%3Cscript%3E",                /* 9 */
    "/v1/customers/kc",                           /* 10 */
    "/v1/cases?state=closed",                     /* 11 */
    "/v1/cases?limit=5000",                       /* 12 */
    "/v1/cases?limit=0",                          /* 13 */
    "/v1/cases?bogus=1",                          /* 14 */
    "/v1/cases?state=%zz",                        /* 15 */
    "/v1/alerts?priority=P7",                     /* 16 */
    "/v1/segments?x=1",                           /* 17 */
    "/v1/cases?limit=12abc",                      /* 18 */
    "/v1/cases?state=open&state=all",             /* 19 */
    "/metrics",                                   /* 20 */
    "/v1/cases?state=all",                        /* 21 */
};

/* Asks once the view holds what the run wrote (four case records, three
 * alerts, the two windows), then every path; the token on all but the
 * last request, which must be refused. */
static void *prober(void *arg) {
  probe_run *p = arg;
  char buf[16384];
  for (int i = 0; i < 400; i++) {
    http_get(p->port, "/metrics", NULL, buf, sizeof buf);
    if (strstr(buf, "cxpulse_console_records_total{topic=\"cases\"} 4\n") &&
        strstr(buf, "cxpulse_console_records_total{topic=\"alerts\"} 3\n") &&
        strstr(buf, "cxpulse_console_records_total{topic=\"indicators\"} 2\n"))
      break;
    usleep(50000);
  }
  for (int i = 0; i < N_ANSWERS && paths[i]; i++, p->n++)
    http_get(p->port, paths[i], strcmp(paths[i], "/metrics") ? TOKEN : NULL, p->answers[i],
             sizeof p->answers[i]);
  http_get(p->port, "/v1/cases", NULL, p->answers[N_ANSWERS - 1], sizeof p->answers[0]);
  __atomic_store_n(&p->r.broker_down, 0, __ATOMIC_SEQ_CST); /* the run may end now */
  return NULL;
}

/* The body of a response: after the blank line. */
static const char *body(const char *resp) {
  const char *b = strstr(resp, "\r\n\r\n");
  return b ? b + 4 : "";
}

static int status(const char *resp) {
  return strncmp(resp, "HTTP/1.1 ", 9) == 0 ? atoi(resp + 9) : -1;
}

/* The n-th case of an answer's "cases" (NULL when none). */
static const cJSON *nth_case(const cJSON *o, int n) {
  return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "cases"), n);
}

static void check_cases_answer(const char *resp, int total, const char *first,
                               const char *second) {
  CHECK_INT(status(resp), 200);
  CHECK(strstr(resp, "Content-Type: application/json") != NULL);
  cJSON *o = cJSON_Parse(body(resp));
  CHECK(o != NULL);
  CHECK_INT(get_n(o, "total"), total);
  CHECK_STR(get_s(nth_case(o, 0), "case_id"), first);
  if (second) CHECK_STR(get_s(nth_case(o, 1), "case_id"), second);
  CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "cases")), second ? 2 : 1);
  cJSON_Delete(o);
}

static void check_400(const char *resp, const char *says) {
  CHECK_INT(status(resp), 400);
  const char *b = body(resp);
  CHECK(strncmp(b, "{\"error\":\"", 10) == 0);
  if (strstr(b, says) == NULL) {
    fprintf(stderr, "expected '%s' in: %s\n", says, b);
    CHECK(!"400 says why");
  }
}

/* The case records as written, with hand-computed fields. */
static void check_records(const cJSON *cases) {
  CHECK_INT(cJSON_GetArraySize(cases), 4);
  static const char *const id[4] = {"k1", CL, "k1", CL};
  static const char *const change[4] = {"opened", "opened", "step", "escalated"};
  static const char *const updated[4] = {"2026-11-23T07:00:00.000Z", "2026-11-23T07:05:00.000Z",
                                         "2026-11-23T07:30:00.000Z", "2026-11-23T08:05:00.000Z"};
  static const char *const step[4] = {"acknowledge", "acknowledge", "resolve", "acknowledge"};
  static const char *const due[4] = {"2026-11-23T08:00:00.000Z", "2026-11-23T08:05:00.000Z",
                                     "2026-11-24T07:00:00.000Z", "2026-11-23T08:05:00.000Z"};
  static const char *const role[4] = {"frontline_agent", "frontline_agent", "frontline_agent",
                                      "team_lead"};
  static const int level[4] = {0, 0, 0, 1};
  for (int i = 0; i < 4; i++) {
    const cJSON *c = cJSON_GetArrayItem(cases, i);
    CHECK_STR(get_s(c, "case_id"), id[i]);
    CHECK_STR(get_s(c, "state"), "open");
    CHECK_STR(get_s(c, "change"), change[i]);
    CHECK_STR(get_s(c, "updated_at"), updated[i]);
    CHECK_STR(get_s(c, "step"), step[i]);
    CHECK_STR(get_s(c, "next_deadline"), due[i]);
    CHECK_STR(get_s(c, "role"), role[i]);
    CHECK_INT(get_n(c, "escalation_level"), level[i]);
    CHECK_INT(get_n(c, "overdue_s"), 0);
    CHECK_INT(get_n(c, "severity"), 2);
    CHECK_INT(get_n(c, "priority"), 2);
  }
  const cJSON *k1 = cJSON_GetArrayItem(cases, 2), *cl = cJSON_GetArrayItem(cases, 3);
  CHECK_STR(get_s(k1, "customer_id"), "kc");
  CHECK_STR(get_s(k1, "segment"), "basic");
  CHECK_STR(get_s(k1, "kind"), "failure");
  CHECK_STR(get_s(k1, "category"), "operational");
  CHECK_STR(get_s(k1, "touchpoint"), "app");
  CHECK_STR(get_s(k1, "opened_at"), "2026-11-23T07:00:00.000Z");
  CHECK_STR(get_s(cJSON_GetObjectItemCaseSensitive(k1, "steps"), "acknowledged"),
            "2026-11-23T07:30:00.000Z");
  char *acts = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(k1, "actions"));
  /* The library's default entry (cxp_pipeline_defaults has no other). */
  CHECK_STR(acts, "[\"acknowledge\",\"apologize\",\"fix_and_resolve\",\"follow_up\"]");
  free(acts);
  CHECK_STR(get_s(cl, "customer_id"), "c<script>");
  CHECK_STR(get_s(cl, "kind"), "detractor");
  CHECK(cJSON_GetObjectItemCaseSensitive(cl, "category") == NULL);
  CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(cl, "segment")));
  acts = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(cl, "actions"));
  CHECK_STR(acts, "[\"contact_customer\",\"ask_what_went_wrong\",\"log_root_cause\"]");
  free(acts);
}

static void check_answers(const probe_run *p) {
  CHECK_INT(p->n, 22);
  check_cases_answer(p->answers[0], 2, CL, "k1");
  CHECK(strstr(p->answers[0], "X-Content-Type-Options: nosniff") != NULL);
  check_cases_answer(p->answers[1], 1, CL, NULL);
  check_cases_answer(p->answers[2], 2, CL, "k1");
  check_cases_answer(p->answers[3], 1, "k1", NULL);
  check_cases_answer(p->answers[4], 2, CL, NULL);
  check_cases_answer(p->answers[5], 1, CL, NULL);
  check_cases_answer(p->answers[21], 2, CL, "k1");
  /* The customer id's markup comes back as JSON escapes, never as is. */
  CHECK(strstr(body(p->answers[0]), "\"customer_id\":\"c\\u003cscript\\u003e\"") != NULL);
  CHECK(strchr(body(p->answers[0]), '<') == NULL);

  /* Alerts, newest first; then only recovery.*, P2 or more urgent, 2. */
  cJSON *o = cJSON_Parse(body(p->answers[6]));
  const cJSON *al = cJSON_GetObjectItemCaseSensitive(o, "alerts");
  CHECK_INT(cJSON_GetArraySize(al), 3);
  CHECK_STR(get_s(cJSON_GetArrayItem(al, 0), "type"), "recovery.sla_breached");
  CHECK_STR(get_s(cJSON_GetArrayItem(al, 1), "type"), "recovery.closed_loop");
  CHECK_STR(get_s(cJSON_GetArrayItem(al, 2), "type"), "recovery.required");
  CHECK_STR(get_s(cJSON_GetArrayItem(al, 2), "case_id"), "k1");
  cJSON_Delete(o);
  o = cJSON_Parse(body(p->answers[7]));
  al = cJSON_GetObjectItemCaseSensitive(o, "alerts");
  CHECK_INT(cJSON_GetArraySize(al), 2);
  CHECK_STR(get_s(cJSON_GetArrayItem(al, 0), "type"), "recovery.sla_breached");
  CHECK_STR(get_s(cJSON_GetArrayItem(al, 1), "type"), "recovery.closed_loop");
  cJSON_Delete(o);

  /* The gold group's latest window (CSAT 60) and its trend of two. */
  CHECK_INT(status(p->answers[8]), 200);
  CHECK_STR(body(p->answers[8]),
            "{\"segments\":[{\"group\":{\"segment\":\"gold\"},\"window_s\":60,\"window_start\":"
            "\"2026-11-23T07:01:00.000Z\",\"window_end\":\"2026-11-23T07:02:00.000Z\",\"csat\":"
            "60,\"nps\":-20,\"ces\":null,\"n\":{\"csat\":5,\"nps\":5,\"ces\":0,\"servqual\":0,"
            "\"events\":12},\"low_n\":[\"csat\",\"nps\"],\"incomplete\":false,\"revision\":0,"
            "\"trend\":[{\"window_start\":\"2026-11-23T07:00:00.000Z\",\"csat\":80,\"nps\":20,"
            "\"n\":{\"csat\":5,\"nps\":5,\"ces\":0,\"servqual\":0,\"events\":10}},"
            "{\"window_start\":\"2026-11-23T07:01:00.000Z\",\"csat\":60,\"nps\":-20,\"n\":"
            "{\"csat\":5,\"nps\":5,\"ces\":0,\"servqual\":0,\"events\":12}}],\"flags\":[]}]}");

  /* His record: held here, the markup escaped, his case among the records. */
  CHECK_INT(status(p->answers[9]), 200);
  CHECK(strstr(body(p->answers[9]), "\"customer_id\":\"c\\u003cscript\\u003e\"") != NULL);
  CHECK(strstr(body(p->answers[9]), "\"records\":[{\"case_id\":\"" CL "\"") != NULL);
  CHECK(strchr(body(p->answers[9]), '<') == NULL);
  CHECK_INT(status(p->answers[10]), 200);
  CHECK(strstr(body(p->answers[10]), "\"records\":[{\"case_id\":\"k1\"") != NULL);

  check_400(p->answers[11], "state must be open, overdue or all");
  check_400(p->answers[12], "limit must be a whole number from 1 to 1000");
  check_400(p->answers[13], "limit must be a whole number from 1 to 1000");
  check_400(p->answers[14], "unknown query parameter 'bogus' (this route takes state, role, "
                            "segment, limit)");
  check_400(p->answers[15], "not well percent-encoded");
  check_400(p->answers[16], "priority must be P1, P2, P3 or P4");
  check_400(p->answers[17], "/v1/segments takes no query parameters");
  check_400(p->answers[18], "limit must be a whole number");
  check_400(p->answers[19], "query parameter 'state' given twice");

  const char *m = p->answers[20];
  CHECK(strstr(m, "cxpulse_segment_csat{group=\"segment=gold\",window=\"60s\"} 60\n") != NULL);
  CHECK(strstr(m, "cxpulse_segment_n{group=\"segment=gold\",window=\"60s\"} 12\n") != NULL);
  CHECK(strstr(m, "cxpulse_segment_groups_dropped 0\n") != NULL);
  CHECK(strstr(m, "cxpulse_console_cases{state=\"open\"} 2\n") != NULL);
  CHECK(strstr(m, "cxpulse_outputs_delivered_total{stream=\"cases\"} ") != NULL);
  CHECK_INT(status(p->answers[N_ANSWERS - 1]), 401);
}

static const char *const events[] = {
    "{\"event_id\":\"f1\",\"type\":\"service.failure\",\"customer_id\":\"kc\",\"ts\":"
    "\"2026-11-23T07:00:00Z\",\"case_id\":\"k1\",\"category\":\"operational\",\"severity\":2,"
    "\"detected_by\":\"customer\",\"segment\":\"basic\",\"touchpoint\":\"app\"}",
    "{\"event_id\":\"n1\",\"type\":\"survey.nps\",\"customer_id\":\"c<script>\",\"ts\":"
    "\"2026-11-23T07:05:00Z\",\"score\":2}",
    "{\"event_id\":\"a1\",\"type\":\"recovery.acknowledged\",\"customer_id\":\"kc\",\"ts\":"
    "\"2026-11-23T07:30:00Z\",\"case_id\":\"k1\"}",
    "{\"event_id\":\"u1\",\"type\":\"usage\",\"customer_id\":\"kc\",\"ts\":"
    "\"2026-11-23T08:30:00Z\"}"};
static const char *const keys[] = {"kc", "c<script>", "kc", "kc"};

/* Two closed windows of the gold group as the indicators topic carries
 * them (the members the view reads; a real record has more). */
static const char *const windows[] = {
    "{\"window_start\":\"2026-11-23T07:00:00.000Z\",\"window_end\":\"2026-11-23T07:01:00.000Z\","
    "\"group\":{\"segment\":\"gold\"},\"n\":{\"csat\":5,\"nps\":5,\"ces\":0,\"servqual\":0,"
    "\"events\":10},\"csat\":80,\"nps\":20,\"ces\":null,\"low_n\":[\"csat\",\"nps\"],"
    "\"incomplete\":false,\"revision\":0}",
    "{\"window_start\":\"2026-11-23T07:01:00.000Z\",\"window_end\":\"2026-11-23T07:02:00.000Z\","
    "\"group\":{\"segment\":\"gold\"},\"n\":{\"csat\":5,\"nps\":5,\"ces\":0,\"servqual\":0,"
    "\"events\":12},\"csat\":60,\"nps\":-20,\"ces\":null,\"low_n\":[\"csat\",\"nps\"],"
    "\"incomplete\":false,\"revision\":0}"};

int main(void) {
  char err[256];
  cxp_mock m;
  cxp_log_level = getenv("CXP_TEST_DEBUG") ? CXP_LOG_DEBUG : CXP_LOG_WARN;
  if (cxp_mock_start(&m, 1, err, sizeof err)) {
    fprintf(stderr, "mock: %s\n", err);
    return 1;
  }
  const char *bs = m.bootstraps;
  make_topics(&m, "v", 1, 1);
  cxp_mock_topic(&m, "v.cases", 2);
  cxp_config c;
  cxp_pipeline p;
  base_config(&c, &p, bs, "v");
  p.win_enabled = p.churn_enabled = 0;
  p.closed_loop_deadline_h = 1;
  cxp_pipeline_cases(&p, NULL, 0);
  snprintf(p.topic_cases, sizeof p.topic_cases, "v.cases");
  snprintf(c.http_token, sizeof c.http_token, TOKEN);
  static probe_run pr;
  pr.port = free_port();
  CHECK_GT(pr.port, 0);
  c.http_port = pr.port;
  for (int i = 0; i < 2; i++) produce(bs, "v.ind", "g", windows[i], strlen(windows[i]));
  for (int i = 0; i < 4; i++) produce(bs, "v.events", keys[i], events[i], strlen(events[i]));
  produce(bs, NULL, NULL, NULL, 0);

  run *r = &pr.r;
  r->want_consumed = 4;
  r->want_alerts = 3;
  r->broker_down = 1; /* not complete until the prober has its answers */
  pthread_t t;
  pthread_create(&t, NULL, prober, &pr);
  if (run_daemon(r, &c, &p) == 0) {
    pthread_join(t, NULL);
    check_records(r->cases);
    check_answers(&pr);
    run_free(r);
  }
  cxp_mock_stop(&m);
  return TEST_REPORT();
}
