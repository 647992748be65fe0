#include "gen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

#define DAY_MS 86400000.0

typedef struct gcust {
  double sat;       /* latent satisfaction, 0..1 */
  double base_sat;  /* where it settles without trouble */
  double drift;     /* per day, once falling satisfaction sets in */
  double effort;    /* 0..1: how hard the service is to deal with */
  double engage;    /* 0..1: inclination to give feedback and refer */
  double spend;     /* usual purchase amount */
  double act;       /* 0..1: share of his usual activity he still has */
  int64_t t_last;   /* event time his traits were last moved to; 0 never */
  int64_t fall_at, fade_at, price_at, effort_at; /* onsets of those causes; 0 none */
  int64_t case_at;  /* the open case's opening time */
  int64_t step_due; /* when the open case's next recovery step happens */
  int64_t stall_until; /* the open case's recovery is stalled till then; 0 not */
  int64_t leave_at; /* he has decided to leave: cancels at this time; 0 not */
  uint32_t cases;   /* failures so far: the case number */
  int open_step;    /* next recovery step of the open case; -1 none */
  int open_sev;
  int consent;
  int cancelled;
  int churn_due;    /* the hazard fired: his next event is the cancellation */
  int downgraded;
  const char *segment;
} gcust;

struct cxp_gen {
  cxp_gen_opts o;
  uint64_t rng;
  uint64_t seq;
  int64_t t_ms;
  double t_frac;
  gcust *c;
  /* Customers with a recovery step due, a binary min-heap on step_due: the
   * provider's side of a case runs on its own clock (hours), not the
   * customer's activity. One open case per customer, so n <= customers. */
  uint32_t *due;
  uint32_t n_due;
  /* An event generated for a caller whose buffer was too small: handed out
   * by the next call instead of a new one, so a retry gives the same event. */
  char pend[1024]; /* far more than the longest event */
  size_t pend_len;
  int has_pend;
  char pend_key[32];
};

static const char *segments[] = {"gold", "silver", "bronze"};
static const char *channels[] = {"app", "web", "phone", "store", "chat", "email"};
static const char *categories[] = {"design", "operational", "communication",
                                   "reputational", "promise", "other"};
static const char *steps[] = {"recovery.acknowledged", "recovery.apologized",
                              "recovery.compensated", "recovery.resolved",
                              "recovery.followed_up"};
static const char *dims[] = {"tangibles", "reliability", "responsiveness", "assurance",
                             "empathy"};

/* xorshift64*: small, fast and plenty for synthetic traffic. */
static uint64_t rnd(cxp_gen *g) {
  g->rng ^= g->rng >> 12;
  g->rng ^= g->rng << 25;
  g->rng ^= g->rng >> 27;
  return g->rng * 0x2545F4914F6CDD1DULL;
}
static double unif(cxp_gen *g) { return (double)(rnd(g) >> 11) * (1.0 / 9007199254740992.0); }
static int pick(cxp_gen *g, int n) { return (int)(unif(g) * n); }
static double clamp01(double x) { return x < 0 ? 0 : x > 1 ? 1 : x; }
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
}

cxp_gen *cxp_gen_create(const cxp_gen_opts *o) {
  cxp_gen *g = calloc(1, sizeof *g);
  if (g == NULL) return NULL;
  g->o = *o;
  if (g->o.customers == 0) g->o.customers = 1;
  g->rng = o->seed * 0x9E3779B97F4A7C15ULL + 0x1234567ULL;
  if (g->rng == 0) g->rng = 1;
  g->t_ms = o->start_ms;
  g->c = calloc(g->o.customers, sizeof *g->c);
  g->due = calloc(g->o.customers, sizeof *g->due);
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
    c->consent = unif(g) >= 0.05;
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

/* Moves a customer's traits to time t: causes set in, satisfaction follows
 * its target, activity fades, and the hazard of deciding to leave over the time
 * since his last move may fire. Called whenever he is picked, so it draws
 * the same numbers for the same history. */
static void evolve(cxp_gen *g, gcust *c, int64_t t) {
  if (c->t_last == 0) c->t_last = t;
  double dt = (double)(t - c->t_last) / DAY_MS;
  c->t_last = t;
  if (c->cancelled) return;
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

static int due_before(const cxp_gen *g, uint32_t a, uint32_t b) {
  return g->c[g->due[a]].step_due < g->c[g->due[b]].step_due;
}

static void due_swap(cxp_gen *g, uint32_t a, uint32_t b) {
  uint32_t x = g->due[a];
  g->due[a] = g->due[b];
  g->due[b] = x;
}

static void due_push(cxp_gen *g, uint32_t ci) {
  uint32_t i = g->n_due++;
  g->due[i] = ci;
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

/* Schedules the open case's next step. The resolution of one case in ten
 * stalls for weeks: the unrecovered failure. */
static void schedule_step(cxp_gen *g, uint32_t ci, int64_t t) {
  gcust *c = &g->c[ci];
  static const double mean_h[] = {3, 4, 12, 36, 48};
  int64_t d = delay_h(g, mean_h[c->open_step]);
  if (c->open_step == 3 && unif(g) < 0.1) {
    d += delay_h(g, 24 * 20) + 10 * (int64_t)DAY_MS;
    c->stall_until = t + d;
  }
  c->step_due = t + d;
  due_push(g, ci);
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
        (c->churn_due || unif(g) < c->act * (c->leave_at ? LEAVING_ACT : 1)))
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

/* The event being written: its customer, its time, and the opening that
 * every well-formed event shares (id, customer, time, segment, channel). */
typedef struct draft {
  uint32_t ci;
  gcust *c;
  int64_t t;
  char cid[32], ts[25], head[256];
  char *buf; /* g->pend */
  size_t cap;
} draft;

/* Moves event time on: exponential gaps give a Poisson stream at the
 * configured rate. */
static void advance(cxp_gen *g) {
  g->seq++;
  double gap = -log(1.0 - unif(g)) * 1000.0 / g->o.events_per_sec + g->t_frac;
  g->t_ms += (int64_t)gap;
  g->t_frac = gap - floor(gap);
}

/* The customer of a recovery step that has come due, or UINT32_MAX; the
 * case of one who has left meanwhile is dropped. */
static uint32_t due_customer(cxp_gen *g) {
  while (g->n_due && g->c[g->due[0]].step_due <= g->t_ms) {
    uint32_t k = due_pop(g);
    if (g->c[k].cancelled) {
      g->c[k].open_step = -1;
      continue;
    }
    return k;
  }
  return UINT32_MAX;
}

/* The open case's next step: recovery goes on; poor recovery (a step
 * skipped) happens too. */
static size_t recovery_event(cxp_gen *g, draft *d) {
  gcust *c = d->c;
  int step = c->open_step;
  if (step == 2 && unif(g) < 0.3) step = 3;
  char extra[96] = "";
  if (step == 2) snprintf(extra, sizeof extra, ",\"amount\":%d", 5 + pick(g, 50));
  if (step == 3)
    snprintf(extra, sizeof extra, ",\"root_cause_fixed\":%s",
             unif(g) < 0.6 ? "true" : "false");
  size_t n = (size_t)snprintf(d->buf, d->cap, "%s\"type\":\"%s\",\"case_id\":\"%s-k%u\"%s}",
                              d->head, steps[step], d->cid, c->cases, extra);
  c->open_step = step + 1 > 4 ? -1 : step + 1;
  c->sat = clamp01(c->sat + 0.04);
  if (c->open_step >= 0) schedule_step(g, d->ci, d->t);
  return n;
}

/* A purchase, unless the price weighs on him or he is winding down. */
static size_t purchase_event(cxp_gen *g, draft *d) {
  gcust *c = d->c;
  char *buf = d->buf;
  size_t cap = d->cap;
  const char *head = d->head;
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
static size_t failure_event(cxp_gen *g, draft *d) {
  gcust *c = d->c;
  char *buf = d->buf;
  size_t cap = d->cap;
  const char *head = d->head, *cid = d->cid;
  c->cases++;
  c->open_step = 0;
  c->open_sev = 1 + pick(g, 4);
  c->case_at = d->t;
  c->sat = clamp01(c->sat - 0.12);
  schedule_step(g, d->ci, d->t);
  if (unif(g) < 0.25)
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
  if (r < 0.30)
    return (size_t)snprintf(buf, cap, "%s\"type\":\"usage\",\"count\":%d}", head,
                            1 + pick(g, 5));
  if (r < 0.42) return purchase_event(g, d);
  if (r < 0.52) {
    /* A hard service makes for long waits and unresolved contacts. */
    return (size_t)snprintf(buf, cap,
                            "%s\"type\":\"contact\",\"wait_s\":%d,\"handle_s\":%d,"
                            "\"resolved\":%s,\"agent_id\":\"a%02d\"}",
                            head, (int)(pick(g, 600) * (1 + 2 * c->effort)),
                            60 + pick(g, 900),
                            unif(g) < c->sat * (1 - 0.4 * c->effort) ? "true" : "false",
                            pick(g, 40));
  }
  if (r < 0.64)
    return (size_t)snprintf(buf, cap, "%s\"type\":\"survey.csat\",\"score\":%d}", head,
                            score(g, c->sat, 1, 5));
  if (r < 0.74)
    return (size_t)snprintf(buf, cap, "%s\"type\":\"survey.nps\",\"score\":%d}", head,
                            score(g, c->sat, 0, 10));
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
                            head, dims[dim], e, score(g, c->sat, 1, 7));
  }
  if (r < 0.85 && c->open_step < 0) return failure_event(g, d);
  if (r >= 0.87 && r < 0.93 && unif(g) < 0.3 + 0.7 * c->engage) {
    /* Participation comes from the engaged; referrals from the content. */
    if (r >= 0.91 && unif(g) < c->sat)
      return (size_t)snprintf(buf, cap, "%s\"type\":\"referral\"}", head);
    return (size_t)snprintf(buf, cap, "%s\"type\":\"feedback\",\"kind\":\"%s\"}", head,
                            unif(g) < 0.5 ? "suggestion" : "review");
  }
  if (r >= 0.93 && r < 0.96)
    return (size_t)snprintf(buf, cap, "%s\"type\":\"profile\",\"clv\":%d,\"consent\":%s}",
                            head, 100 + pick(g, 5000), c->consent ? "true" : "false");
  return (size_t)snprintf(buf, cap, "%s\"type\":\"usage\"}", head);
}

/* Writes one new event into g->pend and its key into g->pend_key. */
static void generate(cxp_gen *g) {
  advance(g);
  /* A recovery step that has come due goes first (unless its customer has
   * left meanwhile). */
  draft d;
  d.ci = due_customer(g);
  int recovery = d.ci != UINT32_MAX;
  if (!recovery) d.ci = pick_customer(g);
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
    } else {
      /* Drawn for a recovery step too, so the stream stays as it was. */
      double r = unif(g);
      n = recovery ? recovery_event(g, &d) : customer_event(g, &d, r);
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
