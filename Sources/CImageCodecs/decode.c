/*
 * PNG and JPEG decoding (see headway_image.h). Both libraries report errors through callbacks
 * that longjmp back here; each decoder reads from the file's bytes in memory, so the offset it
 * had reached is known when it fails. The callbacks record the message and offset before the
 * jump: locals changed after setjmp are indeterminate once it returns again (C11 7.13.2.1), and
 * clang does drop such reads.
 */
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h> /* after stdio.h: it uses FILE and size_t without including them */
#include <png.h>

#include "headway_image.h"

/* The largest image accepted: 2^28 samples (a 9459 x 9459 RGB image), far above any data set. */
#define MAX_SAMPLES ((size_t)1 << 28)

static int fail(hw_image *image, long offset, const char *message) {
  image->pixels = NULL;
  image->error_offset = offset;
  snprintf(image->error, sizeof image->error, "%s", message);
  return -1;
}

/* Whether the header's size is unusable; `offset` is where the decoder stood after the header. */
static int too_large(hw_image *image, size_t width, size_t height, size_t channels, long offset) {
  if (width == 0 || height == 0) return fail(image, offset, "the image has no pixels");
  if (width * height * channels > MAX_SAMPLES) {
    char message[128];
    snprintf(message, sizeof message, "%zu x %zu x %zu samples exceed the limit of %zu", height,
             width, channels, MAX_SAMPLES);
    return fail(image, offset, message);
  }
  return 0;
}

/* ---- PNG ---- */

typedef struct {
  const uint8_t *data;
  size_t size, position;
  hw_image *image;
} png_source;

static void png_read_bytes(png_structp png, png_bytep out, size_t count) {
  png_source *source = png_get_io_ptr(png);
  if (count > source->size - source->position) png_error(png, "the file ends early");
  memcpy(out, source->data + source->position, count);
  source->position += count;
}

static void png_fail(png_structp png, png_const_charp message) {
  png_source *source = png_get_error_ptr(png);
  snprintf(source->image->error, sizeof source->image->error, "PNG: %s", message);
  source->image->error_offset = (long)source->position;
  png_longjmp(png, 1);
}

/* Warnings (an ancillary chunk with a bad CRC, an odd colour profile) leave the pixels intact. */
static void png_warn(png_structp png, png_const_charp message) {
  (void)png;
  (void)message;
}

static int decode_png(const uint8_t *data, size_t size, hw_image *image) {
  png_source source = {data, size, 0, image};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &source, png_fail, png_warn);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!info) {
    png_destroy_read_struct(&png, NULL, NULL);
    return fail(image, -1, "PNG: out of memory");
  }
  uint8_t *volatile pixels = NULL;
  png_bytep *volatile rows = NULL;
  if (setjmp(png_jmpbuf(png))) {
    free(pixels);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    image->pixels = NULL;
    return -1;
  }
  png_set_read_fn(png, &source, png_read_bytes);
  png_read_info(png, info);
  png_set_strip_16(png);
  png_set_palette_to_rgb(png);
  png_set_expand_gray_1_2_4_to_8(png);
  png_set_strip_alpha(png);
  png_read_update_info(png, info);
  const size_t width = png_get_image_width(png, info), height = png_get_image_height(png, info);
  const size_t channels = png_get_channels(png, info);
  if (too_large(image, width, height, channels, (long)source.position)) {
    png_destroy_read_struct(&png, &info, NULL);
    return -1;
  }
  pixels = malloc(width * height * channels);
  rows = malloc(height * sizeof *rows);
  if (!pixels || !rows) png_error(png, "out of memory");
  for (size_t y = 0; y < height; y++) rows[y] = pixels + y * width * channels;
  png_read_image(png, rows);
  png_read_end(png, NULL);
  png_destroy_read_struct(&png, &info, NULL);
  free(rows);
  image->width = (int)width;
  image->height = (int)height;
  image->channels = (int)channels;
  image->pixels = pixels;
  return 0;
}

/* ---- JPEG ---- */

typedef struct {
  struct jpeg_error_mgr base;
  jmp_buf jump;
  hw_image *image;
  size_t size; /* of the file, for offsets */
} jpeg_failure;

static void jpeg_fail(j_common_ptr info) {
  jpeg_failure *failure = (jpeg_failure *)info->err;
  char message[JMSG_LENGTH_MAX];
  (*info->err->format_message)(info, message);
  snprintf(failure->image->error, sizeof failure->image->error, "JPEG: %s", message);
  const struct jpeg_source_mgr *source = info->is_decompressor
                                             ? ((j_decompress_ptr)info)->src
                                             : NULL;
  if (source) failure->image->error_offset = (long)(failure->size - source->bytes_in_buffer);
  longjmp(failure->jump, 1);
}

/* A warning (level -1: corrupt data, a premature end filled with gray) fails like an error;
 * trace messages (level >= 0) are ignored. */
static void jpeg_message(j_common_ptr info, int level) {
  if (level < 0) jpeg_fail(info);
}

/* The file's bytes as libjpeg's source, all in its buffer at once; asking for more means the
 * file ends inside the image, an error (libjpeg's own memory source would warn and pad). */
static void source_start(j_decompress_ptr info) { (void)info; }

static boolean source_refill(j_decompress_ptr info) {
  jpeg_failure *failure = (jpeg_failure *)info->err;
  snprintf(failure->image->error, sizeof failure->image->error,
           "JPEG: the file ends early, inside the image data");
  failure->image->error_offset = (long)failure->size;
  longjmp(failure->jump, 1);
}

static void source_skip(j_decompress_ptr info, long count) {
  struct jpeg_source_mgr *source = info->src;
  if (count <= 0) return;
  if ((size_t)count > source->bytes_in_buffer) source_refill(info);
  source->next_input_byte += count;
  source->bytes_in_buffer -= (size_t)count;
}

static void source_end(j_decompress_ptr info) { (void)info; }

static int decode_jpeg(const uint8_t *data, size_t size, hw_image *image) {
  struct jpeg_decompress_struct info;
  jpeg_failure failure;
  info.err = jpeg_std_error(&failure.base);
  failure.base.error_exit = jpeg_fail;
  failure.base.emit_message = jpeg_message;
  failure.image = image;
  failure.size = size;
  uint8_t *volatile pixels = NULL;
  if (setjmp(failure.jump)) {
    jpeg_destroy_decompress(&info);
    free(pixels);
    image->pixels = NULL;
    return -1;
  }
  jpeg_create_decompress(&info);
  struct jpeg_source_mgr source = {
      .next_input_byte = data,
      .bytes_in_buffer = size,
      .init_source = source_start,
      .fill_input_buffer = source_refill,
      .skip_input_data = source_skip,
      .resync_to_restart = jpeg_resync_to_restart,
      .term_source = source_end,
  };
  info.src = &source;
  jpeg_read_header(&info, TRUE);
  info.out_color_space = info.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&info);
  const size_t width = info.output_width, height = info.output_height;
  const size_t channels = (size_t)info.output_components;
  if (too_large(image, width, height, channels, (long)(size - info.src->bytes_in_buffer))) {
    jpeg_destroy_decompress(&info);
    return -1;
  }
  pixels = malloc(width * height * channels);
  if (!pixels) {
    jpeg_destroy_decompress(&info);
    return fail(image, -1, "JPEG: out of memory");
  }
  while (info.output_scanline < info.output_height) {
    JSAMPROW row = pixels + (size_t)info.output_scanline * width * channels;
    jpeg_read_scanlines(&info, &row, 1);
  }
  jpeg_finish_decompress(&info);
  jpeg_destroy_decompress(&info);
  image->width = (int)width;
  image->height = (int)height;
  image->channels = (int)channels;
  image->pixels = pixels;
  return 0;
}

int hw_image_decode(const uint8_t *data, size_t size, hw_image *image) {
  image->error[0] = '\0';
  image->error_offset = -1;
  static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (size >= 8 && memcmp(data, png_signature, 8) == 0) return decode_png(data, size, image);
  if (size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff) {
    return decode_jpeg(data, size, image);
  }
  return fail(image, 0,
              "neither a PNG (89 50 4e 47 0d 0a 1a 0a) nor a JPEG (ff d8 ff) signature");
}

void hw_image_free(hw_image *image) {
  free(image->pixels);
  image->pixels = NULL;
}
