/* The dynamic linker: the C library's functions behind the runtime's
 * wrappers, and its lock and stopped threads.
 *
 * dl_iterate_phdr holds the loader's lock while its callback runs, and
 * dlclose holds it while it unmaps an object (calling free() meanwhile).
 * A thread stopped there would deadlock the collector, which scans
 * globals inside dl_iterate_phdr.  Both calls are wrapped, for every
 * caller, in runtime critical sections: a stop waits until the thread has
 * left them.  (A thread stopped by the signal in the dynamic linker's own
 * code is left to run and signalled again: see preempt_stw_on_signal.)
 * dlopen is not wrapped: its lock is not the one dl_iterate_phdr takes,
 * and the constructors it runs may allocate and loop like any code. */
#define _GNU_SOURCE
#include "threads.h"
#include "types.h"

#include <dlfcn.h>
#include <link.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef int iterate_fn(int (*)(struct dl_phdr_info *, size_t, void *),
                       void *);
typedef int dlclose_fn(void *);

void *preempt_libc_symbol(const char *name) {
  void *p = dlsym(RTLD_NEXT, name);
  if (!p)
    preempt_fatal("cannot find the C library's %s: %s", name, dlerror());
  return p;
}

/* glibc's fork does not reset the lock dl_iterate_phdr takes: a child
 * forked while another thread was inside it (a thread starting, which
 * reads its TLS blocks that way; a sanitizer; a collection) hangs at its
 * first call.  So fork waits for those calls to end and lets no new one
 * begin until it is done (preempt_loader_fork_prepare), as the calls go
 * through this wrapper.  A call made from a callback (depth > 0), or by
 * the forking thread itself, does not wait. */
static _Atomic unsigned iterating; /* threads inside dl_iterate_phdr */
static _Atomic int forking;        /* no new call begins */
static _Atomic unsigned fork_over; /* futex word: bumped as forking ends */
static _Thread_local unsigned depth;
static _Atomic unsigned wanted;            /* collector calls waiting or inside */
static _Thread_local unsigned collector_calls; /* this thread's */

__attribute__((visibility("default"))) int
dl_iterate_phdr(int (*cb)(struct dl_phdr_info *, size_t, void *), void *arg) {
  static iterate_fn *_Atomic real;
  if (!real)
    real = (iterate_fn *)preempt_libc_symbol("dl_iterate_phdr");
  /* Outside the critical section: a stop may take the thread here.
   * Bounded: fairness only, never a reason to hang. */
  for (unsigned i = 0;
       i < 10000 && !depth && !collector_calls && atomic_load(&wanted); i++)
    sched_yield();
  preempt_nopreempt_begin();
  for (;;) {
    atomic_fetch_add(&iterating, 1);
    if (depth || !atomic_load(&forking))
      break;
    atomic_fetch_sub(&iterating, 1);
    unsigned over = atomic_load(&fork_over);
    if (atomic_load(&forking))
      syscall(SYS_futex, &fork_over, FUTEX_WAIT_PRIVATE, over, NULL, NULL, 0);
  }
  depth++;
  int r = real(cb, arg);
  depth--;
  atomic_fetch_sub(&iterating, 1);
  preempt_nopreempt_end();
  return r;
}

int preempt_loader_iterate(int (*cb)(struct dl_phdr_info *, size_t, void *),
                           void *arg) {
  atomic_fetch_add(&wanted, 1);
  collector_calls++;
  int r = dl_iterate_phdr(cb, arg);
  collector_calls--;
  atomic_fetch_sub(&wanted, 1);
  return r;
}

void preempt_loader_fork_prepare(void) {
  atomic_store(&forking, 1);
  while (atomic_load(&iterating) > depth)
    sched_yield();
}

void preempt_loader_fork_done(bool child) {
  if (child) { /* the other threads' calls are gone */
    atomic_store(&iterating, depth);
    atomic_store(&wanted, collector_calls);
  }
  atomic_store(&forking, 0);
  atomic_fetch_add(&fork_over, 1);
  syscall(SYS_futex, &fork_over, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}

__attribute__((visibility("default"))) int dlclose(void *handle) {
  static dlclose_fn *_Atomic real;
  if (!real)
    real = (dlclose_fn *)preempt_libc_symbol("dlclose");
  preempt_nopreempt_begin();
  int r = real(handle);
  preempt_types_forget_keys(); /* type names' addresses may be reused */
  preempt_nopreempt_end();
  return r;
}
