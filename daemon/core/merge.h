/* The merge of segment-window partials into one final record per group and
 * window (docs/domain.md section 4), whatever the number of input partitions and
 * instances.
 *
 * Each input partition closes its windows on its own watermark and sends
 * their partial aggregates, then a marker "my watermark is now W": every
 * window ending at or before W is closed on that partition. A merger (one
 * per partition of the repartition topic, or one in all for a replay) sums
 * the partials of a window and group, and emits the final record once every
 * input partition's marker has passed the window's end: complete, exactly
 * once per merger. A window still waiting after `timeout_ms` of wall time
 * since its first partial went out incomplete, naming the partitions whose
 * marker had not passed it.
 *
 * Revisions. A merger with revision horizons (cxp_merger_revisions) keeps
 * each record it emitted until the merged watermark passes its window's
 * end by the horizon of its length. A partial arriving meanwhile for that
 * window and group (a late event's revision partial, a straggler of a
 * window emitted by the timeout, a partition's second stretch) is added,
 * and the whole corrected record goes out again with the next revision
 * number (the first is 0); one for a group the window had no record of
 * goes out at once as that group's revision 0. Past the horizon such a
 * partial is late. Every record goes out exactly once per window, group and
 * revision from one merger, and the merger of a group is the same from
 * every instance. At most max_kept records are kept; past it the earliest
 * windows' go first (counted: forgotten_early), and a revision for them is
 * late.
 *
 * Order: a partition's partials of a window reach the merger before its
 * marker covering that window (the same producer writes them in that order
 * to the same topic partition). A partial of a window already emitted is
 * refused (late). A partial carries the input offsets of the first and last
 * event it holds: one whose first offset is at or below the last offset of
 * a partial already taken from its partition for the same window and group
 * is ignored (a duplicate: a partition that restarted behind the point
 * where it first closed the window closed it again). Markers only ever
 * raise a partition's watermark, so one read twice changes nothing.
 *
 * Pure: no clock reads; the wall time comes in as an argument. */
#ifndef CXP_MERGE_H
#define CXP_MERGE_H

#include <stdint.h>

#include "window.h"

/* A final record: the merged partial, and the input partitions missing from
 * it (n_missing 0: complete). Valid only during the call. `origin` is what
 * the caller passed to the call that emitted it (cxp_merger_partial, _marker,
 * _tick, _flush), handed back untouched. */
typedef void (*cxp_merge_emit_fn)(void *opaque, const void *origin,
                                  const cxp_window_partial *merged, const int32_t *missing,
                                  int n_missing);

/* After the records of one emission (in the order they went out): every
 * group of the windows that closed together, so that figures across groups
 * (the consistency of agents) can be worked out. Valid only during the call. */
typedef void (*cxp_merge_batch_fn)(void *opaque, const void *origin,
                                   const cxp_window_partial *const *merged, int n);

typedef struct cxp_merge_stats {
  uint64_t partials, markers;
  uint64_t complete, incomplete; /* final records emitted */
  uint64_t late;                 /* partials refused: their window was emitted */
  uint64_t duplicates;           /* partials ignored: their input was taken already */
  uint64_t replayed;             /* partials ignored: their window is under the floor */
  uint64_t revisions;            /* records emitted again, corrected (revision >= 1) */
  uint64_t forgotten_early;      /* kept records let go before their horizon (max_kept) */
  uint32_t pending, pending_max; /* groups' windows waiting */
  uint32_t kept;                 /* records kept for revisions */
} cxp_merge_stats;

typedef struct cxp_merger cxp_merger;

/* n_inputs: the input topic's partitions (0..n_inputs-1 must all report).
 * timeout_ms: wall time a window may wait for missing partitions; 0 waits
 * for ever. NULL when out of memory or n_inputs < 1. */
cxp_merger *cxp_merger_create(int32_t n_inputs, int64_t timeout_ms, cxp_merge_emit_fn emit,
                              void *opaque);
void cxp_merger_destroy(cxp_merger *m);
/* Sets the batch callback (none by default). */
void cxp_merger_on_batch(cxp_merger *m, cxp_merge_batch_fn fn);
/* Keeps emitted records for revisions: the horizons of conf's lengths
 * (revision_ms), at most max_kept records (0: no bound). Without it (or a
 * horizon of 0) a partial of an emitted window is late. */
void cxp_merger_revisions(cxp_merger *m, const cxp_window_conf *conf, uint32_t max_kept);

/* Adds one partial, received at wall time now_wall_ms (0: no wall clock),
 * carrying `offset` (its position on the repartition topic, or -1): see
 * cxp_merger_hold. Returns 0 when taken (merged, or a revision emitted); 1
 * when it is a duplicate (ignored, counted); 2 when its window is under the
 * floor (ignored, counted); -1 when its window's records are out and past
 * their revision horizon, or were never kept (the caller dead-letters it as
 * late), or its input partition is out of range. */
int cxp_merger_partial(cxp_merger *m, const cxp_window_partial *p, int64_t now_wall_ms,
                       int64_t offset, const void *origin);

/* ---- Restarts ------------------------------------------------------------
 * A merger restarted reads its repartition partition again from the
 * committed offset. The windows it had emitted before that offset must not be
 * emitted again from the partials it reads again (some of their partials lie
 * before the offset: they would come out short). So the commit carries the
 * merged watermark as it stood after the messages before it (the floor), and
 * the next merger of that partition ignores partials of windows ending at or
 * before it (counted in `replayed`). */

/* The message at `offset` is being taken (before cxp_merger_partial or
 * cxp_merger_marker): windows emitted meanwhile were emitted at it. */
void cxp_merger_at(cxp_merger *m, int64_t offset);
/* The message at `offset` (a marker) has been taken: remembers the merged
 * watermark after it, when it rose. */
void cxp_merger_mark_offset(cxp_merger *m, int64_t offset);
/* Where the partition may be committed, given the offset its outputs are
 * acknowledged up to: no further than the oldest partial still waiting
 * (cxp_merger_hold), and never between a window's first partial and the
 * message that emitted it (the floor would not cover the window, and the
 * partials before the commit would not be read again). -1: nowhere yet. */
int64_t cxp_merger_commit_point(const cxp_merger *m, int64_t committable);
/* The merged watermark after every message before commit_offset (a
 * cxp_merger_commit_point): every window ending at or before it has been
 * emitted by then. INT64_MIN: none known. Forgets what is older (commits
 * only move forward). */
int64_t cxp_merger_floor_at(cxp_merger *m, int64_t commit_offset);
/* The floor a commit carried: partials of windows ending at or before it are
 * ignored (cxp_merger_partial returns 2). */
void cxp_merger_set_floor(cxp_merger *m, int64_t floor);
/* What a commit at commit_offset carries instead of the floor: every input
 * partition's watermark as the merger knew it after the messages before
 * that offset, into out (n_inputs of them; INT64_MIN: none yet). A merger
 * that reads the partition again from there, given them
 * (cxp_merger_set_watermarks), sees what its predecessor saw at each
 * message: it emits again the records its predecessor emitted after the
 * commit, the same, whatever an input partition said only before it (under
 * the windowed protocol a partition tells a merger its watermark only as it
 * passes that merger's windows). The floor is their least. Forgets what is
 * older (commits only move forward). Returns n_inputs. */
int32_t cxp_merger_watermarks_at(cxp_merger *m, int64_t commit_offset, int64_t *out);
void cxp_merger_set_watermarks(cxp_merger *m, const int64_t *wm, int32_t n);

/* Input partition `input` has closed every window ending at or before
 * `watermark`. Emits the windows now complete, oldest end first. Returns the
 * number emitted, or -1 when input is out of range. */
int cxp_merger_marker(cxp_merger *m, int32_t input, int64_t watermark, const void *origin);

/* Emits, incomplete, the windows whose first partial came timeout_ms or
 * more before now_wall_ms. Returns the number emitted. */
int cxp_merger_tick(cxp_merger *m, int64_t now_wall_ms, const void *origin);

/* Emits every waiting window, incomplete unless every marker has passed it
 * (the end of a replay). Returns the number emitted. */
int cxp_merger_flush(cxp_merger *m, const void *origin);

/* The lowest repartition-topic offset among the partials still waiting or
 * kept for revisions, or -1 when there is none: offsets from there on must
 * stay uncommitted, so that a restart or the partition's next owner reads
 * them again (and can still revise the records it kept). */
int64_t cxp_merger_hold(const cxp_merger *m);

/* The merged watermark: the smallest over the input partitions (INT64_MIN
 * until each has reported). */
int64_t cxp_merger_watermark(const cxp_merger *m);
cxp_merge_stats cxp_merger_stats(const cxp_merger *m);
size_t cxp_merger_bytes(const cxp_merger *m);

#endif
