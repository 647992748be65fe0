/* bench_restore: how fast durable state comes back (issue 6's target: at
 * least 1,000,000 customer records per second from a snapshot or the
 * changelog). Builds N customers with every sum filled, writes them as one
 * partition's snapshot file, then times reading it back: the checksum over
 * the file, decoding every record, and inserting each customer into a fresh
 * shard. Also times decoding the same records from memory alone, which is
 * what restoring from the changelog costs once the consumer has the bytes.
 *
 *   ./build/bench_restore [--customers N] [--file PATH]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "snapshot.h"
#include "staterec.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  static const struct option opts[] = {{"customers", required_argument, NULL, 'n'},
                                       {"file", required_argument, NULL, 'f'},
                                       {NULL, 0, NULL, 0}};
  long n = 1000000;
  const char *path = "/tmp/cxp_bench_restore.snap";
  int ch;
  while ((ch = getopt_long(argc, argv, "n:f:", opts, NULL)) != -1) {
    if (ch == 'n') n = atol(optarg);
    else if (ch == 'f') path = optarg;
    else {
      fprintf(stderr, "usage: bench_restore [--customers N] [--file PATH]\n");
      return 2;
    }
  }
  if (n < 1) return 2;
  cxp_state s;
  cxp_state_init(&s);
  cxp_shard *sh = cxp_state_shard(&s, 0);
  static const char *segs[] = {"gold", "silver", "bronze"};
  uint64_t x = 88172645463325252ULL;
  char id[32];
  for (long i = 0; i < n; i++) {
    int len = snprintf(id, sizeof id, "c%07ld", i);
    cxp_customer *c = cxp_shard_get(&s, sh, id, (size_t)len);
    c->segment = cxp_state_segment_id(&s, segs[i % 3], strlen(segs[i % 3]));
    c->last_offset = i;
    c->last_ts_ms = 1795417200000LL + i;
    for (int k = 0; k < CXP_S__COUNT; k++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift: sums of every size */
      c->sum[k] = (int64_t)(x >> (k % 40));
    }
    for (int k = 0; k < CXP_HL__COUNT; k++) c->landmark_ms[k] = 1795417200000LL;
    c->responses = (uint16_t)(i % 50);
  }
  char err[512];
  double t0 = now_s();
  if (cxp_snapshot_write(path, &s, 0, 123, err, sizeof err) != 0) {
    fprintf(stderr, "bench_restore: %s\n", err);
    return 1;
  }
  double t1 = now_s();
  FILE *f = fopen(path, "rb");
  fseek(f, 0, SEEK_END);
  long bytes = ftell(f);
  fclose(f);

  /* Decoding alone: every record re-encoded into one buffer, then read. */
  cxp_buf b;
  cxp_buf_init(&b);
  size_t *ends = malloc(sizeof *ends * (size_t)n);
  long k = 0;
  for (size_t i = 0; i < sh->cap; i++)
    if (sh->slots[i]) {
      cxp_staterec_write(&b, sh->slots[i], cxp_state_segment_name(&s, sh->slots[i]->segment));
      ends[k++] = b.len;
    }
  cxp_state_close(&s);

  cxp_state r;
  cxp_state_init(&r);
  int64_t off = 0;
  double t2 = now_s();
  long got = cxp_snapshot_read(path, &r, 0, &off, err, sizeof err);
  double t3 = now_s();
  if (got != n) {
    fprintf(stderr, "bench_restore: read %ld of %ld: %s\n", got, n, err);
    return 1;
  }
  cxp_state_close(&r);

  cxp_state m;
  cxp_state_init(&m);
  cxp_shard *msh = cxp_state_shard(&m, 0);
  double t4 = now_s();
  size_t at = 0;
  for (long i = 0; i < k; i++) {
    if (cxp_staterec_read((const uint8_t *)b.p + at, ends[i] - at, &m, msh, err, sizeof err)) {
      fprintf(stderr, "bench_restore: %s\n", err);
      return 1;
    }
    at = ends[i];
  }
  double t5 = now_s();
  cxp_state_close(&m);
  unlink(path);
  printf("{\"bench\":\"restore\",\"customers\":%ld,\"file_bytes\":%ld,\"bytes_per_record\":%.1f,"
         "\"write_s\":%.3f,\"snapshot_restore_s\":%.3f,\"snapshot_records_per_s\":%.0f,"
         "\"decode_restore_s\":%.3f,\"decode_records_per_s\":%.0f}\n",
         n, bytes, (double)bytes / (double)n, t1 - t0, t3 - t2, (double)n / (t3 - t2), t5 - t4,
         (double)n / (t5 - t4));
  fprintf(stderr,
          "restore: %ld customers, %.1f bytes each on disk; snapshot written in %.2f s, read "
          "and restored at %.0f records/s; records decoded and restored from memory at %.0f/s\n",
          n, (double)bytes / (double)n, t1 - t0, (double)n / (t3 - t2), (double)n / (t5 - t4));
  free(ends);
  cxp_buf_free(&b);
  return 0;
}
