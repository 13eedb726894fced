#ifndef HEADWAY_OPTIMIZE_H
#define HEADWAY_OPTIMIZE_H
/*
 * The optimizer step of a compiled program: one call per update rule, over a table of segments
 * (one per parameter) that say where the parameter and its slots lie in the state arena. The
 * arithmetic, with g the gradient, p the parameter and lr the learning rate:
 *   SGD:   v' = mu v + (g + wd p);                 p' = p - lr v'
 *   LARS:  v' = mu v + lr trust (g + wd p);        p' = p - v'
 *          trust = eta |p| / |g + wd p| per parameter (1 when a norm is zero); a parameter not
 *          adapted (biases, BatchNorm): v' = mu v + lr g
 *   AdamW: m' = b1 m + (1 - b1) g, v' = b2 v + (1 - b2) g^2, t' = t + 1 (per parameter);
 *          p' = p - lr (m' / (1 - b1^t') / (sqrt(v' / (1 - b2^t')) + eps) + wd p)
 * AdamW's b1 is `momentum`. Elementwise arithmetic runs in double and is rounded once per store.
 */
#include <stdint.h>

#pragma clang assume_nonnull begin

typedef enum { HW_SGD = 0, HW_LARS = 1, HW_ADAMW = 2 } hw_optimizer_kind;

/* The rule of a run-time choice: AdamW above 1.5, LARS above 0.5, else SGD. */
static inline hw_optimizer_kind hw_optimizer_choice(float choice) {
  return choice > 1.5f ? HW_ADAMW : choice > 0.5f ? HW_LARS : HW_SGD;
}

typedef struct {
  hw_optimizer_kind kind;
  double learning_rate;
  double momentum; /* AdamW's beta1 */
  double weight_decay;
  double trust;    /* LARS's eta */
  double beta2;
  double epsilon;
} hw_optimizer_rule;

/* One parameter: float offsets in the state arena of the parameter, its velocity (SGD, LARS) or
 * first moment (AdamW), second moment and step count (-1 where the rule keeps none), its
 * element count, and whether LARS adapts its rate. */
typedef struct {
  int64_t parameter;
  int64_t first_moment;
  int64_t second_moment;
  int64_t step;
  int64_t count;
  int adapted;
} hw_optimizer_segment;

/* Applies `rule` to `count` parameters: segment i's gradient is gradients[i]. Updates the
 * parameters and slots in `state` in place; the result does not depend on the thread count. */
void hw_optimize(const hw_optimizer_rule *rule, const hw_optimizer_segment *segments, int count,
                 float *state, const float *_Nonnull const *_Nonnull gradients);

#pragma clang assume_nonnull end
#endif
