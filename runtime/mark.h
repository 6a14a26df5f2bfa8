/* Marking (mark.c): the mark stack and the marker visitor. */
#ifndef PREEMPT_MARK_H
#define PREEMPT_MARK_H

#include "common.h"
#include "visit.h"

/* The visitor that marks (what gc.c hands to every root source). */
extern struct preempt_visitor preempt_marker PREEMPT_HIDDEN;
void preempt_mark_drain(void) PREEMPT_HIDDEN;
/* Start of the allocated object containing v, or 0. */
uintptr_t preempt_object_base(uintptr_t v) PREEMPT_HIDDEN;

#endif
