/* A tiny test harness: assertions print both sides and count failures, so a
 * run reports every broken case, not only the first. */
#ifndef CXP_TEST_H
#define CXP_TEST_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int test_failures, test_checks;

/* The case a table-driven test is on; printed with every failure so that a
 * broken row can be found without counting lines. NULL outside tables. */
static const char *test_ctx;

#define TEST_FAIL_AT_()                                                        \
  do {                                                                         \
    test_failures++;                                                           \
    if (test_ctx) fprintf(stderr, "[%s] ", test_ctx);                          \
  } while (0)

#define CHECK(cond)                                                            \
  do {                                                                         \
    test_checks++;                                                             \
    if (!(cond)) {                                                             \
      TEST_FAIL_AT_();                                                         \
      fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
    }                                                                          \
  } while (0)

/* CHECK_EQ(a, b) and CHECK_NE, CHECK_LT, CHECK_LE, CHECK_GT, CHECK_GE: a
 * comparison of two numbers, both values printed on failure, each evaluated
 * once. They are compared in their common type, as `a == b` would compare
 * them (an int against a size_t raises no sign-compare warning): integers
 * print as integers, floating point to 17 digits. */
static inline void test_print_i_(long long v) { fprintf(stderr, "%lld", v); }
static inline void test_print_u_(unsigned long long v) { fprintf(stderr, "%llu", v); }
static inline void test_print_d_(double v) { fprintf(stderr, "%.17g", v); }
#define TEST_PRINT_(x)                                                          \
  _Generic((x), float: test_print_d_, double: test_print_d_,                    \
           unsigned long: test_print_u_, unsigned long long: test_print_u_,     \
           default: test_print_i_)(x)
/* `nop` is the comparison that held instead, for the message. */
#define TEST_CMP_(a, op, nop, b)                                                \
  do {                                                                          \
    __typeof__((a) + (b)) va_ = (a), vb_ = (b);                                 \
    test_checks++;                                                              \
    if (!(va_ op vb_)) {                                                        \
      TEST_FAIL_AT_();                                                          \
      fprintf(stderr, "%s:%d: %s " #op " %s failed: ", __FILE__, __LINE__, #a, #b); \
      TEST_PRINT_(va_);                                                         \
      fputs(" " nop " ", stderr);                                               \
      TEST_PRINT_(vb_);                                                         \
      fputc('\n', stderr);                                                      \
    }                                                                           \
  } while (0)
#define CHECK_EQ(a, b) TEST_CMP_(a, ==, "!=", b)
#define CHECK_NE(a, b) TEST_CMP_(a, !=, "==", b)
#define CHECK_LT(a, b) TEST_CMP_(a, <, ">=", b)
#define CHECK_LE(a, b) TEST_CMP_(a, <=, ">", b)
#define CHECK_GT(a, b) TEST_CMP_(a, >, "<=", b)
#define CHECK_GE(a, b) TEST_CMP_(a, >=, "<", b)

#define CHECK_INT(a, b)                                                        \
  do {                                                                         \
    long long va_ = (long long)(a), vb_ = (long long)(b);                      \
    test_checks++;                                                             \
    if (va_ != vb_) {                                                          \
      TEST_FAIL_AT_();                                                         \
      fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__,      \
              __LINE__, #a, #b, va_, vb_);                                     \
    }                                                                          \
  } while (0)

#define CHECK_NEAR(a, b, eps)                                                  \
  do {                                                                         \
    double va_ = (double)(a), vb_ = (double)(b);                               \
    test_checks++;                                                             \
    if (!(fabs(va_ - vb_) <= (eps))) {                                         \
      TEST_FAIL_AT_();                                                         \
      fprintf(stderr, "%s:%d: %s ~= %s failed: %.17g != %.17g\n", __FILE__,    \
              __LINE__, #a, #b, va_, vb_);                                     \
    }                                                                          \
  } while (0)

#define CHECK_STR(a, b)                                                        \
  do {                                                                         \
    const char *va_ = (a), *vb_ = (b);                                         \
    test_checks++;                                                             \
    if (va_ == NULL || vb_ == NULL || strcmp(va_, vb_) != 0) {                 \
      TEST_FAIL_AT_();                                                         \
      fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__,  \
              __LINE__, #a, #b, va_ ? va_ : "(null)", vb_ ? vb_ : "(null)");   \
    }                                                                          \
  } while (0)

/* Two strings differ (ids that must not collide); the value they share on
 * failure. */
#define CHECK_STR_NE(a, b)                                                     \
  do {                                                                         \
    const char *va_ = (a), *vb_ = (b);                                         \
    test_checks++;                                                             \
    if (va_ == NULL || vb_ == NULL || strcmp(va_, vb_) == 0) {                 \
      TEST_FAIL_AT_();                                                         \
      fprintf(stderr, "%s:%d: %s != %s failed: \"%s\" == \"%s\"\n", __FILE__,  \
              __LINE__, #a, #b, va_ ? va_ : "(null)", vb_ ? vb_ : "(null)");   \
    }                                                                          \
  } while (0)

/* The first string contains the second (e.g. an error message naming a key). */
#define CHECK_CONTAINS(hay, needle)                                            \
  do {                                                                         \
    const char *vh_ = (hay), *vn_ = (needle);                                  \
    test_checks++;                                                             \
    if (vh_ == NULL || vn_ == NULL || strstr(vh_, vn_) == NULL) {              \
      TEST_FAIL_AT_();                                                         \
      fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n", __FILE__,     \
              __LINE__, vh_ ? vh_ : "(null)", vn_ ? vn_ : "(null)");           \
    }                                                                          \
  } while (0)

/* The first string does not contain the second. */
#define CHECK_NOT_CONTAINS(hay, needle)                                        \
  do {                                                                         \
    const char *vh_ = (hay), *vn_ = (needle);                                  \
    test_checks++;                                                             \
    if (vh_ == NULL || vn_ == NULL || strstr(vh_, vn_) != NULL) {              \
      TEST_FAIL_AT_();                                                         \
      fprintf(stderr, "%s:%d: \"%s\" contains \"%s\"\n", __FILE__, __LINE__,   \
              vh_ ? vh_ : "(null)", vn_ ? vn_ : "(null)");                     \
    }                                                                          \
  } while (0)

/* Up to 400 bytes of p[0, n) from `from` on, quoted, in C's escapes where not
 * printable (responses and binary records stay on one line); "..." where
 * cut. */
static inline void test_print_bytes_(const char *p, long long n, long long from) {
  long long end = n - from > 400 ? from + 400 : n;
  fprintf(stderr, "%s\"", from > 0 ? "..." : "");
  for (long long i = from; i < end; i++) {
    unsigned char c = (unsigned char)p[i];
    if (c == '\n')
      fputs("\\n", stderr);
    else if (c == '\r')
      fputs("\\r", stderr);
    else if (c == '\t')
      fputs("\\t", stderr);
    else if (c == '"' || c == '\\')
      fprintf(stderr, "\\%c", c);
    else if (c >= 0x20 && c < 0x7f)
      fputc(c, stderr);
    else
      fprintf(stderr, "\\x%02x", c);
  }
  fprintf(stderr, "\"%s", end < n ? "..." : "");
}

static inline void test_print_cstr_(const char *s) {
  if (s)
    test_print_bytes_(s, (long long)strlen(s), 0);
  else
    fputs("(null)", stderr);
}

/* CHECK_MEM's message: both ranges from a little before their first
 * difference, their lengths, and the offset of that difference. */
static inline void test_print_mem_(const char *a, long long la, const char *b, long long lb) {
  long long d = 0;
  while (a && b && d < la && d < lb && a[d] == b[d]) d++;
  long long from = d >= 200 ? d - 100 : 0;
  if (a && la >= 0)
    test_print_bytes_(a, la, from);
  else
    fputs("(none)", stderr);
  fprintf(stderr, " (%lld) != ", la);
  if (b && lb >= 0)
    test_print_bytes_(b, lb, from);
  else
    fputs("(none)", stderr);
  fprintf(stderr, " (%lld), first difference at byte %lld\n", lb, d);
}

/* Two byte ranges are equal; both shown when they are not. A negative length
 * (a failed read) is never equal to a range. */
#define CHECK_MEM(a, alen, b, blen)                                            \
  do {                                                                         \
    const char *va_ = (const char *)(a), *vb_ = (const char *)(b);             \
    long long la_ = (long long)(alen), lb_ = (long long)(blen);                \
    test_checks++;                                                             \
    if (la_ < 0 || la_ != lb_ || (la_ > 0 && memcmp(va_, vb_, (size_t)la_) != 0)) { \
      TEST_FAIL_AT_();                                                         \
      fprintf(stderr, "%s:%d: %s == %s failed: ", __FILE__, __LINE__, #a, #b); \
      test_print_mem_(va_, la_, vb_, lb_);                                     \
    }                                                                          \
  } while (0)

/* A byte range equals a string literal. */
#define CHECK_LIT(p, n, lit) CHECK_MEM(p, n, lit, sizeof(lit) - 1)

/* The string starts with the prefix (a status line, an id's tag). */
#define CHECK_PREFIX(s, prefix)                                                \
  do {                                                                         \
    const char *vs_ = (s), *vp_ = (prefix);                                    \
    test_checks++;                                                             \
    if (vs_ == NULL || vp_ == NULL || strncmp(vs_, vp_, strlen(vp_)) != 0) {   \
      TEST_FAIL_AT_();                                                         \
      fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                          \
      test_print_cstr_(vs_);                                                   \
      fputs(" does not start with ", stderr);                                  \
      test_print_cstr_(vp_);                                                   \
      fputc('\n', stderr);                                                     \
    }                                                                          \
  } while (0)

/* The plain closing line CI reads: "N passed, N failed". */
#define TEST_REPORT()                                                          \
  (printf("%d passed, %d failed\n", test_checks - test_failures, test_failures), \
   test_failures ? 1 : 0)

#endif
