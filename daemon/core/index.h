/* An open-addressing index of slot numbers: the owner keeps its records in
 * slots that never move (a pool of chunks), the index maps a key's 32-bit
 * fingerprint to the slots whose key has it. Linear probing, at most half
 * full. An entry is the slot number + 1 (0: empty) in the low half and the
 * fingerprint in the high half; the home is taken from the fingerprint, so
 * the index never reads a slot to move its entries, and a probe passes
 * other keys without touching their slots. The owner compares the keys of
 * the slots cxp_index_next hands it (fingerprints collide). Deletion shifts
 * entries back: no tombstones. */
#ifndef CXP_INDEX_H
#define CXP_INDEX_H

#include <stddef.h>
#include <stdint.h>

#define CXP_INDEX_NONE UINT32_MAX /* cxp_index_next: no more */

typedef struct cxp_index {
  uint64_t *e;
  size_t cap;
  int shift;
  uint32_t n;
} cxp_index;

/* The fingerprint of a 64-bit key hash: its high half. */
static inline uint32_t cxp_index_fp(uint64_t h) { return (uint32_t)(h >> 32); }

/* An entry's home: Fibonacci hashing of the fingerprint. */
static inline size_t cxp_index_home(const cxp_index *t, uint32_t fp) {
  return (size_t)(((uint64_t)fp * 0x9e3779b97f4a7c15ULL) >> t->shift);
}

/* 0, or -1 when out of memory. */
int cxp_index_init(cxp_index *t);
void cxp_index_free(cxp_index *t);
void cxp_index_put(cxp_index *t, uint32_t fp, uint32_t slot);
/* Removes the entry of `slot` (filed under fp); absent: nothing. */
void cxp_index_del(cxp_index *t, uint32_t fp, uint32_t slot);
/* The slots filed under fp, one per call: *pos starts at SIZE_MAX; returns
 * CXP_INDEX_NONE after the last. Inline: the windows' lookups run it four
 * times an event. */
static inline uint32_t cxp_index_next(const cxp_index *t, uint32_t fp, size_t *pos) {
  size_t mask = t->cap - 1;
  size_t i = *pos == SIZE_MAX ? cxp_index_home(t, fp) : ((*pos + 1) & mask);
  for (; t->e[i] != 0; i = (i + 1) & mask)
    if ((uint32_t)(t->e[i] >> 32) == fp) {
      *pos = i;
      return (uint32_t)t->e[i] - 1;
    }
  return CXP_INDEX_NONE;
}
/* Empties the index and sizes it for `want` entries (a table rebuilt after
 * its owner renumbered its slots): smaller when it had grown for more. */
void cxp_index_reset(cxp_index *t, uint32_t want);
static inline size_t cxp_index_bytes(const cxp_index *t) { return t->cap * sizeof *t->e; }

#endif
