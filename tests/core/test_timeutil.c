/* Unit tests of RFC 3339 times and civil dates (daemon/core/timeutil.c),
 * among them the derivation of helpers.h's reference instant T0 =
 * 2026-11-23T07:00:00Z = 1795417200000 ms.
 *
 * Every expected value was worked out by hand (the arithmetic is in the
 * comment beside it), never taken from the code's own output. */
#include "helpers.h"

#include <stdint.h>

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

int main(void) {
  test_time();
  return TEST_REPORT();
}
