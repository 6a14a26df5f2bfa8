/* The program's hooks (events.c): collection events, heap resizes,
 * warnings, fatal errors and running out of memory. */
#ifndef PREEMPT_EVENTS_H
#define PREEMPT_EVENTS_H

#include "common.h"

/* Tells the event hook, if one is set. */
void preempt_event(enum preempt_event ev, size_t value) PREEMPT_HIDDEN;
/* The warning or fatal hook's turn with msg; false if none is set. */
bool preempt_hook_warning(const char *msg) PREEMPT_HIDDEN;
bool preempt_hook_fatal(const char *msg) PREEMPT_HIDDEN;
/* The out-of-memory hook's answer for size, or NULL. */
void *preempt_hook_oom(size_t size) PREEMPT_HIDDEN;

#endif
