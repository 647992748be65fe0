/* Unit tests of the prefault thread (daemon/shell/prefault.c) and the slab
 * taking its chunks (core/slab.c, cxp_slab_set_source): the thread keeps
 * CXP_PREFAULT_AHEAD chunks ready, a slab's new chunk is one of them (its
 * address among those the thread made, its records zeroed), the thread
 * runs while a daemon holds it and frees what it kept at the last stop,
 * after which a slab allocates its chunks itself again. Under the
 * sanitizers, a chunk lost or freed twice shows as a leak or an error. */
#include "test.h"

#include <stdint.h>
#include <string.h>
#include <time.h>

#include "prefault.h"
#include "slab.h"

/* Waits up to 5 s for the thread to hold `n` chunks ready. */
static int ready_within(int n) {
  for (int i = 0; i < 500; i++) {
    if (cxp_prefault_get_stats().ready == n) return 1;
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return 0;
}

/* Records of 512 bytes: 4096 of them fill one chunk. */
#define REC 512
#define PER_CHUNK ((int)(CXP_SLAB_CHUNK / REC))

static void fill_chunk(cxp_slab *s) {
  for (int i = 0; i < PER_CHUNK; i++) {
    unsigned char *r = cxp_slab_alloc(s, REC);
    /* The thread wrote each page's first byte; the slab hands it out zeroed. */
    if (i % 8 == 0) CHECK_INT(r[0] | r[REC - 1], 0);
    r[0] = 0xAB;
  }
}

static void test_ahead(void) {
  cxp_prefault_stats before = cxp_prefault_get_stats();
  CHECK_INT(before.ready, 0);
  CHECK_INT(cxp_prefault_start(), 0);
  CHECK(ready_within(CXP_PREFAULT_AHEAD));

  cxp_slab s;
  cxp_slab_init(&s, REC);
  fill_chunk(&s);
  fill_chunk(&s);
  CHECK_INT(s.n_chunks, 2);
  for (uint32_t i = 0; i < s.n_chunks; i++)
    CHECK_INT((uintptr_t)s.chunks[i] % CXP_SLAB_CHUNK, 0);
  cxp_prefault_stats st = cxp_prefault_get_stats();
  CHECK_INT(st.handed - before.handed, 2);
  /* Both taken from the ready ones, which the thread makes up again. */
  CHECK(ready_within(CXP_PREFAULT_AHEAD));

  /* A second holder (another daemon of the process): one stop leaves the
   * thread running. */
  CHECK_INT(cxp_prefault_start(), 0);
  cxp_prefault_stop();
  fill_chunk(&s);
  CHECK_INT(cxp_prefault_get_stats().handed - before.handed, 3);
  CHECK(ready_within(CXP_PREFAULT_AHEAD));

  /* The last stop: the thread ends and frees what it kept; a new chunk is
   * the slab's own, neither handed nor missed. */
  cxp_prefault_stop();
  st = cxp_prefault_get_stats();
  CHECK_INT(st.ready, 0);
  fill_chunk(&s);
  CHECK_INT(s.n_chunks, 4);
  cxp_prefault_stats after = cxp_prefault_get_stats();
  CHECK_INT(after.handed, st.handed);
  CHECK_INT(after.missed, st.missed);
  /* A stop without a holder does nothing. */
  cxp_prefault_stop();
  cxp_slab_close(&s);

  /* Started again, it works as the first time. */
  CHECK_INT(cxp_prefault_start(), 0);
  CHECK(ready_within(CXP_PREFAULT_AHEAD));
  cxp_slab_init(&s, REC);
  fill_chunk(&s);
  CHECK_INT(cxp_prefault_get_stats().handed - after.handed, 1);
  cxp_prefault_stop();
  cxp_slab_close(&s);
}

int main(void) {
  test_ahead();
  return TEST_REPORT();
}
