/* A slot pool: fixed-size records in chunks that never move, so a slot
 * number (what an index, a heap or a timer holds) stays valid for the
 * slot's whole life, and a record is found from its number with one shift,
 * one mask and one multiply. Freed slots are reused, newest first; the pool
 * keeps the free list inside the free slots, at an offset the owner names
 * (a field the owner does not read in a free slot). */
#ifndef CXP_POOL_H
#define CXP_POOL_H

#include <stddef.h>
#include <stdint.h>

#define CXP_POOL_NONE UINT32_MAX

typedef struct cxp_pool {
  char **chunks;
  size_t stride;      /* bytes per slot */
  size_t link;        /* offset of the free list's link (a uint32_t) in a slot */
  uint32_t shift;     /* log2 of the slots per chunk */
  uint32_t n_chunks, max_chunks;
  uint32_t n_slots;   /* slots handed out from chunks so far (free ones included) */
  uint32_t free_head; /* CXP_POOL_NONE: none free */
} cxp_pool;

/* Room for max_slots slots of `stride` bytes, 2^shift per chunk; chunks are
 * allocated as the slots are first handed out. 0, or -1 out of memory. */
int cxp_pool_init(cxp_pool *p, size_t stride, size_t link, uint32_t shift, uint32_t max_slots);
/* Frees the chunks (the owner frees what its slots point to first). */
void cxp_pool_free(cxp_pool *p);

static inline void *cxp_pool_at(const cxp_pool *p, uint32_t i) {
  return p->chunks[i >> p->shift] + (size_t)(i & ((1u << p->shift) - 1)) * p->stride;
}

/* A slot: a freed one, else the next never used. The owner keeps fewer than
 * max_slots in use (it makes room first); its bytes are the owner's to set. */
uint32_t cxp_pool_get(cxp_pool *p);
/* Slot i is free again. */
void cxp_pool_put(cxp_pool *p, uint32_t i);
/* Bytes held: the chunk table and the chunks. */
size_t cxp_pool_bytes(const cxp_pool *p);

#endif
