#ifndef HEADWAY_PROGRAM_H
#define HEADWAY_PROGRAM_H
/*
 * The tables a compiled program exports. The runtime knows a program only through these: its
 * variables (where they live in the state arena and how to initialise them), its entry points
 * (inputs, outputs, arena size, the function to call) and the compiler's cost estimates.
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

/* state: the state arena; arena: the activation arena (at least arena_bytes, 64-byte aligned);
 * inputs: one pointer per input, in table order. */
typedef void (*hw_entry_fn)(float *_Nonnull state, char *_Nonnull arena,
                            const void *_Nonnull const *_Nonnull inputs);

/* Runs kernel `kernel` of an entry alone, reading its inputs where the memory plan put them:
 * how each kernel is checked against the interpreter. */
typedef void (*hw_kernel_fn)(int kernel, float *_Nonnull state, char *_Nonnull arena,
                             const void *_Nonnull const *_Nonnull inputs);

typedef struct {
  const char *name;
  int num_inputs;
  const hw_tensor *inputs;
  int num_outputs;
  const hw_tensor *outputs;
  int64_t arena_bytes;
  int num_kernels;
  int64_t flops;
  int64_t bytes_moved;
  hw_entry_fn run;
  hw_kernel_fn run_kernel;
  const char *_Nonnull const *_Nonnull kernel_names;
} hw_entry;

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
