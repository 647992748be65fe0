/* Fuzz target: the repartition topic's messages as a merger reads them
 * (cxp_core_process_repartition: corewin.c, winwire.c, winrec.c, merge.c).
 * That topic is written by every instance of the group, of this build or
 * an older one, and read back after crashes: a merger must take damaged or
 * foreign records with a dead letter and go on, never crash or hang.
 *
 * An input is a run of messages, each:
 *   u8 head: bit 0 the repartition partition (of 2), bits 1-7 ignored
 *   u16 little-endian n, then n bytes: the message (cut at the input's end)
 * handed, at offsets 0, 1, ..., to a core with 3 input partitions and 2
 * repartition partitions, as the daemon does: binary window records
 * (winwire.h), JSON partials and markers of the earlier forms, anything
 * else. Then both mergers' quiet clocks tick (merge_timeout_s past the
 * last message, and far on), so that what the records let in is merged
 * and written as window records; every JSON output must parse
 * (harness.h). Seeds: real records of a run of the core (gen_corpus.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "harness.h"
#include "pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const cxp_pipeline *pl = fuzz_pipeline();
  cxp_core c;
  cxp_core_init(&c, pl, fuzz_check_output, NULL);
  cxp_core_set_inputs(&c, 3, 2);
  const int64_t wall = 1795417200000LL; /* 2026-11-23T07:00:00Z */
  int64_t off = 0;
  size_t i = 0;
  while (i + 3 <= size) {
    int32_t part = data[i] & 1;
    size_t n = (size_t)data[i + 1] | (size_t)data[i + 2] << 8;
    i += 3;
    if (n > size - i) n = size - i;
    /* A copy of its own: a read past the message is ASan's to see. */
    char *v = malloc(n ? n : 1);
    if (n) memcpy(v, data + i, n);
    cxp_msg m = {"rp", part, off, v, n, NULL, 0, wall + off, wall + off, 0};
    cxp_core_process_repartition(&c, &m);
    free(v);
    i += n;
    off++;
  }
  /* The mergers' quiet clocks: past merge_timeout_s, then a day on. */
  for (int32_t p = 0; p < 2; p++) {
    cxp_msg t =
        cxp_msg_clock(p, wall + off + (int64_t)(pl->win_merge_timeout_s * 1000) + 1);
    cxp_core_tick_merge(&c, &t);
    t = cxp_msg_clock(p, wall + off + 86400000LL);
    cxp_core_tick_merge(&c, &t);
  }
  cxp_core_close(&c);
  return 0;
}
