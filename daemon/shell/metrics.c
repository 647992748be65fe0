#include "metrics.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cxp_metrics_init(cxp_metrics *m, cxp_buf *b) {
  m->b = b;
  m->family = NULL;
}

/* HELP text escapes backslash and newline; label values also the double
 * quote (format 0.0.4). */
static void put_escaped(cxp_buf *b, const char *s, int quote) {
  const char *run = s;
  for (; *s; s++) {
    const char *esc = NULL;
    if (*s == '\\') esc = "\\\\";
    else if (*s == '\n') esc = "\\n";
    else if (quote && *s == '"') esc = "\\\"";
    if (esc == NULL) continue;
    cxp_buf_put(b, run, (size_t)(s - run));
    cxp_buf_put(b, esc, 2);
    run = s + 1;
  }
  cxp_buf_put(b, run, (size_t)(s - run));
}

void cxp_metrics_family(cxp_metrics *m, const char *name, cxp_metric_type type,
                        const char *help) {
  static const char *const types[] = {"counter", "gauge", "histogram"};
  m->family = name;
  cxp_buf_puts(m->b, "# HELP ");
  cxp_buf_puts(m->b, name);
  cxp_buf_putc(m->b, ' ');
  put_escaped(m->b, help, 0);
  cxp_buf_puts(m->b, "\n# TYPE ");
  cxp_buf_puts(m->b, name);
  cxp_buf_putc(m->b, ' ');
  cxp_buf_puts(m->b, types[type]);
  cxp_buf_putc(m->b, '\n');
}

/* The text of v into s (32 bytes). */
static void fmt_double(char *s, double v) {
  if (isnan(v)) {
    strcpy(s, "NaN");
    return;
  }
  if (isinf(v)) {
    strcpy(s, v > 0 ? "+Inf" : "-Inf");
    return;
  }
  /* The shortest %g that reads back exactly: 0.1 rather than
   * 0.10000000000000001, and every value still exact. */
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(s, 32, "%.*g", prec, v);
    if (strtod(s, NULL) == v) break;
  }
}

void cxp_metrics_put_double(cxp_buf *b, double v) {
  char s[32];
  fmt_double(s, v);
  cxp_buf_puts(b, s);
}

/* name{l1="v1",...,extra_name="extra_value"} with the suffix after name. */
static void put_series(cxp_metrics *m, const char *suffix, const char *const *labels,
                       const char *extra_name, const char *extra_value) {
  cxp_buf *b = m->b;
  cxp_buf_puts(b, m->family);
  if (suffix) cxp_buf_puts(b, suffix);
  int any = 0;
  for (const char *const *l = labels; l && l[0]; l += 2) {
    cxp_buf_putc(b, any ? ',' : '{');
    any = 1;
    cxp_buf_puts(b, l[0]);
    cxp_buf_puts(b, "=\"");
    put_escaped(b, l[1] ? l[1] : "", 1);
    cxp_buf_putc(b, '"');
  }
  if (extra_name) {
    cxp_buf_putc(b, any ? ',' : '{');
    any = 1;
    cxp_buf_puts(b, extra_name);
    cxp_buf_puts(b, "=\"");
    cxp_buf_puts(b, extra_value);
    cxp_buf_putc(b, '"');
  }
  if (any) cxp_buf_putc(b, '}');
  cxp_buf_putc(b, ' ');
}

void cxp_metrics_u64(cxp_metrics *m, const char *const *labels, uint64_t v) {
  put_series(m, NULL, labels, NULL, NULL);
  cxp_buf_printf(m->b, "%" PRIu64 "\n", v);
}

void cxp_metrics_i64(cxp_metrics *m, const char *const *labels, int64_t v) {
  put_series(m, NULL, labels, NULL, NULL);
  cxp_buf_printf(m->b, "%" PRId64 "\n", v);
}

void cxp_metrics_f64(cxp_metrics *m, const char *const *labels, double v) {
  put_series(m, NULL, labels, NULL, NULL);
  cxp_metrics_put_double(m->b, v);
  cxp_buf_putc(m->b, '\n');
}

/* ---- histogram ----------------------------------------------------------- */

int cxp_histogram_init(cxp_histogram *h, const double *bounds, int n) {
  memset(h, 0, sizeof *h);
  if (n < 0 || n > CXP_HIST_MAX_BOUNDS) return -1;
  for (int i = 0; i < n; i++)
    if (!isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1]))) return -1;
  memcpy(h->bounds, bounds, (size_t)n * sizeof *bounds);
  h->n = n;
  return 0;
}

void cxp_histogram_init_latency(cxp_histogram *h) {
  static const double b[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                             0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  cxp_histogram_init(h, b, (int)(sizeof b / sizeof b[0]));
}

void cxp_histogram_observe(cxp_histogram *h, double v) {
  if (isnan(v)) return;
  /* Binary search for the first bound >= v; n when v is above them all. */
  int lo = 0, hi = h->n;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (h->bounds[mid] >= v) hi = mid;
    else lo = mid + 1;
  }
  h->counts[lo]++;
  h->count++;
  h->sum += v;
}

void cxp_metrics_histogram(cxp_metrics *m, const char *const *labels, const cxp_histogram *h) {
  uint64_t cum = 0;
  char le[32];
  for (int i = 0; i <= h->n; i++) {
    cum += h->counts[i];
    fmt_double(le, i < h->n ? h->bounds[i] : INFINITY);
    put_series(m, "_bucket", labels, "le", le);
    cxp_buf_printf(m->b, "%" PRIu64 "\n", cum);
  }
  put_series(m, "_sum", labels, NULL, NULL);
  cxp_metrics_put_double(m->b, h->sum);
  cxp_buf_putc(m->b, '\n');
  put_series(m, "_count", labels, NULL, NULL);
  cxp_buf_printf(m->b, "%" PRIu64 "\n", h->count);
}
