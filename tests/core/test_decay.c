/* Unit tests of forward-decayed sums (daemon/core/decay.c): the weights,
 * the landmark grid, and sums kept across a landmark's move in any order.
 *
 * Every expected value was worked out by hand (the arithmetic is in the
 * comment beside it), never taken from the code's own output. */
#include "helpers.h"

#include <stdint.h>

#include "decay.h"

#define HL30 (30.0 * 86400000.0) /* 30 days = 2592000000 ms */

/* A forward-decayed sum kept the way decay.h prescribes: the landmark moves
 * to cxp_decay_next_landmark and the stored sum is rescaled when it does. */
typedef struct fsum {
  double a;
  int64_t landmark;
} fsum;

static void fsum_add(fsum *s, int64_t t, double w, double h) {
  int64_t nl = cxp_decay_next_landmark(s->landmark, t, h);
  if (nl != s->landmark) {
    s->a *= cxp_decay_read(1.0, nl, s->landmark, h);
    s->landmark = nl;
  }
  s->a += w * cxp_decay_factor(t, s->landmark, h);
}

static void test_decay(void) {
  double h = HL30;
  /* One half-life later a weight of 1 reads 0.5; two, 0.25. */
  CHECK_NEAR(cxp_decay_read(1.0, (int64_t)h, 0, h), 0.5, 1e-12);
  CHECK_NEAR(cxp_decay_read(cxp_decay_factor(0, 0, h), (int64_t)(2 * h), 0, h), 0.25,
             1e-12);

  /* The factor 2^((t - L)/h) at 0, 1, 2 half-lives past L, and 1 before. */
  int64_t L = 1741824000000LL, hl = 2592000000LL;
  CHECK_NEAR(cxp_decay_factor(L, L, h), 1.0, 0);
  CHECK_NEAR(cxp_decay_factor(L + hl, L, h), 2.0, 1e-12);
  CHECK_NEAR(cxp_decay_factor(L + 2 * hl, L, h), 4.0, 1e-12);
  CHECK_NEAR(cxp_decay_factor(L - hl, L, h), 0.5, 1e-12);
  /* read(a) = a * 2^-((t - L)/h): 8 at 0, 1, 2, 3 half-lives reads 8, 4, 2, 1. */
  CHECK_NEAR(cxp_decay_read(8.0, L, L, h), 8.0, 0);
  CHECK_NEAR(cxp_decay_read(8.0, L + hl, L, h), 4.0, 1e-12);
  CHECK_NEAR(cxp_decay_read(8.0, L + 2 * hl, L, h), 2.0, 1e-12);
  CHECK_NEAR(cxp_decay_read(8.0, L + 3 * hl, L, h), 1.0, 1e-12);
  /* An event weighted at its own time and read one half-life later: 3 * 0.5. */
  CHECK_NEAR(cxp_decay_read(3.0 * cxp_decay_factor(T0, L, h), T0 + hl, L, h), 1.5, 1e-12);
}

static void test_decay_landmark(void) {
  double h = HL30;
  /* The grid step is 16 half-lives: 16 * 2592000000 = 41472000000 ms (480 d).
   * T0 / step = 1795417200000 / 41472000000 = 43.29 -> 43 * step = 1783296000000. */
  const int64_t step = 41472000000LL, g21 = 43 * step, g22 = 44 * step;
  CHECK_INT(g21, 1783296000000LL);
  CHECK_INT(cxp_decay_next_landmark(0, T0, h), g21);
  /* Already on the right grid line: no move. */
  CHECK_INT(cxp_decay_next_landmark(g21, T0, h), g21);
  /* Exactly on a grid line, and one millisecond before it. */
  CHECK_INT(cxp_decay_next_landmark(g21, g22, h), g22);
  CHECK_INT(cxp_decay_next_landmark(g21, g22 - 1, h), g21);
  /* An older event never moves the landmark back. */
  CHECK_INT(cxp_decay_next_landmark(g22, T0, h), g22);
  /* The landmark depends on the grid, not on the event: two times in the same
   * cell give the same landmark. T0 and T0 + 300 d = 1821337200000 < g22 =
   * 1824768000000. */
  CHECK_INT(cxp_decay_next_landmark(0, T0 + 300 * D_MS, h), g21);
  /* Negative times round down (floor, not truncation): -1 -> -step. */
  CHECK_INT(cxp_decay_next_landmark(-1000000000000LL, -1, h), -step);
  /* A half-life so short that the step truncates to 0 uses a step of 1 ms. */
  CHECK_INT(cxp_decay_next_landmark(0, 12345, 0.01), 12345);

  /* Order independence with rescale. Weights 1 at T0, 2 at T0 + h, 4 at
   * T0 + 33h; read at T0 + 33h:
   *   4 + 2 * 2^-32 + 1 * 2^-33 = 4 + 5 * 2^-33 = 4.000000000582077.
   * T0 + 33h = 1880953200000 lies past g23 = 45 * step = 1866240000000, so any
   * order that sees T0 first must rescale; every order ends on landmark g23. */
  const int64_t hl = 2592000000LL;
  const int64_t ts[3] = {T0, T0 + hl, T0 + 33 * hl};
  const double w[3] = {1, 2, 4};
  const int perm[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
  for (int p = 0; p < 6; p++) {
    fsum s = {0, 0};
    for (int i = 0; i < 3; i++) fsum_add(&s, ts[perm[p][i]], w[perm[p][i]], h);
    CHECK_INT(s.landmark, 45 * step);
    CHECK_NEAR(cxp_decay_read(s.a, T0 + 33 * hl, s.landmark, h), 4.0 + 5.0 / 8589934592.0,
               1e-12);
  }
}

int main(void) {
  test_decay();
  test_decay_landmark();
  return TEST_REPORT();
}
