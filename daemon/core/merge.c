#include "merge.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "index.h"
#include "xalloc.h"

#define HASH_SEED 0x6d65726765ULL
#define MERGE_HIST 1024

/* One group's window waiting for its final record. */
typedef struct mentry {
  cxp_window_partial p; /* the sum of the partials so far */
  uint64_t hash;
  int64_t first_wall;   /* wall time of its first partial; 0: none given */
  int64_t min_offset;   /* lowest repartition offset among them; -1: none */
  /* Per input partition, the last input offset its partials taken so far
   * covered (-1: none); NULL until a partial carries its offsets. */
  int64_t *last_off;
  int emitted;          /* its record is out: kept for revisions until its horizon */
} mentry;

/* A window emitted by the timeout before every partition closed it: its
 * stragglers are late, not the start of a second record. */
typedef struct gone_window {
  int64_t length, start, end;
} gone_window;

struct cxp_merger {
  int32_t n_inputs;
  int64_t timeout_ms;
  cxp_merge_emit_fn emit;
  cxp_merge_batch_fn batch;
  void *opaque;
  int64_t *wm;       /* per input partition; INT64_MIN before its first marker */
  int64_t merged_wm; /* the least of wm[] */

  mentry *e;
  uint32_t n, cap;
  /* e[]'s entries by key hash. Waiting windows are few (groups x open
   * windows), so removal, which renumbers e[], rebuilds the index. */
  cxp_index index;

  gone_window *gone;
  uint32_t n_gone, cap_gone;
  int32_t *missing; /* scratch, n_inputs long */
  cxp_merge_stats st;

  /* Revisions (cxp_merger_revisions): per window length, how long after
   * the merged watermark passes a window's end its records stay to take
   * late partials; at most max_kept records are kept. */
  int n_lengths;
  int64_t length_ms[CXP_WIN_MAX_LENGTHS], revision_ms[CXP_WIN_MAX_LENGTHS];
  uint32_t max_kept, n_kept;
  int64_t forgot_end; /* the latest end of a window let go early: late past it */

  /* The merged watermark after the repartition messages read so far, at
   * each offset where it rose (oldest first; the oldest go when full), so
   * that a commit can say how far the windows before it are emitted. */
  int64_t hist_off[MERGE_HIST], hist_wm[MERGE_HIST];
  uint32_t hist_n;
  int64_t floor; /* windows ending at or before it were emitted before a restart */

  /* The input partitions' watermarks at the last commit point (base) and
   * each rise since, at the offset of the message that carried it, so that
   * a commit can carry them as they stood after the messages before it
   * (cxp_merger_watermarks_at). */
  int64_t *base;
  struct wm_change {
    int64_t offset, wm;
    int32_t input;
  } *chg;
  uint32_t n_chg, cap_chg;

  /* Windows emitted since the last commit: the offset of their first
   * partial and of the message that emitted them. A commit between the two
   * would leave part of the window behind it, and the floor not covering it
   * (cxp_merger_commit_point). */
  int64_t (*em)[2];
  uint32_t n_em, cap_em;
  int64_t cur_off;  /* the message being taken (cxp_merger_at); -1: a tick */
  int64_t last_off; /* the last message taken; -1 none */
};

cxp_merger *cxp_merger_create(int32_t n_inputs, int64_t timeout_ms, cxp_merge_emit_fn emit,
                              void *opaque) {
  if (n_inputs < 1 || timeout_ms < 0) return NULL;
  cxp_merger *m = calloc(1, sizeof *m);
  if (m == NULL) return NULL;
  m->n_inputs = n_inputs;
  m->timeout_ms = timeout_ms;
  m->emit = emit;
  m->opaque = opaque;
  m->wm = malloc(sizeof *m->wm * (size_t)n_inputs);
  m->base = malloc(sizeof *m->base * (size_t)n_inputs);
  m->missing = malloc(sizeof *m->missing * (size_t)n_inputs);
  if (m->wm == NULL || m->base == NULL || m->missing == NULL ||
      cxp_index_init(&m->index) != 0) {
    cxp_merger_destroy(m);
    return NULL;
  }
  for (int32_t i = 0; i < n_inputs; i++) m->wm[i] = m->base[i] = INT64_MIN;
  m->merged_wm = INT64_MIN;
  m->floor = INT64_MIN;
  m->forgot_end = INT64_MIN;
  m->cur_off = m->last_off = -1;
  return m;
}

void cxp_merger_on_batch(cxp_merger *m, cxp_merge_batch_fn fn) { m->batch = fn; }

void cxp_merger_revisions(cxp_merger *m, const cxp_window_conf *conf, uint32_t max_kept) {
  m->n_lengths = conf->n_lengths;
  for (int i = 0; i < conf->n_lengths; i++) {
    m->length_ms[i] = conf->length_ms[i];
    m->revision_ms[i] = conf->revision_ms[i];
  }
  m->max_kept = max_kept;
}

/* The revision horizon of a window length; 0 for one not configured. */
static int64_t horizon(const cxp_merger *m, int64_t length_ms) {
  for (int i = 0; i < m->n_lengths; i++)
    if (m->length_ms[i] == length_ms) return m->revision_ms[i];
  return 0;
}

void cxp_merger_destroy(cxp_merger *m) {
  if (m == NULL) return;
  for (uint32_t i = 0; i < m->n; i++) free(m->e[i].last_off);
  free(m->em);
  free(m->wm);
  free(m->base);
  free(m->chg);
  free(m->missing);
  free(m->e);
  cxp_index_free(&m->index);
  free(m->gone);
  free(m);
}

static uint64_t key_hash(const cxp_window_partial *p) {
  uint64_t h = HASH_SEED ^ ((uint64_t)p->length_ms * 0x9e3779b97f4a7c15ULL) ^
               ((uint64_t)p->start_ms * 0xbf58476d1ce4e5b9ULL);
  for (int f = 0; f < p->n_fields; f++)
    h = cxp_hash64(p->value[f], p->value_len[f], h + (uint64_t)p->fields[f] + 1);
  return h;
}

/* e[] renumbered: the index again, sized for `want` entries. */
static void reindex(cxp_merger *m, uint32_t want) {
  cxp_index_reset(&m->index, want);
  for (uint32_t i = 0; i < m->n; i++) cxp_index_put(&m->index, cxp_index_fp(m->e[i].hash), i);
}

static mentry *find(const cxp_merger *m, const cxp_window_partial *p, uint64_t h) {
  size_t pos = SIZE_MAX;
  uint32_t i;
  while ((i = cxp_index_next(&m->index, cxp_index_fp(h), &pos)) != CXP_INDEX_NONE) {
    mentry *e = &m->e[i];
    if (e->hash == h && cxp_window_partial_same(&e->p, p)) return e;
  }
  return NULL;
}

static int is_gone(const cxp_merger *m, const cxp_window_partial *p) {
  for (uint32_t i = 0; i < m->n_gone; i++)
    if (m->gone[i].length == p->length_ms && m->gone[i].start == p->start_ms) return 1;
  return 0;
}

static void note_offsets(const cxp_merger *m, mentry *e, const cxp_window_partial *p) {
  if (e->last_off == NULL) {
    e->last_off = cxp_xmalloc(sizeof *e->last_off * (size_t)m->n_inputs);
    for (int32_t i = 0; i < m->n_inputs; i++) e->last_off[i] = -1;
  }
  if (p->last_offset > e->last_off[p->partition]) e->last_off[p->partition] = p->last_offset;
}

static void emit_record(cxp_merger *m, const mentry *e, const void *origin);

int cxp_merger_partial(cxp_merger *m, const cxp_window_partial *p, int64_t now_wall_ms,
                       int64_t offset, const void *origin) {
  if (p->partition < -1 || p->partition >= m->n_inputs) return -1;
  if (p->end_ms <= m->floor) {
    m->st.replayed++;
    return 2;
  }
  uint64_t h = key_hash(p);
  mentry *e = find(m, p, h);
  /* Its window's records are out (every partition passed it, or it timed
   * out): a partial for it revises a group's record while the window is
   * within its horizon, and is late past it. */
  int64_t hz = horizon(m, p->length_ms);
  int out = p->end_ms <= m->merged_wm || is_gone(m, p);
  if (out && (e == NULL || !e->emitted) &&
      (hz == 0 || p->end_ms <= m->forgot_end ||
       (m->merged_wm != INT64_MIN && p->end_ms + hz <= m->merged_wm))) {
    m->st.late++;
    return -1;
  }
  /* The input this partial covers is taken already: the same window closed
   * again after its partition restarted behind the point where it first
   * closed. Its events are in the sum (or, past that point, were late for
   * the window the first time). */
  int ranged = p->partition >= 0 && p->first_offset >= 0 && p->last_offset >= p->first_offset;
  if (e && ranged && e->last_off && e->last_off[p->partition] >= p->first_offset) {
    m->st.duplicates++;
    return 1;
  }
  m->st.partials++;
  if (e) {
    cxp_window_partial_merge(&e->p, p);
    if (offset >= 0 && (e->min_offset < 0 || offset < e->min_offset)) e->min_offset = offset;
    if (ranged) note_offsets(m, e, p);
    if (e->emitted) {
      /* A kept record took a late partial: it goes out again, whole, with
       * the next revision number. */
      e->p.revision++;
      m->st.revisions++;
      emit_record(m, e, origin);
    }
    return 0;
  }
  if (m->n == m->cap) m->e = cxp_xgrow(m->e, &m->cap, 16, UINT32_MAX);
  e = &m->e[m->n];
  e->p = *p;
  e->p.late = 0;
  e->p.revision = 0;
  e->hash = h;
  e->first_wall = now_wall_ms;
  e->min_offset = offset;
  e->last_off = NULL;
  e->emitted = 0;
  if (ranged) note_offsets(m, e, p);
  cxp_index_put(&m->index, cxp_index_fp(h), m->n);
  m->n++;
  if (out) {
    /* A group the window's records had not had: its first record goes out
     * now (revision 0), and is kept like the others. */
    e->emitted = 1;
    m->n_kept++;
    emit_record(m, e, origin);
  }
  m->st.pending = m->n - m->n_kept;
  if (m->st.pending > m->st.pending_max) m->st.pending_max = m->st.pending;
  return 0;
}

/* The input partitions whose watermark has not passed a window (m->missing);
 * how many. */
static int missing_of(cxp_merger *m, const cxp_window_partial *p) {
  int nm = 0;
  for (int32_t in = 0; in < m->n_inputs; in++)
    if (m->wm[in] < p->end_ms) m->missing[nm++] = in;
  return nm;
}

/* A kept record goes out (again), naming the partitions missing. */
static void emit_record(cxp_merger *m, const mentry *e, const void *origin) {
  int nm = missing_of(m, &e->p);
  if (m->emit) m->emit(m->opaque, origin, &e->p, m->missing, nm);
}

/* Final records go out in a stable order: by end, length, then group. */
static int entry_cmp(const void *pa, const void *pb) {
  const cxp_window_partial *a = &((const mentry *)pa)->p, *b = &((const mentry *)pb)->p;
  if (a->end_ms != b->end_ms) return a->end_ms < b->end_ms ? -1 : 1;
  if (a->length_ms != b->length_ms) return a->length_ms < b->length_ms ? -1 : 1;
  if (a->n_fields != b->n_fields) return a->n_fields - b->n_fields;
  for (int f = 0; f < a->n_fields; f++) {
    if (a->fields[f] != b->fields[f]) return (int)a->fields[f] - (int)b->fields[f];
    int c = strcmp(a->value[f], b->value[f]);
    if (c) return c;
  }
  return 0;
}

/* Emits and removes every entry `pick` selects. The entries are moved to the
 * tail, sorted there, emitted, and dropped; the index is rebuilt once. */
static int emit_where(cxp_merger *m, int (*pick)(const cxp_merger *, const mentry *, void *),
                      void *arg, const void *origin) {
  uint32_t keep = 0;
  /* Partition in place: selected entries (never one emitted already) after
   * the others. */
  for (uint32_t i = 0; i < m->n; i++) {
    if (m->e[i].emitted || !pick(m, &m->e[i], arg)) {
      if (i != keep) {
        mentry t = m->e[keep];
        m->e[keep] = m->e[i];
        m->e[i] = t;
      }
      keep++;
    }
  }
  uint32_t n_out = m->n - keep;
  if (n_out == 0) return 0;
  qsort(m->e + keep, n_out, sizeof *m->e, entry_cmp);
  /* Every group of a window is merged here (partials are routed by window):
   * each record's spread across its channels and agents is read off the
   * others before any goes out. */
  cxp_window_partial **ps = cxp_xmalloc(sizeof *ps * n_out);
  for (uint32_t i = 0; i < n_out; i++) ps[i] = &m->e[keep + i].p;
  cxp_window_spreads(ps, (int)n_out);
  for (uint32_t i = keep; i < m->n; i++) {
    mentry *e = &m->e[i];
    int nm = missing_of(m, &e->p);
    if (nm)
      m->st.incomplete++;
    else
      m->st.complete++;
    e->p.revision = 0;
    if (m->emit) m->emit(m->opaque, origin, &e->p, m->missing, nm);
  }
  if (m->batch) m->batch(m->opaque, origin, (const cxp_window_partial *const *)ps, (int)n_out);
  free(ps);
  for (uint32_t i = keep; i < m->n; i++) {
    mentry *e = &m->e[i];
    if (e->min_offset >= 0) {
      if (m->n_em == m->cap_em) m->em = cxp_xgrow(m->em, &m->cap_em, 64, UINT32_MAX);
      m->em[m->n_em][0] = e->min_offset;
      /* Emitted by a tick: as if by the message after the last one taken. */
      m->em[m->n_em][1] = m->cur_off >= 0 ? m->cur_off : m->last_off + 1;
      m->n_em++;
    }
    /* Kept for revisions while its window is within its horizon. */
    if (horizon(m, e->p.length_ms) > 0) {
      e->emitted = 1;
      if (keep != i) {
        mentry t = m->e[keep];
        m->e[keep] = *e;
        *e = t;
      }
      keep++;
      m->n_kept++;
      continue;
    }
    free(e->last_off);
  }
  m->n = keep;
  m->st.pending = m->n - m->n_kept;
  reindex(m, m->n);
  return (int)n_out;
}

/* Kept records whose window the merged watermark has passed by its horizon
 * go; past max_kept, those of the earliest windows go first. */
static void forget(cxp_merger *m) {
  if (m->n_kept == 0) return;
  int64_t cut = INT64_MIN;
  if (m->max_kept && m->n_kept > m->max_kept) {
    /* The end below which enough records go: a selection by scanning, as
     * this is rare (the bound is far above what a horizon holds). */
    uint32_t over = m->n_kept - m->max_kept;
    while (over > 0) {
      int64_t low = INT64_MAX;
      for (uint32_t i = 0; i < m->n; i++)
        if (m->e[i].emitted && m->e[i].p.end_ms > cut && m->e[i].p.end_ms < low)
          low = m->e[i].p.end_ms;
      if (low == INT64_MAX) break;
      cut = low;
      uint32_t at = 0;
      for (uint32_t i = 0; i < m->n; i++) at += m->e[i].emitted && m->e[i].p.end_ms == low;
      over = at >= over ? 0 : over - at;
    }
  }
  uint32_t keep = 0, gone = 0;
  for (uint32_t i = 0; i < m->n; i++) {
    mentry *e = &m->e[i];
    int drop = 0;
    if (e->emitted) {
      int64_t hz = horizon(m, e->p.length_ms);
      if (m->merged_wm != INT64_MIN && e->p.end_ms + hz <= m->merged_wm) drop = 1;
      if (!drop && e->p.end_ms <= cut) {
        drop = 1;
        m->st.forgotten_early++;
        if (e->p.end_ms > m->forgot_end) m->forgot_end = e->p.end_ms;
      }
    }
    if (drop) {
      free(e->last_off);
      gone++;
      continue;
    }
    if (keep != i) m->e[keep] = *e;
    keep++;
  }
  if (gone == 0) return;
  m->n = keep;
  m->n_kept -= gone;
  reindex(m, m->n);
}

static int pick_closed(const cxp_merger *m, const mentry *e, void *arg) {
  (void)arg;
  return e->p.end_ms <= m->merged_wm;
}

int cxp_merger_marker(cxp_merger *m, int32_t input, int64_t watermark, const void *origin) {
  if (input < 0 || input >= m->n_inputs) return -1;
  m->st.markers++;
  if (watermark <= m->wm[input]) return 0;
  int64_t old = m->wm[input];
  m->wm[input] = watermark;
  if (m->cur_off >= 0) {
    if (m->n_chg == m->cap_chg) m->chg = cxp_xgrow(m->chg, &m->cap_chg, 64, UINT32_MAX);
    m->chg[m->n_chg++] = (struct wm_change){m->cur_off, watermark, input};
  }
  /* The merged watermark moves only when the laggard moves. */
  if (old != m->merged_wm) return 0;
  int64_t low = INT64_MAX;
  for (int32_t i = 0; i < m->n_inputs; i++)
    if (m->wm[i] < low) low = m->wm[i];
  if (low <= m->merged_wm) return 0;
  m->merged_wm = low;
  uint32_t k = 0;
  for (uint32_t i = 0; i < m->n_gone; i++)
    if (m->gone[i].end > low) m->gone[k++] = m->gone[i];
  m->n_gone = k;
  int n = emit_where(m, pick_closed, NULL, origin);
  forget(m);
  return n;
}

typedef struct expiry {
  const gone_window *w;
  uint32_t n;
} expiry;

static int pick_expired(const cxp_merger *m, const mentry *e, void *arg) {
  (void)m;
  const expiry *x = arg;
  for (uint32_t i = 0; i < x->n; i++)
    if (x->w[i].length == e->p.length_ms && x->w[i].start == e->p.start_ms) return 1;
  return 0;
}

int cxp_merger_tick(cxp_merger *m, int64_t now_wall_ms, const void *origin) {
  if (m->timeout_ms == 0 || m->n == m->n_kept) return 0;
  /* A window times out as a whole, on its first group's clock: its other
   * groups go with it, so a window is never half emitted. */
  uint32_t first_new = m->n_gone;
  for (uint32_t i = 0; i < m->n; i++) {
    const mentry *e = &m->e[i];
    if (e->emitted || e->first_wall <= 0 || now_wall_ms - e->first_wall < m->timeout_ms)
      continue;
    int known = 0;
    for (uint32_t g = first_new; g < m->n_gone; g++)
      if (m->gone[g].length == e->p.length_ms && m->gone[g].start == e->p.start_ms) known = 1;
    if (known) continue;
    if (m->n_gone == m->cap_gone) m->gone = cxp_xgrow(m->gone, &m->cap_gone, 8, UINT32_MAX);
    m->gone[m->n_gone++] = (gone_window){e->p.length_ms, e->p.start_ms, e->p.end_ms};
  }
  if (m->n_gone == first_new) return 0;
  expiry x = {m->gone + first_new, m->n_gone - first_new};
  int n = emit_where(m, pick_expired, &x, origin);
  forget(m);
  return n;
}

static int pick_all(const cxp_merger *m, const mentry *e, void *arg) {
  (void)m;
  (void)e;
  (void)arg;
  return 1;
}

int cxp_merger_flush(cxp_merger *m, const void *origin) {
  return emit_where(m, pick_all, NULL, origin);
}

int64_t cxp_merger_hold(const cxp_merger *m) {
  int64_t low = -1;
  for (uint32_t i = 0; i < m->n; i++)
    if (m->e[i].min_offset >= 0 && (low < 0 || m->e[i].min_offset < low))
      low = m->e[i].min_offset;
  return low;
}

int64_t cxp_merger_watermark(const cxp_merger *m) { return m->merged_wm; }

void cxp_merger_mark_offset(cxp_merger *m, int64_t offset) {
  if (offset < 0 || m->merged_wm == INT64_MIN) return;
  if (m->hist_n > 0 && m->hist_wm[m->hist_n - 1] >= m->merged_wm) return;
  if (m->hist_n == MERGE_HIST) {
    memmove(m->hist_off, m->hist_off + 1, sizeof *m->hist_off * (MERGE_HIST - 1));
    memmove(m->hist_wm, m->hist_wm + 1, sizeof *m->hist_wm * (MERGE_HIST - 1));
    m->hist_n--;
  }
  m->hist_off[m->hist_n] = offset;
  m->hist_wm[m->hist_n] = m->merged_wm;
  m->hist_n++;
}

void cxp_merger_at(cxp_merger *m, int64_t offset) {
  m->cur_off = offset;
  if (offset > m->last_off) m->last_off = offset;
}

int64_t cxp_merger_commit_point(const cxp_merger *m, int64_t committable) {
  int64_t c = committable, h = cxp_merger_hold(m);
  if (h >= 0 && (c < 0 || h < c)) c = h;
  if (c < 0) return c;
  /* Not between a window's first partial and the message that emitted it:
   * before it, the window is read again whole; after it, the floor covers
   * it. Moving back can put another window across: until none is. */
  for (int moved = 1; moved;) {
    moved = 0;
    for (uint32_t i = 0; i < m->n_em; i++)
      if (m->em[i][0] < c && m->em[i][1] >= c) {
        c = m->em[i][0];
        moved = 1;
      }
  }
  return c;
}

int64_t cxp_merger_floor_at(cxp_merger *m, int64_t commit_offset) {
  /* Windows emitted before the commit are under its floor from now on. */
  uint32_t kept = 0;
  for (uint32_t i = 0; i < m->n_em; i++)
    if (m->em[i][1] >= commit_offset) {
      m->em[kept][0] = m->em[i][0];
      m->em[kept][1] = m->em[i][1];
      kept++;
    }
  m->n_em = kept;
  uint32_t k = 0;
  while (k < m->hist_n && m->hist_off[k] < commit_offset) k++;
  if (k == 0) return m->floor;
  int64_t f = m->hist_wm[k - 1];
  /* What is older than that entry is never asked again (commits only
   * move forward). */
  memmove(m->hist_off, m->hist_off + k - 1, sizeof *m->hist_off * (m->hist_n - k + 1));
  memmove(m->hist_wm, m->hist_wm + k - 1, sizeof *m->hist_wm * (m->hist_n - k + 1));
  m->hist_n -= k - 1;
  return f > m->floor ? f : m->floor;
}

int32_t cxp_merger_watermarks_at(cxp_merger *m, int64_t commit_offset, int64_t *out) {
  cxp_merger_floor_at(m, commit_offset); /* the emitted windows before it go too */
  uint32_t k = 0;
  for (; k < m->n_chg && m->chg[k].offset < commit_offset; k++)
    if (m->chg[k].wm > m->base[m->chg[k].input]) m->base[m->chg[k].input] = m->chg[k].wm;
  if (k) memmove(m->chg, m->chg + k, sizeof *m->chg * (m->n_chg - k));
  m->n_chg -= k;
  memcpy(out, m->base, sizeof *out * (size_t)m->n_inputs);
  return m->n_inputs;
}

void cxp_merger_set_watermarks(cxp_merger *m, const int64_t *wm, int32_t n) {
  if (n != m->n_inputs) return;
  int64_t low = INT64_MAX;
  for (int32_t i = 0; i < n; i++) {
    if (wm[i] > m->wm[i]) m->wm[i] = wm[i];
    if (wm[i] > m->base[i]) m->base[i] = wm[i];
    if (m->wm[i] < low) low = m->wm[i];
  }
  if (low > m->merged_wm) m->merged_wm = low;
  cxp_merger_set_floor(m, m->merged_wm);
}

void cxp_merger_set_floor(cxp_merger *m, int64_t floor) {
  if (floor > m->floor) m->floor = floor;
}

cxp_merge_stats cxp_merger_stats(const cxp_merger *m) {
  cxp_merge_stats s = m->st;
  s.kept = m->n_kept;
  return s;
}

size_t cxp_merger_bytes(const cxp_merger *m) {
  return sizeof *m + (size_t)m->n_inputs * (sizeof *m->wm + sizeof *m->missing) +
         (size_t)m->cap * sizeof *m->e + cxp_index_bytes(&m->index) +
         (size_t)m->cap_gone * sizeof *m->gone;
}
