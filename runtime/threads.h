/* The thread registry (threads.c): attached threads, threads being
 * started, fork, and coroutine stacks. */
#ifndef PREEMPT_THREADS_H
#define PREEMPT_THREADS_H

#include "arch.h"
#include "common.h"
#include "malloc.h"
#include "stw.h"
#include "sysmem.h"
#include "visit.h"

#include <pthread.h>
#include <signal.h>

enum thread_state {
  THREAD_RUNNING = 0, /* running user code; must stop for a collection */
  THREAD_BLOCKING,    /* in a foreign call; stack frozen above saved_sp */
  THREAD_PARKED,      /* stopped, roots published */
};
struct preempt_thread {
  pthread_t id;
  long tid; /* kernel thread id, for messages */
  uintptr_t stack_lo, stack_hi; /* its own (pthread) stack */
  uintptr_t saved_sp, saved_hi; /* BLOCKING: the frozen part of its stack */
  bool off_stack;               /* BLOCKING on another stack than its own */
  uintptr_t saved_regs[PREEMPT_NUM_CALLEE_SAVED]; /* BLOCKING */
  struct preempt_fenced fenced; /* its fenced transitions (stw.h) */
  uintptr_t scan_sp;            /* PARKED: where its published scan began */
  struct preempt_vec roots;     /* values published when parked */
  struct preempt_vec frames;    /* (roots index, ip) of each frame, when
                                   preempt_stack_frames_wanted */
  struct preempt_vec tls;       /* (lo, hi) of its thread-local blocks */
  uint64_t tls_generation;      /* registry generation tls was read at */
  bool tls_missing;             /* some block not allocated when read */
  struct preempt_cache cache;
  struct preempt_thread *next;
  bool idle; /* BLOCKING with only runtime frames: nothing to scan */
  /* Stopping (stw.c, signals.c).  What the stopper and the thread's
   * handler both read and write during a stop is kept together: each line
   * they share is a transfer between CPUs on the way to a stop. */
  _Atomic int state;
  _Atomic int sig_pending; /* a stop signal sent, its handler not yet run */
  /* The state the stopper found it in (stw.c): how the collector scans it.
   * Until the world restarts it passes only through runtime code, which
   * may store RUNNING for a moment (leaving a blocking region, waking
   * from a stop) before it sees the stop and returns to that state. */
  int stopped_as;
  int no_preempt;          /* depth of runtime critical sections, plus
                              PREEMPT_DEFERRED when a stop waits for it */
  _Atomic int publishing;  /* stopped by signal, roots not yet published */
  _Atomic bool roots_valid; /* PARKED: roots holds what its stack holds */
  /* The last stop signal found it where it cannot stop (the dynamic
   * linker, an unsafe range): it will soon be out, so signal it again soon
   * rather than after an exponential backoff. */
  _Atomic bool retry_soon;
  unsigned signals_this_stop;
  /* Objects a runtime call was given and is about to record, while it
   * waits for the heap lock: the caller's frame may no longer hold them. */
  uintptr_t held[2];
  /* Pointer words of the foreign calls in progress (ffi_call.c), newest
   * first: the caller's frame may no longer hold them. */
  struct preempt_ffi_frame *ffi_frames;
  /* The program's signals that arrived inside a runtime critical section
   * (their handlers may use the heap): delivered again at its end. */
  uint64_t deferred_sigs;
  /* In the program's handler for the stop signal (signals.c): the frame
   * it runs below, or 0. */
  uintptr_t stop_handler_sp;
  /* The program's sends of the stop signal to this thread that its
   * handler has seen, or that a stop request swallowed (signals.c). */
  uint64_t program_sigs_seen;
  /* Its counts of those sends, by pthread_t and by thread id (sends.c;
   * NULL: none free). */
  struct preempt_sends *sends[2];
  siginfo_t deferred_info[64];
};
#define PREEMPT_DEFERRED 0x10000
/* On the stack of preempt_ffi_call: pushed and popped by its thread only,
 * read by a collector while the thread is stopped or blocking. */
struct preempt_ffi_frame {
  struct preempt_ffi_frame *prev;
  size_t n;
  const uintptr_t *words;
};

/* initial-exec: one instruction to reach, also in libpreempt.so. */
extern __thread struct preempt_thread *preempt_self PREEMPT_HIDDEN
    __attribute__((tls_model("initial-exec")));
struct preempt_thread *preempt_thread_current(void) PREEMPT_HIDDEN;

/* Runtime critical sections: code that holds a runtime lock or changes
 * the thread's allocation state must not be stopped by a signal.  A stop
 * that arrives meanwhile is deferred to the section's end. */
static inline void preempt_nopreempt_enter(struct preempt_thread *t) {
  if (t)
    PREEMPT_ARCH_SIGSAFE_INC(&t->no_preempt);
}
void preempt_nopreempt_deferred(struct preempt_thread *t) PREEMPT_HIDDEN;
/* The same, returning p (for tail calls on the allocation fast path). */
void *preempt_nopreempt_deferred_ret(struct preempt_thread *t, void *p)
    PREEMPT_HIDDEN;
static inline void preempt_nopreempt_exit(struct preempt_thread *t) {
  if (t && unlikely(PREEMPT_ARCH_SIGSAFE_DEC_NONZERO(&t->no_preempt)))
    preempt_nopreempt_deferred(t);
}
/* Around a runtime lock, for the calling thread (which may attach while
 * holding it: leaving a section it never entered does nothing). */
static inline void preempt_nopreempt_begin(void) {
  preempt_nopreempt_enter(preempt_self);
}
static inline void preempt_nopreempt_end(void) {
  struct preempt_thread *t = preempt_self;
  if (t && (t->no_preempt & (PREEMPT_DEFERRED - 1)))
    preempt_nopreempt_exit(t);
}
void preempt_threads_each(void (*fn)(struct preempt_thread *, void *),
                          void *arg) PREEMPT_HIDDEN;
void preempt_threads_init(void) PREEMPT_HIDDEN;
/* A thread of the runtime's own that is never attached (nor stopped). */
int preempt_thread_create_unattached(pthread_t *th, void *(*fn)(void *),
                                     void *arg) PREEMPT_HIDDEN;
/* The registered (coroutine) stack containing sp. */
bool preempt_registered_stack(uintptr_t sp, uintptr_t *lo, uintptr_t *hi)
    PREEMPT_HIDDEN;
/* Each thread's roots (published ones if it is stopped, its frozen stack
 * if it is blocking, its thread-local blocks), arguments of threads being
 * started, and the registered stacks no thread is on.  World stopped. */
void preempt_threads_visit(struct preempt_visitor *v) PREEMPT_HIDDEN;

#endif
