#ifndef HEADWAY_KERNELS_MODULE_H
#define HEADWAY_KERNELS_MODULE_H
/* The compiled programs of graphs/: the build plugin generates their C and HeadwayPrograms.h. */
#include "headway_program.h"
#include "HeadwayPrograms.h"
#endif
