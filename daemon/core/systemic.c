/* The systemic-failure detector of the recovery cases: failures of one
 * category at one touchpoint from many customers within a window, and its
 * groups' changelog records (cases.h). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases_int.h"
#include "staterec.h"
#include "timeutil.h"
#include "varint.h"
#include "xalloc.h"


/* ---- systemic failures ------------------------------------------------------ */

static inline sgroup *group_at(const cxp_cases *cs, uint32_t i) {
  return (sgroup *)(cs->groups + (size_t)i * cs->gstride);
}

static void group_key(cxp_buf *b, const sgroup *g) {
  cxp_buf_reset(b);
  cxp_buf_printf(b, "%u:%lld:", (unsigned)g->cat, (long long)g->start);
  cxp_buf_put(b, g->tp, g->tplen);
}

/* The group changed: listed for the next flush once. */
static void group_dirty(cxp_cases *cs, uint32_t i) {
  sgroup *g = group_at(cs, i);
  if (!cs->track || g->dirty) return;
  if (cs->gdirty_n == cs->gdirty_cap)
    cs->gdirty = cxp_xgrow(cs->gdirty, &cs->gdirty_cap, 16, UINT32_MAX);
  cs->gdirty[cs->gdirty_n++] = i;
  g->dirty = 1;
  cs->gdirty_live++;
}

static void group_free(cxp_cases *cs, uint32_t i) {
  sgroup *g = group_at(cs, i);
  if (g->written) {
    group_key(&cs->gkey, g);
    cxp_staterec_frame_put(&cs->ggone, CXP_CL_SYSTEMIC, cs->gkey.p, cs->gkey.len, NULL, 0);
    cs->ggone_n++;
  }
  if (g->dirty) cs->gdirty_live--;
  g->dirty = g->written = 0; /* its index may still be listed: skipped, clean */
  cxp_index_del(&cs->gidx, cxp_index_fp(g->hash), i);
  g->live = 0;
  g->next_free = cs->groups_free;
  cs->groups_free = i;
  cs->groups_live--;
}

/* Forgets the groups whose window ended a whole window before the clock:
 * failures that late are not counted (see systemic()), so those groups can
 * never fire again. */
static void groups_sweep(cxp_cases *cs) {
  int64_t w = cs->conf.systemic_window_ms;
  for (uint32_t i = 0; i < cs->groups_n; i++) {
    sgroup *g = group_at(cs, i);
    if (g->live && g->start + 2 * w <= cs->clock) group_free(cs, i);
  }
}

static uint64_t group_hash(const char *tp, size_t n, int64_t start, int cat) {
  return cxp_hash64(tp, n,
                    SEED_GROUP ^ ((uint64_t)start * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)cat << 56));
}

/* The live group of (cat, start, touchpoint) with hash h; NO_IDX none. */
static uint32_t group_find(const cxp_cases *cs, uint64_t h, int64_t start, int cat,
                           const char *tp, size_t n) {
  size_t pos = SIZE_MAX;
  uint32_t i;
  while ((i = cxp_index_next(&cs->gidx, cxp_index_fp(h), &pos)) != NO_IDX) {
    const sgroup *x = group_at(cs, i);
    if (x->hash == h && x->start == start && x->cat == cat && x->tplen == n &&
        memcmp(x->tp, tp, n) == 0)
      return i;
  }
  return NO_IDX;
}

/* A new group, empty; NO_IDX when max_systemic are live even after a sweep. */
static uint32_t group_new(cxp_cases *cs, uint64_t h, int64_t start, int cat, const char *tp,
                          size_t n) {
  /* A new window: the old ones are forgotten as it starts, so the groups
   * held are those of the last few windows, not of the whole stream. */
  if (start > cs->swept_start || cs->groups_live >= cs->conf.max_systemic) {
    groups_sweep(cs);
    if (start > cs->swept_start) cs->swept_start = start;
  }
  if (cs->groups_live >= cs->conf.max_systemic) return NO_IDX;
  uint32_t i;
  if (cs->groups_free != NO_IDX) {
    i = cs->groups_free;
    cs->groups_free = group_at(cs, i)->next_free;
  } else {
    if (cs->groups_n == cs->groups_cap) {
      uint32_t ncap = cs->groups_cap ? cs->groups_cap * 2 : 16;
      if (ncap > cs->conf.max_systemic) ncap = cs->conf.max_systemic;
      char *ng = cxp_xrealloc(cs->groups, (size_t)ncap * cs->gstride);
      cs->groups = ng;
      cs->groups_cap = ncap;
    }
    i = cs->groups_n++;
  }
  sgroup *g = group_at(cs, i);
  g->hash = h;
  g->start = start;
  g->cat = (uint8_t)cat;
  g->n = 0;
  g->fired = 0;
  g->live = 1;
  g->dirty = g->written = 0;
  g->tplen = (uint8_t)n;
  memcpy(g->tp, tp, n);
  cxp_index_put(&cs->gidx, cxp_index_fp(h), i);
  cs->groups_live++;
  return i;
}

void cxp_cases_systemic(cxp_cases *cs, const cxp_event *ev, int cat, uint64_t cust_hash,
                        const void *origin) {
  size_t n = clip_len(&ev->touchpoint, ID_MAX);
  if (n == 0) return; /* not "one touchpoint" */
  int64_t w = cs->conf.systemic_window_ms, ts = ev->ts_ms;
  int64_t start = cxp_time_floor(ts, w);
  if (cs->clock != INT64_MIN && start + 2 * w <= cs->clock) return;
  uint64_t h = group_hash(ev->touchpoint.p, n, start, cat);
  uint32_t i = group_find(cs, h, start, cat, ev->touchpoint.p, n);
  sgroup *g = i == NO_IDX ? NULL : group_at(cs, i);
  if (g == NULL) {
    i = group_new(cs, h, start, cat, ev->touchpoint.p, n);
    if (i == NO_IDX) {
      cs->st.systemic_dropped++;
      return;
    }
    g = group_at(cs, i);
  }
  if (g->fired) return;
  for (int k = 0; k < g->n; k++)
    if (g->cust[k] == cust_hash) return;
  g->cust[g->n++] = cust_hash;
  group_dirty(cs, i);
  if (g->n < cs->conf.systemic_customers) return;
  g->fired = 1;
  cs->st.systemic++;
  cxp_case_systemic sy = {(cxp_case_category)cat, {g->tp, g->tplen}, start, start + w, g->n, ev};
  if (cs->cb.on_systemic) cs->cb.on_systemic(cs->cb.opaque, origin, &sy);
}

/* ---- durable systemic groups ------------------------------------------------
 * A group's record: key CXP_CL_SYSTEMIC "<category>:<window start>:<touchpoint>",
 * value u8 version (1), u8 fired, v n, then the n customers' hashes (8 bytes
 * each, little-endian); a tombstone once the sweep forgets a group that had
 * a record. */

#define GROUP_VERSION 1

void cxp_cases_track(cxp_cases *cs, int on) { cs->track = on != 0; }

size_t cxp_cases_groups_changed(const cxp_cases *cs) { return cs->gdirty_live + cs->ggone_n; }

/* Appends the group's frame. */
static void group_record(cxp_cases *cs, const sgroup *g, cxp_buf *out) {
  group_key(&cs->gkey, g);
  cxp_buf_reset(&cs->gval);
  cxp_put_u8(&cs->gval, GROUP_VERSION);
  cxp_put_u8(&cs->gval, g->fired);
  cxp_put_v(&cs->gval, g->n);
  for (int c = 0; c < g->n; c++) cxp_put_le(&cs->gval, g->cust[c], 8);
  cxp_staterec_frame_put(out, CXP_CL_SYSTEMIC, cs->gkey.p, cs->gkey.len, cs->gval.p,
                         cs->gval.len);
}

size_t cxp_cases_groups_flush(cxp_cases *cs, cxp_buf *out) {
  size_t n = cs->ggone_n;
  if (cs->ggone.len) cxp_buf_put(out, cs->ggone.p, cs->ggone.len);
  cxp_buf_reset(&cs->ggone);
  cs->ggone_n = 0;
  for (uint32_t k = 0; k < cs->gdirty_n; k++) {
    sgroup *g = group_at(cs, cs->gdirty[k]);
    if (!g->live || !g->dirty) continue;
    group_record(cs, g, out);
    g->dirty = 0;
    g->written = 1;
    n++;
  }
  cs->gdirty_n = 0;
  cs->gdirty_live = 0;
  return n;
}

size_t cxp_cases_groups_all(cxp_cases *cs, cxp_buf *out) {
  size_t n = 0;
  for (uint32_t i = 0; i < cs->groups_n; i++) {
    const sgroup *g = group_at(cs, i);
    if (!g->live) continue;
    group_record(cs, g, out);
    n++;
  }
  return n;
}

int cxp_cases_group_restore(cxp_cases *cs, const char *key, size_t klen, const void *val,
                            size_t vlen, char *err, size_t errlen) {
  size_t pl = sizeof CXP_CL_SYSTEMIC - 1;
  if (klen <= pl || memcmp(key, CXP_CL_SYSTEMIC, pl) != 0) CXP_FAIL("not a group's key");
  const char *k = key + pl, *end = key + klen;
  long long cat, start;
  if (cxp_staterec_key_num(&k, end, &cat) || cxp_staterec_key_num(&k, end, &start))
    CXP_FAIL("its key is not <category>:<window start>:<touchpoint>");
  if (cat < 0 || cat >= CXP_CAT__COUNT)
    CXP_FAIL("category %lld, expected 0..%d", cat, CXP_CAT__COUNT - 1);
  /* A window start is an event time rounded down to the window (at most a
   * day, recovery.systemic.window_min), so it lies within the event years
   * or up to a day before; the sweep compares it with the clock (start +
   * 2 windows), which cannot overflow there. */
  if (start < CXP_TS_MIN_MS - DAY_MS || start >= CXP_TS_MAX_MS)
    CXP_FAIL("window start %lld ms lies outside 2000..2099", start);
  size_t n = (size_t)(end - k);
  if (n == 0 || n > ID_MAX) CXP_FAIL("a touchpoint of %zu bytes, expected 1..%d", n, ID_MAX);
  uint64_t h = group_hash(k, n, start, (int)cat);
  uint32_t i = group_find(cs, h, start, (int)cat, k, n);
  if (val == NULL) {
    if (i != NO_IDX) {
      group_at(cs, i)->written = 0; /* no tombstone of the tombstone */
      group_free(cs, i);
    }
    return 0;
  }
  cxp_rd r = {val, (const uint8_t *)val + vlen, 0};
  unsigned ver = cxp_get_u8(&r), fired = cxp_get_u8(&r);
  uint64_t nc = cxp_get_v(&r);
  if (r.bad) CXP_FAIL("cut short");
  /* 64: the most recovery.systemic.customers allows. */
  if (ver != GROUP_VERSION || fired > 1 || nc > 64)
    CXP_FAIL("version %u, fired %u or %llu customers out of range", ver, fired,
         (unsigned long long)nc);
  uint64_t cust[64];
  for (uint64_t c = 0; c < nc; c++) cust[c] = cxp_get_le(&r, 8);
  if (r.bad) CXP_FAIL("cut short");
  if (r.p != r.end) CXP_FAIL("%zu trailing bytes", (size_t)(r.end - r.p));
  if (i == NO_IDX) i = group_new(cs, h, start, (int)cat, k, n);
  if (i == NO_IDX)
    CXP_FAIL("no room for it (recovery.systemic.max_groups, %u)", cs->conf.max_systemic);
  sgroup *g = group_at(cs, i);
  /* Under a pipeline counting fewer customers than the one that wrote the
   * record, a group already at the new count has fired as far as it is
   * concerned: it does not fire on an old burst. */
  int cap = cs->conf.systemic_customers;
  g->n = (uint8_t)(nc < (uint64_t)cap ? nc : (uint64_t)cap);
  memcpy(g->cust, cust, (size_t)g->n * sizeof *cust);
  g->fired = (uint8_t)(fired || g->n >= cap);
  g->written = 1;
  g->dirty = 0;
  return 0;
}
