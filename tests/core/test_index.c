/* Unit tests of the slot index, the slot pool and the slab on their own
 * (daemon/core/index.c, pool.c, slab.c): every slot filed under a
 * fingerprint comes back, colliding ones included, deletion leaves the
 * others findable, the table grows to stay half empty and a reset sizes it
 * anew; the pool hands out slots that never move and reuses freed ones,
 * newest first; the slab carves zeroed records of their rounded size from
 * 2 MiB chunks, hands a freed one out again to its size only, and passes
 * its chunks and free records on whole. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "index.h"
#include "pool.h"
#include "slab.h"
#include "test.h"

/* How many slots cxp_index_next hands out for fp, and whether `slot` is one. */
static int walk(const cxp_index *t, uint32_t fp, uint32_t slot, int *found) {
  size_t pos = SIZE_MAX;
  uint32_t i;
  int n = 0;
  *found = 0;
  while ((i = cxp_index_next(t, fp, &pos)) != CXP_INDEX_NONE) {
    n++;
    if (i == slot) *found = 1;
  }
  return n;
}

/* A reset after renumbering: sized for the entries to come (2 x want,
 * rounded up to a power of two, 64 at least), empty, usable again. */
static void test_reset(void) {
  cxp_index t;
  int found;
  CHECK_EQ(cxp_index_init(&t), 0);
  for (uint32_t i = 0; i < 1000; i++) cxp_index_put(&t, i * 2654435761u, i);
  CHECK_EQ(t.cap, 2048);
  cxp_index_reset(&t, 100);
  CHECK_EQ(t.cap, 256);
  CHECK_EQ(t.n, 0);
  CHECK_EQ(walk(&t, 5u * 2654435761u, 5, &found), 0);
  cxp_index_put(&t, 77, 5);
  CHECK_EQ(walk(&t, 77, 5, &found), 1);
  CHECK(found);
  cxp_index_reset(&t, 0);
  CHECK_EQ(t.cap, 64);
  CHECK_EQ(t.shift, 64 - 6);
  cxp_index_reset(&t, 32); /* 64 already: cleared in place */
  CHECK_EQ(t.cap, 64);
  CHECK_EQ(walk(&t, 77, 5, &found), 0);
  cxp_index_free(&t);
}

/* A record of 24 bytes whose `link` the pool may use while it is free. */
typedef struct rec {
  uint64_t a;
  uint32_t link;
  uint32_t b;
  uint64_t c;
} rec;

static void test_pool(void) {
  cxp_pool p;
  CHECK_EQ(cxp_pool_init(&p, sizeof(rec), offsetof(rec, link), 2, 10), 0);
  CHECK_EQ(p.max_chunks, 3); /* 10 slots, 4 a chunk */
  rec *at[10];
  for (uint32_t i = 0; i < 10; i++) {
    CHECK_EQ(cxp_pool_get(&p), i);
    at[i] = cxp_pool_at(&p, i);
    at[i]->a = at[i]->c = 1000 + i;
  }
  CHECK_EQ(p.n_chunks, 3);
  CHECK_EQ(cxp_pool_bytes(&p), 3 * sizeof(char *) + 3 * 4 * sizeof(rec));
  /* Slots never move: a later chunk leaves the first ones where they were. */
  CHECK(cxp_pool_at(&p, 1) == at[1]);
  CHECK_EQ(((rec *)cxp_pool_at(&p, 9))->c, 1009);
  /* Freed 2, then 7: 7 comes back first, then 2, then nothing is free. */
  cxp_pool_put(&p, 2);
  cxp_pool_put(&p, 7);
  CHECK_EQ(at[2]->a, 1002); /* only the link is written */
  CHECK_EQ(at[7]->c, 1007);
  CHECK_EQ(cxp_pool_get(&p), 7);
  CHECK_EQ(cxp_pool_get(&p), 2);
  CHECK_EQ(p.free_head, CXP_POOL_NONE);
  CHECK_EQ(p.n_slots, 10);
  cxp_pool_free(&p);
  CHECK(p.chunks == NULL);
}

/* Records of 546 bytes take 560 (rounded to 16): 3,744 to a chunk of
 * 2,097,152 bytes, the 3,745th in a second chunk; a freed one comes back
 * to its own size, zeroed; 566 bytes (576) is another size. */
static void test_slab(void) {
  cxp_slab s;
  cxp_slab_init(&s, 546);
  CHECK_INT(s.min, 560);
  CHECK_INT(cxp_slab_size(546), 560);
  CHECK_INT(cxp_slab_size(561), 576);
  char *r[3745];
  for (int i = 0; i < 3745; i++) {
    r[i] = cxp_slab_alloc(&s, 546);
    memset(r[i], 0xab, 546);
  }
  CHECK_INT(((uintptr_t)r[0]) % CXP_SLAB_CHUNK, 0); /* a chunk is aligned to its size */
  CHECK_INT(r[1] - r[0], 560);
  CHECK_INT(r[3743] - r[0], 3743 * 560);
  CHECK_INT(s.n_chunks, 2);
  CHECK(r[3744] == s.chunks[1]);
  CHECK_INT(cxp_slab_bytes(&s), 2 * 2097152);
  CHECK_INT(s.in_use, 3745 * 560);
  cxp_slab_free(&s, r[7], 546);
  cxp_slab_free(&s, r[9], 550); /* the same size once rounded */
  CHECK_INT(s.in_use, 3743 * 560);
  char *other = cxp_slab_alloc(&s, 566);
  CHECK(other == r[3744] + 560); /* not a freed 560 */
  char *again = cxp_slab_alloc(&s, 546), *again2 = cxp_slab_alloc(&s, 546);
  CHECK(again == r[9]); /* newest first */
  CHECK(again2 == r[7]);
  int zero = 1;
  for (int i = 0; i < 546; i++) zero &= again[i] == 0 && again2[i] == 0;
  CHECK(zero);
  CHECK(cxp_slab_alloc(&s, 546) == other + 576);

  /* Taken whole: dst gets src's chunks and free records (src's first). */
  cxp_slab d;
  cxp_slab_init(&d, 546);
  char *d0 = cxp_slab_alloc(&d, 546);
  cxp_slab_free(&d, d0, 546);
  cxp_slab_free(&s, r[100], 546);
  size_t used = s.in_use;
  cxp_slab_take(&d, &s);
  CHECK_INT(d.n_chunks, 3);
  CHECK_INT(s.n_chunks, 0);
  CHECK(s.chunks == NULL);
  CHECK_INT(d.in_use, used);
  CHECK_INT(s.in_use, 0);
  CHECK(cxp_slab_alloc(&d, 546) == r[100]);
  CHECK(cxp_slab_alloc(&d, 546) == d0);
  /* d's own chunk had more room left than s's second: new records go there. */
  CHECK(cxp_slab_alloc(&d, 546) == d0 + 560);
  cxp_slab_close(&s);
  cxp_slab_close(&d);
  CHECK_INT(d.n_chunks, 0);
  CHECK_INT(d.min, 560);
}

int main(void) {
  test_reset();
  test_slab();
  test_pool();
  cxp_index t;
  int found;
  CHECK_INT(cxp_index_init(&t), 0);
  CHECK_INT(t.cap, 64);
  CHECK_INT(walk(&t, 7, 0, &found), 0);
  /* 3000 slots: slot i under fingerprint i * 2654435761 mod 2^32, and
   * slots 0..9 all under fingerprint 42 (a collision run). */
  for (uint32_t i = 10; i < 3000; i++) cxp_index_put(&t, i * 2654435761u, i);
  for (uint32_t i = 0; i < 10; i++) cxp_index_put(&t, 42, i);
  CHECK_INT(t.n, 3000);
  /* At most half full: 3000 entries need 8192 slots. */
  CHECK_INT(t.cap, 8192);
  CHECK_INT(cxp_index_bytes(&t), 8192 * 8);
  CHECK_INT(walk(&t, 42, 9, &found), 10);
  CHECK(found);
  CHECK_INT(walk(&t, 1234u * 2654435761u, 1234, &found), 1);
  CHECK(found);
  /* Delete every other slot; the rest stay findable. */
  for (uint32_t i = 10; i < 3000; i += 2) cxp_index_del(&t, i * 2654435761u, i);
  cxp_index_del(&t, 42, 3);
  cxp_index_del(&t, 42, 3);       /* gone already: nothing */
  cxp_index_del(&t, 99, 77777);   /* never there: nothing */
  CHECK_INT(t.n, 3000 - 1495 - 1);
  int missing = 0, stale = 0;
  for (uint32_t i = 10; i < 3000; i++) {
    walk(&t, i * 2654435761u, i, &found);
    if (i % 2 && !found) missing++;
    if (i % 2 == 0 && found) stale++;
  }
  CHECK_INT(missing, 0);
  CHECK_INT(stale, 0);
  CHECK_INT(walk(&t, 42, 3, &found), 9);
  CHECK(!found);
  CHECK_INT(cxp_index_fp(0xabcdef0112345678ULL), 0xabcdef01u);
  cxp_index_free(&t);
  CHECK_INT(t.n, 0);
  return TEST_REPORT();
}
