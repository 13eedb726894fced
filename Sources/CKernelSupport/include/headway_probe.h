#ifndef HEADWAY_PROBE_H
#define HEADWAY_PROBE_H
/*
 * The data term of multinomial logistic regression, the objective of the converged linear probe
 * (Runtime's LogisticRegression), in one pass over the features.
 */
#include <stdint.h>

#pragma clang assume_nonnull begin

/* Fixed chunks of rows, each summed on its own and added in chunk order: the same sums at any
 * thread count. */
#define HW_LOGISTIC_CHUNKS 16

/* For features x [n, d] (row-major), labels in [0, c), weights w [d, c] and biases b [c]:
 * returns sum_i (logsumexp(z_i) - z_i[y_i]) with z_i = x_i w + b, and writes the unscaled
 * gradients grad_w [d, c] = x^T (P - Y) and grad_b [c] = sum_i (P - Y)_i, where P is the
 * row-wise softmax of z and Y the one-hot labels. Products in float32, softmax and sums in
 * double; x is read once. */
double hw_logistic_objective(int n, int d, int c, const float *x, const int32_t *labels,
                             const float *w, const float *b, double *grad_w, double *grad_b);

#pragma clang assume_nonnull end
#endif
