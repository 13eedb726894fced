/*
 * 2-D convolution through oneDNN (Debian's libdnnl 2.6): its JIT direct convolutions pick their
 * kernels by ISA (AVX-512, AVX512-BF16, AMX) and a channel-blocked layout (nChw16c).
 *
 * Headway's tensors are NCHW or NHWC, filters OIHW. Each call reorders its two inputs into the
 * layouts the primitive asked for, runs it, and reorders the output back; a tensor already in
 * the right layout is used in place. NHWC activations are given to the primitive as they are
 * (only the filter, and in bf16 the inputs' rounding, need a reorder), or reordered to the
 * blocked layout the primitive prefers; oneDNN's Winograd convolution always takes blocked ones.
 * The blocked copies and the primitives' scratchpads go into the spare memory the caller passes
 * (the range of the activation arena the compiler found free during the call) when they fit,
 * else into one workspace per calling thread, grown the first time a shape needs more and
 * reused after, so a training step after the first allocates no workspace.
 *
 * Primitives are created once per (shape, pass, team size, precision) and kept for the process;
 * they are immutable, and each calling thread has its own stream and workspace, so sessions in
 * different threads can run the same primitive at once. In bf16 the inputs are rounded to
 * bfloat16 by the reorders and the output is float32 (oneDNN accumulates in float32).
 *
 * bf16 on blocked copies and Winograd run float32 primitives on copies of the inputs rounded to
 * bfloat16 (each input is always copied then, and rounded in place): the products of bfloat16
 * operands are exact in float32, so this is the bf16 convolution with float32 accumulation in
 * another summation order (Winograd's transforms round as in float32). oneDNN has no bf16
 * Winograd, and without AMX its bf16 direct kernels can be slower than the float32 ones (Xeon
 * model 207 without AMX flags: 1.4-2.8x per layer); the measured choice keeps what is faster.
 */
#include <dnnl.h>
#include <omp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "headway_conv.h"
#include "kernels_internal.h"

enum { IN0, IN1, OUT, TENSORS };

typedef struct onednn_conv {
  hw_conv_key key;
  hw_conv_algorithm algorithm; /* HW_CONV_ONEDNN, _BLOCKED or _WINOGRAD */
  dnnl_primitive_t conv;
  dnnl_primitive_t reorder[TENSORS]; /* NULL where the user's layout is the primitive's */
  dnnl_memory_desc_t user_md[TENSORS], conv_md[TENSORS], scratch_md;
  int arg[TENSORS];
  int round_inputs; /* bf16 through float32: the copies of IN0 and IN1 are rounded */
  char name[96];    /* oneDNN's implementation, and how bf16 runs on it */
  size_t offset[TENSORS + 1], bytes; /* workspace: blocked IN0, IN1, OUT, then scratchpad */
  struct onednn_conv *next;
} onednn_conv;

static pthread_once_t engine_once = PTHREAD_ONCE_INIT;
static dnnl_engine_t engine;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static onednn_conv *cache;

typedef struct {
  dnnl_stream_t stream;
  void *workspace;
  size_t capacity;
} thread_state;
static pthread_key_t state_key;

static void free_state(void *p) {
  thread_state *t = p;
  if (t->stream) dnnl_stream_destroy(t->stream);
  free(t->workspace);
  free(t);
}

static void create_engine(void) {
  if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) engine = NULL;
  pthread_key_create(&state_key, free_state);
}

static thread_state *this_thread(void) {
  thread_state *t = pthread_getspecific(state_key);
  if (t) return t;
  t = calloc(1, sizeof *t);
  if (!t) return NULL;
  if (dnnl_stream_create(&t->stream, engine, dnnl_stream_default_flags) != dnnl_success) {
    free(t);
    return NULL;
  }
  pthread_setspecific(state_key, t);
  return t;
}

static void *workspace(thread_state *t, size_t bytes) {
  if (bytes <= t->capacity) return t->workspace;
  void *grown = NULL;
  if (posix_memalign(&grown, 64, bytes) != 0) return NULL;
  free(t->workspace);
  t->workspace = grown;
  t->capacity = bytes;
  return grown;
}

static size_t round_up(size_t bytes) { return (bytes + 63) / 64 * 64; }

/* The user's NCHW (or NHWC) and OIHW descriptors, and the primitive's for the three tensors:
 * "any" layout for filters and for NCHW (or `blocked`) activations, else the user's NHWC. */
static int describe(const hw_conv_key *k, int blocked, dnnl_memory_desc_t user[3],
                    dnnl_memory_desc_t any[3]) {
  const hw_conv_shape *s = &k->shape;
  dnnl_dims_t x = {s->n, s->c, s->h, s->w}, w = {s->o, s->c, s->kh, s->kw};
  dnnl_dims_t y = {s->n, s->o, s->oh, s->ow};
  const dnnl_data_type_t low = k->bf16 ? dnnl_bf16 : dnnl_f32;
  /* Source, weights, destination: the pass's two inputs in `low`, its output in float32. */
  const dnnl_data_type_t type[3] = {k->pass == HW_CONV_INPUT_GRAD ? dnnl_f32 : low,
                                    k->pass == HW_CONV_FILTER_GRAD ? dnnl_f32 : low,
                                    k->pass == HW_CONV_FORWARD ? dnnl_f32 : low};
  dnnl_dim_t *dims[3] = {x, w, y};
  const dnnl_format_tag_t activations = k->nhwc ? dnnl_nhwc : dnnl_nchw;
  const dnnl_format_tag_t tag[3] = {activations, dnnl_oihw, activations};
  for (int i = 0; i < 3; i++) {
    const dnnl_format_tag_t wanted = k->nhwc && !blocked && i != 1 ? dnnl_nhwc : dnnl_format_tag_any;
    if (dnnl_memory_desc_init_by_tag(&user[i], 4, dims[i], dnnl_f32, tag[i]) != dnnl_success ||
        dnnl_memory_desc_init_by_tag(&any[i], 4, dims[i], type[i], wanted) != dnnl_success)
      return -1;
  }
  return 0;
}

/* The convolution's primitive descriptor for the key's pass (backward ones hinted by forward). */
static dnnl_primitive_desc_t conv_descriptor(const hw_conv_key *k, dnnl_alg_kind_t alg,
                                             const dnnl_memory_desc_t any[3],
                                             const_dnnl_primitive_attr_t attr) {
  const hw_conv_shape *s = &k->shape;
  dnnl_dims_t strides = {s->stride, s->stride}, left = {s->pad, s->pad};
  dnnl_dims_t right = {(s->oh - 1) * s->stride + s->kh - s->h - s->pad,
                       (s->ow - 1) * s->stride + s->kw - s->w - s->pad};
  dnnl_convolution_desc_t fd, bd;
  dnnl_primitive_desc_t forward = NULL, pd = NULL;
  /* The forward descriptor (the backward passes' hint) takes the forward pass's types. */
  dnnl_memory_desc_t f[3] = {any[0], any[1], any[2]};
  f[0].data_type = f[1].data_type = k->bf16 ? dnnl_bf16 : dnnl_f32;
  f[2].data_type = dnnl_f32;
  if (dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, alg, &f[0], &f[1], NULL,
                                         &f[2], strides, left, right) != dnnl_success ||
      dnnl_primitive_desc_create(&forward, &fd, attr, engine, NULL) != dnnl_success)
    return NULL;
  if (k->pass == HW_CONV_FORWARD) return forward;
  dnnl_status_t status =
      k->pass == HW_CONV_INPUT_GRAD
          ? dnnl_convolution_backward_data_desc_init(&bd, alg, &any[0], &any[1], &any[2], strides,
                                                     left, right)
          : dnnl_convolution_backward_weights_desc_init(&bd, alg, &any[0], &any[1], NULL, &any[2],
                                                        strides, left, right);
  if (status == dnnl_success) dnnl_primitive_desc_create(&pd, &bd, attr, engine, forward);
  dnnl_primitive_desc_destroy(forward);
  return pd;
}

/* A reorder between two layouts with a user scratchpad; grows *scratch to what it needs. */
static dnnl_primitive_t make_reorder(const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to,
                                     const_dnnl_primitive_attr_t attr, size_t *scratch) {
  dnnl_primitive_desc_t pd;
  dnnl_primitive_t reorder = NULL;
  if (dnnl_reorder_primitive_desc_create(&pd, from, engine, to, engine, attr) != dnnl_success)
    return NULL;
  size_t need = dnnl_memory_desc_get_size(dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0));
  if (need > *scratch) *scratch = need;
  if (dnnl_primitive_create(&reorder, pd) != dnnl_success) reorder = NULL;
  dnnl_primitive_desc_destroy(pd);
  return reorder;
}

/* Per pass: which user tensor is which argument, and which of source/weights/destination. */
static void roles(int pass, int arg[3], int slot[3]) {
  static const int args[3][3] = {
      {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST},
      {DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC},
      {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS},
  };
  static const int slots[3][3] = {{0, 1, 2}, {2, 1, 0}, {0, 2, 1}};
  memcpy(arg, args[pass], sizeof args[pass]);
  memcpy(slot, slots[pass], sizeof slots[pass]);
}

/* The implementation's name, with " on bf16-rounded inputs" where it runs bf16 in float32. */
static void name_implementation(onednn_conv *c, const_dnnl_primitive_desc_t pd) {
  const char *name = "unknown";
  dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name);
  snprintf(c->name, sizeof c->name, "%s%s", name, c->round_inputs ? " on bf16-rounded inputs" : "");
}

/* Rounds the float32 values whose bits `bits` holds (a copy oneDNN wrote into the workspace)
 * to bfloat16 in place: to nearest, ties to even (NaN stays NaN), as the bf16 reorders and
 * GraphIR's roundedToBFloat16 round. */
static void round_to_bfloat16(uint32_t *bits, size_t count) {
  const int64_t n = (int64_t)count;
#pragma omp parallel for if (n >= 65536)
  for (int64_t i = 0; i < n; i++) {
    const uint32_t b = bits[i], rounded = (b + 0x7fffu + ((b >> 16) & 1u)) & 0xffff0000u;
    bits[i] = (b & 0x7fffffffu) > 0x7f800000u ? b : rounded;
  }
}

static onednn_conv *create(const hw_conv_key *key, hw_conv_algorithm algorithm) {
  dnnl_memory_desc_t user[3], any[3];
  /* bf16 on blocked copies and Winograd: the float32 primitive on rounded copies. */
  const int emulated = key->bf16 && algorithm != HW_CONV_ONEDNN;
  hw_conv_key primitive_key = *key;
  if (emulated) primitive_key.bf16 = 0;
  const hw_conv_key *k = &primitive_key;
  if (describe(k, algorithm != HW_CONV_ONEDNN, user, any) != 0) return NULL;
  const dnnl_alg_kind_t alg =
      algorithm == HW_CONV_ONEDNN_WINOGRAD ? dnnl_convolution_winograd : dnnl_convolution_direct;
  dnnl_primitive_attr_t attr;
  if (dnnl_primitive_attr_create(&attr) != dnnl_success) return NULL;
  dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
  onednn_conv *c = calloc(1, sizeof *c);
  dnnl_primitive_desc_t pd = c ? conv_descriptor(k, alg, any, attr) : NULL;
  int ok = pd != NULL, slot[3];
  if (ok) {
    c->key = *key, c->algorithm = algorithm, c->round_inputs = emulated;
    name_implementation(c, pd);
    roles(k->pass, c->arg, slot);
    c->scratch_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    size_t scratch = dnnl_memory_desc_get_size(&c->scratch_md), at = 0;
    for (int i = 0; i < TENSORS && ok; i++) {
      const dnnl_query_t q = dnnl_query_exec_arg_md;
      c->user_md[i] = user[slot[i]];
      c->conv_md[i] = *dnnl_primitive_desc_query_md(pd, q, c->arg[i]);
      c->offset[i] = at;
      if (dnnl_memory_desc_equal(&c->user_md[i], &c->conv_md[i]) && (!emulated || i == OUT))
        continue;
      c->reorder[i] = i == OUT ? make_reorder(&c->conv_md[i], &c->user_md[i], attr, &scratch)
                               : make_reorder(&c->user_md[i], &c->conv_md[i], attr, &scratch);
      ok = c->reorder[i] != NULL;
      at += round_up(dnnl_memory_desc_get_size(&c->conv_md[i]));
    }
    dnnl_memory_desc_init_by_tag(&c->scratch_md, 1, (dnnl_dims_t){(dnnl_dim_t)scratch}, dnnl_u8,
                                 dnnl_x);
    c->offset[TENSORS] = at;
    c->bytes = at + round_up(scratch);
    ok = ok && dnnl_primitive_create(&c->conv, pd) == dnnl_success;
  }
  if (pd) dnnl_primitive_desc_destroy(pd);
  dnnl_primitive_attr_destroy(attr);
  if (!ok && c) {
    for (int i = 0; i < TENSORS; i++)
      if (c->reorder[i]) dnnl_primitive_destroy(c->reorder[i]);
    free(c);
    c = NULL;
  }
  return c;
}

static onednn_conv *lookup(const hw_conv_key *k, hw_conv_algorithm algorithm) {
  pthread_mutex_lock(&cache_lock);
  onednn_conv *c = cache;
  while (c && (memcmp(&c->key, k, sizeof *k) != 0 || c->algorithm != algorithm)) c = c->next;
  if (!c && (c = create(k, algorithm)) != NULL) {
    c->next = cache;
    cache = c;
  }
  pthread_mutex_unlock(&cache_lock);
  return c;
}

static int execute(dnnl_primitive_t p, dnnl_stream_t stream, int count, const dnnl_exec_arg_t *args) {
  return dnnl_primitive_execute(p, stream, count, args) == dnnl_success ? 0 : -1;
}

/* Runs the reorders and the convolution on memory objects over the user's and the workspace's
 * bytes; returns 0 on success. */
static int run(const onednn_conv *c, thread_state *t, char *ws, void *user[3]) {
  dnnl_memory_t user_mem[3] = {0}, conv_mem[3] = {0}, scratch = NULL;
  int status = dnnl_memory_create(&scratch, &c->scratch_md, engine, ws + c->offset[TENSORS]);
  for (int i = 0; i < TENSORS && status == 0; i++) {
    status |= dnnl_memory_create(&user_mem[i], &c->user_md[i], engine, user[i]);
    if (c->reorder[i]) status |= dnnl_memory_create(&conv_mem[i], &c->conv_md[i], engine, ws + c->offset[i]);
  }
  for (int i = 0; i < IN1 + 1 && status == 0; i++) {
    if (!c->reorder[i]) continue;
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_FROM, user_mem[i]}, {DNNL_ARG_TO, conv_mem[i]},
                            {DNNL_ARG_SCRATCHPAD, scratch}};
    status = execute(c->reorder[i], t->stream, 3, a);
    if (status == 0 && c->round_inputs) {
      status = dnnl_stream_wait(t->stream) == dnnl_success ? 0 : -1;
      round_to_bfloat16((uint32_t *)(ws + c->offset[i]),
                        dnnl_memory_desc_get_size(&c->conv_md[i]) / sizeof(uint32_t));
    }
  }
  if (status == 0) {
    dnnl_exec_arg_t a[4] = {{DNNL_ARG_SCRATCHPAD, scratch}};
    for (int i = 0; i < TENSORS; i++)
      a[i + 1] = (dnnl_exec_arg_t){c->arg[i], c->reorder[i] ? conv_mem[i] : user_mem[i]};
    status = execute(c->conv, t->stream, 4, a);
  }
  if (status == 0 && c->reorder[OUT]) {
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_FROM, conv_mem[OUT]}, {DNNL_ARG_TO, user_mem[OUT]},
                            {DNNL_ARG_SCRATCHPAD, scratch}};
    status = execute(c->reorder[OUT], t->stream, 3, a);
  }
  if (status == 0) status = dnnl_stream_wait(t->stream) == dnnl_success ? 0 : -1;
  for (int i = 0; i < TENSORS; i++) {
    if (user_mem[i]) dnnl_memory_destroy(user_mem[i]);
    if (conv_mem[i]) dnnl_memory_destroy(conv_mem[i]);
  }
  if (scratch) dnnl_memory_destroy(scratch);
  return status;
}

/* Where `need` bytes start in the spare memory, 64-byte aligned (oneDNN's kernels store with
 * aligned instructions), or NULL when they do not fit. */
static char *spare_base(void *spare, size_t spare_bytes, size_t need) {
  if (!spare) return NULL;
  const size_t skip = (64 - (uintptr_t)spare % 64) % 64;
  return skip + need <= spare_bytes ? (char *)spare + skip : NULL;
}

int hw_onednn_conv2d(const hw_conv_key *key, hw_conv_algorithm algorithm, const float *in0,
                     const float *in1, float *out, void *spare, size_t spare_bytes) {
  pthread_once(&engine_once, create_engine);
  if (!engine) return -1;
  thread_state *t = this_thread();
  onednn_conv *c = t ? lookup(key, algorithm) : NULL;
  char *in_spare = c ? spare_base(spare, spare_bytes, c->bytes) : NULL;
  char *ws = !c ? NULL : in_spare ? in_spare : workspace(t, c->bytes);
  if (!ws) return -1;
  void *user[3] = {(void *)in0, (void *)in1, out};
  return run(c, t, ws, user);
}

const char *hw_onednn_implementation(const hw_conv_key *key, hw_conv_algorithm algorithm) {
  pthread_once(&engine_once, create_engine);
  onednn_conv *c = engine ? lookup(key, algorithm) : NULL;
  return c ? c->name : "unavailable";
}

void hw_onednn_release_workspace(void) {
  pthread_once(&engine_once, create_engine);
  thread_state *t = pthread_getspecific(state_key);
  if (!t) return;
  free(t->workspace);
  t->workspace = NULL, t->capacity = 0;
}

int hw_onednn_has_room(const hw_conv_key *key, hw_conv_algorithm algorithm, void *spare,
                       size_t spare_bytes, size_t budget) {
  pthread_once(&engine_once, create_engine);
  onednn_conv *c = engine ? lookup(key, algorithm) : NULL;
  return c && (spare_base(spare, spare_bytes, c->bytes) != NULL || c->bytes <= budget);
}
