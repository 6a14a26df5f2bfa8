/* Callbacks: libffi closures that foreign code calls as plain C function
 * pointers, and that run instrumented code, as cgo's cgocallback does.
 *
 * On entry the calling thread is in one of three situations:
 *   - blocking (a foreign call made with preempt_ffi_call, or a thread of
 *     a library that a callback attached before): it leaves the blocking
 *     region for the handler, waiting there while the world is stopped,
 *     and enters it again afterwards exactly as it was (its frozen stack,
 *     registers and idle flag, as stw.c's preempt_stw_handler_enter/leave
 *     do for the program's signal handlers; ffi_transition.h's fast
 *     path when no stop is requested);
 *   - running (foreign code called directly: qsort, a library call, a
 *     leaf call): nothing to do, it is stopped and scanned as usual;
 *   - unknown to the runtime (a library's worker thread created before
 *     the runtime, past the pthread_create wrapper, or with
 *     asyncpreempt=0): it is attached for the handler and then left in
 *     the blocking state with nothing to scan (idle), so it never holds a
 *     stop up; the next callback on it finds it blocking, which is cheap.
 *     The thread-exit hook of attaching detaches it when it exits.
 * While the handler runs, the frames between it and the outer blocking
 * region (the closure's, foreign code's) are scanned conservatively like
 * any frame without a map; nested callbacks save and restore each level.
 *
 * The preempt_callback handed to the program is a heap object holding the
 * closure and ctx; a finalizer frees the closure when it is collected. */
#define _GNU_SOURCE
#include "ffi_sig.h"
#include "ffi_transition.h"
#include "stw.h"
#include "threads.h"

#include <string.h>

/* libffi's writable closure, followed by what the dispatcher needs. */
struct closure {
  ffi_closure closure;
  const struct preempt_sig *sig;
  preempt_callback_fn handler;
  void *ctx;
  void (*target)(void); /* preempt_callback_wrap */
};

struct preempt_callback { /* on the collected heap */
  void *code;
  struct closure *c; /* from libffi, never scanned */
  void *ctx;         /* kept alive here */
};

static void run(struct closure *c, ffi_cif *cif, void *ret, void **args) {
  if (c->target) {
    ffi_call(cif, c->target, ret, args); /* widened by libffi already */
    return;
  }
  if (c->sig->narrow_ret) {
    ffi_arg narrow = 0;
    c->handler(&narrow, args, c->ctx);
    preempt_sig_widen(c->sig, ret, &narrow);
    return;
  }
  c->handler(ret, args, c->ctx);
}

/* A thread attached by a callback, between callbacks: blocking, with no
 * frame the collector needs. */
static void go_idle(struct preempt_thread *t) {
  t->saved_sp = t->saved_hi = t->stack_hi;
  t->off_stack = false;
  t->idle = true;
  preempt_ffi_block(t);
}

static void dispatch(ffi_cif *cif, void *ret, void **args, void *data) {
  struct closure *c = data;
  struct preempt_thread *t = preempt_self;
  if (unlikely(!t)) {
    preempt_thread_attach();
    run(c, cif, ret, args);
    go_idle(preempt_self);
    return;
  }
  if (atomic_load_explicit(&t->state, memory_order_relaxed) != THREAD_BLOCKING) {
    run(c, cif, ret, args); /* running: called directly */
    return;
  }
  /* The blocking region as it was: foreign calls the handler makes
   * replace it. */
  struct preempt_blocking_save save = {.sp = t->saved_sp, .hi = t->saved_hi,
                                       .off_stack = t->off_stack,
                                       .idle = t->idle};
  memcpy(save.regs, t->saved_regs, sizeof save.regs);
  t->idle = false;
  preempt_ffi_unblock(t);
  run(c, cif, ret, args);
  memcpy(t->saved_regs, save.regs, sizeof save.regs);
  t->saved_sp = save.sp;
  t->saved_hi = save.hi;
  t->off_stack = save.off_stack;
  t->idle = save.idle;
  preempt_ffi_block(t);
}

static void release(struct preempt_callback *cb) {
  ffi_closure_free(cb->c);
  cb->c = NULL;
  cb->code = NULL;
  cb->ctx = NULL;
}

static void finalize(void *obj, void *arg) {
  (void)arg;
  struct preempt_callback *cb = obj;
  if (cb->c)
    release(cb);
}

static preempt_callback *make(const preempt_sig *sig,
                              preempt_callback_fn handler, void *ctx,
                              void (*target)(void), const char *api) {
  if (!sig || sig->open || sig->nfixed != sig->nargs || (!handler && !target))
    preempt_sig_misuse(sig, api,
                       !sig ? "no signature (NULL)"
                       : (sig->open || sig->nfixed != sig->nargs)
                           ? "a variadic function cannot be a callback"
                           : "no function (NULL)");
  void *code;
  struct closure *c = ffi_closure_alloc(sizeof *c, &code);
  if (!c)
    preempt_fatal("%s: signature \"%s\": libffi cannot allocate a closure "
                  "(out of memory, or executable memory refused)",
                  api, sig->text);
  c->sig = sig;
  c->handler = handler;
  c->ctx = ctx;
  c->target = target;
  if (ffi_prep_closure_loc(&c->closure, (ffi_cif *)&sig->cif, dispatch, c,
                           code) != FFI_OK)
    preempt_fatal("%s: signature \"%s\": libffi cannot prepare a closure",
                  api, sig->text);
  struct preempt_callback *cb =
      preempt_alloc_typed(sizeof *cb, "preempt_callback");
  if (!cb) { /* PREEMPT=oom=null */
    ffi_closure_free(c);
    return NULL;
  }
  cb->code = code;
  cb->c = c;
  cb->ctx = ctx;
  preempt_set_finalizer(cb, finalize, NULL);
  return cb;
}

preempt_callback *preempt_callback_new(const preempt_sig *sig,
                                       preempt_callback_fn handler, void *ctx) {
  return make(sig, handler, ctx, NULL, "preempt_callback_new");
}

preempt_callback *preempt_callback_wrap(const preempt_sig *sig,
                                        void (*fn)(void)) {
  return make(sig, NULL, NULL, fn, "preempt_callback_wrap");
}

void *preempt_callback_code(const preempt_callback *cb) {
  if (!cb || !cb->c)
    preempt_fatal("preempt_callback_code: %s", cb ? "the callback was freed"
                                                  : "no callback (NULL)");
  return cb->code;
}

void preempt_callback_free(preempt_callback *cb) {
  if (!cb)
    return;
  if (!cb->c)
    preempt_fatal("preempt_callback_free(%p): freed already", (void *)cb);
  preempt_set_finalizer(cb, NULL, NULL);
  release(cb);
}
