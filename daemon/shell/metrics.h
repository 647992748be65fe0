/* Prometheus text exposition (format 0.0.4) into a byte buffer, and a
 * fixed-bucket histogram to feed it.
 *
 * Pure: no clock, no I/O, no allocation beyond the caller's cxp_buf. The
 * daemon renders the whole exposition on the loop thread for each scrape,
 * from counters it already keeps; nothing is registered in advance.
 *
 * Usage, one family at a time:
 *
 *   cxp_metrics m;
 *   cxp_metrics_init(&m, &buf);
 *   cxp_metrics_family(&m, "cxpulse_events_consumed_total", CXP_METRIC_COUNTER,
 *                      "Events taken from the input topic.");
 *   cxp_metrics_u64(&m, (const char *[]){"type", "survey.nps", NULL}, 12);
 *   cxp_metrics_u64(&m, (const char *[]){"type", "complaint", NULL}, 3);
 *   cxp_metrics_family(&m, "cxpulse_processing_seconds", CXP_METRIC_HISTOGRAM, "...");
 *   cxp_metrics_histogram(&m, NULL, &h);
 *
 * Labels are a NULL-terminated list of name, value pairs (NULL for none);
 * values are escaped as the format requires (backslash, double quote,
 * newline). Names are the caller's constants and are not checked: follow
 * Prometheus conventions (cxpulse_ prefix, base units, counters end in
 * _total, which in format 0.0.4 is part of the family name). */
#ifndef CXP_METRICS_H
#define CXP_METRICS_H

#include <stdint.h>

#include "jsonw.h"

typedef enum { CXP_METRIC_COUNTER, CXP_METRIC_GAUGE, CXP_METRIC_HISTOGRAM } cxp_metric_type;

/* The content type of the exposition, for the HTTP response. */
#define CXP_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct cxp_metrics {
  cxp_buf *b;
  const char *family; /* the family samples are written under */
} cxp_metrics;

/* Appends to b (never resets it). */
void cxp_metrics_init(cxp_metrics *m, cxp_buf *b);
/* Writes "# HELP" and "# TYPE" and makes `name` the current family. The
 * name and help must outlive the samples that follow. */
void cxp_metrics_family(cxp_metrics *m, const char *name, cxp_metric_type type,
                        const char *help);
/* One sample of the current family. */
void cxp_metrics_u64(cxp_metrics *m, const char *const *labels, uint64_t v);
void cxp_metrics_i64(cxp_metrics *m, const char *const *labels, int64_t v);
/* Shortest text that reads back as v; NaN, +Inf, -Inf as the format spells them. */
void cxp_metrics_f64(cxp_metrics *m, const char *const *labels, double v);

/* Appends the shortest decimal text that reads back as v. */
void cxp_metrics_put_double(cxp_buf *b, double v);

/* ---- histogram ----------------------------------------------------------- */

#define CXP_HIST_MAX_BOUNDS 24

/* Counts per bucket, the sum and the count of observed values. Not
 * synchronised: it is written and rendered on one thread (the loop), which is
 * also why it needs no atomics. */
typedef struct cxp_histogram {
  int n;                                       /* upper bounds, ascending */
  double bounds[CXP_HIST_MAX_BOUNDS];
  uint64_t counts[CXP_HIST_MAX_BOUNDS + 1];    /* per bucket, not cumulative; [n] is +Inf */
  double sum;
  uint64_t count;
} cxp_histogram;

/* 0, or -1 when the bounds are not finite and strictly ascending or more than
 * CXP_HIST_MAX_BOUNDS. */
int cxp_histogram_init(cxp_histogram *h, const double *bounds, int n);
/* Latency buckets in seconds, 0.5 ms to 10 s (a consumed event's outputs are
 * acknowledged in milliseconds normally, in seconds under back-pressure). */
void cxp_histogram_init_latency(cxp_histogram *h);
/* Counts v (seconds) in the first bucket whose bound is >= v (le: less than
 * or equal). NaN is ignored. */
void cxp_histogram_observe(cxp_histogram *h, double v);
/* The family's _bucket (cumulative, le last among the labels, "+Inf"
 * included), _sum and _count samples. The current family must be a
 * CXP_METRIC_HISTOGRAM. */
void cxp_metrics_histogram(cxp_metrics *m, const char *const *labels, const cxp_histogram *h);

#endif
