#include "scrape.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One sample line: its label list (between the braces, both NULL without
 * one) and its value. */
typedef struct sample {
  const char *labels, *labels_end;
  double v;
} sample;

/* The end of a label list opened at p (just past '{'): the '}' closing it,
 * quotes and their escapes respected, or NULL when the line ends first. */
static const char *labels_close(const char *p, const char *eol) {
  int quoted = 0;
  for (; p < eol; p++) {
    if (quoted && *p == '\\' && p + 1 < eol) p++;
    else if (*p == '"') quoted = !quoted;
    else if (!quoted && *p == '}') return p;
  }
  return NULL;
}

/* 1 when the line [p, eol) is a sample of exactly `name` (of length nl),
 * with its labels and value in s; 0 for other lines and for lines that do
 * not parse. */
static int sample_of(const char *p, const char *eol, const char *name, size_t nl, sample *s) {
  if ((size_t)(eol - p) <= nl || memcmp(p, name, nl) != 0) return 0;
  const char *v = p + nl;
  s->labels = s->labels_end = NULL;
  if (*v == '{') {
    s->labels = v + 1;
    s->labels_end = labels_close(v + 1, eol);
    if (s->labels_end == NULL) return 0;
    v = s->labels_end + 1;
  }
  if (v >= eol || (*v != ' ' && *v != '\t')) return 0;
  char *end;
  s->v = strtod(v, &end);
  return end != v && end <= eol;
}

/* The value of label `key` of s into out (cap bytes, escapes undone): 1, or
 * 0 when s has no such label or it does not fit. */
static int label(const sample *s, const char *key, char *out, size_t cap) {
  size_t kl = strlen(key);
  const char *p = s->labels;
  while (p && p < s->labels_end) {
    const char *eq = memchr(p, '=', (size_t)(s->labels_end - p));
    if (eq == NULL || eq + 1 >= s->labels_end || eq[1] != '"') return 0;
    int mine = (size_t)(eq - p) == kl && memcmp(p, key, kl) == 0;
    size_t n = 0;
    for (p = eq + 2; p < s->labels_end && *p != '"'; p++) {
      if (*p == '\\' && p + 1 < s->labels_end) p++;
      if (mine && n + 1 < cap) out[n++] = *p;
      else if (mine) return 0;
    }
    if (mine) {
      out[n] = '\0';
      return 1;
    }
    p++; /* past the closing quote, then the comma */
    if (p < s->labels_end && *p == ',') p++;
  }
  return 0;
}

/* Calls each(s, arg) for every sample of `name` in text. */
static void each_sample(const char *text, const char *name, void (*each)(const sample *, void *),
                        void *arg) {
  size_t nl = strlen(name);
  for (const char *p = text; p && *p;) {
    const char *eol = strchr(p, '\n');
    if (eol == NULL) eol = p + strlen(p);
    sample s;
    if (*p != '#' && sample_of(p, eol, name, nl, &s)) each(&s, arg);
    p = *eol ? eol + 1 : NULL;
  }
}

static void add_value(const sample *s, void *arg) { *(double *)arg += s->v; }

double cxp_scrape_sum(const char *text, const char *name) {
  double sum = 0;
  each_sample(text, name, add_value, &sum);
  return sum;
}

/* ---- histograms ---------------------------------------------------------- */

/* A histogram being read: the buckets so far, and whether a line was bad. */
typedef struct hist_read {
  cxp_scrape_hist *h;
  int bad;
} hist_read;

/* A bucket sample added to the bucket of its bound, which is made in its
 * place by bound when new. */
static void add_bucket(const sample *s, void *arg) {
  hist_read *r = arg;
  cxp_scrape_hist *h = r->h;
  char text[64];
  if (!label(s, "le", text, sizeof text)) return;
  char *end;
  double le = strtod(text, &end);
  if (end == text || *end != '\0' || isnan(le)) return;
  int i = 0;
  while (i < h->n && h->le[i] < le) i++;
  if (i < h->n && h->le[i] == le) {
    h->cum[i] += s->v;
    return;
  }
  if (h->n == CXP_SCRAPE_MAX_BUCKETS) {
    r->bad = 1;
    return;
  }
  memmove(h->le + i + 1, h->le + i, (size_t)(h->n - i) * sizeof h->le[0]);
  memmove(h->cum + i + 1, h->cum + i, (size_t)(h->n - i) * sizeof h->cum[0]);
  h->le[i] = le;
  h->cum[i] = s->v;
  h->n++;
}

int cxp_scrape_histogram(const char *text, const char *name, cxp_scrape_hist *h) {
  char bucket[256];
  size_t nl = strlen(name);
  h->n = 0;
  if (nl + sizeof "_bucket" > sizeof bucket) return -1;
  memcpy(bucket, name, nl);
  memcpy(bucket + nl, "_bucket", sizeof "_bucket");
  hist_read r = {h, 0};
  each_sample(text, bucket, add_bucket, &r);
  if (r.bad || h->n == 0 || !isinf(h->le[h->n - 1])) return -1;
  for (int i = 1; i < h->n; i++)
    if (h->cum[i] < h->cum[i - 1]) return -1;
  return 0;
}

double cxp_scrape_quantile(const cxp_scrape_hist *h, double q) {
  if (!(q > 0 && q < 1) || h->n == 0 || !(h->cum[h->n - 1] > 0)) return NAN;
  double rank = q * h->cum[h->n - 1];
  int i = 0;
  while (h->cum[i] < rank) i++; /* stops at the last bucket at the latest */
  if (isinf(h->le[i])) return INFINITY;
  double lo = i > 0 ? h->le[i - 1] : 0, below = i > 0 ? h->cum[i - 1] : 0;
  /* A first bound at or under zero has no width to spread over. */
  if (i == 0 && h->le[0] <= 0) return h->le[0];
  return lo + (h->le[i] - lo) * (rank - below) / (h->cum[i] - below);
}

/* ---- lags ----------------------------------------------------------------- */

/* Partitions' lags being read: the worst so far, the sum and the count. */
typedef struct lag_read {
  cxp_scrape_lag *worst;
  int max, kept, partitions;
  double total;
} lag_read;

/* 1 when a ranks before b: more lag, or as much on a lower partition. */
static int worse(const cxp_scrape_lag *a, const cxp_scrape_lag *b) {
  return a->lag > b->lag || (a->lag == b->lag && a->partition < b->partition);
}

static void add_lag(const sample *s, void *arg) {
  lag_read *r = arg;
  char text[16], *end;
  if (!label(s, "partition", text, sizeof text) || isnan(s->v)) return;
  long p = strtol(text, &end, 10);
  if (end == text || *end != '\0' || p < 0 || p > 1000000) return;
  cxp_scrape_lag x = {(int)p, s->v};
  r->partitions++;
  r->total += s->v;
  /* Insertion into the few kept, worst first. */
  int i = r->kept < r->max ? r->kept++ : r->max;
  while (i > 0 && worse(&x, &r->worst[i - 1])) {
    if (i < r->max) r->worst[i] = r->worst[i - 1];
    i--;
  }
  if (i < r->max) r->worst[i] = x;
}

int cxp_scrape_lags(const char *text, const char *name, cxp_scrape_lag *worst, int max,
                    double *total) {
  lag_read r = {worst, max > 0 ? max : 0, 0, 0, 0};
  each_sample(text, name, add_lag, &r);
  *total = r.total;
  return r.partitions;
}
