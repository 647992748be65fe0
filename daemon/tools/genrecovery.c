#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cases.h"
#include "gen_int.h"

/* The provider's side of a case and the CX team's call backs run on their
 * own clock (hours), not the customer's activity: a heap of the steps due. */

static int64_t due_at(const cxp_gen *g, uint32_t e) {
  const gcust *c = &g->c[e >> 1];
  return e & 1 ? c->cl_due : c->step_due;
}

static int due_before(const cxp_gen *g, uint32_t a, uint32_t b) {
  return due_at(g, g->due[a]) < due_at(g, g->due[b]);
}

static void due_swap(cxp_gen *g, uint32_t a, uint32_t b) {
  uint32_t x = g->due[a];
  g->due[a] = g->due[b];
  g->due[b] = x;
}

static void due_push(cxp_gen *g, uint32_t e) {
  uint32_t i = g->n_due++;
  g->due[i] = e;
  while (i > 0 && due_before(g, i, (i - 1) / 2)) {
    due_swap(g, i, (i - 1) / 2);
    i = (i - 1) / 2;
  }
}

static uint32_t due_pop(cxp_gen *g) {
  uint32_t top = g->due[0], i = 0;
  g->due[0] = g->due[--g->n_due];
  for (;;) {
    uint32_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < g->n_due && due_before(g, l, m)) m = l;
    if (r < g->n_due && due_before(g, r, m)) m = r;
    if (m == i) break;
    due_swap(g, i, m);
    i = m;
  }
  return top;
}

/* An exponential delay of mean `mean_h` hours, in ms (at least 1). */
static int64_t delay_h(cxp_gen *g, double mean_h) {
  return (int64_t)(-log(1.0 - unif(g)) * mean_h * 3600000.0) + 1;
}

/* Schedules the open case's next step. The recovery world's provider is
 * slow whatever the severity (hours apart: its failures are handled
 * poorly). The others' keeps to the default SLA most of the time: each
 * step's mean a share of the severity's time (acknowledge a quarter of its
 * 15 min, 1 h, 4 h, 24 h; apologise, compensate and resolve together about
 * a third of its 4 h, 24 h, 72 h, 168 h to resolve; follow up a third of the
 * 72 h after), so a few cases breach, gold ones (half the time) more. The
 * resolution of one case in ten stalls for weeks: the unrecovered failure. */
void gen_schedule_step(cxp_gen *g, uint32_t ci, int64_t t) {
  gcust *c = &g->c[ci];
  static const double slow_h[] = {3, 4, 12, 36, 48};
  static const double ack_h[] = {0.25, 1, 4, 24}, resolve_h[] = {4, 24, 72, 168};
  double mean;
  if (g->o.world == CXP_GEN_RECOVERY) {
    mean = slow_h[c->open_step];
  } else {
    int s = c->open_sev - 1;
    static const double share[] = {0.25, 0.05, 0.1, 0.2, 0.33};
    mean = c->open_step == 0   ? share[0] * ack_h[s]
           : c->open_step == 4 ? share[4] * 72
                               : share[c->open_step] * resolve_h[s];
  }
  int64_t d = delay_h(g, mean);
  /* The recovery world's provider lets twice as many stall. */
  if (c->open_step == 3 && unif(g) < (g->o.world == CXP_GEN_RECOVERY ? 0.25 : 0.1)) {
    d += delay_h(g, 24 * 20) + 10 * (int64_t)DAY_MS;
    c->stall_until = t + d;
  }
  c->step_due = t + d;
  due_push(g, 2 * ci);
}

/* The CX team calls a detractor back: acknowledged within a few hours
 * (mean 3 h; the closed loop allows 48, 24 for gold), resolved 2 h later,
 * followed up 6 h after that. */
static void schedule_call(cxp_gen *g, uint32_t ci, int64_t t) {
  gcust *c = &g->c[ci];
  static const double mean_h[] = {3, 2, 6};
  c->cl_due = t + delay_h(g, mean_h[c->cl_step]);
  due_push(g, 2 * ci + 1);
}

/* A detractor's answer opens a case as the daemon does (consent as his
 * last profile gave it, one closed-loop alert a day): the team will call
 * back. A case still being called back is left for the new one. */
void gen_detractor_answer(cxp_gen *g, draft *d, int score) {
  gcust *c = d->c;
  if (score > 6 || !c->consent_told) return;
  if (c->cl_alerted && d->t - c->cl_alerted < 24 * 3600000LL) return;
  c->cl_alerted = d->t;
  char eid[24];
  int n = snprintf(eid, sizeof eid, "e%llu", (unsigned long long)g->seq);
  cxp_cases_detractor_id(c->cl_id, g->o.pipeline, (cxp_str){d->cid, strlen(d->cid)},
                         (cxp_str){eid, (size_t)n});
  int queued = c->cl_step >= 0;
  c->cl_step = 0;
  if (!queued) schedule_call(g, d->ci, d->t);
}

size_t gen_call_event(cxp_gen *g, draft *d) {
  static const char *const call[] = {"recovery.acknowledged", "recovery.resolved",
                                     "recovery.followed_up"};
  gcust *c = d->c;
  size_t n = (size_t)snprintf(d->buf, d->cap, "%s\"type\":\"%s\",\"case_id\":\"%s\"}", d->head,
                              call[c->cl_step], c->cl_id);
  c->cl_step = c->cl_step + 1 > 2 ? -1 : c->cl_step + 1;
  if (c->cl_step >= 0) schedule_call(g, d->ci, d->t);
  return n;
}

/* The heap entry of a recovery step that has come due (2 x customer, + 1
 * for a call back), or UINT32_MAX; the case of one who has left meanwhile
 * is dropped. */
uint32_t gen_due_entry(cxp_gen *g) {
  while (g->n_due && due_at(g, g->due[0]) <= g->t_ms) {
    uint32_t e = due_pop(g);
    gcust *c = &g->c[e >> 1];
    if (c->cancelled) {
      if (e & 1) c->cl_step = -1;
      else c->open_step = -1;
      continue;
    }
    return e;
  }
  return UINT32_MAX;
}
