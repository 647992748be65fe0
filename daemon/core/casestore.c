/* Where the cases of a partition keep what they know besides the cases' own
 * state: the customers' records, the ring of recently closed cases and the
 * slots of the open cases, with the indexes that find them (cases_int.h). */
#include <stdlib.h>
#include <string.h>

#include "cases_int.h"
#include "xalloc.h"

/* ---- customers ----------------------------------------------------------- */

ccust *cases_cust_find(const cxp_cases *cs, uint64_t h) {
  size_t pos = SIZE_MAX;
  uint32_t i;
  while ((i = cxp_index_next(&cs->cidx, cxp_index_fp(h), &pos)) != NO_IDX)
    if (cs->cust[i].hash == h) return &cs->cust[i];
  return NULL;
}

/* The customer's record, created when absent. At max_customers, the least
 * recently touched of a sample of 16 records goes (sampled eviction, as
 * Redis approximates LRU), preferring one without open cases: forgetting a
 * customer with open cases would leave his counts short. */
ccust *cases_cust_get(cxp_cases *cs, uint64_t h, int64_t ts) {
  ccust *c = cases_cust_find(cs, h);
  if (c) return c;
  uint32_t i;
  if (cs->cust_n < cs->conf.max_customers) {
    if (cs->cust_n == cs->cust_cap)
      cs->cust = cxp_xgrow(cs->cust, &cs->cust_cap, 64, cs->conf.max_customers);
    i = cs->cust_n++;
  } else {
    uint32_t best = NO_IDX;
    int best_free = 0;
    for (int k = 0; k < 16; k++) {
      uint32_t j = cs->cust_hand;
      cs->cust_hand = (cs->cust_hand + 1) % cs->cust_n;
      int free_ = cs->cust[j].open == 0;
      if (best == NO_IDX || (free_ && !best_free) ||
          (free_ == best_free && cs->cust[j].touched < cs->cust[best].touched)) {
        best = j;
        best_free = free_;
      }
    }
    i = best;
    cxp_index_del(&cs->cidx, cxp_index_fp(cs->cust[i].hash), i);
  }
  c = &cs->cust[i];
  memset(c, 0, sizeof *c);
  c->hash = h;
  c->touched = ts;
  c->first = NO_IDX; /* an evicted record's cases stay open, out of any section */
  for (int k = 0; k < CXP_CAT__COUNT; k++) c->last_fail[k] = INT64_MIN;
  cxp_index_put(&cs->cidx, cxp_index_fp(h), i);
  return c;
}

/* ---- recently closed ----------------------------------------------------- */

/* Keeps the customer's CUST_CLOSED latest closed cases, latest first (ties:
 * the larger hash first), so that which ones he keeps does not depend on the
 * order the closings came in. A case he already has is not kept twice. */
void cases_cust_closed_note(ccust *c, uint64_t h, int64_t at) {
  for (int i = 0; i < c->n_closed; i++)
    if (c->closed_h[i] == h) return;
  int i = c->n_closed < CUST_CLOSED ? c->n_closed++ : CUST_CLOSED;
  /* Sift (h, at) up from position i (CUST_CLOSED: past the end, the
   * oldest drops when (h, at) is newer). */
  while (i > 0 &&
         (at > c->closed_at[i - 1] || (at == c->closed_at[i - 1] && h > c->closed_h[i - 1]))) {
    if (i < CUST_CLOSED) {
      c->closed_h[i] = c->closed_h[i - 1];
      c->closed_at[i] = c->closed_at[i - 1];
    }
    i--;
  }
  if (i < CUST_CLOSED) {
    c->closed_h[i] = h;
    c->closed_at[i] = at;
  }
}

int cases_closed_has(const cxp_cases *cs, uint64_t h) {
  size_t pos = SIZE_MAX;
  uint32_t i;
  while ((i = cxp_index_next(&cs->clidx, cxp_index_fp(h), &pos)) != NO_IDX)
    if (cs->closed[i] == h) return 1;
  return 0;
}

void cases_closed_add(cxp_cases *cs, uint64_t h) {
  uint32_t i;
  if (cs->closed_n < cs->conf.max_closed) {
    if (cs->closed_n == cs->closed_cap)
      cs->closed = cxp_xgrow(cs->closed, &cs->closed_cap, 64, cs->conf.max_closed);
    i = cs->closed_n++;
  } else {
    /* Full: the oldest goes (a ring). */
    i = cs->closed_pos;
    cs->closed_pos = (cs->closed_pos + 1) % cs->closed_n;
    cxp_index_del(&cs->clidx, cxp_index_fp(cs->closed[i]), i);
  }
  cs->closed[i] = h;
  cxp_index_put(&cs->clidx, cxp_index_fp(h), i);
}

/* ---- case slots ---------------------------------------------------------- */

cslot *cases_case_find(const cxp_cases *cs, const char *id, size_t n, uint64_t h,
                        uint32_t *out_idx) {
  size_t pos = SIZE_MAX;
  uint32_t i;
  while ((i = cxp_index_next(&cs->idx, cxp_index_fp(h), &pos)) != NO_IDX) {
    cslot *s = slot_at(cs, i);
    if (s->len[0] == n && memcmp(ids_of(s), id, n) == 0) {
      if (out_idx) *out_idx = i;
      return s;
    }
  }
  return NULL;
}

/* Copies a case's ids (case, customer, segment, touchpoint) into its slot:
 * inline, or one heap block when they are long. */
void cases_slot_ids(cxp_cases *cs, cslot *s, const size_t lens[4], const char *const src[4]) {
  size_t total = lens[0] + lens[1] + lens[2] + lens[3];
  char *dst = s->ids.in;
  if (total > IDS_INLINE) {
    dst = cxp_xmalloc(total);
    s->ids.out = dst;
    s->flags |= F_HEAP_IDS;
    cs->heap_ids_bytes += total;
  }
  for (int k = 0; k < 4; k++) {
    s->len[k] = (uint8_t)lens[k];
    if (lens[k]) memcpy(dst, src[k], lens[k]);
    dst += lens[k];
  }
}

/* Files a filled slot (h: its case id's hash): the opening order, the
 * index, the customer's list of cases. */
void cases_slot_link(cxp_cases *cs, uint32_t idx, uint64_t h, ccust *c) {
  cslot *s = slot_at(cs, idx);
  s->newer = NO_IDX;
  s->older = cs->newest;
  if (cs->newest != NO_IDX)
    slot_at(cs, cs->newest)->newer = idx;
  else
    cs->oldest = idx;
  cs->newest = idx;
  cxp_index_put(&cs->idx, cxp_index_fp(h), idx);
  s->cnext = c->first;
  c->first = idx;
  cs->st.open++;
  if (cs->st.open > cs->st.open_max) cs->st.open_max = cs->st.open;
}

/* Takes an open case out of every structure and frees its slot (its timer
 * entries go stale with F_LIVE). */
void cases_slot_free(cxp_cases *cs, uint32_t idx) {
  cslot *s = slot_at(cs, idx);
  cxp_index_del(&cs->idx, cxp_index_fp(case_hash(ids_of(s), s->len[0])), idx);
  ccust *c = cases_cust_find(cs, s->cust_hash);
  if (c) {
    uint32_t *pp = &c->first;
    while (*pp != NO_IDX && *pp != idx) pp = &slot_at(cs, *pp)->cnext;
    if (*pp == idx) *pp = s->cnext;
  }
  cs->st.open_deadlines -= (uint32_t)__builtin_popcount(s->pend);
  if (s->older != NO_IDX)
    slot_at(cs, s->older)->newer = s->newer;
  else
    cs->oldest = s->newer;
  if (s->newer != NO_IDX)
    slot_at(cs, s->newer)->older = s->older;
  else
    cs->newest = s->older;
  if (s->flags & F_HEAP_IDS) {
    cs->heap_ids_bytes -= (size_t)s->len[0] + s->len[1] + s->len[2] + s->len[3];
    free(s->ids.out);
  }
  s->flags = 0;
  cxp_pool_put(&cs->slots, idx);
  cs->st.open--;
}
