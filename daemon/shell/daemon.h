/* The daemon: one libuv loop serving a librdkafka consumer (in a consumer
 * group) and an idempotent producer, with the functional core in between.
 *
 * Threads: the loop thread runs everything below; librdkafka's own threads
 * talk to the brokers and wake the loop by writing to an eventfd whenever one
 * of its queues goes from empty to non-empty. No librdkafka callback runs on
 * another thread except the log callback, which only formats a line. */
#ifndef CXP_DAEMON_H
#define CXP_DAEMON_H

#include <uv.h>

#include "config.h"
#include "core.h"
#include "pipeline.h"

typedef struct cxp_daemon cxp_daemon;

/* Called for every output once the broker has acknowledged it. */
typedef void (*cxp_tap_fn)(void *opaque, cxp_stream s, const char *key, size_t klen,
                           const char *value, size_t vlen);
typedef void (*cxp_stopped_fn)(cxp_daemon *d, void *arg);

typedef struct cxp_daemon_stats {
  const cxp_counters *core;
  uint64_t delivered[CXP_STREAM__COUNT];
  uint64_t delivery_retries;
  uint64_t commits, commit_failures;
  uint64_t rebalances;
  uint64_t pauses;
  uint64_t outq;      /* producer queue depth now */
  uint64_t in_flight; /* outputs awaiting acknowledgement */
  size_t customers;
  int assigned;       /* partitions held (input and repartition topics) */
  int paused;
  double paused_seconds;  /* how long consumption has been paused; 0 while consuming */
  uint64_t rejected[CXP_STREAM__COUNT]; /* outputs refused for good, dead-lettered */
  uint32_t retrying;      /* outputs produced again after a failed delivery, not delivered */
  double retry_seconds;   /* since when some have been; 0: none */
  uint64_t offsets_skipped; /* input offsets lost to retention before they were read */
  cxp_cases_stats cases; /* recovery cases, over the partitions held */
  /* Durable state (all 0 when state.durable is off). */
  uint64_t changelog_records, changelog_bytes; /* produced */
  uint64_t input_bytes;                        /* input payload bytes consumed */
  uint64_t restore_records, restore_partitions, restore_errors;
  double restore_seconds;   /* summed over the restores done */
  double restore_last_rate; /* records/s of the latest restore that read any */
  int restoring;            /* partitions being restored now */
  uint64_t snapshot_records;  /* customers read from local snapshot files */
  uint64_t snapshot_errors;   /* snapshots refused (corrupt, truncated, stale) */
  uint64_t snapshots_written;
  /* topics.model: learners published, read (another instance's or this
   * one's own, come back), and records refused. */
  uint64_t model_published, model_read, model_refused;
  int model_shared; /* the follower was opened */
} cxp_daemon_stats;

/* Copies the configuration and pipeline. The loop must outlive the daemon. */
cxp_daemon *cxp_daemon_create(uv_loop_t *loop, const cxp_config *c, const cxp_pipeline *p,
                              const char *config_path, char *err, size_t errlen);
void cxp_daemon_set_tap(cxp_daemon *d, cxp_tap_fn fn, void *opaque);
/* What runs once the daemon has stopped, when it stops by itself (a fatal
 * error) before anyone calls cxp_daemon_stop; a later stop call replaces it. */
void cxp_daemon_on_stopped(cxp_daemon *d, cxp_stopped_fn fn, void *arg);
/* Subscribes and starts serving; 0 or -1 with a logged error. */
int cxp_daemon_start(cxp_daemon *d);
/* Ordered shutdown: stop consuming, finish in-flight work, flush the
 * producer, commit, close the consumer, destroy the clients, close every
 * handle; then `done` runs on the loop. Safe to call twice. */
void cxp_daemon_stop(cxp_daemon *d, cxp_stopped_fn done, void *arg);
/* Frees the daemon; only after the stop callback ran (or if never started). */
void cxp_daemon_destroy(cxp_daemon *d);
void cxp_daemon_stats_get(cxp_daemon *d, cxp_daemon_stats *s);
/* 0 when the shutdown was clean; 1 when outputs were left undelivered or a
 * fatal error stopped the daemon. */
int cxp_daemon_exit_code(const cxp_daemon *d);
/* 1 when the stop left the Kafka clients to be destroyed on a thread of
 * their own (their group coordinator gone): a process should then end
 * with _exit, not wait for them. */
int cxp_daemon_abandoned(const cxp_daemon *d);
/* SIGHUP: re-reads the config and its pipeline. An invalid file is refused
 * with the error logged and the running pipeline kept; otherwise thresholds,
 * weights, actions, the SLA matrix and the solution library change at once,
 * without losing state or pausing, and the settings that cannot change
 * while running are named in the log. 0, or -1 when refused. */
int cxp_daemon_reload(cxp_daemon *d, const char *config_path);
/* For the admin routes (admin.c): the core (read only), the config, and
 * readiness: NULL when ready (partitions assigned, consuming), else why not. */
const cxp_core *cxp_daemon_core(const cxp_daemon *d);
const cxp_config *cxp_daemon_config(const cxp_daemon *d);
const char *cxp_daemon_not_ready(cxp_daemon *d);
int cxp_daemon_ready(cxp_daemon *d);
/* NULL, or why the daemon is stuck although it holds its partitions: input
 * paused longer than health.max_paused_s, or outputs failing delivery for
 * longer than health.max_retry_s. /readyz answers 503 with it. */
const char *cxp_daemon_stalled(cxp_daemon *d);
/* Processing latency so far (consumed to committable). */
struct cxp_histogram;
const struct cxp_histogram *cxp_daemon_latency(const cxp_daemon *d);
/* Consumer lag of each input partition held: up to max (partition, lag)
 * pairs from the client's cached positions and high watermarks (no
 * request); lag -1 when not known yet. Returns how many. */
int cxp_daemon_lag(cxp_daemon *d, int32_t *parts, int64_t *lags, int max);
/* The same from librdkafka's statistics: high watermark minus committed
 * offset, as of the last statistics (every 5 s). */
int cxp_daemon_committed_lag(const cxp_daemon *d, int32_t *parts, int64_t *lags, int max);
/* The admin endpoint's port (the one bound when http.port is 0); -1 off. */
int cxp_daemon_http_port(const cxp_daemon *d);
/* The operations console's view (view.h), or NULL when it is off
 * (console.enabled, http.port) or could not be made. */
struct cxp_view;
const struct cxp_view *cxp_daemon_view(const cxp_daemon *d);
/* What the admin endpoint's limits did (http.h); -1 when it is off. */
struct cxp_http_stats;
int cxp_daemon_http_stats(const cxp_daemon *d, struct cxp_http_stats *s);

int cxp_daemon_main(int argc, char **argv);
/* Adds the librdkafka settings the daemon prefers over librdkafka's defaults
 * (group id, throughput, delivery guarantees) where the file set none. */
void cxp_daemon_kafka_defaults(cxp_config *c, const cxp_pipeline *p);

#endif
