/*
 * Threading for all kernels.
 *
 * One OpenMP team does all the parallelism. OpenBLAS (the pthread build) is pinned to a single
 * thread, and every cblas_sgemm call is made from inside an OpenMP parallel region on a slice of
 * the work: a block of rows or columns of a matrix product, or one image of a convolution. A
 * threaded sgemm is never nested inside an OpenMP region, so OpenBLAS' own thread pool stays idle
 * and the cores are never oversubscribed.
 *
 * hw_set_threads sets the team size and pins OpenBLAS. OpenMP keeps the team size per calling
 * thread, so call it from the thread that runs the kernels. Kernels also pin OpenBLAS lazily (a
 * once-flag checked at the start of hw_matmul and the convolutions), so they are correct and
 * fast even if hw_set_threads was never called. Work is split statically by thread number, so
 * results are bitwise reproducible for a given team size.
 */
#include <cblas.h>
#include <omp.h>
#include <stdatomic.h>

#include "headway_kernels.h"
#include "kernels_internal.h"

static atomic_int blas_pinned;

void hw_pin_blas_threads(void) {
  if (atomic_load_explicit(&blas_pinned, memory_order_acquire)) return;
  hw_choose_blas_core();
  openblas_set_num_threads(1);
  atomic_store_explicit(&blas_pinned, 1, memory_order_release);
}

void hw_set_threads(int threads) {
  if (threads > 0) omp_set_num_threads(threads);
  hw_choose_blas_core();
  openblas_set_num_threads(1);
  atomic_store_explicit(&blas_pinned, 1, memory_order_release);
}

int hw_max_threads(void) { return omp_get_max_threads(); }

int hw_parallel_team_size(void) {
  int size = 1;
#pragma omp parallel
  {
#pragma omp single
    size = omp_get_num_threads();
  }
  return size;
}

void hw_split(int total, int parts, int part, int *begin, int *end) {
  const int unit = total >= 16 * parts ? 16 : 1;
  const long units = (total + unit - 1) / unit;
  long b = units * part / parts * unit;
  long e = units * (part + 1) / parts * unit;
  *begin = (int)(b < total ? b : total);
  *end = (int)(e < total ? e : total);
}

void hw_sgemm_block(int part, int parts, int transpose_a, int transpose_b, int m, int n, int k,
                    float alpha, const float *a, int lda, const float *b, int ldb, float beta,
                    float *c, int ldc) {
  int begin, end;
  if (m >= n) {
    /* Rows [begin, end) of C: rows of op(A), i.e. columns of A when it is transposed. */
    hw_split(m, parts, part, &begin, &end);
    if (begin == end) return;
    a += transpose_a ? (size_t)begin : (size_t)begin * lda;
    c += (size_t)begin * ldc;
    m = end - begin;
  } else {
    /* Columns [begin, end) of C: columns of op(B), i.e. rows of B when it is transposed. */
    hw_split(n, parts, part, &begin, &end);
    if (begin == end) return;
    b += transpose_b ? (size_t)begin * ldb : (size_t)begin;
    c += begin;
    n = end - begin;
  }
  cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans,
              transpose_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c,
              ldc);
}
