/* The functional core's internals (core.h), shared by its files and by no
 * one else:
 *
 *   core.c       lifecycle, outputs and dead letters, the per-event path
 *                (decode, customer, alerts about one customer, churn)
 *   corecases.c  the recovery cases of each input partition and their alerts
 *   corewin.c    segment windows, shipping partials, the mergers, and the
 *                alerts about groups (segment.anomaly, agent.flag)
 *   corestate.c  durable state: changed customers, flushes, restores,
 *                expiry and eviction
 */
#ifndef CXP_CORE_INT_H
#define CXP_CORE_INT_H

#include "core.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "caserec.h"
#include "deadletter.h"
#include "hash.h"
#include "staterec.h"
#include "winwire.h"
#include "xalloc.h"

/* A parked recovery step's message, kept until its case comes or it expires
 * (a ring: the oldest copy makes room, so memory stays bounded). */
typedef struct parked_copy {
  int32_t part;
  int64_t offset;
  char *bytes, *key;
  size_t len, klen;
  const char *topic;
  int64_t received_ms;
} parked_copy;

/* core.c */
/* The shard, cases and windows of a message's partition: a replay has no
 * partitions (-1) and is partition 0. */
static inline int32_t core_part(int32_t partition) { return partition < 0 ? 0 : partition; }

size_t core_churn_silence(cxp_core *c, const cxp_msg *at, int64_t t);
/* c->out to the shell, answering to `from` (the call's message). */
void core_emit(cxp_core *c, const cxp_msg *from, cxp_stream s, const char *key, size_t klen);
/* Dead-letters m, an output answering to from (m itself, or the message
 * whose handling gave up a step parked earlier). */
void core_dead_letter(cxp_core *c, const cxp_msg *from, const cxp_msg *m, cxp_reason r,
                      const char *detail);
void core_grow_table(void *table, int32_t *n, int32_t part);
/* recovery.closed_loop for a detractor answer (consent and cooldown as every
 * outreach alert): for the case ci it opened, or NULL when it opened none;
 * var is his value at risk after the event, or negative when it is not known
 * yet (the case opens before his churn score moves), to work out here. */
void core_closed_loop(cxp_core *c, cxp_customer *cu, const cxp_event *ev, const cxp_msg *m,
                      const cxp_case_info *ci, double var);
/* 1 when a detractor answer's closed-loop alert would be held back by the
 * cooldown (closed loop on, consent given): its case then opens no new one. */
int core_closed_loop_cooling(const cxp_core *c, const cxp_customer *cu, const cxp_event *ev);
/* "servqual_gap.<dimension>", by dimension. */
extern const char *const core_sq_factor[CXP_SQ__COUNT];
/* SERVQUAL advice for the dimensions of mask `under` (gaps in gap[]): each
 * as a reason (gap, gap - threshold), worst first, its strategy among the
 * actions (written to actions[cap], which a->actions_json then points to),
 * and the priority: P2 when the worst gap is -3 or less, else P3. Returns
 * how many dimensions. */
int core_sq_advice(const cxp_pipeline *p, const double *gap, unsigned under, cxp_alert *a,
                   char *actions, size_t cap);

/* The customer's value for a case's priority (docs/domain.md section 6.3):
 * his profile clv, else his spend projected ahead as churn values it; read
 * only for an event that may open a case (0 for the others). */
double core_customer_value(const cxp_core *c, const cxp_customer *cu, const cxp_event *ev);

/* corecases.c */
cxp_reason core_apply_cases(cxp_core *c, const cxp_customer *cu, const cxp_event *ev,
                            const cxp_msg *m, int32_t part, char *detail, size_t dlen, int *opened);
cxp_cases *core_cases_make(cxp_core *c, int32_t part);
/* The partition's cases (NULL with recovery off), made on first use. */
static inline cxp_cases *core_cases_of(cxp_core *c, int32_t part) {
  if (c->pl->rec_enabled && part >= 0 && part < c->n_cases && c->cases[part]) return c->cases[part];
  return core_cases_make(c, part);
}
void core_cases_stats_add(cxp_cases_stats *out, const cxp_cases_stats *s, int gauges);
/* Whether the partition's cases open detractor cases (which then announce
 * themselves). */
static inline int core_detractor_cases(cxp_core *c, int32_t part) {
  return c->pl->cases.detractor_cases && core_cases_of(c, part) != NULL;
}
void core_restored_counts(cxp_cases *cs, cxp_customer *cu);

/* corecaserec.c */
/* A case's change to topics.cases (nothing when that setting is ""), at
 * event time at_ms; `o` the outcome of a closing, else NULL. */
void core_case_record(cxp_core *c, const cxp_msg *from, const cxp_case_info *ci,
                      cxp_case_change change, int64_t at_ms, const cxp_case_outcome *o);

/* corelearn.c */
/* Settings and prior from the pipeline (init and reload), the model that
 * scores recombined. */
void core_learn_setup(cxp_core *c);
void core_learn_free(cxp_core *c);
/* The labels event ev settles for customer cu of partition part, and the
 * sample it starts (x: his features after it, as churn_risk scored them). */
void core_learn_event(cxp_core *c, int32_t part, cxp_shard *sh, cxp_customer *cu,
                      const cxp_event *ev, const double *x);
/* 1 when the partition's learner learnt since its last record. */
size_t core_learn_changed(const cxp_core *c, int32_t part);
/* Appends its changelog frames (CXP_CL_LEARNER: the head, keyed by the
 * partition, and the chunks of samples written since, "<partition>:s<k>")
 * when it changed, or with `all` whenever it learnt anything (a snapshot:
 * every chunk). Returns how many. */
size_t core_learn_frame(cxp_core *c, int32_t part, int all, cxp_buf *out);
/* One of its records read back, by its key past CXP_CL_LEARNER (val NULL: a
 * tombstone, ignored). 0, or -1 with a sentence (bytes of no learner this
 * build reads: the partition keeps the learner it has). */
int core_learn_restore(cxp_core *c, int32_t part, const char *key, size_t klen, const void *val,
                       size_t vlen, char *err, size_t errlen);

/* corewin.c */
void core_late_add(uint64_t *revised, uint64_t *missed, const cxp_windows *w);
void core_ship(cxp_core *c, int32_t part, const cxp_msg *from);
void core_trail_free_all(cxp_core *c);
cxp_windows *core_windows_make(cxp_core *c, int32_t part);
/* The partition's windows (NULL with windows off), made on first use. */
static inline cxp_windows *core_windows_of(cxp_core *c, int32_t part) {
  if (c->pl->win_enabled && part >= 0 && part < c->n_win && c->win[part]) return c->win[part];
  return core_windows_make(c, part);
}

/* corestate.c */
void core_evict_for_cap(cxp_core *c, cxp_shard *sh, const cxp_customer *keep);

#endif
