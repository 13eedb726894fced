#ifndef HEADWAY_PROCESS_H
#define HEADWAY_PROCESS_H
/*
 * A child process that must not outlive the process that started it (`headway sweep`'s train
 * and study children). prctl is variadic, so Swift cannot call it directly.
 */

/* Asks the kernel to send this process SIGKILL when its parent dies (PR_SET_PDEATHSIG), then
 * checks that the parent is still `parent`: returns 0 if so, 1 if the parent has already gone
 * (this process was re-parented before the request took effect), -1 if prctl failed (errno). */
int hw_stop_with_parent(int parent);

#endif
