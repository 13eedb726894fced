#ifndef HEADWAY_CONV_H
#define HEADWAY_CONV_H
/*
 * How convolutions pick their algorithm, per layer shape, on the CPU at hand (conv2d_choice.c):
 * im2col + OpenBLAS sgemm, or oneDNN's direct convolution. By default both are timed on the
 * first call of each (shape, pass, team size) and the faster is kept, in memory and in a cache
 * file per machine, so later processes on the same CPU make the same choice without timing.
 * Channels-last convolutions choose the same way between oneDNN on the NHWC tensors as they are,
 * oneDNN on channel-blocked copies (reordered in and out at each call), and, for 3x3 stride-1
 * float32 layers, oneDNN's Winograd F(4x4, 3x3) convolution on blocked copies.
 */
#include "headway_kernels.h"

#pragma clang assume_nonnull begin

typedef enum {
  HW_CONV_AUTO = 0,   /* measured once per machine and cached */
  HW_CONV_IM2COL = 1, /* im2col + OpenBLAS sgemm, per image */
  HW_CONV_ONEDNN = 2, /* oneDNN direct convolution: NCHW on blocked copies, NHWC as it is */
  HW_CONV_ONEDNN_BLOCKED = 3, /* channels-last: oneDNN on channel-blocked copies */
  /* channels-last, 3x3 stride 1, float32: oneDNN's Winograd F(4x4, 3x3) on blocked copies (a
   * call it cannot run falls back to HW_CONV_ONEDNN). Measured choices take it only for calls
   * whose spare memory holds its workspace, and the fastest direct candidate for the others. */
  HW_CONV_ONEDNN_WINOGRAD = 4,
  /* measured like HW_CONV_AUTO, but never Winograd: the cache's times pick the fastest direct */
  HW_CONV_DIRECT = 5,
} hw_conv_algorithm;

typedef enum { HW_CONV_FORWARD = 0, HW_CONV_INPUT_GRAD = 1, HW_CONV_FILTER_GRAD = 2 } hw_conv_pass;

/* What a choice is made for. Compared byte for byte: build it zeroed. */
typedef struct {
  hw_conv_shape shape;
  int pass;    /* hw_conv_pass */
  int threads; /* OpenMP team size */
  int bf16;    /* 1: inputs rounded to bfloat16, float32 accumulation and output */
  int nhwc;    /* 1: channels-last activations (hw_conv2d_*_nhwc) */
} hw_conv_key;

/* One choice this process made: the algorithm and each candidate's best time (ms; negative
 * when it is not a candidate for the key's layout, infinite when it cannot run the shape). NCHW
 * keys time im2col and oneDNN; channels-last keys oneDNN as it is, blocked and Winograd. */
typedef struct {
  hw_conv_key key;
  int algorithm;
  double im2col_ms, onednn_ms, blocked_ms, winograd_ms;
  int from_cache; /* 1: read from the cache file instead of timed by this process */
  long calls;     /* calls made with this choice by this process */
  /* of them, calls that ran the fastest direct candidate instead of the chosen Winograd: its
   * workspace fitted neither the memory the call had spare nor the workspace budget
   * (HW_CONV_DIRECT's are not counted) */
  long direct_calls;
} hw_conv_choice;

/* The most bytes a Winograd choice may take from the calling thread's workspace when its
 * blocked copies and scratchpad do not fit the arena's spare range: the environment variable
 * HEADWAY_CONV_WORKSPACE_MB (MiB), 64 when unset; 0 runs Winograd only in the spare range.
 * The workspace grows at the first call that needs it and is reused after. Setting it affects
 * later calls of every thread. */
void hw_conv_set_workspace_budget(size_t bytes);
size_t hw_conv_workspace_budget(void);

/* Forces one algorithm for every later convolution called from this thread (HW_CONV_AUTO:
 * measured choices), like OpenMP's team size. Threads that never call it follow the environment
 * variable HEADWAY_CONV (auto, direct, im2col, onednn, onednn-blocked, onednn-winograd; auto when
 * unset). */
void hw_conv_set_algorithm(hw_conv_algorithm algorithm);
/* An algorithm's name as HEADWAY_CONV and the cache file spell it ("onednn-winograd", ...). */
const char *hw_conv_algorithm_name(hw_conv_algorithm algorithm);
hw_conv_algorithm hw_conv_get_algorithm(void);

/* The precision of convolutions called from this thread: 0 float32; 1 bfloat16 operands with
 * float32 accumulation and output, through oneDNN (its AVX512-BF16 or AMX kernels). A bf16
 * convolution oneDNN cannot run falls back to float32 im2col and is counted. */
void hw_set_conv_precision(int bf16);
int hw_get_conv_precision(void);
long hw_conv_bf16_fallbacks(void);
/* Whether the CPU (and the OS) can run bfloat16 dot products: AVX512-BF16 or AMX-BF16. */
int hw_cpu_has_bf16(void);

/* The choices convolutions of this process have used so far, in first-use order. */
int hw_conv_choice_count(void);
int hw_conv_choice_at(int index, hw_conv_choice *choice);

/* The matrix products (hw_matmul) this process has run, by shape, with their call counts. */
typedef struct {
  int m, n, k, transpose_a, transpose_b;
  long calls;
} hw_matmul_record;
int hw_matmul_record_count(void);
int hw_matmul_record_at(int index, hw_matmul_record *record);

/* The cache file of measured choices: $HEADWAY_CACHE_DIR/conv-choices.tsv, else under
 * $XDG_CACHE_HOME/headway or ~/.cache/headway. Lines of other CPUs are kept untouched. */
const char *hw_conv_cache_path(void);
/* The machine key the cache's lines carry: CPU vendor/family/model, BLAS core, oneDNN version and
 * the line format. */
const char *hw_conv_machine_key(void);

/* oneDNN's convolution for `key` (in0, in1 and out as in the pass's hw_conv2d_* call) with
 * `algorithm` HW_CONV_ONEDNN, HW_CONV_ONEDNN_BLOCKED (NHWC tensors reordered to the layout the
 * primitive prefers, as NCHW ones always are) or HW_CONV_ONEDNN_WINOGRAD (blocked, Winograd);
 * `spare` as in hw_conv2d_*_nhwc; returns 0, or -1 when oneDNN cannot run it. The name of the implementation oneDNN chose
 * ("jit:avx512_core", "jit_wino_4x3:avx512_core", ...), or "unavailable". */
int hw_onednn_conv2d(const hw_conv_key *key, hw_conv_algorithm algorithm, const float *in0,
                     const float *in1, float *out, void *_Nullable spare, size_t spare_bytes);
const char *hw_onednn_implementation(const hw_conv_key *key, hw_conv_algorithm algorithm);
/* The instruction set oneDNN dispatches to on this CPU ("avx512_core_amx", ...). */
const char *hw_onednn_isa(void);

/* Bytes malloc holds from the system (heap arenas and mmapped blocks). */
size_t hw_malloc_held_bytes(void);

#pragma clang assume_nonnull end
#endif
