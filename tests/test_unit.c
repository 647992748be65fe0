/* Unit tests of the functional core, with hand-computed expectations. */
#include "test.h"

#include "decay.h"
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
}

static void test_decay(void) {
  double h = 30.0 * 86400000.0;
  /* One half-life later a weight of 1 reads 0.5; two, 0.25. */
  CHECK_NEAR(cxp_decay_read(1.0, (int64_t)h, 0, h), 0.5, 1e-12);
  CHECK_NEAR(cxp_decay_read(cxp_decay_factor(0, 0, h), (int64_t)(2 * h), 0, h), 0.25,
             1e-12);
}

int main(void) {
  test_time();
  test_decay();
  return TEST_REPORT();
}
