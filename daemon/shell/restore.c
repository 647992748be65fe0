#include "restore.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "kafka.h"
#include "log.h"
#include "xalloc.h"

typedef struct part_restore {
  int active;
  int caught_up; /* following: its end was reached once */
  uint64_t started_ns;
  uint64_t records, bytes;
} part_restore;

struct cxp_restore {
  rd_kafka_t *rk;
  rd_kafka_queue_t *q;
  char topic[256];
  cxp_restore_cb cb;
  part_restore *parts; /* by partition */
  int32_t n_parts;
  int active;
  int follow;
};

static int set(rd_kafka_conf_t *conf, const char *k, const char *v, char *err, size_t errlen) {
  char e[256];
  if (rd_kafka_conf_set(conf, k, v, e, sizeof e) == RD_KAFKA_CONF_OK) return 0;
  snprintf(err, errlen, "restorer: %s=%s: %s", k, v, e);
  return -1;
}

cxp_restore *cxp_restore_create(const cxp_config *c, const char *topic, const char *file,
                                const cxp_restore_cb *cb, char *err, size_t errlen) {
  rd_kafka_conf_t *conf = cxp_kafka_conf(c, RD_KAFKA_CONSUMER, file, err, errlen);
  if (conf == NULL) return NULL;
  /* Assigned partitions only, never subscribed: a group id of its own keeps
   * it clear of the daemon's group, and nothing is committed. The end of
   * each partition is the signal that its restore is complete. */
  const char *gid = cxp_config_kafka_get(c, "consumer.group.id");
  char group[300];
  snprintf(group, sizeof group, "%s.restore", gid ? gid : "cxpulse");
  if (set(conf, "group.id", group, err, errlen) || set(conf, "enable.auto.commit", "false", err, errlen) ||
      set(conf, "enable.partition.eof", "true", err, errlen) ||
      set(conf, "statistics.interval.ms", "0", err, errlen) ||
      /* The end of a partition is known one empty fetch after its last
       * record: the broker holds that fetch this long. */
      set(conf, "fetch.wait.max.ms", "10", err, errlen)) {
    rd_kafka_conf_destroy(conf);
    return NULL;
  }
  char e[256];
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof e);
  if (rk == NULL) {
    snprintf(err, errlen, "restorer: %s", e);
    rd_kafka_conf_destroy(conf);
    return NULL;
  }
  cxp_restore *r = cxp_xcalloc(1, sizeof *r);
  r->rk = rk;
  rd_kafka_poll_set_consumer(rk);
  r->q = rd_kafka_queue_get_consumer(rk);
  snprintf(r->topic, sizeof r->topic, "%s", topic);
  r->cb = *cb;
  return r;
}

void cxp_restore_destroy(cxp_restore *r) {
  if (r == NULL) return;
  rd_kafka_queue_io_event_enable(r->q, -1, NULL, 0);
  rd_kafka_queue_destroy(r->q);
  /* Never subscribed: closing only drops the assignment. */
  rd_kafka_consumer_close(r->rk);
  rd_kafka_destroy(r->rk);
  free(r->parts);
  free(r);
}

void cxp_restore_follow(cxp_restore *r) { r->follow = 1; }

void cxp_restore_wake_on(cxp_restore *r, int efd) {
  static const uint64_t one = 1;
  rd_kafka_queue_io_event_enable(r->q, efd, &one, sizeof one);
}

static part_restore *part_of(const cxp_restore *r, int32_t p) {
  return p >= 0 && p < r->n_parts ? &r->parts[p] : NULL;
}

static int change(cxp_restore *r, int32_t p, int add, int64_t from) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, r->topic, p)->offset = from;
  rd_kafka_error_t *e = add ? rd_kafka_incremental_assign(r->rk, l)
                            : rd_kafka_incremental_unassign(r->rk, l);
  rd_kafka_topic_partition_list_destroy(l);
  if (e == NULL) return 0;
  cxp_error("restore", "%s %s [%d]: %s", add ? "assigning" : "unassigning", r->topic, (int)p,
            rd_kafka_error_string(e));
  rd_kafka_error_destroy(e);
  return -1;
}

int cxp_restore_begin(cxp_restore *r, int32_t p, int64_t from) {
  if (p < 0 || p > 0xffff) return -1;
  if (p >= r->n_parts) {
    int32_t n = p + 16;
    part_restore *np = cxp_xrealloc(r->parts, sizeof *np * (size_t)n);
    memset(np + r->n_parts, 0, sizeof *np * (size_t)(n - r->n_parts));
    r->parts = np;
    r->n_parts = n;
  }
  part_restore *pr = &r->parts[p];
  if (pr->active) return 0;
  if (change(r, p, 1, from) != 0) return -1;
  memset(pr, 0, sizeof *pr);
  pr->active = 1;
  pr->started_ns = uv_hrtime();
  r->active++;
  return 0;
}

static void finish(cxp_restore *r, int32_t p) {
  part_restore *pr = part_of(r, p);
  if (pr == NULL || !pr->active) return;
  pr->active = 0;
  r->active--;
  change(r, p, 0, RD_KAFKA_OFFSET_INVALID);
}

void cxp_restore_cancel(cxp_restore *r, int32_t p) {
  part_restore *pr = part_of(r, p);
  if (pr && pr->active) {
    cxp_info("restore", "%s [%d]: cancelled after %" PRIu64 " record(s) (partition revoked)",
             r->topic, (int)p, pr->records);
    finish(r, p);
  }
}

int cxp_restore_active(const cxp_restore *r, int32_t p) {
  const part_restore *pr = r ? part_of(r, p) : NULL;
  return pr && pr->active;
}

int cxp_restore_count(const cxp_restore *r) { return r ? r->active : 0; }

static void handle(cxp_restore *r, rd_kafka_message_t *m) {
  part_restore *pr = m->rkt ? part_of(r, m->partition) : NULL;
  if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
    if (pr && pr->active && r->follow) {
      if (!pr->caught_up) {
        pr->caught_up = 1;
        r->cb.done(r->cb.opaque, m->partition, pr->records, pr->bytes,
                   (double)(uv_hrtime() - pr->started_ns) / 1e9);
      }
    } else if (pr && pr->active) {
      double s = (double)(uv_hrtime() - pr->started_ns) / 1e9;
      uint64_t recs = pr->records, bytes = pr->bytes;
      int32_t p = m->partition;
      finish(r, p);
      r->cb.done(r->cb.opaque, p, recs, bytes, s);
    }
  } else if (m->err) {
    /* Transport trouble is retried by the client; the restore waits. */
    cxp_warn("restore", "%s [%d]: %s", m->rkt ? rd_kafka_topic_name(m->rkt) : r->topic,
             (int)m->partition, rd_kafka_message_errstr(m));
  } else if (pr && pr->active) {
    pr->records++;
    pr->bytes += m->len + m->key_len;
    r->cb.record(r->cb.opaque, m->partition, m);
  }
  rd_kafka_message_destroy(m);
}

int cxp_restore_poll(cxp_restore *r, int budget) {
  rd_kafka_message_t *batch[256];
  int n = 0;
  while (n < budget) {
    size_t want = (size_t)(budget - n) < 256 ? (size_t)(budget - n) : 256;
    ssize_t got = rd_kafka_consume_batch_queue(r->q, 0, batch, want);
    if (got <= 0) return 0;
    for (ssize_t i = 0; i < got; i++) handle(r, batch[i]);
    n += (int)got;
  }
  return rd_kafka_queue_length(r->q) > 0;
}

int32_t cxp_restore_topic_partitions(cxp_restore *r, int timeout_ms) {
  return cxp_kafka_topic_partitions(r->rk, r->topic, timeout_ms);
}
