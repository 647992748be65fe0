#include "pipeline.h"

#include <cjson/cJSON.h>
#include <string.h>

#define OFF(f) offsetof(cxp_pipeline, f)

const cxp_setting cxp_pipeline_table[] = {
    {"name", CXP_T_STRING, "\"default\"", 1, 64, OFF(name),
     "Pipeline name: part of every alert id and output record."},
    {"topics.input", CXP_T_STRING, "\"cx.events\"", 1, 249, OFF(topic_input),
     "Topic the customer-interaction events are read from."},
    {"topics.alerts", CXP_T_STRING, "\"cx.alerts\"", 1, 249, OFF(topic_alerts),
     "Topic alerts are written to, keyed by customer_id."},
    {"topics.indicators", CXP_T_STRING, "\"cx.indicators\"", 1, 249, OFF(topic_indicators),
     "Topic indicator records are written to."},
    {"topics.dead_letters", CXP_T_STRING, "\"cx.dead_letters\"", 1, 249,
     OFF(topic_dead_letters), "Topic every unusable event is written to, with the reason."},
    {"decay.half_life_days", CXP_T_DOUBLE, "30", 0.001, 3650, OFF(half_life_days),
     "Half-life of the per-customer decayed aggregates (CSAT, NPS), in days."},
    {"limits.max_event_bytes", CXP_T_INT, "65536", 256, 1000000, OFF(max_event_bytes),
     "Largest event accepted; a larger one is dead-lettered as too_large."},
    {"limits.max_future_s", CXP_T_INT, "86400", 0, 31536000, OFF(max_future_s),
     "How far past its arrival an event's ts may lie before it is a bad_timestamp."},
    {"alerts.cooldown_h", CXP_T_DOUBLE, "24", 0, 8760, OFF(cooldown_h),
     "Least event time between two alerts of one type for one customer, in hours."},
    {"alerts.premium_segments", CXP_T_LIST, "[\"gold\",\"platinum\",\"premium\"]", 0, 32,
     OFF(premium_segments), "Segments whose alerts are raised one priority level."},
    {"alerts.closed_loop.enabled", CXP_T_BOOL, "true", 0, 1, OFF(closed_loop_enabled),
     "Raise recovery.closed_loop when a customer answers NPS as a detractor (0-6)."},
    {"alerts.closed_loop.deadline_h", CXP_T_DOUBLE, "48", 0.1, 720,
     OFF(closed_loop_deadline_h), "Time allowed to contact a detractor, in hours."},
    {"alerts.closed_loop.actions", CXP_T_LIST,
     "[\"contact_customer\",\"ask_what_went_wrong\",\"log_root_cause\"]", 1, 16,
     OFF(closed_loop_actions), "Recommended actions carried by the closed-loop alert."},
    {"alerts.closed_loop.role", CXP_T_STRING, "\"frontline_agent\"", 1, 64,
     OFF(closed_loop_role), "Role authorised to act on a closed-loop alert."},
    {NULL, 0, NULL, 0, 0, 0, NULL}};

void cxp_pipeline_derive(cxp_pipeline *p) {
  p->half_life_ms = p->half_life_days * 86400000.0;
  p->cooldown_ms = (long long)(p->cooldown_h * 3600000.0);
  p->closed_loop_deadline_ms = (long long)(p->closed_loop_deadline_h * 3600000.0);
}

void cxp_pipeline_defaults(cxp_pipeline *p) {
  memset(p, 0, sizeof *p);
  cxp_settings_defaults(cxp_pipeline_table, p);
  cxp_pipeline_derive(p);
}

int cxp_pipeline_load(cxp_pipeline *p, const char *path, char *err, size_t errlen) {
  cxp_pipeline_defaults(p);
  cJSON *root = cxp_json_load(path, err, errlen);
  if (root == NULL) return -1;
  int rc = cxp_settings_apply(cxp_pipeline_table, p, root, path, NULL, NULL, err, errlen);
  cJSON_Delete(root);
  if (rc) return -1;
  const char *t[] = {p->topic_input, p->topic_alerts, p->topic_indicators,
                     p->topic_dead_letters};
  for (int i = 0; i < 4; i++)
    for (int j = i + 1; j < 4; j++)
      if (strcmp(t[i], t[j]) == 0) {
        snprintf(err, errlen, "%s: key 'topics': topic '%s' is named twice", path, t[i]);
        return -1;
      }
  cxp_pipeline_derive(p);
  return 0;
}

int cxp_pipeline_is_premium(const cxp_pipeline *p, const char *seg, size_t len) {
  /* The list is rendered JSON: ["gold","platinum"]. Look for "seg" quoted. */
  const char *s = p->premium_segments;
  if (len == 0) return 0;
  while ((s = strchr(s, '"')) != NULL) {
    const char *e = strchr(s + 1, '"');
    if (e == NULL) break;
    if ((size_t)(e - s - 1) == len && memcmp(s + 1, seg, len) == 0) return 1;
    s = e + 1;
  }
  return 0;
}
