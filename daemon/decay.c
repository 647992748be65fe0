#include "decay.h"

#include <math.h>

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
