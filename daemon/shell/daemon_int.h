/* The daemon's internals (daemon.h), shared by the files of the shell that
 * make up `cxpulse run` and by no one else:
 *
 *   daemon.c     configuration, lifecycle (create, start, stop, destroy), ticks
 *   outputs.c    producing outputs, delivery reports, pending and refused ones
 *   changelog.c  durable state: changelog batches, snapshot files, restores
 *   commits.c    offsets: what is committable, commits, the merge positions
 *   consume.c    the consumer loop: slices, messages, rebalances, window clocks
 */
#ifndef CXP_DAEMON_INT_H
#define CXP_DAEMON_INT_H

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
  int behind;         /* past state.catchup_lag at the last flush tick */
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
   * (daemon_run_slice). A rebalance served by the poll that fetched a later one
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
  int32_t n_inputs;     /* partitions of the input topic */
  int32_t n_repart;     /* partitions of the repartition topic */
  int64_t now_ms;     /* wall clock, read once per slice */

  cxp_restore *restore; /* NULL unless state.durable */
  /* The churn learners shared through topics.model (model.c): its
   * follower, the producer's handle, and the labels of each partition's
   * learner as last published. */
  cxp_restore *model;
  rd_kafka_topic_t *model_topic;
  uint64_t *model_sent;
  int32_t n_model_sent;
  uint64_t model_records, model_bad, model_published;
  int model_opened;
  /* The operations console (console.c): the view and its followers of
   * topics.cases, the indicators and the alerts topics; NULL when off. */
  struct cxp_view *view;
  cxp_restore *console[3];
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
  int prefault;  /* holds the prefault thread (prefault.h) */
  int abandoned; /* the clients are being destroyed on a thread of their own */
  cxp_stopped_fn on_stopped;
  void *stopped_arg;
};

/* Token flags: offsets.h leaves the top four bits of a token to the shell.
 * Tokens of repartition-topic entries carry REPART_BIT; changelog records
 * carry CL_BIT, their partition and batch number instead of an entry;
 * RETRY_BIT marks an output produced again after a failure. */
#define REPART_BIT (1ULL << 63)
#define CL_BIT (1ULL << 62)
#define RETRY_BIT (1ULL << 61)
#define CL_TOKEN(part, gen) (CL_BIT | (uint64_t)(uint16_t)(part) << 32 | (uint32_t)(gen))

/* The metadata a repartition partition's commit carries: its merger's
 * watermarks (WM_META), or, when they do not fit or come from an earlier
 * build, its floor alone (merge.h, "Restarts"). */
#define FLOOR_META "cxpulse-floor="
#define WM_META "cxpulse-wm="
/* Kafka brokers keep at most 4096 bytes of commit metadata by default. */
#define META_MAX 3000

/* After the shutdown's wait for outputs (shutdown.timeout_ms), the final
 * commits and leaving the group get this long; the process ends within
 * shutdown.timeout_ms plus this, brokers or not. */
#define STOP_GRACE_MS 2000

/* daemon.c */
void daemon_on_latency(void *opaque, double seconds);
void daemon_handle_gone(cxp_daemon *d);

/* outputs.c */
/* A call into the core whose outputs count against an entry of the offsets
 * (its tracker and sequence number; t NULL: none, their acks are ignored):
 * the message handed to the core sits in it, so on_emit finds the entry
 * again from the message the core hands back with each output. */
typedef struct daemon_call {
  cxp_msg m;
  cxp_offsets *o;
  cxp_tracker *t;
  uint64_t seq;
} daemon_call;
uint64_t daemon_next_token(cxp_daemon *d, const daemon_call *call);
void daemon_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);
void daemon_on_emit(void *opaque, const cxp_msg *from, cxp_stream s, const char *key,
                    size_t klen, const char *val, size_t vlen);
void daemon_retry_pending(cxp_daemon *d);
void daemon_send_dead_letter(cxp_daemon *d, const cxp_msg *m, cxp_dead_letter *dl, uint64_t token);
void daemon_send_output(cxp_daemon *d, cxp_stream s, int32_t part, const char *key, size_t klen,
                        const char *val, size_t vlen, uint64_t token);

/* changelog.c */
void daemon_cl_ack(cxp_daemon *d, int32_t part, uint32_t gen, int64_t offset);
int daemon_cl_busy(const cxp_daemon *d);
void daemon_cl_flush(cxp_daemon *d, int32_t part);
void daemon_cl_flush_all(cxp_daemon *d, int timer);
cl_part *daemon_cl_get(cxp_daemon *d, int32_t part);
void daemon_cl_reset(cxp_daemon *d, int32_t part);
void daemon_cl_send_ready(cxp_daemon *d);
void daemon_on_restore_done(void *opaque, int32_t part, uint64_t records, uint64_t bytes,
                            double seconds);
void daemon_on_restore_record(void *opaque, int32_t part, const rd_kafka_message_t *m);
int daemon_restoring(const cxp_daemon *d, int32_t part);
int daemon_snapshot_load(cxp_daemon *d, int32_t part);
void daemon_snapshot_save(cxp_daemon *d, int32_t part);

/* commits.c */
void daemon_add_repart(cxp_daemon *d, rd_kafka_topic_partition_list_t *l, int32_t part,
                       int64_t offset);
int64_t daemon_commit_point(cxp_daemon *d, const cxp_offsets *o, const cxp_tracker *t);
rd_kafka_resp_err_t daemon_commit_sync(cxp_daemon *d, const rd_kafka_topic_partition_list_t *l);
void daemon_on_commit_result(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t *offsets, void *opaque);
void daemon_on_commit_timer(uv_timer_t *t);
int daemon_parse_wm_meta(const char *s, size_t len, int64_t *wm, int32_t n);
rd_kafka_topic_partition_list_t *daemon_repart_positions(cxp_daemon *d);
void daemon_store_offsets(cxp_daemon *d);

/* consume.c */
void daemon_on_serve_timer(uv_timer_t *t);
void daemon_on_stats_timer(uv_timer_t *t);
void daemon_on_wake(uv_poll_t *h, int status, int events);
void daemon_schedule(cxp_daemon *d);
int64_t daemon_input_lag(cxp_daemon *d, int32_t part);
void daemon_on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque);
void daemon_on_flush_timer(uv_timer_t *h);
void daemon_on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque);
int daemon_on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque);
void daemon_on_tick_timer(uv_timer_t *h);

/* console.c */
/* Opens the view and its followers, with the admin endpoint and
 * console.enabled on; a topic that cannot be read is left out, said once. */
void daemon_console_open(cxp_daemon *d);
void daemon_console_wake_on(cxp_daemon *d);
/* Hands the followers' queued records to the view, bounded; 1 when more
 * are queued. */
int daemon_console_poll(cxp_daemon *d);
/* Closes the followers (the view stays, for the admin endpoint, until
 * cxp_daemon_destroy). */
void daemon_console_close(cxp_daemon *d);

/* model.c */
/* Opens the follower of topics.model, when the pipeline names one and the
 * churn model learns; without the topic, says so and shares nothing. */
void daemon_model_open(cxp_daemon *d);
void daemon_model_close(cxp_daemon *d);
/* Publishes the learners of the partitions held that learnt since. */
void daemon_model_publish(cxp_daemon *d);
uint64_t daemon_outputs_waiting(const cxp_daemon *d);
void daemon_pause_all(cxp_daemon *d, int pause);
void daemon_pause_list(cxp_daemon *d, rd_kafka_topic_partition_list_t *l, int pause);
int daemon_run_slice(cxp_daemon *d);

#endif
