/* Root ranges registered by the program (roots.c). */
#ifndef PREEMPT_ROOTS_H
#define PREEMPT_ROOTS_H

#include "common.h"
#include "visit.h"

void preempt_roots_visit(struct preempt_visitor *v) PREEMPT_HIDDEN;
/* Whether a registered range has this name (heap lock held). */
bool preempt_roots_named(const char *name) PREEMPT_HIDDEN;

#endif
