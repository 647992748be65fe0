/* The online churn learner and its combination (learn.h). */
#include "learn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
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

/* x's features as the refit's samples and the calibration's entries keep
 * them: each clipped to its range and quantised to 8 bits of it. */
static void quantise(const double *x, uint8_t *q) {
  for (int f = 0; f < CXP_CF__COUNT; f++) {
    double v = x[f] / cxp_churn_feature_max[f];
    v = v > 1 ? 1 : v > 0 ? v : 0; /* NaN too: 0 */
    q[f] = (uint8_t)lrint(v * 255.0);
  }
}

/* A model's logit of quantised features: w[f] is coefficient f over 255ths
 * of its feature's range (model_weights), w[CXP_CF__COUNT] the intercept. */
static void model_weights(const double *coef, double intercept, double *w) {
  for (int f = 0; f < CXP_CF__COUNT; f++) w[f] = coef[f] * cxp_churn_feature_max[f] / 255.0;
  w[CXP_CF__COUNT] = intercept;
}

static float logit_q(const double *w, const uint8_t *q) {
  double z = w[CXP_CF__COUNT];
  for (int f = 0; f < CXP_CF__COUNT; f++) z += w[f] * q[f];
  return (float)z;
}

/* Which labels are kept for the calibration, in the ring or, a positive,
 * in the pending list first. A positive waits there up to a horizon and a
 * day, so a horizon's positives wait at once: with more than the list holds (a learner of
 * some 2,000 customers or more at a 6% monthly rate) the rest went straight into the ring,
 * a horizon early, which then held mostly positives (0.79 of its labels with 30,000
 * customers on the demo's world, where 0.12 cancel): Platt's slope came out flat and the
 * prior shift, made over those labels, set the probabilities at 0.6-0.7x the rate. So
 * labels of both kinds are kept at the same rate, the share that keeps the positives of the
 * last horizon (flow_pos) within PEND_ROOM, drawn by a hash of the label's number (the same
 * labels give the same learner); the ring then holds the labels' own mix, over a longer
 * stretch of time. A positive that still finds the list full is not kept. */
#define PEND_ROOM (CXP_LEARN_PEND * 3 / 4)

/* Which labels are kept among the refit's samples. The latest
 * CXP_LEARN_SAMPLES of them are fitted, and a positive is labelled
 * the day he leaves, a negative a horizon after its sample: samples that
 * came within a few days are this month's leavers against the stayers of a
 * month before. A learner of 30,000 customers gets 8,192 labels in about
 * ten days; its refits then ranked the demo's world at 0.805, under the
 * prior (0.820). So once the labels of the last horizon (the flow) would
 * fill the samples in under SAMPLE_SPAN horizons, they are kept at the
 * rate that makes the samples reach back that far, drawn by a hash of the
 * label's number as for the calibration, and the refits come every
 * CXP_LEARN_BATCH samples kept. A learner of 3,000 customers, about 3,000
 * labels a horizon, keeps them all. */
#define SAMPLE_SPAN 2

/* The flow's labels a horizon, positives and all (in the first horizon,
 * those so far scaled to a whole one), and the label being learnt (the
 * learner's labels-th) kept where room of them would be: with probability
 * room / per_horizon, by a hash of the label's number and a salt of each
 * use's own, so that the same labels give the same learner. */
typedef struct flow_rate {
  uint64_t pos, all;
} flow_rate;

static flow_rate flow_rate_of(const cxp_learner *l) {
  flow_rate r = {0, 0};
  for (int i = 0; i < CXP_LEARN_FLOW; i++) {
    r.pos += l->flow_pos[i];
    r.all += (uint64_t)l->flow_pos[i] + l->flow_neg[i];
  }
  if (l->flow_span > 0 && l->flow_span < CXP_LEARN_FLOW) {
    r.pos = r.pos * CXP_LEARN_FLOW / l->flow_span;
    r.all = r.all * CXP_LEARN_FLOW / l->flow_span;
  }
  return r;
}

static int kept(const cxp_learner *l, uint64_t salt, uint64_t per_horizon, uint64_t room) {
  if (per_horizon <= room) return 1;
  double u = (double)(cxp_hash_mix(l->labels + salt) >> 11) * 0x1p-53;
  return u * (double)per_horizon < (double)room;
}

/* A label into the ring, with its features (q, quantised) when known. */
static void remember(cxp_learner *l, double p, double z, int y, int64_t t,
                     const uint8_t *q) {
  if (q)
    memcpy(l->ring_x[l->ring_pos], q, sizeof l->ring_x[0]);
  else
    memset(l->ring_x[l->ring_pos], 0, sizeof l->ring_x[0]);
  l->ring_k[l->ring_pos] = q != NULL;
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

/* The rate the calibration follows. Its labels are a horizon old and
 * more: a sample is settled only once its horizon has passed (a positive
 * waits in the pending list for its negatives), so where churn rises or
 * falls the calibration states the rate of a horizon ago. A positive is
 * known the day the customer leaves, though, and a negative a horizon after
 * its sample: over the last horizon of label time, the share positive of
 * the labels that came is this horizon's cancellations over the samples
 * whose horizon it closed, which in a steady state is the same rate and
 * where churn moves is a horizon fresher. The calibration keeps Platt's
 * slope from its labels and moves its intercept so that the mean
 * probability over them is that share (a prior shift). On the generator's
 * competitor world, whose churn rises from day 180, the mean probability at
 * day 240 was 0.57x the observed rate with the calibration's labels alone
 * (seed 3, one learner or sixteen), 0.77x and 0.78x moved to the flow
 * (docs/domain.md 3.8 has the rest). A whole horizon of label time
 * holds each customer's label about once, however the samples bunch (they
 * all start at the learner's first day and settle a horizon apart, so a
 * few days' labels are mostly negatives or mostly positives). The first
 * horizon brings positives alone: the share counts once two have been
 * counted, and only over CXP_LEARN_REFIT labels or more (as few as the
 * calibration itself takes; below that it is noise). Adds l's positives and
 * negatives of the last horizon to *p and *q and returns 1, or returns 0
 * before then. */
static int flow_counts(const cxp_learner *l, double *p, double *q) {
  if (l->flow_span < 2 * CXP_LEARN_FLOW) return 0;
  flow_rate r = flow_rate_of(l); /* not scaled: a whole horizon counted */
  *p += (double)r.pos;
  *q += (double)(r.all - r.pos);
  return 1;
}

/* A label at now_ms into its slice, the slices since the last cleared. */
static void flow_count(cxp_learner *l, const cxp_learn_conf *lc, int64_t now_ms, int y) {
  int64_t width = (int64_t)(lc->horizon_days * 86400000.0 / CXP_LEARN_FLOW);
  if (width < 1) width = 1;
  int64_t at = now_ms > 0 ? now_ms / width : 0;
  if (l->flow_span == 0) {
    l->flow_at = at;
    l->flow_span = 1;
  }
  if (at > l->flow_at) {
    int64_t gap = at - l->flow_at;
    for (int64_t k = 1; k <= gap && k <= CXP_LEARN_FLOW; k++) {
      int slot = (int)((l->flow_at + k) % CXP_LEARN_FLOW);
      l->flow_pos[slot] = l->flow_neg[slot] = 0;
    }
    l->flow_span = (uint32_t)(l->flow_span + gap > 2 * CXP_LEARN_FLOW ? 2 * CXP_LEARN_FLOW
                                                                      : l->flow_span + gap);
    l->flow_at = at;
  }
  int slot = (int)(l->flow_at % CXP_LEARN_FLOW);
  if (y)
    l->flow_pos[slot]++;
  else
    l->flow_neg[slot]++;
}

/* *b moved so that the mean of sigmoid(a z + *b) over the n logits zs is r
 * (Newton's method on the one unknown, steps of at most 1). */
static void shift_to(const float *zs, uint32_t n, double a, double *b, double r) {
  if (!(r > 0 && r < 1) || n == 0) return;
  double bb = *b;
  for (int it = 0; it < 30; it++) {
    double f = -r * n, d = 0;
    for (uint32_t i = 0; i < n; i++) {
      double q = cxp_sigmoid(a * zs[i] + bb);
      f += q;
      d += q * (1 - q);
    }
    if (!(d > 1e-12)) return;
    double step = f / d;
    if (step > 1) step = 1;
    if (step < -1) step = -1;
    bb -= step;
    if (fabs(step) < 1e-6) break;
  }
  if (bb < -CAL_B_MAX) bb = -CAL_B_MAX;
  if (bb > CAL_B_MAX) bb = CAL_B_MAX;
  if (isfinite(bb)) *b = bb;
}

/* The learner's own calibration, refitted to its ring: each label with the
 * logit the learner gives its features now (the stored one for an entry
 * without them). */
static void calibrate(cxp_learner *l) {
  double w[CXP_CF__COUNT + 1];
  float zs[CXP_LEARN_RING];
  model_weights(l->coef, l->intercept, w);
  for (uint32_t i = 0; i < l->ring_n; i++)
    zs[i] = l->ring_k[i] ? logit_q(w, l->ring_x[i]) : l->ring_z[i];
  platt(zs, l->ring_y, l->ring_n, &l->cal_a, &l->cal_b);
  double p = 0, q = 0;
  if (flow_counts(l, &p, &q) && p > 0 && q > 0 && p + q >= CXP_LEARN_REFIT)
    shift_to(zs, l->ring_n, l->cal_a, &l->cal_b, p / (p + q));
}

/* ---- The batch refit -------------------------------------------------------- */

/* The refit's pull towards the prior is the online step's (churn.learn_l2,
 * in standardised units) counted this many times over: the prior is worth
 * as much as this many labels. Counted once per sample, as the online
 * step's stationary point does, it would outweigh the data (a sample's
 * curvature is p (1 - p), under 0.1 at these churn rates, against 0.1 for
 * the pull) and draw every coefficient about half way back to the prior,
 * which is not what a refit is for. A few dozen labels' worth holds a young
 * learner's first refits (128 samples) near the prior and keeps a feature
 * seen on a handful of samples from running off; on the generator's worlds
 * 32 and 256 gave AUCs within 0.002 of each other with one partition, 0.012
 * with sixteen (a ring of 4096 then). */
#define PRIOR_LABELS 32.0

static void sample_put(cxp_learner *l, const uint8_t *q, int y) {
  uint32_t at = l->smp_pos;
  memcpy(l->smp_x[at], q, sizeof l->smp_x[at]);
  uint8_t bit = (uint8_t)(1u << (at % 8)), *byte = &l->smp_y[at / 8];
  if (l->smp_n == CXP_LEARN_SAMPLES && (*byte & bit)) l->smp_ones--;
  *byte = (uint8_t)(y ? *byte | bit : *byte & ~bit);
  l->smp_ones += (uint32_t)(y != 0);
  l->smp_pos = (at + 1) % CXP_LEARN_SAMPLES;
  if (l->smp_n < CXP_LEARN_SAMPLES) l->smp_n++;
}

/* Index of (i, j), i <= j, in the upper triangle kept row by row. */
static int tri(int i, int j) { return i * CXP_LEARN_NP - i * (i - 1) / 2 + (j - i); }

/* Goes through up to CXP_LEARN_SLICE samples of the step's pass, summing
 * the log loss's gradient and Hessian at the iterate. Features at 0 (most
 * of them, for most customers) are skipped in the Hessian. The sums are
 * kept in locals for the slice (the compiler cannot keep them in registers
 * through the learner's pointer), and the logit is summed in three chains
 * rather than one. */
static void refit_slice(cxp_learner *l) {
  uint32_t end = l->fit_at + CXP_LEARN_SLICE;
  if (end > l->fit_n) end = l->fit_n;
  double g[CXP_LEARN_NP], h[CXP_LEARN_NH], wt[CXP_LEARN_NP], scale[CXP_CF__COUNT];
  memcpy(g, l->fit_g, sizeof g);
  memcpy(h, l->fit_h, sizeof h);
  memcpy(wt, l->fit_w, sizeof wt);
  for (int f = 0; f < CXP_CF__COUNT; f++) scale[f] = cxp_churn_feature_max[f] / 255.0;
  for (uint32_t i = l->fit_at; i < end; i++) {
    double x[CXP_LEARN_NP];
    int nz[CXP_LEARN_NP], k = 0;
    const uint8_t *q = l->smp_x[i];
    double z0 = wt[CXP_CF__COUNT], z1 = 0, z2 = 0;
    for (int f = 0; f < CXP_CF__COUNT; f++) {
      x[f] = q[f] * scale[f];
      if (q[f]) nz[k++] = f;
    }
    for (int f = 0; f + 2 < CXP_CF__COUNT; f += 3) {
      z0 += wt[f] * x[f];
      z1 += wt[f + 1] * x[f + 1];
      z2 += wt[f + 2] * x[f + 2];
    }
    for (int f = CXP_CF__COUNT - CXP_CF__COUNT % 3; f < CXP_CF__COUNT; f++) z0 += wt[f] * x[f];
    x[CXP_CF__COUNT] = 1;
    nz[k++] = CXP_CF__COUNT;
    int y = (l->smp_y[i / 8] >> (i % 8)) & 1;
    double p = cxp_sigmoid(z0 + z1 + z2), r = p - y, w = p * (1 - p);
    for (int a = 0; a < k; a++) {
      int i1 = nz[a];
      g[i1] += r * x[i1];
      double wx = w * x[i1];
      double *row = h + tri(i1, 0); /* row[j] is (i1, j) */
      for (int b = a; b < k; b++) row[nz[b]] += wx * x[nz[b]];
    }
  }
  memcpy(l->fit_g, g, sizeof g);
  memcpy(l->fit_h, h, sizeof h);
  l->fit_at = end;
}

/* Solves the k x k system a d = g (a symmetric positive definite, row-major
 * k x k, overwritten) by Cholesky. Returns 0, or -1 when a is not positive
 * definite. */
static int cholesky_solve(double *a, int k, const double *g, double *d) {
  for (int j = 0; j < k; j++) {
    double s = a[j * k + j];
    for (int m = 0; m < j; m++) s -= a[j * k + m] * a[j * k + m];
    if (!(s > 1e-12)) return -1;
    a[j * k + j] = sqrt(s);
    for (int i = j + 1; i < k; i++) {
      double t = a[i * k + j];
      for (int m = 0; m < j; m++) t -= a[i * k + m] * a[j * k + m];
      a[i * k + j] = t / a[j * k + j];
    }
  }
  double yv[CXP_LEARN_NP];
  for (int i = 0; i < k; i++) {
    double t = g[i];
    for (int m = 0; m < i; m++) t -= a[i * k + m] * yv[m];
    yv[i] = t / a[i * k + i];
  }
  for (int i = k - 1; i >= 0; i--) {
    double t = yv[i];
    for (int m = i + 1; m < k; m++) t -= a[m * k + i] * d[m];
    d[i] = t / a[i * k + i];
  }
  return 0;
}

/* The end of a step's pass: the Newton step on the penalised loss
 *   sum log loss + PRIOR_LABELS l2 / 2 sum_f (sd_f (coef_f - prior_f))^2,
 * with a coefficient held where it sits at 0 (or at COEF_MAX) and the
 * gradient would push it past (the projection onto the signs), a
 * feature that has not varied held where it is, the step damped to a
 * change of at most 1 in the log-odds of a standardised feature, and the
 * result kept on each factor's side. Returns 0 with *size the step's
 * largest change in those units, or -1 when the system is singular (the
 * refit is dropped). */
static int refit_step(cxp_learner *l, const cxp_learn_conf *lc, const cxp_churn_conf *prior,
                      double *size) {
  double n = (double)l->labels, g[CXP_LEARN_NP], sd[CXP_LEARN_NP], mean[CXP_LEARN_NP];
  int free_[CXP_LEARN_NP], k = 0;
  for (int f = 0; f < CXP_LEARN_NP; f++) {
    g[f] = l->fit_g[f];
    sd[f] = 1;
    mean[f] = 0;
    if (f == CXP_CF__COUNT) {
      free_[k++] = f; /* the intercept: never held, never pulled */
      continue;
    }
    double s = n > 0 ? sqrt(l->m2[f] / n) : 0;
    if (s < MIN_SD) continue;
    sd[f] = s < SD_FLOOR ? SD_FLOOR : s;
    mean[f] = l->mean[f];
    double pull = PRIOR_LABELS * lc->l2 * sd[f] * sd[f];
    g[f] += pull * (l->fit_w[f] - prior->coef[f]);
    int sign = cxp_churn_factor_sign(f);
    double w = l->fit_w[f];
    if ((w == 0 && ((sign > 0 && g[f] > 0) || (sign < 0 && g[f] < 0))) ||
        (w >= COEF_MAX && g[f] < 0) || (w <= -COEF_MAX && g[f] > 0))
      continue;
    free_[k++] = f;
  }
  double a[CXP_LEARN_NP * CXP_LEARN_NP], gk[CXP_LEARN_NP], d[CXP_LEARN_NP];
  for (int i = 0; i < k; i++) {
    gk[i] = g[free_[i]];
    for (int j = 0; j < k; j++) {
      int fi = free_[i], fj = free_[j];
      double h = l->fit_h[fi <= fj ? tri(fi, fj) : tri(fj, fi)];
      if (i == j && fi < CXP_CF__COUNT) h += PRIOR_LABELS * lc->l2 * sd[fi] * sd[fi];
      a[i * k + j] = h + (i == j ? 1e-9 : 0);
    }
  }
  if (cholesky_solve(a, k, gk, d) != 0) return -1;
  /* Damped, in standardised units: a coefficient's change times its
   * deviation, and the intercept's at the features' means. */
  double big = 0, at_mean = 0;
  for (int i = 0; i < k; i++) {
    int f = free_[i];
    if (f == CXP_CF__COUNT) {
      at_mean += d[i];
    } else {
      big = fmax(big, fabs(d[i]) * sd[f]);
      at_mean += d[i] * mean[f];
    }
  }
  big = fmax(big, fabs(at_mean));
  double scale = big > 1 ? 1 / big : 1;
  *size = big * scale;
  double w[CXP_LEARN_NP];
  memcpy(w, l->fit_w, sizeof w);
  for (int i = 0; i < k; i++) w[free_[i]] -= scale * d[i];
  for (int f = 0; f < CXP_LEARN_NP; f++) {
    if (!isfinite(w[f])) return -1;
    if (f < CXP_CF__COUNT) w[f] = bounded(f, w[f]);
  }
  memcpy(l->fit_w, w, sizeof w);
  return 0;
}

/* Labels between refits: a quarter of the samples held, so that a young
 * learner refits soon and often and a full one every CXP_LEARN_BATCH. A
 * label pays for 4 samples a Newton step while the samples fill, 8 once
 * they are full (8192 over 1024). */
static uint32_t refit_period(const cxp_learner *l) {
  uint32_t p = l->smp_n / 4;
  return p < CXP_LEARN_BATCH_MIN ? CXP_LEARN_BATCH_MIN : p > CXP_LEARN_BATCH ? CXP_LEARN_BATCH : p;
}

static void refit_begin(cxp_learner *l) {
  l->since = 0;
  l->fit_step = 1;
  l->fit_n = l->smp_n;
  l->fit_at = 0;
  memcpy(l->fit_w, l->coef, sizeof l->coef);
  l->fit_w[CXP_CF__COUNT] = l->intercept;
  memset(l->fit_g, 0, sizeof l->fit_g);
  memset(l->fit_h, 0, sizeof l->fit_h);
}

/* A step that changes no standardised coefficient (nor the log-odds at the
 * means) by this much ends the refit early: what is left to move is far
 * below what would change a ranking or a rate, and each further step costs
 * a pass over the samples. On the generator's recovery world (seed 3) the
 * median step was 0.26, 0.19, 0.037, 0.0063, 0.0018, 0.00065 (steps 1-6),
 * so most refits end after the fourth. */
#define REFIT_TOL 0.01

/* The end of a step's pass: the step; after the last of `steps`, or one
 * under `tol`, the iterate becomes the model. Returns 1 when the refit is
 * over (done, or dropped on a singular system). */
static int refit_end_pass(cxp_learner *l, const cxp_learn_conf *lc, const cxp_churn_conf *prior,
                          uint32_t steps, double tol) {
  double size = 0;
  int ok = refit_step(l, lc, prior, &size) == 0;
  memset(l->fit_g, 0, sizeof l->fit_g);
  memset(l->fit_h, 0, sizeof l->fit_h);
  l->fit_at = 0;
  if (ok && l->fit_step < steps && !(size < tol)) {
    l->fit_step++;
    return 0;
  }
  if (ok) {
    memcpy(l->coef, l->fit_w, sizeof l->coef);
    l->intercept = l->fit_w[CXP_CF__COUNT];
    l->refits++;
  }
  l->fit_step = 0;
  l->fit_n = 0;
  memset(l->fit_w, 0, sizeof l->fit_w);
  return 1;
}

/* Whether the samples held can be refitted: both kinds among them. */
static int refittable(const cxp_learner *l) { return l->smp_ones > 0 && l->smp_ones < l->smp_n; }

/* The refit's share of one label's call: begins one when due, goes through
 * one slice of the step's pass, takes the step at the pass's end and, after
 * the last, makes the iterate the model. Between its slices the learner
 * keeps its online steps; the refit's result replaces them (it has seen
 * their samples, or most of them). */
static void refit_advance(cxp_learner *l, const cxp_learn_conf *lc, const cxp_churn_conf *prior) {
  if (l->fit_step == 0) {
    if (l->since < refit_period(l) || !refittable(l)) return;
    refit_begin(l);
  }
  refit_slice(l);
  if (l->fit_at >= l->fit_n) refit_end_pass(l, lc, prior, CXP_LEARN_NEWTON, REFIT_TOL);
}

void cxp_learner_sample(cxp_learner *l, const double *x, int y) {
  uint8_t q[CXP_CF__COUNT];
  quantise(x, q);
  sample_put(l, q, y);
}

int cxp_learner_refit(cxp_learner *l, const cxp_learn_conf *lc, const cxp_churn_conf *prior,
                      int steps) {
  if (!refittable(l) || steps < 1) return -1;
  refit_begin(l);
  uint64_t before = l->refits;
  for (;;) {
    refit_slice(l);
    if (l->fit_at >= l->fit_n && refit_end_pass(l, lc, prior, (uint32_t)steps, 0)) break;
  }
  return l->refits > before ? 0 : -1;
}

double cxp_learner_score(const cxp_learner *l, const double *x) {
  return cxp_sigmoid(l->cal_a * logit_of(l, x) + l->cal_b);
}

/* One step of logistic regression on (x, y), z the learner's logit of x.
 * In standardised units u = (x - mean) / sd the model is b + sum v u, with
 * v = coef x sd and b = intercept + sum coef x mean; the step is taken on
 * v and b and written back in x's units.
 *
 * A learner takes them until its first refit, and after it while it holds
 * fewer than its 8,192 samples (online_steps). */
static void online_step(cxp_learner *l, const cxp_learn_conf *lc,
                        const cxp_churn_conf *prior, const double *x, double z, int y) {
  double n = (double)l->labels;
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
}

/* Whether the learner still takes online steps: before its first refit,
 * and while its refits rest on fewer than CXP_LEARN_SAMPLES samples. Once
 * it holds them all, the model is the latest refit's until the next. The
 * steps' equilibrium weighs the pull to the prior once per label, about as
 * much as a sample's own curvature: between two refits of a full learner
 * (a thousand samples kept, several thousand labels on one of 30,000
 * customers) they drew the refit's model half way back to the prior. On
 * the renewal world, seed 2, activity_drop went back from 0 to 0.82
 * against the data (the in-sample fit's is below 0) and the learnt model
 * ranked 0.638 where the refit's alone ranks 0.645. A small learner's refits
 * on a few hundred samples are noisier, and there the steps' pull steadies
 * them: stopped at the first refit on the README's learners of 190
 * customers (3,000 over 16 partitions), the competitor world ranked 0.011
 * and 0.017 lower. */
static int online_steps(const cxp_learner *l) {
  return l->refits == 0 || l->smp_n < CXP_LEARN_SAMPLES;
}

void cxp_learner_update(cxp_learner *l, const cxp_learn_conf *lc, const cxp_churn_conf *prior,
                        const double *x, int y, int64_t sample_ms, int64_t now_ms) {
  cxp_learner_update_scored(l, lc, prior, x, y, NAN, sample_ms, now_ms);
}

void cxp_learner_update_scored(cxp_learner *l, const cxp_learn_conf *lc,
                               const cxp_churn_conf *prior, const double *x, int y,
                               double p_then, int64_t sample_ms, int64_t now_ms) {
  y = y != 0;
  double z = logit_of(l, x);
  /* The score the statistics keep (ring_p): the model's at the sample's
   * time when known; z stays the learner's own, for the calibration. */
  double q = p_then >= 0 && p_then <= 1 ? p_then : cxp_sigmoid(l->cal_a * z + l->cal_b);
  uint8_t xq[CXP_CF__COUNT];
  quantise(x, xq);
  if (now_ms > l->now_ms) l->now_ms = now_ms;
  flow_count(l, lc, l->now_ms, y);
  /* Kept for the calibration (the comment above PEND_ROOM) and for the
   * refit (above SAMPLE_SPAN); learnt from below either way. */
  flow_rate fr = flow_rate_of(l);
  int sampled = kept(l, 0x73616d706cULL, fr.all * SAMPLE_SPAN, CXP_LEARN_SAMPLES);
  if (kept(l, 0x6c6561726eULL, fr.pos, PEND_ROOM)) {
    if (!y) {
      remember(l, q, z, y, sample_ms, xq);
    } else if (l->pend_n < CXP_LEARN_PEND) { /* a positive finding it full is not kept */
      l->pend_p[l->pend_n] = (float)q;
      l->pend_z[l->pend_n] = (float)z;
      memcpy(l->pend_x[l->pend_n], xq, sizeof xq);
      l->pend_k[l->pend_n] = 1;
      l->pend_t[l->pend_n++] = sample_ms;
    }
  }
  /* Positives whose samples are a horizon and a day old join the ring. */
  int64_t settled = l->now_ms - (int64_t)((lc->horizon_days + 1) * 86400000.0);
  for (uint32_t i = 0; i < l->pend_n;) {
    if (l->pend_t[i] > settled) {
      i++;
      continue;
    }
    remember(l, l->pend_p[i], l->pend_z[i], 1, l->pend_t[i],
             l->pend_k[i] ? l->pend_x[i] : NULL);
    l->pend_n--;
    l->pend_p[i] = l->pend_p[l->pend_n];
    l->pend_z[i] = l->pend_z[l->pend_n];
    l->pend_t[i] = l->pend_t[l->pend_n];
    memcpy(l->pend_x[i], l->pend_x[l->pend_n], sizeof l->pend_x[i]);
    l->pend_k[i] = l->pend_k[l->pend_n];
  }
  l->labels++;
  l->positives += (uint64_t)y;
  double n = (double)l->labels;
  for (int f = 0; f < CXP_CF__COUNT; f++) {
    double d = x[f] - l->mean[f];
    l->mean[f] += d / n;
    l->m2[f] += d * (x[f] - l->mean[f]);
  }
  if (online_steps(l)) online_step(l, lc, prior, x, z, y);
  if (sampled) {
    sample_put(l, xq, y);
    l->since++;
  }
  refit_advance(l, lc, prior);
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

/* The pool's order, newest first: by sample time, then logit, then label. */
static inline int newer(const cxp_learn_entry *a, const cxp_learn_entry *b) {
  if (a->t != b->t) return a->t > b->t;
  if (a->z != b->z) return a->z > b->z;
  if (a->y != b->y) return a->y > b->y;
  /* Then by features (none first), so that entries the order cannot tell
   * apart are re-scored alike. */
  if (a->x == NULL || b->x == NULL) return a->x != NULL && b->x == NULL;
  return memcmp(a->x, b->x, CXP_CF__COUNT) > 0;
}

static int newest_first(const void *x, const void *y) {
  return newer(y, x) - newer(x, y);
}

uint64_t cxp_learn_entry_key(const cxp_learn_entry *e) {
  uint32_t zb;
  memcpy(&zb, &e->z, sizeof zb);
  return cxp_hash_mix((uint64_t)e->t * 0x9e3779b97f4a7c15ULL ^ ((uint64_t)zb << 1) ^ e->y);
}

/* The pool's draw: by key, then newest_first's order. */
static inline int drawn_before(const cxp_learn_entry *a, const cxp_learn_entry *b) {
  if (a->key != b->key) return a->key < b->key;
  return newer(a, b);
}

/* Puts the k first of e[0..n) by drawn_before in e[0..k), in no order: a
 * quickselect with a three-way partition around the median of three (each
 * round keeps at least the pivot's equals out of the range, so it ends).
 * With 16 learners the pool holds 8,192 labels of which 512 are wanted:
 * sorting them all was a merge sort of 2.6M instructions every 128 labels,
 * the most of what learning cost an event. The k are then sorted newest
 * first, so the calibration sees the same labels in the same order
 * (entries that compare equal are equal in every field).
 *
 * The pool took the newest 512 by sample time until 2026-12-03: with
 * 30,000 customers over 16 learners those held twice the rings' share of
 * positives (19% of the newest 512, 22% of the newest 256, 10.7% of all
 * 8,192 on the demo's world; why the share rises the newer the samples is
 * not pinned down), and b moved over them to the last horizon's share set
 * the probabilities at 0.53x and 0.45x the rate (0.52x before the rings
 * kept a share of their labels). Drawn evenly from all of the rings, which
 * cover the last weeks at that size, 0.81x and 0.85x (README). */
static void drawn_k(cxp_learn_entry *e, size_t n, size_t k) {
  size_t lo = 0, hi = n; /* the boundary at k lies in [lo, hi] */
  while (hi - lo > 1 && lo < k && k < hi) {
    cxp_learn_entry x = e[lo], y = e[lo + (hi - lo) / 2], z = e[hi - 1], pv;
    if (drawn_before(&x, &y) == drawn_before(&y, &z))
      pv = y;
    else if (drawn_before(&y, &x) == drawn_before(&x, &z))
      pv = x;
    else
      pv = z;
    /* [lo, lt) before the pivot, [lt, i) equal, [gt, hi) after. */
    size_t lt = lo, i = lo, gt = hi;
    while (i < gt) {
      if (drawn_before(&e[i], &pv)) {
        cxp_learn_entry t = e[lt];
        e[lt++] = e[i];
        e[i++] = t;
      } else if (drawn_before(&pv, &e[i])) {
        cxp_learn_entry t = e[--gt];
        e[gt] = e[i];
        e[i] = t;
      } else {
        i++;
      }
    }
    if (k < lt)
      hi = lt;
    else if (k > gt)
      lo = gt;
    else
      return; /* the boundary falls among the pivot's equals */
  }
}

int cxp_learner_pool_calibration(const cxp_learner *const *ls, int n,
                                 const cxp_churn_conf *model, cxp_learn_scratch *scratch,
                                 double *a, double *b) {
  if (n < 2) return 0;
  size_t total = 0;
  for (int i = 0; i < n; i++)
    if (ls[i]) total += ls[i]->ring_n;
  if (total < CXP_LEARN_REFIT) return 0;
  if (scratch->cap < total) {
    /* Room for full rings at once: grown to what they hold as they fill,
     * it was allocated anew at nearly every calibration of a young
     * deployment (94 of 95 on bench_core --event-rate 0.02). */
    size_t room = (size_t)n * CXP_LEARN_RING;
    free(scratch->e);
    scratch->e = cxp_xmalloc(room * sizeof *scratch->e);
    scratch->cap = room;
  }
  size_t k = 0;
  double sa = 0, sb = 0, w = 0, mw[CXP_CF__COUNT + 1];
  model_weights(model->coef, model->intercept, mw);
  for (int i = 0; i < n; i++) {
    const cxp_learner *l = ls[i];
    if (l == NULL) continue;
    for (uint32_t j = 0; j < l->ring_n; j++) {
      cxp_learn_entry *e = &scratch->e[k++];
      *e = (cxp_learn_entry){l->ring_t[j], l->ring_z[j], l->ring_y[j],
                             l->ring_k[j] ? l->ring_x[j] : NULL, 0};
      e->key = cxp_learn_entry_key(e);
    }
    sa += (double)l->ring_n * l->cal_a;
    sb += (double)l->ring_n * l->cal_b;
    w += l->ring_n;
  }
  if (k > CXP_LEARN_RING) {
    drawn_k(scratch->e, k, CXP_LEARN_RING);
    k = CXP_LEARN_RING;
  }
  qsort(scratch->e, k, sizeof *scratch->e, newest_first);
  float zs[CXP_LEARN_RING];
  uint8_t ys[CXP_LEARN_RING];
  uint32_t pos = 0;
  /* Each label with the logit of the model the calibration is for (the
   * learners' combination), not its own learner's of the day. */
  for (size_t i = 0; i < k; i++) {
    const cxp_learn_entry *e = &scratch->e[i];
    zs[i] = e->x ? logit_q(mw, e->x) : e->z;
    ys[i] = e->y;
    pos += ys[i];
  }
  if (pos == 0 || pos == k) return 0;
  /* From the learners' own, as each learner starts from its last. */
  double pa = sa / w, pb = sb / w;
  platt(zs, ys, (uint32_t)k, &pa, &pb);
  /* Moved to the learners' last horizon of labels together (flow_counts). */
  double fp = 0, fq = 0;
  for (int i = 0; i < n; i++)
    if (ls[i]) flow_counts(ls[i], &fp, &fq);
  if (fp > 0 && fq > 0 && fp + fq >= CXP_LEARN_REFIT)
    shift_to(zs, (uint32_t)k, pa, &pb, fp / (fp + fq));
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
  /* Each learner's latest labels, an even share of the room each first
   * (every partition's, not the first eight's whole rings), then what room
   * is left from the rest of their rings, newest first. */
  int holding = 0;
  for (int i = 0; i < n; i++) {
    if (ls[i] == NULL) continue;
    out->labels += ls[i]->labels;
    out->positives += ls[i]->positives;
    holding += ls[i]->ring_n > 0;
  }
  uint32_t share = holding ? (uint32_t)(cap / (size_t)holding) : 0;
  if (share == 0) share = 1;
  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < n && k < cap; i++) {
      if (ls[i] == NULL) continue;
      uint32_t from = pass ? share : 0, to = pass ? ls[i]->ring_n : share;
      if (to > ls[i]->ring_n) to = ls[i]->ring_n;
      for (uint32_t j = from; j < to && k < cap; j++) {
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

/* Version 2 is version 1's layout (the online learner, its rings of
 * recent and pending labels) followed by the refit's: its samples and the
 * refit under way. A version 1 record reads as its learner with no samples
 * kept (it refits once it has held a CXP_LEARN_BATCH_MIN of them). */
#define LEARN_VERSION 2
/* The model (coefficients, intercept, calibration), the means and squared
 * deviations, the AdaGrad sums (a coefficient's each and the intercept's). */
#define N_DOUBLES (CXP_CF__COUNT + 3 + 2 * CXP_CF__COUNT + CXP_CF__COUNT + 1)
#define V1_SIZE                                                                            \
  (1 + N_DOUBLES * 8 + 3 * 8 + 8 + 2 * CXP_LEARN_RING * 4 + CXP_LEARN_RING * 8 +            \
   CXP_LEARN_RING + 8 + CXP_LEARN_PEND * (4 + 4 + 8))
/* The refit's: samples held and next slot, the quantised features, the
 * label bits; since and step, samples and next one, refits; the iterate,
 * gradient and Hessian. */
#define N_FIT_DOUBLES (2 * CXP_LEARN_NP + CXP_LEARN_NH)
#define V2_EXTRA                                                                           \
  (8 + CXP_LEARN_SAMPLES * CXP_CF__COUNT + CXP_LEARN_SAMPLES / 8 + 3 * 8 + N_FIT_DOUBLES * 8)

/* Version 6 (whole) and 5 (head) are versions 2 and 3 followed by the
 * calibration's: the features of the ring's entries and of the pending
 * positives and whether each has them, then the labels' flow (positives
 * and negatives by slice, the latest slice, the slices counted). A record
 * of version 1, 2 or 3 reads with no features (its entries are calibrated
 * on their stored logits until the ring turns over) and no flow (the
 * calibration follows the flow two horizons later). */
#define FEAT_VERSION_WHOLE 6
#define FEAT_VERSION_HEAD 5
#define FEAT_EXTRA \
  ((CXP_LEARN_RING + CXP_LEARN_PEND) * (CXP_CF__COUNT + 1) + CXP_LEARN_FLOW * 8 + 16)

size_t cxp_learner_encode_size(void) {
  return V1_SIZE + V2_EXTRA + FEAT_EXTRA;
}

/* The changelog's form: a head (version 3: version 2 without the samples)
 * and the samples in chunks of CXP_LEARN_CHUNK (version 4: the chunk's
 * index, its quantised features, its label bits), each a record of its own
 * written only when it changed. */
#define HEAD_VERSION 3
#define CHUNK_VERSION 4
#define SMP_BYTES (CXP_LEARN_SAMPLES * CXP_CF__COUNT + CXP_LEARN_SAMPLES / 8)
#define CHUNK_SIZE (3 + CXP_LEARN_CHUNK * CXP_CF__COUNT + CXP_LEARN_CHUNK / 8)

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

/* The refit's doubles in their order on the wire. */
static void fit_doubles_of(cxp_learner *l, double **d) {
  int k = 0;
  for (int f = 0; f < CXP_LEARN_NP; f++) d[k++] = &l->fit_w[f];
  for (int f = 0; f < CXP_LEARN_NP; f++) d[k++] = &l->fit_g[f];
  for (int f = 0; f < CXP_LEARN_NH; f++) d[k++] = &l->fit_h[f];
}

static uint8_t *put_doubles(uint8_t *p, double **d, int n) {
  for (int k = 0; k < n; k++, p += 8) {
    uint64_t v;
    memcpy(&v, d[k], 8);
    put_u64(p, v);
  }
  return p;
}

/* Reads n doubles; -1 for one not finite or past 1e12. */
static int get_doubles(const uint8_t **pp, double **d, int n) {
  const uint8_t *p = *pp;
  for (int k = 0; k < n; k++, p += 8) {
    uint64_t v = get_u64(p);
    memcpy(d[k], &v, 8);
    if (!isfinite(*d[k]) || fabs(*d[k]) > 1e12) return -1;
  }
  *pp = p;
  return 0;
}

static void encode_as(const cxp_learner *l, uint8_t *out, int samples) {
  double *d[N_DOUBLES];
  doubles_of((cxp_learner *)l, d);
  uint8_t *p = out;
  *p++ = samples ? FEAT_VERSION_WHOLE : FEAT_VERSION_HEAD;
  p = put_doubles(p, d, N_DOUBLES);
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
  /* Version 2: the refit's. */
  put_u64(p, (uint64_t)l->smp_n | (uint64_t)l->smp_pos << 32);
  p += 8;
  if (samples) {
    memcpy(p, l->smp_x, sizeof l->smp_x);
    p += sizeof l->smp_x;
    memcpy(p, l->smp_y, sizeof l->smp_y);
    p += sizeof l->smp_y;
  }
  put_u64(p, (uint64_t)l->since | (uint64_t)l->fit_step << 32);
  put_u64(p + 8, (uint64_t)l->fit_n | (uint64_t)l->fit_at << 32);
  put_u64(p + 16, l->refits);
  p += 24;
  double *fd[N_FIT_DOUBLES];
  fit_doubles_of((cxp_learner *)l, fd);
  p = put_doubles(p, fd, N_FIT_DOUBLES);
  /* Versions 5 and 6: the calibration's features. */
  memcpy(p, l->ring_x, sizeof l->ring_x);
  p += sizeof l->ring_x;
  memcpy(p, l->ring_k, sizeof l->ring_k);
  p += sizeof l->ring_k;
  memcpy(p, l->pend_x, sizeof l->pend_x);
  p += sizeof l->pend_x;
  memcpy(p, l->pend_k, sizeof l->pend_k);
  p += sizeof l->pend_k;
  for (int i = 0; i < CXP_LEARN_FLOW; i++, p += 8)
    put_u64(p, (uint64_t)l->flow_pos[i] | (uint64_t)l->flow_neg[i] << 32);
  put_u64(p, (uint64_t)l->flow_at);
  put_u64(p + 8, l->flow_span);
}

void cxp_learner_encode(const cxp_learner *l, uint8_t *out) { encode_as(l, out, 1); }

size_t cxp_learner_head_size(void) {
  return V1_SIZE + V2_EXTRA - SMP_BYTES + FEAT_EXTRA;
}
void cxp_learner_encode_head(const cxp_learner *l, uint8_t *out) { encode_as(l, out, 0); }

size_t cxp_learner_chunk_size(void) { return CHUNK_SIZE; }

void cxp_learner_encode_chunk(const cxp_learner *l, int k, uint8_t *out) {
  out[0] = CHUNK_VERSION;
  out[1] = (uint8_t)k;
  out[2] = (uint8_t)(k >> 8);
  memcpy(out + 3, l->smp_x[k * CXP_LEARN_CHUNK], sizeof l->smp_x[0] * CXP_LEARN_CHUNK);
  memcpy(out + 3 + sizeof l->smp_x[0] * CXP_LEARN_CHUNK, &l->smp_y[k * CXP_LEARN_CHUNK / 8],
         CXP_LEARN_CHUNK / 8);
}

/* The refit's part of a version 2 record into t (its online part read
 * already); -1 for bytes that cannot be a learner's. */
/* Past the samples held, nothing: zeroed, and the positives counted again.
 * A head read back keeps the samples its chunks brought (or bring later);
 * a chunk newer than its head (a stop between the two records) is cut to
 * the head's count here. */
static void samples_settle(cxp_learner *t) {
  for (uint32_t i = t->smp_n; i < CXP_LEARN_SAMPLES; i++) {
    memset(t->smp_x[i], 0, sizeof t->smp_x[i]);
    t->smp_y[i / 8] &= (uint8_t)~(1u << (i % 8));
  }
  t->smp_ones = 0;
  for (uint32_t i = 0; i < t->smp_n; i++) t->smp_ones += (t->smp_y[i / 8] >> (i % 8)) & 1u;
}

static int decode_refit(cxp_learner *t, const uint8_t *p, int samples) {
  uint64_t v = get_u64(p);
  p += 8;
  t->smp_n = (uint32_t)v;
  t->smp_pos = (uint32_t)(v >> 32);
  /* Filled in order until full, never more than were learnt. */
  if (t->smp_n > CXP_LEARN_SAMPLES || t->smp_n > t->labels ||
      t->smp_pos != (t->smp_n == CXP_LEARN_SAMPLES ? t->smp_pos % CXP_LEARN_SAMPLES : t->smp_n))
    return -1;
  if (samples) {
    memcpy(t->smp_x, p, sizeof t->smp_x);
    p += sizeof t->smp_x;
    for (uint32_t i = t->smp_n; i < CXP_LEARN_SAMPLES; i++)
      for (int f = 0; f < CXP_CF__COUNT; f++)
        if (t->smp_x[i][f]) return -1; /* past the samples held */
    memcpy(t->smp_y, p, sizeof t->smp_y);
    p += sizeof t->smp_y;
    for (uint32_t i = t->smp_n; i < CXP_LEARN_SAMPLES; i++)
      if ((t->smp_y[i / 8] >> (i % 8)) & 1) return -1;
  }
  samples_settle(t);
  v = get_u64(p);
  t->since = (uint32_t)v;
  t->fit_step = (uint32_t)(v >> 32);
  v = get_u64(p + 8);
  t->fit_n = (uint32_t)v;
  t->fit_at = (uint32_t)(v >> 32);
  t->refits = get_u64(p + 16);
  p += 24;
  if (t->since > t->labels || t->fit_step > CXP_LEARN_NEWTON || t->refits > t->labels) return -1;
  double *fd[N_FIT_DOUBLES];
  fit_doubles_of(t, fd);
  if (get_doubles(&p, fd, N_FIT_DOUBLES) != 0) return -1;
  if (t->fit_step == 0) {
    /* None under way: nothing of one kept. */
    if (t->fit_n || t->fit_at) return -1;
    for (int k = 0; k < N_FIT_DOUBLES; k++)
      if (*fd[k] != 0) return -1;
  } else {
    if (t->fit_n == 0 || t->fit_n > t->smp_n || t->fit_at >= t->fit_n) return -1;
    for (int f = 0; f < CXP_CF__COUNT; f++)
      if (bounded(f, t->fit_w[f]) != t->fit_w[f]) return -1;
  }
  return 0;
}

/* Into t, whose samples a head keeps (the caller's choice of them). */
static int decode_into(cxp_learner *t, const uint8_t *in, size_t len) {
  if (len < 1) return -1;
  int ver = in[0];
  if (!(ver == 1 && len == V1_SIZE) &&
      !(ver == LEARN_VERSION && len == V1_SIZE + V2_EXTRA) &&
      !(ver == HEAD_VERSION && len == V1_SIZE + V2_EXTRA - SMP_BYTES) &&
      !(ver == FEAT_VERSION_WHOLE && len == V1_SIZE + V2_EXTRA + FEAT_EXTRA) &&
      !(ver == FEAT_VERSION_HEAD && len == V1_SIZE + V2_EXTRA - SMP_BYTES + FEAT_EXTRA))
    return -1;
  int whole = ver == LEARN_VERSION || ver == FEAT_VERSION_WHOLE;
  if (ver == FEAT_VERSION_WHOLE || ver == FEAT_VERSION_HEAD) {
    const uint8_t *q = in + len - FEAT_EXTRA;
    memcpy(t->ring_x, q, sizeof t->ring_x);
    q += sizeof t->ring_x;
    memcpy(t->ring_k, q, sizeof t->ring_k);
    q += sizeof t->ring_k;
    memcpy(t->pend_x, q, sizeof t->pend_x);
    q += sizeof t->pend_x;
    memcpy(t->pend_k, q, sizeof t->pend_k);
    q += sizeof t->pend_k;
    for (int i = 0; i < CXP_LEARN_RING; i++)
      if (t->ring_k[i] > 1) return -1;
    for (int i = 0; i < CXP_LEARN_PEND; i++)
      if (t->pend_k[i] > 1) return -1;
    for (int i = 0; i < CXP_LEARN_FLOW; i++, q += 8) {
      uint64_t fv = get_u64(q);
      t->flow_pos[i] = (uint32_t)fv;
      t->flow_neg[i] = (uint32_t)(fv >> 32);
    }
    t->flow_at = (int64_t)get_u64(q);
    uint64_t span = get_u64(q + 8);
    if (span > 2 * CXP_LEARN_FLOW || t->flow_at < 0) return -1;
    t->flow_span = (uint32_t)span;
  } else { /* before version 5: no entry's features known, no flow */
    memset(t->ring_x, 0, sizeof t->ring_x);
    memset(t->ring_k, 0, sizeof t->ring_k);
    memset(t->pend_x, 0, sizeof t->pend_x);
    memset(t->pend_k, 0, sizeof t->pend_k);
    memset(t->flow_pos, 0, sizeof t->flow_pos);
    memset(t->flow_neg, 0, sizeof t->flow_neg);
    t->flow_at = 0;
    t->flow_span = 0;
  }
  if (ver == 1) { /* before the refit: no samples kept */
    memset(t->smp_x, 0, sizeof t->smp_x);
    memset(t->smp_y, 0, sizeof t->smp_y);
  }
  int rc = -1;
  double *d[N_DOUBLES];
  doubles_of(t, d);
  const uint8_t *p = in + 1;
  if (get_doubles(&p, d, N_DOUBLES) != 0) goto out;
  t->labels = get_u64(p);
  t->positives = get_u64(p + 8);
  t->now_ms = (int64_t)get_u64(p + 16);
  p += 24;
  uint64_t ring = get_u64(p);
  p += 8;
  t->ring_n = (uint32_t)ring;
  t->ring_pos = (uint32_t)(ring >> 32);
  if (t->positives > t->labels || t->ring_n > CXP_LEARN_RING || t->ring_pos >= CXP_LEARN_RING ||
      t->ring_n > t->labels || !(t->cal_a >= CAL_A_MIN && t->cal_a <= CAL_A_MAX))
    goto out;
  for (int i = 0; i < 2 * CXP_LEARN_RING; i++, p += 4) {
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                 (uint32_t)p[3] << 24;
    float *f = i < CXP_LEARN_RING ? &t->ring_p[i] : &t->ring_z[i - CXP_LEARN_RING];
    memcpy(f, &v, 4);
    if (i < CXP_LEARN_RING ? !(*f >= 0 && *f <= 1) : !(fabsf(*f) <= 1e6f)) goto out;
  }
  for (int i = 0; i < CXP_LEARN_RING; i++, p += 8) t->ring_t[i] = (int64_t)get_u64(p);
  for (int i = 0; i < CXP_LEARN_RING; i++)
    if (p[i] > 1) goto out;
  memcpy(t->ring_y, p, CXP_LEARN_RING);
  p += CXP_LEARN_RING;
  uint64_t pn = get_u64(p);
  p += 8;
  if (pn > CXP_LEARN_PEND) goto out;
  t->pend_n = (uint32_t)pn;
  for (int i = 0; i < CXP_LEARN_PEND; i++, p += 16) {
    uint64_t v = get_u64(p);
    uint32_t a = (uint32_t)v, b = (uint32_t)(v >> 32);
    memcpy(&t->pend_p[i], &a, 4);
    memcpy(&t->pend_z[i], &b, 4);
    t->pend_t[i] = (int64_t)get_u64(p + 8);
    if (!(t->pend_p[i] >= 0 && t->pend_p[i] <= 1) || !(fabsf(t->pend_z[i]) <= 1e6f)) goto out;
  }
  for (int f = 0; f < CXP_CF__COUNT; f++) {
    if (t->m2[f] < 0 || (t->labels && bounded(f, t->coef[f]) != t->coef[f])) goto out;
  }
  if (ver != 1 && decode_refit(t, p, whole) != 0) goto out;
  if (ver == 1) {
    t->smp_n = t->smp_pos = t->smp_ones = t->since = t->fit_step = t->fit_n = t->fit_at = 0;
    memset(t->fit_w, 0, sizeof t->fit_w);
    memset(t->fit_g, 0, sizeof t->fit_g);
    memset(t->fit_h, 0, sizeof t->fit_h);
    t->refits = 0;
  }
  rc = 0;
out:
  return rc;
}

int cxp_learner_decode(cxp_learner *l, const uint8_t *in, size_t len) {
  /* Big (the samples): one off the heap rather than the loop's stack. */
  cxp_learner *t = cxp_xcalloc(1, sizeof *t);
  int rc = decode_into(t, in, len);
  if (rc == 0) *l = *t;
  free(t);
  return rc;
}

int cxp_learner_decode_head(cxp_learner *l, const uint8_t *in, size_t len) {
  cxp_learner *t = cxp_xmalloc(sizeof *t);
  *t = *l;
  int rc = decode_into(t, in, len);
  if (rc == 0) *l = *t;
  free(t);
  return rc;
}

int cxp_learner_decode_chunk(cxp_learner *l, const uint8_t *in, size_t len) {
  if (len != CHUNK_SIZE || in[0] != CHUNK_VERSION) return -1;
  unsigned k = (unsigned)in[1] | (unsigned)in[2] << 8;
  if (k >= CXP_LEARN_CHUNKS) return -1;
  memcpy(l->smp_x[k * CXP_LEARN_CHUNK], in + 3, sizeof l->smp_x[0] * CXP_LEARN_CHUNK);
  memcpy(&l->smp_y[k * CXP_LEARN_CHUNK / 8], in + 3 + sizeof l->smp_x[0] * CXP_LEARN_CHUNK,
         CXP_LEARN_CHUNK / 8);
  /* Its head may come before or after it: counted as the head says now,
   * settled again when the head comes (a sample past the head's count is
   * kept meanwhile, for a head read later). */
  l->smp_ones = 0;
  for (uint32_t i = 0; i < l->smp_n; i++) l->smp_ones += (l->smp_y[i / 8] >> (i % 8)) & 1u;
  return 0;
}
