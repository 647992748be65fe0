#include "cases.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases_int.h"
#include "staterec.h"
#include "varint.h"
#include "xalloc.h"

/* ---- small helpers ------------------------------------------------------- */

uint64_t cxp_cases_customer_hash(const char *customer_id, size_t n) {
  return cxp_hash64(customer_id, n, SEED_CUST);
}

int cxp_cases_priority(int severity, int premium, double value, double high_value,
                       int churn_band) {
  int p = severity < 1 ? 1 : severity > 4 ? 4 : severity;
  int lift = premium || (high_value > 0 && value >= high_value) || churn_band >= 2;
  return lift && p > 1 ? p - 1 : p;
}

void cxp_cases_detractor_id(char out[20], const char *pipeline, cxp_str customer_id,
                            cxp_str event_id) {
  cxp_idbuf h;
  const char *f[3] = {pipeline, customer_id.p ? customer_id.p : "",
                      event_id.p ? event_id.p : ""};
  size_t l[3] = {strlen(pipeline), customer_id.n, event_id.n};
  cxp_make_id(&h, f, l, 3);
  memcpy(out, "cl-", 3);
  memcpy(out + 3, h.hex, 16);
  out[19] = '\0';
}

/* ---- lifecycle ------------------------------------------------------------ */

int cxp_cases_set_conf(cxp_cases *cs, const cxp_cases_conf *conf) {
  const cxp_cases_conf *o = &cs->conf;
  if (cxp_cases_conf_check(conf, NULL, 0) != 0 || conf->max_open != o->max_open ||
      conf->max_parked != o->max_parked || conf->max_closed != o->max_closed ||
      conf->max_customers != o->max_customers || conf->max_systemic != o->max_systemic ||
      conf->systemic_customers != o->systemic_customers || conf->digest != o->digest ||
      conf->digest_window_ms != o->digest_window_ms || conf->digest_max != o->digest_max)
    return -1;
  cs->conf = *conf;
  if (conf->solutions) {
    cxp_solutions_destroy(cs->own_sol);
    cs->own_sol = NULL;
    cs->sol = conf->solutions;
  } else if (cs->own_sol == NULL) {
    cs->sol = cs->own_sol = cxp_solutions_create_default();
    if (cs->sol == NULL) return -1;
  }
  cases_derive_times(cs);
  /* The rows may be numbered anew: every open case finds its segment's, and
   * its next due by the new times (no level fires here, so no callback). */
  cs->restoring = 1;
  for (uint32_t i = 0; cs->slots.chunks && i < cs->slots.n_slots; i++) {
    cslot *s = slot_at(cs, i);
    if (!(s->flags & F_LIVE)) continue;
    const char *seg = ids_of(s) + s->len[0] + s->len[1];
    s->sla = cases_sla_row(cs, s->len[2] ? seg : NULL, s->len[2], (s->flags & F_PREMIUM) != 0);
    s->next_due = NEVER;
    cases_refresh(cs, i, NULL);
  }
  cs->restoring = 0;
  return 0;
}

cxp_cases *cxp_cases_create(const cxp_cases_conf *conf, const cxp_cases_cbs *cbs) {
  if (cxp_cases_conf_check(conf, NULL, 0) != 0) return NULL;
  cxp_cases *cs = calloc(1, sizeof *cs);
  if (cs == NULL) return NULL;
  cs->conf = *conf;
  if (cbs) cs->cb = *cbs;
  cs->sol = conf->solutions;
  if (cs->sol == NULL) cs->sol = cs->own_sol = cxp_solutions_create_default();
  cases_derive_times(cs);

  cs->gstride = (sizeof(sgroup) + (size_t)conf->systemic_customers * sizeof(uint64_t) + 7) &
                ~(size_t)7;
  if (cs->sol == NULL ||
      cxp_pool_init(&cs->slots, sizeof(cslot), offsetof(cslot, older), SLOT_SHIFT,
                    conf->max_open) != 0 ||
      cxp_index_init(&cs->idx) ||
      cxp_index_init(&cs->pidx) || cxp_index_init(&cs->pbyc) ||
      cxp_index_init(&cs->cidx) ||
      cxp_index_init(&cs->clidx) ||
      cxp_index_init(&cs->gidx)) {
    cxp_cases_destroy(cs);
    return NULL;
  }
  cs->oldest = cs->newest = cs->changed = NO_IDX;
  cs->parked_free = cs->groups_free = NO_IDX;
  cs->clock = INT64_MIN;
  cs->swept_start = INT64_MIN;
  cs->dg_start = INT64_MIN;
  return cs;
}

void cxp_cases_destroy(cxp_cases *cs) {
  if (cs == NULL) return;
  if (cs->slots.chunks)
    for (uint32_t i = 0; i < cs->slots.n_slots; i++) {
      cslot *s = slot_at(cs, i);
      if ((s->flags & (F_LIVE | F_HEAP_IDS)) == (F_LIVE | F_HEAP_IDS)) free(s->ids.out);
    }
  cxp_pool_free(&cs->slots);
  cxp_wheel_free(&cs->wheel);
  free(cs->parked);
  free(cs->cust);
  free(cs->closed);
  free(cs->groups);
  cxp_index_free(&cs->idx);
  cxp_index_free(&cs->pidx);
  cxp_index_free(&cs->pbyc);
  cxp_index_free(&cs->cidx);
  cxp_index_free(&cs->clidx);
  cxp_index_free(&cs->gidx);
  free(cs->gdirty);
  cases_digest_free(cs);
  cxp_buf_free(&cs->ggone);
  cxp_buf_free(&cs->gkey);
  cxp_buf_free(&cs->gval);
  cxp_solutions_destroy(cs->own_sol);
  free(cs);
}

/* ---- the wheel ----------------------------------------------------------- */

static int entry_live(const void *owner, const cxp_wentry *e) {
  const cxp_cases *cs = owner;
  if (e->id & PARK_BIT) return cs->parked[e->id & ~PARK_BIT].seq == e->seq;
  const cslot *s = slot_at(cs, e->id);
  return (s->flags & F_LIVE) && s->seq == e->seq && s->next_due == e->due;
}

static void wheel_push(cxp_cases *cs, int64_t due, uint32_t idx, uint32_t seq) {
  cxp_wheel_compact(&cs->wheel, cs->st.open + cs->st.parked_now, entry_live, cs);
  /* The wheel starts at the partition's clock, so what is filed from now on
   * sits in its slots, not all in ready. */
  if (cs->has_ts) cxp_wheel_start(&cs->wheel, cs->max_ts);
  cxp_wheel_add(&cs->wheel, due, idx, seq);
}

/* ---- deadlines and closing ------------------------------------------------ */

/* When the deadline's next escalation level falls due, or NEVER when it
 * cannot breach any more (no deadline, no base yet, all levels fired, or
 * done first). */
static int64_t dl_due(const cxp_cases *cs, const cslot *s, int d) {
  int64_t b = dl_base(s, d), a = allowed_of(cs, s, d);
  int k = s->level[d];
  if (b == NEVER || a == 0 || k >= CXP_CASES_LEVELS) return NEVER;
  int64_t t = b + llround((double)a * cs->conf.escalation[k]);
  return dl_done(s, d) <= t ? NEVER : t;
}

static int64_t close_at(const cxp_cases *cs, const cslot *s) {
  int64_t r = s->at[CXP_STEP_RESOLVED], f = s->at[CXP_STEP_FOLLOWED_UP];
  double k = cs->conf.abandon_factor;
  if (r != NEVER && f != NEVER) return (r > f ? r : f) + cs->conf.settle_ms;
  if (r == NEVER) return s->opened_at + llround((double)allowed_of(cs, s, CXP_DL_RESOLVE) * k);
  return r + llround((double)allowed_of(cs, s, CXP_DL_FOLLOW_UP) * k);
}

static int max_level(const cslot *s) {
  int m = 0;
  for (int d = 0; d < CXP_DL__COUNT; d++)
    if (s->level[d] > m) m = s->level[d];
  return m;
}

static void fill_info(const cxp_cases *cs, const cslot *s, cxp_case_info *o);

/* Recomputes what depends on the case's times (pending deadlines, overdue,
 * its next due) after any change, keeps the counters, and schedules the
 * next due. Every case always has one: its closing time at the latest. */
void cases_refresh(cxp_cases *cs, uint32_t idx, const void *origin) {
  cslot *s = slot_at(cs, idx);
  uint8_t pend = 0;
  int overdue = 0;
  int64_t next = close_at(cs, s);
  for (int d = 0; d < CXP_DL__COUNT; d++) {
    int64_t t = dl_due(cs, s, d);
    if (t != NEVER) {
      pend |= (uint8_t)(1u << d);
      if (t < next) next = t;
    }
    if (s->level[d] > 0 && dl_done(s, d) == NEVER) overdue = 1;
  }
  cs->st.open_deadlines += (uint32_t)__builtin_popcount(pend);
  cs->st.open_deadlines -= (uint32_t)__builtin_popcount(s->pend);
  s->pend = pend;
  if (overdue != ((s->flags & F_OVERDUE) != 0)) {
    ccust *c = cases_cust_find(cs, s->cust_hash);
    if (overdue) {
      s->flags |= F_OVERDUE;
      if (c && c->overdue < UINT16_MAX) c->overdue++;
    } else {
      s->flags &= (uint8_t)~F_OVERDUE;
      if (c && c->overdue > 0) c->overdue--;
    }
    if (cs->cb.on_overdue && !cs->restoring) {
      cxp_case_info info;
      fill_info(cs, s, &info);
      cs->cb.on_overdue(cs->cb.opaque, origin, &info, overdue ? 1 : -1);
    }
  }
  if (next != s->next_due) {
    s->next_due = next;
    wheel_push(cs, next, idx, s->seq);
  }
}

static void fill_info(const cxp_cases *cs, const cslot *s, cxp_case_info *o) {
  const char *p = ids_of(s);
  memset(o, 0, sizeof *o);
  cxp_str *strs[4] = {&o->case_id, &o->customer_id, &o->segment, &o->touchpoint};
  for (int i = 0; i < 4; i++) {
    *strs[i] = (cxp_str){s->len[i] ? p : NULL, s->len[i]};
    p += s->len[i];
  }
  o->customer_hash = s->cust_hash;
  o->kind = (cxp_case_kind)s->kind;
  o->category = (cxp_case_category)s->cat;
  o->severity = s->sev;
  o->base_severity = s->base_sev;
  o->priority = s->prio;
  o->premium = (s->flags & F_PREMIUM) != 0;
  o->provider = (s->flags & F_PROVIDER) != 0;
  o->opened_at = s->opened_at;
  for (int d = 0; d < CXP_DL__COUNT; d++) {
    int64_t t = dl_deadline(cs, s, d);
    o->deadline[d] = t == NEVER ? 0 : t;
    o->level[d] = s->level[d];
  }
  o->max_level = max_level(s);
  for (int k = 0; k < CXP_STEP__COUNT; k++) o->done_at[k] = s->at[k] == NEVER ? 0 : s->at[k];
}

/* Reports the outcome and frees the slot. `at`: the event time it closes
 * at (its closing due, or the clock for an eviction). */
static void close_case(cxp_cases *cs, uint32_t idx, cxp_case_end end, int64_t at,
                       const void *origin) {
  cslot *s = slot_at(cs, idx);
  cxp_case_info info;
  cxp_case_outcome o;
  fill_info(cs, s, &info);
  memset(&o, 0, sizeof o);
  o.c = &info;
  o.end = end;
  o.closed_at = at;
  for (int d = 0; d < CXP_DL__COUNT; d++) {
    int64_t dl = dl_deadline(cs, s, d);
    /* A follow-up without a resolution has no deadline: it is missed. A step
     * the SLA gives no time is never missed. */
    if (allowed_of(cs, s, d) > 0 && (dl == NEVER || dl_done(s, d) > dl)) o.missed |= 1u << d;
  }
  o.max_level = info.max_level;
  /* Recovered well: acknowledged, resolved and followed up in time (an
   * apology or compensation late counts in missed, not against it). */
  const unsigned judged = 1u << CXP_DL_ACKNOWLEDGE | 1u << CXP_DL_RESOLVE |
                          1u << CXP_DL_FOLLOW_UP;
  o.well = end == CXP_CASE_END_CLOSED && (o.missed & judged) == 0;
  int64_t a = s->at[CXP_STEP_ACKNOWLEDGED], r = s->at[CXP_STEP_RESOLVED];
  /* A step stamped before the opening (clocks of two systems) took no time. */
  o.tta_ms = a == NEVER ? -1 : a > s->opened_at ? a - s->opened_at : 0;
  o.ttr_ms = r == NEVER ? -1 : r > s->opened_at ? r - s->opened_at : 0;
  o.preempted = s->provider_at != NEVER && s->provider_at < s->complaint_at;
  o.compensation = s->amount;
  o.root_cause_fixed = (s->flags & F_ROOT_FIXED) != 0;
  ccust *c = cases_cust_find(cs, s->cust_hash);
  if ((s->flags & F_OVERDUE) && cs->cb.on_overdue)
    cs->cb.on_overdue(cs->cb.opaque, origin, &info, -1);
  if (c) {
    if (c->open > 0) c->open--;
    if ((s->flags & F_OVERDUE) && c->overdue > 0) c->overdue--;
    if (end != CXP_CASE_END_EVICTED) c->cohort = o.well ? CXP_COHORT_WELL : CXP_COHORT_POORLY;
    o.cohort = (cxp_case_cohort)c->cohort;
  } else {
    o.cohort = end == CXP_CASE_END_EVICTED ? CXP_COHORT_PENDING
               : o.well                    ? CXP_COHORT_WELL
                                           : CXP_COHORT_POORLY;
  }
  cs->st.closed++;
  if (o.well)
    cs->st.well++;
  else
    cs->st.poorly++;
  if (end == CXP_CASE_END_ABANDONED) cs->st.abandoned++;
  if (end == CXP_CASE_END_EVICTED) cs->st.evicted++;
  cs->fired++;
  if (cs->cb.on_outcome) cs->cb.on_outcome(cs->cb.opaque, origin, &o);

  /* Only the hash stays, to recognise late events for the case. */
  uint64_t h = case_hash(ids_of(s), s->len[0]);
  cases_closed_add(cs, h);
  if (c) cases_cust_closed_note(c, h, at);
  cases_slot_free(cs, idx);
}

/* Fires what falls due at `due` for one case: its breaches, then its close.
 * Every level of the case that the clock has passed by now fires with it,
 * as one group: the case is escalated once to the highest level reached,
 * and only when that level is higher than any it reached before (one
 * recovery.sla_breached per level and case). */
static void fire_case(cxp_cases *cs, uint32_t idx, int64_t due, const void *origin) {
  cslot *s = slot_at(cs, idx);
  int64_t closing = close_at(cs, s);
  int before = max_level(s), top = 0, top_d = -1;
  int64_t top_due = due, served = due;
  for (int64_t t = due; t != NEVER && t <= cs->clock && t <= closing;) {
    int64_t next = NEVER;
    for (int d = 0; d < CXP_DL__COUNT; d++) {
      if (dl_due(cs, s, d) != t) continue;
      int level = ++s->level[d];
      cs->st.breaches[level - 1]++;
      if (level > top) {
        top = level;
        top_d = d;
        top_due = t;
      }
    }
    served = t;
    for (int d = 0; d < CXP_DL__COUNT; d++) {
      int64_t u = dl_due(cs, s, d);
      if (u < next) next = u;
    }
    t = next;
  }
  if (top > before) {
    cxp_case_info info;
    fill_info(cs, s, &info);
    int64_t done = dl_done(s, top_d);
    cxp_case_breach b = {&info, (cxp_case_deadline)top_d, top, top_due,
                         dl_deadline(cs, s, top_d), level_priority(s->prio, top),
                         done == NEVER ? 0 : done, {0}, 0};
    /* The steps overdue as it goes out: breached, and not done by then. */
    for (int d = 0; d < CXP_DL__COUNT; d++)
      if (s->level[d] > 0 && dl_done(s, d) > top_due) b.levels[d] = s->level[d];
    /* A low priority waits for its digest; the windows ended before it go
     * out first. */
    b.digested = cs->conf.digest && b.priority >= cs->conf.digest_from;
    if (b.digested) cases_digest_note(cs, idx, top, top_d, top_due, origin);
    cs->fired++;
    if (cs->cb.on_breach) cs->cb.on_breach(cs->cb.opaque, origin, &b);
  }
  if (closing <= served) {
    int both = s->at[CXP_STEP_RESOLVED] != NEVER && s->at[CXP_STEP_FOLLOWED_UP] != NEVER;
    close_case(cs, idx, both ? CXP_CASE_END_CLOSED : CXP_CASE_END_ABANDONED, closing, origin);
    return;
  }
  /* Forget the due just served, so that refresh schedules the next one even
   * when it falls at the same instant (two levels rounding to one time). */
  s->next_due = NEVER;
  cases_refresh(cs, idx, origin);
}

/* ---- parked steps --------------------------------------------------------- */

void cases_parked_free(cxp_cases *cs, uint32_t i, uint64_t h) {
  pslot *p = &cs->parked[i];
  cxp_index_del(&cs->pidx, cxp_index_fp(h), i);
  cxp_index_del(&cs->pbyc, cxp_index_fp(p->cust_hash), i);
  p->seq = 0;
  p->next_free = cs->parked_free;
  cs->parked_free = i;
  cs->st.parked_now--;
}

static void expire_parked(cxp_cases *cs, uint32_t i, const void *origin) {
  pslot *p = &cs->parked[i];
  cxp_case_expired e;
  e.type = (cxp_event_type)p->type;
  e.case_id = (cxp_str){p->s, p->lcase};
  e.customer_id = (cxp_str){p->s + ID_MAX, p->lcust};
  e.event_id = (cxp_str){p->s + 2 * ID_MAX, p->levid};
  e.ts_ms = p->ts;
  e.arrival_wall_ms = p->arrival;
  e.token = p->token;
  snprintf(cs->detail, sizeof cs->detail, "%s for unknown case '%.*s' (waited %lld s)",
           cxp_event_type_name(e.type), (int)p->lcase, p->s,
           (long long)(cs->conf.park_ms / 1000));
  e.detail = cs->detail;
  cs->st.parked_expired++;
  cs->fired++;
  if (cs->cb.on_expired) cs->cb.on_expired(cs->cb.opaque, origin, &e);
  cases_parked_free(cs, i, case_hash(p->s, p->lcase));
}

/* Sets a step's time (the earliest wins); 1 when anything changed. */
int cases_apply_step(cslot *s, int step, int64_t ts, double amount, int root_fixed) {
  int changed = 0;
  if (ts < s->at[step]) {
    s->at[step] = ts;
    changed = 1;
  }
  if (step == CXP_STEP_COMPENSATED && amount > s->amount) {
    s->amount = amount;
    changed = 1;
  }
  if (step == CXP_STEP_RESOLVED && root_fixed && !(s->flags & F_ROOT_FIXED)) {
    s->flags |= F_ROOT_FIXED;
    changed = 1;
  }
  return changed;
}

int cases_take_parked(cxp_cases *cs, cslot *s, uint64_t h) {
  int n = 0;
  const char *id = ids_of(s);
  for (;;) {
    size_t pos = SIZE_MAX;
    uint32_t i;
    while ((i = cxp_index_next(&cs->pidx, cxp_index_fp(h), &pos)) != NO_IDX) {
      const pslot *p = &cs->parked[i];
      if (p->lcase == s->len[0] && memcmp(p->s, id, p->lcase) == 0) break;
    }
    if (i == NO_IDX) return n;
    const pslot *p = &cs->parked[i];
    cases_apply_step(s, p->type - CXP_EV_REC_ACKNOWLEDGED, p->ts, p->amount, p->root_fixed);
    /* Its timer entry goes stale with the slot's seq. */
    cases_parked_free(cs, i, h);
    cs->st.parked_applied++;
    n++;
  }
}

cxp_case_result cases_park_step(cxp_cases *cs, const xpark *x, uint64_t h) {
  if (cs->st.parked_now >= cs->conf.max_parked) {
    cs->st.park_full++;
    return CXP_CASE_PARK_FULL;
  }
  uint32_t i;
  if (cs->parked_free != NO_IDX) {
    i = cs->parked_free;
    cs->parked_free = cs->parked[i].next_free;
  } else {
    if (cs->parked_slots == cs->parked_cap)
      cs->parked = cxp_xgrow(cs->parked, &cs->parked_cap, 16, cs->conf.max_parked);
    i = cs->parked_slots++;
  }
  pslot *p = &cs->parked[i];
  p->ts = x->ts;
  p->arrival = x->arrival;
  p->token = x->token;
  p->amount = x->amount;
  p->type = (uint8_t)x->type;
  p->root_fixed = x->root_fixed != 0;
  p->lcase = (uint8_t)x->case_id.n;
  p->lcust = (uint8_t)clip_len(&x->customer_id, ID_MAX);
  p->levid = (uint8_t)clip_len(&x->event_id, ID_MAX);
  memcpy(p->s, x->case_id.p, p->lcase);
  if (p->lcust) memcpy(p->s + ID_MAX, x->customer_id.p, p->lcust);
  if (p->levid) memcpy(p->s + 2 * ID_MAX, x->event_id.p, p->levid);
  p->cust_hash = cxp_cases_customer_hash(p->s + ID_MAX, p->lcust);
  p->seq = next_seq(cs);
  cxp_index_put(&cs->pidx, cxp_index_fp(h), i);
  cxp_index_put(&cs->pbyc, cxp_index_fp(p->cust_hash), i);
  wheel_push(cs, x->ts + cs->conf.park_ms, PARK_BIT | i, p->seq);
  cs->st.parked++;
  cs->st.parked_now++;
  return CXP_CASE_PARKED;
}

static cxp_case_result park(cxp_cases *cs, const cxp_event *ev, uint64_t h,
                            int64_t arrival, const cxp_case_ctx *ctx) {
  xpark x = {ev->type, ev->root_cause_fixed, ev->ts_ms, arrival, ctx->token, ev->amount,
             ev->case_id, ev->customer_id, ev->event_id};
  return cases_park_step(cs, &x, h);
}

/* ---- opening ------------------------------------------------------------- */

static int valid_id(const cxp_str *s) { return s->p != NULL && s->n > 0 && s->n <= ID_MAX; }

static cxp_case_result open_case(cxp_cases *cs, const cxp_event *ev, cxp_str case_id,
                                 cxp_case_kind kind, int cat, int sev,
                                 const cxp_case_ctx *ctx) {
  if (!valid_id(&case_id) || !valid_id(&ev->customer_id)) return CXP_CASE_BAD_ID;
  if (sev < 1) sev = 1;
  if (sev > 4) sev = 4;
  int provider = kind == CXP_CASE_FAILURE && ev->detected_by.p &&
                 ev->detected_by.n == 8 && memcmp(ev->detected_by.p, "provider", 8) == 0;
  int complaint = kind != CXP_CASE_FAILURE;
  uint64_t h = case_hash(case_id.p, case_id.n);
  uint32_t idx;
  cslot *s = cases_case_find(cs, case_id.p, case_id.n, h, &idx);
  if (s) {
    /* A second opening event of the same case (the customer complains about
     * a failure the company reported): the earliest opening and the highest
     * severity count, and it feeds the pre-emption comparison. */
    if (ev->ts_ms < s->opened_at) s->opened_at = ev->ts_ms;
    if (sev < s->base_sev) {
      int raise = s->base_sev - s->sev;
      s->base_sev = (uint8_t)sev;
      s->sev = (uint8_t)(sev - raise < 1 ? 1 : sev - raise);
      s->prio = (uint8_t)cxp_cases_priority(s->sev, (s->flags & F_PREMIUM) != 0, ctx->value,
                                            cs->conf.high_value, ctx->churn_band);
    }
    if (provider) {
      s->flags |= F_PROVIDER;
      if (ev->ts_ms < s->provider_at) s->provider_at = ev->ts_ms;
    }
    if (complaint && ev->ts_ms < s->complaint_at) s->complaint_at = ev->ts_ms;
    cs->st.merged++;
    cases_refresh(cs, idx, ctx->origin);
    cs->changed = idx;
    cs->changed_seq = s->seq;
    return CXP_CASE_MERGED;
  }
  if (cases_closed_has(cs, h)) {
    cs->st.late++;
    return CXP_CASE_LATE;
  }
  if (cs->st.open >= cs->conf.max_open)
    close_case(cs, cs->oldest, CXP_CASE_END_EVICTED,
               cs->clock > cs->max_ts ? cs->clock : cs->max_ts, ctx->origin);

  uint64_t ch = cxp_cases_customer_hash(ev->customer_id.p, ev->customer_id.n);
  ccust *c = cases_cust_get(cs, ch, ev->ts_ms);
  if (ev->ts_ms > c->touched) c->touched = ev->ts_ms;
  int repeat = 0;
  if (kind != CXP_CASE_DETRACTOR) {
    /* Either order: a failure arriving after a later one of the same
     * category is just as much a repeat. */
    int64_t last = c->last_fail[cat];
    if (last != INT64_MIN && cs->conf.repeat_ms > 0 &&
        (ev->ts_ms >= last ? ev->ts_ms - last : last - ev->ts_ms) <= cs->conf.repeat_ms)
      repeat = 1;
    if (ev->ts_ms > last) c->last_fail[cat] = ev->ts_ms;
  }
  if (c->open < UINT16_MAX) c->open++;
  if (c->cohort == CXP_COHORT_NEVER_FAILED) c->cohort = CXP_COHORT_PENDING;

  idx = cxp_pool_get(&cs->slots); /* under max_open: room was made above */
  s = slot_at(cs, idx);
  memset(s, 0, sizeof *s);
  size_t lens[4] = {case_id.n, ev->customer_id.n, clip_len(&ev->segment, SEG_MAX),
                    clip_len(&ev->touchpoint, ID_MAX)};
  const char *src[4] = {case_id.p, ev->customer_id.p, ev->segment.p, ev->touchpoint.p};
  cases_slot_ids(cs, s, lens, src);
  s->opened_at = ev->ts_ms;
  for (int k = 0; k < CXP_STEP__COUNT; k++) s->at[k] = NEVER;
  s->provider_at = provider ? ev->ts_ms : NEVER;
  s->complaint_at = complaint ? ev->ts_ms : NEVER;
  s->next_due = NEVER;
  s->cust_hash = ch;
  s->seq = next_seq(cs);
  s->base_sev = (uint8_t)sev;
  s->sev = (uint8_t)(repeat && sev > 1 ? sev - 1 : sev);
  s->cat = (uint8_t)cat;
  s->kind = (uint8_t)kind;
  s->flags |= F_LIVE;
  if (provider) s->flags |= F_PROVIDER;
  if (repeat) s->flags |= F_REPEAT;
  int premium = lens[2] && cxp_strset_has(&cs->conf.premium, ev->segment.p, lens[2]);
  if (premium) s->flags |= F_PREMIUM;
  s->sla = cases_sla_row(cs, ev->segment.p, lens[2], premium);
  s->prio = (uint8_t)cxp_cases_priority(s->sev, premium, ctx->value, cs->conf.high_value,
                                        ctx->churn_band);
  cases_slot_link(cs, idx, h, c);
  cs->st.opened++;
  if (repeat) cs->st.repeats++;

  int applied = cs->st.parked_now ? cases_take_parked(cs, s, h) : 0;
  cases_refresh(cs, idx, ctx->origin);

  cxp_case_info info;
  fill_info(cs, s, &info);
  cxp_case_opened o = {&info, ev, repeat, NULL, 0, applied};
  o.solution = cxp_solutions_lookup(cs->sol, cat, s->sev, ev->segment.p, lens[2],
                                    &o.solution_fallback);
  if (cs->cb.on_opened) cs->cb.on_opened(cs->cb.opaque, ctx->origin, &o);
  if (kind != CXP_CASE_DETRACTOR) cxp_cases_systemic(cs, ev, cat, ch, ctx->origin);
  return CXP_CASE_OPENED;
}

/* The id of the customer's open detractor case opened last; {NULL, 0}
 * when he has none. */
static cxp_str latest_detractor(const cxp_cases *cs, cxp_str customer_id) {
  cxp_str r = {NULL, 0};
  if (!valid_id(&customer_id)) return r;
  const ccust *c = cases_cust_find(cs, cxp_cases_customer_hash(customer_id.p, customer_id.n));
  uint32_t seq = 0;
  for (uint32_t i = c ? c->first : NO_IDX; i != NO_IDX; i = slot_at(cs, i)->cnext) {
    const cslot *s = slot_at(cs, i);
    /* Opening numbers wrap: the later is the one a little ahead. */
    if (s->kind == CXP_CASE_DETRACTOR && (r.p == NULL || (int32_t)(s->seq - seq) > 0)) {
      r = (cxp_str){ids_of(s), s->len[0]};
      seq = s->seq;
    }
  }
  return r;
}

static cxp_case_result step(cxp_cases *cs, const cxp_event *ev, int64_t arrival,
                            const cxp_case_ctx *ctx) {
  if (!valid_id(&ev->case_id)) return CXP_CASE_BAD_ID;
  uint64_t h = case_hash(ev->case_id.p, ev->case_id.n);
  uint32_t idx;
  cslot *s = cases_case_find(cs, ev->case_id.p, ev->case_id.n, h, &idx);
  if (s == NULL) {
    if (cases_closed_has(cs, h)) {
      cs->st.late++;
      return CXP_CASE_LATE;
    }
    return park(cs, ev, h, arrival, ctx);
  }
  if (!cases_apply_step(s, ev->type - CXP_EV_REC_ACKNOWLEDGED, ev->ts_ms, ev->amount,
                  ev->root_cause_fixed)) {
    cs->st.duplicates++;
    return CXP_CASE_DUPLICATE;
  }
  cs->st.steps++;
  cases_refresh(cs, idx, ctx->origin);
  cs->changed = idx;
  cs->changed_seq = s->seq;
  return CXP_CASE_STEP;
}

/* ---- the clock ------------------------------------------------------------ */

/* Moves the clock (never back) and serves every entry due by it, in
 * (due, seq) order, those that firing files (a case's next level, already
 * due) included. Also runs when the clock did not move: a step or an
 * opening in the past can make a due that has already passed. */
static void advance(cxp_cases *cs, int64_t clock, const void *origin) {
  if (clock > cs->clock) cs->clock = clock;
  cxp_wheel_turn(&cs->wheel, cs->clock);
  if (!cxp_wheel_has_ready(&cs->wheel)) {
    cases_digest_flush(cs, cs->clock, origin);
    return;
  }
  cxp_wvec b = {NULL, 0, 0};
  cxp_wheel_take(&cs->wheel, cs->clock, &b);
  while (b.n) {
    cxp_wentry e = cxp_wheel_pop(&b);
    if (!entry_live(cs, &e)) continue;
    /* The digests of windows ended by now go out before what falls due
     * later changes the cases they list. */
    cases_digest_flush(cs, e.due, origin);
    if (e.id & PARK_BIT)
      expire_parked(cs, e.id & ~PARK_BIT, origin);
    else
      fire_case(cs, e.id, e.due, origin);
    if (cxp_wheel_has_ready(&cs->wheel)) cxp_wheel_take(&cs->wheel, cs->clock, &b);
  }
  free(b.e);
  cases_digest_flush(cs, cs->clock, origin);
}

cxp_case_result cxp_cases_add(cxp_cases *cs, const cxp_event *ev, int64_t arrival_wall_ms,
                              const cxp_case_ctx *ctx) {
  static const cxp_case_ctx none = {0, -1, 0, 0, NULL, 0};
  if (ctx == NULL) ctx = &none;
  if (cs->dg_rebuild) cases_digest_rebuild(cs, ctx->origin);
  int64_t ts = ev->ts_ms;
  if (!cs->has_ts || ts > cs->max_ts) cs->max_ts = ts;
  cs->has_ts = 1;
  cs->last_ts = ts;
  cs->last_arrival = arrival_wall_ms;
  cs->wall_from_tick = 0;
  cs->changed = NO_IDX;
  cxp_case_result r = CXP_CASE_NONE;
  switch (ev->type) {
    case CXP_EV_FAILURE:
    case CXP_EV_COMPLAINT: {
      int cat = ev->category.p ? cxp_case_category_parse(ev->category.p, ev->category.n) : -1;
      if (cat < 0) cat = CXP_CAT_OTHER;
      r = open_case(cs, ev, ev->case_id,
                    ev->type == CXP_EV_FAILURE ? CXP_CASE_FAILURE : CXP_CASE_COMPLAINT, cat,
                    ev->severity, ctx);
      break;
    }
    case CXP_EV_NPS:
      if (cs->conf.detractor_cases && !ctx->no_outreach && ev->score >= 0 && ev->score <= 6) {
        /* The closed loop's own id, unless the response names its case.
         * Scores 0-3 are the angriest detractors: major; 4-6 minor (the
         * closed-loop alert's P2 / P3). */
        char id[20];
        cxp_str cid = ev->case_id;
        if (ctx->fold_detractor) {
          cid = latest_detractor(cs, ev->customer_id);
          if (cid.p == NULL) break;
        } else if (!valid_id(&cid)) {
          cxp_cases_detractor_id(id, cs->conf.pipeline, ev->customer_id, ev->event_id);
          cid = (cxp_str){id, 19};
        }
        r = open_case(cs, ev, cid, CXP_CASE_DETRACTOR, CXP_CAT_OTHER, ev->score <= 3 ? 2 : 3,
                      ctx);
      }
      break;
    case CXP_EV_REC_ACKNOWLEDGED:
    case CXP_EV_REC_APOLOGIZED:
    case CXP_EV_REC_COMPENSATED:
    case CXP_EV_REC_RESOLVED:
    case CXP_EV_REC_FOLLOWED_UP:
      r = step(cs, ev, arrival_wall_ms, ctx);
      break;
    default:
      break;
  }
  advance(cs, cs->max_ts, ctx->origin);
  if (cs->changed != NO_IDX && cs->cb.on_changed) {
    const cslot *s = slot_at(cs, cs->changed);
    if ((s->flags & F_LIVE) && s->seq == cs->changed_seq) {
      cxp_case_info info;
      fill_info(cs, s, &info);
      cs->cb.on_changed(cs->cb.opaque, ctx->origin, &info, ev->ts_ms);
    }
  }
  return r;
}

int cxp_cases_tick(cxp_cases *cs, int64_t now_wall_ms, const void *origin) {
  if (cs->dg_rebuild) cases_digest_rebuild(cs, origin);
  if (cs->wall_from_tick && now_wall_ms > 0) {
    /* When the last event before the restart arrived is not known; the
     * restore is later than that, so counting from the first tick after it
     * can be late, never early. */
    cs->wall_from_tick = 0;
    cs->last_arrival = now_wall_ms;
    return 0;
  }
  if (!cs->has_ts || cs->last_arrival <= 0 || now_wall_ms <= cs->last_arrival) return 0;
  int64_t clock = cs->last_ts + (now_wall_ms - cs->last_arrival);
  if (clock < cs->max_ts) clock = cs->max_ts;
  int before = cs->fired;
  advance(cs, clock, origin);
  return cs->fired - before;
}

int64_t cxp_cases_next_wall(const cxp_cases *cs) {
  int64_t due = cxp_wheel_earliest(&cs->wheel);
  if (due == INT64_MAX || !cs->has_ts || cs->last_arrival <= 0) return 0;
  return cs->last_arrival + (due - cs->last_ts);
}

int64_t cxp_cases_clock(const cxp_cases *cs) { return cs->clock; }

/* ---- queries -------------------------------------------------------------- */

int cxp_cases_get(const cxp_cases *cs, const char *case_id, size_t n, cxp_case_info *out) {
  const cslot *s = cases_case_find(cs, case_id, n, case_hash(case_id, n), NULL);
  if (s == NULL) return -1;
  fill_info(cs, s, out);
  return 0;
}

void cxp_cases_customer(const cxp_cases *cs, const char *customer_id, size_t n,
                        cxp_case_customer *out) {
  const ccust *c = cases_cust_find(cs, cxp_cases_customer_hash(customer_id, n));
  out->cohort = c ? (cxp_case_cohort)c->cohort : CXP_COHORT_NEVER_FAILED;
  out->open = c ? c->open : 0;
  out->overdue = c ? c->overdue : 0;
}

cxp_cases_stats cxp_cases_stats_get(const cxp_cases *cs) {
  cxp_cases_stats st = cs->st;
  st.customers = cs->cust_n;
  st.groups = cs->groups_live;
  return st;
}

size_t cxp_cases_bytes(const cxp_cases *cs) {
  return sizeof *cs + cxp_pool_bytes(&cs->slots) + cs->heap_ids_bytes +
         cxp_index_bytes(&cs->idx) + sizeof cs->wheel + cs->wheel.bytes +
         (size_t)cs->parked_cap * sizeof *cs->parked + cxp_index_bytes(&cs->pidx) + cxp_index_bytes(&cs->pbyc) +
         (size_t)cs->cust_cap * sizeof *cs->cust + cxp_index_bytes(&cs->cidx) +
         (size_t)cs->closed_cap * sizeof *cs->closed + cxp_index_bytes(&cs->clidx) +
         (size_t)cs->groups_cap * cs->gstride + cxp_index_bytes(&cs->gidx) +
         (cs->own_sol ? cxp_solutions_bytes(cs->own_sol) : 0) + cases_digest_bytes(cs);
}

size_t cxp_cases_bytes_per_case(const cxp_cases *cs) {
  (void)cs;
  /* The index is at most half full: at least two entries per case. */
  return sizeof(cslot) + 2 * sizeof(uint64_t) + sizeof(cxp_wentry);
}
