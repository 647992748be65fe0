/* Fuzz target: the snapshot reader (daemon/shell/snapshot.c, cxp_snapshot_read)
 * and the restore of what it read, as the daemon does it: the customers
 * adopted by a core, their cases sections and the extra frames (systemic
 * groups) restored, then a few events (harness.h).
 *
 * A file is refused unless its checksum holds, and a fuzzer would almost
 * never get one right: the input is the file without its magic and without
 * its checksum, i.e. format (u32), partition (u32, set to 0 here), the
 * changelog offset it covers (u64), the count of records (u64), the body's
 * length (u64, set to the body's real length) and the body; the harness
 * writes the magic, fixes those two fields, computes the checksum over the
 * result and appends it, so that every input reaches the parser. The
 * checksum is the file's own (snapshot.c's static checksum()), which is why
 * this program compiles snapshot.c itself rather than linking it. */
#include "../../daemon/shell/snapshot.c"

#include "core.h"
#include "harness.h"
#include "pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const cxp_pipeline *pl = fuzz_pipeline();
  /* The input as the file's bytes 8..: missing header bytes read as 0. */
  size_t len = 8 + (size > HEADER - 8 ? size : HEADER - 8) + 8;
  unsigned char *file = calloc(1, len);
  if (file == NULL) abort();
  memcpy(file, MAGIC, 8);
  memcpy(file + 8, data, size);
  le((char *)file + 12, 0, 4);
  le((char *)file + 32, len - HEADER - 8, 8);
  le((char *)file + len - 8, checksum(file, len - 8), 8);
  const char *path = fuzz_path(file, len);
  free(file);

  cxp_state st;
  cxp_state_init(&st);
  cxp_buf cases, extra;
  cxp_buf_init(&cases);
  cxp_buf_init(&extra);
  int64_t off = -2, max_ts = 0;
  char err[512];
  err[0] = '\0';
  long n = cxp_snapshot_read(path, &st, 0, &off, &cases, &extra, &max_ts, err, sizeof err);
  if (n < 0) {
    if (err[0] == '\0') abort(); /* a refusal says why */
  } else {
    if (off < -1) abort(); /* the restorer would start before the partition's first offset */
    cxp_core c;
    cxp_core_init(&c, pl, fuzz_check_output, NULL);
    c.changelog = 1;
    cxp_state_adopt(&c.state, &st, 0);
    cxp_core_state_restore_cases(&c, 0, &cases, max_ts);
    size_t pos = 0, kl, vl;
    const char *k;
    const uint8_t *v;
    while (cxp_staterec_frame_next(extra.p, extra.len, &pos, &k, &kl, &v, &vl))
      cxp_core_state_restore(&c, 0, k, kl, v, vl, err, sizeof err);
    fuzz_run_events(&c);
    cxp_core_close(&c);
  }
  cxp_state_close(&st);
  cxp_buf_free(&cases);
  cxp_buf_free(&extra);
  return 0;
}
