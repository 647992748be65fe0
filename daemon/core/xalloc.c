/* Allocations that fail the process (xalloc.h). */
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>

static void out_of_memory(size_t n, const char *where) {
  fprintf(stderr, "cxpulse: out of memory: %zu bytes at %s; stopping\n", n, where);
  abort();
}

/* Never inlined: a size the caller computes may be out of range on a path
 * the compiler cannot rule out (n + 1 of a size_t), and inlined at link
 * time that reads as a call of malloc with SIZE_MAX (-Walloc-size-larger-
 * than). The call costs nothing beside malloc's own. */
__attribute__((noinline)) void *cxp_xmalloc_at(size_t n, const char *where) {
  void *p = malloc(n ? n : 1);
  if (p == NULL) out_of_memory(n, where);
  return p;
}

__attribute__((noinline)) void *cxp_xcalloc_at(size_t n, size_t size, const char *where) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (p == NULL) out_of_memory(n * size, where);
  return p;
}

__attribute__((noinline)) void *cxp_xrealloc_at(void *p, size_t n, const char *where) {
  void *q = realloc(p, n ? n : 1);
  if (q == NULL) out_of_memory(n, where);
  return q;
}

void *cxp_xgrow_at(void *p, uint32_t *cap, size_t elem, uint32_t first, uint32_t max,
                   const char *where) {
  uint32_t ncap = *cap ? (*cap > UINT32_MAX / 2 ? UINT32_MAX : *cap * 2) : first;
  if (ncap > max) ncap = max;
  p = cxp_xrealloc_at(p, (size_t)ncap * elem, where);
  *cap = ncap;
  return p;
}
