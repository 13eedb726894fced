#ifndef HEADWAY_COLLECTIVE_H
#define HEADWAY_COLLECTIVE_H
/*
 * The collectives of a data-parallel run (`mpirun -np P headway train --distributed`) over
 * MPI, and the communicator they use.
 *
 * Nothing here links MPI: a program run by one process needs no MPI library. hw_comm_open
 * loads Open MPI's libmpi at run time; until then the communicator has one rank, a collective
 * over one rank is a copy, and one over more ranks stops the process with a message.
 */
#include <stddef.h>
#include <stdint.h>

#pragma clang assume_nonnull begin

/* Loads Open MPI (libmpi.so.40) and initialises it (MPI_THREAD_FUNNELED: only the thread that
 * opened it calls MPI). Returns 0, or -1 with a message in `error` (no library, no mpirun). */
int hw_comm_open(char *error, size_t error_size);
/* Finalises MPI if hw_comm_open opened it; every rank must call it. */
void hw_comm_close(void);
/* This process's rank and the number of ranks (0 and 1 unless open). */
int hw_comm_rank(void);
int hw_comm_size(void);
/* Stops every rank of the run with `code` (exit(code) without MPI). */
void hw_comm_abort(int code);

/* y = the sum over the ranks of x (count floats; y may be x). */
void hw_all_reduce_sum(int64_t count, int ranks, const float *x, float *y);
/* x is [outer, chunk] on each rank; y is [outer, ranks, chunk]: block k of row o is x of rank
 * k, or with `rotate` of rank (own + k) mod ranks. */
void hw_all_gather(int64_t outer, int64_t chunk, int ranks, int rotate, const float *x,
                   float *y);
/* x is [outer, ranks, chunk] on each rank; y is [outer, chunk], the sum over the ranks q of
 * block k of x on q, for the k that names this rank (k = own rank, or with `rotate`
 * (own - q) mod ranks). */
void hw_reduce_scatter(int64_t outer, int64_t chunk, int ranks, int rotate, const float *x,
                       float *y);

#pragma clang assume_nonnull end
#endif
