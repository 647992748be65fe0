/* The breach digest (docs/domain.md section 5.10): the breaches of low
 * priority, noted per digest group (a role) in the event-time window they
 * fell due in, and sent as one digest per group when the partition's clock
 * passes the window's end. Part of the cases module (cases_int.h): it
 * reads the cases' slots, so that a noted breach costs 24 bytes and no
 * copy of its strings, and a case that closed or was put right before the
 * window's end is seen as such when the digest goes out.
 *
 * Only one window is ever open: the clock only moves forward, breaches
 * fire in the order of their dues, and a window ends (its digest goes out)
 * before a breach of a later window is noted. A breach that falls due in a
 * window already sent (a case opened with its deadlines past, a grouped
 * breach reaching a later level than the next case's) goes to the window
 * open now, the next digest of its role. */
#include <stdlib.h>

#include "cases_int.h"
#include "timeutil.h"
#include "xalloc.h"

static int64_t window_of(const cxp_cases *cs, int64_t t) {
  return cxp_time_floor(t, cs->conf.digest_window_ms);
}

/* Fills the digest of group g from its noted breaches, then resets them.
 * A breach whose case is gone, or whose case has no step overdue at the
 * window's end any more, is only counted (settled). */
static void send(cxp_cases *cs, int g, const void *origin) {
  int64_t end = cs->dg_start + cs->conf.digest_window_ms;
  cxp_case_digest d = {g + 1, cs->dg_start, end, cs->dg_prio[g], 0, cs->dg_omitted[g], 0, NULL};
  if (cs->dg_items == NULL) cs->dg_items = cxp_xcalloc(cs->conf.digest_max, sizeof *cs->dg_items);
  int best = 5;
  for (uint32_t k = 0; k < cs->dg_n[g]; k++) {
    const dentry *e = &cs->dg[g][k];
    const cslot *s = slot_at(cs, e->idx);
    if (!(s->flags & F_LIVE) || s->seq != e->seq) {
      d.settled++;
      continue;
    }
    cxp_case_digest_item *it = &cs->dg_items[d.n];
    memset(it, 0, sizeof *it);
    int overdue = 0;
    for (int dl = 0; dl < CXP_DL__COUNT; dl++)
      if (s->level[dl] > 0 && dl_done(s, dl) > end) {
        it->levels[dl] = s->level[dl];
        overdue = 1;
      }
    if (!overdue) {
      d.settled++;
      continue;
    }
    const char *p = ids_of(s);
    it->case_id = (cxp_str){p, s->len[0]};
    it->customer_id = (cxp_str){p + s->len[0], s->len[1]};
    it->segment = (cxp_str){s->len[2] ? p + s->len[0] + s->len[1] : NULL, s->len[2]};
    it->priority = level_priority(s->prio, e->level);
    it->level = e->level;
    it->step = (cxp_case_deadline)e->step;
    it->due = e->due;
    int64_t dl = dl_deadline(cs, s, e->step);
    it->deadline_ms = dl == NEVER ? 0 : dl;
    if (it->priority < best) best = it->priority;
    d.n++;
  }
  cs->dg_n[g] = cs->dg_omitted[g] = 0;
  cs->dg_prio[g] = 5;
  if (d.n == 0 && d.omitted == 0) return;
  if (d.n) d.priority = best;
  d.items = cs->dg_items;
  cs->st.digests++;
  cs->fired++;
  if (cs->cb.on_digest) cs->cb.on_digest(cs->cb.opaque, origin, &d);
}

void cases_digest_flush(cxp_cases *cs, int64_t t, const void *origin) {
  if (!cs->conf.digest) return;
  /* Within the window open now (every event's case, most of the time):
   * nothing to do, and no division to find that out. */
  if (cs->dg_start != INT64_MIN && t >= cs->dg_start && t - cs->dg_start < cs->conf.digest_window_ms)
    return;
  int64_t start = window_of(cs, t);
  if (cs->dg_start == INT64_MIN) {
    cs->dg_start = start;
    for (int g = 0; g < CXP_CASES_LEVELS; g++) cs->dg_prio[g] = 5;
    return;
  }
  if (start <= cs->dg_start) return;
  for (int g = 0; g < CXP_CASES_LEVELS; g++)
    if (cs->dg_n[g] || cs->dg_omitted[g]) send(cs, g, origin);
  cs->dg_start = start;
}

/* Notes a breach in the window open now. */
static void add(cxp_cases *cs, uint32_t idx, int level, int step, int64_t due) {
  const cslot *s = slot_at(cs, idx);
  int g = cs->conf.digest_group[level - 1];
  int prio = level_priority(s->prio, level);
  cs->st.digested++;
  if (prio < cs->dg_prio[g]) cs->dg_prio[g] = prio;
  /* Two levels of one role (recovery.escalation.roles naming a role
   * twice): the case is listed once, at the higher. */
  for (uint32_t k = 0; k < cs->dg_n[g]; k++) {
    dentry *e = &cs->dg[g][k];
    if (e->idx != idx || e->seq != s->seq) continue;
    if (level > e->level) *e = (dentry){due, idx, s->seq, (uint8_t)level, (uint8_t)step};
    return;
  }
  if (cs->dg_n[g] >= cs->conf.digest_max) {
    cs->dg_omitted[g]++;
    return;
  }
  if (cs->dg[g] == NULL) cs->dg[g] = cxp_xcalloc(cs->conf.digest_max, sizeof(dentry));
  cs->dg[g][cs->dg_n[g]++] = (dentry){due, idx, s->seq, (uint8_t)level, (uint8_t)step};
}

void cases_digest_note(cxp_cases *cs, uint32_t idx, int level, int step, int64_t due,
                       const void *origin) {
  cases_digest_flush(cs, due, origin);
  add(cs, idx, level, step, due);
}

/* After a restore the module knows each open case's levels and deadlines
 * but not which breaches were sent in a digest. The restored clock (the
 * latest event time of the restored customers) says: a digest whose window
 * ended by then went out before the restart, its events' outputs all
 * acknowledged before the customer's record was written (ARCHITECTURE.md,
 * "Durable state"); any later one may not have. So each level a restored
 * case reached, at the time it reached it, whose window ends after the
 * restored clock, is noted again, in the window open now: listed at least
 * once, perhaps in an earlier digest than an uninterrupted run would have
 * (a level reached after the restored clock), perhaps twice (a digest that
 * had gone out but was not known to). */
void cases_digest_rebuild(cxp_cases *cs, const void *origin) {
  cs->dg_rebuild = 0;
  if (!cs->conf.digest || !cs->has_ts) return;
  int64_t hint = cs->max_ts;
  cases_digest_flush(cs, hint, origin);
  for (uint32_t i = cs->oldest; i != NO_IDX; i = slot_at(cs, i)->newer) {
    const cslot *s = slot_at(cs, i);
    for (int k = 1; k <= CXP_CASES_LEVELS; k++) {
      int64_t t = NEVER;
      int step = -1;
      for (int d = 0; d < CXP_DL__COUNT; d++) {
        int64_t u = s->level[d] >= k ? dl_level_due(cs, s, d, k) : NEVER;
        if (u < t) {
          t = u;
          step = d;
        }
      }
      if (step < 0) break;
      if (level_priority(s->prio, k) < cs->conf.digest_from) continue;
      if (window_of(cs, t) + cs->conf.digest_window_ms <= hint) continue;
      add(cs, i, k, step, t); /* in the window open now, wherever t lies */
    }
  }
}

void cases_digest_free(cxp_cases *cs) {
  for (int g = 0; g < CXP_CASES_LEVELS; g++) free(cs->dg[g]);
  free(cs->dg_items);
}

size_t cases_digest_bytes(const cxp_cases *cs) {
  size_t n = 0;
  for (int g = 0; g < CXP_CASES_LEVELS; g++)
    if (cs->dg[g]) n += (size_t)cs->conf.digest_max * sizeof(dentry);
  if (cs->dg_items) n += (size_t)cs->conf.digest_max * sizeof *cs->dg_items;
  return n;
}
