#ifndef HEADWAY_KERNELS_H
#define HEADWAY_KERNELS_H
/*
 * Hand-written C that generated programs call: matrix products, convolutions (NCHW or NHWC)
 * and pooling (NCHW) over float32 tensors. Parallelism comes from one OpenMP team; OpenBLAS is called with one
 * thread from inside it, so the two never oversubscribe the cores (see docs/ARCHITECTURE.md).
 */
#include <stddef.h>
#include <stdint.h>

#include "headway_collective.h"

#pragma clang assume_nonnull begin

/* How many images a convolution processes at once; its scratch holds one im2col matrix each. */
#define HW_CONV_CHUNK 16

/* Geometry of a 2-D convolution: input [n, c, h, w], filter [o, c, kh, kw], output
 * [n, o, oh, ow]; square stride and zero padding. */
typedef struct {
  int n, c, h, w;
  int o, kh, kw;
  int oh, ow;
  int stride, pad;
} hw_conv_shape;

/* Floats of scratch a convolution kernel needs: one im2col matrix per image of a chunk. */
static inline size_t hw_conv2d_scratch_floats(const hw_conv_shape *s) {
  size_t images = (size_t)(s->n < HW_CONV_CHUNK ? s->n : HW_CONV_CHUNK);
  return images * (size_t)s->c * (size_t)s->kh * (size_t)s->kw * (size_t)s->oh * (size_t)s->ow;
}

/* y = conv2d(x, w). */
void hw_conv2d_forward(const hw_conv_shape *s, const float *restrict x, const float *restrict w,
                       float *restrict y, float *restrict scratch);
/* dx = d conv2d / d x applied to dy (overwrites dx). */
void hw_conv2d_input_grad(const hw_conv_shape *s, const float *restrict dy,
                          const float *restrict w, float *restrict dx, float *restrict scratch);
/* dw = d conv2d / d w applied to dy (overwrites dw). */
void hw_conv2d_filter_grad(const hw_conv_shape *s, const float *restrict x,
                           const float *restrict dy, float *restrict dw, float *restrict scratch);

/* The same three passes on channels-last activations: x [n, h, w, c], y [n, oh, ow, o] (the
 * shape's numbers mean what they mean above; the filter stays [o, c, kh, kw]). They run on
 * oneDNN (conv2d_choice.c). `spare` (may be NULL) is `spare_bytes` of memory nothing else uses
 * during the call: oneDNN's blocked copies and scratchpad go there when they fit, else into a
 * workspace of the calling thread's own. */
void hw_conv2d_forward_nhwc(const hw_conv_shape *s, const float *restrict x,
                            const float *restrict w, float *restrict y,
                            void *_Nullable restrict spare, size_t spare_bytes);
void hw_conv2d_input_grad_nhwc(const hw_conv_shape *s, const float *restrict dy,
                               const float *restrict w, float *restrict dx,
                               void *_Nullable restrict spare, size_t spare_bytes);
void hw_conv2d_filter_grad_nhwc(const hw_conv_shape *s, const float *restrict x,
                                const float *restrict dy, float *restrict dw,
                                void *_Nullable restrict spare, size_t spare_bytes);

/* C[m, n] = op(A) op(B), row-major, op = transpose when the flag is set; A is [m, k] (or
 * [k, m] transposed), B is [k, n] (or [n, k]). Splits the work over the OpenMP team. */
void hw_matmul(int m, int n, int k, int transpose_a, int transpose_b, const float *restrict a,
               const float *restrict b, float *restrict c);

/* Average pooling over square windows without padding: x [n, c, h, w] -> y [n, c, oh, ow]. */
void hw_avg_pool2d(int n, int c, int h, int w, int window, int stride, const float *restrict x,
                   float *restrict y);
/* Its gradient: dy [n, c, oh, ow] -> dx [n, c, h, w] (overwrites dx). */
void hw_avg_pool2d_grad(int n, int c, int h, int w, int window, int stride,
                        const float *restrict dy, float *restrict dx);

/* Sets the OpenMP team size (0: leave the default) and pins OpenBLAS to one thread. */
void hw_set_threads(int threads);
/* The OpenMP team size parallel regions will use. */
int hw_max_threads(void);
/* The size of the team a parallel region actually gets (runs one); for tests and diagnostics. */
int hw_parallel_team_size(void);

/* OpenBLAS's kernel set ("SkylakeX", "Haswell", ...) after Headway has chosen it from the CPU's
 * features (see blas.c), and the one OpenBLAS picked when it loaded. */
const char *hw_blas_core(void);
const char *hw_blas_core_at_load(void);
/* Whether the CPU (and the OS) support AVX-512 F/CD/BW/DQ/VL, and AVX2 with FMA. */
int hw_cpu_has_avx512(void);
int hw_cpu_has_avx2(void);

/* Fills every variable of a compiled program in its state arena from its initialiser, bit for
 * bit as GraphIR's Initializer.values. */
#pragma clang assume_nonnull end
#include "headway_program.h"
#pragma clang assume_nonnull begin
void hw_initialize_state(const hw_program *program, float *state);

#pragma clang assume_nonnull end
#endif
