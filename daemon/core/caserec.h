/* A recovery case's state as the topics.cases record carries it
 * (schemas/case.schema.json, docs/console.md): one JSON object per change of
 * a case (opened, a step done, escalated, closed), keyed by case_id, so a
 * compacted topic keeps each case's latest state.
 *
 * Pure: the caller (corecases.c) says what changed, when (event time), who
 * must act and what to do; the rest comes from the case as the callbacks
 * see it (cases.h, cxp_case_info). */
#ifndef CXP_CASEREC_H
#define CXP_CASEREC_H

#include <stdint.h>

#include "cases.h"
#include "jsonw.h"

typedef enum {
  CXP_CASE_CHANGE_OPENED,
  CXP_CASE_CHANGE_STEP,      /* a step done, or a second opening event merged */
  CXP_CASE_CHANGE_ESCALATED, /* an escalation level fired (recovery.sla_breached) */
  CXP_CASE_CHANGE_CLOSED
} cxp_case_change;

typedef struct cxp_case_update {
  const cxp_case_info *c;
  cxp_case_change change;
  int64_t at_ms;            /* event time of the change: overdue_s counts to it */
  const char *role;         /* who must act; NULL: null */
  const char *actions_json; /* a rendered JSON array of strings; NULL: [] */
  const char *closed_reason; /* with CLOSED: cxp_case_end_name() */
  int well;                 /* with CLOSED: recovered well */
} cxp_case_update;

/* The step due next: the first of acknowledge, resolve, follow up with a
 * deadline and not done; -1 when none is (all done, or the follow-up's
 * deadline not set yet because the case is not resolved and resolve is). */
int cxp_case_next_step(const cxp_case_info *c);

/* Appends the record to out (not reset). */
void cxp_case_record_write(cxp_buf *out, const cxp_case_update *u, const char *pipeline);

const char *cxp_case_change_name(cxp_case_change ch);

#endif
