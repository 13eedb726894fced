#ifndef HEADWAY_TRAINER_IO_H
#define HEADWAY_TRAINER_IO_H
/*
 * What the standalone trainer needs besides the compiled program: errors, options, text and
 * JSON as `headway train` writes them, Fashion-MNIST's IDX files, the shuffle, and
 * safetensors checkpoints (written atomically; read back to resume).
 */
#include <stddef.h>
#include <stdint.h>

#include "headway_program.h"

/* Prints "train: <message>" and exits with status 1. */
void die(const char *format, ...) __attribute__((format(printf, 1, 2), noreturn));
long integer(const char *option, const char *value);
double real(const char *option, const char *value);

/* A growing NUL-terminated string. */
typedef struct {
  char *bytes;
  size_t length, capacity;
} text;

void text_add(text *t, const char *format, ...) __attribute__((format(printf, 2, 3)));
/* A double as Foundation's JSONEncoder prints it: the shortest digits that read back to it,
 * positional unless the exponent is below -4 or at least 16, no ".0" on integers. */
void json_number(text *t, double value);
/* A JSON string as Foundation's JSONEncoder escapes it (slashes too). */
void json_string(text *t, const char *value);

/* Images as `headway train` holds them: NCHW float pixels in [0, 1] (byte / 255). */
typedef struct {
  float *pixels;
  long count;
  int height, width;
} images;

/* Fashion-MNIST's training images from `directory` (`train-images-idx3-ubyte`, gzip or plain),
 * the first `limit` (all when negative). */
images load_fashion_mnist(const char *directory, long limit);

void make_directory(const char *path);

/* SplitMix64.seed(a, b) of Headway's runtime. */
uint64_t splitmix_seed2(uint64_t a, uint64_t b);
/* `shuffledOrder(count, seed)`: a Fisher-Yates shuffle of 0..<count by SplitMix64. */
void shuffled_order(int64_t *order, long count, uint64_t seed);

/* Writes every variable of `program` (data in program order, header entries sorted by name)
 * with the metadata pairs (keys sorted), to `path` through a temporary file and a rename. */
void safetensors_write(const char *path, const hw_program *program, const float *state,
                       const char *const *keys, const char *const *values, int pairs);
/* Reads a checkpoint of this run back into `state`; returns its step. Refuses a file that is
 * not a Headway checkpoint, whose config differs from `config`, or that lacks a variable. */
long safetensors_resume(const char *path, const hw_program *program, float *state,
                        const char *config);

#endif
