/* Blocking C library calls as blocking transitions (blocking.h).
 *
 * The runtime stops a running thread with a signal installed with
 * SA_RESTART, but the calls of blocking.def are not restarted: a thread
 * sleeping, polling or waiting on a semaphore when the signal comes would
 * return EINTR that its code never expected.  The plugin sends direct
 * calls of instrumented code to these wrappers instead, and a thread in
 * the runtime's BLOCKING state is never signalled.
 *
 * A wrapper stores the pointer arguments in a volatile array of its own
 * frame (the kernel reads or writes them during the call, and the caller
 * may keep them nowhere else), then enters a blocking region: the stack
 * pointer and callee-saved registers are published, everything above
 * that stack pointer (the array, the caller's frames) is scanned
 * conservatively, and the stopper counts the thread as stopped.  After the
 * call it leaves the region, waiting there while the world is stopped,
 * and gives the call's errno back.
 *
 * The call is made as is, without a transition, by a thread the runtime
 * does not know (never stopped), by a thread that is not running (inside
 * a blocking region already, where an inner transition would end the outer
 * region early; a signal handler on a stopped thread), and when the name
 * binds to a function built with the plugin that has calls (a program's
 * own function named like libc's, which may use the heap; a blocking
 * thread must not).  A sanitizer's interceptor of the same name lives in
 * an instrumented executable but has no maps of its own: it gets the
 * transition.  What a name binds to is looked up once per wrapper, from
 * the dynamic symbol table: an executable's own function that is not
 * exported (static linking without -rdynamic) cannot be told apart and
 * gets the transition. */
#define _GNU_SOURCE
#include "blocking.h"
#include "mapfile.h"
#include "threads.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <string.h>

/* Declared by libaio.h; weak so that programs without libaio link.  Only
 * a call the program made to io_getevents reaches its wrapper. */
extern int io_getevents(io_context_t ctx, long min_nr, long nr,
                        struct io_event *events, struct timespec *timeout)
    __attribute__((weak));
const char preempt_blocking_anchor = 0;

/* What a wrapper's name binds to (looked up at its first transition). */
enum target { TARGET_UNKNOWN, TARGET_FOREIGN, TARGET_INSTRUMENTED };

struct owner {
  uintptr_t lo, hi; /* the function's code */
  bool instrumented;
};

/* Does one of the object's maps have a call inside [o->lo, o->hi)?  Its
 * first return address, just past the call, is in (lo, hi]. */
static int owner_cb(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  struct owner *o = arg;
  bool inside = false;
  for (int i = 0; i < info->dlpi_phnum && !inside; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    inside = ph->p_type == PT_LOAD &&
             o->lo - (info->dlpi_addr + ph->p_vaddr) < ph->p_memsz;
  }
  if (!inside)
    return 0;
  for (int i = 0; i < info->dlpi_phnum && !o->instrumented; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_NOTE)
      continue;
    const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
    const uint8_t *end = p + ph->p_memsz;
    struct preempt_note note;
    const char *why;
    while (!o->instrumented &&
           preempt_note_next(&p, end, ph->p_align, &note, &why) > 0) {
      struct preempt_map_header h;
      if (!note.maps || note.descsz < sizeof h)
        continue;
      memcpy(&h, note.desc, sizeof h);
      const uint8_t *f = note.desc + sizeof h;
      if (h.nfuncs > (note.descsz - sizeof h) / sizeof(struct preempt_map_func))
        continue; /* malformed: the registry says so */
      for (uint32_t k = 0; k < h.nfuncs; k++, f += sizeof(struct preempt_map_func)) {
        int32_t rel;
        memcpy(&rel, f, sizeof rel);
        uintptr_t ret = (uintptr_t)f + (uintptr_t)(intptr_t)rel;
        if (ret > o->lo && ret <= o->hi) {
          o->instrumented = true;
          break;
        }
      }
    }
  }
  return 1;
}

/* Is fn a function with stack maps?  Takes the loader's lock. */
static bool instrumented(uintptr_t fn) {
  Dl_info info;
  const ElfW(Sym) *sym = NULL;
  if (!dladdr1((void *)fn, &info, (void **)&sym, RTLD_DL_SYMENT) || !sym ||
      !sym->st_size)
    return false;
  struct owner o = {.lo = fn, .hi = fn + sym->st_size};
  dl_iterate_phdr(owner_cb, &o);
  return o.instrumented;
}

/* Enters a blocking region for a call of fn, unless the call must be made
 * as is (see the top of the file); true if it did. */
static bool enter(_Atomic unsigned char *target, uintptr_t fn) {
  struct preempt_thread *t = preempt_self;
  if (!t || atomic_load_explicit(&t->state, memory_order_relaxed) !=
                THREAD_RUNNING)
    return false; /* blocking already, or a handler on a stopped thread */
  unsigned char k = atomic_load_explicit(target, memory_order_relaxed);
  if (k == TARGET_INSTRUMENTED)
    return false;
  preempt_enter_blocking();
  if (unlikely(k == TARGET_UNKNOWN)) {
    /* The loader's lock, which a collection takes to scan globals, is
     * taken while blocking, so as not to hold a collection up. */
    k = instrumented(fn) ? TARGET_INSTRUMENTED : TARGET_FOREIGN;
    atomic_store_explicit(target, k, memory_order_relaxed);
    if (k == TARGET_INSTRUMENTED) {
      preempt_exit_blocking();
      return false;
    }
  }
  return true;
}

/* Leaves the blocking region at the end of a wrapper, also when the thread
 * is cancelled in the call (most listed calls are cancellation points):
 * the unwinder runs this cleanup on its way to the thread's own cleanup
 * handlers, which must run with the thread running (blocking.c is built
 * with -fexceptions for that). */
static void leave(const bool *entered) {
  if (*entered) {
    int saved_errno = errno; /* the call's */
    preempt_exit_blocking();
    errno = saved_errno;
  }
}

#define PREEMPT__UNPAREN(...) __VA_ARGS__
#define PREEMPT_BLOCKING_CALL(ret, name, params, args, keep, sig)              \
  _Static_assert(__builtin_types_compatible_p(__typeof__(name), ret params),   \
                 "blocking.def: the prototype of " #name " is not libc's");    \
  ret preempt_blocking_##name params {                                         \
    static _Atomic unsigned char target;                                       \
    const void *volatile held[] = {NULL, PREEMPT__UNPAREN keep};               \
    __attribute__((cleanup(leave))) bool entered =                             \
        enter(&target, (uintptr_t)name);                                       \
    ret result = name args;                                                    \
    __asm__ __volatile__("" : : "m"(held)); /* held until here */              \
    return result;                                                             \
  }
#include "blocking.def"
#undef PREEMPT_BLOCKING_CALL
