/* Non-local control flow and unusual frames. */
#include "edge.h"

#include <alloca.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#define NOINLINE __attribute__((noinline))

/* ---- ucontext coroutines ----------------------------------------------- */

typedef struct Gen {
  ucontext_t caller, self;
  void *stack;
  long value;
  int done;
  void (*body)(struct Gen *);
  int arg;
} Gen;

static Gen *starting; /* makecontext passes only ints: hand over here */

static void yield_value(Gen *g, long v) {
  g->value = v;
  swapcontext(&g->self, &g->caller);
}

static void gen_trampoline(void) {
  Gen *g = starting;
  g->body(g);
  g->done = 1; /* returning resumes uc_link, the caller */
}

static void gen_start(Gen *g, void (*body)(Gen *), int arg) {
  memset(g, 0, sizeof *g);
  g->body = body;
  g->arg = arg;
  g->stack = malloc(128 * 1024);
  if (!g->stack)
    abort();
  getcontext(&g->self);
  g->self.uc_stack.ss_sp = g->stack;
  g->self.uc_stack.ss_size = 128 * 1024;
  g->self.uc_link = &g->caller;
  makecontext(&g->self, gen_trampoline, 0);
}

/* Returns 0 when the generator has finished. */
static int gen_next(Gen *g, long *out) {
  if (g->done)
    return 0;
  starting = g;
  swapcontext(&g->caller, &g->self);
  if (g->done)
    return 0;
  *out = g->value;
  return 1;
}

static void fib_body(Gen *g) {
  long a = 0, b = 1;
  for (int i = 0; i < g->arg; i++) {
    yield_value(g, a);
    long t = a + b;
    a = b;
    b = t;
  }
}

/* Yields from inside a recursion: the whole walk lives on the coroutine's
 * own stack between yields. */
static void walk_implicit_tree(Gen *g, int node, int depth) {
  if (node > g->arg)
    return;
  walk_implicit_tree(g, 2 * node, depth + 1);
  yield_value(g, (long)node * 100 + depth);
  walk_implicit_tree(g, 2 * node + 1, depth + 1);
}

static void tree_body(Gen *g) { walk_implicit_tree(g, 1, 0); }

static void test_coroutines(void) {
  Gen fib, tree;
  gen_start(&fib, fib_body, 50);
  gen_start(&tree, tree_body, 40);
  long f, t;
  unsigned long fsum = 0, tsum = 0; /* unsigned: the hashes wrap */
  int nf = 0, nt = 0;
  int more_f = 1, more_t = 1;
  while (more_f || more_t) { /* interleaved: two live coroutine stacks */
    if (more_f && (more_f = gen_next(&fib, &f))) {
      fsum = fsum * 3 + (unsigned long)(f % 1000);
      nf++;
    }
    if (more_t && (more_t = gen_next(&tree, &t))) {
      tsum = tsum * 7 + (unsigned long)t;
      nt++;
      if (nt <= 5)
        printf("  tree yield %d: node %ld depth %ld\n", nt, t / 100, t % 100);
    }
  }
  printf("coroutines: fib %d values, hash %lu; tree %d values, hash %lu\n", nf,
         fsum, nt, tsum);
  free(fib.stack);
  free(tree.stack);
}

/* ---- __builtin_setjmp -------------------------------------------------- */

static void *sjlj_buf[5];
static int sjlj_depth;

NOINLINE static void sjlj_thrower(int n) {
  sjlj_depth++;
  if (n == 0)
    __builtin_longjmp(sjlj_buf, 1);
  sjlj_thrower(n - 1);
  sjlj_depth += 1000; /* never reached */
}

NOINLINE static int sjlj_catcher(int n) {
  const char *volatile text = "abcdef";
  if (__builtin_setjmp(sjlj_buf) == 0) {
    sjlj_thrower(n);
    return -1;
  }
  return sjlj_depth * 10 + text[n % 6];
}

/* ---- sigsetjmp out of a signal handler --------------------------------- */

static sigjmp_buf sig_jb;
static volatile sig_atomic_t handled;

static void on_usr1(int sig) {
  handled++;
  siglongjmp(sig_jb, sig);
}

NOINLINE static long nested_raise(int depth, long acc) {
  if (depth == 0) {
    raise(SIGUSR1);
    return -1; /* not reached: the handler jumps out */
  }
  return nested_raise(depth - 1, acc * 2 + depth) + 1;
}

static void test_jumps(void) {
  int s = 0;
  for (int i = 0; i < 6; i++) {
    sjlj_depth = 0;
    s += sjlj_catcher(i);
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, NULL);
  volatile int caught = 0;
  for (volatile int i = 0; i < 5; i++) {
    if (sigsetjmp(sig_jb, 1) == 0) /* 1: restore the signal mask */
      nested_raise(i * 3, 1);
    else
      caught++;
  }
  signal(SIGUSR1, SIG_DFL);
  printf("jumps: builtin %d, signals handled %d caught %d\n", s, (int)handled,
         caught);
}

/* ---- alloca and VLAs in loops ------------------------------------------ */

NOINLINE static uint32_t checksum_bytes(const unsigned char *p, size_t n) {
  uint32_t h = 0;
  for (size_t i = 0; i < n; i++)
    h = h * 31 + p[i];
  return h;
}

static uint32_t scratch_buffers(void) {
  uint32_t h = 0;
  unsigned char *keep[8]; /* alloca memory lives until the function returns */
  for (int i = 0; i < 8; i++) {
    size_t n = 16 + (size_t)i * 24;
    keep[i] = alloca(n);
    memset(keep[i], 'a' + i, n);
  }
  for (int round = 0; round < 50; round++) {
    int n = 1 + (round * 37) % 200;
    unsigned char vla[n]; /* released at the end of each iteration */
    for (int i = 0; i < n; i++)
      vla[i] = (unsigned char)(i * round);
    h ^= checksum_bytes(vla, (size_t)n) + (uint32_t)round;
  }
  for (int i = 0; i < 8; i++) /* still intact after the VLAs came and went */
    h = h * 17 + checksum_bytes(keep[i], 16 + (size_t)i * 24);
  return h;
}

/* ---- computed goto with calls in the handlers -------------------------- */

NOINLINE static double apply_fn(int which, double x) {
  switch (which) {
  case 0: return x * x;
  case 1: return x + 1.5;
  case 2: return x / 3.0;
  default: return -x;
  }
}

typedef enum { C_PUSH, C_FN, C_ADD, C_MUL, C_DUP, C_LOOP, C_END } COp;

static double run_calc(const int *code, const double *consts) {
  static const void *const labels[] = {&&push, &&fn, &&add, &&mul,
                                       &&dup,  &&loop, &&end};
  double stack[32];
  int sp = 0, pc = 0, counter = 0;
#define DISPATCH() goto *labels[code[pc++]]
  DISPATCH();
push:
  stack[sp++] = consts[code[pc++]];
  DISPATCH();
fn:
  stack[sp - 1] = apply_fn(code[pc++], stack[sp - 1]);
  DISPATCH();
add:
  sp--;
  stack[sp - 1] += stack[sp];
  DISPATCH();
mul:
  sp--;
  stack[sp - 1] *= stack[sp];
  DISPATCH();
dup:
  stack[sp] = stack[sp - 1];
  sp++;
  DISPATCH();
loop: { /* jump back to code[pc] while counter < code[pc + 1] */
  int target = code[pc], times = code[pc + 1];
  pc += 2;
  if (++counter < times)
    pc = target;
  DISPATCH();
}
end:
#undef DISPATCH
  return stack[sp - 1];
}

static void test_computed_goto(void) {
  static const double consts[] = {1.0, 0.5, 2.0};
  static const int code[] = {
      C_PUSH, 0,                         /* acc = 1 */
      C_DUP,  C_FN,   1, C_PUSH, 1, C_MUL, /* t = (acc + 1.5) * 0.5 */
      C_FN,   2,      C_ADD,             /* acc = acc + t / 3 */
      C_LOOP, 2,      25,                /* repeat from 2, 25 times */
      C_FN,   0,      C_END};
  printf("computed goto: %.12f\n", run_calc(code, consts));
}

/* ---- deep recursion ---------------------------------------------------- */

typedef struct Cell {
  struct Cell *next;
  long v;
} Cell;

/* Not a tail call: the link is set after the recursive call returns. */
NOINLINE static Cell *build(long n) {
  if (n == 0)
    return NULL;
  Cell *c = malloc(sizeof *c);
  if (!c)
    abort();
  c->v = n * n % 1009;
  c->next = build(n - 1);
  return c;
}

NOINLINE static long sum_free(Cell *c) {
  if (!c)
    return 0;
  Cell *next = c->next;
  long v = c->v;
  free(c);
  return v + sum_free(next);
}

/* ---- forced unwinding through cleanups --------------------------------- */

static long cleanup_log;
static pthread_mutex_t cl_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cl_cond = PTHREAD_COND_INITIALIZER;
static int cl_ready;
static int cl_release; /* never set: the waiting thread is cancelled */

static void note_cleanup(long *tag) {
  pthread_mutex_lock(&cl_lock);
  cleanup_log = cleanup_log * 10 + *tag;
  pthread_mutex_unlock(&cl_lock);
}

static void free_cleanup(char **p) { free(*p); }

static void unlock_routine(void *arg) { pthread_mutex_unlock(arg); }

NOINLINE static void exit_deep(int n) {
  long tag __attribute__((cleanup(note_cleanup))) = n;
  char *buf __attribute__((cleanup(free_cleanup))) = malloc(64);
  snprintf(buf, 64, "level %d", n);
  if (n == 1)
    pthread_exit((void *)(intptr_t)(long)strlen(buf)); /* unwinds through us */
  exit_deep(n - 1);
}

static void *exit_thread(void *arg) {
  exit_deep((int)(intptr_t)arg);
  return NULL;
}

NOINLINE static void wait_deep(int n) {
  long tag __attribute__((cleanup(note_cleanup))) = n + 5;
  if (n > 1) {
    wait_deep(n - 1);
    return;
  }
  pthread_mutex_lock(&cl_lock);
  pthread_cleanup_push(unlock_routine, &cl_lock); /* cond_wait relocks it */
  cl_ready = 1;
  pthread_cond_broadcast(&cl_cond);
  while (!cl_release) /* cancelled inside the wait */
    pthread_cond_wait(&cl_cond, &cl_lock);
  pthread_cleanup_pop(1);
}

static void *cancel_thread(void *arg) {
  wait_deep((int)(intptr_t)arg);
  return NULL;
}

static void test_unwinding(void) {
  pthread_t t;
  void *ret;
  pthread_create(&t, NULL, exit_thread, (void *)4);
  pthread_join(t, &ret);
  printf("pthread_exit: returned %ld, cleanups %ld\n", (long)(intptr_t)ret,
         cleanup_log);

  cleanup_log = 0;
  pthread_create(&t, NULL, cancel_thread, (void *)3);
  pthread_mutex_lock(&cl_lock);
  while (!cl_ready)
    pthread_cond_wait(&cl_cond, &cl_lock);
  pthread_mutex_unlock(&cl_lock);
  pthread_cancel(t);
  pthread_join(t, &ret);
  printf("pthread_cancel: %s, cleanups %ld\n",
         ret == PTHREAD_CANCELED ? "canceled" : "not canceled", cleanup_log);
}

void run_flow_tests(void) {
  test_coroutines();
  test_jumps();
  printf("scratch buffers: %08x\n", scratch_buffers());
  test_computed_goto();
  Cell *list = build(20000);
  printf("deep recursion: %ld\n", sum_free(list));
  test_unwinding();
}
