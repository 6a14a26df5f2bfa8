/* Finalizers (finalizer.c) and the thread that runs them. */
#ifndef PREEMPT_FINALIZER_H
#define PREEMPT_FINALIZER_H

#include "common.h"
#include "visit.h"

/* What finalizable objects point to, and their args: kept alive. */
void preempt_finalizers_visit_referents(struct preempt_visitor *v) PREEMPT_HIDDEN;
/* Queued objects and args, until their finalizer has run. */
void preempt_finalizers_visit_queue(struct preempt_visitor *v) PREEMPT_HIDDEN;
/* After marking: queues the finalizers of objects v has not reached, and
 * hands those objects to v (they live until finalized). */
void preempt_finalizers_queue_unreachable(struct preempt_visitor *v) PREEMPT_HIDDEN;
void preempt_finalizers_wake(void) PREEMPT_HIDDEN; /* starts the thread */
/* Drops obj's finalizer, if any (an explicit free).  Heap lock held. */
void preempt_finalizers_forget(uintptr_t obj) PREEMPT_HIDDEN;
void preempt_finalizers_after_fork(void) PREEMPT_HIDDEN;

#endif
