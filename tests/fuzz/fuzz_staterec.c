/* Fuzz target: the state records of the changelog and their restore
 * (cxp_core_state_restore: daemon/core.c, staterec.c, cases.c, window.c).
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
 * -timeout, and the replay's alarm. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "harness.h"
#include "pipeline.h"
#include "staterec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const prefix[4] = {CXP_CL_CUSTOMER, CXP_CL_WINDOW, CXP_CL_WINDOW_CLOCK,
                                        CXP_CL_SYSTEMIC};
  static cxp_pipeline pl;
  static int ready;
  if (!ready) {
    fuzz_pipeline_defaults(&pl);
    ready = 1;
  }
  cxp_core c;
  cxp_core_init(&c, &pl, fuzz_check_output, NULL);
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
  fuzz_run_events(&c);
  cxp_core_close(&c);
  return 0;
}
