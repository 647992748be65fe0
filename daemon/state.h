/* Per-customer state, sharded by input partition.
 *
 * A shard holds the customers whose events arrive on one partition, so that
 * a revoked partition's customers go (or move) as one unit. Customers are
 * allocated once, when first seen, and found through an open-addressing
 * table keyed by a hash of customer_id. */
#ifndef CXP_STATE_H
#define CXP_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

#define CXP_ID_MAX 128
#define CXP_SEG_MAX 64
#define CXP_DEDUP_RING 8

/* Alert types with a per-customer cooldown. */
typedef enum {
  CXP_AL_RECOVERY_REQUIRED,
  CXP_AL_SLA_BREACHED,
  CXP_AL_CLOSED_LOOP,
  CXP_AL_CHURN_RISK,
  CXP_AL_SATISFACTION_DROP,
  CXP_AL_SERVQUAL_GAP,
  CXP_AL_SEGMENT_ANOMALY,
  CXP_AL_AGENT_FLAG,
  CXP_AL__COUNT
} cxp_alert_type;

typedef struct cxp_customer {
  uint64_t hash;
  int64_t last_offset; /* offset of the last event applied, -1 before any */
  int64_t landmark_ms; /* forward-decay landmark of the sums below */
  int64_t last_ts_ms;  /* largest event time applied */
  uint64_t recent[CXP_DEDUP_RING]; /* hashes of recent event ids */
  unsigned recent_pos;
  /* Forward-decayed sums (half-life: pipeline decay.half_life_days). */
  double csat_sat, csat_n;  /* responses scoring 4-5; all responses */
  double nps_sum, nps_n;    /* sum of scores; responses */
  int nps_last_score;       /* -1 before any */
  int nps_last_ts_set;
  int64_t nps_last_ts_ms;   /* ts of the response nps_last_score came from */
  int consent;              /* 1 unless a profile said false */
  int64_t alerted_ts_ms[CXP_AL__COUNT]; /* event time of the last alert; 0 none */
  uint8_t id_len, seg_len;
  char id[CXP_ID_MAX + 1];
  char segment[CXP_SEG_MAX + 1];
} cxp_customer;

typedef struct cxp_shard {
  int32_t partition;
  size_t count, cap;     /* customers held; slots (a power of two) */
  cxp_customer **slots;
} cxp_shard;

typedef struct cxp_state {
  cxp_shard **shards; /* indexed by partition; NULL when not held */
  int32_t n_shards;
  size_t customers;   /* over all shards */
} cxp_state;

void cxp_state_init(cxp_state *s);
void cxp_state_close(cxp_state *s);
/* The shard of a partition, created on first use. */
cxp_shard *cxp_state_shard(cxp_state *s, int32_t partition);
/* Drops a partition's customers (on revoke). */
void cxp_state_drop(cxp_state *s, int32_t partition);

cxp_customer *cxp_shard_find(const cxp_shard *sh, const char *id, size_t len);
cxp_customer *cxp_shard_get(cxp_state *s, cxp_shard *sh, const char *id, size_t len);

/* Duplicate detection: 1 when this event (offset or id) was applied before;
 * otherwise records it and returns 0. offset < 0 skips the offset test. */
int cxp_customer_seen(cxp_customer *c, int64_t offset, const char *event_id,
                      size_t len);

/* Folds a CSAT or NPS response into the decayed sums. */
void cxp_customer_apply_survey(cxp_customer *c, const cxp_event *ev,
                               double half_life_ms);
/* Decayed CSAT (0..100), or -1 with no responses. */
double cxp_customer_csat(const cxp_customer *c);
/* Decayed mean NPS score (0..10), or -1 with no responses. */
double cxp_customer_nps_mean(const cxp_customer *c);
/* NPS class of a score: 1 promoter, 0 passive, -1 detractor. */
int cxp_nps_class(int score);

#endif
