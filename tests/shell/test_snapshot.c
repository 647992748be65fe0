/* Unit tests of the state records (staterec.c) and snapshot files
 * (snapshot.c) of durable state: a customer's state survives a round trip
 * bit for bit, and every kind of damaged file is refused before it changes
 * anything. */
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "pipeline.h"
#include "snapshot.h"
#include "staterec.h"

static void feed(cxp_core *c, int64_t offset, const char *json) {
  CHECK_INT(feed_core_part(c, 0, offset, json), CXP_OK);
}

/* Two customers' states are the same: every field from last_offset on,
 * and the segment by name. */
static int same_customer(const cxp_state *a, const cxp_customer *x, const cxp_state *b,
                         const cxp_customer *y) {
  size_t head = offsetof(cxp_customer, last_offset), tail = offsetof(cxp_customer, segment);
  return x->hash == y->hash && x->id_len == y->id_len && memcmp(x->id, y->id, x->id_len) == 0 &&
         memcmp((const char *)x + head, (const char *)y + head, tail - head) == 0 &&
         x->responses == y->responses &&
         memcmp(x->sq_responses, y->sq_responses, sizeof x->sq_responses) == 0 &&
         x->nps_last_score == y->nps_last_score && x->consent == y->consent &&
         x->recent_pos == y->recent_pos && x->cohort == y->cohort &&
         strcmp(cxp_state_segment_name(a, x->segment), cxp_state_segment_name(b, y->segment)) == 0;
}

static const char *const events[] = {
    "{\"event_id\":\"e1\",\"type\":\"survey.csat\",\"customer_id\":\"c1\","
    "\"ts\":\"2026-11-23T07:00:00Z\",\"score\":5,\"segment\":\"gold\"}",
    "{\"event_id\":\"e2\",\"type\":\"survey.nps\",\"customer_id\":\"c1\","
    "\"ts\":\"2026-11-24T07:00:00Z\",\"score\":3}",
    "{\"event_id\":\"e3\",\"type\":\"purchase\",\"customer_id\":\"c2\","
    "\"ts\":\"2026-11-20T07:00:00Z\",\"amount\":120.5,\"segment\":\"silver\"}",
    "{\"event_id\":\"e4\",\"type\":\"profile\",\"customer_id\":\"c3\","
    "\"ts\":\"2026-11-20T07:00:00Z\",\"segment\":\"bronze\",\"consent\":false,\"clv\":900}",
    "{\"event_id\":\"e5\",\"type\":\"survey.servqual\",\"customer_id\":\"c3\","
    "\"ts\":\"2026-11-21T07:00:00Z\",\"dimensions\":{\"reliability\":"
    "{\"expected\":7,\"perceived\":4}}}",
    "{\"event_id\":\"e6\",\"type\":\"contact\",\"customer_id\":\"c2\","
    "\"ts\":\"2026-11-22T07:00:00Z\",\"wait_s\":300,\"handle_s\":600,\"resolved\":true}",
};

static void test_roundtrip(const char *dir) {
  cxp_pipeline pl;
  cxp_pipeline_defaults(&pl);
  pl.win_enabled = pl.rec_enabled = 0;
  cxp_core core;
  cxp_core_init(&core, &pl, discard, NULL);
  for (size_t i = 0; i < sizeof events / sizeof events[0]; i++)
    feed(&core, (int64_t)i + 10, events[i]);
  CHECK_INT(core.state.customers, 3);

  /* One record, read back into another state. */
  const cxp_shard *sh = core.state.shards[0];
  const cxp_customer *c1 = cxp_shard_find(sh, "c1", 2);
  cxp_buf b;
  cxp_buf_init(&b);
  cxp_staterec_write(&b, c1, cxp_state_segment_name(&core.state, c1->segment), NULL, 0);
  cxp_state other;
  cxp_state_init(&other);
  cxp_shard *osh = cxp_state_shard(&other, 0);
  char err[256];
  const uint8_t *ext;
  size_t el;
  cxp_buf exts;
  cxp_buf_init(&exts);
  int64_t max_ts;
  CHECK_INT(cxp_staterec_read((const uint8_t *)b.p, b.len, &other, osh, NULL, &ext, &el, err, sizeof err), 0);
  const cxp_customer *o1 = cxp_shard_find(osh, "c1", 2);
  CHECK(o1 != NULL && same_customer(&core.state, c1, &other, o1));
  if (o1) CHECK_INT(o1->last_offset, 11);
  /* Damaged records change nothing: cut short, a version from elsewhere, a
   * count past today's, a byte too many. */
  size_t customers = other.customers;
  CHECK_INT(cxp_staterec_read((const uint8_t *)b.p, b.len - 1, &other, osh, NULL, &ext, &el, err, sizeof err), -1);
  CHECK_CONTAINS(err, "truncated");
  b.p[0] = 9;
  CHECK_INT(cxp_staterec_read((const uint8_t *)b.p, b.len, &other, osh, NULL, &ext, &el, err, sizeof err), -1);
  CHECK_CONTAINS(err, "version 9");
  b.p[0] = CXP_STATEREC_VERSION;
  cxp_buf_putc(&b, 0);
  CHECK_INT(cxp_staterec_read((const uint8_t *)b.p, b.len, &other, osh, NULL, &ext, &el, err, sizeof err), -1);
  CHECK_CONTAINS(err, "trailing");
  CHECK_INT(other.customers, customers);
  cxp_buf_free(&b);
  cxp_state_close(&other);

  /* The whole partition through a file. */
  char path[512];
  snprintf(path, sizeof path, "%s/p0.snap", dir);
  CHECK_INT(cxp_snapshot_write(path, &core.state, 0, 4242, NULL, NULL, NULL, err, sizeof err), 0);
  cxp_state_init(&other);
  int64_t off = -1;
  CHECK_INT(cxp_snapshot_read(path, &other, 0, &off, &exts, NULL, &max_ts, err, sizeof err), 3);
  CHECK_INT(off, 4242);
  static const char *ids[] = {"c1", "c2", "c3"};
  for (int i = 0; i < 3; i++) {
    const cxp_customer *x = cxp_shard_find(core.state.shards[0], ids[i], 2);
    const cxp_customer *y = cxp_shard_find(other.shards[0], ids[i], 2);
    CHECK(x && y && same_customer(&core.state, x, &other, y));
  }
  const cxp_customer *c3 = cxp_shard_find(other.shards[0], "c3", 2);
  if (c3) {
    CHECK_INT(c3->consent, 0);
    CHECK_EQ(c3->clv, 900);
    CHECK_STR(cxp_state_segment_name(&other, c3->segment), "bronze");
  }
  cxp_state_close(&other);

  /* Damaged files: refused, and the state they were read into stays empty. */
  FILE *f = fopen(path, "rb");
  static unsigned char data[1 << 16];
  size_t len = fread(data, 1, sizeof data, f);
  fclose(f);
  char bad[512];
  snprintf(bad, sizeof bad, "%s/bad.snap", dir);
  struct {
    const char *what;
    size_t cut;   /* bytes kept; 0: all */
    size_t flip;  /* byte to change; 0: none */
  } cases[] = {{"checksum mismatch", 0, 60}, {"truncated", 0, 0}, {"not a cxpulse", 0, 3}};
  cases[1].cut = len - 5;
  for (int i = 0; i < 3; i++) {
    f = fopen(bad, "wb");
    size_t keep = cases[i].cut ? cases[i].cut : len;
    unsigned char save = data[cases[i].flip];
    if (cases[i].flip) data[cases[i].flip] ^= 0x20;
    fwrite(data, 1, keep, f);
    fclose(f);
    if (cases[i].flip) data[cases[i].flip] = save;
    cxp_state_init(&other);
    CHECK_INT(cxp_snapshot_read(bad, &other, 0, &off, &exts, NULL, &max_ts, err, sizeof err), -1);
    CHECK_CONTAINS(err, cases[i].what);
    CHECK_INT(other.customers, 0);
    cxp_state_close(&other);
  }
  /* A newer format than this build reads (checked before the checksum). */
  f = fopen(bad, "wb");
  data[8] = 3;
  fwrite(data, 1, len, f);
  fclose(f);
  data[8] = 2;
  cxp_state_init(&other);
  CHECK_INT(cxp_snapshot_read(bad, &other, 0, &off, &exts, NULL, &max_ts, err, sizeof err), -1);
  CHECK_CONTAINS(err, "format 3; this build reads 1 to 2");
  cxp_state_close(&other);

  /* Frames of the rest of the partition's state follow the customers and
   * come back as written; a reader that does not ask for them gets the
   * customers alone. */
  cxp_buf extra, got;
  cxp_buf_init(&extra);
  cxp_buf_init(&got);
  const uint8_t gv[] = {1, 0, 0};
  cxp_staterec_frame_put(&extra, "sg:", "1:0:tp", 6, gv, sizeof gv);
  cxp_staterec_frame_put(&extra, "sg:", "2:0:tp", 6, NULL, 0);
  CHECK_INT(cxp_snapshot_write(path, &core.state, 0, 7, NULL, NULL, &extra, err, sizeof err), 0);
  cxp_state_init(&other);
  CHECK_INT(cxp_snapshot_read(path, &other, 0, &off, &exts, &got, &max_ts, err, sizeof err), 3);
  CHECK_MEM(got.p, got.len, extra.p, extra.len);
  cxp_state_close(&other);
  cxp_state_init(&other);
  CHECK_INT(cxp_snapshot_read(path, &other, 0, &off, &exts, NULL, &max_ts, err, sizeof err), 3);
  cxp_state_close(&other);
  cxp_buf_free(&extra);
  cxp_buf_free(&got);

  cxp_state_init(&other);
  CHECK_INT(cxp_snapshot_read(path, &other, 1, &off, &exts, NULL, &max_ts, err, sizeof err), -1);
  CHECK_CONTAINS(err, "of partition 0, not 1");
  snprintf(bad, sizeof bad, "%s/missing.snap", dir);
  CHECK_INT(cxp_snapshot_read(bad, &other, 0, &off, &exts, NULL, &max_ts, err, sizeof err), -1);
  CHECK_CONTAINS(err, "No such file");
  CHECK_INT(other.customers, 0);
  cxp_state_close(&other);
  cxp_buf_free(&exts);
  cxp_core_close(&core);
}

/* The changelog side of the core: a customer changed by events is flushed
 * once per interval however often he changed, duplicates change nothing,
 * the frames read back into another core give the same customers, and a
 * tombstone removes one. */
static void test_changelog(void) {
  cxp_pipeline p;
  customers_only(&p);
  cxp_core a;
  cxp_core_init(&a, &p, discard, NULL);
  feed(&a, 0, "{\"event_id\":\"e1\",\"type\":\"survey.csat\",\"customer_id\":\"ann\","
              "\"ts\":\"2026-11-01T10:00:00Z\",\"score\":5,\"segment\":\"gold\"}");
  feed(&a, 1, "{\"event_id\":\"e2\",\"type\":\"survey.csat\",\"customer_id\":\"ann\","
              "\"ts\":\"2026-11-01T10:00:00Z\",\"score\":1}");
  feed(&a, 2, "{\"event_id\":\"e3\",\"type\":\"survey.nps\",\"customer_id\":\"bob\","
              "\"ts\":\"2026-11-01T10:00:00Z\",\"score\":9}");
  CHECK_INT(cxp_core_state_dirty(&a, 0), 2); /* ann twice, bob once: two customers */
  CHECK_INT(cxp_core_state_dirty(&a, 1), 0);
  cxp_buf b;
  cxp_buf_init(&b);
  CHECK_INT(cxp_core_state_flush(&a, 0, &b), 2);
  CHECK_INT(cxp_core_state_dirty(&a, 0), 0);
  /* A replayed offset and a repeated event id change nobody. */
  feed(&a, 1, "{\"event_id\":\"e2\",\"type\":\"survey.csat\",\"customer_id\":\"ann\","
              "\"ts\":\"2026-11-01T10:00:00Z\",\"score\":1}");
  feed(&a, 3, "{\"event_id\":\"e3\",\"type\":\"survey.nps\",\"customer_id\":\"bob\","
              "\"ts\":\"2026-11-01T10:00:00Z\",\"score\":9}");
  CHECK_INT(cxp_core_state_dirty(&a, 0), 0);
  cxp_buf empty;
  cxp_buf_init(&empty);
  CHECK_INT(cxp_core_state_flush(&a, 0, &empty), 0);
  CHECK_INT(empty.len, 0);

  /* The frames: keys "c:<id>", values that restore the same customers. */
  cxp_core r;
  cxp_core_init(&r, &p, discard, NULL);
  size_t pos = 0, kl, vl;
  const char *k;
  const uint8_t *v;
  char err[256];
  int n = 0;
  while (cxp_staterec_frame_next(b.p, b.len, &pos, &k, &kl, &v, &vl)) {
    CHECK_GT(kl, 2);
    if (kl > 2) CHECK_LIT(k, 2, "c:");
    CHECK_INT(cxp_core_state_restore(&r, 0, k, kl, v, vl, err, sizeof err), 0);
    n++;
  }
  CHECK_INT(n, 2);
  CHECK_INT(pos, b.len);
  const cxp_customer *ann = cxp_shard_find(r.state.shards[0], "ann", 3);
  CHECK(ann != NULL);
  if (ann) {
    CHECK_INT(ann->last_offset, 1);
    CHECK_EQ(cxp_customer_csat(ann), 50.0); /* 5 and 1 at one moment: 1 of 2 satisfied */
    CHECK_STR(cxp_state_segment_name(&r.state, ann->segment), "gold");
    CHECK(same_customer(&a.state, cxp_shard_find(a.state.shards[0], "ann", 3), &r.state, ann));
    CHECK_INT(ann->dirty, 0); /* restored state is not a change to write again */
  }
  CHECK_INT(cxp_core_state_dirty(&r, 0), 0);
  /* Events at or below a restored offset are skipped. */
  feed(&r, 1, "{\"event_id\":\"e2-again\",\"type\":\"survey.csat\",\"customer_id\":"
              "\"ann\",\"ts\":\"2026-11-01T10:00:00Z\",\"score\":1}");
  CHECK_INT(r.n.duplicates, 1);
  CHECK_INT(cxp_core_state_dirty(&r, 0), 0);

  /* A tombstone removes; unknown keys and broken records are refused and
   * change nothing. */
  CHECK_INT(cxp_core_state_restore(&r, 0, "c:bob", 5, NULL, 0, err, sizeof err), 0);
  CHECK(cxp_shard_find(r.state.shards[0], "bob", 3) == NULL);
  CHECK_INT(r.state.customers, 1);
  CHECK_INT(cxp_core_state_restore(&r, 0, "x:bob", 5, "\x01", 1, err, sizeof err), -1);
  CHECK_CONTAINS(err, "no kind this build knows");
  CHECK_INT(cxp_core_state_restore(&r, 0, "c:zed", 5, "\x01\x03", 2, err, sizeof err), -1);
  CHECK_CONTAINS(err, "customer id");
  CHECK_INT(r.state.customers, 1);
  /* A frame cut short is not read. */
  pos = 0;
  CHECK_INT(cxp_staterec_frame_next(b.p, b.len - 1, &pos, &k, &kl, &v, &vl), 1);
  CHECK_INT(cxp_staterec_frame_next(b.p, b.len - 1, &pos, &k, &kl, &v, &vl), 0);
  cxp_buf_free(&b);
  cxp_buf_free(&empty);
  cxp_core_close(&r);
  cxp_core_close(&a);
}

/* Eviction. Over state.max_customers (1 here) the one other customer of
 * the shard leaves, his unwritten state in the next flush, never a
 * tombstone; past state.idle_ttl_days of event time a customer is
 * forgotten with a tombstone. */
static void csat_at(cxp_core *c, int64_t off, const char *who, const char *ts) {
  char buf[256];
  snprintf(buf, sizeof buf,
           "{\"event_id\":\"%s-%lld\",\"type\":\"survey.csat\",\"customer_id\":\"%s\","
           "\"ts\":\"%s\",\"score\":4}",
           who, (long long)off, who, ts);
  feed(c, off, buf);
}

static int frames(const cxp_buf *b, char keys[][16], int *tombstones) {
  size_t pos = 0, kl, vl;
  const char *k;
  const uint8_t *v;
  int n = 0;
  *tombstones = 0;
  while (cxp_staterec_frame_next(b->p, b->len, &pos, &k, &kl, &v, &vl) && n < 8) {
    snprintf(keys[n++], 16, "%.*s", (int)kl, k);
    if (v == NULL) ++*tombstones;
  }
  return n;
}

static void test_evict(void) {
  cxp_pipeline p;
  customers_only(&p);
  p.state_max_customers = 1;
  p.state_ttl_days = 0;
  cxp_core c;
  cxp_core_init(&c, &p, discard, NULL);
  c.changelog = 1;
  csat_at(&c, 0, "a", "2026-11-01T10:00:00Z");
  csat_at(&c, 1, "b", "2026-11-01T11:00:00Z");
  csat_at(&c, 2, "c", "2026-11-01T12:00:00Z");
  CHECK_INT(c.state.customers, 1);
  CHECK_INT(c.n.evicted_cap, 2);
  CHECK(cxp_shard_find(c.state.shards[0], "c", 1) != NULL);
  cxp_buf b;
  cxp_buf_init(&b);
  CHECK_INT(cxp_core_state_flush(&c, 0, &b), 3);
  char keys[8][16];
  int tomb;
  CHECK_INT(frames(&b, keys, &tomb), 3);
  CHECK_STR(keys[0], "c:a");
  CHECK_STR(keys[1], "c:b");
  CHECK_STR(keys[2], "c:c");
  CHECK_INT(tomb, 0);
  cxp_core_close(&c);

  /* TTL 30 days: at day 45, a (day 0) goes, b (day 20) and c stay. */
  p.state_max_customers = 0;
  p.state_ttl_days = 30;
  cxp_core_init(&c, &p, discard, NULL);
  c.changelog = 1;
  csat_at(&c, 0, "a", "2026-10-01T00:00:00Z");
  csat_at(&c, 1, "b", "2026-10-21T00:00:00Z");
  csat_at(&c, 2, "c", "2026-11-15T00:00:00Z");
  b.len = 0;
  CHECK_INT(cxp_core_state_flush(&c, 0, &b), 3);
  size_t gone = 0;
  for (int i = 0; i < 40; i++) gone += cxp_core_state_expire(&c, 0);
  CHECK_INT(gone, 1);
  CHECK_INT(c.n.evicted_ttl, 1);
  CHECK(cxp_shard_find(c.state.shards[0], "a", 1) == NULL);
  CHECK(cxp_shard_find(c.state.shards[0], "b", 1) != NULL);
  b.len = 0;
  CHECK_INT(cxp_core_state_flush(&c, 0, &b), 1);
  CHECK_INT(frames(&b, keys, &tomb), 1);
  CHECK_STR(keys[0], "c:a");
  CHECK_INT(tomb, 1);
  /* Without the changelog (a replay) nothing is kept for a flush. */
  c.changelog = 0;
  csat_at(&c, 3, "d", "2026-12-31T00:00:00Z"); /* b and c now idle past 30 days */
  b.len = 0;
  cxp_core_state_flush(&c, 0, &b);
  gone = 0;
  for (int i = 0; i < 40; i++) gone += cxp_core_state_expire(&c, 0);
  CHECK_INT(gone, 2);
  CHECK_INT(cxp_core_state_dirty(&c, 0), 0);
  cxp_buf_free(&b);
  cxp_core_close(&c);
}

/* Removing customers from the open-addressing table keeps every other one
 * findable, whatever the probe runs look like. */
static void test_remove(void) {
  cxp_state s;
  cxp_state_init(&s);
  cxp_shard *sh = cxp_state_shard(&s, 0);
  char id[16];
  enum { N = 3000 };
  for (int i = 0; i < N; i++) {
    int n = snprintf(id, sizeof id, "u%d", i);
    cxp_customer *c = cxp_shard_get(&s, sh, id, (size_t)n);
    if (i % 7 == 0) cxp_shard_touch(sh, c);
  }
  size_t dirty = sh->n_dirty;
  CHECK_INT(dirty, (N + 6) / 7);
  int removed = 0;
  for (int i = 0; i < N; i += 3) {
    int n = snprintf(id, sizeof id, "u%d", i);
    removed += cxp_shard_remove(&s, sh, id, (size_t)n);
  }
  CHECK_INT(removed, N / 3);
  CHECK_INT(cxp_shard_remove(&s, sh, "u0", 2), 0);
  CHECK_INT(s.customers, N - N / 3);
  /* Removed dirty customers (every 21st) left the dirty list. */
  CHECK_INT(sh->n_dirty, dirty - (N + 20) / 21);
  /* Each left on it knows its place there (what removal relies on). */
  int misplaced = 0;
  for (size_t k = 0; k < sh->n_dirty; k++) misplaced += sh->dirty[k]->dirty != k + 1;
  CHECK_INT(misplaced, 0);
  int found = 0, wrong = 0;
  for (int i = 0; i < N; i++) {
    int n = snprintf(id, sizeof id, "u%d", i);
    const cxp_customer *c = cxp_shard_find(sh, id, (size_t)n);
    if (i % 3 == 0) wrong += c != NULL;
    else found += c != NULL;
  }
  CHECK_INT(found, N - N / 3);
  CHECK_INT(wrong, 0);
  cxp_state_close(&s);
}

/* ---- restored values are range-checked ------------------------------------ */

#define T0 1795417200000LL /* 2026-11-23T07:00:00Z */

/* What one field of ann's record is set to, and what the refusal says. */
typedef struct bad_field {
  const char *what, *says;
  void (*set)(cxp_customer *c);
} bad_field;

static void landmark_far_back(cxp_customer *c) { c->landmark_ms[0] = INT64_MIN + 1; }
static void landmark_ahead(cxp_customer *c) { c->landmark_ms[2] = T0 + 1; }
static void offset_under(cxp_customer *c) { c->last_offset = -2; }
static void last_ts_2100(cxp_customer *c) { c->last_ts_ms = 4102444800000LL; }
static void active_1970(cxp_customer *c) { c->last_active_ms = 86400000; }
static void resolved_neg(cxp_customer *c) { c->resolved_ms = -1; }
static void sum_negative(cxp_customer *c) { c->sum[3] = -5; }
static void clv_nan(cxp_customer *c) { c->clv = NAN; }
static void nps_score_11(cxp_customer *c) { c->nps_last_score = 11; }

/* The second record a fuzzer of cxp_core_state_restore found: a decay
 * landmark of INT64_MIN + 1. The old code took it; the next event of his
 * moved the landmark by grid - landmark, a signed overflow (UBSan aborts
 * there; without it, his sums were shifted out). Now it is refused with the
 * field named, he is not held, and his next event is processed as a new
 * customer's. The other fields with a range are checked alike. */
static void test_bounds(void) {
  cxp_pipeline p;
  customers_only(&p);
  static const bad_field cases[] = {
      {"landmark far back", "decay landmark 0 at -9223372036854775807 ms", landmark_far_back},
      {"landmark past his latest event", "decay landmark 2 at 1795417200001 ms, expected 0..",
       landmark_ahead},
      {"offset", "last_offset -2", offset_under},
      {"latest event in 2100", "last_ts 4102444800000 ms lies outside 2000..2099", last_ts_2100},
      {"last activity in 1970", "last_active 86400000 ms lies outside", active_1970},
      {"resolved", "resolved -1 ms lies outside", resolved_neg},
      {"a negative sum", "decayed sum 3 is negative", sum_negative},
      {"clv", "clv nan", clv_nan},
      {"nps score", "a field out of range", nps_score_11},
  };
  char err[256];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    test_ctx = cases[i].what;
    cxp_core c;
    cxp_core_init(&c, &p, discard, NULL);
    cxp_customer *cu = cxp_customer_new("ann", 3, 0);
    cu->last_offset = 3;
    cu->last_ts_ms = T0;
    cu->landmark_ms[0] = cu->landmark_ms[1] = cu->landmark_ms[2] = T0 - 86400000;
    cases[i].set(cu);
    cxp_buf b;
    cxp_buf_init(&b);
    cxp_staterec_write(&b, cu, "gold", NULL, 0);
    free(cu);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    err[0] = '\0';
    CHECK_INT(cxp_core_state_restore(&c, 0, "c:ann", 5, b.p, b.len, err, sizeof err), -1);
    CHECK_CONTAINS(err, "state record of customer 'ann': ");
    CHECK_CONTAINS(err, cases[i].says);
    CHECK_INT(c.state.customers, 0);
    feed(&c, 4, "{\"event_id\":\"e9\",\"type\":\"survey.csat\",\"customer_id\":\"ann\","
                "\"ts\":\"2026-11-23T08:00:00Z\",\"score\":4}");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    const cxp_customer *ann = cxp_shard_find(c.state.shards[0], "ann", 3);
    CHECK(ann != NULL);
    if (ann) {
      CHECK_INT(ann->last_offset, 4);
      CHECK_EQ(cxp_customer_csat(ann), 100.0);
    }
    if (i == 0)
      fprintf(stderr, "bounds: the landmark record refused and the next event processed in "
                      "%.6f s\n",
              (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    cxp_buf_free(&b);
    cxp_core_close(&c);
  }

  /* A record filed under another customer's key is refused: it would
   * replace ann, and bob's tombstone would miss him. */
  test_ctx = "key and id";
  cxp_core c;
  cxp_core_init(&c, &p, discard, NULL);
  cxp_customer *cu = cxp_customer_new("bob", 3, 0);
  cu->last_ts_ms = T0;
  cxp_buf b;
  cxp_buf_init(&b);
  cxp_staterec_write(&b, cu, NULL, NULL, 0);
  CHECK_INT(cxp_core_state_restore(&c, 0, "c:ann", 5, b.p, b.len, err, sizeof err), -1);
  CHECK_STR(err, "changelog record 'c:ann': the state record is of another customer");
  CHECK_INT(cxp_core_state_restore(&c, 0, "c:bo", 4, b.p, b.len, err, sizeof err), -1);
  CHECK_INT(cxp_core_state_restore(&c, 0, "c:bob", 5, b.p, b.len, err, sizeof err), 0);
  CHECK_INT(c.state.customers, 1);
  /* A segment name with a NUL, or longer than the decoder's 64 bytes. */
  static const char seg65[] = "0123456789012345678901234567890123456789012345678901234567890123x";
  cxp_buf_reset(&b);
  cxp_staterec_write(&b, cu, seg65, NULL, 0);
  CHECK_INT(cxp_core_state_restore(&c, 0, "c:bob", 5, b.p, b.len, err, sizeof err), -1);
  CHECK_CONTAINS(err, "bad segment name");
  cxp_buf_reset(&b);
  cxp_staterec_write(&b, cu, "go", NULL, 0);
  /* The layout (staterec.h): version, 3 "bob", the segment's length 2,
   * then its bytes; the second becomes a NUL. */
  CHECK_INT(b.p[5], 2);
  b.p[7] = '\0';
  CHECK_INT(cxp_core_state_restore(&c, 0, "c:bob", 5, b.p, b.len, err, sizeof err), -1);
  CHECK_CONTAINS(err, "bad segment name");
  free(cu);
  cxp_buf_free(&b);
  cxp_core_close(&c);

  /* A snapshot claiming to cover an offset under -1 (the restorer would
   * start before the partition's first). */
  test_ctx = "snapshot offset";
  char dir[] = "/tmp/cxp_bnd_XXXXXX", path[64];
  CHECK(mkdtemp(dir) != NULL);
  snprintf(path, sizeof path, "%s/p0.snap", dir);
  cxp_state st;
  cxp_state_init(&st);
  CHECK_INT(cxp_snapshot_write(path, &st, 0, -7, NULL, NULL, NULL, err, sizeof err), 0);
  int64_t off, max_ts;
  cxp_buf exts;
  cxp_buf_init(&exts);
  CHECK_INT(cxp_snapshot_read(path, &st, 0, &off, &exts, NULL, &max_ts, err, sizeof err), -1);
  CHECK_CONTAINS(err, "covers changelog offset -7, expected -1 or more");
  CHECK_INT(cxp_snapshot_write(path, &st, 0, -1, NULL, NULL, NULL, err, sizeof err), 0);
  CHECK_INT(cxp_snapshot_read(path, &st, 0, &off, &exts, NULL, &max_ts, err, sizeof err), 0);
  CHECK_INT(off, -1);
  cxp_buf_free(&exts);
  cxp_state_close(&st);
  unlink(path);
  rmdir(dir);
  test_ctx = NULL;
}

int main(void) {
  char dir[] = "/tmp/cxp_snap_XXXXXX";
  if (mkdtemp(dir) == NULL) return 2;
  test_roundtrip(dir);
  test_changelog();
  test_remove();
  test_evict();
  test_bounds();
  remove_tree(dir);
  return TEST_REPORT();
}
