/*
 * The logistic probe's objective: logits, softmax and both gradient products for a block of
 * rows while the block is in cache, so the features are read once per evaluation (two sgemm
 * calls with 10 columns spent most of their time packing the features, twice).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "headway_probe.h"

/* Rows whose logits and residuals are held at once: BLOCK * d floats of features stay in L1/L2. */
#define BLOCK 32

/* One chunk's sums: its loss, and gradients [c][d] (transposed, so rank-1 updates run along d)
 * and [c], accumulated per block in float and per chunk in double. */
typedef struct {
  double loss;
  double *grad_wt; /* [c][d] */
  double *grad_b;  /* [c] */
} chunk_sums;

/* Logits of rows [row, row + count) into z [count][c] from transposed weights wt [c][d]. */
static void block_logits(int row, int count, int d, int c, const float *restrict x,
                         const float *restrict wt, const float *restrict b, float *restrict z) {
  for (int r = 0; r < count; r++) {
    const float *xr = x + (size_t)(row + r) * d;
    for (int j = 0; j < c; j++) {
      const float *wj = wt + (size_t)j * d;
      float s = 0;
#pragma omp simd reduction(+ : s)
      for (int k = 0; k < d; k++) s += xr[k] * wj[k];
      z[r * c + j] = s + b[j];
    }
  }
}

/* Replaces z's rows by P - Y; returns their loss and adds their residuals to grad_b. */
static double block_softmax(int row, int count, int c, const int32_t *restrict labels,
                            float *restrict z, double *restrict grad_b) {
  double loss = 0;
  for (int r = 0; r < count; r++) {
    float *zr = z + r * c;
    double largest = zr[0], total = 0;
    for (int j = 1; j < c; j++) largest = fmax(largest, zr[j]);
    double e[c];
    for (int j = 0; j < c; j++) total += e[j] = exp((double)zr[j] - largest);
    int label = labels[row + r];
    loss += log(total) + largest - zr[label];
    for (int j = 0; j < c; j++) {
      double residual = e[j] / total - (j == label ? 1.0 : 0.0);
      zr[j] = (float)residual;
      grad_b[j] += residual;
    }
  }
  return loss;
}

/* Rows [begin, end) into one chunk's sums; block_grad is [c][d] float scratch. */
static void chunk(int begin, int end, int d, int c, const float *restrict x,
                  const int32_t *restrict labels, const float *restrict wt,
                  const float *restrict b, float *restrict z, float *restrict block_grad,
                  chunk_sums *sums) {
  for (int row = begin; row < end; row += BLOCK) {
    int count = end - row < BLOCK ? end - row : BLOCK;
    block_logits(row, count, d, c, x, wt, b, z);
    sums->loss += block_softmax(row, count, c, labels, z, sums->grad_b);
    memset(block_grad, 0, sizeof(float) * (size_t)c * d);
    for (int r = 0; r < count; r++) {
      const float *xr = x + (size_t)(row + r) * d;
      for (int j = 0; j < c; j++) {
        float residual = z[r * c + j];
        float *gj = block_grad + (size_t)j * d;
#pragma omp simd
        for (int k = 0; k < d; k++) gj[k] += residual * xr[k];
      }
    }
    for (size_t i = 0; i < (size_t)c * d; i++) sums->grad_wt[i] += block_grad[i];
  }
}

double hw_logistic_objective(int n, int d, int c, const float *x, const int32_t *labels,
                             const float *w, const float *b, double *grad_w, double *grad_b) {
  size_t width = (size_t)c * d;
  float *wt = malloc(sizeof(float) * width);
  double *totals = calloc((size_t)HW_LOGISTIC_CHUNKS * (width + c), sizeof(double));
  double losses[HW_LOGISTIC_CHUNKS] = {0};
  for (int k = 0; k < d; k++)
    for (int j = 0; j < c; j++) wt[(size_t)j * d + k] = w[(size_t)k * c + j];
#pragma omp parallel
  {
    float *z = malloc(sizeof(float) * BLOCK * (size_t)c);
    float *block_grad = malloc(sizeof(float) * width);
#pragma omp for schedule(static)
    for (int i = 0; i < HW_LOGISTIC_CHUNKS; i++) {
      double *mine = totals + (size_t)i * (width + c);
      chunk_sums sums = {0, mine, mine + width};
      chunk((int)((long)i * n / HW_LOGISTIC_CHUNKS), (int)((long)(i + 1) * n / HW_LOGISTIC_CHUNKS),
            d, c, x, labels, wt, b, z, block_grad, &sums);
      losses[i] = sums.loss;
    }
    free(block_grad);
    free(z);
  }
  double loss = 0;
  memset(grad_w, 0, sizeof(double) * width);
  memset(grad_b, 0, sizeof(double) * (size_t)c);
  for (int i = 0; i < HW_LOGISTIC_CHUNKS; i++) {
    const double *mine = totals + (size_t)i * (width + c);
    loss += losses[i];
    for (int k = 0; k < d; k++)
      for (int j = 0; j < c; j++) grad_w[(size_t)k * c + j] += mine[(size_t)j * d + k];
    for (int j = 0; j < c; j++) grad_b[j] += mine[width + j];
  }
  free(totals);
  free(wt);
  return loss;
}
