/* Stopping the world (stw.c): parking, blocking regions, the heap lock
 * as a safepoint, publishing a thread's roots. */
#ifndef PREEMPT_STW_H
#define PREEMPT_STW_H

#include "common.h"

#include <pthread.h>

struct preempt_thread;

extern pthread_mutex_t preempt_heap_lock PREEMPT_HIDDEN;
extern _Atomic int preempt_gc_waiting PREEMPT_HIDDEN; /* stop requested */
/* Takes the heap lock; publishes the caller's roots first if it must wait
 * (ip: return address into the caller's code). */
void preempt_lock_heap(uintptr_t ip) PREEMPT_HIDDEN;
void preempt_unlock_heap(void) PREEMPT_HIDDEN;
/* Stop/start every other attached thread.  Caller holds the heap lock. */
void preempt_stop_world(void) PREEMPT_HIDDEN;
void preempt_start_world(void) PREEMPT_HIDDEN;
/* A running thread answers a stop request: publish roots, wait. */
void preempt_park(uintptr_t start_ip) PREEMPT_HIDDEN;
/* The calling thread's roots into t->roots, from the frame returning to
 * start_ip outwards. */
void preempt_stw_publish(struct preempt_thread *t, uintptr_t start_ip)
    PREEMPT_HIDDEN;

#endif
