/* Unit tests of the slot index on its own (daemon/core/index.c): every slot
 * filed under a fingerprint comes back, colliding ones included, deletion
 * leaves the others findable, and the table grows to stay half empty. */
#include <stdint.h>
#include <stdlib.h>

#include "index.h"
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

int main(void) {
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
