/*
 * The convolution entry points the generated programs call, and the per-shape choice between
 * im2col + OpenBLAS (conv2d.c) and oneDNN (conv2d_onednn.c) for NCHW tensors, and between oneDNN
 * on the tensors as they are, oneDNN on channel-blocked copies and oneDNN's Winograd convolution
 * (3x3 stride 1, float32, on blocked copies) for NHWC ones.
 *
 * The first call of a (shape, pass, team size, precision) with no choice yet times the candidates
 * on the call's own tensors (one warm-up each, then three alternating runs, best of each kept: the
 * machine's speed drifts, and alternation exposes all to the same drift), keeps the fastest, and
 * writes it to the cache file at once (a whole new file renamed over the old, so a killed process
 * leaves the old one). Reading the cache again, measuring and writing happen under a lock file,
 * so processes that start together agree. The call then computes its result with the chosen
 * one, so timing changes nothing but the time of that first call. Every later call, and every
 * process on the same machine that reads the cache, uses the same algorithm: results stay
 * bitwise reproducible across processes, which resuming from a checkpoint relies on.
 */
#define _POSIX_C_SOURCE 200809L /* strdup, clock_gettime */
#include <cpuid.h>
#include <dnnl.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "headway_conv.h"
#include "kernels_internal.h"

typedef struct {
  hw_conv_choice choice;
  int used; /* position in first-use order + 1, 0 when this process has not used it */
} entry;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t setup_once = PTHREAD_ONCE_INIT;
static entry *entries;
static int count, capacity, used_count;
static hw_conv_algorithm from_environment;
/* hw_conv_set_algorithm's value in this thread: -1 when it has not been called here. */
static _Thread_local int forced = -1;
static _Thread_local int precision_bf16;
static _Atomic long bf16_fallbacks;
static char machine[160], path[4096];
/* hw_conv_set_workspace_budget's bytes, or HEADWAY_CONV_WORKSPACE_MB's (read by setup unless
 * the setter ran first). */
static _Atomic size_t budget = (size_t)64 << 20;
static _Atomic int budget_set;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void describe_machine(void) {
  unsigned a = 0, b = 0, c = 0, d = 0, vendor[4] = {0};
  __get_cpuid(0, &a, &vendor[0], &vendor[2], &vendor[1]);
  __get_cpuid(1, &a, &b, &c, &d);
  unsigned family = (a >> 8) & 0xf, model = (a >> 4) & 0xf;
  if (family == 0xf) family += (a >> 20) & 0xff;
  if (family == 0x6 || family >= 0xf) model += ((a >> 16) & 0xf) << 4;
  const dnnl_version_t *v = dnnl_version();
  /* The line format is part of the key: older lines (format-1: two candidate times, no format;
   * format-2: bf16 blocked and Winograd candidates in bfloat16, Winograd refused) read as
   * another machine's, kept as they are, and older versions read these the same way. */
  snprintf(machine, sizeof machine, "%.12s/%u/%u/%s/onednn-%d.%d.%d/format-3",
           (const char *)vendor, family, model, hw_blas_core(), v->major, v->minor, v->patch);
}

static void find_cache_path(void) {
  const char *dir = getenv("HEADWAY_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME");
  const char *home = getenv("HOME");
  if (dir && *dir) snprintf(path, sizeof path, "%s/conv-choices.tsv", dir);
  else if (xdg && *xdg) snprintf(path, sizeof path, "%s/headway/conv-choices.tsv", xdg);
  else snprintf(path, sizeof path, "%s/.cache/headway/conv-choices.tsv", home ? home : ".");
}

/* mkdir -p; failures show up when the cache file cannot be written, which only costs timing. */
static void make_directories(char *dir) {
  for (char *p = dir + 1; *p; p++)
    if (*p == '/') *p = 0, mkdir(dir, 0755), *p = '/';
  mkdir(dir, 0755);
}

/* The algorithms' names in the cache file and HEADWAY_CONV, by hw_conv_algorithm value. */
static const char *const names[] = {"auto", "im2col", "onednn", "onednn-blocked",
                                    "onednn-winograd", "direct"};
enum { NAMES = sizeof names / sizeof names[0] };

const char *hw_conv_algorithm_name(hw_conv_algorithm a) {
  return a > 0 && (int)a < NAMES ? names[a] : "im2col";
}

/* The algorithm of a name, or -1. */
static int algorithm_named(const char *name) {
  for (int a = 0; a < NAMES; a++)
    if (strcmp(name, names[a]) == 0) return a;
  return -1;
}

/* Adds a choice; a bf16 one is oneDNN whatever was timed or read (im2col has no bf16). */
static entry *add(const hw_conv_choice *choice) {
  if (count == capacity) {
    int grown = capacity ? 2 * capacity : 64;
    entry *e = realloc(entries, (size_t)grown * sizeof *e);
    if (!e) return NULL;
    entries = e, capacity = grown;
  }
  entries[count] = (entry){*choice, 0};
  if (choice->key.bf16 && choice->algorithm == HW_CONV_IM2COL)
    entries[count].choice.algorithm = HW_CONV_ONEDNN;
  return &entries[count++];
}

static entry *find(const hw_conv_key *k) {
  for (int i = 0; i < count; i++)
    if (memcmp(&entries[i].choice.key, k, sizeof *k) == 0) return &entries[i];
  return NULL;
}

/* One cache line: machine, pass, bf16, channels-last, threads, the 11 shape numbers, algorithm,
 * the four candidates' times. */
static int parse_line(const char *line, hw_conv_choice *out) {
  char who[160], name[24];
  hw_conv_choice c = {0};
  hw_conv_shape *s = &c.key.shape;
  int fields = sscanf(line, "%159s %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %23s %lf %lf %lf %lf",
                      who, &c.key.pass, &c.key.bf16, &c.key.nhwc, &c.key.threads, &s->n, &s->c,
                      &s->h, &s->w, &s->o, &s->kh, &s->kw, &s->oh, &s->ow, &s->stride, &s->pad,
                      name, &c.im2col_ms, &c.onednn_ms, &c.blocked_ms, &c.winograd_ms);
  c.algorithm = algorithm_named(name);
  if (fields != 21 || strcmp(who, machine) != 0 || c.algorithm < HW_CONV_IM2COL ||
      c.algorithm > HW_CONV_ONEDNN_WINOGRAD)
    return 0;
  c.from_cache = 1;
  *out = c;
  return 1;
}

static void format_line(FILE *f, const hw_conv_choice *c) {
  const hw_conv_shape *s = &c->key.shape;
  fprintf(f, "%s\t%d\t%d\t%d\t%d\t%d %d %d %d %d %d %d %d %d %d %d\t%s\t%.4f\t%.4f\t%.4f\t%.4f\n",
          machine, c->key.pass, c->key.bf16, c->key.nhwc, c->key.threads, s->n, s->c, s->h, s->w,
          s->o, s->kh, s->kw, s->oh, s->ow, s->stride, s->pad, hw_conv_algorithm_name((hw_conv_algorithm)c->algorithm),
          c->im2col_ms, c->onednn_ms, c->blocked_ms, c->winograd_ms);
}

/* Adds the cache file's choices for this machine that the table lacks. Call with the lock. */
static void load_cache(void) {
  FILE *f = fopen(path, "r");
  char line[512];
  hw_conv_choice c;
  while (f && fgets(line, sizeof line, f))
    if (parse_line(line, &c) && !find(&c.key)) add(&c);
  if (f) fclose(f);
}

/* HEADWAY_CONV_WORKSPACE_MB: a number of MiB; anything else is reported and the default kept. */
static void read_workspace_budget(void) {
  const char *env = getenv("HEADWAY_CONV_WORKSPACE_MB");
  if (!env || budget_set) return;
  char *end;
  const double mib = strtod(env, &end);
  if (end == env || *end != 0 || !(mib >= 0) || mib > 1e9)
    fprintf(stderr, "headway: HEADWAY_CONV_WORKSPACE_MB=%s is not a number of MiB; using %zu\n",
            env, (size_t)budget >> 20);
  else
    budget = (size_t)(mib * 1048576.0);
}

static void setup(void) {
  read_workspace_budget();
  const char *env = getenv("HEADWAY_CONV");
  const int named = env ? algorithm_named(env) : -1;
  from_environment = named > 0 ? (hw_conv_algorithm)named : HW_CONV_AUTO;
  hw_pin_blas_threads(); /* the BLAS core is part of the machine key */
  describe_machine();
  find_cache_path();
  load_cache();
}

/* Rewrites the cache: the lines of other machines as they were, then this machine's choices.
 * Called under lock_cache, which has made the directory. */
static void save(void) {
  char tmp[4160], line[512];
  snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
  FILE *out = fopen(tmp, "w"), *in = fopen(path, "r");
  if (!out) {
    if (in) fclose(in);
    return;
  }
  hw_conv_choice c;
  while (in && fgets(line, sizeof line, in))
    if (!parse_line(line, &c)) fputs(line, out); /* another machine's line (or an unreadable one) */
  if (in) fclose(in);
  for (int i = 0; i < count; i++) format_line(out, &entries[i].choice);
  if (fclose(out) != 0 || rename(tmp, path) != 0) remove(tmp);
}

typedef struct {
  const hw_conv_key *key;
  const float *in0, *in1;
  float *out, *scratch; /* scratch: im2col's (NCHW), or spare memory for oneDNN (NHWC) */
  size_t spare_bytes;
} call;

static void run_im2col(const call *c) {
  const hw_conv_shape *s = &c->key->shape;
  switch (c->key->pass) {
  case HW_CONV_FORWARD: hw_im2col_conv2d_forward(s, c->in0, c->in1, c->out, c->scratch); break;
  case HW_CONV_INPUT_GRAD: hw_im2col_conv2d_input_grad(s, c->in0, c->in1, c->out, c->scratch); break;
  default: hw_im2col_conv2d_filter_grad(s, c->in0, c->in1, c->out, c->scratch); break;
  }
}

/* Runs one algorithm; -1 when it cannot run this call (oneDNN unavailable or refusing the shape,
 * im2col in bf16 or on channels-last tensors). */
static int run(int algorithm, const call *c) {
  if (algorithm != HW_CONV_IM2COL)
    return hw_onednn_conv2d(c->key, (hw_conv_algorithm)algorithm, c->in0, c->in1, c->out,
                            c->key->nhwc ? c->scratch : NULL, c->spare_bytes);
  if (c->key->bf16 || c->key->nhwc) return -1;
  run_im2col(c);
  return 0;
}

/* A choice's time for a candidate algorithm (NULL for AUTO and DIRECT). */
static double *time_of(hw_conv_choice *choice, int algorithm) {
  switch (algorithm) {
  case HW_CONV_IM2COL: return &choice->im2col_ms;
  case HW_CONV_ONEDNN: return &choice->onednn_ms;
  case HW_CONV_ONEDNN_BLOCKED: return &choice->blocked_ms;
  case HW_CONV_ONEDNN_WINOGRAD: return &choice->winograd_ms;
  default: return NULL;
  }
}

/* The fastest timed candidate, Winograd only if `winograd` (ties keep the earlier algorithm). */
static int fastest(hw_conv_choice *choice, int winograd) {
  int best = choice->key.nhwc ? HW_CONV_ONEDNN : HW_CONV_IM2COL;
  for (int a = HW_CONV_IM2COL; a <= HW_CONV_ONEDNN_WINOGRAD; a++) {
    if (a == HW_CONV_ONEDNN_WINOGRAD && !winograd) continue;
    if (*time_of(choice, a) >= 0 && *time_of(choice, a) < *time_of(choice, best)) best = a;
  }
  return best;
}

/* Times the layout's candidates on the call's tensors (their outputs are overwritten later):
 * im2col and oneDNN for NCHW; oneDNN as it is, blocked and Winograd for NHWC. A candidate oneDNN
 * refuses (Winograd on another shape or in bf16) is infinite. */
static hw_conv_choice measure(const call *c) {
  hw_conv_choice choice = {*c->key, HW_CONV_ONEDNN, -1, -1, -1, -1, 0, 0, 0};
  int candidates[3] = {HW_CONV_IM2COL, HW_CONV_ONEDNN}, n = 2;
  if (c->key->nhwc)
    candidates[0] = HW_CONV_ONEDNN_BLOCKED, candidates[2] = HW_CONV_ONEDNN_WINOGRAD, n = 3;
  int works[3];
  for (int k = 0; k < n; k++) {
    works[k] = run(candidates[k], c) == 0;
    *time_of(&choice, candidates[k]) = INFINITY;
  }
  for (int round = 0; round < 3; round++) {
    for (int k = 0; k < n; k++) {
      if (!works[k]) continue;
      double t0 = now();
      run(candidates[k], c);
      double ms = (now() - t0) * 1e3, *best = time_of(&choice, candidates[k]);
      if (ms < *best) *best = ms;
    }
  }
  choice.algorithm = fastest(&choice, 1);
  return choice;
}

/* Whether oneDNN's blocked copies and scratchpad for Winograd fit the call's spare memory, or
 * else the workspace budget (hw_onednn_conv2d then places them in the thread's workspace). */
static int winograd_has_room(const call *c) {
  return c->key->nhwc && hw_onednn_has_room(c->key, HW_CONV_ONEDNN_WINOGRAD, c->scratch,
                                            c->spare_bytes, budget);
}

/* Holds the cache's lock file (flock): measuring and writing a choice is one step across the
 * threads and processes of a machine, so two processes starting at once cannot choose
 * differently for the same shape. -1 when the lock cannot be had (the choice is then this
 * process's own). */
static int lock_cache(void) {
  char name[4160];
  snprintf(name, sizeof name, "%s.lock", path);
  char *dir = strdup(path), *slash = dir ? strrchr(dir, '/') : NULL;
  if (slash) *slash = 0, make_directories(dir); /* the cache's directory, for save() too */
  free(dir);
  int fd = open(name, O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (fd >= 0 && flock(fd, LOCK_EX) != 0) close(fd), fd = -1;
  return fd;
}

static void unlock_cache(int fd) {
  if (fd < 0) return;
  flock(fd, LOCK_UN);
  close(fd);
}

/* The choice for the call's key: this process's, else the cache's (read again under the lock:
 * another process may have measured it since this one started), else measured now. */
static int choose(const call *c) {
  const hw_conv_algorithm algorithm = hw_conv_get_algorithm();
  if (c->key->nhwc && algorithm == HW_CONV_IM2COL)
    return HW_CONV_ONEDNN; /* im2col has no channels-last form */
  if (algorithm != HW_CONV_AUTO && algorithm != HW_CONV_DIRECT) return algorithm;
  pthread_mutex_lock(&lock);
  int known = find(c->key) != NULL;
  pthread_mutex_unlock(&lock);
  if (!known) {
    int fd = lock_cache();
    pthread_mutex_lock(&lock);
    load_cache();
    known = find(c->key) != NULL;
    pthread_mutex_unlock(&lock);
    hw_conv_choice measured = {0};
    if (!known) measured = measure(c), hw_onednn_release_workspace();
    pthread_mutex_lock(&lock);
    int stored = known || find(c->key) != NULL;
    if (!stored && add(&measured) != NULL) stored = 1, save();
    pthread_mutex_unlock(&lock);
    unlock_cache(fd);
    if (!stored) return measured.algorithm; /* out of memory: not kept */
  }
  /* Entries move when the table grows: look the key up again under the lock. */
  pthread_mutex_lock(&lock);
  entry *e = find(c->key);
  if (!e->used) e->used = ++used_count;
  e->choice.calls++;
  int chosen = e->choice.algorithm;
  /* Winograd in the call's spare memory, else in at most the workspace budget (its
   * scratchpads are large): where neither holds them, the fastest direct candidate. */
  if (chosen == HW_CONV_ONEDNN_WINOGRAD &&
      (algorithm == HW_CONV_DIRECT || !winograd_has_room(c))) {
    if (algorithm != HW_CONV_DIRECT) e->choice.direct_calls++;
    chosen = fastest(&e->choice, 0);
  }
  pthread_mutex_unlock(&lock);
  return chosen;
}

/* Runs the chosen algorithm; a bf16 call oneDNN refuses runs in float32 (counted), and a
 * channels-last one oneDNN cannot run at all aborts (oneDNN always has a float32 reference
 * implementation, so that is a broken installation). */
static void convolve(int pass, int nhwc, const hw_conv_shape *s, const float *in0,
                     const float *in1, float *out, float *scratch, size_t spare_bytes) {
  hw_conv_key key;
  memset(&key, 0, sizeof key);
  key.shape = *s, key.pass = pass, key.threads = omp_get_max_threads();
  key.bf16 = precision_bf16, key.nhwc = nhwc;
  call c = {&key, in0, in1, out, scratch, spare_bytes};
  int algorithm = choose(&c);
  if (key.bf16 && algorithm == HW_CONV_IM2COL) algorithm = HW_CONV_ONEDNN; /* no bf16 im2col */
  if (run(algorithm, &c) == 0) return;
  if (algorithm == HW_CONV_ONEDNN_WINOGRAD && run(HW_CONV_ONEDNN, &c) == 0) return; /* not 3x3/1 */
  if (key.bf16) bf16_fallbacks++, key.bf16 = 0;
  if (!nhwc) {
    run(HW_CONV_IM2COL, &c);
    return;
  }
  if (run(algorithm, &c) == 0 || run(HW_CONV_ONEDNN, &c) == 0) return;
  fprintf(stderr, "headway: oneDNN cannot run the channels-last convolution %dx%dx%dx%d -> %d\n",
          s->n, s->c, s->h, s->w, s->o);
  abort();
}

void hw_conv_set_workspace_budget(size_t bytes) { budget = bytes, budget_set = 1; }

size_t hw_conv_workspace_budget(void) {
  pthread_once(&setup_once, setup);
  return budget;
}

void hw_set_conv_precision(int bf16) { precision_bf16 = bf16 != 0; }
int hw_get_conv_precision(void) { return precision_bf16; }
long hw_conv_bf16_fallbacks(void) { return bf16_fallbacks; }

int hw_cpu_has_bf16(void) {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!hw_cpu_has_avx512()) return 0; /* also checks that the OS saves AVX-512 state */
  int avx512_bf16 = __get_cpuid_count(7, 1, &a, &b, &c, &d) && ((a >> 5) & 1);
  int amx_bf16 = __get_cpuid_count(7, 0, &a, &b, &c, &d) && ((d >> 22) & 1);
  return avx512_bf16 || amx_bf16;
}

void hw_conv2d_forward(const hw_conv_shape *s, const float *restrict x, const float *restrict w,
                       float *restrict y, float *restrict scratch) {
  convolve(HW_CONV_FORWARD, 0, s, x, w, y, scratch, 0);
}

void hw_conv2d_input_grad(const hw_conv_shape *s, const float *restrict dy,
                          const float *restrict w, float *restrict dx, float *restrict scratch) {
  convolve(HW_CONV_INPUT_GRAD, 0, s, dy, w, dx, scratch, 0);
}

void hw_conv2d_filter_grad(const hw_conv_shape *s, const float *restrict x,
                           const float *restrict dy, float *restrict dw, float *restrict scratch) {
  convolve(HW_CONV_FILTER_GRAD, 0, s, x, dy, dw, scratch, 0);
}

void hw_conv2d_forward_nhwc(const hw_conv_shape *s, const float *restrict x,
                            const float *restrict w, float *restrict y, void *restrict spare,
                            size_t spare_bytes) {
  convolve(HW_CONV_FORWARD, 1, s, x, w, y, spare, spare_bytes);
}

void hw_conv2d_input_grad_nhwc(const hw_conv_shape *s, const float *restrict dy,
                               const float *restrict w, float *restrict dx, void *restrict spare,
                               size_t spare_bytes) {
  convolve(HW_CONV_INPUT_GRAD, 1, s, dy, w, dx, spare, spare_bytes);
}

void hw_conv2d_filter_grad_nhwc(const hw_conv_shape *s, const float *restrict x,
                                const float *restrict dy, float *restrict dw,
                                void *restrict spare, size_t spare_bytes) {
  convolve(HW_CONV_FILTER_GRAD, 1, s, x, dy, dw, spare, spare_bytes);
}

void hw_conv_set_algorithm(hw_conv_algorithm algorithm) { forced = (int)algorithm; }

hw_conv_algorithm hw_conv_get_algorithm(void) {
  pthread_once(&setup_once, setup);
  return forced >= 0 ? (hw_conv_algorithm)forced : from_environment;
}

int hw_conv_choice_count(void) {
  pthread_mutex_lock(&lock);
  int n = used_count;
  pthread_mutex_unlock(&lock);
  return n;
}

int hw_conv_choice_at(int index, hw_conv_choice *choice) {
  int found = 0;
  pthread_mutex_lock(&lock);
  for (int i = 0; i < count && !found; i++)
    if (entries[i].used == index + 1) *choice = entries[i].choice, found = 1;
  pthread_mutex_unlock(&lock);
  return found;
}

const char *hw_conv_cache_path(void) {
  pthread_once(&setup_once, setup);
  return path;
}

const char *hw_conv_machine_key(void) {
  pthread_once(&setup_once, setup);
  return machine;
}

const char *hw_onednn_isa(void) {
  switch (dnnl_get_effective_cpu_isa()) {
  case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
  case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
  case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
  case dnnl_cpu_isa_avx512_core: return "avx512_core";
  case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
  case dnnl_cpu_isa_avx2: return "avx2";
  default: return "older than avx2";
  }
}
