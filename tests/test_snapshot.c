/* Unit tests of the state records (staterec.c) and snapshot files
 * (snapshot.c) of durable state: a customer's state survives a round trip
 * bit for bit, and every kind of damaged file is refused before it changes
 * anything. */
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "pipeline.h"
#include "snapshot.h"
#include "staterec.h"

static void ignore(void *opaque, cxp_stream s, const char *key, size_t klen, const char *v,
                   size_t vlen) {
  (void)opaque, (void)s, (void)key, (void)klen, (void)v, (void)vlen;
}

static void feed(cxp_core *c, int64_t offset, const char *json) {
  cxp_msg m = {"t", 0, offset, json, strlen(json), NULL, 0, 0, 0, 0};
  CHECK_INT(cxp_core_process(c, &m), CXP_OK);
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
  cxp_core_init(&core, &pl, ignore, NULL);
  for (size_t i = 0; i < sizeof events / sizeof events[0]; i++)
    feed(&core, (int64_t)i + 10, events[i]);
  CHECK_INT(core.state.customers, 3);

  /* One record, read back into another state. */
  const cxp_shard *sh = core.state.shards[0];
  const cxp_customer *c1 = cxp_shard_find(sh, "c1", 2);
  cxp_buf b;
  cxp_buf_init(&b);
  cxp_staterec_write(&b, c1, cxp_state_segment_name(&core.state, c1->segment));
  cxp_state other;
  cxp_state_init(&other);
  cxp_shard *osh = cxp_state_shard(&other, 0);
  char err[256];
  CHECK_INT(cxp_staterec_read((const uint8_t *)b.p, b.len, &other, osh, err, sizeof err), 0);
  const cxp_customer *o1 = cxp_shard_find(osh, "c1", 2);
  CHECK(o1 != NULL && same_customer(&core.state, c1, &other, o1));
  if (o1) CHECK_INT(o1->last_offset, 11);
  /* Damaged records change nothing: cut short, a version from elsewhere, a
   * count past today's, a byte too many. */
  size_t customers = other.customers;
  CHECK_INT(cxp_staterec_read((const uint8_t *)b.p, b.len - 1, &other, osh, err, sizeof err), -1);
  CHECK_CONTAINS(err, "truncated");
  b.p[0] = 9;
  CHECK_INT(cxp_staterec_read((const uint8_t *)b.p, b.len, &other, osh, err, sizeof err), -1);
  CHECK_CONTAINS(err, "version 9");
  b.p[0] = CXP_STATEREC_VERSION;
  cxp_buf_putc(&b, 0);
  CHECK_INT(cxp_staterec_read((const uint8_t *)b.p, b.len, &other, osh, err, sizeof err), -1);
  CHECK_CONTAINS(err, "trailing");
  CHECK_INT(other.customers, customers);
  cxp_buf_free(&b);
  cxp_state_close(&other);

  /* The whole partition through a file. */
  char path[512];
  snprintf(path, sizeof path, "%s/p0.snap", dir);
  CHECK_INT(cxp_snapshot_write(path, &core.state, 0, 4242, err, sizeof err), 0);
  cxp_state_init(&other);
  int64_t off = -1;
  CHECK_INT(cxp_snapshot_read(path, &other, 0, &off, err, sizeof err), 3);
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
    CHECK(c3->clv == 900);
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
    CHECK_INT(cxp_snapshot_read(bad, &other, 0, &off, err, sizeof err), -1);
    CHECK_CONTAINS(err, cases[i].what);
    CHECK_INT(other.customers, 0);
    cxp_state_close(&other);
  }
  cxp_state_init(&other);
  CHECK_INT(cxp_snapshot_read(path, &other, 1, &off, err, sizeof err), -1);
  CHECK_CONTAINS(err, "of partition 0, not 1");
  snprintf(bad, sizeof bad, "%s/missing.snap", dir);
  CHECK_INT(cxp_snapshot_read(bad, &other, 0, &off, err, sizeof err), -1);
  CHECK_CONTAINS(err, "No such file");
  CHECK_INT(other.customers, 0);
  cxp_state_close(&other);
  cxp_core_close(&core);
}

int main(void) {
  char dir[] = "/tmp/cxp_snap_XXXXXX";
  if (mkdtemp(dir) == NULL) return 2;
  test_roundtrip(dir);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return TEST_REPORT();
}
