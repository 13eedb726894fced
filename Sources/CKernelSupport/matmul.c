/*
 * Matrix product over the OpenMP team.
 */
#include <cblas.h>
#include <omp.h>
#include <string.h>

#include "headway_kernels.h"
#include "kernels_internal.h"

/* Below this many multiply-adds a product runs as one sgemm call: a parallel region would cost
 * more than it saves. */
#define HW_MATMUL_PARALLEL_MIN 32768.0

/* c [m, n] = op(a) op(b); a is [m, k] or, transposed, [k, m]; b is [k, n] or, transposed,
 * [n, k]. Each thread computes one block of rows of c (columns when n > m). */
void hw_matmul(int m, int n, int k, int transpose_a, int transpose_b, const float *restrict a,
               const float *restrict b, float *restrict c) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    memset(c, 0, (size_t)m * n * sizeof(float));
    return;
  }
  hw_pin_blas_threads();
  const int lda = transpose_a ? m : k;
  const int ldb = transpose_b ? k : n;
  if (omp_get_max_threads() == 1 || (double)m * n * k < HW_MATMUL_PARALLEL_MIN) {
    hw_sgemm_block(0, 1, transpose_a, transpose_b, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, n);
    return;
  }
#pragma omp parallel
  hw_sgemm_block(omp_get_thread_num(), omp_get_num_threads(), transpose_a, transpose_b, m, n, k,
                 1.0f, a, lda, b, ldb, 0.0f, c, n);
}
