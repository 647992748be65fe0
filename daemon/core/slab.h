/* Records of a few sizes carved from chunks of 2 MiB that the kernel is
 * asked to back with transparent huge pages (MADV_HUGEPAGE). The customers
 * live here: an event reads one of them at random among hundreds of
 * thousands, and on 4 KiB pages every such read is a TLB miss and the first
 * touch of every page a fault; on a huge page it is one entry and one fault
 * per 2 MiB, whatever the allocator does with the rest of the heap. Where
 * the kernel has no huge page to give, the chunk is ordinary memory.
 *
 * Sizes are rounded up to 16 bytes; a freed record goes on the free list
 * of its rounded size and is handed out again before the chunk's untouched
 * rest. Records never move. The chunks are returned when the slab is
 * closed, not before: memory a revoked partition's customers held serves
 * the next ones. */
#ifndef CXP_SLAB_H
#define CXP_SLAB_H

#include <stddef.h>
#include <stdint.h>

#define CXP_SLAB_CHUNK ((size_t)2 << 20)
#define CXP_SLAB_GRAIN 16
#define CXP_SLAB_CLASSES 16

typedef struct cxp_slab {
  char **chunks;
  uint32_t n_chunks, cap_chunks;
  char *bump, *end; /* the newest chunk's untouched rest */
  size_t min;       /* the smallest record's size, rounded */
  void *free_list[CXP_SLAB_CLASSES];
  size_t in_use; /* bytes of the records handed out and not freed */
} cxp_slab;

/* Records of min bytes to min + CXP_SLAB_GRAIN * CXP_SLAB_CLASSES - 1. */
void cxp_slab_init(cxp_slab *s, size_t min);
/* Frees every chunk: every record of the slab with them. */
void cxp_slab_close(cxp_slab *s);

/* The bytes a record of n bytes takes. */
static inline size_t cxp_slab_size(size_t n) {
  return (n + CXP_SLAB_GRAIN - 1) & ~(size_t)(CXP_SLAB_GRAIN - 1);
}

/* A zeroed record of n bytes (within the slab's sizes), 16-byte aligned.
 * Never NULL: out of memory stops the process (xalloc.h). */
void *cxp_slab_alloc(cxp_slab *s, size_t n);
/* Record p, of n bytes, is free again. */
void cxp_slab_free(cxp_slab *s, void *p, size_t n);

/* dst takes src's chunks and free records, src is left empty: for a
 * state built aside (a restore) whose every record now belongs to dst.
 * Both slabs hold records of the same sizes. */
void cxp_slab_take(cxp_slab *dst, cxp_slab *src);

/* Where new chunks come from. By default the slab allocates one itself
 * when it needs it, and the first touch of its pages (a fault, and the
 * kernel zeroing 2 MiB) falls on the thread that allocates a record: the
 * daemon's loop. A source set here (the daemon's prefault thread,
 * daemon/shell/prefault.c) hands over chunks faulted in beforehand, or
 * NULL when it has none ready, and the slab allocates one itself as
 * before. A chunk it hands over is the slab's, freed with free(). Process
 * wide; may be set while slabs are in use on other threads. */
typedef void *(*cxp_slab_source_fn)(void);
void cxp_slab_set_source(cxp_slab_source_fn fn);

/* A new chunk (CXP_SLAB_CHUNK bytes, aligned to its size, huge pages
 * asked for), not touched; NULL when out of memory. What a source hands
 * over is one of these. */
void *cxp_slab_chunk_new(void);

/* Bytes the chunks take. */
static inline size_t cxp_slab_bytes(const cxp_slab *s) {
  return (size_t)s->n_chunks * CXP_SLAB_CHUNK;
}

#endif
