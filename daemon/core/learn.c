/* The online churn learner and its combination (learn.h). */
#include "learn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* Below this deviation a feature has not varied yet: no step for it. */
#define MIN_SD 1e-6
/* A feature is standardised by its deviation, but never by less than this
 * (the features are about 0..1): one that rarely leaves 0 would otherwise
 * take steps of rate / its tiny deviation, and its coefficient would blow
 * up on the few samples where it does (338 for activity_drop in the
 * generator's recovery world before the floor). */
#define SD_FLOOR 0.1
/* No learnt coefficient goes past this, whatever the labels. */
#define COEF_MAX 20.0
/* The calibration's slope stays positive, so that it never reverses the
 * ranking the model gives, and within reason. */
#define CAL_A_MIN 0.1
#define CAL_A_MAX 10.0
#define CAL_B_MAX 10.0

void cxp_learner_init(cxp_learner *l, const cxp_churn_conf *prior) {
  memset(l, 0, sizeof *l);
  memcpy(l->coef, prior->coef, sizeof l->coef);
  l->intercept = prior->intercept;
  l->cal_a = prior->cal_a;
  l->cal_b = prior->cal_b;
}

/* Coefficient c of factor f kept on its factor's side of zero and within
 * COEF_MAX. */
static double bounded(int f, double c) {
  int sign = cxp_churn_factor_sign(f);
  if ((sign > 0 && c < 0) || (sign < 0 && c > 0)) c = 0;
  return c > COEF_MAX ? COEF_MAX : c < -COEF_MAX ? -COEF_MAX : c;
}

static double logit_of(const cxp_learner *l, const double *x) {
  double z = l->intercept;
  for (int f = 0; f < CXP_CF__COUNT; f++) z += l->coef[f] * x[f];
  return z;
}

/* One AdaGrad step for gradient g on the accumulator *g2. */
static double adagrad(double *g2, double g, double rate) {
  *g2 += g * g;
  return *g2 > 0 ? -rate * g / sqrt(*g2) : 0;
}

static void remember(cxp_learner *l, double p, double z, int y, int64_t t) {
  l->ring_t[l->ring_pos] = t;
  l->ring_p[l->ring_pos] = (float)p;
  l->ring_z[l->ring_pos] = (float)z;
  l->ring_y[l->ring_pos] = (uint8_t)(y != 0);
  l->ring_pos = (l->ring_pos + 1) % CXP_LEARN_RING;
  if (l->ring_n < CXP_LEARN_RING) l->ring_n++;
}

/* Platt's a and b fitted to n (logit, label) pairs: the log loss of
 * sigmoid(a z + b) plus (a - 1)^2 / 2 + b^2 / 2, by Newton's method on the
 * two from *a, *b; a kept within CAL_A_MIN..CAL_A_MAX. *a and *b are set
 * only to finite values. */
static void platt(const float *zs, const uint8_t *ys, uint32_t n, double *pa, double *pb) {
  double a = *pa, b = *pb;
  for (int it = 0; it < 20; it++) {
    double ga = a - 1, gb = b, haa = 1, hab = 0, hbb = 1;
    for (uint32_t i = 0; i < n; i++) {
      double z = zs[i], q = cxp_sigmoid(a * z + b), e = q - ys[i];
      double w = q * (1 - q);
      ga += e * z;
      gb += e;
      haa += w * z * z;
      hab += w * z;
      hbb += w;
    }
    double det = haa * hbb - hab * hab;
    if (!(det > 1e-12)) break;
    double da = (hbb * ga - hab * gb) / det, db = (haa * gb - hab * ga) / det;
    /* Damped: where the logits are far from the labels the curvature is
     * nearly flat, and a full step would fly off. */
    double big = fmax(fabs(da), fabs(db));
    if (big > 1) da /= big, db /= big;
    a -= da;
    b -= db;
    if (b < -CAL_B_MAX) b = -CAL_B_MAX;
    if (b > CAL_B_MAX) b = CAL_B_MAX;
    if (a < CAL_A_MIN) a = CAL_A_MIN;
    if (a > CAL_A_MAX) a = CAL_A_MAX;
    if (fabs(da) + fabs(db) < 1e-9) break;
  }
  if (isfinite(a) && isfinite(b)) {
    *pa = a;
    *pb = b;
  }
}

/* The learner's own calibration, refitted to its ring. */
static void calibrate(cxp_learner *l) { platt(l->ring_z, l->ring_y, l->ring_n, &l->cal_a, &l->cal_b); }

void cxp_learner_update(cxp_learner *l, const cxp_learn_conf *lc, const cxp_churn_conf *prior,
                        const double *x, int y, int64_t sample_ms, int64_t now_ms) {
  y = y != 0;
  double z = logit_of(l, x);
  double q = cxp_sigmoid(l->cal_a * z + l->cal_b);
  if (now_ms > l->now_ms) l->now_ms = now_ms;
  if (y && l->pend_n < CXP_LEARN_PEND) {
    l->pend_p[l->pend_n] = (float)q;
    l->pend_z[l->pend_n] = (float)z;
    l->pend_t[l->pend_n++] = sample_ms;
  } else {
    remember(l, q, z, y, sample_ms);
  }
  /* Positives whose samples are a horizon and a day old join the ring. */
  int64_t settled = l->now_ms - (int64_t)((lc->horizon_days + 1) * 86400000.0);
  for (uint32_t i = 0; i < l->pend_n;) {
    if (l->pend_t[i] > settled) {
      i++;
      continue;
    }
    remember(l, l->pend_p[i], l->pend_z[i], 1, l->pend_t[i]);
    l->pend_n--;
    l->pend_p[i] = l->pend_p[l->pend_n];
    l->pend_z[i] = l->pend_z[l->pend_n];
    l->pend_t[i] = l->pend_t[l->pend_n];
  }
  l->labels++;
  l->positives += (uint64_t)y;
  double n = (double)l->labels;
  for (int f = 0; f < CXP_CF__COUNT; f++) {
    double d = x[f] - l->mean[f];
    l->mean[f] += d / n;
    l->m2[f] += d * (x[f] - l->mean[f]);
  }
  /* In standardised units u = (x - mean) / sd the model is
   * b + sum v u, with v = coef x sd and b = intercept + sum coef x mean;
   * the step is taken on v and b and written back in x's units. */
  double g = cxp_sigmoid(z) - y, moved = 0;
  for (int f = 0; f < CXP_CF__COUNT; f++) {
    /* A feature that has not varied yet takes no step, but its coefficient
     * is kept in bounds all the same: a configured prior across a sign
     * (open_cases -0.38, say) must not survive into the learner. */
    double sd = sqrt(l->m2[f] / n), c = l->coef[f];
    if (sd >= MIN_SD) {
      if (sd < SD_FLOOR) sd = SD_FLOOR;
      double u = (x[f] - l->mean[f]) / sd;
      double gv = g * u + lc->l2 * sd * (l->coef[f] - prior->coef[f]);
      c += adagrad(&l->g2[f], gv, lc->rate) / sd;
    }
    c = bounded(f, c);
    moved += (c - l->coef[f]) * l->mean[f];
    l->coef[f] = c;
  }
  l->intercept += adagrad(&l->g2[CXP_CF__COUNT], g, lc->rate) - moved;
  if (l->labels % CXP_LEARN_REFIT == 0) calibrate(l);
}

/* Whether the labels learnt in all are enough for the learnt model. */
static int enough(const cxp_learn_conf *lc, uint64_t labels, uint64_t positives) {
  return lc->on && labels >= (uint64_t)lc->min_labels && positives >= 5 &&
         labels - positives >= 5;
}

int cxp_learner_combine(const cxp_learner *const *ls, int n, const cxp_learn_conf *lc,
                        const cxp_churn_conf *prior, cxp_churn_conf *out) {
  uint64_t labels = 0, positives = 0;
  for (int i = 0; i < n; i++)
    if (ls[i]) {
      labels += ls[i]->labels;
      positives += ls[i]->positives;
    }
  memcpy(out->coef, prior->coef, sizeof out->coef);
  out->intercept = prior->intercept;
  out->cal_a = prior->cal_a;
  out->cal_b = prior->cal_b;
  if (!enough(lc, labels, positives)) return 0;
  double acc[CXP_CF__COUNT + 3] = {0};
  for (int i = 0; i < n; i++) {
    if (ls[i] == NULL || ls[i]->labels == 0) continue;
    double w = (double)ls[i]->labels / (double)labels;
    for (int f = 0; f < CXP_CF__COUNT; f++) acc[f] += w * ls[i]->coef[f];
    acc[CXP_CF__COUNT] += w * ls[i]->intercept;
    acc[CXP_CF__COUNT + 1] += w * ls[i]->cal_a;
    acc[CXP_CF__COUNT + 2] += w * ls[i]->cal_b;
  }
  memcpy(out->coef, acc, sizeof out->coef);
  out->intercept = acc[CXP_CF__COUNT];
  out->cal_a = acc[CXP_CF__COUNT + 1];
  out->cal_b = acc[CXP_CF__COUNT + 2];
  return 1;
}

/* Newest first; ties by logit then label, so that the order (and the fit)
 * does not depend on qsort's. */
static int newest_first(const void *x, const void *y) {
  const cxp_learn_entry *a = x, *b = y;
  if (a->t != b->t) return a->t > b->t ? -1 : 1;
  if (a->z != b->z) return a->z > b->z ? -1 : 1;
  return (int)b->y - (int)a->y;
}

int cxp_learner_pool_calibration(const cxp_learner *const *ls, int n, cxp_learn_scratch *scratch,
                                 double *a, double *b) {
  if (n < 2) return 0;
  size_t total = 0;
  for (int i = 0; i < n; i++)
    if (ls[i]) total += ls[i]->ring_n;
  if (total < CXP_LEARN_REFIT) return 0;
  if (scratch->cap < total) {
    free(scratch->e);
    scratch->e = cxp_xmalloc(total * sizeof *scratch->e);
    scratch->cap = total;
  }
  size_t k = 0;
  double sa = 0, sb = 0, w = 0;
  for (int i = 0; i < n; i++) {
    const cxp_learner *l = ls[i];
    if (l == NULL) continue;
    for (uint32_t j = 0; j < l->ring_n; j++)
      scratch->e[k++] = (cxp_learn_entry){l->ring_t[j], l->ring_z[j], l->ring_y[j]};
    sa += (double)l->ring_n * l->cal_a;
    sb += (double)l->ring_n * l->cal_b;
    w += l->ring_n;
  }
  qsort(scratch->e, k, sizeof *scratch->e, newest_first);
  if (k > CXP_LEARN_RING) k = CXP_LEARN_RING;
  float zs[CXP_LEARN_RING];
  uint8_t ys[CXP_LEARN_RING];
  uint32_t pos = 0;
  for (size_t i = 0; i < k; i++) {
    zs[i] = scratch->e[i].z;
    ys[i] = scratch->e[i].y;
    pos += ys[i];
  }
  if (pos == 0 || pos == k) return 0;
  /* From the learners' own, as each learner starts from its last. */
  double pa = sa / w, pb = sb / w;
  platt(zs, ys, (uint32_t)k, &pa, &pb);
  *a = pa;
  *b = pb;
  return 1;
}

void cxp_learner_stats(const cxp_learner *const *ls, int n, const cxp_learn_conf *lc,
                       cxp_learn_stats *out) {
  memset(out, 0, sizeof *out);
  double score[CXP_LEARN_RING * 8], brier = 0;
  unsigned char label[CXP_LEARN_RING * 8];
  size_t k = 0, cap = sizeof label;
  /* The rings' latest labels, as many as fit, each learner in turn. */
  for (int i = 0; i < n; i++) {
    if (ls[i] == NULL) continue;
    out->labels += ls[i]->labels;
    out->positives += ls[i]->positives;
    for (uint32_t j = 0; j < ls[i]->ring_n && k < cap; j++) {
      uint32_t at = (ls[i]->ring_pos + CXP_LEARN_RING - 1 - j) % CXP_LEARN_RING;
      score[k] = ls[i]->ring_p[at];
      label[k] = ls[i]->ring_y[at];
      brier += (score[k] - label[k]) * (score[k] - label[k]);
      out->mean_p += score[k];
      out->rate += label[k];
      k++;
    }
  }
  out->recent = (uint32_t)k;
  out->brier = k ? brier / (double)k : NAN;
  out->mean_p = k ? out->mean_p / (double)k : NAN;
  out->rate = k ? out->rate / (double)k : NAN;
  out->auc = k ? cxp_churn_auc(score, label, k) : NAN;
  out->active = enough(lc, out->labels, out->positives);
}

/* ---- Bytes ----------------------------------------------------------------- */

#define LEARN_VERSION 1
/* The model (coefficients, intercept, calibration), the means and squared
 * deviations, the AdaGrad sums (a coefficient's each and the intercept's). */
#define N_DOUBLES (CXP_CF__COUNT + 3 + 2 * CXP_CF__COUNT + CXP_CF__COUNT + 1)

size_t cxp_learner_encode_size(void) {
  return 1 + N_DOUBLES * 8 + 3 * 8 + 8 + 2 * CXP_LEARN_RING * 4 + CXP_LEARN_RING * 8 +
         CXP_LEARN_RING + 8 + CXP_LEARN_PEND * (4 + 4 + 8);
}

/* The doubles in their order on the wire. */
static void doubles_of(cxp_learner *l, double **d) {
  int k = 0;
  for (int f = 0; f < CXP_CF__COUNT; f++) d[k++] = &l->coef[f];
  d[k++] = &l->intercept;
  d[k++] = &l->cal_a;
  d[k++] = &l->cal_b;
  for (int f = 0; f < CXP_CF__COUNT; f++) d[k++] = &l->mean[f];
  for (int f = 0; f < CXP_CF__COUNT; f++) d[k++] = &l->m2[f];
  for (int f = 0; f <= CXP_CF__COUNT; f++) d[k++] = &l->g2[f];
}

static void put_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

void cxp_learner_encode(const cxp_learner *l, uint8_t *out) {
  double *d[N_DOUBLES];
  doubles_of((cxp_learner *)l, d);
  uint8_t *p = out;
  *p++ = LEARN_VERSION;
  for (int k = 0; k < N_DOUBLES; k++, p += 8) {
    uint64_t v;
    memcpy(&v, d[k], 8);
    put_u64(p, v);
  }
  put_u64(p, l->labels);
  put_u64(p + 8, l->positives);
  put_u64(p + 16, (uint64_t)l->now_ms);
  p += 24;
  put_u64(p, (uint64_t)l->ring_n | (uint64_t)l->ring_pos << 32);
  p += 8;
  for (int i = 0; i < 2 * CXP_LEARN_RING; i++, p += 4) {
    uint32_t v;
    memcpy(&v, i < CXP_LEARN_RING ? &l->ring_p[i] : &l->ring_z[i - CXP_LEARN_RING], 4);
    for (int b = 0; b < 4; b++) p[b] = (uint8_t)(v >> (8 * b));
  }
  for (int i = 0; i < CXP_LEARN_RING; i++, p += 8) put_u64(p, (uint64_t)l->ring_t[i]);
  memcpy(p, l->ring_y, CXP_LEARN_RING);
  p += CXP_LEARN_RING;
  put_u64(p, l->pend_n);
  p += 8;
  for (int i = 0; i < CXP_LEARN_PEND; i++, p += 16) {
    uint32_t a, b;
    memcpy(&a, &l->pend_p[i], 4);
    memcpy(&b, &l->pend_z[i], 4);
    put_u64(p, (uint64_t)a | (uint64_t)b << 32);
    put_u64(p + 8, (uint64_t)l->pend_t[i]);
  }
}

int cxp_learner_decode(cxp_learner *l, const uint8_t *in, size_t len) {
  if (len != cxp_learner_encode_size() || in[0] != LEARN_VERSION) return -1;
  cxp_learner t;
  memset(&t, 0, sizeof t);
  double *d[N_DOUBLES];
  doubles_of(&t, d);
  const uint8_t *p = in + 1;
  for (int k = 0; k < N_DOUBLES; k++, p += 8) {
    uint64_t v = get_u64(p);
    memcpy(d[k], &v, 8);
    if (!isfinite(*d[k]) || fabs(*d[k]) > 1e12) return -1;
  }
  t.labels = get_u64(p);
  t.positives = get_u64(p + 8);
  t.now_ms = (int64_t)get_u64(p + 16);
  p += 24;
  uint64_t ring = get_u64(p);
  p += 8;
  t.ring_n = (uint32_t)ring;
  t.ring_pos = (uint32_t)(ring >> 32);
  if (t.positives > t.labels || t.ring_n > CXP_LEARN_RING || t.ring_pos >= CXP_LEARN_RING ||
      t.ring_n > t.labels || !(t.cal_a >= CAL_A_MIN && t.cal_a <= CAL_A_MAX))
    return -1;
  for (int i = 0; i < 2 * CXP_LEARN_RING; i++, p += 4) {
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                 (uint32_t)p[3] << 24;
    float *f = i < CXP_LEARN_RING ? &t.ring_p[i] : &t.ring_z[i - CXP_LEARN_RING];
    memcpy(f, &v, 4);
    if (i < CXP_LEARN_RING ? !(*f >= 0 && *f <= 1) : !(fabsf(*f) <= 1e6f)) return -1;
  }
  for (int i = 0; i < CXP_LEARN_RING; i++, p += 8) t.ring_t[i] = (int64_t)get_u64(p);
  for (int i = 0; i < CXP_LEARN_RING; i++)
    if (p[i] > 1) return -1;
  memcpy(t.ring_y, p, CXP_LEARN_RING);
  p += CXP_LEARN_RING;
  uint64_t pn = get_u64(p);
  p += 8;
  if (pn > CXP_LEARN_PEND) return -1;
  t.pend_n = (uint32_t)pn;
  for (int i = 0; i < CXP_LEARN_PEND; i++, p += 16) {
    uint64_t v = get_u64(p);
    uint32_t a = (uint32_t)v, b = (uint32_t)(v >> 32);
    memcpy(&t.pend_p[i], &a, 4);
    memcpy(&t.pend_z[i], &b, 4);
    t.pend_t[i] = (int64_t)get_u64(p + 8);
    if (!(t.pend_p[i] >= 0 && t.pend_p[i] <= 1) || !(fabsf(t.pend_z[i]) <= 1e6f)) return -1;
  }
  for (int f = 0; f < CXP_CF__COUNT; f++) {
    if (t.m2[f] < 0 || (t.labels && bounded(f, t.coef[f]) != t.coef[f])) return -1;
  }
  *l = t;
  return 0;
}
