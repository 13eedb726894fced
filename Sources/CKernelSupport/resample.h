#ifndef HEADWAY_RESAMPLE_H
#define HEADWAY_RESAMPLE_H
/* Crop, resize and flip of one CHW image (resample.c), shared by the augmentations and
 * hw_resize_images. */
#include <stddef.h>

#pragma clang assume_nonnull begin

/* A crop of the source image, in source pixels, and whether to mirror it. */
typedef struct {
  int top, left, height, width;
  int flip;
} hw_resample_crop;

/* One thread's scratch for crops of an h x w image resized to out_h x out_w: column taps (x0, x1,
 * fx, or x0 and wx for a shrinking axis), the row weights wy and the x-filtered plane tmp. */
typedef struct {
  int *x0, *x1;
  float *fx, *wx, *wy, *tmp;
} hw_resample_scratch;

/* Taps per output pixel of an axis of `length` source pixels resized to `count`. */
int hw_resample_taps(int length, int count);

/* Floats of scratch one thread needs (any crop of an h x w image to out_h x out_w). */
size_t hw_resample_scratch_floats(int h, int w, int out_h, int out_w);

/* The scratch laid out in a block of hw_resample_scratch_floats(h, w, out_h, out_w) floats. */
hw_resample_scratch hw_resample_scratch_at(float *block, int h, int w, int out_h, int out_w);

/* dst [c, out_h, out_w] = the crop of src [c, h, w] resized, mirrored if crop->flip, clamped to
 * [0, 1]. */
void hw_resample(const float *restrict src, int c, int h, int w, const hw_resample_crop *crop,
                 float *restrict dst, int out_h, int out_w, const hw_resample_scratch *s);

#pragma clang assume_nonnull end
#endif
