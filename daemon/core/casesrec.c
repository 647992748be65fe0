/* The recovery cases' changelog records: a customer's section (his open
 * cases, parked steps and what the module remembers of him), written and
 * read back (cases.h). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases_int.h"
#include "staterec.h"
#include "varint.h"
#include "xalloc.h"


/* ---- the changelog section -------------------------------------------------
 * A customer's open cases and what the module remembers of him ride in his
 * own changelog record (staterec.h, version 2), so that they are written,
 * acknowledged and restored together with the rest of his state: one record,
 * one offset, never half of it. Layout ("z" zigzag varint, "v" varint):
 *   u8 version (1); u8 known (the customer record follows)
 *   [known] z touched; u8 cohort; v mask of categories with a failure time,
 *           then z each such time
 *   v n cases, by case id; each:
 *     u8 len + case id; u8 len + segment; u8 len + touchpoint
 *     z opened_at; v mask (bits 0-4 the steps done, 5 provider_at,
 *     6 complaint_at, 7 a compensation amount), then z each time present as
 *     a difference from opened_at, and the amount as 8 bytes (IEEE 754)
 *     u8 severity, base severity, category, priority, kind, flags, and the
 *     escalation levels fired, 3 bytes: acknowledge | apologize << 4,
 *     resolve | compensate << 4, follow up (sections written before apologize
 *     and compensate had deadlines hold 0 in the high nibbles)
 *   v n parked steps (of events naming him, for cases not seen yet), by time
 *   and event id; each: u8 step; z ts; z arrival (wall ms); z token (the
 *   input offset); u8 flags (1 root cause fixed, 2 an amount follows);
 *   [8 bytes amount]; u8 len + case id; u8 len + event id
 *   (absent in sections written before parked steps were: none)
 *   [v n closed cases (at most 2), latest first; each: 8 bytes case hash
 *   (little-endian), z closing time] (absent when he has none, and in
 *   sections written before they were: a restart then forgets them)
 * What is worked out from these (deadlines, pending levels, the timer entry)
 * is worked out again on restore, against the pipeline of the day. */

#define EXT_VERSION 1
#define KEEP_FLAGS (F_PREMIUM | F_REPEAT | F_ROOT_FIXED | F_OVERDUE | F_PROVIDER)

/* The slots of the customer's open cases (h his hash) into *v (grown from
 * the caller's stack array when he has more), ordered by case id so that
 * the section is the same whatever order they were opened or indexed in. */
static uint32_t cust_slots(const cxp_cases *cs, const ccust *c, uint32_t **v, uint32_t *cap,
                           uint32_t *stack) {
  uint32_t n = 0;
  for (uint32_t i = c ? c->first : NO_IDX; i != NO_IDX; i = slot_at(cs, i)->cnext) {
    if (n == *cap) {
      uint32_t *nv = cxp_xmalloc((size_t)*cap * 2 * sizeof *nv);
      memcpy(nv, *v, (size_t)n * sizeof *nv);
      if (*v != stack) free(*v);
      *v = nv;
      *cap *= 2;
    }
    (*v)[n++] = i;
  }
  for (uint32_t a = 1; a < n; a++) {
    uint32_t x = (*v)[a], b = a;
    const cslot *sx = slot_at(cs, x);
    for (; b > 0; b--) {
      const cslot *sy = slot_at(cs, (*v)[b - 1]);
      size_t l = sx->len[0] < sy->len[0] ? sx->len[0] : sy->len[0];
      int cmp = memcmp(ids_of(sx), ids_of(sy), l);
      if (cmp > 0 || (cmp == 0 && sx->len[0] >= sy->len[0])) break;
      (*v)[b] = (*v)[b - 1];
    }
    (*v)[b] = x;
  }
  return n;
}

/* His parked steps into v (at most max; parked steps are few), ordered by
 * time and event id. */
static uint32_t cust_parked(const cxp_cases *cs, uint64_t h, uint32_t *v, uint32_t max) {
  uint32_t n = 0, i;
  size_t pos = SIZE_MAX;
  while (n < max && (i = cxp_index_next(&cs->pbyc, cxp_index_fp(h), &pos)) != NO_IDX)
    if (cs->parked[i].cust_hash == h) v[n++] = i;
  for (uint32_t a = 1; a < n; a++) {
    uint32_t x = v[a], b = a;
    const pslot *px = &cs->parked[x];
    for (; b > 0; b--) {
      const pslot *py = &cs->parked[v[b - 1]];
      if (px->ts > py->ts) break;
      if (px->ts == py->ts) {
        size_t l = px->levid < py->levid ? px->levid : py->levid;
        int c = memcmp(px->s + 2 * ID_MAX, py->s + 2 * ID_MAX, l);
        if (c > 0 || (c == 0 && px->levid >= py->levid)) break;
      }
      v[b] = v[b - 1];
    }
    v[b] = x;
  }
  return n;
}

/* Parked steps of one customer a section carries at most. */
#define SECTION_PARKED_MAX 256

void cxp_cases_encode(const cxp_cases *cs, const char *customer_id, size_t n, cxp_buf *out) {
  uint64_t h = cxp_cases_customer_hash(customer_id, n);
  const ccust *c = cases_cust_find(cs, h);
  uint32_t stack[32], *v = stack, cap = 32, pv[SECTION_PARKED_MAX];
  uint32_t nv = cust_slots(cs, c, &v, &cap, stack);
  uint32_t np = cs->st.parked_now ? cust_parked(cs, h, pv, SECTION_PARKED_MAX) : 0;
  if (c == NULL && nv == 0 && np == 0) {
    if (v != stack) free(v);
    return;
  }
  cxp_put_u8(out, EXT_VERSION);
  cxp_put_u8(out, c != NULL);
  if (c) {
    cxp_put_z(out, c->touched);
    cxp_put_u8(out, c->cohort);
    uint64_t mask = 0;
    for (int k = 0; k < CXP_CAT__COUNT; k++)
      if (c->last_fail[k] != INT64_MIN) mask |= 1u << k;
    cxp_put_v(out, mask);
    for (int k = 0; k < CXP_CAT__COUNT; k++)
      if (c->last_fail[k] != INT64_MIN) cxp_put_z(out, c->last_fail[k]);
  }
  cxp_put_v(out, nv);
  for (uint32_t k = 0; k < nv; k++) {
    const cslot *s = slot_at(cs, v[k]);
    const char *ids = ids_of(s);
    static const int which[3] = {0, 2, 3}; /* case id, segment, touchpoint */
    size_t off[4] = {0, s->len[0], (size_t)s->len[0] + s->len[1],
                     (size_t)s->len[0] + s->len[1] + s->len[2]};
    for (int w = 0; w < 3; w++) {
      cxp_put_u8(out, s->len[which[w]]);
      cxp_buf_put(out, ids + off[which[w]], s->len[which[w]]);
    }
    cxp_put_z(out, s->opened_at);
    uint64_t mask = 0;
    for (int t = 0; t < CXP_STEP__COUNT; t++)
      if (s->at[t] != NEVER) mask |= 1u << t;
    if (s->provider_at != NEVER) mask |= 1u << 5;
    if (s->complaint_at != NEVER) mask |= 1u << 6;
    if (s->amount != 0) mask |= 1u << 7;
    cxp_put_v(out, mask);
    for (int t = 0; t < CXP_STEP__COUNT; t++)
      if (s->at[t] != NEVER) cxp_put_z(out, s->at[t] - s->opened_at);
    if (s->provider_at != NEVER) cxp_put_z(out, s->provider_at - s->opened_at);
    if (s->complaint_at != NEVER) cxp_put_z(out, s->complaint_at - s->opened_at);
    if (s->amount != 0) cxp_put_f64(out, s->amount);
    const uint8_t b[6] = {s->sev, s->base_sev, s->cat, s->prio, s->kind,
                          (uint8_t)(s->flags & KEEP_FLAGS)};
    cxp_buf_put(out, b, 6);
    const uint8_t lv[REC_LEVEL_BYTES] = {
        (uint8_t)(s->level[CXP_DL_ACKNOWLEDGE] | s->level[CXP_DL_APOLOGIZE] << 4),
        (uint8_t)(s->level[CXP_DL_RESOLVE] | s->level[CXP_DL_COMPENSATE] << 4),
        s->level[CXP_DL_FOLLOW_UP]};
    cxp_buf_put(out, lv, REC_LEVEL_BYTES);
  }
  if (v != stack) free(v);
  cxp_put_v(out, np);
  for (uint32_t k = 0; k < np; k++) {
    const pslot *p = &cs->parked[pv[k]];
    cxp_put_u8(out, (unsigned)(p->type - CXP_EV_REC_ACKNOWLEDGED));
    cxp_put_z(out, p->ts);
    cxp_put_z(out, p->arrival);
    cxp_put_z(out, p->token);
    cxp_put_u8(out, (p->root_fixed ? 1u : 0u) | (p->amount != 0 ? 2u : 0u));
    if (p->amount != 0) cxp_put_f64(out, p->amount);
    cxp_put_u8(out, p->lcase);
    cxp_buf_put(out, p->s, p->lcase);
    cxp_put_u8(out, p->levid);
    cxp_buf_put(out, p->s + 2 * ID_MAX, p->levid);
  }
  if (c && c->n_closed) {
    cxp_put_v(out, c->n_closed);
    for (int k = 0; k < c->n_closed; k++) {
      cxp_put_le(out, c->closed_h[k], 8);
      cxp_put_z(out, c->closed_at[k]);
    }
  }
}

/* One case of a section, decoded. */
typedef struct xcase {
  const uint8_t *id[3];
  unsigned len[3];
  int64_t opened_at, at[CXP_STEP__COUNT], provider_at, complaint_at;
  double amount;
  uint8_t b[6], level[CXP_DL__COUNT];
} xcase;

/* Every time a section holds is an event time (staterec.h: within
 * 2000..2099), a closing time included: cases close when the clock, which
 * is event time, reaches them. Refused otherwise, so that no restored case
 * files a due at a second the wheel would walk to for ever.
 *
 * A time a section stores as a difference from opened_at: read as such,
 * added only when the sum stays within the event years (an add that would
 * overflow is refused, not wrapped). */
static int64_t get_rel_time(cxp_rd *r, int64_t base, int *bad) {
  int64_t d = cxp_get_z(r);
  if (d < -(CXP_TS_MAX_MS - CXP_TS_MIN_MS) || d > CXP_TS_MAX_MS - CXP_TS_MIN_MS ||
      !cxp_staterec_time_ok(base + d)) {
    *bad = 1;
    return 0;
  }
  return base + d;
}

static int read_case(cxp_rd *r, xcase *x, char *err, size_t errlen) {
  for (int w = 0; w < 3; w++) {
    x->len[w] = cxp_get_u8(r);
    x->id[w] = cxp_get_bytes(r, x->len[w]);
  }
  x->opened_at = cxp_get_z(r);
  uint64_t mask = cxp_get_v(r);
  int opened_ok = cxp_staterec_time_ok(x->opened_at);
  int bad_time = -1; /* which time is out of range: a step, 5 provider, 6 complaint */
  for (int t = 0; t < CXP_STEP__COUNT + 2; t++) {
    int64_t v = NEVER;
    if (mask & (1u << t)) {
      int bad = 0;
      v = get_rel_time(r, opened_ok ? x->opened_at : CXP_TS_MIN_MS, &bad);
      if (bad && bad_time < 0) bad_time = t;
    }
    if (t < CXP_STEP__COUNT)
      x->at[t] = v;
    else if (t == CXP_STEP__COUNT)
      x->provider_at = v;
    else
      x->complaint_at = v;
  }
  x->amount = mask & (1u << 7) ? cxp_get_f64(r) : 0;
  const uint8_t *b = cxp_get_bytes(r, 6), *lv = cxp_get_bytes(r, REC_LEVEL_BYTES);
  if (r->bad) CXP_FAIL("a case cut short");
  if (mask >= 1u << 8)
    CXP_FAIL("a case with unknown fields (mask %#llx)", (unsigned long long)mask);
  memcpy(x->b, b, 6);
  x->level[CXP_DL_ACKNOWLEDGE] = lv[0] & 15;
  x->level[CXP_DL_APOLOGIZE] = lv[0] >> 4;
  x->level[CXP_DL_RESOLVE] = lv[1] & 15;
  x->level[CXP_DL_COMPENSATE] = lv[1] >> 4;
  x->level[CXP_DL_FOLLOW_UP] = lv[2];
  if (x->len[0] == 0 || x->len[0] > ID_MAX || x->len[1] > SEG_MAX || x->len[2] > ID_MAX)
    CXP_FAIL("a case with an id, segment or touchpoint of a bad length");
  const char *id = (const char *)x->id[0];
  int il = (int)x->len[0];
  if (!opened_ok)
    CXP_FAIL("case '%.*s': opened_at %lld ms lies outside 2000..2099", il, id,
         (long long)x->opened_at);
  if (bad_time >= 0)
    CXP_FAIL("case '%.*s': the time of %s lies outside 2000..2099", il, id,
         bad_time < CXP_STEP__COUNT    ? cxp_case_step_name((cxp_case_step)bad_time)
         : bad_time == CXP_STEP__COUNT ? "its provider detection"
                                       : "its complaint");
  if (x->b[0] < 1 || x->b[0] > 4 || x->b[1] < 1 || x->b[1] > 4 || x->b[2] >= CXP_CAT__COUNT ||
      x->b[3] < 1 || x->b[3] > 4 || x->b[4] > CXP_CASE_DETRACTOR || (x->b[5] & ~KEEP_FLAGS))
    CXP_FAIL("case '%.*s': severity, category, priority, kind or flags out of range", il, id);
  /* The decoder's bound on a compensation amount. */
  if (!(x->amount >= 0 && x->amount <= 1e12))
    CXP_FAIL("case '%.*s': compensation %g, expected 0..1e12", il, id, x->amount);
  for (int d = 0; d < CXP_DL__COUNT; d++)
    if (x->level[d] > CXP_CASES_LEVELS)
      CXP_FAIL("case '%.*s': escalation level %u, expected 0..%d", il, id, x->level[d],
           CXP_CASES_LEVELS);
  return 0;
}

/* One parked step of a section (its customer is the section's). */
static int read_parked(cxp_rd *r, xpark *x, char *err, size_t errlen) {
  memset(x, 0, sizeof *x);
  unsigned step = cxp_get_u8(r);
  x->type = CXP_EV_REC_ACKNOWLEDGED + (int)step;
  x->ts = cxp_get_z(r);
  x->arrival = cxp_get_z(r);
  x->token = cxp_get_z(r);
  unsigned flags = cxp_get_u8(r);
  x->root_fixed = flags & 1;
  if (flags & 2) x->amount = cxp_get_f64(r);
  x->case_id.n = cxp_get_u8(r);
  x->case_id.p = (const char *)cxp_get_bytes(r, x->case_id.n);
  x->event_id.n = cxp_get_u8(r);
  x->event_id.p = (const char *)cxp_get_bytes(r, x->event_id.n);
  if (r->bad) CXP_FAIL("a parked step cut short");
  if (step >= CXP_STEP__COUNT || flags > 3 || x->case_id.n == 0 || x->case_id.n > ID_MAX ||
      x->event_id.n > ID_MAX || !(x->amount >= 0 && x->amount <= 1e12))
    CXP_FAIL("a parked step with a field out of range");
  /* Its expiry is filed at ts + park_ms; arrival is a wall time (0 in a
   * replay) and token an input offset (-1: none), both only reported. */
  if (!cxp_staterec_time_ok(x->ts))
    CXP_FAIL("parked step for case '%.*s': ts %lld ms lies outside 2000..2099",
         (int)x->case_id.n, x->case_id.p, (long long)x->ts);
  if (!cxp_staterec_time_or_0(x->arrival) || x->token < -1)
    CXP_FAIL("parked step for case '%.*s': arrival %lld or token %lld out of range",
         (int)x->case_id.n, x->case_id.p, (long long)x->arrival, (long long)x->token);
  return 0;
}

/* Opens a slot for a decoded case of the customer (ids: his id in the
 * customer place), as open_case would have left it. */
static void restore_case(cxp_cases *cs, const xcase *x, uint64_t ch, const char *cust,
                         size_t clen, ccust *c) {
  uint64_t h = case_hash((const char *)x->id[0], x->len[0]);
  if (cases_case_find(cs, (const char *)x->id[0], x->len[0], h, NULL)) return; /* held already */
  if (cs->st.open >= cs->conf.max_open) {
    cs->st.evicted++; /* no room: dropped, as an eviction would have */
    return;
  }
  uint32_t idx = cxp_pool_get(&cs->slots);
  cslot *s = slot_at(cs, idx);
  memset(s, 0, sizeof *s);
  size_t lens[4] = {x->len[0], clen, x->len[1], x->len[2]};
  const char *src[4] = {(const char *)x->id[0], cust, (const char *)x->id[1],
                        (const char *)x->id[2]};
  cases_slot_ids(cs, s, lens, src);
  s->opened_at = x->opened_at;
  memcpy(s->at, x->at, sizeof s->at);
  s->provider_at = x->provider_at;
  s->complaint_at = x->complaint_at;
  s->amount = x->amount;
  s->next_due = NEVER;
  s->cust_hash = ch;
  s->seq = next_seq(cs);
  s->sev = x->b[0];
  s->base_sev = x->b[1];
  s->cat = x->b[2];
  s->prio = x->b[3];
  s->kind = x->b[4];
  s->flags |= (uint8_t)(x->b[5] | F_LIVE);
  s->sla = cases_sla_row(cs, lens[2] ? src[2] : NULL, lens[2], (s->flags & F_PREMIUM) != 0);
  memcpy(s->level, x->level, CXP_DL__COUNT);
  cases_slot_link(cs, idx, h, c);
  cs->st.restored++;
  if (c->open < UINT16_MAX) c->open++;
  if ((s->flags & F_OVERDUE) && c->overdue < UINT16_MAX) c->overdue++;
  /* A step parked under another customer's record, restored before this
   * one (steps are idempotent: the earliest time wins). */
  if (cs->st.parked_now) cases_take_parked(cs, s, h);
  cases_refresh(cs, idx, NULL); /* pending levels, the timer entry */
}

/* The least a case takes in a section: three length bytes, opened_at and
 * the mask (a byte each at least), six bytes of severity to flags, and the
 * levels. A count of cases is bounded by what the section can hold, before
 * any is read. */
#define SECTION_CASE_MIN (3 + 1 + 1 + 6 + REC_LEVEL_BYTES)

/* Reads a section (apply 0: only checks it, and says what is wrong in err;
 * apply 1 reads one that passed). */
static int read_section(cxp_cases *cs, const uint8_t *p, size_t len, const char *cust,
                        size_t clen, uint64_t ch, int apply, char *err, size_t errlen) {
  cxp_rd r = {p, p + len, 0};
  unsigned version = cxp_get_u8(&r), known = cxp_get_u8(&r);
  if (r.bad) CXP_FAIL("cut short");
  if (version != EXT_VERSION || known > 1)
    CXP_FAIL("version %u (this build reads %d), known %u", version, EXT_VERSION, known);
  ccust *c = NULL;
  if (known) {
    int64_t touched = cxp_get_z(&r);
    unsigned cohort = cxp_get_u8(&r);
    uint64_t mask = cxp_get_v(&r);
    if (r.bad) CXP_FAIL("cut short");
    if (cohort > CXP_COHORT_POORLY || mask >> CXP_CAT__COUNT)
      CXP_FAIL("cohort %u or category mask %#llx out of range", cohort,
           (unsigned long long)mask);
    /* touched orders customers for eviction; INT64_MIN is a record made
     * for his cases alone. */
    if (touched != INT64_MIN && !cxp_staterec_time_ok(touched))
      CXP_FAIL("touched %lld ms lies outside 2000..2099", (long long)touched);
    int64_t last[CXP_CAT__COUNT];
    for (int k = 0; k < CXP_CAT__COUNT; k++) {
      last[k] = mask & (1u << k) ? cxp_get_z(&r) : INT64_MIN;
      if (!r.bad && last[k] != INT64_MIN && !cxp_staterec_time_ok(last[k]))
        CXP_FAIL("latest %s failure at %lld ms lies outside 2000..2099", cxp_case_category_name(k),
             (long long)last[k]);
    }
    if (apply) {
      c = cases_cust_get(cs, ch, touched);
      c->touched = touched;
      c->cohort = (uint8_t)cohort;
      memcpy(c->last_fail, last, sizeof last);
    }
  }
  uint64_t n = cxp_get_v(&r);
  if (r.bad) CXP_FAIL("cut short");
  if (n > cs->conf.max_open || n > (uint64_t)(r.end - r.p) / SECTION_CASE_MIN)
    CXP_FAIL("%llu cases, more than recovery.max_open (%u) or than its %zu bytes hold",
         (unsigned long long)n, cs->conf.max_open, (size_t)(r.end - r.p));
  if (apply && n && c == NULL) c = cases_cust_get(cs, ch, INT64_MIN);
  for (uint64_t k = 0; k < n; k++) {
    xcase x;
    if (read_case(&r, &x, err, errlen) != 0) return -1;
    if (apply) restore_case(cs, &x, ch, cust, clen, c);
  }
  uint64_t np = r.p < r.end ? cxp_get_v(&r) : 0;
  if (r.bad) CXP_FAIL("cut short");
  if (np > SECTION_PARKED_MAX)
    CXP_FAIL("%llu parked steps, expected at most %d", (unsigned long long)np,
         SECTION_PARKED_MAX);
  for (uint64_t k = 0; k < np; k++) {
    xpark x;
    if (read_parked(&r, &x, err, errlen) != 0) return -1;
    x.customer_id = (cxp_str){cust, clen};
    if (!apply) continue;
    uint64_t h = case_hash(x.case_id.p, x.case_id.n);
    uint32_t idx;
    cslot *s = cases_case_find(cs, x.case_id.p, x.case_id.n, h, &idx);
    if (s) {
      /* Its case was restored already (another customer's): applied now,
       * as its opening would have done. */
      cases_apply_step(s, x.type - CXP_EV_REC_ACKNOWLEDGED, x.ts, x.amount, x.root_fixed);
      cases_refresh(cs, idx, NULL);
    } else if (cases_park_step(cs, &x, h) == CXP_CASE_PARKED) {
      cs->st.parked--; /* counts events parked, not restored */
    }
  }
  uint64_t nc = r.p < r.end ? cxp_get_v(&r) : 0;
  if (r.bad) CXP_FAIL("cut short");
  if (nc > CUST_CLOSED)
    CXP_FAIL("%llu closed cases, expected at most %d", (unsigned long long)nc, CUST_CLOSED);
  for (uint64_t k = 0; k < nc; k++) {
    uint64_t h = cxp_get_le(&r, 8);
    int64_t at = cxp_get_z(&r);
    if (r.bad) CXP_FAIL("cut short");
    if (!cxp_staterec_time_ok(at))
      CXP_FAIL("a closed case's closing time %lld ms lies outside 2000..2099", (long long)at);
    if (!apply) continue;
    if (c == NULL) c = cases_cust_get(cs, ch, INT64_MIN);
    if (!cases_closed_has(cs, h)) cases_closed_add(cs, h);
    cases_cust_closed_note(c, h, at);
  }
  if (r.p != r.end) CXP_FAIL("%zu trailing bytes", (size_t)(r.end - r.p));
  return 0;
}

int cxp_cases_restore(cxp_cases *cs, const char *customer_id, size_t n, const uint8_t *p,
                      size_t len, int64_t clock_hint, char *err, size_t errlen) {
  char why[200] = "bad customer id";
  if (n == 0 || n > ID_MAX ||
      read_section(cs, p, len, customer_id, n, 0, 0, why, sizeof why) != 0) {
    if (err && errlen)
      snprintf(err, errlen, "cases of customer '%.*s' in his state record: %s",
               (int)(n > 64 ? 64 : n), customer_id, why);
    return -1;
  }
  cxp_cases_clock_hint(cs, clock_hint);
  cxp_cases_forget(cs, customer_id, n);
  uint64_t ch = cxp_cases_customer_hash(customer_id, n);
  cs->restoring = 1;
  read_section(cs, p, len, customer_id, n, ch, 1, NULL, 0);
  cs->restoring = 0;
  /* The breaches of his cases that may not have gone out in a digest are
   * noted again before the next event (digest.c). */
  cs->dg_rebuild = cs->conf.digest;
  return 0;
}

void cxp_cases_forget(cxp_cases *cs, const char *customer_id, size_t n) {
  if (cs->st.open == 0 && cs->st.parked_now == 0) return;
  /* What a newer record says replaces what an older one said: his open
   * cases go (no outcome: they are not closed, only restated), and his
   * parked steps. */
  uint64_t ch = cxp_cases_customer_hash(customer_id, n);
  uint32_t stack[32], *v = stack, cap = 32;
  uint32_t nv = cust_slots(cs, cases_cust_find(cs, ch), &v, &cap, stack);
  for (uint32_t k = 0; k < nv; k++) {
    if (cs->st.restored) cs->st.restored--; /* counted again if it comes back */
    cases_slot_free(cs, v[k]);
  }
  if (v != stack) free(v);
  uint32_t pv[SECTION_PARKED_MAX];
  uint32_t np = cs->st.parked_now ? cust_parked(cs, ch, pv, SECTION_PARKED_MAX) : 0;
  for (uint32_t k = 0; k < np; k++)
    cases_parked_free(cs, pv[k], case_hash(cs->parked[pv[k]].s, cs->parked[pv[k]].lcase));
  ccust *c = cases_cust_find(cs, ch);
  if (c) c->open = c->overdue = 0;
}

uint32_t cxp_cases_parked_now(const cxp_cases *cs) { return cs->st.parked_now; }

void cxp_cases_clock_hint(cxp_cases *cs, int64_t ts) {
  /* A hint comes from restored state (a customer's latest event, a
   * snapshot's latest): outside the event years it is no hint at all (a
   * snapshot without customers says INT64_MIN), and the clock and the
   * wheel must not start there. */
  if (!cxp_staterec_time_ok(ts)) return;
  if (!cs->has_ts) {
    cs->has_ts = 1;
    cs->max_ts = cs->last_ts = ts;
    cs->last_arrival = 0;
    cs->wall_from_tick = 1;
  } else if (ts > cs->max_ts) {
    cs->max_ts = ts;
  }
}
