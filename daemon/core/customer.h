/* One customer's state and his indicators (docs/domain.md section 3).
 *
 * Every rolling figure is a fixed-point forward-decayed sum (decay.h), in
 * event time, so the same events in any order, or replayed, give
 * bit-identical state. Three half-lives (pipeline `decay.*`): the main one
 * (CSAT, NPS, CES, SERVQUAL, complaints, activity, delivered value), a short
 * one (recent frequency and monetary) and a long one (frequency and monetary
 * baseline, satisfaction-index baseline). Derived figures (ratios, the
 * satisfaction index) are computed on demand by cxp_customer_indicators.
 *
 * The settings live in a plain struct (cxp_customer_conf), which its holder
 * (the core) fills from the pipeline at start and on every reload
 * (cxp_pipeline_customer, pipeline.h): this module does not know the
 * pipeline. */
#ifndef CXP_CUSTOMER_H
#define CXP_CUSTOMER_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

#define CXP_ID_MAX 128
/* The churn model's features (churn.h: CXP_CF__COUNT, which churn.c checks
 * against this). */
#define CXP_SAMPLE_FEATURES 11
#define CXP_SEG_MAX 64
#define CXP_DEDUP_RING 8

/* Alert types. Those before CXP_AL_CUSTOMER are about one customer and
 * may have a per-customer cooldown (his record keeps a stamp of each); the
 * ones after it are about several customers. */
typedef enum {
  CXP_AL_RECOVERY_REQUIRED,
  CXP_AL_SLA_BREACHED,
  CXP_AL_CLOSED_LOOP,
  CXP_AL_CHURN_RISK,
  CXP_AL_SATISFACTION_DROP,
  CXP_AL_SERVQUAL_GAP,
  CXP_AL_SEGMENT_ANOMALY,
  CXP_AL_AGENT_FLAG,
  CXP_AL_CUSTOMER, /* the stamps a customer's record keeps; not a type */
  CXP_AL_SLA_DIGEST = CXP_AL_CUSTOMER,
  CXP_AL__COUNT
} cxp_alert_type;

enum { CXP_HL_MAIN, CXP_HL_SHORT, CXP_HL_LONG, CXP_HL__COUNT };

/* The decayed sums, by family (half-life). */
typedef enum {
  /* main half-life */
  CXP_S_CSAT_SAT,  /* responses scoring 4-5 */
  CXP_S_CSAT_N,
  CXP_S_NPS_SUM,
  CXP_S_NPS_N,
  CXP_S_CES_SUM,
  CXP_S_CES_N,
  CXP_S_SQ_GAP,    /* 5 sums of (perceived - expected + 6), one per dimension */
  CXP_S_SQ_N = CXP_S_SQ_GAP + CXP_SQ__COUNT,
  CXP_S_COMPLAINTS = CXP_S_SQ_N + CXP_SQ__COUNT,
  CXP_S_FAILURES,  /* service failures the customer met (inconvenience) */
  CXP_S_ACTIVITY,  /* feedback and referrals: customer-initiated participation */
  CXP_S_CONTACTS,
  CXP_S_RESOLVED,  /* contacts resolved */
  CXP_S_TIME_COST, /* sum over contacts of min(1, (wait + handle) / time_norm) */
  CXP_S_SENT_SUM,  /* sum of (sentiment + 1) / 2 */
  CXP_S_SENT_N,
  CXP_S__MAIN_END,
  /* short half-life */
  CXP_S_FREQ_SHORT = CXP_S__MAIN_END, /* purchases + usage counts */
  CXP_S_MON_SHORT,                    /* purchase amounts */
  CXP_S__SHORT_END,
  /* long half-life */
  CXP_S_FREQ_LONG = CXP_S__SHORT_END,
  CXP_S_MON_LONG,
  CXP_S_L_CSAT_SAT,
  CXP_S_L_CSAT_N,
  CXP_S_L_NPS_SUM,
  CXP_S_L_NPS_N,
  CXP_S_L_CES_SUM,
  CXP_S_L_CES_N,
  CXP_S_L_SQ_GAP, /* all dimensions together */
  CXP_S_L_SQ_N,
  CXP_S__LONG_END,
  /* main half-life again: sums added later go last, so that a changelog
   * record of an earlier build (its sums in index order, fewer of them)
   * reads back into the same places */
  CXP_S_SPEND = CXP_S__LONG_END, /* purchase amounts (money cost) */
  CXP_S_COMPENSATION,            /* recovery.compensated amounts */
  CXP_S_PURCHASES,               /* purchase events (loyalty: the rate he buys again at) */
  CXP_S_REFERRALS,
  CXP_S__COUNT
} cxp_sum_index;

typedef struct cxp_customer {
  uint64_t hash;
  int64_t last_offset;    /* offset of the last event applied, -1 before any */
  int64_t last_ts_ms;     /* largest event time applied */
  int64_t last_active_ms; /* largest purchase or usage time (recency); 0 none */
  int64_t nps_last_ts_ms; /* ts of the response nps_last_score came from */
  int64_t resolved_ms;    /* latest recovery.resolved of his cases; 0 none */
  int64_t landmark_ms[CXP_HL__COUNT];
  int64_t sum[CXP_S__COUNT];
  double clv;                          /* from a profile; -1 unknown */
  uint32_t recent[CXP_DEDUP_RING];     /* hashes of recent event ids */
  uint32_t alerted_s[CXP_AL_CUSTOMER]; /* last alert's event time, s since 2000; 0 none */
  uint16_t segment;                    /* interned (cxp_state); 0 none */
  uint16_t responses;                  /* survey responses applied (saturating) */
  uint8_t sq_responses[CXP_SQ__COUNT]; /* per dimension (saturating) */
  int8_t nps_last_score;               /* -1 before any */
  uint8_t consent;                     /* 1 unless a profile said false */
  uint8_t recent_pos;
  uint8_t post_pending; /* a case resolved, no CSAT/NPS since: the next one is post-recovery */
  uint8_t churn_band;   /* churn-risk band after his latest event: 0 low, 1 medium, 2 high */
  uint8_t open_cases;   /* his recovery cases open (saturating): 0 spares asking the cases */
  uint8_t overdue_cases; /* of those, with a breached step still not done (saturating); not
                            in his record: the cases work it out on restore */
  uint8_t cohort; /* recovery-paradox cohort: 0 never failed, 1 recovered well, 2 recovered
                     poorly (his latest closed case), 3 a case open and none closed */
  uint8_t id_len;
  /* Changed since his last changelog record: 1 + his index on his shard's
   * dirty list (so that leaving it costs O(1)); 0 when clean. */
  uint32_t dirty;
  /* His pending churn sample (corelearn.c): the event time it was taken at
   * (0: none; minus the time of his latest outcome, none since), the
   * model's features then and his partition's learner's probability for
   * them, waiting for their label. Not in his record:
   * a restart takes a new one at his next event. */
  float sample_x[CXP_SAMPLE_FEATURES];
  float sample_p; /* his learner's probability for it then (in sample_x's padding) */
  int64_t sample_ms;
  char id[]; /* id_len bytes and a NUL */
} cxp_customer;

/* Derived figures at a moment; NAN where there is nothing to say. */
typedef struct cxp_indicators {
  double csat;           /* decayed top-2-box share, 0..100 */
  int nps_class;         /* of the latest response: 1, 0, -1; -2 none */
  int nps_last;          /* -1 none */
  double nps_mean;       /* decayed mean score, 0..10 */
  double ces;            /* decayed mean, 1..7 */
  int high_effort;       /* ces <= 3 */
  double sq_gap[CXP_SQ__COUNT]; /* decayed mean gap per dimension, -6..6 */
  double si;             /* satisfaction index 0..100 */
  double si_baseline;    /* the same from the long-horizon sums */
  double value_parts[4]; /* product, service, personnel, image; 0..1 */
  double cost_parts[4];  /* money, time, effort, inconvenience; 0..1 */
  double value, cost;    /* means of the parts present */
  double value_ratio;    /* value / cost */
  /* The loyalty triad, each per 30 days from its decayed count (main
   * half-life h): count x ln 2 x 30 d / h. For one customer the repeat-
   * purchase rate is the rate he buys at (the segment records count the
   * purchases of customers who bought before). */
  double repeat_purchase_rate, referral_rate, complaint_rate;
  double recency_days;   /* since the last purchase or usage */
  double freq_short, freq_long, mon_short, mon_long;
  double complaints;     /* decayed count */
  double activity;       /* decayed count of feedback and referrals */
  double clv;
} cxp_indicators;

/* What a customer's figures are kept and read with: every setting this
 * module reads, and no other. */
typedef struct cxp_customer_conf {
  double half_life_ms[CXP_HL__COUNT]; /* by family: decay.half_life_days, short_, long_ */
  double time_norm_s;                 /* delivered_value.time_norm_s: a contact's full cost */
  double money_norm;     /* delivered_value.money_norm: net spend whose money cost is 0.5 */
  double si_w[4]; /* satisfaction_index.weights: csat, nps, ces, servqual */
} cxp_customer_conf;

/* The bytes of a customer whose id is len bytes long (with its NUL). */
static inline size_t cxp_customer_size(size_t len) {
  return sizeof(cxp_customer) + len + 1;
}
/* A customer in zeroed memory of cxp_customer_size(len) bytes: his id (at
 * most CXP_ID_MAX bytes) and the sums' starting values. */
void cxp_customer_init(cxp_customer *c, const char *id, size_t len, uint64_t hash);
/* The same, allocated on its own (the state keeps its customers in a slab,
 * state.h); NULL when the id is too long. */
cxp_customer *cxp_customer_new(const char *id, size_t len, uint64_t hash);
/* Bytes one customer takes in the state: his record in its slab and his
 * share of the table. */
size_t cxp_customer_bytes(const cxp_customer *c);

/* Duplicate detection: 1 when this event (offset or id) was applied before;
 * otherwise records it and returns 0. offset < 0 skips the offset test. */
int cxp_customer_seen(cxp_customer *c, int64_t offset, const char *event_id, size_t len);

/* Folds an event into the customer's sums. Returns 1 when it changed a
 * satisfaction component (a survey), 0 otherwise. */
int cxp_customer_apply(cxp_customer *c, const cxp_event *ev, const cxp_customer_conf *cf);

/* The satisfaction index and its long-horizon baseline (NAN when no
 * component is present): cheap, for the alert rules. */
void cxp_customer_si(const cxp_customer *c, const cxp_customer_conf *cf, double *si,
                     double *baseline);
/* The decayed mean gap of one SERVQUAL dimension (-6..6), NAN when unasked. */
double cxp_customer_sq_gap(const cxp_customer *c, int d);

/* Every derived figure at time t. The lean one leaves out the per-dimension
 * SERVQUAL gaps and the satisfaction baseline (NAN): what the churn score
 * reads, on every event. */
void cxp_customer_indicators(const cxp_customer *c, const cxp_customer_conf *cf, int64_t t_ms,
                             cxp_indicators *out);
void cxp_customer_indicators_lean(const cxp_customer *c, const cxp_customer_conf *cf,
                                  int64_t t_ms, cxp_indicators *out);

/* The satisfaction index from its components (NAN when absent), with the
 * weights of cf: the weighted mean of those present; NAN when none. */
double cxp_satisfaction_index(double csat, double nps_mean, double ces, double sq_gap_mean,
                              const cxp_customer_conf *cf);

/* Decayed CSAT (0..100), or -1 with no responses. */
double cxp_customer_csat(const cxp_customer *c);
/* Decayed mean NPS score (0..10), or -1 with no responses. */
double cxp_customer_nps_mean(const cxp_customer *c);
/* NPS class of a score: 1 promoter, 0 passive, -1 detractor. */
int cxp_nps_class(int score);
/* A class's name: "promoter", "passive", "detractor"; NULL for any other
 * value (the indicators' -2, no response). */
const char *cxp_nps_class_name(int cls);

/* Alert cooldown stamps, in event time. */
int64_t cxp_customer_alerted_ms(const cxp_customer *c, cxp_alert_type t);
void cxp_customer_stamp_alert(cxp_customer *c, cxp_alert_type t, int64_t ts_ms);

#endif
