/* Allocation (malloc.c): size classes, per-thread caches, the central
 * lists of spans with free slots. */
#ifndef PREEMPT_MALLOC_H
#define PREEMPT_MALLOC_H

#include "common.h"
#include "heap.h"

#define PREEMPT_NUM_CLASSES 48
#define PREEMPT_MAX_SMALL 32768 /* larger objects get spans of their own */
struct preempt_cache {
  struct preempt_span *span[PREEMPT_NUM_CLASSES][2]; /* [class][noscan] */
  uint64_t bits[PREEMPT_NUM_CLASSES][2]; /* free-slot bits at freeindex */
};
void preempt_cache_flush(struct preempt_cache *c) PREEMPT_HIDDEN;
void preempt_malloc_init(void) PREEMPT_HIDDEN;
void preempt_central_reset(void) PREEMPT_HIDDEN;        /* before sweep */
void preempt_central_add(struct preempt_span *s) PREEMPT_HIDDEN; /* after */

#endif
