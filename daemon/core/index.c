/* The slot index (index.h). */
#include "index.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

#define IT_IDX(e) ((uint32_t)(e)-1)
#define IT_FP(e) ((uint32_t)((e) >> 32))

int cxp_index_init(cxp_index *t) {
  t->cap = 64;
  t->shift = 64 - 6;
  t->n = 0;
  t->e = calloc(t->cap, sizeof *t->e);
  return t->e ? 0 : -1;
}

static void grow(cxp_index *t) {
  size_t ncap = t->cap * 2, mask = ncap - 1;
  uint64_t *ne = cxp_xcalloc(ncap, sizeof *ne);
  t->shift--;
  for (size_t i = 0; i < t->cap; i++) {
    uint64_t e = t->e[i];
    if (e == 0) continue;
    size_t j = cxp_index_home(t, IT_FP(e));
    while (ne[j] != 0) j = (j + 1) & mask;
    ne[j] = e;
  }
  free(t->e);
  t->e = ne;
  t->cap = ncap;
}

void cxp_index_put(cxp_index *t, uint32_t fp, uint32_t idx) {
  if ((size_t)(t->n + 1) * 2 > t->cap) grow(t);
  size_t mask = t->cap - 1, i = cxp_index_home(t, fp);
  while (t->e[i] != 0) i = (i + 1) & mask;
  t->e[i] = ((uint64_t)fp << 32) | ((uint64_t)idx + 1);
  t->n++;
}

void cxp_index_del(cxp_index *t, uint32_t fp, uint32_t idx) {
  size_t mask = t->cap - 1, i = cxp_index_home(t, fp);
  while (t->e[i] != 0 && IT_IDX(t->e[i]) != idx) i = (i + 1) & mask;
  if (t->e[i] == 0) return;
  /* Backward-shift deletion: move back every entry of the run after the
   * hole whose home does not lie cyclically in (hole, j]. */
  for (size_t j = (i + 1) & mask; t->e[j] != 0; j = (j + 1) & mask) {
    size_t home = cxp_index_home(t, IT_FP(t->e[j]));
    if (((j - home) & mask) >= ((j - i) & mask)) {
      t->e[i] = t->e[j];
      i = j;
    }
  }
  t->e[i] = 0;
  t->n--;
}

void cxp_index_reset(cxp_index *t, uint32_t want) {
  size_t cap = 64;
  int shift = 64 - 6;
  while (cap < (size_t)want * 2) {
    cap *= 2;
    shift--;
  }
  if (cap != t->cap) {
    free(t->e);
    t->e = cxp_xcalloc(cap, sizeof *t->e);
    t->cap = cap;
    t->shift = shift;
  } else {
    memset(t->e, 0, cap * sizeof *t->e);
  }
  t->n = 0;
}

void cxp_index_free(cxp_index *t) {
  free(t->e);
  t->e = NULL;
  t->cap = 0;
  t->n = 0;
}
