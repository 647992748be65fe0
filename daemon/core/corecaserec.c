/* The recovery cases' state changes on topics.cases, as the core drives
 * them (core_int.h): who must act and what to do, from the pipeline, for
 * caserec.c's record. The case callbacks (corecases.c) call it. */
#include "core_int.h"

/* Who must act on the case now: the role of its highest escalation level
 * (recovery.escalation.roles) once one fired, else the solution library's
 * (the closed loop's for a detractor). Into role (CXP_STR_MAX bytes). */
static void case_role(const cxp_core *c, const cxp_case_info *ci, const cxp_solution *sol,
                      char *role) {
  int level = ci->max_level;
  size_t rn = CXP_STR_MAX; /* an entry's length, when the level names one */
  const char *r = level ? cxp_strset_at(&c->pl->rec_escalation_roles_set, level - 1, &rn) : NULL;
  if (r == NULL)
    r = ci->kind == CXP_CASE_DETRACTOR ? c->pl->closed_loop_role : sol ? sol->role : "";
  /* What "%.*s" wrote, without printf's cost on every case record: at most
   * rn bytes, up to a NUL, cut to fit. */
  size_t n = strnlen(r, rn < CXP_STR_MAX - 1 ? rn : CXP_STR_MAX - 1);
  memcpy(role, r, n);
  role[n] = '\0';
}

void core_case_record(cxp_core *c, const cxp_msg *from, const cxp_case_info *ci,
                      cxp_case_change change, int64_t at_ms, const cxp_case_outcome *o) {
  if (c->pl->topic_cases[0] == '\0') return;
  /* The library's entry as the opening found it (lookups are exact, then
   * wider): the actions recommended for this category, severity, segment. */
  const cxp_solution *sol =
      c->solutions && ci->kind != CXP_CASE_DETRACTOR
          ? cxp_solutions_lookup(c->solutions, (int)ci->category, ci->severity, ci->segment.p,
                                 ci->segment.p ? ci->segment.n : 0, NULL)
          : NULL;
  char role[CXP_STR_MAX];
  case_role(c, ci, sol, role);
  cxp_case_update u = {ci, change, at_ms, role, NULL, NULL, 0};
  u.actions_json = ci->kind == CXP_CASE_DETRACTOR ? c->pl->closed_loop_actions
                                                  : sol ? sol->actions : NULL;
  if (o) {
    u.closed_reason = cxp_case_end_name(o->end);
    u.well = o->well;
  }
  cxp_buf_reset(&c->out);
  cxp_case_record_write(&c->out, &u, c->pl->name);
  core_emit(c, from, CXP_STREAM_CASES, ci->case_id.p, ci->case_id.n);
}
