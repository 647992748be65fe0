#include "kafka.h"

#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "log.h"

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
  (void)rk;
  /* librdkafka speaks syslog levels: 0-3 error, 4 warning, 5-6 info, 7 debug. */
  int l = level <= 3 ? CXP_LOG_ERROR : level == 4 ? CXP_LOG_WARN
          : level <= 6 ? CXP_LOG_INFO : CXP_LOG_DEBUG;
  cxp_log(l, "kafka", "%s: %s", fac, buf);
}

rd_kafka_conf_t *cxp_kafka_conf(const cxp_config *c, rd_kafka_type_t type,
                                const char *file, char *err, size_t errlen) {
  const char *mine = type == RD_KAFKA_CONSUMER ? "consumer." : "producer.";
  const char *other = type == RD_KAFKA_CONSUMER ? "producer." : "consumer.";
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  char e[512];
  for (int i = 0; i < c->n_kafka; i++) {
    const char *k = c->kafka[i].key;
    if (strncmp(k, other, strlen(other)) == 0) continue;
    if (strncmp(k, mine, strlen(mine)) == 0) k += strlen(mine);
    if (rd_kafka_conf_set(conf, k, c->kafka[i].value, e, sizeof e) != RD_KAFKA_CONF_OK) {
      snprintf(err, errlen, "%s: key 'kafka.%s': %s", file ? file : "(config)",
               c->kafka[i].key, e);
      /* librdkafka quotes the value it refuses, which may be a secret. */
      char full[160];
      snprintf(full, sizeof full, "kafka.%s", c->kafka[i].key);
      cxp_config_hide(c, full, c->kafka[i].value, err, errlen);
      rd_kafka_conf_destroy(conf);
      return NULL;
    }
  }
  rd_kafka_conf_set_log_cb(conf, log_cb);
  return conf;
}

int cxp_kafka_confs(const cxp_config *c, const char *file, rd_kafka_conf_t **consumer,
                    rd_kafka_conf_t **producer, char *err, size_t errlen) {
  *consumer = *producer = NULL;
  if (cxp_config_kafka_get(c, "bootstrap.servers") == NULL) {
    snprintf(err, errlen, "%s: key 'kafka.bootstrap.servers': required", file ? file : "(config)");
    return -1;
  }
  *consumer = cxp_kafka_conf(c, RD_KAFKA_CONSUMER, file, err, errlen);
  if (*consumer == NULL) return -1;
  *producer = cxp_kafka_conf(c, RD_KAFKA_PRODUCER, file, err, errlen);
  if (*producer == NULL) {
    rd_kafka_conf_destroy(*consumer);
    *consumer = NULL;
    return -1;
  }
  return 0;
}

int32_t cxp_kafka_topic_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms) {
  rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
  const struct rd_kafka_metadata *md = NULL;
  int32_t n = -1;
  if (rd_kafka_metadata(rk, 0, t, &md, timeout_ms) == 0 && md->topic_cnt == 1 &&
      md->topics[0].err == 0)
    n = md->topics[0].partition_cnt;
  if (md) rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(t);
  return n;
}

/* ---- The daemon's defaults (daemon.h) ---------------------------------- */

void cxp_daemon_kafka_defaults(cxp_config *c, const cxp_pipeline *p) {
  char group[CXP_STR_MAX + 16];
  snprintf(group, sizeof group, "cxpulse-%s", p->name);
  cxp_config_kafka_default(c, "consumer.group.id", group);
  cxp_config_kafka_default(c, "consumer.partition.assignment.strategy", "cooperative-sticky");
  /* Offsets are stored by the daemon only once every output of a message
   * is acknowledged, and committed by the daemon's own timer. */
  cxp_config_kafka_default(c, "consumer.enable.auto.offset.store", "false");
  cxp_config_kafka_default(c, "consumer.enable.auto.commit", "false");
  cxp_config_kafka_default(c, "consumer.auto.offset.reset", "earliest");
  cxp_config_kafka_default(c, "consumer.enable.partition.eof", "false");
  /* librdkafka 2.0.2 prefetches until a partition holds queued.min.messages
   * (100000) and then waits for the application; a fast consumer empties
   * that in well under a second and stalls on the next fetch round trip. A
   * deeper prefetch keeps the loop fed; memory stays bounded by
   * queued.max.messages.kbytes. */
  cxp_config_kafka_default(c, "consumer.queued.min.messages", "1000000");
  cxp_config_kafka_default(c, "consumer.queued.max.messages.kbytes", "262144");
  cxp_config_kafka_default(c, "consumer.fetch.wait.max.ms", "100");
  /* The consumer's statistics every 5 s: the committed lag per partition
   * for /metrics (parsed on the loop, where librdkafka serves the callback). */
  cxp_config_kafka_default(c, "consumer.statistics.interval.ms", "5000");
  /* librdkafka's reconnect backoff doubles up to 10 s: after a broker
   * outage of a second or two the group coordinator would be tried again
   * only after the session had expired, and the partitions lost. */
  cxp_config_kafka_default(c, "reconnect.backoff.max.ms", "1000");
  /* Idempotent producer: acks=all, retries without duplicates or reorder
   * (a partition's window partials must reach the merger before the marker
   * that closes their window). */
  cxp_config_kafka_default(c, "producer.enable.idempotence", "true");
  cxp_config_kafka_default(c, "producer.acks", "all");
  cxp_config_kafka_default(c, "producer.linger.ms", "5");
  cxp_config_kafka_default(c, "producer.queue.buffering.max.messages", "1000000");
}
