/*
 * Stopping with the parent process: see headway_process.h.
 */
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "headway_process.h"

/* SIGKILL, not SIGTERM: a process started from a thread that blocks signals (Swift's
 * concurrency threads block them all, and a spawned child inherits the mask) would hold SIGTERM
 * pending forever. Nothing is lost: checkpoints are written to a temporary file and renamed. */
int hw_stop_with_parent(int parent) {
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return -1;
  /* After the request, so a parent that died before it is seen here instead. */
  return getppid() == parent ? 0 : 1;
}
