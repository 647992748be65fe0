#include "ahp.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>

/* Saaty's random indexes: the mean consistency index of random matrices of
 * order n (1 and 2 are always consistent). */
static const double random_index[CXP_AHP_MAX + 1] = {0, 0, 0, 0.58, 0.90};

int cxp_ahp_weights(const double *a, int n, double *w, double *cr, char *err, size_t errlen) {
  if (n < 2 || n > CXP_AHP_MAX) {
    snprintf(err, errlen, "a comparison matrix of %d rows; expected 2 to %d", n, CXP_AHP_MAX);
    return -1;
  }
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      double x = a[i * n + j], y = a[j * n + i];
      if (!(x > 0) || !isfinite(x)) {
        snprintf(err, errlen, "row %d, column %d: %g is not a positive number", i + 1, j + 1, x);
        return -1;
      }
      if (i == j && x != 1) {
        snprintf(err, errlen, "row %d, column %d: %g on the diagonal; expected 1", i + 1,
                 j + 1, x);
        return -1;
      }
      if (fabs(x * y - 1) > 0.01) {
        snprintf(err, errlen, "row %d, column %d: %g is not the reciprocal of row %d, column "
                 "%d (%g): expected %g", j + 1, i + 1, y, i + 1, j + 1, x, 1 / x);
        return -1;
      }
    }
  /* Power iteration from the uniform vector: a positive matrix has one
   * positive principal eigenvector, which it converges to. */
  double v[CXP_AHP_MAX], nx[CXP_AHP_MAX];
  for (int i = 0; i < n; i++) v[i] = 1.0 / n;
  for (int it = 0; it < 1000; it++) {
    double s = 0, moved = 0;
    for (int i = 0; i < n; i++) {
      nx[i] = 0;
      for (int j = 0; j < n; j++) nx[i] += a[i * n + j] * v[j];
      s += nx[i];
    }
    for (int i = 0; i < n; i++) {
      nx[i] /= s;
      moved += fabs(nx[i] - v[i]);
      v[i] = nx[i];
    }
    if (moved < 1e-15) break;
  }
  /* lambda_max as the mean of (A w)_i / w_i. */
  double lambda = 0;
  for (int i = 0; i < n; i++) {
    double aw = 0;
    for (int j = 0; j < n; j++) aw += a[i * n + j] * v[j];
    lambda += aw / v[i] / n;
  }
  for (int i = 0; i < n; i++) w[i] = v[i];
  double ci = (lambda - n) / (n - 1);
  *cr = random_index[n] > 0 ? (ci > 0 ? ci : 0) / random_index[n] : 0;
  return 0;
}

int cxp_ahp_from_json(const char *text, int n, double *w, double *cr, char *err,
                      size_t errlen) {
  double a[CXP_AHP_MAX * CXP_AHP_MAX];
  cJSON *m = cJSON_Parse(text);
  int rc = -1, i = 0;
  if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) != n || n > CXP_AHP_MAX) goto shape;
  const cJSON *row;
  cJSON_ArrayForEach(row, m) {
    if (!cJSON_IsArray(row) || cJSON_GetArraySize(row) != n) goto shape;
    int j = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, row) {
      if (!cJSON_IsNumber(x)) goto shape;
      a[i * n + j++] = x->valuedouble;
    }
    i++;
  }
  if (cxp_ahp_weights(a, n, w, cr, err, errlen) != 0) goto out;
  if (*cr > CXP_AHP_CR_MAX) {
    snprintf(err, errlen, "the comparisons contradict each other: consistency ratio CR %.4f "
             "is over %.1f; revise the judgements", *cr, CXP_AHP_CR_MAX);
    goto out;
  }
  rc = 0;
  goto out;
shape:
  snprintf(err, errlen, "expected %d rows of %d numbers", n, n);
out:
  cJSON_Delete(m);
  return rc;
}
