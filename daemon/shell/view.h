/* The operations console's view (docs/console.md): what the admin
 * endpoint's /v1/cases, /v1/segments and /v1/alerts answer, built from the
 * records of three topics as any subscriber reads them:
 *
 *   topics.cases       the latest record of each case (open and recently
 *                      closed), found by case_id;
 *   topics.indicators  per window length and group, the latest `trend`
 *                      closed windows (a revision replaces its window);
 *   topics.alerts      a ring of the latest alerts.
 *
 * No Kafka and no clock here: the shell's follower (console.c) hands the
 * records in, the routes (consoleapi.c) ask for JSON, with the time "now"
 * as an argument. Records are parsed once, on the way in, and kept as the
 * compact JSON they are served as.
 *
 * Memory is bounded by the settings: max_cases records (each its JSON,
 * about 600 bytes, plus 100 bytes of slot, index and strings; a record over
 * CXP_VIEW_RECORD_MAX is refused), max_groups x trend windows (about 300
 * bytes each) and max_alerts alerts (each its JSON, under
 * CXP_VIEW_RECORD_MAX). At the defaults (100000, 2000 x 12, 1000) that is
 * about 70 MB of cases, 7 MB of windows and 1 MB of alerts at most;
 * cxp_view_stats_get().bytes measures it. */
#ifndef CXP_VIEW_H
#define CXP_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "jsonw.h"
#include "metrics.h"

/* The largest record taken from any topic: bigger ones are refused. */
#define CXP_VIEW_RECORD_MAX 8192

typedef struct cxp_view_conf {
  uint32_t max_cases;         /* console.max_cases */
  uint32_t max_groups;        /* console.max_groups */
  uint32_t trend;             /* console.trend: windows per group */
  uint32_t max_alerts;        /* console.max_alerts */
  uint32_t max_metric_groups; /* console.max_metric_groups */
} cxp_view_conf;

typedef struct cxp_view_stats {
  uint64_t case_records, indicator_records, alert_records; /* taken */
  uint64_t refused;        /* not a record of its topic (not JSON, a field missing, too big) */
  uint64_t cases_dropped;  /* cases let go to stay under max_cases */
  uint64_t groups_dropped; /* indicator records of groups past max_groups */
  uint32_t cases, open, groups, alerts;
  size_t bytes;            /* held now */
} cxp_view_stats;

typedef struct cxp_view cxp_view;

/* NULL when out of memory. Every bound at least 1 (trend at most 288). */
cxp_view *cxp_view_create(const cxp_view_conf *conf);
void cxp_view_destroy(cxp_view *v);

/* One record of each topic. 0, or -1 when refused (counted). A case's
 * record replaces the one held unless it is older (updated_at); val NULL
 * (a tombstone) with the case id as key forgets the case. */
int cxp_view_case(cxp_view *v, const char *key, size_t klen, const char *val, size_t vlen);
int cxp_view_indicator(cxp_view *v, const char *val, size_t vlen);
int cxp_view_alert(cxp_view *v, const char *val, size_t vlen);

typedef enum { CXP_VIEW_OPEN, CXP_VIEW_OVERDUE, CXP_VIEW_ALL } cxp_view_state;

typedef struct cxp_view_case_query {
  cxp_view_state state; /* OVERDUE: open, next_deadline before now_ms */
  const char *role;     /* NULL or "": any */
  const char *segment;
  const char *customer;
  uint32_t limit;
  int64_t now_ms;
} cxp_view_case_query;

/* {"cases":[...],"total":N}: the records that pass, by next_deadline
 * ascending (none last; then by case_id), at most limit of them; total
 * counts every one that passed. */
void cxp_view_cases_json(const cxp_view *v, const cxp_view_case_query *q, cxp_buf *out);

/* {"segments":[...]}: each group's latest window and its trend, in the
 * order the groups were first seen (docs/console.md). */
void cxp_view_segments_json(const cxp_view *v, cxp_buf *out);

typedef struct cxp_view_alert_query {
  const char *type; /* NULL or "": any; "recovery." or "recovery.*": every type it begins */
  int priority;     /* 0: any; 1..4: that priority or more urgent */
  uint32_t limit;
} cxp_view_alert_query;

/* {"alerts":[...]}: the alerts that pass, newest first. */
void cxp_view_alerts_json(const cxp_view *v, const cxp_view_alert_query *q, cxp_buf *out);

/* The records of the customer's cases the view holds, as a JSON array
 * member `key` of the object j is writing (open first, then closed, each
 * by next_deadline). */
void cxp_view_customer_cases(const cxp_view *v, const char *customer, cxp_jw *j,
                             const char *key);

/* cxpulse_segment_{csat,nps,ces,n} of each group's latest window (the first
 * max_metric_groups groups), cxpulse_segment_groups_dropped, and the
 * view's own figures (cxpulse_console_*). */
void cxp_view_metrics(const cxp_view *v, cxp_metrics *m);

cxp_view_stats cxp_view_stats_get(const cxp_view *v);

/* Appends JSON text with '<', '>' and '&' written as \u003c, \u003e and
 * \u0026: the same JSON, which no browser can take for markup. */
void cxp_view_put_json(cxp_buf *out, const char *json, size_t n);

#endif
