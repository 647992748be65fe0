/* Sharing the churn learners between the instances of a group, through
 * topics.model: a compacted topic of one partition that every instance
 * tails from its first offset (a follower restorer, restore.h) and writes
 * to.
 *
 * Each instance publishes, on its commit timer, the learner of every input
 * partition it holds that learnt since it last published it (key
 * "lm:<partition>:<pipeline name>", learn.h's bytes); compaction keeps one
 * record per partition and pipeline, and an instance reads only its own
 * pipeline's (two pipelines left on the default topic do not mix). A record read back is another instance's learner of that
 * partition: the core takes it unless it holds the partition itself
 * (cxp_core_learner_remote), and recombines the model that scores. So every
 * instance scores with the learners of all partitions, those of others as
 * of their last publish: at most commit.interval_ms and a fetch behind. */
#include <stdlib.h>
#include <string.h>

#include "daemon_int.h"
#include "staterec.h"
#include "xalloc.h"

/* The partition of a record's key "lm:<partition>:<pipeline name>": -1 when
 * the key is not of that form, -2 when it is another pipeline's. */
static long key_partition(const cxp_daemon *d, const char *k, size_t kl) {
  size_t pl = sizeof CXP_CL_LEARNER - 1, name_len = strlen(d->pl.name);
  if (k == NULL || kl <= pl || memcmp(k, CXP_CL_LEARNER, pl) != 0) return -1;
  const char *at = k + pl, *end = k + kl;
  long long p;
  if (cxp_staterec_key_num(&at, end, &p) != 0 || p < 0 || p > 65535) return -1;
  if ((size_t)(end - at) != name_len || memcmp(at, d->pl.name, name_len) != 0) return -2;
  return (long)p;
}

static void on_model_record(void *opaque, int32_t part, const rd_kafka_message_t *m) {
  cxp_daemon *d = opaque;
  (void)part;
  long p = key_partition(d, m->key, m->key_len);
  if (p == -2) return; /* another pipeline's */
  /* A head (learn.h): the model, its counts and its rings, no samples. */
  cxp_learner *l = cxp_xmalloc(sizeof *l);
  if (p < 0 || m->payload == NULL || cxp_learner_decode(l, m->payload, m->len) != 0) {
    free(l);
    d->model_bad++;
    cxp_warn("model", "%s: a record of %zu bytes keyed '%.*s' is not a churn learner this "
             "build reads; skipped", d->pl.topic_model, m->len,
             (int)(m->key_len > 60 ? 60 : m->key_len), m->key ? (const char *)m->key : "");
    return;
  }
  d->model_records++;
  cxp_core_learner_remote(&d->core, (int32_t)p, l);
  free(l);
}

static void on_model_done(void *opaque, int32_t part, uint64_t records, uint64_t bytes,
                          double seconds) {
  cxp_daemon *d = opaque;
  (void)part, (void)bytes;
  cxp_info("model", "%s read to its end: %llu record(s) in %.3f s; following it",
           d->pl.topic_model, (unsigned long long)records, seconds);
}

void daemon_model_open(cxp_daemon *d) {
  if (d->pl.topic_model[0] == '\0' || !d->core.learn.on) return;
  char err[512];
  cxp_restore_cb cb = {on_model_record, on_model_done, d};
  d->model = cxp_restore_create(&d->cfg, d->pl.topic_model, d->config_path, &cb, err,
                                sizeof err);
  if (d->model && cxp_restore_topic_partitions(d->model, 5000) < 1)
    snprintf(err, sizeof err, "no topic %s (create it with one partition and "
             "cleanup.policy=compact)", d->pl.topic_model);
  else if (d->model && cxp_restore_begin(d->model, 0, RD_KAFKA_OFFSET_BEGINNING) == 0)
    err[0] = '\0';
  else if (d->model)
    snprintf(err, sizeof err, "cannot read %s", d->pl.topic_model);
  if (err[0]) {
    cxp_warn("model", "%s: each instance scores with the churn learners of the partitions "
             "it holds", err);
    cxp_restore_destroy(d->model);
    d->model = NULL;
    return;
  }
  cxp_restore_follow(d->model);
  d->model_opened = 1;
  d->model_topic = rd_kafka_topic_new(d->producer, d->pl.topic_model, NULL);
  cxp_info("model", "churn learners shared through %s", d->pl.topic_model);
}

void daemon_model_close(cxp_daemon *d) {
  cxp_restore_destroy(d->model);
  d->model = NULL;
  if (d->model_topic) rd_kafka_topic_destroy(d->model_topic);
  d->model_topic = NULL;
  free(d->model_sent);
  d->model_sent = NULL;
  d->n_model_sent = 0;
}

void daemon_model_publish(cxp_daemon *d) {
  /* The learners' one calibration, refitted to them as they stand (and so
   * the same as any core's with the same learners, whatever the order
   * their labels came in). */
  cxp_core_learn_refresh(&d->core);
  if (d->model_topic == NULL) return;
  /* Heads only: another instance combines the model, it learns nothing of
   * this partition's samples (its owner's changelog keeps them). */
  size_t n = cxp_learner_head_size();
  uint8_t *bytes = NULL;
  for (int32_t p = 0; p < d->offsets.n; p++) {
    const cxp_learner *l = d->offsets.by_partition[p] ? cxp_core_learner(&d->core, p) : NULL;
    if (l == NULL || l->labels == 0) continue;
    if (p >= d->n_model_sent) {
      int32_t m = p + 16;
      d->model_sent = cxp_xrealloc(d->model_sent, sizeof *d->model_sent * (size_t)m);
      memset(d->model_sent + d->n_model_sent, 0,
             sizeof *d->model_sent * (size_t)(m - d->n_model_sent));
      d->n_model_sent = m;
    }
    if (d->model_sent[p] == l->labels) continue;
    if (bytes == NULL) bytes = cxp_xmalloc(n);
    cxp_learner_encode_head(l, bytes);
    char key[CXP_STR_MAX + 32];
    int kl = snprintf(key, sizeof key, "%s%d:%s", CXP_CL_LEARNER, (int)p, d->pl.name);
    /* No delivery token: a record lost is made good by the next one of
     * the partition; the delivery report ignores the topic. */
    if (rd_kafka_produce(d->model_topic, 0, RD_KAFKA_MSG_F_COPY, bytes, n, key, (size_t)kl,
                         NULL) == 0) {
      d->model_sent[p] = l->labels;
      d->model_published++;
    }
  }
  free(bytes);
}
