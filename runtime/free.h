/* Explicit free (free.c). */
#ifndef PREEMPT_FREE_H
#define PREEMPT_FREE_H

#include "common.h"

/* After marking, with the world stopped: the objects freed since the last
 * collection are unmarked, so that the sweep reclaims them. */
void preempt_free_apply(void) PREEMPT_HIDDEN;
/* Whether obj was freed since the last collection.  Heap lock held. */
bool preempt_freed(uintptr_t obj) PREEMPT_HIDDEN;

#endif
