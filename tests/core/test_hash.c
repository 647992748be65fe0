/* Unit tests of hashing: ids and 64-bit hashes (daemon/core/hash.c) and
 * SHA-256 (daemon/core/sha256.c), against hand-spelled references and
 * published test vectors. */
#include "helpers.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "sha256.h"

static void test_hash(void) {
  cxp_idbuf x, y;
  const char *f1[2] = {"ab", "c"}, *f2[2] = {"a", "bc"};
  const size_t l1[2] = {2, 1}, l2[2] = {1, 2};
  cxp_make_id(&x, f1, l1, 2);
  cxp_make_id(&y, f2, l2, 2);
  CHECK_STR_NE(x.hex, y.hex);
  CHECK_INT(strlen(x.hex), 32);
  CHECK_INT(strspn(x.hex, "0123456789abcdef"), 32);
  /* The same fields give the same id. */
  cxp_make_id(&y, f1, l1, 2);
  CHECK_STR(x.hex, y.hex);
  /* ("abc") and ("ab","c") differ: the field count is part of the id. */
  const char *f3[1] = {"abc"};
  const size_t l3[1] = {3};
  cxp_make_id(&y, f3, l3, 1);
  CHECK_STR_NE(x.hex, y.hex);
  /* An empty field is not the same as no field, nor as a moved one. */
  const char *f4[2] = {"", "x"}, *f5[2] = {"x", ""};
  const size_t l4[2] = {0, 1}, l5[2] = {1, 0};
  cxp_make_id(&x, f4, l4, 2);
  cxp_make_id(&y, f5, l5, 2);
  CHECK_STR_NE(x.hex, y.hex);
  /* The seed changes the hash; only the given bytes count. */
  CHECK_NE(cxp_hash64("abc", 3, 1), cxp_hash64("abc", 3, 2));
  CHECK_EQ(cxp_hash64("abcd", 3, 1), cxp_hash64("abcX", 3, 1));
  CHECK_NE(cxp_hash64("abcdefgh1", 9, 1), cxp_hash64("abcdefgh2", 9, 1));
  /* The tail of fewer than 8 bytes is read as a little-endian word, however
   * the code loads it: alert ids and repartition keys written by earlier
   * versions depend on it. The reference here spells the word out byte by
   * byte. */
  const unsigned char txt[] = "c0123456789abcdef\xff\x80";
  for (size_t len = 0; len <= sizeof txt - 1; len++) {
    uint64_t h = 7 ^ (len * 0x9e3779b97f4a7c15ULL);
    size_t i = 0;
    for (; len - i >= 8; i += 8) {
      uint64_t w = 0;
      for (int b = 0; b < 8; b++) w |= (uint64_t)txt[i + b] << (8 * b);
      h = cxp_hash_mix(h ^ w) + 0x9e3779b97f4a7c15ULL;
    }
    uint64_t w = 0;
    for (size_t b = 0; i + b < len; b++) w |= (uint64_t)txt[i + b] << (8 * b);
    h = cxp_hash_mix(h ^ w ^ ((uint64_t)(len - i) << 56));
    CHECK_EQ(cxp_hash64(txt, len, 7), h);
  }
}

static void test_sha256(void) {
  /* FIPS 180-4's examples (the empty string, "abc", the two-block
   * 448-bit message) and a million 'a', whose padding falls in a block of
   * its own. */
  static const struct { const char *in; size_t n; const char *hex; } t[] = {
      {"", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
  };
  char hex[65];
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    cxp_sha256_hex(t[i].in, t[i].n, hex);
    CHECK_STR(hex, t[i].hex);
  }
  char *a = malloc(1000000);
  memset(a, 'a', 1000000);
  cxp_sha256_hex(a, 1000000, hex);
  CHECK_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  /* 55 and 56 bytes: the length fits after the 0x80 in one block, and
   * just no longer does (sha256sum of 55 and 56 'a'). */
  cxp_sha256_hex(a, 55, hex);
  CHECK_STR(hex, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  cxp_sha256_hex(a, 56, hex);
  CHECK_STR(hex, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  free(a);
}

int main(void) {
  test_hash();
  test_sha256();
  return TEST_REPORT();
}
