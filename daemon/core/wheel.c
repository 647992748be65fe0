/* The timing wheel (wheel.h). */
#include "wheel.h"
#include "xalloc.h"

#include <stdlib.h>

static inline int t_less(const cxp_wentry *a, const cxp_wentry *b) {
  return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void vec_push(cxp_wheel *w, cxp_wvec *v, cxp_wentry x) {
  if (v->n == v->cap) {
    uint32_t ncap = v->cap ? v->cap * 2 : 4;
    cxp_wentry *ne = cxp_xrealloc(v->e, (size_t)ncap * sizeof *ne);
    w->bytes += (size_t)(ncap - v->cap) * sizeof *ne;
    v->e = ne;
    v->cap = ncap;
  }
  v->e[v->n++] = x;
}

/* floor(a / b) for b > 0, also for a < 0, without overflow. */
static inline int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b < 0) ? q - 1 : q;
}

static int64_t sec_of(int64_t ms) { return floor_div(ms, 1000); }

void cxp_wheel_free(cxp_wheel *w) {
  for (int l = 0; l < CXP_WHEEL_LEVELS; l++)
    for (unsigned i = 0; i < CXP_WHEEL_SLOTS; i++) free(w->slot[l][i].e);
  free(w->ready.e);
}

void cxp_wheel_start(cxp_wheel *w, int64_t ms) {
  if (w->started) return;
  w->sec = sec_of(ms);
  w->started = 1;
}

/* Files an entry under its second: ready when the wheel has reached it,
 * else in the level of the highest bit in which it differs. */
static void wheel_file(cxp_wheel *w, cxp_wentry x) {
  int64_t ds = sec_of(x.due);
  if (!w->started || ds <= w->sec) {
    vec_push(w, &w->ready, x);
    return;
  }
  uint64_t diff = (uint64_t)ds ^ (uint64_t)w->sec;
  int level = (63 - __builtin_clzll(diff)) / CXP_WHEEL_BITS;
  if (level >= CXP_WHEEL_LEVELS) level = CXP_WHEEL_LEVELS - 1; /* past 2^32 s: the top level */
  unsigned slot = (unsigned)(((uint64_t)ds >> (CXP_WHEEL_BITS * level)) & (CXP_WHEEL_SLOTS - 1));
  vec_push(w, &w->slot[level][slot], x);
  w->count[level]++;
}

void cxp_wheel_add(cxp_wheel *w, int64_t due, uint32_t id, uint32_t seq) {
  cxp_wentry x = {due, id, seq};
  wheel_file(w, x);
  w->total++;
}

static uint32_t keep_live(cxp_wvec *v, cxp_wheel_live_fn live, const void *owner) {
  uint32_t n = 0;
  for (uint32_t k = 0; k < v->n; k++)
    if (live(owner, &v->e[k])) v->e[n++] = v->e[k];
  v->n = n;
  return n;
}

void cxp_wheel_compact(cxp_wheel *w, uint32_t n_live, cxp_wheel_live_fn live,
                       const void *owner) {
  if (w->total < 1024 || w->total <= 3 * n_live) return;
  w->total = 0;
  for (int l = 0; l < CXP_WHEEL_LEVELS; l++) {
    w->count[l] = 0;
    for (unsigned i = 0; i < CXP_WHEEL_SLOTS; i++) {
      uint32_t n = keep_live(&w->slot[l][i], live, owner);
      w->count[l] += n;
      w->total += n;
    }
  }
  w->total += keep_live(&w->ready, live, owner);
}

/* Empties one slot of level l, filing its entries again against the wheel's
 * new second: each lands in a lower level, or ready. */
static void wheel_cascade(cxp_wheel *w, int l, unsigned slot) {
  cxp_wvec v = w->slot[l][slot];
  w->slot[l][slot] = (cxp_wvec){NULL, 0, 0};
  w->count[l] -= v.n;
  for (uint32_t k = 0; k < v.n; k++) {
    int64_t ds = sec_of(v.e[k].due);
    if (ds <= w->sec) {
      vec_push(w, &w->ready, v.e[k]);
    } else {
      uint64_t diff = (uint64_t)ds ^ (uint64_t)w->sec;
      int level = (63 - __builtin_clzll(diff)) / CXP_WHEEL_BITS;
      if (level >= CXP_WHEEL_LEVELS) level = CXP_WHEEL_LEVELS - 1;
      unsigned s = (unsigned)(((uint64_t)ds >> (CXP_WHEEL_BITS * level)) & (CXP_WHEEL_SLOTS - 1));
      vec_push(w, &w->slot[level][s], v.e[k]);
      w->count[level]++;
    }
  }
  w->bytes -= (size_t)v.cap * sizeof *v.e;
  free(v.e);
}

/* Files every entry of the wheel again against a new second, `target`:
 * what is due by then lands in ready, the rest in the level of the bit in
 * which it now differs. Work in proportion to the entries held, whatever
 * the distance. */
static void wheel_refile(cxp_wheel *w, int64_t target) {
  w->sec = target;
  for (int l = 0; l < CXP_WHEEL_LEVELS; l++) {
    if (w->count[l] == 0) continue;
    for (unsigned i = 0; i < CXP_WHEEL_SLOTS; i++)
      if (w->slot[l][i].n) wheel_cascade(w, l, i);
  }
}

/* Moves the wheel's second to `target`, cascading as it crosses slot
 * boundaries. Empty stretches are skipped a whole slot span at a time, so a
 * jump of days in event time (a replay) costs a few hundred steps. A jump
 * of the wheel's whole span (2^32 s) or more would walk its top level in
 * 2^24 s steps, as many as the jump is long (from a clock restored at
 * second -2.4e15, 1.4e8 of them: seconds on end); such a jump files every
 * entry again at the target instead. Restored times are range-checked
 * (staterec.h), so only a clock driven past the decoder's years gets here;
 * the wheel stays bounded all the same. */
static void wheel_turn(cxp_wheel *w, int64_t target) {
  if (!w->started) {
    w->sec = target;
    w->started = 1;
    return;
  }
  if (target > w->sec &&
      (uint64_t)target - (uint64_t)w->sec >= (uint64_t)1 << (CXP_WHEEL_BITS * CXP_WHEEL_LEVELS)) {
    wheel_refile(w, target);
    return;
  }
  while (w->sec < target) {
    /* The lowest level holding entries decides how far the next step may go:
     * with levels below l empty, the second can jump to l's next slot. */
    int l = 0;
    while (l < CXP_WHEEL_LEVELS && w->count[l] == 0) l++;
    if (l == CXP_WHEEL_LEVELS) {
      w->sec = target;
      return;
    }
    int64_t span = (int64_t)1 << (CXP_WHEEL_BITS * l);
    int64_t next = (floor_div(w->sec, span) + 1) * span; /* the start of l's next slot */
    if (l == 0) next = w->sec + 1;
    if (next > target) next = target;
    w->sec = next;
    /* Cascade every level whose slot boundary the second now sits on,
     * highest first, then take level 0's slot of this second. */
    for (int k = CXP_WHEEL_LEVELS - 1; k >= 1; k--) {
      int64_t kspan = (int64_t)1 << (CXP_WHEEL_BITS * k);
      if (w->sec % kspan == 0 || k <= l) {
        unsigned slot = (unsigned)(((uint64_t)w->sec >> (CXP_WHEEL_BITS * k)) & (CXP_WHEEL_SLOTS - 1));
        if (w->slot[k][slot].n) wheel_cascade(w, k, slot);
      }
    }
    unsigned s0 = (unsigned)((uint64_t)w->sec & (CXP_WHEEL_SLOTS - 1));
    if (w->slot[0][s0].n) wheel_cascade(w, 0, s0);
  }
}

int64_t cxp_wheel_earliest(const cxp_wheel *w) {
  int64_t best = INT64_MAX;
  for (uint32_t k = 0; k < w->ready.n; k++)
    if (w->ready.e[k].due < best) best = w->ready.e[k].due;
  if (best != INT64_MAX) return best;
  /* Ready holds this second and before; a level's slots after the current
   * one hold later seconds, and a lower level's all come before a higher
   * one's: the first non-empty slot of the lowest non-empty level holds the
   * earliest due. */
  for (int l = 0; l < CXP_WHEEL_LEVELS; l++) {
    if (w->count[l] == 0) continue;
    int64_t span = (int64_t)1 << (CXP_WHEEL_BITS * l);
    for (unsigned i = 1; i <= CXP_WHEEL_SLOTS; i++) {
      int64_t sec = (floor_div(w->sec, span) + i) * span;
      unsigned slot = (unsigned)(((uint64_t)sec >> (CXP_WHEEL_BITS * l)) & (CXP_WHEEL_SLOTS - 1));
      const cxp_wvec *v = &w->slot[l][slot];
      for (uint32_t k = 0; k < v->n; k++)
        if (v->e[k].due < best) best = v->e[k].due;
      if (best != INT64_MAX) return best;
    }
  }
  return best;
}

void cxp_wheel_turn_to(cxp_wheel *w, int64_t ms) { wheel_turn(w, sec_of(ms)); }

void cxp_wheel_take(cxp_wheel *w, int64_t ms, cxp_wvec *b) {
  cxp_wheel_turn(w, ms);
  cxp_wvec *r = &w->ready;
  uint32_t keep = 0;
  for (uint32_t k = 0; k < r->n; k++) {
    if (r->e[k].due > ms) {
      r->e[keep++] = r->e[k];
      continue;
    }
    w->total--;
    /* Sift up into the batch's binary heap by (due, seq). */
    if (b->n == b->cap) b->e = cxp_xgrow(b->e, &b->cap, 16, UINT32_MAX);
    uint32_t i = b->n++;
    while (i > 0 && t_less(&r->e[k], &b->e[(i - 1) / 2])) {
      b->e[i] = b->e[(i - 1) / 2];
      i = (i - 1) / 2;
    }
    b->e[i] = r->e[k];
  }
  r->n = keep;
}

cxp_wentry cxp_wheel_pop(cxp_wvec *b) {
  cxp_wentry top = b->e[0], x = b->e[--b->n];
  uint32_t i = 0;
  for (;;) {
    uint32_t c = 2 * i + 1;
    if (c >= b->n) break;
    if (c + 1 < b->n && t_less(&b->e[c + 1], &b->e[c])) c++;
    if (!t_less(&b->e[c], &x)) break;
    b->e[i] = b->e[c];
    i = c;
  }
  if (b->n) b->e[i] = x;
  return top;
}

