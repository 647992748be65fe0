/* Writes the fuzz targets' seed inputs (tests/fuzz/corpus/<name>/) that are
 * the project's own encodings or are best taken from the tree: state
 * records and snapshots written by the core's encoders after real traffic,
 * events from the synthetic generator and from tests/data, the shipped
 * pipeline and config files and variants of them. Also the two changelog
 * records a fuzzer of cxp_core_state_restore found before restored values
 * were range-checked (tests/fuzz/regress/staterec/).
 *
 *   ./build/fuzz/fuzz_corpus_gen [TREE]   (TREE: the source tree, default .)
 *
 * Deterministic: the same build writes the same bytes, so a run after a
 * change of format shows in `git status` as exactly the seeds it changed. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "core.h"
#include "gen.h"
#include "hash.h"
#include "pipeline.h"
#include "snapshot.h"
#include "staterec.h"
#include "varint.h"

static const char *tree = ".";
static int written;

static void mkdirs(const char *sub) {
  char p[1024];
  snprintf(p, sizeof p, "%s/tests/fuzz/%s", tree, sub);
  for (char *s = p + strlen(tree) + 1; *s; s++)
    if (*s == '/') {
      *s = '\0';
      mkdir(p, 0755);
      *s = '/';
    }
  if (mkdir(p, 0755) != 0 && errno != EEXIST) {
    perror(p);
    exit(1);
  }
}

static void put_file(const char *sub, const char *name, const void *data, size_t len) {
  char p[1024];
  snprintf(p, sizeof p, "%s/tests/fuzz/%s/%s", tree, sub, name);
  FILE *f = fopen(p, "wb");
  if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
    perror(p);
    exit(1);
  }
  written++;
}

static void put_text(const char *sub, const char *name, const char *text) {
  put_file(sub, name, text, strlen(text));
}

static char *read_tree_file(const char *rel, size_t *len) {
  char p[1024], err[256];
  snprintf(p, sizeof p, "%s/%s", tree, rel);
  char *t = cxp_read_file(p, len, err, sizeof err);
  if (t == NULL) {
    fprintf(stderr, "%s\n", err);
    exit(1);
  }
  return t;
}

/* ---- events ------------------------------------------------------------- */

static void events(void) {
  mkdirs("corpus/event");
  /* Lines of the test data: every seventh good one, every sixth bad one. */
  static const char *const files[2] = {"tests/data/events.jsonl", "tests/data/bad_events.jsonl"};
  for (int f = 0; f < 2; f++) {
    size_t len;
    char *t = read_tree_file(files[f], &len), *line = t;
    for (int i = 0; line && *line; i++) {
      char *nl = strchr(line, '\n');
      size_t n = nl ? (size_t)(nl - line) : strlen(line);
      if (i % (f ? 6 : 7) == 0 && n) {
        char name[64];
        snprintf(name, sizeof name, "%s-%02d", f ? "data-bad" : "data", i);
        put_file("corpus/event", name, line, n);
      }
      line = nl ? nl + 1 : NULL;
    }
    free(t);
  }
  /* The synthetic generator's traffic, a fifth of it malformed. */
  cxp_gen_opts o;
  cxp_gen_opts_default(&o);
  o.seed = 7;
  o.customers = 50;
  o.bad_ratio = 0.2;
  cxp_gen *g = cxp_gen_create(&o);
  for (int i = 0; i < 4; i++) {
    char buf[4096], key[256], name[32];
    size_t kl, n = cxp_gen_next(g, buf, sizeof buf, key, sizeof key, &kl);
    snprintf(name, sizeof name, "gen-%02d", i);
    put_file("corpus/event", name, buf, n < sizeof buf ? n : 0);
  }
  cxp_gen_destroy(g);
  /* What only the full parser reads: escapes, exponents, nesting, null. */
  put_text("corpus/event", "escapes",
           "{\"event_id\":\"e\\u0031\",\"type\":\"survey.csat\",\"customer_id\":\"c\\\"1\","
           "\"ts\":\"2026-11-23T07:00:00Z\",\"score\":5}");
  put_text("corpus/event", "exponent",
           "{\"event_id\":\"e2\",\"type\":\"purchase\",\"customer_id\":\"c1\","
           "\"ts\":1.7954172e12,\"amount\":1e3}");
  put_text("corpus/event", "servqual",
           "{\"event_id\":\"e3\",\"type\":\"survey.servqual\",\"customer_id\":\"c1\","
           "\"ts\":\"2026-11-23T07:00:00Z\",\"dimensions\":{\"empathy\":{\"expected\":6,"
           "\"perceived\":4.5},\"tangibles\":{\"expected\":5,\"perceived\":5}}}");
  put_text("corpus/event", "null-and-repeat",
           "{\"event_id\":\"e4\",\"type\":\"survey.nps\",\"customer_id\":\"c1\",\"segment\":null,"
           "\"ts\":\"2026-11-23T07:00:00+01:00\",\"score\":9,\"score\":2}");
}

/* ---- pipeline and config files ------------------------------------------ */

static void settings_files(void) {
  mkdirs("corpus/pipeline");
  mkdirs("corpus/config");
  size_t len;
  char *t = read_tree_file("pipelines/default.json", &len);
  put_file("corpus/pipeline", "default", t, len);
  free(t);
  t = read_tree_file("deploy/cxpulse.json", &len);
  put_file("corpus/config", "deploy", t, len);
  free(t);
  put_text("corpus/pipeline", "empty", "{}");
  put_text("corpus/pipeline", "windows",
           "{\"windows\":{\"lengths\":[\"1s\",\"15m\",\"1d\"],\"group_by\":[\"segment+agent_id\","
           "\"touchpoint\",\"channel+segment\"],\"lateness_s\":0.5,\"max_open\":2}}");
  put_text("corpus/pipeline", "recovery",
           "{\"recovery\":{\"sla\":{\"sev1\":{\"acknowledge_min\":1,\"resolve_h\":0.5}},"
           "\"escalation\":{\"level1\":1,\"level2\":1.5,\"level3\":60},\"abandon_factor\":100,"
           "\"park_s\":1,\"max_open\":1,\"max_parked\":1,\"systemic\":{\"customers\":2,"
           "\"window_min\":1440},\"solutions\":[{\"actions\":[\"a\"],\"role\":\"r\"},"
           "{\"category\":\"design\",\"severity\":1,\"segment\":\"gold\",\"actions\":[\"b\"],"
           "\"role\":\"lead\",\"compensation\":\"voucher\"}]}}");
  put_text("corpus/pipeline", "churn",
           "{\"churn\":{\"enabled\":true,\"silence_days\":1,\"actions\":[{\"band\":\"high\","
           "\"actions\":[\"call\"],\"role\":\"retention\"}]},\"decay\":{\"half_life_days\":0.001}}");
  put_text("corpus/pipeline", "bad-duration", "{\"windows\":{\"lengths\":[\"1x\"]}}");
  put_text("corpus/pipeline", "bad-type", "{\"decay\":{\"half_life_days\":\"thirty\"}}");
  put_text("corpus/pipeline", "topics-twice",
           "{\"topics\":{\"input\":\"a\",\"alerts\":\"a\"}}");
  put_text("corpus/pipeline", "not-json", "{\"name\":");
  put_text("corpus/pipeline", "solutions-no-default",
           "{\"recovery\":{\"solutions\":[{\"category\":\"promise\",\"actions\":[\"x\"],"
           "\"role\":\"r\"}]}}");
  put_text("corpus/pipeline", "group-by-twice",
           "{\"windows\":{\"group_by\":[\"segment+channel\",\"channel+segment\"]}}");
  put_text("corpus/pipeline", "limits",
           "{\"limits\":{\"max_event_bytes\":1,\"max_future_s\":0},\"state\":"
           "{\"max_customers\":1,\"idle_ttl_days\":0.0001}}");
  put_text("corpus/config", "empty", "{}");
  put_text("corpus/config", "kafka",
           "{\"kafka\":{\"bootstrap.servers\":\"b:9092\",\"security.protocol\":\"ssl\","
           "\"ssl.ca.location\":\"/etc/ssl/ca.pem\"},\"log\":{\"format\":\"json\","
           "\"level\":\"debug\"}}");
  put_text("corpus/config", "backpressure",
           "{\"backpressure\":{\"high\":10,\"low\":20},\"poll\":{\"batch\":1}}");
  put_text("corpus/config", "bad-level", "{\"log\":{\"level\":\"loud\"}}");
  put_text("corpus/config", "unknown-key", "{\"commit\":{\"interval\":5}}");
  put_text("corpus/config", "nested", "{\"http\":{\"port\":-1,\"token\":\"t\"},\"a\":[1,{}]}");
  put_text("corpus/config", "not-object", "[1,2,3]");
  put_text("corpus/config", "types",
           "{\"http\":{\"port\":\"9477\"},\"stats\":{\"interval_s\":1e300},"
           "\"snapshot\":{\"dir\":\"\"}}");
  /* More librdkafka properties than the config holds (CXP_KAFKA_MAX). */
  cxp_buf many;
  cxp_buf_init(&many);
  cxp_buf_printf(&many, "{\"kafka\":{");
  for (int i = 0; i < CXP_KAFKA_MAX + 2; i++)
    cxp_buf_printf(&many, "%s\"p%d\":\"v%d\"", i ? "," : "", i, i);
  cxp_buf_printf(&many, "}}");
  put_file("corpus/config", "kafka-past-max", many.p, many.len);
  cxp_buf_free(&many);
}

/* ---- state records -------------------------------------------------------- */

static void ignore(void *opaque, const cxp_msg *from, cxp_stream s, const char *key, size_t klen,
                   const char *v, size_t vlen) {
  (void)from;
  (void)opaque, (void)s, (void)key, (void)klen, (void)v, (void)vlen;
}

/* Appends one record in fuzz_staterec's format: kind (its key's prefix,
 * bit 7 a tombstone), the rest of the key, the value. */
static void harness_record(cxp_buf *out, const char *key, size_t klen, const uint8_t *val,
                           size_t vlen) {
  static const char *const prefix[4] = {CXP_CL_CUSTOMER, CXP_CL_WINDOW, CXP_CL_WINDOW_CLOCK,
                                        CXP_CL_SYSTEMIC};
  int kind = -1;
  size_t pl = 0;
  for (int k = 0; k < 4; k++) {
    size_t l = strlen(prefix[k]);
    /* "wc:" before "w:" would not match "w:": the longest prefix wins. */
    if (klen >= l && memcmp(key, prefix[k], l) == 0 && l > pl) {
      kind = k;
      pl = l;
    }
  }
  if (kind < 0 || klen - pl > 255 || vlen > 65535) {
    fprintf(stderr, "gen_corpus: a record the harness format cannot hold\n");
    exit(1);
  }
  cxp_put_u8(out, (unsigned)kind | (val ? 0u : 0x80u));
  cxp_put_u8(out, (unsigned)(klen - pl));
  cxp_buf_put(out, key + pl, klen - pl);
  cxp_put_le(out, val ? vlen : 0, 2);
  if (val && vlen) cxp_buf_put(out, val, vlen);
}

static void feed(cxp_core *c, int64_t off, const char *json) {
  cxp_msg m = {"in", 0, off, json, strlen(json), NULL, 0, 0, 0, 0};
  cxp_core_process(c, &m);
}

/* Traffic that leaves every kind of record: customers with open cases, a
 * step parked for a case not seen yet, a closed case, open windows, the
 * window clock, systemic groups. */
static void traffic(cxp_core *c) {
  static const char *const ev[] = {
      "{\"event_id\":\"g1\",\"type\":\"service.failure\",\"customer_id\":\"c1\","
      "\"ts\":\"2026-11-23T07:00:00Z\",\"case_id\":\"k1\",\"category\":\"operational\","
      "\"severity\":2,\"detected_by\":\"provider\",\"segment\":\"gold\",\"touchpoint\":\"app\"}",
      "{\"event_id\":\"g2\",\"type\":\"recovery.acknowledged\",\"customer_id\":\"c1\","
      "\"ts\":\"2026-11-23T07:10:00Z\",\"case_id\":\"k1\"}",
      "{\"event_id\":\"g3\",\"type\":\"recovery.compensated\",\"customer_id\":\"c2\","
      "\"ts\":\"2026-11-23T07:20:00Z\",\"case_id\":\"k2\",\"amount\":25.5}",
      "{\"event_id\":\"g4\",\"type\":\"complaint\",\"customer_id\":\"c3\","
      "\"ts\":\"2026-11-23T07:30:00Z\",\"case_id\":\"k3\",\"category\":\"operational\","
      "\"severity\":3,\"touchpoint\":\"app\",\"kano\":\"must_be\"}",
      "{\"event_id\":\"g5\",\"type\":\"survey.csat\",\"customer_id\":\"c2\","
      "\"ts\":\"2026-11-23T07:40:00Z\",\"score\":2,\"segment\":\"silver\",\"channel\":\"web\"}",
      "{\"event_id\":\"g6\",\"type\":\"survey.nps\",\"customer_id\":\"c4\","
      "\"ts\":\"2026-11-23T07:50:00Z\",\"score\":4,\"channel\":\"phone\"}",
      "{\"event_id\":\"g7\",\"type\":\"purchase\",\"customer_id\":\"c4\","
      "\"ts\":\"2026-11-23T08:00:00Z\",\"amount\":120}",
      "{\"event_id\":\"g8\",\"type\":\"service.failure\",\"customer_id\":\"c5\","
      "\"ts\":\"2026-11-23T08:05:00Z\",\"case_id\":\"k5\",\"category\":\"design\","
      "\"severity\":4,\"detected_by\":\"customer\",\"touchpoint\":\"web\"}",
      "{\"event_id\":\"g9\",\"type\":\"recovery.resolved\",\"customer_id\":\"c5\","
      "\"ts\":\"2026-11-23T08:10:00Z\",\"case_id\":\"k5\",\"root_cause_fixed\":true}",
      "{\"event_id\":\"g10\",\"type\":\"recovery.followed_up\",\"customer_id\":\"c5\","
      "\"ts\":\"2026-11-23T08:12:00Z\",\"case_id\":\"k5\"}",
      "{\"event_id\":\"g11\",\"type\":\"profile\",\"customer_id\":\"c6\","
      "\"ts\":\"2026-11-23T08:20:00Z\",\"segment\":\"platinum\",\"clv\":9000,\"consent\":false}",
      "{\"event_id\":\"g12\",\"type\":\"usage\",\"customer_id\":\"c1\","
      "\"ts\":\"2026-11-23T08:30:00Z\",\"count\":4}",
  };
  for (size_t i = 0; i < sizeof ev / sizeof ev[0]; i++) feed(c, (int64_t)i + 1, ev[i]);
}

/* A cases section (cases.c layout) of one case, k1, opened at `opened`,
 * acknowledged, resolved and followed up at `done`, every level fired. */
static void section_one_case(cxp_buf *b, int64_t opened, int64_t done) {
  cxp_put_u8(b, 1);
  cxp_put_u8(b, 0);
  cxp_put_v(b, 1);
  cxp_put_u8(b, 2);
  cxp_buf_put(b, "k1", 2);
  cxp_put_u8(b, 0);
  cxp_put_u8(b, 0);
  cxp_put_z(b, opened);
  cxp_put_v(b, 1u << 0 | 1u << 3 | 1u << 4); /* acknowledged, resolved, followed up */
  for (int i = 0; i < 3; i++) cxp_put_z(b, done - opened);
  const uint8_t f[6] = {2, 2, 1, 2, 0, 0}; /* severity 2, operational, P2, a failure */
  cxp_buf_put(b, f, sizeof f);
  const uint8_t lv[3] = {3, 3, 3};
  cxp_buf_put(b, lv, sizeof lv);
  cxp_put_v(b, 0);
}

static void crafted_snapshot(const cxp_buf *sec, int64_t last_ts);

static void crafted(void) {
  mkdirs("regress/staterec");
  const int64_t T0 = 1795417200000LL, far = -2400000000000000000LL;
  cxp_buf sec, val, rec;
  cxp_buf_init(&sec);
  cxp_buf_init(&val);
  cxp_buf_init(&rec);
  /* c1's latest event at -2.4e18 ms: the case clock hinted at second
   * -2.4e15, his case's closing (2026) filed in the wheel's top level. */
  section_one_case(&sec, far, T0);
  cxp_customer *cu = cxp_customer_new("c1", 2, cxp_hash64("c1", 2, 0));
  cu->last_offset = 4;
  cu->last_ts_ms = far;
  cu->open_cases = 1;
  cxp_staterec_write(&val, cu, "gold", sec.p, sec.len);
  free(cu);
  harness_record(&rec, "c:c1", 4, (const uint8_t *)val.p, val.len);
  put_file("regress/staterec", "case-clock-at-second-minus-2.4e15", rec.p, rec.len);
  crafted_snapshot(&sec, far);
  /* ann's main decay landmark at INT64_MIN + 1: her next event moved it by
   * a subtraction that overflowed. */
  cxp_buf_reset(&val);
  cxp_buf_reset(&rec);
  cu = cxp_customer_new("ann", 3, 0);
  cu->last_offset = 3;
  cu->last_ts_ms = T0;
  cu->landmark_ms[0] = INT64_MIN + 1;
  cxp_staterec_write(&val, cu, "gold", NULL, 0);
  free(cu);
  harness_record(&rec, "c:ann", 5, (const uint8_t *)val.p, val.len);
  put_file("regress/staterec", "decay-landmark-int64-min", rec.p, rec.len);
  cxp_buf_free(&sec);
  cxp_buf_free(&val);
  cxp_buf_free(&rec);
}

static void state_records(cxp_core *c) {
  mkdirs("corpus/staterec");
  cxp_buf frames, rec, all;
  cxp_buf_init(&frames);
  cxp_buf_init(&rec);
  cxp_buf_init(&all);
  cxp_core_partition_flush(c, 0, 12, &frames);
  cxp_core_state_flush(c, 0, &frames);
  size_t pos = 0, kl, vl;
  const char *k;
  const uint8_t *v;
  int n[4] = {0, 0, 0, 0};
  while (cxp_staterec_frame_next(frames.p, frames.len, &pos, &k, &kl, &v, &vl)) {
    harness_record(&all, k, kl, v, vl);
    /* One seed per record, a few of each kind. */
    int kind = k[0] == 'c' ? 0 : k[0] == 's' ? 3 : k[1] == 'c' ? 2 : 1;
    if (n[kind]++ >= 4) continue;
    static const char *const kn[4] = {"customer", "window", "window-clock", "group"};
    char name[64];
    snprintf(name, sizeof name, "%s-%d", kn[kind], n[kind]);
    cxp_buf_reset(&rec);
    harness_record(&rec, k, kl, v, vl);
    put_file("corpus/staterec", name, rec.p, rec.len);
  }
  put_file("corpus/staterec", "flush-all", all.p, all.len);
  /* Tombstones: a customer's, a window's, a group's. */
  cxp_buf_reset(&rec);
  harness_record(&rec, "c:c2", 4, NULL, 0);
  harness_record(&rec, "w:60000:1795417200000:{\"segment\":\"gold\"}", 40, NULL, 0);
  harness_record(&rec, "sg:1:1795417200000:app", 22, NULL, 0);
  put_file("corpus/staterec", "tombstones", rec.p, rec.len);
  cxp_buf_free(&frames);
  cxp_buf_free(&rec);
  cxp_buf_free(&all);
}

/* ---- snapshots ------------------------------------------------------------- */

/* A snapshot as fuzz_snapshot takes it: the file without its magic (8
 * bytes) and its checksum (the last 8). */
static void snapshot_seed(const char *name, const cxp_state *s, void *core,
                          const cxp_buf *extra, int format1) {
  char path[] = "/tmp/cxp_fuzz_gen_XXXXXX", err[256];
  int fd = mkstemp(path);
  if (fd < 0) {
    perror("mkstemp");
    exit(1);
  }
  close(fd);
  if (cxp_snapshot_write(path, s, 0, 41, core ? cxp_core_state_ext : NULL, core, extra, err,
                         sizeof err) != 0) {
    fprintf(stderr, "%s\n", err);
    exit(1);
  }
  size_t len;
  char errf[256];
  char *t = cxp_read_file(path, &len, errf, sizeof errf);
  unlink(path);
  if (t == NULL || len < 48) { /* a header (40 bytes) and a checksum */
    fprintf(stderr, "gen_corpus: snapshot %s: %s\n", name, t ? "short" : errf);
    exit(1);
  }
  if (format1) t[8] = 1;
  put_file("corpus/snapshot", name, t + 8, len - 16);
  free(t);
}

/* A seed of the corpus read back, to make a near-valid one from. */
static char *seed_back(const char *name, size_t *len) {
  char rel[256];
  snprintf(rel, sizeof rel, "tests/fuzz/corpus/snapshot/%s", name);
  return read_tree_file(rel, len);
}

static void snapshots(cxp_core *c) {
  mkdirs("corpus/snapshot");
  cxp_buf extra;
  cxp_buf_init(&extra);
  cxp_core_state_extra(c, 0, &extra);
  snapshot_seed("customers-and-groups", &c->state, c, &extra, 0);
  snapshot_seed("customers-only-format1", &c->state, c, NULL, 1);
  cxp_state empty;
  cxp_state_init(&empty);
  snapshot_seed("empty", &empty, NULL, NULL, 0);
  cxp_state_close(&empty);
  cxp_buf_free(&extra);
  /* Near-valid ones: the header's count one more, a newer format, an offset
   * of -1 (nothing covered) and one under it, bytes after the records that
   * are no frames, the last record cut short. Layout (fuzz_snapshot.c):
   * format 0..3, partition 4..7, offset 8..15, count 16..23, body length
   * 24..31, body. */
  size_t len;
  char *t = seed_back("customers-and-groups", &len);
  t[16]++;
  put_file("corpus/snapshot", "count-one-more", t, len);
  t[16]--;
  t[0] = 3;
  put_file("corpus/snapshot", "format-3", t, len);
  t[0] = 2;
  memset(t + 8, 0xff, 8);
  put_file("corpus/snapshot", "offset-minus-1", t, len);
  t[8] = (char)0xfe;
  put_file("corpus/snapshot", "offset-minus-2", t, len);
  memset(t + 8, 0, 8);
  put_file("corpus/snapshot", "record-cut", t, len - 60);
  free(t);
  t = seed_back("customers-only-format1", &len);
  char *g = malloc(len + 5);
  memcpy(g, t, len);
  memcpy(g + len, "junk!", 5);
  put_file("corpus/snapshot", "trailing-junk", g, len + 5);
  g[0] = 2;
  put_file("corpus/snapshot", "trailing-junk-format2", g, len + 5);
  free(g);
  free(t);
}

/* The hanging record of regress/staterec as a snapshot's only customer:
 * the snapshot path hinted the case clock with his latest event too
 * (cxp_core_state_restore_cases). */
static void crafted_snapshot(const cxp_buf *sec, int64_t last_ts) {
  mkdirs("regress/snapshot");
  cxp_state st;
  cxp_state_init(&st);
  cxp_customer *cu = cxp_shard_get(&st, cxp_state_shard(&st, 0), "c1", 2);
  cu->last_offset = 4;
  cu->last_ts_ms = last_ts;
  cu->open_cases = 1;
  char path[] = "/tmp/cxp_fuzz_gen_XXXXXX", err[256];
  int fd = mkstemp(path);
  close(fd);
  if (cxp_snapshot_write(path, &st, 0, 9, NULL, NULL, NULL, err, sizeof err) != 0) {
    fprintf(stderr, "%s\n", err);
    exit(1);
  }
  size_t len;
  char *t = cxp_read_file(path, &len, err, sizeof err);
  unlink(path);
  cxp_state_close(&st);
  /* The record written has no section: put his in, growing the record's
   * and the body's lengths (fuzz_snapshot recomputes the body's). Record
   * layout: 4-byte length, then the staterec, whose last byte is the
   * section's length 0. */
  if (t == NULL || len != 48 + 4 + (size_t)(unsigned char)t[40]) {
    fprintf(stderr, "gen_corpus: crafted snapshot: unexpected layout\n");
    exit(1);
  }
  cxp_buf out;
  cxp_buf_init(&out);
  size_t rl = (size_t)(unsigned char)t[40] - 1 + 1 + sec->len; /* a one-byte length */
  cxp_buf_put(&out, t + 8, 32);
  cxp_put_le(&out, rl, 4);
  cxp_buf_put(&out, t + 44, (size_t)(unsigned char)t[40] - 1);
  cxp_put_u8(&out, (unsigned)sec->len);
  cxp_buf_put(&out, sec->p, sec->len);
  put_file("regress/snapshot", "case-clock-at-second-minus-2.4e15", out.p, out.len);
  cxp_buf_free(&out);
  free(t);
}

/* ---- repartition records -------------------------------------------------- */

/* The repartition topic's messages a core of 3 input partitions and 2
 * repartition partitions writes, in fuzz_repartition's format: head (bit 0
 * the partition its key names), u16 length, bytes. */
static cxp_buf rp_seed;

static void rp_capture(void *opaque, const cxp_msg *from, cxp_stream s, const char *key,
                       size_t klen, const char *v, size_t vlen) {
  (void)opaque, (void)from;
  if (s != CXP_STREAM_PARTIALS) return;
  if (vlen > 65535) {
    fprintf(stderr, "gen_corpus: a repartition record the harness format cannot hold\n");
    exit(1);
  }
  cxp_put_u8(&rp_seed, klen > 0 ? (unsigned)(key[klen - 1] - '0') & 1u : 0u);
  cxp_put_le(&rp_seed, vlen, 2);
  cxp_buf_put(&rp_seed, v, vlen);
}

static void rp_put(const char *name, int head, const char *v) {
  cxp_buf b;
  cxp_buf_init(&b);
  cxp_put_u8(&b, (unsigned)head);
  cxp_put_le(&b, strlen(v), 2);
  cxp_buf_put(&b, v, strlen(v));
  put_file("corpus/repartition", name, b.p, b.len);
  cxp_buf_free(&b);
}

static void repartition(const cxp_pipeline *pl) {
  mkdirs("corpus/repartition");
  cxp_buf_init(&rp_seed);
  cxp_core c;
  cxp_core_init(&c, pl, rp_capture, NULL);
  cxp_core_set_inputs(&c, 3, 2);
  /* On each input partition: surveys and a complaint over three minutes,
   * one at 10:09 (its watermark, 5 minutes behind, closes the first
   * 1-minute windows), one back at 10:01:50 (a revision of a closed one),
   * and one at 11:30, which closes the rest. */
  static const char *const ev[] = {
      "{\"event_id\":\"r1\",\"type\":\"survey.csat\",\"customer_id\":\"c1\","
      "\"ts\":\"2026-11-23T10:00:10Z\",\"score\":5,"
      "\"segment\":\"gold\",\"channel\":\"web\"}",
      "{\"event_id\":\"r2\",\"type\":\"survey.nps\",\"customer_id\":\"c2\","
      "\"ts\":\"2026-11-23T10:00:40Z\",\"score\":9,"
      "\"segment\":\"silver\",\"channel\":\"app\"}",
      "{\"event_id\":\"r3\",\"type\":\"survey.ces\",\"customer_id\":\"c3\","
      "\"ts\":\"2026-11-23T10:01:20Z\",\"score\":6,"
      "\"segment\":\"gold\",\"channel\":\"phone\"}",
      "{\"event_id\":\"r4\",\"type\":\"complaint\",\"customer_id\":\"c4\","
      "\"ts\":\"2026-11-23T10:02:30Z\",\"case_id\":\"k4\",\"category\":\"design\","
      "\"severity\":1,\"touchpoint\":\"app\",\"segment\":\"gold\"}",
      "{\"event_id\":\"r5\",\"type\":\"survey.csat\",\"customer_id\":\"c5\","
      "\"ts\":\"2026-11-23T10:09:00Z\",\"score\":2,"
      "\"segment\":\"gold\",\"channel\":\"web\"}",
      "{\"event_id\":\"r6\",\"type\":\"survey.csat\",\"customer_id\":\"c6\","
      "\"ts\":\"2026-11-23T10:01:50Z\",\"score\":4,"
      "\"segment\":\"gold\",\"channel\":\"web\"}",
      "{\"event_id\":\"r7\",\"type\":\"usage\",\"customer_id\":\"c7\","
      "\"ts\":\"2026-11-23T11:30:00Z\",\"count\":2,\"segment\":\"silver\"}",
  };
  for (int32_t p = 0; p < 3; p++)
    for (size_t i = 0; i < sizeof ev / sizeof ev[0]; i++) {
      cxp_msg m = {"in", p, (int64_t)i, ev[i], strlen(ev[i]), NULL, 0, 0, 0, 0};
      cxp_core_process(&c, &m);
    }
  put_file("corpus/repartition", "records", rp_seed.p, rp_seed.len);
  cxp_core_close(&c);
  cxp_buf_free(&rp_seed);
  rp_put("marker", 1,
         "{\"v\":1,\"marker\":true,\"partition\":2,\"watermark\":1795428000000}");
  rp_put("not-a-record", 0, "{\"v\":1,\"window\":");
}

int main(int argc, char **argv) {
  if (argc > 1) tree = argv[1];
  events();
  settings_files();
  cxp_pipeline pl;
  cxp_pipeline_defaults(&pl);
  cxp_core c;
  cxp_core_init(&c, &pl, ignore, NULL);
  c.changelog = 1;
  traffic(&c);
  snapshots(&c); /* before the flush: the customers are what a snapshot holds either way */
  state_records(&c);
  cxp_core_close(&c);
  repartition(&pl);
  crafted();
  printf("gen_corpus: %d files written under %s/tests/fuzz\n", written, tree);
  return 0;
}
