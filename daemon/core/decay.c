#include "decay.h"

#include <math.h>
#include <stdint.h>

double cxp_decay_factor(int64_t t_ms, int64_t landmark_ms, double half_life_ms) {
  return exp2((double)(t_ms - landmark_ms) / half_life_ms);
}

double cxp_decay_read(double a, int64_t t_ms, int64_t landmark_ms,
                      double half_life_ms) {
  return a * exp2(-(double)(t_ms - landmark_ms) / half_life_ms);
}

int64_t cxp_decay_next_landmark(int64_t landmark_ms, int64_t t_ms,
                                double min_half_life_ms) {
  int64_t step = (int64_t)(CXP_DECAY_GRID_HALF_LIVES * min_half_life_ms);
  if (step <= 0) step = 1;
  int64_t q = t_ms / step;
  if (t_ms < 0 && t_ms % step) q--;
  int64_t grid = q * step;
  return grid > landmark_ms ? grid : landmark_ms;
}

int cxp_fp_advance(int64_t *landmark_ms, int64_t t_ms, double half_life_ms) {
  int64_t nl = cxp_decay_next_landmark(*landmark_ms, t_ms, half_life_ms);
  if (*landmark_ms == 0) { /* valid event times (2000..2099) grid above 0 */
    *landmark_ms = nl;
    return 0;
  }
  if (nl == *landmark_ms) return 0;
  /* The grid step is CXP_DECAY_GRID_HALF_LIVES half-lives: each step halves
   * the sums that many times. */
  double steps = (double)(nl - *landmark_ms) / (CXP_DECAY_GRID_HALF_LIVES * half_life_ms);
  *landmark_ms = nl;
  double bits = floor(steps + 0.5) * CXP_DECAY_GRID_HALF_LIVES;
  return bits > 63 ? 64 : (int)bits;
}

int64_t cxp_fp_weight(double v, int64_t t_ms, int64_t landmark_ms, double half_life_ms,
                      int frac) {
  double x = ldexp(v * exp2((double)(t_ms - landmark_ms) / half_life_ms), frac);
  if (!(x >= 0)) return 0;
  if (x >= 9.2e18) return INT64_MAX;
  return (int64_t)x; /* truncation is floor for x >= 0 */
}

int64_t cxp_fp_add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return INT64_MAX;
  return r;
}

double cxp_fp_read(int64_t a, int64_t t_ms, int64_t landmark_ms, double half_life_ms,
                   int frac) {
  return ldexp((double)a, -frac) * exp2(-(double)(t_ms - landmark_ms) / half_life_ms);
}
