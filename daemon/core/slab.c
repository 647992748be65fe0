/* Records in chunks on huge pages where the kernel has them (slab.h). */
#include "slab.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "xalloc.h"

void cxp_slab_init(cxp_slab *s, size_t min) {
  memset(s, 0, sizeof *s);
  s->min = cxp_slab_size(min);
}

void cxp_slab_close(cxp_slab *s) {
  for (uint32_t i = 0; i < s->n_chunks; i++) free(s->chunks[i]);
  free(s->chunks);
  size_t min = s->min;
  cxp_slab_init(s, min);
}

static size_t class_of(const cxp_slab *s, size_t n) {
  size_t size = cxp_slab_size(n), c = (size - s->min) / CXP_SLAB_GRAIN;
  if (size < s->min || c >= CXP_SLAB_CLASSES) {
    /* A caller's bug, not data: the sizes are the caller's own. */
    fprintf(stderr, "cxpulse: a record of %zu bytes in a slab of %zu to %zu\n", n, s->min,
            s->min + CXP_SLAB_GRAIN * CXP_SLAB_CLASSES - 1);
    abort();
  }
  return c;
}

static _Atomic(cxp_slab_source_fn) source;

void cxp_slab_set_source(cxp_slab_source_fn fn) {
  atomic_store_explicit(&source, fn, memory_order_release);
}

void *cxp_slab_chunk_new(void) {
  void *p = NULL;
  if (posix_memalign(&p, CXP_SLAB_CHUNK, CXP_SLAB_CHUNK) != 0) return NULL;
#ifdef MADV_HUGEPAGE
  /* Advice only: refused (no transparent huge pages), the chunk is the
   * same memory on small pages. */
  (void)madvise(p, CXP_SLAB_CHUNK, MADV_HUGEPAGE);
#endif
  return p;
}

static void new_chunk(cxp_slab *s) {
  cxp_slab_source_fn fn = atomic_load_explicit(&source, memory_order_acquire);
  void *p = fn ? fn() : NULL;
  if (p == NULL) p = cxp_slab_chunk_new();
  if (p == NULL) {
    fprintf(stderr, "cxpulse: out of memory: a slab chunk of %zu bytes; stopping\n",
            CXP_SLAB_CHUNK);
    abort();
  }
  if (s->n_chunks == s->cap_chunks)
    s->chunks = cxp_xgrow(s->chunks, &s->cap_chunks, 8, UINT32_MAX);
  s->chunks[s->n_chunks++] = p;
  s->bump = p;
  s->end = (char *)p + CXP_SLAB_CHUNK;
}

void *cxp_slab_alloc(cxp_slab *s, size_t n) {
  size_t c = class_of(s, n), size = cxp_slab_size(n);
  void *p = s->free_list[c];
  if (p != NULL) {
    memcpy(&s->free_list[c], p, sizeof(void *));
  } else {
    if (s->bump == NULL || (size_t)(s->end - s->bump) < size) new_chunk(s);
    p = s->bump;
    s->bump += size;
  }
  memset(p, 0, size);
  s->in_use += size;
  return p;
}

void cxp_slab_free(cxp_slab *s, void *p, size_t n) {
  if (p == NULL) return;
  size_t c = class_of(s, n);
  memcpy(p, &s->free_list[c], sizeof(void *));
  s->free_list[c] = p;
  s->in_use -= cxp_slab_size(n);
}

void cxp_slab_take(cxp_slab *dst, cxp_slab *src) {
  for (uint32_t i = 0; i < src->n_chunks; i++) {
    if (dst->n_chunks == dst->cap_chunks)
      dst->chunks = cxp_xgrow(dst->chunks, &dst->cap_chunks, 8, UINT32_MAX);
    dst->chunks[dst->n_chunks++] = src->chunks[i];
  }
  for (size_t c = 0; c < CXP_SLAB_CLASSES; c++) {
    void *head = src->free_list[c];
    if (head == NULL) continue;
    /* src's list, then dst's: its tail is found by a walk (a restore frees
     * few records). */
    void *tail = head, *next;
    for (;;) {
      memcpy(&next, tail, sizeof next);
      if (next == NULL) break;
      tail = next;
    }
    memcpy(tail, &dst->free_list[c], sizeof(void *));
    dst->free_list[c] = head;
  }
  /* The larger untouched rest is kept for new records; the other stays
   * unused in its chunk (at most one chunk's worth). */
  if (dst->bump == NULL || (src->bump && src->end - src->bump > dst->end - dst->bump)) {
    dst->bump = src->bump;
    dst->end = src->end;
  }
  dst->in_use += src->in_use;
  free(src->chunks);
  size_t min = src->min;
  cxp_slab_init(src, min);
}
