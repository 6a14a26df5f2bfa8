/* The poll flags: code built with -fplugin-arg-preempt-polls polls a flag
 * of its own linked object (executable or shared library), a hidden global
 * that it reads with one compare relative to the instruction pointer.  Its
 * constructor registers the flag here, its destructor takes it back (the
 * flag goes when dlclose unmaps the object); the stopper sets every
 * registered flag after raising preempt__stop_requested and clears them
 * after lowering it.  That request stays the truth: a poll that fires
 * calls preempt_safepoint(), which reads it.
 *
 * No lock.  A constructor or destructor may run inside dlopen or dlclose,
 * holding the loader's lock, while a collector that holds the heap lock
 * waits for the loader's lock (dl_iterate_phdr): registering must not wait
 * for the heap lock, nor for anything the stopper holds.  So the flags are
 * slots of a fixed table, claimed and released with atomic operations:
 *   - A registration publishes its slot, then copies the request into its
 *     flag until the request reads the same after the copy.  Against a
 *     stopper (which stores the request, then reads the slots; all
 *     sequentially consistent), either the stopper sees the slot and sets
 *     the flag, or the registration sees the new request; the re-read
 *     catches a stopper's store that the copy overwrote.
 *   - An unregistration empties its slot, then waits until no stopper is
 *     between reading slots and storing to flags (walkers): after that no
 *     store reaches the flag, and its memory may go.  A stopper's walk is
 *     a few stores and never waits, so the wait is short.
 * Registration before preempt_init needs nothing: the table is static.  A
 * forked child keeps the table and the flags, as it keeps the objects
 * they belong to; no stop runs during a fork (the forking thread holds the
 * heap lock), so no walk is left half done in the child. */
#include "polls.h"
#include "stw.h"

#include <sched.h>

/* Objects with polls loaded at one time. */
#define MAX_FLAGS 1024

static _Atomic(_Atomic int *) slots[MAX_FLAGS];
static _Atomic unsigned used;    /* slots at or above it are empty */
static _Atomic unsigned walkers; /* stoppers reading slots */

void preempt__poll_register(_Atomic int *flag) {
  unsigned i = 0;
  for (;; i++) {
    if (i == MAX_FLAGS)
      preempt_fatal("preempt__poll_register: more than %d objects built with "
                    "-fplugin-arg-preempt-polls are loaded at once",
                    MAX_FLAGS);
    _Atomic int *none = NULL;
    if (!atomic_load_explicit(&slots[i], memory_order_relaxed) &&
        atomic_compare_exchange_strong(&slots[i], &none, flag))
      break;
  }
  unsigned n = atomic_load(&used);
  while (n <= i && !atomic_compare_exchange_weak(&used, &n, i + 1))
    ;
  int v;
  do {
    v = atomic_load(&preempt__stop_requested);
    atomic_store(flag, v);
  } while (atomic_load(&preempt__stop_requested) != v);
}

void preempt__poll_unregister(_Atomic int *flag) {
  unsigned n = atomic_load(&used);
  for (unsigned i = 0; i < n; i++) {
    _Atomic int *p = flag;
    if (atomic_compare_exchange_strong(&slots[i], &p, NULL))
      break; /* a flag registered twice (merged modules) has two slots */
  }
  for (unsigned spins = 0; atomic_load(&walkers); spins++) {
    if (spins < 64)
      PREEMPT_ARCH_PAUSE();
    else
      sched_yield();
  }
}

void preempt_polls_set(int value) {
  atomic_fetch_add(&walkers, 1);
  unsigned n = atomic_load(&used);
  for (unsigned i = 0; i < n; i++) {
    _Atomic int *p = atomic_load(&slots[i]);
    if (p)
      atomic_store_explicit(p, value, memory_order_relaxed);
  }
  atomic_fetch_sub(&walkers, 1);
}
