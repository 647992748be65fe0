/* Per-customer state, sharded by input partition.
 *
 * A shard holds the customers whose events arrive on one partition, so that
 * a revoked partition's customers go (or move) as one unit. Customers are
 * allocated once, when first seen, and found through an open-addressing
 * table keyed by a hash of customer_id. Segment names are interned once for
 * the whole state, so a customer holds a 2-byte index instead of the name. */
#ifndef CXP_STATE_H
#define CXP_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "customer.h"
#include "jsonw.h"
#include "slab.h"

typedef struct cxp_shard {
  int32_t partition;
  size_t count, cap; /* customers held; slots (a power of two) */
  cxp_customer **slots;
  uint16_t *tags; /* beside each slot: the top 16 bits of its customer's hash */
  /* Customers changed since their last changelog record (durable state):
   * each once, in the order first changed. */
  cxp_customer **dirty;
  size_t n_dirty, dirty_cap;
  /* Changelog frames of customers evicted since the last flush (their
   * unwritten state, or a tombstone), written before the dirty ones. */
  cxp_buf gone;
  size_t n_gone;
  size_t sweep;  /* the next slot the idle sweep looks at */
  size_t csweep; /* the next slot the silence sweep re-scores */
} cxp_shard;

typedef struct cxp_state {
  cxp_shard **shards; /* indexed by partition; NULL when not held */
  int32_t n_shards;
  size_t customers;   /* over all shards */
  size_t bytes;       /* memory the customers take (cxp_customer_bytes) */
  cxp_slab slab;      /* every shard's customers (slab.h) */
  /* Interned segment names: index 0 is "none". */
  char **segments;
  uint16_t n_segments, seg_cap;
} cxp_state;

void cxp_state_init(cxp_state *s);
void cxp_state_close(cxp_state *s);
/* The shard of a partition, created on first use. */
cxp_shard *cxp_state_shard(cxp_state *s, int32_t partition);
/* Drops a partition's customers (on revoke). */
void cxp_state_drop(cxp_state *s, int32_t partition);

cxp_customer *cxp_shard_find(const cxp_shard *sh, const char *id, size_t len);
/* The hash of a customer id that the shards key him by. */
uint64_t cxp_shard_hash(const char *id, size_t len);
/* Asks the CPU to start loading what cxp_shard_get will touch for the
 * customer of hash h (cxp_shard_hash): the table slot and tag that lead to
 * him, then every line of him, so that processing the message before his
 * hides the memory latency. Never blocks on memory beyond the table slot. */
void cxp_shard_prefetch(const cxp_shard *sh, uint64_t h);
/* The first half of that, for a message further ahead: only the table slot. */
void cxp_shard_prefetch_slot(const cxp_shard *sh, uint64_t h);
cxp_customer *cxp_shard_get(cxp_state *s, cxp_shard *sh, const char *id, size_t len);

/* Moves every customer of src's shard `partition` into dst's shard of the
 * same partition (replacing one dst holds under the same id), their
 * segments interned anew in dst; src's shard is left empty. For state read
 * off the loop (a snapshot) and handed over on it: pointers move, nothing
 * is copied. Returns how many moved. */
size_t cxp_state_adopt(cxp_state *dst, cxp_state *src, int32_t partition);

/* Removes and frees a customer (a changelog tombstone, an eviction).
 * Returns 1 when he was held. */
int cxp_shard_remove(cxp_state *s, cxp_shard *sh, const char *id, size_t len);

/* Puts a changed customer on his shard's dirty list, once. */
void cxp_shard_touch_slow(cxp_shard *sh, cxp_customer *c);
static inline void cxp_shard_touch(cxp_shard *sh, cxp_customer *c) {
  if (!c->dirty) cxp_shard_touch_slow(sh, c);
}

/* The index of a segment name, interned on first sight; 0 when the table is
 * full (65535 names) or the name is empty or over CXP_SEG_MAX bytes. */
uint16_t cxp_state_segment_id(cxp_state *s, const char *name, size_t len);
/* The name of an index; "" for 0. */
const char *cxp_state_segment_name(const cxp_state *s, uint16_t id);

#endif
