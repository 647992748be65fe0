/* Unit tests of RFC 3339 times and civil dates (daemon/core/timeutil.c),
 * among them the derivation of helpers.h's reference instant T0 =
 * 2026-11-23T07:00:00Z = 1795417200000 ms.
 *
 * Every expected value was worked out by hand (the arithmetic is in the
 * comment beside it), never taken from the code's own output. */
#include "helpers.h"

#include <stdint.h>
#include <string.h>

#include "timeutil.h"

static void test_time(void) {
  int64_t ms;
  /* 2026-11-23 is day 20780 since 1970-01-01: 20780 * 86400000 = 1795392000000,
   * plus 7 h = 25200000. */
  CHECK_INT(cxp_time_parse_rfc3339("2026-11-23T07:00:00Z", 20, &ms), 0);
  CHECK_INT(ms, 1795417200000LL);
  CHECK_INT(cxp_time_parse_rfc3339("2026-11-23T08:00:00.5+01:00", 27, &ms), 0);
  CHECK_INT(ms, 1795417200500LL);
  CHECK_INT(cxp_time_parse_rfc3339("2026-02-30T08:00:00Z", 20, &ms), -1);
  CHECK_INT(cxp_time_parse_rfc3339("2026-11-23 08:00", 16, &ms), -1);
  char buf[25];
  cxp_time_format(1795417200500LL, buf);
  CHECK_STR(buf, "2026-11-23T07:00:00.500Z");
  cxp_time_format(951782400000LL, buf); /* 2000-02-29, a leap day */
  CHECK_STR(buf, "2000-02-29T00:00:00.000Z");

  /* 02:30 at -04:30 is 07:00Z. */
  CHECK_INT(cxp_time_parse_rfc3339("2026-11-23T02:30:00-04:30", 25, &ms), 0);
  CHECK_INT(ms, T0);
  /* Missing offset, and an offset without its colon. */
  CHECK_INT(cxp_time_parse_rfc3339("2026-11-23T07:00:00", 19, &ms), -1);
  CHECK_INT(cxp_time_parse_rfc3339("2026-11-23T07:00:00+0100", 24, &ms), -1);
  /* 2000-01-01: 30 years, 7 leap days (72..96): 10957 days * 86400000. */
  CHECK_INT(cxp_time_parse_rfc3339("2000-01-01T00:00:00Z", 20, &ms), 0);
  CHECK_INT(ms, 946684800000LL);
  CHECK_INT(cxp_days_from_civil(1970, 1, 1), 0);
  CHECK_INT(cxp_days_from_civil(2026, 11, 23), 20780);

  /* Leap days: 2024 and 2000 have one, 2023 and 2100 do not. 2024-02-29 is
   * day 19782 (2024-01-01 is 19723, plus 31 + 28). */
  CHECK_INT(cxp_time_parse_rfc3339("2024-02-29T00:00:00Z", 20, &ms), 0);
  CHECK_INT(ms, 19782LL * 86400000);
  CHECK_INT(cxp_time_parse_rfc3339("2000-02-29T00:00:00Z", 20, &ms), 0);
  CHECK_INT(ms, 951782400000LL);
  CHECK_INT(cxp_time_parse_rfc3339("2023-02-29T00:00:00Z", 20, &ms), -1);
  CHECK_INT(cxp_time_parse_rfc3339("2100-02-29T00:00:00Z", 20, &ms), -1);
  CHECK_INT(cxp_time_parse_rfc3339("2026-04-31T00:00:00Z", 20, &ms), -1);
  /* Fractions: the first three digits are the milliseconds, the rest are
   * read over; a point with no digit is not a time. */
  CHECK_INT(cxp_time_parse_rfc3339("2026-11-23T07:00:00.1239Z", 25, &ms), 0);
  CHECK_INT(ms, T0 + 123);
  CHECK_INT(cxp_time_parse_rfc3339("2026-11-23T07:00:00.05Z", 23, &ms), 0);
  CHECK_INT(ms, T0 + 50);
  CHECK_INT(cxp_time_parse_rfc3339("2026-11-23T07:00:00.Z", 21, &ms), -1);
  /* A byte just under '0' or just over '9' where a digit belongs. */
  CHECK_INT(cxp_time_parse_rfc3339("2026-11-23T07:00:0/Z", 20, &ms), -1);
  CHECK_INT(cxp_time_parse_rfc3339("2026-1:-23T07:00:00Z", 20, &ms), -1);
  CHECK_INT(cxp_time_parse_rfc3339("2026-13-23T07:00:00Z", 20, &ms), -1);
}

/* The date memo: a date read before is taken from it, and only a valid
 * date goes in, so the same text gives the same result with or without it. */
static void test_date_memo(void) {
  cxp_date_memo m;
  memset(&m, 0, sizeof m);
  int64_t ms;
  CHECK_INT(cxp_time_parse_rfc3339_memo("2026-11-23T07:00:00Z", 20, &m, &ms), 0);
  CHECK_INT(ms, T0);
  CHECK_INT(m.valid, 1);
  CHECK_INT(m.days, 20780);
  /* The same date, another time: T0 + 1 h 2 min 3.4 s = T0 + 3723400. */
  CHECK_INT(cxp_time_parse_rfc3339_memo("2026-11-23T08:02:03.4Z", 22, &m, &ms), 0);
  CHECK_INT(ms, T0 + 3723400);
  /* The memo's date with a time that is not one: still refused. */
  CHECK_INT(cxp_time_parse_rfc3339_memo("2026-11-23X07:00:00Z", 20, &m, &ms), -1);
  CHECK_INT(cxp_time_parse_rfc3339_memo("2026-11-23T24:00:00Z", 20, &m, &ms), -1);
  CHECK_INT(cxp_time_parse_rfc3339_memo("2026-11-23T07:00:00", 19, &m, &ms), -1);
  /* An invalid date is refused and not kept: refused again. */
  CHECK_INT(cxp_time_parse_rfc3339_memo("2026-02-30T00:00:00Z", 20, &m, &ms), -1);
  CHECK_INT(cxp_time_parse_rfc3339_memo("2026-02-30T00:00:00Z", 20, &m, &ms), -1);
  CHECK_INT(m.days, 20780);
  /* The next day replaces it: 2026-11-24 is day 20781. */
  CHECK_INT(cxp_time_parse_rfc3339_memo("2026-11-24T00:00:00+01:00", 25, &m, &ms), 0);
  CHECK_INT(ms, 20781LL * 86400000 - 3600000);
  CHECK_INT(m.days, 20781);
  CHECK_INT(cxp_time_parse_rfc3339_memo("2026-11-24T00:00:00Z", 20, &m, &ms), 0);
  CHECK_INT(ms, 20781LL * 86400000);

  /* Formatting keeps the last date written: days in turn, each its own. */
  char buf[25];
  cxp_time_format(T0, buf);
  CHECK_STR(buf, "2026-11-23T07:00:00.000Z");
  cxp_time_format(T0 + 86400000 + 1, buf);
  CHECK_STR(buf, "2026-11-24T07:00:00.001Z");
  cxp_time_format(T0 - 1, buf);
  CHECK_STR(buf, "2026-11-23T06:59:59.999Z");
  cxp_time_format(-1, buf);
  CHECK_STR(buf, "1969-12-31T23:59:59.999Z");
  cxp_time_format(0, buf);
  CHECK_STR(buf, "1970-01-01T00:00:00.000Z");
  cxp_time_format(T0 + 17 * 60000, buf);
  CHECK_STR(buf, "2026-11-23T07:17:00.000Z");
}

/* The span kept between times (cxp_span_start): the same answers as
 * cxp_time_floor, from one span to the next, before the epoch, for another
 * length, and INT64_MIN for a time whose span would start below it. */
static void test_span(void) {
  cxp_span s;
  memset(&s, 0, sizeof s);
  CHECK_INT(cxp_span_start(&s, 59999, 60000), 0);
  memset(&s, 0, sizeof s);
  CHECK_INT(cxp_span_start(&s, 60000, 60000),
            60000); /* zeroed: no span yet, not [0, ...) */
  CHECK_INT(cxp_span_start(&s, T0 + 59999, 60000), T0); /* T0 starts a minute */
  CHECK_INT(cxp_span_start(&s, T0, 60000), T0);
  CHECK_INT(cxp_span_start(&s, T0 + 60000, 60000), T0 + 60000);
  CHECK_INT(cxp_span_start(&s, T0 - 1, 60000), T0 - 60000);
  CHECK_INT(cxp_span_start(&s, -1, 60000), -60000);
  CHECK_INT(cxp_span_start(&s, 0, 60000), 0);
  CHECK_INT(cxp_span_start(&s, 59999, 3600000), 0);
  CHECK_INT(cxp_span_start(&s, 3600000, 3600000), 3600000);
  CHECK_INT(cxp_span_start(&s, INT64_MIN + 5, 60000), INT64_MIN);
  CHECK_INT(cxp_span_start(&s, INT64_MIN + 59999, 60000), INT64_MIN);
  CHECK_INT(cxp_span_start(&s, INT64_MAX, 60000), INT64_MAX - INT64_MAX % 60000);
}

int main(void) {
  test_time();
  test_span();
  test_date_memo();
  return TEST_REPORT();
}
