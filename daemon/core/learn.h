/* The churn model that learns from the stream's own outcomes: one online
 * logistic learner per input partition, and their combination into the
 * model that scores.
 *
 * A learner starts from the configured model (the prior, `churn.*`) and
 * takes one step per labelled sample (a customer's features at an event
 * time, labelled 1 when he cancelled within the horizon after it, 0 when the
 * horizon passed without; corelearn.c builds them):
 *
 *   - prequential first: the sample is scored by the learner as it stands,
 *     and that score and the label go to its recent-labels ring (the
 *     running AUC and Brier score) before anything learns from them;
 *   - the features are standardised by the running mean and deviation of
 *     the samples seen (Welford), and the step is taken in that space, each
 *     coordinate with its own AdaGrad rate (`churn.learn_rate` / the root of
 *     its summed squared gradients), with an L2 pull (`churn.learn_l2`)
 *     towards the prior rather than towards zero;
 *   - the model is kept in the features' own units (coefficients and
 *     intercept as `churn.*` writes them), so that a reason's contribution
 *     is coefficient x feature as before; a coefficient that would cross to
 *     the other side of zero than its factor's sign (cxp_churn_factor_sign)
 *     stops at zero;
 *   - a Platt calibration (p = sigmoid(a x logit + b)) is fitted anew every
 *     CXP_LEARN_REFIT labels to the recent labels and the logits the model
 *     as it stands gives their features (damped Newton steps, a mild pull
 *     towards a = 1, b = 0), so that the probability matches the rate the
 *     labels show. A positive is known as soon as the customer cancels and
 *     a negative only a horizon later, so the newest labels would hold too
 *     many positives: a positive joins the recent labels only once its
 *     sample is a horizon and a day old, as a negative does (up to
 *     CXP_LEARN_PEND wait; where a horizon brings more positives than that,
 *     labels of both kinds are kept for the calibration at the rate that
 *     fits, learn.c PEND_ROOM). Those labels are then a horizon old and more,
 *     so the calibration's intercept is moved until its mean probability
 *     over them is the share positive of the labels that came in the last
 *     horizon (learn.c, flow_counts: this horizon's cancellations against
 *     the samples whose horizon it closed), once two horizons have been
 *     counted;
 *   - a batch refit: the latest CXP_LEARN_SAMPLES labelled samples (8192:
 *     their features quantised to a byte each, 1/255 of the feature's
 *     range, and the label a bit) are kept (a share of them where fewer
 *     than two horizons' labels would fill them, learn.c SAMPLE_SPAN),
 *     and every CXP_LEARN_BATCH samples kept (1024; a quarter of the
 *     samples held, at least 128, while fewer are) up to
 *     CXP_LEARN_NEWTON (6) damped Newton steps of the logistic regression
 *     on them start from the model as it stands (one that moves nothing by
 *     0.01 in standardised units is the last): the log loss summed over
 *     the samples plus the L2 pull towards the prior, counted as 32
 *     labels' worth (learn.c, PRIOR_LABELS), a coefficient that would
 *     cross zero against its sign held at 0, and the result made the
 *     model.
 *     The online steps go on between refits (a refit's result replaces
 *     what they did meanwhile). A refit is sliced across labels, a pass of
 *     CXP_LEARN_SLICE samples per label, so no one event pays for all of it
 *     (see docs/performance.md for what it costs). Without it the online
 *     steps alone ranked 0.002-0.068 under an in-sample fit on the
 *     generator's worlds, more than 0.02 on five of eight (README); their
 *     equilibrium counts the pull to the prior once a label, about a
 *     sample's own curvature.
 *
 * Combined: the learners' coefficients, intercepts and calibrations averaged,
 * each weighted by the labels it learnt from; the prior until
 * `churn.learn_min_labels` labels, at least 5 of each kind, have been learnt
 * in all.
 *
 * Pure: no clock, no I/O; the same labels in the same order give the same
 * learner, bit for bit. */
#ifndef CXP_LEARN_H
#define CXP_LEARN_H

#include <stddef.h>
#include <stdint.h>

#include "churn.h"

/* Recent labels kept per learner for its prequential scores and its
 * calibration, refitted every CXP_LEARN_REFIT labels. */
#define CXP_LEARN_RING 512
#define CXP_LEARN_REFIT 128
#define CXP_LEARN_PEND 128
/* Slices of a horizon over which the labels' flow is counted. */
#define CXP_LEARN_FLOW 32

/* The batch refit (see above): the labelled samples kept for it, the labels
 * between two refits (a quarter of the samples kept, within these bounds),
 * the Newton steps of one, and the samples one label's call goes through
 * while a refit is under way. */
#define CXP_LEARN_SAMPLES 8192
#define CXP_LEARN_BATCH 1024
#define CXP_LEARN_BATCH_MIN 128
#define CXP_LEARN_NEWTON 6
#define CXP_LEARN_SLICE 512
/* The samples go to the changelog in chunks of this many, each only when
 * it changed (cxp_learner_encode_chunk). */
#define CXP_LEARN_CHUNK 512
#define CXP_LEARN_CHUNKS (CXP_LEARN_SAMPLES / CXP_LEARN_CHUNK)
/* The refit's unknowns: the coefficients, then the intercept; its Hessian
 * kept as the upper triangle, row by row. */
#define CXP_LEARN_NP (CXP_CF__COUNT + 1)
#define CXP_LEARN_NH (CXP_LEARN_NP * (CXP_LEARN_NP + 1) / 2)

typedef struct cxp_learn_conf {
  int on;                /* churn.learn */
  double horizon_days;   /* churn.horizon_days: a sample's label horizon */
  int downgrades;        /* churn.downgrade_is_churn: a downgrade is an outcome too */
  long long min_labels;  /* churn.learn_min_labels: labels before the learnt model scores */
  double rate;           /* churn.learn_rate: AdaGrad's base step */
  double l2;             /* churn.learn_l2: pull towards the prior */
} cxp_learn_conf;

typedef struct cxp_learner {
  double coef[CXP_CF__COUNT], intercept; /* the model, in the features' units */
  double cal_a, cal_b;                   /* its calibration */
  double mean[CXP_CF__COUNT], m2[CXP_CF__COUNT]; /* Welford over the samples */
  double g2[CXP_CF__COUNT + 1];          /* AdaGrad: summed squared gradients (last: b) */
  int64_t now_ms;                        /* the latest label's time */
  uint64_t labels, positives;            /* samples learnt from */
  /* The latest CXP_LEARN_RING labels, the score each had before the
   * learner saw it, and the model's logit then. */
  float ring_p[CXP_LEARN_RING], ring_z[CXP_LEARN_RING];
  int64_t ring_t[CXP_LEARN_RING]; /* when each sample was taken */
  /* Positives waiting to join the ring: score, logit, sample time. */
  float pend_p[CXP_LEARN_PEND], pend_z[CXP_LEARN_PEND];
  int64_t pend_t[CXP_LEARN_PEND];
  uint32_t pend_n;
  uint8_t ring_y[CXP_LEARN_RING];
  /* Each ring entry's and pending positive's features, quantised as the
   * refit's samples are, so that the calibration is fitted to the logits
   * of the model it calibrates rather than to the ones stored (given by the
   * model of the day each was labelled, a positive's up to a horizon
   * earlier than its negatives'); ring_k and pend_k say whether an entry
   * has them (one read back from before version 5 has not: its stored
   * logit stands). */
  uint8_t ring_x[CXP_LEARN_RING][CXP_CF__COUNT], pend_x[CXP_LEARN_PEND][CXP_CF__COUNT];
  uint8_t ring_k[CXP_LEARN_RING], pend_k[CXP_LEARN_PEND];
  /* The labels of the last horizon by the time they came (not the time
   * their samples were taken), positives and negatives, in CXP_LEARN_FLOW
   * slices of a horizon: the rate the calibration is moved to (see above).
   * flow_at is the latest label's slice (now_ms / the slice's length),
   * flow_span the slices since the first's, counted up to two horizons. */
  uint32_t flow_pos[CXP_LEARN_FLOW], flow_neg[CXP_LEARN_FLOW];
  int64_t flow_at;
  uint32_t flow_span;
  uint32_t ring_n, ring_pos;
  /* The latest CXP_LEARN_SAMPLES labelled samples for the refit: each
   * feature clipped to its range and quantised to 8 bits of it
   * (0, 1/255 of it, ..., all of it), the labels a
   * bit each. */
  uint8_t smp_x[CXP_LEARN_SAMPLES][CXP_CF__COUNT];
  uint8_t smp_y[CXP_LEARN_SAMPLES / 8];
  uint32_t smp_n, smp_pos, smp_ones; /* held, next slot, positives held */
  /* The refit: labels since the last began; the Newton step under way (0:
   * none), the samples it goes over and the next one; its iterate
   * (coefficients, intercept), and the gradient and Hessian summed so far
   * in this step's pass. */
  uint32_t since, fit_step, fit_n, fit_at;
  double fit_w[CXP_LEARN_NP], fit_g[CXP_LEARN_NP], fit_h[CXP_LEARN_NH];
  uint64_t refits; /* refits completed */
} cxp_learner;


/* A learner at the prior: its coefficients, intercept and calibration. */
void cxp_learner_init(cxp_learner *l, const cxp_churn_conf *prior);
/* One labelled sample (features x, label y 0 or 1), taken at event time
 * sample_ms and labelled at now_ms (the partition's event time): scored,
 * then learnt. */
void cxp_learner_update(cxp_learner *l, const cxp_learn_conf *lc, const cxp_churn_conf *prior,
                        const double *x, int y, int64_t sample_ms, int64_t now_ms);
/* The same, with the learner's score of the sample when it was taken
 * (p_then, cxp_learner_score then; NAN: none, its score at now_ms stands
 * in): the running AUC, Brier score and mean probability
 * (cxp_learner_stats) are of those. Scores taken at the labels' times are
 * of models up to a horizon apart (a positive is labelled the day he
 * leaves, a negative a horizon after its sample), and where the model's
 * level moved they ranked the labels against each other by the model's
 * age: 0.26 on the competitor world, whose own AUC was 0.70. */
/* The learner's calibrated probability for features x, as it stands. */
double cxp_learner_score(const cxp_learner *l, const double *x);
void cxp_learner_update_scored(cxp_learner *l, const cxp_learn_conf *lc,
                               const cxp_churn_conf *prior, const double *x, int y,
                               double p_then, int64_t sample_ms, int64_t now_ms);

/* The refit's pieces, for tests and tools: a labelled sample kept for the
 * refit (as cxp_learner_update keeps each), and a whole refit at once from
 * the model as it stands, `steps` Newton steps over the samples held, the
 * result made the model (a refit under way is abandoned). Returns 0, or -1
 * (the samples lack a kind, or a step's system was singular: the model
 * unchanged). cxp_learner_update slices its refits across labels. */
void cxp_learner_sample(cxp_learner *l, const double *x, int y);
int cxp_learner_refit(cxp_learner *l, const cxp_learn_conf *lc, const cxp_churn_conf *prior,
                      int steps);

/* Combines n learners (NULL ones skipped) into out's coefficients, intercept
 * and calibration, when they have learnt enough between them; else sets out
 * to the prior's. Returns 1 when the learnt model was taken. */
int cxp_learner_combine(const cxp_learner *const *ls, int n, const cxp_learn_conf *lc,
                        const cxp_churn_conf *prior, cxp_churn_conf *out);

/* One calibration for the learners together: Platt's a and b fitted to
 * CXP_LEARN_RING labels of all their rings, drawn evenly (by a hash of each
 * label: the same whatever the learners' order), each label with the logit
 * `model` (their combination, the one the calibration is for) gives its
 * features (the logit its own learner gave it, for a label read back
 * without them), b then moved to the share positive of the learners' last
 * horizon of labels together. Averaging the learners' calibrations instead
 * calibrated each to its own ring, which with n partitions reaches n times
 * as far back as one learner's (with 16 partitions of the generator's
 * competitor world, whose churn rises late, the mean probability came out
 * 0.31x the observed rate); the move to the last horizon's share is what
 * keeps the pooled one current. `scratch` holds the labels gathered (grown
 * as needed, freed by the caller). Returns 1 with *a and *b set, or 0
 * (fewer than two learners, fewer than CXP_LEARN_REFIT labels in their
 * rings, or a class missing there). */
typedef struct cxp_learn_entry {
  int64_t t;
  float z; /* as stored */
  uint8_t y;
  const uint8_t *x; /* its features in its learner's ring, or NULL */
  uint64_t key;     /* the draw's (cxp_learn_entry_key) */
} cxp_learn_entry;
/* The hash the pool draws its labels by: of the label's time, stored logit
 * and label (for tests that draw as the pool does). */
uint64_t cxp_learn_entry_key(const cxp_learn_entry *e);
typedef struct cxp_learn_scratch {
  cxp_learn_entry *e;
  size_t cap;
} cxp_learn_scratch;
int cxp_learner_pool_calibration(const cxp_learner *const *ls, int n,
                                 const cxp_churn_conf *model, cxp_learn_scratch *scratch,
                                 double *a, double *b);

/* The prequential scores over the learners' rings (up to 4,096 of their
 * latest labels, an even share of each learner's first): AUC (NAN while a
 * class is missing) and Brier score (NAN with no labels); labels and
 * positives counted over their whole life. */
typedef struct cxp_learn_stats {
  uint64_t labels, positives;
  uint32_t recent;
  double auc, brier;
  double mean_p, rate; /* over the rings: the mean score and the share positive */
  int active; /* the combined model is the learnt one */
} cxp_learn_stats;
void cxp_learner_stats(const cxp_learner *const *ls, int n, const cxp_learn_conf *lc,
                       cxp_learn_stats *out);

/* The learner as bytes (a fixed layout, little-endian doubles, with a
 * version byte) and back, whole (tests and tools; the changelog and
 * topics.model take the head and chunks below). 111,113 bytes, version 6:
 * 11,177 of the online learner and its rings (version 1's layout), 91,984
 * of the refit's samples and the refit under way (version 2's), 7,952 of
 * the calibration's features and flow. cxp_learner_decode returns 0, or -1
 * for bytes that are not a learner of this layout or of versions 1 and 2
 * (l untouched); a version 1 record reads as its learner with no samples
 * kept, versions 1 and 2 with no calibration features or flow. */
size_t cxp_learner_encode_size(void);
void cxp_learner_encode(const cxp_learner *l, uint8_t *out);
int cxp_learner_decode(cxp_learner *l, const uint8_t *in, size_t len);

/* The changelog's and topics.model's form: the whole less its samples (the
 * head, 19,977 bytes, version 5; version 3's 12,025 without the
 * calibration's features and flow still read), and the samples in
 * CXP_LEARN_CHUNKS chunks (5,699 bytes each, version 4), each its own
 * record, a chunk written only when samples went into it (its owner keeps
 * track). So a learning partition writes its head and a chunk or two a
 * flush, not the 111,113 bytes of the whole; topics.model carries heads
 * only (the combination needs no samples). cxp_learner_decode_head reads a
 * head (or a whole record of any version) into l keeping l's samples,
 * which its chunks (cxp_learner_decode_chunk) bring before or after it;
 * each returns 0, or -1 with l untouched. A cxp_learner_decode of a head gives no samples.
 */
size_t cxp_learner_head_size(void);
void cxp_learner_encode_head(const cxp_learner *l, uint8_t *out);
size_t cxp_learner_chunk_size(void);
void cxp_learner_encode_chunk(const cxp_learner *l, int k, uint8_t *out);
int cxp_learner_decode_head(cxp_learner *l, const uint8_t *in, size_t len);
int cxp_learner_decode_chunk(cxp_learner *l, const uint8_t *in, size_t len);

#endif
