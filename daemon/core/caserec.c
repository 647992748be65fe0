/* The topics.cases record of a recovery case (caserec.h). */
#include "caserec.h"

#include <string.h>

#include "cases_conf.h"

const char *cxp_case_change_name(cxp_case_change ch) {
  static const char *const names[] = {"opened", "step", "escalated", "closed"};
  return (unsigned)ch <= CXP_CASE_CHANGE_CLOSED ? names[ch] : "unknown";
}

int cxp_case_next_step(const cxp_case_info *c) {
  for (int k = 0; k < CXP_DL__COUNT; k++) {
    cxp_case_deadline d = cxp_case_recovery_order[k];
    if (c->deadline[d] != 0 && c->done_at[cxp_case_deadline_step(d)] == 0) return d;
  }
  return -1;
}

static void opt_str(cxp_jw *j, const char *key, const cxp_str *s) {
  if (s->p && s->n) cxp_jw_str(j, key, s->p, s->n);
}

void cxp_case_record_write(cxp_buf *out, const cxp_case_update *u, const char *pipeline) {
  static const char *const kinds[] = {"failure", "complaint", "detractor"};
  const cxp_case_info *c = u->c;
  int closed = u->change == CXP_CASE_CHANGE_CLOSED;
  int next = closed ? -1 : cxp_case_next_step(c);
  int64_t due = next >= 0 ? c->deadline[next] : 0;
  cxp_jw j;
  cxp_jw_init(&j, out);
  cxp_jw_obj(&j, NULL);
  cxp_jw_str(&j, "case_id", c->case_id.p, c->case_id.n);
  cxp_jw_str(&j, "customer_id", c->customer_id.p, c->customer_id.n);
  if (c->segment.p && c->segment.n)
    cxp_jw_str(&j, "segment", c->segment.p, c->segment.n);
  else
    cxp_jw_null(&j, "segment");
  cxp_jw_cstr(&j, "kind", kinds[c->kind <= CXP_CASE_DETRACTOR ? c->kind : 0]);
  /* A detractor's case has no failure category. */
  if (c->kind != CXP_CASE_DETRACTOR)
    cxp_jw_cstr(&j, "category", cxp_case_category_name(c->category));
  opt_str(&j, "touchpoint", &c->touchpoint);
  cxp_jw_cstr(&j, "state", closed ? "closed" : "open");
  cxp_jw_cstr(&j, "change", cxp_case_change_name(u->change));
  cxp_jw_time(&j, "opened_at", c->opened_at);
  cxp_jw_time(&j, "updated_at", u->at_ms);
  cxp_jw_int(&j, "severity", c->severity);
  cxp_jw_int(&j, "priority", c->priority);
  cxp_jw_int(&j, "escalation_level", c->max_level);
  cxp_jw_cstr(&j, "role", u->role && u->role[0] ? u->role : NULL);
  cxp_jw_cstr(&j, "step", next >= 0 ? cxp_case_deadline_name((cxp_case_deadline)next) : NULL);
  if (due)
    cxp_jw_time(&j, "next_deadline", due);
  else
    cxp_jw_null(&j, "next_deadline");
  cxp_jw_int(&j, "overdue_s", due && u->at_ms > due ? (u->at_ms - due) / 1000 : 0);
  cxp_jw_raw(&j, "actions", u->actions_json && u->actions_json[0] ? u->actions_json : "[]");
  /* The steps done so far, each at its earliest time. */
  cxp_jw_obj(&j, "steps");
  for (int s = 0; s < CXP_STEP__COUNT; s++)
    if (c->done_at[s]) cxp_jw_time(&j, cxp_case_step_name((cxp_case_step)s), c->done_at[s]);
  cxp_jw_end(&j);
  if (closed) {
    cxp_jw_cstr(&j, "closed_reason", u->closed_reason);
    cxp_jw_bool(&j, "recovered_well", u->well);
  }
  cxp_jw_cstr(&j, "pipeline", pipeline);
  cxp_jw_end(&j);
}
