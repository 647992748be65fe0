/* Forward-decayed aggregates (Cormode, Shkapenyuk, Srivastava, Xu 2009).
 *
 * An event at time t_i with weight w adds w * 2^((t_i - L)/h) to a stored
 * sum A, where L is a landmark. Read at time t, S(t) = A * 2^(-(t - L)/h):
 * the exponentially decayed sum with half-life h. Adding is commutative, so
 * events out of order or replayed give the same state. The landmark is the
 * largest event time seen rounded down to a grid of
 * CXP_DECAY_GRID_HALF_LIVES shortest half-lives, so that where it sits
 * depends on the events seen and not on their order, and no factor exceeds
 * 2^CXP_DECAY_GRID_HALF_LIVES. */
#ifndef CXP_DECAY_H
#define CXP_DECAY_H

#include <stdint.h>

#define CXP_DECAY_GRID_HALF_LIVES 32.0

/* The weight factor 2^((t - landmark)/h). */
double cxp_decay_factor(int64_t t_ms, int64_t landmark_ms, double half_life_ms);

/* The decayed value at t of a stored sum a: a * 2^(-(t - landmark)/h). */
double cxp_decay_read(double a, int64_t t_ms, int64_t landmark_ms,
                      double half_life_ms);

/* The landmark a set of sums should use once an event at t_ms is seen, given
 * the current landmark and the shortest half-life among them; returns the
 * current landmark when no move is needed. When it returns a larger one, the
 * caller multiplies every stored sum by 2^(-(new - old)/h). */
int64_t cxp_decay_next_landmark(int64_t landmark_ms, int64_t t_ms,
                                double min_half_life_ms);

#endif
