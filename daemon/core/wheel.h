/* A hierarchical timing wheel over event time, usable on its own: entries
 * (due, id, seq) filed by the second of their due, served in (due, seq)
 * order as a clock moves.
 *
 * CXP_WHEEL_LEVELS levels of 256 slots, level k's slots 8k bits of seconds
 * wide, so the four levels span 2^32 s. An entry sits in the level of the
 * highest bit in which its second differs from the wheel's; as the wheel's
 * second moves, a higher slot's entries cascade down at most once per
 * level. Adding is O(1), and each entry moves at most CXP_WHEEL_LEVELS
 * times before it is due: O(1) amortised per deadline, whatever the number
 * held. Entries whose second the wheel has reached wait in `ready` for the
 * clock's milliseconds.
 *
 * The wheel never removes an entry before it is due: an owner whose due
 * moved adds a new entry and skips the old one when it comes out (lazy
 * invalidation: id and seq tell it which is which), and compacts now and
 * then with its own liveness test. */
#ifndef CXP_WHEEL_H
#define CXP_WHEEL_H

#include <stddef.h>
#include <stdint.h>

#define CXP_WHEEL_BITS 8
#define CXP_WHEEL_SLOTS (1u << CXP_WHEEL_BITS)
#define CXP_WHEEL_LEVELS 4

typedef struct cxp_wentry {
  int64_t due;  /* ms of event time */
  uint32_t id;  /* the owner's: what is due */
  uint32_t seq; /* the owner's: orders equal dues, tells a stale entry */
} cxp_wentry;

typedef struct cxp_wvec {
  cxp_wentry *e;
  uint32_t n, cap;
} cxp_wvec;

typedef struct cxp_wheel {
  int64_t sec; /* the second the wheel has reached */
  int started;
  cxp_wvec slot[CXP_WHEEL_LEVELS][CXP_WHEEL_SLOTS];
  uint32_t count[CXP_WHEEL_LEVELS]; /* entries per level */
  cxp_wvec ready;                   /* second reached, due not yet */
  uint32_t total;                   /* entries anywhere, live or stale */
  size_t bytes;                     /* capacity held by the vectors */
} cxp_wheel;

/* A zeroed wheel is an empty one, not started. */
void cxp_wheel_free(cxp_wheel *w);

/* Starts the wheel at the second of ms, unless it has started: what is
 * added from then on sits in its slots, not all in ready. */
void cxp_wheel_start(cxp_wheel *w, int64_t ms);

/* Adds an entry. */
void cxp_wheel_add(cxp_wheel *w, int64_t due, uint32_t id, uint32_t seq);

/* Keeps only the entries `live` says are, once the held entries number at
 * least 1024 and more than three times `n_live` (the owner's count of live
 * ones): a comparison unless stale entries pile up. */
typedef int (*cxp_wheel_live_fn)(const void *owner, const cxp_wentry *e);
void cxp_wheel_compact(cxp_wheel *w, uint32_t n_live, cxp_wheel_live_fn live,
                       const void *owner);

/* Moves the wheel to the second of ms (never back), cascading as it goes.
 * Inline for the common case, a clock still within the wheel's second. */
void cxp_wheel_turn_to(cxp_wheel *w, int64_t ms);
static inline void cxp_wheel_turn(cxp_wheel *w, int64_t ms) {
  if (!w->started || ms >= (w->sec + 1) * 1000) cxp_wheel_turn_to(w, ms);
}

/* Turns the wheel to ms, then moves every entry due by ms into the batch
 * `b`, a binary min-heap by (due, seq) that cxp_wheel_pop serves. An owner
 * serving entries may add new ones already due: it calls cxp_wheel_take
 * again to take them in. */
void cxp_wheel_take(cxp_wheel *w, int64_t ms, cxp_wvec *b);
/* The earliest entry of the batch, out of it; the batch must not be empty. */
cxp_wentry cxp_wheel_pop(cxp_wvec *b);

/* Whether entries wait in ready (their second reached). */
static inline int cxp_wheel_has_ready(const cxp_wheel *w) { return w->ready.n != 0; }

/* The earliest due the wheel may hold, or INT64_MAX: exact for ready
 * entries, the start of the nearest non-empty slot otherwise (early, never
 * late). */
int64_t cxp_wheel_earliest(const cxp_wheel *w);

#endif
