#include "gen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen_int.h"
#include "timeutil.h"

/* The scenario (docs/scenario.md): a subscription service with three tiers.
 * Each customer has hidden traits that drive his events: a satisfaction in
 * 0..1 (his survey answers), an effort the service costs him, an activity
 * level, an engagement (participation) and a spend level. They move in
 * event time: causes of trouble set in at random moments (satisfaction
 * starts to fall, the service becomes hard to deal with, he drifts away,
 * the price stops being worth it, a failure's recovery stalls), and each
 * cause raises his hazard of making up his mind to leave, on top of a small
 * hazard no signal explains; once decided, he winds down for a few weeks
 * (comes less, stops buying) before he cancels. So churn has several
 * causes, each seen only through noisy, sparse events, and some troubled
 * customers stay while some content ones leave. A customer who cancelled
 * sends nothing more. Causes are a matter of
 * days and weeks: a history of hours (the demo, the benchmarks) shows few. */



static const char *segments[] = {"gold", "silver", "bronze"};
static const char *world_names[CXP_GEN__WORLDS] = {"demo", "recovery", "competitor",
                                                   "renewal"};

int cxp_gen_world_by_name(const char *name) {
  for (int w = 0; w < CXP_GEN__WORLDS; w++)
    if (strcmp(name, world_names[w]) == 0) return w;
  return -1;
}

const char *cxp_gen_world_name(int world) {
  return world >= 0 && world < CXP_GEN__WORLDS ? world_names[world] : "?";
}

const char *cxp_gen_world_names(void) { return "demo, recovery, competitor, renewal"; }

/* Round sums, so that a test (or a reader of the events) can tell the fee
 * from a purchase of the usual kind, whose amounts have cents. */
double cxp_gen_renewal_fee(const char *segment) {
  return strcmp(segment, "gold") == 0 ? 249 : strcmp(segment, "silver") == 0 ? 149 : 79;
}
static const char *channels[] = {"app", "web", "phone", "store", "chat", "email"};
static const char *categories[] = {"design", "operational", "communication",
                                   "reputational", "promise", "other"};
static const char *steps[] = {"recovery.acknowledged", "recovery.apologized",
                              "recovery.compensated", "recovery.resolved",
                              "recovery.followed_up"};
static const char *dims[] = {"tangibles", "reliability", "responsiveness", "assurance",
                             "empathy"};

/* Whether an event of rate `per_day` happens within dt days. */
static int happens(cxp_gen *g, double per_day, double dt) {
  return unif(g) < 1 - exp(-per_day * dt);
}

void cxp_gen_opts_default(cxp_gen_opts *o) {
  o->seed = 42;
  o->customers = 10000;
  o->start_ms = 1795392000000LL; /* 2026-11-23T00:00:00Z */
  o->events_per_sec = 50.0;
  o->bad_ratio = 0.01;
  o->world = CXP_GEN_DEMO;
  o->pipeline = "default";
}

cxp_gen *cxp_gen_create(const cxp_gen_opts *o) {
  if (o->world < 0 || o->world >= CXP_GEN__WORLDS) return NULL;
  cxp_gen *g = calloc(1, sizeof *g);
  if (g == NULL) return NULL;
  g->o = *o;
  if (g->o.customers == 0) g->o.customers = 1;
  g->rng = o->seed * 0x9E3779B97F4A7C15ULL + 0x1234567ULL;
  if (g->rng == 0) g->rng = 1;
  g->t_ms = o->start_ms;
  g->c = calloc(g->o.customers, sizeof *g->c);
  g->due = calloc(2 * (size_t)g->o.customers, sizeof *g->due);
  if (g->o.pipeline == NULL) g->o.pipeline = "default";
  if (g->c == NULL || g->due == NULL) {
    free(g->c);
    free(g->due);
    free(g);
    return NULL;
  }
  for (uint32_t i = 0; i < g->o.customers; i++) {
    gcust *c = &g->c[i];
    double u = unif(g);
    c->segment = segments[u < 0.15 ? 0 : u < 0.5 ? 1 : 2];
    /* Most customers are content to begin with (fewer detractors than
     * an even spread would give); gold ones a little more. */
    c->base_sat = clamp01(0.55 + 0.35 * unif(g) + (u < 0.15 ? 0.05 : 0));
    c->sat = c->base_sat;
    c->drift = 0.004 + 0.006 * unif(g);
    /* One in eight finds the service hard from the start. */
    c->effort = unif(g) < 0.1 ? 0.55 + 0.4 * unif(g) : 0.3 * unif(g);
    c->engage = unif(g);
    c->spend = 10 + 90 * unif(g);
    c->act = 1;
    c->open_step = -1;
    c->cl_step = -1;
    c->consent_told = 1;
    c->consent = unif(g) >= 0.05;
    /* Drawn only in the other worlds: the demo's stream of numbers, hence
     * its events, stays as it was. */
    if (g->o.world != CXP_GEN_DEMO) {
      c->sens = unif(g);
      c->renew_at = o->start_ms + (int64_t)(unif(g) * CXP_GEN_TERM_DAYS * DAY_MS);
    }
  }
  return g;
}

void cxp_gen_destroy(cxp_gen *g) {
  if (g == NULL) return;
  free(g->c);
  free(g->due);
  free(g);
}

int64_t cxp_gen_time(const cxp_gen *g) { return g->t_ms; }

/* Leaving takes time: once he has made up his mind (the hazard fired) he
 * winds down before he cancels, coming back a third as often and no longer
 * buying: 2 days and an exponential of mean 20 more. */
#define LEAVING_ACT 0.3
static int64_t leave_notice(cxp_gen *g) {
  return (int64_t)((2 - log(1.0 - unif(g)) * 20) * DAY_MS);
}

/* ---- Other worlds ---------------------------------------------------------
 *
 * The same customers, event types and fields, each with a churn mechanism of
 * its own, unlike the demo's and each other's (docs/scenario.md, "Other
 * worlds"). What they share: the effort a customer finds in the service
 * shows in his CES answers and contacts as in the demo but drives nobody
 * away (except at a renewal), and quiet spells (holidays, a busy month)
 * lower his activity for a few weeks and pass, so that a drop in activity
 * does not by itself announce a cancellation. */

#define LULL_PER_DAY (1.0 / 150)
#define LULL_ACT 0.35

/* An exponential of mean `mean` days, in ms. */
static int64_t exp_days(cxp_gen *g, double mean) {
  return (int64_t)(-log(1.0 - unif(g)) * mean * DAY_MS);
}

/* Recovery: how much his poorly handled cases weigh on him at t. The weight
 * builds over two weeks after the judgement (he does not leave in anger the
 * same day; he stops trusting the provider) and halves every 45 days after. */
static double grudge_weight(const gcust *c, int64_t t, int ramp) {
  if (!c->grudge_at) return 0;
  double a = (double)(t - c->grudge_at) / DAY_MS;
  double w = c->grudge * (a > 14 ? exp2(-(a - 14) / 45) : 1);
  return ramp ? w * clamp01(a / 14) : w;
}

/* Recovery: a case is judged when it is resolved. Resolved within 5 days
 * and, when severe, compensated, it lifts him above where he was (the
 * recovery paradox); otherwise it leaves a grudge and lowers where his
 * satisfaction settles. A cause not fixed fails again, and he reports the
 * repeat himself. */
static void judge_case(cxp_gen *g, gcust *c, int64_t t, int fixed) {
  double days = (double)(t - c->case_at) / DAY_MS;
  int poor = days > 5 || (c->comp_skipped && c->open_sev >= 3);
  if (poor) {
    c->grudge = fmin(3, grudge_weight(c, t, 0) + 1);
    c->grudge_at = t;
    c->base_sat = clamp01(c->base_sat - 0.12);
    c->sat = clamp01(c->sat - 0.15);
  } else {
    c->sat = clamp01(c->sat + 0.08);
  }
  if (unif(g) < (poor ? 0.7 : fixed ? 0 : 0.3))
    c->repeat_at = t + (int64_t)(3 * DAY_MS) + exp_days(g, 10);
}

/* Recovery: the hazard of deciding to leave is the grudge's, with a little
 * for low satisfaction and a little no signal explains. He then uses the
 * service less and less over the weeks before he cancels. */
static void evolve_recovery(cxp_gen *g, gcust *c, int64_t t, double dt) {
  double h = 0.0003 + 0.007 * grudge_weight(c, t, 1) + 0.004 * clamp01((0.45 - c->sat) / 0.45);
  h *= 1.25 - 0.5 * c->engage;
  if (happens(g, h, dt)) {
    c->decided_at = t;
    c->leave_at = t + (int64_t)(7 * DAY_MS) + exp_days(g, 21);
  }
}

/* Competitor: from the shock, a rival's offer catches the eye of bronze
 * customers (the more price-sensitive, the sooner; word of it spreads over
 * a month). One tempted stops buying and rates the service's value lower;
 * three in four leave after weighing it for a few weeks, the others give
 * the offer up. Everyone also has a small hazard of leaving that no signal
 * explains, with short notice. */
static void evolve_competitor(cxp_gen *g, gcust *c, int64_t t, double dt) {
  int64_t shock = g->o.start_ms + (int64_t)(CXP_GEN_SHOCK_DAY * DAY_MS);
  if (c->tempted_until && t >= c->tempted_until) {
    c->tempted_until = 0;
    c->value_pen = 0;
    c->buy_skip = 0;
  }
  if (c->segment == segments[2] && t >= shock && !c->tempted_at) {
    double spread = clamp01((double)(t - shock) / DAY_MS / 30);
    if (happens(g, 0.02 * c->sens * spread, dt)) {
      c->tempted_at = t;
      c->value_pen = 0.35;
      c->buy_skip = 0.85;
      if (unif(g) < 0.8) {
        c->decided_at = t;
        c->leave_at = t + (int64_t)(7 * DAY_MS) + exp_days(g, 21);
        return;
      }
      c->tempted_until = t + (int64_t)(14 * DAY_MS) + exp_days(g, 30);
    }
  }
  if (happens(g, 0.0004, dt)) {
    c->decided_at = t;
    c->leave_at = t + (int64_t)(2 * DAY_MS) + exp_days(g, 5);
  }
}

/* Renewal: three weeks before each renewal date he weighs the next term:
 * the harder the service and the more price-sensitive he is, the likelier
 * he gives notice, and he cancels in the two weeks before the date. A
 * price-sensitive customer's doubts show as the date nears: he buys fewer
 * extras and rates the value lower. Otherwise he pays the fee at the date.
 * A little churn off the cycle, that no signal explains. */
static void evolve_renewal(cxp_gen *g, gcust *c, int64_t t, double dt) {
  const int64_t term = (int64_t)(CXP_GEN_TERM_DAYS * DAY_MS);
  if (!c->term_decided && t >= c->renew_at - (int64_t)(21 * DAY_MS)) {
    c->term_decided = 1;
    double p = 0.02 + 0.45 * clamp01((c->effort - 0.45) / 0.5) + 0.35 * c->sens * c->sens;
    /* The renewal is automatic: one in a quiet spell lets it pass. */
    if (unif(g) < p * c->act) {
      int64_t at = c->renew_at - (int64_t)(unif(g) * 14 * DAY_MS);
      c->decided_at = t;
      c->leave_at = at > t ? at : t + 3600000;
      return;
    }
  }
  if (t >= c->renew_at) {
    c->fee_due = 1;
    c->renew_at += term;
    c->term_decided = 0;
  }
  double near = clamp01(1 - (double)(c->renew_at - t) / DAY_MS / 60);
  c->value_pen = 0.35 * c->sens * near;
  c->buy_skip = 0.95 * c->sens * near;
  if (happens(g, 0.0002, dt)) {
    c->decided_at = t;
    c->leave_at = t + (int64_t)(2 * DAY_MS) + exp_days(g, 5);
  }
}

/* evolve() for the other worlds. */
static void evolve_world(cxp_gen *g, gcust *c, int64_t t, double dt) {
  if (!c->effort_at && happens(g, 1.0 / 1500, dt)) {
    c->effort_at = t;
    if (c->effort < 0.5) c->effort = 0.55 + 0.4 * unif(g);
  }
  if (c->lull_until && t >= c->lull_until) c->lull_until = 0;
  if (!c->lull_until && happens(g, LULL_PER_DAY, dt))
    c->lull_until = t + (int64_t)(7 * DAY_MS) + exp_days(g, 14);
  c->act = c->lull_until ? LULL_ACT : 1;
  c->sat = clamp01(c->sat + (c->base_sat - c->sat) * (1 - exp(-dt / 30)));
  if (c->stall_until && t >= c->stall_until) c->stall_until = 0;
  if (c->leave_at) {
    if (t >= c->leave_at) c->churn_due = 1;
    return;
  }
  switch (g->o.world) {
  case CXP_GEN_RECOVERY: evolve_recovery(g, c, t, dt); break;
  case CXP_GEN_COMPETITOR: evolve_competitor(g, c, t, dt); break;
  default: evolve_renewal(g, c, t, dt); break;
  }
}

/* How likely he is to be the one picked, of his usual: the demo's leaver
 * comes a third as often; the recovery world's fades out over his notice;
 * the others' come as usual to the end (he uses what he has paid for). */
static double presence(const cxp_gen *g, const gcust *c) {
  if (g->o.world == CXP_GEN_DEMO) return c->act * (c->leave_at ? LEAVING_ACT : 1);
  if (g->o.world == CXP_GEN_RECOVERY && c->leave_at && c->leave_at > c->decided_at) {
    double done = (double)(g->t_ms - c->decided_at) / (double)(c->leave_at - c->decided_at);
    return c->act * (1 - 0.65 * clamp01(done));
  }
  return c->act;
}

/* Moves a customer's traits to time t: causes set in, satisfaction follows
 * its target, activity fades, and the hazard of deciding to leave over the time
 * since his last move may fire. Called whenever he is picked, so it draws
 * the same numbers for the same history. */
static void evolve(cxp_gen *g, gcust *c, int64_t t) {
  if (c->t_last == 0) c->t_last = t;
  double dt = (double)(t - c->t_last) / DAY_MS;
  c->t_last = t;
  if (c->cancelled) return;
  if (g->o.world != CXP_GEN_DEMO) {
    evolve_world(g, c, t, dt);
    return;
  }
  /* Onsets, each a rare event in time (per day). */
  if (!c->fall_at && happens(g, 1.0 / 700, dt)) c->fall_at = t;
  if (!c->fade_at && happens(g, 1.0 / 1000, dt)) c->fade_at = t;
  if (!c->price_at && happens(g, 1.0 / 1500, dt)) c->price_at = t;
  if (!c->effort_at && happens(g, 1.0 / 1500, dt)) {
    c->effort_at = t;
    if (c->effort < 0.5) c->effort = 0.55 + 0.4 * unif(g);
  }
  double target = c->base_sat;
  if (c->fall_at) target -= c->drift * (double)(t - c->fall_at) / DAY_MS;
  /* Satisfaction settles toward its target over about a month: a failure's
   * dent, or a good recovery's lift, fades. */
  c->sat = clamp01(c->sat + (clamp01(target) - c->sat) * (1 - exp(-dt / 30)));
  c->act = c->fade_at ? fmax(0.03, exp2(-(double)(t - c->fade_at) / DAY_MS / 8)) : 1;
  if (c->stall_until && t >= c->stall_until) c->stall_until = 0;

  /* The hazard of cancelling, per day: a little for everyone, more for each
   * cause present; engaged customers are more forgiving. */
  double h = 0.0004;
  h += 0.025 * clamp01((0.5 - c->sat) / 0.5);
  /* A cause weighs on him gradually (over weeks after its onset), as the
   * evidence of it gathers: nobody leaves the day a price goes up. */
  double effort_w = c->effort_at ? clamp01((double)(t - c->effort_at) / DAY_MS / 30) : 0.5;
  h += 0.012 * effort_w * clamp01((c->effort - 0.5) / 0.5);
  if (c->fade_at) h += 0.02 * (1 - c->act);
  if (c->price_at) h += 0.012 * clamp01((double)(t - c->price_at) / DAY_MS / 30);
  if (c->stall_until && t - c->case_at > 7 * DAY_MS) h += 0.012;
  h *= 1.25 - 0.5 * c->engage;
  if (c->leave_at) {
    if (t >= c->leave_at) c->churn_due = 1;
    return;
  }
  if (happens(g, h, dt)) c->leave_at = t + leave_notice(g);
}

/* Picks the customer of the next event: skewed, so a few customers are much
 * more active than most, and in proportion to what activity each still has;
 * never one who cancelled. */
static uint32_t pick_customer(cxp_gen *g) {
  uint32_t n = g->o.customers, ci = 0;
  for (int tries = 0; tries < 64; tries++) {
    double u = unif(g);
    ci = (uint32_t)(u * u * n);
    if (ci >= n) ci = n - 1;
    gcust *c = &g->c[ci];
    evolve(g, c, g->t_ms);
    /* One who has decided to leave comes to cancel, however quiet. */
    if (!c->cancelled &&
        (c->churn_due || unif(g) < presence(g, c)))
      return ci;
  }
  /* Nearly everyone gone quiet: the next one still subscribed. */
  for (uint32_t k = 0; k < n; k++)
    if (!g->c[(ci + k) % n].cancelled) return (ci + k) % n;
  return ci;
}

/* A survey score on a 1..hi (or 0..hi) scale from latent satisfaction, with
 * noise. */
static int score(cxp_gen *g, double sat, int lo, int hi) {
  double x = sat + (unif(g) - 0.5) * 0.35;
  int s = lo + (int)lround(clamp01(x) * (hi - lo));
  return s < lo ? lo : s > hi ? hi : s;
}

static size_t bad_event(cxp_gen *g, char *buf, size_t cap, const char *cid, char *ts) {
  switch (pick(g, 6)) {
  case 0:
    return (size_t)snprintf(buf, cap, "{\"event_id\":\"e%llu\",\"type\":\"survey.csat\",",
                            (unsigned long long)g->seq);
  case 1:
    return (size_t)snprintf(buf, cap,
                            "{\"event_id\":\"e%llu\",\"type\":\"survey.csat\",\"ts\":\"%s\","
                            "\"score\":4}",
                            (unsigned long long)g->seq, ts);
  case 2:
    return (size_t)snprintf(buf, cap,
                            "{\"event_id\":\"e%llu\",\"type\":\"survey.nps\",\"customer_id\":"
                            "\"%s\",\"ts\":\"%s\",\"score\":11}",
                            (unsigned long long)g->seq, cid, ts);
  case 3:
    return (size_t)snprintf(buf, cap,
                            "{\"event_id\":\"e%llu\",\"type\":\"survey.mood\",\"customer_id\":"
                            "\"%s\",\"ts\":\"%s\",\"score\":3}",
                            (unsigned long long)g->seq, cid, ts);
  case 4:
    return (size_t)snprintf(buf, cap,
                            "{\"event_id\":\"e%llu\",\"type\":\"usage\",\"customer_id\":"
                            "\"%s\",\"ts\":\"yesterday\"}",
                            (unsigned long long)g->seq, cid);
  default:
    return (size_t)snprintf(buf, cap,
                            "{\"event_id\":\"e%llu\",\"type\":\"survey.ces\",\"customer_id\":"
                            "\"%s\",\"ts\":\"%s\",\"score\":\"easy\"}",
                            (unsigned long long)g->seq, cid, ts);
  }
}


/* Moves event time on: exponential gaps give a Poisson stream at the
 * configured rate. */
static void advance(cxp_gen *g) {
  g->seq++;
  double gap = -log(1.0 - unif(g)) * 1000.0 / g->o.events_per_sec + g->t_frac;
  g->t_ms += (int64_t)gap;
  g->t_frac = gap - floor(gap);
}


/* The open case's next step: recovery goes on; poor recovery (a step
 * skipped) happens too. */
static size_t recovery_event(cxp_gen *g, draft *d) {
  gcust *c = d->c;
  int step = c->open_step;
  if (step == 2 && unif(g) < 0.3) {
    step = 3;
    c->comp_skipped = 1;
  }
  char extra[96] = "";
  if (step == 2) snprintf(extra, sizeof extra, ",\"amount\":%d", 5 + pick(g, 50));
  if (step == 3) {
    int fixed = unif(g) < 0.6;
    snprintf(extra, sizeof extra, ",\"root_cause_fixed\":%s", fixed ? "true" : "false");
    if (g->o.world == CXP_GEN_RECOVERY) judge_case(g, c, d->t, fixed);
  }
  size_t n = (size_t)snprintf(d->buf, d->cap, "%s\"type\":\"%s\",\"case_id\":\"%s-k%u\"%s}",
                              d->head, steps[step], d->cid, c->cases, extra);
  c->open_step = step + 1 > 4 ? -1 : step + 1;
  c->sat = clamp01(c->sat + 0.04);
  if (c->open_step >= 0) gen_schedule_step(g, d->ci, d->t);
  return n;
}

/* A purchase, unless the price weighs on him or he is winding down. */
static size_t purchase_event(cxp_gen *g, draft *d) {
  gcust *c = d->c;
  char *buf = d->buf;
  size_t cap = d->cap;
  const char *head = d->head;
  if (g->o.world != CXP_GEN_DEMO) {
    /* The other worlds: he forgoes a share of his purchases (tempted by a
     * rival, doubting a renewal), and moves to a cheaper plan once when
     * tempted. */
    if (c->buy_skip > 0 && unif(g) < c->buy_skip) {
      if (c->tempted_at && !c->downgraded && unif(g) < 0.5) {
        c->downgraded = 1;
        return (size_t)snprintf(buf, cap, "%s\"type\":\"subscription.downgraded\"}", head);
      }
      return (size_t)snprintf(buf, cap, "%s\"type\":\"usage\"}", head);
    }
    return (size_t)snprintf(buf, cap, "%s\"type\":\"purchase\",\"amount\":%.2f}", head,
                            c->spend * (0.6 + 0.8 * unif(g)));
  }
  if ((c->price_at || c->leave_at) && unif(g) < 0.85) {
    /* Price: he stops buying; the first time, he moves to a cheaper plan.
     * One winding down stops buying too. */
    if (c->price_at && !c->downgraded) {
      c->downgraded = 1;
      return (size_t)snprintf(buf, cap, "%s\"type\":\"subscription.downgraded\"}", head);
    }
    return (size_t)snprintf(buf, cap, "%s\"type\":\"usage\"}", head);
  }
  return (size_t)snprintf(buf, cap, "%s\"type\":\"purchase\",\"amount\":%.2f}", head,
                          c->spend * (0.6 + 0.8 * unif(g)));
}

/* A failure opens a case; a quarter of them the customer reports. */
static size_t failure_event(cxp_gen *g, draft *d, int repeat) {
  gcust *c = d->c;
  char *buf = d->buf;
  size_t cap = d->cap;
  const char *head = d->head, *cid = d->cid;
  c->cases++;
  c->open_step = 0;
  c->comp_skipped = 0;
  c->open_sev = 1 + pick(g, 4);
  c->case_at = d->t;
  c->sat = clamp01(c->sat - 0.12);
  gen_schedule_step(g, d->ci, d->t);
  if (repeat || unif(g) < 0.25)
    return (size_t)snprintf(buf, cap,
                            "%s\"type\":\"complaint\",\"case_id\":\"%s-k%u\",\"category\":"
                            "\"%s\",\"severity\":%d}",
                            head, cid, c->cases, categories[pick(g, 6)], c->open_sev);
  return (size_t)snprintf(buf, cap,
                          "%s\"type\":\"service.failure\",\"case_id\":\"%s-k%u\","
                          "\"category\":\"%s\",\"severity\":%d,\"detected_by\":\"%s\","
                          "\"touchpoint\":\"tp%d\"}",
                          head, cid, c->cases, categories[pick(g, 6)], c->open_sev,
                          unif(g) < 0.6 ? "provider" : "customer", pick(g, 8));
}

/* What a customer does of his own accord, chosen by the draw `r`. */
static size_t customer_event(cxp_gen *g, draft *d, double r) {
  gcust *c = d->c;
  char *buf = d->buf;
  size_t cap = d->cap;
  const char *head = d->head;
  /* A survey answer rates his satisfaction less what he thinks the service
   * is worth against its price (the other worlds; 0 in the demo's). */
  double vs = c->sat - c->value_pen;
  if (c->repeat_at && d->t >= c->repeat_at && c->open_step < 0) {
    c->repeat_at = 0;
    return failure_event(g, d, 1);
  }
  if (r < 0.30)
    return (size_t)snprintf(buf, cap, "%s\"type\":\"usage\",\"count\":%d}", head,
                            1 + pick(g, 5));
  if (r < 0.42) return purchase_event(g, d);
  if (r < 0.52) {
    /* A hard service makes for long waits and unresolved contacts; in the
     * recovery world, none is resolved while his case is stalled. */
    double ok = g->o.world == CXP_GEN_RECOVERY && c->stall_until ? 0
                                                                  : c->sat * (1 - 0.4 * c->effort);
    return (size_t)snprintf(buf, cap,
                            "%s\"type\":\"contact\",\"wait_s\":%d,\"handle_s\":%d,"
                            "\"resolved\":%s,\"agent_id\":\"a%02d\"}",
                            head, (int)(pick(g, 600) * (1 + 2 * c->effort)),
                            60 + pick(g, 900),
                            unif(g) < ok ? "true" : "false",
                            pick(g, 40));
  }
  if (r < 0.64)
    return (size_t)snprintf(buf, cap, "%s\"type\":\"survey.csat\",\"score\":%d}", head,
                            score(g, vs, 1, 5));
  if (r < 0.74) {
    int s = score(g, vs, 0, 10);
    gen_detractor_answer(g, d, s);
    return (size_t)snprintf(buf, cap, "%s\"type\":\"survey.nps\",\"score\":%d}", head, s);
  }
  if (r < 0.79) {
    /* Ease more than contentment. */
    return (size_t)snprintf(buf, cap, "%s\"type\":\"survey.ces\",\"score\":%d}", head,
                            score(g, 0.3 * c->sat + 0.7 * (1 - c->effort), 1, 7));
  }
  if (r < 0.82) {
    int dim = pick(g, 5);
    int e = 5 + pick(g, 3);
    return (size_t)snprintf(buf, cap,
                            "%s\"type\":\"survey.servqual\",\"dimensions\":{\"%s\":{"
                            "\"expected\":%d,\"perceived\":%d}}}",
                            head, dims[dim], e, score(g, vs, 1, 7));
  }
  /* The recovery world's failures are a third as frequent: each matters. */
  if (r < 0.85 && c->open_step < 0 && (g->o.world != CXP_GEN_RECOVERY || r < 0.83))
    return failure_event(g, d, 0);
  if (r >= 0.87 && r < 0.93 && unif(g) < 0.3 + 0.7 * c->engage) {
    /* Participation comes from the engaged; referrals from the content. */
    if (r >= 0.91 && unif(g) < c->sat)
      return (size_t)snprintf(buf, cap, "%s\"type\":\"referral\"}", head);
    return (size_t)snprintf(buf, cap, "%s\"type\":\"feedback\",\"kind\":\"%s\"}", head,
                            unif(g) < 0.5 ? "suggestion" : "review");
  }
  if (r >= 0.93 && r < 0.96) {
    c->consent_told = c->consent;
    return (size_t)snprintf(buf, cap, "%s\"type\":\"profile\",\"clv\":%d,\"consent\":%s}",
                            head, 100 + pick(g, 5000), c->consent ? "true" : "false");
  }
  return (size_t)snprintf(buf, cap, "%s\"type\":\"usage\"}", head);
}

/* Writes one new event into g->pend and its key into g->pend_key. */
static void generate(cxp_gen *g) {
  advance(g);
  /* A recovery step that has come due goes first (unless its customer has
   * left meanwhile). */
  draft d;
  uint32_t e = gen_due_entry(g);
  int recovery = e != UINT32_MAX;
  d.ci = recovery ? e >> 1 : pick_customer(g);
  d.c = &g->c[d.ci];
  if (recovery) evolve(g, d.c, g->t_ms);
  d.t = g->t_ms;
  snprintf(d.cid, sizeof d.cid, "c%06u", d.ci);
  cxp_time_format(d.t, d.ts);
  snprintf(g->pend_key, sizeof g->pend_key, "%s", d.cid);
  d.buf = g->pend;
  d.cap = sizeof g->pend;

  size_t n;
  if (unif(g) < g->o.bad_ratio) {
    n = bad_event(g, d.buf, d.cap, d.cid, d.ts);
  } else {
    snprintf(d.head, sizeof d.head,
             "{\"event_id\":\"e%llu\",\"customer_id\":\"%s\",\"ts\":\"%s\","
             "\"segment\":\"%s\",\"channel\":\"%s\",",
             (unsigned long long)g->seq, d.cid, d.ts, d.c->segment, channels[pick(g, 6)]);
    if (d.c->churn_due && !recovery) {
      d.c->churn_due = 0;
      d.c->cancelled = 1;
      n = (size_t)snprintf(d.buf, d.cap, "%s\"type\":\"subscription.cancelled\"}", d.head);
    } else if (d.c->fee_due && !recovery) {
      d.c->fee_due = 0;
      n = (size_t)snprintf(d.buf, d.cap, "%s\"type\":\"purchase\",\"amount\":%.2f}", d.head,
                           cxp_gen_renewal_fee(d.c->segment));
    } else {
      /* Drawn for a recovery step too, so the stream stays as it was. */
      double r = unif(g);
      n = !recovery ? customer_event(g, &d, r)
          : e & 1   ? gen_call_event(g, &d)
                    : recovery_event(g, &d);
    }
  }
  /* The draws are made while the text is written, so it could not be
   * written again: the buffer is sized so that it never has to be. */
  if (n >= d.cap) abort();
  g->pend_len = n;
}

size_t cxp_gen_next(cxp_gen *g, char *buf, size_t cap, char *key, size_t key_cap,
                    size_t *key_len) {
  if (!g->has_pend) {
    generate(g);
    g->has_pend = 1;
  }
  snprintf(key, key_cap, "%s", g->pend_key);
  *key_len = strlen(key);
  if (g->pend_len >= cap) return g->pend_len + 1;
  memcpy(buf, g->pend, g->pend_len + 1);
  g->has_pend = 0;
  return g->pend_len;
}
