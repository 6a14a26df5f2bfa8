/* The blocking transitions of foreign calls and callbacks, on their fast
 * path (ffi_call.c, callback.c).
 *
 * stw.c's preempt_enter_blocking/exit_blocking do more than a foreign call
 * needs each time (errno, a shared counter that wakes a sleeping stopper,
 * waiting for a stop signal on its way); all of that only matters while a
 * stop is requested.  The protocol is stw.c's: a thread publishes its
 * state (preempt_stw_state_store) and then reads preempt__stop_requested,
 * which the stopper sets before it reads the states; if the thread sees
 * no request, the stopper will see the new state.  When it sees one, it
 * takes stw.c's own path (the slow functions), which does the rest. */
#ifndef PREEMPT_FFI_TRANSITION_H
#define PREEMPT_FFI_TRANSITION_H

#include "stw.h"
#include "threads.h"

/* Enters the blocking state as the blocking fields of t describe it
 * (saved_sp, saved_hi, saved_regs, off_stack, idle): counted as stopped,
 * waiting for a stop signal already sent. */
void preempt_ffi_block_slow(struct preempt_thread *t) PREEMPT_HIDDEN;
/* Leaves it while a stop is requested: waits until the world runs. */
void preempt_ffi_unblock_slow(struct preempt_thread *t) PREEMPT_HIDDEN;

static inline void preempt_ffi_block(struct preempt_thread *t) {
  preempt_stw_block_store(&t->state, THREAD_BLOCKING, &t->fenced);
  if (unlikely(atomic_load_explicit(&preempt__stop_requested, memory_order_acquire)))
    preempt_ffi_block_slow(t);
}

static inline void preempt_ffi_unblock(struct preempt_thread *t) {
  preempt_stw_state_store(&t->state, THREAD_RUNNING);
  if (unlikely(atomic_load_explicit(&preempt__stop_requested, memory_order_acquire)))
    preempt_ffi_unblock_slow(t);
}

#endif
