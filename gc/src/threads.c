/* Threads, stacks, blocking, stopping the world, the allocation lock and
 * root ranges, on preempt's runtime.  preempt attaches every thread by
 * itself (from pthread_create, or at its first allocation) and stops them
 * with its own signal, so registration calls attach at once and the
 * pthread wrappers are the plain functions. */
#define _GNU_SOURCE
#define GC_THREADS
#include "compat.h"
#include "gc/gc_pthread_redirects.h"
#include "gc/javaxfc.h"

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

/* ---- threads ------------------------------------------------------------ */

/* Every thread counts as registered, as under bdwgc's redirected
 * pthread_create, unless it unregistered itself: asking attaches it. */
static __thread bool unregistered;

void GC_use_threads_discovery(void) {}
void GC_allow_register_threads(void) { gc_ensure_init(); }

int GC_register_my_thread(const struct GC_stack_base *sb) {
  (void)sb; /* preempt reads the thread's stack bounds itself */
  gc_ensure_init();
  bool was = preempt_thread_attached() && !unregistered;
  unregistered = false;
  if (was)
    return GC_DUPLICATE;
  preempt_thread_attach();
  return GC_SUCCESS;
}


int GC_thread_is_registered(void) {
  gc_ensure_init();
  if (unregistered)
    return 0;
  preempt_thread_attach();
  return 1;
}

int GC_unregister_my_thread(void) {
  preempt_thread_detach();
  unregistered = true;
  return GC_SUCCESS;
}

/* A signal handler on an alternate stack needs nothing (README: threads). */
void GC_register_altstack(void *stack, GC_word stack_size, void *altstack,
                          GC_word altstack_size) {
  (void)stack;
  (void)stack_size;
  (void)altstack;
  (void)altstack_size;
}

int GC_get_stack_base(struct GC_stack_base *sb) {
  pthread_attr_t attr;
  void *lo;
  size_t size;
  if (pthread_getattr_np(pthread_self(), &attr))
    return GC_UNIMPLEMENTED;
  int r = pthread_attr_getstack(&attr, &lo, &size);
  pthread_attr_destroy(&attr);
  if (r)
    return GC_UNIMPLEMENTED;
  sb->mem_base = (char *)lo + size;
  return GC_SUCCESS;
}

void *GC_get_my_stackbottom(struct GC_stack_base *sb) {
  if (GC_get_stack_base(sb) != GC_SUCCESS)
    sb->mem_base = NULL;
  return (void *)pthread_self();
}

/* preempt knows each thread's stack; a coroutine's is registered with
 * preempt_add_stack instead. */
void GC_set_stackbottom(void *gc_thread_handle, const struct GC_stack_base *sb) {
  (void)gc_thread_handle;
  (void)sb;
}

void *GC_call_with_stack_base(GC_stack_base_func fn, void *arg) {
  struct GC_stack_base sb;
  sb.mem_base = __builtin_frame_address(0);
  return fn(&sb, arg);
}

/* Per thread: how deep in GC_do_blocking, so that GC_call_with_gc_active
 * knows whether to leave the blocking state. */
static __thread int blocking_depth;

void *GC_do_blocking(GC_fn_type fn, void *cd) {
  gc_ensure_init();
  preempt_enter_blocking();
  blocking_depth++;
  void *r = fn(cd);
  blocking_depth--;
  preempt_exit_blocking();
  return r;
}

void *GC_call_with_gc_active(GC_fn_type fn, void *cd) {
  gc_ensure_init();
  if (!blocking_depth)
    return fn(cd);
  int depth = blocking_depth;
  blocking_depth = 0;
  preempt_exit_blocking();
  void *r = fn(cd);
  preempt_enter_blocking();
  blocking_depth = depth;
  return r;
}

void GC_stop_world_external(void) {
  gc_ensure_init();
  preempt_stop_the_world("GC_stop_world_external");
}
void GC_start_world_external(void) { preempt_start_the_world(); }

/* The stop signal is preempt's (SIGURG unless the program chose); bdwgc's
 * separate restart signal does not exist: both getters name it. */
static int stop_signal = SIGURG;
void GC_set_suspend_signal(int sig) {
  if (preempt_set_stop_signal(sig) == 0)
    stop_signal = sig;
  else
    gc_warn("GC_set_suspend_signal(%d): preempt cannot stop threads with "
            "this signal now (too late, or not one of SIGURG, SIGUSR1, "
            "SIGUSR2, SIGPWR, SIGVTALRM, SIGPROF or a real-time signal)",
            sig);
}
void GC_set_thr_restart_signal(int sig) { (void)sig; }
int GC_get_suspend_signal(void) { return stop_signal; }
int GC_get_thr_restart_signal(void) { return stop_signal; }

/* One thread cannot be suspended alone: preempt stops all or none. */
void GC_suspend_thread(pthread_t thread) {
  (void)thread;
  gc_warn("GC_suspend_thread: not offered by preempt (it stops every "
          "thread or none); use GC_stop_world_external");
}
void GC_resume_thread(pthread_t thread) { (void)thread; }
int GC_is_thread_suspended(pthread_t thread) {
  (void)thread;
  return 0;
}

int GC_pthread_create(pthread_t *t, const pthread_attr_t *a,
                      void *(*fn)(void *), void *arg) {
  gc_ensure_init();
  return pthread_create(t, a, fn, arg);
}
int GC_pthread_join(pthread_t t, void **r) { return pthread_join(t, r); }
int GC_pthread_detach(pthread_t t) { return pthread_detach(t); }
int GC_pthread_cancel(pthread_t t) { return pthread_cancel(t); }
void GC_pthread_exit(void *r) { pthread_exit(r); }
int GC_pthread_sigmask(int how, const sigset_t *set, sigset_t *old) {
  return pthread_sigmask(how, set, old);
}
void *GC_dlopen(const char *path, int mode) { return dlopen(path, mode); }

/* ---- the allocation lock ------------------------------------------------ */

void GC_alloc_lock(void) {
  gc_ensure_init();
  preempt_lock();
}
void GC_alloc_unlock(void) { preempt_unlock(); }

void *GC_call_with_alloc_lock(GC_fn_type fn, void *cd) {
  GC_alloc_lock();
  void *r = fn(cd);
  GC_alloc_unlock();
  return r;
}

/* ---- reachable objects ---------------------------------------------------- */

struct enumerate {
  GC_reachable_object_proc proc;
  void *cd;
};

static void each(void *obj, size_t size, void *arg) {
  struct enumerate *e = arg;
  e->proc(obj, size, e->cd);
}

/* Every allocated object: after a collection, the reachable ones and
 * those allocated since. */
void GC_enumerate_reachable_objects_inner(GC_reachable_object_proc proc,
                                          void *cd) {
  struct enumerate e = {proc, cd};
  preempt_heap_each_object(each, &e);
}

/* Marks exist only inside a collection; outside one, an allocated object
 * counts as marked (the last collection kept it, or it is newer). */
int GC_is_marked(const void *p) { return preempt_object_start(p) == p; }
void GC_clear_mark_bit(const void *p) { (void)p; }
void GC_set_mark_bit(const void *p) { (void)p; }

/* ---- roots ------------------------------------------------------------------
 * bdwgc's ranges [low, high) may overlap and be removed by any enclosing
 * range; preempt's are removed by their start.  The ranges added here are
 * kept to translate. */
static struct range {
  char *lo, *hi;
} *ranges;
static size_t nranges, ranges_cap;
static pthread_mutex_t roots_lock = PTHREAD_MUTEX_INITIALIZER;

void GC_add_roots(void *low, void *high) {
  gc_ensure_init();
  if ((char *)high <= (char *)low)
    return;
  pthread_mutex_lock(&roots_lock);
  for (size_t i = 0; i < nranges; i++)
    if (ranges[i].lo == low) { /* preempt keys ranges by start: replace */
      preempt_remove_roots(low);
      ranges[i] = ranges[--nranges];
      break;
    }
  if (nranges == ranges_cap) {
    size_t cap = ranges_cap ? ranges_cap * 2 : 16;
    struct range *r = realloc(ranges, cap * sizeof *r);
    if (!r)
      gc_abort("GC_add_roots: out of memory");
    ranges = r;
    ranges_cap = cap;
  }
  ranges[nranges++] = (struct range){low, high};
  preempt_add_roots(low, (size_t)((char *)high - (char *)low));
  pthread_mutex_unlock(&roots_lock);
}

void GC_remove_roots(void *low, void *high) {
  pthread_mutex_lock(&roots_lock);
  for (size_t i = 0; i < nranges;)
    if (ranges[i].lo >= (char *)low && ranges[i].hi <= (char *)high) {
      preempt_remove_roots(ranges[i].lo);
      ranges[i] = ranges[--nranges];
    } else {
      i++;
    }
  pthread_mutex_unlock(&roots_lock);
}

void GC_clear_roots(void) { GC_remove_roots(NULL, (void *)~(uintptr_t)0); }

/* Static data is always scanned whole (scanning more is never unsafe). */
void GC_exclude_static_roots(void *low, void *high) {
  (void)low;
  (void)high;
}
void GC_clear_exclusion_table(void) {}
