/* Foreign calls through libffi, as cgo calls C.
 *
 * preempt_ffi_call makes the call in the blocking state (stw.c): the
 * stopper counts the thread as stopped, never signals it (no EINTR the
 * runtime caused) and a collection scans its frozen stack, from this
 * frame up, conservatively.  What foreign code is given, it may hold
 * where no scan looks (its own frames and registers, below the frozen
 * part), while the caller's frame may have dropped it already (the
 * argument was its last use): so the pointer words of the arguments
 * (every 'p', also inside structs by value) are published as roots for
 * the call's duration, in a record on this frame linked from the thread
 * (struct preempt_ffi_frame).  Records nest with calls made from
 * callbacks; only their own thread pushes and pops them, and a collector
 * reads them only while that thread is stopped or blocking.
 *
 * A thread that is not running (blocking already: a call made from a
 * foreign thread's idle state, or inside the program's own blocking
 * region) makes the call as is: entering again would end the outer region
 * early. */
#define _GNU_SOURCE
#include "ffi_sig.h"
#include "heap.h"
#include "pin.h"
#include "threads.h"

#include <alloca.h>
#include <string.h>

/* Where the thread's blocking region starts: this call.  (The body of
 * preempt_enter_blocking, stw.c; called directly, not through the PLT.) */
void preempt_stw_enter_blocking(const uintptr_t *regs, uintptr_t sp)
    PREEMPT_HIDDEN;
__attribute__((naked, noinline)) static void enter_blocking(void) {
  PREEMPT_ARCH_CALL_WITH_CALLER_CONTEXT(preempt_stw_enter_blocking);
}

static inline uintptr_t word_at(void **args, struct preempt_sig_ptr p) {
  uintptr_t w;
  memcpy(&w, (const char *)args[p.arg] + p.off, sizeof w);
  return w;
}

__attribute__((noinline, cold)) static void cgocheck(const struct preempt_sig *s,
                                                     const uintptr_t *words,
                                                     const void *site) {
  for (unsigned i = 0; i < s->nptrs; i++)
    if (preempt_in_heap(words[i]))
      preempt_cgocheck_argn((const void *)words[i], (int)s->ptrs[i].arg + 1,
                            site);
}

static inline __attribute__((always_inline)) void
call(const struct preempt_sig *s, void (*fn)(void), void *ret, void **args,
     bool transition, const void *site) {
  struct preempt_thread *t = preempt_thread_current();
  unsigned n = s->nptrs;
  uintptr_t words[n ? n : 1];
  struct preempt_ffi_frame f;
  if (n) {
    for (unsigned i = 0; i < n; i++)
      words[i] = word_at(args, s->ptrs[i]);
    f.prev = t->ffi_frames;
    f.n = n;
    f.words = words;
    /* Complete before it is visible: a signal may stop us anywhere. */
    atomic_signal_fence(memory_order_seq_cst);
    t->ffi_frames = &f;
    atomic_signal_fence(memory_order_seq_cst);
    if (unlikely(preempt_cgocheck_on))
      cgocheck(s, words, site);
  }
  /* libffi writes a whole ffi_arg for a narrower integer. */
  ffi_arg wide;
  void *r = ret;
  if (s->narrow_ret)
    r = &wide;
  else if (!ret && s->rtype->type != FFI_TYPE_VOID)
    r = alloca(s->rtype->size);
  bool blocking = transition && atomic_load_explicit(&t->state, memory_order_relaxed) ==
                                    THREAD_RUNNING;
  if (blocking)
    enter_blocking();
  ffi_call((ffi_cif *)&s->cif, fn, r, args);
  if (blocking)
    preempt_exit_blocking(); /* keeps the call's errno */
  if (n) {
    atomic_signal_fence(memory_order_seq_cst);
    t->ffi_frames = f.prev;
    atomic_signal_fence(memory_order_seq_cst);
  }
  if (s->narrow_ret && ret)
    preempt_sig_store_narrow(s, ret, &wide);
}

static void check(const struct preempt_sig *s, void (*fn)(void),
                  const char *api) {
  if (unlikely(!s || s->open || !fn))
    preempt_sig_misuse(s, api,
                       !s    ? "no signature (NULL)"
                       : !fn ? "no function to call (NULL)"
                             : "the function is variadic (\"...\"): give the "
                               "variadic arguments' types with "
                               "preempt_ffi_call_variadic or "
                               "preempt_sig_variadic");
}

void preempt_ffi_call(const preempt_sig *s, void (*fn)(void), void *ret,
                      void **args) {
  check(s, fn, "preempt_ffi_call");
  call(s, fn, ret, args, true, __builtin_return_address(0));
}

void preempt_ffi_call_leaf(const preempt_sig *s, void (*fn)(void), void *ret,
                           void **args) {
  check(s, fn, "preempt_ffi_call_leaf");
  call(s, fn, ret, args, false, __builtin_return_address(0));
}

void preempt_ffi_call_variadic(const preempt_sig *s, const char *types,
                               void (*fn)(void), void *ret, void **args) {
  if (!s || !s->open || !fn)
    preempt_sig_misuse(s, "preempt_ffi_call_variadic",
                       !s    ? "no signature (NULL)"
                       : !fn ? "no function to call (NULL)"
                             : "the signature does not end in \"...\" (call "
                               "it with preempt_ffi_call)");
  preempt_sig *v = preempt_sig_variadic(s, types, NULL, 0); /* fatal if bad */
  call(v, fn, ret, args, true, __builtin_return_address(0));
  preempt_sig_free(v);
}
