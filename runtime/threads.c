/* The thread registry and stopping the world.
 *
 * Each attached thread has a record in OS memory (never in the GC heap).
 * States: RUNNING (user code; must stop for a collection), BLOCKING (in a
 * foreign call; its stack above saved_sp is frozen and scanned
 * conservatively), PARKED (stopped at a safepoint, its roots published).
 *
 * Stopping is cooperative for now: the collector raises preempt_gc_waiting
 * and waits until no thread is RUNNING; a running thread notices at its
 * next allocation slow path, preempt_safepoint(), heap lock or
 * exit_blocking.  A thread leaving PARKED or BLOCKING stores RUNNING and
 * then re-reads the flag (both sequentially consistent), so either the
 * collector sees it running or it sees the collector and stays stopped.
 *
 * The walker, the registry and these records are read by stopped threads
 * and the collector without locks, which is what the signal-based stop
 * (next step) needs. */
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

__thread struct preempt_thread *preempt_self
    __attribute__((tls_model("initial-exec")));
pthread_mutex_t preempt_heap_lock = PTHREAD_MUTEX_INITIALIZER;
_Atomic int preempt_gc_waiting;

static struct preempt_thread *threads; /* under the heap lock */
static _Atomic unsigned world_epoch;    /* futex word: bumped on restart */
static pthread_key_t exit_key;

static void futex_wait(_Atomic unsigned *addr, unsigned val) {
  syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake_all(_Atomic unsigned *addr) {
  syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}

static void stack_bounds(struct preempt_thread *t) {
  pthread_attr_t attr;
  void *addr;
  size_t size;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
      t->stack_lo = (uintptr_t)addr;
      t->stack_hi = (uintptr_t)addr + size;
    }
    pthread_attr_destroy(&attr);
  }
  if (!t->stack_hi)
    preempt_fatal("cannot find the bounds of this thread's stack");
}

static void on_thread_exit(void *arg) {
  (void)arg;
  preempt_thread_detach();
}

struct preempt_thread *preempt_thread_current(void) {
  if (likely(preempt_self))
    return preempt_self;
  preempt_thread_attach();
  return preempt_self;
}

__attribute__((noinline)) void preempt_thread_attach(void) {
  if (preempt_self)
    return;
  preempt_init();
  struct preempt_thread *t = preempt_sys_alloc(sizeof *t);
  if (!t)
    preempt_fatal("out of memory attaching a thread");
  t->id = pthread_self();
  t->tid = (long)syscall(SYS_gettid);
  stack_bounds(t);
  /* Count as blocking until registered: a collection may be running. */
  atomic_store(&t->state, THREAD_BLOCKING);
  t->saved_sp = t->stack_hi; /* nothing of ours on the stack yet */
  pthread_mutex_lock(&preempt_heap_lock);
  t->next = threads;
  threads = t;
  pthread_mutex_unlock(&preempt_heap_lock);
  preempt_self = t;
  preempt_thread_tls_refresh(t);
  pthread_setspecific(exit_key, t);
  preempt_exit_blocking();
}

void preempt_thread_detach(void) {
  struct preempt_thread *t = preempt_self;
  if (!t)
    return;
  /* Blocking, so that a collection running now need not wait for us. */
  preempt_enter_blocking();
  pthread_mutex_lock(&preempt_heap_lock);
  preempt_cache_flush(&t->cache);
  for (struct preempt_thread **p = &threads; *p; p = &(*p)->next)
    if (*p == t) {
      *p = t->next;
      break;
    }
  pthread_mutex_unlock(&preempt_heap_lock);
  pthread_setspecific(exit_key, NULL);
  preempt_self = NULL;
  preempt_vec_free(&t->roots);
  preempt_vec_free(&t->tls);
  preempt_sys_free(t, sizeof *t);
}

/* fork() copies only the calling thread: the child forgets the others
 * (a collection would wait for them forever).  The heap lock is held
 * across the fork so that no other thread is mid-allocation. */
static void before_fork(void) { pthread_mutex_lock(&preempt_heap_lock); }
static void after_fork_parent(void) { pthread_mutex_unlock(&preempt_heap_lock); }
static void after_fork_child(void) {
  struct preempt_thread *self = preempt_self, **p = &threads;
  while (*p) {
    struct preempt_thread *t = *p;
    if (t == self) {
      p = &t->next;
      continue;
    }
    *p = t->next;
    preempt_vec_free(&t->roots);
    preempt_vec_free(&t->tls);
    preempt_sys_free(t, sizeof *t);
  }
  preempt_finalizers_after_fork();
  pthread_mutex_unlock(&preempt_heap_lock);
}

void preempt_threads_init(void) {
  if (pthread_key_create(&exit_key, on_thread_exit))
    preempt_fatal("pthread_key_create failed");
  pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

void preempt_threads_each(void (*fn)(struct preempt_thread *, void *),
                          void *arg) {
  for (struct preempt_thread *t = threads; t; t = t->next)
    fn(t, arg);
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
  preempt_thread_tls_refresh(t);
  t->roots.len = 0;
  preempt_scan_own_stack(t, start_ip, &t->roots);
  atomic_store(&t->state, THREAD_PARKED);
  futex_wake_all(&world_epoch); /* the collector may be waiting */
  resume(t, THREAD_PARKED);
}

__attribute__((noinline)) void preempt_safepoint(void) {
  if (atomic_load_explicit(&preempt_gc_waiting, memory_order_relaxed))
    preempt_park((uintptr_t)__builtin_return_address(0));
}

__attribute__((noinline)) void preempt_enter_blocking(void) {
  struct preempt_thread *t = preempt_thread_current();
  t->saved_sp = preempt_arch_save_context(t->saved_regs);
  atomic_store(&t->state, THREAD_BLOCKING);
  futex_wake_all(&world_epoch);
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

void preempt_stop_world(void) {
  struct preempt_thread *self = preempt_self;
  atomic_store(&preempt_gc_waiting, 1);
  for (struct preempt_thread *t = threads; t; t = t->next) {
    if (t == self)
      continue;
    /* Wait for the thread to reach a safepoint. */
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
}

void preempt_start_world(void) {
  atomic_store(&preempt_gc_waiting, 0);
  atomic_fetch_add(&world_epoch, 1);
  futex_wake_all(&world_epoch);
}
