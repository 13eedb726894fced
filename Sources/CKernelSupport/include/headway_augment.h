#ifndef HEADWAY_AUGMENT_H
#define HEADWAY_AUGMENT_H
/*
 * SimCLR's data augmentation over NCHW float32 images in [0, 1], one OpenMP team over the views.
 *
 * Each view goes through, in this order (torchvision semantics, SimCLR's pipeline):
 *   1. RandomResizedCrop: up to 10 tries at an area fraction uniform in [crop_scale_min,
 *      crop_scale_max] and an aspect ratio (width / height) log-uniform in [crop_ratio_min,
 *      crop_ratio_max]; sides rounded half to even; the first crop that fits is placed uniformly,
 *      else the largest centred crop within the ratio range. The crop is resized to the output's
 *      out_h x out_w: bilinearly (align_corners = false, edges clamped) along an axis it
 *      enlarges or keeps, with a triangle filter of the scale's width along one it shrinks
 *      (antialiased, as PyTorch's interpolate(antialias=True)), so any image size maps to the
 *      program's.
 *   2. RandomHorizontalFlip with flip_probability.
 *   3. With jitter_probability, ColorJitter: brightness, contrast, saturation and hue in a random
 *      order, factors uniform in [max(0, 1 - s), 1 + s] (hue: shift uniform in [-hue, hue] of a
 *      full turn, via RGB -> HSV -> RGB). Brightness scales; contrast blends with the mean luma of
 *      the whole view; saturation blends with each pixel's luma. Saturation and hue act only when
 *      c == 3; for other channel counts contrast uses the mean over all values.
 *   4. RandomGrayscale with grayscale_probability: every channel becomes the luma
 *      0.299 r + 0.587 g + 0.114 b (c == 3 only; a no-op otherwise).
 *   5. With blur_probability, GaussianBlur: sigma uniform in [blur_sigma_min, blur_sigma_max],
 *      kernel size 2 * (min(h, w) / 10 / 2) + 1 (about 10% of the side, odd: 3 for 28 and 32, 9
 *      for 96; 1, i.e. no blur, below 20), separable, reflect padding.
 * Every step clamps to [0, 1]. Steps whose factor is the identity (a strength of 0) are skipped,
 * so all probabilities 0 with the crop scale and ratio fixed at 1 copy a square image exactly.
 *
 * Randomness: each view draws from its own SplitMix64 stream seeded with
 * hw_augment_view_seed(seed, step, dataset index, view) (GraphIR's SplitMix64.seed of the same four
 * values). It draws a fixed set of values first (flip, jitter, order, the four factors, grayscale,
 * blur, sigma, each whether used or not) and the crop last, so one option's setting never shifts
 * another option's choices. Views are therefore independent of the thread count, the order of
 * the batch and each other.
 */
#include <stdint.h>

#pragma clang assume_nonnull begin

typedef struct {
  float crop_scale_min, crop_scale_max; /* random resized crop area fraction, SimCLR 0.08..1 */
  float crop_ratio_min, crop_ratio_max; /* crop aspect ratio (width / height), 3/4..4/3; > 0 */
  float flip_probability;               /* 0.5 */
  float jitter_probability;             /* 0.8: apply colour jitter with this probability */
  float brightness, contrast, saturation, hue; /* strengths 0.8s, 0.8s, 0.8s, 0.2s */
  float grayscale_probability;                 /* 0.2 */
  float blur_probability;                      /* 0.5; 0 for 32x32 and smaller, as SimCLR */
  float blur_sigma_min, blur_sigma_max;        /* 0.1..2.0 */
} hw_augment_options;

/* SimCLR's defaults for images of `channels` channels and `height` rows: colour strength s = 0.5
 * up to 32 rows (SimCLR's CIFAR setting), else 1; blur only above 32 rows; saturation, hue and
 * grayscale 0 unless channels == 3. */
hw_augment_options hw_augment_defaults(int channels, int height);

/* The seed of the random stream of one view: SplitMix64.seed(seed, step, index, view). */
uint64_t hw_augment_view_seed(uint64_t seed, uint64_t step, uint64_t index, uint64_t view);

/* images: [count, c, h, w] floats in [0, 1]; indices: the n dataset indices of the batch.
 * views: output [2n, c, out_h, out_w]; row i is view 0 of images[indices[i]] and row n + i its
 * view 1, so a contrastive loss pairs row i with row n + i. The blur's kernel follows the output
 * size. Parallel over the 2n views of one OpenMP team (see threads.c); allocates one scratch
 * block per call, about (h + out_h + 5 + taps) * out_w floats per thread, and aborts if that
 * allocation fails. No size limit beyond memory. */
void hw_augment_views(const hw_augment_options *options, uint64_t seed, uint64_t step,
                      const float *images, int c, int h, int w, const int64_t *indices, int n,
                      int out_h, int out_w, float *views);

/* out [count, c, out_h, out_w] = each whole image of images [count, c, h, w] resized as the
 * augmentation resizes a crop (no flip, clamped to [0, 1]); a copy when the sizes agree. For
 * evaluation at a program's image size. Parallel over the images; aborts if its scratch cannot be
 * allocated. */
void hw_resize_images(const float *images, int count, int c, int h, int w, int out_h, int out_w,
                      float *out);

#pragma clang assume_nonnull end
#endif
