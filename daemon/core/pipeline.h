/* The pipeline file: topics and the domain's settings (indicators, alerts).
 * The daemon and `cxpulse replay` load the same file. */
#ifndef CXP_PIPELINE_H
#define CXP_PIPELINE_H

#include "settings.h"
#include "cases.h"
#include "window.h"

/* The churn model's factors (churn.h: CXP_CF__COUNT, which pipeline.c
 * checks this against at compile time). */
#define CXP_PIPELINE_CHURN_FACTORS 11

typedef struct cxp_pipeline {
  char name[CXP_STR_MAX];
  char topic_input[CXP_STR_MAX];
  char topic_alerts[CXP_STR_MAX];
  char topic_indicators[CXP_STR_MAX];
  char topic_dead_letters[CXP_STR_MAX];
  double half_life_days;
  long long max_event_bytes;
  long long max_future_s;
  double cooldown_h;
  int closed_loop_enabled;
  double closed_loop_deadline_h;
  char closed_loop_actions[CXP_LIST_MAX];
  char closed_loop_role[CXP_STR_MAX];
  char premium_segments[CXP_LIST_MAX];
  double var_lift, var_lift2; /* alerts.value_at_risk.lift, .lift2 */
  double short_half_life_days, long_half_life_days;
  double si_w_csat, si_w_nps, si_w_ces, si_w_servqual;
  /* satisfaction_index.pairwise as compact JSON ("" when not given): an
   * AHP comparison matrix the loader turns into the four weights above. */
  char si_pairwise[1024];
  double si_pairwise_cr; /* its consistency ratio; 0 without one */
  double value_time_norm_s, value_money_norm;
  int drop_enabled;
  double drop_points, drop_floor;
  long long drop_min_responses;
  char drop_actions[CXP_LIST_MAX];
  int sq_enabled;
  double sq_threshold;
  long long sq_min_responses;
  char sq_strategy[5][CXP_STR_MAX]; /* by dimension, in cxp_sq order */
  int anomaly_enabled;
  double anomaly_points;
  long long anomaly_trailing, anomaly_min_trailing;
  char anomaly_actions[CXP_LIST_MAX];
  char anomaly_role[CXP_STR_MAX];
  int agent_flag_enabled;
  char agent_flag_actions[CXP_LIST_MAX];
  char agent_flag_role[CXP_STR_MAX];
  char kano_must_be[CXP_LIST_MAX];  /* attributes the pipeline maps to must_be */
  cxp_strset premium_set;           /* the two lists above, parsed (derived) */
  cxp_strset kano_must_be_set;
  char topic_repartition[CXP_STR_MAX];
  char topic_changelog[CXP_STR_MAX];
  char topic_model[CXP_STR_MAX]; /* "" : the learners are not shared */
  char topic_cases[CXP_STR_MAX];  /* "" : case state changes are not published */
  char topic_internal_codec[CXP_STR_MAX]; /* none gzip snappy lz4 zstd */
  int state_durable;
  long long state_flush_ms;
  long long state_catchup_flush_ms;
  long long state_catchup_lag;
  double state_ttl_days;
  long long state_max_customers;
  int win_enabled;
  char win_lengths[CXP_LIST_MAX];  /* durations: ["1m","1h"] */
  char win_group_by[CXP_LIST_MAX]; /* groupings: ["segment","channel","segment+agent_id"] */
  double win_lateness_s;
  char win_revision_horizons[CXP_LIST_MAX]; /* durations per length: ["1h","2h"] */
  long long win_min_n;
  long long win_max_open;
  long long win_max_revisable;
  double win_merge_timeout_s;
  int rec_enabled;
  double rec_ack_min[4], rec_resolve_h[4], rec_apologize_h[4], rec_compensate_h[4];
  double rec_follow_up_h, rec_premium_factor;
  double rec_escalation[3];
  char rec_escalation_roles[CXP_LIST_MAX];
  cxp_strset rec_escalation_roles_set; /* the list above, parsed (derived) */
  double rec_abandon_factor, rec_settle_s, rec_park_s;
  long long rec_max_parked, rec_max_open;
  double rec_repeat_days;
  long long rec_systemic_customers;
  double rec_systemic_window_min;
  double rec_high_value;
  int rec_detractor_cases;
  /* recovery.breach_digest.*: one alert per role and window in place of
   * the breaches of low priority (docs/domain.md section 5.10). */
  int rec_digest_enabled;
  long long rec_digest_from, rec_digest_max;
  double rec_digest_window_min;
  /* Severity by [likelihood - 1][impact - 1], for failures and complaints
   * that give those two instead of a severity. */
  int rec_severity_matrix[CXP_MATRIX_N][CXP_MATRIX_N];
  /* recovery.solutions as compact JSON ("" for the built-in default); an
   * array of objects, which the settings table cannot hold, so the loader
   * takes it out of the file and validates it itself. */
  char rec_solutions[16384];
  char rec_sla_matrix[8192]; /* recovery.sla_matrix as text; "": none */
  int churn_enabled;
  double churn_intercept, churn_coef[CXP_PIPELINE_CHURN_FACTORS]; /* by cxp_churn_factor */
  double churn_medium, churn_high, churn_hysteresis;
  long long churn_reasons;
  double churn_silence_days; /* re-scored after this long without an event; 0 off */
  double churn_value_horizon_days, churn_value_per_activity;
  int churn_learn, churn_downgrade_is_churn;
  double churn_horizon_days, churn_learn_rate, churn_learn_l2;
  long long churn_learn_min_labels;
  char churn_actions[8192]; /* churn.actions as compact JSON; "" = built-in */
  /* Derived when loaded. */
  double short_half_life_ms, long_half_life_ms;
  double half_life_ms;
  long long cooldown_ms;
  long long closed_loop_deadline_ms;
  cxp_window_conf windows; /* from the windows.* settings */
  cxp_cases_conf cases;     /* from the recovery.* settings; solutions NULL */
  long long merge_timeout_ms;
} cxp_pipeline;

extern const cxp_setting cxp_pipeline_table[];

void cxp_pipeline_defaults(cxp_pipeline *p);
/* Fills p from a pipeline file's parsed JSON (defaults for what it leaves
 * out) and checks every setting; takes root and frees it. 0, or -1 with
 * "PATH: key 'K': what is wrong" in err. The file is read by the shell's
 * cxp_pipeline_load (config.h). */
struct cJSON;
int cxp_pipeline_from_json(cxp_pipeline *p, struct cJSON *root, const char *path, char *err,
                           size_t errlen);
/* Recomputes the derived fields after the table's fields changed. */
void cxp_pipeline_derive(cxp_pipeline *p);
/* Parses a duration: a whole number and a unit, ms, s, m, h or d ("90s",
 * "1h"). 0, or -1 when it is not one. */
int cxp_duration_parse(const char *s, long long *ms);
/* Fills p->windows from the windows.* settings: 0, or -1 with a sentence
 * naming the setting in err. */
int cxp_pipeline_windows(cxp_pipeline *p, char *err, size_t errlen);

/* Fills cf from the settings the customers' figures are kept and read with
 * (decay.*, delivered_value.time_norm_s, satisfaction_index.weights.*; p's
 * derived fields must be current). The table has checked them: no error. */
struct cxp_customer_conf;
void cxp_pipeline_customer(const cxp_pipeline *p, struct cxp_customer_conf *cf);
/* Fills lc from the churn.* learning settings. */
struct cxp_learn_conf;
void cxp_pipeline_learn(const cxp_pipeline *p, struct cxp_learn_conf *lc);
/* Fills cf from the churn.* settings: 0, or -1 with a sentence. */
struct cxp_churn_conf;
int cxp_pipeline_churn(const cxp_pipeline *p, struct cxp_churn_conf *cf, char *err,
                       size_t errlen);
/* Fills p->cases from the recovery.* settings: 0, or -1 with a sentence. */
int cxp_pipeline_cases(cxp_pipeline *p, char *err, size_t errlen);
/* The solution library of p (the default when the file has none); NULL with
 * a sentence in err when recovery.solutions is not valid. */
cxp_solutions *cxp_pipeline_solutions(const cxp_pipeline *p, char *err, size_t errlen);

/* A reload: takes from `next` every setting that can change while running
 * into `live`, keeps the ones that cannot (topics, name, the window layout,
 * structure sizes) at their running values, and re-derives the rest. The
 * names of the settings that changed go to `changed`, of those kept to
 * `kept`, comma-separated. `next` must have loaded without error. Returns
 * how many changed. */
struct cxp_buf;
int cxp_pipeline_reload(cxp_pipeline *live, const cxp_pipeline *next, struct cxp_buf *changed,
                        struct cxp_buf *kept);

/* True when `seg` (not NUL-terminated) is one of the premium segments. */
int cxp_pipeline_is_premium(const cxp_pipeline *p, const char *seg, size_t len);

#endif
