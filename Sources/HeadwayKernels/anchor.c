/* The build plugin adds the generated C of graphs/ to this target; SwiftPM needs one source
 * file of its own here. */
#include "headway_program.h"
