/*
 * Matrix product over the OpenMP team, and the list of the products a process has run (by
 * shape, with call counts) that `headway bench --kernels` reports.
 */
#include <cblas.h>
#include <omp.h>
#include <pthread.h>
#include <string.h>

#include "headway_conv.h"
#include "headway_kernels.h"
#include "kernels_internal.h"

/* Below this many multiply-adds a product runs as one sgemm call: a parallel region would cost
 * more than it saves. */
#define HW_MATMUL_PARALLEL_MIN 32768.0

#define HW_MATMUL_LOG 128
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static hw_matmul_record records[HW_MATMUL_LOG];
static int record_count;

/* Counts a call of this shape; shapes past the log's size go uncounted. */
static void note(int m, int n, int k, int transpose_a, int transpose_b) {
  pthread_mutex_lock(&log_lock);
  int i = 0;
  while (i < record_count &&
         !(records[i].m == m && records[i].n == n && records[i].k == k &&
           records[i].transpose_a == transpose_a && records[i].transpose_b == transpose_b))
    i++;
  if (i == record_count && record_count < HW_MATMUL_LOG)
    records[record_count++] = (hw_matmul_record){m, n, k, transpose_a, transpose_b, 0};
  if (i < record_count) records[i].calls++;
  pthread_mutex_unlock(&log_lock);
}

int hw_matmul_record_count(void) {
  pthread_mutex_lock(&log_lock);
  int n = record_count;
  pthread_mutex_unlock(&log_lock);
  return n;
}

int hw_matmul_record_at(int index, hw_matmul_record *record) {
  pthread_mutex_lock(&log_lock);
  int found = index >= 0 && index < record_count;
  if (found) *record = records[index];
  pthread_mutex_unlock(&log_lock);
  return found;
}

/* c [m, n] = op(a) op(b); a is [m, k] or, transposed, [k, m]; b is [k, n] or, transposed,
 * [n, k]. Each thread computes one block of rows of c (columns when n > m). */
void hw_matmul(int m, int n, int k, int transpose_a, int transpose_b, const float *restrict a,
               const float *restrict b, float *restrict c) {
  if (m <= 0 || n <= 0) return;
  note(m, n, k, transpose_a, transpose_b);
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
