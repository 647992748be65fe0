/* What the fuzz targets (tests/fuzz/fuzz_*.c) share: a file of the input's
 * bytes for loaders that read a path, and a core run over a fixed handful
 * of events after a fuzzed restore, so that state the restore let in is
 * exercised the way traffic would (a case clock that makes the timing wheel
 * walk for ever shows up as a hang under libFuzzer's -timeout and the
 * replay's alarm). Header-only: each target is one program. */
#ifndef CXP_FUZZ_HARNESS_H
#define CXP_FUZZ_HARNESS_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core.h"
#include "winwire.h"

/* The input as a file: one memory file for the process, rewritten for each
 * input, named by its /proc/self/fd path (no disk, nothing to clean up). */
static inline const char *fuzz_path(const uint8_t *data, size_t size) {
  static int fd = -1;
  static char path[64];
  if (fd < 0) {
    fd = memfd_create("cxp-fuzz", 0);
    if (fd < 0) {
      perror("memfd_create");
      abort();
    }
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  }
  if (ftruncate(fd, 0) != 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size)) {
    perror("fuzz_path");
    abort();
  }
  return path;
}

/* Every JSON output of the core must be valid JSON (a NaN restored into a
 * sum or a value would come out as "nan"). The changelog stream is binary
 * and written by the shell, not here. */
static inline void fuzz_check_output(void *opaque, const cxp_msg *from, cxp_stream st,
                                     const char *key, size_t klen, const char *v,
                                     size_t vlen) {
  (void)from;
  (void)opaque, (void)key, (void)klen;
  if (st == CXP_STREAM_CHANGELOG) return;
  if (st == CXP_STREAM_PARTIALS && cxp_wire_is(v, vlen)) {
    /* A binary record for the repartition topic: it must read back whole. */
    cxp_wire_rd rd;
    cxp_window_partial p;
    char err[256];
    int got = cxp_wire_open(&rd, v, vlen, err, sizeof err);
    while (got == 0 && (got = cxp_wire_next(&rd, &p, err, sizeof err)) == 1) got = 0;
    if (got < 0) {
      fprintf(stderr, "fuzz: a window record does not read back: %s\n", err);
      abort();
    }
    return;
  }
  cJSON *j = cJSON_ParseWithLength(v, vlen);
  if (j == NULL) {
    fprintf(stderr, "fuzz: %s output is not JSON: %.*s\n", cxp_stream_name(st),
            (int)(vlen > 400 ? 400 : vlen), v);
    abort();
  }
  cJSON_Delete(j);
}

/* A pipeline with everything the restore feeds on: customers, windows,
 * recovery cases, churn (the defaults), but 64 parked steps rather than
 * 10000: the core keeps a copy slot per parked step, allocated and freed
 * with it, and that was most of an input's time. */
static inline void fuzz_pipeline_defaults(cxp_pipeline *p) {
  cxp_pipeline_defaults(p);
  p->rec_max_parked = 64;
  cxp_pipeline_cases(p, NULL, 0);
}

/* The targets' pipeline (fuzz_pipeline_defaults), made once. */
static inline const cxp_pipeline *fuzz_pipeline(void) {
  static cxp_pipeline pl;
  static int ready;
  if (!ready) {
    fuzz_pipeline_defaults(&pl);
    ready = 1;
  }
  return &pl;
}

/* Events after a restore, on input partition 0: a case opened and stepped,
 * surveys, a complaint, a jump of the clock to the end of 2099 (the widest
 * the decoder allows), a step after it; then quiet-partition ticks, the
 * idle sweep and a flush of everything, so that the restored state is
 * read, moved and written again. Offsets are past any a restored clock
 * claims to cover (2^62), so the events are folded. */
static inline void fuzz_run_events(cxp_core *c) {
  static const char *const ev[] = {
      "{\"event_id\":\"fz1\",\"type\":\"service.failure\",\"customer_id\":\"c1\","
      "\"ts\":\"2026-11-23T07:00:00Z\",\"case_id\":\"k1\",\"category\":\"operational\","
      "\"severity\":2,\"detected_by\":\"provider\",\"segment\":\"gold\",\"touchpoint\":\"app\"}",
      "{\"event_id\":\"fz2\",\"type\":\"recovery.acknowledged\",\"customer_id\":\"c1\","
      "\"ts\":\"2026-11-23T07:10:00Z\",\"case_id\":\"k1\"}",
      "{\"event_id\":\"fz3\",\"type\":\"survey.csat\",\"customer_id\":\"c2\","
      "\"ts\":\"2026-11-23T08:00:00Z\",\"score\":2,\"segment\":\"silver\",\"channel\":\"web\"}",
      "{\"event_id\":\"fz4\",\"type\":\"survey.nps\",\"customer_id\":\"c1\","
      "\"ts\":\"2026-11-23T09:00:00Z\",\"score\":3}",
      "{\"event_id\":\"fz5\",\"type\":\"complaint\",\"customer_id\":\"c3\","
      "\"ts\":\"2026-12-01T10:00:00Z\",\"case_id\":\"k3\",\"category\":\"design\","
      "\"severity\":1,\"touchpoint\":\"app\"}",
      "{\"event_id\":\"fz6\",\"type\":\"recovery.resolved\",\"customer_id\":\"c9\","
      "\"ts\":\"2026-12-01T11:00:00Z\",\"case_id\":\"k9\"}",
      "{\"event_id\":\"fz7\",\"type\":\"usage\",\"customer_id\":\"c4\","
      "\"ts\":\"2099-12-31T23:00:00Z\",\"count\":3}",
      "{\"event_id\":\"fz8\",\"type\":\"recovery.resolved\",\"customer_id\":\"c1\","
      "\"ts\":\"2099-12-31T23:30:00Z\",\"case_id\":\"k1\"}",
  };
  /* Received when they happened, so that the quiet clocks run from there. */
  static const int64_t wall[] = {1795417200000LL, 1795417800000LL, 1795420800000LL,
                                 1795424400000LL, 1796119200000LL, 1796122800000LL,
                                 4102441200000LL, 4102443000000LL};
  for (size_t i = 0; i < sizeof ev / sizeof ev[0]; i++) {
    cxp_msg m = {"in", 0, ((int64_t)1 << 62) + (int64_t)i, ev[i], strlen(ev[i]), NULL, 0,
                 wall[i], wall[i], 0};
    cxp_core_process(c, &m);
  }
  cxp_msg tick = cxp_msg_clock(0, 4102443060000LL); /* ticks: messages without payload */
  cxp_core_tick_input(c, &tick);
  tick = cxp_msg_clock(0, 4102444700000LL);
  cxp_core_tick_input(c, &tick);
  cxp_core_state_expire(c, 0);
  cxp_buf out;
  cxp_buf_init(&out);
  cxp_core_partition_flush(c, 0, ((int64_t)1 << 62) + 8, &out);
  cxp_core_state_flush(c, 0, &out);
  cxp_core_state_extra(c, 0, &out);
  cxp_buf_free(&out);
}

#endif
