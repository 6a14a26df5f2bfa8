/* Weak links and ephemerons (weak.c): what a collection does with them,
 * world stopped, heap lock held, m the marker. */
#ifndef PREEMPT_WEAK_H
#define PREEMPT_WEAK_H

#include "common.h"
#include "visit.h"

/* Marks the values of live ephemerons with live keys, to a fixpoint. */
void preempt_ephemerons_trace(struct preempt_visitor *m) PREEMPT_HIDDEN;
/* Clears the ephemerons whose key is dead; forgets dead ephemerons. */
void preempt_ephemerons_sweep(struct preempt_visitor *m) PREEMPT_HIDDEN;
/* Clears the short weak links (all: and the long ones) whose object is
 * unmarked, and forgets links whose slot is in a dead object. */
void preempt_weak_sweep(struct preempt_visitor *m, bool all) PREEMPT_HIDDEN;
/* Around fork (threads.c): a thread of the parent may be adding one. */
void preempt_ephemerons_fork_prepare(void) PREEMPT_HIDDEN;
void preempt_ephemerons_fork_done(void) PREEMPT_HIDDEN;

#endif
