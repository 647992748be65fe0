/* Alerts: the contract subscribers read (docs/domain.md section 6). */
#ifndef CXP_ALERT_H
#define CXP_ALERT_H

#include <stdint.h>

#include "event.h"
#include "hash.h"
#include "jsonw.h"
#include "state.h"

#define CXP_ALERT_SCHEMA "cxpulse.alert/1"
#define CXP_ALERT_MAX_REASONS 8

typedef struct cxp_alert_reason {
  const char *factor;
  double value;
  double contribution;
} cxp_alert_reason;

typedef struct cxp_alert {
  cxp_alert_type type;
  int priority; /* 1..4 */
  cxp_str customer_id, case_id, segment, trigger_event_id;
  int64_t event_ts_ms, emitted_at_ms, deadline_ms; /* deadline 0: none */
  cxp_alert_reason reasons[CXP_ALERT_MAX_REASONS];
  int n_reasons;
  const char *actions_json; /* rendered JSON array */
  const char *role;         /* who may act; NULL when none */
  /* Goes into alert_id in place of the triggering event's id when no single
   * event triggered the alert (a deadline passing): e.g. "acknowledge:2". */
  cxp_str id_salt;
  /* Optional members, written only when set. */
  const char *compensation; /* compensation band of the solution library */
  int escalation_level;     /* 1..3 for recovery.sla_breached; 0: none */
  const char *overdue_step; /* with escalation_level */
  /* With escalation_level: every step overdue, a rendered JSON array of
   * {"step", "level"}; NULL: none written. */
  const char *escalation_steps;
  /* The type's own object, rendered: "anomaly" (segment.anomaly), "agent"
   * (agent.flag), "churn" (churn.risk). */
  const char *detail_key, *detail_json;
} cxp_alert;

const char *cxp_alert_type_name(cxp_alert_type t);
/* 1 when the alert type `type` answers the pattern pat[0..n): a pattern
 * ending in '.' or '*' takes every type it begins (the '*' not part of it:
 * "recovery.*" and "recovery." alike), any other only the type it names.
 * `cxpulse tail --type` and GET /v1/alerts?type= both filter with it. */
int cxp_alert_type_match(const char *pat, size_t n, const char *type);
/* "P1".."P4" (or "p1".."p4") as 1..4, and "1".."4" too when bare_ok;
 * -1 for anything else. */
int cxp_alert_priority_parse(const char *s, int bare_ok);

/* The deterministic id: from pipeline, type, customer, case and triggering
 * event, so that a replay yields the same id. */
void cxp_alert_id(cxp_idbuf *out, const char *pipeline, const cxp_alert *a);

/* Appends the alert's JSON to b. */
void cxp_alert_write(cxp_buf *b, const cxp_alert *a, const char *pipeline);

/* Priority with one level of lift (P2 -> P1) for premium customers. */
int cxp_alert_lift(int priority, int premium);
/* The priority lifted `levels` levels, never past P1. */
int cxp_alert_lift_by(int priority, int levels);
/* Levels a customer's value at risk lifts his alerts (docs/domain.md
 * section 6.2): one for each of the thresholds lift, lift2 (0: off) it
 * reaches; 0 when var is not over 0. */
int cxp_alert_value_tier(double var, double lift, double lift2);

#endif
