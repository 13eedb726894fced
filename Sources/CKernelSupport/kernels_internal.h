#ifndef HEADWAY_KERNELS_INTERNAL_H
#define HEADWAY_KERNELS_INTERNAL_H
/*
 * Helpers shared by the kernel files; not part of the public header.
 */
#include <stddef.h>

#include "headway_conv.h"
#include "headway_kernels.h"

/* Pins OpenBLAS to one thread the first time any kernel runs, so the kernels are correct even if
 * hw_set_threads was never called. Cheap after the first call (one atomic load). Call it outside
 * parallel regions. */
void hw_pin_blas_threads(void);
/* Puts OpenBLAS on the kernels the CPU's features call for, once (blas.c). */
void hw_choose_blas_core(void);

/* Splits [0, total) into `parts` nearly equal contiguous blocks, aligned to 16 when every part
 * still gets at least 16, and returns block `part` as [*begin, *end) (possibly empty). */
void hw_split(int total, int parts, int part, int *begin, int *end);

/* Block `part` of `parts` of C[m, n] = alpha op(A)[m, k] op(B)[k, n] + beta C, row-major, with
 * one single-threaded cblas_sgemm. Splits the rows of C when m >= n, else its columns. Every
 * thread of a team calls it with its own `part` to compute the whole product in parallel. */
void hw_sgemm_block(int part, int parts, int transpose_a, int transpose_b, int m, int n, int k,
                    float alpha, const float *a, int lda, const float *b, int ldb, float beta,
                    float *c, int ldc);

/* The im2col + sgemm convolutions (conv2d.c), with the arguments of hw_conv2d_*, which choose
 * between them and oneDNN per shape (conv2d_choice.c). */
void hw_im2col_conv2d_forward(const hw_conv_shape *s, const float *restrict x,
                              const float *restrict w, float *restrict y, float *restrict scratch);
void hw_im2col_conv2d_input_grad(const hw_conv_shape *s, const float *restrict dy,
                                 const float *restrict w, float *restrict dx,
                                 float *restrict scratch);
void hw_im2col_conv2d_filter_grad(const hw_conv_shape *s, const float *restrict x,
                                  const float *restrict dy, float *restrict dw,
                                  float *restrict scratch);

/* Frees the calling thread's oneDNN workspace (conv2d_onednn.c); the next call grows a new one.
 * After timing the candidates, so that the ones not chosen (Winograd's scratchpads are large)
 * do not keep their memory. */
void hw_onednn_release_workspace(void);
/* Whether oneDNN can run the key's convolution with `algorithm` with its workspace (blocked
 * copies and scratchpad) in the spare memory, as hw_onednn_conv2d places it (conv2d_onednn.c),
 * or else in at most `budget` bytes of the calling thread's workspace. */
int hw_onednn_has_room(const hw_conv_key *key, hw_conv_algorithm algorithm, void *spare,
                       size_t spare_bytes, size_t budget);

#endif
