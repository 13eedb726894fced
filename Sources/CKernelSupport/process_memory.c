/*
 * What malloc holds, for the test that a training step after the first allocates nothing.
 */
#include <malloc.h>

#include "headway_conv.h"

size_t hw_malloc_held_bytes(void) {
  struct mallinfo2 info = mallinfo2();
  return info.arena + info.hblkhd; /* heap arenas and mmapped blocks */
}
