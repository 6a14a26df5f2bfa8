/* Included by a malloc/free program built with -include leak_detector.h:
 * its allocations become collected objects checked for leaks
 * (GC_set_find_leak(1) is made at GC_INIT/first use by GC_FIND_LEAK=1 or
 * by the program). */
#ifndef GC_LEAK_DETECTOR_H
#define GC_LEAK_DETECTOR_H
#include <stdlib.h>
#include <string.h>
#define GC_DEBUG
#include "gc.h"
#undef malloc
#define malloc(n) GC_MALLOC(n)
#undef calloc
#define calloc(m, n) GC_MALLOC((m) * (n))
#undef free
#define free(p) GC_FREE(p)
#undef realloc
#define realloc(p, n) GC_REALLOC(p, n)
#undef strdup
#define strdup(s) GC_STRDUP(s)
#undef strndup
#define strndup(s, n) GC_STRNDUP(s, n)
#undef memalign
#define memalign(a, n) GC_memalign(a, n)
#undef posix_memalign
#define posix_memalign(p, a, n) GC_posix_memalign(p, a, n)
#ifndef CHECK_LEAKS
#define CHECK_LEAKS() GC_gcollect()
#endif
#endif
