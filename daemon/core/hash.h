/* Non-cryptographic 64-bit hashing for tables, duplicate detection and
 * deterministic ids. */
#ifndef CXP_HASH_H
#define CXP_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t cxp_hash64(const void *data, size_t len, uint64_t seed);
/* The 64-bit finaliser cxp_hash64 mixes each word with (the usual odd
 * splitmix64 / murmur3 constants): for callers that run several independent
 * lanes of it. Inline: it is on the per-event path. */
static inline uint64_t cxp_hash_mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

/* A 128-bit id as 32 lowercase hex digits plus NUL, over a list of fields
 * separated so that ("ab","c") and ("a","bc") differ. */
typedef struct cxp_idbuf {
  char hex[33];
} cxp_idbuf;
void cxp_make_id(cxp_idbuf *out, const char *const *fields, const size_t *lens,
                 int n);

#endif
