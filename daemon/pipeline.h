/* The pipeline file: topics and the domain's settings (indicators, alerts).
 * The daemon and `cxpulse replay` load the same file. */
#ifndef CXP_PIPELINE_H
#define CXP_PIPELINE_H

#include "config.h"

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
  double short_half_life_days, long_half_life_days;
  double si_w_csat, si_w_nps, si_w_ces, si_w_servqual;
  double value_time_norm_s;
  int drop_enabled;
  double drop_points, drop_floor;
  long long drop_min_responses;
  char drop_actions[CXP_LIST_MAX];
  int sq_enabled;
  double sq_threshold;
  long long sq_min_responses;
  char sq_strategy[5][CXP_STR_MAX]; /* by dimension, in cxp_sq order */
  char kano_must_be[CXP_LIST_MAX];  /* attributes the pipeline maps to must_be */
  /* Derived when loaded. */
  double short_half_life_ms, long_half_life_ms;
  double half_life_ms;
  long long cooldown_ms;
  long long closed_loop_deadline_ms;
} cxp_pipeline;

extern const cxp_setting cxp_pipeline_table[];

void cxp_pipeline_defaults(cxp_pipeline *p);
int cxp_pipeline_load(cxp_pipeline *p, const char *path, char *err, size_t errlen);
/* Recomputes the derived fields after the table's fields changed. */
void cxp_pipeline_derive(cxp_pipeline *p);
/* True when `seg` (not NUL-terminated) is one of the premium segments. */
int cxp_pipeline_is_premium(const cxp_pipeline *p, const char *seg, size_t len);
/* True when the string s[0..len) is one of the rendered JSON list's. */
int cxp_list_has(const char *list_json, const char *s, size_t len);

#endif
