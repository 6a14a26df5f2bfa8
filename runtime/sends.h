/* The program's own sends of the stop signal to attached threads
 * (sends.c), counted per target so that a stop request that swallowed one
 * can pass it on (signals.c). */
#ifndef PREEMPT_SENDS_H
#define PREEMPT_SENDS_H

#include "common.h"

struct preempt_thread;
struct preempt_sends; /* one target's count */

/* How a sender names its target. */
enum preempt_sends_by { PREEMPT_SENDS_BY_HANDLE, PREEMPT_SENDS_BY_TID };

/* t (attaching or detaching) takes or gives back its counts under its
 * pthread_t and its thread id. */
void preempt_sends_claim(struct preempt_thread *t) PREEMPT_HIDDEN;
void preempt_sends_release(struct preempt_thread *t) PREEMPT_HIDDEN;
/* In a forked child: only self is left, under a new thread id. */
void preempt_sends_forked(struct preempt_thread *self) PREEMPT_HIDDEN;
/* Around one send to the thread a sender names by key: NULL (nothing to
 * end) if no attached thread has that name. */
struct preempt_sends *preempt_sends_begin(enum preempt_sends_by by,
                                          uintptr_t key) PREEMPT_HIDDEN;
void preempt_sends_end(struct preempt_sends *s) PREEMPT_HIDDEN;
/* The sends to t that reached the kernel, once those under way have. */
uint64_t preempt_sends_to(const struct preempt_thread *t) PREEMPT_HIDDEN;

#endif
