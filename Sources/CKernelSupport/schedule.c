/*
 * Runs an entry point's schedule: each call resolves its arguments (an input, an offset in the
 * state arena, a buffer or the call's scratch range in the activation arena as the plan placed
 * them, or a constant) and calls its kernel with the batch size; then the copies.
 */
#include <string.h>

#include "headway_program.h"

static void *argument(const hw_entry *entry, const hw_plan *plan, int call, hw_arg arg,
                      float *state, char *arena, const void *const *inputs) {
  switch (arg.space) {
  case HW_AT_INPUT: return (void *)inputs[arg.offset];
  case HW_AT_STATE: return (char *)state + arg.offset;
  case HW_AT_BUFFER: return arena + plan->offsets[arg.offset];
  case HW_AT_CONSTANT: return (void *)entry->constants[arg.offset];
  case HW_AT_SCRATCH: return arena + plan->scratch_offsets[call];
  }
  return arena;
}

static void run_call(const hw_entry *entry, const hw_plan *plan, int index, float *state,
                     char *arena, const void *const *inputs) {
  const hw_call *call = &entry->calls[index];
  void *args[HW_MAX_ARGS];
  for (int i = 0; i < call->num_args; i++) {
    args[i] = argument(entry, plan, index, entry->args[call->first_arg + i], state, arena, inputs);
  }
  const hw_call_context context = {.n = plan->n, .scratch_bytes = plan->scratch_bytes[index]};
  entry->kernels[call->kernel].launch(args, &context);
}

void hw_entry_run(const hw_entry *entry, const hw_plan *plan, float *state, char *arena,
                  const void *const *inputs) {
  for (int k = 0; k < entry->num_calls; k++) run_call(entry, plan, k, state, arena, inputs);
  for (int c = 0; c < entry->num_copies; c++) {
    const hw_copy *copy = &entry->copies[c];
    memcpy(argument(entry, plan, 0, copy->to, state, arena, inputs),
           argument(entry, plan, 0, copy->from, state, arena, inputs),
           (size_t)hw_poly_at(copy->bytes, plan->n));
  }
}

void hw_entry_run_kernel(const hw_entry *entry, const hw_plan *plan, int kernel, float *state,
                         char *arena, const void *const *inputs) {
  if (kernel >= 0 && kernel < entry->num_calls) run_call(entry, plan, kernel, state, arena, inputs);
}
