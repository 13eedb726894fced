/*
 * Runs an entry point's schedule: each call resolves its arguments (an input, or an offset in
 * the state or activation arena, or a constant) and calls its kernel; then the copies.
 */
#include <string.h>

#include "headway_program.h"

static void *argument(const hw_entry *entry, hw_arg arg, float *state, char *arena,
                      const void *const *inputs) {
  switch (arg.space) {
  case HW_AT_INPUT: return (void *)inputs[arg.offset];
  case HW_AT_STATE: return (char *)state + arg.offset;
  case HW_AT_ARENA: return arena + arg.offset;
  case HW_AT_CONSTANT: return (void *)entry->constants[arg.offset];
  }
  return arena;
}

static void run_call(const hw_entry *entry, const hw_call *call, float *state, char *arena,
                     const void *const *inputs) {
  void *args[HW_MAX_ARGS];
  for (int i = 0; i < call->num_args; i++) {
    args[i] = argument(entry, entry->args[call->first_arg + i], state, arena, inputs);
  }
  const hw_call_context context = {.n = entry->batch, .scratch_bytes = call->scratch_bytes};
  entry->kernels[call->kernel].launch(args, &context);
}

void hw_entry_run(const hw_entry *entry, float *state, char *arena, const void *const *inputs) {
  for (int k = 0; k < entry->num_calls; k++) {
    run_call(entry, &entry->calls[k], state, arena, inputs);
  }
  for (int c = 0; c < entry->num_copies; c++) {
    const hw_copy *copy = &entry->copies[c];
    memcpy(argument(entry, copy->to, state, arena, inputs),
           argument(entry, copy->from, state, arena, inputs), (size_t)copy->bytes);
  }
}

void hw_entry_run_kernel(const hw_entry *entry, int kernel, float *state, char *arena,
                         const void *const *inputs) {
  if (kernel >= 0 && kernel < entry->num_calls) {
    run_call(entry, &entry->calls[kernel], state, arena, inputs);
  }
}
