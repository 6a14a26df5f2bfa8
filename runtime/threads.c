/* The thread registry: attaching and detaching threads, threads started
 * with a heap object as their argument, fork, and the stacks other than a
 * thread's own that code may run on (coroutines).
 *
 * Each attached thread has a record in OS memory (never in the GC heap).
 * Stopping them is stw.c's job. */
#define _GNU_SOURCE
#include "finalizer.h"
#include "gc.h"
#include "heap.h"
#include "layout.h"
#include "options.h"
#include "registry.h"
#include "signals.h"
#include "snapshot_format.h"
#include "stack.h"
#include "stw.h"
#include "sysmem.h"
#include "threads.h"
#include "types.h"
#include "weak.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

__thread struct preempt_thread *preempt_self
    __attribute__((tls_model("initial-exec")));

static struct preempt_thread *threads; /* under the heap lock */

/* Stacks other than the threads' own (coroutines). */
struct stack_range {
  uintptr_t lo, hi;
};
static struct stack_range *stacks;
static size_t nstacks, stacks_cap;
static pthread_mutex_t stacks_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t exit_key;

/* This thread's stack as its creator found it, when it could not ask
 * itself (see give_bounds below). */
static __thread uintptr_t given_lo, given_hi
    __attribute__((tls_model("initial-exec")));

static void stack_bounds(struct preempt_thread *t) {
  pthread_attr_t attr;
  void *addr;
  size_t size;
  if (given_hi) {
    t->stack_lo = given_lo;
    t->stack_hi = given_hi;
    given_lo = given_hi = 0;
  } else if (pthread_getattr_np(pthread_self(), &attr) == 0) {
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
  /* A handler of the program's that allocates must not attach the thread
   * a second time while this attaches it (two records, one never
   * detached, and every later stop waits for it): signals wait. */
  sigset_t mask;
  preempt_signal_block_all(&mask);
  struct preempt_thread *t = preempt_sys_alloc(sizeof *t);
  if (!t)
    preempt_fatal("out of memory attaching a thread");
  t->id = pthread_self();
  t->tid = (long)syscall(SYS_gettid);
  t->fenced.left = PREEMPT_FENCED_BATCH;
  stack_bounds(t);
  preempt_signal_attach(t);
  /* Count as blocking until registered: a collection may be running. */
  atomic_store(&t->state, THREAD_BLOCKING);
  t->saved_sp = t->saved_hi = t->stack_hi; /* nothing of ours on it yet */
  preempt_lock_heap(0);
  t->next = threads;
  threads = t;
  preempt_unlock_heap();
  preempt_self = t;
  preempt_thread_tls_refresh(t);
  pthread_setspecific(exit_key, t);
  preempt_exit_blocking();
  preempt_signal_restore(&mask);
  preempt_signal_attached(t);
}

int preempt_thread_attached(void) { return preempt_self != NULL; }

static void thread_free(struct preempt_thread *t) {
  preempt_vec_free(&t->roots);
  preempt_vec_free(&t->frames);
  preempt_vec_free(&t->tls);
  preempt_sys_free(t, sizeof *t);
}

void preempt_thread_detach(void) {
  struct preempt_thread *t = preempt_self;
  if (!t)
    return;
  /* Blocking, so that a collection running now need not wait for us. */
  preempt_enter_blocking();
  preempt_lock_heap(0);
  preempt_cache_flush(&t->cache);
  for (struct preempt_thread **p = &threads; *p; p = &(*p)->next)
    if (*p == t) {
      *p = t->next;
      break;
    }
  preempt_unlock_heap();
  pthread_setspecific(exit_key, NULL);
  preempt_self = NULL;
  preempt_signal_detach(t);
  thread_free(t);
}

void preempt_threads_each(void (*fn)(struct preempt_thread *, void *),
                          void *arg) {
  for (struct preempt_thread *t = threads; t; t = t->next)
    fn(t, arg);
}

/* ---- roots of threads ------------------------------------------------- */

/* Published values, each frame's labelled when a snapshot asked for them. */
static void visit_published(struct preempt_thread *t, struct preempt_visitor *v) {
  const struct preempt_vec *f = &t->frames;
  size_t next = 0;
  preempt_visit_label(v, PREEMPT_ROOT_REGISTER, t->tid, 0);
  for (size_t i = 0; i < t->roots.len; i++) {
    for (; v->label && next + 1 < f->len && f->data[next] <= i; next += 2)
      preempt_visit_label(v, PREEMPT_ROOT_STACK, t->tid, f->data[next + 1]);
    v->value(v, t->roots.data[i]);
  }
}

static void visit_thread(struct preempt_thread *t, struct preempt_visitor *v) {
  preempt_visit_label(v, PREEMPT_ROOT_TLS, t->tid, 0);
  for (size_t i = 0; i + 1 < t->tls.len; i += 2)
    v->range(v, (void *)t->tls.data[i], (void *)t->tls.data[i + 1]);
  preempt_visit_label(v, PREEMPT_ROOT_RUNTIME, t->tid, 0);
  for (int i = 0; i < 2; i++)
    v->value(v, t->held[i]);
  for (const struct preempt_ffi_frame *f = t->ffi_frames; f; f = f->prev)
    for (size_t i = 0; i < f->n; i++)
      v->value(v, f->words[i]);
  int state = t->stopped_as;
  if (state == THREAD_BLOCKING && t->idle)
    return;
  if (state == THREAD_BLOCKING) {
    /* Frozen in a foreign call: conservative from its stack pointer (and
     * its own stack whole if it blocked on another one). */
    preempt_visit_label(v, PREEMPT_ROOT_REGISTER, t->tid, 0);
    for (int i = 0; i < PREEMPT_NUM_CALLEE_SAVED; i++)
      v->value(v, t->saved_regs[i]);
    preempt_visit_label(v, PREEMPT_ROOT_STACK, t->tid, 0);
    if (t->saved_sp < t->saved_hi)
      v->range(v, (void *)t->saved_sp, (void *)t->saved_hi);
    if (t->off_stack)
      v->range(v, (void *)preempt_stack_mapped_lo(t), (void *)t->stack_hi);
    return;
  }
  visit_published(t, v);
}

static bool stack_in_use(uintptr_t lo, uintptr_t hi);
static void visit_starting(struct preempt_visitor *v);
static void visit_results(struct preempt_visitor *v);

void preempt_threads_visit(struct preempt_visitor *v) {
  for (struct preempt_thread *t = threads; t; t = t->next)
    visit_thread(t, v);
  visit_starting(v);
  visit_results(v);
  /* A registered (coroutine) stack is scanned whole unless a thread is on
   * it, in which case that thread's scan covered it. */
  pthread_mutex_lock(&stacks_lock);
  for (size_t i = 0; i < nstacks; i++)
    if (!stack_in_use(stacks[i].lo, stacks[i].hi))
      v->range(v, (void *)stacks[i].lo, (void *)stacks[i].hi);
  pthread_mutex_unlock(&stacks_lock);
}

/* ---- threads started by pthread_create ------------------------------- *
 * pthread_create is wrapped, for every caller (code built with the plugin
 * or not, libraries' thread pools): the new thread attaches before its
 * start routine's first instruction, so it is stopped and scanned like any
 * other from then on.  When its argument points into the heap, the object
 * is a root until the thread holds it (before, it is in no stack the
 * collector knows). */

struct start {
  void *(*fn)(void *);
  void *arg;
  bool listed; /* on the starting list: arg is a heap object */
  struct start *next, **prev;
  _Atomic int bounds_given; /* give_bounds */
  uintptr_t lo, hi;
};
static struct start *starting; /* under the heap lock */

static void starting_unlist(struct start *s, uintptr_t ip) {
  if (!s->listed)
    return;
  preempt_lock_heap(ip);
  *s->prev = s->next;
  if (s->next)
    s->next->prev = s->prev;
  preempt_unlock_heap();
}

static void visit_starting(struct preempt_visitor *v) {
  for (struct start *s = starting; s; s = s->next)
    v->value(v, (uintptr_t)s->arg);
}

/* Under AddressSanitizer a new thread's runtime code runs before the
 * sanitizer's own thread start (which wraps fn), and two things differ:
 * - In a forked child glibc reuses a dead thread's stack whose shadow
 *   still marks old frames' redzones, and our first stack read would be
 *   reported: the stack's shadow is cleared first.
 * - An allocation there takes the sanitizer's fallback lock, which its
 *   fork handler does not take: pthread_getattr_np (which allocates) in a
 *   thread starting as another forked left the child's lock held for
 *   ever.  So the creator, whose allocations are safe, asks for the new
 *   thread's stack bounds and hands them over; the thread waits for them
 *   (the sanitizer's start waits for the creator anyway). */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define BOUNDS_FROM_CREATOR 1
#endif
#endif

__attribute__((unused)) static void give_bounds(struct start *s, pthread_t th) {
#ifdef BOUNDS_FROM_CREATOR
  pthread_attr_t a;
  void *lo;
  size_t size;
  if (pthread_getattr_np(th, &a) == 0) {
    if (!pthread_attr_getstack(&a, &lo, &size)) {
      s->lo = (uintptr_t)lo;
      s->hi = (uintptr_t)lo + size;
    }
    pthread_attr_destroy(&a);
  }
  atomic_store(&s->bounds_given, 1); /* s is the new thread's from here */
#else
  (void)s, (void)th;
#endif
}

__attribute__((unused)) static void take_bounds(struct start *s) {
#ifdef BOUNDS_FROM_CREATOR
  while (!atomic_load(&s->bounds_given))
    sched_yield();
  given_lo = s->lo;
  given_hi = s->hi;
  if (given_hi)
    __asan_unpoison_memory_region((void *)given_lo, given_hi - given_lo);
#else
  (void)s;
#endif
}

/* ---- a finished thread's result ------------------------------------ *
 * What a thread returns, or gives pthread_exit, waits in the C library's
 * descriptor (which no scan covers) until pthread_join hands it over: a
 * heap object there is a root until the thread is joined or detached. */
struct result {
  pthread_t th;
  void *value;
  struct result *next;
};
static struct result *results; /* under the heap lock */

static bool joinable(void) {
  pthread_attr_t a;
  int state = PTHREAD_CREATE_DETACHED;
  if (pthread_getattr_np(pthread_self(), &a) == 0) {
    pthread_attr_getdetachstate(&a, &state);
    pthread_attr_destroy(&a);
  }
  return state == PTHREAD_CREATE_JOINABLE;
}

/* A thread detached between joinable() and the listing leaves its entry
 * behind (one object kept until the process exits), never a freed one. */
static void keep_result(void *value, uintptr_t ip) {
  if (!preempt_in_heap((uintptr_t)value) || !joinable())
    return;
  struct result *r = preempt_sys_alloc(sizeof *r);
  if (!r)
    preempt_fatal("out of memory keeping a thread's result for pthread_join");
  r->th = pthread_self();
  r->value = value;
  preempt_thread_current();
  preempt_lock_heap_holding(ip, value, NULL);
  r->next = results;
  __atomic_store_n(&results, r, __ATOMIC_RELAXED);
  preempt_unlock_heap();
}

/* After the join (the result is the joiner's now) or a detach.  The
 * entry, listed before the thread ended, is seen here without the lock
 * when the list is empty. */
static void drop_result(pthread_t th, uintptr_t ip) {
  if (!__atomic_load_n(&results, __ATOMIC_RELAXED))
    return;
  struct result *found = NULL;
  preempt_lock_heap(ip);
  for (struct result **p = &results, *r; (r = *p); p = &r->next)
    if (pthread_equal(r->th, th)) {
      __atomic_store_n(p, r->next, __ATOMIC_RELAXED);
      found = r;
      break;
    }
  preempt_unlock_heap();
  if (found)
    preempt_sys_free(found, sizeof *found);
}

static void visit_results(struct preempt_visitor *v) {
  for (struct result *r = results; r; r = r->next)
    v->value(v, (uintptr_t)r->value);
}

__attribute__((visibility("default"), noreturn)) void pthread_exit(void *value) {
  static __typeof__(pthread_exit) *_Atomic real;
  if (!real)
    real = (__typeof__(pthread_exit) *)preempt_libc_symbol("pthread_exit");
  keep_result(value, (uintptr_t)__builtin_return_address(0));
  real(value);
}

#define JOIN_CALL(name, params, args)                                          \
  __attribute__((visibility("default"))) int name params {                     \
    static __typeof__(name) *_Atomic real;                                     \
    if (!real)                                                                 \
      real = (__typeof__(name) *)preempt_libc_symbol(#name);                   \
    int r = real args;                                                         \
    if (r == 0)                                                                \
      drop_result(th, (uintptr_t)__builtin_return_address(0));                 \
    return r;                                                                  \
  }
JOIN_CALL(pthread_join, (pthread_t th, void **ret), (th, ret))
JOIN_CALL(pthread_tryjoin_np, (pthread_t th, void **ret), (th, ret))
JOIN_CALL(pthread_timedjoin_np,
          (pthread_t th, void **ret, const struct timespec *abstime),
          (th, ret, abstime))
JOIN_CALL(pthread_clockjoin_np,
          (pthread_t th, void **ret, clockid_t clock,
           const struct timespec *abstime),
          (th, ret, clock, abstime))
JOIN_CALL(pthread_detach, (pthread_t th), (th))

__attribute__((unused)) static void *start_attached(void *p) {
  struct start *s = p;
  take_bounds(s);
  /* A creator may block every signal around pthread_create with a raw
   * call (AddressSanitizer's wrapper does, until its own start routine has
   * waited for the creator): the new thread could never be stopped. */
  preempt_signal_unblock();
  /* Stopped only at safepoints (asyncpreempt=0), a thread that never uses
   * the heap would hold every stop up while it blocks: it attaches at its
   * first runtime call instead, unless it holds a heap argument. */
  if (preempt_opts.async_preempt || s->listed)
    preempt_thread_attach();
  void *(*fn)(void *) = s->fn;
  void *volatile arg = s->arg; /* in this frame, scanned conservatively */
  starting_unlist(s, (uintptr_t)__builtin_return_address(0));
  preempt_sys_free(s, sizeof *s);
  void *volatile result = fn(arg);
  keep_result(result, (uintptr_t)__builtin_return_address(0));
  return result;
}

typedef int pthread_create_fn(pthread_t *, const pthread_attr_t *,
                              void *(*)(void *), void *);

static pthread_create_fn *real_create(void) {
  static pthread_create_fn *_Atomic real;
  if (!real)
    real = (pthread_create_fn *)preempt_libc_symbol("pthread_create");
  return real;
}

int preempt_thread_create_unattached(pthread_t *th, void *(*fn)(void *),
                                     void *arg) {
  return real_create()(th, NULL, fn, arg);
}

/* Linked into an AddressSanitizer executable, this definition would
 * replace the sanitizer's own wrapper, whose pthread_join then finds
 * threads it never saw: there, threads attach at their first runtime
 * call.  (A shared libpreempt is called by the sanitizer's wrapper.) */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) && defined(PREEMPT_STATIC_LIB)
#define NO_PTHREAD_CREATE_WRAPPER
#endif
#endif

#ifndef NO_PTHREAD_CREATE_WRAPPER
__attribute__((visibility("default"))) int
pthread_create(pthread_t *th, const pthread_attr_t *attr,
               void *(*fn)(void *), void *arg) {
  pthread_create_fn *real = real_create();
  struct start *s = preempt_sys_alloc(sizeof *s);
  if (!s)
    return EAGAIN;
  s->fn = fn;
  s->arg = arg;
  s->listed = preempt_in_heap((uintptr_t)arg);
  if (s->listed) {
    preempt_thread_current();
    preempt_lock_heap_holding((uintptr_t)__builtin_return_address(0), arg,
                              NULL);
    s->next = starting;
    s->prev = &starting;
    if (starting)
      starting->prev = &s->next;
    starting = s;
    preempt_unlock_heap();
  }
  /* The C library's part runs as a blocking region: it waits for the
   * stack cache's lock, which a thread stopped in pthread_join may hold.
   * Not when the caller blocks the stop signal (AddressSanitizer's
   * wrapper, holding a lock of its own that its fork handler takes: a
   * thread parked here with it made a forked child hang). */
  struct preempt_thread *t = preempt_self;
  bool block = t &&
               atomic_load_explicit(&t->state, memory_order_relaxed) ==
                   THREAD_RUNNING &&
               !preempt_signal_blocked();
  if (block)
    preempt_enter_blocking();
  int r = real(th, attr, start_attached, s);
  if (block)
    preempt_exit_blocking();
  if (r) {
    starting_unlist(s, (uintptr_t)__builtin_return_address(0));
    preempt_sys_free(s, sizeof *s);
  } else {
    give_bounds(s, *th);
  }
  return r;
}
#endif

/* ---- fork -------------------------------------------------------------- *
 * fork() copies only the calling thread: the child forgets the others (a
 * collection would wait for them forever).  The heap lock is held across
 * the fork so that no other thread is mid-allocation; taking it is a
 * safepoint, so a collection running meanwhile is not kept waiting.  The
 * registry's and the stack list's locks too (in that order, the
 * collector's), so that neither is half updated in the child. */
static void before_fork(void) {
  preempt_lock_heap((uintptr_t)__builtin_return_address(0));
  preempt_registry_fork_prepare();
  pthread_mutex_lock(&stacks_lock);
  preempt_layout_fork_prepare(); /* its holder may name a type: first */
  /* Leaf locks: their holders take no other. */
  preempt_ephemerons_fork_prepare();
  preempt_types_fork_prepare();
  preempt_signal_fork_prepare();
  preempt_loader_fork_prepare(); /* last: its holders may take any lock */
}

static void fork_done_leaves(bool child) {
  preempt_loader_fork_done(child);
  preempt_signal_fork_done();
  preempt_types_fork_done();
  preempt_ephemerons_fork_done();
  preempt_layout_fork_done();
}

static void after_fork_parent(void) {
  fork_done_leaves(false);
  pthread_mutex_unlock(&stacks_lock);
  preempt_registry_fork_done();
  preempt_unlock_heap();
}

static void after_fork_child(void) {
  struct preempt_thread *self = preempt_self, **p = &threads;
  if (self) /* the child's thread has an id of its own: signals go by it */
    self->tid = (long)syscall(SYS_gettid);
  while (*p) {
    struct preempt_thread *t = *p;
    if (t == self) {
      p = &t->next;
      continue;
    }
    *p = t->next;
    thread_free(t);
  }
  for (struct start *s = starting, *n; s; s = n) { /* never started here */
    n = s->next;
    preempt_sys_free(s, sizeof *s);
  }
  starting = NULL;
  preempt_signal_forked(self);
  preempt_finalizers_after_fork();
  fork_done_leaves(true);
  pthread_mutex_unlock(&stacks_lock);
  preempt_registry_fork_done();
  preempt_stw_fork_child();
  preempt_unlock_heap();
}

void preempt_threads_init(void) {
  if (pthread_key_create(&exit_key, on_thread_exit))
    preempt_fatal("pthread_key_create failed");
  pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

/* ---- stacks other than a thread's own ---------------------------------- */

void preempt_add_stack(void *lo, size_t size) {
  if (!lo || !size) {
    preempt_warn("preempt_add_stack(%p, %zu): an empty stack; ignored", lo,
                 size);
    return;
  }
  struct preempt_thread *t = preempt_self;
  preempt_nopreempt_enter(t);
  pthread_mutex_lock(&stacks_lock);
  if (nstacks == stacks_cap)
    preempt_array_grow((void **)&stacks, &stacks_cap, nstacks, sizeof *stacks,
                       64, "registered stacks");
  stacks[nstacks++] = (struct stack_range){(uintptr_t)lo, (uintptr_t)lo + size};
  pthread_mutex_unlock(&stacks_lock);
  preempt_nopreempt_exit(t);
}

void preempt_remove_stack(void *lo) {
  bool found = false;
  struct preempt_thread *t = preempt_self;
  preempt_nopreempt_enter(t);
  pthread_mutex_lock(&stacks_lock);
  for (size_t i = 0; i < nstacks && !found; i++)
    if (stacks[i].lo == (uintptr_t)lo) {
      stacks[i] = stacks[--nstacks];
      found = true;
    }
  pthread_mutex_unlock(&stacks_lock);
  preempt_nopreempt_exit(t);
  if (!found)
    preempt_warn("preempt_remove_stack(%p): no stack registered there", lo);
}

bool preempt_registered_stack(uintptr_t sp, uintptr_t *lo, uintptr_t *hi) {
  bool found = false;
  struct preempt_thread *t = preempt_self;
  preempt_nopreempt_enter(t);
  pthread_mutex_lock(&stacks_lock);
  for (size_t i = 0; i < nstacks && !found; i++)
    if (sp >= stacks[i].lo && sp <= stacks[i].hi) {
      *lo = stacks[i].lo;
      *hi = stacks[i].hi;
      found = true;
    }
  pthread_mutex_unlock(&stacks_lock);
  preempt_nopreempt_exit(t);
  return found;
}

static bool stack_in_use(uintptr_t lo, uintptr_t hi) {
  for (struct preempt_thread *t = threads; t; t = t->next) {
    uintptr_t sp = t->stopped_as == THREAD_BLOCKING ? t->saved_sp : t->scan_sp;
    if (sp >= lo && sp <= hi)
      return true;
  }
  return false;
}
