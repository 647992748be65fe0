/* The recovery cases' settings (cxp_cases_conf, from the pipeline's
 * recovery.* keys) and the solution library: what to do, by failure
 * category, severity and segment (cases_conf.c). The cases themselves are
 * cases.h's. */
#ifndef CXP_CASES_CONF_H
#define CXP_CASES_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "settings.h"

/* Failure categories (docs/domain.md section 2), in the decoder's order. */
typedef enum {
  CXP_CAT_DESIGN,
  CXP_CAT_OPERATIONAL,
  CXP_CAT_COMMUNICATION,
  CXP_CAT_REPUTATIONAL,
  CXP_CAT_PROMISE,
  CXP_CAT_OTHER,
  CXP_CAT__COUNT
} cxp_case_category;

const char *cxp_case_category_name(int c);            /* "design" ... */
int cxp_case_category_parse(const char *s, size_t n); /* -1 when unknown */

/* One solution library entry: what to do for (category, severity, segment). */
#define CXP_SOL_NAME_MAX 64
typedef struct cxp_solution {
  int category; /* cxp_case_category, or -1: any */
  int severity; /* 1..4, or 0: any */
  char segment[CXP_SOL_NAME_MAX + 1]; /* "": any */
  char actions[CXP_LIST_MAX];         /* a rendered JSON array of strings */
  char compensation[CXP_SOL_NAME_MAX + 1]; /* compensation band */
  char role[CXP_SOL_NAME_MAX + 1];    /* role authorised to act */
} cxp_solution;

typedef struct cxp_solutions cxp_solutions;

/* The built-in library: one default entry (acknowledge, apologize,
 * fix_and_resolve, follow_up; compensation "none"; role "frontline_agent"). */
cxp_solutions *cxp_solutions_create_default(void);
/* From a JSON array of entries (the pipeline file's recovery.solutions):
 * {"category": "operational", "severity": 2, "segment": "gold",
 *  "actions": ["..."], "compensation": "voucher_small", "role": "team_lead"}.
 * category, severity and segment are optional ("any"); a segment needs a
 * severity and a severity a category, so that the fallbacks below reach
 * every entry; actions and role are required; compensation defaults to
 * "none". Exactly one entry must have none of the three: the default.
 * NULL with a sentence naming the entry and the member in err. */
struct cJSON;
cxp_solutions *cxp_solutions_from_json(const struct cJSON *arr, char *err, size_t errlen);
void cxp_solutions_destroy(cxp_solutions *s);
int cxp_solutions_count(const cxp_solutions *s);
/* The entry for (category, severity, segment): exact, else (category,
 * severity, any segment), else (category, any, any), else the default.
 * *fallback (may be NULL) gets 0..3 for which of the four matched. Never
 * NULL for a library built by the functions above. */
const cxp_solution *cxp_solutions_lookup(const cxp_solutions *s, int category, int severity,
                                         const char *segment, size_t seg_len, int *fallback);

#define CXP_CASES_LEVELS 3
/* The most cases one breach digest lists (recovery.breach_digest.max_cases). */
#define CXP_DIGEST_MAX 1000

/* The steps with a deadline: the first three always have one, apologize and
 * compensate when the SLA gives them a time (appended, so that the older
 * numbers stay). */
typedef enum {
  CXP_DL_ACKNOWLEDGE,
  CXP_DL_RESOLVE,
  CXP_DL_FOLLOW_UP,
  CXP_DL_APOLOGIZE,
  CXP_DL_COMPENSATE,
  CXP_DL__COUNT
} cxp_case_deadline;

/* One entry of the SLA matrix (recovery.sla_matrix): the deadlines of a
 * segment, at one severity or at any. */
#define CXP_SLA_MAX 32
typedef struct cxp_sla_entry {
  char segment[CXP_SOL_NAME_MAX + 1];
  int severity;              /* 1..4; 0: any */
  double factor;             /* the severity's times x this; 0: not given */
  int64_t ms[CXP_DL__COUNT]; /* a step's own time; -1: not given; 0: no deadline */
} cxp_sla_entry;

typedef struct cxp_cases_conf {
  /* Part of a detractor's generated case_id, as core.c's closed loop makes
   * it, so that the closed-loop alert and the case share the id. */
  char pipeline[CXP_SOL_NAME_MAX + 1];
  int64_t ack_ms[4];     /* by severity 1..4 (index severity - 1) */
  int64_t resolve_ms[4];
  int64_t follow_up_ms;  /* from the resolution */
  int64_t apologize_ms[4]; /* by severity, from the opening; 0: no deadline */
  int64_t compensate_ms[4];
  cxp_strset premium; /* alerts.premium_segments */
  double premium_factor; /* deadlines of premium segments are multiplied by this */
  /* The SLA matrix: per segment (and severity), a factor on the times above
   * or times of its own. A segment it does not list: x premium_factor when
   * premium, else the times as they are. */
  int n_sla;
  cxp_sla_entry sla[CXP_SLA_MAX];
  double escalation[CXP_CASES_LEVELS]; /* level k at escalation[k-1] x the allowed time */
  double abandon_factor; /* > escalation[2] */
  int64_t settle_ms;     /* from resolved + followed up to the outcome */
  int64_t park_ms;       /* how long a step waits for its case */
  uint32_t max_parked;
  uint32_t max_open;     /* open cases per partition */
  uint32_t max_closed;   /* recently closed case hashes remembered */
  int64_t repeat_ms;     /* same category, same customer within this: severity + 1 */
  uint32_t max_customers; /* per-customer memory (repeats, cohorts, open counts) */
  int64_t systemic_window_ms;
  int systemic_customers; /* distinct customers, 1..64 */
  uint32_t max_systemic;  /* (category, touchpoint, window) groups tracked at once */
  double high_value;      /* a customer value at or over this lifts priority; <= 0: off */
  int detractor_cases;    /* open cases on detractor NPS responses */
  /* A detractor case's time to acknowledge (alerts.closed_loop.deadline_h),
   * x the factor its segment's deadlines take, in place of its severity's. */
  int64_t closed_loop_ms;
  /* recovery.severity_matrix: severity 1..4 by [likelihood - 1][impact - 1],
   * not decreasing along a row or down a column. */
  int severity_matrix[CXP_MATRIX_N][CXP_MATRIX_N];
  /* The breach digest (recovery.breach_digest.*, docs/domain.md section
   * 5.10): a breach whose alert would carry priority digest_from or a lower
   * one (a larger number) raises no alert of its own; it is listed in the
   * digest of its escalation role and of the event-time window of
   * digest_window_ms it fell due in, which goes out when the partition's
   * clock passes the window's end. At most digest_max cases are listed per
   * digest (the rest are counted). digest_group[k]: the digest that level
   * k + 1 goes to, the first level with the same role (k itself when its
   * role is its own), so that one role gets one digest per window. */
  int digest;
  int digest_from;
  int64_t digest_window_ms;
  uint32_t digest_max;
  uint8_t digest_group[CXP_CASES_LEVELS];
  /* The library lookups use; NULL: the built-in default. Not owned: it must
   * outlive the cxp_cases. */
  const cxp_solutions *solutions;
} cxp_cases_conf;

/* docs/domain.md section 5: acknowledge 15 min / 1 h / 4 h / 24 h, resolve 4 h / 24 h /
 * 72 h / 7 d, follow up 72 h; premium ["gold","platinum","premium"] x 0.5;
 * escalation 1, 2, 4; abandon 8; settle 5 min; park 1 h, 10000 parked;
 * max_open 1000000; max_closed 65536; repeat 30 d; 262144 customers;
 * systemic 10 customers in 15 min, 4096 groups; high_value 5000; detractor
 * cases on, acknowledged within 48 h; the severity matrix of recovery.severity_matrix's default;
 * the breach digest off (P3 and P4, 60 min, 50 cases, one digest per level);
 * pipeline "default". */
void cxp_cases_conf_defaults(cxp_cases_conf *c);
/* 0, or -1 with a sentence naming the setting (its pipeline-file key) in err. */
int cxp_cases_conf_check(const cxp_cases_conf *c, char *err, size_t errlen);

/* The SLA matrix from the pipeline file's recovery.sla_matrix, a JSON array
 * of up to CXP_SLA_MAX entries {"segment": G, "severity": S, "factor": F,
 * "acknowledge_min", "apologize_h", "compensate_h", "resolve_h",
 * "follow_up_h"}: segment required, severity optional (any), at least one
 * of the others; one entry per (segment, severity). Into c->sla, c->n_sla.
 * 0, or -1 with a sentence naming the entry and the member in err. */
int cxp_cases_sla_from_json(cxp_cases_conf *c, const struct cJSON *arr, char *err,
                            size_t errlen);

/* The entry of the matrix for (segment, severity): exact, else the
 * segment's for any severity; NULL when the segment is not listed. */
const cxp_sla_entry *cxp_cases_sla_lookup(const cxp_cases_conf *c, const char *segment,
                                          size_t n, int severity);

/* The severity of a failure or complaint that gives likelihood and impact
 * (each 1..4, 1 the worst) instead of a severity: the matrix's entry. */
static inline int cxp_cases_severity(const cxp_cases_conf *c, int likelihood, int impact) {
  return c->severity_matrix[likelihood - 1][impact - 1];
}

/* The bytes a library holds (for the cases' memory figure). */
size_t cxp_solutions_bytes(const cxp_solutions *s);

#endif
