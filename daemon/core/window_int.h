/* The segment windows' internals (window.h), shared by window.c (the open
 * windows of a partition) and winstate.c (their changelog records and
 * restore), and by no one else. */
#ifndef CXP_WINDOW_INT_H
#define CXP_WINDOW_INT_H

#include "window.h"
#include "fail.h"
#include "index.h"
#include "pool.h"

#define HASH_SEED 0x77696e646f777331ULL
/* Slots come from a pool (pool.h) in chunks of 2^6: a slot number (what the
 * index and the heap hold) stays valid for the slot's whole life. */
#define SLOT_SHIFT 6
#define MAX_OPEN_LIMIT (1u << 24)
#define SLOT_FREE_SEQ UINT64_MAX /* a released slot's seq: no link matches it */
#define TIME_LIMIT_MS CXP_WIN_TIME_LIMIT_MS

/* One open window of one group. The grouping's values follow the struct
 * back to back (vlen[] says where each ends); the slot stride leaves room
 * for the longest values the configured groupings allow. */
typedef struct wslot {
  uint64_t hash;
  int64_t start, end;
  uint64_t seq;      /* opening order: ties on end close in this order */
  uint32_t heap_pos; /* while open: index in the heap; while free: next free */
  uint8_t li, gi;    /* length and grouping indexes */
  uint8_t vlen[CXP_WIN_MAX_FIELDS];
  int64_t first_off, last_off; /* input offsets of the events folded; -1 none */
  /* Restored from the changelog: what came at or below this input offset is
   * in agg already (re-read events are not folded again); -1 otherwise. */
  int64_t restored_off;
  uint32_t dirty;  /* changed since the last flush_state: 1 + index in dirty[]; 0 clean */
  uint8_t written; /* has a record in the changelog: closing it writes a tombstone */
  /* The window of the same group and the next length an event was folded
   * into after this one (fold_all): slot number and that slot's seq, which
   * says it is still the same opening (a released slot's seq is
   * SLOT_FREE_SEQ, a reopened one's new). Checked against the event's own
   * start of that length before use: a hint that saves a lookup, never
   * trusted. */
  uint32_t link;
  uint64_t link_seq;
  cxp_window_agg agg;
  char vals[];
} wslot;

struct cxp_windows {
  cxp_window_conf conf;
  int32_t partition;
  cxp_window_close_fn on_close;
  void *opaque;

  /* The open windows' slots, each of stride bytes (the struct and the
   * longest values the groupings allow; a multiple of 8), and the index
   * from a window's hash to its slot. */
  cxp_pool slots;
  size_t stride;
  cxp_index index;

  /* Min-heap of open slots by (end, seq): the next window to close is always
   * on top, for the watermark, the memory bound and flush alike. */
  uint32_t *heap;
  uint32_t heap_n, heap_cap;

  /* The window of each length the last event fell in (cxp_windows_start). */
  cxp_span cur[CXP_WIN_MAX_LENGTHS];

  uint64_t seq;
  int has_ts;
  int64_t max_ts;       /* largest event time folded */
  int64_t last_ts;      /* time of the event folded last */
  int64_t last_arrival; /* its wall arrival time; 0 when it had none */
  int64_t wm;           /* watermark applied; only grows */
  cxp_window_stats st;

  /* Durable state (cxp_windows_track): the windows changed since the last
   * cxp_windows_flush_state, and the tombstones of those closed since. */
  int track;
  wslot **dirty;
  uint32_t n_dirty, dirty_cap;
  cxp_buf gone;
  cxp_buf key, val; /* scratch for a record's key and value */
  uint32_t n_gone;
  int64_t restored_x;  /* events at or below this input offset were in the restored
                          state: not folded, not judged late; -1 none */
  /* The windows of the last event refused as late (cxp_windows_missed). */
  int64_t missed_start[CXP_WIN_MAX_LENGTHS];
  int restored_clock;  /* the quiet clock's wall time starts at the next tick */
};

static inline wslot *slot_at(const cxp_windows *w, uint32_t i) {
  return cxp_pool_at(&w->slots, i);
}

#include <stdio.h>

/* One grouping's values for one event, and their hash. */
typedef struct gkey {
  const char *p[CXP_WIN_MAX_FIELDS];
  uint8_t n[CXP_WIN_MAX_FIELDS];
  uint64_t hash;
} gkey;

/* window.c */
void win_dirty_remove(cxp_windows *w, wslot *s);
wslot *win_find_or_open(cxp_windows *w, int li, int gi, int64_t start, const gkey *k);
uint64_t win_hash_value(const char *p, size_t n, uint64_t h);
wslot *win_lookup(const cxp_windows *w, uint64_t h, int li, int gi, int64_t start, const gkey *k,
                  uint32_t *idx);
void win_release(cxp_windows *w, uint32_t idx, wslot *s);
void win_slot_partial(const cxp_windows *w, const wslot *s, int early, cxp_window_partial *p);
uint64_t win_window_hash(const gkey *k, int li, int64_t start);
void win_window_key(cxp_buf *b, const cxp_window_partial *p);

/* winheap.c: the open windows by end. */
void win_heap_push(cxp_windows *w, uint32_t idx);
void win_heap_remove(cxp_windows *w, uint32_t pos);

#endif
