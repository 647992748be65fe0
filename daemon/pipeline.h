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
  /* Derived when loaded. */
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

#endif
