#ifndef HEADWAY_PROGRAM_H
#define HEADWAY_PROGRAM_H
/*
 * The tables a compiled program exports. The runtime knows a program only through these: its
 * variables (where they live in the state arena and how to initialise them), its entry points
 * (inputs, outputs, the buffers of its activation arena, the schedule of kernel calls) and the
 * compiler's cost estimates. A program serves every batch size N: whatever depends on N is an
 * `hw_poly`, and `hw_entry_plan` places the buffers in the arena for a given N.
 */
#include <stdint.h>

#pragma clang assume_nonnull begin

typedef enum { HW_F32 = 0, HW_I32 = 1 } hw_dtype;

/* Variable roles and initialisers mirror GraphIR's VariableRole and Initializer. */
typedef enum { HW_PARAMETER = 0, HW_STATE = 1, HW_SLOT = 2 } hw_role;
typedef enum { HW_INIT_ZEROS = 0, HW_INIT_CONSTANT = 1, HW_INIT_NORMAL = 2, HW_INIT_UNIFORM = 3 } hw_init;

/* A number that depends on the batch size N: k0 + k1 N + k2 N^2. */
typedef struct {
  int64_t k0, k1, k2;
} hw_poly;

static inline int64_t hw_poly_at(hw_poly p, int64_t n) { return p.k0 + n * (p.k1 + n * p.k2); }

/* A tensor's name, type and place: a byte offset in the state arena for variables, the index of
 * its buffer for outputs, unused for inputs. */
typedef struct {
  const char *name;
  hw_dtype dtype;
  int rank;
  const hw_poly *shape;
  int64_t offset;
} hw_tensor;

/* The number of elements of a tensor at batch size n. */
static inline int64_t hw_tensor_elements(const hw_tensor *t, int64_t n) {
  int64_t count = 1;
  for (int d = 0; d < t->rank; d++) count *= hw_poly_at(t->shape[d], n);
  return count;
}

typedef struct {
  hw_tensor tensor;
  hw_role role;
  hw_init init;
  double init_value; /* the constant, the normal's std or the uniform's bound */
  uint64_t init_seed;
} hw_variable;

/* Where a kernel argument lives: an entry input (offset: its index in the entry's inputs),
 * a byte offset in the state arena, a buffer of the activation arena (offset: its index in the
 * entry's buffers), a constant array of the entry (offset: its index in the entry's constants),
 * or the call's scratch range. */
typedef enum {
  HW_AT_INPUT = 0,
  HW_AT_STATE = 1,
  HW_AT_BUFFER = 2,
  HW_AT_CONSTANT = 3,
  HW_AT_SCRATCH = 4
} hw_space;

typedef struct {
  hw_space space;
  int64_t offset;
} hw_arg;

/* What a kernel call needs besides its buffers: the batch size (kernels are generic in it) and
 * the size of its scratch range (channels-last convolutions: what the memory plan left free). */
typedef struct {
  int64_t n;
  int64_t scratch_bytes;
} hw_call_context;

/* A compiled kernel behind one signature: one pointer per buffer, in order, and the context. */
typedef void (*hw_launch_fn)(void *_Nonnull const *_Nonnull args, const hw_call_context *context);

/* The most arguments a kernel takes. */
#define HW_MAX_ARGS 256

/* A kernel of the translation unit: one function shared by every call that computes the same
 * thing, in any entry, inner step or batch size. */
typedef struct {
  const char *name;
  hw_launch_fn launch;
} hw_kernel;

/* One step of an entry's schedule: a kernel (its index in `kernels`), its arguments,
 * `args[first_arg]` onwards, and its scratch: `scratch` bytes of its own (im2col), or with
 * `spare` the largest range of the arena that nothing uses during the call (channels-last
 * convolutions, for oneDNN's workspace when it fits). */
typedef struct {
  int kernel;
  int num_args;
  int first_arg;
  hw_poly scratch;
  int spare;
} hw_call;

/* A stored value of the activation arena: its size, the call that stores it (num_calls: a leaf
 * output placed after the calls), the last call that reads it (num_calls: kept to the end),
 * and the buffer whose range it takes over when computed in place (-1: none). Listed in the
 * order the planner places them. */
typedef struct {
  hw_poly bytes;
  int first;
  int last;
  int in_place_of;
} hw_buffer;

/* A copy after the kernels: leaf outputs into the arena, state updates into the state arena
 * (all reads saw the values the entry started with). */
typedef struct {
  hw_arg to;
  hw_arg from;
  hw_poly bytes;
} hw_copy;

/* Calls an entry may run again: bilevel's inner head step, whose count K is chosen at run time.
 * As listed, calls [first, end) run once (`hw_entry_run`); `hw_entry_run_repeating` runs them
 * `times` times, copying each carried value's loop.out buffer (`from`) to its loop.in buffer
 * (`to`) between repetitions, or with times 0 skips them and copies each loop.in buffer to its
 * loop.out buffer. `flops` and `bytes_moved` are one repetition's. end == first: no loop. */
typedef struct {
  int first;
  int end;
  int num_carries;
  const hw_copy *_Nullable carries;
  hw_poly flops;
  hw_poly bytes_moved;
} hw_loop;

typedef struct {
  const char *name;
  int num_inputs;
  const hw_tensor *inputs;
  int num_outputs;
  const hw_tensor *outputs;
  int num_buffers;
  const hw_buffer *_Nullable buffers;
  int num_calls;
  hw_poly flops;
  hw_poly bytes_moved;
  const hw_kernel *_Nullable kernels; /* the translation unit's kernels */
  const hw_call *_Nullable calls;     /* num_calls of them, in order */
  const hw_arg *_Nullable args;
  int num_copies;
  const hw_copy *_Nullable copies;
  const float *_Nonnull const *_Nullable constants;
  hw_loop loop;
  /* The last `optimizer_calls` calls are the optimizer's (headway_optimize.h): they run after the
   * copies, which may read the variables they update. */
  int optimizer_calls;
} hw_entry;

/* Where an entry's buffers and scratch ranges lie in the activation arena at batch size n:
 * `offsets` has num_buffers places, `scratch_offsets` and `scratch_bytes` num_calls. */
typedef struct {
  int64_t n;
  int64_t arena_bytes;
  int64_t *offsets;
  int64_t *scratch_offsets;
  int64_t *scratch_bytes;
} hw_plan;

/* Plans the activation arena of an entry at batch size n into `plan` (whose arrays the caller
 * sized): best fit over a free list in call order, as the compiler's PlanMemory does. Returns 0,
 * or -1 when the sizes overflow or memory for the planner's free list runs out. */
int hw_entry_plan(const hw_entry *entry, int64_t n, hw_plan *plan);

/* Runs an entry point. plan: its plan for the batch size of the inputs; state: the state
 * arena; arena: the activation arena (at least plan->arena_bytes, 64-byte aligned); inputs:
 * one pointer per input, in table order. */
void hw_entry_run(const hw_entry *entry, const hw_plan *plan, float *state, char *arena,
                  const void *_Nonnull const *_Nonnull inputs);

/* Runs an entry point with its loop (`hw_loop`) run `times` times (>= 0; an entry without a
 * loop ignores it). */
void hw_entry_run_repeating(const hw_entry *entry, const hw_plan *plan, int64_t times, float *state,
                            char *arena, const void *_Nonnull const *_Nonnull inputs);

/* Runs kernel `kernel` of an entry alone, reading its inputs where the plan put them: how each
 * kernel is checked against the interpreter. */
void hw_entry_run_kernel(const hw_entry *entry, const hw_plan *plan, int kernel, float *state,
                         char *arena, const void *_Nonnull const *_Nonnull inputs);

typedef struct {
  const char *name;
  int64_t state_bytes;
  int num_variables;
  const hw_variable *variables;
  int num_entries;
  const hw_entry *entries;
} hw_program;

#pragma clang assume_nonnull end
#endif
