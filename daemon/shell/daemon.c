#include "daemon.h"

#include <errno.h>
#include <pthread.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <librdkafka/rdkafka.h>

#include "admin.h"
#include "hash.h"
#include "http.h"
#include "kafka.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "offsets.h"
#include "restore.h"
#include "snapshot.h"
#include "staterec.h"

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* An output that could not be queued in the producer yet (its queue was
 * full): held here, in order, and retried as the queue drains. */
typedef struct pending_out {
  struct pending_out *next;
  cxp_stream stream;
  int32_t partition; /* RD_KAFKA_PARTITION_UA: the partitioner's choice */
  uint64_t token;
  size_t klen, vlen;
  char *key; /* NULL when the output has no key */
  char data[];
} pending_out;

/* Durable state of one input partition (state.durable): the changelog
 * batch flushed but waiting for the outputs of the events it reflects, the
 * batch produced and not yet acknowledged, and how far input offsets are
 * durable. See ARCHITECTURE.md, "Durable state". */
typedef struct cl_part {
  cxp_buf wait;       /* frames (staterec.h) of the waiting batch */
  size_t wait_n;
  int64_t wait_x;     /* the last input offset it reflects; -1: none waiting */
  uint32_t in_flight; /* records of the produced batch not yet acknowledged */
  int64_t flight_x;
  uint32_t gen;       /* numbers produced batches: a stale ack is ignored */
  int64_t hold;       /* inputs below it are in acknowledged records; -1 none */
  int64_t early;      /* first offset consumed while restoring (dropped, sought
                         back to afterwards); -1 none */
  int64_t covered;    /* the last changelog offset the partition's state holds
                         (restored or acknowledged): a snapshot's; -1 none */
  int loading;        /* its snapshot is being read off the loop */
  int64_t flushed_ms; /* wall clock of its last flush; 0: none yet */
} cl_part;

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
  uv_timer_t tick;       /* quiet partitions' window clocks, merge timeouts (1 s) */
  uv_timer_t flush;      /* changelog coalescing interval (state.flush_interval_ms) */

  /* Messages polled ahead of the one being processed, oldest first, so that
   * their customers' state is on its way into the cache by their turn
   * (run_slice). A rebalance served by the poll that fetched a later one
   * handles these first (drain_held): their order is the consumer's. Each
   * with whether it is of the repartition topic and, for an input message
   * with a key, the hash its customer is found by, worked out once. */
  struct held {
    rd_kafka_message_t *m;
    int repart;
    int hashed;
    uint64_t h;
  } held[3];
  int n_held;
  long long handled; /* messages handled in the current slice */
  int handles_open;
  cxp_http *http;     /* the admin endpoint; NULL when off */
  cxp_notify notify;  /* systemd's notify socket; inert without one */
  cxp_histogram latency; /* consumed to committable, seconds */
  /* From librdkafka's statistics (statistics.interval.ms): per input
   * partition, the high watermark minus the committed offset. -1 unknown. */
  int64_t *committed_lag;
  int32_t n_committed_lag;
  int ready_sent;

  cxp_core core;
  cxp_offsets offsets;  /* input partitions */
  cxp_offsets roffsets; /* repartition partitions */
  cxp_offsets *cur_o;   /* the entry outputs belong to: its trackers, */
  cxp_tracker *cur_t;   /* tracker (NULL: no entry) */
  uint64_t cur_seq;     /* and sequence number */
  int32_t n_inputs;     /* partitions of the input topic */
  int32_t n_repart;     /* partitions of the repartition topic */
  int64_t now_ms;     /* wall clock, read once per slice */

  cxp_restore *restore; /* NULL unless state.durable */
  cl_part *cl;          /* by input partition */
  int32_t n_cl;
  uint64_t cl_records, cl_bytes, input_bytes;
  uint64_t restore_records, restore_partitions, restore_errors;
  double restore_seconds, restore_last_rate;
  char snap_dir[CXP_STR_MAX]; /* "" : no snapshots */
  int n_loading;              /* snapshots being read */
  uint64_t snapshot_records, snapshot_errors, snapshots_written;

  pending_out *pend_head, **pend_tail;
  size_t pend_count;
  rd_kafka_resp_err_t pend_err; /* why the held outputs wait (QUEUE_FULL: room) */
  int paused;
  int64_t paused_since_ms;      /* wall clock of the pause; 0 while consuming */
  int assigned;
  int stored_since_commit;
  int repart_pending; /* repartition positions moved since their last commit */

  uint64_t delivered[CXP_STREAM__COUNT];
  uint64_t rejected[CXP_STREAM__COUNT]; /* refused for good, dead-lettered instead */
  uint64_t delivery_retries, commits, commit_failures, rebalances, pauses;
  /* Outputs produced again after a failure that may pass, not delivered
   * yet (their tokens carry RETRY_BIT), and since when some have been. */
  uint32_t retrying;
  int64_t retry_since_ms;
  rd_kafka_resp_err_t retry_err;
  const char *retry_topic;
  /* Outputs that will never be acknowledged (a dead letter the topic
   * refused for good): their inputs stay uncommitted, and the shutdown
   * does not wait for them. */
  uint64_t stuck;
  uint64_t offsets_skipped; /* input offsets lost to retention before they were read */
  char why[256];            /* cxp_daemon_not_ready's sentence */
  uint64_t last_consumed;
  uint64_t stop_started_ms;
  int64_t stop_deadline_ms; /* outputs are waited for until then; 0: not stopping */

  cxp_tap_fn tap;
  void *tap_opaque;
  int started, stopping, stopped, exit_code;
  int abandoned; /* the clients are being destroyed on a thread of their own */
  cxp_stopped_fn on_stopped;
  void *stopped_arg;
};

static void on_latency(void *opaque, double seconds) {
  cxp_daemon *d = opaque;
  cxp_histogram_observe(&d->latency, seconds);
}

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

/* ---- Outputs ----------------------------------------------------------- */

static void pause_all(cxp_daemon *d, int pause);

/* Token flags: offsets.h leaves the top four bits of a token to the shell.
 * Tokens of repartition-topic entries carry REPART_BIT; changelog records
 * carry CL_BIT, their partition and batch number instead of an entry;
 * RETRY_BIT marks an output produced again after a failure. */
#define REPART_BIT (1ULL << 63)
#define CL_BIT (1ULL << 62)
#define RETRY_BIT (1ULL << 61)
#define CL_TOKEN(part, gen) (CL_BIT | (uint64_t)(uint16_t)(part) << 32 | (uint32_t)(gen))

static int produce(cxp_daemon *d, cxp_stream s, int32_t part, const char *key, size_t klen,
                   const char *val, size_t vlen, uint64_t token) {
  /* RD_KAFKA_MSG_F_COPY: the core's buffer is reused for the next output. */
  return rd_kafka_produce(d->out_topic[s], part, RD_KAFKA_MSG_F_COPY, (void *)val, vlen, key,
                          klen, (void *)(uintptr_t)token);
}

/* Errors no retry gets past: the record, the topic or the client's rights
 * are refused. Anything else (a broker away, a leader moving, a timeout)
 * may pass, and the output is produced again. */
static int refused_for_good(rd_kafka_resp_err_t e) {
  switch (e) {
  case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
  case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
  case RD_KAFKA_RESP_ERR_INVALID_RECORD:
  case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
  case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
  case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
  case RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT:
  case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
  case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
  case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
  case RD_KAFKA_RESP_ERR__INVALID_ARG:
    return 1;
  default:
    return 0;
  }
}

static void pend(cxp_daemon *d, cxp_stream s, int32_t part, const char *key, size_t klen,
                 const char *val, size_t vlen, uint64_t token) {
  pending_out *p = malloc(sizeof *p + vlen + klen);
  if (p == NULL) abort();
  p->next = NULL;
  p->stream = s;
  p->partition = part;
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

/* An output marked RETRY_BIT leaves (delivered, refused, or failed again
 * and about to be marked anew). */
static void retry_end(cxp_daemon *d, uint64_t token) {
  if (!(token & RETRY_BIT) || d->retrying == 0) return;
  if (--d->retrying == 0) d->retry_since_ms = 0;
}

static void reject(cxp_daemon *d, cxp_stream s, const char *key, size_t klen, const char *val,
                   size_t vlen, uint64_t token, rd_kafka_resp_err_t e);

/* Hands one output to the producer. 0: it is gone (taken, or refused for
 * good and handed to reject()); -1: the producer cannot take it yet, and
 * d->pend_err says why. */
static int try_produce(cxp_daemon *d, cxp_stream s, int32_t part, const char *key, size_t klen,
                       const char *val, size_t vlen, uint64_t token) {
  if (produce(d, s, part, key, klen, val, vlen, token) == 0) return 0;
  rd_kafka_resp_err_t e = rd_kafka_last_error();
  if (refused_for_good(e)) {
    retry_end(d, token);
    reject(d, s, key, klen, val, vlen, token, e);
    return 0;
  }
  if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
    cxp_warn("output", "producing to %s: %s; will retry", rd_kafka_topic_name(d->out_topic[s]),
             rd_kafka_err2str(e));
  d->pend_err = e;
  return -1;
}

/* Produces an output, or holds it, in order, while the producer cannot
 * take it yet. Behind held outputs it waits in line: the order of one
 * customer's outputs is kept. */
static void send_output(cxp_daemon *d, cxp_stream s, int32_t part, const char *key,
                        size_t klen, const char *val, size_t vlen, uint64_t token) {
  if (d->pend_head == NULL && try_produce(d, s, part, key, klen, val, vlen, token) == 0) return;
  pend(d, s, part, key, klen, val, vlen, token);
  if (!d->paused) pause_all(d, 1);
}

/* Hands held outputs to the producer, oldest first, until it cannot take
 * one yet. Each leaves the line before it is tried: a rejected output's
 * dead letter must not queue behind the output it replaces. */
static void retry_pending(cxp_daemon *d) {
  while (d->pend_head) {
    pending_out *p = d->pend_head;
    d->pend_head = p->next;
    if (d->pend_head == NULL) d->pend_tail = &d->pend_head;
    d->pend_count--;
    if (try_produce(d, p->stream, p->partition, p->key, p->klen, p->data, p->vlen, p->token)) {
      p->next = d->pend_head; /* back to the head of the line */
      if (d->pend_head == NULL) d->pend_tail = &p->next;
      d->pend_head = p;
      d->pend_count++;
      return;
    }
    free(p);
  }
  d->pend_err = RD_KAFKA_RESP_ERR_NO_ERROR;
}

static uint64_t next_token(cxp_daemon *d) {
  if (d->cur_t == NULL) return 0; /* belongs to no entry: its ack is ignored */
  uint64_t t = cxp_offsets_output(d->cur_o, d->cur_t, d->cur_seq);
  return d->cur_o == &d->roffsets ? t | REPART_BIT : t;
}

/* The core's emit: one output of the entry being processed. A record for
 * the repartition topic is keyed by the partition that merges its windows
 * (winwire.h: the same from every instance). */
static void on_emit(void *opaque, cxp_stream s, const char *key, size_t klen,
                    const char *val, size_t vlen) {
  cxp_daemon *d = opaque;
  int32_t part = RD_KAFKA_PARTITION_UA;
  if (s == CXP_STREAM_PARTIALS && d->n_repart > 0) {
    char k[16];
    snprintf(k, sizeof k, "%.*s", (int)(klen < 15 ? klen : 15), key);
    part = (int32_t)(strtol(k, NULL, 10) % d->n_repart);
  }
  send_output(d, s, part, key, klen, val, vlen, next_token(d));
}

static cxp_stream stream_of(cxp_daemon *d, rd_kafka_topic_t *rkt) {
  for (int s = 0; s < CXP_STREAM__COUNT; s++)
    if (d->out_topic[s] == rkt) return (cxp_stream)s;
  return CXP_STREAM__COUNT;
}

static cxp_offsets *offsets_of(cxp_daemon *d, uint64_t *token) {
  if (*token & REPART_BIT) {
    *token &= ~REPART_BIT;
    return &d->roffsets;
  }
  return &d->offsets;
}

/* ---- Durable state: the changelog ---------------------------------------- */

static cl_part *cl_get(cxp_daemon *d, int32_t part) {
  if (part < 0 || part > 0xffff) return NULL;
  if (part >= d->n_cl) {
    int32_t n = part + 16;
    cl_part *nc = realloc(d->cl, sizeof *nc * (size_t)n);
    if (nc == NULL) abort();
    for (int32_t i = d->n_cl; i < n; i++) {
      memset(&nc[i], 0, sizeof nc[i]);
      nc[i].wait_x = nc[i].flight_x = nc[i].hold = nc[i].early = nc[i].covered = -1;
    }
    d->cl = nc;
    d->n_cl = n;
  }
  return &d->cl[part];
}

/* Forgets a partition's batches (assigned afresh, or lost): acknowledgements
 * of what was produced before no longer count. */
static void cl_reset(cxp_daemon *d, int32_t part) {
  cl_part *c = cl_get(d, part);
  if (c == NULL) return;
  c->wait.len = 0;
  c->wait_n = 0;
  c->wait_x = c->flight_x = c->hold = c->early = c->covered = -1;
  c->in_flight = 0;
  c->gen++;
  /* A partition assigned with a backlog stretches from its first flush. */
  c->flushed_ms = wall_ms();
  if (c->loading) d->n_loading--;
  c->loading = 0;
}

/* An input partition waiting for its state: a snapshot being read, or the
 * changelog. */
static int restoring(const cxp_daemon *d, int32_t part) {
  return cxp_restore_active(d->restore, part) ||
         (part >= 0 && part < d->n_cl && d->cl[part].loading);
}

/* The coalescing interval ended for a partition: the customers it changed
 * are encoded as they are now, reflecting every event up to the last one
 * consumed, and wait until those events' outputs are acknowledged. */
static void cl_flush(cxp_daemon *d, int32_t part) {
  cxp_tracker *t = cxp_offsets_get(&d->offsets, part);
  cl_part *c = cl_get(d, part);
  int64_t x = t ? cxp_offsets_last(t) : -1;
  if (c == NULL || x < 0 || restoring(d, part)) return;
  c->flushed_ms = wall_ms();
  if (cxp_core_state_dirty(&d->core, part) == 0 &&
      cxp_core_partition_changed(&d->core, part) == 0) {
    /* Nothing changed since the last batch: once that is acknowledged
     * (or if there is none) the inputs up to x are durable. */
    if (c->wait_x < 0 && c->in_flight == 0) c->hold = x + 1;
    return;
  }
  /* The partition's own records (systemic groups, windows, the window
   * clock) first, then the customers: the producer keeps a partition's
   * records in order, so a customer's record acknowledged means the records
   * his events changed are too (window.h, cases.h). */
  c->wait_n += cxp_core_partition_flush(&d->core, part, x, &c->wait);
  c->wait_n += cxp_core_state_flush(&d->core, part, &c->wait);
  c->wait_x = x;
}

/* Produces each waiting batch whose events' outputs are all acknowledged
 * (the tracker's committable offset is past it), one batch in flight per
 * partition. A record is thus written only after the alerts of every event
 * it reflects: a restart that skips those events loses none of them. */
static void cl_send_ready(cxp_daemon *d) {
  for (int32_t p = 0; p < d->n_cl; p++) {
    cl_part *c = &d->cl[p];
    if (c->wait_x < 0 || c->in_flight) continue;
    cxp_tracker *t = cxp_offsets_get(&d->offsets, p);
    if (t == NULL || t->committable < c->wait_x + 1) continue;
    c->gen++;
    size_t pos = 0, kl, vl;
    const char *k;
    const uint8_t *v;
    while (cxp_staterec_frame_next(c->wait.p, c->wait.len, &pos, &k, &kl, &v, &vl)) {
      send_output(d, CXP_STREAM_CHANGELOG, p, k, kl, (const char *)v, vl, CL_TOKEN(p, c->gen));
      c->in_flight++;
      d->cl_records++;
      d->cl_bytes += kl + vl;
    }
    c->flight_x = c->wait_x;
    c->wait_x = -1;
    c->wait.len = 0;
    c->wait_n = 0;
    if (c->in_flight == 0) c->hold = c->flight_x + 1;
  }
}

static void cl_ack(cxp_daemon *d, int32_t part, uint32_t gen, int64_t offset) {
  if (part < 0 || part >= d->n_cl) return;
  cl_part *c = &d->cl[part];
  if (c->gen != gen || c->in_flight == 0) return;
  if (offset > c->covered) c->covered = offset;
  if (--c->in_flight == 0) c->hold = c->flight_x + 1;
}

/* Batches still waiting or in flight, over all partitions. Once an output
 * is stuck (a dead letter with nowhere to go), a waiting batch may never
 * be sent: only those in flight count. */
static int cl_busy(const cxp_daemon *d) {
  for (int32_t p = 0; p < d->n_cl; p++)
    if ((d->cl[p].wait_x >= 0 && !d->stuck) || d->cl[p].in_flight) return 1;
  return 0;
}

static int64_t input_lag(cxp_daemon *d, int32_t part);

/* A partition catching up on a backlog (further behind its input than
 * state.catchup_lag) writes its changes at most every
 * state.catchup_flush_ms: a customer touched many times in the backlog
 * goes to the changelog once, not once a second. Its commits wait as
 * long. */
static int cl_deferred(cxp_daemon *d, int32_t part, int64_t now) {
  if (d->pl.state_catchup_flush_ms <= 0 || part >= d->n_cl) return 0;
  const cl_part *c = &d->cl[part];
  if (c->flushed_ms == 0 || now - c->flushed_ms >= d->pl.state_catchup_flush_ms) return 0;
  return input_lag(d, part) > d->pl.state_catchup_lag;
}

/* Every partition's changes (at the flush timer, partitions catching up
 * only when their stretched interval is over; at shutdown all). */
static void cl_flush_all(cxp_daemon *d, int timer) {
  int64_t now = wall_ms();
  for (int32_t i = 0; i < d->offsets.n; i++)
    if (d->offsets.by_partition[i] && !(timer && cl_deferred(d, i, now))) cl_flush(d, i);
  cl_send_ready(d);
}

/* ---- Durable state: snapshot files --------------------------------------- */

static void snapshot_path(const cxp_daemon *d, int32_t part, char *out, size_t cap) {
  snprintf(out, cap, "%s/%s.%d.snap", d->snap_dir, d->pl.topic_changelog, (int)part);
}

typedef struct snap_job {
  uv_work_t req;
  cxp_daemon *d;
  int32_t part;
  uint32_t gen;
  char path[CXP_STR_MAX + 300];
  cxp_state st;
  cxp_buf cases; /* the customers' cases sections, for the loop to restore */
  cxp_buf extra; /* frames of the rest of its state (systemic groups), the same */
  int64_t max_ts;
  long n;
  int64_t offset;
  double seconds;
  char err[512];
} snap_job;

static void handle_gone(cxp_daemon *d);
static void pause_list(cxp_daemon *d, rd_kafka_topic_partition_list_t *l, int pause);

/* Off the loop: verify and read the whole file into a state of its own. */
static void snapshot_work(uv_work_t *req) {
  snap_job *j = container_of(req, snap_job, req);
  uint64_t t0 = uv_hrtime();
  cxp_state_init(&j->st);
  cxp_buf_init(&j->cases);
  cxp_buf_init(&j->extra);
  j->n = cxp_snapshot_read(j->path, &j->st, j->part, &j->offset, &j->cases, &j->extra,
                           &j->max_ts, j->err, sizeof j->err);
  j->seconds = (double)(uv_hrtime() - t0) / 1e9;
}

/* Back on the loop: the customers move into the core (pointers only), and
 * the changelog is read from the first offset past the snapshot. A missing,
 * corrupt or truncated file means the whole changelog instead. */
static void snapshot_done(uv_work_t *req, int status) {
  snap_job *j = container_of(req, snap_job, req);
  cxp_daemon *d = j->d;
  cl_part *c = j->part < d->n_cl ? &d->cl[j->part] : NULL;
  if (status == 0 && !d->stopping && c && c->loading && c->gen == j->gen) {
    c->loading = 0;
    d->n_loading--;
    int64_t from = RD_KAFKA_OFFSET_BEGINNING;
    if (j->n < 0) {
      d->snapshot_errors++;
      cxp_warn("restore", "%s; restoring partition %d from the whole changelog", j->err,
               (int)j->part);
    } else {
      size_t n = cxp_state_adopt(&d->core.state, &j->st, j->part);
      size_t bad = cxp_core_state_restore_cases(&d->core, j->part, &j->cases, j->max_ts);
      if (bad)
        cxp_warn("restore", "partition %d: %zu customer(s) of %s restored without their "
                 "cases (a cases section this build cannot read)", (int)j->part, bad, j->path);
      size_t pos = 0, kl, vl;
      const char *k;
      const uint8_t *v;
      char err[512];
      while (cxp_staterec_frame_next(j->extra.p, j->extra.len, &pos, &k, &kl, &v, &vl))
        if (cxp_core_state_restore(&d->core, j->part, k, kl, v, vl, err, sizeof err) != 0) {
          d->snapshot_errors++;
          cxp_warn("restore", "partition %d: %s: %s (skipped)", (int)j->part, j->path, err);
        }
      d->snapshot_records += n;
      d->restore_seconds += j->seconds;
      c->covered = j->offset;
      from = j->offset + 1;
      cxp_info("restore", "partition %d: %zu customer(s) from %s in %.3f s (%.0f/s); the "
               "changelog from offset %" PRId64,
               (int)j->part, n, j->path, j->seconds,
               j->seconds > 0 ? (double)n / j->seconds : 0.0, from);
    }
    if (cxp_restore_begin(d->restore, j->part, from) != 0) {
      cxp_error("restore", "%s [%d]: cannot start its restore; the partition is processed "
                "with the state it has", d->pl.topic_changelog, (int)j->part);
      rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
      rd_kafka_topic_partition_list_add(l, d->pl.topic_input, j->part);
      if (!d->paused) pause_list(d, l, 0);
      rd_kafka_topic_partition_list_destroy(l);
    }
  }
  cxp_state_close(&j->st);
  cxp_buf_free(&j->cases);
  cxp_buf_free(&j->extra);
  free(j);
  handle_gone(d); /* a pending read holds the daemon like a handle */
}

/* Starts reading the partition's snapshot off the loop. 0 when started;
 * -1 when there is none to read (the caller restores from the changelog). */
static int snapshot_load(cxp_daemon *d, int32_t part) {
  if (d->snap_dir[0] == '\0') return -1;
  snap_job *j = calloc(1, sizeof *j);
  if (j == NULL) abort();
  snapshot_path(d, part, j->path, sizeof j->path);
  if (access(j->path, F_OK) != 0) {
    free(j);
    return -1;
  }
  cl_part *c = cl_get(d, part);
  j->d = d;
  j->part = part;
  j->gen = c->gen;
  c->loading = 1;
  d->n_loading++;
  d->handles_open++;
  uv_queue_work(d->loop, &j->req, snapshot_work, snapshot_done);
  return 0;
}

/* Writes the partition's state, complete in the changelog up to `covered`,
 * to its snapshot file. Only when nothing of it is unwritten or unrestored. */
static void snapshot_save(cxp_daemon *d, int32_t part) {
  cl_part *c = part < d->n_cl ? &d->cl[part] : NULL;
  if (c == NULL || c->wait_x >= 0 || c->in_flight || restoring(d, part)) {
    cxp_warn("restore", "partition %d: state not all in the changelog yet; no snapshot",
             (int)part);
    return;
  }
  char path[CXP_STR_MAX + 300], err[512];
  snapshot_path(d, part, path, sizeof path);
  uint64_t t0 = uv_hrtime();
  cxp_buf extra;
  cxp_buf_init(&extra);
  cxp_core_state_extra(&d->core, part, &extra);
  int rc = cxp_snapshot_write(path, &d->core.state, part, c->covered, cxp_core_state_ext,
                              &d->core, &extra, err, sizeof err);
  cxp_buf_free(&extra);
  if (rc != 0) {
    cxp_warn("restore", "partition %d: %s", (int)part, err);
    return;
  }
  d->snapshots_written++;
  cxp_info("restore", "partition %d: snapshot %s written in %.3f s (changelog up to offset %" PRId64
           ")", (int)part, path, (double)(uv_hrtime() - t0) / 1e9, c->covered);
}

/* ---- Outputs the broker refuses ----------------------------------------- */

/* A dead letter the dead-letter topic refused for good: there is nowhere
 * left to put it. Its input must not be committed (the output stays
 * unacknowledged, so its entry never completes), and the daemon stops
 * with an error instead of spinning: systemd restarts it, and an operator
 * is told. */
static void refuse_dead_letter(cxp_daemon *d, uint64_t token, rd_kafka_resp_err_t e) {
  uint64_t t = token & ~RETRY_BIT;
  int32_t part = -1;
  cxp_offsets *o = offsets_of(d, &t);
  int64_t off = t ? cxp_offsets_token_offset(o, t, &part) : -1;
  char where[384] = "";
  if (off >= 0) {
    d->stuck++;
    snprintf(where, sizeof where, ", with %s [%d] committed no further than offset %" PRId64
             " (the message it came from)",
             o == &d->roffsets ? d->pl.topic_repartition : d->pl.topic_input, (int)part, off);
  }
  d->exit_code = 1;
  cxp_error("output", "the dead-letter topic %s refused a record for good (%s): there is "
            "nowhere left to put it; stopping%s", d->pl.topic_dead_letters, rd_kafka_err2str(e),
            where);
  cxp_daemon_stop(d, d->on_stopped, d->stopped_arg);
}

/* A dead letter the shell makes (not the core's, of an input): rendered as
 * the core renders them, keyed by m's key when it has one, and sent. */
static void send_dead_letter(cxp_daemon *d, const cxp_msg *m, cxp_dead_letter *dl,
                             uint64_t token) {
  cxp_buf b;
  cxp_buf_init(&b);
  size_t kl = cxp_core_render_dead_letter(&d->core, m, dl, &b);
  d->core.n.outputs[CXP_STREAM_DEAD_LETTERS]++;
  send_output(d, CXP_STREAM_DEAD_LETTERS, RD_KAFKA_PARTITION_UA, kl ? m->key : NULL, kl, b.p,
              b.len, token);
  cxp_buf_free(&b);
}

/* An output refused for good (too large for the topic, the topic invalid
 * or not ours to write): it becomes a dead letter output_rejected, naming
 * the topic and the error and carrying the output, in its place: with its
 * token, so its input is committed once the dead letter is acknowledged,
 * and the input moves on. */
static void reject(cxp_daemon *d, cxp_stream s, const char *key, size_t klen, const char *val,
                   size_t vlen, uint64_t token, rd_kafka_resp_err_t e) {
  if (s == CXP_STREAM_DEAD_LETTERS) {
    refuse_dead_letter(d, token, e);
    return;
  }
  const char *topic = rd_kafka_topic_name(d->out_topic[s]);
  d->rejected[s]++;
  cxp_msg m = {.topic = d->pl.topic_input, .key = key, .key_len = klen,
               .received_ms = wall_ms()};
  uint64_t t = token & ~RETRY_BIT, dl_token = t;
  if (t & CL_BIT) {
    /* A changelog record: its batch counts it as done (the state it held
     * is in the dead letter, not in the changelog); the dead letter
     * belongs to no entry. */
    m.partition = (int32_t)((t >> 32) & 0xffff);
    cl_part *c = m.partition < d->n_cl ? &d->cl[m.partition] : NULL;
    m.offset = c && c->flight_x >= 0 ? c->flight_x : 0;
    cl_ack(d, m.partition, (uint32_t)t, -1);
    dl_token = 0;
  } else if (t) {
    cxp_offsets *o = offsets_of(d, &t);
    int64_t off = cxp_offsets_token_offset(o, t, &m.partition);
    if (o == &d->roffsets) m.topic = d->pl.topic_repartition;
    m.offset = off >= 0 ? off : 0;
  }
  char detail[512];
  snprintf(detail, sizeof detail, "%s refused the %s record for good: %s; it is kept here instead",
           topic, cxp_stream_name(s), rd_kafka_err2str(e));
  cxp_warn("output", "%s [%d] offset %" PRId64 ": %s", m.topic, (int)m.partition, m.offset,
           detail);
  cxp_dead_letter dl = {.reason = CXP_BAD_OUTPUT_REJECTED, .detail = detail, .payload = val,
                        .payload_len = vlen, .rejected_topic = topic,
                        .rejected_error = rd_kafka_err2name(e)};
  send_dead_letter(d, &m, &dl, dl_token);
}

/* Delivery reports, served on the loop thread by rd_kafka_poll(producer). */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  cxp_daemon *d = opaque;
  uint64_t token = (uint64_t)(uintptr_t)m->_private;
  cxp_stream s = stream_of(d, m->rkt);
  if (s == CXP_STREAM__COUNT) return; /* not ours: cannot happen */
  retry_end(d, token);
  if (m->err && refused_for_good(m->err)) {
    reject(d, s, m->key, m->key_len, m->payload, m->len, token, m->err);
    return;
  }
  if (m->err) {
    /* Never drop an output: send it again. The idempotent producer has
     * already retried; this covers timeouts and transient broker trouble.
     * /readyz tells when it has gone on too long. */
    d->delivery_retries++;
    if (d->retrying++ == 0) d->retry_since_ms = wall_ms();
    d->retry_err = m->err;
    d->retry_topic = rd_kafka_topic_name(m->rkt);
    cxp_warn("output", "delivery to %s failed: %s (retrying; %" PRIu64 " retries so far)",
             rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err), d->delivery_retries);
    send_output(d, s, m->partition, m->key, m->key_len, m->payload, m->len, token | RETRY_BIT);
    return;
  }
  d->delivered[s]++;
  if (d->tap) d->tap(d->tap_opaque, s, m->key, m->key_len, m->payload, m->len);
  token &= ~RETRY_BIT;
  if (token & CL_BIT) {
    cl_ack(d, (int32_t)((token >> 32) & 0xffff), (uint32_t)token, m->offset);
  } else if (token) {
    cxp_offsets *o = offsets_of(d, &token); /* strips the topic bit first */
    cxp_offsets_ack(o, token);
  }
}

/* ---- Offsets ------------------------------------------------------------ */

/* What may be committed of a tracker's partition: a repartition partition
 * also keeps the partials its merger still waits on. */
static int64_t commit_point(cxp_daemon *d, const cxp_offsets *o, const cxp_tracker *t) {
  int64_t c = t->committable;
  if (o == &d->offsets && d->restore) {
    /* Durable state: no further than the acknowledged changelog records. */
    int64_t h = t->partition < d->n_cl ? d->cl[t->partition].hold : -1;
    if (h < 0) return -1;
    if (c > h) c = h;
  }
  if (o == &d->roffsets) c = cxp_core_merge_commit_point(&d->core, t->partition, c);
  return c;
}

/* The metadata a repartition partition's commit carries: its merger's
 * watermarks (WM_META), or, when they do not fit or come from an earlier
 * build, its floor alone (merge.h, "Restarts"). */
#define FLOOR_META "cxpulse-floor="
#define WM_META "cxpulse-wm="
/* Kafka brokers keep at most 4096 bytes of commit metadata by default. */
#define META_MAX 3000

/* A repartition partition's commit carries its merger's view of every input
 * partition's watermark after the messages before the offset (merge.h,
 * cxp_merger_watermarks_at): "cxpulse-wm=" the least known one, then each
 * partition's as a difference from it ("-": none yet), comma-separated.
 * When that would not fit, the floor alone (their least), as before. */
static void add_repart(cxp_daemon *d, rd_kafka_topic_partition_list_t *l, int32_t part,
                       int64_t offset) {
  rd_kafka_topic_partition_t *tp =
      rd_kafka_topic_partition_list_add(l, d->pl.topic_repartition, part);
  tp->offset = offset;
  int64_t *wm = calloc((size_t)(d->n_inputs > 0 ? d->n_inputs : 1), sizeof *wm);
  if (wm == NULL) abort();
  int32_t n = cxp_core_merge_watermarks(&d->core, part, offset, wm);
  int64_t low = INT64_MAX;
  int known = 0, all = n > 0;
  for (int32_t i = 0; i < n; i++) {
    if (wm[i] == INT64_MIN) {
      all = 0;
      continue;
    }
    known++;
    if (wm[i] < low) low = wm[i];
  }
  cxp_buf meta;
  cxp_buf_init(&meta);
  if (known) {
    cxp_buf_printf(&meta, WM_META "%lld:", (long long)low);
    for (int32_t i = 0; i < n && meta.len < META_MAX; i++) {
      if (i) cxp_buf_putc(&meta, ',');
      if (wm[i] == INT64_MIN)
        cxp_buf_putc(&meta, '-');
      else
        cxp_buf_printf(&meta, "%lld", (long long)(wm[i] - low));
    }
    if (meta.len >= META_MAX) {
      meta.len = 0;
      if (all) cxp_buf_printf(&meta, FLOOR_META "%lld", (long long)low);
    }
  }
  free(wm);
  if (meta.len) {
    tp->metadata = malloc(meta.len);
    if (tp->metadata == NULL) abort();
    memcpy(tp->metadata, meta.p, meta.len);
    tp->metadata_size = meta.len;
  }
  cxp_buf_free(&meta);
}

/* Reads WM_META's form back into wm[0..n); 0, or -1 when it is not that
 * form or names another number of partitions. */
static int parse_wm_meta(const char *s, size_t len, int64_t *wm, int32_t n) {
  size_t hl = sizeof WM_META - 1;
  if (len <= hl || len > META_MAX + 64 || memcmp(s, WM_META, hl) != 0) return -1;
  char *buf = malloc(len - hl + 1), *p, *end;
  if (buf == NULL) return -1;
  memcpy(buf, s + hl, len - hl);
  buf[len - hl] = '\0';
  int32_t i = 0;
  long long low = strtoll(buf, &end, 10);
  int bad = end == buf || *end != ':';
  for (p = end + 1; !bad && i < n; i++) {
    if (*p == '-') {
      wm[i] = INT64_MIN;
      end = p + 1;
    } else {
      long long dlt = strtoll(p, &end, 10);
      if (end == p || dlt < 0 || (long long)INT64_MAX - dlt < low) bad = 1;
      wm[i] = (int64_t)(low + dlt);
    }
    /* A comma between values, the end after the n-th: another count of
     * partitions is refused. */
    if (i < n - 1 && *end == ',')
      p = end + 1;
    else if (i < n - 1 || *end != '\0')
      bad = 1;
  }
  free(buf);
  return bad || i != n ? -1 : 0;
}

/* The repartition partitions' positions, each with its floor; NULL when
 * there is none. librdkafka 2.0.2 drops metadata from stored offsets, so
 * these are committed explicitly, not stored. */
static rd_kafka_topic_partition_list_t *repart_positions(cxp_daemon *d) {
  rd_kafka_topic_partition_list_t *l = NULL;
  for (int32_t i = 0; i < d->roffsets.n; i++) {
    cxp_tracker *t = d->roffsets.by_partition[i];
    if (t == NULL || t->stored < 0) continue;
    if (l == NULL) l = rd_kafka_topic_partition_list_new(8);
    add_repart(d, l, t->partition, t->stored);
  }
  return l;
}

/* Hands every input partition's commit point to the consumer, and marks
 * the repartition partitions' for on_commit_timer; the commit timer
 * commits them. */
static void store_offsets(cxp_daemon *d) {
  rd_kafka_topic_partition_list_t *l = NULL;
  for (int k = 0; k < 2; k++) {
    cxp_offsets *o = k ? &d->roffsets : &d->offsets;
    for (int32_t i = 0; i < o->n; i++) {
      cxp_tracker *t = o->by_partition[i];
      if (t == NULL) continue;
      int64_t c = commit_point(d, o, t);
      if (c < 0 || c <= t->stored) continue;
      if (k) { /* committed with its floor by on_commit_timer */
        t->stored = c;
        d->repart_pending = 1;
        continue;
      }
      if (l == NULL) l = rd_kafka_topic_partition_list_new(16);
      rd_kafka_topic_partition_list_add(l, d->pl.topic_input, t->partition)->offset = c;
      t->stored = c;
    }
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

/* Errors a commit may get past by trying again: the coordinator away, slow
 * or moving. Others (the member unknown, the generation gone) stay. */
static int retriable(rd_kafka_resp_err_t e) {
  switch (e) {
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
      return 1;
    default:
      return 0;
  }
}

/* After the shutdown's wait for outputs (shutdown.timeout_ms), the final
 * commits and leaving the group get this long; the process ends within
 * shutdown.timeout_ms plus this, brokers or not. */
#define STOP_GRACE_MS 2000

/* A commit that must land before what follows (a revoke's, the
 * shutdown's), waited for at most shutdown.timeout_ms in all (at shutdown:
 * until STOP_GRACE_MS past the wait for outputs) and tried again
 * while the coordinator is away or slow: what it fails to commit is read
 * again by the next owner (and skipped, with durable state), so it is worth a
 * bounded wait on a path that blocks anyway; librdkafka's own synchronous
 * commit would wait for socket.timeout.ms (60 s), unbounded by retries. The
 * result comes back as an event on a queue of its own, so a late one after
 * the deadline is dropped with the queue. */
static rd_kafka_resp_err_t commit_sync(cxp_daemon *d, const rd_kafka_topic_partition_list_t *l) {
  int64_t deadline = d->stopping ? d->stop_deadline_ms + STOP_GRACE_MS
                                 : wall_ms() + d->cfg.shutdown_timeout_ms;
  rd_kafka_queue_t *q = rd_kafka_queue_new(d->consumer);
  rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR__TIMED_OUT;
  for (int attempt = 0; wall_ms() < deadline; attempt++) {
    if (attempt) usleep(100000);
    e = rd_kafka_commit_queue(d->consumer, l, q, NULL, NULL);
    while (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
      int64_t left = deadline - wall_ms();
      if (left <= 0) {
        e = RD_KAFKA_RESP_ERR__TIMED_OUT;
        break;
      }
      rd_kafka_event_t *ev = rd_kafka_queue_poll(q, (int)(left < 100 ? left : 100));
      if (ev == NULL) continue;
      int is_result = rd_kafka_event_type(ev) == RD_KAFKA_EVENT_OFFSET_COMMIT;
      if (is_result) e = rd_kafka_event_error(ev);
      rd_kafka_event_destroy(ev);
      if (is_result) {
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) goto done;
        break;
      }
    }
    int again = retriable(e) && wall_ms() < deadline;
    if (e != RD_KAFKA_RESP_ERR__NO_OFFSET)
      cxp_warn("commit", "commit failed: %s%s", rd_kafka_err2str(e), again ? "; trying again" : "");
    if (!again) break;
  }
done:
  rd_kafka_queue_destroy(q);
  return e;
}

static void on_commit_timer(uv_timer_t *t) {
  cxp_daemon *d = container_of(t, cxp_daemon, commit);
  /* Counts of repeated log lines held back (log.h): written once their
   * interval is over, even if the fault that caused them has stopped. */
  cxp_log_flush_suppressed();
  store_offsets(d);
  if (d->repart_pending && d->assigned > 0) {
    rd_kafka_topic_partition_list_t *l = repart_positions(d);
    if (l) {
      rd_kafka_commit(d->consumer, l, 1);
      rd_kafka_topic_partition_list_destroy(l);
    }
    d->repart_pending = 0;
  }
  if (!d->stored_since_commit || d->assigned == 0) return;
  d->stored_since_commit = 0;
  /* Asynchronous: the result comes back through on_commit_result. */
  rd_kafka_commit(d->consumer, NULL, 1);
}

/* ---- Rebalances --------------------------------------------------------- */

static void pause_list(cxp_daemon *d, rd_kafka_topic_partition_list_t *l, int pause) {
  rd_kafka_resp_err_t e = pause ? rd_kafka_pause_partitions(d->consumer, l)
                                : rd_kafka_resume_partitions(d->consumer, l);
  if (e)
    cxp_warn("consumer", "%s partitions: %s", pause ? "pausing" : "resuming",
             rd_kafka_err2str(e));
}

/* Input partitions still being restored stay paused whatever else does. */
static void pause_restoring(cxp_daemon *d) {
  if (cxp_restore_count(d->restore) == 0 && d->n_loading == 0) return;
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
  for (int32_t i = 0; i < d->n_cl; i++)
    if (restoring(d, i))
      rd_kafka_topic_partition_list_add(l, d->pl.topic_input, i);
  pause_list(d, l, 1);
  rd_kafka_topic_partition_list_destroy(l);
}

static void pause_all(cxp_daemon *d, int pause) {
  rd_kafka_topic_partition_list_t *l = NULL;
  if (rd_kafka_assignment(d->consumer, &l) == 0 && l) {
    if (l->cnt) pause_list(d, l, pause);
    rd_kafka_topic_partition_list_destroy(l);
  }
  if (!pause) pause_restoring(d);
  if (pause && !d->paused && !d->stopping) {
    d->pauses++;
    cxp_debug("consumer", "producer queue full: consumption paused");
  }
  if (pause && !d->paused) d->paused_since_ms = wall_ms();
  if (!pause) d->paused_since_ms = 0;
  d->paused = pause;
}

/* Outputs awaiting acknowledgement, held or in the producer, but for those
 * that never will be (stuck). */
static uint64_t outputs_waiting(const cxp_daemon *d) {
  uint64_t n = d->offsets.in_flight + d->roffsets.in_flight;
  return n > d->stuck ? n - d->stuck : 0;
}

/* Waits, on a revoke, until the outputs of the partitions going away are
 * acknowledged, so that their final offsets can be committed. This is the
 * one place the loop blocks, bounded by shutdown.timeout_ms: the group
 * protocol gives the partitions away when the callback returns. */
static void finish_outputs(cxp_daemon *d, int64_t timeout_ms) {
  int64_t deadline = wall_ms() + timeout_ms;
  if (d->stopping && deadline > d->stop_deadline_ms) deadline = d->stop_deadline_ms;
  cl_send_ready(d);
  while ((outputs_waiting(d) || d->pend_head || cl_busy(d)) && wall_ms() < deadline) {
    retry_pending(d);
    rd_kafka_flush(d->producer, 50);
    cl_send_ready(d);
  }
  if (outputs_waiting(d))
    cxp_warn("output", "%" PRIu64 " outputs still unacknowledged after %lld ms; "
             "their inputs stay uncommitted and will be read again",
             outputs_waiting(d), (long long)timeout_ms);
}

static int is_repart(const cxp_daemon *d, const char *topic) {
  return strcmp(topic, d->pl.topic_repartition) == 0;
}

static void drain_held(cxp_daemon *d);

/* The committed position of each partition assigned: where its next
 * message should be (a later one means the offsets between were lost to
 * retention, handle_message), and, for a repartition partition, the floor
 * its last commit carried, for its merger before any of its messages
 * (merge.h, "Restarts"). A bounded synchronous query, as the revoke's
 * commit is: a rebalance has nothing else to do meanwhile. Without it
 * (timed out, none committed yet, a commit of an older build) the partition
 * has no expected offset and the merger no floor. */
static void committed_positions(cxp_daemon *d, rd_kafka_t *rk,
                                const rd_kafka_topic_partition_list_t *parts) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_copy(parts);
  rd_kafka_resp_err_t e = rd_kafka_committed(rk, l, 2000);
  if (e) cxp_warn("consumer", "committed positions of the partitions assigned: %s; lost input "
                  "cannot be told from their first messages, and mergers start with no floor",
                  rd_kafka_err2str(e));
  for (int i = 0; !e && i < l->cnt; i++) {
    const rd_kafka_topic_partition_t *tp = &l->elems[i];
    int repart = is_repart(d, tp->topic);
    cxp_tracker *t = cxp_offsets_get(repart ? &d->roffsets : &d->offsets, tp->partition);
    if (t && !tp->err && tp->offset >= 0) t->next = tp->offset;
    if (!repart) continue;
    int64_t *wm = tp->err || tp->metadata == NULL || d->n_inputs < 1
                      ? NULL
                      : calloc((size_t)d->n_inputs, sizeof *wm);
    if (wm && parse_wm_meta(tp->metadata, tp->metadata_size, wm, d->n_inputs) == 0) {
      cxp_core_merge_set_watermarks(&d->core, tp->partition, wm, d->n_inputs);
      cxp_info("merge", "%s [%d]: committed at %lld with the input partitions' watermarks",
               d->pl.topic_repartition, (int)tp->partition, (long long)tp->offset);
      free(wm);
      continue;
    }
    free(wm);
    size_t hl = sizeof FLOOR_META - 1;
    char buf[64];
    if (tp->err || tp->metadata == NULL || tp->metadata_size <= hl ||
        tp->metadata_size >= sizeof buf || memcmp(tp->metadata, FLOOR_META, hl) != 0) {
      cxp_info("merge", "%s [%d]: committed at %lld without a floor", d->pl.topic_repartition,
               (int)tp->partition, (long long)tp->offset);
      continue;
    }
    memcpy(buf, (const char *)tp->metadata + hl, tp->metadata_size - hl);
    buf[tp->metadata_size - hl] = '\0';
    char *end;
    long long floor = strtoll(buf, &end, 10);
    if (*end != '\0') continue;
    cxp_core_merge_set_floor(&d->core, tp->partition, floor);
    cxp_info("merge", "%s [%d]: committed at %lld; windows ending at or before %lld were "
             "emitted before", d->pl.topic_repartition, (int)tp->partition,
             (long long)tp->offset, floor);
  }
  rd_kafka_topic_partition_list_destroy(l);
}

/* Runs `fn` with outputs counted against an entry opened at the last offset
 * seen on the partition, so that offset is committed only once they are
 * acknowledged. */
static void with_tail_entry(cxp_daemon *d, cxp_offsets *o, int32_t part,
                            void (*fn)(cxp_daemon *, int32_t, void *), void *arg) {
  cxp_tracker *t = cxp_offsets_get(o, part);
  uint64_t seq = t ? cxp_offsets_begin_tail(o, t) : 0;
  d->cur_o = o;
  d->cur_t = seq ? t : NULL;
  d->cur_seq = seq;
  fn(d, part, arg);
  if (seq) cxp_offsets_end(o, t, seq);
  d->cur_t = NULL;
}

static void drop_input(cxp_daemon *d, int32_t part, void *arg) {
  (void)arg;
  cxp_core_drop_input(&d->core, part, 1);
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
  cxp_daemon *d = opaque;
  int cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  /* Messages polled before this rebalance come before it. */
  drain_held(d);
  d->rebalances++;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    for (int i = 0; i < parts->cnt; i++)
      cxp_offsets_add(is_repart(d, parts->elems[i].topic) ? &d->roffsets : &d->offsets,
                      parts->elems[i].partition);
    committed_positions(d, rk, parts);
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
    /* Durable state: each input partition waits, paused, while its
     * changelog partition is read back; the others go on. */
    for (int i = 0; d->restore && i < parts->cnt; i++) {
      int32_t p = parts->elems[i].partition;
      if (is_repart(d, parts->elems[i].topic)) continue;
      cl_reset(d, p);
      if (snapshot_load(d, p) != 0 &&
          cxp_restore_begin(d->restore, p, RD_KAFKA_OFFSET_BEGINNING) != 0) {
        cxp_error("restore", "%s [%d]: cannot start its restore; the partition is processed "
                  "with the state it has", d->pl.topic_changelog, (int)p);
        continue;
      }
      rd_kafka_topic_partition_list_t *one = rd_kafka_topic_partition_list_new(1);
      rd_kafka_topic_partition_list_add(one, d->pl.topic_input, p);
      pause_list(d, one, 1);
      rd_kafka_topic_partition_list_destroy(one);
    }
    cxp_info("consumer", "assigned %d partition(s) of %s and %s; holding %d", parts->cnt,
             d->pl.topic_input, d->pl.topic_repartition, d->assigned);
    /* Ready once partitions are held (state is in memory: nothing to
     * restore until durable state exists). */
    if (!d->ready_sent && d->assigned > 0) {
      d->ready_sent = 1;
      cxp_notify_ready(&d->notify);
      cxp_notify_status(&d->notify, "consuming %s: %d partition(s)", d->pl.topic_input,
                        d->assigned);
    }
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
  for (int i = 0; d->restore && i < parts->cnt; i++)
    if (!is_repart(d, parts->elems[i].topic))
      cxp_restore_cancel(d->restore, parts->elems[i].partition);
  if (!lost) {
    /* The open windows of the input partitions going away are sent as
     * early partials: the next owner's partials of the same windows merge
     * with them (their records' tombstones go with the flush below). */
    for (int i = 0; i < parts->cnt; i++)
      if (!is_repart(d, parts->elems[i].topic))
        with_tail_entry(d, &d->offsets, parts->elems[i].partition, drop_input, NULL);
    /* Their changed customers go to the changelog before they are dropped:
     * the next owner restores them. */
    for (int i = 0; d->restore && i < parts->cnt; i++)
      if (!is_repart(d, parts->elems[i].topic)) cl_flush(d, parts->elems[i].partition);
    /* Finish what these partitions started, then commit their final
     * positions synchronously, so the next owner starts where we ended. */
    finish_outputs(d, d->cfg.shutdown_timeout_ms);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(parts->cnt);
    for (int i = 0; i < parts->cnt; i++) {
      cxp_offsets *o = is_repart(d, parts->elems[i].topic) ? &d->roffsets : &d->offsets;
      cxp_tracker *t = cxp_offsets_get(o, parts->elems[i].partition);
      int64_t c = t ? commit_point(d, o, t) : -1;
      if (c >= 0 && o == &d->roffsets)
        add_repart(d, l, t->partition, c);
      else if (c >= 0)
        rd_kafka_topic_partition_list_add(l, parts->elems[i].topic, t->partition)->offset = c;
    }
    if (l->cnt) {
      rd_kafka_resp_err_t ce = commit_sync(d, l);
      if (ce) {
        d->commit_failures++;
        cxp_warn("commit", "commit on revoke failed: %s", rd_kafka_err2str(ce));
      } else {
        d->commits++;
      }
    }
    rd_kafka_topic_partition_list_destroy(l);
    /* At shutdown, each input partition's state goes to its snapshot file
     * for a restart on this machine (blocking file I/O: the loop has
     * nothing else to do by now). */
    for (int i = 0; d->stopping && d->snap_dir[0] && i < parts->cnt; i++)
      if (!is_repart(d, parts->elems[i].topic)) snapshot_save(d, parts->elems[i].partition);
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
  /* A revoked partition's customers and windows go as one unit; a
   * repartition partition's merger goes unemitted (its uncommitted partials
   * are read again by the next owner). */
  for (int i = 0; i < parts->cnt; i++) {
    int32_t part = parts->elems[i].partition;
    if (is_repart(d, parts->elems[i].topic)) {
      cxp_offsets_remove(&d->roffsets, part);
      cxp_core_drop_merge(&d->core, part);
    } else {
      cxp_offsets_remove(&d->offsets, part);
      if (d->restore) cl_reset(d, part);
      /* Lost partitions still hold their windows: drop them unsent. */
      cxp_core_drop_input(&d->core, part, 0);
      cxp_core_drop_state(&d->core, part);
    }
  }
  d->assigned -= parts->cnt;
  if (d->assigned < 0 || !cooperative) d->assigned = 0;
  cxp_info("consumer", "revoked %d partition(s); holding %d", parts->cnt, d->assigned);
}

/* librdkafka's statistics JSON: keeps topics.<input>.partitions.<p>.consumer_lag. */
static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque) {
  (void)rk;
  cxp_daemon *d = opaque;
  cJSON *root = cJSON_ParseWithLength(json, len);
  const cJSON *topics = cJSON_GetObjectItemCaseSensitive(root, "topics");
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(topics, d->pl.topic_input);
  const cJSON *parts = cJSON_GetObjectItemCaseSensitive(t, "partitions"), *p;
  cJSON_ArrayForEach(p, parts) {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(p, "partition");
    const cJSON *lag = cJSON_GetObjectItemCaseSensitive(p, "consumer_lag");
    if (!cJSON_IsNumber(id) || !cJSON_IsNumber(lag) || id->valueint < 0 || id->valueint > 0xffff)
      continue;
    int32_t i = id->valueint;
    if (i >= d->n_committed_lag) {
      int32_t n = i + 16;
      int64_t *nl = realloc(d->committed_lag, sizeof *nl * (size_t)n);
      if (nl == NULL) break;
      for (int32_t k = d->n_committed_lag; k < n; k++) nl[k] = -1;
      d->committed_lag = nl;
      d->n_committed_lag = n;
    }
    d->committed_lag[i] = (int64_t)lag->valuedouble;
  }
  cJSON_Delete(root);
  return 0; /* librdkafka frees json */
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

/* A message further on than the partition's next offset. If the log now
 * starts past that offset, the offsets between were deleted (the topic's
 * retention) before they were read, and the consumer's offset reset
 * skipped them: an error, a count, and a dead letter offsets_skipped with
 * the range, produced as an output of this message (it is committed only
 * once the marker is out). A gap within the log is not a loss: control
 * records of transactions, or compaction. */
static void input_gap(cxp_daemon *d, cxp_tracker *t, const rd_kafka_message_t *m, int repart) {
  const char *topic = repart ? d->pl.topic_repartition : d->pl.topic_input;
  int64_t lo = -1, hi = -1;
  if (rd_kafka_get_watermark_offsets(d->consumer, topic, m->partition, &lo, &hi) != 0 ||
      lo <= t->next)
    return;
  int64_t first = t->next, last = m->offset - 1;
  d->offsets_skipped += (uint64_t)(last - first + 1);
  char detail[640];
  snprintf(detail, sizeof detail, "offsets %" PRId64 "..%" PRId64 " of %s [%d] were deleted "
           "by the topic's retention before they were read: %" PRId64 " message(s) lost; "
           "going on from offset %" PRId64, first, last, topic, (int)m->partition,
           last - first + 1, m->offset);
  cxp_error("consumer", "%s", detail);
  cxp_msg src = {.topic = topic, .partition = m->partition, .offset = first,
                 .received_ms = d->now_ms};
  cxp_dead_letter dl = {.reason = CXP_BAD_OFFSETS_SKIPPED, .detail = detail, .payload = "",
                        .skipped_first = first, .skipped_last = last};
  send_dead_letter(d, &src, &dl, next_token(d));
}

static void handle_message(cxp_daemon *d, rd_kafka_message_t *m, int repart) {
  if (m->err) {
    if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
      cxp_warn("consumer", "%s [%d]: %s", m->rkt ? rd_kafka_topic_name(m->rkt) : "-",
               (int)m->partition, rd_kafka_message_errstr(m));
    return;
  }
  if (!repart && restoring(d, m->partition)) {
    /* Fetched before the pause took hold: not processed now, read again
     * once the restore is done. */
    cl_part *c = cl_get(d, m->partition);
    if (c && (c->early < 0 || m->offset < c->early)) c->early = m->offset;
    return;
  }
  if (!repart) d->input_bytes += m->len;
  cxp_offsets *o = repart ? &d->roffsets : &d->offsets;
  cxp_tracker *t = cxp_offsets_get(o, m->partition);
  if (t == NULL) t = cxp_offsets_add(o, m->partition);
  if (t == NULL) {
    cxp_warn("consumer", "partition %d is past the 65535 the daemon tracks; message skipped",
             (int)m->partition);
    return;
  }
  d->cur_o = o;
  d->cur_t = t;
  d->cur_seq = cxp_offsets_begin(o, t, m->offset);
  if (t->next >= 0 && m->offset > t->next) input_gap(d, t, m, repart);
  t->next = m->offset + 1;
  cxp_msg msg = {repart ? d->pl.topic_repartition : d->pl.topic_input, m->partition,
                 m->offset, m->payload ? m->payload : "", m->payload ? m->len : 0, m->key,
                 m->key_len, d->now_ms, d->now_ms, !repart};
  if (repart)
    cxp_core_process_repartition(&d->core, &msg);
  else
    cxp_core_process(&d->core, &msg);
  cxp_offsets_end(o, t, d->cur_seq);
  d->cur_t = NULL;
}

static void prefetch_message(cxp_daemon *d, const struct held *h, int far) {
  if (h->hashed) cxp_core_prefetch(&d->core, h->m->partition, h->h, far);
}

/* Handles and releases the oldest message held. */
static void take_held(cxp_daemon *d) {
  struct held h = d->held[0];
  d->held[0] = d->held[1];
  d->held[1] = d->held[2];
  d->n_held--;
  handle_message(d, h.m, h.repart);
  rd_kafka_message_destroy(h.m);
  d->handled++;
}

/* Handles the messages polled ahead, in order (a rebalance is about to
 * change what the daemon holds). */
static void drain_held(cxp_daemon *d) {
  while (d->n_held > 0) take_held(d);
}

/* ---- Window clocks ------------------------------------------------------- */

static void tick_input(cxp_daemon *d, int32_t part, void *arg) {
  int n = cxp_core_tick_input(&d->core, part, *(int64_t *)arg);
  if (n) cxp_debug("windows", "partition %d: %d window(s) closed by its quiet clock", (int)part, n);
}

static void tick_merge(cxp_daemon *d, int32_t part, void *arg) {
  cxp_core_tick_merge(&d->core, part, *(int64_t *)arg);
}

/* True when the consumer has read everything the partition held at the last
 * fetch: only then may wall time stand in for the events to come. A
 * partition with a backlog, or paused, waits for its events instead. */
/* Messages of an input partition not consumed yet: its high watermark minus
 * the consumer's position, both cached by the client (no request, no wait);
 * -1 when either is not known yet. */
static int64_t input_lag(cxp_daemon *d, int32_t part) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, d->pl.topic_input, part);
  int64_t pos = -1, lo = -1, hi = -1;
  if (rd_kafka_position(d->consumer, l) == 0) pos = l->elems[0].offset;
  rd_kafka_topic_partition_list_destroy(l);
  if (rd_kafka_get_watermark_offsets(d->consumer, d->pl.topic_input, part, &lo, &hi) != 0)
    hi = -1;
  if (pos < 0 || hi < 0) return -1;
  return hi > pos ? hi - pos : 0;
}

static int caught_up(cxp_daemon *d, int32_t part) {
  return !d->paused && input_lag(d, part) == 0;
}

static void on_tick_timer(uv_timer_t *h) {
  cxp_daemon *d = container_of(h, cxp_daemon, tick);
  if (d->stopping) return;
  int64_t now = wall_ms();
  for (int32_t i = 0; i < d->offsets.n; i++)
    if (d->offsets.by_partition[i] && !restoring(d, i) && caught_up(d, i))
      with_tail_entry(d, &d->offsets, i, tick_input, &now);
  for (int32_t i = 0; i < d->roffsets.n; i++)
    if (d->roffsets.by_partition[i]) with_tail_entry(d, &d->roffsets, i, tick_merge, &now);
  store_offsets(d);
}

/* One slice: delivery reports, then up to poll.batch messages, then the
 * offsets they made committable. Returns 1 when work is left over. */
static int run_slice(cxp_daemon *d) {
  int more = 0;
  d->now_ms = wall_ms();
  d->offsets.now_us = d->roffsets.now_us = (int64_t)(uv_hrtime() / 1000);
  rd_kafka_poll(d->producer, 0);
  retry_pending(d);
  if (!d->stopping) {
    long long budget = d->cfg.poll_batch;
    d->handled = 0;
    cxp_core_batch_begin(&d->core);
    for (;;) {
      /* Up to two messages ahead of the next one, within the budget. */
      while (d->n_held < 3 && d->handled + d->n_held < budget) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(d->consumer, 0);
        if (m == NULL) break;
        struct held *h = &d->held[d->n_held++];
        h->m = m;
        h->repart = m->rkt && is_repart(d, rd_kafka_topic_name(m->rkt));
        h->hashed = !m->err && !h->repart && m->key != NULL && m->key_len > 0;
        h->h = h->hashed ? cxp_shard_hash(m->key, m->key_len) : 0;
      }
      if (d->n_held == 0) break;
      /* The one after the next: his customer's lines; the one after that:
       * the table slot that leads to him. */
      if (d->n_held >= 2) prefetch_message(d, &d->held[1], 0);
      if (d->n_held >= 3) prefetch_message(d, &d->held[2], 1);
      take_held(d);
    }
    cxp_core_batch_end(&d->core);
    more = d->handled == budget;
    if (d->restore && cxp_restore_poll(d->restore, (int)budget)) more = 1;
    rd_kafka_poll(d->producer, 0);
  }
  if (d->restore) cl_send_ready(d);
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
  /* Held outputs are tried again at once while the queue has room; held
   * for another reason (a broker away), by the timers, not in a spin. */
  if (!more && d->pend_head && d->pend_err == RD_KAFKA_RESP_ERR__QUEUE_FULL &&
      outq < (uint64_t)d->cfg.backpressure_high)
    more = 1;
  return more || rd_kafka_queue_length(d->cq) > 0 || rd_kafka_queue_length(d->pq) > 0;
}

static void on_flush_timer(uv_timer_t *h) {
  cxp_daemon *d = container_of(h, cxp_daemon, flush);
  /* Customers idle past the TTL leave, their tombstones in this flush. */
  for (int32_t i = 0; i < d->offsets.n; i++)
    if (d->offsets.by_partition[i] && !restoring(d, i)) cxp_core_state_expire(&d->core, i);
  cl_flush_all(d, 1);
  store_offsets(d);
}

/* ---- Durable state: restore --------------------------------------------- */

static void on_restore_record(void *opaque, int32_t part, const rd_kafka_message_t *m) {
  cxp_daemon *d = opaque;
  char err[256];
  cl_part *c = cl_get(d, part);
  if (c && m->offset > c->covered) c->covered = m->offset;
  if (cxp_core_state_restore(&d->core, part, m->key, m->key_len, m->payload, m->len, err,
                             sizeof err) == 0)
    return;
  d->restore_errors++;
  /* The key as the topic has it, written as a JSON string and cut to 80
   * bytes (keys come from the topic, not from us). */
  cxp_buf key;
  cxp_jw w;
  cxp_buf_init(&key);
  cxp_jw_init(&w, &key);
  cxp_jw_str(&w, NULL, m->key ? m->key : "", m->key_len < 80 ? m->key_len : 80);
  cxp_warn("restore", "%s [%d] offset %" PRId64 " key %s%s: %s; record skipped (%" PRIu64
           " so far)", d->pl.topic_changelog, (int)part, m->offset, key.p,
           m->key_len > 80 ? "..." : "", err, d->restore_errors);
  cxp_buf_free(&key);
}

static void on_restore_done(void *opaque, int32_t part, uint64_t records, uint64_t bytes,
                            double seconds) {
  cxp_daemon *d = opaque;
  double rate = seconds > 0 ? (double)records / seconds : 0;
  d->restore_records += records;
  d->restore_partitions++;
  d->restore_seconds += seconds;
  if (records) d->restore_last_rate = rate;
  size_t held = part < d->core.state.n_shards && d->core.state.shards[part]
                    ? d->core.state.shards[part]->count : 0;
  cxp_info("restore", "partition %d: %" PRIu64 " record(s), %.1f MB in %.3f s (%.0f records/s); "
           "%zu customer(s) held, %zu recovery case(s) open; resuming %s [%d]",
           (int)part, records, (double)bytes / 1e6, seconds, rate, held,
           cxp_core_cases_open(&d->core, part), d->pl.topic_input, (int)part);
  cl_part *c = cl_get(d, part);
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, d->pl.topic_input, part);
  if (c && c->early >= 0) {
    l->elems[0].offset = c->early;
    rd_kafka_error_t *e = rd_kafka_seek_partitions(d->consumer, l, 0);
    if (e) {
      cxp_error("restore", "seeking %s [%d] back to %" PRId64 ": %s", d->pl.topic_input,
                (int)part, c->early, rd_kafka_error_string(e));
      rd_kafka_error_destroy(e);
    }
    c->early = -1;
  }
  if (!d->paused && !d->stopping) pause_list(d, l, 0);
  rd_kafka_topic_partition_list_destroy(l);
  if (cxp_restore_count(d->restore) == 0)
    cxp_notify_status(&d->notify, "consuming %s: %d partition(s), state restored",
                      d->pl.topic_input, d->assigned);
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
  cxp_cases_stats cs;
  cxp_core_cases_stats(&d->core, &cs);
  cxp_info("stats",
           "consumed=%" PRIu64 " (%.0f/s) applied=%" PRIu64 " duplicates=%" PRIu64
           " dead_letters=%" PRIu64 " alerts=%" PRIu64 " customers=%zu partitions=%d"
           " open_cases=%u outq=%d in_flight=%" PRIu64 " commits=%" PRIu64
           " commit_failures=%" PRIu64
           "%s",
           n->consumed, rate, n->processed, n->duplicates, dead,
           n->outputs[CXP_STREAM_ALERTS], d->core.state.customers, d->assigned, cs.open,
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
  /* Snapshots: the configured directory, else systemd's StateDirectory=
   * (its first, when it names several). */
  const char *sd = c->snapshot_dir[0] ? c->snapshot_dir : getenv("STATE_DIRECTORY");
  if (sd && *sd) snprintf(d->snap_dir, sizeof d->snap_dir, "%.*s", (int)strcspn(sd, ":"), sd);
  cxp_daemon_kafka_defaults(&d->cfg, &d->pl);
  if (cxp_config_kafka_get(&d->cfg, "bootstrap.servers") == NULL) {
    snprintf(err, errlen, "%s: key 'kafka.bootstrap.servers': required", d->config_path);
    free(d);
    return NULL;
  }
  cxp_offsets_init(&d->offsets);
  cxp_offsets_init(&d->roffsets);
  d->notify.fd = -1;
  cxp_histogram_init_latency(&d->latency);
  d->offsets.latency = on_latency;
  d->offsets.latency_opaque = d;
  int ne = cxp_notify_init_env(&d->notify);
  if (ne < 0) cxp_warn("daemon", "NOTIFY_SOCKET: %s; not notifying systemd", strerror(-ne));
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
  rd_kafka_conf_set_stats_cb(cc, on_stats);
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
  const char *names[CXP_STREAM__COUNT] = {d->pl.topic_alerts,       d->pl.topic_indicators,
                                          d->pl.topic_dead_letters, d->pl.topic_repartition,
                                          d->pl.topic_repartition,  d->pl.topic_changelog};
  for (int s = 0; s < CXP_STREAM__COUNT; s++) {
    /* The internal topics' batches are compressed as the pipeline says
     * (topics.internal_compression); the outputs keep the producer's. */
    rd_kafka_topic_conf_t *tc = NULL;
    if (s == CXP_STREAM_CHANGELOG || s == CXP_STREAM_PARTIALS || s == CXP_STREAM_MARKERS) {
      tc = rd_kafka_topic_conf_new();
      if (rd_kafka_topic_conf_set(tc, "compression.codec", d->pl.topic_internal_codec, e,
                                  sizeof e) != RD_KAFKA_CONF_OK) {
        rd_kafka_topic_conf_destroy(tc);
        snprintf(err, errlen, "topics.internal_compression: %s", e);
        goto fail_conf;
      }
    }
    d->out_topic[s] = rd_kafka_topic_new(d->producer, names[s], tc);
  }
  /* The largest record the producer takes: dead letters are cut to fit it
   * (less its framing; deadletter.h), or a large bad event's dead letter
   * would be refused and its input never move on. */
  char mmb[32];
  size_t mmb_len = sizeof mmb;
  long long max_msg = 1000000;
  if (rd_kafka_conf_get(rd_kafka_conf(d->producer), "message.max.bytes", mmb, &mmb_len) ==
      RD_KAFKA_CONF_OK)
    max_msg = atoll(mmb);
  d->core.max_output = max_msg > 4096 ? (size_t)(max_msg - 512) : 3584;
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

void cxp_daemon_on_stopped(cxp_daemon *d, cxp_stopped_fn fn, void *arg) {
  d->on_stopped = fn;
  d->stopped_arg = arg;
}

void cxp_daemon_set_tap(cxp_daemon *d, cxp_tap_fn fn, void *opaque) {
  d->tap = fn;
  d->tap_opaque = opaque;
}

int cxp_daemon_start(cxp_daemon *d) {
  if (d->pl.win_enabled) {
    /* Mergers wait for every input partition, and partials are spread over
     * every repartition partition: both counts are needed before the first
     * event. Asked once, before the loop serves anything (bounded wait). */
    d->n_inputs = cxp_kafka_topic_partitions(d->producer, d->pl.topic_input, 10000);
    d->n_repart = cxp_kafka_topic_partitions(d->producer, d->pl.topic_repartition, 10000);
    if (d->n_inputs < 1 || d->n_repart < 1) {
      cxp_error("daemon", "segment windows need the topics %s and %s to exist (%s is the "
                "internal repartition topic: create it with as many partitions as %s), or "
                "windows.enabled false",
                d->pl.topic_input, d->pl.topic_repartition, d->pl.topic_repartition,
                d->pl.topic_input);
      return -1;
    }
    cxp_core_set_inputs(&d->core, d->n_inputs, d->n_repart);
    cxp_info("daemon", "segment windows: %d input partitions merged through %s (%d partitions)",
             (int)d->n_inputs, d->pl.topic_repartition, (int)d->n_repart);
  }
  if (d->pl.state_durable) {
    char err[512];
    cxp_restore_cb cb = {on_restore_record, on_restore_done, d};
    d->restore = cxp_restore_create(&d->cfg, d->pl.topic_changelog, d->config_path, &cb, err,
                                    sizeof err);
    if (d->restore == NULL) {
      cxp_error("daemon", "%s", err);
      return -1;
    }
    /* Asked through the restorer: it then knows the changelog's leaders
     * before its first partition is assigned (otherwise its first offset
     * query waits half a second for them). */
    int32_t ni = d->n_inputs > 0
                     ? d->n_inputs
                     : cxp_kafka_topic_partitions(d->producer, d->pl.topic_input, 10000);
    int32_t nc = cxp_restore_topic_partitions(d->restore, 10000);
    if (ni < 1 || nc != ni) {
      cxp_error("daemon", "durable state needs the topic %s with as many partitions as %s "
                "(%d; it has %s%d): create it compacted (cleanup.policy=compact), or set "
                "state.durable false",
                d->pl.topic_changelog, d->pl.topic_input, (int)ni, nc < 0 ? "none, " : "",
                nc < 0 ? 0 : (int)nc);
      return -1;
    }
    d->core.changelog = 1;
    cxp_info("daemon", "durable state: changelog %s (%d partitions), written every %lld ms",
             d->pl.topic_changelog, (int)nc, d->pl.state_flush_ms);
  }
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
  if (d->restore) cxp_restore_wake_on(d->restore, d->efd);

  uv_poll_init(d->loop, &d->wake, d->efd);
  uv_idle_init(d->loop, &d->more);
  uv_timer_init(d->loop, &d->serve);
  uv_timer_init(d->loop, &d->commit);
  uv_timer_init(d->loop, &d->stats);
  uv_timer_init(d->loop, &d->stopper);
  uv_timer_init(d->loop, &d->tick);
  uv_timer_init(d->loop, &d->flush);
  d->handles_open = 8;
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
  /* WATCHDOG=1 from a timer on this loop: a stuck loop stops pinging and
   * systemd restarts the service. */
  uint64_t wd = cxp_notify_watchdog_usec();
  if (wd && cxp_notify_watchdog_start(&d->notify, d->loop, wd) == 0)
    cxp_info("daemon", "systemd watchdog: pinging every %llu ms", (unsigned long long)(wd / 1000));
  if (d->cfg.http_port >= 0) {
    cxp_http_limits lim;
    cxp_http_limits_default(&lim);
    lim.max_conns = (int)d->cfg.http_max_conns;
    lim.max_conns_per_addr = (int)d->cfg.http_max_conns_per_addr;
    lim.header_timeout_ms = (uint64_t)d->cfg.http_header_timeout_ms;
    int he = cxp_http_start(&d->http, d->loop, d->cfg.http_host, (int)d->cfg.http_port,
                            cxp_admin_handle, d, &lim);
    if (he < 0) {
      cxp_error("http", "admin endpoint on %s:%lld: %s", d->cfg.http_host, d->cfg.http_port,
                uv_strerror(he));
      d->http = NULL;
      return -1;
    }
    d->handles_open++;
    cxp_info("http", "admin endpoint on http://%s:%d/ (metrics, healthz, readyz, v1)",
             d->cfg.http_host, cxp_http_port(d->http));
  }

  if (d->pl.win_enabled) uv_timer_start(&d->tick, on_tick_timer, 1000, 1000);
  if (d->restore)
    uv_timer_start(&d->flush, on_flush_timer, (uint64_t)d->pl.state_flush_ms,
                   (uint64_t)d->pl.state_flush_ms);

  rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(2);
  rd_kafka_topic_partition_list_add(sub, d->pl.topic_input, RD_KAFKA_PARTITION_UA);
  if (d->pl.win_enabled)
    rd_kafka_topic_partition_list_add(sub, d->pl.topic_repartition, RD_KAFKA_PARTITION_UA);
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

static void handle_gone(cxp_daemon *d) {
  if (--d->handles_open > 0) return;
  if (d->efd >= 0) close(d->efd);
  d->efd = -1;
  d->stopped = 1;
  if (d->on_stopped) d->on_stopped(d, d->stopped_arg);
}

static void on_handle_closed(uv_handle_t *h) { handle_gone(h->data); }

static void on_http_stopped(void *arg) { handle_gone(arg); }

/* What is left uncommitted, for the log: for each input partition that
 * consumed past its commit point (commit_point), where a restart reads it
 * again. */
static void describe_uncommitted(cxp_daemon *d, char *out, size_t cap) {
  size_t n = 0;
  out[0] = '\0';
  for (int32_t i = 0; i < d->offsets.n && n + 80 < cap; i++) {
    cxp_tracker *t = d->offsets.by_partition[i];
    if (t == NULL || cxp_offsets_last(t) < 0) continue;
    int64_t next = cxp_offsets_last(t) + 1, cp = commit_point(d, &d->offsets, t);
    if (cp >= next) continue;
    if (cp >= 0)
      n += (size_t)snprintf(out + n, cap - n, "%s[%d] from offset %" PRId64, n ? ", " : "",
                            (int)i, cp);
    else
      n += (size_t)snprintf(out + n, cap - n, "%s[%d] from its last committed offset",
                            n ? ", " : "", (int)i);
  }
  if (n == 0) snprintf(out, cap, "nothing");
}

/* Destroying a consumer whose group coordinator is gone waits for its
 * session to time out (45 s by default), past any deadline of ours; the
 * clients are destroyed on a thread of their own instead, and the process
 * may end before that is done (cxp_daemon_abandoned). */
static void *destroy_clients(void *arg) {
  rd_kafka_t **rk = arg;
  rd_kafka_destroy_flags(rk[0], RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  rd_kafka_destroy(rk[1]);
  free(rk);
  return NULL;
}

static int abandon(cxp_daemon *d) {
  rd_kafka_t **rk = malloc(2 * sizeof *rk);
  pthread_t th;
  pthread_attr_t a;
  if (rk == NULL) return -1;
  rk[0] = d->consumer;
  rk[1] = d->producer;
  pthread_attr_init(&a);
  pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
  int e = pthread_create(&th, &a, destroy_clients, rk);
  pthread_attr_destroy(&a);
  if (e != 0) {
    free(rk);
    return -1;
  }
  d->abandoned = 1;
  return 0;
}

static void close_clients_and_handles(cxp_daemon *d) {
  store_offsets(d);
  /* Leaving the group waits for its coordinator. The coordinator is trusted
   * only when the final commit went through, or when there was nothing to
   * commit and the stop did not time out (outputs or changelog records
   * left suggest the brokers are gone); otherwise the consumer is destroyed
   * without leaving (its partitions go to the others when its session
   * times out), so that the shutdown stays within shutdown.timeout_ms +
   * STOP_GRACE_MS. */
  int coordinator = d->exit_code == 0;
  if (d->assigned > 0) {
    /* One commit for both topics: with the coordinator gone, one wait. */
    rd_kafka_topic_partition_list_t *l = repart_positions(d);
    for (int32_t i = 0; l && i < d->offsets.n; i++) {
      const cxp_tracker *t = d->offsets.by_partition[i];
      if (t && t->stored >= 0)
        rd_kafka_topic_partition_list_add(l, d->pl.topic_input, i)->offset = t->stored;
    }
    rd_kafka_resp_err_t e = commit_sync(d, l);
    if (l) rd_kafka_topic_partition_list_destroy(l);
    if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET) {
      d->commit_failures++;
      d->exit_code = 1;
      coordinator = 0;
      cxp_error("commit", "final commit failed: %s", rd_kafka_err2str(e));
    } else if (!e) {
      coordinator = 1;
      d->commits++;
    }
  }
  if (d->exit_code) {
    char left[512];
    describe_uncommitted(d, left, sizeof left);
    cxp_error("daemon", "left uncommitted, read again after a restart (what the changelog "
              "holds of it skipped): %s %s", d->pl.topic_input, left);
  }
  if (coordinator && wall_ms() < d->stop_deadline_ms + STOP_GRACE_MS)
    rd_kafka_consumer_close(d->consumer);
  else
    cxp_warn("daemon", "leaving the group without its coordinator: the partitions go to the "
             "other members when this one's session times out");
  rd_kafka_queue_io_event_enable(d->cq, -1, NULL, 0);
  rd_kafka_queue_io_event_enable(d->pq, -1, NULL, 0);
  rd_kafka_queue_destroy(d->cq);
  rd_kafka_queue_destroy(d->pq);
  d->cq = d->pq = NULL;
  for (int s = 0; s < CXP_STREAM__COUNT; s++)
    if (d->out_topic[s]) rd_kafka_topic_destroy(d->out_topic[s]);
  memset(d->out_topic, 0, sizeof d->out_topic);
  /* Outputs still queued are given up (their inputs stay uncommitted): the
   * producer's destroy does not wait for brokers that may not come back. */
  rd_kafka_purge(d->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT |
                                  RD_KAFKA_PURGE_F_NON_BLOCKING);
  if (coordinator || abandon(d) != 0) {
    rd_kafka_destroy_flags(d->consumer, coordinator ? 0 : RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    rd_kafka_destroy(d->producer);
  }
  d->consumer = d->producer = NULL;
  cxp_restore_destroy(d->restore);
  d->restore = NULL;
  uv_handle_t *hs[] = {(uv_handle_t *)&d->wake,  (uv_handle_t *)&d->more,
                       (uv_handle_t *)&d->serve, (uv_handle_t *)&d->commit,
                       (uv_handle_t *)&d->stats, (uv_handle_t *)&d->stopper,
                       (uv_handle_t *)&d->tick,  (uv_handle_t *)&d->flush};
  for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++) {
    hs[i]->data = d;
    uv_close(hs[i], on_handle_closed);
  }
  cxp_notify_watchdog_close(&d->notify);
  if (d->http) {
    cxp_http *h = d->http;
    d->http = NULL;
    cxp_http_stop(h, on_http_stopped, d);
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
  if (outputs_waiting(d) == 0 && d->pend_head == NULL && !cl_busy(d) &&
      rd_kafka_outq_len(d->producer) == 0) {
    uv_timer_stop(t);
    close_clients_and_handles(d);
  } else if (wall_ms() >= d->stop_deadline_ms) {
    cxp_error("daemon", "%" PRIu64 " outputs and %s changelog records unacknowledged after "
              "%lld ms", outputs_waiting(d) + (d->pend_head ? d->pend_count : 0),
              cl_busy(d) ? "some" : "no",
              (long long)(wall_ms() - (int64_t)d->stop_started_ms));
    d->exit_code = 1;
    uv_timer_stop(t);
    close_clients_and_handles(d);
  }
}

void cxp_daemon_stop(cxp_daemon *d, cxp_stopped_fn done, void *arg) {
  d->on_stopped = done;
  d->stopped_arg = arg;
  if (d->stopped) {
    /* Stopped by itself (a fatal error) before anyone asked. */
    if (done) done(d, arg);
    return;
  }
  if (d->stopping) return;
  d->stopping = 1;
  cxp_notify_stopping(&d->notify);
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
  uv_timer_stop(&d->flush);
  /* The last changes go to the changelog before the final commit. */
  if (d->restore) cl_flush_all(d, 0);
  d->stop_started_ms = (uint64_t)wall_ms();
  d->stop_deadline_ms = (int64_t)d->stop_started_ms + d->cfg.shutdown_timeout_ms;
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
  cxp_restore_destroy(d->restore);
  for (int32_t i = 0; i < d->n_cl; i++) cxp_buf_free(&d->cl[i].wait);
  free(d->cl);
  cxp_core_close(&d->core);
  cxp_offsets_close(&d->offsets);
  cxp_offsets_close(&d->roffsets);
  cxp_notify_close(&d->notify);
  free(d->committed_lag);
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
  s->in_flight = d->offsets.in_flight + d->roffsets.in_flight;
  s->customers = d->core.state.customers;
  s->assigned = d->assigned;
  s->paused = d->paused;
  memcpy(s->rejected, d->rejected, sizeof s->rejected);
  s->retrying = d->retrying;
  int64_t now = wall_ms();
  s->paused_seconds =
      d->paused && d->paused_since_ms ? (double)(now - d->paused_since_ms) / 1e3 : 0;
  s->retry_seconds = d->retrying && d->retry_since_ms ? (double)(now - d->retry_since_ms) / 1e3 : 0;
  s->offsets_skipped = d->offsets_skipped;
  cxp_core_cases_stats(&d->core, &s->cases);
  s->changelog_records = d->cl_records;
  s->changelog_bytes = d->cl_bytes;
  s->input_bytes = d->input_bytes;
  s->restore_records = d->restore_records;
  s->restore_partitions = d->restore_partitions;
  s->restore_errors = d->restore_errors;
  s->restore_seconds = d->restore_seconds;
  s->restore_last_rate = d->restore_last_rate;
  s->restoring = cxp_restore_count(d->restore) + d->n_loading;
  s->snapshot_records = d->snapshot_records;
  s->snapshot_errors = d->snapshot_errors;
  s->snapshots_written = d->snapshots_written;
}

int cxp_daemon_exit_code(const cxp_daemon *d) { return d->exit_code; }

int cxp_daemon_abandoned(const cxp_daemon *d) { return d->abandoned; }

int cxp_daemon_reload(cxp_daemon *d, const char *config_path) {
  char err[512];
  cxp_config c;
  cxp_pipeline p;
  cxp_notify_reloading(&d->notify);
  cxp_solutions *lib = NULL;
  if (cxp_config_load(&c, config_path, err, sizeof err) ||
      cxp_pipeline_load(&p, c.pipeline, err, sizeof err) ||
      (p.rec_enabled && (lib = cxp_pipeline_solutions(&p, err, sizeof err)) == NULL)) {
    cxp_error("reload", "%s; keeping the running configuration", err);
    cxp_notify_ready(&d->notify);
    return -1;
  }
  cxp_buf changed, kept;
  cxp_buf_init(&changed);
  cxp_buf_init(&kept);
  int n = cxp_pipeline_reload(&d->pl, &p, &changed, &kept);
  if (d->pl.rec_enabled) {
    if (lib == NULL) lib = cxp_solutions_create_default();
    if (cxp_core_reload(&d->core, lib) != 0)
      cxp_warn("reload", "some partitions kept their recovery settings");
  } else {
    cxp_solutions_destroy(lib);
  }
  /* Of the daemon's own file, the log settings apply at once; the rest
   * (Kafka, intervals, the admin endpoint) shape clients and handles made
   * at start. */
  cxp_log_level = cxp_log_parse_level(c.log_level);
  cxp_log_format = cxp_log_parse_format(c.log_format);
  snprintf(d->cfg.log_level, sizeof d->cfg.log_level, "%s", c.log_level);
  snprintf(d->cfg.log_format, sizeof d->cfg.log_format, "%s", c.log_format);
  cxp_buf_putc(&changed, '\0');
  cxp_buf_putc(&kept, '\0');
  cxp_info("reload", "%s: %d setting(s) changed%s%s", config_path, n, n ? ": " : "",
           changed.p);
  if (kept.len > 1)
    cxp_warn("reload", "cannot change while running, kept until a restart: %s", kept.p);
  cxp_buf_free(&changed);
  cxp_buf_free(&kept);
  cxp_notify_ready(&d->notify);
  return 0;
}

const cxp_core *cxp_daemon_core(const cxp_daemon *d) { return &d->core; }

const cxp_config *cxp_daemon_config(const cxp_daemon *d) { return &d->cfg; }

const char *cxp_daemon_stalled(cxp_daemon *d) {
  int64_t now = wall_ms();
  if (d->stopping) return NULL;
  if (d->paused && d->paused_since_ms &&
      now - d->paused_since_ms > d->cfg.health_max_paused_s * 1000) {
    snprintf(d->why, sizeof d->why, "input paused for %lld s: the producer cannot take the "
             "outputs (%d queued, %zu held)\n", (long long)((now - d->paused_since_ms) / 1000),
             d->producer ? rd_kafka_outq_len(d->producer) : 0, d->pend_count);
    return d->why;
  }
  if (d->retrying && d->retry_since_ms &&
      now - d->retry_since_ms > d->cfg.health_max_retry_s * 1000) {
    snprintf(d->why, sizeof d->why, "%u output(s) failing delivery for %lld s: %s: %s\n",
             d->retrying, (long long)((now - d->retry_since_ms) / 1000),
             d->retry_topic ? d->retry_topic : "?", rd_kafka_err2str(d->retry_err));
    return d->why;
  }
  return NULL;
}

const char *cxp_daemon_not_ready(cxp_daemon *d) {
  if (d->stopping) return "stopping\n";
  if (d->assigned <= 0) return "no partitions assigned yet\n";
  if (cxp_restore_count(d->restore) > 0 || d->n_loading > 0)
    return "restoring state from the changelog\n";
  return cxp_daemon_stalled(d);
}

int cxp_daemon_ready(cxp_daemon *d) { return cxp_daemon_not_ready(d) == NULL; }

const cxp_histogram *cxp_daemon_latency(const cxp_daemon *d) { return &d->latency; }

int cxp_daemon_lag(cxp_daemon *d, int32_t *parts, int64_t *lags, int max) {
  int n = 0;
  if (d->consumer == NULL) return 0;
  for (int32_t i = 0; i < d->offsets.n && n < max; i++) {
    if (d->offsets.by_partition[i] == NULL) continue;
    parts[n] = i;
    lags[n++] = input_lag(d, i);
  }
  return n;
}

int cxp_daemon_committed_lag(const cxp_daemon *d, int32_t *parts, int64_t *lags, int max) {
  int n = 0;
  for (int32_t i = 0; i < d->offsets.n && i < d->n_committed_lag && n < max; i++)
    if (d->offsets.by_partition[i] && d->committed_lag[i] >= 0) {
      parts[n] = i;
      lags[n++] = d->committed_lag[i];
    }
  return n;
}

int cxp_daemon_http_port(const cxp_daemon *d) { return d->http ? cxp_http_port(d->http) : -1; }

int cxp_daemon_http_stats(const cxp_daemon *d, cxp_http_stats *s) {
  if (d->http == NULL) return -1;
  *s = cxp_http_get_stats(d->http);
  return 0;
}

/* ---- `cxpulse run` ------------------------------------------------------ */

typedef struct run_ctx {
  cxp_daemon *d;
  const char *path;
  uv_signal_t sigterm, sigint, sighup;
  int watchdog;
} run_ctx;

static void on_run_stopped(cxp_daemon *d, void *arg) {
  (void)d;
  run_ctx *r = arg;
  uv_close((uv_handle_t *)&r->sigterm, NULL);
  uv_close((uv_handle_t *)&r->sigint, NULL);
  uv_close((uv_handle_t *)&r->sighup, NULL);
}

static void on_sighup(uv_signal_t *h, int signum) {
  (void)signum;
  run_ctx *r = h->data;
  cxp_info("daemon", "received SIGHUP: reloading %s", r->path);
  cxp_daemon_reload(r->d, r->path);
}

/* The last resort of a shutdown: the ordered one ends within
 * shutdown.timeout_ms + STOP_GRACE_MS by its own deadlines; should a
 * library call block past them anyway, the process ends here. */
static void *stop_watchdog(void *arg) {
  long long ms = (long long)(intptr_t)arg; /* passed by value */
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
  cxp_error("daemon", "shutdown still blocked %lld ms after the signal; exiting now", ms);
  _exit(1);
  return NULL;
}

static void on_signal(uv_signal_t *h, int signum) {
  run_ctx *r = h->data;
  cxp_info("daemon", "received %s", signum == SIGTERM ? "SIGTERM" : "SIGINT");
  if (!r->watchdog) {
    intptr_t ms = cxp_daemon_config(r->d)->shutdown_timeout_ms + STOP_GRACE_MS + 3000;
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    r->watchdog = pthread_create(&t, &a, stop_watchdog, (void *)ms) == 0;
    pthread_attr_destroy(&a);
  }
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
  cxp_log_format = cxp_log_parse_format(c.log_format);
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
  r.path = path;
  /* A daemon that stops by itself (a fatal Kafka error, a dead letter with
   * nowhere to go) ends the run as a signal does. */
  cxp_daemon_on_stopped(r.d, on_run_stopped, &r);
  uv_signal_init(&loop, &r.sigterm);
  uv_signal_init(&loop, &r.sigint);
  uv_signal_init(&loop, &r.sighup);
  r.sigterm.data = r.sigint.data = r.sighup.data = &r;
  uv_signal_start(&r.sigterm, on_signal, SIGTERM);
  uv_signal_start(&r.sigint, on_signal, SIGINT);
  uv_signal_start(&r.sighup, on_sighup, SIGHUP);
  int rc = 0;
  if (cxp_daemon_start(r.d)) {
    rc = 1;
    cxp_daemon_stop(r.d, on_run_stopped, &r);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  if (rc == 0) rc = cxp_daemon_exit_code(r.d);
  int abandoned = cxp_daemon_abandoned(r.d);
  cxp_daemon_destroy(r.d);
  int lc = uv_loop_close(&loop);
  if (lc != 0) {
    cxp_error("daemon", "uv_loop_close: %s (a handle was left open)", uv_strerror(lc));
    rc = 1;
  }
  if (abandoned) {
    /* The clients' threads are still winding down (brokers gone): end now,
     * without running exit handlers under them. */
    fflush(stderr);
    _exit(rc);
  }
  return rc;
}
