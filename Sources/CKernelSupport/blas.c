/*
 * The BLAS core: which of OpenBLAS's kernel sets every product runs on.
 *
 * Debian's OpenBLAS 0.3.21 is built with DYNAMIC_ARCH: when it loads it picks a kernel set from
 * the CPU's family and model (driver/others/dynamic.c, get_coretype). Its table has no case for
 * Intel family 6, extended model 0xC (model 207, an Emerald Rapids Xeon), and that switch falls
 * through into the Pentium 4 branch, which returns Prescott: SSE3 kernels, 4-6x slower than
 * its AVX-512 ones on the same CPU. Other models it does not know go the same way.
 *
 * So Headway decides from the CPU's own features (cpuid through __builtin_cpu_supports, which
 * also checks that the OS saves the vector registers): a CPU with AVX-512 F/CD/BW/DQ/VL gets
 * SkylakeX (Cooperlake, OpenBLAS's choice on CPUs with AVX512-BF16, is kept: its single
 * precision kernels are SkylakeX's), one with AVX2 and FMA gets Haswell (Zen is kept). If
 * OpenBLAS already runs an acceptable core nothing changes; otherwise OPENBLAS_CORETYPE is set
 * and the selection re-run with gotoblas_dynamic_quit + gotoblas_dynamic_init, both exported by
 * that build. This is exactly what OpenBLAS does at load time with OPENBLAS_CORETYPE in the
 * environment: gotoblas_dynamic_init only sets the kernel table and its blocking parameters
 * (gotoblas->init); the work buffers have a size fixed at build time for every core, and the
 * thread pool and affinity set-up do not depend on the core. It runs once (pthread_once), before
 * the first product: every Headway entry into OpenBLAS calls hw_pin_blas_threads first, so no
 * product is in flight while the table changes.
 */
#define _POSIX_C_SOURCE 200809L /* setenv, strdup */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "headway_kernels.h"
#include "kernels_internal.h"

char *openblas_get_corename(void);
void gotoblas_dynamic_init(void);
void gotoblas_dynamic_quit(void);

static pthread_once_t blas_core_once = PTHREAD_ONCE_INIT;
static char blas_core_at_load[32] = "";

int hw_cpu_has_avx512(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vl");
}

int hw_cpu_has_avx2(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

static int is_core(const char *core, const char *name) { return strcasecmp(core, name) == 0; }

/* Whether OpenBLAS's current core uses the widest vectors the CPU has. */
static int core_fits_cpu(const char *core) {
  if (hw_cpu_has_avx512()) return is_core(core, "SkylakeX") || is_core(core, "Cooperlake");
  if (hw_cpu_has_avx2()) return is_core(core, "Haswell") || is_core(core, "Zen");
  return 1;
}

static void choose_blas_core(void) {
  strncpy(blas_core_at_load, openblas_get_corename(), sizeof blas_core_at_load - 1);
  if (core_fits_cpu(blas_core_at_load)) return;
  const char *wanted = hw_cpu_has_avx512() ? "SkylakeX" : "Haswell";
  const char *previous = getenv("OPENBLAS_CORETYPE");
  char *saved = previous ? strdup(previous) : NULL;
  setenv("OPENBLAS_CORETYPE", wanted, 1);
  gotoblas_dynamic_quit();
  gotoblas_dynamic_init();
  if (saved) {
    setenv("OPENBLAS_CORETYPE", saved, 1);
    free(saved);
  } else {
    unsetenv("OPENBLAS_CORETYPE");
  }
}

void hw_choose_blas_core(void) { pthread_once(&blas_core_once, choose_blas_core); }

const char *hw_blas_core(void) {
  hw_choose_blas_core();
  return openblas_get_corename();
}

const char *hw_blas_core_at_load(void) {
  hw_choose_blas_core();
  return blas_core_at_load;
}
