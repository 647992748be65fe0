#include "churn.h"
#include "xalloc.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(CXP_SAMPLE_FEATURES == CXP_CF__COUNT,
               "customer.h keeps one sample feature per factor of churn.h");

static const char *const factor_names[CXP_CF__COUNT] = {
    "activity_drop",    "recency",          "monetary_drop", "complaints",
    "open_cases",       "overdue_cases",    "detractor",     "low_satisfaction",
    "high_effort",      "value_below_cost", "participation"};

const char *cxp_churn_factor_name(int f) {
  return f >= 0 && f < CXP_CF__COUNT ? factor_names[f] : "none";
}

int cxp_churn_factor_by_name(const char *name, size_t len) {
  for (int f = 0; f < CXP_CF__COUNT; f++)
    if (strlen(factor_names[f]) == len && memcmp(factor_names[f], name, len) == 0) return f;
  return -1;
}

/* The side of zero each coefficient keeps when learnt: every factor raises
 * the risk but participation (feedback given, referrals made), which lowers
 * it. A reason on an alert is then always a factor that adds risk. */
static const signed char factor_sign[CXP_CF__COUNT] = {
    [CXP_CF_ACTIVITY_DROP] = 1, [CXP_CF_RECENCY] = 1,          [CXP_CF_MONETARY_DROP] = 1,
    [CXP_CF_COMPLAINTS] = 1,    [CXP_CF_OPEN_CASES] = 1,       [CXP_CF_OVERDUE_CASES] = 1,
    [CXP_CF_DETRACTOR] = 1,     [CXP_CF_LOW_SATISFACTION] = 1, [CXP_CF_HIGH_EFFORT] = 1,
    [CXP_CF_VALUE_BELOW_COST] = 1, [CXP_CF_PARTICIPATION] = -1};

int cxp_churn_factor_sign(int f) { return f >= 0 && f < CXP_CF__COUNT ? factor_sign[f] : 0; }

const char *cxp_churn_band_name(int band) {
  return band >= CXP_CHURN_HIGH ? "high" : band == CXP_CHURN_MEDIUM ? "medium" : "low";
}

/* The default coefficients: fitted by `cxpulse eval-churn --fit` (logistic
 * regression, L2 penalty 1) on the generator's world, training seed 1
 * (--generate 1:1000000:3000:300 --at +240, short half-life 7 days), then
 * rounded and set by hand where the fit went against the domain: complaints
 * and participation keep small weights of the sign docs/domain.md gives them,
 * open cases none (the fit made them protective, -0.38: in that world a
 * case in recovery gets attention and each step lifts him; overdue ones
 * carry the signal), and recency 0.3 where the fit gave 0.04 (it all but
 * duplicates the activity drop there; at 0.3 the held-back AUCs move by
 * 0.001, and a customer who only goes silent can reach the high band).
 * docs/scenario.md has the figures. */
static const double default_coef[CXP_CF__COUNT] = {
    [CXP_CF_ACTIVITY_DROP] = 1.7,    [CXP_CF_RECENCY] = 0.3,
    [CXP_CF_MONETARY_DROP] = 1.4,    [CXP_CF_COMPLAINTS] = 0.1,
    [CXP_CF_OPEN_CASES] = 0,         [CXP_CF_OVERDUE_CASES] = 0.3,
    [CXP_CF_DETRACTOR] = 0.7,        [CXP_CF_LOW_SATISFACTION] = 1.1,
    [CXP_CF_HIGH_EFFORT] = 2.2,      [CXP_CF_VALUE_BELOW_COST] = 0.7,
    [CXP_CF_PARTICIPATION] = -0.1};
#define DEFAULT_INTERCEPT (-3.3)

/* The default retention actions: one row per factor a person can act on,
 * a premium variant for the price factor, and the fallback. */
static const struct {
  const char *segment;
  int factor;
  const char *actions;
} default_rules[] = {
    {"", CXP_CF_ACTIVITY_DROP, "[\"re_engagement_campaign\",\"usage_tips\"]"},
    {"", CXP_CF_RECENCY, "[\"check_in_contact\",\"re_engagement_campaign\"]"},
    {"gold", CXP_CF_MONETARY_DROP, "[\"account_manager_call\",\"tailored_plan_offer\"]"},
    {"", CXP_CF_MONETARY_DROP, "[\"plan_review\",\"loyalty_discount\"]"},
    {"", CXP_CF_COMPLAINTS, "[\"resolve_open_complaints\",\"personal_apology\"]"},
    {"", CXP_CF_OPEN_CASES, "[\"expedite_open_cases\",\"status_update_to_customer\"]"},
    {"", CXP_CF_OVERDUE_CASES, "[\"escalate_overdue_case\",\"personal_apology\"]"},
    {"", CXP_CF_DETRACTOR, "[\"retention_call\",\"ask_what_went_wrong\"]"},
    {"", CXP_CF_LOW_SATISFACTION, "[\"retention_call\",\"review_recent_interactions\"]"},
    {"", CXP_CF_HIGH_EFFORT, "[\"assign_personal_agent\",\"simplify_process\"]"},
    {"", CXP_CF_VALUE_BELOW_COST, "[\"value_review\",\"loyalty_discount\"]"},
    {"", -1, "[\"retention_call\"]"},
};

void cxp_churn_conf_defaults(cxp_churn_conf *cf) {
  memset(cf, 0, sizeof *cf);
  memcpy(cf->coef, default_coef, sizeof cf->coef);
  cf->intercept = DEFAULT_INTERCEPT;
  cf->cal_a = 1;
  cf->cal_b = 0;
  cf->medium = 0.3;
  cf->high = 0.6;
  cf->hysteresis = 0.05;
  cf->top_k = 3;
  cf->clv_horizon_days = 365;
  cf->value_per_activity = 0;
  for (size_t i = 0; i < sizeof default_rules / sizeof default_rules[0]; i++) {
    cxp_churn_rule *r = &cf->rules[cf->n_rules++];
    snprintf(r->segment, sizeof r->segment, "%s", default_rules[i].segment);
    r->factor = default_rules[i].factor;
    snprintf(r->actions, sizeof r->actions, "%s", default_rules[i].actions);
  }
}

int cxp_churn_conf_check(const cxp_churn_conf *cf, char *err, size_t errlen) {
  for (int f = 0; f < CXP_CF__COUNT; f++)
    if (!isfinite(cf->coef[f]) || fabs(cf->coef[f]) > 100) {
      snprintf(err, errlen, "churn.coefficients.%s must be a number between -100 and 100",
               factor_names[f]);
      return -1;
    }
  if (!isfinite(cf->intercept) || fabs(cf->intercept) > 100) {
    snprintf(err, errlen, "churn.intercept must be a number between -100 and 100");
    return -1;
  }
  if (!(cf->medium > 0 && cf->medium < cf->high && cf->high < 1)) {
    snprintf(err, errlen,
             "churn.bands.medium (%g) and churn.bands.high (%g) must satisfy "
             "0 < medium < high < 1",
             cf->medium, cf->high);
    return -1;
  }
  /* A margin as wide as half a band would let one score sit in two bands'
   * hysteresis zones at once, and the low and high bands must stay
   * reachable. */
  double room = fmin((cf->high - cf->medium) / 2, fmin(cf->medium, 1 - cf->high));
  if (!(cf->hysteresis >= 0 && cf->hysteresis < room)) {
    snprintf(err, errlen,
             "churn.bands.hysteresis (%g) must be at least 0 and under %g (half the medium "
             "band, and less than the distance from the bands to 0 and 1)",
             cf->hysteresis, room);
    return -1;
  }
  if (cf->top_k < 1 || cf->top_k > CXP_ALERT_MAX_REASONS) {
    snprintf(err, errlen, "churn.reasons (%d) must be 1..%d", cf->top_k,
             CXP_ALERT_MAX_REASONS);
    return -1;
  }
  if (!(cf->clv_horizon_days > 0 && cf->clv_horizon_days <= 3650)) {
    snprintf(err, errlen, "churn.value.horizon_days (%g) must be over 0 and at most 3650",
             cf->clv_horizon_days);
    return -1;
  }
  if (!(cf->value_per_activity >= 0 && cf->value_per_activity <= 1e9)) {
    snprintf(err, errlen, "churn.value.per_activity (%g) must be 0..1e9",
             cf->value_per_activity);
    return -1;
  }
  int fallback = 0;
  for (int i = 0; i < cf->n_rules; i++)
    if (cf->rules[i].segment[0] == 0 && cf->rules[i].factor < 0) fallback = 1;
  if (!fallback) {
    snprintf(err, errlen,
             "churn.actions needs an entry with neither segment nor factor (the fallback)");
    return -1;
  }
  return 0;
}

int cxp_churn_conf_rules(cxp_churn_conf *cf, const char *json, char *err, size_t errlen) {
  cJSON *root = cJSON_Parse(json);
  int rc = -1, n = 0, fallback = 0;
  cxp_churn_rule *rules = cxp_xcalloc(CXP_CHURN_MAX_RULES, sizeof *rules);
  if (root == NULL || !cJSON_IsArray(root)) {
    snprintf(err, errlen, "churn.actions must be an array of objects");
    goto out;
  }
  const cJSON *e;
  cJSON_ArrayForEach(e, root) {
    if (n == CXP_CHURN_MAX_RULES) {
      snprintf(err, errlen, "churn.actions has more than %d entries", CXP_CHURN_MAX_RULES);
      goto out;
    }
    cxp_churn_rule *r = &rules[n];
    const cJSON *seg = cJSON_GetObjectItemCaseSensitive(e, "segment");
    const cJSON *fac = cJSON_GetObjectItemCaseSensitive(e, "factor");
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(e, "actions");
    if (!cJSON_IsObject(e) || (seg && (!cJSON_IsString(seg) || seg->valuestring[0] == 0 ||
                                       strlen(seg->valuestring) > CXP_SEG_MAX))) {
      snprintf(err, errlen, "churn.actions[%d]: segment must be a non-empty string of at "
               "most %d bytes", n, CXP_SEG_MAX);
      goto out;
    }
    r->factor = -1;
    if (fac) {
      r->factor = cJSON_IsString(fac) ? cxp_churn_factor_by_name(
                                            fac->valuestring, strlen(fac->valuestring))
                                      : -1;
      if (r->factor < 0) {
        snprintf(err, errlen, "churn.actions[%d]: factor must be one of the churn factors "
                 "(activity_drop, recency, ...)", n);
        goto out;
      }
    }
    int ok = cJSON_IsArray(act) && cJSON_GetArraySize(act) > 0;
    const cJSON *a;
    if (ok) cJSON_ArrayForEach(a, act) ok &= cJSON_IsString(a);
    char *s = ok ? cJSON_PrintUnformatted(act) : NULL;
    if (s == NULL || strlen(s) >= sizeof r->actions) {
      snprintf(err, errlen, "churn.actions[%d]: actions must be a non-empty array of strings "
               "under %d bytes", n, CXP_LIST_MAX);
      cJSON_free(s);
      goto out;
    }
    memcpy(r->actions, s, strlen(s) + 1);
    cJSON_free(s);
    if (seg) snprintf(r->segment, sizeof r->segment, "%s", seg->valuestring);
    if (seg == NULL && fac == NULL) fallback = 1;
    n++;
  }
  if (!fallback) {
    snprintf(err, errlen,
             "churn.actions needs an entry with neither segment nor factor (the fallback)");
    goto out;
  }
  memcpy(cf->rules, rules, sizeof cf->rules);
  cf->n_rules = n;
  rc = 0;
out:
  free(rules);
  cJSON_Delete(root);
  return rc;
}

const double cxp_churn_feature_max[CXP_CF__COUNT] = {
    [CXP_CF_ACTIVITY_DROP] = 1, [CXP_CF_RECENCY] = 4,
    [CXP_CF_MONETARY_DROP] = 1, [CXP_CF_COMPLAINTS] = 3,
    [CXP_CF_OPEN_CASES] = 3,    [CXP_CF_OVERDUE_CASES] = 3,
    [CXP_CF_DETRACTOR] = 1,     [CXP_CF_LOW_SATISFACTION] = 1,
    [CXP_CF_HIGH_EFFORT] = 1,   [CXP_CF_VALUE_BELOW_COST] = 1,
    [CXP_CF_PARTICIPATION] = 3};

/* x within lo..hi; NAN is lo (a comparison with it is false). */
static double clip(double x, double lo, double hi) { return x > lo ? (x < hi ? x : hi) : lo; }

/* 1 - (short-horizon rate) / (long-horizon rate) (clipped to 0..1 with the
 * other features). A decayed sum of a
 * steady stream at rate r with half-life h tends to r h / ln 2, so dividing
 * each sum by its half-life compares rates. Without a long-horizon history
 * there is nothing to drop from. */
static double drop(double s_short, double h_short, double s_long, double h_long) {
  if (!(s_long > 1e-9)) return 0;
  return 1 - (s_short / h_short) / (s_long / h_long);
}

void cxp_churn_features(const cxp_churn_conf *cf, const cxp_customer *c,
                        const cxp_customer_conf *cc, int open_cases, int overdue_cases,
                        int64_t t, cxp_churn_score *o) {
  if (t < c->last_ts_ms) t = c->last_ts_ms;
  cxp_indicators in;
  cxp_customer_indicators_lean(c, cc, t, &in);
  o->t_ms = t;
  o->value_ratio = in.value_ratio;
  const double day = 86400000.0;
  double hs = cc->half_life_ms[CXP_HL_SHORT] / day, hl = cc->half_life_ms[CXP_HL_LONG] / day;

  o->x[CXP_CF_ACTIVITY_DROP] = drop(in.freq_short, hs, in.freq_long, hl);
  o->x[CXP_CF_MONETARY_DROP] = drop(in.mon_short, hs, in.mon_long, hl);
  /* The usual gap is the inverse of the long-horizon rate as it stood at
   * the last activity (reading it at t would let the silence itself
   * stretch the yardstick it is measured with). */
  double rec = 0;
  if (c->last_active_ms > 0 && !isnan(in.recency_days)) {
    /* At his last activity itself (the scoring event mostly is one) the
     * factor is exactly 1: no call. */
    double f_at_last =
        in.recency_days != 0 ? in.freq_long * exp2(in.recency_days / hl) : in.freq_long;
    if (f_at_last > 1e-9) {
      double usual_gap = hl / (M_LN2 * f_at_last);
      double r = in.recency_days / usual_gap;
      rec = r > 1 ? log2(r) : 0;
    }
  }
  o->x[CXP_CF_RECENCY] = rec;
  o->x[CXP_CF_COMPLAINTS] = in.complaints;
  o->x[CXP_CF_OPEN_CASES] = open_cases;
  o->x[CXP_CF_OVERDUE_CASES] = overdue_cases;
  o->x[CXP_CF_DETRACTOR] = in.nps_class == -1;
  o->x[CXP_CF_LOW_SATISFACTION] = (50 - in.si) / 50;
  /* Graded from 4.5 (a mean that holds many answers of 3 or less, the
   * domain's "high effort") down to 1.5. */
  o->x[CXP_CF_HIGH_EFFORT] = (4.5 - in.ces) / 3;
  o->x[CXP_CF_VALUE_BELOW_COST] = 1 - in.value_ratio;
  o->x[CXP_CF_PARTICIPATION] = log2(1 + in.activity);
  /* Each into its range; a figure not known yet (NAN) is 0. */
  for (int f = 0; f < CXP_CF__COUNT; f++) o->x[f] = clip(o->x[f], 0, cxp_churn_feature_max[f]);

  /* Value: the profile's CLV when known; otherwise an RFM proxy, the
   * long-horizon spend rate (plus usage at its worth) projected over the
   * horizon. Read at t, the decayed sums already carry recency: a silent
   * customer's projected value falls as his sums decay. */
  if (!isnan(in.clv)) {
    o->value = in.clv;
    o->value_from_profile = 1;
  } else {
    double rate = (in.mon_long + cf->value_per_activity * in.freq_long) * M_LN2 / hl;
    o->value = rate * cf->clv_horizon_days;
    o->value_from_profile = 0;
  }
}

void cxp_churn_model(const cxp_churn_conf *cf, cxp_churn_score *o) {
  double z = 0;
  for (int f = 0; f < CXP_CF__COUNT; f++) {
    o->contrib[f] = cf->coef[f] * o->x[f];
    z += o->contrib[f];
  }
  o->logit = cf->intercept + z;
  /* The calibration (Platt's a x logit + b; 1 and 0 until a learnt model
   * sets them) maps the logit to the probability the bands read. */
  o->p = cxp_sigmoid(cf->cal_a * o->logit + cf->cal_b);
  o->value_at_risk = o->p * o->value;
}

void cxp_churn_eval(const cxp_churn_conf *cf, const cxp_customer *c,
                    const cxp_customer_conf *cc, int open_cases, int overdue_cases,
                    int64_t t_ms, cxp_churn_score *out) {
  cxp_churn_features(cf, c, cc, open_cases, overdue_cases, t_ms, out);
  cxp_churn_model(cf, out);
}

int cxp_churn_band_next(int prev, double p, const cxp_churn_conf *cf) {
  const double bound[2] = {cf->medium, cf->high}; /* bound[k]: from band k to k + 1 */
  int b = prev < CXP_CHURN_LOW ? CXP_CHURN_LOW : prev > CXP_CHURN_HIGH ? CXP_CHURN_HIGH : prev;
  while (b < CXP_CHURN_HIGH && p >= bound[b] + cf->hysteresis) b++;
  if (b == prev)
    while (b > CXP_CHURN_LOW && p < bound[b - 1] - cf->hysteresis) b--;
  return b;
}

int cxp_churn_top(const cxp_churn_score *s, int k, int *idx) {
  int n = 0;
  for (int f = 0; f < CXP_CF__COUNT; f++) {
    if (!(s->contrib[f] > 0)) continue;
    /* Insertion sort: eleven factors at most; stable, so ties keep the
     * factor order. */
    int i = n++;
    while (i > 0 && s->contrib[idx[i - 1]] < s->contrib[f]) {
      idx[i] = idx[i - 1];
      i--;
    }
    idx[i] = f;
  }
  return n < k ? n : k;
}

int cxp_churn_reasons(const cxp_churn_score *s, int k, cxp_alert_reason *out) {
  int idx[CXP_CF__COUNT];
  if (k > CXP_ALERT_MAX_REASONS) k = CXP_ALERT_MAX_REASONS;
  int n = cxp_churn_top(s, k, idx);
  for (int i = 0; i < n; i++)
    out[i] = (cxp_alert_reason){factor_names[idx[i]], s->x[idx[i]], s->contrib[idx[i]]};
  return n;
}

const char *cxp_churn_actions(const cxp_churn_conf *cf, const char *segment, size_t seg_len,
                              int factor) {
  /* Most specific first: the factor says what to fix, the segment refines
   * how. */
  const cxp_churn_rule *best = NULL;
  int best_rank = 5;
  for (int i = 0; i < cf->n_rules; i++) {
    const cxp_churn_rule *r = &cf->rules[i];
    int seg_any = r->segment[0] == 0, fac_any = r->factor < 0;
    int seg_ok = seg_any || (segment && strlen(r->segment) == seg_len &&
                             memcmp(r->segment, segment, seg_len) == 0);
    int fac_ok = fac_any || r->factor == factor;
    if (!seg_ok || !fac_ok) continue;
    int rank = !seg_any && !fac_any ? 1 : !fac_any ? 2 : !seg_any ? 3 : 4;
    if (rank < best_rank) {
      best = r;
      best_rank = rank;
    }
  }
  return best ? best->actions : "[]";
}

typedef struct ranked {
  double s;
  unsigned char label;
} ranked;

static int by_score(const void *a, const void *b) {
  double x = ((const ranked *)a)->s, y = ((const ranked *)b)->s;
  return (x > y) - (x < y);
}

double cxp_churn_auc(const double *score, const unsigned char *label, size_t n) {
  ranked *r = malloc((n ? n : 1) * sizeof *r);
  if (r == NULL) return -1;
  double pos = 0;
  for (size_t i = 0; i < n; i++) {
    r[i] = (ranked){score[i], label[i] != 0};
    pos += r[i].label;
  }
  double neg = (double)n - pos;
  if (pos == 0 || neg == 0) {
    free(r);
    return NAN;
  }
  qsort(r, n, sizeof *r, by_score);
  /* Mann-Whitney: the sum of the positives' ranks (1-based, a tie group
   * sharing its average rank), less the least that sum can be. */
  double rank_sum = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    double npos = 0;
    while (j < n && r[j].s == r[i].s) npos += r[j++].label;
    double avg = ((double)(i + 1) + (double)j) / 2;
    rank_sum += npos * avg;
    i = j;
  }
  free(r);
  return (rank_sum - pos * (pos + 1) / 2) / (pos * neg);
}
