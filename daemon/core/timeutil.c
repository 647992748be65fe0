#include "timeutil.h"

#include <stdio.h>
#include <string.h>

/* Civil-date conversion by eras of 400 years (the well-known algorithm
 * described by H. Hinnant); exact for every proleptic Gregorian date. */
int64_t cxp_days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* n decimal digits at s into *out; -1 at anything else. Unsigned
 * differences: a byte under '0' wraps past 9, so one compare a digit. */
static inline int digits(const char *s, size_t n, int *out) {
  unsigned v = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned d = (unsigned)(unsigned char)s[i] - '0';
    if (d > 9) return -1;
    v = v * 10 + d;
  }
  *out = (int)v;
  return 0;
}

static int is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/* The date "YYYY-MM-DD" at s (at least 10 bytes) as days since the epoch;
 * -1 when it is not a valid date. */
static int parse_date(const char *s, int64_t *days) {
  static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int Y, M, D;
  if (digits(s, 4, &Y) || s[4] != '-' || digits(s + 5, 2, &M) || s[7] != '-' ||
      digits(s + 8, 2, &D))
    return -1;
  if (M < 1 || M > 12 || D < 1) return -1;
  if (D > mdays[M - 1] && !(M == 2 && D == 29 && is_leap(Y))) return -1;
  *days = cxp_days_from_civil(Y, (unsigned)M, (unsigned)D);
  return 0;
}

int cxp_time_parse_rfc3339_memo(const char *s, size_t len, cxp_date_memo *m,
                                int64_t *out_ms) {
  int h, mi, sec, ms = 0;
  int64_t days;
  size_t i;

  if (len < 20) return -1;
  if (m != NULL && m->valid && memcmp(s, m->date, 10) == 0) {
    days = m->days; /* the same ten bytes: the same valid date */
  } else {
    if (parse_date(s, &days)) return -1;
    if (m != NULL) {
      memcpy(m->date, s, 10);
      m->days = days;
      m->valid = 1;
    }
  }
  if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || digits(s + 11, 2, &h) ||
      s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &sec))
    return -1;
  if (h > 23 || mi > 59 || sec > 60) return -1;
  if (sec == 60) sec = 59; /* a leap second counts as the second before it */
  i = 19;
  if (i < len && s[i] == '.') {
    size_t start = ++i;
    /* Milliseconds: the first three digits count, the rest are read over. */
    static const int scale[3] = {100, 10, 1};
    for (; i < len && (unsigned)(unsigned char)s[i] - '0' <= 9; i++)
      if (i - start < 3) ms += (s[i] - '0') * scale[i - start];
    if (i == start) return -1;
  }
  if (i >= len) return -1;
  int off_min = 0;
  if (s[i] == 'Z' || s[i] == 'z') {
    i++;
  } else if (s[i] == '+' || s[i] == '-') {
    int oh, om, sign = s[i] == '-' ? -1 : 1;
    if (len - i < 6 || digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
        digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
      return -1;
    off_min = sign * (oh * 60 + om);
    i += 6;
  } else {
    return -1;
  }
  if (i != len) return -1;
  int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - off_min * 60;
  *out_ms = secs * 1000 + ms;
  return 0;
}

int cxp_time_parse_rfc3339(const char *s, size_t len, int64_t *out_ms) {
  return cxp_time_parse_rfc3339_memo(s, len, NULL, out_ms);
}

/* The date part of the last time formatted on this thread: outputs stamp
 * many records a day, and the calendar arithmetic is most of the work. */
static _Thread_local struct {
  int64_t days;
  int valid;
  char ymd[10];
} fmt_memo;

void cxp_time_format(int64_t ms, char buf[25]) {
  int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  int msr = (int)(ms - secs * 1000);
  int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  int sod = (int)(secs - days * 86400);
  if (!fmt_memo.valid || fmt_memo.days != days) {
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    /* Written digit by digit: the callers' ranges (years 0..9999) fit 24
     * characters exactly, and this is on the output hot path. */
    unsigned yy = (unsigned)(y < 0 ? 0 : y % 10000);
    char *o = fmt_memo.ymd;
    o[0] = (char)('0' + yy / 1000);
    o[1] = (char)('0' + yy / 100 % 10);
    o[2] = (char)('0' + yy / 10 % 10);
    o[3] = (char)('0' + yy % 10);
    o[4] = '-';
    o[5] = (char)('0' + m / 10);
    o[6] = (char)('0' + m % 10);
    o[7] = '-';
    o[8] = (char)('0' + d / 10);
    o[9] = (char)('0' + d % 10);
    fmt_memo.days = days;
    fmt_memo.valid = 1;
  }
  memcpy(buf, fmt_memo.ymd, 10);
  unsigned v[3] = {(unsigned)sod / 3600, (unsigned)sod / 60 % 60, (unsigned)sod % 60};
  static const char sep[] = "T::";
  for (int i = 0; i < 3; i++) {
    buf[10 + 3 * i] = sep[i];
    buf[11 + 3 * i] = (char)('0' + v[i] / 10);
    buf[12 + 3 * i] = (char)('0' + v[i] % 10);
  }
  buf[19] = '.';
  buf[20] = (char)('0' + msr / 100);
  buf[21] = (char)('0' + msr / 10 % 10);
  buf[22] = (char)('0' + msr % 10);
  buf[23] = 'Z';
  buf[24] = '\0';
}
