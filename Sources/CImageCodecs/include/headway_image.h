#ifndef HEADWAY_IMAGE_H
#define HEADWAY_IMAGE_H
/*
 * PNG (libpng) and JPEG (libjpeg-turbo) files decoded to 8-bit samples, for image-folder data sets.
 *
 * The format is read from the file's first bytes, not its name. Every problem is an error with a
 * message and the byte offset where the decoder stood: a wrong signature, a chunk or marker cut
 * short, a CRC mismatch, corrupt compressed data. A JPEG that libjpeg would only warn about (a
 * premature end of data, which it fills with gray) is an error too, so no image is silently
 * patched. PNG: palettes expand to RGB, 16-bit samples drop to 8, alpha is dropped, and grey
 * images stay one channel. JPEG: grey stays one channel, everything else becomes RGB.
 */
#include <stddef.h>
#include <stdint.h>

#pragma clang assume_nonnull begin

typedef struct {
  int width, height, channels; /* channels: 1 (grey) or 3 (RGB) */
  uint8_t *_Nullable pixels;   /* height * width * channels samples, HWC; free with hw_image_free */
  long error_offset;           /* where decoding stopped, when it failed; -1 when unknown */
  char error[256];             /* what went wrong, when it failed */
} hw_image;

/* Decodes the file's `size` bytes at `data`. Returns 0 and fills width, height, channels and
 * pixels; or returns -1 with error, error_offset set and pixels NULL. */
int hw_image_decode(const uint8_t *data, size_t size, hw_image *image);

/* Frees the pixels of a decoded image (a no-op after a failure). */
void hw_image_free(hw_image *image);

/* Writes height x width x channels (1 or 3) HWC samples as an 8-bit PNG (libpng) or a baseline
 * JPEG of `quality` 1-100 (libjpeg-turbo) at `path`; returns 0, or -1
 * when the file cannot be written or encoded. For generating test data sets. */
int hw_image_write_png(const char *path, const uint8_t *pixels, int width, int height,
                       int channels);
int hw_image_write_jpeg(const char *path, const uint8_t *pixels, int width, int height,
                        int channels, int quality);

#pragma clang assume_nonnull end
#endif
