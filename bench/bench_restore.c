/* bench_restore: how fast durable state comes back (the target: at
 * least 1,000,000 customer records per second from a snapshot or the
 * changelog). Builds N customers with every sum filled, writes them as one
 * partition's snapshot file, then times reading it back: the checksum over
 * the file, decoding every record, and inserting each customer into a fresh
 * shard. Also times decoding the same records from memory alone, which is
 * what restoring from the changelog costs once the consumer has the bytes.
 * Then the whole path the daemon takes: the same records produced to a
 * changelog topic of --partitions partitions on librdkafka's mock cluster
 * (in this process, over TCP), and read back by the restorer (restore.c)
 * into a fresh state, every partition at once, timed from the first
 * assignment to the last end of partition. (The mock cluster keeps at most
 * 5 MB a partition, so a million records need 128 partitions.)
 *
 * --typical fills only the sums a typical customer has (surveys, contacts,
 * purchases; a third of them), with values of the size decayed sums take,
 * instead of every sum with random 64-bit values: records of about 170
 * bytes, as the daemon writes for the generator's traffic, not 370.
 *
 *   ./build/bench_restore [--customers N] [--file PATH] [--partitions P] [--typical]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "log.h"
#include "mock.h"
#include "restore.h"
#include "snapshot.h"
#include "staterec.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct kafka_restore {
  cxp_state st;
  int32_t left;
  uint64_t records, errors;
} kafka_restore;

static void on_record(void *opaque, int32_t part, const rd_kafka_message_t *m) {
  kafka_restore *k = opaque;
  char err[256];
  const uint8_t *ext;
  size_t el;
  k->records++;
  if (cxp_staterec_read(m->payload, m->len, &k->st, cxp_state_shard(&k->st, part), NULL, &ext,
                        &el, err, sizeof err))
    k->errors++;
}

static void on_done(void *opaque, int32_t part, uint64_t records, uint64_t bytes, double s) {
  (void)part, (void)records, (void)bytes, (void)s;
  ((kafka_restore *)opaque)->left--;
}

/* Produces the n records in b (ending at ends[]) to a fresh changelog topic
 * and times restoring them; records/s, or -1. */
static double kafka_phase(const cxp_buf *b, const size_t *ends, long n, int parts,
                          double *produce_s) {
  char err[512];
  cxp_mock m;
  if (cxp_mock_start(&m, 1, err, sizeof err) || cxp_mock_topic(&m, "bench.cl", parts)) {
    fprintf(stderr, "bench_restore: mock: %s\n", err);
    return -1;
  }
  rd_kafka_conf_t *pc = rd_kafka_conf_new();
  rd_kafka_conf_set(pc, "bootstrap.servers", m.bootstraps, err, sizeof err);
  rd_kafka_conf_set(pc, "linger.ms", "20", err, sizeof err);
  rd_kafka_conf_set(pc, "queue.buffering.max.messages", "2000000", err, sizeof err);
  rd_kafka_conf_set(pc, "queue.buffering.max.kbytes", "2000000", err, sizeof err);
  rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof err);
  double t0 = now_s();
  size_t at = 0;
  char key[160];
  for (long i = 0; i < n; i++) {
    const uint8_t *rec = (const uint8_t *)b->p + at;
    size_t il = rec[1];
    memcpy(key, CXP_CL_CUSTOMER, 2);
    memcpy(key + 2, rec + 2, il);
    while (rd_kafka_producev(p, RD_KAFKA_V_TOPIC("bench.cl"),
                             RD_KAFKA_V_PARTITION((int32_t)(i % parts)),
                             RD_KAFKA_V_KEY(key, il + 2),
                             RD_KAFKA_V_VALUE((void *)rec, ends[i] - at),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) ==
           RD_KAFKA_RESP_ERR__QUEUE_FULL)
      rd_kafka_poll(p, 10);
    at = ends[i];
  }
  rd_kafka_flush(p, 60000);
  *produce_s = now_s() - t0;
  rd_kafka_destroy(p);

  cxp_config c;
  cxp_config_defaults(&c);
  cxp_config_kafka_default(&c, "bootstrap.servers", m.bootstraps);
  cxp_config_kafka_default(&c, "consumer.queued.min.messages", "1000000");
  cxp_config_kafka_default(&c, "consumer.queued.max.messages.kbytes", "262144");
  cxp_config_kafka_default(&c, "consumer.fetch.wait.max.ms", "100");
  kafka_restore k;
  memset(&k, 0, sizeof k);
  cxp_state_init(&k.st);
  cxp_restore_cb cb = {on_record, on_done, &k};
  cxp_restore *r = cxp_restore_create(&c, "bench.cl", "(bench)", &cb, err, sizeof err);
  if (r == NULL) {
    fprintf(stderr, "bench_restore: %s\n", err);
    return -1;
  }
  /* As the daemon does at start: the topic's leaders known before any
   * partition is assigned, so no offset query waits for them. */
  if (cxp_restore_topic_partitions(r, 10000) != parts) {
    fprintf(stderr, "bench_restore: no metadata for bench.cl\n");
    return -1;
  }
  double t1 = now_s();
  for (int i = 0; i < parts; i++)
    if (cxp_restore_begin(r, i, RD_KAFKA_OFFSET_BEGINNING) == 0) k.left++;
  while (k.left > 0 && now_s() - t1 < 300)
    if (!cxp_restore_poll(r, 100000)) usleep(200);
  double t2 = now_s();
  cxp_restore_destroy(r);
  cxp_mock_stop(&m);
  if (k.records != (uint64_t)n || k.errors || k.st.customers != (size_t)n) {
    fprintf(stderr, "bench_restore: restored %llu records, %zu customers, %llu errors of %ld\n",
            (unsigned long long)k.records, k.st.customers, (unsigned long long)k.errors, n);
    cxp_state_close(&k.st);
    return -1;
  }
  cxp_state_close(&k.st);
  return (double)n / (t2 - t1);
}

int main(int argc, char **argv) {
  static const struct option opts[] = {{"customers", required_argument, NULL, 'n'},
                                       {"file", required_argument, NULL, 'f'},
                                       {"partitions", required_argument, NULL, 'p'},
                                       {"typical", no_argument, NULL, 't'},
                                       {NULL, 0, NULL, 0}};
  long n = 1000000;
  int parts = 128, typical = 0;
  const char *path = "/tmp/cxp_bench_restore.snap";
  int ch;
  while ((ch = getopt_long(argc, argv, "n:f:p:t", opts, NULL)) != -1) {
    if (ch == 'n') n = atol(optarg);
    else if (ch == 'f') path = optarg;
    else if (ch == 'p') parts = atoi(optarg);
    else if (ch == 't') typical = 1;
    else {
      fprintf(stderr, "usage: bench_restore [--customers N] [--file PATH] [--partitions P] "
                      "[--typical]\n");
      return 2;
    }
  }
  if (n < 1 || parts < 1) return 2;
  cxp_log_level = CXP_LOG_WARN;
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
      c->sum[k] = typical ? (k % 3 == 0 ? (int64_t)(x >> 36) : 0) : (int64_t)(x >> (k % 40));
    }
    for (int k = 0; k < CXP_HL__COUNT; k++) c->landmark_ms[k] = 1795417200000LL;
    c->responses = (uint16_t)(i % 50);
  }
  char err[512];
  const uint8_t *ext;
  size_t el;
  int64_t max_ts;
  cxp_buf cases;
  cxp_buf_init(&cases);
  double t0 = now_s();
  if (cxp_snapshot_write(path, &s, 0, 123, NULL, NULL, NULL, err, sizeof err) != 0) {
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
      cxp_staterec_write(&b, sh->slots[i], cxp_state_segment_name(&s, sh->slots[i]->segment), NULL, 0);
      ends[k++] = b.len;
    }
  cxp_state_close(&s);

  cxp_state r;
  cxp_state_init(&r);
  int64_t off = 0;
  double t2 = now_s();
  long got = cxp_snapshot_read(path, &r, 0, &off, &cases, NULL, &max_ts, err, sizeof err);
  double t3 = now_s();
  if (got != n) {
    fprintf(stderr, "bench_restore: read %ld of %ld: %s\n", got, n, err);
    return 1;
  }
  /* The daemon reads a snapshot on a worker thread into a state of its
   * own, then moves the customers into the core's on the loop: that move is
   * all the loop pays. */
  cxp_state into;
  cxp_state_init(&into);
  double ta = now_s();
  size_t moved = cxp_state_adopt(&into, &r, 0);
  double tb = now_s();
  if (moved != (size_t)n || into.customers != (size_t)n) {
    fprintf(stderr, "bench_restore: adopted %zu of %ld\n", moved, n);
    return 1;
  }
  cxp_state_close(&into);
  cxp_state_close(&r);

  cxp_state m;
  cxp_state_init(&m);
  cxp_shard *msh = cxp_state_shard(&m, 0);
  double t4 = now_s();
  size_t at = 0;
  for (long i = 0; i < k; i++) {
    if (cxp_staterec_read((const uint8_t *)b.p + at, ends[i] - at, &m, msh, NULL, &ext, &el, err, sizeof err)) {
      fprintf(stderr, "bench_restore: %s\n", err);
      return 1;
    }
    at = ends[i];
  }
  double t5 = now_s();
  cxp_state_close(&m);
  unlink(path);
  double produce_s = 0;
  double kafka_rate = kafka_phase(&b, ends, k, parts, &produce_s);
  if (kafka_rate < 0) return 1;
  printf("{\"bench\":\"restore\",\"customers\":%ld,\"file_bytes\":%ld,\"bytes_per_record\":%.1f,"
         "\"write_s\":%.3f,\"snapshot_restore_s\":%.3f,\"snapshot_records_per_s\":%.0f,"
         "\"decode_restore_s\":%.3f,\"decode_records_per_s\":%.0f,\"changelog_partitions\":%d,"
         "\"changelog_produce_s\":%.2f,\"changelog_records_per_s\":%.0f,"
         "\"snapshot_adopt_s\":%.3f,\"typical\":%s}\n",
         n, bytes, (double)bytes / (double)n, t1 - t0, t3 - t2, (double)n / (t3 - t2), t5 - t4,
         (double)n / (t5 - t4), parts, produce_s, kafka_rate, tb - ta,
         typical ? "true" : "false");
  fprintf(stderr,
          "restore: %ld customers, %.1f bytes each on disk; snapshot written in %.2f s, read "
          "and restored at %.0f records/s; records decoded and restored from memory at %.0f/s; "
          "from the changelog topic (%d partitions, mock cluster) at %.0f records/s\n",
          n, (double)bytes / (double)n, t1 - t0, (double)n / (t3 - t2), (double)n / (t5 - t4),
          parts, kafka_rate);
  free(ends);
  cxp_buf_free(&b);
  cxp_buf_free(&cases);
  return 0;
}
