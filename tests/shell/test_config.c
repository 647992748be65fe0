/* Unit tests of reading settings files (daemon/shell/config.c): pipeline
 * files through cxp_pipeline_load (the shipped one, overrides, errors that
 * name the file and the key) and the daemon's own file with its kafka.*
 * passthrough. */
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "core.h"
#include "kafka.h"
#include "pipeline.h"
#include "subst.h"

/* Writes text to a new temporary file; returns its path in `path`. */
static int write_tmp(char path[64], const char *text) {
  snprintf(path, 64, "/tmp/cxp-unit-XXXXXX");
  int fd = mkstemp(path);
  if (fd < 0) return -1;
  size_t n = strlen(text);
  int ok = write(fd, text, n) == (ssize_t)n;
  close(fd);
  return ok ? 0 : -1;
}

/* Loads `text` as a pipeline file; returns the load's result, err filled. */
static int load_pipeline_text(cxp_pipeline *p, const char *text, char path[64], char *err,
                              size_t errlen) {
  if (write_tmp(path, text)) return -2;
  int rc = cxp_pipeline_load(p, path, err, errlen);
  unlink(path);
  return rc;
}

static int load_config_text(cxp_config *c, const char *text, char path[64], char *err,
                            size_t errlen) {
  if (write_tmp(path, text)) return -2;
  int rc = cxp_config_load(c, path, err, errlen);
  unlink(path);
  return rc;
}

/* Pipeline files: the shipped one, overrides, and errors that name the file
 * and the key. */
static void test_pipeline_files(void) {
  cxp_pipeline p;
  cxp_pipeline_defaults(&p);
  /* The shipped pipelines/default.json loads and equals the defaults. */
  char path[64], err[512], repo[512];
  snprintf(repo, sizeof repo, "%s", __FILE__);
  char *slash = strstr(repo, "tests/shell/test_config.c");
  CHECK(slash != NULL); /* found from this file's path */
  if (slash) {
    snprintf(slash, sizeof repo - (size_t)(slash - repo), "pipelines/default.json");
    cxp_pipeline q;
    err[0] = '\0';
    CHECK_INT(cxp_pipeline_load(&q, repo, err, sizeof err), 0);
    CHECK_STR(err, "");
    CHECK_STR(q.name, p.name);
    CHECK_STR(q.topic_dead_letters, p.topic_dead_letters);
    CHECK_NEAR(q.half_life_ms, p.half_life_ms, 0);
    CHECK_INT(q.cooldown_ms, p.cooldown_ms);
    CHECK_INT(q.max_event_bytes, p.max_event_bytes);
    CHECK_STR(q.premium_segments, p.premium_segments);
    CHECK_STR(q.closed_loop_actions, p.closed_loop_actions);
  }

  /* Overrides, and "$schema"/"description" are not settings. 7 d = 604800000
   * ms; 1.5 h = 5400000 ms; 0.5 h = 1800000 ms. */
  CHECK_INT(load_pipeline_text(&p,
                               "{\"$schema\":\"x\",\"description\":\"d\",\"name\":\"p2\","
                               "\"decay\":{\"half_life_days\":7},"
                               "\"alerts\":{\"cooldown_h\":1.5,\"premium_segments\":[],"
                               "\"closed_loop\":{\"deadline_h\":0.5,\"enabled\":false}}}",
                               path, err, sizeof err),
            0);
  CHECK_STR(p.name, "p2");
  CHECK_NEAR(p.half_life_ms, 604800000.0, 0);
  CHECK_INT(p.cooldown_ms, 5400000LL);
  CHECK_INT(p.closed_loop_deadline_ms, 1800000LL);
  CHECK_INT(p.closed_loop_enabled, 0);
  CHECK(!cxp_pipeline_is_premium(&p, "gold", 4));
  CHECK_STR(p.topic_input, "cx.events"); /* untouched keys keep defaults */

  /* Errors name the file and the key. */
  static const struct {
    const char *text, *key, *what;
  } bad[] = {
      {"{\"decay\":{\"half_life_dayz\":3}}", "'decay.half_life_dayz'",
       "unknown setting; did you mean 'decay.half_life_days'?"},
      {"{\"alrts\":{\"cooldown_h\":3}}", "'alrts'", "unknown setting; did you mean 'alerts'?"},
      {"{\"bogus\":1}", "'bogus'", "unknown setting"},
      {"{\"decay\":{\"half_life_days\":\"30\"}}", "'decay.half_life_days'", "number"},
      {"{\"limits\":{\"max_future_s\":1.5}}", "'limits.max_future_s'", "integer"},
      {"{\"alerts\":{\"closed_loop\":{\"enabled\":1}}}", "'alerts.closed_loop.enabled'",
       "true or false"},
      {"{\"alerts\":{\"premium_segments\":[\"gold\",2]}}", "'alerts.premium_segments'",
       "array"},
      {"{\"limits\":{\"max_event_bytes\":100}}", "'limits.max_event_bytes'", "outside"},
      {"{\"decay\":{\"half_life_days\":0}}", "'decay.half_life_days'", "outside"},
      {"{\"alerts\":{\"cooldown_h\":-1}}", "'alerts.cooldown_h'", "outside"},
      {"{\"name\":\"\"}", "'name'", "length"},
      {"{\"alerts\":{\"closed_loop\":{\"actions\":[]}}}", "'alerts.closed_loop.actions'",
       "entries"},
      {"{\"topics\":{\"alerts\":\"cx.events\"}}", "'topics'", "cx.events"},
      {"{\"topics\":{\"indicators\":\"x\",\"dead_letters\":\"x\"}}", "'topics'", "twice"},
      {"{\"topics\":{\"internal_compression\":\"brotli\"}}",
       "'topics.internal_compression'", "'brotli' is not one of none, gzip, snappy, lz4, zstd"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    test_ctx = bad[i].text;
    err[0] = '\0';
    CHECK_INT(load_pipeline_text(&p, bad[i].text, path, err, sizeof err), -1);
    CHECK_CONTAINS(err, path);
    CHECK_CONTAINS(err, bad[i].key);
    CHECK_CONTAINS(err, bad[i].what);
  }
  test_ctx = NULL;
  /* A key near no setting gets no guess. */
  CHECK_INT(load_pipeline_text(&p, "{\"bogus\":1}", path, err, sizeof err), -1);
  CHECK_NOT_CONTAINS(err, "did you mean");
  /* Not JSON: the file, line and column; not an object; not there. */
  CHECK_INT(load_pipeline_text(&p, "{\n  \"name\": }", path, err, sizeof err), -1);
  CHECK_CONTAINS(err, path);
  CHECK_CONTAINS(err, ":2:");
  CHECK_INT(load_pipeline_text(&p, "[1]", path, err, sizeof err), -1);
  CHECK_CONTAINS(err, path);
  CHECK_CONTAINS(err, "object");
  CHECK_INT(cxp_pipeline_load(&p, "/nonexistent/cxp.json", err, sizeof err), -1);
  CHECK_CONTAINS(err, "/nonexistent/cxp.json");
}

/* The daemon's own file. */
static void test_config_files(void) {
  char path[64], err[512];
  /* The daemon's file: defaults. */
  cxp_config c;
  cxp_config_defaults(&c);
  CHECK_STR(c.pipeline, "/etc/cxpulse/pipelines/default.json");
  CHECK_STR(c.log_level, "info");
  CHECK_INT(c.commit_interval_ms, 1000);
  CHECK_INT(c.poll_batch, 2000);
  CHECK_INT(c.idle_poll_ms, 100);
  CHECK_INT(c.backpressure_high, 400000);
  CHECK_INT(c.backpressure_low, 100000);
  CHECK_INT(c.stats_interval_s, 30);
  CHECK_INT(c.shutdown_timeout_ms, 10000);
  CHECK_INT(c.n_kafka, 0);

  /* kafka.* passthrough, written flat: the rest of the name is one librdkafka
   * property; numbers and booleans become their text. */
  CHECK_INT(load_config_text(&c,
                             "{\"log\":{\"level\":\"debug\"},"
                             "\"kafka.bootstrap.servers\":\"b1:9092\","
                             "\"kafka.linger.ms\":5,\"kafka.enable.idempotence\":true}",
                             path, err, sizeof err),
            0);
  CHECK_STR(c.log_level, "debug");
  CHECK_INT(c.n_kafka, 3);
  CHECK_STR(cxp_config_kafka_get(&c, "bootstrap.servers"), "b1:9092");
  CHECK_STR(cxp_config_kafka_get(&c, "linger.ms"), "5");
  CHECK_STR(cxp_config_kafka_get(&c, "enable.idempotence"), "true");
  CHECK(cxp_config_kafka_get(&c, "acks") == NULL);
  /* A default does not override what the file set; a new key is added. */
  cxp_config_kafka_default(&c, "linger.ms", "50");
  cxp_config_kafka_default(&c, "acks", "all");
  CHECK_STR(cxp_config_kafka_get(&c, "linger.ms"), "5");
  CHECK_STR(cxp_config_kafka_get(&c, "acks"), "all");
  CHECK_INT(c.n_kafka, 4);

  /* The nested form: every key under "kafka" is one librdkafka property,
   * dots and all. A file's values start from defaults again (n_kafka 0). */
  err[0] = '\0';
  CHECK_INT(load_config_text(&c,
                             "{\"kafka\":{\"bootstrap.servers\":\"b2:9092\","
                             "\"linger.ms\":5}}",
                             path, err, sizeof err),
            0);
  CHECK_STR(err, "");
  CHECK_INT(c.n_kafka, 2);
  CHECK_STR(cxp_config_kafka_get(&c, "bootstrap.servers"), "b2:9092");
  CHECK_STR(cxp_config_kafka_get(&c, "linger.ms"), "5");

  /* A passthrough value of 255 bytes (the most a cxp_kv holds with its NUL)
   * arrives whole. */
  char ktext[512], vlong[301];
  memset(vlong, 'v', 300);
  vlong[255] = '\0';
  snprintf(ktext, sizeof ktext, "{\"kafka\":{\"sasl.jaas.config\":\"%s\"}}", vlong);
  CHECK_INT(load_config_text(&c, ktext, path, err, sizeof err), 0);
  CHECK_INT(c.n_kafka, 1);
  CHECK_INT(strlen(c.kafka[0].value), 255);
  /* A longer value is an error naming the key, never silently cut. */
  vlong[255] = 'v';
  vlong[300] = '\0';
  snprintf(ktext, sizeof ktext, "{\"kafka\":{\"sasl.jaas.config\":\"%s\"}}", vlong);
  err[0] = '\0';
  CHECK_INT(load_config_text(&c, ktext, path, err, sizeof err), -1);
  CHECK_CONTAINS(err, "'kafka.sasl.jaas.config'");

  static const struct {
    const char *text, *key, *what;
  } cbad[] = {
      {"{\"poll\":{\"batchsize\":5}}", "'poll.batchsize'",
       "unknown setting; did you mean 'poll.batch'?"},
      {"{\"poll\":{\"batch\":\"5\"}}", "'poll.batch'", "integer"},
      {"{\"poll\":{\"batch\":0}}", "'poll.batch'", "outside"},
      {"{\"commit\":{\"interval_ms\":60001}}", "'commit.interval_ms'", "outside"},
      {"{\"log\":{\"level\":\"trace\"}}", "'log.level'", "trace"},
      {"{\"backpressure\":{\"low\":500000}}", "'backpressure.low'", "below"},
      {"{\"kafka.acks\":[1]}", "'kafka.acks'", "expected"},
      {"{\"kafka\":{\"acks\":null}}", "'kafka.acks'", "expected"},
      {"{\"kafka\":\"b:9092\"}", "'kafka'", "expected"},
  };
  for (size_t i = 0; i < sizeof cbad / sizeof cbad[0]; i++) {
    test_ctx = cbad[i].text;
    err[0] = '\0';
    CHECK_INT(load_config_text(&c, cbad[i].text, path, err, sizeof err), -1);
    CHECK_CONTAINS(err, path);
    CHECK_CONTAINS(err, cbad[i].key);
    CHECK_CONTAINS(err, cbad[i].what);
  }
  test_ctx = NULL;
}

/* The modules' settings come from the pipeline: a file's values reach the
 * customers' struct, the core takes it (and churn's) at start, and again
 * after a reload, recovery off as on; a list the event path looks up is a
 * set from the start and after the reload. */
static void test_module_conf(void) {
  cxp_pipeline live, next;
  char path[64], err[512];
  CHECK_INT(load_pipeline_text(&live,
                               "{\"decay\":{\"short_half_life_days\":3},"
                               "\"satisfaction_index\":{\"weights\":{\"csat\":2}},"
                               "\"recovery\":{\"enabled\":false}}",
                               path, err, sizeof err),
            0);
  cxp_customer_conf cf;
  cxp_pipeline_customer(&live, &cf);
  CHECK_EQ(cf.half_life_ms[CXP_HL_MAIN], 30 * 86400000.0);
  CHECK_EQ(cf.half_life_ms[CXP_HL_SHORT], 3 * 86400000.0);
  CHECK_EQ(cf.half_life_ms[CXP_HL_LONG], 90 * 86400000.0);
  CHECK_EQ(cf.time_norm_s, 1800.0);
  CHECK_EQ(cf.si_w[0], 2.0);
  CHECK_EQ(cf.si_w[1], 1.0);
  CHECK_EQ(cf.si_w[3], 1.0);
  cxp_core core;
  cxp_core_init(&core, &live, NULL, NULL);
  CHECK_EQ(core.customer.half_life_ms[CXP_HL_SHORT], 3 * 86400000.0);
  CHECK_EQ(core.customer.si_w[0], 2.0);
  CHECK_EQ(core.churn.medium, 0.3);
  const cxp_strset *roles = &live.rec_escalation_roles_set;
  size_t n = 0;
  CHECK_EQ(roles->n, 3);
  const char *role = cxp_strset_at(roles, 1, &n);
  CHECK(role != NULL);
  if (role) CHECK_LIT(role, n, "service_manager");
  CHECK(cxp_strset_at(roles, 3, &n) == NULL);
  CHECK(cxp_strset_at(roles, -1, &n) == NULL);

  CHECK_INT(load_pipeline_text(&next,
                               "{\"decay\":{\"short_half_life_days\":5},"
                               "\"delivered_value\":{\"time_norm_s\":900},"
                               "\"churn\":{\"bands\":{\"medium\":0.25}},"
                               "\"recovery\":{\"enabled\":false,"
                               "\"escalation\":{\"roles\":[\"lead\",\"a \\\"b\\\"\",\"head\"]}}}",
                               path, err, sizeof err),
            0);
  CHECK_INT(cxp_pipeline_reload(&live, &next, NULL, NULL), 5);
  CHECK_INT(cxp_core_reload(&core, NULL), 0);
  CHECK_EQ(core.customer.half_life_ms[CXP_HL_SHORT], 5 * 86400000.0);
  CHECK_EQ(core.customer.time_norm_s, 900.0);
  CHECK_EQ(core.customer.si_w[0], 1.0);
  CHECK_EQ(core.churn.medium, 0.25);
  /* The entry as the file means it: escapes undone, a quote within kept. */
  CHECK_EQ(roles->n, 3);
  role = cxp_strset_at(roles, 1, &n);
  CHECK(role != NULL);
  if (role) CHECK_LIT(role, n, "a \"b\"");
  cxp_core_close(&core);
}

/* check-config asks of the kafka section what run asks (cxp_kafka_confs):
 * bootstrap.servers present, every property one librdkafka takes, for the
 * consumer's and the producer's own keys too. */
static void test_kafka_check(void) {
  /* err: how the sentence starts (librdkafka's own words follow); NULL:
   * accepted. */
  static const struct {
    const char *kafka, *err;
  } cases[] = {
      {"{\"bootstrap.servers\":\"b:9092\",\"linger.ms\":5}", NULL},
      {"{}", "key 'kafka.bootstrap.servers': required"},
      {"{\"linger.ms\":5}", "key 'kafka.bootstrap.servers': required"},
      {"{\"bootstrap.servers\":\"b:9092\",\"linger.mss\":5}", "key 'kafka.linger.mss': "},
      {"{\"bootstrap.servers\":\"b:9092\",\"producer.linger.ms\":\"soon\"}",
       "key 'kafka.producer.linger.ms': "},
      {"{\"bootstrap.servers\":\"b:9092\",\"consumer.session.timeout.ms\":0}",
       "key 'kafka.consumer.session.timeout.ms': "}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    cxp_config c;
    char path[64], err[512], text[512];
    test_ctx = cases[i].kafka;
    snprintf(text, sizeof text, "{\"pipeline\":\"/nonexistent\",\"kafka\":%s}", cases[i].kafka);
    CHECK_INT(load_config_text(&c, text, path, err, sizeof err), 0);
    err[0] = '\0';
    rd_kafka_conf_t *cc = NULL, *pc = NULL;
    int rc = cxp_kafka_confs(&c, "cx.json", &cc, &pc, err, sizeof err);
    CHECK_INT(rc, cases[i].err ? -1 : 0);
    CHECK(rc == 0 ? cc && pc : !cc && !pc); /* both, or nothing to destroy */
    if (cc) rd_kafka_conf_destroy(cc);
    if (pc) rd_kafka_conf_destroy(pc);
    if (cases[i].err) {
      char want[512];
      snprintf(want, sizeof want, "cx.json: %s", cases[i].err);
      CHECK_PREFIX(err, want);
    }
  }
  test_ctx = NULL;
}

/* Writes n bytes to dir/name; returns the path in `path`. */
static int write_at(char path[256], const char *dir, const char *name, const char *text,
                    size_t n) {
  snprintf(path, 256, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (f == NULL) return -1;
  int ok = fwrite(text, 1, n, f) == n;
  return fclose(f) == 0 && ok ? 0 : -1;
}

/* The secret every case below hides: no error sentence may contain it. */
#define SECRET "s3cr3t-Pa55w0rd"

/* References in the daemon's file (subst.h): the environment, defaults,
 * the escape, files and systemd credentials, and errors that name the key
 * and the variable or path but never a value a reference brought in. */
static void test_references(void) {
  char dir[] = "/tmp/cxp-refs-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char path[64], err[512], text[1024], pw[256], crlf[256], nul[256], big[256], edge[256],
      cred[256], multi[256], empty[256];
  cxp_config c;
  CHECK_INT(write_at(pw, dir, "pw", SECRET "\n", strlen(SECRET) + 1), 0);
  CHECK_INT(write_at(crlf, dir, "crlf", SECRET "\r\n\n", strlen(SECRET) + 3), 0);
  CHECK_INT(write_at(multi, dir, "multi", "line1\nline2\n", 12), 0);
  CHECK_INT(write_at(empty, dir, "empty", "", 0), 0);
  CHECK_INT(write_at(nul, dir, "nul", SECRET "\0tail", strlen(SECRET) + 5), 0);
  CHECK_INT(write_at(cred, dir, "kafka-password", "from-credential\n", 16), 0);
  static char blob[CXP_SUBST_FILE_MAX + 1];
  memset(blob, 'k', sizeof blob);
  CHECK_INT(write_at(big, dir, "big", blob, sizeof blob), 0);
  CHECK_INT(write_at(edge, dir, "edge", blob, CXP_SUBST_FILE_MAX), 0);

  setenv("CXP_T_BROKERS", "b1:9092,b2:9092", 1);
  setenv("CXP_T_USER", "svc", 1);
  setenv("CXP_T_EMPTY", "", 1);
  setenv("CXP_T_DIR", "/etc/cx", 1);
  unsetenv("CXP_T_UNSET");
  unsetenv("CREDENTIALS_DIRECTORY");

  /* In a kafka property, in the daemon's own settings, mixed with text;
   * defaults; the escape; a "$" alone is a "$". */
  snprintf(text, sizeof text,
           "{\"pipeline\":\"${CXP_T_DIR}/p.json\",\"http\":{\"token\":\"${file:%s}\"},"
           "\"kafka\":{\"bootstrap.servers\":\"${CXP_T_BROKERS}\","
           "\"sasl.username\":\"user-${CXP_T_USER}-1\",\"sasl.password\":\"${file:%s}\","
           "\"client.id\":\"${CXP_T_UNSET:-cx-default}\","
           "\"group.instance.id\":\"${CXP_T_EMPTY:-e}\","
           "\"ssl.key.password\":\"${CXP_T_UNSET:-}\",\"sasl.oauthbearer.config\":\"$${CXP_T_USER} "
           "a$b$$c $$${x}\",\"ssl.ca.location\":\"${CXP_T_EMPTY}\"}}",
           pw, crlf);
  err[0] = '\0';
  CHECK_INT(load_config_text(&c, text, path, err, sizeof err), 0);
  CHECK_STR(err, "");
  CHECK_STR(c.pipeline, "/etc/cx/p.json");
  CHECK_STR(c.http_token, SECRET);
  CHECK_STR(cxp_config_kafka_get(&c, "bootstrap.servers"), "b1:9092,b2:9092");
  CHECK_STR(cxp_config_kafka_get(&c, "sasl.username"), "user-svc-1");
  CHECK_STR(cxp_config_kafka_get(&c, "sasl.password"), SECRET); /* \r\n\n dropped */
  CHECK_STR(cxp_config_kafka_get(&c, "client.id"), "cx-default");
  CHECK_STR(cxp_config_kafka_get(&c, "group.instance.id"), "e"); /* empty takes it too */
  CHECK_STR(cxp_config_kafka_get(&c, "ssl.key.password"), "");
  CHECK_STR(cxp_config_kafka_get(&c, "sasl.oauthbearer.config"), "${CXP_T_USER} a$b$$c $${x}");
  CHECK_STR(cxp_config_kafka_get(&c, "ssl.ca.location"), ""); /* set, though empty */
  /* What check-config prints: the values written with references as written. */
  static cxp_config shown;
  cxp_config_shown(&c, &shown);
  char want[400];
  snprintf(want, sizeof want, "${file:%s}", crlf);
  CHECK_STR(cxp_config_kafka_get(&shown, "sasl.password"), want);
  snprintf(want, sizeof want, "${file:%s}", pw);
  CHECK_STR(shown.http_token, want);
  CHECK_STR(shown.pipeline, "${CXP_T_DIR}/p.json");
  CHECK_STR(cxp_config_kafka_get(&shown, "client.id"), "${CXP_T_UNSET:-cx-default}");
  /* An escape alone is no reference: the value shows as it is. */
  CHECK_STR(cxp_config_kafka_get(&shown, "sasl.oauthbearer.config"),
            "${CXP_T_USER} a$b$$c $${x}");
  CHECK_STR(c.http_token, SECRET); /* the copy only */

  /* A file's lines but the last newline stay; an empty file is an empty
   * value; a file of exactly the bound is read whole. */
  char *out = NULL;
  int refs = 0;
  snprintf(text, sizeof text, "${file:%s}", multi);
  CHECK_INT(cxp_subst_string(text, "cx.json", "k", &out, &refs, err, sizeof err), 0);
  CHECK_STR(out, "line1\nline2");
  CHECK_INT(refs, 1);
  free(out);
  snprintf(text, sizeof text, "[${file:%s}]", empty);
  CHECK_INT(cxp_subst_string(text, "cx.json", "k", &out, &refs, err, sizeof err), 0);
  CHECK_STR(out, "[]");
  free(out);
  snprintf(text, sizeof text, "${file:%s}", edge);
  CHECK_INT(cxp_subst_string(text, "cx.json", "k", &out, &refs, err, sizeof err), 0);
  CHECK_INT(out ? strlen(out) : 0, CXP_SUBST_FILE_MAX);
  free(out);
  CHECK_INT(cxp_subst_string("no $ref {here}", "cx.json", "k", &out, &refs, err, sizeof err), 0);
  CHECK_STR(out, "no $ref {here}");
  CHECK_INT(refs, 0);
  free(out);

  /* systemd's credentials: $CREDENTIALS_DIRECTORY/NAME. */
  snprintf(text, sizeof text,
           "{\"kafka\":{\"sasl.password\":\"${credential:kafka-password}\"}}");
  err[0] = '\0';
  CHECK_INT(load_config_text(&c, text, path, err, sizeof err), -1);
  CHECK_CONTAINS(err, "key 'kafka.sasl.password'");
  CHECK_CONTAINS(err, "credential 'kafka-password'");
  CHECK_CONTAINS(err, "CREDENTIALS_DIRECTORY is not set");
  setenv("CREDENTIALS_DIRECTORY", dir, 1);
  err[0] = '\0';
  CHECK_INT(load_config_text(&c, text, path, err, sizeof err), 0);
  CHECK_STR(err, "");
  CHECK_STR(cxp_config_kafka_get(&c, "sasl.password"), "from-credential");
  cxp_config_shown(&c, &shown);
  CHECK_STR(cxp_config_kafka_get(&shown, "sasl.password"), "${credential:kafka-password}");
  /* The expansion is what librdkafka is given, for both clients. */
  snprintf(text, sizeof text,
           "{\"kafka\":{\"bootstrap.servers\":\"${CXP_T_BROKERS}\","
           "\"security.protocol\":\"SASL_SSL\",\"sasl.mechanisms\":\"PLAIN\","
           "\"sasl.username\":\"${CXP_T_USER}\","
           "\"sasl.password\":\"${credential:kafka-password}\"}}");
  CHECK_INT(load_config_text(&c, text, path, err, sizeof err), 0);
  rd_kafka_conf_t *confs[2] = {NULL, NULL};
  err[0] = '\0';
  CHECK_INT(cxp_kafka_confs(&c, "cx.json", &confs[0], &confs[1], err, sizeof err), 0);
  CHECK_STR(err, "");
  for (int i = 0; i < 2; i++) {
    char v[256];
    size_t vn = sizeof v;
    if (confs[i] == NULL) continue;
    CHECK_INT(rd_kafka_conf_get(confs[i], "sasl.password", v, &vn), RD_KAFKA_CONF_OK);
    CHECK_STR(v, "from-credential");
    vn = sizeof v;
    CHECK_INT(rd_kafka_conf_get(confs[i], "sasl.username", v, &vn), RD_KAFKA_CONF_OK);
    CHECK_STR(v, "svc");
    vn = sizeof v;
    CHECK_INT(rd_kafka_conf_get(confs[i], "bootstrap.servers", v, &vn), RD_KAFKA_CONF_OK);
    CHECK_STR(v, "b1:9092,b2:9092");
    rd_kafka_conf_destroy(confs[i]);
  }
  char gone[300];
  snprintf(gone, sizeof gone, "credential 'nope' (%s/nope): No such file or directory", dir);

  /* Errors: the file, the key, what is wrong; never the secret. */
  char nofile[300], dirref[300], toobig[300];
  snprintf(nofile, sizeof nofile, "%s/absent", dir);
  snprintf(dirref, sizeof dirref, "file '%s': not a regular file", dir);
  snprintf(toobig, sizeof toobig, "file '%s': larger than 65536 bytes", big);
  char nulmsg[300];
  snprintf(nulmsg, sizeof nulmsg, "file '%s': holds a NUL byte", nul);
  char refs_nofile[320], refs_dir[300], refs_big[300], refs_nul[300];
  snprintf(refs_nofile, sizeof refs_nofile, "${file:%s}", nofile);
  snprintf(refs_dir, sizeof refs_dir, "${file:%s}", dir);
  snprintf(refs_big, sizeof refs_big, "${file:%s}", big);
  snprintf(refs_nul, sizeof refs_nul, "x${file:%s}", nul);
  char nofile_msg[400];
  snprintf(nofile_msg, sizeof nofile_msg, "file '%s': No such file or directory", nofile);
  const struct {
    const char *value, *what;
  } bad[] = {
      {"${CXP_T_UNSET}", "environment variable CXP_T_UNSET is not set"},
      {"a-${CXP_T_UNSET}-b", "environment variable CXP_T_UNSET is not set"},
      {"${", "'${' has no closing '}'"},
      {"x${CXP_T_USER", "'${CXP_T_USER' has no closing '}'"},
      {"${}", "'${}' is not a reference"},
      {"${1A}", "'${1A}' is not a reference"},
      {"${A-B}", "'${A-B}' is not a reference"},
      {"${ CXP_T_USER}", "'${ CXP_T_USER}' is not a reference"},
      {"${vault:kv/x}", "'${vault:kv/x}': unknown reference 'vault:'"},
      {"${file:}", "'${file:}' needs an absolute path"},
      {"${file:pw}", "'${file:pw}' needs an absolute path"},
      {"${credential:}", "a credential name is a file name"},
      {"${credential:../pw}", "a credential name is a file name"},
      {"${credential:..}", "a credential name is a file name"},
      {"${credential:nope}", gone},
      {refs_nofile, nofile_msg},
      {refs_dir, dirref},
      {refs_big, toobig},
      {refs_nul, nulmsg},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    test_ctx = bad[i].value;
    snprintf(text, sizeof text,
             "{\"http\":{\"token\":\"${file:%s}\"},\"kafka\":{\"sasl.password\":\"%s\"}}", pw,
             bad[i].value);
    err[0] = '\0';
    CHECK_INT(load_config_text(&c, text, path, err, sizeof err), -1);
    CHECK_CONTAINS(err, path);
    CHECK_CONTAINS(err, ": key 'kafka.sasl.password': ");
    CHECK_CONTAINS(err, bad[i].what);
    CHECK_NOT_CONTAINS(err, SECRET);
    CHECK_NOT_CONTAINS(err, "kkkkkkkk"); /* nor a file's content */
  }
  test_ctx = NULL;

  /* A setting that refuses what a reference brought in says so with the
   * reference as written: librdkafka quotes the value it refuses, and so do
   * the daemon's own checks. */
  setenv("CXP_T_FMT", "xml!", 1);
  snprintf(text, sizeof text,
           "{\"log\":{\"format\":\"${CXP_T_FMT}\"},\"kafka\":{\"bootstrap.servers\":\"b:1\"}}");
  err[0] = '\0';
  CHECK_INT(load_config_text(&c, text, path, err, sizeof err), -1);
  CHECK_CONTAINS(err, "key 'log.format': '${CXP_T_FMT}' is not text, logfmt or json");
  CHECK_NOT_CONTAINS(err, "xml!");
  snprintf(text, sizeof text,
           "{\"kafka\":{\"bootstrap.servers\":\"b:1\",\"security.protocol\":\"${file:%s}\"}}",
           pw);
  CHECK_INT(load_config_text(&c, text, path, err, sizeof err), 0);
  rd_kafka_conf_t *cc = NULL, *pc = NULL;
  err[0] = '\0';
  CHECK_INT(cxp_kafka_confs(&c, "cx.json", &cc, &pc, err, sizeof err), -1);
  snprintf(want, sizeof want,
           "cx.json: key 'kafka.security.protocol': Invalid value \"${file:%s}\"", pw);
  CHECK_PREFIX(err, want);
  CHECK_NOT_CONTAINS(err, SECRET);
  /* Cut by its buffer within the value, the sentence keeps none of it. */
  const char *head = "cx.json: key 'kafka.security.protocol': Invalid value \"";
  char small[128];
  size_t cut = strlen(head) + 6 + 1; /* room for 6 bytes of the value */
  CHECK_INT(cxp_kafka_confs(&c, "cx.json", &cc, &pc, small, cut), -1);
  CHECK_STR(small, head);
  CHECK_NOT_CONTAINS(small, "s3cr3t");
  /* The same value written in the file is quoted: it is no secret there. */
  CHECK_INT(load_config_text(&c,
                             "{\"kafka\":{\"bootstrap.servers\":\"b:1\","
                             "\"security.protocol\":\"plain-text\"}}",
                             path, err, sizeof err),
            0);
  CHECK_INT(cxp_kafka_confs(&c, "cx.json", &cc, &pc, err, sizeof err), -1);
  CHECK_CONTAINS(err, "\"plain-text\"");

  /* At most CXP_REFS_MAX values with references. */
  size_t n = (size_t)snprintf(text, sizeof text, "{\"kafka\":{");
  for (int i = 0; i <= CXP_REFS_MAX; i++)
    n += (size_t)snprintf(text + n, sizeof text - n, "%s\"p%d\":\"${CXP_T_USER}\"", i ? "," : "",
                          i);
  snprintf(text + n, sizeof text - n, "}}");
  CHECK_INT(load_config_text(&c, text, path, err, sizeof err), -1);
  CHECK_CONTAINS(err, "key 'kafka.p32': more than 32 values with references");

  unsetenv("CREDENTIALS_DIRECTORY");
  const char *files[] = {pw, crlf, multi, empty, nul, cred, big, edge};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) unlink(files[i]);
  rmdir(dir);
}

int main(void) {
  test_pipeline_files();
  test_config_files();
  test_module_conf();
  test_kafka_check();
  test_references();
  return TEST_REPORT();
}
