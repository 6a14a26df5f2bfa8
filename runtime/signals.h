/* The stop signal (signals.c): installing the handler next to the
 * program's own, sending it, and the calls that would otherwise take it
 * away (sigaction, signal, sigprocmask, pthread_sigmask). */
#ifndef PREEMPT_SIGNAL_H
#define PREEMPT_SIGNAL_H

#include "common.h"

struct preempt_thread;

/* Installs the handler (once; asyncpreempt=0: never). */
void preempt_signal_init(void) PREEMPT_HIDDEN;
/* Around fork (threads.c). */
void preempt_signal_fork_prepare(void) PREEMPT_HIDDEN;
void preempt_signal_fork_done(void) PREEMPT_HIDDEN;
/* The stop signal's number, 0 when stopping is cooperative. */
int preempt_signal_number(void) PREEMPT_HIDDEN;
/* May the runtime use sig to stop threads? */
bool preempt_signal_allowed(int sig) PREEMPT_HIDDEN;
/* A thread attaching or detaching (the calling thread, t). */
void preempt_signal_attach(struct preempt_thread *t) PREEMPT_HIDDEN;
void preempt_signal_detach(struct preempt_thread *t) PREEMPT_HIDDEN;
/* In a forked child, whose only thread is self (or none attached). */
void preempt_signal_forked(struct preempt_thread *self) PREEMPT_HIDDEN;
/* Sends the stop signal to t.  false if the thread no longer exists. */
bool preempt_signal_send(struct preempt_thread *t) PREEMPT_HIDDEN;
bool preempt_signal_send_tid(long tid) PREEMPT_HIDDEN;
/* Sends the calling thread t the program's signals its handlers did not
 * take inside a runtime critical section. */
void preempt_signal_redeliver(struct preempt_thread *t) PREEMPT_HIDDEN;
/* Raises it on the calling thread (a deferred stop, now possible). */
void preempt_signal_self(void) PREEMPT_HIDDEN;
/* Blocks every signal but those of faults on the calling thread (a
 * sigset_t * to restore with preempt_signal_restore). */
void preempt_signal_block_all(void *old) PREEMPT_HIDDEN;
void preempt_signal_restore(const void *old) PREEMPT_HIDDEN;
/* Unblocks it on the calling thread (a new thread may have inherited a
 * mask set with a raw call). */
void preempt_signal_unblock(void) PREEMPT_HIDDEN;
/* At the end of attaching: a thread attached inside the program's handler
 * for the stop signal, which runs with it blocked, unblocks it. */
void preempt_signal_attached(struct preempt_thread *t) PREEMPT_HIDDEN;
/* Does the calling thread block the stop signal (behind the wrappers'
 * back: a sanitizer's raw mask call)? */
bool preempt_signal_blocked(void) PREEMPT_HIDDEN;
/* The real pthread_sigmask, for the runtime's own threads. */
int preempt_signal_real_mask(int how, const void *set, void *old) PREEMPT_HIDDEN;
/* The calling thread's signal stack, if sp is on it (also while a handler
 * runs on one set with SS_AUTODISARM). */
bool preempt_signal_stack(uintptr_t sp, uintptr_t *lo, uintptr_t *hi)
    PREEMPT_HIDDEN;
/* The dynamic linker's code, where a thread is never stopped (it may hold
 * the loader's lock, which scanning globals takes), and the C library's,
 * whose lock functions the dynamic linker calls with that lock held. */
bool preempt_signal_in_loader_text(uintptr_t pc) PREEMPT_HIDDEN;
bool preempt_signal_in_libc_text(uintptr_t pc) PREEMPT_HIDDEN;

#endif
