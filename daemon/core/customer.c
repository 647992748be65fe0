#include "customer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "decay.h"
#include "hash.h"
#include "slab.h"
#include "xalloc.h"

/* Fraction bits of each sum's fixed point. Ratings and counts of a few per
 * day fit 2^28 resolution with room for years of history at the largest
 * weight (2^16); usage counts and money need range more than resolution:
 * one purchase of the largest amount (1e12) at weight 2^16 must fit 2^63. */
#define FRAC_RATE 28
#define FRAC_FREQ 16
#define FRAC_MONEY 7
_Static_assert(FRAC_RATE == 28 && FRAC_FREQ == 16 && FRAC_MONEY == 7,
               "unit_of() writes 2^frac with these constants");
/* Inputs are clipped where a single event could otherwise saturate a sum. */
#define MAX_USAGE_COUNT 1e6
#define MAX_AMOUNT 1e12

static int family_of(int idx) {
  return idx < CXP_S__MAIN_END    ? CXP_HL_MAIN
         : idx < CXP_S__SHORT_END ? CXP_HL_SHORT
         : idx < CXP_S__LONG_END  ? CXP_HL_LONG
                                  : CXP_HL_MAIN;
}

static int frac_of(int idx) {
  switch (idx) {
  case CXP_S_MON_SHORT:
  case CXP_S_MON_LONG:
  case CXP_S_SPEND:
  case CXP_S_COMPENSATION: return FRAC_MONEY;
  case CXP_S_FREQ_SHORT:
  case CXP_S_FREQ_LONG: return FRAC_FREQ;
  default: return FRAC_RATE;
  }
}

/* 2^frac of sum idx, the unit of its fixed point: scaling by it (or by its
 * inverse) is exact, the same double as ldexp without the call. */
static double unit_of(int idx) {
  int frac = frac_of(idx);
  return frac == FRAC_RATE ? 0x1p28 : frac == FRAC_FREQ ? 0x1p16 : 0x1p7;
}

void cxp_customer_init(cxp_customer *c, const char *id, size_t len, uint64_t hash) {
  c->hash = hash;
  c->last_offset = -1;
  c->nps_last_score = -1;
  c->consent = 1;
  c->clv = -1;
  c->id_len = (uint8_t)len;
  memcpy(c->id, id, len);
}

cxp_customer *cxp_customer_new(const char *id, size_t len, uint64_t hash) {
  if (len > CXP_ID_MAX) return NULL;
  cxp_customer *c = cxp_xcalloc(1, cxp_customer_size(len));
  cxp_customer_init(c, id, len, hash);
  return c;
}

size_t cxp_customer_bytes(const cxp_customer *c) {
  /* His record as the state's slab holds it (rounded to 16 bytes), plus
   * two table slots and their tags (the table is kept at most half full). */
  return cxp_slab_size(cxp_customer_size(c->id_len)) +
         2 * (sizeof(void *) + sizeof(uint16_t));
}

int cxp_customer_seen(cxp_customer *c, int64_t offset, const char *event_id, size_t len) {
  if (offset >= 0 && offset <= c->last_offset) return 1;
  uint32_t h = (uint32_t)cxp_hash64(event_id, len, 0x63787075ULL ^ 0xe1ULL) | 1;
  for (int i = 0; i < CXP_DEDUP_RING; i++)
    if (c->recent[i] == h) return 1;
  c->recent[c->recent_pos] = h;
  c->recent_pos = (uint8_t)((c->recent_pos + 1) % CXP_DEDUP_RING);
  if (offset >= 0) c->last_offset = offset;
  return 0;
}

/* The weights of one event, per family: the landmark is moved and
 * 2^((t - L)/h) computed once per family an event touches, not once per sum. */
typedef struct weights {
  int64_t t;
  unsigned ready; /* bit per family whose factor is computed */
  double f[CXP_HL__COUNT];
} weights;

/* Moves family fam's landmark up to the event's time when the time lies
 * past the grid line, and works out the event's weight in the family. */
static void weigh(cxp_customer *c, const cxp_customer_conf *cf, weights *w, int fam) {
  double h = cf->half_life_ms[fam];
  int shift = cxp_fp_advance(&c->landmark_ms[fam], w->t, h);
  if (shift) {
    int lo = fam == CXP_HL_MAIN ? 0 : fam == CXP_HL_SHORT ? CXP_S__MAIN_END : CXP_S__SHORT_END;
    int hi = fam == CXP_HL_MAIN    ? CXP_S__MAIN_END
             : fam == CXP_HL_SHORT ? CXP_S__SHORT_END
                                   : CXP_S__LONG_END;
    for (int i = lo; i < hi; i++) c->sum[i] = shift >= 64 ? 0 : c->sum[i] >> shift;
    /* The main family's sums added later, past the long ones. */
    if (fam == CXP_HL_MAIN)
      for (int i = CXP_S__LONG_END; i < CXP_S__COUNT; i++)
        c->sum[i] = shift >= 64 ? 0 : c->sum[i] >> shift;
  }
  w->f[fam] = exp2((double)(w->t - c->landmark_ms[fam]) / h);
  w->ready |= 1u << fam;
}

/* Adds v (>= 0) at the event's time to sum idx, its family weighed first.
 * Inline: every caller names the sum, so its family and fixed point are
 * known where it is added. */
static inline void add(cxp_customer *c, const cxp_customer_conf *cf, weights *w, int idx,
                       double v) {
  int fam = family_of(idx);
  if (!(w->ready & (1u << fam))) weigh(c, cf, w, fam);
  if (v <= 0) return;
  /* The same rounding as cxp_fp_weight: floor of the scaled product. */
  double x = v * w->f[fam] * unit_of(idx);
  int64_t q = x >= 9.2e18 ? INT64_MAX : (int64_t)x;
  c->sum[idx] = cxp_fp_add(c->sum[idx], q);
}

static void count_response(cxp_customer *c) {
  if (c->responses < UINT16_MAX) c->responses++;
}

int cxp_customer_apply(cxp_customer *c, const cxp_event *ev, const cxp_customer_conf *cf) {
  int64_t t = ev->ts_ms;
  weights w = {t, 0, {0, 0, 0}};
  int survey = 0;
  if (t > c->last_ts_ms) c->last_ts_ms = t;
  switch (ev->type) {
  case CXP_EV_CSAT:
    add(c, cf, &w, CXP_S_CSAT_N, 1);
    add(c, cf, &w, CXP_S_CSAT_SAT, ev->score >= 4);
    add(c, cf, &w, CXP_S_L_CSAT_N, 1);
    add(c, cf, &w, CXP_S_L_CSAT_SAT, ev->score >= 4);
    survey = 1;
    break;
  case CXP_EV_NPS:
    add(c, cf, &w, CXP_S_NPS_N, 1);
    add(c, cf, &w, CXP_S_NPS_SUM, ev->score);
    add(c, cf, &w, CXP_S_L_NPS_N, 1);
    add(c, cf, &w, CXP_S_L_NPS_SUM, ev->score);
    /* "Latest" is by event time, so that out-of-order arrival agrees; of two
     * responses at the same time the lower score wins, for the same reason
     * (and the lower one is the one to act on). */
    if (c->nps_last_score < 0 || t > c->nps_last_ts_ms ||
        (t == c->nps_last_ts_ms && ev->score < c->nps_last_score)) {
      c->nps_last_score = (int8_t)ev->score;
      c->nps_last_ts_ms = t;
    }
    survey = 1;
    break;
  case CXP_EV_CES:
    add(c, cf, &w, CXP_S_CES_N, 1);
    add(c, cf, &w, CXP_S_CES_SUM, ev->score);
    add(c, cf, &w, CXP_S_L_CES_N, 1);
    add(c, cf, &w, CXP_S_L_CES_SUM, ev->score);
    survey = 1;
    break;
  case CXP_EV_SERVQUAL:
    for (int d = 0; d < CXP_SQ__COUNT; d++) {
      if (!(ev->sq_mask & (1u << d))) continue;
      /* Stored shifted by 6 so every contribution is >= 0. */
      double g = ev->sq_perceived[d] - ev->sq_expected[d] + 6;
      add(c, cf, &w, CXP_S_SQ_N + d, 1);
      add(c, cf, &w, CXP_S_SQ_GAP + d, g);
      add(c, cf, &w, CXP_S_L_SQ_N, 1);
      add(c, cf, &w, CXP_S_L_SQ_GAP, g);
      if (c->sq_responses[d] < UINT8_MAX) c->sq_responses[d]++;
    }
    survey = 1;
    break;
  case CXP_EV_CONTACT: {
    add(c, cf, &w, CXP_S_CONTACTS, 1);
    add(c, cf, &w, CXP_S_RESOLVED, ev->resolved);
    double tc = (ev->wait_s + ev->handle_s) / cf->time_norm_s;
    add(c, cf, &w, CXP_S_TIME_COST, tc > 1 ? 1 : tc);
    if (ev->has_sentiment) {
      add(c, cf, &w, CXP_S_SENT_N, 1);
      add(c, cf, &w, CXP_S_SENT_SUM, (ev->sentiment + 1) / 2);
    }
    break;
  }
  case CXP_EV_COMPLAINT: add(c, cf, &w, CXP_S_COMPLAINTS, 1); break;
  case CXP_EV_FAILURE: add(c, cf, &w, CXP_S_FAILURES, 1); break;
  case CXP_EV_FEEDBACK: add(c, cf, &w, CXP_S_ACTIVITY, 1); break;
  case CXP_EV_REFERRAL:
    add(c, cf, &w, CXP_S_ACTIVITY, 1);
    add(c, cf, &w, CXP_S_REFERRALS, 1);
    break;
  case CXP_EV_REC_COMPENSATED:
    add(c, cf, &w, CXP_S_COMPENSATION, ev->amount > MAX_AMOUNT ? MAX_AMOUNT : ev->amount);
    break;
  case CXP_EV_PURCHASE: {
    double a = ev->amount > MAX_AMOUNT ? MAX_AMOUNT : ev->amount;
    add(c, cf, &w, CXP_S_PURCHASES, 1);
    add(c, cf, &w, CXP_S_SPEND, a);
    add(c, cf, &w, CXP_S_FREQ_SHORT, 1);
    add(c, cf, &w, CXP_S_FREQ_LONG, 1);
    add(c, cf, &w, CXP_S_MON_SHORT, a);
    add(c, cf, &w, CXP_S_MON_LONG, a);
    if (t > c->last_active_ms) c->last_active_ms = t;
    break;
  }
  case CXP_EV_USAGE: {
    double n = ev->count > MAX_USAGE_COUNT ? MAX_USAGE_COUNT : ev->count;
    add(c, cf, &w, CXP_S_FREQ_SHORT, n);
    add(c, cf, &w, CXP_S_FREQ_LONG, n);
    if (t > c->last_active_ms) c->last_active_ms = t;
    break;
  }
  case CXP_EV_PROFILE:
    if (ev->consent >= 0) c->consent = (uint8_t)ev->consent;
    if (ev->has_clv) c->clv = ev->clv;
    break;
  default: break;
  }
  if (survey) count_response(c);
  return survey;
}

/* A ratio of two sums of one family: the decay cancels. NAN when empty. */
static double ratio(const cxp_customer *c, int num, int den) {
  if (c->sum[den] <= 0) return NAN;
  return (double)c->sum[num] / (double)c->sum[den];
}

/* The decay factor of each family at time t, computed once for every sum
 * read at t: what cxp_fp_read computes per sum (0 for a family never
 * touched, whose sums are 0). */
typedef struct readers {
  double f[CXP_HL__COUNT];
} readers;

static void readers_at(const cxp_customer *c, const cxp_customer_conf *cf, int64_t t,
                       readers *r) {
  for (int fam = 0; fam < CXP_HL__COUNT; fam++)
    r->f[fam] = c->landmark_ms[fam] == 0
                    ? 0
                    : exp2(-(double)(t - c->landmark_ms[fam]) / cf->half_life_ms[fam]);
}

/* cxp_fp_read with the factor at hand: scaling by 2^-frac is exact, so the
 * product is the same double. */
static double read(const cxp_customer *c, const readers *r, int idx) {
  return (double)c->sum[idx] / unit_of(idx) * r->f[family_of(idx)];
}

static double mean_present(const double *v, int n) {
  double s = 0;
  int k = 0;
  for (int i = 0; i < n; i++)
    if (!isnan(v[i])) {
      s += v[i];
      k++;
    }
  return k ? s / k : NAN;
}

double cxp_satisfaction_index(double csat, double nps_mean, double ces, double sq_gap_mean,
                              const cxp_customer_conf *cf) {
  const double comp[4] = {csat, isnan(nps_mean) ? NAN : nps_mean * 10,
                          isnan(ces) ? NAN : (ces - 1) / 6 * 100,
                          isnan(sq_gap_mean) ? NAN : 50 + sq_gap_mean * 50 / 6};
  const double *w = cf->si_w;
  double s = 0, ws = 0;
  for (int i = 0; i < 4; i++) {
    if (isnan(comp[i]) || w[i] <= 0) continue;
    s += w[i] * comp[i];
    ws += w[i];
  }
  return ws > 0 ? s / ws : NAN;
}

double cxp_customer_sq_gap(const cxp_customer *c, int d) {
  return ratio(c, CXP_S_SQ_GAP + d, CXP_S_SQ_N + d) - 6;
}

/* The satisfaction index now: its SERVQUAL component pools every
 * dimension's responses, like the long-horizon baseline, so the two are
 * comparable. */
static double si_now(const cxp_customer *c, const cxp_customer_conf *cf, double csat,
                     double nps_mean, double ces) {
  int64_t gap = 0, gn = 0;
  for (int d = 0; d < CXP_SQ__COUNT; d++) {
    gap = cxp_fp_add(gap, c->sum[CXP_S_SQ_GAP + d]);
    gn = cxp_fp_add(gn, c->sum[CXP_S_SQ_N + d]);
  }
  double gap_mean = gn > 0 ? (double)gap / (double)gn - 6 : NAN;
  return cxp_satisfaction_index(csat, nps_mean, ces, gap_mean, cf);
}

static double si_baseline(const cxp_customer *c, const cxp_customer_conf *cf) {
  return cxp_satisfaction_index(
      100 * ratio(c, CXP_S_L_CSAT_SAT, CXP_S_L_CSAT_N), ratio(c, CXP_S_L_NPS_SUM, CXP_S_L_NPS_N),
      ratio(c, CXP_S_L_CES_SUM, CXP_S_L_CES_N), ratio(c, CXP_S_L_SQ_GAP, CXP_S_L_SQ_N) - 6, cf);
}

void cxp_customer_si(const cxp_customer *c, const cxp_customer_conf *cf, double *si,
                     double *baseline) {
  *si = si_now(c, cf, 100 * ratio(c, CXP_S_CSAT_SAT, CXP_S_CSAT_N),
               ratio(c, CXP_S_NPS_SUM, CXP_S_NPS_N), ratio(c, CXP_S_CES_SUM, CXP_S_CES_N));
  *baseline = si_baseline(c, cf);
}

void cxp_customer_indicators_lean(const cxp_customer *c, const cxp_customer_conf *cf,
                                  int64_t t, cxp_indicators *o) {
  readers r;
  readers_at(c, cf, t, &r);
  o->csat = 100 * ratio(c, CXP_S_CSAT_SAT, CXP_S_CSAT_N);
  o->nps_last = c->nps_last_score;
  o->nps_class = c->nps_last_score < 0 ? -2 : cxp_nps_class(c->nps_last_score);
  o->nps_mean = ratio(c, CXP_S_NPS_SUM, CXP_S_NPS_N);
  o->ces = ratio(c, CXP_S_CES_SUM, CXP_S_CES_N);
  o->high_effort = !isnan(o->ces) && o->ces <= 3;
  for (int d = 0; d < CXP_SQ__COUNT; d++) o->sq_gap[d] = NAN;
  o->si = si_now(c, cf, o->csat, o->nps_mean, o->ces);
  o->si_baseline = NAN;

  o->complaints = read(c, &r, CXP_S_COMPLAINTS);
  o->activity = read(c, &r, CXP_S_ACTIVITY);
  double failures = read(c, &r, CXP_S_FAILURES);
  /* Delivered value: what the customer gets against what he gives, each
   * part 0..1 from the signals the event contract carries. */
  o->value_parts[0] = isnan(o->csat) ? NAN : o->csat / 100;         /* product */
  o->value_parts[1] = ratio(c, CXP_S_RESOLVED, CXP_S_CONTACTS);     /* service */
  o->value_parts[2] = ratio(c, CXP_S_SENT_SUM, CXP_S_SENT_N);       /* personnel */
  o->value_parts[3] = isnan(o->nps_mean) ? NAN : o->nps_mean / 10;  /* image */
  /* Money: his net spend (purchases less compensation) N, as N / (N +
   * money_norm); absent before any purchase. */
  double spend = read(c, &r, CXP_S_SPEND), comp = read(c, &r, CXP_S_COMPENSATION);
  double net = spend > comp ? spend - comp : 0;
  o->cost_parts[0] = c->sum[CXP_S_SPEND] > 0 ? net / (net + cf->money_norm) : NAN;
  o->cost_parts[1] = ratio(c, CXP_S_TIME_COST, CXP_S_CONTACTS);     /* time */
  /* Effort: the mean of the CES part and the share of contacts that did
   * not resolve the issue (each means a repeat contact), of those present. */
  double unresolved = 1 - ratio(c, CXP_S_RESOLVED, CXP_S_CONTACTS);
  const double effort[2] = {isnan(o->ces) ? NAN : (7 - o->ces) / 6,
                            unresolved < 0 ? 0 : unresolved};
  o->cost_parts[2] = mean_present(effort, 2);
  /* Inconvenience; without complaints or failures exactly 0 (2^-0 is 1),
   * the common case, without the call. */
  double troubles = o->complaints + failures;
  o->cost_parts[3] = troubles != 0 ? 1 - exp2(-troubles) : 0;
  o->value = mean_present(o->value_parts, 4);
  o->cost = mean_present(o->cost_parts, 4);
  /* A cost floor of 0.05 keeps the ratio finite for a customer who has given
   * next to nothing yet. */
  o->value_ratio = isnan(o->value) ? NAN : o->value / (o->cost < 0.05 ? 0.05 : o->cost);

  /* A decayed count S of events at a steady r a day tends to r x h / ln 2
   * (h in days): r x 30 = S x ln 2 x 30 / h. */
  double per30 = M_LN2 * 30 * 86400000.0 / cf->half_life_ms[CXP_HL_MAIN];
  o->repeat_purchase_rate = read(c, &r, CXP_S_PURCHASES) * per30;
  o->referral_rate = read(c, &r, CXP_S_REFERRALS) * per30;
  o->complaint_rate = o->complaints * per30;

  o->recency_days = c->last_active_ms ? (double)(t - c->last_active_ms) / 86400000.0 : NAN;
  o->freq_short = read(c, &r, CXP_S_FREQ_SHORT);
  o->freq_long = read(c, &r, CXP_S_FREQ_LONG);
  o->mon_short = read(c, &r, CXP_S_MON_SHORT);
  o->mon_long = read(c, &r, CXP_S_MON_LONG);
  o->clv = c->clv < 0 ? NAN : c->clv;
}

void cxp_customer_indicators(const cxp_customer *c, const cxp_customer_conf *cf, int64_t t,
                             cxp_indicators *o) {
  cxp_customer_indicators_lean(c, cf, t, o);
  for (int d = 0; d < CXP_SQ__COUNT; d++) o->sq_gap[d] = cxp_customer_sq_gap(c, d);
  o->si_baseline = si_baseline(c, cf);
}

double cxp_customer_csat(const cxp_customer *c) {
  double r = ratio(c, CXP_S_CSAT_SAT, CXP_S_CSAT_N);
  return isnan(r) ? -1 : 100 * r;
}

double cxp_customer_nps_mean(const cxp_customer *c) {
  double r = ratio(c, CXP_S_NPS_SUM, CXP_S_NPS_N);
  return isnan(r) ? -1 : r;
}

int cxp_nps_class(int score) { return score >= 9 ? 1 : score >= 7 ? 0 : -1; }

const char *cxp_nps_class_name(int cls) {
  return cls == 1 ? "promoter" : cls == 0 ? "passive" : cls == -1 ? "detractor" : NULL;
}

/* Cooldown stamps are kept in seconds since 2000-01-01 (32 bits reach
 * 2136), half the room of milliseconds; cooldowns are hours, so they are
 * judged to the second. */
#define STAMP_EPOCH_MS 946684800000LL

int64_t cxp_customer_alerted_ms(const cxp_customer *c, cxp_alert_type t) {
  return c->alerted_s[t] ? STAMP_EPOCH_MS + (int64_t)c->alerted_s[t] * 1000 : 0;
}

void cxp_customer_stamp_alert(cxp_customer *c, cxp_alert_type t, int64_t ts_ms) {
  /* Rounded up, so a stamp never lies before the alert it records. */
  int64_t s = (ts_ms - STAMP_EPOCH_MS + 999) / 1000;
  if (s < 1) s = 1;
  if (s > (int64_t)UINT32_MAX) s = UINT32_MAX;
  if ((uint32_t)s > c->alerted_s[t]) c->alerted_s[t] = (uint32_t)s;
}
