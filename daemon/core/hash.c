#include "hash.h"

#include <string.h>

/* A multiply-xorshift hash over 8-byte words (cxp_hash_mix per word). */
uint64_t cxp_hash64(const void *data, size_t len, uint64_t seed) {
  const unsigned char *p = data;
  uint64_t h = seed ^ (len * 0x9e3779b97f4a7c15ULL);
  while (len >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    h = cxp_hash_mix(h ^ w) + 0x9e3779b97f4a7c15ULL;
    p += 8;
    len -= 8;
  }
  uint64_t w = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  /* The tail as memcpy(&w, p, len) lays it out, in at most three fixed-size
   * loads: a memcpy of variable length is a call, and ids are short. */
  unsigned shift = 0;
  if (len & 4) {
    uint32_t x;
    memcpy(&x, p, 4);
    w = x;
    p += 4;
    shift = 32;
  }
  if (len & 2) {
    uint16_t x;
    memcpy(&x, p, 2);
    w |= (uint64_t)x << shift;
    p += 2;
    shift += 16;
  }
  if (len & 1) w |= (uint64_t)*p << shift;
#else
  memcpy(&w, p, len);
#endif
  h = cxp_hash_mix(h ^ w ^ ((uint64_t)len << 56));
  return h;
}

void cxp_make_id(cxp_idbuf *out, const char *const *fields, const size_t *lens,
                 int n) {
  uint64_t a = 0x6378702d69643161ULL, b = 0x6378702d69643262ULL;
  for (int i = 0; i < n; i++) {
    a = cxp_hash64(fields[i], lens[i], a) + (uint64_t)i;
    b = cxp_hash64(fields[i], lens[i], b ^ 0x5bd1e995ULL) + (uint64_t)i;
  }
  static const char hx[] = "0123456789abcdef";
  for (int i = 0; i < 16; i++) {
    out->hex[i] = hx[(a >> (60 - 4 * i)) & 15];
    out->hex[16 + i] = hx[(b >> (60 - 4 * i)) & 15];
  }
  out->hex[32] = '\0';
}
