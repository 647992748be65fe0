/* What the tests share beside test.h's checks: the reference instant, C
 * strings as cxp_str, a core's outputs collected or discarded, messages of
 * JSON text fed to a core, the pipeline of customer state alone, members of
 * parsed JSON, stderr caught in a file, and a scratch directory removed.
 *
 * Static functions in a header, as in shell/kafka_harness.h: each test is one
 * program of one file, so the CHECKs made here count in its totals; H_FN
 * marks them unused for the programs that call none of them. */
#ifndef CXP_TEST_HELPERS_H
#define CXP_TEST_HELPERS_H

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "pipeline.h"
#include "staterec.h"
#include "test.h"

#define H_FN static __attribute__((unused))

/* The reference instant: T0 = 2026-11-23T07:00:00Z = 1795417200000 ms
 * (test_timeutil.c derives it), a whole number of minutes, of hours and of
 * 15-minute windows since the epoch (1795417200000 / 900000 = 1994908). */
#define T0 1795417200000LL
#define S_MS 1000LL
#define M_MS 60000LL
#define H_MS 3600000LL
#define D_MS 86400000LL

H_FN cxp_str str_of(const char *s) {
  cxp_str r = {s, s ? strlen(s) : 0};
  return r;
}

/* ---- a core's outputs ------------------------------------------------------ */

typedef struct outs {
  cxp_stream stream[64];
  char key[64][96];
  char val[64][2048]; /* NUL-terminated; records of the repartition topic are binary */
  size_t len[64];
  const cxp_msg *from[64]; /* the message each answers to (valid during its call) */
  int64_t from_offset[64];
  int32_t from_partition[64];
  int n;
  int with_cases; /* collect topics.cases records too (most tests look past them) */
} outs;

/* The bytes handed to emit live in the core's buffer only during the call:
 * copy them. */
H_FN void collect(void *opaque, const cxp_msg *from, cxp_stream st, const char *key,
                  size_t klen, const char *v, size_t vlen) {
  outs *o = opaque;
  if (o->n >= 64 || (st == CXP_STREAM_CASES && !o->with_cases)) return;
  o->stream[o->n] = st;
  o->from[o->n] = from;
  o->from_offset[o->n] = from ? from->offset : -2;
  o->from_partition[o->n] = from ? from->partition : -2;
  snprintf(o->key[o->n], sizeof o->key[0], "%.*s", (int)klen, key ? key : "");
  size_t n = vlen < sizeof o->val[0] - 1 ? vlen : sizeof o->val[0] - 1;
  memcpy(o->val[o->n], v, n);
  o->val[o->n][n] = '\0';
  o->len[o->n] = n;
  o->n++;
}

/* For a core whose outputs a test does not look at. */
H_FN void discard(void *o, const cxp_msg *from, cxp_stream s, const char *k, size_t kl,
                  const char *v, size_t vl) {
  (void)o, (void)from, (void)s, (void)k, (void)kl, (void)v, (void)vl;
}

H_FN int count_stream(const outs *o, cxp_stream st) {
  int n = 0;
  for (int i = 0; i < o->n; i++) n += o->stream[i] == st;
  return n;
}

/* ---- messages in ----------------------------------------------------------- */

/* One message of JSON text at `offset` of input partition `part` (topic
 * "in"), with no key and no clocks. */
H_FN cxp_reason feed_core_part(cxp_core *c, int32_t part, int64_t offset, const char *json) {
  cxp_msg m = {"in", part, offset, json, strlen(json), NULL, 0, 0, 0, 0};
  return cxp_core_process(c, &m);
}

/* The same with no topic and no partition, as the replay reads a file. */
H_FN cxp_reason feed_core(cxp_core *c, int64_t offset, const char *json) {
  cxp_msg m = {NULL, -1, offset, json, strlen(json), NULL, 0, 0, 0, 0};
  return cxp_core_process(c, &m);
}

/* A pipeline of customer state only: no windows, cases or churn. */
H_FN void customers_only(cxp_pipeline *p) {
  cxp_pipeline_defaults(p);
  p->win_enabled = 0;
  p->rec_enabled = 0;
  p->churn_enabled = 0;
}

/* Every record of a flush's changelog frames (cxp_core_state_flush) restored
 * into input partition 0 of a core, as a restart reads them back. */
H_FN void restore_frames(cxp_core *c, const cxp_buf *fr) {
  size_t pos = 0, kl, vl;
  const char *k;
  const uint8_t *v;
  char err[256];
  while (cxp_staterec_frame_next(fr->p, fr->len, &pos, &k, &kl, &v, &vl))
    CHECK_INT(cxp_core_state_restore(c, 0, k, kl, v, vl, err, sizeof err), 0);
}

/* ---- parsed JSON ----------------------------------------------------------- */

/* A member's string, or NULL. */
H_FN const char *get_s(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A member's number, or NAN (equal to nothing, so a check of it fails). */
H_FN double get_n(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* ---- files ----------------------------------------------------------------- */

/* stderr into a file for a while, to find a log line. */
H_FN int capture_begin(const char *path) {
  fflush(stderr);
  int saved = dup(2);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  dup2(fd, 2);
  close(fd);
  return saved;
}

H_FN void capture_end(int saved) {
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
}

/* A scratch directory (mkdtemp's) and what it holds, gone. */
H_FN void remove_tree(const char *dir) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

#endif
