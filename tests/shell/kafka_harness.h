/* The in-process Kafka tests' harness: a daemon on its own loop against
 * librdkafka's mock cluster, its acknowledged outputs collected through the
 * tap, the admin endpoint probed from a thread, and the group's committed
 * offsets read back. Shared by test_kafka.c and test_faults.c, each of which
 * uses part of it. */
#ifndef CXP_KAFKA_HARNESS_H
#define CXP_KAFKA_HARNESS_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <time.h>
#include <uv.h>

#include <cjson/cJSON.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "daemon.h"
#include "helpers.h"
#include "log.h"
#include "mock.h"
#include "winwire.h"

struct run;
typedef struct run {
  uv_loop_t loop;
  uv_timer_t check, deadline;
  int ticks; /* checks run: the run's deadline counts them (on_check) */
  cxp_daemon *d;
  uint64_t want_consumed, want_alerts, want_dead, want_indicators;
  int timed_out, stopped;
  /* Outputs seen through the tap, i.e. acknowledged by the broker. */
  cJSON *alerts, *dead, *indicators;
  cJSON *cases; /* topics.cases records */
  /* The admin endpoint, asked from a thread while the loop serves it. */
  int probe_http;
  pthread_t prober;
  int port;
  char answers[6][32768];
  /* A mid-run step: once `mid_at` events are consumed, mid() runs once on
   * the loop (e.g. a reload, then more input). */
  uint64_t mid_at;
  void (*mid)(struct run *r);
  int mid_done;
  const char *bs;
  cxp_mock *mock;       /* for faults injected mid-run */
  uv_timer_t up;        /* brings the broker back */
  int broker_down;      /* the run is not complete while it is down */
  int want_ready;       /* ... nor before it is ready (partitions held, restored) */
  size_t customers_held; /* when the run was complete, before revokes drop them */
  uint64_t changelog;    /* changelog records acknowledged */
  uint64_t tombstones, want_tombstones; /* of those, tombstones; the last one's key: */
  char tombstone_key[64];
  /* A customer looked at when the run is complete: his decayed CSAT and
   * last applied offset (-2: not held). */
  const char *probe_id;
  double probe_csat;
  int64_t probe_offset;
  int want_exit;         /* the daemon's expected exit code (0: a clean stop; -1: 0 or 1) */
  void (*every)(struct run *r); /* runs on the loop every 50 ms while the run lasts */
  int hold;                     /* the run goes on while set (an every() clears it) */
  uint64_t repart_records, repart_partials; /* acknowledged on the repartition topic */
} run;

/* One GET over a fresh connection: the whole response, status line first. */
H_FN void http_get(int port, const char *path, const char *auth, char *out, size_t cap) {
  out[0] = '\0';
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    if (fd >= 0) close(fd);
    return;
  }
  char req[512];
  int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n%s%s%sConnection: close\r\n\r\n",
                   path, auth ? "Authorization: Bearer " : "", auth ? auth : "", auth ? "\r\n" : "");
  if (write(fd, req, (size_t)n) != n) {
    close(fd);
    return;
  }
  size_t used = 0;
  ssize_t got;
  while (used + 1 < cap && (got = read(fd, out + used, cap - 1 - used)) > 0) used += (size_t)got;
  out[used] = '\0';
  close(fd);
}

H_FN void *probe(void *arg) {
  run *r = arg;
  /* Ready once partitions are assigned (a few seconds for the group). */
  for (int i = 0; i < 200; i++) {
    http_get(r->port, "/readyz", NULL, r->answers[0], sizeof r->answers[0]);
    if (strncmp(r->answers[0], "HTTP/1.1 200", 12) == 0) break;
    usleep(50000);
  }
  http_get(r->port, "/healthz", NULL, r->answers[1], sizeof r->answers[1]);
  http_get(r->port, "/v1/status", NULL, r->answers[3], sizeof r->answers[3]);
  http_get(r->port, "/v1/status", "s3cret", r->answers[4], sizeof r->answers[4]);
  /* Once the events are in: the customer with the failure. */
  for (int i = 0; i < 100; i++) {
    http_get(r->port, "/v1/customers/w0", "s3cret", r->answers[5], sizeof r->answers[5]);
    if (strncmp(r->answers[5], "HTTP/1.1 200", 12) == 0) break;
    usleep(50000);
  }
  /* Metrics last: by now every partition has been fetched, so its lag is
   * known. */
  http_get(r->port, "/metrics", NULL, r->answers[2], sizeof r->answers[2]);
  return NULL;
}

H_FN void on_tap(void *opaque, cxp_stream s, const char *key, size_t klen,
                   const char *val, size_t vlen) {
  (void)key;
  (void)klen;
  run *r = opaque;
  if (s == CXP_STREAM_CHANGELOG) {
    r->changelog++; /* binary state records (staterec.h) */
    if (val == NULL || vlen == 0) {
      r->tombstones++;
      snprintf(r->tombstone_key, sizeof r->tombstone_key, "%.*s", (int)klen, key);
    }
    return;
  }
  if (s == CXP_STREAM_PARTIALS || s == CXP_STREAM_MARKERS) {
    /* The repartition topic's records (winwire.h): they read back whole,
     * and are counted with their partials. */
    cxp_wire_rd rd;
    cxp_window_partial p;
    int got = cxp_wire_open(&rd, val, vlen, NULL, 0);
    CHECK_INT(got, 0);
    while (got == 0 && (got = cxp_wire_next(&rd, &p, NULL, 0)) == 1) {
      r->repart_partials++;
      got = 0;
    }
    CHECK_INT(got, 0);
    r->repart_records++;
    return;
  }
  cJSON *v = cJSON_ParseWithLength(val, vlen);
  if (v == NULL) {
    CHECK(!"output is valid JSON");
    return;
  }
  if (s == CXP_STREAM_ALERTS)
    cJSON_AddItemToArray(r->alerts, v);
  else if (s == CXP_STREAM_DEAD_LETTERS)
    cJSON_AddItemToArray(r->dead, v);
  else if (s == CXP_STREAM_INDICATORS)
    cJSON_AddItemToArray(r->indicators, v);
  else if (s == CXP_STREAM_CASES)
    cJSON_AddItemToArray(r->cases, v);
  else
    cJSON_Delete(v); /* partials and markers: the daemon's own business */
}

H_FN void on_stopped(cxp_daemon *d, void *arg) {
  (void)d;
  run *r = arg;
  r->stopped = 1;
  uv_close((uv_handle_t *)&r->check, NULL);
  uv_close((uv_handle_t *)&r->deadline, NULL);
}

H_FN void on_deadline(uv_timer_t *t);

/* The deadline: 60 s of checks. Counted in checks rather than read off the
 * clock, so that a machine paused for a while (a virtual machine's clock
 * jumps forward when it resumes, and a timer due then fires at once) does
 * not end a run that has had no time to work; the timer is the backstop. */
#ifndef RUN_DEADLINE_TICKS
#define RUN_DEADLINE_TICKS 1200
#endif

H_FN void on_check(uv_timer_t *t) {
  run *r = t->data;
  if (++r->ticks >= RUN_DEADLINE_TICKS) {
    on_deadline(&r->deadline);
    return;
  }
  cxp_daemon_stats s;
  cxp_daemon_stats_get(r->d, &s);
  if (r->every) r->every(r);
  if (r->mid && !r->mid_done && s.core->consumed >= r->mid_at && s.in_flight == 0) {
    r->mid_done = 1;
    r->mid(r);
    return;
  }
  if (s.core->consumed >= r->want_consumed &&
      s.delivered[CXP_STREAM_ALERTS] >= r->want_alerts &&
      s.delivered[CXP_STREAM_DEAD_LETTERS] >= r->want_dead &&
      s.delivered[CXP_STREAM_INDICATORS] >= r->want_indicators && s.in_flight == 0 &&
      r->tombstones >= r->want_tombstones && !r->broker_down && !r->hold &&
      (!r->want_ready || cxp_daemon_ready(r->d))) {
    r->customers_held = s.customers;
    r->probe_offset = -2;
    const cxp_state *st = &cxp_daemon_core(r->d)->state;
    for (int32_t i = 0; r->probe_id && i < st->n_shards; i++) {
      const cxp_customer *cu =
          st->shards[i] ? cxp_shard_find(st->shards[i], r->probe_id, strlen(r->probe_id)) : NULL;
      if (cu) {
        r->probe_csat = cxp_customer_csat(cu);
        r->probe_offset = cu->last_offset;
      }
    }
    uv_timer_stop(t);
    cxp_daemon_stop(r->d, on_stopped, r);
  }
}

H_FN void on_deadline(uv_timer_t *t) {
  run *r = t->data;
  if (r->timed_out) return;
  r->timed_out = 1;
  uv_timer_stop(&r->deadline);
  /* What the run was waiting for, so that a timeout says where it stood. */
  cxp_daemon_stats s;
  cxp_daemon_stats_get(r->d, &s);
  const char *nr = cxp_daemon_not_ready(r->d);
  fprintf(stderr,
          "%s: timed out: consumed %llu/%llu, alerts %llu/%llu, dead letters %llu/%llu, "
          "in flight %llu, partitions %d, restoring %d, not ready: %s\n",
          test_ctx ? test_ctx : "run", (unsigned long long)s.core->consumed,
          (unsigned long long)r->want_consumed,
          (unsigned long long)s.delivered[CXP_STREAM_ALERTS], (unsigned long long)r->want_alerts,
          (unsigned long long)s.delivered[CXP_STREAM_DEAD_LETTERS],
          (unsigned long long)r->want_dead, (unsigned long long)s.in_flight, s.assigned,
          s.restoring, nr ? nr : "(ready)");
  uv_timer_stop(&r->check);
  cxp_daemon_stop(r->d, on_stopped, r);
}

/* Waits until every record produced is acknowledged: a producer destroyed
 * with records left would lose a phase's input without a word, and the
 * phase would then time out waiting for it. */
H_FN void produce_flush(rd_kafka_t *p) {
  rd_kafka_resp_err_t e = rd_kafka_flush(p, 60000);
  if (e)
    fprintf(stderr, "%s: the test's producer still holds %d record(s) after 60 s: %s\n",
            test_ctx ? test_ctx : "produce", rd_kafka_outq_len(p), rd_kafka_err2str(e));
  CHECK_INT(e, 0);
}

H_FN void produce(const char *bs, const char *topic, const char *key, const char *val,
                    size_t len) {
  static rd_kafka_t *p;
  static char cur[256];
  char e[256];
  if (p && strcmp(cur, bs) != 0) {
    produce_flush(p);
    rd_kafka_destroy(p);
    p = NULL;
  }
  if (p == NULL) {
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "bootstrap.servers", bs, e, sizeof e);
    p = rd_kafka_new(RD_KAFKA_PRODUCER, c, e, sizeof e);
    snprintf(cur, sizeof cur, "%s", bs);
  }
  if (val == NULL) { /* flush and release */
    produce_flush(p);
    rd_kafka_destroy(p);
    p = NULL;
    return;
  }
  rd_kafka_resp_err_t err = rd_kafka_producev(
      p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
      RD_KAFKA_V_VALUE((void *)val, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_END);
  CHECK_INT(err, 0);
}

H_FN int run_daemon(run *r, cxp_config *c, cxp_pipeline *p) {
  char err[512];
  memset(&r->loop, 0, sizeof r->loop);
  r->ticks = 0;
  uv_loop_init(&r->loop);
  r->alerts = cJSON_CreateArray();
  r->dead = cJSON_CreateArray();
  r->indicators = cJSON_CreateArray();
  r->cases = cJSON_CreateArray();
  r->d = cxp_daemon_create(&r->loop, c, p, "(test)", err, sizeof err);
  if (r->d == NULL) {
    fprintf(stderr, "create: %s\n", err);
    return -1;
  }
  cxp_daemon_set_tap(r->d, on_tap, r);
  /* A daemon that stops by itself ends the run too. */
  cxp_daemon_on_stopped(r->d, on_stopped, r);
  uv_timer_init(&r->loop, &r->check);
  uv_timer_init(&r->loop, &r->deadline);
  r->check.data = r->deadline.data = r;
  uv_timer_start(&r->check, on_check, 50, 50);
  uv_timer_start(&r->deadline, on_deadline, 300000, 0);
  CHECK_INT(cxp_daemon_start(r->d), 0);
  if (r->probe_http) {
    r->port = cxp_daemon_http_port(r->d);
    CHECK_GT(r->port, 0);
    pthread_create(&r->prober, NULL, probe, r);
  }
  uv_run(&r->loop, UV_RUN_DEFAULT);
  if (r->probe_http) pthread_join(r->prober, NULL);
  CHECK(r->stopped);
  CHECK(!r->timed_out);
  if (r->want_exit >= 0) CHECK_INT(cxp_daemon_exit_code(r->d), r->want_exit);
  CHECK_INT(uv_loop_close(&r->loop), 0);
  return 0;
}

/* One run until `want` events are consumed, looking at customer `probe`
 * at the end; its statistics in s. */
H_FN int run_probe(run *r, cxp_config *c, cxp_pipeline *p, uint64_t want, const char *probe,
                     cxp_daemon_stats *s) {
  memset(r, 0, sizeof *r);
  r->want_consumed = want;
  r->probe_id = probe;
  if (run_daemon(r, c, p)) return -1;
  cxp_daemon_stats_get(r->d, s);
  return 0;
}

H_FN const cJSON *find_alert(const cJSON *alerts, const char *customer) {
  const cJSON *a;
  cJSON_ArrayForEach(a, alerts) {
    const char *c = get_s(a, "customer_id");
    if (c && strcmp(c, customer) == 0) return a;
  }
  return NULL;
}

/* A consumer of the group (not subscribed) and the topic's partitions with
 * their committed offsets (-1001 where none); 0 when the query answered. */
H_FN int committed(const char *bs, const char *group, const char *topic, int parts,
                     rd_kafka_t **k, rd_kafka_topic_partition_list_t **l) {
  char e[256];
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  rd_kafka_conf_set(c, "bootstrap.servers", bs, e, sizeof e);
  rd_kafka_conf_set(c, "group.id", group, e, sizeof e);
  *k = rd_kafka_new(RD_KAFKA_CONSUMER, c, e, sizeof e);
  *l = rd_kafka_topic_partition_list_new(parts);
  for (int i = 0; i < parts; i++) rd_kafka_topic_partition_list_add(*l, topic, i);
  return rd_kafka_committed(*k, *l, 10000);
}

H_FN void committed_done(rd_kafka_t *k, rd_kafka_topic_partition_list_t *l) {
  rd_kafka_topic_partition_list_destroy(l);
  rd_kafka_consumer_close(k);
  rd_kafka_destroy(k);
}

/* The group's committed offsets summed over the topic's partitions (none
 * committed counts 0). */
H_FN int64_t committed_total(const char *bs, const char *group, const char *topic, int parts) {
  rd_kafka_t *k;
  rd_kafka_topic_partition_list_t *l;
  int64_t total = 0;
  if (committed(bs, group, topic, parts, &k, &l) == 0)
    for (int i = 0; i < parts; i++)
      if (l->elems[i].offset > 0) total += l->elems[i].offset;
  committed_done(k, l);
  return total;
}

/* The group's committed offset of each partition equals its end. */
H_FN void check_committed(const char *bs, const char *group, const char *topic, int parts) {
  rd_kafka_t *k;
  rd_kafka_topic_partition_list_t *l;
  CHECK_INT(committed(bs, group, topic, parts, &k, &l), 0);
  int64_t total = 0;
  for (int i = 0; i < parts; i++) {
    int64_t lo, hi;
    CHECK_INT(rd_kafka_query_watermark_offsets(k, topic, i, &lo, &hi, 10000), 0);
    CHECK_INT(l->elems[i].offset, hi);
    total += hi;
  }
  CHECK_GT(total, 0);
  committed_done(k, l);
}

/* A config that reads in `group`: in another group than a phase's, the
 * same topics from their start. */
H_FN void other_group(cxp_config *c, const char *bs, const char *group) {
  cxp_config_defaults(c);
  c->stats_interval_s = 0;
  c->commit_interval_ms = 200;
  cxp_config_kafka_default(c, "bootstrap.servers", bs);
  cxp_config_kafka_default(c, "consumer.group.id", group);
  cxp_config_kafka_default(c, "consumer.session.timeout.ms", "6000");
}

/* A phase's config (group g-<prefix>) and pipeline (topics <prefix>.*). */
H_FN void base_config(cxp_config *c, cxp_pipeline *p, const char *bs, const char *prefix) {
  cxp_pipeline_defaults(p);
  snprintf(p->topic_input, sizeof p->topic_input, "%s.events", prefix);
  snprintf(p->topic_alerts, sizeof p->topic_alerts, "%s.alerts", prefix);
  snprintf(p->topic_indicators, sizeof p->topic_indicators, "%s.ind", prefix);
  snprintf(p->topic_dead_letters, sizeof p->topic_dead_letters, "%s.dead", prefix);
  snprintf(p->topic_repartition, sizeof p->topic_repartition, "%s.part", prefix);
  snprintf(p->topic_changelog, sizeof p->topic_changelog, "%s.cl", prefix);
  /* The churn learners' topic of its own (the mock cluster makes it), so
   * that no phase reads another's learners. */
  snprintf(p->topic_model, sizeof p->topic_model, "%s.model", prefix);
  char group[64];
  snprintf(group, sizeof group, "g-%s", prefix);
  other_group(c, bs, group);
}

/* base_config with customer state only: no windows, cases or churn. */
H_FN void customers_config(cxp_config *c, cxp_pipeline *p, const char *bs, const char *prefix) {
  base_config(c, p, bs, prefix);
  p->win_enabled = 0;
  p->rec_enabled = 0;
  p->churn_enabled = 0;
}

/* The topics of one phase: events, partials and changelog with `parts`
 * partitions, alerts with `alert_parts`, dead letters and indicators one. */
H_FN void make_topics(cxp_mock *m, const char *prefix, int parts, int alert_parts) {
  static const char *const names[] = {"events", "alerts", "dead", "ind", "part", "cl"};
  char t[64];
  for (int i = 0; i < 6; i++) {
    snprintf(t, sizeof t, "%s.%s", prefix, names[i]);
    cxp_mock_topic(m, t, i == 1 ? alert_parts : i == 2 || i == 3 ? 1 : parts);
  }
}

H_FN void run_free(run *r) {
  cxp_daemon_destroy(r->d);
  cJSON_Delete(r->alerts);
  cJSON_Delete(r->dead);
  cJSON_Delete(r->indicators);
  cJSON_Delete(r->cases);
}

#define NPS(id, cust, ts, score)                                                   \
  "{\"event_id\":\"" id "\",\"type\":\"survey.nps\",\"customer_id\":\"" cust     \
  "\",\"ts\":\"" ts "\",\"score\":" #score "}"


#endif
