/* A bump allocator reset once per batch: the decoder's cJSON trees live here,
 * so decoding an event touches no malloc once the arena has warmed up. */
#ifndef CXP_ARENA_H
#define CXP_ARENA_H

#include <stddef.h>

typedef struct cxp_arena_chunk cxp_arena_chunk;

typedef struct cxp_arena {
  cxp_arena_chunk *head; /* chunk being filled; older chunks behind it */
  size_t chunk_size;
  size_t high_water; /* total bytes handed out since the last reset, max */
  size_t used;
} cxp_arena;

void cxp_arena_init(cxp_arena *a, size_t chunk_size);
void cxp_arena_close(cxp_arena *a);
void *cxp_arena_alloc(cxp_arena *a, size_t n);
/* Forgets every allocation; keeps one chunk, grown to the largest total seen,
 * so that a steady workload allocates nothing after warm-up. */
void cxp_arena_reset(cxp_arena *a);

/* Routes cJSON's allocations to `a` until called with NULL. cJSON's hooks are
 * process-wide; the current arena is per thread, and a thread with none uses
 * malloc and free. */
void cxp_arena_json_begin(cxp_arena *a);
void cxp_arena_json_end(void);
void cxp_arena_json_install(void);

#endif
