/*
 * A standalone trainer in C, written by `headwayc emit --trainer PROGRAM -o DIR` beside the
 * program's generated C and Headway's kernel support C (no Swift involved). It does what
 * `headway train --no-online-probe` does on Fashion-MNIST's IDX files: the same shuffled
 * batches, the same C augmentations, the same warm-up + cosine schedule, the same compiled
 * step, and safetensors checkpoints with the same bytes (so either can resume the other's).
 *
 *   ./train --out DIR [--mode joint|none|fixed|bilevel|bilevel-unrolled] [--inner-steps K]
 *           [--epochs E] [--batch N] [--limit L] [--seed S] [--threads T] [--lr R]
 *           [--inner-lr R] [--warmup-epochs W] [--checkpoint-every C] [--stop-after S]
 *           [--data DIR] [--crop-min-scale F] [--optimizer sgd|lars|adamw] [--momentum M]
 *           [--weight-decay D] [--temperature T] [--inner-momentum M] [--knn-every K]
 *           [--resume]
 *
 * `--knn-every` is only recorded in the checkpoint's config (this trainer runs no kNN).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "HeadwayPrograms.h"
#include "headway_augment.h"
#include "headway_kernels.h"

#include "trainer_io.h"

/* The run's options, with `headway train`'s defaults. */
typedef struct {
  const char *mode, *optimizer, *data, *out;
  int inner_steps, epochs, batch, threads, checkpoint_every, resume;
  long limit, stop_after, knn_every;
  uint64_t seed;
  double lr, inner_lr, warmup_epochs, crop_min_scale, momentum, weight_decay, temperature,
      inner_momentum;
  int weight_decay_given;
} options;

static options parse_options(int argc, char **argv) {
  options o = {.mode = "joint", .optimizer = "sgd", .data = "/usr/share/datasets/fashion-mnist",
               .out = NULL, .inner_steps = 2, .epochs = 1, .batch = 256, .limit = -1,
               .stop_after = -1, .knn_every = -1, .lr = 0.3, .inner_lr = 0.1,
               .crop_min_scale = 0.08, .momentum = 0.9, .temperature = 0.5};
  for (int i = 1; i < argc; i++) {
    const char *name = argv[i];
    if (strcmp(name, "--resume") == 0) {
      o.resume = 1;
      continue;
    }
    if (i + 1 >= argc) die("option %s needs a value", name);
    const char *value = argv[++i];
    if (strcmp(name, "--mode") == 0) o.mode = value;
    else if (strcmp(name, "--optimizer") == 0) o.optimizer = value;
    else if (strcmp(name, "--data") == 0) o.data = value;
    else if (strcmp(name, "--out") == 0) o.out = value;
    else if (strcmp(name, "--inner-steps") == 0) o.inner_steps = (int)integer(name, value);
    else if (strcmp(name, "--epochs") == 0) o.epochs = (int)integer(name, value);
    else if (strcmp(name, "--batch") == 0) o.batch = (int)integer(name, value);
    else if (strcmp(name, "--threads") == 0) o.threads = (int)integer(name, value);
    else if (strcmp(name, "--checkpoint-every") == 0)
      o.checkpoint_every = (int)integer(name, value);
    else if (strcmp(name, "--limit") == 0) o.limit = integer(name, value);
    else if (strcmp(name, "--stop-after") == 0) o.stop_after = integer(name, value);
    else if (strcmp(name, "--knn-every") == 0) o.knn_every = integer(name, value);
    else if (strcmp(name, "--seed") == 0) o.seed = (uint64_t)integer(name, value);
    else if (strcmp(name, "--lr") == 0) o.lr = real(name, value);
    else if (strcmp(name, "--inner-lr") == 0) o.inner_lr = real(name, value);
    else if (strcmp(name, "--warmup-epochs") == 0) o.warmup_epochs = real(name, value);
    else if (strcmp(name, "--crop-min-scale") == 0) o.crop_min_scale = real(name, value);
    else if (strcmp(name, "--momentum") == 0) o.momentum = real(name, value);
    else if (strcmp(name, "--temperature") == 0) o.temperature = real(name, value);
    else if (strcmp(name, "--inner-momentum") == 0) o.inner_momentum = real(name, value);
    else if (strcmp(name, "--weight-decay") == 0) {
      o.weight_decay = real(name, value);
      o.weight_decay_given = 1;
    } else die("unknown option %s (see the comment at the top of trainer.c)", name);
  }
  if (!o.out) die("--out DIR is required");
  const char *optimizers[] = {"sgd", "lars", "adamw"};
  const double decays[] = {5e-4, 1e-6, 1e-4};
  int known = 0;
  for (int k = 0; k < 3; k++) {
    if (strcmp(o.optimizer, optimizers[k]) != 0) continue;
    known = 1;
    if (!o.weight_decay_given) o.weight_decay = decays[k];
  }
  if (!known) die("unknown optimizer '%s'; expected one of sgd, lars, adamw", o.optimizer);
  if (o.batch < 1 || o.epochs < 1 || o.inner_steps < 1)
    die("batch, epochs and inner steps must be >= 1");
  if (!(o.lr > 0) || !(o.temperature > 0)) die("learning rate and temperature must be > 0");
  if (!(o.momentum >= 0 && o.momentum < 1) || !(o.inner_momentum >= 0 && o.inner_momentum < 1))
    die("momentum and inner momentum must be in [0, 1)");
  if (!(o.crop_min_scale > 0 && o.crop_min_scale <= 1)) die("crop-min-scale must be in (0, 1]");
  return o;
}

/* The config record `headway train` writes (TrainingConfig's JSON: sorted keys, slashes
 * escaped, numbers as Foundation prints them). */
static void config_json(const options *o, const char *program, long images, text *t) {
  text_add(t, "{\"batch\":%d,\"checkpointEvery\":%d,\"cropMinScale\":", o->batch,
           o->checkpoint_every);
  json_number(t, o->crop_min_scale);
  text_add(t, ",\"dataDirectory\":");
  json_string(t, o->data);
  text_add(t, ",\"dataset\":\"fashion-mnist\",\"epochs\":%d,\"headInit\":\"warm\","
              "\"innerLearningRate\":", o->epochs);
  json_number(t, o->inner_lr);
  text_add(t, ",\"innerMomentum\":");
  json_number(t, o->inner_momentum);
  long knn = o->knn_every >= 0 ? o->knn_every : (40000 + images - 1) / (images > 0 ? images : 1);
  if (knn < 1 && o->knn_every < 0) knn = 1;
  text_add(t, ",\"innerSteps\":%d,\"knnEvery\":%ld,\"learningRate\":", o->inner_steps, knn);
  json_number(t, o->lr);
  if (o->limit >= 0) text_add(t, ",\"limit\":%ld", o->limit);
  text_add(t, ",\"mode\":");
  json_string(t, o->mode);
  text_add(t, ",\"momentum\":");
  json_number(t, o->momentum);
  text_add(t, ",\"onlineProbe\":false,\"optimizer\":");
  json_string(t, o->optimizer);
  text_add(t, ",\"precision\":\"fp32\",\"program\":");
  json_string(t, program);
  text_add(t, ",\"seed\":%llu,\"temperature\":", (unsigned long long)o->seed);
  json_number(t, o->temperature);
  text_add(t, ",\"threads\":%d,\"warmupEpochs\":", o->threads);
  json_number(t, o->warmup_epochs);
  text_add(t, ",\"weightDecay\":");
  json_number(t, o->weight_decay);
  text_add(t, "}");
}

/* Linear warm-up from 0, then cosine decay to 0 (LearningRateSchedule). */
static double rate_at(double peak, long warmup, long total, long step) {
  if (total < 1) total = 1;
  if (step < warmup) return peak * (double)(step + 1) / (double)warmup;
  long span = total - warmup > 1 ? total - warmup : 1;
  double progress = (double)(step - warmup) / (double)span;
  return peak * 0.5 * (1 + cos(M_PI * (progress < 1 ? progress : 1)));
}

/* The step's scalar inputs by name (TrainingConfig.scalarInputs), as float32. */
static int scalar_input(const options *o, const char *name, double lr, float *value) {
  const char *names[] = {"lr", "inner_lr", "inner_momentum", "temperature", "momentum",
                         "weight_decay", "optimizer"};
  double optimizer = strcmp(o->optimizer, "lars") == 0    ? 1
                     : strcmp(o->optimizer, "adamw") == 0 ? 2
                                                          : 0;
  const double values[] = {lr, o->inner_lr, o->inner_momentum, o->temperature, o->momentum,
                           o->weight_decay, optimizer};
  for (int k = 0; k < 7; k++) {
    if (strcmp(name, names[k]) != 0) continue;
    *value = (float)values[k];
    return 1;
  }
  return 0;
}

/* The entry of the mode (`bilevel.step` repeats its loop K - 1 times; `bilevel-unrolled` has
 * an entry per compiled K). */
static const hw_entry *step_entry(const hw_program *program, const options *o) {
  char name[96];
  if (strcmp(o->mode, "bilevel-unrolled") == 0)
    snprintf(name, sizeof name, "%s.k%d.step", o->mode, o->inner_steps);
  else snprintf(name, sizeof name, "%s.step", o->mode);
  for (int i = 0; i < program->num_entries; i++)
    if (strcmp(program->entries[i].name, name) == 0) return &program->entries[i];
  die("program %s has no entry %s (mode %s, K %d)", program->name, name, o->mode, o->inner_steps);
  return NULL;
}

/* Writes every variable, the step and the config as safetensors, atomically. */
static void save(const char *path, const hw_program *program, const float *state, int batch,
                 long step, const char *config) {
  char batch_text[32], step_text[32];
  snprintf(batch_text, sizeof batch_text, "%d", batch);
  snprintf(step_text, sizeof step_text, "%ld", step);
  const char *keys[] = {"batch", "config", "format", "program", "step"};
  const char *values[] = {batch_text, config, "headway-checkpoint-1", program->name, step_text};
  safetensors_write(path, program, state, keys, values, 5);
}

typedef struct {
  const hw_program *program;
  const hw_entry *entry;
  hw_plan plan;
  float *state;
  char *arena;
  void **inputs;
} session;

static session open_session(const char *name, const options *o) {
  session s = {0};
  int count = 0;
  const hw_program *const *programs = hw_programs(&count);
  for (int i = 0; i < count; i++)
    if (strcmp(programs[i]->name, name) == 0) s.program = programs[i];
  if (!s.program) die("no program %s in this trainer", name);
  s.entry = step_entry(s.program, o);
  s.plan.offsets = calloc((size_t)s.entry->num_buffers + 1, sizeof(int64_t));
  s.plan.scratch_offsets = calloc((size_t)s.entry->num_calls + 1, sizeof(int64_t));
  s.plan.scratch_bytes = calloc((size_t)s.entry->num_calls + 1, sizeof(int64_t));
  if (hw_entry_plan(s.entry, o->batch, &s.plan) != 0)
    die("%s cannot be planned at batch %d", s.entry->name, o->batch);
  s.state = aligned_alloc(64, ((size_t)s.program->state_bytes + 127) / 64 * 64);
  s.arena = aligned_alloc(64, ((size_t)s.plan.arena_bytes + 127) / 64 * 64);
  if (!s.state || !s.arena) die("out of memory for the arenas");
  memset(s.state, 0, (size_t)s.program->state_bytes);
  memset(s.arena, 0, (size_t)s.plan.arena_bytes);
  hw_set_threads(o->threads);
  hw_initialize_state(s.program, s.state);
  s.inputs = calloc((size_t)s.entry->num_inputs + 1, sizeof(void *));
  for (int i = 0; i < s.entry->num_inputs; i++) {
    int64_t n = hw_tensor_elements(&s.entry->inputs[i], o->batch);
    s.inputs[i] = aligned_alloc(64, ((size_t)(n > 0 ? n : 1) * 4 + 63) / 64 * 64);
    if (strcmp(s.entry->inputs[i].name, "subvector_mask") == 0)
      for (int64_t k = 0; k < n; k++) ((float *)s.inputs[i])[k] = 1;
  }
  return s;
}

/* One step: its views and scalars, the call; returns the loss. */
static float run_step(session *s, const options *o, const images *data, const int64_t *indices,
                      long step, double lr) {
  hw_augment_options augment = hw_augment_defaults(1, data->height);
  augment.crop_scale_min = (float)o->crop_min_scale;
  for (int i = 0; i < s->entry->num_inputs; i++) {
    const char *name = s->entry->inputs[i].name;
    if (strcmp(name, "views") == 0) {
      hw_augment_views(&augment, o->seed, (uint64_t)step, data->pixels, 1, data->height,
                       data->width, indices, o->batch, data->height, data->width, s->inputs[i]);
    } else if (strcmp(name, "subvector_mask") != 0 &&
               !scalar_input(o, name, lr, (float *)s->inputs[i])) {
      die("entry %s takes an unknown input %s", s->entry->name, name);
    }
  }
  int64_t repeats = s->entry->loop.end > s->entry->loop.first ? o->inner_steps - 1 : 1;
  hw_entry_run_repeating(s->entry, &s->plan, repeats, s->state, s->arena,
                         (const void *const *)s->inputs);
  for (int i = 0; i < s->entry->num_outputs; i++) {
    const hw_tensor *out = &s->entry->outputs[i];
    if (strcmp(out->name, "loss") == 0)
      return ((float *)(s->arena + s->plan.offsets[out->offset]))[0];
  }
  die("entry %s has no loss output", s->entry->name);
  return NAN;
}

/* Stops at a non-finite loss or state, as `headway train` does: the last checkpoint is the last
 * good state. */
static void check_finite(const session *s, float loss, long step) {
  if (!isfinite(loss))
    die("step %ld: the loss is %g; stopped, the last checkpoint is the last good state", step,
        (double)loss);
  for (int i = 0; i < s->program->num_variables; i++) {
    const hw_variable *v = &s->program->variables[i];
    const float *values = (const float *)((const char *)s->state + v->tensor.offset);
    int64_t count = hw_tensor_elements(&v->tensor, 1);
    for (int64_t k = 0; k < count; k++)
      if (!isfinite(values[k]))
        die("step %ld: '%s' holds a non-finite value at index %lld; stopped, the last "
            "checkpoint is the last good state", step, v->tensor.name, (long long)k);
  }
}

int main(int argc, char **argv) {
  options o = parse_options(argc, argv);
  const char *program = TRAINER_PROGRAM;
  images data = load_fashion_mnist(o.data, o.limit);
  if (data.count < o.batch) die("%ld images are fewer than one batch of %d", data.count, o.batch);
  session s = open_session(program, &o);
  text config = {0};
  config_json(&o, program, data.count, &config);
  char path[4096];
  snprintf(path, sizeof path, "%s/checkpoint.safetensors", o.out);
  make_directory(o.out);
  long steps_per_epoch = data.count / o.batch, total = steps_per_epoch * o.epochs, done = 0;
  long warmup = (long)(o.warmup_epochs * (double)steps_per_epoch);
  if (o.resume) done = safetensors_resume(path, s.program, s.state, config.bytes);
  long end = o.stop_after >= 0 && done + o.stop_after < total ? done + o.stop_after : total;
  printf("training %s %s on %ld images: %ld steps of %d images, %d threads%s\n", program, o.mode,
         data.count, total, o.batch, hw_max_threads(), o.resume ? " (resumed)" : "");
  int64_t *order = malloc((size_t)data.count * sizeof(int64_t));
  int64_t *indices = malloc((size_t)o.batch * sizeof(int64_t));
  for (; done < end; done++) {
    long epoch = done / steps_per_epoch, position = done % steps_per_epoch;
    shuffled_order(order, data.count, splitmix_seed2(o.seed, (uint64_t)epoch));
    for (int i = 0; i < o.batch; i++) indices[i] = order[position * o.batch + i];
    double lr = rate_at(o.lr, warmup, total, done);
    float loss = run_step(&s, &o, &data, indices, done, lr);
    check_finite(&s, loss, done);
    printf("epoch %ld/%d step %ld/%ld loss %.4f\n", epoch + 1, o.epochs, position + 1,
           steps_per_epoch, (double)loss);
    long completed = done + 1;
    if (completed % steps_per_epoch == 0 || completed == end ||
        (o.checkpoint_every > 0 && completed % o.checkpoint_every == 0))
      save(path, s.program, s.state, o.batch, completed, config.bytes);
  }
  return 0;
}
