/* One line for the checks of a function that takes `char *err, size_t
 * errlen`: CXP_FAIL("key 'x': %d is outside 1..9", v) writes the sentence
 * into err (which may be NULL) and returns -1. */
#ifndef CXP_FAIL_H
#define CXP_FAIL_H

#include <stdio.h>

#define CXP_FAIL(...)                                      \
  do {                                                     \
    if (err && errlen) snprintf(err, errlen, __VA_ARGS__); \
    return -1;                                             \
  } while (0)

#endif
