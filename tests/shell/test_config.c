/* Unit tests of reading settings files (daemon/shell/config.c): pipeline
 * files through cxp_pipeline_load (the shipped one, overrides, errors that
 * name the file and the key) and the daemon's own file with its kafka.*
 * passthrough. */
#include "helpers.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "core.h"
#include "kafka.h"
#include "pipeline.h"

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

int main(void) {
  test_pipeline_files();
  test_config_files();
  test_module_conf();
  test_kafka_check();
  return TEST_REPORT();
}
