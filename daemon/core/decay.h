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

#define CXP_DECAY_GRID_HALF_LIVES 16.0

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

/* Fixed-point forward-decayed sums.
 *
 * Floating-point addition is not associative, so double sums of the same
 * events in another order differ in their last bits. Per-customer state is
 * instead kept as int64 sums of contributions floor(v * 2^((t - L)/h) *
 * 2^frac): integer addition is exact, so any order of the same events gives
 * bit-identical sums. Each family of sums has one half-life and its own
 * landmark on a grid of CXP_DECAY_GRID_HALF_LIVES of that half-life, so a
 * landmark move divides the family's sums by exactly 2^16 per grid step (a
 * shift; the one place where rounding can depend on order, at most once per
 * 16 half-lives of event time). Adds saturate instead of overflowing. */

/* Moves a family's landmark for an event at t. Returns how many bits the
 * family's sums must be shifted right (0 when the landmark stays). A
 * landmark of 0 means the family has seen nothing yet. */
int cxp_fp_advance(int64_t *landmark_ms, int64_t t_ms, double half_life_ms);
/* floor(v * 2^((t - L)/h) * 2^frac) for v >= 0. */
int64_t cxp_fp_weight(double v, int64_t t_ms, int64_t landmark_ms, double half_life_ms,
                      int frac);
/* a + b, saturating at INT64_MAX. Both non-negative. */
int64_t cxp_fp_add(int64_t a, int64_t b);
/* The decayed value at t of a fixed-point sum. */
double cxp_fp_read(int64_t a, int64_t t_ms, int64_t landmark_ms, double half_life_ms,
                   int frac);

#endif
