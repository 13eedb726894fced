/*
 * Collectives over MPI, loaded at run time (see headway_collective.h).
 *
 * Why dlopen: a program run by one process must not need MPI, and the runtime, the tests and
 * the standalone trainer are the same binaries with or without it. hw_comm_open loads Open
 * MPI's libmpi.so.40 with RTLD_GLOBAL (Open MPI's own components resolve its symbols from it)
 * and looks up the functions used here. MPI's predefined handles are, in Open MPI's mpi.h, the
 * addresses of objects the library exports (MPI_COMM_WORLD is &ompi_mpi_comm_world, MPI_FLOAT
 * &ompi_mpi_float, MPI_SUM &ompi_mpi_op_sum), so they come from dlsym too: this is Open MPI's
 * ABI (Debian's openmpi-bin and libopenmpi3), not another MPI's.
 *
 * Every call is made by the thread that opened MPI (MPI_THREAD_FUNNELED), outside OpenMP
 * regions. Sums are float32 in MPI's order; MPI's default error handler stops the whole run on
 * a failed call, and mpirun stops the other ranks when one dies.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "headway_collective.h"

typedef void *mpi_handle;

static struct {
  void *library;
  int (*init_thread)(int *, char ***, int, int *);
  int (*finalize)(void);
  int (*comm_rank)(mpi_handle, int *);
  int (*comm_size)(mpi_handle, int *);
  int (*allreduce)(const void *, void *, int, mpi_handle, mpi_handle, mpi_handle);
  int (*allgather)(const void *, int, mpi_handle, void *, int, mpi_handle, mpi_handle);
  int (*reduce_scatter_block)(const void *, void *, int, mpi_handle, mpi_handle, mpi_handle);
  int (*abort)(mpi_handle, int);
  mpi_handle world, type_float, op_sum;
  int rank, size;
} mpi = {.size = 1};

/* Open MPI's MPI_THREAD_FUNNELED and MPI_IN_PLACE. */
enum { thread_funneled = 1 };
#define IN_PLACE ((void *)1)

static int look_up(void **slot, const char *name, char *error, size_t error_size) {
  *slot = dlsym(mpi.library, name);
  if (*slot) return 0;
  snprintf(error, error_size, "libmpi.so.40 has no symbol %s (not Open MPI?)", name);
  return -1;
}

static int load(char *error, size_t error_size) {
  mpi.library = dlopen("libmpi.so.40", RTLD_NOW | RTLD_GLOBAL);
  if (!mpi.library) {
    snprintf(error, error_size,
             "cannot load Open MPI (libmpi.so.40): %s; install openmpi-bin and "
             "libopenmpi-dev (tools/setup)", dlerror());
    return -1;
  }
  struct { void **slot; const char *name; } symbols[] = {
    {(void **)&mpi.init_thread, "MPI_Init_thread"},
    {(void **)&mpi.finalize, "MPI_Finalize"},
    {(void **)&mpi.comm_rank, "MPI_Comm_rank"},
    {(void **)&mpi.comm_size, "MPI_Comm_size"},
    {(void **)&mpi.allreduce, "MPI_Allreduce"},
    {(void **)&mpi.allgather, "MPI_Allgather"},
    {(void **)&mpi.reduce_scatter_block, "MPI_Reduce_scatter_block"},
    {(void **)&mpi.abort, "MPI_Abort"},
    {&mpi.world, "ompi_mpi_comm_world"},
    {&mpi.type_float, "ompi_mpi_float"},
    {&mpi.op_sum, "ompi_mpi_op_sum"},
  };
  for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
    if (look_up(symbols[i].slot, symbols[i].name, error, error_size) != 0) return -1;
  }
  return 0;
}

int hw_comm_open(char *error, size_t error_size) {
  if (mpi.library) return 0;
  if (load(error, error_size) != 0) {
    if (mpi.library) dlclose(mpi.library);
    mpi.library = NULL;
    return -1;
  }
  int provided = 0;
  if (mpi.init_thread(NULL, NULL, thread_funneled, &provided) != 0 ||
      provided < thread_funneled) {
    snprintf(error, error_size, "MPI_Init_thread failed (provided thread level %d)", provided);
    return -1;
  }
  mpi.comm_rank(mpi.world, &mpi.rank);
  mpi.comm_size(mpi.world, &mpi.size);
  return 0;
}

void hw_comm_close(void) {
  if (!mpi.library) return;
  mpi.finalize();
  mpi.rank = 0;
  mpi.size = 1;
}

int hw_comm_rank(void) { return mpi.rank; }
int hw_comm_size(void) { return mpi.size; }

void hw_comm_abort(int code) {
  if (mpi.library && mpi.size > 1) mpi.abort(mpi.world, code);
  exit(code);
}

/* Stops the run when a compiled collective does not match the communicator. */
static void require_ranks(int ranks, const char *what) {
  if (ranks == mpi.size) return;
  fprintf(stderr,
          "headway: %s over %d ranks, but this process is one of %d (a data-parallel program "
          "runs under mpirun -np %d with --distributed)\n", what, ranks, mpi.size, ranks);
  hw_comm_abort(70);
}

/* Checks a collective's rank count; over one rank it is a copy, done here (returns 1). */
static int one_rank_copy(int ranks, const char *what, size_t floats, const float *x, float *y) {
  require_ranks(ranks, what);
  if (ranks != 1) return 0;
  if (x != y) memcpy(y, x, floats * sizeof(float));
  return 1;
}

static int count_of(int64_t count, const char *what) {
  if (count <= INT_MAX) return (int)count;
  fprintf(stderr, "headway: %s of %lld elements exceeds MPI's int count\n", what,
          (long long)count);
  hw_comm_abort(70);
  return 0;
}

/* A buffer for the packing of gathers and scatters, grown on first use and kept, so later
 * steps allocate nothing. */
static float *workspace(size_t floats) {
  static float *buffer;
  static size_t capacity;
  if (floats > capacity) {
    float *grown = realloc(buffer, floats * sizeof(float));
    if (!grown) {
      fprintf(stderr, "headway: out of memory for a %zu-float collective buffer\n", floats);
      hw_comm_abort(71);
    }
    buffer = grown;
    capacity = floats;
  }
  return buffer;
}

void hw_all_reduce_sum(int64_t count, int ranks, const float *x, float *y) {
  if (one_rank_copy(ranks, "all_reduce", (size_t)count, x, y)) return;
  /* Pieces of at most 2^30 floats keep MPI's int counts in range. */
  for (int64_t start = 0; start < count; start += (int64_t)1 << 30) {
    int64_t piece = count - start < ((int64_t)1 << 30) ? count - start : ((int64_t)1 << 30);
    const void *source = x == y ? IN_PLACE : (const void *)(x + start);
    mpi.allreduce(source, y + start, (int)piece, mpi.type_float, mpi.op_sum, mpi.world);
  }
}

/* Moves blocks between the layout MPI sends and receives, [rank, outer, chunk], and a value's
 * [outer, block k, chunk], where block k belongs to rank k, or with `rotate` to rank
 * (own + k) mod ranks: into the value (`into_value`, after a gather) or out of it (before a
 * reduce-scatter; `value` is then only read). */
static void move_blocks(float *by_rank, float *value, int64_t outer, int64_t chunk, int ranks,
                        int rotate, int into_value) {
  size_t block = (size_t)(outer * chunk), bytes = (size_t)chunk * sizeof(float);
  for (int64_t o = 0; o < outer; o++) {
    for (int k = 0; k < ranks; k++) {
      float *ranked = by_rank + (size_t)(rotate ? (mpi.rank + k) % ranks : k) * block +
                      (size_t)(o * chunk);
      float *own = value + (o * ranks + k) * chunk;
      if (into_value) {
        memcpy(own, ranked, bytes);
      } else {
        memcpy(ranked, own, bytes);
      }
    }
  }
}

void hw_all_gather(int64_t outer, int64_t chunk, int ranks, int rotate, const float *x,
                   float *y) {
  size_t block = (size_t)(outer * chunk);
  if (one_rank_copy(ranks, "all_gather", block, x, y)) return;
  int count = count_of(outer * chunk, "all_gather");
  if (outer == 1 && !rotate) {
    mpi.allgather(x, count, mpi.type_float, y, count, mpi.type_float, mpi.world);
    return;
  }
  float *gathered = workspace(block * (size_t)ranks);
  mpi.allgather(x, count, mpi.type_float, gathered, count, mpi.type_float, mpi.world);
  move_blocks(gathered, y, outer, chunk, ranks, rotate, 1);
}

void hw_reduce_scatter(int64_t outer, int64_t chunk, int ranks, int rotate, const float *x,
                       float *y) {
  size_t block = (size_t)(outer * chunk);
  if (one_rank_copy(ranks, "reduce_scatter", block, x, y)) return;
  float *packed = workspace(block * (size_t)ranks);
  move_blocks(packed, (float *)x, outer, chunk, ranks, rotate, 0);
  mpi.reduce_scatter_block(packed, y, count_of(outer * chunk, "reduce_scatter"),
                           mpi.type_float, mpi.op_sum, mpi.world);
}
