/*
 * PNG and JPEG writing (see headway_image.h): used to generate image-folder test data.
 */
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <jpeglib.h> /* after stdio.h: it uses FILE and size_t without including them */
#include <png.h>

#include "headway_image.h"

int hw_image_write_png(const char *path, const uint8_t *pixels, int width, int height,
                       int channels) {
  png_image image = {0};
  image.version = PNG_IMAGE_VERSION;
  image.width = (png_uint_32)width;
  image.height = (png_uint_32)height;
  image.format = channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
  const int ok = png_image_write_to_file(&image, path, 0, pixels, 0, NULL);
  png_image_free(&image);
  return ok ? 0 : -1;
}

typedef struct {
  struct jpeg_error_mgr base;
  jmp_buf jump;
} write_failure;

static void write_fail(j_common_ptr info) { longjmp(((write_failure *)info->err)->jump, 1); }

int hw_image_write_jpeg(const char *path, const uint8_t *pixels, int width, int height,
                        int channels, int quality) {
  FILE *volatile file = fopen(path, "wb");
  if (!file) return -1;
  struct jpeg_compress_struct info;
  write_failure failure;
  info.err = jpeg_std_error(&failure.base);
  failure.base.error_exit = write_fail;
  if (setjmp(failure.jump)) {
    jpeg_destroy_compress(&info);
    fclose(file);
    return -1;
  }
  jpeg_create_compress(&info);
  jpeg_stdio_dest(&info, file);
  info.image_width = (JDIMENSION)width;
  info.image_height = (JDIMENSION)height;
  info.input_components = channels;
  info.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&info);
  jpeg_set_quality(&info, quality, TRUE);
  jpeg_start_compress(&info, TRUE);
  while (info.next_scanline < info.image_height) {
    JSAMPROW row = (JSAMPROW)(pixels + (size_t)info.next_scanline * width * channels);
    jpeg_write_scanlines(&info, &row, 1);
  }
  jpeg_finish_compress(&info);
  jpeg_destroy_compress(&info);
  return fclose(file) == 0 ? 0 : -1;
}
