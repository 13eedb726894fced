/*
 * A trainer in plain C over a program emitted by `headwayc emit`: no Swift involved.
 * It looks the program up in the registry, plans the entry's activation arena for the batch
 * size, allocates its two arenas once, initialises the variables and runs a few steps of one
 * entry point on random inputs, printing its first output.
 *
 *   ./train PROGRAM BATCH ENTRY [STEPS]      e.g. ./train linear-probe 256 train.f128 5
 *
 * ENTRY "all" runs every entry point of the program STEPS times (tools/sanitize uses it).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "HeadwayPrograms.h"
#include "headway_kernels.h"

/* Runs one entry point `steps` times at `batch` on random inputs from freshly initialised
 * state. */
static int run_entry(const hw_program *program, const hw_entry *entry, int64_t batch, int steps) {
  int64_t offsets[entry->num_buffers + 1], scratch_offsets[entry->num_calls + 1],
      scratch_bytes[entry->num_calls + 1];
  hw_plan plan = {.offsets = offsets, .scratch_offsets = scratch_offsets, .scratch_bytes = scratch_bytes};
  if (hw_entry_plan(entry, batch, &plan) != 0) {
    fprintf(stderr, "%s cannot be planned at batch %lld\n", entry->name, (long long)batch);
    return 1;
  }
  float *state = aligned_alloc(64, ((size_t)program->state_bytes + 127) / 64 * 64);
  char *arena = aligned_alloc(64, ((size_t)plan.arena_bytes + 127) / 64 * 64);
  hw_set_threads(0);
  hw_initialize_state(program, state);
  const void *inputs[16];
  srand(1);
  for (int i = 0; i < entry->num_inputs && i < 16; i++) {
    const hw_tensor *t = &entry->inputs[i];
    int64_t n = hw_tensor_elements(t, batch);
    void *buffer = malloc((size_t)(n > 0 ? n : 1) * 4);
    for (int64_t k = 0; k < n; k++) {
      if (t->dtype == HW_I32) ((int32_t *)buffer)[k] = rand() % 10;
      else ((float *)buffer)[k] = t->rank == 0 ? 0.01f : (float)rand() / (float)RAND_MAX;
    }
    inputs[i] = buffer;
  }
  for (int step = 0; step < steps; step++) {
    hw_entry_run(entry, &plan, state, arena, inputs);
    const hw_tensor *out = &entry->outputs[0];
    printf("%s step %d: %s = %g\n", entry->name, step, out->name,
           (double)((float *)(arena + offsets[out->offset]))[0]);
  }
  for (int i = 0; i < entry->num_inputs && i < 16; i++) free((void *)inputs[i]);
  free(arena);
  free(state);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s PROGRAM BATCH ENTRY [STEPS]\n", argv[0]);
    return 2;
  }
  int count = 0, batch = atoi(argv[2]), steps = argc > 4 ? atoi(argv[4]) : 3;
  const hw_program *const *programs = hw_programs(&count);
  const hw_program *program = NULL;
  for (int i = 0; i < count; i++)
    if (strcmp(programs[i]->name, argv[1]) == 0) program = programs[i];
  if (!program || batch < 1) {
    fprintf(stderr, "no program %s in this build, or batch %d below 1\n", argv[1], batch);
    return 1;
  }
  for (int i = 0; i < program->num_entries; i++) {
    const hw_entry *entry = &program->entries[i];
    if (strcmp(argv[3], "all") == 0 || strcmp(entry->name, argv[3]) == 0) {
      if (run_entry(program, entry, batch, steps) != 0) return 1;
      if (strcmp(argv[3], "all") != 0) return 0;
    }
  }
  if (strcmp(argv[3], "all") == 0) return 0;
  fprintf(stderr, "no entry %s in %s\n", argv[3], argv[1]);
  return 1;
}
