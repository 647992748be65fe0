/* The generator's insides, shared by gen.c (the customers and their
 * events) and genrecovery.c (the provider's and the CX team's side of a
 * case: recovery steps and call backs on their own clock), and no one
 * else's. */
#ifndef CXP_GEN_INT_H
#define CXP_GEN_INT_H

#include <stddef.h>
#include <stdint.h>

#include "gen.h"

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
  int consent_told; /* the consent his last profile event gave (1 before any) */
  /* The CX team's call back of his detractor case: the step due next (0
   * acknowledge, 1 resolve, 2 follow up; -1 none), when, and the case's id. */
  int cl_step;
  int64_t cl_due;
  int64_t cl_alerted; /* his last closed-loop alert's event time; 0 none */
  char cl_id[20];
  int cancelled;
  int churn_due;    /* the hazard fired: his next event is the cancellation */
  int downgraded;
  const char *segment;
  /* The other worlds' (see "Other worlds" below); zero in the demo's. */
  double sens;          /* price sensitivity, 0..1 */
  double value_pen;     /* what his survey answers lose to a poor sense of value */
  double buy_skip;      /* the share of his purchases he forgoes */
  double grudge;        /* recovery: poorly handled cases, weighed at grudge_at */
  int64_t grudge_at;    /* recovery: the latest poorly handled case's judgement */
  int64_t repeat_at;    /* recovery: an unfixed cause fails again then; 0 not */
  int64_t decided_at;   /* when he made up his mind to leave */
  int64_t lull_until;   /* a quiet spell ends then; 0 none */
  int64_t tempted_at;   /* competitor: when the rival's offer caught his eye */
  int64_t tempted_until; /* competitor: he gives the offer up then, and stays */
  int64_t renew_at;     /* renewal: the next renewal date */
  int term_decided;     /* renewal: he has weighed this term's renewal */
  int comp_skipped;     /* the open case's compensation was skipped */
  int fee_due;          /* renewal: his next event is the fee's payment */
} gcust;

struct cxp_gen {
  cxp_gen_opts o;
  uint64_t rng;
  uint64_t seq;
  int64_t t_ms;
  double t_frac;
  gcust *c;
  /* Recovery steps due, a binary min-heap of entries 2 x customer (his
   * case's step, at step_due) and 2 x customer + 1 (the call back of his
   * detractor case, at cl_due): the provider's side of a case runs on its
   * own clock (hours), not the customer's activity. One of each per
   * customer, so n <= 2 x customers. */
  uint32_t *due;
  uint32_t n_due;
  /* An event generated for a caller whose buffer was too small: handed out
   * by the next call instead of a new one, so a retry gives the same event. */
  char pend[1024]; /* far more than the longest event */
  size_t pend_len;
  int has_pend;
  char pend_key[32];
};

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

/* xorshift64*: small, fast and plenty for synthetic traffic. */
static inline uint64_t rnd(cxp_gen *g) {
  g->rng ^= g->rng >> 12;
  g->rng ^= g->rng << 25;
  g->rng ^= g->rng >> 27;
  return g->rng * 0x2545F4914F6CDD1DULL;
}
static inline double unif(cxp_gen *g) { return (double)(rnd(g) >> 11) * (1.0 / 9007199254740992.0); }
static inline int pick(cxp_gen *g, int n) { return (int)(unif(g) * n); }
static inline double clamp01(double x) { return x < 0 ? 0 : x > 1 ? 1 : x; }

/* genrecovery.c */
/* Schedules the next step of the customer ci's open case from t. */
void gen_schedule_step(cxp_gen *g, uint32_t ci, int64_t t);
/* A detractor's NPS answer (score 0..10) in the draft: when the daemon
 * would open a case for it, the CX team will call him back. */
void gen_detractor_answer(cxp_gen *g, draft *d, int score);
/* The call back due for the draft's customer, written into the draft. */
size_t gen_call_event(cxp_gen *g, draft *d);
/* The heap entry of a step or a call back that has come due, or
 * UINT32_MAX (see struct cxp_gen's due). */
uint32_t gen_due_entry(cxp_gen *g);

#endif
