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

typedef int iterate_fn(int (*)(struct dl_phdr_info *, size_t, void *),
                       void *);
typedef int dlclose_fn(void *);

void *preempt_libc_symbol(const char *name) {
  void *p = dlsym(RTLD_NEXT, name);
  if (!p)
    preempt_fatal("cannot find the C library's %s: %s", name, dlerror());
  return p;
}

__attribute__((visibility("default"))) int
dl_iterate_phdr(int (*cb)(struct dl_phdr_info *, size_t, void *), void *arg) {
  static iterate_fn *_Atomic real;
  if (!real)
    real = (iterate_fn *)preempt_libc_symbol("dl_iterate_phdr");
  preempt_nopreempt_begin();
  int r = real(cb, arg);
  preempt_nopreempt_end();
  return r;
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
