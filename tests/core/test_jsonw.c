/* Unit tests of the byte buffer and the JSON writer (daemon/core/jsonw.c):
 * escapes, UTF-8 validity, base64, and what fits an escaping budget.
 *
 * Every expected value was worked out by hand (the arithmetic is in the
 * comment beside it), never taken from the code's own output. */
#include "helpers.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "jsonw.h"

static void jw_string(cxp_buf *b, const char *s, size_t n) {
  cxp_jw w;
  cxp_buf_reset(b);
  cxp_jw_init(&w, b);
  cxp_jw_str(&w, NULL, s, n);
}

static void jw_b64(cxp_buf *b, const char *s) {
  cxp_buf_reset(b);
  cxp_base64(b, s, strlen(s));
}

static void test_jsonw(void) {
  cxp_buf b;
  cxp_buf_init(&b);

  /* Quotes, backslash, the short escapes, and other control characters as \u00XX. */
  jw_string(&b, "a\"b\\c\n\r\t\b\f", 10);
  CHECK_STR(b.p, "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\"");
  jw_string(&b, "\x01x\x1f", 3);
  CHECK_STR(b.p, "\"\\u0001x\\u001f\"");
  /* A NUL inside a string is escaped, not a terminator. */
  jw_string(&b, "a\0b", 3);
  CHECK_STR(b.p, "\"a\\u0000b\"");
  /* DEL (0x7f) and '/' need no escape. */
  jw_string(&b, "\x7f/", 2);
  CHECK_STR(b.p, "\"\x7f/\"");
  /* Well-formed UTF-8 passes through: e-acute (c3 a9) and euro (e2 82 ac). */
  jw_string(&b, "\xc3\xa9\xe2\x82\xac", 5);
  CHECK_STR(b.p, "\"\xc3\xa9\xe2\x82\xac\"");
  /* Each byte of an ill-formed sequence becomes U+FFFD. */
  jw_string(&b, "a\xff" "b", 3);
  CHECK_STR(b.p, "\"a\\ufffdb\"");
  jw_string(&b, "\xc3", 1); /* truncated 2-byte sequence */
  CHECK_STR(b.p, "\"\\ufffd\"");
  jw_string(&b, "\xe2\x82", 2); /* truncated 3-byte: lead, then a lone continuation */
  CHECK_STR(b.p, "\"\\ufffd\\ufffd\"");
  jw_string(&b, "\xc0\xaf", 2); /* overlong '/' */
  CHECK_STR(b.p, "\"\\ufffd\\ufffd\"");
  jw_string(&b, "\xed\xa0\x80z", 4); /* surrogate U+D800 */
  CHECK_STR(b.p, "\"\\ufffd\\ufffd\\ufffdz\"");

  /* An object with every kind of member. 3.0 is integral -> "3"; 0.5 -> "0.5";
   * NaN -> null. */
  cxp_jw w;
  cxp_buf_reset(&b);
  cxp_jw_init(&w, &b);
  cxp_jw_obj(&w, NULL);
  cxp_jw_int(&w, "a", -7);
  cxp_jw_arr(&w, "b");
  cxp_jw_bool(&w, NULL, 1);
  cxp_jw_null(&w, NULL);
  cxp_jw_num(&w, NULL, 3.0);
  cxp_jw_end(&w);
  cxp_jw_cstr(&w, "c", "x\"y");
  cxp_jw_cstr(&w, "d", NULL);
  cxp_jw_num(&w, "e", 0.5);
  cxp_jw_num(&w, "f", NAN);
  cxp_jw_raw(&w, "g", "[1,2]");
  cxp_jw_time(&w, "t", T0 + 500);
  cxp_jw_obj(&w, "o");
  cxp_jw_end(&w);
  cxp_jw_end(&w);
  CHECK_STR(b.p, "{\"a\":-7,\"b\":[true,null,3],\"c\":\"x\\\"y\",\"d\":null,\"e\":0.5,"
                 "\"f\":null,\"g\":[1,2],\"t\":\"2026-11-23T07:00:00.500Z\",\"o\":{}}");

  /* base64 (RFC 4648 section 10 test vectors). "f" = 0x66 = 011001|10 0000 ->
   * Z g = =; "fo" = 66 6f -> 011001 100110 111100 -> Z m 8 =; "foo" -> Zm9v. */
  jw_b64(&b, "");
  CHECK_INT(b.len, 0);
  CHECK_STR(b.p, "");
  jw_b64(&b, "f");
  CHECK_STR(b.p, "Zg==");
  jw_b64(&b, "fo");
  CHECK_STR(b.p, "Zm8=");
  jw_b64(&b, "foo");
  CHECK_STR(b.p, "Zm9v");
  jw_b64(&b, "foob");
  CHECK_STR(b.p, "Zm9vYg==");
  jw_b64(&b, "fooba");
  CHECK_STR(b.p, "Zm9vYmE=");
  jw_b64(&b, "foobar");
  CHECK_STR(b.p, "Zm9vYmFy");
  /* Appends: after "x", base64 of "\xff\xff\xff" = 111111 x4 = "////". */
  cxp_buf_reset(&b);
  cxp_buf_putc(&b, 'x');
  cxp_base64(&b, "\xff\xff\xff", 3);
  CHECK_STR(b.p, "x////");

  /* cxp_buf_printf past the first 1024-byte block takes its second path. */
  char big[3001];
  memset(big, 'q', 3000);
  big[3000] = '\0';
  cxp_buf_reset(&b);
  cxp_buf_printf(&b, "<%s>", big);
  CHECK_INT(b.len, 3002);
  CHECK_INT(b.p[0], '<');
  CHECK_INT(b.p[3001], '>');
  CHECK_INT(b.p[3002], '\0');

  cxp_buf_free(&b);
  CHECK(b.p == NULL);
}

static void test_utf8(void) {
  static const struct {
    const char *s;
    size_t n;
    int valid;
  } t[] = {
      {"", 0, 1},
      {"abc", 3, 1},
      {"\xc3\xa9", 2, 1},             /* U+00E9 */
      {"\xe2\x82\xac", 3, 1},         /* U+20AC */
      {"\xf0\x9f\x98\x80", 4, 1},     /* U+1F600 */
      {"\xf4\x8f\xbf\xbf", 4, 1},     /* U+10FFFF, the last code point */
      {"\xed\x9f\xbf", 3, 1},         /* U+D7FF, just below the surrogates */
      {"\xee\x80\x80", 3, 1},         /* U+E000, just above them */
      {"\xf4\x90\x80\x80", 4, 0},     /* U+110000: past the end */
      {"\xc0\xaf", 2, 0},             /* overlong '/' (2 bytes) */
      {"\xc1\xbf", 2, 0},             /* overlong U+007F */
      {"\xe0\x80\xaf", 3, 0},         /* overlong '/' (3 bytes) */
      {"\xe0\x9f\xbf", 3, 0},         /* overlong U+07FF */
      {"\xf0\x80\x80\xaf", 4, 0},     /* overlong '/' (4 bytes) */
      {"\xf0\x8f\xbf\xbf", 4, 0},     /* overlong U+FFFF */
      {"\xed\xa0\x80", 3, 0},         /* U+D800, high surrogate */
      {"\xed\xbf\xbf", 3, 0},         /* U+DFFF, low surrogate */
      {"\xc3", 1, 0},                 /* truncated */
      {"\xe2\x82", 2, 0},             /* truncated */
      {"\xf0\x9f\x98", 3, 0},         /* truncated */
      {"ab\xe2\x82", 4, 0},           /* truncated at the end of a longer text */
      {"\x80", 1, 0},                 /* lone continuation byte */
      {"\xc3\x28", 2, 0},             /* lead byte, then no continuation */
      {"\xf5\x80\x80\x80", 4, 0},     /* lead byte past F4 */
      {"\xff", 1, 0},
      {"a\0b", 3, 1},                 /* NUL is a valid code point */
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    char ctx[32];
    snprintf(ctx, sizeof ctx, "utf8 row %zu", i);
    test_ctx = ctx;
    CHECK_INT(cxp_utf8_valid(t[i].s, t[i].n), t[i].valid);
  }
  test_ctx = NULL;
}

static void test_json_fit(void) {
  /* Escaped sizes: 'a' 1, '"' 2 (\"), 0x01 6 (\u0001), "é" 2 (as is). */
  const char *s = "a\"\x01\xc3\xa9z";
  size_t n = strlen(s);
  CHECK_INT(cxp_json_fit(s, n, 0), 0);
  CHECK_INT(cxp_json_fit(s, n, 1), 1);  /* a */
  CHECK_INT(cxp_json_fit(s, n, 2), 1);  /* a, not half of \" */
  CHECK_INT(cxp_json_fit(s, n, 3), 2);  /* a \" */
  CHECK_INT(cxp_json_fit(s, n, 8), 2);  /* \u0001 needs 6: 3+6 = 9 */
  CHECK_INT(cxp_json_fit(s, n, 9), 3);
  CHECK_INT(cxp_json_fit(s, n, 10), 3); /* é is two bytes, not split */
  CHECK_INT(cxp_json_fit(s, n, 11), 5);
  CHECK_INT(cxp_json_fit(s, n, 12), 6);
  CHECK_INT(cxp_json_fit(s, n, 100), 6);
  /* A byte that is not UTF-8 is written as \ufffd: 6. */
  CHECK_INT(cxp_json_fit("\xff", 1, 5), 0);
  CHECK_INT(cxp_json_fit("\xff", 1, 6), 1);
  /* What fits is what cxp_jw_str writes: the prefix's escaped length is
   * within the budget. */
  cxp_buf b;
  cxp_buf_init(&b);
  cxp_jw w;
  cxp_jw_init(&w, &b);
  cxp_jw_str(&w, NULL, s, cxp_json_fit(s, n, 11));
  CHECK_STR(b.p, "\"a\\\"\\u0001\xc3\xa9\""); /* 11 bytes between the quotes */
  CHECK_INT(b.len, 13);
  cxp_buf_free(&b);
}

/* The writer finds the plain run eight bytes a step: each byte that needs
 * an escape (or, past 0x7F, a look), at every place of a word and across
 * its end, comes out as it does alone. */
static void test_escape_places(void) {
  static const struct {
    const char *in, *out;
  } cases[] = {{"\"", "\\\""},     {"\\", "\\\\"},       {"\n", "\\n"},
               {"\x01", "\\u0001"}, {"\x7f", "\x7f"},      {"\xc3\xa9", "\xc3\xa9"},
               {"\xff", "\\ufffd"}, {"\xc3", "\\ufffd"},   {"ab", "ab"}};
  cxp_buf b;
  cxp_buf_init(&b);
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
    for (int k = 0; k <= 17; k++) {
      char in[64], want[64], ctx[32];
      int n = snprintf(in, sizeof in, "%.*s%syz", k, "xxxxxxxxxxxxxxxxxx", cases[c].in);
      snprintf(want, sizeof want, "\"%.*s%syz\"", k, "xxxxxxxxxxxxxxxxxx", cases[c].out);
      snprintf(ctx, sizeof ctx, "case %zu at %d", c, k);
      test_ctx = ctx;
      jw_string(&b, in, (size_t)n);
      CHECK_STR(b.p, want);
    }
  test_ctx = NULL;
  cxp_buf_free(&b);
}

/* Numbers rounded to a number of decimals (cxp_jw_fixed), each worked out
 * by hand. */
static void test_fixed(void) {
  static const struct {
    double v;
    int decimals;
    const char *out;
  } cases[] = {
      {71.428571, 2, "71.43"},   /* rounded up */
      {71.424999, 2, "71.42"},   /* rounded down */
      {2.5, 2, "2.5"},           /* the trailing zero dropped */
      {3.0, 2, "3"},             /* the point too */
      {99.999, 2, "100"},        /* rounding carries into the units */
      {-1.234, 2, "-1.23"},
      {-0.001, 2, "0"},          /* not "-0" */
      {0.0, 3, "0"},
      {0.123456, 3, "0.123"},
      {0.0006, 3, "0.001"},
      {0.0004, 3, "0"},
      {2.6, 0, "3"},
      {1e20, 2, "100000000000000000000"},
      {0.123456789012, 12, "0.123456789"}, /* at most nine decimals */
      {7.25, -1, "7"},                     /* no fewer than none */
      {NAN, 2, "null"},
      {INFINITY, 3, "null"},
  };
  cxp_buf b;
  cxp_buf_init(&b);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char ctx[48];
    snprintf(ctx, sizeof ctx, "%.17g to %d", cases[i].v, cases[i].decimals);
    test_ctx = ctx;
    b.len = 0;
    cxp_jw w;
    cxp_jw_init(&w, &b);
    cxp_jw_fixed(&w, NULL, cases[i].v, cases[i].decimals);
    CHECK_MEM(b.p, b.len, cases[i].out, strlen(cases[i].out));
  }
  test_ctx = NULL;
  /* As a member, after another. */
  b.len = 0;
  cxp_jw w;
  cxp_jw_init(&w, &b);
  cxp_jw_obj(&w, NULL);
  cxp_jw_fixed(&w, "csat", 66.6666, 2);
  cxp_jw_fixed(&w, "p", 0.41239, 3);
  cxp_jw_end(&w);
  CHECK_LIT(b.p, b.len, "{\"csat\":66.67,\"p\":0.412}");
  cxp_buf_free(&b);
}

/* cxp_jw_num's six significant digits ("%.6g"): a fast path for the
 * fixed-point range, printf where it cannot be sure. Hand-worked cases,
 * then the two compared on three million values. */
static void num_of(cxp_buf *b, double v) {
  cxp_jw w;
  b->len = 0;
  cxp_jw_init(&w, b);
  cxp_jw_num(&w, NULL, v);
}

static void test_num(void) {
  static const struct {
    double v;
    const char *out;
    int fast; /* the fast path writes it (else printf does) */
  } cases[] = {
      {66.666666666, "66.6667", 1}, /* 66.6666|66 rounds up */
      {0.5, "0.5", 1},              /* zeros dropped */
      {-0.25, "-0.25", 1},
      {0.000123456789, "0.000123457", 1}, /* 1.23456|789e-4: e = -4, fixed */
      {12345.99999, "12346", 1},          /* rounds to a whole number: no point */
      {1.05, "1.05", 1},                  /* 1.0500000000000000444 */
      {2.675, "2.675", 1},      /* 2.67499999999999982236431605997495353221893310546875 */
      {99.99995, "99.9999", 0}, /* 99.999949999999998...: within 1e-6 of the half */
      {123456.5, "123456", 0},  /* a tie: printf's half-even */
      {123457.5, "123458", 0},
      {999999.7, "1e+06", 0},    /* a seventh digit: exponent form */
      {-2.5e-05, "-2.5e-05", 0}, /* under 1e-4 */
      {1234567.25, "1.23457e+06", 0},
      {7.0, "7", 1}, /* whole: %lld in cxp_jw_num, the same digits */
  };
  cxp_buf b;
  cxp_buf_init(&b);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char ctx[48], t[16];
    snprintf(ctx, sizeof ctx, "%.17g", cases[i].v);
    test_ctx = ctx;
    num_of(&b, cases[i].v);
    CHECK_MEM(b.p, b.len, cases[i].out, strlen(cases[i].out));
    CHECK_INT(cxp_fmt_g6(t, cases[i].v) != 0, cases[i].fast);
  }
  test_ctx = NULL;

  /* Against printf: values spread over twelve decades, sixths and other
   * repeating fractions, and values a hair off the halves where the
   * rounding turns. */
  uint64_t x = 88172645463325252ULL;
  size_t fast = 0, differ = 0, n = 3000000;
  char want[64], first[128] = "";
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    double v;
    switch (i % 3) {
      case 0: /* a 53-bit fraction times 10^-6..10^6 */
        v = (double)(x >> 11) / 9007199254740992.0 * pow(10, (int)(x % 13) - 6);
        break;
      case 1: /* k / d for small d: repeating decimals */
        v = (double)(x % 2000000) / (double)(3 + (x >> 40) % 997);
        break;
      default: /* six digits and a half, nudged by a few ulps */
        v = ((double)(100000 + x % 900000) + 0.5) * pow(10, (int)((x >> 20) % 10) - 9);
        v = nextafter(v, (x >> 50) & 1 ? INFINITY : -INFINITY);
        break;
    }
    if (x >> 63) v = -v;
    if (v == floor(v)) continue;
    char t[16];
    if (cxp_fmt_g6(t, v)) fast++;
    num_of(&b, v);
    int wl = snprintf(want, sizeof want, "%.6g", v);
    if ((size_t)wl != b.len || memcmp(want, b.p, b.len) != 0) {
      if (differ++ == 0)
        snprintf(first, sizeof first, "%.17g: %.*s, printf %s", v, (int)b.len, b.p, want);
    }
  }
  test_ctx = first;
  CHECK_INT(differ, 0);
  test_ctx = NULL;
  printf("jsonw: %zu of %zu values by the fast path\n", fast, n);
  CHECK_GT(fast, n / 2);
  cxp_buf_free(&b);
}

int main(void) {
  test_jsonw();
  test_fixed();
  test_num();
  test_utf8();
  test_json_fit();
  test_escape_places();
  return TEST_REPORT();
}
