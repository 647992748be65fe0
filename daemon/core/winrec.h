/* A window's aggregate as it travels (winrec.c): the integer sums of one
 * window and group, the closed partial with its group's values, their JSON
 * wire form and merge, the final indicator record, and the consistency of
 * a team's figures. Independent of how a partition keeps its open windows
 * (window.h), so the merger and the record writers need nothing of those. */
#ifndef CXP_WINREC_H
#define CXP_WINREC_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "jsonw.h"
#include "timeutil.h"
#include "varint.h"

#define CXP_WIN_MAX_LENGTHS 4
#define CXP_WIN_MAX_GROUPINGS 4
#define CXP_WIN_MAX_FIELDS 4
/* Longest group value kept: the decoder's bound for ids (docs/domain.md section 2).
 * Longer values (only possible when a caller bypasses the decoder) are cut
 * on a UTF-8 character boundary. */
#define CXP_WIN_VALUE_MAX 128
/* The value an event lacking a group-by field is counted under. */
#define CXP_WIN_UNKNOWN "unknown"
/* SERVQUAL gaps are summed in millionths, so fractional expected/perceived
 * ratings (allowed by the event contract) still sum as exact integers. */
#define CXP_WIN_GAP_SCALE 1000000
/* Satisfaction indexes are summed in thousandths. */
#define CXP_WIN_SI_SCALE 1000
/* Delivered-value ratios (0..20: value over a cost floored at 0.05) are
 * summed in thousandths. */
#define CXP_WIN_VALUE_SCALE 1000
/* Times to acknowledge and to resolve are counted in buckets: [0, 1 min),
 * then [1 min x 1.5^(k-1), 1 min x 1.5^k) for k = 1..27 (the last ends at
 * about 39 days), then everything longer. A merged histogram is exact; the
 * median read from it is interpolated within its bucket. */
#define CXP_WIN_TBUCKETS 29
/* Recovery-paradox cohorts: never failed, recovered well, recovered poorly. */
#define CXP_WIN_COHORTS 3

typedef enum {
  CXP_WF_SEGMENT,
  CXP_WF_CHANNEL,
  CXP_WF_AGENT_ID,
  CXP_WF_TOUCHPOINT,
  CXP_WF__COUNT
} cxp_window_field;

/* "segment", "channel", "agent_id", "touchpoint" (the event field names). */
const char *cxp_window_field_name(cxp_window_field f);
/* The field named s[0..n), or -1. */
int cxp_window_field_parse(const char *s, size_t n);

/* The integer aggregates of one window and group. Every member is a count or
 * an integer sum, so two aggregates merge by addition. */
typedef struct cxp_window_agg {
  int64_t events;                       /* every event folded */
  int64_t csat_n, csat_sat;             /* responses; those scoring 4-5 */
  int64_t nps_n, nps_promoters, nps_passives, nps_detractors;
  int64_t ces_n, ces_sum;               /* responses; sum of scores */
  int64_t servqual_n;                   /* responses (any dimension) */
  int64_t sq_n[CXP_SQ__COUNT];          /* responses rating the dimension */
  int64_t sq_gap_sum[CXP_SQ__COUNT];    /* sum of perceived - expected, x GAP_SCALE */
  int64_t complaints;
  int64_t cases_opened;                 /* failures, complaints, detractor responses */
  int64_t cases_recovered_well;         /* outcomes (cxp_windows_add_outcome) */
  int64_t cases_recovered_poorly;
  int64_t failure_cases, preempted;     /* closed failure cases (opened by a failure or a
                                           complaint); detected by the provider first */
  int64_t tta_n, ttr_n;                 /* closed cases acknowledged; resolved */
  int64_t tta_hist[CXP_WIN_TBUCKETS], ttr_hist[CXP_WIN_TBUCKETS];
  int64_t churn[3];                     /* by band: low, medium, high */
  int64_t var_cents;                    /* value at risk of those customers, in cents */
  /* By cohort: customers with an event in the window; survey responses
   * with a satisfaction index and its sum (x SI_SCALE); cancellations. */
  int64_t cohort_customers[CXP_WIN_COHORTS];
  int64_t cohort_si_n[CXP_WIN_COHORTS], cohort_si_sum[CXP_WIN_COHORTS];
  int64_t cohort_cancels[CXP_WIN_COHORTS];
  /* Post-recovery satisfaction: the first CSAT or NPS response after one of
   * the customer's cases was resolved (docs/domain.md section 5). */
  int64_t post_csat_n, post_csat_sat, post_nps_n, post_nps_promoters, post_nps_detractors;
  /* Added later, so last (older records read them as 0). Customers with an
   * event in the window (at their first); of those, the ones with a
   * delivered-value ratio, its sum (x VALUE_SCALE) and those under 1;
   * purchases by customers who had bought before, referrals. */
  int64_t customers;
  int64_t value_n, value_sum, value_under;
  int64_t repeat_purchases, referrals;
  int64_t participations; /* feedback and referral events: the activity index */
} cxp_window_agg;

/* Consistency of a group's figures across its sub-groups of one more
 * field (its channels, its agents): per measure (0 CSAT, 1 NPS) how many
 * sub-groups had responses, and the population standard deviation of
 * their values (NaN when none). */
typedef struct cxp_window_spread {
  int32_t n[2];
  double sd[2];
} cxp_window_spread;

/* One closed window of one group on one partition (or, after merging, of
 * several). Self-contained: values are copied in, so a partial outlives the
 * windows that produced it. */
typedef struct cxp_window_partial {
  int64_t start_ms, end_ms, length_ms;
  int32_t partition; /* input partition; -1 after merging several */
  int early;         /* closed before the watermark passed its end */
  int late;          /* one late event's contribution to a closed window */
  int32_t revision;  /* of the merged record: 0 first, n its n-th revision */
  /* The input offsets of the first and last event folded (-1: none known,
   * or merged): a merger takes one partial per stretch of a partition's
   * input, so a window re-closed after a restart is not counted twice. */
  int64_t first_offset, last_offset;
  int n_fields;
  cxp_window_field fields[CXP_WIN_MAX_FIELDS];
  uint8_t value_len[CXP_WIN_MAX_FIELDS];
  char value[CXP_WIN_MAX_FIELDS][CXP_WIN_VALUE_MAX + 1]; /* NUL-terminated too */
  cxp_window_agg agg;
  /* Filled by the merger from the other records of the same emission
   * (cxp_window_spreads): across channels [0] and agents [1]. Not on the
   * wire. */
  cxp_window_spread spread[2];
} cxp_window_partial;

/* 1 when a and b are of the same window (length, start) and group (fields
 * and values). */
int cxp_window_partial_same(const cxp_window_partial *a, const cxp_window_partial *b);

/* Adds src into dst: same length, start, fields and values, else -1 and dst
 * is unchanged. early ORs; the partition becomes -1 when they differ. */
int cxp_window_partial_merge(cxp_window_partial *dst, const cxp_window_partial *src);

/* Partials on the repartition topic: compact JSON, exact round trip.
 * write appends to b; parse returns 0, or -1 when the bytes are not a valid
 * partial (bad JSON, missing member, count out of range, inconsistent
 * counts). */
void cxp_window_partial_write(cxp_buf *b, const cxp_window_partial *p);
int cxp_window_partial_parse(const char *s, size_t n, cxp_window_partial *p);

/* The aggregate as zigzag varints, their count first (most members are 0:
 * a byte each); members added later go at the end, so a reader takes fewer
 * words (the rest 0) and refuses more. get returns 0, or -1 when a word is
 * out of the range the reader allows or the counts are inconsistent. */
void cxp_window_agg_put(cxp_buf *b, const cxp_window_agg *a);
int cxp_window_agg_get(cxp_rd *r, cxp_window_agg *a);

/* Whether a window read back (a changelog record, a repartition record)
 * has a length the configuration allows (1 ms..366 days) and a start
 * whose end a JSON number carries exactly. */
int cxp_window_span_ok(int64_t length_ms, int64_t start_ms);

/* Appends the group as a compact JSON object ({"segment":"gold"}): the key of
 * the record on the indicators topic. */
void cxp_window_group_key(cxp_buf *b, const cxp_window_partial *p);

/* Appends the final indicator record (schemas/indicator.schema.json) of a
 * merged partial. missing_partitions lists the input partitions whose part
 * did not arrive in time (then incomplete is true). A measure without
 * responses is null; low_n lists measures with 0 < n < min_n (a null
 * measure was computed on nothing, so it is not "low", just absent). */
void cxp_window_record_write(cxp_buf *b, const cxp_window_partial *merged,
                             const char *pipeline, int min_n,
                             const int32_t *missing_partitions, int n_missing);

/* The median of a time histogram in minutes, interpolated within its bucket;
 * NaN when n is 0. */
double cxp_window_median_min(const int64_t *hist, int64_t n);

/* Consistency (docs/domain.md section 4) over the merged partials of one window and one
 * grouping (e.g. [agent_id], or [channel]): the groups with at least min_n
 * CSAT responses are the team; spread is the population standard deviation
 * of their CSAT (0..100), mean its unweighted mean, and a group is flagged
 * when its CSAT is more than 2 standard deviations under that mean. Groups
 * under min_n neither count nor get flagged. With k qualified groups no group
 * can sit more than sqrt(k-1) deviations under the mean, so a flag needs at
 * least 6 of them. flagged[i] (may be NULL) is set to 0 or 1 for groups[i].
 * Returns the number flagged. */
typedef struct cxp_window_consistency {
  int qualified;
  double mean, spread; /* NaN when qualified == 0 */
} cxp_window_consistency;
int cxp_window_consistency_compute(const cxp_window_partial *const *groups, int n,
                                   int min_n, cxp_window_consistency *out,
                                   int *flagged);

/* Fills the spreads of every group in ps[0..n) (the records of one
 * emission) from the groups of the same window whose fields are its own
 * and one more, channel (spread[0]) or agent_id (spread[1]), with the same
 * values; a sub-group valued "unknown" is left out. */
void cxp_window_spreads(cxp_window_partial *const *ps, int n);

/* The start of the window of length len that time ts falls in:
 * floor(ts / len) * len, also for times before the epoch. */
static inline int64_t cxp_window_start(int64_t ts, int64_t len) { return cxp_time_floor(ts, len); }

/* Counts up to 2^40 (a million events a second for twelve days in one
 * window): every sum and product the consistency check forms stays in
 * int64. */
#define CXP_WIN_COUNT_MAX (1LL << 40)

/* Integers a JSON number (a double, in cJSON) carries exactly. */
#define CXP_WIN_JSON_INT_MAX 9007199254740992LL

/* a + b for sums of non-negative amounts a record carries (the value at
 * risk in cents): at most CXP_WIN_JSON_INT_MAX, the most a reader takes,
 * so that no total of valid inputs makes a partial its merger refuses. */
static inline int64_t cxp_win_sum_add(int64_t a, int64_t b) {
  return b > CXP_WIN_JSON_INT_MAX - a ? CXP_WIN_JSON_INT_MAX : a + b;
}

/* The longest window length, lateness or revision horizon: 366 days. */
#define CXP_WIN_TIME_LIMIT_MS (366LL * 86400000LL)

/* For the windows' changelog records (window.c): whether an
 * aggregate's counts make sense together, and a partial's group from its
 * JSON form ({"segment":"gold",...}): 0, or -1. */
int cxp_window_agg_consistent(const cxp_window_agg *a);
struct cJSON;
int cxp_window_group_parse(const struct cJSON *g, cxp_window_partial *p);

#endif
