/* Eight bytes at a time: the bytes of a word that a JSON string cannot hold
 * as they are, found without a loop over them. Used where strings are
 * scanned on the per-event path (the decoder's fast path, the writer's
 * escaping). Little-endian only: the first flagged byte of a word is its
 * lowest (CXP_SWAR is 0 elsewhere, and the callers keep a byte loop).
 * cxp_same_bytes, an equality, holds in any byte order. */
#ifndef CXP_SWAR_H
#define CXP_SWAR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define CXP_SWAR 1
#else
#define CXP_SWAR 0
#endif

#define CXP_SWAR_ONES 0x0101010101010101ULL
#define CXP_SWAR_HIGHS 0x8080808080808080ULL

/* The high bit of every byte of w that is zero (exact for the lowest such
 * byte; a borrow can flag a byte only above a true one). */
static inline uint64_t cxp_swar_zero(uint64_t w) {
  return (w - CXP_SWAR_ONES) & ~w & CXP_SWAR_HIGHS;
}

/* The high bit of every byte that is a quote, a backslash or a control byte
 * (under 0x20): the lowest flagged byte is exact. Bytes past 0x7F are not
 * flagged. */
static inline uint64_t cxp_swar_special(uint64_t w) {
  return cxp_swar_zero(w ^ (0x22 * CXP_SWAR_ONES)) | cxp_swar_zero(w ^ (0x5c * CXP_SWAR_ONES)) |
         ((w - 0x20 * CXP_SWAR_ONES) & ~w & CXP_SWAR_HIGHS);
}

static inline uint64_t cxp_swar_load(const void *p) {
  uint64_t w;
  memcpy(&w, p, 8);
  return w;
}

/* Whether n bytes at a and b are equal: whole words, the last one
 * overlapping the one before it, never past n (any byte order: only
 * equality is asked). For the short strings compared on the per-event path
 * (group values in a window lookup, event type names), where memcmp is a
 * call (3.1 million of them in bench_core's 800,000 events at 50/s). */
static inline int cxp_same_bytes(const char *a, const char *b, size_t n) {
  if (n >= 8) {
    for (size_t i = 0; i + 8 < n; i += 8)
      if (cxp_swar_load(a + i) != cxp_swar_load(b + i)) return 0;
    return cxp_swar_load(a + n - 8) == cxp_swar_load(b + n - 8);
  }
  if (n >= 4) {
    uint32_t x[2], y[2];
    memcpy(&x[0], a, 4), memcpy(&x[1], a + n - 4, 4);
    memcpy(&y[0], b, 4), memcpy(&y[1], b + n - 4, 4);
    return x[0] == y[0] && x[1] == y[1];
  }
  for (size_t i = 0; i < n; i++)
    if (a[i] != b[i]) return 0;
  return 1;
}

/* The index (0..7) of the byte a nonzero mask flags first. */
static inline int cxp_swar_first(uint64_t mask) { return __builtin_ctzll(mask) >> 3; }

#endif
