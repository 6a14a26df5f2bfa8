/* Stopping the world (stw.c): stop requests by signal or at safepoints,
 * parking, blocking regions, the heap lock as a safepoint, publishing a
 * thread's roots, and the public stop-the-world API. */
#ifndef PREEMPT_STW_H
#define PREEMPT_STW_H

#include "arch.h"
#include "common.h"

#include <pthread.h>

struct preempt_thread;

extern pthread_mutex_t preempt_heap_lock PREEMPT_HIDDEN;
/* A stop is requested: every thread must stop.  Exported (the plugin's
 * polls at the end of unsafe ranges read it). */
extern _Atomic int preempt__stop_requested PREEMPT_API;

/* A thread changing its state and then reading preempt__stop_requested,
 * and the stopper setting that and then reading the states, must not both
 * read the old value: both sides fence.  Once preempt_stw_asymmetric is
 * set, the stopper runs a process-wide barrier (membarrier) instead and a
 * thread's side needs no fence: a blocking transition costs a few
 * nanoseconds instead of two locked instructions, and every stop one
 * interrupt of each CPU running a thread of the program (on a VM as slow
 * as the stop signal itself).  PREEMPT=membarrier=1 sets it at start-up;
 * by default (auto) the first thread found making more than one fenced
 * transition per microsecond sets it, for good (stw.c: switching back
 * would need a grace period for threads that read the old mode). */
extern _Atomic bool preempt_stw_asymmetric PREEMPT_HIDDEN;
void preempt_stw_init(void) PREEMPT_HIDDEN;
/* Fenced transitions into BLOCKING a thread may make before it checks how
 * fast it makes them. */
#define PREEMPT_FENCED_BATCH 16384u
struct preempt_fenced {
  unsigned left; /* until the next check */
  uint64_t since; /* when the last batch began (ns; 0: never checked) */
};
/* Seconds after start-up at which transitions became fence-free; -1: not. */
double preempt_stw_fence_free_since(void) PREEMPT_HIDDEN;
/* A batch of fenced transitions is over: switch if it was fast. */
void preempt_stw_fenced_batch(struct preempt_fenced *f) PREEMPT_HIDDEN;
/* Stores a thread's new state, fenced unless asymmetric. */
static inline void preempt_stw_store_as(bool asymmetric, _Atomic int *state,
                                        int value) {
  if (__builtin_expect(asymmetric, 1)) {
    atomic_store_explicit(state, value, memory_order_release);
    atomic_signal_fence(memory_order_seq_cst);
  } else {
    atomic_store(state, value);
  }
}
static inline void preempt_stw_state_store(_Atomic int *state, int value) {
  preempt_stw_store_as(
      atomic_load_explicit(&preempt_stw_asymmetric, memory_order_relaxed),
      state, value);
}
/* The same for a thread entering BLOCKING, which counts the fenced ones. */
static inline void preempt_stw_block_store(_Atomic int *state, int value,
                                           struct preempt_fenced *f) {
  bool asymmetric =
      atomic_load_explicit(&preempt_stw_asymmetric, memory_order_relaxed);
  preempt_stw_store_as(asymmetric, state, value);
  if (__builtin_expect(!asymmetric && --f->left == 0, 0))
    preempt_stw_fenced_batch(f);
}
/* Takes the heap lock; publishes the caller's roots first if it must wait
 * (ip: return address into the caller's code).  Holding it is a runtime
 * critical section: no signal stops the thread meanwhile. */
void preempt_lock_heap(uintptr_t ip) PREEMPT_HIDDEN;
/* The same for a runtime call given heap objects a and b, which may be
 * dead in its caller: they are roots while it waits for the lock. */
void preempt_lock_heap_holding(uintptr_t ip, const void *a, const void *b)
    PREEMPT_HIDDEN;
void preempt_unlock_heap(void) PREEMPT_HIDDEN;
/* In a forked child: the thread starving for the heap lock is gone. */
void preempt_stw_fork_child(void) PREEMPT_HIDDEN;
/* Does this thread hold the heap lock (a stop or preempt_lock of its own)? */
bool preempt_heap_locked_here(void) PREEMPT_HIDDEN;
/* Stop/start every other attached thread.  Caller holds the heap lock.
 * With roots, also wait until each stopped thread has published its
 * roots (a collection needs them; a stop for a tool may not). */
void preempt_stop_world(const char *reason, bool roots) PREEMPT_HIDDEN;
void preempt_start_world(void) PREEMPT_HIDDEN;
/* Has any thread ever been stopped?  (The stop signal is fixed then.) */
bool preempt_stw_stops_begun(void) PREEMPT_HIDDEN;
/* A running thread answers a stop request: publish roots, wait. */
void preempt_park(uintptr_t start_ip) PREEMPT_HIDDEN;
/* The calling thread's roots into t->roots, from the frame returning to
 * start_ip outwards. */
void preempt_stw_publish(struct preempt_thread *t, uintptr_t start_ip)
    PREEMPT_HIDDEN;
/* The stop signal arrived on thread t, interrupted at context uc. */
void preempt_stw_on_signal(struct preempt_thread *t, void *uc) PREEMPT_HIDDEN;

/* A handler of the program's runs on a thread in a blocking region: it
 * leaves the region first (enter: false if the thread was not in one) and
 * enters it again, as it was, afterwards. */
struct preempt_blocking_save {
  uintptr_t regs[PREEMPT_NUM_CALLEE_SAVED];
  uintptr_t sp, hi;
  bool off_stack, idle;
};
bool preempt_stw_handler_enter(struct preempt_thread *t,
                               struct preempt_blocking_save *s) PREEMPT_HIDDEN;
void preempt_stw_handler_leave(struct preempt_thread *t,
                               const struct preempt_blocking_save *s)
    PREEMPT_HIDDEN;

/* stw_stats.c: time-to-stop and stopped time per reason. */
void preempt_stw_stats_record(const char *reason, uint64_t ttsp_ns,
                              unsigned signals, unsigned resignalled,
                              uint64_t stopped_ns) PREEMPT_HIDDEN;

/* stwcheck.c: PREEMPT=stwcheck=1 watches stops made with the API. */
void preempt_stwcheck_arm(long holder, const char *reason) PREEMPT_HIDDEN;
void preempt_stwcheck_disarm(void) PREEMPT_HIDDEN;
/* In the signal handler: if the watchdog asked this thread where it is,
 * print its stack. */
void preempt_stwcheck_on_signal(void) PREEMPT_HIDDEN;

#endif
