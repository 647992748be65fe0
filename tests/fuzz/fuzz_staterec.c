/* Fuzz target: the state records of the changelog and their restore
 * (cxp_core_state_restore: daemon/core/core.c, staterec.c, cases.c, window.c).
 *
 * An input is a run of records, each:
 *   u8 kind: the low two bits choose the key's prefix, "c:" (a customer
 *      and his cases section), "w:" (an open window), "wc:" (the window
 *      clock) or "sg:" (a systemic group); bit 7 makes it a tombstone
 *   u8 n, then n bytes: the rest of the key
 *   u16 little-endian n, then n bytes: the value (cut at the input's end)
 * so a one-record input starts with the byte that picks its key kind. The
 * records are restored into a durable core of the default pipeline
 * (windows, recovery cases, churn) as the daemon's restorer hands them
 * over, a refusal being a sentence and nothing else; then the core runs a
 * few events, ticks and flushes (harness.h), so that whatever the restore
 * let in is used the way traffic would use it. A hang there (the case
 * clock's timing wheel walking from second -2.4e15) trips libFuzzer's
 * -timeout, and the replay's alarm.
 *
 * Before the events, every customer held is written as his record would
 * be (state, cases section) and restored alone into a second core, which
 * must take it and write it back byte for byte: what a restore lets in,
 * the next flush writes in a form the next restore reads the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "harness.h"
#include "pipeline.h"
#include "staterec.h"

static void frame_of(cxp_core *c, const cxp_customer *cu, cxp_buf *ext, cxp_buf *out) {
  cxp_buf_reset(ext);
  cxp_buf_reset(out);
  cxp_core_state_ext(c, 0, cu, ext);
  cxp_staterec_write(out, cu, cxp_state_segment_name(&c->state, cu->segment), ext->p,
                     ext->len);
}

/* Each customer of a's partition 0 written, restored into a fresh core,
 * written again: the same bytes. */
static void round_trip(cxp_core *a, const cxp_pipeline *pl) {
  const cxp_shard *sh = a->state.n_shards > 0 ? a->state.shards[0] : NULL;
  if (sh == NULL) return;
  cxp_buf ext, one, two;
  cxp_buf_init(&ext);
  cxp_buf_init(&one);
  cxp_buf_init(&two);
  for (size_t i = 0; i < sh->cap; i++) {
    const cxp_customer *cu = sh->slots[i];
    if (cu == NULL) continue;
    frame_of(a, cu, &ext, &one);
    cxp_core b;
    cxp_core_init(&b, pl, fuzz_check_output, NULL);
    b.changelog = 1;
    char key[2 + 128], err[512];
    memcpy(key, CXP_CL_CUSTOMER, 2);
    memcpy(key + 2, cu->id, cu->id_len);
    if (cxp_core_state_restore(&b, 0, key, 2 + cu->id_len, one.p, one.len, err, sizeof err) !=
        0) {
      fprintf(stderr, "fuzz_staterec: a record written from restored state is refused: %s\n",
              err);
      abort();
    }
    const cxp_customer *back = cxp_shard_find(b.state.shards[0], cu->id, cu->id_len);
    if (back == NULL) abort();
    frame_of(&b, back, &ext, &two);
    if (one.len != two.len || memcmp(one.p, two.p, one.len) != 0) {
      fprintf(stderr, "fuzz_staterec: customer '%.*s' written again differs (%zu, %zu bytes)\n",
              (int)cu->id_len, cu->id, one.len, two.len);
      abort();
    }
    cxp_core_close(&b);
  }
  cxp_buf_free(&ext);
  cxp_buf_free(&one);
  cxp_buf_free(&two);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const prefix[4] = {CXP_CL_CUSTOMER, CXP_CL_WINDOW, CXP_CL_WINDOW_CLOCK,
                                        CXP_CL_SYSTEMIC};
  const cxp_pipeline *pl = fuzz_pipeline();
  cxp_core c;
  cxp_core_init(&c, pl, fuzz_check_output, NULL);
  c.changelog = 1;
  size_t at = 0;
  while (at + 2 <= size) {
    unsigned kind = data[at], kl = data[at + 1];
    at += 2;
    if (kl > size - at) kl = (unsigned)(size - at);
    char key[4 + 256];
    size_t pl_len = strlen(prefix[kind & 3]);
    memcpy(key, prefix[kind & 3], pl_len);
    memcpy(key + pl_len, data + at, kl);
    at += kl;
    size_t vl = 0;
    if (size - at >= 2) {
      vl = (size_t)data[at] | (size_t)data[at + 1] << 8;
      at += 2;
    } else {
      at = size;
    }
    if (vl > size - at) vl = size - at;
    /* A copy of exactly the value's bytes, so that a read past it is seen. */
    uint8_t *val = NULL;
    if (!(kind & 0x80)) {
      val = malloc(vl ? vl : 1);
      if (val == NULL) abort();
      memcpy(val, data + at, vl);
    }
    at += vl;
    char err[512];
    err[0] = '\0';
    if (cxp_core_state_restore(&c, 0, key, pl_len + kl, val, vl, err, sizeof err) != 0 &&
        (err[0] == '\0' || memchr(err, '\0', sizeof err) == NULL))
      abort(); /* a refusal says why */
    free(val);
  }
  round_trip(&c, pl);
  fuzz_run_events(&c);
  cxp_core_close(&c);
  return 0;
}
