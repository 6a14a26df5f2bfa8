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
 * early.
 *
 * The state changes are ffi_transition.h's (one sequentially consistent
 * store and one load each way while no stop is requested).  Signatures
 * whose arguments all go in registers are called directly, as compiled C
 * would call them (ffi_sig.c classifies them once); libffi's ffi_call,
 * which classifies every argument at every call, makes the others. */
#define _GNU_SOURCE
#include "ffi_sig.h"
#include "ffi_transition.h"
#include "heap.h"
#include "pin.h"
#include "stack.h"
#include "threads.h"

#include <alloca.h>
#include <errno.h>
#include <string.h>

/* Where the thread's blocking region starts: this call, with the
 * callee-saved registers as they are here (what the frames above hold). */
__attribute__((used)) PREEMPT_HIDDEN void
preempt_ffi_enter(const uintptr_t *regs, uintptr_t sp) {
  struct preempt_thread *t = preempt_self;
  memcpy(t->saved_regs, regs, sizeof t->saved_regs);
  t->saved_sp = sp;
  if (likely(sp >= t->stack_lo && sp <= t->stack_hi)) {
    t->saved_hi = t->stack_hi;
    t->off_stack = false;
  } else {
    preempt_stack_note_blocking(t); /* a coroutine's stack, a signal stack */
  }
  preempt_ffi_block(t);
}
__attribute__((naked, noinline)) static void enter_blocking(void) {
  PREEMPT_ARCH_CALL_WITH_CALLER_CONTEXT(preempt_ffi_enter);
}

void preempt_ffi_block_slow(struct preempt_thread *t) {
  struct preempt_blocking_save s = {.sp = t->saved_sp, .hi = t->saved_hi,
                                    .off_stack = t->off_stack, .idle = t->idle};
  memcpy(s.regs, t->saved_regs, sizeof s.regs);
  preempt_stw_handler_leave(t, &s);
}

void preempt_ffi_unblock_slow(struct preempt_thread *t) {
  int saved_errno = errno; /* the foreign call's */
  /* Blocking again (a stopper may have seen it running meanwhile: it was
   * free to stop it), then stw.c's exit, which waits for the world. */
  preempt_ffi_block_slow(t);
  preempt_exit_blocking();
  errno = saved_errno;
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

#if defined(__x86_64__)
/* Six integer registers and eight vector registers: every argument of a
 * fast signature is in one of them (ffi_sig.c), the rest are ignored by
 * the callee, and no argument is on the stack. */
#define FAST_PARAMS                                                            \
  uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, double, double,  \
      double, double, double, double, double, double
#define FAST_ARGS g[0], g[1], g[2], g[3], g[4], g[5], x[0], x[1], x[2], x[3],  \
                  x[4], x[5], x[6], x[7]

/* fn is called through this one type whatever its own (the registers
 * are what the ABI passes), which UBSan's function check reports for a
 * callee built with it: not checked here. */
static inline __attribute__((always_inline, no_sanitize("function"))) void
call_fast(const struct preempt_sig *s, void (*fn)(void), void *ret,
          void **args) {
  uint64_t g[6] = {0};
  double x[8] = {0};
  for (unsigned i = 0; i < s->nargs; i++) {
    const void *a = args[i];
    unsigned k = s->fast_args[i].slot;
    switch (s->fast_args[i].kind) {
    /* Narrow integers extended as the C caller would (clang's callees
     * rely on it). */
    case FAST_S8: g[k] = (uint64_t)(int64_t)*(const int8_t *)a; break;
    case FAST_U8: g[k] = *(const uint8_t *)a; break;
    case FAST_S16: g[k] = (uint64_t)(int64_t)*(const int16_t *)a; break;
    case FAST_U16: g[k] = *(const uint16_t *)a; break;
    case FAST_S32: g[k] = (uint64_t)(int64_t)*(const int32_t *)a; break;
    case FAST_U32: g[k] = *(const uint32_t *)a; break;
    case FAST_64: memcpy(&g[k], a, 8); break;
    case FAST_F32: { /* a float is the low 32 bits of its register */
      uint64_t bits = 0;
      memcpy(&bits, a, 4);
      memcpy(&x[k], &bits, 8);
      break;
    }
    case FAST_F64: memcpy(&x[k], a, 8); break;
    }
  }
  switch (s->fast_ret) {
  case FAST_INT: {
    uint64_t r = ((uint64_t(*)(FAST_PARAMS))fn)(FAST_ARGS);
    if (ret)
      memcpy(ret, &r, s->rtype->size); /* little-endian: the low bytes */
    break;
  }
  case FAST_FLOAT: {
    float r = ((float (*)(FAST_PARAMS))fn)(FAST_ARGS);
    if (ret)
      memcpy(ret, &r, sizeof r);
    break;
  }
  case FAST_DOUBLE: {
    double r = ((double (*)(FAST_PARAMS))fn)(FAST_ARGS);
    if (ret)
      memcpy(ret, &r, sizeof r);
    break;
  }
  default:
    ((void (*)(FAST_PARAMS))fn)(FAST_ARGS);
  }
}
#else
static inline void call_fast(const struct preempt_sig *s, void (*fn)(void),
                             void *ret, void **args) {
  (void)s, (void)fn, (void)ret, (void)args;
  __builtin_unreachable(); /* no signature is fast here (ffi_sig.c) */
}
#endif

/* libffi's call, with the return value at its own width in ret. */
static inline __attribute__((always_inline)) void
call_ffi(const struct preempt_sig *s, void (*fn)(void), void *ret,
         void **args) {
  ffi_arg wide; /* libffi writes a whole ffi_arg for a narrower integer */
  void *r = ret;
  if (s->narrow_ret)
    r = &wide;
  else if (!ret && s->rtype->type != FFI_TYPE_VOID)
    r = alloca(s->rtype->size);
  ffi_call((ffi_cif *)&s->cif, fn, r, args);
  if (s->narrow_ret && ret)
    preempt_sig_store_narrow(s, ret, &wide);
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
  bool blocking = transition && atomic_load_explicit(&t->state, memory_order_relaxed) ==
                                    THREAD_RUNNING;
  if (blocking)
    enter_blocking();
  if (s->fast_ret)
    call_fast(s, fn, ret, args);
  else
    call_ffi(s, fn, ret, args);
  if (blocking)
    preempt_ffi_unblock(t); /* keeps the call's errno */
  if (n) {
    atomic_signal_fence(memory_order_seq_cst);
    t->ffi_frames = f.prev;
    atomic_signal_fence(memory_order_seq_cst);
  }
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

/* The direct path calls through a pointer of another type than the
 * callee's: what C would call it with (-fsanitize=function objects). */
#define NO_TYPE_CHECK __attribute__((no_sanitize("function")))

NO_TYPE_CHECK void preempt_ffi_call(const preempt_sig *s, void (*fn)(void), void *ret,
                      void **args) {
  check(s, fn, "preempt_ffi_call");
  call(s, fn, ret, args, true, __builtin_return_address(0));
}

NO_TYPE_CHECK void preempt_ffi_call_leaf(const preempt_sig *s, void (*fn)(void), void *ret,
                           void **args) {
  check(s, fn, "preempt_ffi_call_leaf");
  call(s, fn, ret, args, false, __builtin_return_address(0));
}

NO_TYPE_CHECK void preempt_ffi_call_variadic(const preempt_sig *s, const char *types,
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
