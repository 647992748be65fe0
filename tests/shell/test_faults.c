/* Faults that must not stop the daemon, against librdkafka's mock cluster in
 * one process: every phase feeds what once stalled or silently lost input,
 * then good events behind it, and checks the good events' outputs, the
 * dead letters (hand-counted), and the committed offsets.
 *
 * poison:    a 200 KB event of control bytes and a 1.1 MB event, whose dead
 *            letters escape to more than the producer takes: both cut to
 *            fit (payload_truncated, length, SHA-256), the events behind
 *            them processed, everything committed.
 * rejected:  the alerts topic does not exist (the broker says so): each
 *            alert becomes a dead letter output_rejected,
 *            the input moves on.
 * deadend:   the dead-letter topic does not exist: the
 *            daemon stops by itself, exit code 1, with nothing committed
 *            past the message whose dead letter had nowhere to go.
 * stall:     the broker refuses produce requests for a few seconds:
 *            readiness reports the outputs failing delivery, with the
 *            error, once health.max_retry_s passes, and recovers; every
 *            alert still arrives.
 * retention: the group's committed offset is deleted by the topic's
 *            retention while the daemon is away: the offsets skipped are
 *            counted, logged and dead-lettered as offsets_skipped.
 * CXP_TEST_PHASE=NAME runs one phase alone. */
#include "kafka_harness.h"

#include "config.h"
#include "sha256.h"

/* A producer for records larger than librdkafka's default message size
 * (the harness's produce() keeps the defaults). */
static void produce_large(const char *bs, const char *topic, const char *key, const char *val,
                          size_t len) {
  char e[256];
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  rd_kafka_conf_set(c, "bootstrap.servers", bs, e, sizeof e);
  rd_kafka_conf_set(c, "message.max.bytes", "4000000", e, sizeof e);
  rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, c, e, sizeof e);
  CHECK(p != NULL);
  if (p == NULL) return;
  rd_kafka_resp_err_t err =
      rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                        RD_KAFKA_V_VALUE((void *)val, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                        RD_KAFKA_V_END);
  CHECK_INT(err, 0);
  CHECK_INT(rd_kafka_flush(p, 10000), 0);
  rd_kafka_destroy(p);
}

static const cJSON *find_dead(const cJSON *dead, const char *reason, int64_t offset) {
  const cJSON *d;
  cJSON_ArrayForEach(d, dead) {
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(d, "source");
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(src, "offset");
    const char *r = get_s(d, "reason");
    if (r && strcmp(r, reason) == 0 && cJSON_IsNumber(o) && (int64_t)o->valuedouble == offset)
      return d;
  }
  return NULL;
}

/* The phase's topics (make_topics' names, one partition each) and a config
 * of customers only, where the broker says topic `missing` does not exist,
 * as a cluster that creates no topics by itself does; the daemon's producer
 * is told to believe it after half a second (librdkafka waits 30 s by
 * default for a topic to appear). */
static void topics_but(cxp_mock *m, const char *prefix, const char *missing, cxp_config *c,
                       cxp_pipeline *p) {
  static const char *const names[] = {"events", "alerts", "dead", "ind", "part", "cl"};
  char t[64];
  for (int i = 0; i < 6; i++) {
    snprintf(t, sizeof t, "%s.%s", prefix, names[i]);
    cxp_mock_topic(m, t, 1);
    if (strcmp(names[i], missing) == 0)
      rd_kafka_mock_topic_set_error(m->mc, t, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
  }
  customers_config(c, p, m->bootstraps, prefix);
  cxp_config_kafka_default(c, "producer.topic.metadata.propagation.max.ms", "500");
}

/* Good events of distinct customers, each a detractor: one alert each. */
static void produce_detractors(const char *bs, const char *topic, const char *prefix, int from,
                               int n) {
  char buf[256], key[32];
  for (int i = from; i < from + n; i++) {
    snprintf(key, sizeof key, "%s%d", prefix, i);
    int len = snprintf(buf, sizeof buf,
                       "{\"event_id\":\"%s-e%d\",\"type\":\"survey.nps\",\"customer_id\":\"%s\","
                       "\"ts\":\"2026-11-23T07:00:00Z\",\"score\":2}",
                       prefix, i, key);
    produce(bs, topic, key, buf, (size_t)len);
  }
  produce(bs, NULL, NULL, NULL, 0);
}

/* A truncated dead letter keeps a prefix of the original, every byte of it
 * `fill`, and says how long the original was and its digest. */
static void check_truncated(const cJSON *d, const char *orig, size_t len, char fill,
                            size_t min_kept) {
  CHECK(d != NULL);
  if (d == NULL) return;
  CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "payload_truncated")));
  CHECK_EQ(get_n(d, "payload_length"), len);
  char sha[65];
  cxp_sha256_hex(orig, len, sha);
  CHECK_STR(get_s(d, "payload_sha256"), sha);
  CHECK_STR(get_s(d, "payload_encoding"), "utf-8");
  const char *pl = get_s(d, "payload");
  size_t kept = pl ? strlen(pl) : 0;
  size_t bad = 0;
  for (size_t i = 0; i < kept; i++) bad += pl[i] != fill;
  CHECK_INT(bad, 0);
  CHECK_GE(kept, min_kept);
  CHECK_LT(kept, len);
  /* The whole record fits the producer's message.max.bytes (1000000). */
  char *txt = cJSON_PrintUnformatted(d);
  CHECK(txt != NULL);
  if (txt) CHECK_LT(strlen(txt), 1000000);
  free(txt);
}

/* Every dead letter a phase received, one JSON line each, for the schema
 * test (tests/shell/CMakeLists.txt: faults_schema) to validate. */
static FILE *dump;

static void dump_dead(const run *r) {
  const cJSON *d;
  cJSON_ArrayForEach(d, r->dead) {
    char *t = cJSON_PrintUnformatted(d);
    if (dump && t) fprintf(dump, "%s\n", t);
    free(t);
  }
}

static void phase_poison(cxp_mock *m) {
  const char *bs = m->bootstraps;
  make_topics(m, "pp", 1, 1);
  /* Offset 0: 200,000 control bytes (each escapes to 6 in JSON: a 1.2 MB
   * dead letter); 1: 1,100,000 bytes of 'x', over the producer's 1 MB;
   * 2..6: five detractors, one alert each. */
  size_t n_ctl = 200000, n_big = 1100000;
  char *ctl = malloc(n_ctl), *big = malloc(n_big);
  memset(ctl, 1, n_ctl);
  memset(big, 'x', n_big);
  produce_large(bs, "pp.events", "c-ctl", ctl, n_ctl);
  produce_large(bs, "pp.events", "c-big", big, n_big);
  produce_detractors(bs, "pp.events", "pp", 0, 5);
  cxp_config c;
  cxp_pipeline p;
  customers_config(&c, &p, bs, "pp");
  run r;
  memset(&r, 0, sizeof r);
  r.want_consumed = 7;
  r.want_alerts = 5;
  r.want_dead = 2;
  if (run_daemon(&r, &c, &p) == 0) {
    cxp_daemon_stats s;
    cxp_daemon_stats_get(r.d, &s);
    CHECK_INT(s.core->dead[CXP_BAD_TOO_LARGE], 2);
    CHECK_INT(s.core->dead_truncated, 2);
    CHECK_INT(cJSON_GetArraySize(r.alerts), 5);
    CHECK_INT(cJSON_GetArraySize(r.dead), 2);
    /* Refused outputs are not back-pressure: consumption never paused. */
    CHECK_INT(s.pauses, 0);
    /* Room for the payload: 1,000,000 less 512 of framing, less the key and
     * the record's other fields (under 600 bytes); 6 bytes per control
     * byte, 1 per 'x'. */
    check_truncated(find_dead(r.dead, "too_large", 0), ctl, n_ctl, '\x01', (999488 - 600) / 6);
    check_truncated(find_dead(r.dead, "too_large", 1), big, n_big, 'x', 999488 - 600);
    check_committed(bs, "g-pp", "pp.events", 1);
  }
  dump_dead(&r);
  run_free(&r);
  free(ctl);
  free(big);
}

static void phase_rejected(cxp_mock *m) {
  const char *bs = m->bootstraps;
  cxp_config c;
  cxp_pipeline p;
  topics_but(m, "ra", "alerts", &c, &p);
  /* 0: a detractor, 1: not JSON, 2: a detractor. */
  produce_detractors(bs, "ra.events", "ra", 0, 1);
  produce(bs, "ra.events", "ra-x", "{", 1);
  produce_detractors(bs, "ra.events", "ra", 1, 1);
  run r;
  memset(&r, 0, sizeof r);
  r.want_consumed = 3;
  r.want_dead = 3;
  if (run_daemon(&r, &c, &p) == 0) {
    cxp_daemon_stats s;
    cxp_daemon_stats_get(r.d, &s);
    CHECK_INT(cJSON_GetArraySize(r.alerts), 0);
    CHECK_INT(s.rejected[CXP_STREAM_ALERTS], 2);
    CHECK_INT(s.core->dead[CXP_BAD_OUTPUT_REJECTED], 2);
    CHECK_INT(s.core->dead[CXP_BAD_INVALID_JSON], 1);
    CHECK(find_dead(r.dead, "invalid_json", 1) != NULL);
    for (int64_t off = 0; off <= 2; off += 2) {
      const cJSON *d = find_dead(r.dead, "output_rejected", off);
      CHECK(d != NULL);
      if (d == NULL) continue;
      const cJSON *rej = cJSON_GetObjectItemCaseSensitive(d, "rejected");
      CHECK_STR(get_s(rej, "topic"), "ra.alerts");
      CHECK_STR(get_s(rej, "error"), "_UNKNOWN_TOPIC");
      /* The payload is the alert itself, whole. */
      cJSON *alert = cJSON_Parse(get_s(d, "payload"));
      CHECK_STR(get_s(alert, "type"), "recovery.closed_loop");
      CHECK_STR(get_s(alert, "customer_id"), off == 0 ? "ra0" : "ra1");
      cJSON_Delete(alert);
    }
    check_committed(bs, "g-ra", "ra.events", 1);
  }
  dump_dead(&r);
  run_free(&r);
}

static void phase_deadend(cxp_mock *m) {
  const char *bs = m->bootstraps;
  cxp_config c;
  cxp_pipeline p;
  topics_but(m, "de", "dead", &c, &p);
  /* 0: a detractor, 1: not JSON (its dead letter has nowhere to go), 2: a
   * detractor. */
  produce_detractors(bs, "de.events", "de", 0, 1);
  produce(bs, "de.events", "de-x", "{", 1);
  produce_detractors(bs, "de.events", "de", 1, 1);
  c.shutdown_timeout_ms = 3000;
  run r;
  memset(&r, 0, sizeof r);
  r.want_consumed = 1000; /* never: the daemon must stop by itself */
  r.want_exit = 1;
  uint64_t t0 = uv_hrtime();
  if (run_daemon(&r, &c, &p) == 0) {
    double secs = (double)(uv_hrtime() - t0) / 1e9;
    cxp_daemon_stats s;
    cxp_daemon_stats_get(r.d, &s);
    /* The stop comes from the dead letter's delivery report, which may
     * arrive before or after the third message is read: 2 or 3, never more
     * (nothing past the stop is taken). */
    CHECK_GE(s.core->consumed, 2);
    CHECK_LE(s.core->consumed, 3);
    CHECK_INT(cJSON_GetArraySize(r.dead), 0);
    /* Stopped on its own, well before the run's 60 s deadline. */
    CHECK_LT(secs, 30);
    rd_kafka_t *k;
    rd_kafka_topic_partition_list_t *l;
    CHECK_INT(committed(bs, "g-de", "de.events", 1, &k, &l), 0);
    /* Offset 1 (the message with nowhere to go) is not committed past: the
     * group's offset is 1 at most (or none). */
    int64_t off = l->elems[0].offset;
    CHECK_LE(off, 1);
    committed_done(k, l);
  }
  run_free(&r);
}

/* What the stall phase saw of readiness while the broker refused. */
static struct {
  int stalled, cleared;
  char why[256];
} stall;

static void watch_stall(run *r) {
  const char *why = cxp_daemon_stalled(r->d);
  const char *nr = cxp_daemon_not_ready(r->d);
  if (why) {
    /* /readyz gives the same sentence. */
    if (nr == NULL || strcmp(nr, why) != 0) stall.cleared = -1000;
    if (stall.stalled++ == 0) snprintf(stall.why, sizeof stall.why, "%s", why);
  } else if (stall.stalled && nr == NULL) {
    stall.cleared = 1;
  }
}

static void phase_stall(cxp_mock *m) {
  const char *bs = m->bootstraps;
  make_topics(m, "st", 1, 1);
  produce_detractors(bs, "st.events", "st", 0, 10);
  cxp_config c;
  cxp_pipeline p;
  customers_config(&c, &p, bs, "st");
  c.health_max_retry_s = 1;
  /* Deliveries time out after 1.5 s while the broker refuses (librdkafka
   * retries inside that), and the daemon produces them again. */
  cxp_config_kafka_default(&c, "producer.message.timeout.ms", "1500");
  /* The broker answers the next 50 produce requests with an error a
   * retry may pass: about 5 s at librdkafka's 100 ms retry backoff. */
  rd_kafka_resp_err_t errs[50];
  for (int i = 0; i < 50; i++) errs[i] = RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS;
  rd_kafka_mock_push_request_errors_array(m->mc, 0 /* Produce */, 50, errs);
  memset(&stall, 0, sizeof stall);
  run r;
  memset(&r, 0, sizeof r);
  r.want_consumed = 10;
  r.want_alerts = 10;
  r.want_ready = 1;
  r.every = watch_stall;
  if (run_daemon(&r, &c, &p) == 0) {
    cxp_daemon_stats s;
    cxp_daemon_stats_get(r.d, &s);
    fprintf(stderr, "stall: stalled for %d checks (50 ms apart): %s", stall.stalled, stall.why);
    /* Stalled for a while, with the reason, then ready again. */
    CHECK_GT(stall.stalled, 0);
    CHECK_CONTAINS(stall.why, "failing delivery for");
    CHECK_CONTAINS(stall.why, "Local: Message timed out");
    CHECK_INT(stall.cleared, 1);
    CHECK_GT(s.delivery_retries, 0);
    /* Nothing dropped: every alert, by id. */
    cJSON *ids = cJSON_CreateObject();
    const cJSON *a;
    cJSON_ArrayForEach(a, r.alerts) {
      const char *id = get_s(a, "alert_id");
      if (id && !cJSON_GetObjectItemCaseSensitive(ids, id)) cJSON_AddTrueToObject(ids, id);
    }
    CHECK_INT(cJSON_GetArraySize(ids), 10);
    cJSON_Delete(ids);
  }
  run_free(&r);
  rd_kafka_mock_clear_request_errors(m->mc, 0);
}

static void phase_retention(cxp_mock *m) {
  const char *bs = m->bootstraps;
  make_topics(m, "rt", 1, 1);
  produce_detractors(bs, "rt.events", "rt", 0, 10);
  cxp_config c;
  cxp_pipeline p;
  customers_config(&c, &p, bs, "rt");
  p.state_durable = 0;
  run r;
  memset(&r, 0, sizeof r);
  r.want_consumed = 10;
  r.want_alerts = 10;
  if (run_daemon(&r, &c, &p) == 0) check_committed(bs, "g-rt", "rt.events", 1);
  run_free(&r);

  /* While the daemon is away, 8 MiB more: the mock broker keeps about 5 MiB
   * a partition, so the log's start moves past the committed offset 10.
   * Each event is a valid detractor padded with a field no one reads. */
  enum { N = 1024, PAD = 8000 };
  char *ev = malloc(PAD + 256), key[32];
  for (int i = 10; i < 10 + N; i++) {
    snprintf(key, sizeof key, "rt%d", i);
    int len = snprintf(ev, 256, "{\"event_id\":\"rt-e%d\",\"type\":\"survey.nps\",\"customer_id\":"
                       "\"%s\",\"ts\":\"2026-11-23T08:00:00Z\",\"score\":2,\"pad\":\"", i, key);
    memset(ev + len, 'p', PAD);
    memcpy(ev + len + PAD, "\"}", 2);
    produce(bs, "rt.events", key, ev, (size_t)len + PAD + 2);
  }
  produce(bs, NULL, NULL, NULL, 0);
  free(ev);
  rd_kafka_t *k;
  rd_kafka_topic_partition_list_t *l;
  int64_t lo = -1, hi = -1;
  CHECK_INT(committed(bs, "g-rt", "rt.events", 1, &k, &l), 0);
  CHECK_INT(rd_kafka_query_watermark_offsets(k, "rt.events", 0, &lo, &hi, 10000), 0);
  committed_done(k, l);
  fprintf(stderr, "retention: the log holds offsets %lld..%lld\n", (long long)lo,
          (long long)hi - 1);
  CHECK_INT(hi, 10 + N);
  CHECK_GT(lo, 10);
  CHECK_LT(lo, hi);

  run r2;
  memset(&r2, 0, sizeof r2);
  r2.want_consumed = (uint64_t)(hi - lo);
  r2.want_dead = 1;
  char log_path[] = "/tmp/cxp-test-faults-XXXXXX";
  int lfd = mkstemp(log_path);
  close(lfd);
  int saved = capture_begin(log_path);
  int rc = run_daemon(&r2, &c, &p);
  capture_end(saved);
  if (rc == 0) {
    cxp_daemon_stats s;
    cxp_daemon_stats_get(r2.d, &s);
    /* Offsets 10..lo-1 were never read. */
    CHECK_INT(s.offsets_skipped, lo - 10);
    CHECK_INT(s.core->dead[CXP_BAD_OFFSETS_SKIPPED], 1);
    const cJSON *d = find_dead(r2.dead, "offsets_skipped", 10);
    CHECK(d != NULL);
    const cJSON *sk = cJSON_GetObjectItemCaseSensitive(d, "skipped");
    CHECK_EQ(get_n(sk, "first_offset"), 10);
    CHECK_EQ(get_n(sk, "last_offset"), lo - 1);
    CHECK_EQ(get_n(sk, "count"), lo - 10);
    CHECK_INT(cJSON_GetArraySize(r2.alerts), hi - lo);
    check_committed(bs, "g-rt", "rt.events", 1);
  }
  size_t len = 0;
  char err[256], want[160];
  char *text = cxp_read_file(log_path, &len, err, sizeof err);
  snprintf(want, sizeof want, "offsets 10..%lld of rt.events [0] were deleted by the topic's "
           "retention", (long long)lo - 1);
  if (text == NULL) fprintf(stderr, "retention: %s\n", err);
  CHECK_CONTAINS(text, want);
  free(text);
  unlink(log_path);
  dump_dead(&r2);
  run_free(&r2);
}

int main(void) {
  char err[256];
  cxp_mock m;
  dump = fopen("faults_dead_letters.jsonl", "w");
  cxp_log_level = CXP_LOG_WARN;
  if (cxp_mock_start(&m, 1, err, sizeof err)) {
    fprintf(stderr, "mock: %s\n", err);
    return 1;
  }
  static const struct {
    const char *name;
    void (*fn)(cxp_mock *);
  } phases[] = {{"poison", phase_poison},
                {"rejected", phase_rejected},
                {"deadend", phase_deadend},
                {"stall", phase_stall},
                {"retention", phase_retention}};
  const char *only = getenv("CXP_TEST_PHASE");
  for (size_t i = 0; i < sizeof phases / sizeof phases[0]; i++)
    if (only == NULL || strcmp(only, phases[i].name) == 0) {
      test_ctx = phases[i].name;
      phases[i].fn(&m);
    }
  test_ctx = NULL;
  if (dump) fclose(dump);
  cxp_mock_stop(&m);
  return TEST_REPORT();
}
