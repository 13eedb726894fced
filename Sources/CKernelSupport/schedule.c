/*
 * Runs an entry point's schedule: each call resolves its arguments (an input, an offset in the
 * state arena, a buffer or the call's scratch range in the activation arena as the plan placed
 * them, or a constant) and calls its kernel with the batch size; then the copies, then the
 * optimizer's calls (which update variables the copies may read). An entry's
 * loop runs as many times as asked, its carried values copied between repetitions.
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

static void run_copies(const hw_entry *entry, const hw_plan *plan, const hw_copy *copies, int count,
                       int reversed, float *state, char *arena, const void *const *inputs) {
  for (int c = 0; c < count; c++) {
    void *to = argument(entry, plan, 0, copies[c].to, state, arena, inputs);
    void *from = argument(entry, plan, 0, copies[c].from, state, arena, inputs);
    memcpy(reversed ? from : to, reversed ? to : from, (size_t)hw_poly_at(copies[c].bytes, plan->n));
  }
}

void hw_entry_run_repeating(const hw_entry *entry, const hw_plan *plan, int64_t times, float *state,
                            char *arena, const void *const *inputs) {
  const hw_loop *loop = &entry->loop;
  if (loop->end == loop->first) times = 1;
  for (int k = 0; k < loop->first; k++) run_call(entry, plan, k, state, arena, inputs);
  for (int64_t r = 0; r < times; r++) {
    if (r > 0) run_copies(entry, plan, loop->carries, loop->num_carries, 0, state, arena, inputs);
    for (int k = loop->first; k < loop->end; k++) run_call(entry, plan, k, state, arena, inputs);
  }
  if (times <= 0) run_copies(entry, plan, loop->carries, loop->num_carries, 1, state, arena, inputs);
  const int optimizer = entry->num_calls - entry->optimizer_calls;
  for (int k = loop->end; k < optimizer; k++) run_call(entry, plan, k, state, arena, inputs);
  run_copies(entry, plan, entry->copies, entry->num_copies, 0, state, arena, inputs);
  for (int k = optimizer; k < entry->num_calls; k++) run_call(entry, plan, k, state, arena, inputs);
}

void hw_entry_run(const hw_entry *entry, const hw_plan *plan, float *state, char *arena,
                  const void *const *inputs) {
  hw_entry_run_repeating(entry, plan, 1, state, arena, inputs);
}

void hw_entry_run_kernel(const hw_entry *entry, const hw_plan *plan, int kernel, float *state,
                         char *arena, const void *const *inputs) {
  if (kernel >= 0 && kernel < entry->num_calls) run_call(entry, plan, kernel, state, arena, inputs);
}
