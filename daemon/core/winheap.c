/* The open windows of a partition by end (then opening order): a binary
 * heap of slot numbers, each slot knowing its position (window_int.h), so
 * that a window closed out of turn (the memory bound, a restore) leaves it
 * in O(log n). */
#include <stdlib.h>

#include "window_int.h"
#include "xalloc.h"

static inline int heap_less(const cxp_windows *w, uint32_t a, uint32_t b) {
  const wslot *x = slot_at(w, a), *y = slot_at(w, b);
  return x->end < y->end || (x->end == y->end && x->seq < y->seq);
}

static inline void heap_set(cxp_windows *w, uint32_t pos, uint32_t idx) {
  w->heap[pos] = idx;
  slot_at(w, idx)->heap_pos = pos;
}

void win_heap_push(cxp_windows *w, uint32_t idx) {
  if (w->heap_n == w->heap_cap) {
    /* Grows only while warming up: never past max_open entries. */
    uint32_t ncap = w->heap_cap * 2;
    if (ncap > w->conf.max_open) ncap = w->conf.max_open;
    uint32_t *nh = cxp_xrealloc(w->heap, (size_t)ncap * sizeof *nh);
    w->heap = nh;
    w->heap_cap = ncap;
  }
  uint32_t i = w->heap_n++;
  while (i > 0) {
    uint32_t parent = (i - 1) / 2;
    if (!heap_less(w, idx, w->heap[parent])) break;
    heap_set(w, i, w->heap[parent]);
    i = parent;
  }
  heap_set(w, i, idx);
}

/* Takes the slot at heap position pos out of the heap. */
void win_heap_remove(cxp_windows *w, uint32_t pos) {
  uint32_t last = w->heap[--w->heap_n];
  if (pos == w->heap_n) return;
  uint32_t i = pos;
  while (i > 0 && heap_less(w, last, w->heap[(i - 1) / 2])) {
    heap_set(w, i, w->heap[(i - 1) / 2]);
    i = (i - 1) / 2;
  }
  for (;;) {
    uint32_t c = 2 * i + 1;
    if (c >= w->heap_n) break;
    if (c + 1 < w->heap_n && heap_less(w, w->heap[c + 1], w->heap[c])) c++;
    if (!heap_less(w, w->heap[c], last)) break;
    heap_set(w, i, w->heap[c]);
    i = c;
  }
  heap_set(w, i, last);
}
