/* Unit tests of the recovery cases (daemon/core/cases.c).
 *
 * Every expected value was worked out by hand from the defaults of
 * docs/domain.md section 5; the arithmetic is in the comment beside it. The reference
 * instant is helpers.h's T0 = 2026-11-23T07:00:00Z = 1795417200000 ms, a
 * whole number of 15-minute windows since the epoch (1795417200000 / 900000
 * = 1994908).
 *
 * The SLA at the defaults, severity 2 (major), not premium:
 *   acknowledge 1 h: levels at 1 h, 2 h, 4 h after opening;
 *   resolve 24 h: levels at 24 h, 48 h, 96 h after opening;
 *   follow up 72 h after resolution: levels at +72 h, +144 h, +288 h;
 *   abandoned when unresolved at 8 x 24 h = 192 h, or resolved but not
 *   followed up at resolution + 8 x 72 h = 576 h; closed 5 min (settle)
 *   after both resolved and followed up. */
#include "helpers.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cases.h"
#include "core.h"
#include "pipeline.h"
#include "event.h"
#include "hash.h"
#include "snapshot.h"
#include "staterec.h"
#include "varint.h"

/* ---- a sink for the callbacks -------------------------------------------- */

#define REC_MAX 64
typedef struct rec_open {
  char case_id[140], customer_id[140];
  int kind, category, severity, base_severity, priority, repeat, parked_applied;
  int64_t opened_at, deadline[CXP_DL__COUNT], ack_done;
  char role[70], compensation[70], actions[CXP_LIST_MAX];
  int fallback;
} rec_open;
typedef struct rec_breach {
  char case_id[140];
  int deadline, level, priority;
  int64_t due, deadline_ms, done_at;
} rec_breach;
typedef struct rec_outcome {
  char case_id[140];
  int end, well, preempted, max_level, cohort, root_fixed;
  unsigned missed;
  int64_t closed_at, tta, ttr;
  double compensation;
} rec_outcome;
typedef struct rec_systemic {
  int category, customers;
  char touchpoint[140];
  int64_t start, end;
} rec_systemic;
typedef struct rec_expired {
  char case_id[140], detail[400];
  int type;
  int64_t token, ts;
} rec_expired;

typedef struct sink {
  rec_open o[REC_MAX];
  rec_breach b[REC_MAX];
  rec_outcome out[REC_MAX];
  rec_systemic sy[REC_MAX];
  rec_expired ex[REC_MAX];
  int no, nb, nout, nsy, nex;
  /* Counted past REC_MAX too, for the volume test. */
  long long opened, breaches, outcomes, well;
} sink;

static void cpy(char *dst, size_t cap, cxp_str s) {
  size_t n = s.p ? (s.n < cap - 1 ? s.n : cap - 1) : 0;
  if (n) memcpy(dst, s.p, n);
  dst[n] = '\0';
}

static void on_opened(void *opaque, const void *origin, const cxp_case_opened *o) {
  (void)origin;
  sink *k = opaque;
  k->opened++;
  if (k->no == REC_MAX) return;
  rec_open *r = &k->o[k->no++];
  cpy(r->case_id, sizeof r->case_id, o->c->case_id);
  cpy(r->customer_id, sizeof r->customer_id, o->c->customer_id);
  r->kind = o->c->kind;
  r->category = o->c->category;
  r->severity = o->c->severity;
  r->base_severity = o->c->base_severity;
  r->priority = o->c->priority;
  r->repeat = o->repeat;
  r->parked_applied = o->parked_applied;
  r->opened_at = o->c->opened_at;
  for (int d = 0; d < CXP_DL__COUNT; d++) r->deadline[d] = o->c->deadline[d];
  r->ack_done = o->c->done_at[CXP_STEP_ACKNOWLEDGED];
  snprintf(r->role, sizeof r->role, "%s", o->solution->role);
  snprintf(r->compensation, sizeof r->compensation, "%s", o->solution->compensation);
  snprintf(r->actions, sizeof r->actions, "%s", o->solution->actions);
  r->fallback = o->solution_fallback;
}

static void on_breach(void *opaque, const void *origin, const cxp_case_breach *b) {
  (void)origin;
  sink *k = opaque;
  k->breaches++;
  if (k->nb == REC_MAX) return;
  rec_breach *r = &k->b[k->nb++];
  cpy(r->case_id, sizeof r->case_id, b->c->case_id);
  r->deadline = b->deadline;
  r->level = b->level;
  r->priority = b->priority;
  r->due = b->due;
  r->deadline_ms = b->deadline_ms;
  r->done_at = b->done_at;
}

static void on_outcome(void *opaque, const void *origin, const cxp_case_outcome *o) {
  (void)origin;
  sink *k = opaque;
  k->outcomes++;
  k->well += o->well;
  if (k->nout == REC_MAX) return;
  rec_outcome *r = &k->out[k->nout++];
  cpy(r->case_id, sizeof r->case_id, o->c->case_id);
  r->end = o->end;
  r->well = o->well;
  r->preempted = o->preempted;
  r->max_level = o->max_level;
  r->cohort = o->cohort;
  r->root_fixed = o->root_cause_fixed;
  r->missed = o->missed;
  r->closed_at = o->closed_at;
  r->tta = o->tta_ms;
  r->ttr = o->ttr_ms;
  r->compensation = o->compensation;
}

static void on_systemic(void *opaque, const void *origin, const cxp_case_systemic *s) {
  (void)origin;
  sink *k = opaque;
  if (k->nsy == REC_MAX) return;
  rec_systemic *r = &k->sy[k->nsy++];
  r->category = s->category;
  r->customers = s->customers;
  cpy(r->touchpoint, sizeof r->touchpoint, s->touchpoint);
  r->start = s->window_start;
  r->end = s->window_end;
}

static void on_expired(void *opaque, const void *origin, const cxp_case_expired *e) {
  (void)origin;
  sink *k = opaque;
  if (k->nex == REC_MAX) return;
  rec_expired *r = &k->ex[k->nex++];
  cpy(r->case_id, sizeof r->case_id, e->case_id);
  snprintf(r->detail, sizeof r->detail, "%s", e->detail);
  r->type = e->type;
  r->token = e->token;
  r->ts = e->ts_ms;
}

static sink K;

static cxp_cases *make(const cxp_cases_conf *c) {
  memset(&K, 0, sizeof K);
  cxp_cases_cbs cb = {on_opened, on_breach, on_systemic, on_outcome, on_expired, NULL, NULL, NULL, &K};
  cxp_cases *cs = cxp_cases_create(c, &cb);
  CHECK(cs != NULL);
  return cs;
}

static cxp_cases *make_default(void) {
  cxp_cases_conf c;
  cxp_cases_conf_defaults(&c);
  return make(&c);
}

/* ---- events -------------------------------------------------------------- */

static int evseq;
static char evids[4096][16];

static cxp_event base_ev(cxp_event_type t, int64_t ts, const char *cust) {
  cxp_event e;
  memset(&e, 0, sizeof e);
  e.type = t;
  e.ts_ms = ts;
  e.customer_id = str_of(cust);
  char *id = evids[evseq++ % 4096];
  snprintf(id, 16, "e%d", evseq);
  e.event_id = str_of(id);
  e.consent = -1;
  return e;
}

static cxp_event failure(const char *case_id, const char *cust, int64_t ts, const char *cat,
                         int sev, const char *detected_by, const char *touchpoint,
                         const char *segment) {
  cxp_event e = base_ev(CXP_EV_FAILURE, ts, cust);
  e.case_id = str_of(case_id);
  e.category = str_of(cat);
  e.severity = sev;
  e.detected_by = str_of(detected_by);
  e.touchpoint = str_of(touchpoint);
  e.segment = str_of(segment);
  return e;
}

static cxp_event complaint(const char *case_id, const char *cust, int64_t ts, const char *cat,
                           int sev, const char *touchpoint) {
  cxp_event e = base_ev(CXP_EV_COMPLAINT, ts, cust);
  e.case_id = str_of(case_id);
  e.category = str_of(cat);
  e.severity = sev;
  e.touchpoint = str_of(touchpoint);
  return e;
}

static cxp_event stepev(cxp_case_step s, const char *case_id, int64_t ts) {
  cxp_event e = base_ev((cxp_event_type)(CXP_EV_REC_ACKNOWLEDGED + s), ts, "c1");
  e.case_id = str_of(case_id);
  return e;
}

/* Any other event: it only moves the clock. */
static cxp_case_result at(cxp_cases *cs, int64_t ts, int64_t arrival) {
  cxp_event e = base_ev(CXP_EV_USAGE, ts, "someone");
  return cxp_cases_add(cs, &e, arrival, NULL);
}

static cxp_case_result add(cxp_cases *cs, const cxp_event *e) {
  return cxp_cases_add(cs, e, 0, NULL);
}

/* ---- configuration --------------------------------------------------------- */

static void test_conf(void) {
  test_ctx = "conf";
  cxp_cases_conf c;
  char err[200];
  cxp_cases_conf_defaults(&c);
  /* docs/domain.md section 5: 15 min, 1 h, 4 h, 24 h; 4 h, 24 h, 72 h, 7 d; 72 h. */
  CHECK_INT(c.ack_ms[0], 900000);
  CHECK_INT(c.ack_ms[1], 3600000);
  CHECK_INT(c.ack_ms[2], 14400000);
  CHECK_INT(c.ack_ms[3], 86400000);
  CHECK_INT(c.resolve_ms[0], 14400000);
  CHECK_INT(c.resolve_ms[1], 86400000);
  CHECK_INT(c.resolve_ms[2], 259200000);
  CHECK_INT(c.resolve_ms[3], 604800000);
  CHECK_INT(c.follow_up_ms, 259200000);
  CHECK_NEAR(c.premium_factor, 0.5, 0);
  CHECK_NEAR(c.escalation[0], 1, 0);
  CHECK_NEAR(c.escalation[1], 2, 0);
  CHECK_NEAR(c.escalation[2], 4, 0);
  CHECK_INT(c.repeat_ms, 2592000000LL); /* 30 d */
  CHECK_INT(c.park_ms, 3600000);
  CHECK_INT(c.systemic_window_ms, 900000);
  CHECK_INT(c.systemic_customers, 10);
  CHECK_INT(cxp_cases_conf_check(&c, err, sizeof err), 0);

  c.escalation[1] = 1;
  CHECK_INT(cxp_cases_conf_check(&c, err, sizeof err), -1);
  CHECK_CONTAINS(err, "recovery.escalation.level2");
  cxp_cases_conf_defaults(&c);
  c.abandon_factor = 4;
  CHECK_INT(cxp_cases_conf_check(&c, err, sizeof err), -1);
  CHECK_CONTAINS(err, "recovery.abandon_factor");
  cxp_cases_conf_defaults(&c);
  c.ack_ms[2] = 0;
  CHECK_INT(cxp_cases_conf_check(&c, err, sizeof err), -1);
  CHECK_CONTAINS(err, "recovery.sla.sev3.acknowledge_min");
  cxp_cases_conf_defaults(&c);
  c.systemic_customers = 100;
  CHECK_INT(cxp_cases_conf_check(&c, err, sizeof err), -1);
  CHECK_CONTAINS(err, "recovery.systemic.customers");
  cxp_cases_conf_defaults(&c);
  c.max_open = 0;
  CHECK_INT(cxp_cases_conf_check(&c, err, sizeof err), -1);
  CHECK_CONTAINS(err, "recovery.max_open");
  CHECK(cxp_cases_create(&c, NULL) == NULL);
  cxp_cases_destroy(NULL);

  CHECK_STR(cxp_case_step_name(CXP_STEP_FOLLOWED_UP), "followed_up");
  CHECK_STR(cxp_case_deadline_name(CXP_DL_RESOLVE), "resolve");
  CHECK_INT(cxp_case_category_parse("promise", 7), CXP_CAT_PROMISE);
  CHECK_INT(cxp_case_category_parse("promises", 8), -1);
  CHECK_STR(cxp_case_cohort_name(CXP_COHORT_WELL), "recovered_well");

  /* Priority: severity, lifted once (never past P1). */
  CHECK_INT(cxp_cases_priority(3, 0, 0, 5000, -1), 3);
  CHECK_INT(cxp_cases_priority(3, 1, 0, 5000, -1), 2);     /* premium */
  CHECK_INT(cxp_cases_priority(4, 0, 5000, 5000, -1), 3);  /* value at the threshold */
  CHECK_INT(cxp_cases_priority(4, 0, 4999, 5000, 1), 4);   /* medium churn: no lift */
  CHECK_INT(cxp_cases_priority(2, 0, 0, 5000, 2), 1);      /* high churn */
  CHECK_INT(cxp_cases_priority(3, 1, 9999, 5000, 2), 2);   /* one lift, not three */
  CHECK_INT(cxp_cases_priority(1, 1, 0, 5000, 2), 1);
  CHECK_INT(cxp_cases_priority(2, 0, 1e9, 0, -1), 2);      /* high_value off */
  test_ctx = NULL;
}

/* ---- the state machine ----------------------------------------------------- */

/* One case k1 (service.failure, severity 2, provider, basic segment) and a
 * sequence of events; OPEN opens it, GHOST is an acknowledgement for a case
 * that never comes. After the row, one event at T0 + 600 h lets every
 * deadline, close and expiry happen. */
enum { OPEN = 100, GHOST = 101, END = -1 };
typedef struct sm_ev {
  int what; /* a cxp_case_step, OPEN or GHOST; END ends the list */
  int64_t off;
  cxp_case_result expect;
} sm_ev;
typedef struct sm_breach {
  int deadline, level;
  int64_t due_off;  /* due - T0 */
  int64_t done_off; /* done_at - T0; -1 when not done when it fired */
} sm_breach;
typedef struct sm_row {
  const char *name;
  sm_ev ev[10];
  int n_breaches;
  sm_breach b[6];
  int outcome; /* 1 when k1 has an outcome */
  int end, well;
  unsigned missed;
  int64_t closed_off, tta, ttr;
  int expired; /* parked steps expired */
  int parked_applied;
} sm_row;

#define A CXP_STEP_ACKNOWLEDGED
#define AP CXP_STEP_APOLOGIZED
#define C CXP_STEP_COMPENSATED
#define R CXP_STEP_RESOLVED
#define F CXP_STEP_FOLLOWED_UP
#define DA CXP_DL_ACKNOWLEDGE
#define DR CXP_DL_RESOLVE
#define DF CXP_DL_FOLLOW_UP

static const sm_row sm_rows[] = {
    /* Every step in time: closed 5 min after the follow-up at 30 h;
     * time to acknowledge 30 min = 1800000, to resolve 20 h = 72000000. */
    {"in order",
     {{OPEN, 0, CXP_CASE_OPENED},
      {A, 30 * M_MS, CXP_CASE_STEP},
      {AP, 40 * M_MS, CXP_CASE_STEP},
      {C, 2 * H_MS, CXP_CASE_STEP},
      {R, 20 * H_MS, CXP_CASE_STEP},
      {F, 30 * H_MS, CXP_CASE_STEP},
      {END, 0, 0}},
     0, {{0}}, 1, CXP_CASE_END_CLOSED, 1, 0, 30 * H_MS + 5 * M_MS, 1800000, 72000000, 0, 0},
    /* Shuffled, but each step arrives before the clock reaches a due. */
    {"out of order",
     {{OPEN, 0, CXP_CASE_OPENED},
      {AP, 40 * M_MS, CXP_CASE_STEP},
      {C, 45 * M_MS, CXP_CASE_STEP},
      {A, 30 * M_MS, CXP_CASE_STEP},
      {R, 20 * H_MS, CXP_CASE_STEP},
      {F, 30 * H_MS, CXP_CASE_STEP},
      {END, 0, 0}},
     0, {{0}}, 1, CXP_CASE_END_CLOSED, 1, 0, 30 * H_MS + 5 * M_MS, 1800000, 72000000, 0, 0},
    /* The follow-up (30 h) arrives before the resolution (20 h): the clock
     * passed the resolve deadline (24 h) with no resolution known, so level 1
     * fires; the resolution, at 20 h, was still in time: recovered well. */
    {"follow-up arrives before resolution",
     {{OPEN, 0, CXP_CASE_OPENED},
      {A, 30 * M_MS, CXP_CASE_STEP},
      {F, 30 * H_MS, CXP_CASE_STEP},
      {R, 20 * H_MS, CXP_CASE_STEP},
      {END, 0, 0}},
     1, {{DR, 1, 24 * H_MS, -1}}, 1, CXP_CASE_END_CLOSED, 1, 0, 30 * H_MS + 5 * M_MS,
     1800000, 72000000, 0, 0},
    /* Repeats change nothing unless earlier: the acknowledgement at 20 min
     * replaces the one at 30 min (tta 1200000). */
    {"repeated",
     {{OPEN, 0, CXP_CASE_OPENED},
      {A, 30 * M_MS, CXP_CASE_STEP},
      {A, 50 * M_MS, CXP_CASE_DUPLICATE},
      {A, 30 * M_MS, CXP_CASE_DUPLICATE},
      {A, 20 * M_MS, CXP_CASE_STEP},
      {R, 20 * H_MS, CXP_CASE_STEP},
      {R, 22 * H_MS, CXP_CASE_DUPLICATE},
      {F, 30 * H_MS, CXP_CASE_STEP},
      {F, 30 * H_MS, CXP_CASE_DUPLICATE},
      {END, 0, 0}},
     0, {{0}}, 1, CXP_CASE_END_CLOSED, 1, 0, 30 * H_MS + 5 * M_MS, 1200000, 72000000, 0, 0},
    /* No acknowledgement: the resolution at 20 h moves the clock past all
     * three acknowledge levels (1 h, 2 h, 4 h) at once: one breach, of the
     * highest (3, due at 4 h); closed poorly, ack missed. */
    {"missing acknowledgement",
     {{OPEN, 0, CXP_CASE_OPENED},
      {R, 20 * H_MS, CXP_CASE_STEP},
      {F, 30 * H_MS, CXP_CASE_STEP},
      {END, 0, 0}},
     1, {{DA, 3, 4 * H_MS, -1}}, 1,
     CXP_CASE_END_CLOSED, 0, 1u << DA, 30 * H_MS + 5 * M_MS, -1, 72000000, 0, 0},
    /* Acknowledged at 3 h: levels 1 (1 h) and 2 (2 h) were passed before it,
     * at once (its own time moved the clock), level 3 (4 h) was not: one
     * breach, of level 2, carrying the late done time. */
    {"late acknowledgement",
     {{OPEN, 0, CXP_CASE_OPENED},
      {A, 3 * H_MS, CXP_CASE_STEP},
      {R, 20 * H_MS, CXP_CASE_STEP},
      {F, 30 * H_MS, CXP_CASE_STEP},
      {END, 0, 0}},
     1, {{DA, 2, 2 * H_MS, 3 * H_MS}}, 1, CXP_CASE_END_CLOSED, 0,
     1u << DA, 30 * H_MS + 5 * M_MS, 3 * H_MS, 72000000, 0, 0},
    /* Resolved at 20 h, never followed up: follow-up levels at 20 + 72 = 92 h,
     * 20 + 144 = 164 h, 20 + 288 = 308 h, all passed by the one jump to 600 h:
     * one breach, level 3; abandoned at 20 + 576 = 596 h. */
    {"missing follow-up",
     {{OPEN, 0, CXP_CASE_OPENED},
      {A, 30 * M_MS, CXP_CASE_STEP},
      {R, 20 * H_MS, CXP_CASE_STEP},
      {END, 0, 0}},
     1, {{DF, 3, 308 * H_MS, -1}}, 1,
     CXP_CASE_END_ABANDONED, 0, 1u << DF, 596 * H_MS, 1800000, 72000000, 0, 0},
    /* Never resolved: resolve levels at 24 h, 48 h, 96 h, passed at once (one
     * breach, level 3); abandoned at 192 h; the follow-up never had a
     * deadline, so it counts as missed. */
    {"missing resolution",
     {{OPEN, 0, CXP_CASE_OPENED}, {A, 30 * M_MS, CXP_CASE_STEP}, {END, 0, 0}},
     1, {{DR, 3, 96 * H_MS, -1}}, 1,
     CXP_CASE_END_ABANDONED, 0, (1u << DR) | (1u << DF), 192 * H_MS, 1800000, -1, 0, 0},
    /* Steps before their case: parked (their times, 30 min and 20 h, are
     * before the opening event's arrival but the opening is at T0), applied
     * when it opens; then all in time. */
    {"parked, then applied",
     {{A, 30 * M_MS, CXP_CASE_PARKED},
      {AP, 31 * M_MS, CXP_CASE_PARKED},
      {OPEN, 0, CXP_CASE_OPENED},
      {R, 20 * H_MS, CXP_CASE_STEP},
      {F, 30 * H_MS, CXP_CASE_STEP},
      {END, 0, 0}},
     0, {{0}}, 1, CXP_CASE_END_CLOSED, 1, 0, 30 * H_MS + 5 * M_MS, 1800000, 72000000, 0, 2},
    /* A step for a case that never comes: expires at 30 min + 1 h, for the
     * caller to dead-letter. */
    {"parked, then expired",
     {{GHOST, 30 * M_MS, CXP_CASE_PARKED}, {END, 0, 0}},
     0, {{0}}, 0, 0, 0, 0, 0, 0, 0, 1, 0},
    /* The case closed: a step after it is late, not parked. */
    {"step after closing",
     {{OPEN, 0, CXP_CASE_OPENED},
      {A, 30 * M_MS, CXP_CASE_STEP},
      {R, 20 * H_MS, CXP_CASE_STEP},
      {F, 30 * H_MS, CXP_CASE_STEP},
      /* Applied, then its own time moves the clock past the close (30 h 05);
       * the next step finds the case closed. */
      {C, 31 * H_MS, CXP_CASE_STEP},
      {AP, 32 * H_MS, CXP_CASE_LATE},
      {END, 0, 0}},
     0, {{0}}, 1, CXP_CASE_END_CLOSED, 1, 0, 30 * H_MS + 5 * M_MS, 1800000, 72000000, 0, 0},
};

static void test_state_machine(void) {
  for (size_t r = 0; r < sizeof sm_rows / sizeof sm_rows[0]; r++) {
    const sm_row *row = &sm_rows[r];
    test_ctx = row->name;
    cxp_cases *cs = make_default();
    for (int i = 0; row->ev[i].what != END; i++) {
      const sm_ev *e = &row->ev[i];
      cxp_event ev;
      if (e->what == OPEN)
        ev = failure("k1", "c1", T0 + e->off, "operational", 2, "provider", "app", "basic");
      else if (e->what == GHOST)
        ev = stepev(CXP_STEP_ACKNOWLEDGED, "ghost", T0 + e->off);
      else
        ev = stepev((cxp_case_step)e->what, "k1", T0 + e->off);
      cxp_case_ctx ctx = {0, -1, 1000 + i, 0, NULL, 0};
      CHECK_INT(cxp_cases_add(cs, &ev, 0, &ctx), e->expect);
    }
    at(cs, T0 + 600 * H_MS, 0);
    CHECK_INT(K.nb, row->n_breaches);
    for (int i = 0; i < row->n_breaches && i < K.nb; i++) {
      CHECK_INT(K.b[i].deadline, row->b[i].deadline);
      CHECK_INT(K.b[i].level, row->b[i].level);
      CHECK_INT(K.b[i].due, T0 + row->b[i].due_off);
      CHECK_INT(K.b[i].done_at, row->b[i].done_off < 0 ? 0 : T0 + row->b[i].done_off);
    }
    CHECK_INT(K.nout, row->outcome);
    if (row->outcome && K.nout == 1) {
      const rec_outcome *o = &K.out[0];
      CHECK_STR(o->case_id, "k1");
      CHECK_INT(o->end, row->end);
      CHECK_INT(o->well, row->well);
      CHECK_INT(o->missed, row->missed);
      CHECK_INT(o->closed_at, T0 + row->closed_off);
      CHECK_INT(o->tta, row->tta);
      CHECK_INT(o->ttr, row->ttr);
      CHECK_INT(o->preempted, 1); /* provider, and no complaint */
      CHECK_INT(o->cohort, row->well ? CXP_COHORT_WELL : CXP_COHORT_POORLY);
    }
    CHECK_INT(K.nex, row->expired);
    if (row->expired && K.nex == 1) {
      CHECK_STR(K.ex[0].case_id, "ghost");
      CHECK_INT(K.ex[0].type, CXP_EV_REC_ACKNOWLEDGED);
      CHECK_INT(K.ex[0].token, 1000); /* the ctx of the first event */
      CHECK_INT(K.ex[0].ts, T0 + 30 * M_MS);
      CHECK_CONTAINS(K.ex[0].detail, "recovery.acknowledged for unknown case 'ghost'");
    }
    if (row->outcome) {
      CHECK_INT(K.no, 1);
      CHECK_INT(K.o[0].parked_applied, row->parked_applied);
    }
    cxp_cases_stats st = cxp_cases_stats_get(cs);
    CHECK_INT(st.open, 0);
    CHECK_INT(st.open_deadlines, 0);
    CHECK_INT(st.parked_now, 0);
    cxp_cases_destroy(cs);
  }
  test_ctx = NULL;
}

/* ---- deadlines -------------------------------------------------------------- */


/* k1 (severity 2: 1 h) at T0, k2 (severity 1: 15 min) a minute later, k3
 * (severity 4: 24 h) a minute after that, in a default store. */
static cxp_cases *three_cases(void) {
  cxp_cases *cs = make_default();
  cxp_event e = failure("k1", "c1", T0, "operational", 2, "customer", "app", "basic");
  add(cs, &e);
  e = failure("k2", "c2", T0 + M_MS, "operational", 1, "customer", "app", "basic");
  add(cs, &e);
  e = failure("k3", "c3", T0 + 2 * M_MS, "operational", 4, "customer", "app", "basic");
  add(cs, &e);
  return cs;
}

static void test_deadlines(void) {
  /* Exactly at the deadline in event time, not a millisecond before; then
   * levels 2 and 3 at 2x and 4x. Severity 2: acknowledge 1 h. */
  test_ctx = "exact";
  cxp_cases *cs = make_default();
  cxp_event e = failure("k1", "c1", T0, "operational", 2, "customer", "app", "basic");
  CHECK_INT(add(cs, &e), CXP_CASE_OPENED);
  CHECK_INT(K.o[0].priority, 2);
  CHECK_INT(K.o[0].deadline[DA], T0 + H_MS);
  CHECK_INT(K.o[0].deadline[DR], T0 + 24 * H_MS);
  CHECK_INT(K.o[0].deadline[DF], 0); /* not resolved yet */
  at(cs, T0 + H_MS - 1, 0);
  CHECK_INT(K.nb, 0);
  at(cs, T0 + H_MS, 0);
  CHECK_INT(K.nb, 1);
  CHECK_INT(K.b[0].level, 1);
  CHECK_INT(K.b[0].deadline, DA);
  CHECK_INT(K.b[0].due, T0 + H_MS);
  CHECK_INT(K.b[0].deadline_ms, T0 + H_MS);
  CHECK_INT(K.b[0].priority, 2); /* level 1: the case's own P2 */
  at(cs, T0 + 2 * H_MS - 1, 0);
  CHECK_INT(K.nb, 1);
  at(cs, T0 + 2 * H_MS, 0);
  CHECK_INT(K.nb, 2);
  CHECK_INT(K.b[1].level, 2);
  CHECK_INT(K.b[1].priority, 1); /* P2 lifted once */
  at(cs, T0 + 4 * H_MS - 1, 0);
  CHECK_INT(K.nb, 2);
  cxp_case_customer cu;
  cxp_cases_customer(cs, "c1", 2, &cu);
  CHECK_INT(cu.open, 1);
  CHECK_INT(cu.overdue, 1); /* breached, still not acknowledged */
  at(cs, T0 + 4 * H_MS, 0);
  CHECK_INT(K.nb, 3);
  CHECK_INT(K.b[2].level, 3);
  CHECK_INT(K.b[2].due, T0 + 4 * H_MS);
  CHECK_INT(K.b[2].priority, 1);
  /* A late acknowledgement ends the overdue state but not the breaches. */
  e = stepev(A, "k1", T0 + 5 * H_MS);
  CHECK_INT(add(cs, &e), CXP_CASE_STEP);
  cxp_cases_customer(cs, "c1", 2, &cu);
  CHECK_INT(cu.overdue, 0);
  cxp_cases_destroy(cs);

  /* Acknowledged in time: no acknowledge breach, ever. */
  test_ctx = "acknowledged";
  cs = make_default();
  e = failure("k1", "c1", T0, "operational", 2, "customer", "app", "basic");
  add(cs, &e);
  e = stepev(A, "k1", T0 + 10 * M_MS);
  add(cs, &e);
  at(cs, T0 + 23 * H_MS, 0); /* past 4 x 1 h, before the resolve deadline */
  CHECK_INT(K.nb, 0);
  cxp_cases_destroy(cs);

  /* Acknowledged exactly at the deadline: in time. */
  test_ctx = "acknowledged at the deadline";
  cs = make_default();
  e = failure("k1", "c1", T0, "operational", 2, "customer", "app", "basic");
  add(cs, &e);
  e = stepev(A, "k1", T0 + H_MS);
  add(cs, &e);
  at(cs, T0 + 5 * H_MS, 0);
  CHECK_INT(K.nb, 0);
  cxp_cases_destroy(cs);

  /* Premium x 0.5: gold, severity 2: acknowledge 30 min, resolve 12 h;
   * priority P2 lifted to P1. */
  test_ctx = "premium";
  cs = make_default();
  e = failure("k1", "c1", T0, "operational", 2, "customer", "app", "gold");
  add(cs, &e);
  CHECK_INT(K.o[0].priority, 1);
  CHECK_INT(K.o[0].deadline[DA], T0 + 30 * M_MS);
  CHECK_INT(K.o[0].deadline[DR], T0 + 12 * H_MS);
  at(cs, T0 + 30 * M_MS - 1, 0);
  CHECK_INT(K.nb, 0);
  at(cs, T0 + 30 * M_MS, 0);
  CHECK_INT(K.nb, 1);
  /* Levels 2 and 3 at 60 and 120 min, passed by one move of the clock:
   * one breach, level 3. */
  at(cs, T0 + 120 * M_MS, 0);
  CHECK_INT(K.nb, 2);
  CHECK_INT(K.b[1].level, 3);
  CHECK_INT(K.b[1].due, T0 + 120 * M_MS);
  /* Resolved at 11 h, followed up at 11 h + 36 h (premium: 72 h x 0.5). */
  e = stepev(R, "k1", T0 + 11 * H_MS);
  add(cs, &e);
  CHECK_EQ(cxp_cases_get(cs, "k1", 2, &(cxp_case_info){0}), 0);
  cxp_case_info inf;
  cxp_cases_get(cs, "k1", 2, &inf);
  CHECK_INT(inf.deadline[DF], T0 + 47 * H_MS);
  e = stepev(F, "k1", T0 + 47 * H_MS);
  add(cs, &e);
  at(cs, T0 + 48 * H_MS, 0);
  CHECK_INT(K.nout, 1);
  CHECK_INT(K.out[0].well, 0); /* acknowledgement missed */
  CHECK_INT(K.out[0].missed, 1u << DA);
  CHECK_INT(K.out[0].max_level, 3);
  cxp_cases_destroy(cs);

  /* A quiet partition: no more events, the wall clock moves on. The event
   * arrived at wall W; ticks move the clock to T0 + (now - W). */
  test_ctx = "quiet tick";
  const int64_t W = T0 + 5 * S_MS; /* arrival: 5 s after its event time */
  cs = make_default();
  e = failure("k1", "c1", T0, "operational", 2, "customer", "app", "basic");
  cxp_cases_add(cs, &e, W, NULL);
  /* The earliest due is T0 + 1 h; the tick reaches it at W + 1 h. */
  CHECK_INT(cxp_cases_next_wall(cs), W + H_MS);
  CHECK_INT(cxp_cases_tick(cs, W + H_MS - 1, NULL), 0);
  CHECK_INT(K.nb, 0);
  CHECK_INT(cxp_cases_clock(cs), T0 + H_MS - 1);
  CHECK_INT(cxp_cases_tick(cs, W + H_MS, NULL), 1);
  CHECK_INT(K.nb, 1);
  CHECK_INT(K.b[0].due, T0 + H_MS);
  /* Not a tick before the arrival, nor a tick going back. */
  CHECK_INT(cxp_cases_tick(cs, W - 1, NULL), 0);
  CHECK_INT(cxp_cases_clock(cs), T0 + H_MS);
  cxp_cases_destroy(cs);

  /* A backlog of a month ago, consumed fast: arrivals 5 ms apart, event
   * times 50 min apart. The clock follows event time, so a tick 10 ms later
   * is at T0 + 50 min + 10 ms - 5 ms: no breach (jumping to now would fire
   * every deadline at once). */
  test_ctx = "backlog";
  const int64_t NOW = T0 + 30 * D_MS;
  cs = make_default();
  e = failure("k1", "c1", T0, "operational", 2, "customer", "app", "basic");
  cxp_cases_add(cs, &e, NOW, NULL);
  at(cs, T0 + 50 * M_MS, NOW + 5);
  CHECK_INT(cxp_cases_tick(cs, NOW + 10, NULL), 0);
  CHECK_INT(K.nb, 0);
  CHECK_INT(cxp_cases_clock(cs), T0 + 50 * M_MS + 5);
  /* 10 min of wall time after the last arrival: the clock reaches 1 h. */
  CHECK_INT(cxp_cases_tick(cs, NOW + 5 + 10 * M_MS, NULL), 1);
  CHECK_INT(K.nb, 1);
  cxp_cases_destroy(cs);

  /* Replay (no wall time): ticks do nothing. */
  test_ctx = "replay tick";
  cs = make_default();
  e = failure("k1", "c1", T0, "operational", 2, "customer", "app", "basic");
  add(cs, &e);
  CHECK_INT(cxp_cases_tick(cs, T0 + 100 * D_MS, NULL), 0);
  CHECK_INT(cxp_cases_next_wall(cs), 0);
  cxp_cases_destroy(cs);

  /* Breaches of several cases come out in due order, whatever the order
   * the cases opened in: k2 (severity 1: 15 min) opened after k1 (severity
   * 2: 1 h) but its deadline comes first; k3 (severity 4: 24 h). */
  test_ctx = "due order";
  cs = three_cases();
  /* Due: k2 L1 at 16 min, k2 L2 at 31 min, k1 L1 at 60 min, k2 L3 at 61
   * min, k1 L2 at 120 min. The clock moving a minute at a time, each comes
   * out alone, in that order. */
  const char *ids[5] = {"k2", "k2", "k1", "k2", "k1"};
  const int64_t dues[5] = {16, 31, 60, 61, 120};
  for (int64_t t = 3; t <= 120; t++) at(cs, T0 + t * M_MS, 0);
  CHECK_INT(K.nb, 5);
  for (int i = 0; i < 5 && i < K.nb; i++) {
    CHECK_STR(K.b[i].case_id, ids[i]);
    CHECK_INT(K.b[i].due, T0 + dues[i] * M_MS);
    CHECK_INT(K.b[i].level, i < 2 ? i + 1 : i == 2 ? 1 : i == 3 ? 3 : 2);
  }
  cxp_cases_destroy(cs);
  /* The same cases, the clock jumping to 2 h at once: each case's levels
   * passed by then group into one breach, of its highest level, in the
   * order of each case's earliest due: k2 (16 min) level 3 (due 61 min),
   * then k1 (60 min) level 2 (due 120 min). */
  test_ctx = "due order, one jump";
  cs = three_cases();
  at(cs, T0 + 2 * H_MS, 0);
  CHECK_INT(K.nb, 2);
  if (K.nb == 2) {
    CHECK_STR(K.b[0].case_id, "k2");
    CHECK_INT(K.b[0].level, 3);
    CHECK_INT(K.b[0].due, T0 + 61 * M_MS);
    CHECK_STR(K.b[1].case_id, "k1");
    CHECK_INT(K.b[1].level, 2);
    CHECK_INT(K.b[1].due, T0 + 120 * M_MS);
  }
  cxp_cases_destroy(cs);
  test_ctx = NULL;
}

/* ---- solution library ------------------------------------------------------ */

static cxp_solutions *lib_of(const char *json, char *err, size_t errlen) {
  cJSON *j = cJSON_Parse(json);
  CHECK(j != NULL);
  cxp_solutions *s = cxp_solutions_from_json(j, err, errlen);
  cJSON_Delete(j);
  return s;
}

static void test_solutions(void) {
  test_ctx = "solutions";
  char err[256] = "";
  cxp_solutions *lib = lib_of(
      "[{\"category\":\"operational\",\"severity\":2,\"segment\":\"gold\","
      "\"actions\":[\"call_back\",\"refund\"],\"compensation\":\"band_b\",\"role\":\"team_lead\"},"
      "{\"category\":\"operational\",\"severity\":2,\"actions\":[\"call_back\"],"
      "\"role\":\"agent_l2\"},"
      "{\"category\":\"operational\",\"actions\":[\"apologize\"],\"compensation\":\"band_a\","
      "\"role\":\"agent_l1\"},"
      "{\"actions\":[\"acknowledge\"],\"role\":\"frontline_agent\"}]",
      err, sizeof err);
  CHECK(lib != NULL);
  CHECK_INT(cxp_solutions_count(lib), 4);
  int fb = -9;
  const cxp_solution *s = cxp_solutions_lookup(lib, CXP_CAT_OPERATIONAL, 2, "gold", 4, &fb);
  CHECK_INT(fb, 0);
  CHECK_STR(s->role, "team_lead");
  CHECK_STR(s->compensation, "band_b");
  CHECK_STR(s->actions, "[\"call_back\",\"refund\"]");
  s = cxp_solutions_lookup(lib, CXP_CAT_OPERATIONAL, 2, "silver", 6, &fb);
  CHECK_INT(fb, 1);
  CHECK_STR(s->role, "agent_l2");
  CHECK_STR(s->compensation, "none"); /* the default band */
  s = cxp_solutions_lookup(lib, CXP_CAT_OPERATIONAL, 2, NULL, 0, &fb);
  CHECK_INT(fb, 1);
  s = cxp_solutions_lookup(lib, CXP_CAT_OPERATIONAL, 3, "gold", 4, &fb);
  CHECK_INT(fb, 2);
  CHECK_STR(s->role, "agent_l1");
  s = cxp_solutions_lookup(lib, CXP_CAT_DESIGN, 1, "gold", 4, &fb);
  CHECK_INT(fb, 3);
  CHECK_STR(s->role, "frontline_agent");
  CHECK_STR(s->actions, "[\"acknowledge\"]");

  /* The opening alert carries the entry: gold, operational, severity 2. */
  cxp_cases_conf c;
  cxp_cases_conf_defaults(&c);
  c.solutions = lib;
  cxp_cases *cs = make(&c);
  cxp_event e = failure("k1", "c1", T0, "operational", 2, "customer", "app", "gold");
  add(cs, &e);
  CHECK_STR(K.o[0].role, "team_lead");
  CHECK_STR(K.o[0].compensation, "band_b");
  CHECK_INT(K.o[0].fallback, 0);
  e = failure("k2", "c2", T0, "promise", 4, "customer", "app", "gold");
  add(cs, &e);
  CHECK_STR(K.o[1].role, "frontline_agent");
  CHECK_INT(K.o[1].fallback, 3);
  cxp_cases_destroy(cs);
  cxp_solutions_destroy(lib);

  /* The built-in library: the default entry alone. */
  lib = cxp_solutions_create_default();
  s = cxp_solutions_lookup(lib, CXP_CAT_DESIGN, 1, NULL, 0, &fb);
  CHECK_INT(fb, 3);
  CHECK_STR(s->role, "frontline_agent");
  cxp_solutions_destroy(lib);

  /* Bad libraries, each with the sentence naming entry and member. */
  static const struct {
    const char *json, *msg;
  } bad[] = {
      {"{}", "recovery.solutions: expected an array"},
      {"[{\"category\":\"operational\",\"actions\":[\"a\"],\"role\":\"r\"}]",
       "recovery.solutions: no default entry"},
      {"[{\"category\":\"operational\",\"severity\":5,\"actions\":[\"a\"],\"role\":\"r\"}]",
       "recovery.solutions[0]: 'severity' must be an integer 1..4"},
      {"[{\"actions\":[\"a\"],\"role\":\"r\"},{\"category\":\"operational\",\"segment\":\"gold\","
       "\"actions\":[\"a\"],\"role\":\"r\"}]",
       "recovery.solutions[1]: a 'segment' needs a 'severity'"},
      {"[{\"severity\":2,\"actions\":[\"a\"],\"role\":\"r\"}]",
       "recovery.solutions[0]: a 'severity' needs a 'category'"},
      {"[{\"actions\":[\"a\"],\"role\":\"r\"},{\"actions\":[\"b\"],\"role\":\"s\"}]",
       "recovery.solutions[1]: same category, severity and segment as recovery.solutions[0]"},
      {"[{\"actions\":[\"a\"],\"role\":\"r\",\"colour\":\"red\"}]",
       "recovery.solutions[0]: unknown member 'colour'"},
      {"[{\"actions\":[\"a\"]}]", "recovery.solutions[0]: 'role' is missing"},
      {"[{\"actions\":[],\"role\":\"r\"}]", "recovery.solutions[0]: 'actions' must be an array"},
      {"[{\"actions\":[\"a\",3],\"role\":\"r\"}]", "recovery.solutions[0]: 'actions' must hold"},
      {"[{\"category\":\"weather\",\"actions\":[\"a\"],\"role\":\"r\"}]",
       "recovery.solutions[0]: 'category' must be one of"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    err[0] = '\0';
    CHECK(lib_of(bad[i].json, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, bad[i].msg);
  }
  test_ctx = NULL;
}

/* ---- repeats, detractors, systemic failures ------------------------------- */

static void test_repeat(void) {
  test_ctx = "repeat";
  cxp_cases *cs = make_default();
  cxp_event e = failure("k1", "c1", T0, "operational", 3, "customer", NULL, "basic");
  add(cs, &e);
  CHECK_INT(K.o[0].severity, 3);
  CHECK_INT(K.o[0].repeat, 0);
  /* 10 days later, same category: minor (3) becomes major (2), with the
   * major deadlines (acknowledge 1 h) and priority. */
  e = failure("k2", "c1", T0 + 10 * D_MS, "operational", 3, "customer", NULL, "basic");
  add(cs, &e);
  CHECK_INT(K.o[1].repeat, 1);
  CHECK_INT(K.o[1].severity, 2);
  CHECK_INT(K.o[1].base_severity, 3);
  CHECK_INT(K.o[1].priority, 2);
  CHECK_INT(K.o[1].deadline[DA], T0 + 10 * D_MS + H_MS);
  /* Another category: no repeat. */
  e = failure("k3", "c1", T0 + 10 * D_MS, "design", 3, "customer", NULL, "basic");
  add(cs, &e);
  CHECK_INT(K.o[2].repeat, 0);
  CHECK_INT(K.o[2].severity, 3);
  /* Another customer: no repeat. */
  e = failure("k4", "c2", T0 + 10 * D_MS, "operational", 3, "customer", NULL, "basic");
  add(cs, &e);
  CHECK_INT(K.o[3].repeat, 0);
  /* 30 days after the last operational failure (10 d): still a repeat
   * (within 30 days inclusive); a complaint counts as much. Critical stays
   * critical. */
  e = complaint("k5", "c1", T0 + 40 * D_MS, "operational", 1, NULL);
  add(cs, &e);
  CHECK_INT(K.o[4].repeat, 1);
  CHECK_INT(K.o[4].severity, 1);
  /* 30 days and 1 ms after the last one (40 d): not a repeat. */
  e = failure("k6", "c1", T0 + 70 * D_MS + 1, "operational", 4, "customer", NULL, "basic");
  add(cs, &e);
  CHECK_INT(K.o[5].repeat, 0);
  CHECK_INT(K.o[5].severity, 4);
  cxp_cases_stats st = cxp_cases_stats_get(cs);
  CHECK_INT(st.repeats, 2);
  cxp_cases_destroy(cs);

  /* Detractors: a case with the closed loop's id, major for 0-3, minor for
   * 4-6; no case for 7. */
  test_ctx = "detractor";
  cs = make_default();
  cxp_event n = base_ev(CXP_EV_NPS, T0, "c9");
  n.event_id = str_of("nps-1");
  n.score = 5;
  CHECK_INT(add(cs, &n), CXP_CASE_OPENED);
  char id[20];
  cxp_cases_detractor_id(id, "default", str_of("c9"), str_of("nps-1"));
  CHECK_INT(strlen(id), 19);
  CHECK_PREFIX(id, "cl-");
  /* The closed loop's scheme: the first 16 hex digits of the id of
   * (pipeline, customer, event). */
  cxp_idbuf h;
  const char *f[3] = {"default", "c9", "nps-1"};
  size_t l[3] = {7, 2, 5};
  cxp_make_id(&h, f, l, 3);
  CHECK_MEM(id + 3, 16, h.hex, 16);
  CHECK_STR(K.o[0].case_id, id);
  CHECK_INT(K.o[0].kind, CXP_CASE_DETRACTOR);
  CHECK_INT(K.o[0].severity, 3);
  CHECK_INT(K.o[0].category, CXP_CAT_OTHER);
  n = base_ev(CXP_EV_NPS, T0, "c9");
  n.score = 2;
  CHECK_INT(add(cs, &n), CXP_CASE_OPENED);
  CHECK_INT(K.o[1].severity, 2);
  n.score = 7;
  n.event_id = str_of("nps-3");
  CHECK_INT(add(cs, &n), CXP_CASE_NONE);
  CHECK_INT(K.no, 2);
  /* The same response again is the same case. */
  n = base_ev(CXP_EV_NPS, T0, "c9");
  n.event_id = str_of("nps-1");
  n.score = 5;
  CHECK_INT(add(cs, &n), CXP_CASE_MERGED);
  cxp_cases_destroy(cs);
  test_ctx = NULL;
}

static void test_systemic(void) {
  test_ctx = "systemic";
  cxp_cases *cs = make_default();
  char cid[16], kid[16];
  /* Nine customers failing at checkout in [T0, T0 + 15 min): nothing. */
  for (int i = 0; i < 9; i++) {
    snprintf(cid, sizeof cid, "c%d", i);
    snprintf(kid, sizeof kid, "k%d", i);
    cxp_event e = failure(kid, cid, T0 + i * M_MS, "operational", 3, "provider", "checkout",
                          "basic");
    add(cs, &e);
  }
  CHECK_INT(K.nsy, 0);
  /* The same customer again, a failure without touchpoint, another
   * category, another touchpoint: still nothing. */
  cxp_event e = failure("k-again", "c0", T0 + 10 * M_MS, "operational", 3, "provider",
                        "checkout", "basic");
  add(cs, &e);
  e = failure("k-notp", "c100", T0 + 10 * M_MS, "operational", 3, "provider", NULL, "basic");
  add(cs, &e);
  e = failure("k-cat", "c101", T0 + 10 * M_MS, "design", 3, "provider", "checkout", "basic");
  add(cs, &e);
  e = failure("k-tp", "c102", T0 + 10 * M_MS, "operational", 3, "provider", "login", "basic");
  add(cs, &e);
  CHECK_INT(K.nsy, 0);
  /* The tenth distinct customer (a complaint counts): one signal. */
  e = complaint("k9", "c9", T0 + 14 * M_MS, "operational", 3, "checkout");
  add(cs, &e);
  CHECK_INT(K.nsy, 1);
  CHECK_INT(K.sy[0].category, CXP_CAT_OPERATIONAL);
  CHECK_STR(K.sy[0].touchpoint, "checkout");
  CHECK_INT(K.sy[0].customers, 10);
  CHECK_INT(K.sy[0].start, T0);
  CHECK_INT(K.sy[0].end, T0 + 15 * M_MS);
  /* The eleventh: no second signal for that window. */
  e = failure("k10", "c10", T0 + 14 * M_MS + 59 * S_MS, "operational", 3, "provider",
              "checkout", "basic");
  add(cs, &e);
  CHECK_INT(K.nsy, 1);
  /* The next window starts counting afresh: ten more, one more signal. */
  for (int i = 0; i < 10; i++) {
    snprintf(cid, sizeof cid, "d%d", i);
    snprintf(kid, sizeof kid, "j%d", i);
    e = failure(kid, cid, T0 + 15 * M_MS + i * S_MS, "operational", 3, "provider", "checkout",
                "basic");
    add(cs, &e);
  }
  CHECK_INT(K.nsy, 2);
  CHECK_INT(K.sy[1].start, T0 + 15 * M_MS);
  cxp_cases_stats st = cxp_cases_stats_get(cs);
  CHECK_INT(st.systemic, 2);
  cxp_cases_destroy(cs);
  test_ctx = NULL;
}

/* ---- outcomes: pre-emption and cohorts ---------------------------------------- */

static const rec_outcome *outcome_of(const char *k) {
  for (int i = 0; i < K.nout; i++)
    if (strcmp(K.out[i].case_id, k) == 0) return &K.out[i];
  return NULL;
}

static void test_outcomes(void) {
  test_ctx = "outcomes";
  cxp_cases *cs = make_default();
  /* p: the provider saw it at T0, the customer complained at 10 min:
   * pre-empted. */
  cxp_event e = failure("p", "c1", T0, "operational", 2, "provider", "app", "basic");
  CHECK_INT(add(cs, &e), CXP_CASE_OPENED);
  /* q: the complaint (T0) came first, the provider's report 5 min later:
   * not pre-empted, though the provider's event arrived first. */
  e = failure("q", "c2", T0 + 5 * M_MS, "operational", 2, "provider", "app", "basic");
  add(cs, &e);
  e = complaint("q", "c2", T0, "operational", 2, "app");
  CHECK_INT(add(cs, &e), CXP_CASE_MERGED);
  /* r: found by the customer, never acknowledged. */
  e = failure("r", "c3", T0, "operational", 2, "customer", "app", "basic");
  add(cs, &e);
  e = complaint("p", "c1", T0 + 10 * M_MS, "operational", 2, "app");
  CHECK_INT(add(cs, &e), CXP_CASE_MERGED);
  /* The steps in time order: p and q acknowledged at 10 min; all three
   * resolved at 2 h (p with 20 of compensation and its root cause fixed),
   * followed up at 3 h. */
  const char *pq[2] = {"p", "q"}, *pqr[3] = {"p", "q", "r"};
  for (int i = 0; i < 2; i++) {
    e = stepev(A, pq[i], T0 + 10 * M_MS);
    add(cs, &e);
  }
  for (int i = 0; i < 3; i++) {
    e = stepev(R, pqr[i], T0 + 2 * H_MS);
    e.root_cause_fixed = i == 0;
    add(cs, &e);
  }
  e = stepev(C, "p", T0 + 2 * H_MS);
  e.amount = 20;
  add(cs, &e);
  for (int i = 0; i < 3; i++) {
    e = stepev(F, pqr[i], T0 + 3 * H_MS);
    add(cs, &e);
  }
  /* s: still open. */
  e = failure("s", "c4", T0 + 3 * H_MS, "operational", 4, "customer", "app", "basic");
  add(cs, &e);
  at(cs, T0 + 4 * H_MS, 0);
  /* Only r breached: acknowledge levels 1 (1 h) and 2 (2 h), both passed
   * when the resolutions at 2 h moved the clock: one breach, level 2. */
  CHECK_INT(K.nb, 1);
  CHECK_STR(K.b[0].case_id, "r");
  CHECK_INT(K.b[0].level, 2);

  CHECK_INT(K.nout, 3);
  const rec_outcome *o = outcome_of("p");
  CHECK(o != NULL);
  if (o) {
    CHECK_INT(o->preempted, 1);
    CHECK_INT(o->well, 1);
    CHECK_INT(o->tta, 10 * M_MS);
    CHECK_INT(o->ttr, 2 * H_MS);
    CHECK_INT(o->root_fixed, 1);
    CHECK_NEAR(o->compensation, 20, 0);
    CHECK_INT(o->max_level, 0);
    CHECK_INT(o->closed_at, T0 + 3 * H_MS + 5 * M_MS);
  }
  /* q opened at T0 (its complaint, the earliest opening event): tta from
   * T0 is 10 min. */
  o = outcome_of("q");
  CHECK(o != NULL);
  if (o) {
    CHECK_INT(o->preempted, 0);
    CHECK_INT(o->well, 1);
    CHECK_INT(o->tta, 10 * M_MS);
  }
  o = outcome_of("r");
  CHECK(o != NULL);
  if (o) {
    CHECK_INT(o->preempted, 0);
    CHECK_INT(o->well, 0);
    CHECK_INT(o->cohort, CXP_COHORT_POORLY);
  }
  /* Pre-emption ratio over the three closed cases: 1 / 3. */
  int pre = 0;
  for (int i = 0; i < K.nout; i++) pre += K.out[i].preempted;
  CHECK_INT(pre, 1);

  /* Cohorts: c1 and c2 recovered well, c3 poorly, c4 pending, c5 never. */
  cxp_case_customer cu;
  cxp_cases_customer(cs, "c1", 2, &cu);
  CHECK_INT(cu.cohort, CXP_COHORT_WELL);
  CHECK_INT(cu.open, 0);
  cxp_cases_customer(cs, "c3", 2, &cu);
  CHECK_INT(cu.cohort, CXP_COHORT_POORLY);
  cxp_cases_customer(cs, "c4", 2, &cu);
  CHECK_INT(cu.cohort, CXP_COHORT_PENDING);
  CHECK_INT(cu.open, 1);
  cxp_cases_customer(cs, "c5", 2, &cu);
  CHECK_INT(cu.cohort, CXP_COHORT_NEVER_FAILED);
  CHECK_INT(cu.open, 0);

  cxp_cases_stats st = cxp_cases_stats_get(cs);
  CHECK_INT(st.opened, 4);
  CHECK_INT(st.merged, 2);
  CHECK_INT(st.closed, 3);
  CHECK_INT(st.well, 2);
  CHECK_INT(st.poorly, 1);
  CHECK_INT(st.open, 1);
  cxp_cases_destroy(cs);
  test_ctx = NULL;
}

/* Ids too long for the slot's inline bytes (72) live in a block of their
 * own; ids over the decoder's 128 bytes are refused. A second opening event
 * with a higher severity raises the case's. */
static void test_ids_and_merge(void) {
  test_ctx = "ids";
  cxp_cases *cs = make_default();
  char kid[101], cid[101], big[130];
  memset(kid, 'k', 100);
  kid[100] = '\0';
  memset(cid, 'c', 100);
  cid[100] = '\0';
  memset(big, 'b', 129);
  big[129] = '\0';
  cxp_event e = failure(kid, cid, T0, "promise", 3, "customer", "web", "basic");
  CHECK_INT(add(cs, &e), CXP_CASE_OPENED);
  CHECK_STR(K.o[0].case_id, kid);
  CHECK_STR(K.o[0].customer_id, cid);
  cxp_case_info inf;
  CHECK_INT(cxp_cases_get(cs, kid, 100, &inf), 0);
  CHECK_MEM(inf.touchpoint.p, inf.touchpoint.n, "web", 3);
  CHECK_MEM(inf.segment.p, inf.segment.n, "basic", 5);
  e = failure(big, cid, T0, "promise", 3, "customer", "web", "basic");
  CHECK_INT(add(cs, &e), CXP_CASE_BAD_ID);
  e = stepev(A, big, T0);
  CHECK_INT(add(cs, &e), CXP_CASE_BAD_ID);

  /* Severity 3, then a complaint on the same case saying 1: critical,
   * with the critical deadlines (acknowledge 15 min from T0). */
  test_ctx = "merge";
  e = complaint(kid, cid, T0 + M_MS, "promise", 1, "web");
  CHECK_INT(add(cs, &e), CXP_CASE_MERGED);
  CHECK_INT(cxp_cases_get(cs, kid, 100, &inf), 0);
  CHECK_INT(inf.severity, 1);
  CHECK_INT(inf.priority, 1);
  CHECK_INT(inf.deadline[DA], T0 + 15 * M_MS);
  CHECK_INT(inf.opened_at, T0);
  at(cs, T0 + 15 * M_MS, 0);
  CHECK_INT(K.nb, 1);
  cxp_cases_stats st = cxp_cases_stats_get(cs);
  CHECK_INT(st.opened, 1);
  CHECK_INT(st.merged, 1);
  /* Closing frees its id block (ASan checks): resolved at 1 h, followed up
   * at 2 h, closed at 2 h 05. */
  e = stepev(R, kid, T0 + H_MS);
  add(cs, &e);
  e = stepev(F, kid, T0 + 2 * H_MS);
  add(cs, &e);
  at(cs, T0 + 3 * H_MS, 0);
  CHECK_INT(K.nout, 1);
  CHECK_STR(K.out[0].case_id, kid);
  CHECK_INT(K.out[0].closed_at, T0 + 2 * H_MS + 5 * M_MS);
  CHECK_INT(K.out[0].missed, 1u << DA);
  e = failure(kid, cid, T0, "promise", 3, "customer", "web", "basic");
  CHECK_INT(add(cs, &e), CXP_CASE_LATE); /* not reopened */
  e = failure("short", cid, T0 + 3 * H_MS, "promise", 3, "customer", "web", "basic");
  CHECK_INT(add(cs, &e), CXP_CASE_OPENED);
  cxp_cases_destroy(cs); /* frees the open cases' memory (ASan checks) */
  test_ctx = NULL;
}

/* ---- bounds and memory ------------------------------------------------------- */

static void test_cap(void) {
  test_ctx = "cap";
  cxp_cases_conf c;
  cxp_cases_conf_defaults(&c);
  c.max_open = 3;
  cxp_cases *cs = make(&c);
  const char *ks[4] = {"a", "b", "c", "d"};
  for (int i = 0; i < 4; i++) {
    cxp_event e = failure(ks[i], ks[i], T0 + i * M_MS, "operational", 3, "customer", NULL,
                          "basic");
    CHECK_INT(add(cs, &e), CXP_CASE_OPENED);
  }
  /* The fourth opening evicted the case opened first. */
  CHECK_INT(K.nout, 1);
  CHECK_STR(K.out[0].case_id, "a");
  CHECK_INT(K.out[0].end, CXP_CASE_END_EVICTED);
  CHECK_INT(K.out[0].well, 0);
  CHECK_INT(K.out[0].cohort, CXP_COHORT_PENDING); /* an eviction says nothing */
  CHECK_INT(K.out[0].closed_at, T0 + 3 * M_MS);    /* d's time, which evicted it */
  cxp_cases_stats st = cxp_cases_stats_get(cs);
  CHECK_INT(st.open, 3);
  CHECK_INT(st.evicted, 1);
  /* A step for it now is late, not parked. */
  cxp_event e = stepev(A, "a", T0 + 5 * M_MS);
  CHECK_INT(add(cs, &e), CXP_CASE_LATE);
  e = stepev(A, "b", T0 + 5 * M_MS);
  CHECK_INT(add(cs, &e), CXP_CASE_STEP);
  cxp_case_info inf;
  CHECK_INT(cxp_cases_get(cs, "a", 1, &inf), -1);
  CHECK_INT(cxp_cases_get(cs, "b", 1, &inf), 0);
  CHECK_INT(inf.done_at[CXP_STEP_ACKNOWLEDGED], T0 + 5 * M_MS);
  cxp_cases_destroy(cs);

  /* Parking is bounded too. */
  test_ctx = "park cap";
  cxp_cases_conf_defaults(&c);
  c.max_parked = 2;
  cs = make(&c);
  e = stepev(A, "x", T0);
  CHECK_INT(add(cs, &e), CXP_CASE_PARKED);
  e = stepev(R, "x", T0);
  CHECK_INT(add(cs, &e), CXP_CASE_PARKED);
  e = stepev(A, "y", T0);
  CHECK_INT(add(cs, &e), CXP_CASE_PARK_FULL);
  st = cxp_cases_stats_get(cs);
  CHECK_INT(st.parked_now, 2);
  CHECK_INT(st.park_full, 1);
  /* Missing ids are refused. */
  e = stepev(A, NULL, T0);
  CHECK_INT(add(cs, &e), CXP_CASE_BAD_ID);
  cxp_cases_destroy(cs);
  test_ctx = NULL;
}

static void test_counters(void) {
  test_ctx = "counters";
  cxp_cases *cs = make_default();
  size_t b0 = cxp_cases_bytes(cs);
  CHECK_GT(b0, 0);
  /* 192-byte slot + 2 x 8 index + 16 heap entry = 224: under the issue's
   * goal of 256 bytes a case. */
  CHECK_LE(cxp_cases_bytes_per_case(cs), 256);
  cxp_event e = failure("k1", "c1", T0, "operational", 2, "customer", "app", "basic");
  add(cs, &e);
  cxp_cases_stats st = cxp_cases_stats_get(cs);
  CHECK_INT(st.open, 1);
  CHECK_INT(st.open_deadlines, 2); /* acknowledge, resolve */
  CHECK_GT(cxp_cases_bytes(cs), b0); /* the first chunk of slots */
  e = stepev(A, "k1", T0 + M_MS);
  add(cs, &e);
  st = cxp_cases_stats_get(cs);
  CHECK_INT(st.open_deadlines, 1); /* resolve */
  e = stepev(R, "k1", T0 + 2 * M_MS);
  add(cs, &e);
  st = cxp_cases_stats_get(cs);
  CHECK_INT(st.open_deadlines, 1); /* follow-up */
  e = stepev(A, "k2", T0 + 2 * M_MS);
  add(cs, &e);
  st = cxp_cases_stats_get(cs);
  CHECK_INT(st.parked_now, 1);
  CHECK_INT(st.customers, 1);
  e = stepev(F, "k1", T0 + 3 * M_MS);
  add(cs, &e);
  st = cxp_cases_stats_get(cs);
  CHECK_INT(st.open_deadlines, 0); /* all done; waiting to settle */
  at(cs, T0 + 2 * H_MS, 0);        /* settles at 8 min; the park expires at 62 min */
  st = cxp_cases_stats_get(cs);
  CHECK_INT(st.open, 0);
  CHECK_INT(st.parked_now, 0);
  CHECK_INT(st.parked_expired, 1);
  CHECK_INT(st.well, 1);
  cxp_cases_destroy(cs);
  test_ctx = NULL;
}

/* 100 000 cases through a partition capped at 1000 open cases, 1024
 * customers and 4096 remembered closes: one case a second, nine in ten
 * recovered at once (closing 5 min later), one in ten never touched again
 * (evicted at the cap: 100 000 s is 28 h, under its 192 h abandonment).
 * Memory must stop growing once every bound is reached. */
static void test_volume(void) {
  test_ctx = "volume";
  cxp_cases_conf c;
  cxp_cases_conf_defaults(&c);
  c.max_open = 1000;
  c.max_customers = 1024;
  c.max_closed = 4096;
  cxp_cases *cs = make(&c);
  char kid[24], cid[24];
  size_t bytes_mid = 0;
  uint32_t open_peak = 0;
  for (int i = 0; i < 100000; i++) {
    int64_t t = T0 + (int64_t)i * S_MS;
    snprintf(kid, sizeof kid, "case-%d", i);
    snprintf(cid, sizeof cid, "cust-%d", i % 5000);
    cxp_event e = failure(kid, cid, t, "operational", 2, "provider", "app", "basic");
    add(cs, &e);
    if (i % 10 != 0) {
      e = stepev(A, kid, t);
      add(cs, &e);
      e = stepev(R, kid, t);
      add(cs, &e);
      e = stepev(F, kid, t);
      add(cs, &e);
    }
    cxp_cases_stats st = cxp_cases_stats_get(cs);
    if (st.open > open_peak) open_peak = st.open;
    if (i == 50000) bytes_mid = cxp_cases_bytes(cs);
  }
  cxp_cases_stats st = cxp_cases_stats_get(cs);
  CHECK_LE(open_peak, 1000);
  CHECK_INT(st.open_max, open_peak);
  CHECK_LE(st.customers, 1024);
  CHECK_INT(st.opened, 100000);
  /* The timer wheel's slot vectors come and go as the clock turns, so the
   * bytes held wander a little; they do not grow with the cases opened: at
   * the end within 10% of half way (hand check: 581628 half way, 605116 at
   * the end in this run). */
  CHECK_LE(cxp_cases_bytes(cs), bytes_mid + bytes_mid / 10);
  /* Every case opened is open or closed. */
  CHECK_INT(st.open + st.closed, 100000);
  CHECK_GT(st.evicted, 0);
  CHECK_INT(K.opened, 100000);
  CHECK_INT(K.outcomes, (long long)st.closed);
  fprintf(stderr, "volume: %zu bytes held after 100000 cases (%u open, %llu evicted)\n",
          cxp_cases_bytes(cs), st.open, (unsigned long long)st.evicted);
  cxp_cases_destroy(cs);
  test_ctx = NULL;
}

/* ---- the cases in the core's event path ----------------------------------- */

static const char *JS(cJSON *j, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
  return cJSON_IsString(v) ? v->valuestring : "(none)";
}

/* 07:00 a severity-2 operational failure for gold (premium) c1, detected by
 * the provider. */
static const char f1[] =
    "{\"event_id\":\"f1\",\"type\":\"service.failure\",\"customer_id\":\"c1\","
    "\"ts\":\"2026-11-23T07:00:00Z\",\"case_id\":\"k1\",\"category\":\"operational\","
    "\"severity\":2,\"detected_by\":\"provider\",\"segment\":\"gold\"}";

/* A core with recovery (no windows, drops or gaps) and an empty sink. */
static void recovery_core(cxp_core *core, cxp_pipeline *pl, outs *o) {
  memset(o, 0, sizeof *o);
  cxp_pipeline_defaults(pl);
  pl->win_enabled = pl->drop_enabled = pl->sq_enabled = 0;
  cxp_core_init(core, pl, collect, o);
}

static void test_core_recovery(void) {
  static outs o;
  cxp_pipeline pl;
  cxp_core core;
  recovery_core(&core, &pl, &o);

  /* 07:00 a severity-2 operational failure for gold (premium) c1: acknowledge
   * within 60 min x 0.5 = 30 min; priority P2 lifted to P1 for premium; the
   * default solution entry's actions, compensation and role. */
  CHECK_INT(feed_core(&core, 1, f1), CXP_OK);
  CHECK_INT(o.n, 1);
  cJSON *a = cJSON_Parse(o.val[0]);
  CHECK_STR(JS(a, "type"), "recovery.required");
  CHECK_STR(JS(a, "priority"), "P1");
  CHECK_STR(JS(a, "case_id"), "k1");
  CHECK_STR(JS(a, "deadline"), "2026-11-23T07:30:00.000Z");
  CHECK_STR(JS(a, "role"), "frontline_agent");
  CHECK_STR(JS(a, "compensation"), "none");
  CHECK_STR(JS(a, "event_id"), "f1");
  CHECK_CONTAINS(o.val[0], "\"actions\":[\"acknowledge\",\"apologize\",\"fix_and_resolve\","
                          "\"follow_up\"]");
  cJSON_Delete(a);

  /* 07:01 an acknowledgement for a case never seen: kept, no output. */
  static const char step[] =
      "{\"event_id\":\"s9\",\"type\":\"recovery.acknowledged\",\"customer_id\":\"c9\","
      "\"ts\":\"2026-11-23T07:01:00Z\",\"case_id\":\"k9\"}";
  o.n = 0;
  CHECK_INT(feed_core(&core, 2, step), CXP_OK);
  CHECK_INT(o.n, 0);
  /* 07:05 c3 (consent false) a detractor: no case, no alert. c4 answers 5:
   * a severity-3 case, and the closed-loop alert carries its acknowledge
   * deadline, the closed loop's 48 h (alerts.closed_loop.deadline_h; no
   * segment: x 1): 2026-11-25T07:05. */
  CHECK_INT(feed_core(&core, 3,
                      "{\"event_id\":\"p3\",\"type\":\"profile\",\"customer_id\":"
                      "\"c3\",\"ts\":\"2026-11-23T06:00:00Z\",\"segment\":\"basic\","
                      "\"consent\":false}"),
            CXP_OK);
  CHECK_INT(feed_core(&core, 4,
                      "{\"event_id\":\"n3\",\"type\":\"survey.nps\",\"customer_id\":"
                      "\"c3\",\"ts\":\"2026-11-23T07:05:00Z\",\"score\":2}"),
            CXP_OK);
  CHECK_INT(o.n, 0);
  CHECK_INT(feed_core(&core, 5,
                      "{\"event_id\":\"n4\",\"type\":\"survey.nps\",\"customer_id\":"
                      "\"c4\",\"ts\":\"2026-11-23T07:05:00Z\",\"score\":5}"),
            CXP_OK);
  CHECK_INT(o.n, 1);
  a = cJSON_Parse(o.val[0]);
  CHECK_STR(JS(a, "type"), "recovery.closed_loop");
  CHECK_STR(JS(a, "deadline"), "2026-11-25T07:05:00.000Z");
  cJSON_Delete(a);

  /* 07:31: the clock passes 07:30, k1's acknowledge deadline: level 1, to
   * the team lead, P1 (the case's priority). */
  o.n = 0;
  CHECK_INT(feed_core(&core, 6,
                      "{\"event_id\":\"u1\",\"type\":\"usage\",\"customer_id\":\"c5\","
                      "\"ts\":\"2026-11-23T07:31:00Z\",\"count\":1}"),
            CXP_OK);
  CHECK_INT(o.n, 1);
  a = cJSON_Parse(o.val[0]);
  CHECK_STR(JS(a, "type"), "recovery.sla_breached");
  CHECK_STR(JS(a, "priority"), "P1");
  CHECK_STR(JS(a, "event_ts"), "2026-11-23T07:30:00.000Z");
  CHECK_STR(JS(a, "deadline"), "2026-11-23T07:30:00.000Z");
  CHECK_STR(JS(a, "role"), "team_lead");
  CHECK_CONTAINS(o.val[0], "\"escalation\":{\"level\":1,\"step\":\"acknowledge\","
                           "\"steps\":[{\"step\":\"acknowledge\",\"level\":1}]}");
  CHECK_CONTAINS(o.val[0], "\"event_id\":null");
  cJSON_Delete(a);

  /* 08:02: level 2 (2 x 30 min, at 08:00, to the service manager), and the
   * parked step's hour (07:01 + 60 min = 08:01) is over: dead-lettered
   * with its own bytes and offset. */
  o.n = 0;
  CHECK_INT(feed_core(&core, 7,
                      "{\"event_id\":\"u2\",\"type\":\"usage\",\"customer_id\":\"c5\","
                      "\"ts\":\"2026-11-23T08:02:00Z\",\"count\":1}"),
            CXP_OK);
  CHECK_INT(o.n, 2);
  int saw_l2 = 0, saw_dl = 0;
  for (int i = 0; i < o.n; i++) {
    a = cJSON_Parse(o.val[i]);
    if (o.stream[i] == CXP_STREAM_ALERTS) {
      saw_l2 = strstr(o.val[i], "\"escalation\":{\"level\":2,") != NULL &&
               strcmp(JS(a, "role"), "service_manager") == 0 &&
               strcmp(JS(a, "event_ts"), "2026-11-23T08:00:00.000Z") == 0;
    } else if (o.stream[i] == CXP_STREAM_DEAD_LETTERS) {
      saw_dl = strcmp(JS(a, "reason"), "unknown_case") == 0 &&
               strcmp(JS(a, "payload"), step) == 0 &&
               strstr(o.val[i], "\"offset\":2") != NULL;
    }
    cJSON_Delete(a);
  }
  CHECK(saw_l2);
  CHECK(saw_dl);
  CHECK_INT(core.n.dead[CXP_BAD_UNKNOWN_CASE], 1);
  /* Acknowledged at 08:03: no level 3 at 09:00 (4 x 30 min). */
  o.n = 0;
  CHECK_INT(feed_core(&core, 8,
                      "{\"event_id\":\"a1\",\"type\":\"recovery.acknowledged\","
                      "\"customer_id\":\"c1\",\"ts\":\"2026-11-23T08:03:00Z\","
                      "\"case_id\":\"k1\"}"),
            CXP_OK);
  CHECK_INT(feed_core(&core, 9,
                      "{\"event_id\":\"u3\",\"type\":\"usage\",\"customer_id\":\"c5\","
                      "\"ts\":\"2026-11-23T09:10:00Z\",\"count\":1}"),
            CXP_OK);
  for (int i = 0; i < o.n; i++) CHECK_NOT_CONTAINS(o.val[i], "\"level\":3");
  cxp_cases_stats st;
  cxp_core_cases_stats(&core, &st);
  CHECK_INT(st.opened, 2); /* k1 and c4's detractor case */
  CHECK_INT(st.breaches[0], 1);
  CHECK_INT(st.breaches[1], 1);
  CHECK_INT(st.breaches[2], 0);
  cxp_core_close(&core);
}


/* ---- durable state: the systemic detector's groups ----------------------- */

/* Customer s<i> fails (operational, touchpoint tp1) at 07:<i>, input offset i. */
static void sys_feed(cxp_core *c, int from, int to) {
  for (int i = from; i <= to; i++) {
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"event_id\":\"sf%d\",\"type\":\"service.failure\",\"customer_id\":\"s%d\","
             "\"ts\":\"2026-11-23T07:%02d:00Z\",\"case_id\":\"sk%d\","
             "\"category\":\"operational\",\"severity\":3,\"detected_by\":\"customer\","
             "\"touchpoint\":\"tp1\"}",
             i, i, i, i);
    CHECK_INT(feed_core_part(c, 0, i, buf), CXP_OK);
  }
}

static int sys_alerts(const outs *o, const char **last) {
  int n = 0;
  for (int i = 0; i < o->n; i++)
    if (o->stream[i] == CXP_STREAM_ALERTS && strstr(o->val[i], "\"systemic_failure\"")) {
      n++;
      *last = o->val[i];
    }
  return n;
}

/* Ten customers failing in one category at one touchpoint within a 15-min
 * window raise segment.anomaly (systemic_failure). Six fail at 07:00-07:05;
 * the core flushes (the group's record, then the customers') and dies; a
 * fresh core restores what was flushed and four more fail at 07:06-07:09:
 * the tenth raises the alert, once, naming 10 customers. The group's
 * record, by hand: key "sg:" + category 1 (operational) + ":" + the window
 * start 07:00 (1795417200000) + ":tp1", value 01 (version), 00 (not
 * fired), 06 (customers), then six 8-byte hashes: 51 bytes. Restored
 * without it, the core counts only the four: no alert. */
/* ---- severity from likelihood and impact ---------------------------------- */

/* The value of the alert's reason named factor, or -1 when it has none. */
static double reason_value(cJSON *a, const char *factor) {
  const cJSON *r;
  cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(a, "reasons")) {
    if (strcmp(JS((cJSON *)r, "factor"), factor) == 0)
      return cJSON_GetObjectItemCaseSensitive(r, "value")->valuedouble;
  }
  return -1;
}

/* A service.failure (or a complaint, with kano) for customer `who` at 07:00
 * plus `min` minutes, giving likelihood and impact. */
static const char *rated(char *buf, size_t cap, const char *type, const char *who,
                         const char *category, int min, int likelihood, int impact,
                         const char *extra) {
  snprintf(buf, cap,
           "{\"event_id\":\"%s-%d\",\"type\":\"%s\",\"customer_id\":\"%s\","
           "\"ts\":\"2026-11-23T07:%02d:00Z\",\"case_id\":\"%s-%d\",\"category\":\"%s\","
           "\"likelihood\":%d,\"impact\":%d%s}",
           who, min, type, who, min, who, min, category, likelihood, impact, extra);
  return buf;
}

/* Feeds one event giving likelihood and impact and checks its
 * recovery.required: the severity reason, the pair it came from and the
 * priority (no premium, value or churn lift: priority = severity). */
static void check_rated(cxp_core *core, outs *o, int64_t off, const char *json, int want_sev,
                        int likelihood, int impact) {
  o->n = 0;
  CHECK_INT(feed_core(core, off, json), CXP_OK);
  CHECK_INT(o->n, 1);
  if (o->n < 1) return;
  cJSON *a = cJSON_Parse(o->val[0]);
  char prio[4];
  snprintf(prio, sizeof prio, "P%d", want_sev);
  CHECK_STR(JS(a, "type"), "recovery.required");
  CHECK_STR(JS(a, "priority"), prio);
  CHECK_NEAR(reason_value(a, "severity"), want_sev, 0);
  CHECK_NEAR(reason_value(a, "likelihood"), likelihood, 0);
  CHECK_NEAR(reason_value(a, "impact"), impact, 0);
  cJSON_Delete(a);
}

static void test_core_severity(void) {
  static outs o;
  cxp_pipeline pl;
  cxp_core core;
  char buf[512];
  recovery_core(&core, &pl, &o);
  pl.churn_enabled = 0;
  cxp_core_close(&core);
  cxp_core_init(&core, &pl, collect, &o);

  /* The default matrix: with L = 5 - likelihood and I = 5 - impact (4 the
   * worst), L x I of 12 or more is 1, 6..9 is 2, 3..4 is 3, 1..2 is 4. One
   * customer each, so that no repeat raises them. */
  static const struct {
    int likelihood, impact, sev;
  } dflt[] = {
      {1, 1, 1}, /* 4 x 4 = 16 */
      {1, 2, 1}, /* 4 x 3 = 12 */
      {2, 2, 2}, /* 3 x 3 = 9 */
      {2, 3, 2}, /* 3 x 2 = 6 */
      {3, 2, 2}, /* 2 x 3 = 6 */
      {1, 4, 3}, /* 4 x 1 = 4 */
      {4, 1, 3}, /* 1 x 4 = 4 */
      {2, 4, 3}, /* 3 x 1 = 3 */
      {3, 4, 4}, /* 2 x 1 = 2 */
      {4, 4, 4}, /* 1 x 1 = 1 */
  };
  int64_t off = 1;
  for (size_t i = 0; i < sizeof dflt / sizeof dflt[0]; i++) {
    char who[16], ctx[48];
    snprintf(who, sizeof who, "d%zu", i);
    snprintf(ctx, sizeof ctx, "default matrix, likelihood %d impact %d", dflt[i].likelihood,
             dflt[i].impact);
    test_ctx = ctx;
    check_rated(&core, &o, off++,
                rated(buf, sizeof buf, "service.failure", who, "operational", 0,
                      dflt[i].likelihood, dflt[i].impact, ",\"detected_by\":\"customer\""),
                dflt[i].sev, dflt[i].likelihood, dflt[i].impact);
  }
  /* The derived severity sets the deadlines as a given one does: (2, 3) is
   * severity 2, acknowledge within 60 min of 07:00. */
  test_ctx = "derived severity, deadline";
  o.n = 0;
  CHECK_INT(feed_core(&core, off++,
                      rated(buf, sizeof buf, "service.failure", "dl", "operational", 0, 2, 3,
                            ",\"detected_by\":\"customer\"")),
            CXP_OK);
  if (o.n == 1) {
    cJSON *a = cJSON_Parse(o.val[0]);
    CHECK_STR(JS(a, "deadline"), "2026-11-23T08:00:00.000Z");
    cJSON_Delete(a);
  }

  /* Kano on top: a complaint marked must_be at (4, 4) is severity 4 from
   * the matrix, raised to 2 (major). */
  test_ctx = "kano raises a derived severity";
  uint64_t raised = core.n.kano_raised;
  check_rated(&core, &o, off++,
              rated(buf, sizeof buf, "complaint", "kn", "design", 0, 4, 4,
                    ",\"kano\":\"must_be\""),
              2, 4, 4);
  CHECK_INT(core.n.kano_raised, raised + 1);

  /* A repeat on top: r1 at (3, 3) is 3 (2 x 2 = 4); r1's second failure of
   * the same category 10 minutes later at (2, 4) is 3 (3 x 1 = 3), raised to
   * 2 as a repeat. */
  test_ctx = "repeat raises a derived severity";
  check_rated(&core, &o, off++,
              rated(buf, sizeof buf, "service.failure", "r1", "promise", 0, 3, 3,
                    ",\"detected_by\":\"provider\""),
              3, 3, 3);
  check_rated(&core, &o, off++,
              rated(buf, sizeof buf, "service.failure", "r1", "promise", 10, 2, 4,
                    ",\"detected_by\":\"provider\""),
              2, 2, 4);
  if (o.n == 1) {
    cJSON *a = cJSON_Parse(o.val[0]);
    CHECK_NEAR(reason_value(a, "repeat_same_category"), 1, 0);
    cJSON_Delete(a);
  }
  /* An event with a severity carries no likelihood or impact reasons. */
  test_ctx = "given severity";
  o.n = 0;
  CHECK_INT(feed_core(&core, off++, f1), CXP_OK);
  if (o.n == 1) {
    cJSON *a = cJSON_Parse(o.val[0]);
    CHECK_NEAR(reason_value(a, "severity"), 2, 0);
    CHECK_NEAR(reason_value(a, "likelihood"), -1, 0);
    CHECK_NEAR(reason_value(a, "impact"), -1, 0);
    cJSON_Delete(a);
  }
  cxp_core_close(&core);

  /* A custom matrix (rows likelihood 1..4, columns impact 1..4), rising
   * along every row and down every column:
   *   1 1 1 1
   *   1 2 2 2
   *   2 3 3 3
   *   3 4 4 4 */
  test_ctx = "custom matrix";
  static const int custom[4][4] = {{1, 1, 1, 1}, {1, 2, 2, 2}, {2, 3, 3, 3}, {3, 4, 4, 4}};
  memcpy(pl.rec_severity_matrix, custom, sizeof custom);
  char err[300];
  CHECK_INT(cxp_pipeline_cases(&pl, err, sizeof err), 0);
  cxp_core_init(&core, &pl, collect, &o);
  static const struct {
    int likelihood, impact, sev;
  } cust[] = {{1, 4, 1}, {2, 1, 1}, {3, 1, 2}, {3, 4, 3}, {4, 2, 4}, {4, 1, 3}};
  for (size_t i = 0; i < sizeof cust / sizeof cust[0]; i++) {
    char who[16], ctx[48];
    snprintf(who, sizeof who, "m%zu", i);
    snprintf(ctx, sizeof ctx, "custom matrix, likelihood %d impact %d", cust[i].likelihood,
             cust[i].impact);
    test_ctx = ctx;
    check_rated(&core, &o, off++,
                rated(buf, sizeof buf, "complaint", who, "communication", 0, cust[i].likelihood,
                      cust[i].impact, ""),
                cust[i].sev, cust[i].likelihood, cust[i].impact);
  }
  cxp_core_close(&core);
  test_ctx = NULL;
}

/* A matrix the loader refuses, with the sentence it says. */
static void test_severity_matrix_refused(void) {
  static const struct {
    const char *matrix, *err;
  } bad[] = {
      /* Row 2 falls from 3 to 2 at its third column. */
      {"[[1,1,2,3],[1,3,2,3],[2,2,3,4],[3,3,4,4]]",
       "p.json: recovery.severity_matrix: row 2 (likelihood 2) falls from 3 to 2 at column 3: "
       "expected no decrease along a row"},
      /* Column 1 falls from 3 to 2 at row 4 (the rows themselves rise). */
      {"[[1,1,2,3],[1,2,2,3],[3,3,3,4],[2,3,4,4]]",
       "p.json: recovery.severity_matrix: column 1 (impact 1) falls from 3 to 2 at row 4: "
       "expected no decrease down a column"},
      {"[[1,5,2,3],[1,2,2,3],[2,2,3,4],[3,3,4,4]]",
       "p.json: key 'recovery.severity_matrix': row 1, column 2: 5 is outside 1..4"},
      {"[[1,1,2,3],[1,2,2,3],[2,2,3,4],[3,3,4,0]]",
       "p.json: key 'recovery.severity_matrix': row 4, column 4: 0 is outside 1..4"},
      {"[[1,1,2,3],[1,2,2,3],[2,2,3,4]]",
       "p.json: key 'recovery.severity_matrix': expected 4 rows of 4 integers"},
      {"[[1,1,2,3],[1,2,2,3],[2,2,3,4],[3,3,4]]",
       "p.json: key 'recovery.severity_matrix': expected 4 rows of 4 integers"},
      {"[[1,1,2,3],[1,2,2,3],[2,2,3,4],[3,3,4,4.5]]",
       "p.json: key 'recovery.severity_matrix': expected 4 rows of 4 integers"},
      {"\"1,1,2,3\"", "p.json: key 'recovery.severity_matrix': expected 4 rows of 4 integers"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char text[256], err[400] = "";
    snprintf(text, sizeof text, "{\"recovery\":{\"severity_matrix\":%s}}", bad[i].matrix);
    test_ctx = bad[i].matrix;
    cxp_pipeline pl;
    CHECK_INT(cxp_pipeline_from_json(&pl, cJSON_Parse(text), "p.json", err, sizeof err), -1);
    CHECK_STR(err, bad[i].err);
  }
  /* The default, written out, is accepted; and it is the conf's own default. */
  test_ctx = "default matrix";
  cxp_pipeline pl;
  char err[400] = "";
  CHECK_INT(cxp_pipeline_from_json(
                &pl,
                cJSON_Parse("{\"recovery\":{\"severity_matrix\":"
                            "[[1,1,2,3],[1,2,2,3],[2,2,3,4],[3,3,4,4]]}}"),
                "p.json", err, sizeof err),
            0);
  cxp_cases_conf c;
  cxp_cases_conf_defaults(&c);
  CHECK_EQ(memcmp(c.severity_matrix, pl.cases.severity_matrix, sizeof c.severity_matrix), 0);
  CHECK_INT(pl.cases.severity_matrix[1][2], 2);
  CHECK_INT(cxp_cases_severity(&pl.cases, 4, 3), 4);
  test_ctx = NULL;
}

static void test_systemic_restore(void) {
  for (int with_group = 1; with_group >= 0; with_group--) {
    test_ctx = with_group ? "systemic restored" : "systemic without its record";
    static outs o;
    const char *last = NULL;
    cxp_pipeline pl;
    cxp_core a;
    recovery_core(&a, &pl, &o);
    a.changelog = 1;
    sys_feed(&a, 0, 5);
    CHECK_INT(sys_alerts(&o, &last), 0);
    cxp_buf f;
    cxp_buf_init(&f);
    CHECK_INT(cxp_core_partition_changed(&a, 0), 1);
    CHECK_INT(cxp_core_partition_flush(&a, 0, 5, &f), 1);
    CHECK_INT(cxp_core_partition_changed(&a, 0), 0);
    size_t before_customers = f.len;
    cxp_core_state_flush(&a, 0, &f);
    cxp_core_close(&a);

    cxp_core r;
    recovery_core(&r, &pl, &o);
    r.changelog = 1;
    size_t pos = 0, kl, vl;
    const char *k;
    const uint8_t *v;
    char err[256];
    int groups = 0;
    while (cxp_staterec_frame_next(f.p, f.len, &pos, &k, &kl, &v, &vl)) {
      int g = kl > 3 && memcmp(k, "sg:", 3) == 0;
      if (g) {
        groups++;
        CHECK_LE(pos, before_customers); /* ahead of every customer */
        CHECK_MEM(k, kl, "sg:1:1795417200000:tp1", 22);
        CHECK_INT(vl, 51);
        if (vl == 51) {
          CHECK_INT(v[0], 1);
          CHECK_INT(v[1], 0);
          CHECK_INT(v[2], 6);
        }
        if (!with_group) continue;
      }
      CHECK_INT(cxp_core_state_restore(&r, 0, k, kl, v, vl, err, sizeof err), 0);
    }
    CHECK_INT(groups, 1);
    sys_feed(&r, 6, 9);
    CHECK_INT(sys_alerts(&o, &last), with_group);
    if (with_group && last) CHECK_CONTAINS(last, "\"customers\":10");
    if (with_group) {
      /* Forgotten once the clock is a whole window past its end, at the
       * sweep a new window starts (failures at 08:10, then 08:20, the
       * clock at 08:10): its tombstone goes out with the next flush (the
       * record existed). */
      cxp_buf_reset(&f);
      for (int i = 0; i < 2; i++) {
        char late[512];
        snprintf(late, sizeof late,
                 "{\"event_id\":\"u%d\",\"type\":\"service.failure\",\"customer_id\":"
                 "\"s9%d\",\"ts\":\"2026-11-23T08:%d0:00Z\",\"case_id\":\"sk9%d\","
                 "\"category\":\"design\",\"severity\":3,\"detected_by\":\"customer\","
                 "\"touchpoint\":\"tp2\"}",
                 i, i, i + 1, i);
        CHECK_INT(feed_core_part(&r, 0, 10 + i, late), CXP_OK);
      }
      /* Changed: the swept group's tombstone (its pending change with it),
       * and the two new groups of tp2 (08:00 and 08:15). */
      CHECK_INT(cxp_core_partition_changed(&r, 0), 3);
      CHECK_INT(cxp_core_partition_flush(&r, 0, 11, &f), 3);
      int tomb = 0;
      pos = 0;
      while (cxp_staterec_frame_next(f.p, f.len, &pos, &k, &kl, &v, &vl))
        if (v == NULL && kl == 22 && memcmp(k, "sg:1:1795417200000:tp1", 22) == 0) tomb++;
      CHECK_INT(tomb, 1);
    }
    cxp_core_close(&r);
    cxp_buf_free(&f);
  }
  /* Through a snapshot (a shutdown's): the group rides after the
   * customers and comes back with them. */
  {
    test_ctx = "systemic through a snapshot";
    static outs o;
    const char *last = NULL;
    cxp_pipeline pl;
    cxp_core a;
    recovery_core(&a, &pl, &o);
    sys_feed(&a, 0, 5);
    char dir[] = "/tmp/cxp_sysXXXXXX", path[64], err[256];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/p0.snap", dir);
    cxp_buf extra, exts, got;
    cxp_buf_init(&extra);
    cxp_buf_init(&exts);
    cxp_buf_init(&got);
    CHECK_INT(cxp_core_state_extra(&a, 0, &extra), 1);
    CHECK_INT(cxp_snapshot_write(path, &a.state, 0, 5, cxp_core_state_ext, &a, &extra, err,
                                 sizeof err),
              0);
    cxp_core_close(&a);
    cxp_state st;
    cxp_state_init(&st);
    int64_t off, max_ts;
    CHECK_INT(cxp_snapshot_read(path, &st, 0, &off, &exts, &got, &max_ts, err, sizeof err), 6);
    cxp_core r;
    recovery_core(&r, &pl, &o);
    CHECK_INT(cxp_state_adopt(&r.state, &st, 0), 6);
    CHECK_INT(cxp_core_state_restore_cases(&r, 0, &exts, max_ts), 0);
    size_t pos = 0, kl, vl;
    const char *k;
    const uint8_t *v;
    while (cxp_staterec_frame_next(got.p, got.len, &pos, &k, &kl, &v, &vl))
      CHECK_INT(cxp_core_state_restore(&r, 0, k, kl, v, vl, err, sizeof err), 0);
    sys_feed(&r, 6, 9);
    CHECK_INT(sys_alerts(&o, &last), 1);
    if (last) CHECK_CONTAINS(last, "\"customers\":10");
    cxp_core_close(&r);
    cxp_state_close(&st);
    unlink(path);
    rmdir(dir);
    cxp_buf_free(&extra);
    cxp_buf_free(&exts);
    cxp_buf_free(&got);
  }
  /* Damaged records are refused: a cut value, a newer version, a category
   * out of range, a start that is not a number, a start outside the event
   * years (1970, 2100) or a day before them, more customers than any
   * pipeline counts. */
  static outs o;
  cxp_pipeline pl;
  cxp_core r;
  recovery_core(&r, &pl, &o);
  char err[256];
  const uint8_t val[] = {1, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8};
  const char *key = "sg:1:1795417200000:tp";
  size_t kl = strlen(key);
  CHECK_INT(cxp_core_state_restore(&r, 0, key, kl, val, sizeof val, err, sizeof err), 0);
  CHECK_INT(cxp_core_state_restore(&r, 0, key, kl, val, sizeof val - 1, err, sizeof err), -1);
  CHECK_STR(err, "systemic group record 'sg:1:1795417200000:tp': cut short");
  const uint8_t v2[] = {2, 0, 0};
  CHECK_INT(cxp_core_state_restore(&r, 0, key, kl, v2, sizeof v2, err, sizeof err), -1);
  CHECK_INT(cxp_core_state_restore(&r, 0, "sg:9:1795417200000:tp", kl, val, sizeof val, err,
                                   sizeof err),
            -1);
  CHECK_CONTAINS(err, "category 9");
  CHECK_INT(cxp_core_state_restore(&r, 0, "sg:1:x:tp", 9, val, sizeof val, err, sizeof err), -1);
  static const char *const out_of_range[] = {"sg:1:0:tp", "sg:1:4102444800000:tp",
                                             "sg:1:946598399999:tp"};
  for (int i = 0; i < 3; i++) {
    CHECK_INT(cxp_core_state_restore(&r, 0, out_of_range[i], strlen(out_of_range[i]), val,
                                     sizeof val, err, sizeof err),
              -1);
    CHECK_CONTAINS(err, "lies outside 2000..2099");
  }
  /* A day before 2000 is a window start an event of 2000-01-01 can have. */
  CHECK_INT(cxp_core_state_restore(&r, 0, "sg:1:946598400000:tp", 20, val, sizeof val, err,
                                    sizeof err),
            0);
  uint8_t many[3 + 65 * 8] = {1, 0, 65};
  CHECK_INT(cxp_core_state_restore(&r, 0, key, kl, many, sizeof many, err, sizeof err), -1);
  CHECK_CONTAINS(err, "65 customers out of range");
  cxp_core_close(&r);
}

/* ---- durable state: a customer's cases through his record ------------------ */

/* Restores c1's section (its first len bytes) with the partition's clock. */
static int restore_c1(cxp_cases *cs, const cxp_buf *sec, size_t len, int64_t clock,
                      char err[256]) {
  return cxp_cases_restore(cs, "c1", 2, (const uint8_t *)sec->p, len, clock, err, 256);
}

/* His latest closed cases ride in his section (cases.c layout): after a
 * restart an event for one is late, as it was before, not parked or opened
 * again. k1, k2, k3 of c1 open an hour apart and are followed up two hours
 * after opening; each closes 5 min later (settle): T0 + 2 h 05, 3 h 05,
 * 4 h 05. The section keeps the two latest, k3 then k2: a count (1 byte),
 * then per case 8 bytes of hash and its closing time as a zigzag varint
 * (2 x 1,795,431,900,000 ms needs 42 bits: 6 bytes), 29 bytes in all. */
static void test_restore_closed(void) {
  test_ctx = "restore closed";
  cxp_cases *a = make_default();
  static const char *ids[3] = {"k1", "k2", "k3"};
  cxp_event e;
  for (int i = 0; i < 3; i++) {
    int64_t t = T0 + i * H_MS;
    e = failure(ids[i], "c1", t, "operational", 3, "customer", "app", "basic");
    CHECK_INT(add(a, &e), CXP_CASE_OPENED);
    e = stepev(A, ids[i], t + 30 * M_MS);
    add(a, &e);
    e = stepev(R, ids[i], t + H_MS);
    add(a, &e);
    e = stepev(F, ids[i], t + 2 * H_MS);
    add(a, &e);
  }
  at(a, T0 + 5 * H_MS, 0);
  CHECK_INT(K.nout, 3);
  for (int i = 0; i < K.nout; i++)
    CHECK_INT(K.out[i].closed_at, T0 + (i + 2) * H_MS + 5 * M_MS);
  cxp_buf ea;
  cxp_buf_init(&ea);
  cxp_cases_encode(a, "c1", 2, &ea);
  CHECK_GT(ea.len, 29);
  CHECK_INT((unsigned char)ea.p[ea.len - 29], 2);
  char err[256];

  /* Restored: k3 and k2 are closed, a step or a failure for them late; k1
   * was not kept: its step waits for it. Written again: the same bytes. */
  cxp_cases *b = make_default();
  CHECK_INT(restore_c1(b, &ea, ea.len, T0 + 5 * H_MS, err), 0);
  cxp_buf eb;
  cxp_buf_init(&eb);
  cxp_cases_encode(b, "c1", 2, &eb);
  CHECK_MEM(eb.p, eb.len, ea.p, ea.len);
  e = stepev(C, "k3", T0 + 5 * H_MS);
  CHECK_INT(add(b, &e), CXP_CASE_LATE);
  e = failure("k2", "c1", T0 + 5 * H_MS, "operational", 3, "customer", "app", "basic");
  CHECK_INT(add(b, &e), CXP_CASE_LATE);
  e = stepev(C, "k1", T0 + 5 * H_MS);
  CHECK_INT(add(b, &e), CXP_CASE_PARKED);
  CHECK_INT(cxp_cases_stats_get(b).open, 0);
  cxp_cases_destroy(b);

  /* A section of a build before them (the 29 bytes cut): read, and k3 is
   * not known as closed, its step parked. */
  b = make_default();
  CHECK_INT(restore_c1(b, &ea, ea.len - 29, T0 + 5 * H_MS, err), 0);
  e = stepev(C, "k3", T0 + 5 * H_MS);
  CHECK_INT(add(b, &e), CXP_CASE_PARKED);
  cxp_cases_destroy(b);

  /* Cut inside them, or claiming three: refused. */
  b = make_default();
  CHECK_INT(restore_c1(b, &ea, ea.len - 3, T0, err), -1);
  ea.p[ea.len - 29] = 3;
  CHECK_INT(restore_c1(b, &ea, ea.len, T0, err), -1);
  cxp_cases_destroy(b);
  cxp_cases_destroy(a);
  cxp_buf_free(&ea);
  cxp_buf_free(&eb);
}

static void test_restore(void) {
  /* k1: major failure at T0, acknowledge 1 h (levels at 1 h, 2 h, 4 h);
   * k2: minor complaint at T0 + 5 min, acknowledged at + 10 min. At T0 +
   * 90 min k1 has breached level 1 and nothing else is due. */
  test_ctx = "restore";
  cxp_cases *a = make_default();
  cxp_event e = failure("k1", "c1", T0, "operational", 2, "customer", "app", "basic");
  CHECK_INT(add(a, &e), CXP_CASE_OPENED);
  e = complaint("k2", "c1", T0 + 5 * M_MS, "design", 3, "web");
  CHECK_INT(add(a, &e), CXP_CASE_OPENED);
  e = stepev(A, "k2", T0 + 10 * M_MS);
  CHECK_INT(add(a, &e), CXP_CASE_STEP);
  /* An acknowledgement of c1's for a case not seen yet, at T0 + 85 min:
   * parked until T0 + 145 min (park 1 h). */
  e = stepev(A, "k9", T0 + 85 * M_MS);
  CHECK_INT(add(a, &e), CXP_CASE_PARKED);
  at(a, T0 + 90 * M_MS, 0);
  CHECK_INT(K.nb, 1);
  cxp_buf ea;
  cxp_buf_init(&ea);
  cxp_cases_encode(a, "c1", 2, &ea);
  CHECK_GT(ea.len, 0);
  cxp_buf none;
  cxp_buf_init(&none);
  cxp_cases_encode(a, "nobody", 6, &none);
  CHECK_INT(none.len, 0); /* the module knows nothing of him: no section */
  cxp_cases_stats sa = cxp_cases_stats_get(a);

  /* Into a fresh module: the same cases, nothing fires by itself. */
  cxp_cases *b = make_default();
  char err[256];
  CHECK_INT(restore_c1(b, &ea, ea.len, T0 + 90 * M_MS, err),
            0);
  CHECK_INT(K.nb + K.no + K.nout, 0);
  cxp_case_info ci;
  CHECK_INT(cxp_cases_get(b, "k1", 2, &ci), 0);
  CHECK_INT(ci.opened_at, T0);
  CHECK_INT(ci.severity, 2);
  CHECK_INT(ci.kind, CXP_CASE_FAILURE);
  CHECK_INT(ci.category, CXP_CAT_OPERATIONAL);
  CHECK_INT(ci.deadline[DA], T0 + H_MS);
  CHECK_INT(ci.deadline[DR], T0 + 24 * H_MS);
  CHECK_INT(ci.level[DA], 1);
  CHECK_INT(ci.done_at[CXP_STEP_ACKNOWLEDGED], 0);
  CHECK_LIT(ci.segment.p, ci.segment.n, "basic");
  CHECK_LIT(ci.touchpoint.p, ci.touchpoint.n, "app");
  CHECK_LIT(ci.customer_id.p, ci.customer_id.n, "c1");
  CHECK_INT(cxp_cases_get(b, "k2", 2, &ci), 0);
  CHECK_INT(ci.kind, CXP_CASE_COMPLAINT);
  CHECK_INT(ci.severity, 3);
  CHECK_INT(ci.done_at[CXP_STEP_ACKNOWLEDGED], T0 + 10 * M_MS);
  CHECK_INT(ci.deadline[DR], T0 + 5 * M_MS + 72 * H_MS); /* minor: resolve 72 h */
  cxp_case_customer cc;
  cxp_cases_customer(b, "c1", 2, &cc);
  CHECK_INT(cc.open, 2);
  CHECK_INT(cc.overdue, 1); /* k1 breached, not acknowledged */
  CHECK_INT(cc.cohort, CXP_COHORT_PENDING);
  cxp_cases_stats sb = cxp_cases_stats_get(b);
  CHECK_INT(sb.open, 2);
  CHECK_INT(sb.restored, 2);
  CHECK_INT(sb.parked_now, 1);
  /* k1: acknowledge (levels 2, 3 to come) and resolve; k2: resolve. */
  CHECK_INT(sb.open_deadlines, 3);
  CHECK_INT(sb.open_deadlines, sa.open_deadlines);
  /* Written again, the section is the same bytes. */
  cxp_buf eb;
  cxp_buf_init(&eb);
  cxp_cases_encode(b, "c1", 2, &eb);
  CHECK_MEM(eb.p, eb.len, ea.p, ea.len);

  /* The clock goes on from there: level 2 at T0 + 2 h, level 1 not again. */
  at(b, T0 + 2 * H_MS - 1, 0);
  CHECK_INT(K.nb, 0);
  at(b, T0 + 2 * H_MS, 0);
  CHECK_INT(K.nb, 1);
  CHECK_INT(K.b[0].level, 2);
  CHECK_INT(K.b[0].due, T0 + 2 * H_MS);
  CHECK_STR(K.b[0].case_id, "k1");

  /* A newer record replaces what is held (here an older one: level 1 again):
   * his cases are restated, not added. */
  CHECK_INT(restore_c1(b, &ea, ea.len, T0, err),
            0);
  CHECK_INT(cxp_cases_stats_get(b).open, 2);
  CHECK_INT(cxp_cases_stats_get(b).parked_now, 1); /* restated too, not doubled */
  CHECK_INT(cxp_cases_get(b, "k1", 2, &ci), 0);
  CHECK_INT(ci.level[DA], 1);
  cxp_cases_customer(b, "c1", 2, &cc);
  CHECK_INT(cc.open, 2);
  CHECK_INT(cc.overdue, 1);
  CHECK_INT(K.nout, 0); /* restated, not closed */

  /* Damaged sections are refused and change nothing. */
  CHECK_INT(restore_c1(b, &ea, ea.len - 2, T0, err),
            -1);
  CHECK_CONTAINS(err, "cases of customer 'c1' in his state record: a parked step cut short");
  ea.p[0] = 9;
  CHECK_INT(restore_c1(b, &ea, ea.len, T0, err),
            -1);
  ea.p[0] = 1;
  CHECK_INT(cxp_cases_stats_get(b).open, 2);

  /* What the module remembered of him came too: another operational
   * failure within 30 days is a repeat (major raised to critical). */
  e = failure("k3", "c1", T0 + 3 * H_MS, "operational", 2, "customer", "app", "basic");
  CHECK_INT(add(b, &e), CXP_CASE_OPENED);
  CHECK_INT(K.o[0].repeat, 1);
  CHECK_INT(K.o[0].severity, 1);
  /* The restored parked step expires at its time (T0 + 145 min), with its
   * token (the input offset) and its event id. */
  CHECK_INT(K.nex, 1);
  CHECK_STR(K.ex[0].case_id, "k9");
  CHECK_INT(K.ex[0].ts, T0 + 85 * M_MS);
  cxp_cases_destroy(b);

  /* Or its case comes, and the step applies at its opening. */
  b = make_default();
  CHECK_INT(restore_c1(b, &ea, ea.len, T0 + 90 * M_MS, err),
            0);
  e = failure("k9", "c1", T0 + 80 * M_MS, "design", 3, "customer", "web", "basic");
  CHECK_INT(add(b, &e), CXP_CASE_OPENED);
  CHECK_INT(K.o[0].parked_applied, 1);
  CHECK_INT(K.o[0].ack_done, T0 + 85 * M_MS);
  CHECK_INT(cxp_cases_stats_get(b).parked_now, 0);
  CHECK_INT(cxp_cases_stats_get(b).open, 3);
  /* A later record of his without a section: his cases go, silently. */
  restore_c1(b, &ea, ea.len, T0, err);
  CHECK_INT(cxp_cases_stats_get(b).parked_now, 1);
  cxp_cases_forget(b, "c1", 2);
  CHECK_INT(cxp_cases_stats_get(b).open, 0);
  CHECK_INT(cxp_cases_stats_get(b).parked_now, 0);
  CHECK_INT(K.nout + K.nex, 0);
  cxp_cases_destroy(b);

  /* The clock hint: restored with the partition's clock at T0 + 5 h, the
   * next event (however old) fires what fell due before it: k1's
   * acknowledge levels 2 (T0 + 2 h) and 3 (T0 + 4 h), at once: one breach,
   * level 3. */
  cxp_cases *c = make_default();
  CHECK_INT(restore_c1(c, &ea, ea.len, T0 + 5 * H_MS, err),
            0);
  CHECK_INT(K.nb, 0);
  at(c, T0, 0);
  CHECK_INT(K.nb, 1);
  CHECK_INT(K.nex, 1); /* and the parked step's expiry, T0 + 145 min */
  CHECK_INT(K.b[0].level, 3);
  CHECK_INT(K.b[0].due, T0 + 4 * H_MS);
  cxp_cases_destroy(c);

  /* A quiet partition after a restore: the wall clock counts from the
   * first tick (at wall time W), from the restored clock T0 + 90 min; k1's
   * level 2 (T0 + 2 h) is 30 min of wall time later. */
  c = make_default();
  CHECK_INT(restore_c1(c, &ea, ea.len, T0 + 90 * M_MS, err),
            0);
  const int64_t W = 1000000000LL;
  CHECK_INT(cxp_cases_tick(c, W, NULL), 0);
  CHECK_INT(cxp_cases_tick(c, W + 30 * M_MS - 1, NULL), 0);
  CHECK_INT(K.nb, 0);
  CHECK_INT(cxp_cases_tick(c, W + 30 * M_MS, NULL), 1);
  CHECK_INT(K.nb, 1);
  CHECK_INT(K.b[0].level, 2);
  cxp_cases_destroy(c);
  cxp_cases_destroy(a);
  cxp_buf_free(&ea);
  cxp_buf_free(&eb);
  cxp_buf_free(&none);
}

/* The core's side: a customer's record carries his open case; a core that
 * restores it (from changelog frames, or from a snapshot file) raises the
 * breach the first would have, and no second recovery.required. */
static void breach_after_restore(cxp_core *b, outs *o) {
  cxp_customer *cu = cxp_shard_find(b->state.shards[0], "c1", 2);
  CHECK(cu != NULL);
  if (cu == NULL) return;
  CHECK_INT(cu->open_cases, 1);
  CHECK_INT(cu->overdue_cases, 0);
  CHECK_INT(cxp_core_state_dirty(b, 0), 0);
  o->n = 0;
  /* 07:31, someone else's event: k1 (gold: acknowledge within 30 min, due
   * 07:30) breaches at level 1. */
  CHECK_INT(feed_core(b, 7,
                      "{\"event_id\":\"u5\",\"type\":\"usage\",\"customer_id\":\"c5\","
                      "\"ts\":\"2026-11-23T07:31:00Z\"}"),
            CXP_OK);
  int breaches = 0, required = 0;
  for (int i = 0; i < o->n; i++) {
    cJSON *a = cJSON_Parse(o->val[i]);
    if (strcmp(JS(a, "type"), "recovery.sla_breached") == 0) {
      breaches++;
      CHECK_STR(JS(a, "case_id"), "k1");
      CHECK_STR(JS(a, "deadline"), "2026-11-23T07:30:00.000Z");
    }
    if (strcmp(JS(a, "type"), "recovery.required") == 0) required++;
    cJSON_Delete(a);
  }
  CHECK_INT(breaches, 1);
  CHECK_INT(required, 0);
  /* c5 is new, and c1's record changed (the level fired is in it). */
  CHECK_INT(cxp_core_state_dirty(b, 0), 2);
  /* He has one case overdue now, kept on him for the churn score... */
  CHECK_INT(cu->overdue_cases, 1);
  /* ...and worked out again when his record is restored elsewhere. */
  cxp_buf fr;
  cxp_buf_init(&fr);
  cxp_core_state_flush(b, 0, &fr);
  cxp_pipeline pl;
  cxp_pipeline_defaults(&pl);
  cxp_core d;
  cxp_core_init(&d, &pl, collect, o);
  restore_frames(&d, &fr);
  cxp_customer *dc = cxp_shard_find(d.state.shards[0], "c1", 2);
  CHECK(dc != NULL);
  if (dc) {
    CHECK_INT(dc->overdue_cases, 1);
    CHECK_INT(dc->open_cases, 1);
  }
  cxp_core_close(&d);
  cxp_buf_free(&fr);
  /* 07:40 acknowledged: no longer overdue. */
  CHECK_INT(feed_core(b, 8,
                      "{\"event_id\":\"a8\",\"type\":\"recovery.acknowledged\","
                      "\"customer_id\":\"c1\",\"ts\":\"2026-11-23T07:40:00Z\","
                      "\"case_id\":\"k1\"}"),
            CXP_OK);
  CHECK_INT(cu->overdue_cases, 0);
}

static void test_core_restore(void) {
  test_ctx = "core restore";
  static outs o;
  cxp_pipeline pl;
  cxp_core a;
  recovery_core(&a, &pl, &o);
  CHECK_INT(feed_core(&a, 1, f1), CXP_OK);
  CHECK_INT(o.n, 1);
  cxp_buf fr;
  cxp_buf_init(&fr);
  CHECK_INT(cxp_core_state_flush(&a, 0, &fr), 1);

  /* Through the changelog frames. */
  cxp_core b;
  cxp_core_init(&b, &pl, collect, &o);
  restore_frames(&b, &fr);
  char err[256];
  /* The opening event delivered again at a later offset: no second
   * recovery.required. */
  o.n = 0;
  CHECK_INT(feed_core(&b, 5, f1), CXP_OK);
  CHECK_INT(o.n, 0);
  breach_after_restore(&b, &o);
  cxp_core_close(&b);

  /* Through a snapshot file. */
  char dir[] = "/tmp/cxp_cases_XXXXXX", path[64];
  CHECK(mkdtemp(dir) != NULL);
  snprintf(path, sizeof path, "%s/p0.snap", dir);
  CHECK_INT(cxp_snapshot_write(path, &a.state, 0, 0, cxp_core_state_ext, &a, NULL, err, sizeof err),
            0);
  cxp_state st;
  cxp_state_init(&st);
  cxp_buf exts;
  cxp_buf_init(&exts);
  int64_t off, max_ts;
  CHECK_INT(cxp_snapshot_read(path, &st, 0, &off, &exts, NULL, &max_ts, err, sizeof err), 1);
  CHECK_INT(max_ts, T0); /* c1's only event, 07:00 */
  CHECK_GT(exts.len, 0);
  cxp_core c;
  cxp_core_init(&c, &pl, collect, &o);
  CHECK_INT(cxp_state_adopt(&c.state, &st, 0), 1);
  CHECK_INT(cxp_core_state_restore_cases(&c, 0, &exts, max_ts), 0);
  breach_after_restore(&c, &o);
  cxp_core_close(&c);
  cxp_state_close(&st);
  cxp_buf_free(&exts);
  unlink(path);
  rmdir(dir);
  cxp_buf_free(&fr);
  cxp_core_close(&a);
}

/* ---- durable state: restored values are range-checked --------------------- */

static double secs_since(const struct timespec *t0) {
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* A cases section (cases.c layout) of one case, k1, opened at `opened`,
 * acknowledged, resolved and followed up at `done`, every escalation level
 * fired: its only due is its closing, `done` + 5 min (settle). */
static void section_one_case(cxp_buf *b, int64_t opened, int64_t done) {
  cxp_put_u8(b, 1); /* section version */
  cxp_put_u8(b, 0); /* no customer memory */
  cxp_put_v(b, 1);  /* one case */
  cxp_put_u8(b, 2);
  cxp_buf_put(b, "k1", 2);
  cxp_put_u8(b, 0); /* no segment */
  cxp_put_u8(b, 0); /* no touchpoint */
  cxp_put_z(b, opened);
  cxp_put_v(b, 1u << CXP_STEP_ACKNOWLEDGED | 1u << CXP_STEP_RESOLVED |
                   1u << CXP_STEP_FOLLOWED_UP);
  for (int i = 0; i < 3; i++) cxp_put_z(b, done - opened);
  const uint8_t f[6] = {2, 2, CXP_CAT_OPERATIONAL, 2, CXP_CASE_FAILURE, 0};
  cxp_buf_put(b, f, sizeof f);
  const uint8_t lv[3] = {3, 3, 3};
  cxp_buf_put(b, lv, sizeof lv);
  cxp_put_v(b, 0); /* no parked steps */
}

/* c1's state record: his latest event at last_ts, his cases section. */
static void record_c1(cxp_buf *val, int64_t last_ts, const cxp_buf *sec) {
  cxp_customer *cu = cxp_customer_new("c1", 2, cxp_hash64("c1", 2, 0));
  cu->last_offset = 4;
  cu->last_ts_ms = last_ts;
  cu->open_cases = 1;
  cxp_staterec_write(val, cu, "gold", sec->p, sec->len);
  free(cu);
}

/* The changelog record a fuzzer of cxp_core_state_restore found: c1's
 * latest event at -2.4e18 ms (second -2.4e15), the partition's case clock
 * hinted there, and a case of his whose closing falls in 2026. The old code
 * took it: the timing wheel started at second -2.4e15 with the closing
 * filed in its top level, and the next event walked the wheel forward in
 * 2^24-second steps, 1.4e8 of them (seconds on end; minutes under the
 * sanitizers). Now the record is refused, naming the field, and the next
 * event takes microseconds. */
static void test_restore_bounds(void) {
  test_ctx = "restore bounds";
  static outs o;
  cxp_pipeline pl;
  cxp_core c;
  recovery_core(&c, &pl, &o);
  const int64_t far = -2400000000000000000LL;
  cxp_buf sec, val;
  cxp_buf_init(&sec);
  cxp_buf_init(&val);
  section_one_case(&sec, far, T0);
  record_c1(&val, far, &sec);
  char err[256] = "";
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  CHECK_INT(cxp_core_state_restore(&c, 0, "c:c1", 4, val.p, val.len, err, sizeof err), -1);
  CHECK_CONTAINS(err, "'c1'");
  CHECK_CONTAINS(err, "last_ts");
  CHECK(cxp_shard_find(c.state.shards[0], "c1", 2) == NULL); /* nothing changed */
  CHECK_INT(cxp_core_cases_open(&c, 0), 0);
  CHECK_INT(feed_core(&c, 5,
                      "{\"event_id\":\"u5\",\"type\":\"usage\",\"customer_id\":\"c5\","
                      "\"ts\":\"2026-11-23T08:00:00Z\"}"),
            CXP_OK);
  double s = secs_since(&t0);
  fprintf(stderr, "restore bounds: the -2.4e15 s record refused and the next event "
                  "processed in %.6f s\n", s);
  CHECK_LT(s, 1.0);

  /* His record in range, his section not: the case opened at -2.4e18 ms.
   * He is restored without his cases (cxp_core_state_restore's contract),
   * the error names the section's field. */
  cxp_buf_reset(&val);
  record_c1(&val, T0, &sec);
  CHECK_INT(cxp_core_state_restore(&c, 0, "c:c1", 4, val.p, val.len, err, sizeof err), -1);
  CHECK_CONTAINS(err, "opened_at");
  CHECK_CONTAINS(err, "without them");
  CHECK(cxp_shard_find(c.state.shards[0], "c1", 2) != NULL);
  CHECK_INT(cxp_core_cases_open(&c, 0), 0);
  /* A step time that overflows opened_at plus the difference is refused,
   * not wrapped: opened at 2000-01-01, done 2^63 - 1 ms later. */
  cxp_buf_reset(&sec);
  section_one_case(&sec, CXP_TS_MIN_MS, INT64_MAX);
  cxp_cases *cs = make_default();
  CHECK_INT(cxp_cases_restore(cs, "c1", 2, (const uint8_t *)sec.p, sec.len, T0, err, sizeof err),
            -1);
  CHECK_CONTAINS(err, "acknowledged");
  CHECK_INT(cxp_cases_stats_get(cs).open, 0);
  cxp_cases_destroy(cs);

  /* The widest jump validation lets through: the clock at 2000-01-01 and
   * a closing in 2099 (about 3.2e9 s, within the wheel's 2^32 s). The
   * event in 2099 turns the wheel in a few hundred steps and closes k1. */
  cxp_buf_reset(&sec);
  cxp_buf_reset(&val);
  const int64_t late = CXP_TS_MAX_MS - D_MS;
  section_one_case(&sec, CXP_TS_MIN_MS, late);
  record_c1(&val, CXP_TS_MIN_MS, &sec);
  cxp_core_close(&c);
  recovery_core(&c, &pl, &o);
  CHECK_INT(cxp_core_state_restore(&c, 0, "c:c1", 4, val.p, val.len, err, sizeof err), 0);
  CHECK_INT(cxp_core_cases_open(&c, 0), 1);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  CHECK_INT(feed_core(&c, 5,
                      "{\"event_id\":\"u5\",\"type\":\"usage\",\"customer_id\":\"c5\","
                      "\"ts\":\"2099-12-31T12:00:00Z\"}"),
            CXP_OK);
  s = secs_since(&t0);
  fprintf(stderr, "restore bounds: a 100-year jump of the case clock in %.6f s\n", s);
  CHECK_LT(s, 1.0);
  CHECK_INT(cxp_core_cases_open(&c, 0), 0); /* closed at 2099-12-31T00:05 */
  cxp_core_close(&c);
  cxp_buf_free(&sec);
  cxp_buf_free(&val);
  test_ctx = NULL;
}

/* The wheel on its own, past what the decoder lets in (cxp_cases_add does
 * not check times: the decoder does): a case opened at second 0 files its
 * acknowledgement due, then a step for an unknown case at 9.2e18 ms (second
 * 9.2e15, past the wheel's 2^32 s span) is parked and files its expiry in
 * the top level, and the clock jumps there. Walking that jump in 2^24 s
 * steps would take 5.5e8 of them; the wheel files its entries again at the
 * target instead, in work bounded by the entries it holds. */
static void test_wheel_jump(void) {
  test_ctx = "wheel jump";
  cxp_cases *cs = make_default();
  cxp_event e = failure("k1", "c1", 0, "operational", 2, "customer", "app", "basic");
  CHECK_INT(add(cs, &e), CXP_CASE_OPENED);
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  const int64_t far = 9200000000000000000LL;
  e = stepev(A, "k9", far);
  CHECK_INT(add(cs, &e), CXP_CASE_PARKED);
  double s = secs_since(&t0);
  fprintf(stderr, "wheel jump: 9.2e15 s in %.6f s\n", s);
  CHECK_LT(s, 1.0);
  /* Everything k1 had fell due on the way: three acknowledge levels, three
   * resolve levels (grouped: one breach, level 3), then its abandonment
   * (192 h); the parked step waits. */
  CHECK_INT(K.nb, 1);
  CHECK_INT(K.nout, 1);
  CHECK_INT(K.nex, 0);
  CHECK_INT(cxp_cases_stats_get(cs).parked_now, 1);
  /* One hour later (park_ms) it expires. */
  at(cs, far + H_MS, 0);
  CHECK_INT(K.nex, 1);
  cxp_cases_destroy(cs);
  test_ctx = NULL;
}

int main(void) {
  test_conf();
  test_state_machine();
  test_deadlines();
  test_solutions();
  test_repeat();
  test_systemic();
  test_outcomes();
  test_ids_and_merge();
  test_cap();
  test_counters();
  test_volume();
  test_core_recovery();
  test_core_severity();
  test_severity_matrix_refused();
  test_restore();
  test_restore_closed();
  test_systemic_restore();
  test_core_restore();
  test_restore_bounds();
  test_wheel_jump();
  return TEST_REPORT();
}
