/* End-to-end benchmark: events/s through the real daemon and librdkafka's
 * mock cluster, from a pre-produced input topic to acknowledged outputs.
 *
 * The mock cluster keeps about 5 MiB per partition, so the input is spread
 * over many partitions (default 64 x ~3 MiB). Everything runs in this one
 * process: the mock broker's thread, librdkafka's threads and the daemon's
 * loop; CPU seconds are the whole process's. The clock starts at the first
 * consumed event (after the group join) and stops when every event is
 * consumed and every output acknowledged.
 *
 *   ./build/bench_e2e [--events N] [--partitions N] [--event-rate R] [--baseline]
 *
 * --event-rate is the events per second of event time (default 200000: about
 * the rate measured, as a stream of this volume would have). At the
 * generator's own 50/s, 1M events span 5.5 hours of event time and every
 * input partition closes hundreds of windows, each sending a marker to every
 * repartition partition: a load no real stream of this size makes.
 *
 * --baseline measures a bare librdkafka consumer that only counts messages
 * (same topic, same client settings), for comparison. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <uv.h>

#include "daemon.h"
#include "gen.h"
#include "log.h"
#include "mock.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

typedef struct bench {
  uv_loop_t loop;
  uv_timer_t check;
  cxp_daemon *d;
  uint64_t n;
  double t_first, t_end, cpu_first, cpu_end;
  uint64_t consumed_first;
} bench;

static void on_stopped(cxp_daemon *d, void *arg) {
  (void)d;
  bench *b = arg;
  uv_close((uv_handle_t *)&b->check, NULL);
}

static void on_check(uv_timer_t *t) {
  bench *b = t->data;
  cxp_daemon_stats s;
  cxp_daemon_stats_get(b->d, &s);
  if (b->t_first == 0 && s.core->consumed > 0) {
    b->t_first = now_s();
    b->cpu_first = cpu_s();
    b->consumed_first = s.core->consumed;
  }
  if (s.core->consumed >= b->n && s.in_flight == 0 && s.outq == 0) {
    b->t_end = now_s();
    b->cpu_end = cpu_s();
    uv_timer_stop(t);
    cxp_daemon_stop(b->d, on_stopped, b);
  }
}

static void preproduce(const char *bs, const char *topic, uint64_t n, double event_rate) {
  char e[256], buf[2048], key[64];
  size_t klen;
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  rd_kafka_conf_set(c, "bootstrap.servers", bs, e, sizeof e);
  rd_kafka_conf_set(c, "linger.ms", "50", e, sizeof e);
  rd_kafka_conf_set(c, "batch.num.messages", "10000", e, sizeof e);
  rd_kafka_conf_set(c, "queue.buffering.max.messages", "2000000", e, sizeof e);
  rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, c, e, sizeof e);
  rd_kafka_topic_t *t = rd_kafka_topic_new(p, topic, NULL);
  cxp_gen_opts go;
  cxp_gen_opts_default(&go);
  go.customers = 100000;
  go.events_per_sec = event_rate;
  cxp_gen *g = cxp_gen_create(&go);
  uint64_t bytes = 0;
  for (uint64_t i = 0; i < n; i++) {
    size_t len = cxp_gen_next(g, buf, sizeof buf, key, sizeof key, &klen);
    while (rd_kafka_produce(t, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, buf, len,
                            klen ? key : NULL, klen, NULL) == -1)
      rd_kafka_poll(p, 10);
    bytes += len;
    rd_kafka_poll(p, 0);
  }
  rd_kafka_flush(p, 60000);
  fprintf(stderr, "pre-produced %" PRIu64 " events, %.1f MB\n", n, (double)bytes / 1e6);
  cxp_gen_destroy(g);
  rd_kafka_topic_destroy(t);
  rd_kafka_destroy(p);
}

static int baseline(const char *bs, const char *topic, uint64_t n) {
  char e[256];
  cxp_config c;
  cxp_pipeline pl;
  cxp_config_defaults(&c);
  cxp_pipeline_defaults(&pl);
  cxp_daemon_kafka_defaults(&c, &pl);
  cxp_config_kafka_default(&c, "bootstrap.servers", bs);
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  for (int i = 0; i < c.n_kafka; i++) {
    const char *k = c.kafka[i].key;
    if (strncmp(k, "producer.", 9) == 0) continue;
    if (strncmp(k, "consumer.", 9) == 0) k += 9;
    rd_kafka_conf_set(conf, k, c.kafka[i].value, e, sizeof e);
  }
  rd_kafka_conf_set(conf, "group.id", "bench-baseline", e, sizeof e);
  rd_kafka_conf_set(conf, "enable.auto.commit", "true", e, sizeof e);
  rd_kafka_t *k = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof e);
  rd_kafka_poll_set_consumer(k);
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, topic, RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(k, l);
  rd_kafka_topic_partition_list_destroy(l);
  uint64_t got = 0;
  double t0 = 0, c0 = 0;
  while (got < n) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(k, 100);
    if (m == NULL) continue;
    if (!m->err) {
      if (got == 0) {
        t0 = now_s();
        c0 = cpu_s();
      }
      got++;
    }
    rd_kafka_message_destroy(m);
  }
  double secs = now_s() - t0, cpu = cpu_s() - c0;
  printf("{\"bench\":\"e2e_baseline_count_only\",\"events\":%" PRIu64 ",\"seconds\":%.3f,"
         "\"events_per_sec\":%.0f,\"cpu_seconds\":%.3f,\"cpu_s_per_million\":%.3f}\n",
         got, secs, (double)got / secs, cpu, cpu / ((double)got / 1e6));
  rd_kafka_consumer_close(k);
  rd_kafka_destroy(k);
  return 0;
}

int main(int argc, char **argv) {
  static const struct option opts[] = {{"events", required_argument, NULL, 'n'},
                                       {"partitions", required_argument, NULL, 'p'},
                                       {"baseline", no_argument, NULL, 'b'},
                                       {"event-rate", required_argument, NULL, 'r'},
                                       {"no-durable", no_argument, NULL, 'D'},
                                       {NULL, 0, NULL, 0}};
  uint64_t n = 1000000;
  int parts = 64, base = 0, durable = 1, ch;
  double event_rate = 200000;
  while ((ch = getopt_long(argc, argv, "n:p:br:D", opts, NULL)) != -1) {
    switch (ch) {
    case 'D': durable = 0; break;
    case 'n': n = strtoull(optarg, NULL, 10); break;
    case 'p': parts = atoi(optarg); break;
    case 'b': base = 1; break;
    case 'r':
      event_rate = atof(optarg);
      if (!(event_rate > 0 && event_rate <= 1e7)) {
        fprintf(stderr, "bench_e2e: --event-rate: events per second, 0 < R <= 1e7\n");
        return 2;
      }
      break;
    default:
      fprintf(stderr, "usage: bench_e2e [--events N] [--partitions N] [--event-rate R] "
                      "[--baseline] [--no-durable]\n");
      return 2;
    }
  }
  cxp_log_level = CXP_LOG_WARN;
  char err[256];
  cxp_mock m;
  if (cxp_mock_start(&m, 1, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  cxp_pipeline pl;
  cxp_pipeline_defaults(&pl);
  pl.state_durable = durable;
  cxp_mock_topic(&m, pl.topic_input, parts);
  cxp_mock_topic(&m, pl.topic_alerts, 8);
  cxp_mock_topic(&m, pl.topic_indicators, 8);
  cxp_mock_topic(&m, pl.topic_dead_letters, 8);
  cxp_mock_topic(&m, pl.topic_repartition, parts);
  cxp_mock_topic(&m, pl.topic_changelog, parts);
  preproduce(m.bootstraps, pl.topic_input, n, event_rate);
  if (base) {
    int rc = baseline(m.bootstraps, pl.topic_input, n);
    cxp_mock_stop(&m);
    return rc;
  }

  cxp_config c;
  cxp_config_defaults(&c);
  c.stats_interval_s = 0;
  cxp_config_kafka_default(&c, "bootstrap.servers", m.bootstraps);
  cxp_config_kafka_default(&c, "consumer.group.id", "bench-e2e");
  bench b;
  memset(&b, 0, sizeof b);
  b.n = n;
  uv_loop_init(&b.loop);
  b.d = cxp_daemon_create(&b.loop, &c, &pl, "(bench)", err, sizeof err);
  if (b.d == NULL) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  uv_timer_init(&b.loop, &b.check);
  b.check.data = &b;
  uv_timer_start(&b.check, on_check, 1, 5);
  cxp_daemon_start(b.d);
  uv_run(&b.loop, UV_RUN_DEFAULT);
  cxp_daemon_stats s;
  cxp_daemon_stats_get(b.d, &s);
  double secs = b.t_end - b.t_first, cpu = b.cpu_end - b.cpu_first;
  uint64_t measured = s.core->consumed - b.consumed_first;
  printf("{\"bench\":\"e2e\",\"events\":%" PRIu64 ",\"partitions\":%d,\"seconds\":%.3f,"
         "\"events_per_sec\":%.0f,\"cpu_seconds\":%.3f,\"cpu_s_per_million\":%.3f,"
         "\"alerts\":%" PRIu64 ",\"dead_letters\":%" PRIu64 ",\"pauses\":%" PRIu64
         ",\"durable\":%s,\"changelog_records\":%" PRIu64 ",\"changelog_bytes\":%" PRIu64
         ",\"input_bytes\":%" PRIu64 ",\"write_amplification\":%.3f}\n",
         s.core->consumed, parts, secs, (double)measured / secs, cpu,
         cpu / ((double)measured / 1e6), s.delivered[CXP_STREAM_ALERTS],
         s.delivered[CXP_STREAM_DEAD_LETTERS], s.pauses, durable ? "true" : "false",
         s.changelog_records, s.changelog_bytes, s.input_bytes,
         s.input_bytes ? (double)s.changelog_bytes / (double)s.input_bytes : 0.0);
  printf("e2e: %.0f events/s through the mock cluster (%.2f CPU s per million events, "
         "whole process incl. the mock broker)\n",
         (double)measured / secs, cpu / ((double)measured / 1e6));
  cxp_daemon_destroy(b.d);
  uv_loop_close(&b.loop);
  cxp_mock_stop(&m);
  return 0;
}
