/*
 * Variable initialisation, bit for bit as GraphIR's Initializer.values (see
 * Sources/GraphIR/Initializer+Values.swift): SplitMix64 draws, uniforms from the top 52 bits,
 * Box-Muller pairs (cosine then sine) in double, rounded to float at the end.
 */
#include <math.h>
#include <stdint.h>

#include "headway_kernels.h"
#include "headway_program.h"

static uint64_t splitmix64(uint64_t *state) {
  *state += 0x9E3779B97F4A7C15ull;
  uint64_t z = *state;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static double uniform_open(uint64_t *state) {
  return ((double)(splitmix64(state) >> 12) + 0.5) * 0x1p-52;
}

static void initialize_variable(const hw_variable *v, float *restrict values, int64_t count) {
  uint64_t state = v->init_seed;
  switch (v->init) {
  case HW_INIT_ZEROS:
  case HW_INIT_CONSTANT:
    for (int64_t i = 0; i < count; i++) values[i] = (float)(v->init == HW_INIT_ZEROS ? 0.0 : v->init_value);
    break;
  case HW_INIT_UNIFORM:
    for (int64_t i = 0; i < count; i++) values[i] = (float)(v->init_value * (2.0 * uniform_open(&state) - 1.0));
    break;
  case HW_INIT_NORMAL:
    for (int64_t i = 0; i < count; i += 2) {
      double u1 = uniform_open(&state), u2 = uniform_open(&state);
      double r = sqrt(-2.0 * log(u1)), t = 2.0 * 3.14159265358979323846 * u2;
      values[i] = (float)(v->init_value * r * cos(t));
      if (i + 1 < count) values[i + 1] = (float)(v->init_value * r * sin(t));
    }
    break;
  }
}

void hw_initialize_state(const hw_program *program, float *state) {
  for (int k = 0; k < program->num_variables; k++) {
    const hw_variable *v = &program->variables[k];
    initialize_variable(v, state + v->tensor.offset / 4, hw_tensor_elements(&v->tensor, 1));
  }
}
