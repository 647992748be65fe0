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

/* CHECK_EQ(a, b): a == b, both values printed on failure, each evaluated
 * once: integers as integers, floating point to 17 digits. */
static inline void test_print_i_(long long v) { fprintf(stderr, "%lld", v); }
static inline void test_print_u_(unsigned long long v) { fprintf(stderr, "%llu", v); }
static inline void test_print_d_(double v) { fprintf(stderr, "%.17g", v); }
#define TEST_PRINT_(x)                                                          \
  _Generic((x), float: test_print_d_, double: test_print_d_,                    \
           unsigned long: test_print_u_, unsigned long long: test_print_u_,     \
           default: test_print_i_)(x)
#define CHECK_EQ(a, b)                                                          \
  do {                                                                          \
    __typeof__((a) + 0) va_ = (a);                                              \
    __typeof__((b) + 0) vb_ = (b);                                              \
    test_checks++;                                                              \
    if (!(va_ == vb_)) {                                                        \
      TEST_FAIL_AT_();                                                          \
      fprintf(stderr, "%s:%d: %s == %s failed: ", __FILE__, __LINE__, #a, #b); \
      TEST_PRINT_(va_);                                                         \
      fputs(" != ", stderr);                                                    \
      TEST_PRINT_(vb_);                                                         \
      fputc('\n', stderr);                                                      \
    }                                                                           \
  } while (0)

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

/* Two byte ranges are equal; shows both as text when they are not. */
#define CHECK_MEM(a, alen, b, blen)                                            \
  do {                                                                         \
    const char *va_ = (const char *)(a), *vb_ = (const char *)(b);             \
    size_t la_ = (size_t)(alen), lb_ = (size_t)(blen);                         \
    test_checks++;                                                             \
    if (la_ != lb_ || (la_ && memcmp(va_, vb_, la_) != 0)) {                   \
      TEST_FAIL_AT_();                                                         \
      fprintf(stderr, "%s:%d: %s == %s failed: \"%.*s\" (%zu) != \"%.*s\" (%zu)\n", \
              __FILE__, __LINE__, #a, #b, (int)la_, va_ ? va_ : "", la_,       \
              (int)lb_, vb_ ? vb_ : "", lb_);                                  \
    }                                                                          \
  } while (0)

/* The plain closing line CI reads: "N passed, N failed". */
#define TEST_REPORT()                                                          \
  (printf("%d passed, %d failed\n", test_checks - test_failures, test_failures), \
   test_failures ? 1 : 0)

#endif
