/* Stopping the world: requesting a stop, parking, blocking regions, and
 * publishing a thread's roots.
 *
 * States (struct preempt_thread.state): RUNNING (user code; must stop for a
 * collection), BLOCKING (in a foreign call; its stack above saved_sp is
 * frozen and scanned conservatively), PARKED (stopped, roots published).
 *
 * Stopping is cooperative: the collector raises preempt_gc_waiting and
 * waits until no thread is RUNNING; a running thread notices at its next
 * allocation slow path, preempt_safepoint(), heap lock or exit_blocking.  A
 * thread leaving PARKED or BLOCKING stores RUNNING and then re-reads the
 * flag (both sequentially consistent), so either the collector sees it
 * running or it sees the collector and stays stopped.
 *
 * Every way of stopping goes through publish(): a thread scans its own
 * stack while still RUNNING, so the collector, which waits for it to leave
 * RUNNING, never frees or rebuilds what a scan is reading. */
#define _GNU_SOURCE
#include "registry.h"
#include "stack.h"
#include "stw.h"
#include "threads.h"

#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

pthread_mutex_t preempt_heap_lock = PTHREAD_MUTEX_INITIALIZER;
_Atomic int preempt_gc_waiting;
static _Atomic unsigned world_epoch; /* futex word: bumped on restart */

static void futex_wait(_Atomic unsigned *addr, unsigned val) {
  syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake_all(_Atomic unsigned *addr) {
  syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}

void preempt_stw_publish(struct preempt_thread *t, uintptr_t start_ip) {
  preempt_registry_sync();
  preempt_thread_tls_refresh(t);
  t->roots.len = 0;
  preempt_scan_own_stack(t, start_ip, &t->roots);
}

/* Leave a stopped state unless a collection is (still) running. */
static void resume(struct preempt_thread *t, int stopped_state) {
  for (;;) {
    unsigned epoch = atomic_load(&world_epoch);
    if (!atomic_load(&preempt_gc_waiting)) {
      atomic_store(&t->state, THREAD_RUNNING);
      if (!atomic_load(&preempt_gc_waiting)) {
        t->roots.len = 0;
        return;
      }
      atomic_store(&t->state, stopped_state);
    }
    futex_wait(&world_epoch, epoch);
  }
}

void preempt_park(uintptr_t start_ip) {
  struct preempt_thread *t = preempt_self;
  if (!t || !atomic_load(&preempt_gc_waiting))
    return;
  preempt_stw_publish(t, start_ip);
  atomic_store(&t->state, THREAD_PARKED);
  futex_wake_all(&world_epoch); /* the collector may be waiting */
  resume(t, THREAD_PARKED);
}

__attribute__((noinline)) void preempt_safepoint(void) {
  if (atomic_load_explicit(&preempt_gc_waiting, memory_order_relaxed))
    preempt_park((uintptr_t)__builtin_return_address(0));
}

/* Taking the heap lock is a safepoint: if another thread holds it (perhaps
 * to collect), publish our roots first so that it need not wait for us. */
void preempt_lock_heap(uintptr_t ip) {
  if (pthread_mutex_trylock(&preempt_heap_lock) == 0)
    return;
  struct preempt_thread *t = preempt_self;
  if (!t || atomic_load(&t->state) != THREAD_RUNNING) {
    pthread_mutex_lock(&preempt_heap_lock); /* not holding collections up */
    return;
  }
  preempt_stw_publish(t, ip);
  atomic_store(&t->state, THREAD_PARKED);
  futex_wake_all(&world_epoch);
  pthread_mutex_lock(&preempt_heap_lock);
  atomic_store(&t->state, THREAD_RUNNING);
  t->roots.len = 0;
}

void preempt_unlock_heap(void) { pthread_mutex_unlock(&preempt_heap_lock); }

/* Called with the registers and stack pointer of preempt_enter_blocking's
 * caller: what its frames hold while it blocks. */
__attribute__((used, visibility("hidden"))) void
preempt_stw_enter_blocking(const uintptr_t *regs, uintptr_t sp) {
  struct preempt_thread *t = preempt_thread_current();
  memcpy(t->saved_regs, regs, sizeof t->saved_regs);
  t->saved_sp = sp;
  preempt_stack_note_blocking(t);
  atomic_store(&t->state, THREAD_BLOCKING);
  futex_wake_all(&world_epoch);
}

__attribute__((naked)) void preempt_enter_blocking(void) {
  PREEMPT_ARCH_CALL_WITH_CALLER_CONTEXT(preempt_stw_enter_blocking);
}

void preempt_exit_blocking(void) {
  struct preempt_thread *t = preempt_self;
  if (t)
    resume(t, THREAD_BLOCKING);
}

/* Until stopping by signal lands, a thread that blocks outside
 * preempt_enter_blocking() holds collections up; say so rather than hang
 * silently. */
static void report_straggler(const struct preempt_thread *t, unsigned secs) {
  preempt_warn("collection waiting %u s for thread %lu, which has not reached "
               "a safepoint: wrap blocking calls (pthread_join, read, sleep...) "
               "in preempt_enter_blocking()/preempt_exit_blocking()",
               secs, (unsigned long)t->tid);
}

static void wait_stopped(struct preempt_thread *t, void *self) {
  if (t == self)
    return;
  unsigned spins = 0, waited_ms = 0;
  while (atomic_load(&t->state) == THREAD_RUNNING) {
    if (spins++ < 100) {
      sched_yield();
      continue;
    }
    struct timespec ts = {0, 100000};
    nanosleep(&ts, NULL);
    if (++waited_ms % 50000 == 0) /* every 5 s */
      report_straggler(t, waited_ms / 10000);
  }
}

void preempt_stop_world(void) {
  atomic_store(&preempt_gc_waiting, 1);
  preempt_threads_each(wait_stopped, preempt_self);
}

void preempt_start_world(void) {
  atomic_store(&preempt_gc_waiting, 0);
  atomic_fetch_add(&world_epoch, 1);
  futex_wake_all(&world_epoch);
}
