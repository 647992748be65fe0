/* The functional core: one input message in, zero or more outputs out.
 *
 * No libuv, no librdkafka, no clock: the shell passes the arrival time and
 * the wall clock in each message, and receives outputs through `emit`,
 * synchronously, while cxp_core_process runs. The bytes handed to emit live
 * in the core's scratch buffer and are valid only during the call, so the
 * shell copies them (rd_kafka_produce with RD_KAFKA_MSG_F_COPY, or a write
 * to stdout).
 *
 * Every output comes with the message it answers to (`from`): the one the
 * shell passed to the call that made it, whether a message read or the
 * pseudo-message of a tick or a drop (cxp_msg_clock). The core keeps no
 * pointer to it past the call; the shell may embed it in a struct of its own
 * and find that again from `from`. */
#ifndef CXP_CORE_H
#define CXP_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "cases.h"
#include "churn.h"
#include "deadletter.h"
#include "event.h"
#include "jsonw.h"
#include "learn.h"
#include "merge.h"
#include "pipeline.h"
#include "state.h"

/* PARTIALS and MARKERS go to the repartition topic (topics.repartition): a
 * partial to the partition its key hashes to, a marker to every partition.
 * A replay merges in place and never emits them. CHANGELOG records are the
 * shell's (cxp_core_state_flush), to topics.changelog; the core never emits
 * them. CASES are the recovery cases' state changes (caserec.h), keyed by
 * case id, to topics.cases; none when that setting is "". */
typedef enum { CXP_STREAM_ALERTS, CXP_STREAM_INDICATORS, CXP_STREAM_DEAD_LETTERS,
               CXP_STREAM_PARTIALS, CXP_STREAM_MARKERS, CXP_STREAM_CHANGELOG,
               CXP_STREAM_CASES, CXP_STREAM__COUNT } cxp_stream;

typedef struct cxp_msg {
  const char *topic;     /* NULL in replay */
  int32_t partition;
  int64_t offset;
  const char *payload;
  size_t len;
  const char *key;       /* the Kafka key; NULL when none */
  size_t key_len;
  int64_t received_ms;   /* arrival, stamped on dead letters; 0: event clock */
  int64_t now_ms;        /* stamped as emitted_at; 0: event clock */
  int check_future;      /* reject ts too far past received_ms */
} cxp_msg;

/* A message without payload: a tick or a drop of `partition` at wall time
 * now_ms (0: the event clock), for the calls that take one. */
static inline cxp_msg cxp_msg_clock(int32_t partition, int64_t now_ms) {
  cxp_msg m = {NULL, partition, -1, NULL, 0, NULL, 0, now_ms, now_ms, 0};
  return m;
}

typedef void (*cxp_emit_fn)(void *opaque, const cxp_msg *from, cxp_stream stream,
                            const char *key, size_t key_len, const char *value,
                            size_t value_len);

typedef struct cxp_counters {
  uint64_t consumed;
  uint64_t processed;                /* good events applied */
  uint64_t by_type[CXP_EV__COUNT];
  uint64_t dead[CXP_BAD__COUNT];     /* by reason */
  uint64_t duplicates;               /* replayed offsets and repeated event ids */
  uint64_t alerts[CXP_AL__COUNT];
  uint64_t alerts_by_priority[CXP_AL__COUNT][4]; /* P1..P4 */
  uint64_t suppressed_cooldown;
  uint64_t suppressed_consent;
  uint64_t kano_raised;               /* complaints raised to major by Kano */
  uint64_t churn_silence;             /* customers lifted a churn band by silence alone */
  uint64_t partial_duplicates; /* window partials whose input a merger had taken already */
  uint64_t outputs[CXP_STREAM__COUNT];
  uint64_t late_applied;              /* late for the windows, applied to the customer */
  uint64_t repartition_in;            /* partials and markers consumed */
  uint64_t evicted_ttl;               /* customers forgotten after state.idle_ttl_days */
  uint64_t evicted_cap;               /* customers let go to stay under state.max_customers */
  uint64_t dead_truncated;            /* dead letters cut to fit the topic */
} cxp_counters;

typedef struct cxp_core {
  const cxp_pipeline *pl;
  cxp_state state;
  cxp_arena arena;   /* cJSON trees of the current batch */
  cxp_decode_hint hint; /* the member names' order, as the decoder last saw it */
  cxp_buf out;       /* the output being built */
  cxp_buf ext;       /* a customer's cases section, as his record is written */
  cxp_counters n;
  cxp_emit_fn emit;
  void *opaque;
  int in_batch;
  int64_t clock_ms;  /* event clock: the largest event time applied */
  int changelog;     /* the shell writes the changelog: evictions leave frames */
  /* The largest output the shell can deliver (the producer's
   * message.max.bytes less framing); 0: no bound (replay). Dead letters are
   * cut to fit it (deadletter.h). */
  size_t max_output;
  uint64_t rng;      /* xorshift state: eviction samples */

  /* Segment windows, by input partition, and the mergers, by repartition
   * partition (a replay: one of each, merged in place). */
  cxp_windows **win;
  int64_t *marked;   /* by input partition: the watermark last announced */
  /* By window length: the window of the watermark last shipped (core_ship;
   * an event's own windows are its partition's, cxp_windows_start). */
  cxp_span wspan[CXP_WIN_MAX_LENGTHS];
  /* The records to the repartition partitions being built (winwire.h):
   * per partition the partials waiting, and the list of partitions a
   * record goes to at the next ship. */
  int32_t n_repart;
  cxp_buf *box;
  int32_t *box_list, n_box_list;
  uint8_t *box_list_has;
  int32_t n_win;
  cxp_merger **merge;
  int32_t n_merge;
  int32_t n_inputs;  /* input partitions, which every merger waits for */
  int local_merge;
  /* A replay's windows closed during the call, merged by core_ship (so
   * that what the merger emits answers to the call's message). */
  cxp_window_partial *local_q;
  uint32_t n_local_q, cap_local_q;
  int64_t merge_wall;   /* wall time of the partial being merged */
  int64_t merge_offset; /* its repartition offset */
  cxp_buf key;

  /* Recovery cases, by input partition, and what they need from around
   * them: the library, and copies of the steps parked for a case not seen
   * yet (so that one whose case never comes is dead-lettered with its own
   * bytes). The case callbacks learn the partition, the wall time and the
   * message from the origin cxp_cases hands them: the cxp_msg of the call. */
  cxp_cases **cases;
  int32_t n_cases;
  cxp_solutions *solutions;
  struct parked_copy *parked;
  uint32_t parked_cap, parked_next;
  cxp_cases_stats cases_retired; /* counters of the cases of partitions given up */
  /* Late events per window length, of the partitions given up. */
  uint64_t late_revised_retired[CXP_WIN_MAX_LENGTHS], late_missed_retired[CXP_WIN_MAX_LENGTHS];
  cxp_customer_conf customer;    /* from the pipeline (cxp_pipeline_customer) */
  cxp_churn_conf churn;          /* the model that scores: the prior, or the learnt one */
  cxp_churn_conf churn_prior;    /* from the pipeline's churn.* (cxp_pipeline_churn) */
  cxp_learn_conf learn;          /* churn.learn and its settings (cxp_pipeline_learn) */
  /* The churn learners, by input partition (corelearn.c), made at the
   * partition's first event while learning is on. */
  struct core_learner **learners;
  int32_t n_learners;
  /* Their one calibration (cxp_learner_pool_calibration), refitted every
   * CXP_LEARN_REFIT labels learnt in all, whenever a learner comes from
   * elsewhere, and on cxp_core_learn_refresh (pool_at 0). */
  cxp_learn_scratch learn_scratch;
  double pool_a, pool_b;
  int pool_ok;
  uint64_t pool_at;

  /* Trailing CSAT and NPS of each (window length, group) whose records this
   * core emits, for segment.anomaly. */
  struct trail **trail;
  uint32_t trail_cap, trail_n;
} cxp_core;

void cxp_core_init(cxp_core *c, const cxp_pipeline *pl, cxp_emit_fn emit, void *opaque);
void cxp_core_close(cxp_core *c);

/* Messages are processed in batches: decoded trees stay in the arena until
 * the batch ends. Processing outside a batch opens and closes one itself. */
/* Renders a dead letter into `out` (reset first) and counts it: the core's
 * own go through emit; the shell renders those it makes itself
 * (output_rejected, offsets_skipped) and produces them. The caller fills
 * d's reason, detail and payload and the fields of its reason; the source
 * comes from m, and the record is cut to max_output. Returns the key length
 * to produce it with (m's key; 0: no key, as for a key too large). */
/* Late events per window length over every input partition (those given up
 * included): revised (a window closed within its horizon took them) and
 * missed (past it); and the mergers' records kept for revisions, and
 * revisions emitted. */
typedef struct cxp_core_late_stats {
  uint64_t revised[CXP_WIN_MAX_LENGTHS], missed[CXP_WIN_MAX_LENGTHS];
  uint64_t kept, revisions;
} cxp_core_late_stats;
void cxp_core_late_stats_get(const cxp_core *c, cxp_core_late_stats *out);

size_t cxp_core_render_dead_letter(cxp_core *c, const cxp_msg *m, cxp_dead_letter *d,
                                   cxp_buf *out);
void cxp_core_batch_begin(cxp_core *c);
void cxp_core_batch_end(cxp_core *c);

/* Processes one message. Returns CXP_OK when the event was applied (or was a
 * duplicate), else the reason it was dead-lettered. */
cxp_reason cxp_core_process(cxp_core *c, const cxp_msg *m);

/* A hint before processing the message ahead of one of the input
 * partition's: starts loading the state of its customer, whose Kafka key
 * (the customer_id) hashes to key_hash (cxp_shard_hash, worked out once per
 * message by the caller), so that it is in cache when its turn comes. `far`
 * for a message two ahead: only his table slot (the customer's address is
 * in it), so that the next call's load of that slot hits. */
void cxp_core_prefetch(cxp_core *c, int32_t partition, uint64_t key_hash, int far);

/* The churn model's learning: its prequential scores over every partition
 * held (learn.h). */
void cxp_core_learn_stats(const cxp_core *c, cxp_learn_stats *out);
/* The partition's learner (NULL: none yet), e.g. to write it out. */
const cxp_learner *cxp_core_learner(const cxp_core *c, int32_t partition);
/* Puts a learner read back (cxp_learner_decode) in the partition's place and
 * recombines the model that scores. */
void cxp_core_learner_restore(cxp_core *c, int32_t partition, const cxp_learner *l);
/* Another instance's learner of a partition (topics.model): taken as the
 * partition's, and the model recombined, unless this core holds the
 * partition (its own learner is the newer). 1 when taken. */
int cxp_core_learner_remote(cxp_core *c, int32_t partition, const cxp_learner *l);
/* Refits the learners' one calibration now (cxp_learner_pool_calibration),
 * as it stands: the daemon does on its commit timer and at its stop, so
 * that it agrees with any core holding the same learners, however their
 * labels interleaved. */
void cxp_core_learn_refresh(cxp_core *c);

/* Emits a dead letter for a message the shell itself could not hand to the
 * core as an event (e.g. a Kafka message error). */
void cxp_core_dead_letter(cxp_core *c, const cxp_msg *m, cxp_reason r, const char *detail);

const char *cxp_stream_name(cxp_stream s);

/* ---- Segment windows (window.h, merge.h) ---- */

/* Merges the window partials in place instead of emitting them: for one
 * process holding every input partition, `cxpulse replay`. n_inputs is the
 * number of input partitions (1 for a replay). */
void cxp_core_merge_local(cxp_core *c, int32_t n_inputs);
/* The input and repartition topics' partition counts, for the Kafka path:
 * every merger waits for n_inputs partitions, and a window's partials go to
 * repartition partition cxp_wire_dest(length, start, n_repart). */
void cxp_core_set_inputs(cxp_core *c, int32_t n_inputs, int32_t n_repart);

/* A message of the repartition topic (m->partition is its partition there):
 * a partial or a marker, merged; final records go to INDICATORS. Returns
 * CXP_OK, or the reason it was dead-lettered. */
cxp_reason cxp_core_process_repartition(cxp_core *c, const cxp_msg *m);

/* Advances a quiet input partition's window clock by wall time (see
 * cxp_windows_tick); call only for partitions caught up with their log.
 * `at` is the tick (cxp_msg_clock: the partition, now_ms the wall time).
 * Returns the windows closed. */
int cxp_core_tick_input(cxp_core *c, const cxp_msg *at);
/* Emits the waiting windows of one merger (at->partition) that timed out. */
int cxp_core_tick_merge(cxp_core *c, const cxp_msg *at);
/* An input partition goes. On a revoke (send_partials 1) its open windows are
 * sent as early partials, which its next owner's partials of the same
 * windows merge with (with the changelog on, their records' tombstones join
 * the customers' frames of the partition's next cxp_core_state_flush); when
 * it was lost (its uncommitted events will be read again elsewhere) they are
 * dropped unsent. Then its windows are dropped; its customers and their
 * recovery cases stay until cxp_core_drop_state (a snapshot may still be
 * written of them). `at`: the drop (cxp_msg_clock of the partition). */
void cxp_core_drop_input(cxp_core *c, const cxp_msg *at, int send_partials);
/* Drops an input partition's customers and recovery cases. */
void cxp_core_drop_state(cxp_core *c, int32_t partition);
/* A repartition partition goes: its merger is dropped unemitted; its
 * uncommitted partials (cxp_core_merge_hold) are read again by the next
 * owner. */
void cxp_core_drop_merge(cxp_core *c, int32_t partition);
/* The lowest repartition offset a merger still needs, or -1. */
int64_t cxp_core_merge_hold(const cxp_core *c, int32_t partition);
/* Where the repartition partition may be committed, its outputs being
 * acknowledged up to `committable` (merge.h, cxp_merger_commit_point). */
int64_t cxp_core_merge_commit_point(const cxp_core *c, int32_t partition,
                                    int64_t committable);
/* The floor the partition's last commit carried, for its merger here. */
void cxp_core_merge_set_floor(cxp_core *c, int32_t partition, int64_t floor);
/* The input partitions' watermarks a commit of the repartition partition
 * at commit_offset carries (merge.h, cxp_merger_watermarks_at), into out;
 * returns how many (0: no merger). And, on assignment, those the last
 * commit carried, for its merger here. */
int32_t cxp_core_merge_watermarks(cxp_core *c, int32_t partition, int64_t commit_offset,
                                  int64_t *out);
void cxp_core_merge_set_watermarks(cxp_core *c, int32_t partition, const int64_t *wm,
                                   int32_t n);
/* The end of a replay: every open window is closed and merged, every input
 * partition's watermark raised past it, so every record goes out. */
void cxp_core_finish(cxp_core *c);

/* After the pipeline the core reads (c->pl) was reloaded in place: takes
 * the customers' and churn's settings from it again, and hands the new
 * recovery settings and solution library `lib` (owned by the core from now
 * on; NULL with recovery off) to every partition's cases. Returns the
 * partitions that refused them (sizes changed: cannot happen after
 * cxp_pipeline_reload). */
int cxp_core_reload(cxp_core *c, cxp_solutions *lib);

/* ---- Durable state (staterec.h; the shell owns the changelog topic) ---- */

/* The records of the partition that are not a customer's (its open
 * windows and systemic-failure groups) changed, and their tombstones
 * waiting, since the last cxp_core_partition_flush (durable state: window.h,
 * cases.h). */
size_t cxp_core_partition_changed(const cxp_core *c, int32_t partition);
/* Appends their frames (the groups', then the windows'), then the
 * partition's window clock (x: the last input offset processed; with
 * windows on); the shell writes them before the customers' frames of the
 * same flush. Returns how many. */
size_t cxp_core_partition_flush(cxp_core *c, int32_t partition, int64_t x, cxp_buf *out);
/* Appends the frames of the partition's state that is not a customer's and
 * that a snapshot carries with its customers (the systemic groups; open
 * windows are not there: a snapshot is written after a revoke sent them).
 * Returns how many. */
size_t cxp_core_state_extra(cxp_core *c, int32_t partition, cxp_buf *out);
/* Customers of an input partition changed (or evicted) since they were last
 * flushed. */
size_t cxp_core_state_dirty(const cxp_core *c, int32_t partition);
/* Appends the changelog frames of the partition's evicted customers (their
 * unwritten state, or a tombstone) and of every changed customer, as he is
 * now, to out, and forgets that they changed. Returns how many. */
size_t cxp_core_state_flush(cxp_core *c, int32_t partition, cxp_buf *out);
/* The idle sweep of one input partition: looks at a slice of its table
 * (4096 slots or a thirty-second of it, whichever is more, so a whole pass
 * takes at most 32 calls) and forgets the
 * customers idle past state.idle_ttl_days of event time, none with a case
 * open; each leaves a tombstone frame for the next flush. Returns how many. */
size_t cxp_core_state_expire(cxp_core *c, int32_t partition);
/* Applies one changelog record of an input partition, read back on
 * restore: a customer's state (held or not, it replaces what is held) or
 * his tombstone (val NULL), his open recovery cases with it. 0, or -1 with
 * a sentence in err (a key this build does not know, a record it cannot
 * read: nothing changed; a cases section it cannot read: the customer is
 * restored without his cases). */
int cxp_core_state_restore(cxp_core *c, int32_t partition, const char *key, size_t klen,
                           const void *val, size_t vlen, char *err, size_t errlen);
/* Appends the customer's cases section (cases.h) to ext: his open cases,
 * with recovery on and a case ever opened for him. A cxp_staterec_ext_fn
 * (opaque: the core), for snapshots. */
void cxp_core_state_ext(void *core, int32_t partition, const cxp_customer *cu, cxp_buf *ext);
/* After a snapshot was adopted (cxp_state_adopt): the cases sections its
 * records carried (frames of staterec.h keyed by customer id, as
 * cxp_snapshot_read collects them) go to the partition's cases, whose clock
 * starts at max_ts (the latest event time of the snapshot's customers).
 * Returns the sections that could not be read. */
size_t cxp_core_state_restore_cases(cxp_core *c, int32_t partition, const cxp_buf *frames,
                                    int64_t max_ts);

/* Recovery cases open on one input partition. */
size_t cxp_core_cases_open(const cxp_core *c, int32_t partition);
/* The recovery cases' counters summed over the partitions held. */
void cxp_core_cases_stats(const cxp_core *c, cxp_cases_stats *out);

#endif
