#ifndef HEADWAY_PROGRAM_H
#define HEADWAY_PROGRAM_H
/*
 * The tables a compiled program exports. The runtime knows a program only through these: its
 * variables (where they live in the state arena and how to initialise them), its entry points
 * (inputs, outputs, arena size, the schedule of kernel calls) and the compiler's cost estimates.
 */
#include <stdint.h>

#pragma clang assume_nonnull begin

typedef enum { HW_F32 = 0, HW_I32 = 1 } hw_dtype;

/* Variable roles and initialisers mirror GraphIR's VariableRole and Initializer. */
typedef enum { HW_PARAMETER = 0, HW_STATE = 1, HW_SLOT = 2 } hw_role;
typedef enum { HW_INIT_ZEROS = 0, HW_INIT_CONSTANT = 1, HW_INIT_NORMAL = 2, HW_INIT_UNIFORM = 3 } hw_init;

/* A tensor's name, type and byte offset (in the state arena for variables, in the activation
 * arena for outputs; unused for inputs). */
typedef struct {
  const char *name;
  hw_dtype dtype;
  int rank;
  const int64_t *shape;
  int64_t offset;
} hw_tensor;

typedef struct {
  hw_tensor tensor;
  hw_role role;
  hw_init init;
  double init_value; /* the constant, the normal's std or the uniform's bound */
  uint64_t init_seed;
} hw_variable;

/* Where a kernel argument lives: an entry input (offset: its index in the entry's inputs),
 * a byte offset in the state arena or in the activation arena, or a constant array of the
 * entry (offset: its index in the entry's constants). */
typedef enum { HW_AT_INPUT = 0, HW_AT_STATE = 1, HW_AT_ARENA = 2, HW_AT_CONSTANT = 3 } hw_space;

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
#define HW_MAX_ARGS 64

/* A kernel of the translation unit: one function shared by every call that computes the same
 * thing, in any entry, inner step or batch size. */
typedef struct {
  const char *name;
  hw_launch_fn launch;
} hw_kernel;

/* One step of an entry's schedule: a kernel (its index in `kernels`), its arguments,
 * `args[first_arg]` onwards, and the size of its scratch range. */
typedef struct {
  int kernel;
  int num_args;
  int first_arg;
  int64_t scratch_bytes;
} hw_call;

/* A copy after the kernels: leaf outputs into the arena, state updates into the state arena
 * (all reads saw the values the entry started with). */
typedef struct {
  hw_arg to;
  hw_arg from;
  int64_t bytes;
} hw_copy;

typedef struct {
  const char *name;
  int64_t batch; /* the batch size its kernels are called with */
  int num_inputs;
  const hw_tensor *inputs;
  int num_outputs;
  const hw_tensor *outputs;
  int64_t arena_bytes;
  int num_calls;
  int64_t flops;
  int64_t bytes_moved;
  const hw_kernel *_Nullable kernels; /* the translation unit's kernels */
  const hw_call *_Nullable calls;     /* num_calls of them, in order */
  const hw_arg *_Nullable args;
  int num_copies;
  const hw_copy *_Nullable copies;
  const float *_Nonnull const *_Nullable constants;
} hw_entry;

/* Runs an entry point. state: the state arena; arena: the activation arena (at least
 * arena_bytes, 64-byte aligned); inputs: one pointer per input, in table order. */
void hw_entry_run(const hw_entry *entry, float *state, char *arena,
                  const void *_Nonnull const *_Nonnull inputs);

/* Runs kernel `kernel` of an entry alone, reading its inputs where the memory plan put them:
 * how each kernel is checked against the interpreter. */
void hw_entry_run_kernel(const hw_entry *entry, int kernel, float *state, char *arena,
                         const void *_Nonnull const *_Nonnull inputs);

typedef struct {
  const char *name;
  int batch;
  int64_t state_bytes;
  int num_variables;
  const hw_variable *variables;
  int num_entries;
  const hw_entry *entries;
} hw_program;

#pragma clang assume_nonnull end
#endif
