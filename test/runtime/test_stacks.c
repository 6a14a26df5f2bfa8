/* Collections while a thread runs on a stack other than its own: a signal
 * handler on a sigaltstack, a makecontext coroutine; suspended coroutine
 * stacks keep their objects. */
#include "testutil.h"

#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>

enum { STACK_SIZE = 256 * 1024 };

static void *new_stack(void) {
  void *p = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  cr_assert(p != MAP_FAILED);
  return p;
}

/* co_ctx runs fn on stack, returning to main_ctx when it ends. */
static ucontext_t main_ctx, co_ctx;
static void make_coroutine(void *stack, void (*fn)(void)) {
  cr_assert_eq(getcontext(&co_ctx), 0);
  co_ctx.uc_stack.ss_sp = stack;
  co_ctx.uc_stack.ss_size = STACK_SIZE;
  co_ctx.uc_link = &main_ctx;
  makecontext(&co_ctx, fn, 0);
}

static volatile int handler_ok;

static void on_signal(int sig) {
  (void)sig;
  struct tnode *c = chain(30, 500);
  preempt_gc();
  chain(100, 9000); /* garbage, to reuse freed slots */
  preempt_gc();
  handler_ok = chain_ok(c, 30, 500);
}

Test(stacks, collect_on_a_sigaltstack) {
  stack_t ss = {.ss_sp = new_stack(), .ss_size = STACK_SIZE};
  cr_assert_eq(sigaltstack(&ss, NULL), 0);
  struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_ONSTACK};
  sigemptyset(&sa.sa_mask);
  cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0);
  struct tnode *mine = chain(40, 100); /* on the thread's own stack */
  for (int i = 0; i < 20; i++) {
    handler_ok = 0;
    raise(SIGUSR1);
    cr_assert(handler_ok, "an object of the handler was lost");
  }
  cr_assert(chain_ok(mine, 40, 100), "an object of the interrupted code was lost");
}

static volatile int co_ok;

static void coroutine(void) {
  struct tnode *c = chain(30, 900);
  swapcontext(&co_ctx, &main_ctx); /* suspended: c only on this stack */
  preempt_gc(); /* on the coroutine's stack */
  chain(100, 9000);
  preempt_gc();
  co_ok = chain_ok(c, 30, 900);
}

Test(stacks, coroutines) {
  void *stack = new_stack();
  preempt_add_stack(stack, STACK_SIZE);
  make_coroutine(stack, coroutine);
  struct tnode *mine = chain(40, 100);
  cr_assert_eq(swapcontext(&main_ctx, &co_ctx), 0); /* to its first switch */
  for (int i = 0; i < 3; i++) { /* the coroutine is suspended */
    preempt_gc();
    chain(100, 9000);
  }
  co_ok = 0;
  cr_assert_eq(swapcontext(&main_ctx, &co_ctx), 0); /* it collects, ends */
  cr_assert(co_ok, "an object of the suspended coroutine was lost");
  cr_assert(chain_ok(mine, 40, 100), "an object of the thread's own stack was lost");
  preempt_remove_stack(stack);
  munmap(stack, STACK_SIZE);
}

static void unknown_stack(void) { preempt_gc(); }

Test(stacks, an_unregistered_stack_is_named, .signal = SIGABRT) {
  make_coroutine(new_stack(), unknown_stack);
  swapcontext(&main_ctx, &co_ctx);
}
