/* The command-line readers' parts that need no terminal and no broker
 * (cli.c, scrape.c): a /metrics exposition read back as `cxpulse top` shows
 * it, and the filters of `cxpulse tail`. Every expected figure is worked out
 * by hand in the comments. */
#include <math.h>
#include <string.h>

#include "alert.h"
#include "cli.h"
#include "metrics.h"
#include "scrape.h"
#include "test.h"

/* 100 events: 10 up to 1 ms, 30 more up to 5 ms, 50 more up to 10 ms, 10
 * above; 0.75 s in all. */
static const char *const hist100 =
    "# HELP cxpulse_processing_seconds Time.\n"
    "# TYPE cxpulse_processing_seconds histogram\n"
    "cxpulse_processing_seconds_bucket{le=\"0.001\"} 10\n"
    "cxpulse_processing_seconds_bucket{le=\"0.005\"} 40\n"
    "cxpulse_processing_seconds_bucket{le=\"0.01\"} 90\n"
    "cxpulse_processing_seconds_bucket{le=\"+Inf\"} 100\n"
    "cxpulse_processing_seconds_sum 0.75\n"
    "cxpulse_processing_seconds_count 100\n";

static void test_sum(void) {
  const char *t = "# HELP cxpulse_alerts_total Alerts.\n"
                  "# TYPE cxpulse_alerts_total counter\n"
                  "cxpulse_alerts_total{type=\"a\",priority=\"P1\"} 3\n"
                  "cxpulse_alerts_total{type=\"b\",priority=\"P2\"} 4.5\n"
                  "cxpulse_alerts_totalx 100\n"
                  "xcxpulse_alerts_total 100\n"
                  "cxpulse_alerts_total{type=\"c\"} not-a-number\n"
                  "cxpulse_alerts_total{type=\"unclosed 7\n"
                  "cxpulse_events_consumed_total 12";
  CHECK_NEAR(cxp_scrape_sum(t, "cxpulse_alerts_total"), 7.5, 0);
  /* The last line has no newline after it. */
  CHECK_NEAR(cxp_scrape_sum(t, "cxpulse_events_consumed_total"), 12, 0);
  CHECK_NEAR(cxp_scrape_sum(t, "cxpulse_missing"), 0, 0);
  CHECK_NEAR(cxp_scrape_sum("", "cxpulse_alerts_total"), 0, 0);
}

static void test_histogram(void) {
  cxp_scrape_hist h;
  CHECK_INT(cxp_scrape_histogram(hist100, "cxpulse_processing_seconds", &h), 0);
  CHECK_INT(h.n, 4);
  CHECK_NEAR(h.le[2], 0.01, 0);
  CHECK_NEAR(h.cum[3], 100, 0);
  /* p50: rank 50 is in (0.005, 0.01], holding 40 < rank <= 90: 0.005 +
   * 0.005 * (50 - 40) / 50 = 0.006. */
  CHECK_NEAR(cxp_scrape_quantile(&h, 0.5), 0.006, 1e-15);
  /* p25: rank 25 in (0.001, 0.005]: 0.001 + 0.004 * 15 / 30 = 0.003. */
  CHECK_NEAR(cxp_scrape_quantile(&h, 0.25), 0.003, 1e-15);
  /* p5: rank 5 in the first bucket, from 0: 0.001 * 5 / 10. */
  CHECK_NEAR(cxp_scrape_quantile(&h, 0.05), 0.0005, 1e-15);
  /* p90: rank 90 is the top of (0.005, 0.01]. */
  CHECK_NEAR(cxp_scrape_quantile(&h, 0.9), 0.01, 1e-15);
  /* p99: rank 99 is above 90, in the +Inf bucket. */
  CHECK(isinf(cxp_scrape_quantile(&h, 0.99)));
  CHECK(isnan(cxp_scrape_quantile(&h, 0)));
  CHECK(isnan(cxp_scrape_quantile(&h, 1)));
  CHECK(isnan(cxp_scrape_quantile(&h, NAN)));

  /* Two label sets added bucket by bucket, written out of order: 2 + 3
   * up to 0.1, 4 + 5 up to 1, 4 + 6 in all. p50: rank 5 is the top of
   * (0, 0.1], which holds 5: 0.1. */
  const char *two = "h_bucket{s=\"a\",le=\"1\"} 4\n"
                    "h_bucket{s=\"b\",le=\"0.1\"} 3\n"
                    "h_bucket{s=\"a\",le=\"0.1\"} 2\n"
                    "h_bucket{le=\"+Inf\",s=\"a\"} 4\n"
                    "h_bucket{s=\"b\",le=\"1\"} 5\n"
                    "h_bucket{s=\"b\",le=\"+Inf\"} 6\n";
  CHECK_INT(cxp_scrape_histogram(two, "h", &h), 0);
  CHECK_INT(h.n, 3);
  CHECK_NEAR(h.cum[0], 5, 0);
  CHECK_NEAR(h.cum[1], 9, 0);
  CHECK_NEAR(h.cum[2], 10, 0);
  CHECK_NEAR(cxp_scrape_quantile(&h, 0.5), 0.1, 1e-15);
  /* p70: rank 7 in (0.1, 1]: 0.1 + 0.9 * (7 - 5) / 4 = 0.55. */
  CHECK_NEAR(cxp_scrape_quantile(&h, 0.7), 0.55, 1e-15);

  /* Empty: buckets, but nothing observed. */
  CHECK_INT(cxp_scrape_histogram("h_bucket{le=\"1\"} 0\nh_bucket{le=\"+Inf\"} 0\n", "h", &h), 0);
  CHECK(isnan(cxp_scrape_quantile(&h, 0.5)));

  /* Bad input. */
  CHECK_INT(cxp_scrape_histogram("", "h", &h), -1);
  CHECK_INT(cxp_scrape_histogram("h_bucket{le=\"1\"} 3\n", "h", &h), -1); /* no +Inf */
  CHECK_INT(cxp_scrape_histogram("h_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 2\n", "h", &h),
            -1); /* the count goes down */
  /* A bucket without le, an le that is no number, a value that is none:
   * skipped, the rest read. */
  CHECK_INT(cxp_scrape_histogram("h_bucket{x=\"1\"} 3\nh_bucket{le=\"one\"} 3\n"
                                 "h_bucket{le=\"2\"} x\nh_bucket{le=\"+Inf\"} 2\n",
                                 "h", &h),
            0);
  CHECK_INT(h.n, 1);
}

/* The daemon's own writer (metrics.c) read back: 0.0007 s twice, 0.003 s
 * once and 20 s once. Cumulative: 2 up to 1 ms, 3 up to 5 ms (the bound
 * 0.0025 holds nothing, 0.005 the 0.003), 4 in all. p50: rank 2 is the top
 * of (0.0005, 0.001]: 1 ms. */
static void test_roundtrip(void) {
  cxp_histogram src;
  cxp_histogram_init_latency(&src);
  cxp_histogram_observe(&src, 0.0007);
  cxp_histogram_observe(&src, 0.0007);
  cxp_histogram_observe(&src, 0.003);
  cxp_histogram_observe(&src, 20);
  cxp_buf b;
  cxp_buf_init(&b);
  cxp_metrics m;
  cxp_metrics_init(&m, &b);
  cxp_metrics_family(&m, "cxpulse_processing_seconds", CXP_METRIC_HISTOGRAM, "t");
  cxp_metrics_histogram(&m, NULL, &src);
  cxp_buf_putc(&b, '\0');
  cxp_scrape_hist h;
  CHECK_INT(cxp_scrape_histogram(b.p, "cxpulse_processing_seconds", &h), 0);
  CHECK_INT(h.n, 15);
  CHECK_NEAR(cxp_scrape_quantile(&h, 0.5), 0.001, 1e-15);
  /* p60: rank 2.4 in (0.0025, 0.005], which holds 2 < rank <= 3: 0.0025 +
   * 0.0025 * 0.4 = 0.0035. */
  CHECK_NEAR(cxp_scrape_quantile(&h, 0.6), 0.0035, 1e-15);
  CHECK(isinf(cxp_scrape_quantile(&h, 0.99)));
  /* 0.0007 * 2 + 0.003 + 20 = 20.0044 s over 4: 5.0011 s. */
  char line[256];
  cxp_top_latency(line, sizeof line, b.p);
  CHECK_STR(line, "p50 1.00 ms   p99 > 10.00 s   mean 5.00 s over 4 events");
  cxp_buf_free(&b);
}

static void test_top_latency(void) {
  char line[256];
  size_t n = cxp_top_latency(line, sizeof line, hist100);
  /* p50 0.006 s; p99 above the highest bound, 10 ms; mean 0.75 / 100. */
  CHECK_STR(line, "p50 6.00 ms   p99 > 10.0 ms   mean 7.50 ms over 100 events");
  CHECK_INT(n, strlen(line));
  /* 50 up to 1 ms, 48 more up to 5 ms, 2 up to 10 ms. p50: the top of the
   * first bucket, 1 ms. p99: rank 99 in (0.005, 0.01], holding 98 < rank
   * <= 100: 0.005 + 0.005 * 1 / 2 = 7.5 ms. Mean 0.2 / 100 = 2 ms. */
  const char *t = "cxpulse_processing_seconds_bucket{le=\"0.001\"} 50\n"
                  "cxpulse_processing_seconds_bucket{le=\"0.005\"} 98\n"
                  "cxpulse_processing_seconds_bucket{le=\"0.01\"} 100\n"
                  "cxpulse_processing_seconds_bucket{le=\"+Inf\"} 100\n"
                  "cxpulse_processing_seconds_sum 0.2\n";
  cxp_top_latency(line, sizeof line, t);
  CHECK_STR(line, "p50 1.00 ms   p99 7.50 ms   mean 2.00 ms over 100 events");
  cxp_top_latency(line, sizeof line, "cxpulse_processing_seconds_bucket{le=\"+Inf\"} 0\n");
  CHECK_STR(line, "- (no event measured yet)");
  cxp_top_latency(line, sizeof line, "garbage\n");
  CHECK_STR(line, "- (no event measured yet)");
  /* A line cut to its buffer, NUL-terminated. */
  n = cxp_top_latency(line, 8, hist100);
  CHECK_STR(line, "p50 6.0");
  CHECK_INT(n, 7);
}

static void test_top_lag(void) {
  const char *t = "# TYPE cxpulse_consumer_lag_messages gauge\n"
                  "cxpulse_consumer_lag_messages{partition=\"0\"} 300\n"
                  "cxpulse_consumer_lag_messages{partition=\"1\"} 0\n"
                  "cxpulse_consumer_lag_messages{partition=\"2\"} 50\n"
                  "cxpulse_consumer_lag_messages{partition=\"3\"} 800\n"
                  "cxpulse_consumer_lag_messages{partition=\"7\"} 300\n"
                  "cxpulse_consumer_lag_messages{partition=\"x\"} 5000\n"
                  "cxpulse_consumer_committed_lag_messages{partition=\"4\"} 9999\n";
  cxp_scrape_lag w[3];
  double total;
  /* Five partitions (x is none), 300 + 0 + 50 + 800 + 300 = 1450; the
   * worst three are 3, then 0 and 7 tied (the lower first). */
  CHECK_INT(cxp_scrape_lags(t, "cxpulse_consumer_lag_messages", w, 3, &total), 5);
  CHECK_NEAR(total, 1450, 0);
  CHECK_INT(w[0].partition, 3);
  CHECK_INT(w[1].partition, 0);
  CHECK_INT(w[2].partition, 7);
  CHECK_NEAR(w[2].lag, 300, 0);
  char line[256];
  cxp_top_lag(line, sizeof line, t, 3);
  CHECK_STR(line, "1450 messages over 5 partitions; worst p3 800, p0 300, p7 300");
  cxp_top_lag(line, sizeof line, t, 1);
  CHECK_STR(line, "1450 messages over 5 partitions; worst p3 800");
  /* Only the partitions behind are named. */
  cxp_top_lag(line, sizeof line,
              "cxpulse_consumer_lag_messages{partition=\"5\"} 0\n"
              "cxpulse_consumer_lag_messages{partition=\"2\"} 4\n",
              3);
  CHECK_STR(line, "4 messages over 2 partitions; worst p2 4");
  cxp_top_lag(line, sizeof line, "cxpulse_consumer_lag_messages{partition=\"0\"} 0\n", 3);
  CHECK_STR(line, "0 messages over 1 partition");
  cxp_top_lag(line, sizeof line, "", 3);
  CHECK_STR(line, "- (no partition's lag known yet)");
}

/* One row of the filter's table: the filters, a record, and whether it passes. */
typedef struct filter_case {
  const char *name;
  cxp_tail_filter f;
  const char *record;
  int want;
} filter_case;

#define BREACH "{\"type\":\"recovery.sla_breached\",\"priority\":\"P2\",\"customer_id\":\"c1\"}"
#define CHURN "{\"type\":\"churn.risk\",\"priority\":\"P3\",\"customer_id\":\"c2\"}"

static void test_tail_filter(void) {
  static const filter_case cases[] = {
      {"no filter, an alert", {.n_types = 0}, BREACH, 1},
      {"no filter, not JSON", {.n_types = 0}, "not json", 1},
      {"no filter, a JSON array", {.n_types = 0}, "[1,2]", 1},
      {"type exact", {.types = {"recovery.sla_breached"}, .n_types = 1}, BREACH, 1},
      {"type exact, other", {.types = {"recovery.required"}, .n_types = 1}, BREACH, 0},
      {"type prefix with a dot", {.types = {"recovery."}, .n_types = 1}, BREACH, 1},
      {"type prefix with a star", {.types = {"recovery.*"}, .n_types = 1}, BREACH, 1},
      {"type prefix, other family", {.types = {"recovery."}, .n_types = 1}, CHURN, 0},
      /* Not a prefix without its dot or star: "recovery" names no type. */
      {"type without dot is exact", {.types = {"recovery"}, .n_types = 1}, BREACH, 0},
      {"type longer than the record's", {.types = {"recovery.sla_breached.x"}, .n_types = 1},
       BREACH, 0},
      {"types in a comma list", {.types = {"satisfaction.drop,churn.risk"}, .n_types = 1}, CHURN,
       1},
      {"types in a list with an empty item", {.types = {",churn.risk,"}, .n_types = 1}, CHURN,
       1},
      {"types repeated", {.types = {"satisfaction.drop", "churn.risk"}, .n_types = 2}, CHURN, 1},
      {"types, none", {.types = {"satisfaction.drop", "servqual."}, .n_types = 2}, CHURN, 0},
      {"priority P2 takes P2", {.priority = 2}, BREACH, 1},
      {"priority P2 refuses P3", {.priority = 2}, CHURN, 0},
      {"priority P3 takes P2", {.priority = 3}, BREACH, 1},
      {"priority P1 takes P1", {.priority = 1}, "{\"priority\":\"P1\"}", 1},
      {"priority not a name", {.priority = 4}, "{\"priority\":\"urgent\"}", 0},
      {"priority a number", {.priority = 4}, "{\"priority\":1}", 0},
      {"customer", {.customers = {"c1"}, .n_customers = 1}, BREACH, 1},
      {"customer, other", {.customers = {"c1"}, .n_customers = 1}, CHURN, 0},
      {"customer, a prefix of his id", {.customers = {"c"}, .n_customers = 1}, CHURN, 0},
      {"customers repeated", {.customers = {"c9", "c2"}, .n_customers = 2}, CHURN, 1},
      {"every filter passed",
       {.types = {"recovery."}, .n_types = 1, .customers = {"c1"}, .n_customers = 1,
        .priority = 2},
       BREACH, 1},
      {"one filter of three failed",
       {.types = {"recovery."}, .n_types = 1, .customers = {"c1"}, .n_customers = 1,
        .priority = 1},
       BREACH, 0},
      /* Missing or mistyped fields pass no filter that reads them. */
      {"no type", {.types = {"recovery."}, .n_types = 1}, "{\"priority\":\"P1\"}", 0},
      {"type not a string", {.types = {"recovery."}, .n_types = 1}, "{\"type\":7}", 0},
      {"no priority", {.priority = 4}, "{\"type\":\"churn.risk\"}", 0},
      {"no customer", {.customers = {"c1"}, .n_customers = 1}, "{\"customer_id\":null}", 0},
      /* Records that are not JSON objects pass no filter. */
      {"malformed JSON", {.priority = 4}, "{\"priority\":\"P1\"", 0},
      {"not JSON", {.types = {"recovery."}, .n_types = 1}, "recovery.sla_breached", 0},
      {"a JSON string", {.types = {"recovery."}, .n_types = 1}, "\"recovery.required\"", 0},
      {"empty", {.customers = {"c1"}, .n_customers = 1}, "", 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    test_ctx = cases[i].name;
    CHECK_INT(cxp_tail_match(&cases[i].f, cases[i].record, strlen(cases[i].record)),
              cases[i].want);
  }
  test_ctx = NULL;
  /* The length is the record's, not the string's: the first 10 bytes of a
   * record are no JSON object. */
  cxp_tail_filter f = {.priority = 4};
  CHECK_INT(cxp_tail_match(&f, BREACH, 10), 0);
  CHECK_INT(cxp_tail_match(&f, BREACH, strlen(BREACH)), 1);

  CHECK_INT(cxp_alert_priority_parse("P1", 0), 1);
  CHECK_INT(cxp_alert_priority_parse("p4", 0), 4);
  CHECK_INT(cxp_alert_priority_parse("P5", 0), -1);
  CHECK_INT(cxp_alert_priority_parse("P0", 0), -1);
  CHECK_INT(cxp_alert_priority_parse("P12", 0), -1);
  CHECK_INT(cxp_alert_priority_parse("2", 0), -1);
  CHECK_INT(cxp_alert_priority_parse("", 0), -1);
  /* The console's form also takes a bare digit, and no more than that. */
  CHECK_INT(cxp_alert_priority_parse("2", 1), 2);
  CHECK_INT(cxp_alert_priority_parse("p3", 1), 3);
  CHECK_INT(cxp_alert_priority_parse("5", 1), -1);
  CHECK_INT(cxp_alert_priority_parse("12", 1), -1);
  CHECK_INT(cxp_alert_priority_parse("", 1), -1);

  /* The type patterns tail and GET /v1/alerts share: exact, or every type
   * a name ending in '.' or '*' begins. */
  static const struct {
    const char *pat, *type;
    int want;
  } pats[] = {{"recovery.*", "recovery.sla_breached", 1}, {"recovery.", "recovery.closed_loop", 1},
              {"recovery*", "recovery.closed_loop", 1},   {"recovery", "recovery.closed_loop", 0},
              {"recovery.*", "recovery", 0},              {"churn.risk", "churn.risk", 1},
              {"churn.risk", "churn.risk2", 0},           {"churn.risk", "churn.ris", 0},
              {"*", "servqual.gap", 1},                   {"", "servqual.gap", 0}};
  for (size_t i = 0; i < sizeof pats / sizeof pats[0]; i++) {
    test_ctx = pats[i].pat;
    CHECK_INT(cxp_alert_type_match(pats[i].pat, strlen(pats[i].pat), pats[i].type), pats[i].want);
  }
  test_ctx = NULL;
}

/* A topics.cases record on one line; a closed one says why. */
static void test_tail_cases(void) {
  const char *rec =
      "{\"case_id\":\"k1\",\"customer_id\":\"kc\",\"state\":\"open\",\"change\":\"step\","
      "\"updated_at\":\"2026-11-23T07:30:00.000Z\",\"priority\":2,\"escalation_level\":1,"
      "\"role\":\"team_lead\",\"step\":\"resolve\",\"next_deadline\":"
      "\"2026-11-24T07:00:00.000Z\",\"overdue_s\":0}";
  char out[512];
  size_t n = cxp_tail_format(out, sizeof out, "cases", rec, strlen(rec));
  CHECK_STR(out, "2026-11-23T07:30:00.000Z P2 open   step      case=k1 customer=kc "
                 "step=resolve due=2026-11-24T07:00:00.000Z overdue_s=0 level=1 role=team_lead");
  CHECK_INT(n, strlen(out));
  const char *closed =
      "{\"case_id\":\"k1\",\"customer_id\":\"kc\",\"state\":\"closed\",\"change\":"
      "\"closed\",\"updated_at\":\"2026-11-23T09:05:00.000Z\",\"priority\":2,"
      "\"escalation_level\":0,\"role\":null,\"step\":null,\"next_deadline\":null,"
      "\"overdue_s\":0,\"closed_reason\":\"abandoned\"}";
  cxp_tail_format(out, sizeof out, "cases", closed, strlen(closed));
  CHECK(strstr(out, " closed_reason=abandoned") != NULL);
  CHECK(strstr(out, "P2 closed closed    case=k1") != NULL);
}

int main(void) {
  test_sum();
  test_histogram();
  test_roundtrip();
  test_top_latency();
  test_top_lag();
  test_tail_filter();
  test_tail_cases();
  fprintf(stderr, "%d checks, %d failures\n", test_checks, test_failures);
  return test_failures != 0;
}
