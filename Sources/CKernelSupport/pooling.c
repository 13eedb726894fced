/*
 * Average pooling over square windows, no padding. One (image, channel) plane per iteration.
 */
#include <string.h>

#include "headway_kernels.h"

/* Planes smaller than this in total are pooled without a parallel region. */
#define HW_POOL_PARALLEL_MIN 32768

/* x [n, c, h, w] -> y [n, c, oh, ow], oh = (h - window) / stride + 1 (likewise ow). */
void hw_avg_pool2d(int n, int c, int h, int w, int window, int stride, const float *restrict x,
                   float *restrict y) {
  const int oh = (h - window) / stride + 1, ow = (w - window) / stride + 1;
  const float scale = 1.0f / (float)(window * window);
  const long planes = (long)n * c;
#pragma omp parallel for schedule(static) if (planes * h * w >= HW_POOL_PARALLEL_MIN)
  for (long p = 0; p < planes; p++) {
    const float *xp = x + p * h * w;
    float *yp = y + p * oh * ow;
    for (int oy = 0; oy < oh; oy++) {
      for (int ox = 0; ox < ow; ox++) {
        const float *corner = xp + (oy * stride) * w + ox * stride;
        float sum = 0.0f;
        for (int i = 0; i < window; i++) {
          for (int j = 0; j < window; j++) sum += corner[i * w + j];
        }
        yp[oy * ow + ox] = sum * scale;
      }
    }
  }
}

/* dy [n, c, oh, ow] -> dx [n, c, h, w]: each input gets the mean share of every window it lies
 * in; inputs outside every window get zero. */
void hw_avg_pool2d_grad(int n, int c, int h, int w, int window, int stride,
                        const float *restrict dy, float *restrict dx) {
  const int oh = (h - window) / stride + 1, ow = (w - window) / stride + 1;
  const float scale = 1.0f / (float)(window * window);
  const long planes = (long)n * c;
#pragma omp parallel for schedule(static) if (planes * h * w >= HW_POOL_PARALLEL_MIN)
  for (long p = 0; p < planes; p++) {
    const float *dyp = dy + p * oh * ow;
    float *dxp = dx + p * h * w;
    memset(dxp, 0, (size_t)h * w * sizeof(float));
    for (int oy = 0; oy < oh; oy++) {
      for (int ox = 0; ox < ow; ox++) {
        float *corner = dxp + (oy * stride) * w + ox * stride;
        const float g = dyp[oy * ow + ox] * scale;
        for (int i = 0; i < window; i++) {
          for (int j = 0; j < window; j++) corner[i * w + j] += g;
        }
      }
    }
  }
}
