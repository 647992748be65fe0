/* Unit tests of the functional core, with hand-computed expectations.
 *
 * Every expected value below was worked out by hand (the arithmetic is in the
 * comment beside it), never taken from the code's own output. The reference
 * instant used throughout is T0 = 2026-11-23T07:00:00Z = 1795417200000 ms
 * (see test_time for the derivation). */
#include "helpers.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert.h"
#include "arena.h"
#include "config.h"
#include "core.h"
#include "deadletter.h"
#include "decay.h"
#include "event.h"
#include "hash.h"
#include "jsonw.h"
#include "log.h"
#include "pipeline.h"
#include "sha256.h"
#include "state.h"
#include "timeutil.h"

#define HL30 (30.0 * 86400000.0)    /* 30 days = 2592000000 ms */

/* The pipeline of the customer and core tests: customers_only's, without
 * segment windows (test_window.c has those), recovery cases (test_cases.c)
 * and churn (test_churn.c), so that the events here, days apart and out of
 * order, are judged by the per-customer rules alone. Its main half-life is
 * the default 30 days. */
static cxp_pipeline TP;

/* --------------------------------------------------------------------------
 * timeutil */

static void test_time(void) {
  int64_t ms;
  /* 2026-11-23 is day 20780 since 1970-01-01: 20780 * 86400000 = 1795392000000,
   * plus 7 h = 25200000. */
  CHECK_INT(cxp_time_parse_rfc3339("2026-11-23T07:00:00Z", 20, &ms), 0);
  CHECK_INT(ms, 1795417200000LL);
  CHECK_INT(cxp_time_parse_rfc3339("2026-11-23T08:00:00.5+01:00", 27, &ms), 0);
  CHECK_INT(ms, 1795417200500LL);
  CHECK_INT(cxp_time_parse_rfc3339("2026-02-30T08:00:00Z", 20, &ms), -1);
  CHECK_INT(cxp_time_parse_rfc3339("2026-11-23 08:00", 16, &ms), -1);
  char buf[25];
  cxp_time_format(1795417200500LL, buf);
  CHECK_STR(buf, "2026-11-23T07:00:00.500Z");
  cxp_time_format(951782400000LL, buf); /* 2000-02-29, a leap day */
  CHECK_STR(buf, "2000-02-29T00:00:00.000Z");

  /* 02:30 at -04:30 is 07:00Z. */
  CHECK_INT(cxp_time_parse_rfc3339("2026-11-23T02:30:00-04:30", 25, &ms), 0);
  CHECK_INT(ms, T0);
  /* Missing offset, and an offset without its colon. */
  CHECK_INT(cxp_time_parse_rfc3339("2026-11-23T07:00:00", 19, &ms), -1);
  CHECK_INT(cxp_time_parse_rfc3339("2026-11-23T07:00:00+0100", 24, &ms), -1);
  /* 2000-01-01: 30 years, 7 leap days (72..96): 10957 days * 86400000. */
  CHECK_INT(cxp_time_parse_rfc3339("2000-01-01T00:00:00Z", 20, &ms), 0);
  CHECK_INT(ms, 946684800000LL);
  CHECK_INT(cxp_days_from_civil(1970, 1, 1), 0);
  CHECK_INT(cxp_days_from_civil(2026, 11, 23), 20780);
}

/* --------------------------------------------------------------------------
 * decay */

/* A forward-decayed sum kept the way decay.h prescribes: the landmark moves
 * to cxp_decay_next_landmark and the stored sum is rescaled when it does. */
typedef struct fsum {
  double a;
  int64_t landmark;
} fsum;

static void fsum_add(fsum *s, int64_t t, double w, double h) {
  int64_t nl = cxp_decay_next_landmark(s->landmark, t, h);
  if (nl != s->landmark) {
    s->a *= cxp_decay_read(1.0, nl, s->landmark, h);
    s->landmark = nl;
  }
  s->a += w * cxp_decay_factor(t, s->landmark, h);
}

static void test_decay(void) {
  double h = HL30;
  /* One half-life later a weight of 1 reads 0.5; two, 0.25. */
  CHECK_NEAR(cxp_decay_read(1.0, (int64_t)h, 0, h), 0.5, 1e-12);
  CHECK_NEAR(cxp_decay_read(cxp_decay_factor(0, 0, h), (int64_t)(2 * h), 0, h), 0.25,
             1e-12);

  /* The factor 2^((t - L)/h) at 0, 1, 2 half-lives past L, and 1 before. */
  int64_t L = 1741824000000LL, hl = 2592000000LL;
  CHECK_NEAR(cxp_decay_factor(L, L, h), 1.0, 0);
  CHECK_NEAR(cxp_decay_factor(L + hl, L, h), 2.0, 1e-12);
  CHECK_NEAR(cxp_decay_factor(L + 2 * hl, L, h), 4.0, 1e-12);
  CHECK_NEAR(cxp_decay_factor(L - hl, L, h), 0.5, 1e-12);
  /* read(a) = a * 2^-((t - L)/h): 8 at 0, 1, 2, 3 half-lives reads 8, 4, 2, 1. */
  CHECK_NEAR(cxp_decay_read(8.0, L, L, h), 8.0, 0);
  CHECK_NEAR(cxp_decay_read(8.0, L + hl, L, h), 4.0, 1e-12);
  CHECK_NEAR(cxp_decay_read(8.0, L + 2 * hl, L, h), 2.0, 1e-12);
  CHECK_NEAR(cxp_decay_read(8.0, L + 3 * hl, L, h), 1.0, 1e-12);
  /* An event weighted at its own time and read one half-life later: 3 * 0.5. */
  CHECK_NEAR(cxp_decay_read(3.0 * cxp_decay_factor(T0, L, h), T0 + hl, L, h), 1.5, 1e-12);
}

static void test_decay_landmark(void) {
  double h = HL30;
  /* The grid step is 16 half-lives: 16 * 2592000000 = 41472000000 ms (480 d).
   * T0 / step = 1795417200000 / 41472000000 = 43.29 -> 43 * step = 1783296000000. */
  const int64_t step = 41472000000LL, g21 = 43 * step, g22 = 44 * step;
  CHECK_INT(g21, 1783296000000LL);
  CHECK_INT(cxp_decay_next_landmark(0, T0, h), g21);
  /* Already on the right grid line: no move. */
  CHECK_INT(cxp_decay_next_landmark(g21, T0, h), g21);
  /* Exactly on a grid line, and one millisecond before it. */
  CHECK_INT(cxp_decay_next_landmark(g21, g22, h), g22);
  CHECK_INT(cxp_decay_next_landmark(g21, g22 - 1, h), g21);
  /* An older event never moves the landmark back. */
  CHECK_INT(cxp_decay_next_landmark(g22, T0, h), g22);
  /* The landmark depends on the grid, not on the event: two times in the same
   * cell give the same landmark. T0 and T0 + 300 d = 1821337200000 < g22 =
   * 1824768000000. */
  CHECK_INT(cxp_decay_next_landmark(0, T0 + 300 * D_MS, h), g21);
  /* Negative times round down (floor, not truncation): -1 -> -step. */
  CHECK_INT(cxp_decay_next_landmark(-1000000000000LL, -1, h), -step);
  /* A half-life so short that the step truncates to 0 uses a step of 1 ms. */
  CHECK_INT(cxp_decay_next_landmark(0, 12345, 0.01), 12345);

  /* Order independence with rescale. Weights 1 at T0, 2 at T0 + h, 4 at
   * T0 + 33h; read at T0 + 33h:
   *   4 + 2 * 2^-32 + 1 * 2^-33 = 4 + 5 * 2^-33 = 4.000000000582077.
   * T0 + 33h = 1880953200000 lies past g23 = 45 * step = 1866240000000, so any
   * order that sees T0 first must rescale; every order ends on landmark g23. */
  const int64_t hl = 2592000000LL;
  const int64_t ts[3] = {T0, T0 + hl, T0 + 33 * hl};
  const double w[3] = {1, 2, 4};
  const int perm[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
  for (int p = 0; p < 6; p++) {
    fsum s = {0, 0};
    for (int i = 0; i < 3; i++) fsum_add(&s, ts[perm[p][i]], w[perm[p][i]], h);
    CHECK_INT(s.landmark, 45 * step);
    CHECK_NEAR(cxp_decay_read(s.a, T0 + 33 * hl, s.landmark, h), 4.0 + 5.0 / 8589934592.0,
               1e-12);
  }
}

/* --------------------------------------------------------------------------
 * hash */

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

/* --------------------------------------------------------------------------
 * jsonw */

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

/* --------------------------------------------------------------------------
 * event decoding: a table */

#define HDR(type)                                                              \
  "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"" type              \
  "\",\"ts\":\"2026-11-23T07:00:00Z\""
#define X16 "xxxxxxxxxxxxxxxx"
#define X128 X16 X16 X16 X16 X16 X16 X16 X16
#define CSAT_OK HDR("survey.csat") ",\"score\":5}"
#define SQ(dims) HDR("survey.servqual") ",\"dimensions\":" dims "}"

static int str_is(cxp_str s, const char *want) {
  return want == NULL ? s.p == NULL
                      : s.p != NULL && s.n == strlen(want) && memcmp(s.p, want, s.n) == 0;
}

static void chk_servqual(const cxp_event *ev) {
  /* tangibles is bit 0, empathy bit 4: mask 0x11. */
  CHECK_INT(ev->sq_mask, 0x11);
  CHECK_NEAR(ev->sq_expected[CXP_SQ_TANGIBLES], 5, 0);
  CHECK_NEAR(ev->sq_perceived[CXP_SQ_TANGIBLES], 3, 0);
  CHECK_NEAR(ev->sq_expected[CXP_SQ_EMPATHY], 4, 0);
  CHECK_NEAR(ev->sq_perceived[CXP_SQ_EMPATHY], 6.5, 0);
}
static void chk_servqual_all(const cxp_event *ev) { CHECK_INT(ev->sq_mask, 0x1f); }
static void chk_contact(const cxp_event *ev) {
  CHECK_NEAR(ev->wait_s, 30, 0);
  CHECK_NEAR(ev->handle_s, 240.5, 0);
  CHECK_INT(ev->resolved, 1);
  CHECK_INT(ev->has_sentiment, 1);
  CHECK_NEAR(ev->sentiment, -0.5, 0);
}
static void chk_contact_nosent(const cxp_event *ev) {
  CHECK_INT(ev->resolved, 0);
  CHECK_INT(ev->has_sentiment, 0);
}
static void chk_complaint(const cxp_event *ev) {
  CHECK(str_is(ev->case_id, "k1"));
  CHECK(str_is(ev->category, "operational"));
  CHECK_INT(ev->severity, 2);
  CHECK(str_is(ev->kano, "must_be"));
  CHECK(str_is(ev->attribute, "delivery"));
}
static void chk_failure(const cxp_event *ev) {
  CHECK(str_is(ev->case_id, "k2"));
  CHECK(str_is(ev->category, "promise"));
  CHECK_INT(ev->severity, 1);
  CHECK(str_is(ev->detected_by, "provider"));
  CHECK(str_is(ev->kano, NULL));
}
static void chk_case_k3(const cxp_event *ev) { CHECK(str_is(ev->case_id, "k3")); }
static void chk_compensated(const cxp_event *ev) {
  CHECK(str_is(ev->case_id, "k3"));
  CHECK_NEAR(ev->amount, 25.5, 0);
}
static void chk_resolved(const cxp_event *ev) { CHECK_INT(ev->root_cause_fixed, 1); }
static void chk_resolved_default(const cxp_event *ev) { CHECK_INT(ev->root_cause_fixed, 0); }
static void chk_amount0(const cxp_event *ev) { CHECK_NEAR(ev->amount, 0, 0); }
static void chk_amount(const cxp_event *ev) { CHECK_NEAR(ev->amount, 99.9, 1e-12); }
static void chk_count1(const cxp_event *ev) { CHECK_NEAR(ev->count, 1, 0); }
static void chk_count3(const cxp_event *ev) { CHECK_NEAR(ev->count, 3, 0); }
static void chk_referral(const cxp_event *ev) { CHECK(str_is(ev->referred_id, "c2")); }
static void chk_referral_none(const cxp_event *ev) { CHECK(str_is(ev->referred_id, NULL)); }
static void chk_feedback(const cxp_event *ev) { CHECK(str_is(ev->kind, "review")); }
static void chk_profile_noconsent(const cxp_event *ev) {
  CHECK(str_is(ev->segment, "gold"));
  CHECK_INT(ev->consent, 0);
  CHECK_INT(ev->has_clv, 1);
  CHECK_NEAR(ev->clv, 1200, 0);
}
static void chk_profile_consent(const cxp_event *ev) {
  CHECK_INT(ev->consent, 1);
  CHECK_INT(ev->has_clv, 0);
}
static void chk_profile_unsaid(const cxp_event *ev) { CHECK_INT(ev->consent, -1); }
static void chk_common(const cxp_event *ev) {
  CHECK(str_is(ev->event_id, "e1"));
  CHECK(str_is(ev->customer_id, "c1"));
  CHECK(str_is(ev->channel, "app"));
  CHECK(str_is(ev->segment, "silver"));
  CHECK(str_is(ev->agent_id, "a7"));
  CHECK(str_is(ev->touchpoint, "checkout"));
}
static void chk_nulls(const cxp_event *ev) {
  CHECK(str_is(ev->channel, NULL));
  CHECK(str_is(ev->segment, NULL));
  CHECK(str_is(ev->agent_id, NULL));
  CHECK(str_is(ev->touchpoint, NULL));
  CHECK(str_is(ev->case_id, NULL));
}
static void chk_id128(const cxp_event *ev) { CHECK_INT(ev->event_id.n, 128); }
static void chk_cid128(const cxp_event *ev) { CHECK_INT(ev->customer_id.n, 128); }

typedef struct ev_case {
  const char *name;
  const char *json;
  size_t len;            /* 0: strlen(json) */
  size_t max_bytes;      /* 0: 65536 */
  int64_t now_ms;        /* decode option; 0 skips the future check */
  cxp_reason want;
  const char *detail;    /* must appear in the detail; NULL: any non-empty */
  const char *detail2;   /* a second phrase, when one is not enough */
  cxp_event_type type;   /* good events: expected type, score, ts */
  int score;             /* -1: not a survey */
  int64_t ts;            /* 0: T0 */
  void (*check)(const cxp_event *ev);
} ev_case;

#define GOOD(nm, js, ty, sc, fn)                                               \
  { .name = nm, .json = js, .want = CXP_OK, .type = ty, .score = sc, .check = fn }
#define BAD(nm, js, why, d)                                                    \
  { .name = nm, .json = js, .want = why, .detail = d }

static const ev_case ev_cases[] = {
    /* Every type of domain.md section 2, well formed. */
    GOOD("csat 1", HDR("survey.csat") ",\"score\":1}", CXP_EV_CSAT, 1, NULL),
    GOOD("csat 5", CSAT_OK, CXP_EV_CSAT, 5, NULL),
    GOOD("nps 0", HDR("survey.nps") ",\"score\":0}", CXP_EV_NPS, 0, NULL),
    GOOD("nps 10", HDR("survey.nps") ",\"score\":10}", CXP_EV_NPS, 10, NULL),
    GOOD("ces 1", HDR("survey.ces") ",\"score\":1}", CXP_EV_CES, 1, NULL),
    GOOD("ces 7", HDR("survey.ces") ",\"score\":7}", CXP_EV_CES, 7, NULL),
    GOOD("score 5.0 is an integer", HDR("survey.csat") ",\"score\":5.0}", CXP_EV_CSAT, 5,
         NULL),
    GOOD("servqual subset",
         SQ("{\"tangibles\":{\"expected\":5,\"perceived\":3},"
            "\"empathy\":{\"expected\":4,\"perceived\":6.5}}"),
         CXP_EV_SERVQUAL, -1, chk_servqual),
    GOOD("servqual all five at the bounds",
         SQ("{\"tangibles\":{\"expected\":1,\"perceived\":7},"
            "\"reliability\":{\"expected\":7,\"perceived\":1},"
            "\"responsiveness\":{\"expected\":1,\"perceived\":1},"
            "\"assurance\":{\"expected\":7,\"perceived\":7},"
            "\"empathy\":{\"expected\":4,\"perceived\":4}}"),
         CXP_EV_SERVQUAL, -1, chk_servqual_all),
    GOOD("contact",
         HDR("contact") ",\"wait_s\":30,\"handle_s\":240.5,\"resolved\":true,"
                        "\"sentiment\":-0.5}",
         CXP_EV_CONTACT, -1, chk_contact),
    GOOD("contact, sentiment null",
         HDR("contact") ",\"wait_s\":0,\"handle_s\":0,\"resolved\":false,"
                        "\"sentiment\":null}",
         CXP_EV_CONTACT, -1, chk_contact_nosent),
    GOOD("complaint",
         HDR("complaint") ",\"case_id\":\"k1\",\"category\":\"operational\","
                          "\"severity\":2,\"kano\":\"must_be\",\"attribute\":\"delivery\"}",
         CXP_EV_COMPLAINT, -1, chk_complaint),
    GOOD("service.failure",
         HDR("service.failure") ",\"case_id\":\"k2\",\"category\":\"promise\","
                                "\"severity\":1,\"detected_by\":\"provider\"}",
         CXP_EV_FAILURE, -1, chk_failure),
    GOOD("recovery.acknowledged", HDR("recovery.acknowledged") ",\"case_id\":\"k3\"}",
         CXP_EV_REC_ACKNOWLEDGED, -1, chk_case_k3),
    GOOD("recovery.apologized", HDR("recovery.apologized") ",\"case_id\":\"k3\"}",
         CXP_EV_REC_APOLOGIZED, -1, chk_case_k3),
    GOOD("recovery.compensated",
         HDR("recovery.compensated") ",\"case_id\":\"k3\",\"amount\":25.5}",
         CXP_EV_REC_COMPENSATED, -1, chk_compensated),
    GOOD("recovery.resolved",
         HDR("recovery.resolved") ",\"case_id\":\"k3\",\"root_cause_fixed\":true}",
         CXP_EV_REC_RESOLVED, -1, chk_resolved),
    GOOD("recovery.resolved without root_cause_fixed",
         HDR("recovery.resolved") ",\"case_id\":\"k3\"}", CXP_EV_REC_RESOLVED, -1,
         chk_resolved_default),
    GOOD("recovery.followed_up", HDR("recovery.followed_up") ",\"case_id\":\"k3\"}",
         CXP_EV_REC_FOLLOWED_UP, -1, chk_case_k3),
    GOOD("purchase 0", HDR("purchase") ",\"amount\":0}", CXP_EV_PURCHASE, -1, chk_amount0),
    GOOD("purchase", HDR("purchase") ",\"amount\":99.9}", CXP_EV_PURCHASE, -1, chk_amount),
    GOOD("usage, count defaults to 1", HDR("usage") "}", CXP_EV_USAGE, -1, chk_count1),
    GOOD("usage, count null defaults to 1", HDR("usage") ",\"count\":null}", CXP_EV_USAGE,
         -1, chk_count1),
    GOOD("usage 3", HDR("usage") ",\"count\":3}", CXP_EV_USAGE, -1, chk_count3),
    GOOD("referral", HDR("referral") ",\"referred_id\":\"c2\"}", CXP_EV_REFERRAL, -1,
         chk_referral),
    GOOD("referral without referred_id", HDR("referral") "}", CXP_EV_REFERRAL, -1,
         chk_referral_none),
    GOOD("feedback", HDR("feedback") ",\"kind\":\"review\"}", CXP_EV_FEEDBACK, -1,
         chk_feedback),
    GOOD("profile consent false",
         HDR("profile") ",\"segment\":\"gold\",\"clv\":1200,\"consent\":false}",
         CXP_EV_PROFILE, -1, chk_profile_noconsent),
    GOOD("profile consent true", HDR("profile") ",\"segment\":\"gold\",\"consent\":true}",
         CXP_EV_PROFILE, -1, chk_profile_consent),
    GOOD("profile without consent", HDR("profile") ",\"segment\":\"gold\"}", CXP_EV_PROFILE,
         -1, chk_profile_unsaid),
    GOOD("profile consent null", HDR("profile") ",\"segment\":\"gold\",\"consent\":null}",
         CXP_EV_PROFILE, -1, chk_profile_unsaid),
    GOOD("subscription.cancelled", HDR("subscription.cancelled") "}", CXP_EV_CANCELLED, -1,
         NULL),
    GOOD("subscription.downgraded", HDR("subscription.downgraded") "}", CXP_EV_DOWNGRADED,
         -1, NULL),
    /* Common optional fields, present and null. */
    GOOD("common fields",
         HDR("usage") ",\"channel\":\"app\",\"segment\":\"silver\",\"agent_id\":\"a7\","
                      "\"touchpoint\":\"checkout\"}",
         CXP_EV_USAGE, -1, chk_common),
    GOOD("null optional fields",
         HDR("usage") ",\"channel\":null,\"segment\":null,\"agent_id\":null,"
                      "\"touchpoint\":null,\"case_id\":null}",
         CXP_EV_USAGE, -1, chk_nulls),
    GOOD("event_id of 128 bytes",
         "{\"event_id\":\"" X128 "\",\"customer_id\":\"c1\",\"type\":\"usage\","
         "\"ts\":1795417200000}",
         CXP_EV_USAGE, -1, chk_id128),
    GOOD("customer_id of 128 bytes",
         "{\"event_id\":\"e1\",\"customer_id\":\"" X128 "\",\"type\":\"usage\","
         "\"ts\":1795417200000}",
         CXP_EV_USAGE, -1, chk_cid128),
    GOOD("white space around the object", " \n\t" CSAT_OK " \r\n", CXP_EV_CSAT, 5, NULL),
    /* Timestamps: both forms, with offsets, at the 2000 boundary. */
    GOOD("ts epoch ms", "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\","
                        "\"ts\":1795417200000}",
         CXP_EV_USAGE, -1, NULL),
    GOOD("ts with +01:00",
         "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\","
         "\"ts\":\"2026-11-23T08:00:00+01:00\"}",
         CXP_EV_USAGE, -1, NULL),
    GOOD("ts with -04:30 and millis",
         "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\","
         "\"ts\":\"2026-11-23T02:30:00.000-04:30\"}",
         CXP_EV_USAGE, -1, NULL),
    {.name = "ts exactly 2000-01-01 (946684800000)",
     .json = "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\","
             "\"ts\":946684800000}",
     .want = CXP_OK, .type = CXP_EV_USAGE, .score = -1, .ts = 946684800000LL},
    /* now = T0; the limit is T0 + 86400 s: T0 + 86400000 is still accepted. */
    {.name = "ts exactly max_future ahead",
     .json = "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\","
             "\"ts\":1795503600000}",
     .now_ms = T0, .want = CXP_OK, .type = CXP_EV_USAGE, .score = -1,
     .ts = 1795503600000LL},
    /* The same far-future ts (T0 + 1 y = 1826953200000) without a now: accepted. */
    {.name = "future ts, now_ms 0",
     .json = "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\","
             "\"ts\":1826953200000}",
     .want = CXP_OK, .type = CXP_EV_USAGE, .score = -1, .ts = 1826953200000LL},
    /* Exactly max_bytes long is allowed. */
    {.name = "exactly max_bytes", .json = CSAT_OK, .max_bytes = sizeof(CSAT_OK) - 1,
     .want = CXP_OK, .type = CXP_EV_CSAT, .score = 5},

    /* invalid_json */
    BAD("not JSON", "hello", CXP_BAD_INVALID_JSON, "JSON"),
    BAD("truncated object", "{\"event_id\":\"e1\"", CXP_BAD_INVALID_JSON, "JSON"),
    BAD("empty message", "", CXP_BAD_INVALID_JSON, "empty"),
    BAD("trailing garbage", CSAT_OK " x", CXP_BAD_INVALID_JSON, "trailing"),
    BAD("two objects", CSAT_OK "{}", CXP_BAD_INVALID_JSON, "trailing"),
    {.name = "NUL byte", .json = CSAT_OK "\0", .len = sizeof(CSAT_OK), .want =
     CXP_BAD_INVALID_JSON, .detail = "NUL"},
    {.name = "NUL byte inside a string",
     .json = "{\"event_id\":\"e\0\"}", .len = sizeof("{\"event_id\":\"e\0\"}") - 1,
     .want = CXP_BAD_INVALID_JSON, .detail = "NUL"},
    BAD("array at top level", "[" CSAT_OK "]", CXP_BAD_INVALID_JSON, "object"),
    BAD("string at top level", "\"survey.csat\"", CXP_BAD_INVALID_JSON, "object"),
    BAD("null at top level", "null", CXP_BAD_INVALID_JSON, "object"),

    /* missing_field */
    BAD("no event_id", "{\"customer_id\":\"c1\",\"type\":\"usage\",\"ts\":1795417200000}",
        CXP_BAD_MISSING_FIELD, "'event_id'"),
    BAD("event_id null",
        "{\"event_id\":null,\"customer_id\":\"c1\",\"type\":\"usage\",\"ts\":1795417200000}",
        CXP_BAD_MISSING_FIELD, "'event_id'"),
    BAD("no customer_id", "{\"event_id\":\"e1\",\"type\":\"usage\",\"ts\":1795417200000}",
        CXP_BAD_MISSING_FIELD, "'customer_id'"),
    BAD("no type", "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"ts\":1795417200000}",
        CXP_BAD_MISSING_FIELD, "'type'"),
    BAD("no ts", "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\"}",
        CXP_BAD_MISSING_FIELD, "'ts'"),
    BAD("ts null",
        "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\",\"ts\":null}",
        CXP_BAD_MISSING_FIELD, "'ts'"),
    BAD("csat without score", HDR("survey.csat") "}", CXP_BAD_MISSING_FIELD, "'score'"),
    BAD("nps score null", HDR("survey.nps") ",\"score\":null}", CXP_BAD_MISSING_FIELD,
        "'score'"),
    BAD("servqual without dimensions", HDR("survey.servqual") "}", CXP_BAD_MISSING_FIELD,
        "'dimensions'"),
    BAD("servqual empty dimensions", SQ("{}"), CXP_BAD_MISSING_FIELD, "'dimensions'"),
    {.name = "servqual dimension without perceived",
     .json = SQ("{\"reliability\":{\"expected\":5}}"), .want = CXP_BAD_MISSING_FIELD,
     .detail = "'perceived'", .detail2 = "dimensions.reliability"},
    BAD("complaint without case_id",
        HDR("complaint") ",\"category\":\"design\",\"severity\":3}", CXP_BAD_MISSING_FIELD,
        "'case_id'"),
    BAD("recovery step without case_id", HDR("recovery.acknowledged") "}",
        CXP_BAD_MISSING_FIELD, "'case_id'"),
    BAD("complaint without severity",
        HDR("complaint") ",\"case_id\":\"k1\",\"category\":\"design\"}",
        CXP_BAD_MISSING_FIELD, "'severity'"),
    BAD("failure without detected_by",
        HDR("service.failure") ",\"case_id\":\"k2\",\"category\":\"design\",\"severity\":3}",
        CXP_BAD_MISSING_FIELD, "'detected_by'"),
    BAD("contact without resolved", HDR("contact") ",\"wait_s\":1,\"handle_s\":2}",
        CXP_BAD_MISSING_FIELD, "'resolved'"),
    BAD("compensated without amount", HDR("recovery.compensated") ",\"case_id\":\"k3\"}",
        CXP_BAD_MISSING_FIELD, "'amount'"),
    BAD("purchase without amount", HDR("purchase") "}", CXP_BAD_MISSING_FIELD, "'amount'"),
    BAD("feedback without kind", HDR("feedback") "}", CXP_BAD_MISSING_FIELD, "'kind'"),
    BAD("profile without segment", HDR("profile") ",\"consent\":true}",
        CXP_BAD_MISSING_FIELD, "'segment'"),

    /* bad_type */
    BAD("event_id a number",
        "{\"event_id\":5,\"customer_id\":\"c1\",\"type\":\"usage\",\"ts\":1795417200000}",
        CXP_BAD_TYPE, "'event_id'"),
    BAD("customer_id a bool",
        "{\"event_id\":\"e1\",\"customer_id\":true,\"type\":\"usage\",\"ts\":1795417200000}",
        CXP_BAD_TYPE, "'customer_id'"),
    BAD("type a number",
        "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":3,\"ts\":1795417200000}",
        CXP_BAD_TYPE, "'type'"),
    BAD("score a string", HDR("survey.csat") ",\"score\":\"5\"}", CXP_BAD_TYPE, "'score'"),
    BAD("csat 4.5", HDR("survey.csat") ",\"score\":4.5}", CXP_BAD_TYPE, "'score'"),
    BAD("segment an object", HDR("usage") ",\"segment\":{}}", CXP_BAD_TYPE, "'segment'"),
    BAD("resolved a string",
        HDR("contact") ",\"wait_s\":1,\"handle_s\":2,\"resolved\":\"yes\"}", CXP_BAD_TYPE,
        "'resolved'"),
    BAD("dimensions an array", SQ("[]"), CXP_BAD_TYPE, "'dimensions'"),
    BAD("dimension a number", SQ("{\"empathy\":5}"), CXP_BAD_TYPE, "dimensions.empathy"),
    BAD("consent a string", HDR("profile") ",\"segment\":\"gold\",\"consent\":\"no\"}",
        CXP_BAD_TYPE, "'consent'"),
    BAD("severity 2.5",
        HDR("complaint") ",\"case_id\":\"k1\",\"category\":\"design\",\"severity\":2.5}",
        CXP_BAD_TYPE, "'severity'"),
    BAD("count a string", HDR("usage") ",\"count\":\"3\"}", CXP_BAD_TYPE, "'count'"),

    /* out_of_range */
    BAD("nps 11", HDR("survey.nps") ",\"score\":11}", CXP_BAD_OUT_OF_RANGE, "'score'"),
    BAD("nps -1", HDR("survey.nps") ",\"score\":-1}", CXP_BAD_OUT_OF_RANGE, "'score'"),
    BAD("nps 1e400 (parses as inf)", HDR("survey.nps") ",\"score\":1e400}",
        CXP_BAD_OUT_OF_RANGE, "'score'"),
    BAD("csat 0", HDR("survey.csat") ",\"score\":0}", CXP_BAD_OUT_OF_RANGE, "'score'"),
    BAD("csat 6", HDR("survey.csat") ",\"score\":6}", CXP_BAD_OUT_OF_RANGE, "'score'"),
    BAD("ces 0", HDR("survey.ces") ",\"score\":0}", CXP_BAD_OUT_OF_RANGE, "'score'"),
    BAD("ces 8", HDR("survey.ces") ",\"score\":8}", CXP_BAD_OUT_OF_RANGE, "'score'"),
    BAD("event_id of 129 bytes",
        "{\"event_id\":\"" X128 "y\",\"customer_id\":\"c1\",\"type\":\"usage\","
        "\"ts\":1795417200000}",
        CXP_BAD_OUT_OF_RANGE, "'event_id'"),
    BAD("customer_id of 129 bytes",
        "{\"event_id\":\"e1\",\"customer_id\":\"" X128 "y\",\"type\":\"usage\","
        "\"ts\":1795417200000}",
        CXP_BAD_OUT_OF_RANGE, "'customer_id'"),
    BAD("empty event_id",
        "{\"event_id\":\"\",\"customer_id\":\"c1\",\"type\":\"usage\",\"ts\":1795417200000}",
        CXP_BAD_OUT_OF_RANGE, "'event_id'"),
    {.name = "servqual unknown dimension",
     .json = SQ("{\"price\":{\"expected\":5,\"perceived\":3}}"), .want = CXP_BAD_OUT_OF_RANGE,
     .detail = "'dimensions'", .detail2 = "price"},
    {.name = "servqual expected 8",
     .json = SQ("{\"tangibles\":{\"expected\":8,\"perceived\":3}}"),
     .want = CXP_BAD_OUT_OF_RANGE, .detail = "'expected'", .detail2 = "dimensions.tangibles"},
    {.name = "servqual perceived 0",
     .json = SQ("{\"assurance\":{\"expected\":4,\"perceived\":0}}"),
     .want = CXP_BAD_OUT_OF_RANGE, .detail = "'perceived'", .detail2 = "dimensions.assurance"},
    BAD("category not allowed",
        HDR("complaint") ",\"case_id\":\"k1\",\"category\":\"bogus\",\"severity\":2}",
        CXP_BAD_OUT_OF_RANGE, "'category'"),
    BAD("severity 5",
        HDR("complaint") ",\"case_id\":\"k1\",\"category\":\"design\",\"severity\":5}",
        CXP_BAD_OUT_OF_RANGE, "'severity'"),
    BAD("severity 0",
        HDR("service.failure") ",\"case_id\":\"k1\",\"category\":\"design\",\"severity\":0,"
                               "\"detected_by\":\"provider\"}",
        CXP_BAD_OUT_OF_RANGE, "'severity'"),
    BAD("kano not allowed",
        HDR("complaint") ",\"case_id\":\"k1\",\"category\":\"design\",\"severity\":2,"
                         "\"kano\":\"meh\"}",
        CXP_BAD_OUT_OF_RANGE, "'kano'"),
    BAD("detected_by not allowed",
        HDR("service.failure") ",\"case_id\":\"k1\",\"category\":\"design\",\"severity\":2,"
                               "\"detected_by\":\"robot\"}",
        CXP_BAD_OUT_OF_RANGE, "'detected_by'"),
    BAD("sentiment 1.5",
        HDR("contact") ",\"wait_s\":1,\"handle_s\":2,\"resolved\":true,\"sentiment\":1.5}",
        CXP_BAD_OUT_OF_RANGE, "'sentiment'"),
    BAD("wait_s negative", HDR("contact") ",\"wait_s\":-1,\"handle_s\":2,\"resolved\":true}",
        CXP_BAD_OUT_OF_RANGE, "'wait_s'"),
    BAD("purchase amount negative", HDR("purchase") ",\"amount\":-0.01}",
        CXP_BAD_OUT_OF_RANGE, "'amount'"),
    BAD("usage count negative", HDR("usage") ",\"count\":-1}", CXP_BAD_OUT_OF_RANGE,
        "'count'"),
    BAD("clv negative", HDR("profile") ",\"segment\":\"gold\",\"clv\":-5}",
        CXP_BAD_OUT_OF_RANGE, "'clv'"),

    /* unknown_type */
    BAD("unknown type", HDR("survey.foo") ",\"score\":1}", CXP_BAD_UNKNOWN_TYPE, "'type'"),
    BAD("type is case-sensitive", HDR("Survey.CSAT") ",\"score\":1}", CXP_BAD_UNKNOWN_TYPE,
        "'type'"),
    BAD("recovery prefix only", HDR("recovery") ",\"case_id\":\"k\"}", CXP_BAD_UNKNOWN_TYPE,
        "'type'"),

    /* too_large: one byte over the limit. */
    {.name = "one byte over max_bytes", .json = CSAT_OK, .max_bytes = sizeof(CSAT_OK) - 2,
     .want = CXP_BAD_TOO_LARGE, .detail = "limit"},

    /* bad_timestamp */
    BAD("ts before 2000 (RFC 3339)",
        "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\","
        "\"ts\":\"1999-12-31T23:59:59Z\"}",
        CXP_BAD_TIMESTAMP, "'ts'"),
    BAD("ts before 2000 (1 ms)",
        "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\",\"ts\":946684799999}",
        CXP_BAD_TIMESTAMP, "'ts'"),
    BAD("ts 2100-01-01 (4102444800000)",
        "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\",\"ts\":4102444800000}",
        CXP_BAD_TIMESTAMP, "'ts'"),
    BAD("ts epoch seconds (1795417200 = 1970-01-21)",
        "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\",\"ts\":1795417200}",
        CXP_BAD_TIMESTAMP, "'ts'"),
    BAD("ts a float",
        "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\","
        "\"ts\":1795417200000.5}",
        CXP_BAD_TIMESTAMP, "'ts'"),
    BAD("ts a date only",
        "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\",\"ts\":\"2026-11-23\"}",
        CXP_BAD_TIMESTAMP, "'ts'"),
    BAD("ts without offset",
        "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\","
        "\"ts\":\"2026-11-23T07:00:00\"}",
        CXP_BAD_TIMESTAMP, "'ts'"),
    BAD("ts on 30 February",
        "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\","
        "\"ts\":\"2026-02-30T07:00:00Z\"}",
        CXP_BAD_TIMESTAMP, "'ts'"),
    BAD("ts a bool",
        "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\",\"ts\":true}",
        CXP_BAD_TIMESTAMP, "'ts'"),
    /* now = T0; T0 + 86400000 + 1000 = 1795503601000 is 1 s past the limit. */
    {.name = "ts 1 s past max_future",
     .json = "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\","
             "\"ts\":1795503601000}",
     .now_ms = T0, .want = CXP_BAD_TIMESTAMP, .detail = "'ts'", .detail2 = "future"},
    {.name = "future ts, now_ms set",
     .json = "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"type\":\"usage\","
             "\"ts\":1826953200000}",
     .now_ms = T0, .want = CXP_BAD_TIMESTAMP, .detail = "'ts'", .detail2 = "future"},
};

static void test_event_table(void) {
  cxp_arena arena;
  cxp_arena_init(&arena, 4096);
  cxp_arena_json_install();
  for (size_t i = 0; i < sizeof ev_cases / sizeof ev_cases[0]; i++) {
    const ev_case *c = &ev_cases[i];
    cxp_decode_opts o = {.max_bytes = c->max_bytes ? c->max_bytes : 65536,
                         .now_ms = c->now_ms,
                         .max_future_ms = 86400000LL};
    cxp_event ev;
    char detail[256];
    size_t len = c->len ? c->len : strlen(c->json);
    test_ctx = c->name;
    cxp_arena_json_begin(&arena);
    cxp_reason r = cxp_event_decode(c->json, len, &o, &ev, detail, sizeof detail);
    CHECK_STR(cxp_reason_name(r), cxp_reason_name(c->want));
    if (c->want == CXP_OK) {
      CHECK_STR(cxp_event_type_name(ev.type), cxp_event_type_name(c->type));
      if (c->score >= 0) CHECK_INT(ev.score, c->score);
      CHECK_INT(ev.ts_ms, c->ts ? c->ts : T0);
      if (r == CXP_OK && c->check) c->check(&ev);
    } else {
      CHECK_STR_NE(detail, "");
      if (c->detail) CHECK_CONTAINS(detail, c->detail);
      if (c->detail2) CHECK_CONTAINS(detail, c->detail2);
    }
    cxp_arena_json_end();
    cxp_arena_reset(&arena);
  }
  test_ctx = NULL;
  cxp_arena_close(&arena);

  /* The names of the reason codes are the stable contract of section 2. */
  CHECK_STR(cxp_reason_name(CXP_BAD_INVALID_JSON), "invalid_json");
  CHECK_STR(cxp_reason_name(CXP_BAD_MISSING_FIELD), "missing_field");
  CHECK_STR(cxp_reason_name(CXP_BAD_TYPE), "bad_type");
  CHECK_STR(cxp_reason_name(CXP_BAD_OUT_OF_RANGE), "out_of_range");
  CHECK_STR(cxp_reason_name(CXP_BAD_UNKNOWN_TYPE), "unknown_type");
  CHECK_STR(cxp_reason_name(CXP_BAD_TOO_LARGE), "too_large");
  CHECK_STR(cxp_reason_name(CXP_BAD_TIMESTAMP), "bad_timestamp");
  CHECK_STR(cxp_reason_name(CXP_BAD_LATE), "late");
  CHECK_STR(cxp_sq_dimension_name(CXP_SQ_RESPONSIVENESS), "responsiveness");
  CHECK_STR(cxp_sq_dimension_name(CXP_SQ__COUNT), "unknown");
}

/* --------------------------------------------------------------------------
 * event decoding: the fast path against the full parser */

static int same_str(cxp_str a, cxp_str b) {
  return (a.p == NULL) == (b.p == NULL) && a.n == b.n &&
         (a.p == NULL || memcmp(a.p, b.p, a.n) == 0);
}

/* Every field of two decoded events, doubles bit for bit. */
static int same_event(const cxp_event *a, const cxp_event *b) {
  const cxp_str *sa[] = {&a->event_id, &a->customer_id, &a->channel,  &a->segment,
                         &a->agent_id, &a->touchpoint,  &a->case_id,  &a->category,
                         &a->kano,     &a->attribute,   &a->detected_by, &a->referred_id,
                         &a->kind};
  const cxp_str *sb[] = {&b->event_id, &b->customer_id, &b->channel,  &b->segment,
                         &b->agent_id, &b->touchpoint,  &b->case_id,  &b->category,
                         &b->kano,     &b->attribute,   &b->detected_by, &b->referred_id,
                         &b->kind};
  for (size_t i = 0; i < sizeof sa / sizeof sa[0]; i++)
    if (!same_str(*sa[i], *sb[i])) return 0;
  const double da[] = {a->wait_s, a->handle_s, a->sentiment, a->amount, a->count, a->clv};
  const double db[] = {b->wait_s, b->handle_s, b->sentiment, b->amount, b->count, b->clv};
  return a->type == b->type && a->ts_ms == b->ts_ms && a->score == b->score &&
         a->sq_mask == b->sq_mask && a->resolved == b->resolved &&
         a->has_sentiment == b->has_sentiment && a->severity == b->severity &&
         a->root_cause_fixed == b->root_cause_fixed && a->has_clv == b->has_clv &&
         a->consent == b->consent && memcmp(da, db, sizeof da) == 0 &&
         memcmp(a->sq_expected, b->sq_expected, sizeof a->sq_expected) == 0 &&
         memcmp(a->sq_perceived, b->sq_perceived, sizeof a->sq_perceived) == 0;
}

/* Decodes buf both ways and checks that they agree on the reason, the
 * detail and every field. Returns the reason. */
static cxp_reason decode_both(cxp_arena *arena, const char *buf, size_t len) {
  cxp_decode_opts fast = {.max_bytes = 65536, .max_future_ms = 86400000LL};
  cxp_decode_opts full = fast;
  full.parser = CXP_PARSE_FULL;
  cxp_event a, b;
  char da[256], db[256];
  cxp_arena_json_begin(arena);
  cxp_reason ra = cxp_event_decode(buf, len, &fast, &a, da, sizeof da);
  cxp_reason rb = cxp_event_decode(buf, len, &full, &b, db, sizeof db);
  CHECK_STR(cxp_reason_name(ra), cxp_reason_name(rb));
  CHECK_STR(da, db);
  if (ra == CXP_OK && rb == CXP_OK) CHECK(same_event(&a, &b));
  cxp_arena_json_end();
  cxp_arena_reset(arena);
  return ra;
}

static void test_event_fast_path(void) {
  cxp_arena arena;
  cxp_arena_init(&arena, 4096);
  cxp_arena_json_install();
  cxp_decode_opts o = {.max_bytes = 65536, .max_future_ms = 86400000LL};
  cxp_event ev;
  char detail[256];

  /* Numbers as a C compiler reads them (correctly rounded), through the
   * fast path's digits / 10^d and, past 15 digits or with an exponent,
   * through the full parser. */
  static const struct {
    const char *amount;
    double want;
    int flat; /* read by the fast path: at most 15 digits, no exponent */
  } nums[] = {{"33.58", 33.58, 1},
              {"0.1", 0.1, 1},
              {"0", 0, 1},
              {"7", 7, 1},
              {"999999999999", 999999999999.0, 1},
              {"12345678901.2345", 12345678901.2345, 1},
              {"12345678.9012345", 12345678.9012345, 1},
              {"0.000000000000001", 0.000000000000001, 0},    /* 16 digits */
              {"123456789012.3456", 123456789012.3456, 0},    /* 16 digits */
              {"0.30000000000000004", 0.30000000000000004, 0}, /* 17 digits */
              {"2.5e3", 2500, 0},
              {"4E-1", 0.4, 0},
              {" 12.5 ", 12.5, 1}};
  cxp_decode_opts flat = {.max_bytes = 65536, .max_future_ms = 86400000LL,
                          .parser = CXP_PARSE_FLAT};
  for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
    char buf[256];
    int n = snprintf(buf, sizeof buf, HDR("purchase") ",\"amount\":%s}", nums[i].amount);
    test_ctx = nums[i].amount;
    cxp_arena_json_begin(&arena);
    CHECK_INT(cxp_event_decode(buf, (size_t)n, &o, &ev, detail, sizeof detail), CXP_OK);
    CHECK_EQ(memcmp(&ev.amount, &nums[i].want, sizeof ev.amount), 0);
    /* The fast path takes what it can, and only that. */
    CHECK_INT(cxp_event_decode(buf, (size_t)n, &flat, &ev, detail, sizeof detail),
              nums[i].flat ? CXP_OK : CXP_BAD_INVALID_JSON);
    if (nums[i].flat) CHECK_EQ(memcmp(&ev.amount, &nums[i].want, sizeof ev.amount), 0);
    cxp_arena_json_end();
    cxp_arena_reset(&arena);
    decode_both(&arena, buf, (size_t)n);
  }

  /* The strings end in place: each is NUL-terminated, and the message the
   * caller passed is left as it was. */
  static const char msg[] = "{ \"event_id\" : \"e9\" ,\r\n\t\"customer_id\":\"c\xc3\xa9\","
                            "\"type\":\"complaint\",\"ts\":1795417200000,\"case_id\":\"k1\","
                            "\"category\":\"promise\",\"severity\":3,\"kano\":\"must_be\","
                            "\"event_id\":\"ignored\",\"extra\":null,\"attribute\":null,"
                            "\"attribute\":\"zip\"} ";
  char copy[sizeof msg];
  memcpy(copy, msg, sizeof msg);
  test_ctx = "in place";
  cxp_arena_json_begin(&arena);
  CHECK_INT(cxp_event_decode(copy, sizeof msg - 1, &o, &ev, detail, sizeof detail), CXP_OK);
  CHECK_STR(ev.event_id.p, "e9"); /* the first of a repeated name */
  CHECK_STR(ev.customer_id.p, "c\xc3\xa9");
  CHECK_STR(ev.kano.p, "must_be");
  CHECK(ev.attribute.p == NULL); /* null is absent, and hides the later one */
  CHECK_INT(ev.severity, 3);
  CHECK_INT(ev.ts_ms, 1795417200000LL);
  CHECK_MEM(copy, sizeof msg, msg, sizeof msg);
  cxp_arena_json_end();
  cxp_arena_reset(&arena);
  decode_both(&arena, msg, sizeof msg - 1);

  /* Mutations of valid events of every shape: whatever a byte changed,
   * removed or added makes of an event, the fast path and cJSON say the
   * same of it. The alphabet leans on JSON's own bytes. */
  static const char *base[] = {
      HDR("survey.csat") ",\"score\":4,\"channel\":\"web\",\"agent_id\":\"a7\"}",
      HDR("survey.nps") ",\"score\":10,\"segment\":\"gold\"}",
      HDR("contact") ",\"wait_s\":12.5,\"handle_s\":300,\"resolved\":false,"
                     "\"sentiment\":-0.35}",
      HDR("service.failure") ",\"case_id\":\"k1\",\"category\":\"operational\","
                             "\"severity\":4,\"detected_by\":\"provider\","
                             "\"touchpoint\":\"billing\"}",
      HDR("recovery.compensated") ",\"case_id\":\"k1\",\"amount\":20}",
      HDR("recovery.resolved") ",\"case_id\":\"k1\",\"root_cause_fixed\":true}",
      HDR("usage") ",\"count\":3}",
      HDR("profile") ",\"segment\":\"gold\",\"clv\":1250.75,\"consent\":false}",
      HDR("feedback") ",\"kind\":\"praise\",\"extra\":[1,{\"a\":\"b\"}]}",
      SQ("{\"tangibles\":{\"expected\":6,\"perceived\":4.5},"
         "\"empathy\":{\"expected\":5,\"perceived\":5}}"),
      "{\"event_id\":\"e\\u0031\",\"customer_id\":\"c1\",\"type\":\"usage\","
      "\"ts\":\"2026-11-23T07:00:00.250+01:00\"}",
  };
  static const char alphabet[] = "{}[]\":,\\ \t\n\r\f0123456789.-+eEtrufalsn\x01\x7f\xc3\xa9xu"
                                 "\0\xff\xe2\x82";
  uint64_t rng = 0x9e3779b97f4a7c15ull;
  int ok = 0;
  char ctx[64];
  test_ctx = ctx;
  for (size_t b = 0; b < sizeof base / sizeof base[0]; b++) {
    snprintf(ctx, sizeof ctx, "base %zu", b);
    if (decode_both(&arena, base[b], strlen(base[b])) == CXP_OK) ok++;
    /* The first eight are flat: the fast path reads them (the comparison
     * above would hold as well if it read none). The last three have a
     * nested member or an escape: the full parser's. */
    cxp_arena_json_begin(&arena);
    CHECK_INT(cxp_event_decode(base[b], strlen(base[b]), &flat, &ev, detail, sizeof detail),
              b < 8 ? CXP_OK : CXP_BAD_INVALID_JSON);
    cxp_arena_json_end();
    cxp_arena_reset(&arena);
  }
  CHECK_INT(ok, (int)(sizeof base / sizeof base[0]));
  ok = 0;
  for (int i = 0; i < 30000; i++) {
    char buf[512];
    const char *src = base[i % (sizeof base / sizeof base[0])];
    size_t n = strlen(src);
    memcpy(buf, src, n);
    int edits = 1 + (int)(i / 10000); /* 1, 2, then 3 edits */
    for (int e = 0; e < edits && n > 1; e++) {
      rng = rng * 6364136223846793005ull + 1442695040888963407ull;
      size_t at = (size_t)(rng >> 33) % n;
      char ch = alphabet[(rng >> 20) % (sizeof alphabet - 1)];
      switch ((rng >> 10) % 4) {
      case 0: buf[at] = ch; break;
      case 1: memmove(buf + at, buf + at + 1, n - at - 1); n--; break;
      case 2: memmove(buf + at + 1, buf + at, n - at); buf[at] = ch; n++; break;
      default: n = at + 1; break; /* cut short */
      }
    }
    snprintf(ctx, sizeof ctx, "mutation %d of base %zu", i,
             (size_t)i % (sizeof base / sizeof base[0]));
    if (decode_both(&arena, buf, n) == CXP_OK) ok++;
  }
  test_ctx = NULL;
  /* Some mutations leave a valid event (a digit for a digit, white space),
   * most do not: both kinds are covered. */
  CHECK_GT(ok, 1000);
  CHECK_LT(ok, 25000);
  cxp_arena_close(&arena);
}

/* --------------------------------------------------------------------------
 * per-customer state */

static cxp_event survey(cxp_event_type t, int64_t ts, int score) {
  cxp_event ev;
  memset(&ev, 0, sizeof ev);
  ev.type = t;
  ev.ts_ms = ts;
  ev.score = score;
  return ev;
}

static void test_customer_surveys(void) {
  cxp_state st;
  cxp_state_init(&st);
  cxp_shard *sh = cxp_state_shard(&st, 0);
  const int64_t hl = 2592000000LL; /* 30 d */

  /* No responses yet: -1. */
  cxp_customer *a = cxp_shard_get(&st, sh, "a", 1);
  CHECK_NEAR(cxp_customer_csat(a), -1, 0);
  CHECK_NEAR(cxp_customer_nps_mean(a), -1, 0);
  CHECK_INT(a->nps_last_score, -1);

  /* CSAT 5 at T0 and 2 at T0 + 30 d, read at T0 + 30 d: weights 0.5 and 1;
   * satisfied share 0.5 / 1.5 = 33.333...%. The reverse order agrees. */
  cxp_event e1 = survey(CXP_EV_CSAT, T0, 5), e2 = survey(CXP_EV_CSAT, T0 + hl, 2);
  cxp_customer_apply(a, &e1, &TP);
  cxp_customer_apply(a, &e2, &TP);
  CHECK_NEAR(cxp_customer_csat(a), 100.0 / 3.0, 1e-9);
  cxp_customer *b = cxp_shard_get(&st, sh, "b", 1);
  cxp_customer_apply(b, &e2, &TP);
  cxp_customer_apply(b, &e1, &TP);
  CHECK_NEAR(cxp_customer_csat(b), 100.0 / 3.0, 1e-9);
  CHECK_NEAR(cxp_customer_csat(a), cxp_customer_csat(b), 1e-9);
  CHECK_INT(a->last_ts_ms, T0 + hl);
  CHECK_INT(b->last_ts_ms, T0 + hl);
  /* CSAT responses leave NPS alone. */
  CHECK_NEAR(cxp_customer_nps_mean(a), -1, 0);

  /* NPS 10 at T0 and 4 at T0 + 30 d: (0.5 * 10 + 1 * 4) / 1.5 = 9 / 1.5 = 6. The
   * latest by event time is 4 whatever the arrival order. */
  cxp_event n1 = survey(CXP_EV_NPS, T0, 10), n2 = survey(CXP_EV_NPS, T0 + hl, 4);
  cxp_customer *c = cxp_shard_get(&st, sh, "c", 1);
  cxp_customer_apply(c, &n1, &TP);
  cxp_customer_apply(c, &n2, &TP);
  CHECK_NEAR(cxp_customer_nps_mean(c), 6.0, 1e-9);
  CHECK_INT(c->nps_last_score, 4);
  cxp_customer *d = cxp_shard_get(&st, sh, "d", 1);
  cxp_customer_apply(d, &n2, &TP);
  cxp_customer_apply(d, &n1, &TP);
  CHECK_NEAR(cxp_customer_nps_mean(d), 6.0, 1e-9);
  CHECK_INT(d->nps_last_score, 4);
  CHECK_NEAR(cxp_customer_csat(d), -1, 0);
  /* Two NPS responses with the same ts: the lower score is the latest in
   * either arrival order. */
  cxp_event q1 = survey(CXP_EV_NPS, T0, 9), q2 = survey(CXP_EV_NPS, T0, 3);
  cxp_customer *qa = cxp_shard_get(&st, sh, "qa", 2), *qb = cxp_shard_get(&st, sh, "qb", 2);
  cxp_customer_apply(qa, &q1, &TP);
  cxp_customer_apply(qa, &q2, &TP);
  cxp_customer_apply(qb, &q2, &TP);
  cxp_customer_apply(qb, &q1, &TP);
  CHECK_INT(qa->nps_last_score, 3);
  CHECK_INT(qb->nps_last_score, 3);

  /* Three CSAT responses in all six orders: 4 at T0, 3 at T0 + 15 d, 5 at
   * T0 + 60 d. Weights at T0 + 60 d: 2^-2 = 0.25, 2^-1.5 = 0.353553390593, 1.
   * Satisfied (4, 5): 1.25; all: 1.603553390593; share 77.9518790788%. */
  const cxp_event t3[3] = {survey(CXP_EV_CSAT, T0, 4),
                           survey(CXP_EV_CSAT, T0 + 15 * D_MS, 3),
                           survey(CXP_EV_CSAT, T0 + 60 * D_MS, 5)};
  const int perm[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
  for (int p = 0; p < 6; p++) {
    char id[8];
    snprintf(id, sizeof id, "p%d", p);
    cxp_customer *cu = cxp_shard_get(&st, sh, id, strlen(id));
    for (int i = 0; i < 3; i++) cxp_customer_apply(cu, &t3[perm[p][i]], &TP);
    CHECK_NEAR(cxp_customer_csat(cu), 77.9518790788, 1e-9);
  }

  /* Across a landmark move: CSAT 5 at T0, 2 at T0 + 360 d (12 half-lives).
   * Share 2^-12 / (2^-12 + 1) = 1 / 4097 = 0.0244081034903588%. T0 + 360 d =
   * 1826521200000 lies past the grid line 44 * 41472000000 = 1824768000000,
   * so the forward order rescales; both orders end on that landmark. */
  cxp_event f1 = survey(CXP_EV_CSAT, T0, 5), f2 = survey(CXP_EV_CSAT, T0 + 360 * D_MS, 2);
  cxp_customer *g = cxp_shard_get(&st, sh, "g", 1), *r = cxp_shard_get(&st, sh, "r", 1);
  cxp_customer_apply(g, &f1, &TP);
  CHECK_INT(g->landmark_ms[CXP_HL_MAIN], 1783296000000LL);
  cxp_customer_apply(g, &f2, &TP);
  cxp_customer_apply(r, &f2, &TP);
  cxp_customer_apply(r, &f1, &TP);
  CHECK_INT(g->landmark_ms[CXP_HL_MAIN], 1824768000000LL);
  CHECK_INT(r->landmark_ms[CXP_HL_MAIN], 1824768000000LL);
  /* Fixed point: the older response, 2^-11.3 of the newer, keeps about 17
   * bits after the 16-bit shift of the move, so 1e-6 points is the bound. */
  CHECK_NEAR(cxp_customer_csat(g), 100.0 / 4097.0, 1e-6);
  CHECK_NEAR(cxp_customer_csat(r), 100.0 / 4097.0, 1e-6);

  /* NPS classes at every boundary. */
  static const int cls[11] = {-1, -1, -1, -1, -1, -1, -1, 0, 0, 1, 1};
  for (int s = 0; s <= 10; s++) CHECK_INT(cxp_nps_class(s), cls[s]);

  cxp_state_close(&st);
}

static void test_customer_dedup(void) {
  cxp_state st;
  cxp_state_init(&st);
  cxp_shard *sh = cxp_state_shard(&st, 2);
  cxp_customer *c = cxp_shard_get(&st, sh, "c1", 2);

  /* By offset: an offset at or below the last applied one is a replay. */
  CHECK_INT(cxp_customer_seen(c, 5, "e1", 2), 0);
  CHECK_INT(c->last_offset, 5);
  CHECK_INT(cxp_customer_seen(c, 5, "e2", 2), 1);
  CHECK_INT(cxp_customer_seen(c, 4, "e3", 2), 1);
  /* By event id at a new offset. */
  CHECK_INT(cxp_customer_seen(c, 6, "e1", 2), 1);
  CHECK_INT(cxp_customer_seen(c, 7, "e4", 2), 0);
  CHECK_INT(c->last_offset, 7);

  /* The id ring holds 8: fill r0..r7 (offset -1 skips the offset test). */
  cxp_customer *d = cxp_shard_get(&st, sh, "d", 1);
  char id[4] = "r0";
  for (int i = 0; i < 8; i++) {
    id[1] = (char)('0' + i);
    CHECK_INT(cxp_customer_seen(d, -1, id, 2), 0);
  }
  CHECK_INT(cxp_customer_seen(d, -1, "r0", 2), 1); /* all 8 still known */
  CHECK_INT(cxp_customer_seen(d, -1, "r7", 2), 1);
  CHECK_INT(cxp_customer_seen(d, -1, "r8", 2), 0); /* the 9th pushes r0 out */
  CHECK_INT(cxp_customer_seen(d, -1, "r0", 2), 0); /* forgotten; re-enters over r1 */
  CHECK_INT(cxp_customer_seen(d, -1, "r2", 2), 1);
  CHECK_INT(cxp_customer_seen(d, -1, "r1", 2), 0);
  CHECK_INT(d->last_offset, -1);

  /* The shard table: the same id is the same customer; growth past the load
   * limit (512 of 1024 slots) keeps every customer findable. */
  CHECK(cxp_shard_get(&st, sh, "c1", 2) == c);
  CHECK(cxp_shard_find(sh, "c1", 2) == c);
  CHECK(cxp_shard_find(sh, "c", 1) == NULL);
  for (int i = 0; i < 1500; i++) {
    char k[16];
    snprintf(k, sizeof k, "cust-%d", i);
    cxp_shard_get(&st, sh, k, strlen(k));
  }
  /* c1, d and 1500 more. */
  CHECK_INT(sh->count, 1502);
  CHECK_INT(st.customers, 1502);
  CHECK_GE(sh->cap, 2 * 1502);
  CHECK(cxp_shard_find(sh, "c1", 2) == c);
  CHECK(cxp_shard_find(sh, "cust-1499", 9) != NULL);
  CHECK(cxp_shard_find(sh, "cust-1500", 9) == NULL);
  /* An id longer than 128 bytes is never stored. */
  char longid[130];
  memset(longid, 'z', sizeof longid);
  CHECK(cxp_shard_get(&st, sh, longid, 129) == NULL);
  /* Another partition is another shard; dropping one forgets its customers. */
  cxp_shard *sh9 = cxp_state_shard(&st, 9);
  CHECK(sh9 != sh);
  cxp_shard_get(&st, sh9, "c1", 2);
  CHECK_INT(st.customers, 1503);
  cxp_state_drop(&st, 2);
  CHECK_INT(st.customers, 1);
  CHECK(cxp_state_shard(&st, -1) == NULL);
  cxp_state_close(&st);
}

/* --------------------------------------------------------------------------
 * the core, end to end */

/* The closed-loop tests' pipeline: the satisfaction alerts have tests of
 * their own. */
static void closed_loop_pipeline(cxp_pipeline *pl) {
  customers_only(pl);
  pl->drop_enabled = pl->sq_enabled = 0;
}

/* A core at that pipeline, its outputs into `out`, emptied. */
static void closed_loop_core(cxp_core *core, cxp_pipeline *pl, outs *out) {
  closed_loop_pipeline(pl);
  out->n = 0;
  cxp_core_init(core, pl, collect, out);
}

#define RECV_MS (T0 + 5000)  /* 2026-11-23T07:00:05.000Z */
#define NOW_MS (T0 + 6000)   /* 2026-11-23T07:00:06.000Z */

static cxp_reason feed_len(cxp_core *c, int32_t part, int64_t off, const char *payload,
                           size_t len) {
  cxp_msg m;
  memset(&m, 0, sizeof m);
  m.topic = "cx.events";
  m.partition = part;
  m.offset = off;
  m.payload = payload;
  m.len = len;
  m.key = "kk";
  m.key_len = 2;
  m.received_ms = RECV_MS;
  m.now_ms = NOW_MS;
  return cxp_core_process(c, &m);
}

static cxp_reason feed(cxp_core *c, int32_t part, int64_t off, const char *payload) {
  return feed_len(c, part, off, payload, strlen(payload));
}

/* An NPS response as JSON; `extra` is appended inside the object. */
static const char *nps(char *buf, size_t n, const char *eid, const char *cid, int64_t ts,
                       int score, const char *extra) {
  snprintf(buf, n,
           "{\"event_id\":\"%s\",\"customer_id\":\"%s\",\"type\":\"survey.nps\","
           "\"ts\":%lld,\"score\":%d%s}",
           eid, cid, (long long)ts, score, extra ? extra : "");
  return buf;
}

static int jnull(const cJSON *o, const char *k) {
  return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, k));
}

static void test_core_closed_loop(void) {
  static outs out;
  cxp_pipeline pl;
  cxp_core core;
  char buf[512];
  closed_loop_core(&core, &pl, &out);

  /* A detractor (2): exactly one closed-loop alert, P2. */
  CHECK_INT(feed(&core, 0, 1, nps(buf, sizeof buf, "e1", "c1", T0, 2, NULL)), CXP_OK);
  CHECK_INT(out.n, 1);
  CHECK_INT(count_stream(&out, CXP_STREAM_ALERTS), 1);
  CHECK_INT(core.n.alerts[CXP_AL_CLOSED_LOOP], 1);
  CHECK_INT(core.n.processed, 1);
  CHECK_INT(core.n.consumed, 1);
  CHECK_INT(core.n.by_type[CXP_EV_NPS], 1);
  CHECK_INT(core.n.outputs[CXP_STREAM_ALERTS], 1);
  if (out.n == 1) {
    CHECK_STR(out.key[0], "c1"); /* keyed by customer_id */
    cJSON *j = cJSON_Parse(out.val[0]);
    CHECK(j != NULL);
    CHECK_STR(get_s(j, "type"), "recovery.closed_loop");
    CHECK_STR(get_s(j, "priority"), "P2");
    CHECK_STR(get_s(j, "customer_id"), "c1");
    CHECK_STR(get_s(j, "event_id"), "e1");
    CHECK(jnull(j, "segment"));
    const char *aid = get_s(j, "alert_id");
    CHECK(aid != NULL);
    if (aid) {
      CHECK_INT(strlen(aid), 32);
      CHECK_INT(strspn(aid, "0123456789abcdef"), 32);
    }
    const char *cid = get_s(j, "case_id");
    /* "cl-" and 16 hex digits. */
    CHECK(cid != NULL);
    if (cid) {
      CHECK_INT(strlen(cid), 19);
      CHECK_PREFIX(cid, "cl-");
      if (strlen(cid) == 19) CHECK_INT(strspn(cid + 3, "0123456789abcdef"), 16);
    }
    CHECK_STR(get_s(j, "event_ts"), "2026-11-23T07:00:00.000Z");
    CHECK_STR(get_s(j, "emitted_at"), "2026-11-23T07:00:06.000Z"); /* now_ms */
    /* deadline: T0 + 48 h = 2026-11-25T07:00Z. */
    CHECK_STR(get_s(j, "deadline"), "2026-11-25T07:00:00.000Z");
    CHECK_STR(get_s(j, "role"), "frontline_agent");
    CHECK_STR(get_s(j, "pipeline"), "default");
    CHECK_STR(get_s(j, "schema"), "cxpulse.alert/1");
    const cJSON *acts = cJSON_GetObjectItemCaseSensitive(j, "actions");
    CHECK_INT(cJSON_GetArraySize(acts), 3);
    CHECK_STR(cJSON_GetArrayItem(acts, 0)->valuestring, "contact_customer");
    CHECK_STR(cJSON_GetArrayItem(acts, 2)->valuestring, "log_root_cause");
    /* Reasons: the score (2, contribution 1) and the decayed mean, which over
     * one response is that response: 2. No CSAT yet, so no csat reason. */
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(j, "reasons");
    CHECK_INT(cJSON_GetArraySize(rs), 2);
    const cJSON *r0 = cJSON_GetArrayItem(rs, 0), *r1 = cJSON_GetArrayItem(rs, 1);
    CHECK_STR(get_s(r0, "factor"), "nps_score");
    CHECK_NEAR(get_n(r0, "value"), 2, 0);
    CHECK_NEAR(get_n(r0, "contribution"), 1, 0);
    CHECK_STR(get_s(r1, "factor"), "nps_decayed_mean");
    CHECK_NEAR(get_n(r1, "value"), 2, 1e-9);
    cJSON_Delete(j);
  }
  out.n = 0;

  /* A promoter (9), a passive (7) give none; the NPS mean still moves. */
  CHECK_INT(feed(&core, 0, 2, nps(buf, sizeof buf, "p1", "c2", T0, 9, NULL)), CXP_OK);
  CHECK_INT(feed(&core, 0, 3, nps(buf, sizeof buf, "p2", "c3", T0, 7, NULL)), CXP_OK);
  CHECK_INT(out.n, 0);
  CHECK_INT(core.n.processed, 3);

  /* Reasons include the customer's CSAT once one is known: CSAT 4 at T0 - 30 d
   * and 1 at T0 give 0.5 / 1.5 = 33.3333%. NPS 10 at T0 - 30 d and 6 at T0
   * give (0.5 * 10 + 6) / 1.5 = 7.3333. */
  char b2[512];
  snprintf(b2, sizeof b2,
           "{\"event_id\":\"s1\",\"customer_id\":\"c4\",\"type\":\"survey.csat\","
           "\"ts\":%lld,\"score\":4}", (long long)(T0 - 30 * D_MS));
  CHECK_INT(feed(&core, 0, 4, b2), CXP_OK);
  snprintf(b2, sizeof b2,
           "{\"event_id\":\"s2\",\"customer_id\":\"c4\",\"type\":\"survey.csat\","
           "\"ts\":%lld,\"score\":1}", (long long)T0);
  CHECK_INT(feed(&core, 0, 5, b2), CXP_OK);
  CHECK_INT(feed(&core, 0, 6, nps(buf, sizeof buf, "s3", "c4", T0 - 30 * D_MS, 10, NULL)),
            CXP_OK);
  CHECK_INT(out.n, 0);
  CHECK_INT(feed(&core, 0, 7, nps(buf, sizeof buf, "s4", "c4", T0, 6, NULL)), CXP_OK);
  CHECK_INT(out.n, 1);
  if (out.n == 1) {
    cJSON *j = cJSON_Parse(out.val[0]);
    CHECK_STR(get_s(j, "priority"), "P3");
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(j, "reasons");
    CHECK_INT(cJSON_GetArraySize(rs), 3);
    CHECK_STR(get_s(cJSON_GetArrayItem(rs, 1), "factor"), "nps_decayed_mean");
    CHECK_NEAR(get_n(cJSON_GetArrayItem(rs, 1), "value"), 11.0 / 1.5, 1e-4);
    CHECK_STR(get_s(cJSON_GetArrayItem(rs, 2), "factor"), "csat");
    CHECK_NEAR(get_n(cJSON_GetArrayItem(rs, 2), "value"), 100.0 / 3.0, 1e-4);
    cJSON_Delete(j);
  }
  out.n = 0;
  cxp_core_close(&core);
}

static void test_core_priority(void) {
  static outs out;
  cxp_pipeline pl;
  cxp_core core;
  char buf[512], cid[32], eid[32];
  closed_loop_core(&core, &pl, &out);

  /* Scores 0-3: P2, 4-6: P3, 7-10: none. Premium ("gold"): P1 and P2; a
   * segment not in the premium list ("silver") is not lifted. Each score goes
   * to a customer of its own, so no cooldown interferes. */
  static const char *segs[3] = {NULL, "gold", "silver"};
  static const char *want[3][11] = {
      {"P2", "P2", "P2", "P2", "P3", "P3", "P3", NULL, NULL, NULL, NULL},
      {"P1", "P1", "P1", "P1", "P2", "P2", "P2", NULL, NULL, NULL, NULL},
      {"P2", "P2", "P2", "P2", "P3", "P3", "P3", NULL, NULL, NULL, NULL}};
  int64_t off = 0;
  for (int s = 0; s < 3; s++) {
    for (int score = 0; score <= 10; score++) {
      char extra[64] = "", ctx[64];
      snprintf(cid, sizeof cid, "c-%d-%d", s, score);
      snprintf(eid, sizeof eid, "e-%d-%d", s, score);
      if (segs[s]) snprintf(extra, sizeof extra, ",\"segment\":\"%s\"", segs[s]);
      snprintf(ctx, sizeof ctx, "segment %s score %d", segs[s] ? segs[s] : "-", score);
      test_ctx = ctx;
      CHECK_INT(feed(&core, 0, ++off, nps(buf, sizeof buf, eid, cid, T0, score, extra)),
                CXP_OK);
      CHECK_INT(out.n, want[s][score] ? 1 : 0);
      if (out.n == 1 && want[s][score]) {
        cJSON *j = cJSON_Parse(out.val[0]);
        CHECK_STR(get_s(j, "priority"), want[s][score]);
        if (segs[s])
          CHECK_STR(get_s(j, "segment"), segs[s]);
        else
          CHECK(jnull(j, "segment"));
        cJSON_Delete(j);
      }
      out.n = 0;
    }
  }
  test_ctx = NULL;
  /* 2 x 7 detractors per segment kind: 21 alerts. */
  CHECK_INT(core.n.alerts[CXP_AL_CLOSED_LOOP], 21);

  /* The segment sticks: a profile says "platinum", the later NPS says nothing. */
  snprintf(buf, sizeof buf,
           "{\"event_id\":\"pr1\",\"customer_id\":\"cp\",\"type\":\"profile\","
           "\"ts\":%lld,\"segment\":\"platinum\"}", (long long)T0);
  CHECK_INT(feed(&core, 0, ++off, buf), CXP_OK);
  CHECK_INT(feed(&core, 0, ++off, nps(buf, sizeof buf, "np1", "cp", T0 + 1, 5, NULL)),
            CXP_OK);
  CHECK_INT(out.n, 1);
  if (out.n == 1) {
    cJSON *j = cJSON_Parse(out.val[0]);
    CHECK_STR(get_s(j, "priority"), "P2"); /* 5 is P3, lifted to P2 */
    CHECK_STR(get_s(j, "segment"), "platinum");
    cJSON_Delete(j);
  }
  out.n = 0;

  /* With closed_loop disabled a detractor raises nothing. */
  cxp_core_close(&core);
  pl.closed_loop_enabled = 0;
  cxp_core_init(&core, &pl, collect, &out);
  CHECK_INT(feed(&core, 0, 1, nps(buf, sizeof buf, "x1", "cx", T0, 0, NULL)), CXP_OK);
  CHECK_INT(out.n, 0);
  CHECK_INT(core.n.processed, 1);
  out.n = 0;
  cxp_core_close(&core);
}

static void test_core_cooldown(void) {
  static outs out;
  cxp_pipeline pl;
  cxp_core core;
  char buf[512];
  closed_loop_core(&core, &pl, &out);

  /* Cooldown 24 h = 86400000 ms in event time. */
  CHECK_INT(feed(&core, 0, 1, nps(buf, sizeof buf, "e1", "c1", T0, 1, NULL)), CXP_OK);
  CHECK_INT(out.n, 1);
  /* 23 h 59 min 59.999 s later: suppressed. */
  CHECK_INT(feed(&core, 0, 2, nps(buf, sizeof buf, "e2", "c1", T0 + D_MS - 1, 1, NULL)),
            CXP_OK);
  CHECK_INT(out.n, 1);
  CHECK_INT(core.n.suppressed_cooldown, 1);
  /* Exactly 24 h after the first alert: alerted again. */
  CHECK_INT(feed(&core, 0, 3, nps(buf, sizeof buf, "e3", "c1", T0 + D_MS, 1, NULL)),
            CXP_OK);
  CHECK_INT(out.n, 2);
  /* 12 h after that second alert: suppressed (the window restarts at each alert). */
  CHECK_INT(feed(&core, 0, 4, nps(buf, sizeof buf, "e4", "c1", T0 + D_MS + 12 * H_MS, 1,
                                  NULL)),
            CXP_OK);
  CHECK_INT(out.n, 2);
  CHECK_INT(core.n.suppressed_cooldown, 2);
  /* The cooldown is per customer: another customer at the same time alerts. */
  CHECK_INT(feed(&core, 0, 5, nps(buf, sizeof buf, "e5", "c2", T0 + D_MS + 12 * H_MS, 1,
                                  NULL)),
            CXP_OK);
  CHECK_INT(out.n, 3);
  CHECK_INT(core.n.alerts[CXP_AL_CLOSED_LOOP], 3);
  CHECK_INT(core.n.processed, 5);
  out.n = 0;

  /* A late detractor is judged against the cooldown on both sides of the
   * last alert, and never moves the stamp back. (1) Detractor at T0 alerts; one at
   * T0 - 1 h arriving later alerts too, 1 h apart, where the reverse arrival
   * order gives one alert. (2) Then one at T0 + 1 h is 1 h after the alert at
   * T0 and must be suppressed, but against the moved stamp (T0 - 48 h here)
   * 49 h >= 24 h lets it through. */
  CHECK_INT(feed(&core, 1, 1, nps(buf, sizeof buf, "o1", "c9", T0, 1, NULL)), CXP_OK);
  CHECK_INT(out.n, 1);
  CHECK_INT(feed(&core, 1, 2, nps(buf, sizeof buf, "o2", "c9", T0 - H_MS, 1, NULL)),
            CXP_OK);
  CHECK_INT(out.n, 1); /* (1) suppressed */
  out.n = 0;
  CHECK_INT(feed(&core, 1, 3, nps(buf, sizeof buf, "o3", "c8", T0, 1, NULL)), CXP_OK);
  CHECK_INT(feed(&core, 1, 4, nps(buf, sizeof buf, "o4", "c8", T0 - 48 * H_MS, 1, NULL)),
            CXP_OK);
  int before = out.n; /* 2: the T0 - 48 h one is 48 h from T0, a fair alert */
  CHECK_INT(feed(&core, 1, 5, nps(buf, sizeof buf, "o5", "c8", T0 + H_MS, 1, NULL)),
            CXP_OK);
  CHECK_INT(out.n, before); /* (2) suppressed */
  out.n = 0;
  cxp_core_close(&core);
}

static void test_core_consent_dup(void) {
  static outs out;
  cxp_pipeline pl;
  cxp_core core;
  char buf[512];
  closed_loop_core(&core, &pl, &out);

  /* consent:false keeps the detractor out of outreach, yet the response still
   * counts in the customer's aggregates. */
  snprintf(buf, sizeof buf,
           "{\"event_id\":\"pf\",\"customer_id\":\"c1\",\"type\":\"profile\","
           "\"ts\":%lld,\"segment\":\"gold\",\"consent\":false}", (long long)T0);
  CHECK_INT(feed(&core, 0, 1, buf), CXP_OK);
  CHECK_INT(feed(&core, 0, 2, nps(buf, sizeof buf, "e1", "c1", T0 + 1000, 0, NULL)),
            CXP_OK);
  CHECK_INT(out.n, 0);
  CHECK_INT(core.n.suppressed_consent, 1);
  CHECK_INT(core.n.alerts[CXP_AL_CLOSED_LOOP], 0);
  CHECK_INT(core.n.processed, 2);
  cxp_customer *cu = cxp_shard_find(cxp_state_shard(&core.state, 0), "c1", 2);
  CHECK(cu != NULL);
  if (cu) CHECK_NEAR(cxp_customer_nps_mean(cu), 0, 1e-12);
  /* A profile that does not mention consent leaves it as it was. */
  snprintf(buf, sizeof buf,
           "{\"event_id\":\"pf2\",\"customer_id\":\"c1\",\"type\":\"profile\","
           "\"ts\":%lld,\"segment\":\"gold\"}", (long long)T0 + 2000);
  CHECK_INT(feed(&core, 0, 3, buf), CXP_OK);
  CHECK_INT(feed(&core, 0, 4, nps(buf, sizeof buf, "e2", "c1", T0 + 3000, 0, NULL)),
            CXP_OK);
  CHECK_INT(out.n, 0);
  CHECK_INT(core.n.suppressed_consent, 2);
  /* Consent given again: the next detractor alerts (P2 lifted to P1, gold). */
  snprintf(buf, sizeof buf,
           "{\"event_id\":\"pf3\",\"customer_id\":\"c1\",\"type\":\"profile\","
           "\"ts\":%lld,\"segment\":\"gold\",\"consent\":true}", (long long)T0 + 4000);
  CHECK_INT(feed(&core, 0, 5, buf), CXP_OK);
  CHECK_INT(feed(&core, 0, 6, nps(buf, sizeof buf, "e3", "c1", T0 + 5000, 0, NULL)),
            CXP_OK);
  CHECK_INT(out.n, 1);
  if (out.n == 1) {
    cJSON *j = cJSON_Parse(out.val[0]);
    CHECK_STR(get_s(j, "priority"), "P1");
    CHECK_STR(get_s(j, "event_id"), "e3");
    cJSON_Delete(j);
  }
  out.n = 0;

  /* Duplicates: the same event id at a new offset, then an old offset with a
   * new id. Neither alerts, both are counted, neither is "processed". */
  CHECK_INT(feed(&core, 0, 10, nps(buf, sizeof buf, "d1", "c2", T0, 2, NULL)), CXP_OK);
  CHECK_INT(out.n, 1);
  uint64_t processed = core.n.processed;
  CHECK_INT(feed(&core, 0, 11, nps(buf, sizeof buf, "d1", "c2", T0 + D_MS * 2, 2, NULL)),
            CXP_OK);
  CHECK_INT(feed(&core, 0, 10, nps(buf, sizeof buf, "d2", "c2", T0 + D_MS * 3, 2, NULL)),
            CXP_OK);
  CHECK_INT(out.n, 1);
  CHECK_INT(core.n.duplicates, 2);
  CHECK_INT(core.n.processed, processed);
  CHECK_INT(core.n.alerts[CXP_AL_CLOSED_LOOP], 2);
  /* The duplicate's response did not enter the mean: still 2. */
  cxp_customer *c2 = cxp_shard_find(cxp_state_shard(&core.state, 0), "c2", 2);
  if (c2) CHECK_NEAR(cxp_customer_nps_mean(c2), 2, 1e-12);
  out.n = 0;
  cxp_core_close(&core);
}

/* The alert id of one detractor response processed in a fresh core. */
static void alert_id_of(const cxp_pipeline *pl, const char *eid, const char *cid,
                        char id[33], char case_id[20]) {
  static outs out;
  cxp_core core;
  char buf[512];
  id[0] = case_id[0] = '\0';
  out.n = 0;
  cxp_core_init(&core, pl, collect, &out);
  feed(&core, 0, 1, nps(buf, sizeof buf, eid, cid, T0, 3, NULL));
  CHECK_INT(out.n, 1);
  if (out.n == 1) {
    cJSON *j = cJSON_Parse(out.val[0]);
    const char *a = get_s(j, "alert_id"), *c = get_s(j, "case_id");
    if (a && strlen(a) == 32) memcpy(id, a, 33);
    if (c && strlen(c) == 19) memcpy(case_id, c, 20);
    cJSON_Delete(j);
  }
  out.n = 0;
  cxp_core_close(&core);
}

static void test_core_alert_id(void) {
  cxp_pipeline pl, other;
  closed_loop_pipeline(&pl);
  customers_only(&other);
  snprintf(other.name, sizeof other.name, "other");
  char a1[33], a2[33], a3[33], a4[33], a5[33];
  char k1[20], k2[20], k3[20], k4[20], k5[20];
  alert_id_of(&pl, "e1", "c1", a1, k1);
  alert_id_of(&pl, "e1", "c1", a2, k2);
  alert_id_of(&pl, "e2", "c1", a3, k3);
  alert_id_of(&pl, "e1", "c2", a4, k4);
  alert_id_of(&other, "e1", "c1", a5, k5);
  /* A replay yields the same ids. */
  CHECK_INT(strlen(a1), 32);
  CHECK_STR(a1, a2);
  CHECK_STR(k1, k2);
  /* Another triggering event, customer or pipeline: other ids. */
  CHECK_STR_NE(a1, a3);
  CHECK_STR_NE(k1, k3);
  CHECK_STR_NE(a1, a4);
  CHECK_STR_NE(a1, a5);
  CHECK_STR_NE(k1, k5);
}

static void test_core_dead_letters(void) {
  static outs out;
  cxp_pipeline pl;
  cxp_core core;
  char buf[512];
  closed_loop_core(&core, &pl, &out);

  /* NPS 11: one dead letter, out_of_range, naming the field. */
  const char *bad = "{\"event_id\":\"b1\",\"customer_id\":\"c1\",\"type\":\"survey.nps\","
                    "\"ts\":\"2026-11-23T07:00:00Z\",\"score\":11}";
  CHECK_INT(feed(&core, 3, 42, bad), CXP_BAD_OUT_OF_RANGE);
  CHECK_INT(out.n, 1);
  CHECK_INT(count_stream(&out, CXP_STREAM_DEAD_LETTERS), 1);
  CHECK_INT(core.n.dead[CXP_BAD_OUT_OF_RANGE], 1);
  CHECK_INT(core.n.processed, 0);
  CHECK_INT(core.n.consumed, 1);
  if (out.n == 1) {
    CHECK_STR(out.key[0], "kk"); /* keyed like the input */
    cJSON *j = cJSON_Parse(out.val[0]);
    CHECK(j != NULL);
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(j, "source");
    CHECK_STR(get_s(src, "topic"), "cx.events");
    CHECK_NEAR(get_n(src, "partition"), 3, 0);
    CHECK_NEAR(get_n(src, "offset"), 42, 0);
    CHECK_STR(get_s(j, "reason"), "out_of_range");
    CHECK_CONTAINS(get_s(j, "detail"), "score");
    CHECK_STR(get_s(j, "payload"), bad);
    CHECK_STR(get_s(j, "payload_encoding"), "utf-8");
    CHECK_STR(get_s(j, "received_at"), "2026-11-23T07:00:05.000Z"); /* RECV_MS */
    CHECK_STR(get_s(j, "pipeline"), "default");
    CHECK_STR(get_s(j, "schema"), "cxpulse.dead_letter/1");
    cJSON_Delete(j);
  }
  out.n = 0;

  /* Processing goes on: the next good event (a detractor) is applied. */
  CHECK_INT(feed(&core, 3, 43, nps(buf, sizeof buf, "g1", "c1", T0, 0, NULL)), CXP_OK);
  CHECK_INT(core.n.processed, 1);
  CHECK_INT(out.n, 1);
  CHECK_INT(count_stream(&out, CXP_STREAM_ALERTS), 1);
  out.n = 0;

  /* Bytes that are not UTF-8: ff fe 7b 7d ("\xff\xfe{}") is invalid JSON and
   * travels as base64: 11111111 11111110 01111011 -> 111111 111111 111001 111011
   * = "//57"; 01111101 -> 011111 010000 = "fQ" + "==". */
  CHECK_INT(feed_len(&core, 3, 44, "\xff\xfe{}", 4), CXP_BAD_INVALID_JSON);
  CHECK_INT(out.n, 1);
  if (out.n == 1) {
    cJSON *j = cJSON_Parse(out.val[0]);
    CHECK(j != NULL);
    CHECK_STR(get_s(j, "reason"), "invalid_json");
    CHECK_STR(get_s(j, "payload"), "//57fQ==");
    CHECK_STR(get_s(j, "payload_encoding"), "base64");
    cJSON_Delete(j);
  }
  out.n = 0;

  /* Bytes that are not UTF-8 inside a JSON string make the event invalid:
   * "c\xff" and "c\xfe" must not become one customer "c\ufffd". */
  {
    const char *nu = "{\"event_id\":\"u1\",\"customer_id\":\"c\xff\",\"type\":\"survey.nps\","
                     "\"ts\":1795417200000,\"score\":0}";
    CHECK_INT(feed(&core, 3, 50, nu), CXP_BAD_INVALID_JSON);
    CHECK_INT(count_stream(&out, CXP_STREAM_ALERTS), 0);
    out.n = 0;
  }

  /* A NUL byte is valid UTF-8, so the payload stays text, escaped. */
  CHECK_INT(feed_len(&core, 3, 45, "{\0}", 3), CXP_BAD_INVALID_JSON);
  CHECK_INT(out.n, 1);
  if (out.n == 1) CHECK_CONTAINS(out.val[0], "\"payload\":\"{\\u0000}\"");
  out.n = 0;

  /* too_large at the pipeline's limit (256 bytes): 257 bytes of which the
   * first 256 would be fine is still one too many. */
  cxp_core_close(&core);
  pl.max_event_bytes = 256;
  cxp_core_init(&core, &pl, collect, &out);
  char big[300];
  int n = snprintf(big, sizeof big, "%s", nps(buf, sizeof buf, "t1", "c1", T0, 9, NULL));
  memset(big + n, ' ', sizeof big - (size_t)n);
  CHECK_INT(feed_len(&core, 0, 1, big, 256), CXP_OK);
  CHECK_INT(feed_len(&core, 0, 2, big, 257), CXP_BAD_TOO_LARGE);
  CHECK_INT(core.n.dead[CXP_BAD_TOO_LARGE], 1);
  out.n = 0;

  /* The future check applies only when the shell asks for it: ts at
   * received + 86400 s + 1 ms. */
  cxp_msg m;
  memset(&m, 0, sizeof m);
  m.topic = "cx.events";
  m.partition = 0;
  m.offset = 3;
  m.payload = nps(buf, sizeof buf, "f1", "c5", RECV_MS + D_MS + 1, 9, NULL);
  m.len = strlen(m.payload);
  m.received_ms = RECV_MS;
  m.check_future = 1;
  CHECK_INT(cxp_core_process(&core, &m), CXP_BAD_TIMESTAMP);
  m.check_future = 0;
  m.offset = 4;
  CHECK_INT(cxp_core_process(&core, &m), CXP_OK);
  out.n = 0;

  /* With no arrival time the dead letter is stamped with the event clock (the
   * largest event time applied, RECV_MS + 1 d + 1 ms = 2026-11-24T07:00:05.001Z);
   * no topic gives a null partition; no key gives an empty key. */
  memset(&m, 0, sizeof m);
  m.partition = -1;
  m.offset = 7; /* replay: the line number */
  m.payload = "{";
  m.len = 1;
  CHECK_INT(cxp_core_process(&core, &m), CXP_BAD_INVALID_JSON);
  CHECK_INT(out.n, 1);
  if (out.n == 1) {
    CHECK_STR(out.key[0], "");
    cJSON *j = cJSON_Parse(out.val[0]);
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(j, "source");
    CHECK(jnull(src, "topic"));
    CHECK(jnull(src, "partition"));
    CHECK_NEAR(get_n(src, "offset"), 7, 0);
    CHECK_STR(get_s(j, "received_at"), "2026-11-24T07:00:05.001Z");
    cJSON_Delete(j);
  }
  out.n = 0;

  /* A shell-side dead letter (e.g. a Kafka message error). */
  memset(&m, 0, sizeof m);
  m.topic = "cx.events";
  m.partition = 1;
  m.offset = 9;
  m.payload = "x";
  m.len = 1;
  m.received_ms = T0;
  cxp_core_dead_letter(&core, &m, CXP_BAD_LATE, "event is late");
  CHECK_INT(out.n, 1);
  CHECK_INT(core.n.dead[CXP_BAD_LATE], 1);
  if (out.n == 1) {
    cJSON *j = cJSON_Parse(out.val[0]);
    CHECK_STR(get_s(j, "reason"), "late");
    CHECK_STR(get_s(j, "detail"), "event is late");
    CHECK_STR(get_s(j, "payload"), "x");
    CHECK_STR(get_s(j, "received_at"), "2026-11-23T07:00:00.000Z");
    cJSON_Delete(j);
  }
  out.n = 0;
  cxp_core_close(&core);
}

static void test_core_batch(void) {
  /* Several messages under one batch: the decoded trees share the arena until
   * batch_end; outputs and state are as if processed one by one. An alert with
   * now_ms 0 is stamped with its event time. */
  static outs out;
  cxp_pipeline pl;
  cxp_core core;
  char buf[512];
  closed_loop_core(&core, &pl, &out);
  cxp_core_batch_begin(&core);
  for (int i = 0; i < 50; i++) {
    char eid[16], cid[16];
    snprintf(eid, sizeof eid, "b%d", i);
    snprintf(cid, sizeof cid, "c%d", i % 5);
    cxp_msg m;
    memset(&m, 0, sizeof m);
    m.partition = 0;
    m.offset = i + 1;
    /* Customer i % 5 answers 3 every hour; the first of each alerts. */
    m.payload = nps(buf, sizeof buf, eid, cid, T0 + (int64_t)(i / 5) * H_MS, 3, NULL);
    m.len = strlen(m.payload);
    CHECK_INT(cxp_core_process(&core, &m), CXP_OK);
  }
  cxp_core_batch_end(&core);
  /* 5 customers, 10 responses each, all within 9 h: 5 alerts, 45 suppressed. */
  CHECK_INT(out.n, 5);
  CHECK_INT(core.n.suppressed_cooldown, 45);
  CHECK_INT(core.n.processed, 50);
  CHECK_INT(core.state.customers, 5);
  if (out.n >= 1) {
    cJSON *j = cJSON_Parse(out.val[0]);
    CHECK_STR(get_s(j, "emitted_at"), "2026-11-23T07:00:00.000Z");
    cJSON_Delete(j);
  }
  out.n = 0;
  cxp_core_close(&core);
}

/* --------------------------------------------------------------------------
 * config and pipeline files */

/* Writes text to a new temporary file; returns its path in `path`. */
static int write_tmp(char path[64], const char *text) {
  snprintf(path, 64, "/tmp/cxp-unit-XXXXXX");
  int fd = mkstemp(path);
  if (fd < 0) return -1;
  size_t n = strlen(text);
  int ok = write(fd, text, n) == (ssize_t)n;
  close(fd);
  return ok ? 0 : -1;
}

/* Loads `text` as a pipeline file; returns the load's result, err filled. */
static int load_pipeline_text(cxp_pipeline *p, const char *text, char path[64], char *err,
                              size_t errlen) {
  if (write_tmp(path, text)) return -2;
  int rc = cxp_pipeline_load(p, path, err, errlen);
  unlink(path);
  return rc;
}

static int load_config_text(cxp_config *c, const char *text, char path[64], char *err,
                            size_t errlen) {
  if (write_tmp(path, text)) return -2;
  int rc = cxp_config_load(c, path, err, errlen);
  unlink(path);
  return rc;
}

static void test_pipeline_config(void) {
  cxp_pipeline p;
  cxp_pipeline_defaults(&p);
  /* The documented defaults (pipelines/default.json, domain.md). */
  CHECK_STR(p.name, "default");
  CHECK_STR(p.topic_input, "cx.events");
  CHECK_STR(p.topic_alerts, "cx.alerts");
  CHECK_STR(p.topic_indicators, "cx.indicators");
  CHECK_STR(p.topic_dead_letters, "cx.dead_letters");
  CHECK_NEAR(p.half_life_days, 30, 0);
  CHECK_INT(p.max_event_bytes, 65536);
  CHECK_INT(p.max_future_s, 86400);
  CHECK_NEAR(p.cooldown_h, 24, 0);
  CHECK_INT(p.closed_loop_enabled, 1);
  CHECK_NEAR(p.closed_loop_deadline_h, 48, 0);
  CHECK_STR(p.closed_loop_actions,
            "[\"contact_customer\",\"ask_what_went_wrong\",\"log_root_cause\"]");
  CHECK_STR(p.closed_loop_role, "frontline_agent");
  CHECK_STR(p.premium_segments, "[\"gold\",\"platinum\",\"premium\"]");
  CHECK_STR(p.topic_internal_codec, "lz4");
  /* Derived: 30 * 86400000 = 2592000000; 24 * 3600000 = 86400000;
   * 48 * 3600000 = 172800000. */
  CHECK_NEAR(p.half_life_ms, 2592000000.0, 0);
  CHECK_INT(p.cooldown_ms, 86400000LL);
  CHECK_INT(p.closed_loop_deadline_ms, 172800000LL);
  CHECK(cxp_pipeline_is_premium(&p, "gold", 4));
  CHECK(cxp_pipeline_is_premium(&p, "premium", 7));
  CHECK(!cxp_pipeline_is_premium(&p, "gol", 3));
  CHECK(!cxp_pipeline_is_premium(&p, "goldx", 5));
  CHECK(!cxp_pipeline_is_premium(&p, "", 0));
  CHECK(!cxp_pipeline_is_premium(&p, "silver", 6));
  /* List settings are parsed into sets at load. */
  cxp_strset set;
  CHECK_INT(cxp_strset_parse(&set, "[\"gold\",\"\",\"vip gold\"]"), 0);
  CHECK_INT(set.n, 3);
  CHECK(cxp_strset_has(&set, "vip gold", 8));
  CHECK(cxp_strset_has(&set, "gold", 4));
  CHECK(!cxp_strset_has(&set, "vip", 3));
  CHECK(!cxp_strset_has(&set, "", 0)); /* an empty entry matches nothing */
  CHECK_INT(cxp_strset_parse(&set, "[]"), 0);
  CHECK_INT(set.n, 0);
  CHECK_INT(cxp_strset_parse(&set, "[\"a\",2]"), -1);
  CHECK_INT(set.n, 0);
  CHECK_INT(cxp_strset_parse(&set, "{\"a\":1}"), -1);
  CHECK_INT(cxp_strset_parse(&set, "not json"), -1);
  {
    char many[CXP_LIST_MAX];
    size_t n = 0;
    many[n++] = '[';
    for (int i = 0; i <= CXP_SET_MAX; i++) n += (size_t)snprintf(many + n, sizeof many - n, "%s\"%d\"", i ? "," : "", i);
    snprintf(many + n, sizeof many - n, "]");
    CHECK_INT(cxp_strset_parse(&set, many), -1); /* 65 entries: one too many */
  }
  CHECK_INT(cxp_alert_lift(1, 1), 1);
  CHECK_INT(cxp_alert_lift(3, 1), 2);
  CHECK_INT(cxp_alert_lift(3, 0), 3);

  /* The shipped pipelines/default.json loads and equals the defaults. */
  char path[64], err[512], repo[512];
  snprintf(repo, sizeof repo, "%s", __FILE__);
  char *slash = strstr(repo, "tests/core/test_core.c");
  CHECK(slash != NULL); /* found from this file's path */
  if (slash) {
    snprintf(slash, sizeof repo - (size_t)(slash - repo), "pipelines/default.json");
    cxp_pipeline q;
    err[0] = '\0';
    CHECK_INT(cxp_pipeline_load(&q, repo, err, sizeof err), 0);
    CHECK_STR(err, "");
    CHECK_STR(q.name, p.name);
    CHECK_STR(q.topic_dead_letters, p.topic_dead_letters);
    CHECK_NEAR(q.half_life_ms, p.half_life_ms, 0);
    CHECK_INT(q.cooldown_ms, p.cooldown_ms);
    CHECK_INT(q.max_event_bytes, p.max_event_bytes);
    CHECK_STR(q.premium_segments, p.premium_segments);
    CHECK_STR(q.closed_loop_actions, p.closed_loop_actions);
  }

  /* Overrides, and "$schema"/"description" are not settings. 7 d = 604800000
   * ms; 1.5 h = 5400000 ms; 0.5 h = 1800000 ms. */
  CHECK_INT(load_pipeline_text(&p,
                               "{\"$schema\":\"x\",\"description\":\"d\",\"name\":\"p2\","
                               "\"decay\":{\"half_life_days\":7},"
                               "\"alerts\":{\"cooldown_h\":1.5,\"premium_segments\":[],"
                               "\"closed_loop\":{\"deadline_h\":0.5,\"enabled\":false}}}",
                               path, err, sizeof err),
            0);
  CHECK_STR(p.name, "p2");
  CHECK_NEAR(p.half_life_ms, 604800000.0, 0);
  CHECK_INT(p.cooldown_ms, 5400000LL);
  CHECK_INT(p.closed_loop_deadline_ms, 1800000LL);
  CHECK_INT(p.closed_loop_enabled, 0);
  CHECK(!cxp_pipeline_is_premium(&p, "gold", 4));
  CHECK_STR(p.topic_input, "cx.events"); /* untouched keys keep defaults */

  /* Errors name the file and the key. */
  static const struct {
    const char *text, *key, *what;
  } bad[] = {
      {"{\"decay\":{\"half_life_dayz\":3}}", "'decay.half_life_dayz'", "unknown"},
      {"{\"bogus\":1}", "'bogus'", "unknown"},
      {"{\"decay\":{\"half_life_days\":\"30\"}}", "'decay.half_life_days'", "number"},
      {"{\"limits\":{\"max_future_s\":1.5}}", "'limits.max_future_s'", "integer"},
      {"{\"alerts\":{\"closed_loop\":{\"enabled\":1}}}", "'alerts.closed_loop.enabled'",
       "true or false"},
      {"{\"alerts\":{\"premium_segments\":[\"gold\",2]}}", "'alerts.premium_segments'",
       "array"},
      {"{\"limits\":{\"max_event_bytes\":100}}", "'limits.max_event_bytes'", "outside"},
      {"{\"decay\":{\"half_life_days\":0}}", "'decay.half_life_days'", "outside"},
      {"{\"alerts\":{\"cooldown_h\":-1}}", "'alerts.cooldown_h'", "outside"},
      {"{\"name\":\"\"}", "'name'", "length"},
      {"{\"alerts\":{\"closed_loop\":{\"actions\":[]}}}", "'alerts.closed_loop.actions'",
       "entries"},
      {"{\"topics\":{\"alerts\":\"cx.events\"}}", "'topics'", "cx.events"},
      {"{\"topics\":{\"indicators\":\"x\",\"dead_letters\":\"x\"}}", "'topics'", "twice"},
      {"{\"topics\":{\"internal_compression\":\"brotli\"}}",
       "'topics.internal_compression'", "'brotli' is not one of none, gzip, snappy, lz4, zstd"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    test_ctx = bad[i].text;
    err[0] = '\0';
    CHECK_INT(load_pipeline_text(&p, bad[i].text, path, err, sizeof err), -1);
    CHECK_CONTAINS(err, path);
    CHECK_CONTAINS(err, bad[i].key);
    CHECK_CONTAINS(err, bad[i].what);
  }
  test_ctx = NULL;
  /* Not JSON: the file, line and column; not an object; not there. */
  CHECK_INT(load_pipeline_text(&p, "{\n  \"name\": }", path, err, sizeof err), -1);
  CHECK_CONTAINS(err, path);
  CHECK_CONTAINS(err, ":2:");
  CHECK_INT(load_pipeline_text(&p, "[1]", path, err, sizeof err), -1);
  CHECK_CONTAINS(err, path);
  CHECK_CONTAINS(err, "object");
  CHECK_INT(cxp_pipeline_load(&p, "/nonexistent/cxp.json", err, sizeof err), -1);
  CHECK_CONTAINS(err, "/nonexistent/cxp.json");

  /* The daemon's file: defaults. */
  cxp_config c;
  cxp_config_defaults(&c);
  CHECK_STR(c.pipeline, "/etc/cxpulse/pipelines/default.json");
  CHECK_STR(c.log_level, "info");
  CHECK_INT(c.commit_interval_ms, 1000);
  CHECK_INT(c.poll_batch, 2000);
  CHECK_INT(c.idle_poll_ms, 100);
  CHECK_INT(c.backpressure_high, 400000);
  CHECK_INT(c.backpressure_low, 100000);
  CHECK_INT(c.stats_interval_s, 30);
  CHECK_INT(c.shutdown_timeout_ms, 10000);
  CHECK_INT(c.n_kafka, 0);

  /* kafka.* passthrough, written flat: the rest of the name is one librdkafka
   * property; numbers and booleans become their text. */
  CHECK_INT(load_config_text(&c,
                             "{\"log\":{\"level\":\"debug\"},"
                             "\"kafka.bootstrap.servers\":\"b1:9092\","
                             "\"kafka.linger.ms\":5,\"kafka.enable.idempotence\":true}",
                             path, err, sizeof err),
            0);
  CHECK_STR(c.log_level, "debug");
  CHECK_INT(c.n_kafka, 3);
  CHECK_STR(cxp_config_kafka_get(&c, "bootstrap.servers"), "b1:9092");
  CHECK_STR(cxp_config_kafka_get(&c, "linger.ms"), "5");
  CHECK_STR(cxp_config_kafka_get(&c, "enable.idempotence"), "true");
  CHECK(cxp_config_kafka_get(&c, "acks") == NULL);
  /* A default does not override what the file set; a new key is added. */
  cxp_config_kafka_default(&c, "linger.ms", "50");
  cxp_config_kafka_default(&c, "acks", "all");
  CHECK_STR(cxp_config_kafka_get(&c, "linger.ms"), "5");
  CHECK_STR(cxp_config_kafka_get(&c, "acks"), "all");
  CHECK_INT(c.n_kafka, 4);

  /* The nested form: every key under "kafka" is one librdkafka property,
   * dots and all. A file's values start from defaults again (n_kafka 0). */
  err[0] = '\0';
  CHECK_INT(load_config_text(&c,
                             "{\"kafka\":{\"bootstrap.servers\":\"b2:9092\","
                             "\"linger.ms\":5}}",
                             path, err, sizeof err),
            0);
  CHECK_STR(err, "");
  CHECK_INT(c.n_kafka, 2);
  CHECK_STR(cxp_config_kafka_get(&c, "bootstrap.servers"), "b2:9092");
  CHECK_STR(cxp_config_kafka_get(&c, "linger.ms"), "5");

  /* A passthrough value of 255 bytes (the most a cxp_kv holds with its NUL)
   * arrives whole. */
  char ktext[512], vlong[301];
  memset(vlong, 'v', 300);
  vlong[255] = '\0';
  snprintf(ktext, sizeof ktext, "{\"kafka\":{\"sasl.jaas.config\":\"%s\"}}", vlong);
  CHECK_INT(load_config_text(&c, ktext, path, err, sizeof err), 0);
  CHECK_INT(c.n_kafka, 1);
  CHECK_INT(strlen(c.kafka[0].value), 255);
  /* A longer value is an error naming the key, never silently cut. */
  vlong[255] = 'v';
  vlong[300] = '\0';
  snprintf(ktext, sizeof ktext, "{\"kafka\":{\"sasl.jaas.config\":\"%s\"}}", vlong);
  err[0] = '\0';
  CHECK_INT(load_config_text(&c, ktext, path, err, sizeof err), -1);
  CHECK_CONTAINS(err, "'kafka.sasl.jaas.config'");

  static const struct {
    const char *text, *key, *what;
  } cbad[] = {
      {"{\"poll\":{\"batchsize\":5}}", "'poll.batchsize'", "unknown"},
      {"{\"poll\":{\"batch\":\"5\"}}", "'poll.batch'", "integer"},
      {"{\"poll\":{\"batch\":0}}", "'poll.batch'", "outside"},
      {"{\"commit\":{\"interval_ms\":60001}}", "'commit.interval_ms'", "outside"},
      {"{\"log\":{\"level\":\"trace\"}}", "'log.level'", "trace"},
      {"{\"backpressure\":{\"low\":500000}}", "'backpressure.low'", "below"},
      {"{\"kafka.acks\":[1]}", "'kafka.acks'", "expected"},
      {"{\"kafka\":{\"acks\":null}}", "'kafka.acks'", "expected"},
      {"{\"kafka\":\"b:9092\"}", "'kafka'", "expected"},
  };
  for (size_t i = 0; i < sizeof cbad / sizeof cbad[0]; i++) {
    test_ctx = cbad[i].text;
    err[0] = '\0';
    CHECK_INT(load_config_text(&c, cbad[i].text, path, err, sizeof err), -1);
    CHECK_CONTAINS(err, path);
    CHECK_CONTAINS(err, cbad[i].key);
    CHECK_CONTAINS(err, cbad[i].what);
  }
  test_ctx = NULL;
}


/* --------------------------------------------------------------------------
 * per-customer indicators (domain.md section 3) */

/* A decoded event at ts, for the customer-level tests. */
static cxp_event ev_at(cxp_event_type t, int64_t ts) {
  cxp_event ev;
  memset(&ev, 0, sizeof ev);
  ev.type = t;
  ev.ts_ms = ts;
  ev.consent = -1;
  return ev;
}

static cxp_event sq_ev(int64_t ts, int dim, double expected, double perceived) {
  cxp_event ev = ev_at(CXP_EV_SERVQUAL, ts);
  ev.sq_mask = 1u << dim;
  ev.sq_expected[dim] = expected;
  ev.sq_perceived[dim] = perceived;
  return ev;
}

static cxp_event contact_ev(int64_t ts, int resolved, double wait, double handle,
                            double sentiment) {
  cxp_event ev = ev_at(CXP_EV_CONTACT, ts);
  ev.resolved = resolved;
  ev.wait_s = wait;
  ev.handle_s = handle;
  ev.has_sentiment = 1;
  ev.sentiment = sentiment;
  return ev;
}

static void test_customer_indicators(void) {
  cxp_state st;
  cxp_state_init(&st);
  cxp_shard *sh = cxp_state_shard(&st, 0);
  cxp_customer *c = cxp_shard_get(&st, sh, "ind", 3);
  cxp_indicators in;

  /* Nothing yet: every ratio is NAN, the index too. */
  cxp_customer_indicators(c, &TP, T0, &in);
  CHECK(isnan(in.csat) && isnan(in.nps_mean) && isnan(in.ces) && isnan(in.si));
  CHECK_INT(in.nps_class, -2);

  /* All at T0, so every weight is equal and means are plain means.
   * CSAT 5, 4, 2: top-2-box 2 of 3 = 66.6667%. */
  cxp_event e = survey(CXP_EV_CSAT, T0, 5);
  cxp_customer_apply(c, &e, &TP);
  e.score = 4;
  cxp_customer_apply(c, &e, &TP);
  e.score = 2;
  cxp_customer_apply(c, &e, &TP);
  cxp_customer_indicators(c, &TP, T0, &in);
  CHECK_NEAR(in.csat, 200.0 / 3.0, 1e-6);
  /* The index with CSAT alone is the CSAT share. */
  CHECK_NEAR(in.si, 200.0 / 3.0, 1e-6);

  /* NPS 9 and 7: mean 8, component 80; latest class (same ts: the lower
   * score, 7) is passive. SI = (66.667 + 80) / 2 = 73.3333. */
  e = survey(CXP_EV_NPS, T0, 9);
  cxp_customer_apply(c, &e, &TP);
  e.score = 7;
  cxp_customer_apply(c, &e, &TP);
  cxp_customer_indicators(c, &TP, T0, &in);
  CHECK_NEAR(in.nps_mean, 8, 1e-6);
  CHECK_INT(in.nps_class, 0);
  CHECK_NEAR(in.si, (200.0 / 3.0 + 80) / 2, 1e-6);

  /* CES 2 and 6: mean 4, not high effort; component (4 - 1) / 6 * 100 = 50.
   * SI = (66.667 + 80 + 50) / 3 = 65.5556. */
  e = survey(CXP_EV_CES, T0, 2);
  cxp_customer_apply(c, &e, &TP);
  e.score = 6;
  cxp_customer_apply(c, &e, &TP);
  cxp_customer_indicators(c, &TP, T0, &in);
  CHECK_NEAR(in.ces, 4, 1e-6);
  CHECK_INT(in.high_effort, 0);
  CHECK_NEAR(in.si, (200.0 / 3.0 + 80 + 50) / 3, 1e-6);

  /* SERVQUAL on a subset: reliability 6 -> 4 (-2) and 7 -> 6 (-1): mean -1.5;
   * empathy 5 -> 6 (+1); tangibles never asked: NAN. Pooled gap for the index
   * (-2 - 1 + 1) / 3 = -0.6667: component 50 + (-0.6667) * 50 / 6 = 44.4444.
   * SI = (66.6667 + 80 + 50 + 44.4444) / 4 = 60.2778. */
  cxp_event q = sq_ev(T0, CXP_SQ_RELIABILITY, 6, 4);
  cxp_customer_apply(c, &q, &TP);
  q = sq_ev(T0, CXP_SQ_RELIABILITY, 7, 6);
  cxp_customer_apply(c, &q, &TP);
  q = sq_ev(T0, CXP_SQ_EMPATHY, 5, 6);
  cxp_customer_apply(c, &q, &TP);
  cxp_customer_indicators(c, &TP, T0, &in);
  CHECK_NEAR(in.sq_gap[CXP_SQ_RELIABILITY], -1.5, 1e-6);
  CHECK_NEAR(in.sq_gap[CXP_SQ_EMPATHY], 1, 1e-6);
  CHECK(isnan(in.sq_gap[CXP_SQ_TANGIBLES]));
  CHECK_NEAR(in.si, (200.0 / 3.0 + 80 + 50 + (50 - 50.0 / 9)) / 4, 1e-6);

  /* Weights: CSAT counted twice: (2 * 66.6667 + 80 + 50 + 44.4444) / 5 = 61.5556. */
  cxp_pipeline w = TP;
  w.si_w_csat = 2;
  cxp_customer_indicators(c, &w, T0, &in);
  CHECK_NEAR(in.si, (400.0 / 3.0 + 80 + 50 + (50 - 50.0 / 9)) / 5, 1e-6);
  CHECK(isnan(cxp_satisfaction_index(NAN, NAN, NAN, NAN, &TP)));
  CHECK_NEAR(cxp_satisfaction_index(NAN, 5, NAN, 0, &TP), (50 + 50) / 2.0, 1e-12);

  /* Delivered value. Contacts: resolved, 300 + 600 s, sentiment 0.5; not
   * resolved, 900 + 1800 s (over the 1800 s norm: 1), sentiment -0.5.
   * Service 1/2; personnel ((0.5+1)/2 + (-0.5+1)/2) / 2 = 0.5; time cost
   * (900/1800 + 1) / 2 = 0.75. One complaint at T0, read at T0: inconvenience
   * 1 - 2^-1 = 0.5. Effort (7 - 4) / 6 = 0.5. Money: no signal.
   * Value (0.6667 + 0.5 + 0.5 + 0.8) / 4 = 0.616667;
   * cost (0.75 + 0.5 + 0.5) / 3 = 0.583333; ratio 1.057143. */
  cxp_event k = contact_ev(T0, 1, 300, 600, 0.5);
  cxp_customer_apply(c, &k, &TP);
  k = contact_ev(T0, 0, 900, 1800, -0.5);
  cxp_customer_apply(c, &k, &TP);
  cxp_event cp = ev_at(CXP_EV_COMPLAINT, T0);
  cxp_customer_apply(c, &cp, &TP);
  cxp_customer_indicators(c, &TP, T0, &in);
  CHECK_NEAR(in.value_parts[0], 2.0 / 3.0, 1e-6);
  CHECK_NEAR(in.value_parts[1], 0.5, 1e-6);
  CHECK_NEAR(in.value_parts[2], 0.5, 1e-6);
  CHECK_NEAR(in.value_parts[3], 0.8, 1e-6);
  CHECK(isnan(in.cost_parts[0]));
  CHECK_NEAR(in.cost_parts[1], 0.75, 1e-6);
  CHECK_NEAR(in.cost_parts[2], 0.5, 1e-6);
  CHECK_NEAR(in.cost_parts[3], 0.5, 1e-6);
  CHECK_NEAR(in.value, (2.0 / 3.0 + 0.5 + 0.5 + 0.8) / 4, 1e-6);
  CHECK_NEAR(in.cost, (0.75 + 0.5 + 0.5) / 3, 1e-6);
  CHECK_NEAR(in.value_ratio, ((2.0 / 3.0 + 1.8) / 4) / (1.75 / 3), 1e-6);
  /* One half-life later the complaint counts 0.5. */
  cxp_customer_indicators(c, &TP, T0 + 30 * D_MS, &in);
  CHECK_NEAR(in.complaints, 0.5, 1e-6);

  /* Recency, frequency, monetary at two half-lives (7 d, 90 d). Purchases
   * of 100 at T0 and 50 at T0 + 14 d, usage of 3 at T0 + 14 d, read at
   * T0 + 14 d: short: monetary 100 * 0.25 + 50 = 75, frequency 0.25 + 1 + 3 =
   * 4.25; long: 2^(-14/90) = 0.8977866, monetary 89.77866 + 50 = 139.77866,
   * frequency 0.8977866 + 4 = 4.8977866. Recency read at T0 + 20 d: 6 days.
   * Money is kept with 7 fraction bits (range over resolution): 1e-3. */
  cxp_customer *r = cxp_shard_get(&st, sh, "rfm", 3);
  cxp_event pu = ev_at(CXP_EV_PURCHASE, T0);
  pu.amount = 100;
  cxp_customer_apply(r, &pu, &TP);
  pu = ev_at(CXP_EV_PURCHASE, T0 + 14 * D_MS);
  pu.amount = 50;
  cxp_customer_apply(r, &pu, &TP);
  cxp_event us = ev_at(CXP_EV_USAGE, T0 + 14 * D_MS);
  us.count = 3;
  cxp_customer_apply(r, &us, &TP);
  cxp_customer_indicators(r, &TP, T0 + 14 * D_MS, &in);
  CHECK_NEAR(in.mon_short, 75, 1e-3);
  CHECK_NEAR(in.freq_short, 4.25, 1e-4);
  CHECK_NEAR(in.mon_long, 139.77866, 1e-3);
  CHECK_NEAR(in.freq_long, 4.8977866, 1e-4);
  cxp_customer_indicators(r, &TP, T0 + 20 * D_MS, &in);
  CHECK_NEAR(in.recency_days, 6, 1e-9);
  CHECK(isnan(in.csat));
  /* Activity: feedback and a referral at T0 read two half-lives later: 2 * 0.25. */
  cxp_event fb = ev_at(CXP_EV_FEEDBACK, T0), rf = ev_at(CXP_EV_REFERRAL, T0);
  cxp_customer_apply(r, &fb, &TP);
  cxp_customer_apply(r, &rf, &TP);
  cxp_customer_indicators(r, &TP, T0 + 60 * D_MS, &in);
  CHECK_NEAR(in.activity, 0.5, 1e-6);
  cxp_state_close(&st);
}

/* The same events in any order, or applied twice over (a replay the dedup
 * does not see, as after a restart), give bit-identical sums. */
static void test_customer_order_independence(void) {
  enum { N = 24 };
  cxp_event evs[N];
  for (int i = 0; i < N; i++) {
    int64_t ts = T0 + (int64_t)((i * 7919) % 200) * H_MS; /* within one grid cell */
    switch (i % 6) {
    case 0: evs[i] = survey(CXP_EV_CSAT, ts, 1 + i % 5); break;
    case 1: evs[i] = survey(CXP_EV_NPS, ts, i % 11); break;
    case 2: evs[i] = survey(CXP_EV_CES, ts, 1 + i % 7); break;
    case 3: evs[i] = sq_ev(ts, i % 5, 1 + i % 7, 7 - i % 7); break;
    case 4: evs[i] = contact_ev(ts, i & 1, 60 * i, 30 * i, (i % 3) - 1.0); break;
    default:
      evs[i] = ev_at(CXP_EV_PURCHASE, ts);
      evs[i].amount = 10.5 * i;
    }
  }
  cxp_state st;
  cxp_state_init(&st);
  cxp_shard *sh = cxp_state_shard(&st, 0);
  cxp_customer *ref = cxp_shard_get(&st, sh, "ref", 3);
  for (int i = 0; i < N; i++) cxp_customer_apply(ref, &evs[i], &TP);
  uint64_t rng = 12345;
  for (int trial = 0; trial < 50; trial++) {
    int idx[N];
    for (int i = 0; i < N; i++) idx[i] = i;
    for (int i = N - 1; i > 0; i--) { /* Fisher-Yates with a fixed seed */
      rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
      int j = (int)((rng >> 33) % (uint64_t)(i + 1));
      int t = idx[i];
      idx[i] = idx[j];
      idx[j] = t;
    }
    char id[16];
    snprintf(id, sizeof id, "s%d", trial);
    cxp_customer *c = cxp_shard_get(&st, sh, id, strlen(id));
    for (int i = 0; i < N; i++) cxp_customer_apply(c, &evs[idx[i]], &TP);
    CHECK_MEM(c->sum, sizeof c->sum, ref->sum, sizeof ref->sum);
    CHECK_MEM(c->landmark_ms, sizeof c->landmark_ms, ref->landmark_ms, sizeof ref->landmark_ms);
    CHECK_INT(c->nps_last_score, ref->nps_last_score);
  }
  /* Twice over: every sum is exactly double the single pass (no saturation
   * at these sizes), whatever the interleaving. */
  cxp_customer *twice = cxp_shard_get(&st, sh, "twice", 5);
  for (int i = 0; i < N; i++) cxp_customer_apply(twice, &evs[i], &TP);
  for (int i = N - 1; i >= 0; i--) cxp_customer_apply(twice, &evs[i], &TP);
  for (int i = 0; i < CXP_S__COUNT; i++) CHECK_EQ(twice->sum[i], 2 * ref->sum[i]);
  /* A replayed message is not applied twice: the core's dedup holds. */
  cxp_state_close(&st);
}

static void test_core_satisfaction_alerts(void) {
  static outs out;
  cxp_pipeline pl;
  customers_only(&pl);
  pl.closed_loop_enabled = 0;
  cxp_core core;
  char buf[512];
  cxp_core_init(&core, &pl, collect, &out);
#define CSAT(eid, cid, ts, score)                                                      \
  (snprintf(buf, sizeof buf,                                                          \
            "{\"event_id\":\"%s\",\"customer_id\":\"%s\",\"type\":\"survey.csat\","    \
            "\"ts\":%lld,\"score\":%d}",                                               \
            eid, cid, (long long)(ts), score),                                         \
   buf)
  /* Three CSAT 5 sixty days back, then CSAT 1 now. Main half-life 30 d: the
   * old ones weigh 2^-2 = 0.25 each: SI = 0.75 / 1.75 = 42.857 (over the
   * floor of 40). Baseline, 90 d: 2^(-60/90) = 0.6299605 each: 1.8898816 /
   * 2.8898816 = 65.3963. 65.3963 - 42.857 = 22.54 >= 15: a drop, P3. */
  int64_t old = T0 - 60 * D_MS;
  CHECK_INT(feed(&core, 0, 1, CSAT("a1", "d1", old, 5)), CXP_OK);
  CHECK_INT(feed(&core, 0, 2, CSAT("a2", "d1", old, 5)), CXP_OK);
  CHECK_INT(feed(&core, 0, 3, CSAT("a3", "d1", old, 5)), CXP_OK);
  CHECK_INT(out.n, 0);
  CHECK_INT(feed(&core, 0, 4, CSAT("a4", "d1", T0, 1)), CXP_OK);
  CHECK_INT(out.n, 1);
  if (out.n == 1) {
    cJSON *j = cJSON_Parse(out.val[0]);
    CHECK_STR(get_s(j, "type"), "satisfaction.drop");
    CHECK_STR(get_s(j, "priority"), "P3");
    CHECK(jnull(j, "case_id"));
    const cJSON *r0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "reasons"), 0);
    const cJSON *r1 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "reasons"), 1);
    CHECK_STR(get_s(r0, "factor"), "satisfaction_index");
    CHECK_NEAR(get_n(r0, "value"), 42.8571, 1e-3);
    CHECK_NEAR(get_n(r0, "contribution"), 42.8571 - 65.3963, 1e-3);
    CHECK_STR(get_s(r1, "factor"), "si_baseline");
    CHECK_NEAR(get_n(r1, "value"), 65.3963, 1e-3);
    cJSON_Delete(j);
  }
  out.n = 0;
  /* Another CSAT 1 the same day: SI 0.75 / 2.75 = 27.27, under the floor,
   * but within the 24 h cooldown. */
  CHECK_INT(feed(&core, 0, 5, CSAT("a5", "d1", T0 + H_MS, 1)), CXP_OK);
  CHECK_INT(out.n, 0);
  CHECK_INT(core.n.suppressed_cooldown, 1);

  /* Too few responses: two CSAT 1 give SI 0 but need 3 responses. */
  CHECK_INT(feed(&core, 0, 6, CSAT("b1", "d2", T0, 1)), CXP_OK);
  CHECK_INT(feed(&core, 0, 7, CSAT("b2", "d2", T0, 1)), CXP_OK);
  CHECK_INT(out.n, 0);
  /* The third is under the floor (SI 0): P2. */
  CHECK_INT(feed(&core, 0, 8, CSAT("b3", "d2", T0, 1)), CXP_OK);
  CHECK_INT(out.n, 1);
  if (out.n == 1) CHECK_CONTAINS(out.val[0], "\"priority\":\"P2\"");
  out.n = 0;
  /* Steady satisfaction: three CSAT 5 now: SI 100, baseline 100: nothing. */
  CHECK_INT(feed(&core, 0, 9, CSAT("c1", "d3", T0, 5)), CXP_OK);
  CHECK_INT(feed(&core, 0, 10, CSAT("c2", "d3", T0, 5)), CXP_OK);
  CHECK_INT(feed(&core, 0, 11, CSAT("c3", "d3", T0, 5)), CXP_OK);
  CHECK_INT(out.n, 0);
#undef CSAT

  /* servqual.gap: reliability expected 7, perceived 3 (-4): one response,
   * under the 2 needed: nothing. Then 6 -> 5 (-1): mean -2.5 < -1.5: one
   * alert, P3 (not <= -3), naming reliability and its strategy. */
#define SQV(eid, cid, dim, e, p)                                                        \
  (snprintf(buf, sizeof buf,                                                          \
            "{\"event_id\":\"%s\",\"customer_id\":\"%s\",\"type\":\"survey.servqual\"," \
            "\"ts\":%lld,\"dimensions\":{\"%s\":{\"expected\":%d,\"perceived\":%d}}}",  \
            eid, cid, (long long)T0, dim, e, p),                                      \
   buf)
  CHECK_INT(feed(&core, 1, 1, SQV("q1", "g1", "reliability", 7, 3)), CXP_OK);
  CHECK_INT(count_stream(&out, CXP_STREAM_ALERTS), 0);
  CHECK_INT(feed(&core, 1, 2, SQV("q2", "g1", "reliability", 6, 5)), CXP_OK);
  /* The pooled SI here is 50 + (-2.5) * 50 / 6 = 29.17, under the floor: the
   * drop alert fires too once 3 responses are in; with 2 it does not. */
  CHECK_INT(out.n, 1);
  if (out.n == 1) {
    cJSON *j = cJSON_Parse(out.val[0]);
    CHECK_STR(get_s(j, "type"), "servqual.gap");
    CHECK_STR(get_s(j, "priority"), "P3");
    const cJSON *r0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "reasons"), 0);
    CHECK_STR(get_s(r0, "factor"), "servqual_gap.reliability");
    CHECK_NEAR(get_n(r0, "value"), -2.5, 1e-6);
    CHECK_NEAR(get_n(r0, "contribution"), -1.0, 1e-6);
    const cJSON *a0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "actions"), 0);
    CHECK_STR(cJSON_IsString(a0) ? a0->valuestring : NULL,
              "standardise_process_and_control_quality");
    cJSON_Delete(j);
  }
  out.n = 0;
  /* A good empathy answer touches only empathy: no gap alert. */
  CHECK_INT(feed(&core, 1, 3, SQV("q3", "g1", "empathy", 4, 6)), CXP_OK);
  CHECK_INT(core.n.alerts[CXP_AL_SERVQUAL_GAP], 1);
  out.n = 0;
  /* consent:false holds back outreach (the drop) but not the quality gap. */
  snprintf(buf, sizeof buf,
           "{\"event_id\":\"pf\",\"customer_id\":\"g2\",\"type\":\"profile\","
           "\"ts\":%lld,\"segment\":\"gold\",\"consent\":false}", (long long)T0);
  CHECK_INT(feed(&core, 1, 4, buf), CXP_OK);
  CHECK_INT(feed(&core, 1, 5, SQV("r1", "g2", "tangibles", 7, 1)), CXP_OK);
  CHECK_INT(feed(&core, 1, 6, SQV("r2", "g2", "tangibles", 7, 1)), CXP_OK);
  CHECK_INT(feed(&core, 1, 7, SQV("r3", "g2", "tangibles", 7, 1)), CXP_OK);
  /* Gap -6 <= -3: P2, lifted to P1 for gold; the third response would be a
   * drop (SI 0) but consent holds it. */
  CHECK_INT(core.n.alerts[CXP_AL_SERVQUAL_GAP], 2);
  CHECK_INT(core.n.alerts[CXP_AL_SATISFACTION_DROP], 2);
  CHECK_INT(core.n.suppressed_consent, 1);
  CHECK_INT(out.n, 1);
  if (out.n == 1) {
    CHECK_CONTAINS(out.val[0], "\"priority\":\"P1\"");
    CHECK_CONTAINS(out.val[0], "\"improve_physical_environment\"");
  }
  out.n = 0;
#undef SQV

  /* Kano: a minor (3) complaint marked must_be is raised to major; so is one
   * about an attribute the pipeline classes as must-be; a critical one stays
   * critical. */
  cxp_core_close(&core);
  customers_only(&pl);
  snprintf(pl.kano_must_be, sizeof pl.kano_must_be, "[\"billing_accuracy\"]");
  cxp_pipeline_derive(&pl);
  cxp_core_init(&core, &pl, collect, &out);
  const char *complaints[] = {
      "{\"event_id\":\"k1\",\"customer_id\":\"k\",\"type\":\"complaint\",\"ts\":1795417200000,"
      "\"case_id\":\"x1\",\"category\":\"design\",\"severity\":3,\"kano\":\"must_be\"}",
      "{\"event_id\":\"k2\",\"customer_id\":\"k\",\"type\":\"complaint\",\"ts\":1795417200000,"
      "\"case_id\":\"x2\",\"category\":\"design\",\"severity\":4,"
      "\"attribute\":\"billing_accuracy\"}",
      "{\"event_id\":\"k3\",\"customer_id\":\"k\",\"type\":\"complaint\",\"ts\":1795417200000,"
      "\"case_id\":\"x3\",\"category\":\"design\",\"severity\":1,\"kano\":\"must_be\"}",
      "{\"event_id\":\"k4\",\"customer_id\":\"k\",\"type\":\"complaint\",\"ts\":1795417200000,"
      "\"case_id\":\"x4\",\"category\":\"design\",\"severity\":4,\"attribute\":\"colour\"}"};
  for (int i = 0; i < 4; i++) CHECK_INT(feed(&core, 2, i, complaints[i]), CXP_OK);
  CHECK_INT(core.n.kano_raised, 2);
  cxp_core_close(&core);
}

/* Log lines in each format, on a terminal and under journald: 2026-11-23
 * 07:00:00.042Z is T0 + 42 ms. */
static void test_log_render(void) {
  char line[512];
  cxp_log_render(line, sizeof line, CXP_LOG_TEXT, 0, T0 + 42, CXP_LOG_WARN, "commit", "x failed");
  CHECK_STR(line, "2026-11-23T07:00:00.042Z warn  commit: x failed\n");
  cxp_log_render(line, sizeof line, CXP_LOG_TEXT, 1, T0, CXP_LOG_ERROR, "kafka", "down");
  CHECK_STR(line, "<3>kafka: down\n");
  cxp_log_render(line, sizeof line, CXP_LOG_LOGFMT, 0, T0, CXP_LOG_INFO, "daemon",
                 "said \"hi\"\tthen\nleft");
  CHECK_STR(line, "ts=2026-11-23T07:00:00.000Z level=info component=daemon "
                  "msg=\"said \\\"hi\\\"\\tthen\\nleft\"\n");
  cxp_log_render(line, sizeof line, CXP_LOG_JSON, 1, T0, CXP_LOG_DEBUG, "http", "a\001b");
  CHECK_STR(line, "<7>{\"level\":\"debug\",\"component\":\"http\",\"msg\":\"a\\u0001b\"}\n");
  cxp_log_render(line, sizeof line, CXP_LOG_JSON, 0, T0, CXP_LOG_INFO, "x", "y");
  CHECK_STR(line, "{\"ts\":\"2026-11-23T07:00:00.000Z\",\"level\":\"info\",\"component\":\"x\","
                  "\"msg\":\"y\"}\n");
  /* A message longer than the line is cut, and the line still ends. */
  char big[1000];
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  size_t n = cxp_log_render(line, 100, CXP_LOG_JSON, 0, T0, CXP_LOG_INFO, "x", big);
  CHECK_LE(n, 99);
  CHECK_INT(line[n - 1], '\n');
  CHECK_INT(cxp_log_parse_format("logfmt"), CXP_LOG_LOGFMT);
  CHECK_INT(cxp_log_parse_format("xml"), -1);
}

/* A reload takes what can change live and keeps what cannot. */
static void test_pipeline_reload(void) {
  cxp_pipeline live, next;
  cxp_pipeline_defaults(&live);
  cxp_pipeline_defaults(&next);
  next.cooldown_h = 12;
  snprintf(next.topic_input, sizeof next.topic_input, "x.events");
  next.win_min_n = 10;
  snprintf(next.win_lengths, sizeof next.win_lengths, "[\"5m\"]");
  next.rec_ack_min[0] = 30;
  snprintf(next.rec_solutions, sizeof next.rec_solutions,
           "[{\"actions\":[\"call\"],\"role\":\"agent\"}]");
  char err[256];
  CHECK_INT(cxp_pipeline_windows(&next, err, sizeof err), 0);
  CHECK_INT(cxp_pipeline_cases(&next, err, sizeof err), 0);
  cxp_pipeline_derive(&next);
  cxp_buf changed, kept;
  cxp_buf_init(&changed);
  cxp_buf_init(&kept);
  /* Changed, in table order: alerts.cooldown_h, windows.min_n,
   * recovery.sla.sev1.acknowledge_min, then the library; kept: the input
   * topic and the window lengths. */
  CHECK_INT(cxp_pipeline_reload(&live, &next, &changed, &kept), 4);
  CHECK_LIT(changed.p, changed.len,
            "alerts.cooldown_h, windows.min_n, recovery.sla.sev1.acknowledge_min, "
            "recovery.solutions");
  CHECK_LIT(kept.p, kept.len, "topics.input, windows.lengths");
  CHECK_INT(live.cooldown_ms, 12LL * 3600000);
  CHECK_STR(live.topic_input, "cx.events");
  CHECK_INT(live.windows.min_n, 10);
  CHECK_INT(live.windows.n_lengths, 2);
  CHECK_INT(live.windows.length_ms[0], 60000);
  CHECK_INT(live.cases.ack_ms[0], 30 * 60000);
  cxp_buf_free(&changed);
  cxp_buf_free(&kept);
}

/* --------------------------------------------------------------------------
 * Outputs that must fit: SHA-256, JSON escaping budgets, truncated dead
 * letters, and rate-limited log lines */

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

static void test_dead_letter_truncated(void) {
  /* 300 bytes of payload: written whole, the record is 512 bytes (the 222
   * of a 10-byte payload, written out below, plus 290). */
  char text[301], ctl[301], bin[301];
  for (int i = 0; i < 300; i++) {
    text[i] = "abcdefghij"[i % 10];
    ctl[i] = "\x01" "bc"[i % 3];
    bin[i] = "\xff\xfe\xfd\xfc"[i % 4];
  }
  cxp_dead_letter d = {.topic = "t", .partition = 0, .offset = 5, .reason = CXP_BAD_TOO_LARGE,
                       .detail = "d", .payload = "abcdefghij", .payload_len = 10,
                       .received_at_ms = T0};
  const char *small =
      "{\"source\":{\"topic\":\"t\",\"partition\":0,\"offset\":5},\"reason\":\"too_large\","
      "\"detail\":\"d\",\"payload\":\"abcdefghij\",\"payload_encoding\":\"utf-8\","
      "\"received_at\":\"2026-11-23T07:00:00.000Z\",\"pipeline\":\"p\","
      "\"schema\":\"cxpulse.dead_letter/1\"}";
  cxp_buf b;
  cxp_buf_init(&b);
  d.max_bytes = strlen(small);
  CHECK_INT(strlen(small), 222);
  CHECK_INT(cxp_dead_letter_write(&b, &d, "p"), 0);
  CHECK_STR(b.p, small);
  /* The 300-byte payload with 346 bytes of room: the record with the
   * truncation fields (written out below) is 342 bytes without a payload,
   * which leaves 4 bytes, "abcd". */
  d.payload = text;
  d.payload_len = 300;
  const char *cut =
      "{\"source\":{\"topic\":\"t\",\"partition\":0,\"offset\":5},\"reason\":\"too_large\","
      "\"detail\":\"d\",\"payload\":\"abcd\",\"payload_encoding\":\"utf-8\",\"payload_truncated\":true,"
      "\"payload_length\":300,\"payload_sha256\":"
      "\"49d53cf12804d93e5d16b1e58ecdd49ada262f8752ca0a1a6185eea70ea486c4\","
      "\"received_at\":\"2026-11-23T07:00:00.000Z\",\"pipeline\":\"p\","
      "\"schema\":\"cxpulse.dead_letter/1\"}";
  CHECK_INT(strlen(cut), 346);
  d.max_bytes = 346;
  cxp_buf_reset(&b);
  CHECK_INT(cxp_dead_letter_write(&b, &d, "p"), 1);
  CHECK_STR(b.p, cut);
  /* 511 bytes of room: one short of the whole, cut too, to 165 bytes. */
  d.max_bytes = 511;
  cxp_buf_reset(&b);
  CHECK_INT(cxp_dead_letter_write(&b, &d, "p"), 1);
  CHECK_INT(b.len, 511);
  d.max_bytes = 512;
  cxp_buf_reset(&b);
  CHECK_INT(cxp_dead_letter_write(&b, &d, "p"), 0);
  CHECK_INT(b.len, 512);
  /* Appended after what the buffer holds: the bound is the record's own. */
  d.max_bytes = 346;
  cxp_buf_reset(&b);
  cxp_buf_puts(&b, "XYZ");
  CHECK_INT(cxp_dead_letter_write(&b, &d, "p"), 1);
  CHECK_STR(b.p + 3, cut);
  /* Control bytes escape to 6: "\x01bc..." with 9 bytes of room keeps
   * "\u0001bc" (8), not the next \u0001. */
  d.payload = ctl;
  d.max_bytes = 342 + 9;
  cxp_buf_reset(&b);
  CHECK_INT(cxp_dead_letter_write(&b, &d, "p"), 1);
  CHECK_CONTAINS(b.p, "\"payload\":\"\\u0001bc\",\"payload_encoding\":\"utf-8\"");
  CHECK_CONTAINS(b.p, "\"c1409270de4d6200e0a1ab70463c142be3c93c00d4f191f7ef0e1cc5d6bec75e\"");
  CHECK_INT(b.len, 342 + 8);
  /* Not UTF-8: base64 ("payload_encoding":"base64" is one byte longer:
   * 343 without a payload), of whole 3-byte groups that fit: 9 bytes of
   * room hold 8 characters, 6 bytes: ff fe fd fc ff fe -> "//79/P/+". */
  d.payload = bin;
  d.max_bytes = 343 + 9;
  cxp_buf_reset(&b);
  CHECK_INT(cxp_dead_letter_write(&b, &d, "p"), 1);
  CHECK_CONTAINS(b.p, "\"payload\":\"//79/P/+\",\"payload_encoding\":\"base64\"");
  CHECK_CONTAINS(b.p, "\"1ad6fc0b3a3ce51bb12cd1baf1a8789bc94d987140341c5cde5d210ced5b17d7\"");
  CHECK_INT(b.len, 343 + 8);
  cxp_buf_free(&b);
}

/* A clock the rate limits read, moved by the test. */
static int64_t fake_ms;
static int64_t fake_clock(void) { return fake_ms; }

static int count_lines(const char *path) {
  FILE *f = fopen(path, "r");
  int n = 0, c;
  while (f && (c = fgetc(f)) != EOF) n += c == '\n';
  if (f) fclose(f);
  return n;
}

/* One call site of cxp_warn: its lines share a rate limit. */
static void warn_refused(int i) { cxp_warn("test", "refused %d", i); }

static void test_log_rate_limit(void) {
  char path[] = "/tmp/cxp-test-log-XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  close(fd);
  int saved = capture_begin(path);
  cxp_log_clock = fake_clock;
  uint64_t before = cxp_log_suppressed_total();
  /* 25 at once: 10 lines, 15 held back. */
  fake_ms = 1000;
  for (int i = 0; i < 25; i++) warn_refused(i);
  fflush(stderr);
  int after_burst = count_lines(path);
  /* The interval over: the count (naming the last held back), the line,
   * 9 more, and 11 held back. */
  fake_ms = 1000 + CXP_LOG_INTERVAL_MS;
  for (int i = 100; i < 121; i++) warn_refused(i);
  fflush(stderr);
  int after_second = count_lines(path);
  /* A timer writes the count once the interval is over, not before. */
  fake_ms = 1000 + 2 * CXP_LOG_INTERVAL_MS - 1;
  cxp_log_flush_suppressed();
  fflush(stderr);
  int before_flush = count_lines(path);
  fake_ms = 1000 + 2 * CXP_LOG_INTERVAL_MS;
  cxp_log_flush_suppressed();
  cxp_log_flush_suppressed(); /* nothing more to say */
  fflush(stderr);
  int after_flush = count_lines(path);
  /* Info lines are never held back. */
  int level = cxp_log_level;
  cxp_log_level = CXP_LOG_INFO;
  for (int i = 0; i < 30; i++) cxp_info("test", "info %d", i);
  cxp_log_level = level;
  capture_end(saved);
  cxp_log_clock = NULL;
  CHECK_INT(after_burst, 10);
  CHECK_INT(after_second, 10 + 1 + 10);
  CHECK_INT(before_flush, 21);
  CHECK_INT(after_flush, 22);
  CHECK_INT(count_lines(path), 22 + 30);
  CHECK_INT(cxp_log_suppressed_total() - before, 15 + 11);
  size_t len;
  char err[128];
  char *text = cxp_read_file(path, &len, err, sizeof err);
  CHECK_CONTAINS(text, "15 more line(s) like this suppressed in the last 10 s: refused 24");
  CHECK_CONTAINS(text, "11 more line(s) like this suppressed in the last 10 s: refused 120");
  free(text);
  unlink(path);
}

int main(void) {
  customers_only(&TP);
  test_time();
  test_log_render();
  test_pipeline_reload();
  test_decay();
  test_decay_landmark();
  test_hash();
  test_jsonw();
  test_utf8();
  test_event_table();
  test_event_fast_path();
  test_customer_surveys();
  test_customer_dedup();
  test_core_closed_loop();
  test_core_priority();
  test_core_cooldown();
  test_core_consent_dup();
  test_core_alert_id();
  test_core_dead_letters();
  test_core_batch();
  test_pipeline_config();
  test_customer_indicators();
  test_customer_order_independence();
  test_core_satisfaction_alerts();
  test_sha256();
  test_json_fit();
  test_dead_letter_truncated();
  test_log_rate_limit();
  return TEST_REPORT();
}
