/* The poll flags of code built with -fplugin-arg-preempt-polls (polls.c):
 * one per linked object, set while a stop is requested. */
#ifndef PREEMPT_POLLS_H
#define PREEMPT_POLLS_H

#include "common.h"

/* Every registered flag to value (1 when a stop is requested, 0 when it
 * is over).  Called by the stopper, right after it changes
 * preempt__stop_requested; stops and starts do not overlap (heap lock). */
void preempt_polls_set(int value) PREEMPT_HIDDEN;

/* Called by the constructor and destructor the plugin adds to each linked
 * object with polls (weak references: that code runs without the runtime
 * too).  Any thread, at any time, before preempt_init too. */
PREEMPT_API void preempt__poll_register(_Atomic int *flag);
PREEMPT_API void preempt__poll_unregister(_Atomic int *flag);

#endif
