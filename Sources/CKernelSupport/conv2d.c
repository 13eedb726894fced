/*
 * 2-D convolution (NCHW input, OIHW filter) as im2col + sgemm: one of the two algorithms
 * conv2d_choice.c picks from per layer shape.
 *
 * Per image, with K = c*kh*kw and P = oh*ow:
 *   col [K, P]     im2col of the image, in a slot of scratch
 *   forward        y_img [o, P] = W [o, K] x col [K, P]
 *   input grad     col [K, P] = W^T [K, o] x dy_img [o, P], then col2im accumulates into dx_img
 *   filter grad    dW [o, K] += dy_img [o, P] x col^T [P, K]
 * A 1x1 stride-1 unpadded convolution needs no im2col: the image [c, h*w] is already col. For a
 * stride-1 convolution with ow == w (the usual "same" 3x3) each row of col is the image plane
 * shifted as a flat array, so im2col and col2im run one long loop per tap instead of one short
 * loop per output row.
 *
 * Scratch holds min(n, HW_CONV_CHUNK) slots of K*P floats, one im2col matrix each.
 *
 * Forward and input grad run an `omp parallel for` over the images, each image one
 * single-threaded sgemm. With a team of at most HW_CONV_CHUNK threads that is one loop over the
 * whole batch and each thread reuses the slot of its thread number (it stays warm in cache); a
 * bigger team goes through the batch in chunks of HW_CONV_CHUNK images, one slot per image. With
 * fewer images than threads the team works inside each image instead: im2col/col2im split over
 * channels, the sgemm split in blocks over the team.
 *
 * In the filter grad every thread owns a block of dW and accumulates all images into it in image
 * order: race-free and deterministic for a given team size, with no private accumulators. When
 * dW is at least as wide (c*kh*kw) as tall (o) a thread owns the columns of a block of input
 * channels and im2cols just those, into its own rows of one slot, with no barrier. Otherwise the
 * team im2cols a chunk of images in parallel over (image, channel), one slot each, and then each
 * thread adds the chunk into its block of dW.
 */
#include <cblas.h>
#include <omp.h>
#include <string.h>

#include "headway_kernels.h"
#include "kernels_internal.h"

static int is_pointwise(const hw_conv_shape *s) {
  return s->kh == 1 && s->kw == 1 && s->stride == 1 && s->pad == 0 && s->oh == s->h &&
         s->ow == s->w;
}

/* The outputs i in [*lo, *hi) whose input i*stride + offset lies in [0, size). */
static void valid_range(int offset, int stride, int size, int out, int *lo, int *hi) {
  int first, last;
  if (stride == 1) { /* the common case, without the divisions */
    first = offset >= 0 ? 0 : -offset;
    last = size - offset < 0 ? 0 : size - offset;
  } else {
    first = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
    last = size - 1 - offset < 0 ? 0 : (size - 1 - offset) / stride + 1;
  }
  if (last > out) last = out;
  if (first > last) first = last;
  *lo = first;
  *hi = last;
}

/* With stride 1 and ow == w, the col row of tap (ki, kj) is the input plane shifted by
 * (ki - pad) * w + (kj - pad) as a flat array: row[p] = xc[p + shift] wherever the tap lands
 * inside the image. So a row is one long contiguous loop plus fixing up the padding. */
static int is_shift(const hw_conv_shape *s) { return s->stride == 1 && s->ow == s->w; }

/* Zeroes the columns outside [x0, x1) of rows [y0, y1) of a row [oh, ow] of col. Loops over
 * columns outermost: usually one or two columns, so no tiny memsets. */
static void zero_edge_columns(float *restrict row, int ow, int y0, int y1, int x0, int x1) {
  for (int ox = 0; ox < x0; ox++)
    for (int oy = y0; oy < y1; oy++) row[oy * ow + ox] = 0.0f;
  for (int ox = x1; ox < ow; ox++)
    for (int oy = y0; oy < y1; oy++) row[oy * ow + ox] = 0.0f;
}

/* One channel of im2col: xc [h, w] -> col [kh*kw, oh*ow] (the channel's rows of col). Row
 * (ki, kj) holds xc[oy*stride - pad + ki, ox*stride - pad + kj], zero in the padding. */
static void im2col_channel(const hw_conv_shape *s, const float *restrict xc,
                           float *restrict col) {
  const int h = s->h, w = s->w, oh = s->oh, ow = s->ow, stride = s->stride, pad = s->pad;
  const int P = oh * ow;
  for (int ki = 0; ki < s->kh; ki++) {
    for (int kj = 0; kj < s->kw; kj++) {
      float *row = col + (size_t)(ki * s->kw + kj) * P;
      int y0, y1, x0, x1;
      valid_range(ki - pad, stride, h, oh, &y0, &y1);
      valid_range(kj - pad, stride, w, ow, &x0, &x1);
      if (y0 == y1 || x0 == x1) {
        memset(row, 0, (size_t)P * sizeof(float));
        continue;
      }
      if (is_shift(s)) {
        /* Copy from the first to the last valid element, then zero the padding. */
        const int shift = (ki - pad) * w + (kj - pad);
        const int begin = y0 * ow + x0, end = (y1 - 1) * ow + x1;
        for (int p = begin; p < end; p++) row[p] = xc[p + shift];
        if (begin > 0) memset(row, 0, (size_t)begin * sizeof(float));
        if (end < P) memset(row + end, 0, (size_t)(P - end) * sizeof(float));
        zero_edge_columns(row, ow, y0, y1, x0, x1);
        continue;
      }
      if (y0 > 0 || y1 < oh || x0 > 0 || x1 < ow) memset(row, 0, (size_t)P * sizeof(float));
      for (int oy = y0; oy < y1; oy++) {
        const float *src = xc + (oy * stride - pad + ki) * w;
        float *dst = row + oy * ow;
        if (stride == 2) { /* a constant stride vectorizes as shuffles instead of a gather */
          for (int ox = x0; ox < x1; ox++) dst[ox] = src[ox * 2 + kj - pad];
        } else {
          for (int ox = x0; ox < x1; ox++) dst[ox] = src[ox * stride + kj - pad];
        }
      }
    }
  }
}

/* One channel of col2im: col [kh*kw, oh*ow] (the channel's rows) accumulated into xc [h, w], the
 * transpose of im2col_channel. Clobbers the padding entries of col. */
static void col2im_channel(const hw_conv_shape *s, float *restrict col, float *restrict xc) {
  const int h = s->h, w = s->w, oh = s->oh, ow = s->ow, stride = s->stride, pad = s->pad;
  for (int ki = 0; ki < s->kh; ki++) {
    for (int kj = 0; kj < s->kw; kj++) {
      float *row = col + (size_t)(ki * s->kw + kj) * oh * ow;
      int y0, y1, x0, x1;
      valid_range(ki - pad, stride, h, oh, &y0, &y1);
      valid_range(kj - pad, stride, w, ow, &x0, &x1);
      if (y0 == y1 || x0 == x1) continue;
      if (is_shift(s)) {
        /* Entries in the padding columns would wrap onto the neighbouring image row: zero them,
         * then accumulate the whole span in one loop. */
        const int shift = (ki - pad) * w + (kj - pad);
        const int begin = y0 * ow + x0, end = (y1 - 1) * ow + x1;
        zero_edge_columns(row, ow, y0, y1, x0, x1);
        for (int p = begin; p < end; p++) xc[p + shift] += row[p];
        continue;
      }
      for (int oy = y0; oy < y1; oy++) {
        const float *src = row + oy * ow;
        float *dst = xc + (oy * stride - pad + ki) * w;
        for (int ox = x0; ox < x1; ox++) dst[ox * stride + kj - pad] += src[ox];
      }
    }
  }
}

/* x_img [c, h, w] -> col [c*kh*kw, oh*ow]. */
static void im2col(const hw_conv_shape *s, const float *restrict x_img, float *restrict col) {
  const size_t plane = (size_t)s->h * s->w, rows = (size_t)s->kh * s->kw * s->oh * s->ow;
  for (int ch = 0; ch < s->c; ch++) im2col_channel(s, x_img + ch * plane, col + ch * rows);
}

/* col [c*kh*kw, oh*ow] -> dx_img [c, h, w], overwriting dx_img. */
static void col2im(const hw_conv_shape *s, float *restrict col, float *restrict dx_img) {
  const size_t plane = (size_t)s->h * s->w, rows = (size_t)s->kh * s->kw * s->oh * s->ow;
  memset(dx_img, 0, (size_t)s->c * plane * sizeof(float));
  for (int ch = 0; ch < s->c; ch++) col2im_channel(s, col + ch * rows, dx_img + ch * plane);
}

/* x [n, c, h, w], w [o, c, kh, kw] -> y [n, o, oh, ow]. */
void hw_im2col_conv2d_forward(const hw_conv_shape *s, const float *restrict x, const float *restrict w,
                       float *restrict y, float *restrict scratch) {
  hw_pin_blas_threads();
  const int n = s->n, o = s->o, K = s->c * s->kh * s->kw, P = s->oh * s->ow;
  const size_t x_img = (size_t)s->c * s->h * s->w, y_img = (size_t)o * P, col_img = (size_t)K * P;
  const size_t plane = (size_t)s->h * s->w, channel_rows = (size_t)s->kh * s->kw * P;
  const int pointwise = is_pointwise(s);
  const int team = omp_get_max_threads();
  if (n >= team) {
    const int per_thread_slot = team <= HW_CONV_CHUNK;
    const int chunk = per_thread_slot ? n : HW_CONV_CHUNK;
    for (int n0 = 0; n0 < n; n0 += chunk) {
      const int images = n - n0 < chunk ? n - n0 : chunk;
#pragma omp parallel for schedule(static)
      for (int i = 0; i < images; i++) {
        const float *xi = x + (n0 + i) * x_img;
        const float *col = xi;
        if (!pointwise) {
          float *slot = scratch + (per_thread_slot ? omp_get_thread_num() : i) * col_img;
          im2col(s, xi, slot);
          col = slot;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, o, P, K, 1.0f, w, K, col, P, 0.0f,
                    y + (n0 + i) * y_img, P);
      }
    }
    return;
  }
  /* Fewer images than threads: the team works inside each image. */
#pragma omp parallel
  for (int img = 0; img < n; img++) {
    const float *xi = x + img * x_img;
    const float *col = xi;
    if (!pointwise) {
#pragma omp for schedule(static)
      for (int ch = 0; ch < s->c; ch++)
        im2col_channel(s, xi + ch * plane, scratch + ch * channel_rows);
      col = scratch;
    }
    hw_sgemm_block(omp_get_thread_num(), omp_get_num_threads(), 0, 0, o, P, K, 1.0f, w, K, col, P,
                   0.0f, y + img * y_img, P);
#pragma omp barrier
  }
}

/* dy [n, o, oh, ow], w [o, c, kh, kw] -> dx [n, c, h, w]. */
void hw_im2col_conv2d_input_grad(const hw_conv_shape *s, const float *restrict dy,
                          const float *restrict w, float *restrict dx, float *restrict scratch) {
  hw_pin_blas_threads();
  const int n = s->n, o = s->o, K = s->c * s->kh * s->kw, P = s->oh * s->ow;
  const size_t x_img = (size_t)s->c * s->h * s->w, y_img = (size_t)o * P, col_img = (size_t)K * P;
  const size_t plane = (size_t)s->h * s->w, channel_rows = (size_t)s->kh * s->kw * P;
  const int pointwise = is_pointwise(s);
  const int team = omp_get_max_threads();
  if (n >= team) {
    const int per_thread_slot = team <= HW_CONV_CHUNK;
    const int chunk = per_thread_slot ? n : HW_CONV_CHUNK;
    for (int n0 = 0; n0 < n; n0 += chunk) {
      const int images = n - n0 < chunk ? n - n0 : chunk;
#pragma omp parallel for schedule(static)
      for (int i = 0; i < images; i++) {
        const float *dyi = dy + (n0 + i) * y_img;
        float *dxi = dx + (n0 + i) * x_img;
        float *col = dxi;
        if (!pointwise) col = scratch + (per_thread_slot ? omp_get_thread_num() : i) * col_img;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, P, o, 1.0f, w, K, dyi, P, 0.0f, col,
                    P);
        if (!pointwise) col2im(s, col, dxi);
      }
    }
    return;
  }
  /* Fewer images than threads: the team works inside each image. */
#pragma omp parallel
  for (int img = 0; img < n; img++) {
    float *dxi = dx + img * x_img;
    float *col = pointwise ? dxi : scratch;
    hw_sgemm_block(omp_get_thread_num(), omp_get_num_threads(), 1, 0, K, P, o, 1.0f, w, K,
                   dy + img * y_img, P, 0.0f, col, P);
#pragma omp barrier
    if (!pointwise) {
#pragma omp for schedule(static)
      for (int ch = 0; ch < s->c; ch++) {
        float *dxc = dxi + ch * plane;
        memset(dxc, 0, plane * sizeof(float));
        col2im_channel(s, scratch + ch * channel_rows, dxc);
      }
    }
  }
}

/* x [n, c, h, w], dy [n, o, oh, ow] -> dw [o, c, kh, kw]. */
void hw_im2col_conv2d_filter_grad(const hw_conv_shape *s, const float *restrict x,
                           const float *restrict dy, float *restrict dw, float *restrict scratch) {
  hw_pin_blas_threads();
  const int n = s->n, c = s->c, o = s->o, taps = s->kh * s->kw, K = c * taps, P = s->oh * s->ow;
  const size_t x_img = (size_t)c * s->h * s->w, y_img = (size_t)o * P, col_img = (size_t)K * P;
  const size_t plane = (size_t)s->h * s->w, channel_rows = (size_t)taps * P;
  const int pointwise = is_pointwise(s);
  memset(dw, 0, (size_t)o * K * sizeof(float));
#pragma omp parallel
  {
    const int part = omp_get_thread_num(), parts = omp_get_num_threads();
    if (pointwise) {
      /* col is the image itself: each thread owns a block of dW. */
      for (int img = 0; img < n; img++)
        hw_sgemm_block(part, parts, 0, 1, o, K, P, 1.0f, dy + img * y_img, P, x + img * x_img, P,
                       1.0f, dw, K);
    } else if (K >= o && c >= parts) {
      /* Each thread owns the columns of dW of a block of input channels: it im2cols just those
       * channels, into its own rows of the first slot, and accumulates every image in order. */
      const int c0 = c * part / parts, c1 = c * (part + 1) / parts;
      float *col = scratch + c0 * channel_rows;
      for (int img = 0; img < n; img++) {
        for (int ch = c0; ch < c1; ch++)
          im2col_channel(s, x + img * x_img + ch * plane, scratch + ch * channel_rows);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, o, (c1 - c0) * taps, P, 1.0f,
                    dy + img * y_img, P, col, P, 1.0f, dw + c0 * taps, K);
      }
    } else {
      /* The team im2cols a chunk of images, one slot each, then each thread adds the chunk's
       * images in order to its block of dW. */
      for (int n0 = 0; n0 < n; n0 += HW_CONV_CHUNK) {
        const int images = n - n0 < HW_CONV_CHUNK ? n - n0 : HW_CONV_CHUNK;
#pragma omp for collapse(2) schedule(static)
        for (int i = 0; i < images; i++) {
          for (int ch = 0; ch < c; ch++)
            im2col_channel(s, x + (n0 + i) * x_img + ch * plane,
                           scratch + i * col_img + ch * channel_rows);
        }
        for (int i = 0; i < images; i++)
          hw_sgemm_block(part, parts, 0, 1, o, K, P, 1.0f, dy + (n0 + i) * y_img, P,
                         scratch + i * col_img, P, 1.0f, dw, K);
#pragma omp barrier
      }
    }
  }
}
