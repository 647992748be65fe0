/* The slot pool (pool.h). */
#include "pool.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

int cxp_pool_init(cxp_pool *p, size_t stride, size_t link, uint32_t shift, uint32_t max_slots) {
  memset(p, 0, sizeof *p);
  p->stride = stride;
  p->link = link;
  p->shift = shift;
  p->max_chunks = (uint32_t)(((uint64_t)max_slots + (1u << shift) - 1) >> shift);
  p->free_head = CXP_POOL_NONE;
  p->chunks = calloc(p->max_chunks ? p->max_chunks : 1, sizeof *p->chunks);
  return p->chunks ? 0 : -1;
}

void cxp_pool_free(cxp_pool *p) {
  if (p->chunks)
    for (uint32_t i = 0; i < p->n_chunks; i++) free(p->chunks[i]);
  free(p->chunks);
  p->chunks = NULL;
  p->n_chunks = p->n_slots = 0;
  p->free_head = CXP_POOL_NONE;
}

uint32_t cxp_pool_get(cxp_pool *p) {
  if (p->free_head != CXP_POOL_NONE) {
    uint32_t i = p->free_head;
    memcpy(&p->free_head, (char *)cxp_pool_at(p, i) + p->link, sizeof p->free_head);
    return i;
  }
  uint32_t i = p->n_slots++;
  if ((i >> p->shift) == p->n_chunks)
    p->chunks[p->n_chunks++] = cxp_xmalloc(((size_t)1 << p->shift) * p->stride);
  return i;
}

void cxp_pool_put(cxp_pool *p, uint32_t i) {
  memcpy((char *)cxp_pool_at(p, i) + p->link, &p->free_head, sizeof p->free_head);
  p->free_head = i;
}

size_t cxp_pool_bytes(const cxp_pool *p) {
  return (size_t)p->max_chunks * sizeof *p->chunks +
         (size_t)p->n_chunks * ((size_t)1 << p->shift) * p->stride;
}
