#include "window.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "staterec.h"
#include "swar.h"
#include "timeutil.h"
#include "varint.h"
#include "xalloc.h"
#include "window_int.h"

/* The decoder's bounds on each field (segment is a customer attribute kept
 * in 64 bytes; the ids in 128). A slot is sized from these, so the default
 * groupings cost 128 value bytes per window, not 448. */
static const size_t field_max[CXP_WF__COUNT] = {64, 128, 128, 128};


cxp_windows *cxp_windows_create(const cxp_window_conf *conf, int32_t partition,
                                cxp_window_close_fn on_close, void *opaque) {
  if (cxp_window_conf_check(conf, NULL, 0) != 0) return NULL;
  cxp_windows *w = calloc(1, sizeof *w);
  if (w == NULL) return NULL;
  w->conf = *conf;
  w->partition = partition;
  w->on_close = on_close;
  w->opaque = opaque;
  size_t vmax = 0;
  for (int g = 0; g < conf->n_groupings; g++) {
    size_t v = 0;
    for (int f = 0; f < conf->grouping[g].n_fields; f++)
      v += field_max[conf->grouping[g].fields[f]];
    if (v > vmax) vmax = v;
  }
  w->stride = (sizeof(wslot) + vmax + 7) & ~(size_t)7;
  w->heap_cap = 16;
  w->heap = malloc(w->heap_cap * sizeof *w->heap);
  if (cxp_pool_init(&w->slots, w->stride, offsetof(wslot, heap_pos), SLOT_SHIFT,
                    conf->max_open) != 0 ||
      cxp_index_init(&w->index) != 0 || w->heap == NULL) {
    cxp_windows_destroy(w);
    return NULL;
  }
  w->wm = INT64_MIN;
  w->restored_x = -1;
  cxp_buf_init(&w->gone);
  cxp_buf_init(&w->key);
  cxp_buf_init(&w->val);
  return w;
}

void cxp_windows_destroy(cxp_windows *w) {
  if (w == NULL) return;
  cxp_pool_free(&w->slots);
  cxp_index_free(&w->index);
  free(w->heap);
  free(w->dirty);
  cxp_buf_free(&w->gone);
  cxp_buf_free(&w->key);
  cxp_buf_free(&w->val);
  free(w);
}

/* ---- closing ------------------------------------------------------------- */

static void slot_partial(const cxp_windows *w, const wslot *s, int early,
                         cxp_window_partial *p) {
  const cxp_window_grouping *gr = &w->conf.grouping[s->gi];
  p->start_ms = s->start;
  p->end_ms = s->end;
  p->length_ms = w->conf.length_ms[s->li];
  p->partition = w->partition;
  p->early = early;
  p->late = 0;
  p->revision = 0;
  p->first_offset = s->first_off;
  p->last_offset = s->last_off;
  memset(p->spread, 0, sizeof p->spread); /* the merger's to fill */
  p->n_fields = gr->n_fields;
  const char *v = s->vals;
  for (int f = 0; f < CXP_WIN_MAX_FIELDS; f++) {
    if (f < gr->n_fields) {
      p->fields[f] = gr->fields[f];
      p->value_len[f] = s->vlen[f];
      memcpy(p->value[f], v, s->vlen[f]);
      p->value[f][s->vlen[f]] = '\0';
      v += s->vlen[f];
    } else {
      p->fields[f] = 0;
      p->value_len[f] = 0;
      p->value[f][0] = '\0';
    }
  }
  p->agg = s->agg;
}

/* ---- durable state: the changed windows --------------------------------- */

static void mark_dirty(cxp_windows *w, wslot *s) {
  if (!w->track || s->dirty) return;
  if (w->n_dirty == w->dirty_cap) w->dirty = cxp_xgrow(w->dirty, &w->dirty_cap, 64, UINT32_MAX);
  w->dirty[w->n_dirty++] = s;
  s->dirty = w->n_dirty;
}

static void dirty_remove(cxp_windows *w, wslot *s) {
  if (s->dirty == 0) return;
  wslot *last = w->dirty[--w->n_dirty];
  w->dirty[s->dirty - 1] = last;
  last->dirty = s->dirty;
  s->dirty = 0;
}

/* The changelog key of a window: "<length>:<start>:<group>". */
static void window_key(cxp_buf *b, const cxp_window_partial *p) {
  cxp_buf_reset(b);
  cxp_buf_printf(b, "%lld:%lld:", (long long)p->length_ms, (long long)p->start_ms);
  cxp_window_group_key(b, p);
}

/* A window leaves: off the changed list, and a tombstone when the changelog
 * holds a record of it. */
static void forget(cxp_windows *w, wslot *s, const cxp_window_partial *p) {
  dirty_remove(w, s);
  if (s->written) {
    window_key(&w->key, p);
    cxp_staterec_frame_put(&w->gone, CXP_CL_WINDOW, w->key.p, w->key.len, NULL, 0);
    w->n_gone++;
    s->written = 0;
  }
}

/* A slot out of the heap goes: out of the index, onto the free list. */
static void release(cxp_windows *w, uint32_t idx, wslot *s) {
  cxp_index_del(&w->index, cxp_index_fp(s->hash), idx);
  s->seq = SLOT_FREE_SEQ; /* links to it go stale */
  cxp_pool_put(&w->slots, idx);
  w->st.open--;
}

/* Closes the window on top of the heap. `why`: 0 by the watermark, 1 by the
 * memory bound, 2 by flush. */
static void close_top(cxp_windows *w, int why) {
  uint32_t idx = w->heap[0];
  wslot *s = slot_at(w, idx);
  cxp_window_partial p;
  int early = s->end > w->wm;
  slot_partial(w, s, early, &p);
  forget(w, s, &p);
  win_heap_remove(w, 0);
  release(w, idx, s);
  w->st.closed++;
  if (why == 1) w->st.closed_early++;
  if (why == 2 && early) w->st.flushed++;
  /* The slot is already free: the callback sees only its own copy. */
  if (w->on_close) w->on_close(w->opaque, &p);
}

static int advance(cxp_windows *w, int64_t clock) {
  int64_t wm = clock - w->conf.lateness_ms;
  if (wm <= w->wm) return 0;
  w->wm = wm;
  int n = 0;
  while (w->heap_n > 0 && slot_at(w, w->heap[0])->end <= wm) {
    close_top(w, 0);
    n++;
  }
  return n;
}

/* ---- folding ------------------------------------------------------------- */

static size_t clip(const char *p, size_t n, size_t max) {
  if (n <= max) return n;
  /* Cut before a continuation byte would split a character. */
  n = max;
  while (n > 0 && ((unsigned char)p[n] & 0xC0) == 0x80) n--;
  return n;
}

static inline uint64_t load64(const char *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

static inline uint64_t load32(const char *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

/* Hash of a short string, on the per-event path: group values are mostly a
 * few bytes, where cxp_hash64's variable-length tail copy dominates. Reads
 * whole words only, overlapping at the end (as wyhash does), never past n.
 * The length goes in, so ("ab","c") and ("a","bc") differ once chained. */
static uint64_t hash_value(const char *p, size_t n, uint64_t h) {
  const uint64_t K = 0x9e3779b97f4a7c15ULL;
  h ^= (uint64_t)n * 0xff51afd7ed558ccdULL;
  uint64_t a, b;
  if (n >= 8) {
    size_t i = 0;
    for (; i + 8 < n; i += 8) h = (h ^ load64(p + i)) * K + (h >> 29);
    a = load64(p + n - 8);
    b = 0;
  } else if (n >= 4) {
    a = load32(p);
    b = load32(p + n - 4);
  } else if (n > 0) {
    a = ((uint64_t)(unsigned char)p[0] << 16) | ((uint64_t)(unsigned char)p[n >> 1] << 8) |
        (unsigned char)p[n - 1];
    b = 0;
  } else {
    a = b = 0;
  }
  h ^= a ^ (b << 32);
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 31;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 29;
  return h;
}

static void make_gkey(const cxp_windows *w, int gi, const cxp_event *ev, gkey *k) {
  const cxp_window_grouping *gr = &w->conf.grouping[gi];
  uint64_t h = HASH_SEED + (uint64_t)gi;
  for (int f = 0; f < gr->n_fields; f++) {
    const cxp_str *s;
    switch (gr->fields[f]) {
      case CXP_WF_SEGMENT: s = &ev->segment; break;
      case CXP_WF_CHANNEL: s = &ev->channel; break;
      case CXP_WF_AGENT_ID: s = &ev->agent_id; break;
      default: s = &ev->touchpoint; break;
    }
    const char *p = s->p;
    size_t n = s->n;
    if (p == NULL || n == 0) {
      p = CXP_WIN_UNKNOWN;
      n = sizeof CXP_WIN_UNKNOWN - 1;
    }
    n = clip(p, n, field_max[gr->fields[f]]);
    k->p[f] = p;
    k->n[f] = (uint8_t)n;
    h = hash_value(p, n, h);
  }
  k->hash = h;
}

/* No full mix here: the group hash is mixed already, and the index spreads
 * its high half (cxp_index_home); this only has to make (group, length,
 * start) differ there. */
static inline uint64_t window_hash(const gkey *k, int li, int64_t start) {
  return k->hash ^ ((uint64_t)start * 0xc2b2ae3d27d4eb4fULL) ^ ((uint64_t)(li + 1) << 59);
}

static int slot_is(const cxp_windows *w, const wslot *s, uint64_t h, int li, int gi,
                   int64_t start, const gkey *k) {
  if (s->hash != h || s->start != start || s->li != li || s->gi != gi) return 0;
  const char *v = s->vals;
  int nf = w->conf.grouping[gi].n_fields;
  for (int f = 0; f < nf; f++) {
    if (s->vlen[f] != k->n[f] || !cxp_same_bytes(v, k->p[f], k->n[f])) return 0;
    v += k->n[f];
  }
  return 1;
}


/* The open window (li, gi, start, values), opened when absent. Opening may
 * close the window due next to stay within max_open. */
static inline wslot *lookup(const cxp_windows *w, uint64_t h, int li, int gi, int64_t start,
                            const gkey *k, uint32_t *idx) {
  size_t pos = SIZE_MAX;
  uint32_t i;
  while ((i = cxp_index_next(&w->index, cxp_index_fp(h), &pos)) != CXP_INDEX_NONE) {
    wslot *s = slot_at(w, i);
    if (slot_is(w, s, h, li, gi, start, k)) {
      *idx = i;
      return s;
    }
  }
  return NULL;
}

static wslot *find_or_open(cxp_windows *w, int li, int gi, int64_t start, const gkey *k,
                           uint32_t *idxp) {
  uint64_t h = window_hash(k, li, start);
  wslot *hit = lookup(w, h, li, gi, start, k, idxp);
  if (hit) return hit;
  if (w->st.open >= w->conf.max_open) close_top(w, 1);
  uint32_t idx = cxp_pool_get(&w->slots); /* room was made above */
  *idxp = idx;
  wslot *s = slot_at(w, idx);
  s->hash = h;
  s->start = start;
  s->end = start + w->conf.length_ms[li];
  s->seq = w->seq++;
  s->li = (uint8_t)li;
  s->gi = (uint8_t)gi;
  memset(&s->agg, 0, sizeof s->agg);
  s->first_off = s->last_off = -1;
  s->restored_off = -1;
  s->dirty = 0;
  s->written = 0;
  s->link = 0;
  s->link_seq = SLOT_FREE_SEQ;
  int nf = w->conf.grouping[gi].n_fields;
  char *v = s->vals;
  for (int f = 0; f < nf; f++) {
    s->vlen[f] = k->n[f];
    memcpy(v, k->p[f], k->n[f]);
    v += k->n[f];
  }
  cxp_index_put(&w->index, cxp_index_fp(h), idx);
  win_heap_push(w, idx);
  w->st.opened++;
  if (++w->st.open > w->st.open_max) w->st.open_max = w->st.open;
  return s;
}

/* What one event adds to each of its windows, worked out once per event. */
typedef struct contrib {
  const cxp_event *ev;
  int band;
  int case_opened; /* -1: by the event's type */
  int cohort;      /* -1 none */
  unsigned first_mask;
  int64_t si;      /* x SI_SCALE; -1 none */
  int post;        /* a post-recovery response */
  int64_t gap[CXP_SQ__COUNT];
  int64_t var_cents; /* value at risk, counted with the band */
  int64_t offset;    /* the event's input offset; -1 none */
  int64_t value;     /* delivered-value ratio x VALUE_SCALE; -1 none */
  int repeat_purchase;
} contrib;

/* A satisfaction index in the record's fixed point, or -1 (not counted)
 * when there is none or it lies outside 0..100: a customer's restored sums
 * that disagree (a damaged changelog record) can give any value, and a
 * cohort's mean past 100 makes its partial one the merger refuses. */
static int64_t si_of(double si) {
  if (!(si >= 0 && si <= 101)) return -1;
  int64_t v = llround(si * CXP_WIN_SI_SCALE);
  return v <= 100 * CXP_WIN_SI_SCALE ? v : -1;
}

static void fold(cxp_window_agg *a, const contrib *c, int li) {
  const cxp_event *ev = c->ev;
  a->events++;
  if (c->cohort >= 0) {
    if (c->first_mask & (1u << li)) a->cohort_customers[c->cohort]++;
    if (c->si >= 0) {
      a->cohort_si_n[c->cohort]++;
      a->cohort_si_sum[c->cohort] += c->si;
    }
    if (ev->type == CXP_EV_CANCELLED) a->cohort_cancels[c->cohort]++;
  }
  /* With a case module, it says whether a case opened (an event merged into
   * an open case, or a detractor without consent, opens none); without one,
   * the event's type does. */
  if (c->case_opened > 0) a->cases_opened++;
  switch (ev->type) {
    case CXP_EV_CSAT:
      a->csat_n++;
      a->csat_sat += ev->score >= 4;
      if (c->post) {
        a->post_csat_n++;
        a->post_csat_sat += ev->score >= 4;
      }
      break;
    case CXP_EV_NPS:
      a->nps_n++;
      if (c->post) {
        a->post_nps_n++;
        a->post_nps_promoters += ev->score >= 9;
        a->post_nps_detractors += ev->score <= 6;
      }
      if (ev->score >= 9) {
        a->nps_promoters++;
      } else if (ev->score >= 7) {
        a->nps_passives++;
      } else {
        a->nps_detractors++;
        /* the closed-loop case (docs/domain.md section 5) */
        if (c->case_opened < 0) a->cases_opened++;
      }
      break;
    case CXP_EV_CES:
      a->ces_n++;
      a->ces_sum += ev->score;
      break;
    case CXP_EV_SERVQUAL:
      a->servqual_n++;
      for (int d = 0; d < CXP_SQ__COUNT; d++)
        if (ev->sq_mask & (1u << d)) {
          a->sq_n[d]++;
          a->sq_gap_sum[d] += c->gap[d];
        }
      break;
    case CXP_EV_COMPLAINT:
      a->complaints++;
      if (c->case_opened < 0) a->cases_opened++;
      break;
    case CXP_EV_FAILURE:
      if (c->case_opened < 0) a->cases_opened++;
      break;
    case CXP_EV_PURCHASE: a->repeat_purchases += c->repeat_purchase; break;
    case CXP_EV_REFERRAL:
      a->referrals++;
      a->participations++;
      break;
    case CXP_EV_FEEDBACK: a->participations++; break;
    default: break;
  }
  /* Customers (the loyalty rates' base) and their delivered value, each
   * counted at his first event in the window. */
  if (c->first_mask & (1u << li)) {
    a->customers++;
    if (c->value >= 0) {
      a->value_n++;
      a->value_sum += c->value;
      a->value_under += c->value < CXP_WIN_VALUE_SCALE;
    }
  }
  /* Band counts are of customers: each counted at his first event in the
   * window, in the band he is in after it. */
  if (c->band >= 0 && (c->first_mask & (1u << li))) {
    a->churn[c->band]++;
    a->var_cents = cxp_win_sum_add(a->var_cents, c->var_cents);
  }
}

int64_t cxp_windows_start(cxp_windows *w, int li, int64_t ts) {
  return cxp_span_start(&w->cur[li], ts, w->conf.length_ms[li]);
}

/* The windows of time ts: starts[] per length; returns the mask of the
 * lengths whose window has closed by the watermark. */
static unsigned route(cxp_windows *w, int64_t ts, int64_t *starts) {
  unsigned closed = 0;
  for (int li = 0; li < w->conf.n_lengths; li++) {
    starts[li] = cxp_windows_start(w, li, ts);
    if (starts[li] + w->conf.length_ms[li] <= w->wm) closed |= 1u << li;
  }
  return closed;
}

/* Of the closed lengths, those whose window is still within its revision
 * horizon. */
static unsigned revisable(const cxp_windows *w, const int64_t *starts, unsigned closed) {
  unsigned rev = 0;
  for (int li = 0; li < w->conf.n_lengths; li++)
    if ((closed & (1u << li)) &&
        w->wm < starts[li] + w->conf.length_ms[li] + w->conf.revision_ms[li])
      rev |= 1u << li;
  return rev;
}

/* The bucket of a time (cxp_window.h: CXP_WIN_TBUCKETS). */
static int time_bucket(int64_t ms) {
  double b = 60000.0;
  for (int k = 0; k < CXP_WIN_TBUCKETS - 1; k++) {
    if ((double)ms < b) return k;
    b *= 1.5;
  }
  return CXP_WIN_TBUCKETS - 1;
}

static void fold_outcome(cxp_window_agg *a, const cxp_window_outcome *o) {
  if (o->well)
    a->cases_recovered_well++;
  else
    a->cases_recovered_poorly++;
  if (o->failure) {
    a->failure_cases++;
    a->preempted += o->preempted != 0;
  }
  if (o->tta_ms >= 0) {
    a->tta_n++;
    a->tta_hist[time_bucket(o->tta_ms)]++;
  }
  if (o->ttr_ms >= 0) {
    a->ttr_n++;
    a->ttr_hist[time_bucket(o->ttr_ms)]++;
  }
}

static int outcome_grouping(const cxp_window_grouping *g) {
  for (int f = 0; f < g->n_fields; f++)
    if (g->fields[f] == CXP_WF_CHANNEL || g->fields[f] == CXP_WF_AGENT_ID) return 0;
  return 1;
}

/* Folds the event (c) or the outcome (o) into its windows of the lengths
 * in `open`. */
static void fold_all(cxp_windows *w, const cxp_event *ev, const int64_t *starts,
                     const contrib *c, const cxp_window_outcome *o, unsigned open) {
  for (int gi = 0; gi < w->conf.n_groupings; gi++) {
    /* A case knows its segment and touchpoint, not the channel or agent of
     * whoever closed it: its outcome goes only to groupings of those two
     * (and the all-customers group), not to a made-up "unknown" channel. */
    if (c == NULL && !outcome_grouping(&w->conf.grouping[gi])) continue;
    gkey k;
    make_gkey(w, gi, ev, &k);
    wslot *prev = NULL; /* this group's window of the length folded last */
    uint64_t prev_seq = 0;
    for (int li = 0; li < w->conf.n_lengths; li++) {
      if (!(open & (1u << li))) continue;
      /* The window of this length from the last one's link (an event's
       * group mostly had one of its windows of each length last time), or
       * looked up. Opening the next window may close this one (memory
       * bound): it is folded before the next lookup, and its link set
       * only while its seq says it is still open. */
      wslot *s = NULL;
      uint32_t idx;
      if (prev != NULL && prev->link_seq != SLOT_FREE_SEQ) {
        wslot *t = slot_at(w, prev->link);
        if (t->seq == prev->link_seq && t->li == li && t->start == starts[li]) {
          s = t;
          idx = prev->link;
        }
      }
      if (s == NULL) {
        s = find_or_open(w, li, gi, starts[li], &k, &idx);
        if (prev != NULL && prev->seq == prev_seq) {
          prev->link = idx;
          prev->link_seq = s->seq;
        }
      }
      prev = s;
      prev_seq = s->seq;
      int64_t off = c ? c->offset : o->offset;
      /* Re-read after a restore, and in this window's record already. */
      if (off >= 0 && off <= s->restored_off) continue;
      if (c)
        fold(&s->agg, c, li);
      else
        fold_outcome(&s->agg, o);
      if (off >= 0) {
        if (s->first_off < 0 || off < s->first_off) s->first_off = off;
        if (off > s->last_off) s->last_off = off;
      }
      mark_dirty(w, s);
    }
  }
}

/* The event's (or outcome's) contribution alone to each of its closed
 * windows of the lengths in `rev`, as a revision partial per group, handed
 * to on_close now: the merger adds it to the window's record. */
static void revise_all(cxp_windows *w, const cxp_event *ev, const int64_t *starts,
                       const contrib *c, const cxp_window_outcome *o, unsigned rev) {
  cxp_window_partial p;
  for (int gi = 0; gi < w->conf.n_groupings; gi++) {
    const cxp_window_grouping *gr = &w->conf.grouping[gi];
    if (c == NULL && !outcome_grouping(gr)) continue;
    gkey k;
    make_gkey(w, gi, ev, &k);
    memset(&p, 0, sizeof p);
    p.partition = w->partition;
    p.late = 1;
    p.first_offset = p.last_offset = c ? c->offset : o->offset;
    p.n_fields = gr->n_fields;
    for (int f = 0; f < gr->n_fields; f++) {
      p.fields[f] = gr->fields[f];
      p.value_len[f] = k.n[f];
      memcpy(p.value[f], k.p[f], k.n[f]);
      p.value[f][k.n[f]] = '\0';
    }
    for (int li = 0; li < w->conf.n_lengths; li++) {
      if (!(rev & (1u << li))) continue;
      p.length_ms = w->conf.length_ms[li];
      p.start_ms = starts[li];
      p.end_ms = starts[li] + p.length_ms;
      memset(&p.agg, 0, sizeof p.agg);
      if (c)
        fold(&p.agg, c, li);
      else
        fold_outcome(&p.agg, o);
      if (w->on_close) w->on_close(w->opaque, &p);
    }
  }
}

/* Counts a late arrival per length, and whether any window took it. */
static int count_late(cxp_windows *w, const int64_t *starts, unsigned closed, unsigned rev) {
  for (int li = 0; li < w->conf.n_lengths; li++) {
    if (rev & (1u << li))
      w->st.late_revised[li]++;
    else if (closed & (1u << li))
      w->st.late_missed[li]++;
  }
  unsigned all = (1u << w->conf.n_lengths) - 1;
  if ((closed & ~rev & all) != all) return 0;
  /* Every window missed it: kept for the dead letter's detail. */
  for (int li = 0; li < w->conf.n_lengths; li++) w->missed_start[li] = starts[li];
  return 1;
}

/* Whether an event changes a window measure beyond the event count: what
 * losing it would leave wrong. */
static int feeds_measure(const contrib *c) {
  switch (c->ev->type) {
    case CXP_EV_CSAT:
    case CXP_EV_NPS:
    case CXP_EV_CES:
    case CXP_EV_SERVQUAL:
    case CXP_EV_COMPLAINT:
    case CXP_EV_FAILURE:
    case CXP_EV_CANCELLED:
      return 1;
    default:
      return c->case_opened > 0;
  }
}

cxp_reason cxp_windows_add(cxp_windows *w, const cxp_event *ev, int64_t arrival_wall_ms,
                           int churn_band) {
  /* Without the caller's knowledge, every event is its customer's first. */
  cxp_window_ctx ctx = {churn_band, -1, -1, ~0u, NAN, 0, 0, -1, 0, NAN, 0};
  return cxp_windows_add_ctx(w, ev, arrival_wall_ms, &ctx);
}

cxp_reason cxp_windows_add_ctx(cxp_windows *w, const cxp_event *ev, int64_t arrival_wall_ms,
                               const cxp_window_ctx *ctx) {
  int64_t starts[CXP_WIN_MAX_LENGTHS];
  int64_t ts = ev->ts_ms;
  if (ctx->offset >= 0 && ctx->offset <= w->restored_x) {
    w->st.replayed++;
    return CXP_OK;
  }
  unsigned closed = route(w, ts, starts), rev = closed ? revisable(w, starts, closed) : 0;
  unsigned all = (1u << w->conf.n_lengths) - 1, open = all & ~closed;
  if (w->has_ts && ts < w->max_ts && !closed) w->st.late_within_grace++;
  contrib c = {ev,
               ctx->churn_band >= 0 && ctx->churn_band <= 2 ? ctx->churn_band : -1,
               ctx->case_opened < 0 ? -1 : ctx->case_opened != 0,
               ctx->cohort >= 0 && ctx->cohort < CXP_WIN_COHORTS ? ctx->cohort : -1,
               ctx->first_mask,
               si_of(ctx->si),
               ctx->post_recovery != 0,
               {0},
               ctx->value_at_risk > 0 && ctx->value_at_risk < 1e15
                   ? llround(ctx->value_at_risk * 100.0)
                   : 0,
               ctx->offset,
               ctx->has_value && ctx->value_ratio >= 0 && ctx->value_ratio <= 1000
                   ? llround(ctx->value_ratio * CXP_WIN_VALUE_SCALE)
                   : -1,
               ctx->repeat_purchase != 0};
  if (ev->type == CXP_EV_SERVQUAL)
    for (int d = 0; d < CXP_SQ__COUNT; d++)
      if (ev->sq_mask & (1u << d))
        c.gap[d] = llround((ev->sq_perceived[d] - ev->sq_expected[d]) * CXP_WIN_GAP_SCALE);
  if (closed && count_late(w, starts, closed, rev)) {
    if (feeds_measure(&c)) {
      w->st.late++;
      return CXP_BAD_LATE;
    }
    w->st.late_ignored++;
    return CXP_OK;
  }
  if (open) fold_all(w, ev, starts, &c, 0, open);
  if (rev) revise_all(w, ev, starts, &c, 0, rev);
  w->st.events++;
  /* The quiet clock runs from the last event folded, but one that came
   * after some of its windows closed says nothing of how far event time
   * has got (its time is behind the watermark): it moves nothing. */
  if (closed) return CXP_OK;
  if (!w->has_ts || ts > w->max_ts) w->max_ts = ts;
  w->has_ts = 1;
  w->last_ts = ts;
  w->last_arrival = arrival_wall_ms;
  /* The event's open windows end after ts >= the new watermark, so this
   * never closes what was just folded (unless the memory bound already
   * did). */
  advance(w, w->max_ts);
  return CXP_OK;
}

void cxp_windows_missed(const cxp_windows *w, char *out, size_t cap) {
  size_t n = 0;
  out[0] = '\0';
  for (int li = 0; li < w->conf.n_lengths && n + 96 < cap; li++) {
    char a[25], b[25], c[25];
    int64_t len = w->conf.length_ms[li], start = w->missed_start[li];
    cxp_time_format(start, a);
    cxp_time_format(start + len, b);
    cxp_time_format(start + len + w->conf.revision_ms[li], c);
    n += (size_t)snprintf(out + n, cap - n, "%s%llds window %s..%s (revisions until the "
                          "watermark passed %s)", n ? ", " : "", (long long)(len / 1000), a, b,
                          c);
  }
}

cxp_reason cxp_windows_add_outcome(cxp_windows *w, const cxp_event *ev,
                                   const cxp_window_outcome *o) {
  int64_t starts[CXP_WIN_MAX_LENGTHS];
  if (o->offset >= 0 && o->offset <= w->restored_x) return CXP_OK;
  unsigned closed = route(w, ev->ts_ms, starts), rev = closed ? revisable(w, starts, closed) : 0;
  unsigned all = (1u << w->conf.n_lengths) - 1, open = all & ~closed;
  if (open) fold_all(w, ev, starts, NULL, o, open);
  if (rev) revise_all(w, ev, starts, NULL, o, rev);
  if ((open | rev) == 0) {
    w->st.recovered_late++;
    return CXP_BAD_LATE;
  }
  return CXP_OK;
}

cxp_reason cxp_windows_add_recovered(cxp_windows *w, const cxp_event *ev) {
  cxp_window_outcome o = {1, -1, -1, 0, 0, -1};
  return cxp_windows_add_outcome(w, ev, &o);
}

int cxp_windows_tick(cxp_windows *w, int64_t now_wall_ms) {
  if (w->restored_clock && w->has_ts && w->last_arrival <= 0) {
    /* Restored: when its last event arrived is not known. The quiet clock
     * counts from now (late, never early). */
    w->restored_clock = 0;
    w->last_arrival = now_wall_ms;
    return 0;
  }
  if (!w->has_ts || w->last_arrival <= 0 || now_wall_ms <= w->last_arrival) return 0;
  int64_t clock = w->last_ts + (now_wall_ms - w->last_arrival);
  if (clock < w->max_ts) clock = w->max_ts;
  return advance(w, clock);
}

int cxp_windows_flush(cxp_windows *w) {
  int n = 0;
  while (w->heap_n > 0) {
    close_top(w, 2);
    n++;
  }
  return n;
}

int64_t cxp_windows_watermark(const cxp_windows *w) { return w->wm; }

cxp_window_stats cxp_windows_stats(const cxp_windows *w) { return w->st; }

size_t cxp_windows_bytes(const cxp_windows *w) {
  return sizeof *w + cxp_pool_bytes(&w->slots) + cxp_index_bytes(&w->index) +
         (size_t)w->heap_cap * sizeof *w->heap;
}

size_t cxp_windows_bytes_per_window(const cxp_windows *w) {
  /* The table is at most half full: at least two entries per window. */
  return w->stride + 2 * sizeof *w->index.e + sizeof *w->heap;
}

/* For winstate.c (window_int.h): the static functions above, out of line. */
void win_dirty_remove(cxp_windows *w, wslot *s) { dirty_remove(w, s); }
wslot *win_find_or_open(cxp_windows *w, int li, int gi, int64_t start, const gkey *k) {
  uint32_t idx;
  return find_or_open(w, li, gi, start, k, &idx);
}
uint64_t win_hash_value(const char *p, size_t n, uint64_t h) { return hash_value(p, n, h); }
wslot *win_lookup(const cxp_windows *w, uint64_t h, int li, int gi, int64_t start, const gkey *k, uint32_t *idx) {
  return lookup(w, h, li, gi, start, k, idx);
}
void win_release(cxp_windows *w, uint32_t idx, wslot *s) { release(w, idx, s); }
void win_slot_partial(const cxp_windows *w, const wslot *s, int early, cxp_window_partial *p) {
  slot_partial(w, s, early, p);
}
uint64_t win_window_hash(const gkey *k, int li, int64_t start) { return window_hash(k, li, start); }
void win_window_key(cxp_buf *b, const cxp_window_partial *p) { window_key(b, p); }
