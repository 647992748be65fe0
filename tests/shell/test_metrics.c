/* Unit tests of the Prometheus text exposition (daemon/shell/metrics.c).
 *
 * Every expected text was written by hand from the format's specification
 * (exposition format 0.0.4): HELP and TYPE lines, label escaping, cumulative
 * buckets with le last, _sum and _count.
 *
 * usage: test_metrics [--exposition]
 * With --exposition, prints a sample exposition shaped like the daemon's
 * (every metric type, labels needing escapes, a histogram, the process_*
 * families) on stdout, for `promtool check metrics` (the metrics_promtool
 * test). */
#include "test.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "jsonw.h"
#include "metrics.h"
#include "procstat.h"

#define CHECK_TEXT(buf, lit) CHECK_MEM((buf).p, (buf).len, lit, sizeof(lit) - 1)

static void families_and_samples(void) {
  cxp_buf b;
  cxp_metrics m;
  cxp_buf_init(&b);
  cxp_metrics_init(&m, &b);
  cxp_metrics_family(&m, "cxpulse_events_consumed_total", CXP_METRIC_COUNTER,
                     "Events taken from the input topic, by type.");
  cxp_metrics_u64(&m, (const char *[]){"type", "survey.nps", NULL}, 12);
  cxp_metrics_u64(&m, (const char *[]){"type", "complaint", NULL}, 18446744073709551615ULL);
  cxp_metrics_family(&m, "cxpulse_customers", CXP_METRIC_GAUGE, "Customers held.");
  cxp_metrics_u64(&m, NULL, 0);
  cxp_metrics_family(&m, "cxpulse_consumer_lag", CXP_METRIC_GAUGE, "Lag.");
  cxp_metrics_i64(&m, (const char *[]){"topic", "cx.events", "partition", "3", NULL}, -1);
  CHECK_TEXT(b, "# HELP cxpulse_events_consumed_total Events taken from the input topic, by type.\n"
                "# TYPE cxpulse_events_consumed_total counter\n"
                "cxpulse_events_consumed_total{type=\"survey.nps\"} 12\n"
                "cxpulse_events_consumed_total{type=\"complaint\"} 18446744073709551615\n"
                "# HELP cxpulse_customers Customers held.\n"
                "# TYPE cxpulse_customers gauge\n"
                "cxpulse_customers 0\n"
                "# HELP cxpulse_consumer_lag Lag.\n"
                "# TYPE cxpulse_consumer_lag gauge\n"
                "cxpulse_consumer_lag{topic=\"cx.events\",partition=\"3\"} -1\n");
  cxp_buf_free(&b);
}

static void escaping(void) {
  cxp_buf b;
  cxp_metrics m;
  cxp_buf_init(&b);
  cxp_metrics_init(&m, &b);
  /* HELP escapes backslash and newline but not the quote; label values all
   * three. A NULL value is an empty one. */
  cxp_metrics_family(&m, "x", CXP_METRIC_GAUGE, "a \"q\" \\ b\nc");
  cxp_metrics_u64(&m, (const char *[]){"v", "a\"b\\c\nd", "e", NULL, NULL}, 1);
  cxp_metrics_u64(&m, (const char *[]){"v", "plain \xc3\xa9", NULL}, 2);
  CHECK_TEXT(b, "# HELP x a \"q\" \\\\ b\\nc\n"
                "# TYPE x gauge\n"
                "x{v=\"a\\\"b\\\\c\\nd\",e=\"\"} 1\n"
                "x{v=\"plain \xc3\xa9\"} 2\n");
  cxp_buf_free(&b);
}

static void doubles(void) {
  static const struct {
    double v;
    const char *want;
  } rows[] = {
      {0, "0"},          {1, "1"},           {0.1, "0.1"},
      {0.0005, "0.0005"}, {2.5, "2.5"},      {-3.25, "-3.25"},
      {1e-7, "1e-07"},   {123456789, "123456789"},
      {1.0 / 3, "0.3333333333333333"},      {1e21, "1e+21"},
      {INFINITY, "+Inf"}, {-INFINITY, "-Inf"}, {NAN, "NaN"},
  };
  cxp_buf b;
  cxp_buf_init(&b);
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    test_ctx = rows[i].want;
    cxp_buf_reset(&b);
    cxp_metrics_put_double(&b, rows[i].v);
    CHECK_STR(b.p, rows[i].want);
  }
  test_ctx = NULL;
  cxp_metrics m;
  cxp_buf_reset(&b);
  cxp_metrics_init(&m, &b);
  cxp_metrics_family(&m, "cxpulse_restore_seconds", CXP_METRIC_GAUGE, "Restore.");
  cxp_metrics_f64(&m, NULL, 1.5);
  CHECK_TEXT(b, "# HELP cxpulse_restore_seconds Restore.\n"
                "# TYPE cxpulse_restore_seconds gauge\n"
                "cxpulse_restore_seconds 1.5\n");
  cxp_buf_free(&b);
}

static void histogram(void) {
  cxp_histogram h;
  static const double bounds[] = {0.01, 0.1, 1};
  CHECK_INT(cxp_histogram_init(&h, bounds, 3), 0);
  /* 0.005 and 0.01 -> le 0.01 (a value equal to a bound belongs to it);
   * 0.05 -> 0.1; 0.5 -> 1; 7 -> +Inf; NaN ignored.
   * Cumulative: 2, 3, 4, 5. Sum 0.005+0.01+0.05+0.5+7 = 7.565. */
  cxp_histogram_observe(&h, 0.005);
  cxp_histogram_observe(&h, 0.01);
  cxp_histogram_observe(&h, 0.05);
  cxp_histogram_observe(&h, 0.5);
  cxp_histogram_observe(&h, 7);
  cxp_histogram_observe(&h, NAN);
  CHECK_INT(h.counts[0], 2);
  CHECK_INT(h.counts[1], 1);
  CHECK_INT(h.counts[2], 1);
  CHECK_INT(h.counts[3], 1);
  CHECK_INT(h.count, 5);
  CHECK_NEAR(h.sum, 7.565, 1e-12);
  h.sum = 7.565; /* the float sum's last bit is not what this test is about */

  cxp_buf b;
  cxp_metrics m;
  cxp_buf_init(&b);
  cxp_metrics_init(&m, &b);
  cxp_metrics_family(&m, "cxpulse_processing_seconds", CXP_METRIC_HISTOGRAM,
                     "Event consumed to outputs acknowledged.");
  cxp_metrics_histogram(&m, (const char *[]){"stream", "alerts", NULL}, &h);
  CHECK_TEXT(b, "# HELP cxpulse_processing_seconds Event consumed to outputs acknowledged.\n"
                "# TYPE cxpulse_processing_seconds histogram\n"
                "cxpulse_processing_seconds_bucket{stream=\"alerts\",le=\"0.01\"} 2\n"
                "cxpulse_processing_seconds_bucket{stream=\"alerts\",le=\"0.1\"} 3\n"
                "cxpulse_processing_seconds_bucket{stream=\"alerts\",le=\"1\"} 4\n"
                "cxpulse_processing_seconds_bucket{stream=\"alerts\",le=\"+Inf\"} 5\n"
                "cxpulse_processing_seconds_sum{stream=\"alerts\"} 7.565\n"
                "cxpulse_processing_seconds_count{stream=\"alerts\"} 5\n");

  /* Without labels, and empty. */
  cxp_histogram e;
  cxp_histogram_init(&e, bounds, 1);
  cxp_buf_reset(&b);
  cxp_metrics_init(&m, &b);
  cxp_metrics_family(&m, "h", CXP_METRIC_HISTOGRAM, "H.");
  cxp_metrics_histogram(&m, NULL, &e);
  CHECK_TEXT(b, "# HELP h H.\n# TYPE h histogram\n"
                "h_bucket{le=\"0.01\"} 0\n"
                "h_bucket{le=\"+Inf\"} 0\n"
                "h_sum 0\n"
                "h_count 0\n");
  cxp_buf_free(&b);

  /* Bounds that are not strictly ascending and finite are refused. */
  static const double bad1[] = {0.1, 0.1}, bad2[] = {1, 0.5}, bad3[] = {0.1, INFINITY};
  CHECK_INT(cxp_histogram_init(&h, bad1, 2), -1);
  CHECK_INT(cxp_histogram_init(&h, bad2, 2), -1);
  CHECK_INT(cxp_histogram_init(&h, bad3, 2), -1);
  CHECK_INT(cxp_histogram_init(&h, bounds, CXP_HIST_MAX_BOUNDS + 1), -1);

  /* The latency buckets: 14 bounds, 0.5 ms to 10 s; 3 ms falls in le 0.005. */
  cxp_histogram_init_latency(&h);
  CHECK_INT(h.n, 14);
  CHECK_NEAR(h.bounds[0], 0.0005, 0);
  CHECK_NEAR(h.bounds[13], 10, 0);
  cxp_histogram_observe(&h, 0.003);
  CHECK_INT(h.counts[3], 1);
  cxp_histogram_observe(&h, 0.0001);
  CHECK_INT(h.counts[0], 1);
  cxp_histogram_observe(&h, 11);
  CHECK_INT(h.counts[14], 1);
}

/* A sample shaped like what the daemon will expose, for promtool. */
static void exposition(void) {
  cxp_buf b;
  cxp_metrics m;
  cxp_histogram h;
  cxp_buf_init(&b);
  cxp_metrics_init(&m, &b);
  cxp_metrics_family(&m, "cxpulse_build_info", CXP_METRIC_GAUGE,
                     "Version of the running daemon; always 1.");
  cxp_metrics_u64(&m, (const char *[]){"version", "0.1.0", "librdkafka", "2.0.2", NULL}, 1);
  cxp_metrics_family(&m, "cxpulse_events_consumed_total", CXP_METRIC_COUNTER,
                     "Events taken from the input topic, by type.");
  cxp_metrics_u64(&m, (const char *[]){"type", "survey.nps", NULL}, 1200);
  cxp_metrics_u64(&m, (const char *[]){"type", "complaint", NULL}, 31);
  cxp_metrics_family(&m, "cxpulse_dead_letters_total", CXP_METRIC_COUNTER,
                     "Events dead-lettered, by reason.");
  cxp_metrics_u64(&m, (const char *[]){"reason", "invalid_json", NULL}, 2);
  cxp_metrics_family(&m, "cxpulse_alerts_total", CXP_METRIC_COUNTER,
                     "Alerts produced, by type and priority.");
  cxp_metrics_u64(&m, (const char *[]){"type", "recovery.required", "priority", "P2", NULL}, 7);
  cxp_metrics_family(&m, "cxpulse_consumer_lag", CXP_METRIC_GAUGE,
                     "Messages behind the partition's high watermark (librdkafka statistics).");
  cxp_metrics_i64(&m, (const char *[]){"topic", "cx.events", "partition", "0", NULL}, 17);
  cxp_metrics_family(&m, "cxpulse_state_memory_bytes", CXP_METRIC_GAUGE,
                     "Bytes held by per-customer state.");
  cxp_metrics_u64(&m, NULL, 48000000);
  cxp_metrics_family(&m, "cxpulse_label_escapes", CXP_METRIC_GAUGE,
                     "A label value with \"quotes\", a \\ and a\nnewline.");
  cxp_metrics_u64(&m, (const char *[]){"v", "a\"b\\c\nd", NULL}, 1);
  cxp_metrics_family(&m, "cxpulse_processing_seconds", CXP_METRIC_HISTOGRAM,
                     "Time from an event consumed to its outputs acknowledged.");
  cxp_histogram_init_latency(&h);
  for (int i = 0; i < 1000; i++) cxp_histogram_observe(&h, 0.0001 * i);
  cxp_metrics_histogram(&m, NULL, &h);
  /* The process_* families, this process's own (procstat.c), as the
   * daemon ends its exposition with them. */
  cxp_procstat ps;
  cxp_procstat_read(&ps);
  cxp_procstat_metrics(&m, &ps);
  fwrite(b.p, 1, b.len, stdout);
  cxp_buf_free(&b);
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--exposition") == 0) {
    exposition();
    return 0;
  }
  families_and_samples();
  escaping();
  doubles();
  histogram();
  return TEST_REPORT();
}
