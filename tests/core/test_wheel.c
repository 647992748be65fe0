/* Unit tests of the timing wheel on its own (daemon/core/wheel.c): entries
 * come out at their due, in (due, seq) order, across every level and a
 * jump past the wheel's span; stale entries are skipped by the owner and
 * dropped by compaction; the earliest due is never late. */
#include <stdlib.h>

#include "test.h"
#include "wheel.h"

#define S 1000LL /* ms */

/* Serves everything due by `ms` into out[] (ids), returns how many. */
static int serve(cxp_wheel *w, int64_t ms, uint32_t *out, int max, int64_t *dues) {
  cxp_wvec b = {NULL, 0, 0};
  int n = 0;
  cxp_wheel_take(w, ms, &b);
  while (b.n) {
    cxp_wentry e = cxp_wheel_pop(&b);
    if (n < max) {
      out[n] = e.id;
      if (dues) dues[n] = e.due;
    }
    n++;
  }
  free(b.e);
  return n;
}

static int odd_is_stale(const void *owner, const cxp_wentry *e) {
  (void)owner;
  return e->id % 2 == 0;
}

int main(void) {
  cxp_wheel w = {0};
  uint32_t got[16];
  int64_t dues[16];
  const int64_t t0 = 1795417200000LL; /* 2026-11-23T04:20:00Z */
  cxp_wheel_start(&w, t0);
  CHECK_INT(w.sec, t0 / 1000);
  cxp_wheel_start(&w, t0 + 999 * S); /* started already: no move */
  CHECK_INT(w.sec, t0 / 1000);

  /* Dues at +0.5 s (level 0), +300 s (level 1: past 256 s), +1 day (level
   * 2), +300 days (level 3) and one in the past; equal dues by seq. */
  cxp_wheel_add(&w, t0 + 300 * S, 2, 7);
  cxp_wheel_add(&w, t0 + 500, 1, 9);
  cxp_wheel_add(&w, t0 + 86400 * S, 3, 1);
  cxp_wheel_add(&w, t0 + 300LL * 86400 * S, 4, 1);
  cxp_wheel_add(&w, t0 + 300 * S, 5, 3); /* same due as id 2, earlier seq */
  cxp_wheel_add(&w, t0 - 60 * S, 6, 1);
  CHECK_INT(w.total, 6);
  CHECK_INT(cxp_wheel_earliest(&w), t0 - 60 * S);

  /* At t0 only the past one is due; the +0.5 s one waits for its ms. */
  CHECK_INT(serve(&w, t0, got, 16, dues), 1);
  CHECK_INT(got[0], 6);
  CHECK_INT(serve(&w, t0 + 499, got, 16, NULL), 0);
  CHECK_INT(cxp_wheel_earliest(&w), t0 + 500);
  CHECK_INT(serve(&w, t0 + 500, got, 16, NULL), 1);
  CHECK_INT(got[0], 1);
  /* The earliest is never late: the level-1 slot's start at most. */
  CHECK_LE(cxp_wheel_earliest(&w), t0 + 300 * S);
  /* +300 s: ids 5 (seq 3) then 2 (seq 7). */
  CHECK_INT(serve(&w, t0 + 300 * S, got, 16, dues), 2);
  CHECK_INT(got[0], 5);
  CHECK_INT(got[1], 2);
  CHECK_INT(dues[1], t0 + 300 * S);
  /* A day later in one step: id 3 only. */
  CHECK_INT(serve(&w, t0 + 86400 * S + 1, got, 16, NULL), 1);
  CHECK_INT(got[0], 3);
  CHECK_INT(w.total, 1);
  /* A jump past the wheel's span (2^32 s, 136 years) files again: id 4. */
  CHECK_INT(serve(&w, t0 + (1LL << 33) * S, got, 16, NULL), 1);
  CHECK_INT(got[0], 4);
  CHECK_INT(w.total, 0);
  CHECK_INT(cxp_wheel_earliest(&w), INT64_MAX);
  /* The wheel never goes back: a due added before its second is served at
   * the next take. */
  int64_t now = t0 + (1LL << 33) * S;
  cxp_wheel_add(&w, now - 5 * S, 8, 1);
  CHECK_INT(serve(&w, now - 10 * S, got, 16, NULL), 0);
  CHECK_INT(serve(&w, now, got, 16, NULL), 1);
  CHECK_INT(got[0], 8);

  /* Compaction: 2000 entries, the odd ids stale. Nothing happens while
   * the held ones are at most three times the live count. */
  for (uint32_t i = 0; i < 2000; i++) cxp_wheel_add(&w, now + (int64_t)(i + 1) * 60 * S, i, 1);
  cxp_wheel_compact(&w, 1000, odd_is_stale, NULL);
  CHECK_INT(w.total, 2000);
  cxp_wheel_compact(&w, 600, odd_is_stale, NULL); /* 2000 > 3 x 600 */
  CHECK_INT(w.total, 1000);
  int n = serve(&w, now + 3000 * 60 * S, got, 16, NULL);
  CHECK_INT(n, 1000);
  CHECK_INT(got[0], 0);
  CHECK_INT(got[1], 2);
  CHECK_INT(w.total, 0);
  CHECK_GT(w.bytes, 0);
  cxp_wheel_free(&w);

  return TEST_REPORT();
}
