/* The daemon against librdkafka's mock cluster, in one process.
 *
 * Phase 1: a known mix of good and bad events; the exact alerts and dead
 * letters come out, every input offset is committed, and transient produce
 * errors injected into the broker change nothing.
 * Phase 2: back-pressure: a producer queue far smaller than the burst of
 * outputs; consumption pauses and resumes and every output still arrives
 * exactly once.
 * Phase 3: segment windows over three input partitions, merged through the
 * repartition topic: one final record per group, with hand-computed
 * figures, once every partition's window clock has passed the window. */
#include "kafka_harness.h"

#include <time.h>

#include "admin.h"
#include "learn.h"
#include "timeutil.h"

#include "scrape.h" /* the exposition read back, as cxpulse top reads it */

/* The most digits after a decimal point in any number of a JSON text
 * (digits after a point outside strings; the ids here have no points). */
static int most_decimals(const char *s) {
  int most = 0, quoted = 0;
  for (const char *p = s; *p; p++) {
    if (*p == '"' && (p == s || p[-1] != '\\')) quoted = !quoted;
    if (quoted || *p != '.' || p == s || p[-1] < '0' || p[-1] > '9') continue;
    int n = 0;
    while (p[1 + n] >= '0' && p[1 + n] <= '9') n++;
    if (n > most) most = n;
  }
  return most;
}

static void phase_known_mix(cxp_mock *m) {
  const char *bs = m->bootstraps;
  make_topics(m, "k", 3, 1);
  static char big[70000];
  memset(big, ' ', sizeof big);
  memcpy(big, "{\"a\":1}", 7);
  struct { const char *key, *val; size_t len; } in[] = {
      {"c1", NPS("e1", "c1", "2026-11-23T07:00:00Z", 2), 0},
      {"c2", "{\"event_id\":\"e2\",\"type\":\"survey.nps\",\"customer_id\":\"c2\","
             "\"ts\":\"2026-11-23T07:00:00Z\",\"score\":5,\"segment\":\"gold\"}", 0},
      {"c3", NPS("e3", "c3", "2026-11-23T07:00:00Z", 9), 0},
      {"c4", "{\"event_id\":\"e4\",\"type\":\"profile\",\"customer_id\":\"c4\","
             "\"ts\":\"2026-11-23T06:00:00Z\",\"segment\":\"silver\",\"consent\":false}", 0},
      {"c4", NPS("e5", "c4", "2026-11-23T07:00:00Z", 1), 0},
      {"c5", NPS("e6", "c5", "2026-11-23T07:00:00Z", 3), 0},
      {"c5", NPS("e7", "c5", "2026-11-23T08:00:00Z", 4), 0}, /* within cooldown */
      {"c6", NPS("e8", "c6", "2026-11-23T07:00:00Z", 0), 0},
      {"c6", NPS("e8", "c6", "2026-11-23T07:00:00Z", 0), 0}, /* the same event again */
      {"c7", "{", 0},
      {"c7", NPS("e9", "c7", "2026-11-23T07:00:00Z", 11), 0},
      {"c7", "{\"event_id\":\"e10\",\"type\":\"mood\",\"customer_id\":\"c7\",\"ts\":1}", 0},
      {"c7", big, sizeof big},
      {"c7", "\xff\xfe", 2},
      {NULL, NPS("e11", "c8", "2026-11-23T07:00:00Z", 6), 0}, /* no key: still used */
  };
  size_t n = sizeof in / sizeof in[0];
  for (size_t i = 0; i < n; i++)
    produce(bs, "k.events", in[i].key, in[i].val, in[i].len ? in[i].len : strlen(in[i].val));
  produce(bs, NULL, NULL, NULL, 0);

  /* Fault: the first three produce requests of the daemon fail with a
   * retriable error; the idempotent producer retries them. */
  rd_kafka_mock_push_request_errors(m->mc, 0 /* Produce */, 3,
                                    RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                    RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                    RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
  cxp_config c;
  cxp_pipeline p;
  /* Customers only: events hours apart on one partition; phase 3 has the
   * windows and the recovery deadlines. */
  customers_config(&c, &p, bs, "k");
  run r;
  memset(&r, 0, sizeof r);
  /* Hand count: c1 (2: P2), c2 (5, gold: P3 lifted to P2), c5 (3: P2; 4 an
   * hour later is in cooldown), c6 (0: P2, once), c8 (6: P3); none for c3
   * (promoter) and c4 (consent false). */
  r.want_consumed = n;
  r.want_alerts = 5;
  r.want_dead = 5;
  if (run_daemon(&r, &c, &p)) return;
  cxp_daemon_stats s;
  cxp_daemon_stats_get(r.d, &s);
  CHECK_INT(s.core->consumed, 15);
  CHECK_INT(s.core->duplicates, 1);
  CHECK_INT(s.core->suppressed_consent, 1);
  CHECK_INT(s.core->suppressed_cooldown, 1);
  CHECK_INT(s.core->dead[CXP_BAD_INVALID_JSON], 2); /* "{" and the non-UTF-8 bytes */
  CHECK_INT(s.core->dead[CXP_BAD_OUT_OF_RANGE], 1);
  CHECK_INT(s.core->dead[CXP_BAD_UNKNOWN_TYPE], 1);
  CHECK_INT(s.core->dead[CXP_BAD_TOO_LARGE], 1);
  CHECK_INT(cJSON_GetArraySize(r.alerts), 5);
  CHECK_INT(cJSON_GetArraySize(r.dead), 5);
  const char *want[][2] = {{"c1", "P2"}, {"c2", "P2"}, {"c5", "P2"}, {"c6", "P2"}, {"c8", "P3"}};
  for (int i = 0; i < 5; i++) {
    const cJSON *a = find_alert(r.alerts, want[i][0]);
    CHECK(a != NULL);
    if (a == NULL) continue;
    CHECK_STR(get_s(a, "priority"), want[i][1]);
    CHECK_STR(get_s(a, "type"), "recovery.closed_loop");
  }
  CHECK(find_alert(r.alerts, "c3") == NULL);
  CHECK(find_alert(r.alerts, "c4") == NULL);
  /* The non-UTF-8 message travels as base64: 0xff 0xfe -> "//4=". */
  int saw_b64 = 0;
  const cJSON *dl;
  cJSON_ArrayForEach(dl, r.dead) {
    const char *enc = get_s(dl, "payload_encoding");
    if (enc && strcmp(enc, "base64") == 0) {
      saw_b64 = 1;
      CHECK_STR(get_s(dl, "payload"), "//4=");
    }
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(dl, "source");
    CHECK_STR(get_s(src, "topic"), "k.events");
  }
  CHECK(saw_b64);
  check_committed(bs, "g-k", "k.events", 3);
  run_free(&r);
}

/* NPS detractors (score 2) on PREFIX.events, one per customer PREFIXi for
 * i in from..from+n-1 (event ids PREFIXei): an alert each. */
static void produce_detractors(const char *bs, const char *prefix, int from, int n) {
  char buf[256], key[32], topic[64];
  snprintf(topic, sizeof topic, "%s.events", prefix);
  for (int i = from; i < from + n; i++) {
    snprintf(key, sizeof key, "%s%d", prefix, i);
    int len =
        snprintf(buf, sizeof buf,
                 "{\"event_id\":\"%se%d\",\"type\":\"survey.nps\",\"customer_id\":\"%s\","
                 "\"ts\":1795420800000,\"score\":2}",
                 prefix, i, key);
    produce(bs, topic, key, buf, (size_t)len);
  }
  produce(bs, NULL, NULL, NULL, 0);
}

/* Each input partition's lag once everything is consumed, delivered and
 * resumed, half a second on (ten checks): the run is held until then. */
static int64_t lag_after[2];
static int lag_quiet;
static void lag_when_done(run *r) {
  cxp_daemon_stats s;
  cxp_daemon_stats_get(r->d, &s);
  if (s.core->consumed < r->want_consumed || s.in_flight > 0 || s.paused) {
    lag_quiet = 0;
    return;
  }
  if (++lag_quiet < 10 || !r->hold) return;
  int32_t parts[4];
  int64_t lags[4];
  int n = cxp_daemon_lag(r->d, parts, lags, 4);
  for (int i = 0; i < n; i++)
    if (parts[i] >= 0 && parts[i] < 2) lag_after[parts[i]] = lags[i];
  r->hold = 0;
}

/* n detractors on PREFIX.events (two partitions) through a daemon that
 * back-pressure pauses (c as the caller set it): every event consumed and
 * applied once, every alert delivered once (distinct ids), the input paused
 * more than min_pauses times, and the offsets committed. Each partition's
 * lag is then 0: every resume seeks, which leaves librdkafka with no
 * position until the next message is polled, and with none to come the
 * daemon's own stands in (it was -1: unknown, so the partition never
 * counted as caught up and its windows' quiet clock stood still). */
static void detractors_paused(cxp_mock *m, const char *prefix, cxp_config *c,
                              cxp_pipeline *p, int n, uint64_t min_pauses) {
  const char *bs = m->bootstraps;
  run r;
  memset(&r, 0, sizeof r);
  r.want_consumed = (uint64_t)n;
  r.want_alerts = (uint64_t)n;
  r.want_dead = 0;
  r.hold = 1;
  r.every = lag_when_done;
  lag_after[0] = lag_after[1] = -2;
  lag_quiet = 0;
  if (run_daemon(&r, c, p)) return;
  cxp_daemon_stats s;
  cxp_daemon_stats_get(r.d, &s);
  CHECK_INT(s.core->consumed, n);
  CHECK_INT(lag_after[0], 0);
  CHECK_INT(lag_after[1], 0);
  CHECK_INT(s.core->duplicates, 0);
  CHECK_INT(s.delivered[CXP_STREAM_ALERTS], n);
  CHECK_INT(cJSON_GetArraySize(r.alerts), n);
  CHECK_GT(s.pauses, min_pauses);
  cJSON *ids = cJSON_CreateObject();
  int dup = 0;
  const cJSON *a;
  cJSON_ArrayForEach(a, r.alerts) {
    const char *id = get_s(a, "alert_id");
    if (cJSON_GetObjectItemCaseSensitive(ids, id))
      dup++;
    else
      cJSON_AddTrueToObject(ids, id);
  }
  CHECK_INT(dup, 0);
  cJSON_Delete(ids);
  char group[32], topic[64];
  snprintf(group, sizeof group, "g-%s", prefix);
  snprintf(topic, sizeof topic, "%s.events", prefix);
  check_committed(bs, group, topic, 2);
  run_free(&r);
}

/* The topics of PREFIX (two partitions, alerts on alert_parts), n
 * detractors on its input, and a daemon's settings for them. */
static void detractors_ready(cxp_mock *m, const char *prefix, int alert_parts, int n,
                             cxp_config *c, cxp_pipeline *p) {
  make_topics(m, prefix, 2, alert_parts);
  produce_detractors(m->bootstraps, prefix, 0, n);
  customers_config(c, p, m->bootstraps, prefix);
}

static void phase_backpressure(cxp_mock *m) {
  enum { N = 20000 };
  cxp_config c;
  cxp_pipeline p;
  detractors_ready(m, "b", 2, N, &c, &p);
  /* Every event is a detractor: 20000 alerts through a producer that holds
   * 2000 messages at most, paused at 1000 queued. */
  c.backpressure_high = 1000;
  c.backpressure_low = 100;
  cxp_config_kafka_default(&c, "producer.queue.buffering.max.messages", "2000");
  /* The first eight produce requests answered 300 ms late: the daemon
   * queues alerts faster than the broker takes them, however fast this
   * machine is (a quick mock broker could otherwise keep the queue under
   * 1000 at every slice's end, and the pause would hang on timing). Only
   * produce requests wait, so fetches, heartbeats and commits go as ever. */
  rd_kafka_mock_broker_push_request_error_rtts(m->mc, 1, 0 /* Produce */, 8, 0, 300, 0, 300, 0,
                                               300, 0, 300, 0, 300, 0, 300, 0, 300, 0, 300);
  detractors_paused(m, "b", &c, &p, N, 0);
}

/* Pauses that come after a partition's messages were fetched and before
 * the first of them was polled (since its assignment or a seek): librdkafka
 * purges them and, having no position of the application's for the
 * partition, would resume past them. A slice of one message and a
 * back-pressure mark of one queued output pause and resume the input after
 * nearly every event, around the restores' pauses and seeks; every event
 * must still arrive, once. Timing decides whether a pause falls in that
 * gap: before daemon_pause_list sought on every resume, this phase lost a
 * fetched batch of a partition (43 of 200 events) in one run of three, and
 * the restore phase its second run's events of a partition in one of 25. */
static void phase_pause_first(cxp_mock *m) {
  enum { N = 200 };
  cxp_config c;
  cxp_pipeline p;
  detractors_ready(m, "pf", 1, N, &c, &p);
  c.poll_batch = 1;
  c.backpressure_high = 1;
  c.backpressure_low = 0;
  /* Each resume's fetch waits for the fetch then in flight, which at the
   * end of the log the broker holds up to fetch.wait.max.ms (100 by
   * default): 10 here, so that the 400 or so pauses and resumes take a few
   * seconds, not 40 (the run's deadline is 60 s of checks). */
  cxp_config_kafka_default(&c, "consumer.fetch.wait.max.ms", "10");
  detractors_paused(m, "pf", &c, &p, N, 1);
}

static const cJSON *find_group(const cJSON *records, const char *field, const char *value) {
  const cJSON *rec;
  cJSON_ArrayForEach(rec, records) {
    const char *v = get_s(cJSON_GetObjectItemCaseSensitive(rec, "group"), field);
    if (v && strcmp(v, value) == 0) return rec;
  }
  return NULL;
}

static void phase_windows(cxp_mock *m) {
  const char *bs = m->bootstraps;
  make_topics(m, "w", 3, 1);
  /* 30 CSAT responses, one per customer (so spread over the 3 partitions),
   * all in one second of event time, 2 s before now. Customers 0, 2, .. 28
   * are gold and score 1 + i % 5: the even i take every residue mod 5 three
   * times, so scores 1..5 thrice each, 4 and 5 satisfied: 6 of 15 = 40.
   * Odd customers are silver and score 5: 15 of 15 = 100. Channel app has
   * all 30: 21 of 30 = 70. */
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  long long ts = ((long long)now.tv_sec - 2) * 1000; /* a whole second */
  char buf[256], key[16];
  for (int i = 0; i < 30; i++) {
    snprintf(key, sizeof key, "w%d", i);
    int n = snprintf(buf, sizeof buf,
                     "{\"event_id\":\"we%d\",\"type\":\"survey.csat\",\"customer_id\":\"%s\","
                     "\"ts\":%lld,\"score\":%d,\"segment\":\"%s\",\"channel\":\"app\"}",
                     i, key, ts + i, i % 2 ? 5 : 1 + i % 5, i % 2 ? "silver" : "gold");
    produce(bs, "w.events", key, buf, (size_t)n);
  }
  /* A severity-1 failure for w0 with a 6 s acknowledge deadline (0.1 min)
   * that nobody meets: the quiet partition's clock, moving with the wall
   * clock from the failure's arrival, reaches it about 4 s after it. */
  int n = snprintf(buf, sizeof buf,
                   "{\"event_id\":\"wf\",\"type\":\"service.failure\",\"customer_id\":\"w0\","
                   "\"ts\":%lld,\"case_id\":\"k-w0\",\"category\":\"operational\","
                   "\"severity\":1,\"detected_by\":\"provider\",\"touchpoint\":\"app\"}",
                   ts + 100);
  produce(bs, "w.events", "w0", buf, (size_t)n);
  produce(bs, NULL, NULL, NULL, 0);
  cxp_config c;
  cxp_pipeline p;
  base_config(&c, &p, bs, "w");
  p.rec_ack_min[0] = 0.1;
  /* One-second windows, no lateness: the quiet partitions' clocks close
   * them about a second after the events arrived. */
  snprintf(p.win_lengths, sizeof p.win_lengths, "[\"1s\"]");
  p.win_lateness_s = 0;
  p.win_min_n = 20;
  char err[256];
  CHECK_INT(cxp_pipeline_windows(&p, err, sizeof err), 0);
  CHECK_INT(cxp_pipeline_cases(&p, err, sizeof err), 0);
  run r;
  memset(&r, 0, sizeof r);
  r.want_consumed = 31;
  r.want_indicators = 4;
  r.want_alerts = 2; /* recovery.required, then the level-1 breach */
  c.http_port = 0; /* a free port */
  /* A datagram socket plays systemd's part. */
  char sock_path[64];
  snprintf(sock_path, sizeof sock_path, "/tmp/cxp_notify_%d", (int)getpid());
  unlink(sock_path);
  int nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
  CHECK_INT(bind(nfd, (struct sockaddr *)&sa, sizeof sa), 0);
  setenv("NOTIFY_SOCKET", sock_path, 1);
  snprintf(c.http_token, sizeof c.http_token, "s3cret");
  r.probe_http = 1;
  if (run_daemon(&r, &c, &p)) return;
  /* gold, silver, app, and channel "unknown" for the failure (which has no
   * channel; it is in the same second, and counts under w0's gold):
   * exactly four records, each complete. */
  CHECK_INT(cJSON_GetArraySize(r.indicators), 4);
  const cJSON *unk = find_group(r.indicators, "channel", "unknown");
  CHECK(unk != NULL);
  if (unk) {
    CHECK_EQ(get_n(unk, "cases_opened"), 1);
    CHECK_EQ(get_n(cJSON_GetObjectItemCaseSensitive(unk, "n"), "events"), 1);
  }
  CHECK_INT(cJSON_GetArraySize(r.dead), 0);
  const cJSON *gold = find_group(r.indicators, "segment", "gold");
  const cJSON *silver = find_group(r.indicators, "segment", "silver");
  const cJSON *app = find_group(r.indicators, "channel", "app");
  CHECK(gold && silver && app);
  if (gold && silver && app) {
    CHECK_EQ(get_n(gold, "csat"), 40);
    CHECK_EQ(get_n(silver, "csat"), 100);
    CHECK_EQ(get_n(app, "csat"), 70);
    CHECK_EQ(get_n(cJSON_GetObjectItemCaseSensitive(app, "n"), "csat"), 30);
    CHECK_EQ(get_n(cJSON_GetObjectItemCaseSensitive(gold, "n"), "csat"), 15);
    CHECK_EQ(get_n(cJSON_GetObjectItemCaseSensitive(gold, "n"), "events"), 16);
    CHECK_EQ(get_n(gold, "cases_opened"), 1);
    /* 15 responses under min_n 20: marked; 30 is not. */
    CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(gold, "low_n")), 1);
    CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(app, "low_n")), 0);
    CHECK(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(app, "incomplete")));
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(app, "nps")));
  }
  /* The failure: recovery.required at once (severity 1: P1), then the
   * acknowledge deadline breached at level 1, by the wall clock alone. */
  const cJSON *req = NULL, *breach = NULL, *al;
  cJSON_ArrayForEach(al, r.alerts) {
    const char *t = get_s(al, "type");
    if (t && strcmp(t, "recovery.required") == 0) req = al;
    if (t && strcmp(t, "recovery.sla_breached") == 0 && breach == NULL) breach = al;
  }
  CHECK(req != NULL && breach != NULL);
  if (req && breach) {
    CHECK_STR(get_s(req, "case_id"), "k-w0");
    CHECK_STR(get_s(req, "priority"), "P1");
    CHECK_STR(get_s(breach, "case_id"), "k-w0");
    const cJSON *esc = cJSON_GetObjectItemCaseSensitive(breach, "escalation");
    CHECK_EQ(get_n(esc, "level"), 1);
    CHECK_STR(get_s(esc, "step"), "acknowledge");
    CHECK_STR(get_s(breach, "role"), "team_lead");
  }
  unsetenv("NOTIFY_SOCKET");
  /* systemd heard READY=1 (partitions assigned) before STOPPING=1. */
  char dg[512], heard[2048] = "";
  ssize_t dn;
  while ((dn = recv(nfd, dg, sizeof dg - 1, 0)) > 0) {
    dg[dn] = '\0';
    strncat(heard, dg, sizeof heard - strlen(heard) - 2);
    strcat(heard, "|");
  }
  close(nfd);
  unlink(sock_path);
  const char *ready = strstr(heard, "READY=1"), *stopping = strstr(heard, "STOPPING=1");
  CHECK_CONTAINS(heard, "READY=1");
  CHECK_CONTAINS(heard, "STOPPING=1");
  if (ready && stopping) CHECK_LT(ready - heard, stopping - heard);
  /* The admin endpoint answered while the daemon ran. */
  CHECK_PREFIX(r.answers[0], "HTTP/1.1 200");
  CHECK_CONTAINS(r.answers[1], "\r\n\r\nok\n");
  CHECK_CONTAINS(r.answers[2], "# TYPE cxpulse_events_consumed_total counter");
  CHECK_CONTAINS(r.answers[2], "cxpulse_build_info{version=");
  CHECK_CONTAINS(r.answers[2], "cxpulse_processing_seconds_bucket{le=");
  CHECK_CONTAINS(r.answers[2], "cxpulse_consumer_lag_messages{partition=");
  /* The process_* families, with HELP and TYPE, and plausible figures for
   * this very process: started within the test's hour, more than 1 MB
   * resident, some descriptors open and room for them. */
  CHECK_CONTAINS(r.answers[2], "# TYPE process_cpu_seconds_total counter\n");
  CHECK_CONTAINS(r.answers[2], "# TYPE process_start_time_seconds gauge\n");
  double started = cxp_scrape_sum(r.answers[2], "process_start_time_seconds");
  CHECK_GT(started, (double)time(NULL) - 3600);
  CHECK_LE(started, (double)time(NULL) + 1);
  CHECK_GT(cxp_scrape_sum(r.answers[2], "process_resident_memory_bytes"), 1e6);
  CHECK_GE(cxp_scrape_sum(r.answers[2], "process_virtual_memory_bytes"),
           cxp_scrape_sum(r.answers[2], "process_resident_memory_bytes"));
  CHECK_GE(cxp_scrape_sum(r.answers[2], "process_cpu_seconds_total"), 0.0);
  CHECK_GE(cxp_scrape_sum(r.answers[2], "process_open_fds"), 3.0);
  CHECK_GT(cxp_scrape_sum(r.answers[2], "process_max_fds"),
           cxp_scrape_sum(r.answers[2], "process_open_fds"));
  /* Prometheus' own checker accepts the exposition (promtool comes with
   * Debian's prometheus package, which make check installs). */
  const char *body = strstr(r.answers[2], "\r\n\r\n");
  if (body && access("/usr/bin/promtool", X_OK) == 0) {
    char path[] = "/tmp/cxp_metrics_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd >= 0) {
      size_t blen = strlen(body + 4);
      CHECK_INT(write(fd, body + 4, blen), (long)blen);
      close(fd);
      char cmd[128];
      snprintf(cmd, sizeof cmd, "promtool check metrics < %s", path);
      CHECK_INT(system(cmd), 0);
      unlink(path);
    }
  }
  CHECK_PREFIX(r.answers[3], "HTTP/1.1 401"); /* no token */
  CHECK_PREFIX(r.answers[4], "HTTP/1.1 200");
  CHECK_CONTAINS(r.answers[4], "\"pipeline\":\"default\"");
  CHECK_PREFIX(r.answers[5], "HTTP/1.1 200");
  CHECK_CONTAINS(r.answers[5], "\"customer_id\":\"w0\"");
  CHECK_CONTAINS(r.answers[5], "\"segment\":\"gold\"");
  /* w0 answered CSAT 1 (i = 0: score 1 + 0 % 5): top-2-box share 0. */
  CHECK_CONTAINS(r.answers[5], "\"csat\":0,");
  CHECK_CONTAINS(r.answers[5], "\"open\":1");
  /* No NPS response: no class, null (a class would be its name). */
  CHECK_CONTAINS(r.answers[5], "\"nps_class\":null");
  /* Figures rounded: no number in the answer has more than 3 decimals. */
  CHECK_LE(most_decimals(r.answers[5]), 3);
  cxp_daemon_stats s;
  cxp_daemon_stats_get(r.d, &s);
  /* At least one partial per group from some partition, in records of the
   * repartition topic that read back whole (the tap counted them). */
  CHECK_GE(r.repart_partials, 3);
  CHECK_INT(s.delivered[CXP_STREAM_PARTIALS], r.repart_records);
  CHECK_INT(s.delivered[CXP_STREAM_MARKERS], 0);
  check_committed(bs, "g-w", "w.events", 3);
  run_free(&r);
}

/* Reload while events flow: the first 10 detractors are answered with the
 * closed loop; then the pipeline is replaced by an invalid file (refused,
 * nothing changes), then by one with the closed loop off; 10 more detractors
 * raise nothing; every event is consumed once and the first customers are
 * still held (state kept). */
static char reload_cfg[64], reload_pl[64];

static void write_pipeline(const char *path, int closed_loop, int valid) {
  FILE *f = fopen(path, "w");
  if (f == NULL) return;
  if (!valid)
    fputs("{\"alerts\": {\"cooldown_h\": -5}}", f);
  else
    fprintf(f,
            "{\"topics\": {\"input\": \"r.events\", \"alerts\": \"r.alerts\", \"indicators\": "
            "\"r.ind\", \"dead_letters\": \"r.dead\", \"repartition\": \"r.part\", "
            "\"changelog\": \"r.cl\"},"
            " \"windows\": {\"enabled\": false}, \"recovery\": {\"enabled\": false},"
            " \"alerts\": {\"closed_loop\": {\"enabled\": %s}}}",
            closed_loop ? "true" : "false");
  fclose(f);
}

static void mid_reload(run *r) {
  write_pipeline(reload_pl, 1, 0);
  CHECK_INT(cxp_daemon_reload(r->d, reload_cfg), -1); /* refused: kept */
  write_pipeline(reload_pl, 0, 1);
  CHECK_INT(cxp_daemon_reload(r->d, reload_cfg), 0);
  produce_detractors(r->bs, "r", 10, 10);
}

static void phase_reload(cxp_mock *m) {
  const char *bs = m->bootstraps;
  make_topics(m, "r", 2, 1);
  snprintf(reload_cfg, sizeof reload_cfg, "/tmp/cxp_reload_%d.json", (int)getpid());
  snprintf(reload_pl, sizeof reload_pl, "/tmp/cxp_reload_%d.pipeline.json", (int)getpid());
  write_pipeline(reload_pl, 1, 1);
  FILE *f = fopen(reload_cfg, "w");
  if (f == NULL) return;
  fprintf(f, "{\"pipeline\": \"%s\", \"log\": {\"level\": \"error\"},"
             " \"kafka\": {\"bootstrap.servers\": \"%s\", \"consumer.group.id\": \"g-r\","
             " \"consumer.session.timeout.ms\": 6000}}",
          reload_pl, bs);
  fclose(f);
  char err[512];
  cxp_config c;
  cxp_pipeline p;
  CHECK_INT(cxp_config_load(&c, reload_cfg, err, sizeof err), 0);
  CHECK_INT(cxp_pipeline_load(&p, c.pipeline, err, sizeof err), 0);
  c.stats_interval_s = 0;
  produce_detractors(bs, "r", 0, 10);
  run r;
  memset(&r, 0, sizeof r);
  r.bs = bs;
  r.mid_at = 10;
  r.mid = mid_reload;
  r.want_consumed = 20;
  r.want_alerts = 10;
  if (run_daemon(&r, &c, &p)) return;
  cxp_daemon_stats s;
  cxp_daemon_stats_get(r.d, &s);
  CHECK(r.mid_done);
  CHECK_INT(s.core->consumed, 20);
  CHECK_INT(s.core->duplicates, 0);
  /* Alerts for r0..r9 only: the closed loop was off for r10..r19. */
  CHECK_INT(cJSON_GetArraySize(r.alerts), 10);
  CHECK(find_alert(r.alerts, "r3") != NULL);
  CHECK(find_alert(r.alerts, "r13") == NULL);
  /* State kept across the reload: all 20 customers held. */
  CHECK_INT(r.customers_held, 20);
  check_committed(bs, "g-r", "r.events", 2);
  run_free(&r);
  unlink(reload_cfg);
  unlink(reload_pl);
}

/* Durable state: what one run changed is restored by the next, from the
 * changelog, before its partitions are processed. */
static void produce_csat(const char *bs, const char *topic, const char *prefix, int n,
                         int score) {
  char buf[256], key[32];
  for (int i = 0; i < n; i++) {
    snprintf(key, sizeof key, "s%d", i);
    int len = snprintf(buf, sizeof buf,
                       "{\"event_id\":\"%s%d\",\"type\":\"survey.csat\",\"customer_id\":"
                       "\"%s\",\"ts\":1795420800000,\"score\":%d}",
                       prefix, i, key, score);
    produce(bs, topic, key, buf, (size_t)len);
  }
  produce(bs, NULL, NULL, NULL, 0);
}

static void phase_restore(cxp_mock *m) {
  const char *bs = m->bootstraps;
  make_topics(m, "s", 2, 1);
  enum { N = 10 };
  /* Run 1: every customer answers CSAT 5. */
  produce_csat(bs, "s.events", "one", N, 5);
  cxp_config c;
  cxp_pipeline p;
  customers_config(&c, &p, bs, "s");
  run r;
  memset(&r, 0, sizeof r);
  r.want_consumed = N;
  r.probe_id = "s3";
  if (run_daemon(&r, &c, &p)) return;
  cxp_daemon_stats s;
  cxp_daemon_stats_get(r.d, &s);
  CHECK_INT(s.core->processed, N);
  CHECK_INT(s.restore_partitions, 2); /* both empty */
  CHECK_INT(s.restore_records, 0);
  /* One record per customer: all changed within one coalescing interval
   * (1 s; the final flush at the stop at the latest). */
  CHECK_INT(r.changelog, N);
  CHECK_INT(s.changelog_records, N);
  CHECK_EQ(r.probe_csat, 100.0);
  check_committed(bs, "g-s", "s.events", 2);
  run_free(&r);

  /* Run 2, same group: only the new events are read (all committed
   * before); each customer's CSAT 1 joins his restored CSAT 5, at the same
   * event time: top-2-box 1 of 2 = 50 (a lost history would give 0). */
  produce_csat(bs, "s.events", "two", N, 1);
  run r2;
  if (run_probe(&r2, &c, &p, N, "s3", &s)) return;
  CHECK_INT(s.core->consumed, N);
  CHECK_INT(s.core->processed, N);
  CHECK_INT(s.restore_records, N);
  CHECK_INT(s.restore_errors, 0);
  CHECK_EQ(r2.probe_csat, 50.0);
  CHECK_INT(r2.changelog, N);
  run_free(&r2);

  /* Run 3, a new group: reads the input from its start, but every event is
   * at or below its customer's restored offset: skipped, none applied
   * twice, no alert raised again. */
  other_group(&c, bs, "g-s-other");
  run r3;
  if (run_probe(&r3, &c, &p, 2 * N, "s3", &s)) return;
  CHECK_INT(s.core->consumed, 2 * N);
  CHECK_INT(s.core->processed, 0);
  CHECK_INT(s.core->duplicates, 2 * N);
  CHECK_INT(s.restore_records, 2 * N); /* two records per customer: no compaction here */
  CHECK_EQ(r3.probe_csat, 50.0);
  CHECK_INT(cJSON_GetArraySize(r3.alerts), 0);
  CHECK_INT(r3.changelog, 0);
  check_committed(bs, "g-s-other", "s.events", 2);
  run_free(&r3);
}

/* A customer idle past state.idle_ttl_days is forgotten: the daemon's idle
 * sweep removes him and his tombstone reaches the changelog; the next
 * owner of the partition does not restore him. */
static void phase_ttl(cxp_mock *m) {
  const char *bs = m->bootstraps;
  make_topics(m, "t", 1, 1);
  static const char *ev[] = {
      "{\"event_id\":\"t1\",\"type\":\"survey.csat\",\"customer_id\":\"old\","
      "\"ts\":\"2026-11-01T00:00:00Z\",\"score\":5}",
      "{\"event_id\":\"t2\",\"type\":\"survey.csat\",\"customer_id\":\"recent\","
      "\"ts\":\"2026-11-02T12:00:00Z\",\"score\":5}",
      "{\"event_id\":\"t3\",\"type\":\"survey.csat\",\"customer_id\":\"new\","
      "\"ts\":\"2026-11-03T06:00:00Z\",\"score\":5}"};
  static const char *keys[] = {"old", "recent", "new"};
  for (int i = 0; i < 3; i++) produce(bs, "t.events", keys[i], ev[i], strlen(ev[i]));
  produce(bs, NULL, NULL, NULL, 0);
  cxp_config c;
  cxp_pipeline p;
  customers_config(&c, &p, bs, "t");
  p.state_ttl_days = 1; /* at the clock (Nov 3 06:00) only "old" is idle over a day */
  run r;
  memset(&r, 0, sizeof r);
  r.want_consumed = 3;
  r.want_tombstones = 1;
  if (run_daemon(&r, &c, &p)) return;
  cxp_daemon_stats s;
  cxp_daemon_stats_get(r.d, &s);
  CHECK_INT(s.core->evicted_ttl, 1);
  CHECK_INT(r.tombstones, 1);
  CHECK_STR(r.tombstone_key, "c:old");
  CHECK_INT(r.customers_held, 2);
  run_free(&r);
  /* A new group restores the changelog: the state records and the
   * tombstone, so "old" is not held; his event, at or below no restored
   * offset, is applied afresh (and "recent", "new" are skipped). */
  other_group(&c, bs, "g-t-other");
  p.state_ttl_days = 0;
  run r2;
  if (run_probe(&r2, &c, &p, 3, "old", &s)) return;
  /* "old" was swept before his first flush: only his tombstone was written,
   * with the states of the two others. */
  CHECK_INT(s.restore_records, 3);
  CHECK_INT(s.core->processed, 1);
  CHECK_INT(s.core->duplicates, 2);
  CHECK_INT(r2.probe_offset, 0);
  run_free(&r2);
}

/* Broker faults while the daemon works: produce requests fail or drop the
 * connection, fetches and commits fail, and the broker goes down for 1.5 s
 * and comes back. Nothing is lost (every event applied, every alert out,
 * the changelog complete) and nothing applied twice (a new group that reads
 * everything again, after restoring the changelog, applies nothing). */
static void on_up(uv_timer_t *t) {
  run *r = t->data;
  rd_kafka_mock_broker_set_up(r->mock->mc, -1);
  r->broker_down = 0;
  uv_close((uv_handle_t *)t, NULL);
}

static void mid_broker_down(run *r) {
  rd_kafka_mock_broker_set_down(r->mock->mc, -1);
  r->broker_down = 1;
  uv_timer_init(&r->loop, &r->up);
  r->up.data = r;
  uv_timer_start(&r->up, on_up, 1500, 0);
}

static void phase_faults(cxp_mock *m) {
  const char *bs = m->bootstraps;
  make_topics(m, "f", 2, 1);
  enum { C = 50 };
  /* Each customer: CSAT 5, 5, 1 (decayed CSAT 2 of 3 = 66.7) and a
   * detractor NPS (one recovery.closed_loop alert). */
  char buf[256], key[16];
  for (int i = 0; i < C; i++) {
    snprintf(key, sizeof key, "f%d", i);
    static const int sc[3] = {5, 5, 1};
    for (int k = 0; k < 3; k++) {
      int n = snprintf(buf, sizeof buf,
                       "{\"event_id\":\"fc%d-%d\",\"type\":\"survey.csat\",\"customer_id\":"
                       "\"%s\",\"ts\":\"2026-11-20T10:00:00Z\",\"score\":%d}",
                       i, k, key, sc[k]);
      produce(bs, "f.events", key, buf, (size_t)n);
    }
    int n = snprintf(buf, sizeof buf,
                     "{\"event_id\":\"fn%d\",\"type\":\"survey.nps\",\"customer_id\":\"%s\","
                     "\"ts\":\"2026-11-20T10:00:01Z\",\"score\":2}",
                     i, key);
    produce(bs, "f.events", key, buf, (size_t)n);
  }
  produce(bs, NULL, NULL, NULL, 0);
  /* Protocol API keys: Produce 0, Fetch 1, OffsetCommit 8. */
  rd_kafka_mock_push_request_errors(m->mc, 0, 6, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                    RD_KAFKA_RESP_ERR__TRANSPORT,
                                    RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                    RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                    RD_KAFKA_RESP_ERR__TRANSPORT,
                                    RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
  rd_kafka_mock_push_request_errors(m->mc, 1, 3, RD_KAFKA_RESP_ERR__TRANSPORT,
                                    RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                    RD_KAFKA_RESP_ERR__TRANSPORT);
  rd_kafka_mock_push_request_errors(m->mc, 8, 3, RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
                                    RD_KAFKA_RESP_ERR__TRANSPORT,
                                    RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
  cxp_config c;
  cxp_pipeline p;
  customers_config(&c, &p, bs, "f");
  run r;
  memset(&r, 0, sizeof r);
  r.mock = m;
  r.want_consumed = 4 * C;
  r.want_alerts = C;
  r.mid_at = 1; /* as soon as anything is consumed */
  r.mid = mid_broker_down;
  /* The final commit may fail under the faults injected (the daemon then
   * exits 1): the run below starts from whatever was committed. */
  r.want_exit = -1;
  r.probe_id = "f7";
  if (run_daemon(&r, &c, &p)) return;
  cxp_daemon_stats s;
  cxp_daemon_stats_get(r.d, &s);
  CHECK(r.mid_done);
  CHECK_INT(s.core->processed, 4 * C);
  CHECK_GT(r.probe_csat, 66.6);
  CHECK_LT(r.probe_csat, 66.7);
  /* Every customer's alert, by id: repeats allowed, none missing. */
  cJSON *ids = cJSON_CreateObject();
  const cJSON *a;
  cJSON_ArrayForEach(a, r.alerts) {
    const char *id = get_s(a, "alert_id");
    if (id && !cJSON_GetObjectItemCaseSensitive(ids, id)) cJSON_AddTrueToObject(ids, id);
  }
  CHECK_INT(cJSON_GetArraySize(ids), C);
  cJSON_Delete(ids);
  run_free(&r);

  /* The same group again: whether or not its last commit got through the
   * faults, nothing is applied twice and no alert raised again. */
  run r1;
  memset(&r1, 0, sizeof r1);
  r1.probe_id = "f7";
  r1.want_ready = 1;
  r1.want_consumed = (uint64_t)(4 * C - committed_total(bs, "g-f", "f.events", 2));
  if (run_daemon(&r1, &c, &p)) return;
  cxp_daemon_stats_get(r1.d, &s);
  CHECK_INT(s.core->processed, 0);
  CHECK_INT(cJSON_GetArraySize(r1.alerts), 0);
  CHECK_GT(r1.probe_csat, 66.6);
  CHECK_LT(r1.probe_csat, 66.7);
  check_committed(bs, "g-f", "f.events", 2);
  run_free(&r1);

  /* Everything again in a new group, after restoring the changelog. */
  other_group(&c, bs, "g-f-other");
  run r2;
  if (run_probe(&r2, &c, &p, 4 * C, "f7", &s)) return;
  CHECK_INT(s.core->processed, 0);
  CHECK_INT(s.core->duplicates, 4 * C);
  CHECK_GT(r2.probe_csat, 66.6);
  CHECK_LT(r2.probe_csat, 66.7);
  CHECK_INT(cJSON_GetArraySize(r2.alerts), 0);
  run_free(&r2);
}

/* Local snapshots: written at shutdown, read at the next start with only
 * the changelog's tail after them; a damaged one is refused and the whole
 * changelog read instead. */
static void phase_snapshot(cxp_mock *m) {
  const char *bs = m->bootstraps;
  char dir[] = "/tmp/cxp_snapdir_XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  make_topics(m, "n", 2, 1);
  enum { N = 10 };
  produce_csat(bs, "n.events", "one", N, 5);
  cxp_config c;
  cxp_pipeline p;
  customers_config(&c, &p, bs, "n");
  snprintf(c.snapshot_dir, sizeof c.snapshot_dir, "%s", dir);
  run r;
  memset(&r, 0, sizeof r);
  r.want_consumed = N;
  if (run_daemon(&r, &c, &p)) return;
  cxp_daemon_stats s;
  cxp_daemon_stats_get(r.d, &s);
  CHECK_INT(s.snapshots_written, 2);
  CHECK_INT(s.snapshot_records, 0);
  char path[256];
  for (int i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "%s/n.cl.%d.snap", dir, i);
    CHECK_INT(access(path, R_OK), 0);
  }
  run_free(&r);

  /* Same group, new events: every customer from the snapshots, nothing
   * after them in the changelog; CSAT 5 then 1: 50. */
  produce_csat(bs, "n.events", "two", N, 1);
  run r2;
  if (run_probe(&r2, &c, &p, N, "s3", &s)) return;
  CHECK_INT(s.snapshot_records, N);
  CHECK_INT(s.snapshot_errors, 0);
  CHECK_INT(s.restore_records, 0);
  CHECK_INT(s.core->processed, N);
  CHECK_EQ(r2.probe_csat, 50.0);
  run_free(&r2);

  /* Partition 0's snapshot cut in half: refused, its whole changelog read
   * (two records a customer, one per run); partition 1's snapshot used. A
   * new group reads every event again: all skipped. */
  snprintf(path, sizeof path, "%s/n.cl.0.snap", dir);
  FILE *f = fopen(path, "rb");
  CHECK(f != NULL);
  long size = 0;
  if (f) {
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fclose(f);
  }
  CHECK_GT(size, 64);
  CHECK_INT(truncate(path, size / 2), 0);
  other_group(&c, bs, "g-n-other");
  snprintf(c.snapshot_dir, sizeof c.snapshot_dir, "%s", dir);
  run r3;
  if (run_probe(&r3, &c, &p, 2 * N, "s3", &s)) return;
  CHECK_INT(s.snapshot_errors, 1);
  CHECK_GT(s.snapshot_records, 0);
  CHECK_LT(s.snapshot_records, N);
  CHECK_INT(s.snapshot_records + s.restore_records / 2, N);
  CHECK_INT(s.restore_records % 2, 0);
  CHECK_INT(s.core->processed, 0);
  CHECK_INT(s.core->duplicates, 2 * N);
  CHECK_EQ(r3.probe_csat, 50.0);
  run_free(&r3);
  remove_tree(dir);
}


/* The one alert of a run, of `type`: its escalation level (0 none), and
 * its case and deadline checked. */
static int only_alert(const run *r, const char *type, const char *case_id, const char *deadline) {
  CHECK_INT(cJSON_GetArraySize(r->alerts), 1);
  const cJSON *a = cJSON_GetArrayItem(r->alerts, 0);
  if (a == NULL) return -1;
  CHECK_STR(get_s(a, "type"), type);
  CHECK_STR(get_s(a, "case_id"), case_id);
  CHECK_STR(get_s(a, "deadline"), deadline);
  const cJSON *e = cJSON_GetObjectItemCaseSensitive(a, "escalation");
  const cJSON *l = e ? cJSON_GetObjectItemCaseSensitive(e, "level") : NULL;
  return cJSON_IsNumber(l) ? l->valueint : 0;
}

/* One event of customer kc to o.events, then a run until it is consumed and
 * one alert delivered; its statistics in s. */
static int run_one(const char *bs, cxp_config *c, cxp_pipeline *p, const char *json, run *r,
                   cxp_daemon_stats *s) {
  produce(bs, "o.events", "kc", json, strlen(json));
  produce(bs, NULL, NULL, NULL, 0);
  memset(r, 0, sizeof *r);
  r->want_consumed = 1;
  r->want_alerts = 1;
  if (run_daemon(r, c, p)) return -1;
  cxp_daemon_stats_get(r->d, s);
  return 0;
}

/* Durable recovery cases: a critical failure's case (acknowledge within
 * 15 min: levels at 07:15, 07:30 and 08:00) opened before a shutdown is
 * restored from the snapshot and breaches at level 1 with the next event;
 * restored again from the changelog alone (snapshots gone), it goes on at
 * level 2, level 1 not repeated. */
static void phase_cases(cxp_mock *m) {
  const char *bs = m->bootstraps;
  char dir[] = "/tmp/cxp_casedir_XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  make_topics(m, "o", 2, 1);
  cxp_config c;
  cxp_pipeline p;
  base_config(&c, &p, bs, "o");
  p.win_enabled = p.churn_enabled = 0;
  snprintf(c.snapshot_dir, sizeof c.snapshot_dir, "%s", dir);
  run r;
  cxp_daemon_stats s;
  if (run_one(bs, &c, &p,
              "{\"event_id\":\"f1\",\"type\":\"service.failure\",\"customer_id\":\"kc\","
              "\"ts\":\"2026-11-23T07:00:00Z\",\"case_id\":\"k1\",\"category\":\"operational\","
              "\"severity\":1,\"detected_by\":\"provider\"}",
              &r, &s))
    return;
  CHECK_INT(only_alert(&r, "recovery.required", "k1", "2026-11-23T07:15:00.000Z"), 0);
  run_free(&r);

  /* 07:20: from the snapshot, level 1 of the acknowledgement. */
  if (run_one(bs, &c, &p,
              "{\"event_id\":\"u1\",\"type\":\"usage\",\"customer_id\":\"kc\","
              "\"ts\":\"2026-11-23T07:20:00Z\"}",
              &r, &s))
    return;
  CHECK_INT(s.snapshot_records, 1);
  CHECK_INT(s.restore_records, 0);
  CHECK_INT(s.cases.restored, 1); /* cxpulse_cases_restored_total */
  CHECK_INT(only_alert(&r, "recovery.sla_breached", "k1", "2026-11-23T07:15:00.000Z"), 1);
  run_free(&r);

  /* 07:35, the snapshots removed: from the changelog, level 2 only. */
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -f %s/*.snap", dir);
  CHECK_INT(system(cmd), 0);
  if (run_one(bs, &c, &p,
              "{\"event_id\":\"u2\",\"type\":\"usage\",\"customer_id\":\"kc\","
              "\"ts\":\"2026-11-23T07:35:00Z\"}",
              &r, &s))
    return;
  CHECK_INT(s.snapshot_records, 0);
  CHECK_GE(s.restore_records, 2); /* kc's records of both runs */
  CHECK_INT(only_alert(&r, "recovery.sla_breached", "k1", "2026-11-23T07:15:00.000Z"), 2);
  run_free(&r);
  remove_tree(dir);
}

/* The churn model over Kafka: a history of 120 customers over 150 days on
 * two input partitions (customer i on partition i % 2, in event-time
 * order), every third cancelling: over 128 labels a partition, so that each
 * learner refits (learn.h) on the way. The daemon's learner of each partition
 * equals, byte for byte, the one a core learns from the same partition's
 * events in the same order (as a replay of that partition would); a second
 * run in the same group restores both learners from the changelog, equal
 * again, and scores with the same model. */
static void learn_history(cJSON **out_events) {
  cJSON *all = cJSON_CreateArray();
  int64_t day0 = 1780272000000LL; /* 2026-06-01T00:00:00Z: the history is past */
  for (int d = 0; d < 150; d += 5)
    for (int i = 0; i < 120; i++) {
      int gone_on = i % 3 == 0 ? 20 + 7 * (i % 5) + (i % 4) * 30 : 1000;
      if (d > gone_on) continue;
      int last = d + 5 > gone_on;
      char id[16], ev[256], t[32];
      snprintf(id, sizeof id, "u%d", i);
      int64_t ts = day0 + (int64_t)d * 86400000LL + (int64_t)i * 60000LL;
      cxp_time_format(last ? day0 + (int64_t)gone_on * 86400000LL + i * 60000LL : ts, t);
      if (last)
        snprintf(ev, sizeof ev, "{\"event_id\":\"x%d\",\"type\":\"subscription.cancelled\","
                 "\"customer_id\":\"%s\",\"ts\":\"%s\"}", i, id, t);
      else if ((d / 5 + i) % 4 == 0)
        snprintf(ev, sizeof ev, "{\"event_id\":\"n%d-%d\",\"type\":\"survey.nps\","
                 "\"customer_id\":\"%s\",\"ts\":\"%s\",\"score\":%d}", i, d, id, t,
                 i % 3 == 0 ? 3 : 9);
      else
        snprintf(ev, sizeof ev, "{\"event_id\":\"g%d-%d\",\"type\":\"usage\","
                 "\"customer_id\":\"%s\",\"ts\":\"%s\",\"feature\":\"app\"}", i, d, id,
                 t);
      cJSON *e = cJSON_CreateObject();
      cJSON_AddNumberToObject(e, "part", i % 2);
      cJSON_AddStringToObject(e, "key", id);
      cJSON_AddStringToObject(e, "json", ev);
      cJSON_AddItemToArray(all, e);
    }
  *out_events = all;
}

static void produce_part(const char *bs, const char *topic, int part, const char *key,
                         const char *val) {
  static rd_kafka_t *p;
  char e[256];
  if (val == NULL) {
    if (p) {
      produce_flush(p);
      rd_kafka_destroy(p);
    }
    p = NULL;
    return;
  }
  if (p == NULL) {
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "bootstrap.servers", bs, e, sizeof e);
    p = rd_kafka_new(RD_KAFKA_PRODUCER, c, e, sizeof e);
  }
  CHECK_INT(rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(part),
                              RD_KAFKA_V_KEY(key, strlen(key)),
                              RD_KAFKA_V_VALUE((void *)val, strlen(val)),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
            0);
}

static int same_learner(const cxp_learner *a, const cxp_learner *b) {
  if (a == NULL || b == NULL) return 0;
  size_t n = cxp_learner_encode_size();
  uint8_t *x = malloc(n), *y = malloc(n);
  cxp_learner_encode(a, x);
  cxp_learner_encode(b, y);
  int same = memcmp(x, y, n) == 0;
  free(x);
  free(y);
  return same;
}

static void phase_learn(cxp_mock *m) {
  const char *bs = m->bootstraps;
  make_topics(m, "l", 2, 1);
  cJSON *evs;
  learn_history(&evs);
  cxp_config c;
  cxp_pipeline p;
  base_config(&c, &p, bs, "l");
  p.win_enabled = 0;
  p.rec_enabled = 0;
  p.churn_learn_min_labels = 10;
  /* The expectation: a core fed each partition's events in order. */
  cxp_core want;
  cxp_core_init(&want, &p, discard, NULL);
  int64_t off[2] = {0, 0};
  const cJSON *e;
  cJSON_ArrayForEach(e, evs) {
    int part = (int)get_n(e, "part");
    const char *json = get_s(e, "json");
    cxp_msg msg = {"l.events", part, off[part]++, json, strlen(json), get_s(e, "key"),
                   strlen(get_s(e, "key")), 0, 0, 0};
    CHECK_INT(cxp_core_process(&want, &msg), CXP_OK);
    produce_part(bs, "l.events", part, get_s(e, "key"), json);
  }
  produce_part(bs, NULL, 0, NULL, NULL);
  uint64_t n = (uint64_t)cJSON_GetArraySize(evs);
  /* The daemon refits the learners' one calibration at its stop. */
  cxp_core_learn_refresh(&want);
  const cxp_learner *w0 = cxp_core_learner(&want, 0), *w1 = cxp_core_learner(&want, 1);
  CHECK(w0 && w1 && w0->labels > 20 && w1->labels > 20 && w0->positives > 3);
  CHECK(w0 && w1 && w0->refits > 0 && w1->refits > 0);
  cxp_learn_stats ws;
  cxp_core_learn_stats(&want, &ws);
  printf("learn: %llu events, %llu labels (%llu positive) over two partitions\n",
         (unsigned long long)n, (unsigned long long)ws.labels,
         (unsigned long long)ws.positives);
  CHECK_INT(ws.active, 1);

  run r;
  cxp_daemon_stats s;
  if (run_probe(&r, &c, &p, n, "u3", &s)) return;
  CHECK_INT(s.core->processed, n);
  const cxp_core *got = cxp_daemon_core(r.d);
  CHECK(same_learner(cxp_core_learner(got, 0), w0));
  CHECK(same_learner(cxp_core_learner(got, 1), w1));
  CHECK(memcmp(&got->churn, &want.churn, sizeof want.churn) == 0);
  /* The admin endpoint and the metrics say so: the learnt model scores,
   * from every label. */
  cxp_buf body;
  cxp_buf_init(&body);
  cxp_http_request req = {"GET", "/v1/churn/model", "", NULL, 1};
  cxp_http_response res = {200, NULL, NULL, &body};
  cxp_admin_handle(r.d, &req, &res);
  cxp_buf_put(&body, "", 1);
  cJSON *j = cJSON_Parse(body.p);
  CHECK_INT(res.status, 200);
  CHECK_STR(get_s(j, "scoring"), "learnt");
  CHECK_INT(get_n(j, "labels"), ws.labels);
  CHECK_INT(get_n(j, "positives"), ws.positives);
  CHECK_NEAR(get_n(j, "intercept"), want.churn.intercept, 1e-4);
  CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "partitions")), 2);
  cJSON_Delete(j);
  body.len = 0;
  req.path = "/metrics";
  cxp_admin_handle(r.d, &req, &res);
  cxp_buf_put(&body, "", 1);
  CHECK_CONTAINS(body.p, "cxpulse_churn_model_learnt 1\n");
  char line[96];
  snprintf(line, sizeof line, "cxpulse_churn_model_labels_total{label=\"positive\"} %llu\n",
           (unsigned long long)ws.positives);
  CHECK_CONTAINS(body.p, line);
  cxp_buf_free(&body);
  CHECK_INT(s.model_shared, 1);
  /* Each learner published at its stop at least. */
  uint64_t published1 = s.model_published;
  CHECK_GE(published1, 2);
  run_free(&r);

  /* Restart in the same group with nothing new to read but one event: the
   * learners come back from the changelog, the model with them. Meanwhile
   * another instance (of this pipeline, "default") has published its
   * learner of partition 7, and one of another pipeline its partition 5's:
   * this instance takes the first into the model it scores with, and not
   * the second. */
  cxp_learner other;
  cxp_learner_init(&other, &want.churn_prior);
  other.coef[CXP_CF_DETRACTOR] = 3;
  other.intercept = -1;
  other.labels = 100;
  other.positives = 30;
  size_t lb = cxp_learner_encode_size();
  uint8_t *bytes = malloc(lb);
  cxp_learner_encode(&other, bytes);
  rd_kafka_t *pr = NULL;
  {
    char perr[256];
    rd_kafka_conf_t *pc = rd_kafka_conf_new();
    rd_kafka_conf_set(pc, "bootstrap.servers", bs, perr, sizeof perr);
    pr = rd_kafka_new(RD_KAFKA_PRODUCER, pc, perr, sizeof perr);
    CHECK_INT(rd_kafka_producev(pr, RD_KAFKA_V_TOPIC("l.model"), RD_KAFKA_V_PARTITION(0),
                                RD_KAFKA_V_KEY("lm:7:default", 12), RD_KAFKA_V_VALUE(bytes, lb),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
              0);
    CHECK_INT(rd_kafka_producev(pr, RD_KAFKA_V_TOPIC("l.model"), RD_KAFKA_V_PARTITION(0),
                                RD_KAFKA_V_KEY("lm:5:other", 10), RD_KAFKA_V_VALUE(bytes, lb),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
              0);
    produce_flush(pr);
    rd_kafka_destroy(pr);
  }
  produce_part(bs, "l.events", 0, "late0", "{\"event_id\":\"z\",\"type\":\"usage\","
               "\"customer_id\":\"late0\",\"ts\":\"2026-10-30T00:00:00Z\","
               "\"feature\":\"app\"}");
  produce_part(bs, NULL, 0, NULL, NULL);
  run r2;
  if (run_probe(&r2, &c, &p, 1, "late0", &s)) return;
  got = cxp_daemon_core(r2.d);
  CHECK(same_learner(cxp_core_learner(got, 0), w0));
  CHECK(same_learner(cxp_core_learner(got, 1), w1));
  CHECK(same_learner(cxp_core_learner(got, 7), &other));
  CHECK(cxp_core_learner(got, 5) == NULL);
  /* Run 1 published its two learners (at its stop, and on its commit timer
   * when it fired after new labels); run 2 read them and partition 7's
   * above (partition 5's is another pipeline's, passed over uncounted), and
   * took partition 7's (its own two it holds); it also publishes its own two
   * at its stop, and reads them back or not before it ends. So what run 1
   * published and one, plus 0 to 2: seen 3 (a sanitizer run in CI, where a
   * lower bound of 4 failed) and 5 (2 + 1 + 2, three runs here). Run 1's
   * commit timer may fire with new labels more than once: 7 read after
   * run 1 published 4 (a sanitizer run in CI, 2026-12-03), so the upper
   * bound is run 1's count and three, not a fixed 6. */
  CHECK_GE(s.model_read, 3);
  CHECK_GE(s.model_read, published1 + 1);
  CHECK_LE(s.model_read, published1 + 3);
  CHECK_INT(s.model_refused, 0);
  CHECK_INT(s.model_shared, 1);
  const cxp_learner *three[] = {w0, w1, &other};
  cxp_churn_conf expect = want.churn_prior;
  CHECK_INT(cxp_learner_combine(three, 3, &want.learn, &want.churn_prior, &expect), 1);
  /* Their calibration is the one fitted to the three rings' newest labels. */
  cxp_learn_scratch scratch = {NULL, 0};
  CHECK_INT(cxp_learner_pool_calibration(three, 3, &expect, &scratch, &expect.cal_a,
                                         &expect.cal_b),
            1);
  free(scratch.e);
  CHECK(memcmp(&got->churn, &expect, sizeof expect) == 0);
  free(bytes);
  run_free(&r2);
  cxp_core_close(&want);
  cJSON_Delete(evs);
}

int main(void) {
  char err[256];
  cxp_mock m;
  cxp_log_level = CXP_LOG_WARN;
  if (cxp_mock_start(&m, 1, err, sizeof err)) {
    fprintf(stderr, "mock: %s\n", err);
    return 1;
  }
  /* CXP_TEST_PHASE=faults (or known_mix, backpressure, pause_first, ttl,
   * snapshot, restore, cases, learn) runs that phase alone. */
  const char *only = getenv("CXP_TEST_PHASE");
  if (only) {
    cxp_log_level = getenv("CXP_TEST_DEBUG") ? CXP_LOG_DEBUG : CXP_LOG_INFO;
    if (strcmp(only, "faults") == 0) phase_faults(&m);
    if (strcmp(only, "known_mix") == 0) phase_known_mix(&m);
    if (strcmp(only, "ttl") == 0) phase_ttl(&m);
    if (strcmp(only, "snapshot") == 0) phase_snapshot(&m);
    if (strcmp(only, "restore") == 0) phase_restore(&m);
    if (strcmp(only, "backpressure") == 0) phase_backpressure(&m);
    if (strcmp(only, "pause_first") == 0) phase_pause_first(&m);
    if (strcmp(only, "cases") == 0) phase_cases(&m);
    if (strcmp(only, "learn") == 0) phase_learn(&m);
    cxp_mock_stop(&m);
    return TEST_REPORT();
  }
  phase_known_mix(&m);
  phase_backpressure(&m);
  phase_pause_first(&m);
  cxp_log_level = getenv("CXP_TEST_DEBUG") ? CXP_LOG_DEBUG : CXP_LOG_WARN;
  phase_windows(&m);
  cxp_log_level = CXP_LOG_WARN;
  phase_reload(&m);
  phase_restore(&m);
  phase_ttl(&m);
  phase_faults(&m);
  phase_snapshot(&m);
  phase_cases(&m);
  phase_learn(&m);
  cxp_mock_stop(&m);
  return TEST_REPORT();
}
