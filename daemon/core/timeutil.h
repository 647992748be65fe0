/* Event-time parsing and formatting; pure functions, no clock reads. */
#ifndef CXP_TIMEUTIL_H
#define CXP_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#define CXP_MS_PER_HOUR 3600000LL
#define CXP_MS_PER_DAY 86400000LL

/* Parses RFC 3339 ("2026-11-23T07:00:00Z", "2026-11-23T08:00:00.5+01:00")
 * into epoch milliseconds. Returns 0, or -1 when the text is not a valid
 * RFC 3339 date-time. */
int cxp_time_parse_rfc3339(const char *s, size_t len, int64_t *out_ms);

/* The date part ("YYYY-MM-DD") of the last time parsed and its day number:
 * events mostly come in time order, so the next one mostly shares it and
 * its digits, checks and calendar arithmetic are skipped. Zeroed: empty. */
typedef struct cxp_date_memo {
  char date[10];
  int valid;
  int64_t days;
} cxp_date_memo;

/* cxp_time_parse_rfc3339 with a memo of the date (NULL: none); the same
 * result for every text. */
int cxp_time_parse_rfc3339_memo(const char *s, size_t len, cxp_date_memo *m,
                                int64_t *out_ms);

/* Writes "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 chars + NUL) into buf[25]. */
void cxp_time_format(int64_t ms, char buf[25]);

/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t cxp_days_from_civil(int64_t y, unsigned m, unsigned d);

/* floor(a / b) for b > 0, also for a negative a (C's division truncates). */
static inline int64_t cxp_floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* The start of the span of length len that time ts falls in:
 * floor(ts / len) * len, also for times before the epoch. */
static inline int64_t cxp_time_floor(int64_t ts, int64_t len) {
  return cxp_floor_div(ts, len) * len;
}

/* The span of length len a time fell in last: the next time in it costs
 * two compares, not cxp_time_floor's two 64-bit divisions (tens of cycles
 * each), and times that follow one another mostly share it. Zeroed: empty.
 * A time whose span would start below INT64_MIN (a damaged watermark) gets
 * INT64_MIN. */
typedef struct cxp_span {
  int64_t start, len;
} cxp_span;

static inline int64_t cxp_span_start(cxp_span *s, int64_t t, int64_t len) {
  if (s->len != len || t < s->start || (uint64_t)t - (uint64_t)s->start >= (uint64_t)len) {
    s->len = len;
    s->start = t < INT64_MIN + len ? INT64_MIN : cxp_time_floor(t, len);
  }
  return s->start;
}

#endif
