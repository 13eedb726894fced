#ifndef HEADWAY_CZLIB_H
#define HEADWAY_CZLIB_H
// zlib, for reading the gzip-compressed IDX files Debian ships.
#include <zlib.h>
#endif
