/* A daemon's Prometheus exposition (format 0.0.4) read back, as `cxpulse
 * top` shows it: a sample's value, a histogram's buckets and quantiles, the
 * partitions' lags. Plain functions over the text: no I/O, so the tests hand
 * them expositions written by hand.
 *
 * Lines that do not parse (no value, a label list not closed) are skipped,
 * as a reader of someone else's text should: one odd line must not blank
 * the whole screen. */
#ifndef CXP_SCRAPE_H
#define CXP_SCRAPE_H

/* The value of `name`'s sample, or the sum over its labelled samples; 0 when
 * the exposition has none. */
double cxp_scrape_sum(const char *text, const char *name);

#define CXP_SCRAPE_MAX_BUCKETS 64

/* A histogram's cumulative buckets, ascending by bound, the +Inf one last.
 * Samples of several label sets are added bucket by bucket. */
typedef struct cxp_scrape_hist {
  int n;
  double le[CXP_SCRAPE_MAX_BUCKETS];
  double cum[CXP_SCRAPE_MAX_BUCKETS];
} cxp_scrape_hist;

/* The buckets of histogram `name` (its `name_bucket` samples) into h: 0, or
 * -1 when it has none, no +Inf bucket, more than CXP_SCRAPE_MAX_BUCKETS
 * bounds, or a cumulative count that goes down. */
int cxp_scrape_histogram(const char *text, const char *name, cxp_scrape_hist *h);

/* The q-quantile (0 < q < 1) of h, interpolated linearly inside the bucket
 * that holds rank q * count, from the bound below it (0 for the first) to
 * its own, as Prometheus' histogram_quantile() does: an estimate, exact
 * only to the bucket. +Inf when the rank is in the +Inf bucket (above every
 * bound: the caller says "more than the highest"); NAN without observations
 * or for q out of range. */
double cxp_scrape_quantile(const cxp_scrape_hist *h, double q);

/* One partition's lag. */
typedef struct cxp_scrape_lag {
  int partition;
  double lag;
} cxp_scrape_lag;

/* The samples of gauge `name` labelled partition="N": the `max` largest
 * into worst, largest first (a tie: the lower partition first), their sum
 * over every partition into *total. Returns how many partitions there are. */
int cxp_scrape_lags(const char *text, const char *name, cxp_scrape_lag *worst, int max,
                    double *total);

#endif
