#include "daemon.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "kafka.h"
#include "log.h"
#include "offsets.h"

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* An output that could not be queued in the producer yet (its queue was
 * full): held here, in order, and retried as the queue drains. */
typedef struct pending_out {
  struct pending_out *next;
  cxp_stream stream;
  uint64_t token;
  size_t klen, vlen;
  char *key; /* NULL when the output has no key */
  char data[];
} pending_out;

struct cxp_daemon {
  uv_loop_t *loop;
  cxp_config cfg;
  cxp_pipeline pl;
  char config_path[CXP_STR_MAX];

  rd_kafka_t *consumer, *producer;
  rd_kafka_queue_t *cq, *pq;
  rd_kafka_topic_t *out_topic[CXP_STREAM__COUNT];
  int efd;

  /* Handles are embedded; the daemon is freed only after all are closed. */
  uv_poll_t wake;
  uv_idle_t more;        /* runs slices while a queue still holds work */
  uv_timer_t serve;      /* serves the consumer while traffic is idle */
  uv_timer_t commit;
  uv_timer_t stats;
  uv_timer_t stopper;    /* drives the ordered shutdown */
  int handles_open;

  cxp_core core;
  cxp_offsets offsets;
  cxp_tracker *cur_t; /* the message being processed */
  uint64_t cur_seq;
  int64_t now_ms;     /* wall clock, read once per slice */

  pending_out *pend_head, **pend_tail;
  size_t pend_count;
  int paused;
  int assigned;
  int stored_since_commit;

  uint64_t delivered[CXP_STREAM__COUNT];
  uint64_t delivery_retries, commits, commit_failures, rebalances, pauses;
  uint64_t last_consumed;
  uint64_t stop_started_ms;

  cxp_tap_fn tap;
  void *tap_opaque;
  int started, stopping, stopped, exit_code;
  cxp_stopped_fn on_stopped;
  void *stopped_arg;
};

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- Configuration ---------------------------------------------------- */

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
  /* Idempotent producer: acks=all, retries without duplicates or reorder. */
  cxp_config_kafka_default(c, "producer.enable.idempotence", "true");
  cxp_config_kafka_default(c, "producer.acks", "all");
  cxp_config_kafka_default(c, "producer.linger.ms", "5");
  cxp_config_kafka_default(c, "producer.queue.buffering.max.messages", "1000000");
}

/* ---- Outputs ----------------------------------------------------------- */

static void pause_all(cxp_daemon *d, int pause);

static int produce(cxp_daemon *d, cxp_stream s, const char *key, size_t klen,
                   const char *val, size_t vlen, uint64_t token) {
  /* RD_KAFKA_MSG_F_COPY: the core's buffer is reused for the next output. */
  return rd_kafka_produce(d->out_topic[s], RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                          (void *)val, vlen, key, klen, (void *)(uintptr_t)token);
}

static void pend(cxp_daemon *d, cxp_stream s, const char *key, size_t klen,
                 const char *val, size_t vlen, uint64_t token) {
  pending_out *p = malloc(sizeof *p + vlen + klen);
  if (p == NULL) abort();
  p->next = NULL;
  p->stream = s;
  p->token = token;
  p->vlen = vlen;
  p->klen = klen;
  memcpy(p->data, val, vlen);
  p->key = NULL;
  if (key) {
    p->key = p->data + vlen;
    memcpy(p->key, key, klen);
  }
  *d->pend_tail = p;
  d->pend_tail = &p->next;
  d->pend_count++;
}

/* Hands held outputs to the producer, oldest first, until it refuses. */
static void retry_pending(cxp_daemon *d) {
  while (d->pend_head) {
    pending_out *p = d->pend_head;
    if (produce(d, p->stream, p->key, p->klen, p->data, p->vlen, p->token) == -1) {
      rd_kafka_resp_err_t e = rd_kafka_last_error();
      if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
        cxp_warn("output", "producing to %s: %s; will retry",
                 rd_kafka_topic_name(d->out_topic[p->stream]), rd_kafka_err2str(e));
      return;
    }
    d->pend_head = p->next;
    if (d->pend_head == NULL) d->pend_tail = &d->pend_head;
    d->pend_count--;
    free(p);
  }
}

static void send_output(cxp_daemon *d, cxp_stream s, const char *key, size_t klen,
                        const char *val, size_t vlen, uint64_t token) {
  /* Behind held outputs, wait in line: the order of one customer's outputs
   * is kept. */
  if (d->pend_head == NULL && produce(d, s, key, klen, val, vlen, token) == 0) return;
  rd_kafka_resp_err_t e = d->pend_head ? RD_KAFKA_RESP_ERR__QUEUE_FULL : rd_kafka_last_error();
  if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
    cxp_warn("output", "producing to %s: %s; will retry",
             rd_kafka_topic_name(d->out_topic[s]), rd_kafka_err2str(e));
  pend(d, s, key, klen, val, vlen, token);
  if (!d->paused) pause_all(d, 1);
}

/* The core's emit: one output of the message being processed. */
static void on_emit(void *opaque, cxp_stream s, const char *key, size_t klen,
                    const char *val, size_t vlen) {
  cxp_daemon *d = opaque;
  uint64_t token = cxp_offsets_output(&d->offsets, d->cur_t, d->cur_seq);
  send_output(d, s, key, klen, val, vlen, token);
}

static cxp_stream stream_of(cxp_daemon *d, rd_kafka_topic_t *rkt) {
  for (int s = 0; s < CXP_STREAM__COUNT; s++)
    if (d->out_topic[s] == rkt) return (cxp_stream)s;
  return CXP_STREAM__COUNT;
}

/* Delivery reports, served on the loop thread by rd_kafka_poll(producer). */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  cxp_daemon *d = opaque;
  uint64_t token = (uint64_t)(uintptr_t)m->_private;
  cxp_stream s = stream_of(d, m->rkt);
  if (m->err) {
    /* Never drop an output: send it again. The idempotent producer has
     * already retried; this covers timeouts and transient broker trouble. */
    d->delivery_retries++;
    if (d->delivery_retries < 10 || d->delivery_retries % 1000 == 0)
      cxp_warn("output", "delivery to %s failed: %s (retrying; %" PRIu64 " retries so far)",
               rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err), d->delivery_retries);
    send_output(d, s, m->key, m->key_len, m->payload, m->len, token);
    return;
  }
  if (s < CXP_STREAM__COUNT) d->delivered[s]++;
  if (d->tap) d->tap(d->tap_opaque, s, m->key, m->key_len, m->payload, m->len);
  cxp_offsets_ack(&d->offsets, token);
}

/* ---- Offsets ------------------------------------------------------------ */

/* Hands every partition's committable offset to the consumer; the commit
 * timer commits them. */
static void store_offsets(cxp_daemon *d) {
  rd_kafka_topic_partition_list_t *l = NULL;
  for (int32_t i = 0; i < d->offsets.n; i++) {
    cxp_tracker *t = d->offsets.by_partition[i];
    if (t == NULL || t->committable < 0 || t->committable == t->stored) continue;
    if (l == NULL) l = rd_kafka_topic_partition_list_new(16);
    rd_kafka_topic_partition_list_add(l, d->pl.topic_input, t->partition)->offset =
        t->committable;
    t->stored = t->committable;
  }
  if (l == NULL) return;
  rd_kafka_resp_err_t e = rd_kafka_offsets_store(d->consumer, l);
  if (e) cxp_warn("commit", "storing offsets: %s", rd_kafka_err2str(e));
  d->stored_since_commit = 1;
  rd_kafka_topic_partition_list_destroy(l);
}

static void on_commit_result(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t *offsets, void *opaque) {
  (void)rk;
  (void)offsets;
  cxp_daemon *d = opaque;
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    d->commits++;
  } else if (err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
    d->commit_failures++;
    cxp_warn("commit", "offset commit failed: %s (the next commit carries them)",
             rd_kafka_err2str(err));
  }
}

static void on_commit_timer(uv_timer_t *t) {
  cxp_daemon *d = container_of(t, cxp_daemon, commit);
  store_offsets(d);
  if (!d->stored_since_commit || d->assigned == 0) return;
  d->stored_since_commit = 0;
  /* Asynchronous: the result comes back through on_commit_result. */
  rd_kafka_commit(d->consumer, NULL, 1);
}

/* ---- Rebalances --------------------------------------------------------- */

static void pause_list(cxp_daemon *d, rd_kafka_topic_partition_list_t *l, int pause) {
  rd_kafka_resp_err_t e =
      pause ? rd_kafka_pause_partitions(d->consumer, l) : rd_kafka_resume_partitions(d->consumer, l);
  if (e) cxp_warn("consumer", "%s partitions: %s", pause ? "pausing" : "resuming",
                  rd_kafka_err2str(e));
}

static void pause_all(cxp_daemon *d, int pause) {
  rd_kafka_topic_partition_list_t *l = NULL;
  if (rd_kafka_assignment(d->consumer, &l) == 0 && l) {
    if (l->cnt) pause_list(d, l, pause);
    rd_kafka_topic_partition_list_destroy(l);
  }
  if (pause && !d->paused && !d->stopping) {
    d->pauses++;
    cxp_debug("consumer", "producer queue full: consumption paused");
  }
  d->paused = pause;
}

/* Waits, on a revoke, until the outputs of the partitions going away are
 * acknowledged, so that their final offsets can be committed. This is the
 * one place the loop blocks, bounded by shutdown.timeout_ms: the group
 * protocol gives the partitions away when the callback returns. */
static void finish_outputs(cxp_daemon *d, int64_t timeout_ms) {
  int64_t deadline = wall_ms() + timeout_ms;
  while ((d->offsets.in_flight || d->pend_head) && wall_ms() < deadline) {
    retry_pending(d);
    rd_kafka_flush(d->producer, 50);
  }
  if (d->offsets.in_flight || d->pend_head)
    cxp_warn("output", "%" PRIu64 " outputs still unacknowledged after %lld ms; "
             "their inputs stay uncommitted and will be read again",
             d->offsets.in_flight + d->pend_count, (long long)timeout_ms);
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
  cxp_daemon *d = opaque;
  int cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  d->rebalances++;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    for (int i = 0; i < parts->cnt; i++) cxp_offsets_add(&d->offsets, parts->elems[i].partition);
    rd_kafka_error_t *e = NULL;
    rd_kafka_resp_err_t re = 0;
    if (cooperative)
      e = rd_kafka_incremental_assign(rk, parts);
    else
      re = rd_kafka_assign(rk, parts);
    if (e) {
      cxp_error("consumer", "assign: %s", rd_kafka_error_string(e));
      rd_kafka_error_destroy(e);
    } else if (re) {
      cxp_error("consumer", "assign: %s", rd_kafka_err2str(re));
    }
    d->assigned += parts->cnt;
    if (d->paused || d->stopping) pause_list(d, parts, 1);
    cxp_info("consumer", "assigned %d partition(s) of %s; holding %d", parts->cnt,
             d->pl.topic_input, d->assigned);
    return;
  }
  if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    cxp_error("consumer", "rebalance error: %s", rd_kafka_err2str(err));
    if (cooperative) {
      rd_kafka_error_t *e = rd_kafka_incremental_unassign(rk, parts);
      if (e) rd_kafka_error_destroy(e);
    } else {
      rd_kafka_assign(rk, NULL);
    }
    return;
  }
  int lost = rd_kafka_assignment_lost(rk);
  if (!lost) {
    /* Finish what these partitions started, then commit their final
     * positions synchronously, so the next owner starts where we ended. */
    finish_outputs(d, d->cfg.shutdown_timeout_ms);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(parts->cnt);
    for (int i = 0; i < parts->cnt; i++) {
      cxp_tracker *t = cxp_offsets_get(&d->offsets, parts->elems[i].partition);
      if (t && t->committable >= 0)
        rd_kafka_topic_partition_list_add(l, parts->elems[i].topic, t->partition)->offset =
            t->committable;
    }
    if (l->cnt) {
      rd_kafka_resp_err_t ce = rd_kafka_commit(rk, l, 0);
      if (ce) {
        d->commit_failures++;
        cxp_warn("commit", "commit on revoke failed: %s", rd_kafka_err2str(ce));
      } else {
        d->commits++;
      }
    }
    rd_kafka_topic_partition_list_destroy(l);
  } else {
    cxp_warn("consumer", "%d partition(s) lost (session timed out); uncommitted events "
             "will be read again by their next owner", parts->cnt);
  }
  if (cooperative) {
    rd_kafka_error_t *e = rd_kafka_incremental_unassign(rk, parts);
    if (e) {
      cxp_error("consumer", "unassign: %s", rd_kafka_error_string(e));
      rd_kafka_error_destroy(e);
    }
  } else {
    rd_kafka_assign(rk, NULL);
  }
  /* A revoked partition's customers go as one unit. */
  for (int i = 0; i < parts->cnt; i++) {
    cxp_offsets_remove(&d->offsets, parts->elems[i].partition);
    cxp_state_drop(&d->core.state, parts->elems[i].partition);
  }
  d->assigned -= parts->cnt;
  if (d->assigned < 0 || !cooperative) d->assigned = 0;
  cxp_info("consumer", "revoked %d partition(s); holding %d", parts->cnt, d->assigned);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
  cxp_daemon *d = opaque;
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512];
    rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof buf);
    cxp_error("kafka", "fatal error %s: %s; shutting down", rd_kafka_err2name(orig), buf);
    d->exit_code = 1;
    cxp_daemon_stop(d, d->on_stopped, d->stopped_arg);
    return;
  }
  /* Transport errors come and go as brokers restart; librdkafka
   * reconnects by itself. */
  cxp_warn("kafka", "%s: %s", rd_kafka_err2name(err), reason);
}

/* ---- The loop ----------------------------------------------------------- */

static void handle_message(cxp_daemon *d, rd_kafka_message_t *m) {
  if (m->err) {
    if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
      cxp_warn("consumer", "%s [%d]: %s", m->rkt ? rd_kafka_topic_name(m->rkt) : "-",
               (int)m->partition, rd_kafka_message_errstr(m));
    return;
  }
  cxp_tracker *t = cxp_offsets_get(&d->offsets, m->partition);
  if (t == NULL) t = cxp_offsets_add(&d->offsets, m->partition);
  d->cur_t = t;
  d->cur_seq = cxp_offsets_begin(&d->offsets, t, m->offset);
  cxp_msg msg = {d->pl.topic_input, m->partition, m->offset, m->payload ? m->payload : "",
                 m->payload ? m->len : 0, m->key, m->key_len, d->now_ms, d->now_ms, 1};
  cxp_core_process(&d->core, &msg);
  cxp_offsets_end(&d->offsets, t, d->cur_seq);
}

/* One slice: delivery reports, then up to poll.batch messages, then the
 * offsets they made committable. Returns 1 when work is left over. */
static int run_slice(cxp_daemon *d) {
  int more = 0;
  d->now_ms = wall_ms();
  rd_kafka_poll(d->producer, 0);
  retry_pending(d);
  if (!d->stopping) {
    long long n = 0, budget = d->cfg.poll_batch;
    cxp_core_batch_begin(&d->core);
    while (n < budget) {
      rd_kafka_message_t *m = rd_kafka_consumer_poll(d->consumer, 0);
      if (m == NULL) break;
      handle_message(d, m);
      rd_kafka_message_destroy(m);
      n++;
    }
    cxp_core_batch_end(&d->core);
    more = n == budget;
    rd_kafka_poll(d->producer, 0);
  }
  store_offsets(d);
  /* Back-pressure: a deep producer queue pauses the input until it drains;
   * delivery reports wake the loop as it does. */
  uint64_t outq = (uint64_t)rd_kafka_outq_len(d->producer);
  if (!d->stopping) {
    if (!d->paused && (outq >= (uint64_t)d->cfg.backpressure_high || d->pend_head))
      pause_all(d, 1);
    else if (d->paused && outq <= (uint64_t)d->cfg.backpressure_low && d->pend_head == NULL)
      pause_all(d, 0);
  }
  if (!more && d->pend_head && outq < (uint64_t)d->cfg.backpressure_high) more = 1;
  return more || rd_kafka_queue_length(d->cq) > 0 || rd_kafka_queue_length(d->pq) > 0;
}

static void on_more(uv_idle_t *h) {
  cxp_daemon *d = container_of(h, cxp_daemon, more);
  if (!run_slice(d)) uv_idle_stop(h);
}

static void schedule(cxp_daemon *d) {
  if (run_slice(d) && !uv_is_closing((uv_handle_t *)&d->more))
    uv_idle_start(&d->more, on_more);
}

static void on_wake(uv_poll_t *h, int status, int events) {
  (void)events;
  cxp_daemon *d = container_of(h, cxp_daemon, wake);
  uint64_t v;
  if (status < 0) {
    cxp_error("loop", "eventfd poll: %s", uv_strerror(status));
    return;
  }
  /* Reset the counter first: an enqueue after this read wakes us again. */
  while (read(d->efd, &v, sizeof v) == (ssize_t)sizeof v) {
  }
  schedule(d);
}

static void on_serve_timer(uv_timer_t *t) {
  cxp_daemon *d = container_of(t, cxp_daemon, serve);
  schedule(d);
}

static void on_stats_timer(uv_timer_t *t) {
  cxp_daemon *d = container_of(t, cxp_daemon, stats);
  const cxp_counters *n = &d->core.n;
  uint64_t dead = 0;
  for (int i = 0; i < CXP_BAD__COUNT; i++) dead += n->dead[i];
  double rate = (double)(n->consumed - d->last_consumed) / (double)d->cfg.stats_interval_s;
  d->last_consumed = n->consumed;
  cxp_info("stats",
           "consumed=%" PRIu64 " (%.0f/s) applied=%" PRIu64 " duplicates=%" PRIu64
           " dead_letters=%" PRIu64 " alerts=%" PRIu64 " customers=%zu partitions=%d"
           " outq=%d in_flight=%" PRIu64 " commits=%" PRIu64 " commit_failures=%" PRIu64
           "%s",
           n->consumed, rate, n->processed, n->duplicates, dead,
           n->outputs[CXP_STREAM_ALERTS], d->core.state.customers, d->assigned,
           rd_kafka_outq_len(d->producer), d->offsets.in_flight, d->commits,
           d->commit_failures, d->paused ? " paused" : "");
}

/* ---- Lifecycle ---------------------------------------------------------- */

cxp_daemon *cxp_daemon_create(uv_loop_t *loop, const cxp_config *c, const cxp_pipeline *p,
                              const char *config_path, char *err, size_t errlen) {
  cxp_daemon *d = calloc(1, sizeof *d);
  if (d == NULL) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  d->loop = loop;
  d->cfg = *c;
  d->pl = *p;
  d->efd = -1;
  d->pend_tail = &d->pend_head;
  snprintf(d->config_path, sizeof d->config_path, "%s", config_path ? config_path : "(config)");
  cxp_daemon_kafka_defaults(&d->cfg, &d->pl);
  if (cxp_config_kafka_get(&d->cfg, "bootstrap.servers") == NULL) {
    snprintf(err, errlen, "%s: key 'kafka.bootstrap.servers': required", d->config_path);
    free(d);
    return NULL;
  }
  cxp_offsets_init(&d->offsets);
  cxp_core_init(&d->core, &d->pl, on_emit, d);

  char e[512];
  rd_kafka_conf_t *cc = cxp_kafka_conf(&d->cfg, RD_KAFKA_CONSUMER, d->config_path, err, errlen);
  rd_kafka_conf_t *pc = cc ? cxp_kafka_conf(&d->cfg, RD_KAFKA_PRODUCER, d->config_path, err, errlen)
                           : NULL;
  if (pc == NULL) goto fail_conf;
  rd_kafka_conf_set_opaque(cc, d);
  rd_kafka_conf_set_opaque(pc, d);
  rd_kafka_conf_set_rebalance_cb(cc, on_rebalance);
  rd_kafka_conf_set_offset_commit_cb(cc, on_commit_result);
  rd_kafka_conf_set_error_cb(cc, on_error);
  rd_kafka_conf_set_error_cb(pc, on_error);
  rd_kafka_conf_set_dr_msg_cb(pc, on_delivery);

  /* On success rd_kafka_new takes ownership of the conf. */
  d->producer = rd_kafka_new(RD_KAFKA_PRODUCER, pc, e, sizeof e);
  if (d->producer == NULL) {
    snprintf(err, errlen, "producer: %s", e);
    goto fail_conf;
  }
  pc = NULL;
  d->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cc, e, sizeof e);
  if (d->consumer == NULL) {
    snprintf(err, errlen, "consumer: %s", e);
    goto fail_conf;
  }
  cc = NULL;
  const char *names[CXP_STREAM__COUNT] = {d->pl.topic_alerts, d->pl.topic_indicators,
                                          d->pl.topic_dead_letters};
  for (int s = 0; s < CXP_STREAM__COUNT; s++)
    d->out_topic[s] = rd_kafka_topic_new(d->producer, names[s], NULL);
  rd_kafka_poll_set_consumer(d->consumer);
  d->cq = rd_kafka_queue_get_consumer(d->consumer);
  d->pq = rd_kafka_queue_get_main(d->producer);
  return d;

fail_conf:
  if (cc) rd_kafka_conf_destroy(cc);
  if (pc) rd_kafka_conf_destroy(pc);
  cxp_daemon_destroy(d);
  return NULL;
}

void cxp_daemon_set_tap(cxp_daemon *d, cxp_tap_fn fn, void *opaque) {
  d->tap = fn;
  d->tap_opaque = opaque;
}

int cxp_daemon_start(cxp_daemon *d) {
  d->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (d->efd < 0) {
    cxp_error("loop", "eventfd: %s", strerror(errno));
    return -1;
  }
  /* librdkafka writes this 8-byte payload (an eventfd increment of 1)
   * whenever a queue goes from empty to non-empty. */
  static const uint64_t one = 1;
  rd_kafka_queue_io_event_enable(d->cq, d->efd, &one, sizeof one);
  rd_kafka_queue_io_event_enable(d->pq, d->efd, &one, sizeof one);

  uv_poll_init(d->loop, &d->wake, d->efd);
  uv_idle_init(d->loop, &d->more);
  uv_timer_init(d->loop, &d->serve);
  uv_timer_init(d->loop, &d->commit);
  uv_timer_init(d->loop, &d->stats);
  uv_timer_init(d->loop, &d->stopper);
  d->handles_open = 6;
  /* From here on the handles exist, so stopping must take the full path
   * that closes them, even if subscribing fails below. */
  d->started = 1;
  uv_poll_start(&d->wake, UV_READABLE, on_wake);
  uv_timer_start(&d->serve, on_serve_timer, (uint64_t)d->cfg.idle_poll_ms,
                 (uint64_t)d->cfg.idle_poll_ms);
  uv_timer_start(&d->commit, on_commit_timer, (uint64_t)d->cfg.commit_interval_ms,
                 (uint64_t)d->cfg.commit_interval_ms);
  if (d->cfg.stats_interval_s > 0)
    uv_timer_start(&d->stats, on_stats_timer, (uint64_t)d->cfg.stats_interval_s * 1000,
                   (uint64_t)d->cfg.stats_interval_s * 1000);

  rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(sub, d->pl.topic_input, RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t e = rd_kafka_subscribe(d->consumer, sub);
  rd_kafka_topic_partition_list_destroy(sub);
  if (e) {
    cxp_error("consumer", "subscribing to %s: %s", d->pl.topic_input, rd_kafka_err2str(e));
    return -1;
  }
  cxp_info("daemon", "pipeline '%s': consuming %s as group %s; alerts -> %s, indicators -> %s, "
           "dead letters -> %s",
           d->pl.name, d->pl.topic_input, cxp_config_kafka_get(&d->cfg, "consumer.group.id"),
           d->pl.topic_alerts, d->pl.topic_indicators, d->pl.topic_dead_letters);
  /* Anything queued before the io event was enabled would not wake us. */
  schedule(d);
  return 0;
}

static void on_handle_closed(uv_handle_t *h) {
  cxp_daemon *d = h->data;
  if (--d->handles_open > 0) return;
  if (d->efd >= 0) close(d->efd);
  d->efd = -1;
  d->stopped = 1;
  if (d->on_stopped) d->on_stopped(d, d->stopped_arg);
}

static void close_clients_and_handles(cxp_daemon *d) {
  store_offsets(d);
  if (d->assigned > 0) {
    rd_kafka_resp_err_t e = rd_kafka_commit(d->consumer, NULL, 0);
    if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET) {
      d->commit_failures++;
      cxp_warn("commit", "final commit failed: %s", rd_kafka_err2str(e));
    } else if (!e) {
      d->commits++;
    }
  }
  /* Leaves the group; the revoke it causes commits again (nothing new). */
  rd_kafka_consumer_close(d->consumer);
  rd_kafka_queue_io_event_enable(d->cq, -1, NULL, 0);
  rd_kafka_queue_io_event_enable(d->pq, -1, NULL, 0);
  rd_kafka_queue_destroy(d->cq);
  rd_kafka_queue_destroy(d->pq);
  d->cq = d->pq = NULL;
  for (int s = 0; s < CXP_STREAM__COUNT; s++) rd_kafka_topic_destroy(d->out_topic[s]);
  memset(d->out_topic, 0, sizeof d->out_topic);
  rd_kafka_destroy(d->consumer);
  rd_kafka_destroy(d->producer);
  d->consumer = d->producer = NULL;
  uv_handle_t *hs[] = {(uv_handle_t *)&d->wake,  (uv_handle_t *)&d->more,
                       (uv_handle_t *)&d->serve, (uv_handle_t *)&d->commit,
                       (uv_handle_t *)&d->stats, (uv_handle_t *)&d->stopper};
  for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++) {
    hs[i]->data = d;
    uv_close(hs[i], on_handle_closed);
  }
  cxp_info("daemon", "stopped: consumed=%" PRIu64 " applied=%" PRIu64
           " alerts=%" PRIu64 " dead_letters=%" PRIu64 " delivered=%" PRIu64,
           d->core.n.consumed, d->core.n.processed, d->core.n.outputs[CXP_STREAM_ALERTS],
           d->core.n.outputs[CXP_STREAM_DEAD_LETTERS],
           d->delivered[0] + d->delivered[1] + d->delivered[2]);
}

/* Ticks while the shutdown waits for outputs: the loop keeps running, so
 * delivery reports and the consumer are still served. */
static void on_stopper(uv_timer_t *t) {
  cxp_daemon *d = container_of(t, cxp_daemon, stopper);
  run_slice(d);
  int64_t waited = wall_ms() - (int64_t)d->stop_started_ms;
  if (d->offsets.in_flight == 0 && d->pend_head == NULL && rd_kafka_outq_len(d->producer) == 0) {
    uv_timer_stop(t);
    close_clients_and_handles(d);
  } else if (waited >= d->cfg.shutdown_timeout_ms) {
    cxp_error("daemon", "%" PRIu64 " outputs unacknowledged after %lld ms; their inputs "
              "stay uncommitted and will be read again",
              d->offsets.in_flight + d->pend_count, (long long)waited);
    d->exit_code = 1;
    uv_timer_stop(t);
    close_clients_and_handles(d);
  }
}

void cxp_daemon_stop(cxp_daemon *d, cxp_stopped_fn done, void *arg) {
  d->on_stopped = done;
  d->stopped_arg = arg;
  if (d->stopping) return;
  d->stopping = 1;
  if (!d->started) {
    if (done) done(d, arg);
    return;
  }
  cxp_info("daemon", "stopping: no new input; waiting for %" PRIu64 " outputs",
           d->offsets.in_flight + d->pend_count);
  /* Stop consuming: nothing new is fetched, and no slice polls for more. */
  pause_all(d, 1);
  uv_idle_stop(&d->more);
  uv_timer_stop(&d->serve);
  d->stop_started_ms = (uint64_t)wall_ms();
  uv_timer_start(&d->stopper, on_stopper, 0, 10);
}

void cxp_daemon_destroy(cxp_daemon *d) {
  if (d == NULL) return;
  while (d->pend_head) {
    pending_out *p = d->pend_head;
    d->pend_head = p->next;
    free(p);
  }
  if (d->consumer) rd_kafka_destroy(d->consumer);
  if (d->producer) rd_kafka_destroy(d->producer);
  cxp_core_close(&d->core);
  cxp_offsets_close(&d->offsets);
  free(d);
}

void cxp_daemon_stats_get(cxp_daemon *d, cxp_daemon_stats *s) {
  memset(s, 0, sizeof *s);
  s->core = &d->core.n;
  memcpy(s->delivered, d->delivered, sizeof s->delivered);
  s->delivery_retries = d->delivery_retries;
  s->commits = d->commits;
  s->commit_failures = d->commit_failures;
  s->rebalances = d->rebalances;
  s->pauses = d->pauses;
  s->outq = d->producer ? (uint64_t)rd_kafka_outq_len(d->producer) : 0;
  s->in_flight = d->offsets.in_flight;
  s->customers = d->core.state.customers;
  s->assigned = d->assigned;
  s->paused = d->paused;
}

int cxp_daemon_exit_code(const cxp_daemon *d) { return d->exit_code; }

/* ---- `cxpulse run` ------------------------------------------------------ */

typedef struct run_ctx {
  cxp_daemon *d;
  uv_signal_t sigterm, sigint;
} run_ctx;

static void on_run_stopped(cxp_daemon *d, void *arg) {
  (void)d;
  run_ctx *r = arg;
  uv_close((uv_handle_t *)&r->sigterm, NULL);
  uv_close((uv_handle_t *)&r->sigint, NULL);
}

static void on_signal(uv_signal_t *h, int signum) {
  run_ctx *r = h->data;
  cxp_info("daemon", "received %s", signum == SIGTERM ? "SIGTERM" : "SIGINT");
  cxp_daemon_stop(r->d, on_run_stopped, r);
}

int cxp_daemon_main(int argc, char **argv) {
  static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  const char *path = NULL;
  int ch;
  optind = 1;
  while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
    switch (ch) {
    case 'c': path = optarg; break;
    case 'h':
      printf("usage: cxpulse run --config FILE\n");
      return 0;
    default: return 2;
    }
  }
  if (path == NULL) {
    fprintf(stderr, "usage: cxpulse run --config FILE\n");
    return 2;
  }
  char err[512];
  cxp_config c;
  cxp_pipeline p;
  if (cxp_config_load(&c, path, err, sizeof err) ||
      cxp_pipeline_load(&p, c.pipeline, err, sizeof err)) {
    fprintf(stderr, "cxpulse: %s\n", err);
    return 1;
  }
  cxp_log_level = cxp_log_parse_level(c.log_level);
  uv_loop_t loop;
  uv_loop_init(&loop);
  run_ctx r;
  memset(&r, 0, sizeof r);
  r.d = cxp_daemon_create(&loop, &c, &p, path, err, sizeof err);
  if (r.d == NULL) {
    fprintf(stderr, "cxpulse: %s\n", err);
    uv_loop_close(&loop);
    return 1;
  }
  uv_signal_init(&loop, &r.sigterm);
  uv_signal_init(&loop, &r.sigint);
  r.sigterm.data = r.sigint.data = &r;
  uv_signal_start(&r.sigterm, on_signal, SIGTERM);
  uv_signal_start(&r.sigint, on_signal, SIGINT);
  int rc = 0;
  if (cxp_daemon_start(r.d)) {
    rc = 1;
    cxp_daemon_stop(r.d, on_run_stopped, &r);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  if (rc == 0) rc = cxp_daemon_exit_code(r.d);
  cxp_daemon_destroy(r.d);
  int lc = uv_loop_close(&loop);
  if (lc != 0) {
    cxp_error("daemon", "uv_loop_close: %s (a handle was left open)", uv_strerror(lc));
    rc = 1;
  }
  return rc;
}
