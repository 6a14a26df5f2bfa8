/* Programs include <gc.h> or <gc/gc.h>: both are preempt's (gc/gc.h). */
#include "gc/gc.h"
