/* Segment indicator windows (docs/domain.md section 4): tumbling event-time
 * windows per group, closed by a per-partition watermark, emitting partial
 * aggregates that merge exactly across partitions into one final record.
 *
 * Pure functional core: no clock reads. Time comes in as arguments: the
 * event's own time, the wall time at which the shell received it, and the
 * wall time of a tick.
 *
 * Flow. Each input partition owns one cxp_windows. cxp_windows_add folds an
 * event into every (length, grouping) window it belongs to; when the
 * partition's watermark passes a window's end, the window closes and its
 * PARTIAL aggregate goes to on_close. The shell sends partials through a
 * repartition topic (cxp_window_partial_write / _parse), a merger sums the
 * partials of one window and group from every input partition
 * (cxp_window_partial_merge), and writes the single final indicator record
 * (cxp_window_record_write). Every aggregate is an integer numerator or
 * denominator, never a ratio, so merging is exact and independent of how the
 * input was split.
 *
 * Time rules, precisely:
 * - A window of length L is [start, start + L) with start = floor(ts / L) * L
 *   (aligned to the epoch, so every partition and instance agrees).
 * - Watermark W = event clock - lateness, where the event clock is the largest
 *   event time seen on the partition, or, when the partition is quiet and
 *   ticked, its last event's time plus the wall time elapsed since that event
 *   arrived. W never moves back.
 * - A window closes when W >= its end.
 * - Lateness is per window: an event is folded into each of its windows
 *   still open (end > W), whatever happened to its others. Being late for
 *   its 1-minute window never keeps it out of its open 1-hour window.
 * - For a window closed within its revision horizon (W < end + the
 *   length's revision_ms), the event becomes a revision: a partial of its
 *   own contribution alone (late set, its input offset as first and last),
 *   handed to on_close at once. The merger adds it to the window's record
 *   and emits the record again with the next revision number (merge.h).
 * - A window past its horizon misses the event (counted per length). When
 *   every window of the event missed it and it would have changed a window
 *   measure (a survey response, a complaint, a failure, a cancellation, a
 *   case opened), cxp_windows_add returns CXP_BAD_LATE and the caller
 *   dead-letters it (cxp_windows_missed describes the windows); an event
 *   that feeds no measure but the event count is never late.
 * - An event older than the newest one seen whose windows are still open is
 *   folded normally and counted as late_within_grace.
 * - When more than max_open windows would be open, the window that would
 *   close next anyway (earliest end, then oldest) closes early, with
 *   `early` set on its partial. A later event for it opens a fresh window
 *   with the same key; its second partial merges with the first.
 */
#ifndef CXP_WINDOW_H
#define CXP_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "jsonw.h"
#include "varint.h"
#include "winrec.h"

typedef struct cxp_window_grouping {
  int n_fields; /* 0..4; 0 is the all-customers group */
  cxp_window_field fields[CXP_WIN_MAX_FIELDS];
} cxp_window_grouping;

typedef struct cxp_window_conf {
  int n_lengths;
  int64_t length_ms[CXP_WIN_MAX_LENGTHS];
  int n_groupings;
  cxp_window_grouping grouping[CXP_WIN_MAX_GROUPINGS];
  int64_t lateness_ms;
  /* Per length: how long after a window closes (by the watermark) a late
   * event still revises its record; 0: never. */
  int64_t revision_ms[CXP_WIN_MAX_LENGTHS];
  int min_n;         /* responses under which a measure is listed in low_n */
  uint32_t max_open; /* open windows per partition: the memory bound */
} cxp_window_conf;

/* 60 s and 3600 s; groupings [segment] and [channel]; lateness 300 s;
 * revisions for the longer of the window's length and an hour after it
 * closes (cxp_window_revision_default); min_n 30; max_open 8192. */
int64_t cxp_window_revision_default(int64_t length_ms);
void cxp_window_conf_defaults(cxp_window_conf *c);
/* 0, or -1 with a sentence naming the setting in err. */
int cxp_window_conf_check(const cxp_window_conf *c, char *err, size_t errlen);


/* Called for each window that closes, synchronously, from within
 * cxp_windows_add, _add_recovered, _tick or _flush. The partial is valid only
 * during the call. The callback must not call back into the same
 * cxp_windows. */
typedef void (*cxp_window_close_fn)(void *opaque, const cxp_window_partial *p);

typedef struct cxp_window_stats {
  uint64_t events;            /* folded into at least one window */
  uint64_t late;              /* refused with CXP_BAD_LATE: every window missed them */
  uint64_t late_ignored;      /* every window missed them, but they feed no measure */
  /* Per length: events after their window of that length had closed, sent
   * as revisions (within the horizon) or missed (past it). */
  uint64_t late_revised[CXP_WIN_MAX_LENGTHS], late_missed[CXP_WIN_MAX_LENGTHS];
  uint64_t late_within_grace; /* older than the newest event seen, still folded */
  uint64_t recovered_late;    /* add_recovered whose windows had closed */
  uint64_t opened, closed;    /* windows, over the lifetime */
  uint64_t closed_early;      /* closed by the max_open bound */
  uint64_t flushed;           /* closed by cxp_windows_flush before their end */
  uint64_t replayed;          /* re-read after a restore, in the restored state already */
  uint32_t open, open_max;    /* windows open now; most ever open at once */
} cxp_window_stats;

typedef struct cxp_windows cxp_windows;

/* The windows of one input partition. Copies conf. NULL when conf fails
 * cxp_window_conf_check or memory runs out. */
cxp_windows *cxp_windows_create(const cxp_window_conf *conf, int32_t partition,
                                cxp_window_close_fn on_close, void *opaque);
/* Frees everything without emitting; flush first to keep the open windows. */
void cxp_windows_destroy(cxp_windows *w);

/* Folds one event into every window it belongs to, then closes the windows
 * its time lets the watermark pass. Returns CXP_OK, or CXP_BAD_LATE when the
 * caller must dead-letter the event as late (nothing was folded).
 *
 * The group values are read from ev->segment, channel, agent_id, touchpoint;
 * a missing one counts as "unknown". The segment sticks to the customer
 * (docs/domain.md section 2), so the caller passes the customer's latest segment in
 * ev->segment when the event itself has none (a copy of the event will do:
 * only ts_ms, type, score, sq_* and the four group fields are read).
 *
 * arrival_wall_ms is the wall time at which the shell received the event; it
 * drives cxp_windows_tick. 0 (replay) means "no wall clock".
 *
 * churn_band: the customer's churn-risk band to count in churn_risk with this
 * event (0 low, 1 medium, 2 high), or -1 for none. The scorer decides when a
 * customer counts: once per window it is active in makes churn_risk a count
 * of customers, with every event a count of events. */
cxp_reason cxp_windows_add(cxp_windows *w, const cxp_event *ev, int64_t arrival_wall_ms,
                           int churn_band);

/* What the caller knows of the event beyond the event itself. */
typedef struct cxp_window_ctx {
  int churn_band;      /* as cxp_windows_add's */
  int case_opened;     /* 1 the event opened a recovery case, 0 it did not; -1: judge by
                          its type (failure, complaint, detractor response), for a
                          caller without cases */
  int cohort;          /* the customer's: 0 never failed, 1 recovered well, 2 recovered
                          poorly; -1 unknown (or a case still open) */
  unsigned first_mask; /* bit li: the customer's first event in the window of length li */
  double si;           /* his satisfaction index after this survey response; NaN: none */
  int post_recovery;   /* this CSAT/NPS response is his first since a case was resolved */
  double value_at_risk; /* his churn probability x value, counted with churn_band; 0 none */
  int64_t offset;       /* the event's input offset; -1 none */
  /* Added later: 0 (and NaN) for none. */
  int has_value;        /* value_ratio is his delivered-value ratio after the event */
  double value_ratio;   /* counted with the customers, at his first event in the window */
  int repeat_purchase;  /* this purchase is by a customer who had bought before */
} cxp_window_ctx;

/* cxp_windows_add with the context of cxp_window_ctx. */
cxp_reason cxp_windows_add_ctx(cxp_windows *w, const cxp_event *ev, int64_t arrival_wall_ms,
                               const cxp_window_ctx *ctx);

/* A recovery case's outcome (docs/domain.md section 5). */
typedef struct cxp_window_outcome {
  int well;
  int64_t tta_ms, ttr_ms; /* -1: not acknowledged, not resolved */
  int failure;            /* a failure case, opened by service.failure or by a complaint
                             (the pre-emption ratio's base); not a detractor's */
  int preempted;          /* detected by the provider before any complaint */
  int64_t offset;         /* input offset of the event that closed the case; -1 none */
} cxp_window_outcome;

/* After CXP_BAD_LATE: the windows the event missed and until when each
 * took revisions, as a sentence for its dead letter. */
void cxp_windows_missed(const cxp_windows *w, char *out, size_t cap);

/* Counts one case outcome in the windows of `ev` (a stand-in with the
 * closing time in ts_ms and the case's segment and touchpoint), in the
 * groupings made of segment and touchpoint only (a case has no channel or
 * agent of its own). The clock does not move. A closed window within its
 * horizon gets a revision partial; CXP_BAD_LATE, counted in recovered_late,
 * when every window is past its horizon. */
cxp_reason cxp_windows_add_outcome(cxp_windows *w, const cxp_event *ev,
                                   const cxp_window_outcome *o);

/* Counts one case recovered well (docs/domain.md section 5: acknowledged and resolved
 * within SLA, and followed up) without times: cxp_windows_add_outcome with
 * well set and nothing else. */
cxp_reason cxp_windows_add_recovered(cxp_windows *w, const cxp_event *ev);

/* Advances a quiet partition's event clock by wall time: to its last event's
 * time plus now_wall_ms minus that event's arrival time, never to now itself,
 * so a backlog consumed quickly cannot close windows early. The shell ticks
 * only partitions that are caught up (no lag, not paused): a partition
 * paused with a backlog would otherwise age past events it has not read.
 * Does nothing before the first event, or when that event came without a
 * wall time (replay). Returns the number of windows closed. */
int cxp_windows_tick(cxp_windows *w, int64_t now_wall_ms);

/* Closes every open window now (partition revoked, shutdown), oldest end
 * first; windows the watermark has not passed go out with early set.
 * Returns the number closed. */
int cxp_windows_flush(cxp_windows *w);

/* The watermark (INT64_MIN before the first event). */
int64_t cxp_windows_watermark(const cxp_windows *w);
/* The start of the window of length index li that event time ts (within
 * CXP_TS_MIN_MS..CXP_TS_MAX_MS) falls in, from the one last asked: the
 * customer's first-in-window test and the fold ask the same event's, and a
 * 64-bit division costs tens of cycles. */
int64_t cxp_windows_start(cxp_windows *w, int li, int64_t ts);
cxp_window_stats cxp_windows_stats(const cxp_windows *w);
/* Bytes held now: the struct, the window slots allocated so far, the index
 * and the heap. Slots are kept for reuse, so this only grows, up to the
 * max_open bound. */
size_t cxp_windows_bytes(const cxp_windows *w);
/* Bytes one open window costs: its slot (sized for the configured
 * groupings' values), its index entries at the table's load and its heap
 * entry. */
size_t cxp_windows_bytes_per_window(const cxp_windows *w);


/* ---- Durable state --------------------------------------------------------
 * With tracking on, the module lists the windows changed since the last
 * cxp_windows_flush_state and the ones closed since that had a record. The
 * changelog holds a record per open window (key CXP_CL_WINDOW
 * "<length>:<start>:<group>", value its partial, with the input offsets of
 * its first and last event; a tombstone once it closes) and one clock
 * record per partition (CXP_CL_WINDOW_CLOCK: the input offset x the records
 * cover, the newest event time). The daemon writes a partition's window
 * records, then its clock, then its customers, in that order: a customer's
 * record acknowledged means every window record of his events is too, so a
 * window never folds an event again whose customer was restored past it.
 * On restore, events at or below the clock's x are not folded (nor judged
 * late), and a window restored with its last offset L does not fold again
 * what came at or below L. */
void cxp_windows_track(cxp_windows *w, int on);
/* Windows changed, and tombstones waiting, since the last flush_state. */
size_t cxp_windows_changed(const cxp_windows *w);
/* Appends the frames (staterec.h) of the tombstones, the changed windows and
 * the clock (x: the last input offset whose events are in); the windows are
 * clean after. Returns the frames appended. */
size_t cxp_windows_flush_state(cxp_windows *w, int64_t x, cxp_buf *out);
/* Appends only the tombstones waiting (a partition going away: its windows
 * closed, the module about to go). Returns how many. */
size_t cxp_windows_take_gone(cxp_windows *w, cxp_buf *out);
/* Applies one window or clock record (val NULL: a tombstone). 0, or -1 with
 * a sentence in err (may be NULL) when it cannot be read, holds a value out
 * of range (a time outside the event years 2000..2099, a count past what
 * the partial's reader allows) or has no place under this pipeline's
 * windows (it is then skipped). No window closes, no callback runs. */
int cxp_windows_restore(cxp_windows *w, const char *key, size_t klen, const void *val,
                        size_t vlen, char *err, size_t errlen);

#endif
