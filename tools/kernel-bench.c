/*
 * Benchmark of the CKernelSupport kernels on R1-shaped (fmnist-resnet-small, 512 views)
 * convolutions and a 512x512x128 matrix product, with 1 and 2 threads. Prints the median of
 * several runs in ms and GFLOP/s, and the best run's GFLOP/s in brackets (2 flops per
 * multiply-add of the underlying GEMM; padding taps count as work). Built and run by
 * tools/bench-kernels; arguments: [second thread count] [substring of the benchmarks to run].
 */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "headway_kernels.h"

#define RUNS 7

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static float *random_floats(size_t count) {
  float *p = malloc(count * sizeof(float));
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  unsigned int state = 12345;
  for (size_t i = 0; i < count; i++) {
    state = state * 1664525u + 1013904223u;
    p[i] = (float)(state >> 8) / 16777216.0f - 0.5f;
  }
  return p;
}

typedef enum { FORWARD, INPUT_GRAD, FILTER_GRAD, MATMUL, SGEMM } kernel;

typedef struct {
  kernel kind;
  hw_conv_shape s;
  int m, n, k;
  float *a, *b, *c, *scratch;
} job;

static void run_job(const job *j) {
  switch (j->kind) {
  case FORWARD: hw_conv2d_forward(&j->s, j->a, j->b, j->c, j->scratch); break;
  case INPUT_GRAD: hw_conv2d_input_grad(&j->s, j->a, j->b, j->c, j->scratch); break;
  case FILTER_GRAD: hw_conv2d_filter_grad(&j->s, j->a, j->b, j->c, j->scratch); break;
  case MATMUL: hw_matmul(j->m, j->n, j->k, 0, 0, j->a, j->b, j->c); break;
  case SGEMM:
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, j->m, j->n, j->k, 1.0f, j->a, j->k,
                j->b, j->n, 0.0f, j->c, j->n);
    break;
  }
}

/* Median and best seconds of one call; small calls are repeated to fill ~20 ms per run. */
static double time_job(const job *j, double *best) {
  run_job(j);
  double t0 = now();
  run_job(j);
  double once = now() - t0;
  int reps = once > 0.02 ? 1 : (int)(0.02 / (once + 1e-9)) + 1;
  double times[RUNS];
  for (int r = 0; r < RUNS; r++) {
    t0 = now();
    for (int i = 0; i < reps; i++) run_job(j);
    times[r] = (now() - t0) / reps;
  }
  qsort(times, RUNS, sizeof(double), compare_doubles);
  *best = times[0];
  return times[RUNS / 2];
}

static hw_conv_shape conv(int n, int c, int h, int o, int k, int stride, int pad) {
  int oh = (h + 2 * pad - k) / stride + 1;
  hw_conv_shape s = {n, c, h, h, o, k, k, oh, oh, stride, pad};
  return s;
}

static const char *filter = "";

static void bench_conv(const char *name, hw_conv_shape s, int threads_list[2]) {
  if (!strstr(name, filter)) return;
  size_t xs = (size_t)s.n * s.c * s.h * s.w, ws = (size_t)s.o * s.c * s.kh * s.kw;
  size_t ys = (size_t)s.n * s.o * s.oh * s.ow;
  float *x = random_floats(xs), *w = random_floats(ws), *y = random_floats(ys);
  float *dx = random_floats(xs), *dw = random_floats(ws);
  float *scratch = random_floats(hw_conv2d_scratch_floats(&s));
  double flops = 2.0 * s.n * s.o * s.c * s.kh * s.kw * s.oh * s.ow;
  job jobs[3] = {
      {FORWARD, s, 0, 0, 0, x, w, y, scratch},
      {INPUT_GRAD, s, 0, 0, 0, y, w, dx, scratch},
      {FILTER_GRAD, s, 0, 0, 0, x, y, dw, scratch},
  };
  const char *names[3] = {"forward", "input grad", "filter grad"};
  for (int p = 0; p < 3; p++) {
    printf("%-28s %-12s", name, names[p]);
    for (int t = 0; t < 2; t++) {
      hw_set_threads(threads_list[t]);
      double best, sec = time_job(&jobs[p], &best);
      printf("  %2dT %7.2f ms %6.1f [%6.1f] GFLOP/s", threads_list[t], sec * 1e3,
             flops / sec * 1e-9, flops / best * 1e-9);
    }
    printf("\n");
  }
  free(x), free(w), free(y), free(dx), free(dw), free(scratch);
}

static void bench_matmul(const char *name, kernel kind, int m, int n, int k, int threads_list[2]) {
  if (!strstr(name, filter)) return;
  float *a = random_floats((size_t)m * k), *b = random_floats((size_t)k * n);
  float *c = random_floats((size_t)m * n);
  job j = {kind, {0}, m, n, k, a, b, c, NULL};
  double flops = 2.0 * m * n * k;
  printf("%-28s %-12s", name, kind == SGEMM ? "sgemm" : "hw_matmul");
  for (int t = 0; t < 2; t++) {
    hw_set_threads(threads_list[t]);
    if (kind == SGEMM) openblas_set_num_threads(threads_list[t]); /* OpenBLAS' own threads */
    double best, sec = time_job(&j, &best);
    printf("  %2dT %7.2f ms %6.1f [%6.1f] GFLOP/s", threads_list[t], sec * 1e3, flops / sec * 1e-9,
           flops / best * 1e-9);
  }
  printf("\n");
  hw_set_threads(0);
  free(a), free(b), free(c);
}

int main(int argc, char **argv) {
  int threads_list[2] = {1, 2};
  if (argc > 1) threads_list[1] = atoi(argv[1]);
  if (argc > 2) filter = argv[2];
  const int n = 512;
  printf("OpenBLAS %s; median of %d runs\n", openblas_get_config(), RUNS);
  bench_matmul("matmul 512x512x128", MATMUL, 512, 512, 128, threads_list);
  bench_matmul("matmul 1024x1024x1024", MATMUL, 1024, 1024, 1024, threads_list);
  bench_matmul("reference 1024x1024x1024", SGEMM, 1024, 1024, 1024, threads_list);
  bench_conv("stem 1->32 28x28 3x3", conv(n, 1, 28, 32, 3, 1, 1), threads_list);
  bench_conv("32->32 28x28 3x3", conv(n, 32, 28, 32, 3, 1, 1), threads_list);
  bench_conv("32->64 28->14 3x3 s2", conv(n, 32, 28, 64, 3, 2, 1), threads_list);
  bench_conv("32->64 28->14 1x1 s2", conv(n, 32, 28, 64, 1, 2, 0), threads_list);
  bench_conv("64->64 14x14 3x3", conv(n, 64, 14, 64, 3, 1, 1), threads_list);
  bench_conv("64->128 14->7 3x3 s2", conv(n, 64, 14, 128, 3, 2, 1), threads_list);
  bench_conv("128->128 7x7 3x3", conv(n, 128, 7, 128, 3, 1, 1), threads_list);
  bench_conv("64->64 14x14 1x1 (pointwise)", conv(n, 64, 14, 64, 1, 1, 0), threads_list);
  return 0;
}
