/* Churn risk (docs/domain.md section 3): an explainable score per
 * customer from his decayed sums, a logistic model, bands with hysteresis,
 * the factors behind the score, his value and the retention actions.
 *
 * Pure: no clock, no I/O. Time is an argument, and the score is evaluated
 * lazily at any time t at or after the customer's last event: recency and
 * the activity and monetary drops are read at t, so a customer who goes
 * silent rises in risk as t moves on without any timer or event.
 *
 * The settings live in a plain struct (cxp_churn_conf), filled from the
 * pipeline's churn.* keys (cxp_pipeline_churn); its check names those keys.
 * The customer's figures are read with his own module's settings
 * (cxp_customer_conf: the half-lives among them), passed alongside. */
#ifndef CXP_CHURN_H
#define CXP_CHURN_H

#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "settings.h"
#include "customer.h"

/* The model's features, each a number of about 0..1 (or a small count), so
 * that coefficients compare and coefficient x value reads as "how much this
 * factor adds to the log-odds". */
typedef enum {
  CXP_CF_ACTIVITY_DROP,    /* 1 - short-horizon rate / long-horizon rate, 0..1 */
  CXP_CF_RECENCY,          /* log2(days since last activity / usual gap), 0..4 */
  CXP_CF_MONETARY_DROP,    /* as activity drop, over purchase amounts, 0..1 */
  CXP_CF_COMPLAINTS,       /* decayed complaint count, capped at 3 */
  CXP_CF_OPEN_CASES,       /* open recovery cases, capped at 3 */
  CXP_CF_OVERDUE_CASES,    /* of those, with a breached step, capped at 3 */
  CXP_CF_DETRACTOR,        /* latest NPS answer 0-6: 1, else 0 */
  CXP_CF_LOW_SATISFACTION, /* (50 - SI) / 50 when SI < 50, else 0 */
  CXP_CF_HIGH_EFFORT,      /* (4.5 - CES) / 3, clipped 0..1 */
  CXP_CF_VALUE_BELOW_COST, /* 1 - value/cost when under 1, else 0 */
  CXP_CF_PARTICIPATION,    /* log2(1 + decayed feedback and referrals), capped at 3 */
  CXP_CF__COUNT
} cxp_churn_factor;

/* Each feature's range, 0 to this: cxp_churn_features clips them there, and
 * the learner quantises them over it. */
extern const double cxp_churn_feature_max[CXP_CF__COUNT];

/* 1 for a factor that raises the risk, -1 for one that lowers it
 * (participation): a learnt coefficient never crosses to the other side. */
int cxp_churn_factor_sign(int f);

/* 1 / (1 + e^-x), written so that neither branch overflows exp (the
 * builtin: this header leaves math.h's names out of its includers). */
static inline double cxp_sigmoid(double x) {
  if (x >= 0) return 1 / (1 + __builtin_exp(-x));
  double e = __builtin_exp(x); /* once: exp may set errno, so two calls stay two */
  return e / (1 + e);
}

/* "activity_drop", ...: the names used in reasons and in `churn.coefficients`. */
const char *cxp_churn_factor_name(int f);
/* The factor of a name, or -1. */
int cxp_churn_factor_by_name(const char *name, size_t len);

enum { CXP_CHURN_LOW, CXP_CHURN_MEDIUM, CXP_CHURN_HIGH };
const char *cxp_churn_band_name(int band);

#define CXP_CHURN_MAX_RULES 32

/* One row of the retention-action table: (segment or any, factor or any)
 * -> actions. */
typedef struct cxp_churn_rule {
  char segment[CXP_SEG_MAX + 1]; /* "" = any segment */
  int factor;                    /* -1 = any factor */
  char actions[CXP_LIST_MAX];    /* a rendered JSON array of strings */
} cxp_churn_rule;

typedef struct cxp_churn_conf {
  double coef[CXP_CF__COUNT]; /* churn.coefficients.<factor> */
  double intercept;           /* churn.intercept */
  double cal_a, cal_b;        /* calibration: p = sigmoid(cal_a x logit + cal_b); 1, 0 */
  double medium, high;        /* churn.bands.medium, churn.bands.high */
  double hysteresis;          /* churn.bands.hysteresis: margin to leave a band */
  int top_k;                  /* churn.reasons: factors named in an alert */
  double clv_horizon_days;    /* churn.value.horizon_days: spend projected ahead */
  double value_per_activity;  /* churn.value.per_activity: worth of one usage */
  cxp_churn_rule rules[CXP_CHURN_MAX_RULES]; /* churn.actions, in file order */
  int n_rules;
} cxp_churn_conf;

/* The documented defaults, actions table included. */
void cxp_churn_conf_defaults(cxp_churn_conf *cf);
/* 0, or -1 with a sentence naming the `churn.*` key in err. */
int cxp_churn_conf_check(const cxp_churn_conf *cf, char *err, size_t errlen);
/* Replaces the actions table by a JSON array of {"segment": S, "factor": F,
 * "actions": [...]} (segment and factor optional: any); there must be an
 * entry with neither, the fallback. 0, or -1 with a sentence in err. */
int cxp_churn_conf_rules(cxp_churn_conf *cf, const char *json, char *err, size_t errlen);

/* One customer's score at a moment. */
typedef struct cxp_churn_score {
  double x[CXP_CF__COUNT];       /* feature values */
  double contrib[CXP_CF__COUNT]; /* coef x feature; they sum to logit - intercept */
  double logit;
  double p;                      /* 1 / (1 + e^-logit) */
  double value;                  /* the profile's clv, else the RFM proxy */
  int value_from_profile;
  double value_at_risk;          /* p x value */
  /* The time the features were read at (t_ms, or his last event's time
   * when later) and his delivered-value ratio then (NAN when unknown): the
   * windows' value figure reads the same, and takes it from here when the
   * times agree instead of reading his indicators again. */
  int64_t t_ms;
  double value_ratio;
} cxp_churn_score;

/* The features of customer c at time t_ms (>= his events' times; an earlier
 * t is read as his last event's time), with his open and overdue case
 * counts from the cases module (cxp_cases_customer). Also fills value. */
void cxp_churn_features(const cxp_churn_conf *cf, const cxp_customer *c,
                        const cxp_customer_conf *cc, int open_cases, int overdue_cases,
                        int64_t t_ms, cxp_churn_score *out);
/* The model over out->x: contributions, logit, p, value at risk. */
void cxp_churn_model(const cxp_churn_conf *cf, cxp_churn_score *out);
/* Both. */
void cxp_churn_eval(const cxp_churn_conf *cf, const cxp_customer *c,
                    const cxp_customer_conf *cc, int open_cases, int overdue_cases,
                    int64_t t_ms, cxp_churn_score *out);

/* The band of score p for a customer who was in band prev (LOW for one never
 * scored): a boundary above prev is crossed only at boundary + hysteresis,
 * one below only under boundary - hysteresis, so a score that wobbles at a
 * boundary moves the band once. */
int cxp_churn_band_next(int prev, double p, const cxp_churn_conf *cf);
/* Whether moving from band prev to next raises a churn.risk alert: entering
 * a higher band (the cooldown per customer is the caller's). */
static inline int cxp_churn_should_alert(int prev, int next) { return next > prev; }

/* The factors that raise the score, largest contribution first (ties by
 * factor order), at most k of them: their indexes into idx. Returns how
 * many (factors with contribution <= 0 are not reasons). */
int cxp_churn_top(const cxp_churn_score *s, int k, int *idx);
/* The same as alert reasons (factor, value, contribution); k at most
 * CXP_ALERT_MAX_REASONS. */
int cxp_churn_reasons(const cxp_churn_score *s, int k, cxp_alert_reason *out);

/* The retention actions (a rendered JSON array) for a segment and a leading
 * factor (-1 when none): (segment, factor), then (any segment, factor), then
 * (segment, any factor), then the fallback (any, any). */
const char *cxp_churn_actions(const cxp_churn_conf *cf, const char *segment, size_t seg_len,
                              int factor);

/* ROC AUC of scores against 0/1 labels: the probability that a positive
 * outranks a negative, ties counted one half (average ranks). NAN when
 * either class is empty. Sorts a copy; -1 only when out of memory. */
double cxp_churn_auc(const double *score, const unsigned char *label, size_t n);

#endif
