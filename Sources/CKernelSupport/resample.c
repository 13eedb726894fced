/*
 * Crop, resize and flip of CHW float images (see headway_augment.h for the semantics).
 *
 * Separable: each channel's crop rows are filtered along x into a temporary [crop height, out_w]
 * plane, then output rows are filtered along y from it. An axis the crop enlarges (or keeps) is
 * interpolated bilinearly, a + (b - a) f, which is exact at f = 0 and on constant regions. An
 * axis the crop shrinks is filtered with a triangle of the scale's width, weights normalised over
 * the taps inside the crop (PyTorch's interpolate(mode="bilinear", antialias=True), PIL's
 * BILINEAR), so a 96-pixel side resized to 32 averages every pixel instead of sampling a third.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "headway_augment.h"
#include "resample.h"

static inline float clamp01(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }

/* Bilinear taps of output coordinate d of `count` over a source span [start, start + length):
 * PyTorch's align_corners = false source coordinate, clamped below at 0. */
static inline void tap(int d, int count, int start, int length, int *i0, int *i1, float *f) {
  const float scale = (float)length / (float)count;
  float s = ((float)d + 0.5f) * scale - 0.5f;
  if (s < 0.0f) s = 0.0f;
  int low = (int)s;
  if (low > length - 1) low = length - 1;
  *i0 = start + low;
  *i1 = start + (low < length - 1 ? low + 1 : low);
  *f = s - (float)low;
}

int hw_resample_taps(int length, int count) {
  return length > count ? (int)ceil(2.0 * length / count) + 1 : 2;
}

/* Antialiasing taps of output coordinate d of `count` over [start, start + length), length >
 * count: the first source index and `taps` normalised weights (zero past the span). */
static void filter_taps(int d, int count, int start, int length, int taps, int *first,
                        float *weights) {
  const double scale = (double)length / count, center = (d + 0.5) * scale;
  int lo = (int)(center - scale + 0.5);
  if (lo < 0) lo = 0;
  int hi = (int)(center + scale + 0.5);
  if (hi > length) hi = length;
  if (hi - lo > taps) hi = lo + taps;
  double total = 0.0;
  for (int j = 0; j < taps; j++) {
    const double x = fabs((lo + j + 0.5 - center) / scale);
    const double weight = lo + j < hi && x < 1.0 ? 1.0 - x : 0.0;
    weights[j] = (float)weight;
    total += weight;
  }
  for (int j = 0; j < taps; j++) weights[j] = (float)(weights[j] / total);
  *first = start + lo;
}

/* Column taps of every output x (mirrored when flipping) into the scratch block. */
static void column_taps(const hw_resample_crop *crop, int out_w, const hw_resample_scratch *s) {
  const int taps = hw_resample_taps(crop->width, out_w);
  for (int x = 0; x < out_w; x++) {
    const int d = crop->flip ? out_w - 1 - x : x;
    if (crop->width > out_w) {
      filter_taps(d, out_w, crop->left, crop->width, taps, &s->x0[x], s->wx + (size_t)x * taps);
    } else {
      tap(d, out_w, crop->left, crop->width, &s->x0[x], &s->x1[x], &s->fx[x]);
    }
  }
}

/* tmp [crop height, out_w] = the crop's rows of one channel filtered along x. */
static void filter_rows(const float *restrict plane, int w, const hw_resample_crop *crop,
                        int out_w, const hw_resample_scratch *s) {
  const int taps = hw_resample_taps(crop->width, out_w);
  for (int r = 0; r < crop->height; r++) {
    const float *restrict in = plane + (size_t)(crop->top + r) * w;
    float *restrict out = s->tmp + (size_t)r * out_w;
    if (crop->width > out_w) {
      for (int x = 0; x < out_w; x++) {
        const float *restrict weights = s->wx + (size_t)x * taps;
        const float *restrict source = in + s->x0[x];
        float sum = 0.0f;
        for (int j = 0; j < taps && s->x0[x] + j < w; j++) sum += weights[j] * source[j];
        out[x] = sum;
      }
      continue;
    }
    /* Scalar: AVX-512 gathers made this loop three times slower on Zen 4. */
#pragma clang loop vectorize(disable)
    for (int x = 0; x < out_w; x++) {
      out[x] = in[s->x0[x]] + (in[s->x1[x]] - in[s->x0[x]]) * s->fx[x];
    }
  }
}

/* dst [out_h, out_w] = tmp's rows filtered along y, clamped to [0, 1]. */
static void filter_columns(const hw_resample_crop *crop, int out_h, int out_w,
                           const hw_resample_scratch *s, float *restrict dst) {
  const int taps = hw_resample_taps(crop->height, out_h);
  for (int y = 0; y < out_h; y++) {
    float *restrict out = dst + (size_t)y * out_w;
    if (crop->height > out_h) {
      int first;
      filter_taps(y, out_h, 0, crop->height, taps, &first, s->wy);
      for (int x = 0; x < out_w; x++) out[x] = 0.0f;
      for (int j = 0; j < taps && first + j < crop->height; j++) {
        const float weight = s->wy[j];
        const float *restrict row = s->tmp + (size_t)(first + j) * out_w;
        for (int x = 0; x < out_w; x++) out[x] += weight * row[x];
      }
      for (int x = 0; x < out_w; x++) out[x] = clamp01(out[x]);
      continue;
    }
    int y0, y1;
    float fy;
    tap(y, out_h, 0, crop->height, &y0, &y1, &fy);
    const float *restrict upper = s->tmp + (size_t)y0 * out_w;
    const float *restrict lower = s->tmp + (size_t)y1 * out_w;
    for (int x = 0; x < out_w; x++) out[x] = clamp01(upper[x] + (lower[x] - upper[x]) * fy);
  }
}

/* Copies (mirrored when flipping) each row of a crop that is the whole image at its own size. */
static void copy_rows(const float *restrict src, int c, int h, int w, int flip,
                      float *restrict dst) {
  for (size_t i = 0; i < (size_t)c * h; i++) {
    const float *restrict in = src + i * w;
    float *restrict out = dst + i * w;
    if (flip) {
      for (int x = 0; x < w; x++) out[x] = clamp01(in[w - 1 - x]);
    } else {
      for (int x = 0; x < w; x++) out[x] = clamp01(in[x]);
    }
  }
}

size_t hw_resample_scratch_floats(int h, int w, int out_h, int out_w) {
  const size_t taps_x = (size_t)hw_resample_taps(w, out_w);
  const size_t taps_y = (size_t)hw_resample_taps(h, out_h);
  return 3 * (size_t)out_w + (size_t)out_w * taps_x + taps_y + (size_t)h * (size_t)out_w;
}

hw_resample_scratch hw_resample_scratch_at(float *block, int h, int w, int out_h, int out_w) {
  hw_resample_scratch s;
  s.x0 = (int *)block;
  s.x1 = s.x0 + out_w;
  s.fx = (float *)(s.x1 + out_w);
  s.wx = s.fx + out_w;
  s.wy = s.wx + (size_t)out_w * hw_resample_taps(w, out_w);
  s.tmp = s.wy + hw_resample_taps(h, out_h);
  return s;
}

void hw_resample(const float *restrict src, int c, int h, int w, const hw_resample_crop *crop,
                 float *restrict dst, int out_h, int out_w, const hw_resample_scratch *s) {
  if (crop->top == 0 && crop->left == 0 && crop->height == h && crop->width == w && out_h == h &&
      out_w == w) {
    copy_rows(src, c, h, w, crop->flip, dst);
    return;
  }
  column_taps(crop, out_w, s);
  const size_t plane = (size_t)h * (size_t)w, out_plane = (size_t)out_h * (size_t)out_w;
  for (int k = 0; k < c; k++) {
    filter_rows(src + k * plane, w, crop, out_w, s);
    filter_columns(crop, out_h, out_w, s, dst + k * out_plane);
  }
}

void hw_resize_images(const float *images, int count, int c, int h, int w, int out_h, int out_w,
                      float *out) {
  if (count <= 0 || c <= 0 || h <= 0 || w <= 0 || out_h <= 0 || out_w <= 0) return;
  const size_t stride = (hw_resample_scratch_floats(h, w, out_h, out_w) * sizeof(float) + 63) /
                        64 * 64;
  const int threads = omp_get_max_threads();
  unsigned char *scratch = aligned_alloc(64, stride * (size_t)threads);
  if (!scratch) {
    fprintf(stderr, "hw_resize_images: cannot allocate %zu bytes of scratch\n",
            stride * (size_t)threads);
    abort();
  }
  const hw_resample_crop whole = {.top = 0, .left = 0, .height = h, .width = w, .flip = 0};
  const size_t image = (size_t)c * h * w, out_image = (size_t)c * out_h * out_w;
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int i = 0; i < count; i++) {
    float *mine = (float *)(scratch + stride * (size_t)omp_get_thread_num());
    const hw_resample_scratch s = hw_resample_scratch_at(mine, h, w, out_h, out_w);
    hw_resample(images + (size_t)i * image, c, h, w, &whole, out + (size_t)i * out_image, out_h,
                out_w, &s);
  }
  free(scratch);
}
