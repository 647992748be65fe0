/* A seeded generator of synthetic customer traffic for a subscription
 * service business; the scenario is documented in docs/scenario.md. Used by
 * the demo, the tests and the benchmarks. Deterministic: the same seed and
 * options give the same events, byte for byte. No clock reads. */
#ifndef CXP_GEN_H
#define CXP_GEN_H

#include <stddef.h>
#include <stdint.h>

typedef struct cxp_gen cxp_gen;

/* Worlds: the same customers, events and fields, but a different hidden
 * mechanism of churn (docs/scenario.md, "Other worlds"), so that a churn
 * model can be judged on more than the one world it was tuned to. */
typedef enum cxp_gen_world {
  CXP_GEN_DEMO = 0,   /* several slow causes, a wind-down before leaving */
  CXP_GEN_RECOVERY,   /* failures handled poorly, cancellations weeks later */
  CXP_GEN_COMPETITOR, /* a rival's offer at day 180 pulls price-sensitive bronze away */
  CXP_GEN_RENEWAL,    /* quarterly renewals: cancellations around the renewal date */
  CXP_GEN__WORLDS
} cxp_gen_world;

/* The world of that name, or -1. */
int cxp_gen_world_by_name(const char *name);
/* A world's name; "?" out of range. */
const char *cxp_gen_world_name(int world);
/* Every world's name, comma-separated, for an error that lists them. */
const char *cxp_gen_world_names(void);

/* The competitor world's shock, in days after start_ms. */
#define CXP_GEN_SHOCK_DAY 180
/* The renewal world's term: every customer renews every this many days, and
 * pays the segment's fee (a `purchase` of exactly this amount) when he does. */
#define CXP_GEN_TERM_DAYS 91
double cxp_gen_renewal_fee(const char *segment);

typedef struct cxp_gen_opts {
  uint64_t seed;
  uint32_t customers;      /* population size */
  int64_t start_ms;        /* event time of the first event */
  double events_per_sec;   /* event-time rate: average spacing between events */
  double bad_ratio;        /* share of malformed events, 0..1 */
  int world;               /* a cxp_gen_world; CXP_GEN_DEMO by default */
  /* The pipeline's name, which a detractor's case id is made from: the CX
   * team's calls back name that case ("default" by default). */
  const char *pipeline;
} cxp_gen_opts;

void cxp_gen_opts_default(cxp_gen_opts *o);
cxp_gen *cxp_gen_create(const cxp_gen_opts *o);
void cxp_gen_destroy(cxp_gen *g);

/* Writes the next event (one JSON object, no newline) into buf and its key
 * (the customer id; may be empty for a malformed event) into key. Returns the
 * event's length, or the length it needs when cap is too small (nothing is
 * written then; call again with more room). */
size_t cxp_gen_next(cxp_gen *g, char *buf, size_t cap, char *key, size_t key_cap,
                    size_t *key_len);

/* Event time of the last event generated. */
int64_t cxp_gen_time(const cxp_gen *g);

#endif
