#include "alert.h"

#include <string.h>

static const char *type_names[CXP_AL__COUNT] = {
    "recovery.required", "recovery.sla_breached", "recovery.closed_loop",
    "churn.risk",        "satisfaction.drop",     "servqual.gap",
    "segment.anomaly",   "agent.flag",            "recovery.sla_digest"};

const char *cxp_alert_type_name(cxp_alert_type t) {
  return t < CXP_AL__COUNT ? type_names[t] : "unknown";
}

int cxp_alert_type_match(const char *pat, size_t n, const char *type) {
  size_t tl = strlen(type);
  int prefix = n > 0 && (pat[n - 1] == '*' || pat[n - 1] == '.');
  if (n > 0 && pat[n - 1] == '*') n--;
  return (prefix ? n <= tl : n == tl) && memcmp(pat, type, n) == 0;
}

int cxp_alert_priority_parse(const char *s, int bare_ok) {
  if (s[0] == 'P' || s[0] == 'p')
    s++;
  else if (!bare_ok)
    return -1;
  if (s[0] < '1' || s[0] > '4' || s[1] != '\0') return -1;
  return s[0] - '0';
}

void cxp_alert_id(cxp_idbuf *out, const char *pipeline, const cxp_alert *a) {
  const char *tn = cxp_alert_type_name(a->type);
  const char *f[5] = {pipeline, tn, a->customer_id.p ? a->customer_id.p : "",
                      a->case_id.p ? a->case_id.p : "",
                      a->trigger_event_id.p ? a->trigger_event_id.p
                                            : a->id_salt.p ? a->id_salt.p : ""};
  size_t l[5] = {strlen(pipeline), strlen(tn), a->customer_id.n, a->case_id.n,
                 a->trigger_event_id.p ? a->trigger_event_id.n : a->id_salt.n};
  cxp_make_id(out, f, l, 5);
}

int cxp_alert_lift_by(int priority, int levels) {
  for (; levels > 0 && priority > 1; levels--) priority--;
  return priority;
}

int cxp_alert_lift(int priority, int premium) { return cxp_alert_lift_by(priority, premium != 0); }

int cxp_alert_value_tier(double var, double lift, double lift2) {
  if (!(var > 0)) return 0;
  return (lift > 0 && var >= lift) + (lift2 > 0 && var >= lift2);
}

static void opt_str(cxp_jw *w, const char *key, cxp_str s) {
  if (s.p)
    cxp_jw_str(w, key, s.p, s.n);
  else
    cxp_jw_null(w, key);
}

void cxp_alert_write(cxp_buf *b, const cxp_alert *a, const char *pipeline) {
  cxp_idbuf id;
  cxp_jw w;
  char prio[3] = {'P', (char)('0' + a->priority), 0};

  cxp_alert_id(&id, pipeline, a);
  cxp_jw_init(&w, b);
  cxp_jw_obj(&w, NULL);
  cxp_jw_str(&w, "alert_id", id.hex, 32);
  cxp_jw_cstr(&w, "type", cxp_alert_type_name(a->type));
  cxp_jw_cstr(&w, "priority", prio);
  opt_str(&w, "customer_id", a->customer_id); /* null: about a group, not a customer */
  opt_str(&w, "case_id", a->case_id);
  opt_str(&w, "segment", a->segment);
  cxp_jw_time(&w, "event_ts", a->event_ts_ms);
  cxp_jw_time(&w, "emitted_at", a->emitted_at_ms);
  cxp_jw_arr(&w, "reasons");
  for (int i = 0; i < a->n_reasons; i++) {
    cxp_jw_obj(&w, NULL);
    cxp_jw_cstr(&w, "factor", a->reasons[i].factor);
    cxp_jw_num(&w, "value", a->reasons[i].value);
    cxp_jw_num(&w, "contribution", a->reasons[i].contribution);
    cxp_jw_end(&w);
  }
  cxp_jw_end(&w);
  cxp_jw_raw(&w, "actions", a->actions_json ? a->actions_json : "[]");
  cxp_jw_cstr(&w, "role", a->role);
  if (a->deadline_ms)
    cxp_jw_time(&w, "deadline", a->deadline_ms);
  else
    cxp_jw_null(&w, "deadline");
  opt_str(&w, "event_id", a->trigger_event_id);
  if (a->compensation) cxp_jw_cstr(&w, "compensation", a->compensation);
  if (a->escalation_level) {
    cxp_jw_obj(&w, "escalation");
    cxp_jw_int(&w, "level", a->escalation_level);
    cxp_jw_cstr(&w, "step", a->overdue_step ? a->overdue_step : "");
    if (a->escalation_steps) cxp_jw_raw(&w, "steps", a->escalation_steps);
    cxp_jw_end(&w);
  }
  if (a->detail_key && a->detail_json) cxp_jw_raw(&w, a->detail_key, a->detail_json);
  cxp_jw_cstr(&w, "pipeline", pipeline);
  cxp_jw_cstr(&w, "schema", CXP_ALERT_SCHEMA);
  cxp_jw_end(&w);
}
