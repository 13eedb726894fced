/*
 * The optimizer step (headway_optimize.h): first each parameter's scalars (LARS's trust ratio
 * from the two norms, summed in double by one thread per parameter (round robin); AdamW's step count and bias
 * corrections), then one parallel region in which every segment's elements are split over the
 * team without a barrier between segments.
 */
#include <math.h>

#include "headway_optimize.h"

/* Segments whose scalars are prepared at once (a stack array each). */
#define HW_OPTIMIZER_BATCH 256

/* The learning-rate factor of a LARS parameter, or AdamW's two bias corrections. */
typedef struct {
  double rate;
  double correction1, correction2;
} segment_scalars;

static double lars_trust(const hw_optimizer_rule *rule, const hw_optimizer_segment *segment,
                         const float *state, const float *gradient) {
  const float *p = state + segment->parameter;
  double p_norm = 0, d_norm = 0;
  for (int64_t i = 0; i < segment->count; i++) {
    const double d = (double)gradient[i] + rule->weight_decay * p[i];
    p_norm += (double)p[i] * p[i];
    d_norm += d * d;
  }
  p_norm = sqrt(p_norm);
  d_norm = sqrt(d_norm);
  return p_norm > 0 && d_norm > 0 ? rule->trust * p_norm / d_norm : 1;
}

static void prepare(const hw_optimizer_rule *rule, const hw_optimizer_segment *segments, int count,
                    float *state, const float *const *gradients, segment_scalars *scalars) {
  if (rule->kind == HW_LARS) {
#pragma omp parallel for schedule(static, 1)
    for (int s = 0; s < count; s++) {
      const double trust =
          segments[s].adapted ? lars_trust(rule, &segments[s], state, gradients[s]) : 1;
      scalars[s].rate = rule->learning_rate * trust;
    }
  } else if (rule->kind == HW_ADAMW) {
    for (int s = 0; s < count; s++) {
      const double t = (double)state[segments[s].step] + 1;
      state[segments[s].step] = (float)t;
      scalars[s].correction1 = 1 - exp(t * log(rule->momentum));
      scalars[s].correction2 = 1 - exp(t * log(rule->beta2));
    }
  }
}

/* One segment's elements, shared by the team (orphaned worksharing, no barrier). */
static void update_segment(const hw_optimizer_rule *rule, const hw_optimizer_segment *segment,
                           segment_scalars scalars, float *state, const float *gradient) {
  float *p = state + segment->parameter;
  float *m = state + segment->first_moment;
  const double mu = rule->momentum, wd = rule->weight_decay, lr = rule->learning_rate;
  switch (rule->kind) {
  case HW_SGD:
#pragma omp for schedule(static) nowait
    for (int64_t i = 0; i < segment->count; i++) {
      const double v = mu * m[i] + ((double)gradient[i] + wd * p[i]);
      m[i] = (float)v;
      p[i] = (float)(p[i] - lr * v);
    }
    break;
  case HW_LARS:
#pragma omp for schedule(static) nowait
    for (int64_t i = 0; i < segment->count; i++) {
      const double step = segment->adapted ? (double)gradient[i] + wd * p[i] : gradient[i];
      const double v = mu * m[i] + scalars.rate * step;
      m[i] = (float)v;
      p[i] = (float)(p[i] - v);
    }
    break;
  case HW_ADAMW: {
    float *v2 = state + segment->second_moment;
    const double b2 = rule->beta2;
#pragma omp for schedule(static) nowait
    for (int64_t i = 0; i < segment->count; i++) {
      const double g = gradient[i];
      const double first = mu * m[i] + (1 - mu) * g;
      const double second = b2 * v2[i] + (1 - b2) * g * g;
      const double direction =
          first / scalars.correction1 / (sqrt(second / scalars.correction2) + rule->epsilon) +
          wd * p[i];
      m[i] = (float)first;
      v2[i] = (float)second;
      p[i] = (float)(p[i] - lr * direction);
    }
    break;
  }
  }
}

void hw_optimize(const hw_optimizer_rule *rule, const hw_optimizer_segment *segments, int count,
                 float *state, const float *const *gradients) {
  for (int first = 0; first < count; first += HW_OPTIMIZER_BATCH) {
    const int batch = count - first < HW_OPTIMIZER_BATCH ? count - first : HW_OPTIMIZER_BATCH;
    segment_scalars scalars[HW_OPTIMIZER_BATCH];
    for (int s = 0; s < batch; s++) scalars[s] = (segment_scalars){rule->learning_rate, 1, 1};
    prepare(rule, segments + first, batch, state, gradients + first, scalars);
#pragma omp parallel
    for (int s = 0; s < batch; s++) {
      update_segment(rule, &segments[first + s], scalars[s], state, gradients[first + s]);
    }
  }
}
