/* The analytic hierarchy process (docs/domain.md section 3.3): weights from
 * a pairwise comparison matrix. a[i][j] says how much more component i
 * matters than j (Saaty's 1..9 scale and reciprocals); the weights are the
 * matrix's principal eigenvector, normalised to sum 1, found by power
 * iteration; the consistency ratio CR = ((lambda_max - n) / (n - 1)) / RI(n)
 * says how far the judgements contradict each other. */
#ifndef CXP_AHP_H
#define CXP_AHP_H

#include <stddef.h>

#define CXP_AHP_MAX 4
/* Above this the judgements are refused (Saaty's 10 %). */
#define CXP_AHP_CR_MAX 0.1

/* Weights w[0..n) and the consistency ratio of the n x n matrix a (row
 * major, n 2..CXP_AHP_MAX). 0, or -1 with a sentence in err when a is not a
 * comparison matrix: an entry not a positive finite number, a diagonal
 * entry not 1, or a[j][i] not 1 / a[i][j] (within 1 %, so that 0.333 serves
 * for 1/3). The caller judges *cr (for n 2 it is 0). */
int cxp_ahp_weights(const double *a, int n, double *w, double *cr, char *err, size_t errlen);

/* The matrix given as JSON text (rows of numbers) into weights: 0, or -1
 * with a sentence (not n rows of n numbers, not a comparison matrix, or CR
 * over CXP_AHP_CR_MAX, which the sentence names). */
int cxp_ahp_from_json(const char *text, int n, double *w, double *cr, char *err,
                      size_t errlen);

#endif
