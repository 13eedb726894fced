/*
 * SimCLR augmentations (see headway_augment.h for the semantics).
 *
 * One OpenMP team splits the 2n views statically (a dynamic schedule makes the toolchain's clang
 * call __kmpc_dispatch_deinit, which LLVM 14's libomp lacks). Each view is computed start to
 * finish by one thread from its own SplitMix64 stream, so its bits depend only on (seed, step,
 * dataset index, view) and the options, never on the team size or the schedule. Each view is
 * built in place in its output row; a scratch block per thread (one malloc per call, before the
 * parallel loop) holds the crop's taps and x-filtered rows (resample.c), and the blur's
 * intermediate plane, padded row and kernel.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "headway_augment.h"
#include "resample.h"

/* ---- SplitMix64, bit for bit as GraphIR's SplitMix64.swift ---- */

#define GOLDEN 0x9E3779B97F4A7C15ull

static inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static inline uint64_t next_u64(uint64_t *state) {
  *state += GOLDEN;
  return mix64(*state);
}

/* Uniform in [0, 1) from the top 24 bits, as SplitMix64.unit(). */
static inline float next_unit(uint64_t *state) {
  return (float)(next_u64(state) >> 40) * 0x1p-24f;
}

/* Uniform in [lo, hi], as SplitMix64.uniform(lo...hi). */
static inline float next_uniform(uint64_t *state, float lo, float hi) {
  return lo + (hi - lo) * next_unit(state);
}

uint64_t hw_augment_view_seed(uint64_t seed, uint64_t step, uint64_t index, uint64_t view) {
  const uint64_t values[4] = {seed, step, index, view};
  uint64_t h = 0x6A09E667F3BCC908ull;
  for (int i = 0; i < 4; i++) h = mix64(h ^ mix64(values[i] + GOLDEN));
  return h;
}

/* ---- Options ---- */

hw_augment_options hw_augment_defaults(int channels, int height) {
  const float s = height <= 32 ? 0.5f : 1.0f;
  const int rgb = channels == 3;
  hw_augment_options o = {
      .crop_scale_min = 0.08f,
      .crop_scale_max = 1.0f,
      .crop_ratio_min = 3.0f / 4.0f,
      .crop_ratio_max = 4.0f / 3.0f,
      .flip_probability = 0.5f,
      .jitter_probability = 0.8f,
      .brightness = 0.8f * s,
      .contrast = 0.8f * s,
      .saturation = rgb ? 0.8f * s : 0.0f,
      .hue = rgb ? 0.2f * s : 0.0f,
      .grayscale_probability = rgb ? 0.2f : 0.0f,
      .blur_probability = height > 32 ? 0.5f : 0.0f,
      .blur_sigma_min = 0.1f,
      .blur_sigma_max = 2.0f,
  };
  return o;
}

/* ---- One view's random choices ---- */

enum { BRIGHTNESS = 0, CONTRAST = 1, SATURATION = 2, HUE = 3 };

typedef struct {
  int flip, jitter, grayscale, blur;
  int order[4];
  float brightness, contrast, saturation, hue, sigma;
  int top, left, height, width; /* the crop, in source pixels */
} view_plan;

static inline float min_f(float a, float b) { return a < b ? a : b; }
static inline float max_f(float a, float b) { return a > b ? a : b; }
static inline float clamp01(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }

/* torchvision's RandomResizedCrop.get_params. */
static void sample_crop(const hw_augment_options *o, int h, int w, uint64_t *rng, view_plan *p) {
  const double area = (double)h * (double)w;
  const float log_lo = logf(o->crop_ratio_min), log_hi = logf(o->crop_ratio_max);
  for (int attempt = 0; attempt < 10; attempt++) {
    const double target = area * next_uniform(rng, o->crop_scale_min, o->crop_scale_max);
    const double aspect = exp(next_uniform(rng, log_lo, log_hi));
    const double cw = rint(sqrt(target * aspect)), ch = rint(sqrt(target / aspect));
    if (cw > 0 && ch > 0 && cw <= w && ch <= h) {
      p->width = (int)cw;
      p->height = (int)ch;
      p->top = (int)(next_u64(rng) % (uint64_t)(h - p->height + 1));
      p->left = (int)(next_u64(rng) % (uint64_t)(w - p->width + 1));
      return;
    }
  }
  const float in_ratio = (float)w / (float)h;
  const float ratio_lo = min_f(o->crop_ratio_min, o->crop_ratio_max);
  const float ratio_hi = max_f(o->crop_ratio_min, o->crop_ratio_max);
  int cw = w, ch = h;
  if (in_ratio < ratio_lo) {
    ch = (int)rint(cw / ratio_lo);
  } else if (in_ratio > ratio_hi) {
    cw = (int)rint(ch * ratio_hi);
  }
  if (ch < 1) ch = 1;
  if (ch > h) ch = h;
  if (cw < 1) cw = 1;
  if (cw > w) cw = w;
  p->height = ch;
  p->width = cw;
  p->top = (h - ch) / 2;
  p->left = (w - cw) / 2;
}

static void sample_plan(const hw_augment_options *o, int h, int w, uint64_t *rng, view_plan *p) {
  /* A fixed sequence of draws, each made whether used or not, then the crop. */
  p->flip = next_unit(rng) < o->flip_probability;
  p->jitter = next_unit(rng) < o->jitter_probability;
  for (int i = 0; i < 4; i++) p->order[i] = i;
  for (int i = 3; i > 0; i--) { /* Fisher-Yates */
    const int j = (int)(next_u64(rng) % (uint64_t)(i + 1));
    const int t = p->order[i];
    p->order[i] = p->order[j];
    p->order[j] = t;
  }
  p->brightness = next_uniform(rng, max_f(0.0f, 1.0f - o->brightness), 1.0f + o->brightness);
  p->contrast = next_uniform(rng, max_f(0.0f, 1.0f - o->contrast), 1.0f + o->contrast);
  p->saturation = next_uniform(rng, max_f(0.0f, 1.0f - o->saturation), 1.0f + o->saturation);
  p->hue = next_uniform(rng, -o->hue, o->hue);
  p->grayscale = next_unit(rng) < o->grayscale_probability;
  p->blur = next_unit(rng) < o->blur_probability;
  p->sigma = next_uniform(rng, o->blur_sigma_min, o->blur_sigma_max);
  sample_crop(o, h, w, rng, p);
}

/* ---- Colour ---- */

static inline float luma(float r, float g, float b) {
  return 0.299f * r + 0.587f * g + 0.114f * b;
}

static void adjust_brightness(float *restrict v, size_t count, float factor) {
  for (size_t i = 0; i < count; i++) v[i] = clamp01(v[i] * factor);
}

/* Sums in 16 double lanes, added up at the end: vectorises, and the order is fixed. */
enum { LANES = 16 };

static double lane_total(const double *lanes) {
  double sum = 0.0;
  for (int l = 0; l < LANES; l++) sum += lanes[l];
  return sum;
}

static double sum_values(const float *restrict v, size_t count) {
  double lanes[LANES] = {0};
  size_t i = 0;
  for (; i + LANES <= count; i += LANES) {
    for (int l = 0; l < LANES; l++) lanes[l] += v[i + l];
  }
  for (; i < count; i++) lanes[0] += v[i];
  return lane_total(lanes);
}

static double sum_luma(const float *restrict r, const float *restrict g, const float *restrict b,
                       size_t count) {
  double lanes[LANES] = {0};
  size_t i = 0;
  for (; i + LANES <= count; i += LANES) {
    for (int l = 0; l < LANES; l++) lanes[l] += luma(r[i + l], g[i + l], b[i + l]);
  }
  for (; i < count; i++) lanes[0] += luma(r[i], g[i], b[i]);
  return lane_total(lanes);
}

/* Blend with the mean luma of the whole view (the mean of all values unless c == 3). */
static void adjust_contrast(float *restrict v, int c, size_t plane, float factor) {
  const size_t count = (size_t)c * plane;
  const double mean = c == 3 ? sum_luma(v, v + plane, v + 2 * plane, plane) / (double)plane
                             : sum_values(v, count) / (double)count;
  const float offset = (1.0f - factor) * (float)mean;
  for (size_t i = 0; i < count; i++) v[i] = clamp01(factor * v[i] + offset);
}

/* Blend each pixel with its luma (RGB only). */
static void adjust_saturation(float *restrict v, size_t plane, float factor) {
  float *restrict r = v, *restrict g = v + plane, *restrict b = v + 2 * plane;
  for (size_t i = 0; i < plane; i++) {
    const float gray = (1.0f - factor) * luma(r[i], g[i], b[i]);
    r[i] = clamp01(factor * r[i] + gray);
    g[i] = clamp01(factor * g[i] + gray);
    b[i] = clamp01(factor * b[i] + gray);
  }
}

/* Rotate each pixel's hue by `shift` turns: torchvision's _rgb2hsv, (h + shift) mod 1, _hsv2rgb,
 * branch-free so that it vectorises. Gray pixels (no hue, s = 0) come back unchanged. */
static void adjust_hue(float *restrict v, size_t plane, float shift) {
  float *restrict rp = v, *restrict gp = v + plane, *restrict bp = v + 2 * plane;
  for (size_t i = 0; i < plane; i++) {
    const float r = rp[i], g = gp[i], b = bp[i];
    const float maxc = max_f(r, max_f(g, b)), minc = min_f(r, min_f(g, b));
    const float range = maxc - minc;
    const float s = range / (maxc == 0.0f ? 1.0f : maxc);
    const float divisor = range == 0.0f ? 1.0f : range;
    const float rc = (maxc - r) / divisor, gc = (maxc - g) / divisor, bc = (maxc - b) / divisor;
    const float h6 = maxc == r ? bc - gc : (maxc == g ? 2.0f + rc - bc : 4.0f + gc - rc);
    float hue = h6 / 6.0f + 1.0f; /* in [5/6, 11/6]: fmod(., 1) is one exact subtraction */
    hue = (hue >= 1.0f ? hue - 1.0f : hue) + shift;
    hue -= floorf(hue);
    float sector = floorf(hue * 6.0f);
    const float f = hue * 6.0f - sector;
    if (sector >= 6.0f) sector -= 6.0f; /* hue rounded up to 1 */
    const float p = clamp01(maxc * (1.0f - s));
    const float q = clamp01(maxc * (1.0f - s * f));
    const float t = clamp01(maxc * (1.0f - s * (1.0f - f)));
    /* Sectors 0..5 give r = (v q p p t v), g = (t v v q p p), b = (p p t v v q). */
    const int k = (int)sector;
    rp[i] = k == 0 || k == 5 ? maxc : (k == 1 ? q : (k == 4 ? t : p));
    gp[i] = k == 1 || k == 2 ? maxc : (k == 0 ? t : (k == 3 ? q : p));
    bp[i] = k == 3 || k == 4 ? maxc : (k == 2 ? t : (k == 5 ? q : p));
  }
}

static void grayscale(float *restrict v, size_t plane) {
  float *restrict r = v, *restrict g = v + plane, *restrict b = v + 2 * plane;
  for (size_t i = 0; i < plane; i++) {
    const float y = clamp01(luma(r[i], g[i], b[i]));
    r[i] = y;
    g[i] = y;
    b[i] = y;
  }
}

/* ---- Gaussian blur ---- */

/* The blur's radius for an h x w image: SimCLR's kernel of about 10% of the side, made odd. */
static int blur_radius(int h, int w) { return (h < w ? h : w) / 10 / 2; }

static inline int reflect(int i, int n) { return i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i); }

/* Blurs each [h, w] plane of v in place with the normalised kernel k[0..radius] (k[j] for offsets
 * +-j). Written as x + sum_j k[j] (x[-j] + x[+j] - 2 x), equal to the plain convolution since the
 * kernel sums to 1, and exact on constant regions. tmp holds one plane, row one padded row. */
static void gaussian_blur(float *restrict v, int c, int h, int w, int radius,
                          const float *restrict k, float *restrict tmp, float *restrict row) {
  const size_t plane = (size_t)h * (size_t)w;
  for (int ch = 0; ch < c; ch++) {
    float *restrict img = v + ch * plane;
    /* Horizontal pass: img -> tmp, through a reflect-padded copy of each row. */
    for (int y = 0; y < h; y++) {
      const float *restrict in = img + (size_t)y * w;
      float *restrict out = tmp + (size_t)y * w;
      memcpy(row + radius, in, (size_t)w * sizeof(float));
      for (int j = 1; j <= radius; j++) {
        row[radius - j] = in[reflect(-j, w)];
        row[radius + w - 1 + j] = in[reflect(w - 1 + j, w)];
      }
      const float *restrict mid = row + radius;
      for (int x = 0; x < w; x++) out[x] = 0.0f;
      for (int j = 1; j <= radius; j++) {
        const float kj = k[j];
        for (int x = 0; x < w; x++) out[x] += kj * (mid[x - j] + mid[x + j] - 2.0f * mid[x]);
      }
      for (int x = 0; x < w; x++) out[x] += mid[x];
    }
    /* Vertical pass: tmp -> img. */
    for (int y = 0; y < h; y++) {
      const float *restrict mid = tmp + (size_t)y * w;
      float *restrict out = img + (size_t)y * w;
      for (int x = 0; x < w; x++) out[x] = 0.0f;
      for (int j = 1; j <= radius; j++) {
        const float kj = k[j];
        const float *restrict up = tmp + (size_t)reflect(y - j, h) * w;
        const float *restrict down = tmp + (size_t)reflect(y + j, h) * w;
        for (int x = 0; x < w; x++) out[x] += kj * (up[x] + down[x] - 2.0f * mid[x]);
      }
      for (int x = 0; x < w; x++) out[x] = clamp01(out[x] + mid[x]);
    }
  }
}

/* torchvision's _get_gaussian_kernel1d: exp(-x^2 / (2 sigma^2)) at x = -r..r, normalised. */
static void gaussian_kernel(float sigma, int radius, float *k) {
  double sum = 0.0;
  for (int j = 0; j <= radius; j++) {
    const double x = j / (double)sigma;
    k[j] = (float)exp(-0.5 * x * x);
    sum += (j == 0 ? 1.0 : 2.0) * k[j];
  }
  for (int j = 0; j <= radius; j++) k[j] = (float)(k[j] / sum);
}

/* ---- The batch ---- */

/* Floats of one thread's scratch: the crop's (resample.c), then the blur's plane (oh ow), padded
 * row (ow + 2r) and kernel (r + 1). */
static size_t blur_floats(int out_h, int out_w, int radius) {
  return (size_t)out_h * (size_t)out_w + (size_t)out_w + 3 * (size_t)radius + 1;
}

void hw_augment_views(const hw_augment_options *options, uint64_t seed, uint64_t step,
                      const float *images, int c, int h, int w, const int64_t *indices, int n,
                      int out_h, int out_w, float *views) {
  if (n <= 0 || c <= 0 || h <= 0 || w <= 0 || out_h <= 0 || out_w <= 0) return;
  const hw_augment_options o = *options;
  const size_t image = (size_t)c * h * w, out_plane = (size_t)out_h * out_w;
  const int radius = blur_radius(out_h, out_w);
  const size_t crop_floats = hw_resample_scratch_floats(h, w, out_h, out_w);
  const size_t stride =
      ((crop_floats + blur_floats(out_h, out_w, radius)) * sizeof(float) + 63) / 64 * 64;
  const int threads = omp_get_max_threads();
  unsigned char *scratch = aligned_alloc(64, stride * (size_t)threads);
  if (!scratch) {
    fprintf(stderr, "hw_augment_views: cannot allocate %zu bytes of scratch\n",
            stride * (size_t)threads);
    abort();
  }
  const long total = 2L * n;

#pragma omp parallel for schedule(static) num_threads(threads)
  for (long v = 0; v < total; v++) {
    float *mine = (float *)(scratch + stride * (size_t)omp_get_thread_num());
    const hw_resample_scratch crop_scratch = hw_resample_scratch_at(mine, h, w, out_h, out_w);
    float *tmp = mine + crop_floats;
    float *row = tmp + out_plane;
    float *kernel = row + out_w + 2 * radius;

    const int view = v >= n;
    const int64_t index = indices[v - (long)view * n];
    uint64_t rng = hw_augment_view_seed(seed, step, (uint64_t)index, (uint64_t)view);
    view_plan p;
    sample_plan(&o, h, w, &rng, &p);

    float *out = views + (size_t)v * c * out_plane;
    const hw_resample_crop crop = {p.top, p.left, p.height, p.width, p.flip};
    hw_resample(images + (size_t)index * image, c, h, w, &crop, out, out_h, out_w, &crop_scratch);
    if (p.jitter) {
      for (int i = 0; i < 4; i++) {
        switch (p.order[i]) {
        case BRIGHTNESS:
          if (p.brightness != 1.0f) adjust_brightness(out, c * out_plane, p.brightness);
          break;
        case CONTRAST:
          if (p.contrast != 1.0f) adjust_contrast(out, c, out_plane, p.contrast);
          break;
        case SATURATION:
          if (c == 3 && p.saturation != 1.0f) adjust_saturation(out, out_plane, p.saturation);
          break;
        default:
          if (c == 3 && p.hue != 0.0f) adjust_hue(out, out_plane, p.hue);
          break;
        }
      }
    }
    if (p.grayscale && c == 3) grayscale(out, out_plane);
    if (p.blur && radius > 0) {
      gaussian_kernel(p.sigma, radius, kernel);
      gaussian_blur(out, c, out_h, out_w, radius, kernel, tmp, row);
    }
  }
  free(scratch);
}
