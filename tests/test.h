/* A tiny test harness: assertions print both sides and count failures, so a
 * run reports every broken case, not only the first. */
#ifndef CXP_TEST_H
#define CXP_TEST_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int test_failures, test_checks;

#define CHECK(cond)                                                            \
  do {                                                                         \
    test_checks++;                                                             \
    if (!(cond)) {                                                             \
      test_failures++;                                                         \
      fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
    }                                                                          \
  } while (0)

#define CHECK_INT(a, b)                                                        \
  do {                                                                         \
    long long va_ = (long long)(a), vb_ = (long long)(b);                      \
    test_checks++;                                                             \
    if (va_ != vb_) {                                                          \
      test_failures++;                                                         \
      fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__,      \
              __LINE__, #a, #b, va_, vb_);                                     \
    }                                                                          \
  } while (0)

#define CHECK_NEAR(a, b, eps)                                                  \
  do {                                                                         \
    double va_ = (double)(a), vb_ = (double)(b);                               \
    test_checks++;                                                             \
    if (!(fabs(va_ - vb_) <= (eps))) {                                         \
      test_failures++;                                                         \
      fprintf(stderr, "%s:%d: %s ~= %s failed: %.12g != %.12g\n", __FILE__,    \
              __LINE__, #a, #b, va_, vb_);                                     \
    }                                                                          \
  } while (0)

#define CHECK_STR(a, b)                                                        \
  do {                                                                         \
    const char *va_ = (a), *vb_ = (b);                                         \
    test_checks++;                                                             \
    if (va_ == NULL || vb_ == NULL || strcmp(va_, vb_) != 0) {                 \
      test_failures++;                                                         \
      fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__,  \
              __LINE__, #a, #b, va_ ? va_ : "(null)", vb_ ? vb_ : "(null)");   \
    }                                                                          \
  } while (0)

/* The plain closing line CI reads: "N passed, N failed". */
#define TEST_REPORT()                                                          \
  (printf("%d passed, %d failed\n", test_checks - test_failures, test_failures), \
   test_failures ? 1 : 0)

#endif
