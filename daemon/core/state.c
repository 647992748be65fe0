#include "state.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "xalloc.h"

#define HASH_SEED 0x63787075ULL

/* The tag kept beside a slot: the hash's top 16 bits (its low bits pick the
 * slot), so that a probe passes over other customers without loading them. */
static inline uint16_t tag_of(uint64_t h) { return (uint16_t)(h >> 48); }

static inline void put(cxp_shard *sh, size_t i, cxp_customer *c) {
  sh->slots[i] = c;
  sh->tags[i] = c ? tag_of(c->hash) : 0;
}

void cxp_state_init(cxp_state *s) {
  memset(s, 0, sizeof *s);
  cxp_slab_init(&s->slab, cxp_customer_size(0));
}

static void free_customer(cxp_state *s, cxp_customer *c) {
  cxp_slab_free(&s->slab, c, cxp_customer_size(c->id_len));
}

/* With s NULL the customers are left to the slab's close. */
static void shard_destroy(cxp_state *s, cxp_shard *sh) {
  if (sh == NULL) return;
  for (size_t i = 0; s && i < sh->cap; i++)
    if (sh->slots[i]) free_customer(s, sh->slots[i]);
  free(sh->slots);
  free(sh->tags);
  free(sh->dirty);
  cxp_buf_free(&sh->gone);
  free(sh);
}

void cxp_state_close(cxp_state *s) {
  for (int32_t i = 0; i < s->n_shards; i++) shard_destroy(NULL, s->shards[i]);
  free(s->shards);
  cxp_slab_close(&s->slab);
  for (uint16_t i = 1; i < s->n_segments; i++) free(s->segments[i]);
  free(s->segments);
  cxp_state_init(s);
}

cxp_shard *cxp_state_shard(cxp_state *s, int32_t partition) {
  if (partition < 0) return NULL;
  if (partition >= s->n_shards) {
    int32_t n = s->n_shards ? s->n_shards : 8;
    while (n <= partition) n *= 2;
    cxp_shard **ns = cxp_xrealloc(s->shards, sizeof *ns * (size_t)n);
    memset(ns + s->n_shards, 0, sizeof *ns * (size_t)(n - s->n_shards));
    s->shards = ns;
    s->n_shards = n;
  }
  if (s->shards[partition] == NULL) {
    cxp_shard *sh = cxp_xcalloc(1, sizeof *sh);
    sh->partition = partition;
    sh->cap = 1024;
    sh->slots = cxp_xcalloc(sh->cap, sizeof *sh->slots);
    sh->tags = cxp_xcalloc(sh->cap, sizeof *sh->tags);
    s->shards[partition] = sh;
  }
  return s->shards[partition];
}

void cxp_state_drop(cxp_state *s, int32_t partition) {
  if (partition < 0 || partition >= s->n_shards || s->shards[partition] == NULL) return;
  cxp_shard *sh = s->shards[partition];
  for (size_t i = 0; i < sh->cap; i++)
    if (sh->slots[i]) s->bytes -= cxp_customer_bytes(sh->slots[i]);
  s->customers -= sh->count;
  shard_destroy(s, sh);
  s->shards[partition] = NULL;
}

/* Where customer id (hash h) is in sh, or the empty slot ending his run:
 * the tags let the probe pass other customers without loading them. */
static inline size_t probe(const cxp_shard *sh, uint64_t h, const char *id, size_t len) {
  size_t mask = sh->cap - 1, i;
  uint16_t tag = tag_of(h);
  for (i = h & mask; sh->slots[i] != NULL; i = (i + 1) & mask) {
    const cxp_customer *c = sh->slots[i];
    if (sh->tags[i] == tag && c->hash == h && c->id_len == len &&
        memcmp(c->id, id, len) == 0)
      break;
  }
  return i;
}

uint64_t cxp_shard_hash(const char *id, size_t len) { return cxp_hash64(id, len, HASH_SEED); }

cxp_customer *cxp_shard_find(const cxp_shard *sh, const char *id, size_t len) {
  return sh->slots[probe(sh, cxp_shard_hash(id, len), id, len)];
}

static void grow(cxp_shard *sh) {
  size_t ncap = sh->cap * 2, mask = ncap - 1;
  cxp_customer **ns = cxp_xcalloc(ncap, sizeof *ns);
  uint16_t *nt = cxp_xcalloc(ncap, sizeof *nt);
  for (size_t i = 0; i < sh->cap; i++) {
    cxp_customer *c = sh->slots[i];
    if (c == NULL) continue;
    size_t j = c->hash & mask;
    while (ns[j] != NULL) j = (j + 1) & mask;
    ns[j] = c;
    nt[j] = sh->tags[i];
  }
  free(sh->slots);
  free(sh->tags);
  sh->slots = ns;
  sh->tags = nt;
  sh->cap = ncap;
}

void cxp_shard_prefetch_slot(const cxp_shard *sh, uint64_t h) {
  if (sh == NULL || sh->cap == 0) return;
  __builtin_prefetch(&sh->slots[h & (sh->cap - 1)], 0);
  __builtin_prefetch(&sh->tags[h & (sh->cap - 1)], 0);
}

void cxp_shard_prefetch(const cxp_shard *sh, uint64_t h) {
  if (sh == NULL || sh->cap == 0) return;
  size_t mask = sh->cap - 1, i;
  uint16_t tag = tag_of(h);
  /* The first slot of his run with his tag: him, as a rule. */
  for (i = h & mask; sh->slots[i] != NULL && sh->tags[i] != tag; i = (i + 1) & mask) {
  }
  const cxp_customer *c = sh->slots[i];
  if (c == NULL) return;
  /* Every line of him: an event reads his sums, cooldowns, dedup ring and
   * id (short, as a rule: the first 16 bytes), spread over all of them. */
  for (size_t off = 0; off < sizeof *c + 16; off += 64)
    __builtin_prefetch((const char *)c + off, 1);
}

cxp_customer *cxp_shard_get(cxp_state *s, cxp_shard *sh, const char *id, size_t len) {
  uint64_t h = cxp_shard_hash(id, len);
  size_t i = probe(sh, h, id, len);
  if (sh->slots[i]) return sh->slots[i];
  if (len > CXP_ID_MAX) return NULL;
  cxp_customer *c = cxp_slab_alloc(&s->slab, cxp_customer_size(len));
  cxp_customer_init(c, id, len, h);
  put(sh, i, c);
  sh->count++;
  s->customers++;
  s->bytes += cxp_customer_bytes(c);
  /* Keep the load under 1/2 so probes stay short. */
  if (sh->count * 2 > sh->cap) grow(sh);
  return c;
}

void cxp_shard_touch_slow(cxp_shard *sh, cxp_customer *c) {
  if (sh->n_dirty == sh->dirty_cap) {
    size_t n = sh->dirty_cap ? sh->dirty_cap * 2 : 256;
    cxp_customer **nd = cxp_xrealloc(sh->dirty, sizeof *nd * n);
    sh->dirty = nd;
    sh->dirty_cap = n;
  }
  sh->dirty[sh->n_dirty++] = c;
  c->dirty = (uint32_t)sh->n_dirty;
}

int cxp_shard_remove(cxp_state *s, cxp_shard *sh, const char *id, size_t len) {
  size_t mask = sh->cap - 1, i = probe(sh, cxp_shard_hash(id, len), id, len);
  cxp_customer *c = sh->slots[i];
  if (c == NULL) return 0;
  if (c->dirty) { /* the last on the list takes his place */
    cxp_customer *last = sh->dirty[--sh->n_dirty];
    sh->dirty[c->dirty - 1] = last;
    last->dirty = c->dirty;
  }
  /* Linear probing: close the gap by moving back every later entry of the
   * run whose home slot is not between the gap and itself. */
  put(sh, i, NULL);
  for (size_t j = (i + 1) & mask; sh->slots[j] != NULL; j = (j + 1) & mask) {
    size_t home = sh->slots[j]->hash & mask;
    int between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (between) continue;
    put(sh, i, sh->slots[j]);
    put(sh, j, NULL);
    i = j;
  }
  sh->count--;
  s->customers--;
  s->bytes -= cxp_customer_bytes(c);
  free_customer(s, c);
  return 1;
}

size_t cxp_state_adopt(cxp_state *dst, cxp_state *src, int32_t partition) {
  if (partition < 0 || partition >= src->n_shards || src->shards[partition] == NULL) return 0;
  cxp_shard *from = src->shards[partition], *to = cxp_state_shard(dst, partition);
  size_t moved = 0;
  /* src holding this partition alone (a restore's state), its slab goes to
   * dst whole, the records where they are; else each record is copied. */
  int whole = src->customers == from->count;
  for (size_t i = 0; i < from->cap; i++) {
    cxp_customer *c = from->slots[i];
    if (c == NULL) continue;
    put(from, i, NULL);
    if (!whole) {
      size_t size = cxp_customer_size(c->id_len);
      cxp_customer *copy = cxp_slab_alloc(&dst->slab, size);
      memcpy(copy, c, size);
      free_customer(src, c);
      c = copy;
    }
    const char *seg = cxp_state_segment_name(src, c->segment);
    c->segment = cxp_state_segment_id(dst, seg, strlen(seg));
    c->dirty = 0;
    src->bytes -= cxp_customer_bytes(c);
    cxp_shard_remove(dst, to, c->id, c->id_len);
    size_t mask = to->cap - 1, j;
    for (j = c->hash & mask; to->slots[j] != NULL; j = (j + 1) & mask) {
    }
    put(to, j, c);
    to->count++;
    dst->customers++;
    dst->bytes += cxp_customer_bytes(c);
    if (to->count * 2 > to->cap) grow(to);
    moved++;
  }
  src->customers -= from->count;
  for (size_t i = 0; i < from->n_dirty; i++) from->dirty[i] = NULL;
  from->n_dirty = 0;
  from->count = 0;
  if (whole) cxp_slab_take(&dst->slab, &src->slab);
  return moved;
}

uint16_t cxp_state_segment_id(cxp_state *s, const char *name, size_t len) {
  if (len == 0 || len > CXP_SEG_MAX) return 0;
  /* Segments are few (tiers, regions): a linear scan beats a table, and the
   * caller only asks when a customer's segment changes. */
  for (uint16_t i = 1; i < s->n_segments; i++)
    if (strncmp(s->segments[i], name, len) == 0 && s->segments[i][len] == '\0') return i;
  if (s->n_segments == UINT16_MAX) return 0;
  if (s->n_segments + 1 > s->seg_cap) {
    uint16_t ncap = s->seg_cap ? (uint16_t)(s->seg_cap > 32767 ? UINT16_MAX : s->seg_cap * 2) : 16;
    char **ns = cxp_xrealloc(s->segments, sizeof *ns * ncap);
    s->segments = ns;
    s->seg_cap = ncap;
  }
  if (s->n_segments == 0) s->segments[s->n_segments++] = NULL;
  char *copy = cxp_xmalloc(len + 1);
  memcpy(copy, name, len);
  copy[len] = '\0';
  s->segments[s->n_segments] = copy;
  return s->n_segments++;
}

const char *cxp_state_segment_name(const cxp_state *s, uint16_t id) {
  return id && id < s->n_segments ? s->segments[id] : "";
}
