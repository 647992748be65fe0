/* A seeded generator of synthetic customer traffic for a subscription
 * service business; the scenario is documented in docs/scenario.md. Used by
 * the demo, the tests and the benchmarks. Deterministic: the same seed and
 * options give the same events, byte for byte. No clock reads. */
#ifndef CXP_GEN_H
#define CXP_GEN_H

#include <stddef.h>
#include <stdint.h>

typedef struct cxp_gen cxp_gen;

typedef struct cxp_gen_opts {
  uint64_t seed;
  uint32_t customers;      /* population size */
  int64_t start_ms;        /* event time of the first event */
  double events_per_sec;   /* event-time rate: average spacing between events */
  double bad_ratio;        /* share of malformed events, 0..1 */
} cxp_gen_opts;

void cxp_gen_opts_default(cxp_gen_opts *o);
cxp_gen *cxp_gen_create(const cxp_gen_opts *o);
void cxp_gen_destroy(cxp_gen *g);

/* Writes the next event (one JSON object, no newline) into buf and its key
 * (the customer id; may be empty for a malformed event) into key. Returns the
 * event's length, or the length it needs when cap is too small (nothing is
 * written then; call again with more room). */
size_t cxp_gen_next(cxp_gen *g, char *buf, size_t cap, char *key, size_t key_cap,
                    size_t *key_len);

/* Event time of the last event generated. */
int64_t cxp_gen_time(const cxp_gen *g);

#endif
