/*
 * Checks the collectives of headway_collective.h (Sources/CKernelSupport/collective.c) on P
 * processes against their closed forms; the test suite builds it and runs it under mpirun for
 * several P (DistributedTrainingTests).
 *
 *   clang -ISources/CKernelSupport/include tools/collective-check/check.c \
 *     Sources/CKernelSupport/collective.c -o check
 *   mpirun -np 3 ./check            # prints "ok: P ranks" on rank 0; exits 1 on a mismatch
 *   mpirun -np 2 ./check mismatch   # a collective compiled for P + 1 ranks: stops the run
 *
 * Every value is a small integer, exact in float32, so sums in any order are exact.
 */
#include <stdio.h>
#include <string.h>

#include "headway_collective.h"

static int failures;

static void expect(float actual, float expected, const char *what, int rank, int index) {
  if (actual == expected) return;
  if (failures++ < 5) {
    fprintf(stderr, "rank %d: %s[%d] = %g, expected %g\n", rank, what, index, actual, expected);
  }
}

/* all_reduce: rank q holds 10q + i; every rank gets the sum, in place too. */
static void check_all_reduce(int rank, int ranks) {
  float x[5], y[5];
  for (int i = 0; i < 5; i++) x[i] = (float)(10 * rank + i);
  hw_all_reduce_sum(5, ranks, x, y);
  for (int i = 0; i < 5; i++) {
    expect(y[i], (float)(5 * ranks * (ranks - 1) + ranks * i), "all_reduce", rank, i);
  }
  hw_all_reduce_sum(5, ranks, x, x);
  for (int i = 0; i < 5; i++) expect(x[i], y[i], "all_reduce in place", rank, i);
}

/* all_gather of [outer 2, chunk 3]: block k of row o is rank k's, or rank (own + k)'s. */
static void check_all_gather(int rank, int ranks, int rotate) {
  float x[6], y[6 * 8];
  for (int o = 0; o < 2; o++) {
    for (int c = 0; c < 3; c++) x[o * 3 + c] = (float)(100 * rank + 10 * o + c);
  }
  hw_all_gather(2, 3, ranks, rotate, x, y);
  for (int o = 0; o < 2; o++) {
    for (int k = 0; k < ranks; k++) {
      int source = rotate ? (rank + k) % ranks : k;
      for (int c = 0; c < 3; c++) {
        int index = (o * ranks + k) * 3 + c;
        expect(y[index], (float)(100 * source + 10 * o + c), "all_gather", rank, index);
      }
    }
  }
}

/* reduce_scatter of [outer 2, ranks blocks, chunk 3]: rank q's block k goes to rank k, or to
 * rank (q + k) mod ranks; each rank gets the sum of the blocks that go to it. */
static void check_reduce_scatter(int rank, int ranks, int rotate) {
  float x[6 * 8], y[6];
  for (int o = 0; o < 2; o++) {
    for (int k = 0; k < ranks; k++) {
      for (int c = 0; c < 3; c++) x[(o * ranks + k) * 3 + c] = (float)(1000 * rank + 100 * k + 10 * o + c);
    }
  }
  hw_reduce_scatter(2, 3, ranks, rotate, x, y);
  for (int o = 0; o < 2; o++) {
    for (int c = 0; c < 3; c++) {
      float expected = 0;
      for (int q = 0; q < ranks; q++) {
        int k = rotate ? (rank - q + ranks) % ranks : rank;
        expected += (float)(1000 * q + 100 * k + 10 * o + c);
      }
      expect(y[o * 3 + c], expected, "reduce_scatter", rank, o * 3 + c);
    }
  }
}

int main(int argc, char **argv) {
  char error[512];
  if (hw_comm_open(error, sizeof error) != 0) {
    fprintf(stderr, "%s\n", error);
    return 2;
  }
  int rank = hw_comm_rank(), ranks = hw_comm_size();
  if (ranks > 8) {
    fprintf(stderr, "at most 8 ranks\n");
    return 2;
  }
  if (argc > 1 && strcmp(argv[1], "mismatch") == 0) {
    float x = 1;
    hw_all_reduce_sum(1, ranks + 1, &x, &x);
    return 0;
  }
  check_all_reduce(rank, ranks);
  for (int rotate = 0; rotate <= 1; rotate++) {
    check_all_gather(rank, ranks, rotate);
    check_reduce_scatter(rank, ranks, rotate);
  }
  float failed_ranks = failures > 0;
  hw_all_reduce_sum(1, ranks, &failed_ranks, &failed_ranks);
  int failed = failed_ranks > 0;
  if (rank == 0 && !failed) printf("ok: %d ranks\n", ranks);
  hw_comm_close();
  return failed;
}
