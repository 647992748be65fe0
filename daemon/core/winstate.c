/* The segment windows' durable state: the windows changed since the last
 * flush, their changelog records and tombstones, and restoring a
 * partition's windows from them (window_int.h). */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "staterec.h"
#include "timeutil.h"
#include "varint.h"
#include "xalloc.h"
#include "window_int.h"

/* ---- durable state ------------------------------------------------------- */

void cxp_windows_track(cxp_windows *w, int on) { w->track = on != 0; }

size_t cxp_windows_changed(const cxp_windows *w) {
  return (size_t)w->n_dirty + w->n_gone;
}

/* The clock record: version, the input offset it covers, the newest event
 * time and the last one folded. */
#define CLOCK_VERSION 1

size_t cxp_windows_take_gone(cxp_windows *w, cxp_buf *out) {
  size_t n = w->n_gone;
  if (w->gone.len) cxp_buf_put(out, w->gone.p, w->gone.len);
  w->gone.len = 0;
  w->n_gone = 0;
  return n;
}

/* The changelog value of an open window (the key carries its length, start
 * and group): a version byte, the input partition, the early flag, the
 * input offsets of its first and last event, then the aggregate's int64
 * members in their declared order as zigzag varints, their count first.
 * Most members of an open window are 0, one byte each: 114 bytes for one
 * with a few answers (test_window), where the partial's JSON took a
 * kilobyte. New members go at the end of
 * cxp_window_agg: a record with fewer is read with the rest 0, one with
 * more (a newer writer) is refused. Records of builds that wrote the JSON
 * partial (a '{' first) are still read. */
#define WREC_VERSION 2

static void wrec_write(cxp_buf *b, const cxp_window_partial *p) {
  cxp_put_u8(b, WREC_VERSION);
  cxp_put_z(b, p->partition);
  cxp_put_u8(b, (unsigned)(p->early != 0));
  cxp_put_z(b, p->first_offset);
  cxp_put_z(b, p->last_offset);
  cxp_window_agg_put(b, &p->agg);
}

/* Reads a value wrec_write wrote into p, whose key fields are set. */
static int wrec_read(const uint8_t *v, size_t n, cxp_window_partial *p) {
  cxp_rd r = {v, v + n, 0};
  unsigned ver = cxp_get_u8(&r);
  int64_t part = cxp_get_z(&r);
  unsigned early = cxp_get_u8(&r);
  int64_t first = cxp_get_z(&r), last = cxp_get_z(&r);
  if (r.bad || ver != WREC_VERSION || part < -1 || part > INT32_MAX || early > 1) return -1;
  if (!((first == -1 && last == -1) || (first >= 0 && last >= first))) return -1;
  if (cxp_window_agg_get(&r, &p->agg) != 0 || r.p != r.end) return -1;
  p->partition = (int32_t)part;
  p->early = (int)early;
  p->first_offset = first;
  p->last_offset = last;
  return 0;
}

/* Length, start and group from a window record's key past CXP_CL_WINDOW:
 * "<length>:<start>:<group>". */
static int wrec_key(const char *k, const char *end, cxp_window_partial *p) {
  long long length, start;
  if (cxp_staterec_key_num(&k, end, &length) || cxp_staterec_key_num(&k, end, &start))
    return -1;
  p->length_ms = length;
  p->start_ms = start;
  cJSON *g = cJSON_ParseWithLength(k, (size_t)(end - k));
  int bad = !cxp_window_span_ok(p->length_ms, p->start_ms) || cxp_window_group_parse(g, p) != 0;
  cJSON_Delete(g);
  if (bad) return -1;
  p->end_ms = p->start_ms + p->length_ms;
  return 0;
}

size_t cxp_windows_flush_state(cxp_windows *w, int64_t x, cxp_buf *out) {
  size_t n = w->n_dirty + 1;
  n += cxp_windows_take_gone(w, out);
  cxp_buf *val = &w->val;
  for (uint32_t i = 0; i < w->n_dirty; i++) {
    wslot *s = w->dirty[i];
    cxp_window_partial p;
    win_slot_partial(w, s, 0, &p);
    win_window_key(&w->key, &p);
    cxp_buf_reset(val);
    wrec_write(val, &p);
    cxp_staterec_frame_put(out, CXP_CL_WINDOW, w->key.p, w->key.len, val->p, val->len);
    s->dirty = 0;
    s->written = 1;
  }
  w->n_dirty = 0;
  /* The clock last: it says every window record of events up to x is in
   * (the producer keeps a partition's records in order). */
  cxp_buf_reset(val);
  cxp_put_u8(val, CLOCK_VERSION);
  cxp_put_z(val, x);
  cxp_put_u8(val, (unsigned)w->has_ts);
  cxp_put_z(val, w->max_ts);
  cxp_put_z(val, w->last_ts);
  cxp_staterec_frame_put(out, CXP_CL_WINDOW_CLOCK, "", 0, val->p, val->len);
  return n;
}

/* The grouping and length of a partial under this pipeline's windows, with
 * its group key; -1 when the pipeline has no such windows (any more). */
static int slot_place(const cxp_windows *w, const cxp_window_partial *p, int *li, int *gi,
                      gkey *k) {
  *li = *gi = -1;
  for (int i = 0; i < w->conf.n_lengths; i++)
    if (w->conf.length_ms[i] == p->length_ms) *li = i;
  for (int g = 0; g < w->conf.n_groupings && *gi < 0; g++) {
    const cxp_window_grouping *gr = &w->conf.grouping[g];
    if (gr->n_fields != p->n_fields) continue;
    int same = 1;
    for (int f = 0; f < gr->n_fields; f++)
      if (gr->fields[f] != p->fields[f]) same = 0;
    if (same) *gi = g;
  }
  if (*li < 0 || *gi < 0 || p->start_ms != cxp_window_start(p->start_ms, p->length_ms)) return -1;
  uint64_t h = HASH_SEED + (uint64_t)*gi;
  for (int f = 0; f < p->n_fields; f++) {
    k->p[f] = p->value[f];
    k->n[f] = p->value_len[f];
    h = win_hash_value(p->value[f], p->value_len[f], h);
  }
  k->hash = h;
  return 0;
}

/* The clock record's times drive the watermark (max_ts - lateness) and a
 * quiet partition's clock (last_ts + wall time elapsed): both are event
 * times (staterec.h: 2000..2099), last_ts no later than max_ts, or the
 * arithmetic on them could overflow, or close every window at once and
 * turn every later event away as late. x is an input offset (-1: none). */
static int restore_clock(cxp_windows *w, const uint8_t *v, size_t n, char *err,
                         size_t errlen) {
  cxp_rd r = {v, v + n, 0};
  unsigned ver = cxp_get_u8(&r);
  int64_t x = cxp_get_z(&r);
  unsigned has = cxp_get_u8(&r);
  int64_t max_ts = cxp_get_z(&r), last_ts = cxp_get_z(&r);
  if (r.bad) CXP_FAIL("cut short");
  if (r.p != r.end) CXP_FAIL("%zu trailing bytes", (size_t)(r.end - r.p));
  if (ver != CLOCK_VERSION || has > 1)
    CXP_FAIL("version %u (this build reads %d), has %u", ver, CLOCK_VERSION, has);
  if (x < -1) CXP_FAIL("offset %lld, expected -1 or more", (long long)x);
  if (has && (!cxp_staterec_time_ok(max_ts) || !cxp_staterec_time_ok(last_ts) ||
              last_ts > max_ts))
    CXP_FAIL("newest event at %lld ms, last at %lld ms: expected both within 2000..2099, the "
         "last no later than the newest", (long long)max_ts, (long long)last_ts);
  if (x > w->restored_x) w->restored_x = x;
  if (has && (!w->has_ts || max_ts > w->max_ts)) {
    w->has_ts = 1;
    w->max_ts = max_ts;
    w->last_ts = last_ts;
    w->last_arrival = 0;
    w->restored_clock = 1;
  }
  return 0;
}

int cxp_windows_restore(cxp_windows *w, const char *key, size_t klen, const void *val,
                        size_t vlen, char *err, size_t errlen) {
  size_t wl = sizeof CXP_CL_WINDOW - 1, cl = sizeof CXP_CL_WINDOW_CLOCK - 1;
  if (klen == cl && memcmp(key, CXP_CL_WINDOW_CLOCK, cl) == 0)
    return val ? restore_clock(w, val, vlen, err, errlen) : 0;
  if (klen <= wl || memcmp(key, CXP_CL_WINDOW, wl) != 0) CXP_FAIL("not a window's key");
  cxp_window_partial p;
  memset(&p, 0, sizeof p);
  if (val != NULL && vlen > 0 && *(const char *)val == '{') {
    /* A record of a build that wrote the partial's JSON. */
    if (cxp_window_partial_parse(val, vlen, &p) != 0) CXP_FAIL("not a valid partial");
  } else if (wrec_key(key + wl, key + klen, &p) != 0) {
    CXP_FAIL("its key is not <length>:<start>:<group>, or a part out of range");
  } else if (val != NULL && wrec_read(val, vlen, &p) != 0) {
    CXP_FAIL("its value cannot be read, or holds counts out of range");
  }
  /* An open window holds events of its own time, which the decoder keeps
   * within 2000..2099: a window that ends before or starts after that holds
   * none, and would sit in the heap (and count against max_open) until a
   * watermark that never comes. */
  if (p.start_ms + p.length_ms <= CXP_TS_MIN_MS || p.start_ms >= CXP_TS_MAX_MS)
    CXP_FAIL("a window at %lld ms, outside 2000..2099", (long long)p.start_ms);
  int li, gi;
  gkey k;
  if (slot_place(w, &p, &li, &gi, &k) != 0)
    CXP_FAIL("a window this pipeline does not have (windows.lengths, windows.group_by)");
  uint32_t idx;
  wslot *s = win_lookup(w, win_window_hash(&k, li, p.start_ms), li, gi, p.start_ms, &k, &idx);
  if (val == NULL) {
    if (s == NULL) return 0;
    win_dirty_remove(w, s);
    win_heap_remove(w, s->heap_pos);
    win_release(w, idx, s);
    return 0;
  }
  if (s == NULL) {
    /* Opening must not close another window: that would send a partial
     * while restoring. */
    if (w->st.open >= w->conf.max_open)
      CXP_FAIL("no room for it (windows.max_open, %u)", w->conf.max_open);
    s = win_find_or_open(w, li, gi, p.start_ms, &k);
  }
  s->agg = p.agg;
  s->first_off = p.first_offset;
  s->last_off = p.last_offset;
  s->restored_off = p.last_offset;
  s->written = 1;
  return 0;
}
