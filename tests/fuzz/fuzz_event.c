/* Fuzz target: the event decoder (daemon/core/event.c, cxp_event_decode).
 *
 * A flat event is read by the fast path (scan_flat, over a copy of the
 * message), anything else by cJSON; the fast path promises to find what
 * cJSON finds. Each input is decoded both ways, CXP_PARSE_AUTO (the fast
 * path when it can) and CXP_PARSE_FULL (cJSON always), and the outcomes
 * must agree: the same dead-letter reason and sentence, or, accepted, the
 * same decoded fields. A disagreement aborts, so the fuzzer keeps it.
 *
 * The decoder allocates through cJSON's hooks and leaves freeing to the
 * caller's arena; here each allocation is its own malloc, tracked and freed
 * after the input, so that AddressSanitizer sees every block's bounds (an
 * arena would hide an overrun inside a chunk). */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"

#define TRACK_MAX \
  262144 /* four decodes of a 64 KiB message, two nodes or more a byte each */

static void *tracked[TRACK_MAX];
static size_t n_tracked;

static void *track_malloc(size_t n) {
  if (n_tracked == TRACK_MAX) return NULL; /* the decoder must cope with that too */
  void *p = malloc(n);
  if (p) tracked[n_tracked++] = p;
  return p;
}

static void track_free(void *p) {
  for (size_t i = n_tracked; i-- > 0;)
    if (tracked[i] == p) {
      tracked[i] = tracked[--n_tracked];
      free(p);
      return;
    }
  free(p); /* not ours: cannot happen, but freeing keeps a leak out of it */
}

static void free_tracked(void) {
  while (n_tracked) free(tracked[--n_tracked]);
}

static void disagree(const char *what, const uint8_t *data, size_t size) {
  fprintf(stderr, "fuzz_event: the fast path and cJSON disagree on %s for %zu bytes: %.*s\n",
          what, size, (int)(size > 400 ? 400 : size), (const char *)data);
  abort();
}

static int same_str(cxp_str a, cxp_str b) {
  if ((a.p == NULL) != (b.p == NULL) || a.n != b.n) return 0;
  return a.n == 0 || memcmp(a.p, b.p, a.n) == 0;
}

/* Two doubles are the same value bit for bit (the fast path's number is
 * the correctly rounded one, like strtod's). */
static int same_num(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

static void compare(const cxp_event *a, const cxp_event *b, const uint8_t *data, size_t size) {
#define STR(f) \
  if (!same_str(a->f, b->f)) disagree(#f, data, size)
#define INT(f) \
  if (a->f != b->f) disagree(#f, data, size)
#define NUM(f) \
  if (!same_num(a->f, b->f)) disagree(#f, data, size)
  INT(type);
  STR(event_id);
  STR(customer_id);
  STR(channel);
  STR(segment);
  STR(agent_id);
  STR(touchpoint);
  STR(case_id);
  INT(ts_ms);
  INT(score);
  INT(sq_mask);
  for (int d = 0; d < CXP_SQ__COUNT; d++) {
    NUM(sq_expected[d]);
    NUM(sq_perceived[d]);
  }
  NUM(wait_s);
  NUM(handle_s);
  NUM(sentiment);
  INT(resolved);
  INT(has_sentiment);
  STR(category);
  STR(kano);
  STR(attribute);
  STR(detected_by);
  STR(referred_id);
  STR(kind);
  INT(severity);
  NUM(amount);
  INT(root_cause_fixed);
  NUM(count);
  NUM(clv);
  INT(has_clv);
  INT(consent);
#undef STR
#undef INT
#undef NUM
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int hooked;
  if (!hooked) {
    cJSON_Hooks h = {track_malloc, track_free};
    cJSON_InitHooks(&h);
    hooked = 1;
  }
  /* The pipeline's default limit, and a clock so that the future check
   * runs: 2026-11-23T07:00:00Z, a day ahead allowed. */
  cxp_decode_opts o = {65536, 1795417200000LL, 86400000LL, CXP_PARSE_AUTO, NULL};
  cxp_event fast, full;
  char dfast[512], dfull[512];
  cxp_reason rfast = cxp_event_decode((const char *)data, size, &o, &fast, dfast, sizeof dfast);
  o.parser = CXP_PARSE_FULL;
  cxp_reason rfull = cxp_event_decode((const char *)data, size, &o, &full, dfull, sizeof dfull);
  if (rfast != rfull) disagree("the reason", data, size);
  if (strcmp(dfast, dfull) != 0) disagree("the detail", data, size);
  /* The fast path again, twice with one hint: the second reads every name
   * as predicted from the first (cxp_decode_hint). */
  cxp_decode_hint hint;
  memset(&hint, 0, sizeof hint);
  o.parser = CXP_PARSE_AUTO;
  o.hint = &hint;
  for (int pass = 0; pass < 2; pass++) {
    cxp_event hinted;
    char dh[512];
    if (cxp_event_decode((const char *)data, size, &o, &hinted, dh, sizeof dh) != rfull)
      disagree("the reason with a hint", data, size);
    if (strcmp(dh, dfull) != 0) disagree("the detail with a hint", data, size);
    if (rfull == CXP_OK) compare(&hinted, &full, data, size);
  }
  if (rfast == CXP_OK) {
    compare(&fast, &full, data, size);
    /* What the rest of the core relies on from an accepted event. */
    if (!(fast.ts_ms >= CXP_TS_MIN_MS && fast.ts_ms < CXP_TS_MAX_MS) ||
        fast.customer_id.n == 0 || fast.customer_id.n > 128 || fast.event_id.n == 0 ||
        fast.event_id.n > 128 || (unsigned)fast.type >= CXP_EV__COUNT)
      disagree("the accepted event's invariants", data, size);
  } else if (dfast[0] == '\0') {
    disagree("a refusal without a sentence", data, size);
  }
  free_tracked();
  return 0;
}
