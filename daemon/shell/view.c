/* The operations console's view (view.h): cases, segment windows and
 * alerts as the topics carry them, bounded. */
#include "view.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "alert.h"
#include "hash.h"
#include "index.h"
#include "timeutil.h"
#include "xalloc.h"

#define NONE UINT32_MAX
#define NO_DUE INT64_MAX
#define SEED_VCASE 0x7663617365ULL
#define SEED_VGROUP 0x7667726f7570ULL

/* One case: its record as served, and what the queries filter and sort
 * by. `strs` holds case_id, customer_id, segment and role, each ended by a
 * NUL (empty when the record has none). A slot is free when rec is NULL. */
typedef struct vcase {
  char *rec;
  char *strs;
  size_t rec_len, strs_len;
  const char *id, *cust, *seg, *role;
  uint64_t h;
  int64_t due;     /* next_deadline; NO_DUE when null */
  int64_t updated; /* updated_at */
  uint32_t prev, next; /* its list, least recently updated first */
  uint8_t open;
  uint8_t list; /* 0: closed; 1..4: open, by priority */
} vcase;

/* One closed window of a group, as its latest revision says. */
typedef struct vwin {
  int64_t start, end;
  double csat, nps, ces; /* NAN: null */
  double events;         /* n.events */
  long long revision;
  int incomplete;
  char *n_json, *low_n_json;
} vwin;

typedef struct vgroup {
  uint64_t h;
  int64_t len_ms;
  char *group_json; /* compact, as the record had it */
  char *label;      /* "segment=gold,channel=web": the gauges' label */
  int64_t drop_start; /* the window a score_drop alert named; INT64_MIN: none */
  int64_t gap_start;  /* the window a group's servqual.gap named; INT64_MIN: none */
  uint32_t n;
  vwin *w;          /* oldest first, `trend` of them */
} vgroup;

typedef struct valert {
  char *rec;
  size_t len;
  char type[48];
  int priority;
} valert;

struct cxp_view {
  cxp_view_conf conf;
  vcase *cases;
  uint32_t n_cases, cap_cases, free_case, n_open;
  /* The cases by list: closed ones, then open ones by priority 1..4; a
   * full view lets go of the closed first, then of the open of the lowest
   * priority, the least recently updated of either first. */
  uint32_t head[5], tail[5];
  cxp_index cidx;
  vgroup *groups;
  uint32_t n_groups;
  cxp_index gidx;
  valert *alerts; /* a ring of max_alerts */
  uint32_t n_alerts, next_alert;
  size_t bytes;
  cxp_view_stats st;
};

/* ---- helpers -------------------------------------------------------------- */

void cxp_view_put_json(cxp_buf *out, const char *json, size_t n) {
  size_t from = 0;
  for (size_t i = 0; i < n; i++) {
    const char *esc = json[i] == '<' ? "\\u003c" : json[i] == '>' ? "\\u003e"
                      : json[i] == '&' ? "\\u0026" : NULL;
    if (esc == NULL) continue;
    cxp_buf_put(out, json + from, i - from);
    cxp_buf_put(out, esc, 6);
    from = i + 1;
  }
  cxp_buf_put(out, json + from, n - from);
}

static const char *str_of(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* An RFC 3339 member; `none` when absent or null, -1 (refused) when not a time. */
static int time_of(const cJSON *o, const char *k, int64_t none, int64_t *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  if (v == NULL || cJSON_IsNull(v)) {
    *out = none;
    return 0;
  }
  if (!cJSON_IsString(v)) return -1;
  return cxp_time_parse_rfc3339(v->valuestring, strlen(v->valuestring), out);
}

static double num_of(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* o as compact JSON, heap-allocated. cJSON fails only when memory runs
 * out: the process fails then, as every allocation of xalloc.h does. */
static char *print(const cJSON *o) {
  char *s = cJSON_PrintUnformatted(o);
  if (s == NULL) cxp_xmalloc(SIZE_MAX); /* aborts, with its line on stderr */
  return s;
}

static cJSON *parse(cxp_view *v, const char *val, size_t vlen) {
  cJSON *o = val && vlen && vlen <= CXP_VIEW_RECORD_MAX ? cJSON_ParseWithLength(val, vlen) : NULL;
  if (o && cJSON_IsObject(o)) return o;
  cJSON_Delete(o);
  v->st.refused++;
  return NULL;
}

/* ---- cases ---------------------------------------------------------------- */

static void unlink_case(cxp_view *v, uint32_t i) {
  vcase *c = &v->cases[i];
  int l = c->list;
  if (c->prev != NONE) v->cases[c->prev].next = c->next; else v->head[l] = c->next;
  if (c->next != NONE) v->cases[c->next].prev = c->prev; else v->tail[l] = c->prev;
  c->prev = c->next = NONE;
}

static void link_case(cxp_view *v, uint32_t i) {
  vcase *c = &v->cases[i];
  int l = c->list;
  c->prev = v->tail[l];
  c->next = NONE;
  if (v->tail[l] != NONE) v->cases[v->tail[l]].next = i; else v->head[l] = i;
  v->tail[l] = i;
}

static uint32_t find_case(const cxp_view *v, const char *id, size_t n, uint64_t h) {
  size_t pos = SIZE_MAX;
  uint32_t i;
  while ((i = cxp_index_next(&v->cidx, cxp_index_fp(h), &pos)) != CXP_INDEX_NONE)
    if (v->cases[i].h == h && strlen(v->cases[i].id) == n && memcmp(v->cases[i].id, id, n) == 0)
      return i;
  return NONE;
}

static void drop_case(cxp_view *v, uint32_t i) {
  vcase *c = &v->cases[i];
  unlink_case(v, i);
  cxp_index_del(&v->cidx, cxp_index_fp(c->h), i);
  v->bytes -= c->rec_len + c->strs_len;
  if (c->open) v->n_open--;
  free(c->rec);
  free(c->strs);
  memset(c, 0, sizeof *c);
  c->next = v->free_case;
  v->free_case = i;
  v->n_cases--;
}

/* A slot for a new case: a free one, a new one under the bound, or the
 * least recently updated closed case's (when none is closed, the least
 * recently updated open case's of the lowest priority). */
static uint32_t take_slot(cxp_view *v) {
  if (v->n_cases >= v->conf.max_cases) {
    static const int order[5] = {0, 4, 3, 2, 1};
    uint32_t victim = NONE;
    for (int k = 0; k < 5 && victim == NONE; k++) victim = v->head[order[k]];
    drop_case(v, victim);
    v->st.cases_dropped++;
  }
  uint32_t i = v->free_case;
  if (i != NONE) {
    v->free_case = v->cases[i].next;
  } else {
    if (v->cap_cases == v->n_cases) {
      uint32_t cap = v->cap_cases ? v->cap_cases * 2 : 64;
      if (cap > v->conf.max_cases) cap = v->conf.max_cases;
      v->cases = cxp_xrealloc(v->cases, sizeof *v->cases * cap);
      memset(v->cases + v->cap_cases, 0, sizeof *v->cases * (cap - v->cap_cases));
      v->bytes += sizeof *v->cases * (cap - v->cap_cases);
      v->cap_cases = cap;
    }
    i = v->n_cases; /* no free slot: every slot below n_cases is in use */
  }
  memset(&v->cases[i], 0, sizeof v->cases[i]);
  v->cases[i].prev = v->cases[i].next = NONE;
  v->n_cases++;
  return i;
}

int cxp_view_case(cxp_view *v, const char *key, size_t klen, const char *val, size_t vlen) {
  if (val == NULL) { /* a tombstone: the case is forgotten */
    if (key == NULL || klen == 0) return -1;
    uint32_t i = find_case(v, key, klen, cxp_hash64(key, klen, SEED_VCASE));
    if (i != NONE) drop_case(v, i);
    return 0;
  }
  cJSON *o = parse(v, val, vlen);
  if (o == NULL) return -1;
  const char *id = str_of(o, "case_id"), *cust = str_of(o, "customer_id");
  const char *state = str_of(o, "state"), *seg = str_of(o, "segment"), *role = str_of(o, "role");
  int64_t due, updated;
  if (id == NULL || !id[0] || cust == NULL || state == NULL ||
      (strcmp(state, "open") != 0 && strcmp(state, "closed") != 0) ||
      time_of(o, "next_deadline", NO_DUE, &due) != 0 ||
      time_of(o, "updated_at", 0, &updated) != 0) {
    v->st.refused++;
    cJSON_Delete(o);
    return -1;
  }
  size_t idn = strlen(id);
  uint64_t h = cxp_hash64(id, idn, SEED_VCASE);
  uint32_t i = find_case(v, id, idn, h);
  if (i != NONE && updated < v->cases[i].updated) { /* an older state: kept out */
    cJSON_Delete(o);
    return 0;
  }
  char *rec = print(o);
  size_t ln[4] = {idn, strlen(cust), seg ? strlen(seg) : 0, role ? strlen(role) : 0};
  size_t sl = ln[0] + ln[1] + ln[2] + ln[3] + 4;
  char *strs = cxp_xmalloc(sl), *p = strs;
  const char *src[4] = {id, cust, seg ? seg : "", role ? role : ""};
  const char *dst[4];
  for (int k = 0; k < 4; k++) {
    memcpy(p, src[k], ln[k] + 1);
    dst[k] = p;
    p += ln[k] + 1;
  }
  if (i != NONE) {
    vcase *c = &v->cases[i];
    unlink_case(v, i);
    if (c->open) v->n_open--;
    v->bytes -= c->rec_len + c->strs_len;
    free(c->rec);
    free(c->strs);
  } else {
    i = take_slot(v);
    cxp_index_put(&v->cidx, cxp_index_fp(h), i);
  }
  vcase *c = &v->cases[i];
  c->rec = rec;
  c->rec_len = strlen(rec);
  c->strs = strs;
  c->strs_len = sl;
  c->id = dst[0];
  c->cust = dst[1];
  c->seg = dst[2];
  c->role = dst[3];
  c->h = h;
  c->due = due;
  c->updated = updated;
  c->open = strcmp(state, "open") == 0;
  /* Priority 1..4; a record without one counts as the lowest. */
  const cJSON *pr = cJSON_GetObjectItemCaseSensitive(o, "priority");
  int prio = cJSON_IsNumber(pr) && pr->valuedouble >= 1 && pr->valuedouble <= 4
                 ? (int)pr->valuedouble : 4;
  c->list = c->open ? (uint8_t)prio : 0;
  if (c->open) v->n_open++;
  v->bytes += c->rec_len + sl;
  link_case(v, i);
  v->st.case_records++;
  cJSON_Delete(o);
  return 0;
}

static int case_passes(const vcase *c, const cxp_view_case_query *q) {
  if (c->rec == NULL) return 0;
  if (q->state != CXP_VIEW_ALL && !c->open) return 0;
  if (q->state == CXP_VIEW_OVERDUE && !(c->due != NO_DUE && c->due < q->now_ms)) return 0;
  if (q->role && q->role[0] && strcmp(q->role, c->role) != 0) return 0;
  if (q->segment && q->segment[0] && strcmp(q->segment, c->seg) != 0) return 0;
  if (q->customer && strcmp(q->customer, c->cust) != 0) return 0;
  return 1;
}

/* Open before closed, then by next deadline (none last), then by case id:
 * the order is total, so an answer does not depend on slot numbers. */
static const cxp_view *sort_view;
static int by_due(const void *a, const void *b) {
  const vcase *x = &sort_view->cases[*(const uint32_t *)a];
  const vcase *y = &sort_view->cases[*(const uint32_t *)b];
  if (x->open != y->open) return x->open ? -1 : 1;
  if (x->due != y->due) return x->due < y->due ? -1 : 1;
  return strcmp(x->id, y->id);
}

/* by_due on two slots (sort_view set by the caller). */
static int due_cmp(uint32_t a, uint32_t b) { return by_due(&a, &b); }

/* The heap below keeps its worst case (by by_due) at the root. */
static void sift_down(uint32_t *h, uint32_t n, uint32_t i) {
  for (;;) {
    uint32_t l = 2 * i + 1, r = l + 1, w = i;
    if (l < n && due_cmp(h[l], h[w]) > 0) w = l;
    if (r < n && due_cmp(h[r], h[w]) > 0) w = r;
    if (w == i) return;
    uint32_t t = h[i];
    h[i] = h[w];
    h[w] = t;
    i = w;
  }
}

static void sift_up(uint32_t *h, uint32_t i) {
  while (i > 0) {
    uint32_t up = (i - 1) / 2;
    if (due_cmp(h[i], h[up]) <= 0) return;
    uint32_t t = h[i];
    h[i] = h[up];
    h[up] = t;
    i = up;
  }
}

/* The first `limit` slots, in order, of the cases that pass (*n of them),
 * and *total, how many pass. A request for the first hundred of 100,000
 * cases keeps the best hundred in a heap as it scans, instead of sorting
 * them all: the answer is made on the loop (16 ms a request with a full
 * sort at 100,000 cases, 0.6 ms so). */
static uint32_t *matching(const cxp_view *v, const cxp_view_case_query *q, uint32_t limit,
                          uint32_t *n, uint32_t *total) {
  uint32_t k = limit < v->n_cases ? limit : v->n_cases;
  uint32_t *h = cxp_xmalloc(sizeof *h * (k ? k : 1));
  /* The loop thread is the only one that asks: a file-scope comparator
   * context is safe here and spares a qsort_r. */
  sort_view = v;
  *n = *total = 0;
  for (uint32_t i = 0; i < v->cap_cases && *total < v->n_cases; i++) {
    if (!case_passes(&v->cases[i], q)) continue;
    ++*total;
    if (k == 0) continue;
    if (*n < k) {
      h[*n] = i;
      sift_up(h, (*n)++);
    } else if (due_cmp(i, h[0]) < 0) {
      h[0] = i;
      sift_down(h, k, 0);
    }
  }
  qsort(h, *n, sizeof *h, by_due);
  return h;
}

void cxp_view_cases_json(const cxp_view *v, const cxp_view_case_query *q, cxp_buf *out) {
  uint32_t n, total;
  uint32_t *idx = matching(v, q, q->limit, &n, &total);
  cxp_buf_puts(out, "{\"cases\":[");
  for (uint32_t k = 0; k < n; k++) {
    if (k) cxp_buf_putc(out, ',');
    cxp_view_put_json(out, v->cases[idx[k]].rec, v->cases[idx[k]].rec_len);
  }
  cxp_buf_printf(out, "],\"total\":%u}", total);
  free(idx);
}

void cxp_view_customer_cases(const cxp_view *v, const char *customer, cxp_jw *j,
                             const char *key) {
  cxp_view_case_query q = {CXP_VIEW_ALL, NULL, NULL, customer, UINT32_MAX, 0};
  uint32_t n, total;
  uint32_t *idx = matching(v, &q, UINT32_MAX, &n, &total);
  cxp_jw_key(j, key);
  cxp_buf *b = j->b;
  cxp_buf_putc(b, '[');
  for (uint32_t k = 0; k < n; k++) {
    if (k) cxp_buf_putc(b, ',');
    cxp_view_put_json(b, v->cases[idx[k]].rec, v->cases[idx[k]].rec_len);
  }
  cxp_buf_putc(b, ']');
  free(idx);
}

/* ---- segment windows ------------------------------------------------------ */

/* "segment=gold,channel=web" from the group object ("all" for the empty
 * group of all customers). */
static char *group_label(const cJSON *g) {
  cxp_buf b;
  cxp_buf_init(&b);
  const cJSON *m;
  cJSON_ArrayForEach(m, g) {
    if (b.len) cxp_buf_putc(&b, ',');
    cxp_buf_printf(&b, "%s=%s", m->string, cJSON_IsString(m) ? m->valuestring : "null");
  }
  if (b.len == 0) cxp_buf_puts(&b, "all");
  cxp_buf_putc(&b, '\0');
  return b.p;
}

static vgroup *find_group(const cxp_view *v, int64_t len_ms, const char *gj, uint64_t h) {
  size_t pos = SIZE_MAX;
  uint32_t i;
  while ((i = cxp_index_next(&v->gidx, cxp_index_fp(h), &pos)) != CXP_INDEX_NONE)
    if (v->groups[i].h == h && v->groups[i].len_ms == len_ms &&
        strcmp(v->groups[i].group_json, gj) == 0)
      return &v->groups[i];
  return NULL;
}

static uint64_t group_hash(int64_t len_ms, const char *gj) {
  return cxp_hash64(gj, strlen(gj), SEED_VGROUP ^ (uint64_t)len_ms);
}

static void win_free(cxp_view *v, vwin *w) {
  v->bytes -= strlen(w->n_json) + strlen(w->low_n_json) + 2;
  free(w->n_json);
  free(w->low_n_json);
}

/* Puts window w in g's trend: a revision (same start) replaces its window
 * unless older; a window older than a full trend's oldest is not kept. */
static void trend_put(cxp_view *v, vgroup *g, vwin *w) {
  uint32_t k = 0;
  while (k < g->n && g->w[k].start < w->start) k++;
  if (k < g->n && g->w[k].start == w->start) {
    if (w->revision < g->w[k].revision) goto drop;
    win_free(v, &g->w[k]);
    g->w[k] = *w;
    return;
  }
  if (g->n == v->conf.trend) {
    if (k == 0) goto drop;
    win_free(v, &g->w[0]);
    memmove(&g->w[0], &g->w[1], sizeof *g->w * (k - 1));
    g->w[k - 1] = *w;
    return;
  }
  memmove(&g->w[k + 1], &g->w[k], sizeof *g->w * (g->n - k));
  g->w[k] = *w;
  g->n++;
  return;
drop:
  win_free(v, w);
}


/* The group of windows of length len_ms keyed `g`, made when new (no
 * window yet: the segments skip it till one comes); NULL, counted, when
 * max_groups are kept already. */
static vgroup *group_get(cxp_view *v, int64_t len_ms, const cJSON *g) {
  char *gj = print(g);
  uint64_t h = group_hash(len_ms, gj);
  vgroup *grp = find_group(v, len_ms, gj, h);
  if (grp) {
    free(gj);
    return grp;
  }
  if (v->n_groups >= v->conf.max_groups) {
    v->st.groups_dropped++;
    free(gj);
    return NULL;
  }
  grp = &v->groups[v->n_groups];
  memset(grp, 0, sizeof *grp);
  grp->h = h;
  grp->len_ms = len_ms;
  grp->group_json = gj;
  grp->label = group_label(g);
  grp->drop_start = grp->gap_start = INT64_MIN;
  grp->w = cxp_xcalloc(v->conf.trend, sizeof *grp->w);
  v->bytes += strlen(gj) + strlen(grp->label) + 2 + sizeof *grp->w * v->conf.trend;
  cxp_index_put(&v->gidx, cxp_index_fp(h), v->n_groups++);
  return grp;
}
int cxp_view_indicator(cxp_view *v, const char *val, size_t vlen) {
  cJSON *o = parse(v, val, vlen);
  if (o == NULL) return -1;
  const cJSON *g = cJSON_GetObjectItemCaseSensitive(o, "group");
  const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, "n");
  const cJSON *low = cJSON_GetObjectItemCaseSensitive(o, "low_n");
  const cJSON *rev = cJSON_GetObjectItemCaseSensitive(o, "revision");
  vwin w;
  memset(&w, 0, sizeof w);
  if (!cJSON_IsObject(g) || !cJSON_IsObject(n) || time_of(o, "window_start", -1, &w.start) ||
      time_of(o, "window_end", -1, &w.end) || w.start < 0 || w.end <= w.start) {
    v->st.refused++;
    cJSON_Delete(o);
    return -1;
  }
  vgroup *grp = group_get(v, w.end - w.start, g);
  if (grp == NULL) {
    cJSON_Delete(o);
    return 0;
  }
  w.csat = num_of(o, "csat");
  w.nps = num_of(o, "nps");
  w.ces = num_of(o, "ces");
  w.events = num_of(n, "events");
  w.revision = cJSON_IsNumber(rev) ? (long long)rev->valuedouble : 0;
  w.incomplete = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "incomplete"));
  w.n_json = print(n);
  if (cJSON_IsArray(low)) {
    w.low_n_json = print(low);
  } else { /* a record of an earlier schema: none below min_n */
    w.low_n_json = cxp_xmalloc(3);
    memcpy(w.low_n_json, "[]", 3);
  }
  v->bytes += strlen(w.n_json) + strlen(w.low_n_json) + 2;
  trend_put(v, grp, &w);
  v->st.indicator_records++;
  cJSON_Delete(o);
  return 0;
}

static void put_raw(cxp_jw *j, const char *key, const char *json) {
  cxp_jw_key(j, key);
  cxp_view_put_json(j->b, json, strlen(json));
}

void cxp_view_segments_json(const cxp_view *v, cxp_buf *out) {
  cxp_jw j;
  cxp_jw_init(&j, out);
  cxp_jw_obj(&j, NULL);
  cxp_jw_arr(&j, "segments");
  for (uint32_t i = 0; i < v->n_groups; i++) {
    const vgroup *g = &v->groups[i];
    if (g->n == 0) continue;
    const vwin *last = &g->w[g->n - 1];
    cxp_jw_obj(&j, NULL);
    put_raw(&j, "group", g->group_json);
    cxp_jw_int(&j, "window_s", g->len_ms / 1000);
    cxp_jw_time(&j, "window_start", last->start);
    cxp_jw_time(&j, "window_end", last->end);
    cxp_jw_num(&j, "csat", last->csat);
    cxp_jw_num(&j, "nps", last->nps);
    cxp_jw_num(&j, "ces", last->ces);
    put_raw(&j, "n", last->n_json);
    put_raw(&j, "low_n", last->low_n_json);
    cxp_jw_bool(&j, "incomplete", last->incomplete);
    cxp_jw_int(&j, "revision", last->revision);
    cxp_jw_arr(&j, "trend");
    for (uint32_t k = 0; k < g->n; k++) {
      cxp_jw_obj(&j, NULL);
      cxp_jw_time(&j, "window_start", g->w[k].start);
      cxp_jw_num(&j, "csat", g->w[k].csat);
      cxp_jw_num(&j, "nps", g->w[k].nps);
      put_raw(&j, "n", g->w[k].n_json);
      cxp_jw_end(&j);
    }
    cxp_jw_end(&j);
    cxp_jw_arr(&j, "flags");
    if (g->drop_start == last->start) cxp_jw_cstr(&j, NULL, "drop");
    if (g->gap_start == last->start) cxp_jw_cstr(&j, NULL, "servqual_gap");
    if (last->incomplete) cxp_jw_cstr(&j, NULL, "incomplete");
    cxp_jw_end(&j);
    cxp_jw_end(&j);
  }
  cxp_jw_end(&j);
  cxp_jw_end(&j);
}

/* ---- alerts --------------------------------------------------------------- */

/* An alert about a group's window flags it: a score_drop segment.anomaly
 * "drop" (its member anomaly), a group's servqual.gap "servqual_gap" (its
 * member servqual). The member names the group and the window. */
static void note_flag(cxp_view *v, const cJSON *o) {
  const cJSON *an = cJSON_GetObjectItemCaseSensitive(o, "anomaly");
  const char *kind = str_of(an, "kind");
  int drop = kind != NULL && strcmp(kind, "score_drop") == 0;
  if (!drop) an = cJSON_GetObjectItemCaseSensitive(o, "servqual");
  const cJSON *g = cJSON_GetObjectItemCaseSensitive(an, "group");
  int64_t start, end;
  if (!cJSON_IsObject(g) || time_of(an, "window_start", -1, &start) ||
      time_of(an, "window_end", -1, &end) || end <= start)
    return;
  /* The alert may come before any window of its group (the followers read
   * their topics in no order with each other): the group is made for it. */
  vgroup *grp = group_get(v, end - start, g);
  int64_t *at = grp == NULL ? NULL : drop ? &grp->drop_start : &grp->gap_start;
  if (at && start > *at) *at = start;
}

int cxp_view_alert(cxp_view *v, const char *val, size_t vlen) {
  cJSON *o = parse(v, val, vlen);
  if (o == NULL) return -1;
  const char *type = str_of(o, "type"), *prio = str_of(o, "priority");
  if (type == NULL || strlen(type) >= sizeof v->alerts[0].type || prio == NULL ||
      prio[0] != 'P' || prio[1] < '1' || prio[1] > '4' || prio[2]) {
    v->st.refused++;
    cJSON_Delete(o);
    return -1;
  }
  if (strcmp(type, "segment.anomaly") == 0 || strcmp(type, "servqual.gap") == 0) note_flag(v, o);
  valert *a = &v->alerts[v->next_alert];
  if (a->rec) {
    v->bytes -= a->len + 1;
    free(a->rec);
  } else {
    v->n_alerts++;
  }
  a->rec = print(o);
  a->len = strlen(a->rec);
  v->bytes += a->len + 1;
  snprintf(a->type, sizeof a->type, "%s", type);
  a->priority = prio[1] - '0';
  v->next_alert = (v->next_alert + 1) % v->conf.max_alerts;
  v->st.alert_records++;
  cJSON_Delete(o);
  return 0;
}

static int type_passes(const char *want, const char *type) {
  return want == NULL || want[0] == '\0' || cxp_alert_type_match(want, strlen(want), type);
}

void cxp_view_alerts_json(const cxp_view *v, const cxp_view_alert_query *q, cxp_buf *out) {
  cxp_buf_puts(out, "{\"alerts\":[");
  uint32_t shown = 0, cap = v->conf.max_alerts;
  for (uint32_t k = 0; k < v->n_alerts && shown < q->limit; k++) {
    const valert *a = &v->alerts[(v->next_alert + cap - 1 - k) % cap];
    if (!type_passes(q->type, a->type) || (q->priority && a->priority > q->priority)) continue;
    if (shown++) cxp_buf_putc(out, ',');
    cxp_view_put_json(out, a->rec, a->len);
  }
  cxp_buf_puts(out, "]}");
}

/* ---- the whole ------------------------------------------------------------ */

cxp_view *cxp_view_create(const cxp_view_conf *conf) {
  if (conf->max_cases < 1 || conf->max_groups < 1 || conf->trend < 1 || conf->trend > 288 ||
      conf->max_alerts < 1)
    return NULL;
  cxp_view *v = calloc(1, sizeof *v);
  if (v == NULL) return NULL;
  v->conf = *conf;
  v->free_case = NONE;
  for (int k = 0; k < 5; k++) v->head[k] = v->tail[k] = NONE;
  v->groups = calloc(conf->max_groups, sizeof *v->groups);
  v->alerts = calloc(conf->max_alerts, sizeof *v->alerts);
  if (v->groups == NULL || v->alerts == NULL || cxp_index_init(&v->cidx) != 0 ||
      cxp_index_init(&v->gidx) != 0) {
    cxp_view_destroy(v);
    return NULL;
  }
  v->bytes = sizeof *v + sizeof *v->groups * conf->max_groups +
             sizeof *v->alerts * conf->max_alerts;
  return v;
}

void cxp_view_destroy(cxp_view *v) {
  if (v == NULL) return;
  for (uint32_t i = 0; i < v->cap_cases; i++) {
    free(v->cases[i].rec);
    free(v->cases[i].strs);
  }
  free(v->cases);
  for (uint32_t i = 0; v->groups && i < v->n_groups; i++) {
    for (uint32_t k = 0; k < v->groups[i].n; k++) win_free(v, &v->groups[i].w[k]);
    free(v->groups[i].w);
    free(v->groups[i].group_json);
    free(v->groups[i].label);
  }
  free(v->groups);
  for (uint32_t i = 0; v->alerts && i < v->conf.max_alerts; i++) free(v->alerts[i].rec);
  free(v->alerts);
  cxp_index_free(&v->cidx);
  cxp_index_free(&v->gidx);
  free(v);
}

cxp_view_stats cxp_view_stats_get(const cxp_view *v) {
  cxp_view_stats s = v->st;
  s.cases = v->n_cases;
  s.open = v->n_open;
  s.groups = v->n_groups;
  s.alerts = v->n_alerts;
  s.bytes = v->bytes + cxp_index_bytes(&v->cidx) + cxp_index_bytes(&v->gidx);
  return s;
}

/* One gauge family over the groups exported; null values are left out. */
static void segment_family(const cxp_view *v, cxp_metrics *m, const char *name,
                           const char *help, int what) {
  cxp_metrics_family(m, name, CXP_METRIC_GAUGE, help);
  for (uint32_t i = 0; i < v->n_groups && i < v->conf.max_metric_groups; i++) {
    const vgroup *g = &v->groups[i];
    if (g->n == 0) continue;
    const vwin *w = &g->w[g->n - 1];
    double x = what == 0 ? w->csat : what == 1 ? w->nps : w->ces;
    if (what == 3) x = w->events;
    if (isnan(x)) continue;
    char win[24];
    snprintf(win, sizeof win, "%llds", (long long)(g->len_ms / 1000));
    const char *const labels[] = {"group", g->label, "window", win, NULL};
    /* Whole values as integers: "60", where the shortest %g is "6e+01". */
    if (x == floor(x) && fabs(x) < 1e15)
      cxp_metrics_i64(m, labels, (int64_t)x);
    else
      cxp_metrics_f64(m, labels, x);
  }
}

void cxp_view_metrics(const cxp_view *v, cxp_metrics *m) {
  segment_family(v, m, "cxpulse_segment_csat",
                 "CSAT (top-2-box share, 0..100) of each group's latest closed window.", 0);
  segment_family(v, m, "cxpulse_segment_nps", "NPS (-100..100) of the same.", 1);
  segment_family(v, m, "cxpulse_segment_ces", "Mean CES (1..7) of the same.", 2);
  segment_family(v, m, "cxpulse_segment_n", "Events of the group in the same window.", 3);
  uint32_t over = v->n_groups > v->conf.max_metric_groups
                      ? v->n_groups - v->conf.max_metric_groups : 0;
  cxp_metrics_family(m, "cxpulse_segment_groups_dropped", CXP_METRIC_GAUGE,
                     "Groups held by the console's view but not exported as "
                     "cxpulse_segment_* (past console.max_metric_groups).");
  cxp_metrics_u64(m, NULL, over);
  cxp_view_stats s = cxp_view_stats_get(v);
  cxp_metrics_family(m, "cxpulse_console_records_total", CXP_METRIC_COUNTER,
                     "Records the console's view took, by topic, and refused (not a record "
                     "of its topic).");
  cxp_metrics_u64(m, (const char *[]){"topic", "cases", NULL}, s.case_records);
  cxp_metrics_u64(m, (const char *[]){"topic", "indicators", NULL}, s.indicator_records);
  cxp_metrics_u64(m, (const char *[]){"topic", "alerts", NULL}, s.alert_records);
  cxp_metrics_u64(m, (const char *[]){"topic", "refused", NULL}, s.refused);
  cxp_metrics_family(m, "cxpulse_console_dropped_total", CXP_METRIC_COUNTER,
                     "What the console's view let go to stay in its bounds: cases "
                     "(console.max_cases) and indicator records of groups past "
                     "console.max_groups.");
  cxp_metrics_u64(m, (const char *[]){"what", "cases", NULL}, s.cases_dropped);
  cxp_metrics_u64(m, (const char *[]){"what", "groups", NULL}, s.groups_dropped);
  cxp_metrics_family(m, "cxpulse_console_cases", CXP_METRIC_GAUGE,
                     "Cases the console's view holds, by state.");
  cxp_metrics_u64(m, (const char *[]){"state", "open", NULL}, s.open);
  cxp_metrics_u64(m, (const char *[]){"state", "closed", NULL}, s.cases - s.open);
  cxp_metrics_family(m, "cxpulse_console_bytes", CXP_METRIC_GAUGE,
                     "Bytes the console's view holds.");
  cxp_metrics_u64(m, NULL, s.bytes);
}
