/* The churn model's labels, from the events of each input partition, and
 * the learnt model that scores (learn.h has the learner itself).
 *
 * A customer holds at most one pending sample (customer.h: sample_ms and
 * sample_x), so the memory for labels is fixed: 52 bytes of cxp_customer
 * (its allocation 48 bytes larger: bench_core's 500 bytes a customer are
 * 548):
 *
 *   - taken at an event of his (any but an outcome) when he has none
 *     pending: his features after that event, at its event time t;
 *   - positive when an outcome of his (subscription.cancelled, or
 *     .downgraded with churn.downgrade_is_churn) follows with an event time
 *     in (t, t + horizon];
 *   - negative when an event of his comes after t + horizon with none, or
 *     when his partition's event time passes t + horizon + a day of grace
 *     for late outcomes (a sweep of the partition once a day of its event
 *     time);
 *   - dropped, unlearnt, when an outcome with an event time at or before t
 *     comes late: he had left before the sample was taken.
 *
 * After an outcome no sample is taken from his events at or before it
 * (sample_ms holds minus the outcome's time): a late event from before he
 * left would otherwise start a sample that only a negative could settle.
 * Everything runs on event time and on the partition's own order of events,
 * so a replay and the daemon, given a partition's events in the same order,
 * learn the same learner. */
#include <stdlib.h>
#include <string.h>

#include <stdio.h>

#include "core_int.h"
#include "staterec.h"
#include "xalloc.h"

#define DAY_MS 86400000LL

struct core_learner {
  cxp_learner l;
  int64_t swept_day; /* the event-time day of the partition's last sweep */
  int changed;       /* learnt since its last changelog record */
  uint32_t dirty;    /* the chunks of samples written since their last record */
};
_Static_assert(CXP_LEARN_CHUNKS <= 32, "a bit per chunk in dirty");

static int64_t horizon_ms(const cxp_core *c) {
  return (int64_t)(c->learn.horizon_days * (double)DAY_MS);
}

#define MAX_COMBINED 256

/* The learners held (with `labelled`, only those that learnt something),
 * at most MAX_COMBINED: a deployment with more input partitions than that
 * learns from plenty in the first ones. Returns how many. */
static int gather(const cxp_core *c, int labelled, const cxp_learner **ls) {
  int n = 0;
  for (int32_t i = 0; i < c->n_learners && n < MAX_COMBINED; i++)
    if (c->learners[i] && (!labelled || c->learners[i]->l.labels)) ls[n++] = &c->learners[i]->l;
  return n;
}

/* The model that scores: the learners combined, or the prior. With more
 * than one learner, the calibration is theirs together, refitted every
 * CXP_LEARN_REFIT labels (as each learner refits its own). */
static void recombine(cxp_core *c) {
  const cxp_learner *ls[MAX_COMBINED] = {NULL};
  int n = gather(c, 1, ls);
  if (!cxp_learner_combine(ls, n, &c->learn, &c->churn_prior, &c->churn)) return;
  uint64_t labels = 0;
  for (int i = 0; i < n; i++) labels += ls[i]->labels;
  if (c->pool_at == 0 || labels >= c->pool_at + CXP_LEARN_REFIT || labels < c->pool_at) {
    c->pool_ok = cxp_learner_pool_calibration(ls, n, &c->churn, &c->learn_scratch,
                                              &c->pool_a, &c->pool_b);
    c->pool_at = labels;
  }
  if (n > 1 && c->pool_ok) {
    c->churn.cal_a = c->pool_a;
    c->churn.cal_b = c->pool_b;
  }
}

void core_learn_setup(cxp_core *c) {
  cxp_pipeline_learn(c->pl, &c->learn);
  recombine(c);
}

void core_learn_free(cxp_core *c) {
  free(c->learn_scratch.e);
  c->learn_scratch.e = NULL;
  c->learn_scratch.cap = 0;
  for (int32_t i = 0; i < c->n_learners; i++) free(c->learners[i]);
  free(c->learners);
  c->learners = NULL;
  c->n_learners = 0;
}

static struct core_learner *learner_of(cxp_core *c, int32_t part) {
  if (part < 0) part = 0;
  core_grow_table(&c->learners, &c->n_learners, part);
  struct core_learner *cl = c->learners[part];
  if (cl == NULL) {
    cl = cxp_xcalloc(1, sizeof *cl);
    cxp_learner_init(&cl->l, &c->churn_prior);
    cl->swept_day = INT64_MIN;
    c->learners[part] = cl;
  }
  return cl;
}

/* His pending sample, labelled y at event time t, learnt by his
 * partition's learner (the caller recombines the model, once for all the
 * labels an event settles). */
static void settle(cxp_core *c, struct core_learner *cl, cxp_customer *cu, int y, int64_t t) {
  double x[CXP_CF__COUNT];
  for (int f = 0; f < CXP_CF__COUNT; f++) x[f] = cu->sample_x[f];
  int64_t taken = cu->sample_ms;
  cu->sample_ms = 0;
  /* Every label keeps a sample, at the ring's position: its chunk is owed. */
  cl->dirty |= 1u << (cl->l.smp_pos / CXP_LEARN_CHUNK);
  cxp_learner_update_scored(&cl->l, &c->learn, &c->churn_prior, x, y, cu->sample_p, taken,
                            t);
  cl->changed = 1;
}

/* Once a day of the partition's event time: every customer of the shard
 * whose sample's horizon (and a day of grace) has passed is a negative.
 * Returns how many were settled. */
static size_t sweep(cxp_core *c, struct core_learner *cl, cxp_shard *sh, int64_t t) {
  int64_t day = t / DAY_MS;
  if (day <= cl->swept_day) return 0;
  cl->swept_day = day;
  int64_t due = t - horizon_ms(c) - DAY_MS;
  size_t n = 0;
  for (size_t i = 0; i < sh->cap; i++) {
    cxp_customer *cu = sh->slots[i];
    if (cu && cu->sample_ms > 0 && cu->sample_ms < due) {
      settle(c, cl, cu, 0, t);
      n++;
    }
  }
  return n;
}

void core_learn_event(cxp_core *c, int32_t part, cxp_shard *sh, cxp_customer *cu,
                      const cxp_event *ev, const double *x) {
  struct core_learner *cl = learner_of(c, part);
  int64_t t = ev->ts_ms;
  int outcome = ev->type == CXP_EV_CANCELLED ||
                (c->learn.downgrades && ev->type == CXP_EV_DOWNGRADED);
  size_t settled = 0;
  if (cu->sample_ms > 0) {
    if (outcome && t <= cu->sample_ms) {
      cu->sample_ms = 0; /* he had left before it: nothing to learn */
    } else if (t > cu->sample_ms + horizon_ms(c) || outcome) {
      settle(c, cl, cu, outcome && t <= cu->sample_ms + horizon_ms(c), t);
      settled++;
    }
  }
  if (outcome) {
    /* Samples only from events after this one. */
    if (cu->sample_ms <= 0 && -cu->sample_ms < t) cu->sample_ms = -t;
  } else if (cu->sample_ms == 0 || (cu->sample_ms < 0 && t > -cu->sample_ms)) {
    cu->sample_ms = t;
    /* His partition's learner's score of it now: the one its running AUC
     * judges it by (not the combined model's, which moves with the other
     * partitions' events, so that a partition learns the same whatever
     * their interleaving). */
    cu->sample_p = (float)cxp_learner_score(&cl->l, x);
    for (int f = 0; f < CXP_CF__COUNT; f++) cu->sample_x[f] = (float)x[f];
  }
  settled += sweep(c, cl, sh, t);
  if (settled) recombine(c);
}

void cxp_core_learn_stats(const cxp_core *c, cxp_learn_stats *out) {
  const cxp_learner *ls[MAX_COMBINED];
  cxp_learner_stats(ls, gather(c, 0, ls), &c->learn, out);
}

const cxp_learner *cxp_core_learner(const cxp_core *c, int32_t partition) {
  if (partition < 0) partition = 0;
  if (partition >= c->n_learners || c->learners[partition] == NULL) return NULL;
  return &c->learners[partition]->l;
}

void cxp_core_learner_restore(cxp_core *c, int32_t partition, const cxp_learner *l) {
  struct core_learner *cl = learner_of(c, partition);
  cl->l = *l;
  cxp_core_learn_refresh(c); /* its ring is new to the calibration */
}

void cxp_core_learn_refresh(cxp_core *c) {
  c->pool_at = 0;
  recombine(c);
}

int cxp_core_learner_remote(cxp_core *c, int32_t part, const cxp_learner *l) {
  if (!c->learn.on || part < 0) return 0;
  if (part < c->state.n_shards && c->state.shards[part] != NULL) return 0;
  cxp_core_learner_restore(c, part, l);
  return 1;
}

size_t core_learn_changed(const cxp_core *c, int32_t part) {
  return part >= 0 && part < c->n_learners && c->learners[part] && c->learners[part]->changed;
}

size_t core_learn_frame(cxp_core *c, int32_t part, int all, cxp_buf *out) {
  if (part < 0 || part >= c->n_learners || c->learners[part] == NULL) return 0;
  struct core_learner *cl = c->learners[part];
  if (!(cl->changed || (all && cl->l.labels))) return 0;
  /* Each chunk of samples written since its last record (every chunk
   * holding samples for `all`), then the head: about 5.7 KB and 12 KB a
   * flush for a partition that learns, once a flush at most. The head goes
   * last, so that a stop part way through leaves chunks newer than their
   * head (cut to its count when read back), never a head counting samples
   * its chunks do not hold. */
  size_t hn = cxp_learner_head_size(), cn = cxp_learner_chunk_size();
  uint8_t *bytes = cxp_xmalloc(hn > cn ? hn : cn);
  char key[32];
  int kl;
  size_t frames = 1;
  uint32_t held = (cl->l.smp_n + CXP_LEARN_CHUNK - 1) / CXP_LEARN_CHUNK;
  for (uint32_t k = 0; k < held; k++) {
    if (!all && !(cl->dirty & 1u << k)) continue;
    cxp_learner_encode_chunk(&cl->l, (int)k, bytes);
    kl = snprintf(key, sizeof key, "%d:s%u", (int)part, k);
    cxp_staterec_frame_put(out, CXP_CL_LEARNER, key, (size_t)kl, bytes, cn);
    frames++;
  }
  cxp_learner_encode_head(&cl->l, bytes);
  kl = snprintf(key, sizeof key, "%d", (int)part);
  cxp_staterec_frame_put(out, CXP_CL_LEARNER, key, (size_t)kl, bytes, hn);
  free(bytes);
  /* A snapshot's frames go to its file, not the changelog: what is owed
   * to the changelog stays owed. */
  if (!all) {
    cl->dirty = 0;
    cl->changed = 0;
  }
  return frames;
}

int core_learn_restore(cxp_core *c, int32_t part, const char *key, size_t klen, const void *val,
                       size_t vlen, char *err, size_t errlen) {
  if (val == NULL) return 0; /* a tombstone: nothing was learnt worth keeping */
  /* "<partition>" is the head, "<partition>:s<k>" a chunk of its samples. */
  const char *colon = memchr(key, ':', klen);
  int chunk = colon != NULL && (size_t)(colon - key) + 1 < klen && colon[1] == 's';
  struct core_learner *cl = learner_of(c, part);
  int rc = chunk ? cxp_learner_decode_chunk(&cl->l, val, vlen)
                 : cxp_learner_decode_head(&cl->l, val, vlen);
  if (rc != 0) {
    snprintf(err, errlen, "churn learner record '%.*s' of partition %d: not a learner %s this "
             "build reads (%zu bytes); the partition learns again from what it has",
             (int)(klen > 40 ? 40 : klen), key, (int)part, chunk ? "chunk" : "head", vlen);
    return -1;
  }
  /* A head brings a ring and a model new to the calibration; a chunk only
   * samples, which the model does not read. */
  if (!chunk) cxp_core_learn_refresh(c);
  return 0;
}
