#include "gen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

/* The scenario (docs/scenario.md): a subscription service with three tiers.
 * Each customer has a latent satisfaction in 0..1 that drives his survey
 * answers; service failures lower it, good recovery restores part of it,
 * and a customer whose satisfaction stays low cancels now and then. */

typedef struct gcust {
  double sat;      /* latent satisfaction, 0..1 */
  uint32_t cases;  /* failures so far: the case number */
  int open_step;   /* next recovery step of the open case; -1 none */
  int open_sev;
  int consent;
  int cancelled;
  const char *segment;
} gcust;

struct cxp_gen {
  cxp_gen_opts o;
  uint64_t rng;
  uint64_t seq;
  int64_t t_ms;
  double t_frac;
  gcust *c;
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
  if (g->c == NULL) {
    free(g);
    return NULL;
  }
  for (uint32_t i = 0; i < g->o.customers; i++) {
    double u = unif(g);
    g->c[i].segment = segments[u < 0.15 ? 0 : u < 0.5 ? 1 : 2];
    g->c[i].sat = clamp01(0.45 + 0.4 * unif(g) + (u < 0.15 ? 0.1 : 0));
    g->c[i].open_step = -1;
    g->c[i].consent = unif(g) >= 0.05;
  }
  return g;
}

void cxp_gen_destroy(cxp_gen *g) {
  if (g == NULL) return;
  free(g->c);
  free(g);
}

int64_t cxp_gen_time(const cxp_gen *g) { return g->t_ms; }

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

size_t cxp_gen_next(cxp_gen *g, char *buf, size_t cap, char *key, size_t key_cap,
                    size_t *key_len) {
  /* Work on a copy of the generator so that a call that finds the buffer too
   * small leaves the sequence where it was. */
  cxp_gen save = *g;
  g->seq++;
  /* Exponential gaps give a Poisson stream at the configured rate. */
  double gap = -log(1.0 - unif(g)) * 1000.0 / g->o.events_per_sec + g->t_frac;
  g->t_ms += (int64_t)gap;
  g->t_frac = gap - floor(gap);
  /* A skewed choice: a few customers are much more active than most. */
  double u = unif(g);
  uint32_t ci = (uint32_t)(u * u * g->o.customers);
  if (ci >= g->o.customers) ci = g->o.customers - 1;
  gcust *c = &g->c[ci];
  gcust saved_c = *c;
  char cid[32], ts[25], head[256];
  snprintf(cid, sizeof cid, "c%06u", ci);
  cxp_time_format(g->t_ms, ts);
  snprintf(key, key_cap, "%s", cid);
  *key_len = strlen(key);

  size_t n;
  if (unif(g) < g->o.bad_ratio) {
    n = bad_event(g, buf, cap, cid, ts);
    goto done;
  }
  int hn = snprintf(head, sizeof head,
                    "{\"event_id\":\"e%llu\",\"customer_id\":\"%s\",\"ts\":\"%s\","
                    "\"segment\":\"%s\",\"channel\":\"%s\",",
                    (unsigned long long)g->seq, cid, ts, c->segment,
                    channels[pick(g, 6)]);
  (void)hn;
  double r = unif(g);
  if (c->open_step >= 0 && r < 0.25) {
    /* Recovery goes on; poor recovery (a step skipped) happens too. */
    int step = c->open_step;
    if (step == 2 && unif(g) < 0.3) step = 3;
    char extra[96] = "";
    if (step == 2) snprintf(extra, sizeof extra, ",\"amount\":%d", 5 + pick(g, 50));
    if (step == 3)
      snprintf(extra, sizeof extra, ",\"root_cause_fixed\":%s",
               unif(g) < 0.6 ? "true" : "false");
    n = (size_t)snprintf(buf, cap, "%s\"type\":\"%s\",\"case_id\":\"%s-k%u\"%s}", head,
                         steps[step], cid, c->cases, extra);
    c->open_step = step + 1 > 4 ? -1 : step + 1;
    c->sat = clamp01(c->sat + 0.04);
  } else if (r < 0.30) {
    n = (size_t)snprintf(buf, cap, "%s\"type\":\"usage\",\"count\":%d}", head,
                         1 + pick(g, 5));
  } else if (r < 0.42) {
    n = (size_t)snprintf(buf, cap, "%s\"type\":\"purchase\",\"amount\":%.2f}", head,
                         10 + 90 * unif(g));
  } else if (r < 0.52) {
    n = (size_t)snprintf(buf, cap,
                         "%s\"type\":\"contact\",\"wait_s\":%d,\"handle_s\":%d,"
                         "\"resolved\":%s,\"agent_id\":\"a%02d\"}",
                         head, pick(g, 600), 60 + pick(g, 900),
                         unif(g) < c->sat ? "true" : "false", pick(g, 40));
  } else if (r < 0.64) {
    n = (size_t)snprintf(buf, cap, "%s\"type\":\"survey.csat\",\"score\":%d}", head,
                         score(g, c->sat, 1, 5));
  } else if (r < 0.74) {
    n = (size_t)snprintf(buf, cap, "%s\"type\":\"survey.nps\",\"score\":%d}", head,
                         score(g, c->sat, 0, 10));
  } else if (r < 0.79) {
    n = (size_t)snprintf(buf, cap, "%s\"type\":\"survey.ces\",\"score\":%d}", head,
                         score(g, c->sat, 1, 7));
  } else if (r < 0.82) {
    int d = pick(g, 5);
    int e = 5 + pick(g, 3);
    n = (size_t)snprintf(buf, cap,
                         "%s\"type\":\"survey.servqual\",\"dimensions\":{\"%s\":{"
                         "\"expected\":%d,\"perceived\":%d}}}",
                         head, dims[d], e, score(g, c->sat, 1, 7));
  } else if (r < 0.87 && c->open_step < 0) {
    /* A failure opens a case; a quarter of them the customer reports. */
    c->cases++;
    c->open_step = 0;
    c->open_sev = 1 + pick(g, 4);
    c->sat = clamp01(c->sat - 0.12);
    if (unif(g) < 0.25)
      n = (size_t)snprintf(buf, cap,
                           "%s\"type\":\"complaint\",\"case_id\":\"%s-k%u\",\"category\":"
                           "\"%s\",\"severity\":%d}",
                           head, cid, c->cases, categories[pick(g, 6)], c->open_sev);
    else
      n = (size_t)snprintf(buf, cap,
                           "%s\"type\":\"service.failure\",\"case_id\":\"%s-k%u\","
                           "\"category\":\"%s\",\"severity\":%d,\"detected_by\":\"%s\","
                           "\"touchpoint\":\"tp%d\"}",
                           head, cid, c->cases, categories[pick(g, 6)], c->open_sev,
                           unif(g) < 0.6 ? "provider" : "customer", pick(g, 8));
  } else if (r < 0.91) {
    n = (size_t)snprintf(buf, cap, "%s\"type\":\"feedback\",\"kind\":\"%s\"}", head,
                         unif(g) < 0.5 ? "suggestion" : "review");
  } else if (r < 0.93) {
    n = (size_t)snprintf(buf, cap, "%s\"type\":\"referral\"}", head);
  } else if (r < 0.96) {
    n = (size_t)snprintf(buf, cap,
                         "%s\"type\":\"profile\",\"clv\":%d,\"consent\":%s}", head,
                         100 + pick(g, 5000), c->consent ? "true" : "false");
  } else if (c->sat < 0.35 && !c->cancelled && unif(g) < 0.5) {
    c->cancelled = 1;
    n = (size_t)snprintf(buf, cap, "%s\"type\":\"subscription.cancelled\"}", head);
  } else {
    n = (size_t)snprintf(buf, cap, "%s\"type\":\"usage\"}", head);
  }
done:
  if (n >= cap) {
    *g = save;
    *c = saved_c;
    return n + 1;
  }
  return n;
}
