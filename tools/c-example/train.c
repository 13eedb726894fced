/*
 * A trainer in plain C over a program emitted by `headwayc emit`: no Swift involved.
 * It looks the program up in the registry, allocates its two arenas once, initialises the
 * variables and runs a few steps of one entry point on random inputs, printing its first output.
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

static int64_t element_count(const hw_tensor *t) {
  int64_t count = 1;
  for (int d = 0; d < t->rank; d++) count *= t->shape[d];
  return count;
}

/* Runs one entry point `steps` times on random inputs from freshly initialised state. */
static void run_entry(const hw_program *program, const hw_entry *entry, int steps) {
  float *state = aligned_alloc(64, ((size_t)program->state_bytes + 127) / 64 * 64);
  char *arena = aligned_alloc(64, ((size_t)entry->arena_bytes + 127) / 64 * 64);
  hw_set_threads(0);
  hw_initialize_state(program, state);
  const void *inputs[16];
  srand(1);
  for (int i = 0; i < entry->num_inputs && i < 16; i++) {
    const hw_tensor *t = &entry->inputs[i];
    int64_t n = element_count(t);
    void *buffer = malloc((size_t)(n > 0 ? n : 1) * 4);
    for (int64_t k = 0; k < n; k++) {
      if (t->dtype == HW_I32) ((int32_t *)buffer)[k] = rand() % 10;
      else ((float *)buffer)[k] = t->rank == 0 ? 0.01f : (float)rand() / (float)RAND_MAX;
    }
    inputs[i] = buffer;
  }
  for (int step = 0; step < steps; step++) {
    hw_entry_run(entry, state, arena, inputs);
    const hw_tensor *out = &entry->outputs[0];
    printf("%s step %d: %s = %g\n", entry->name, step, out->name,
           (double)((float *)(arena + out->offset))[0]);
  }
  for (int i = 0; i < entry->num_inputs && i < 16; i++) free((void *)inputs[i]);
  free(arena);
  free(state);
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
    if (strcmp(programs[i]->name, argv[1]) == 0 && programs[i]->batch == batch) program = programs[i];
  if (!program) {
    fprintf(stderr, "no program %s at batch %d in this build\n", argv[1], batch);
    return 1;
  }
  for (int i = 0; i < program->num_entries; i++) {
    const hw_entry *entry = &program->entries[i];
    if (strcmp(argv[3], "all") == 0 || strcmp(entry->name, argv[3]) == 0) {
      run_entry(program, entry, steps);
      if (strcmp(argv[3], "all") != 0) return 0;
    }
  }
  if (strcmp(argv[3], "all") == 0) return 0;
  fprintf(stderr, "no entry %s in %s\n", argv[3], argv[1]);
  return 1;
}
