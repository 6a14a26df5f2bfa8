/* Stopping the world by signal, and the public stop-the-world API.
 *
 * Threads spin in loops with no call (no safepoint: only a signal stops
 * them), block in calls without any wrapper, or run callbacks on a
 * foreign library's thread; the world must stop (a timeout fails the test
 * rather than hanging), stay stopped (no spinner advances), start again,
 * and keep every object a stopped thread holds.  The program's own
 * handler for the stop signal keeps getting its signals.  Settings
 * (another signal, signals off, stwcheck, trace) run this binary again
 * with PREEMPT set (run_self_env). */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <time.h>

int foreign_pool_run(void (*fn)(void *), void *arg, pthread_t *th);

static char out[16384];

#define MAXSPIN 4
static _Atomic unsigned long progress[MAXSPIN];
static _Atomic int quit;

/* No call in the loop: nothing but a signal can stop it. */
static void *spinner(void *arg) {
  long i = (long)arg;
  while (!atomic_load_explicit(&quit, memory_order_relaxed))
    atomic_fetch_add_explicit(&progress[i], 1, memory_order_relaxed);
  return NULL;
}

static void start_spinners(pthread_t *th, int n) {
  atomic_store(&quit, 0);
  for (long i = 0; i < n; i++)
    cr_assert_eq(pthread_create(&th[i], NULL, spinner, (void *)i), 0);
}

static void stop_spinners(pthread_t *th, int n) {
  atomic_store(&quit, 1);
  for (int i = 0; i < n; i++)
    pthread_join(th[i], NULL);
}

/* Until every spinner has visibly run since the last call. */
static void wait_running(int n) {
  for (int i = 0; i < n; i++) {
    unsigned long c = atomic_load(&progress[i]);
    while (atomic_load(&progress[i]) == c)
      sched_yield();
  }
}

static void spin_us(long us) {
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  do
    clock_gettime(CLOCK_MONOTONIC, &b);
  while ((b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000 < us);
}

/* With the world stopped: no spinner moves.  No malloc, no stdio here. */
static int frozen(int n) {
  unsigned long before[MAXSPIN];
  for (int i = 0; i < n; i++)
    before[i] = atomic_load(&progress[i]);
  spin_us(200);
  for (int i = 0; i < n; i++)
    if (atomic_load(&progress[i]) != before[i])
      return i + 1;
  return 0;
}

Test(stw, spinners_stop_and_restart, .timeout = 60) {
  pthread_t th[MAXSPIN];
  start_spinners(th, 3);
  for (int r = 0; r < 300; r++) {
    wait_running(3);
    preempt_stop_the_world("test");
    int moved = frozen(3);
    preempt_start_the_world();
    cr_assert_eq(moved, 0, "spinner %d advanced while the world was stopped",
                 moved - 1);
    if (r % 30 == 0)
      preempt_gc();
  }
  wait_running(3); /* and they run again */
  stop_spinners(th, 3);
}

static void check_frozen(void *arg) { *(int *)arg = frozen(2); }

Test(stw, with_world_stopped, .timeout = 30) {
  pthread_t th[MAXSPIN];
  start_spinners(th, 2);
  for (int r = 0; r < 50; r++) {
    wait_running(2);
    int moved = -1;
    preempt_with_world_stopped("with", check_frozen, &moved);
    cr_assert_eq(moved, 0, "a spinner advanced inside preempt_with_world_stopped");
  }
  stop_spinners(th, 2);
}

/* ---- threads that hold objects but never allocate ------------------------ */

static _Atomic int held_ready;

/* The only pointer to the chain is in this frame; the thread spins,
 * then checks it. */
static void *holder(void *arg) {
  struct tnode *h = chain(50, 1000);
  (void)arg;
  atomic_fetch_add(&held_ready, 1);
  while (!atomic_load_explicit(&quit, memory_order_relaxed))
    ;
  return (void *)(intptr_t)chain_ok(h, 50, 1000);
}

Test(stw, spinning_holder_keeps_its_objects, .timeout = 60) {
  pthread_t th;
  atomic_store(&quit, 0);
  atomic_store(&held_ready, 0);
  cr_assert_eq(pthread_create(&th, NULL, holder, NULL), 0);
  while (!atomic_load(&held_ready))
    sched_yield();
  for (int i = 0; i < 20; i++)
    preempt_gc();
  atomic_store(&quit, 1);
  void *ok;
  pthread_join(th, &ok);
  cr_assert(ok, "a stopped thread's chain was collected");
}

/* Blocked without any wrapper: in read() (restarted after the stop),
 * pthread_join, a raw futex wait. */
static int pipefd[2];
static _Atomic unsigned futex_word;
static _Atomic int blocked_errors;

static void *reader(void *arg) {
  struct tnode *h = chain(30, 2000);
  (void)arg;
  atomic_fetch_add(&held_ready, 1);
  char c = 0;
  ssize_t r = read(pipefd[0], &c, 1);
  if (r != 1 || c != 'x')
    atomic_fetch_add(&blocked_errors, 1); /* EINTR would land here */
  return (void *)(intptr_t)chain_ok(h, 30, 2000);
}

static void *futex_waiter(void *arg) {
  struct tnode *h = chain(30, 3000);
  (void)arg;
  atomic_fetch_add(&held_ready, 1);
  while (atomic_load(&futex_word) == 0)
    syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
  return (void *)(intptr_t)chain_ok(h, 30, 3000);
}

static void *joiner(void *arg) {
  struct tnode *h = chain(30, 4000);
  atomic_fetch_add(&held_ready, 1);
  void *ignored;
  pthread_join(*(pthread_t *)arg, &ignored);
  return (void *)(intptr_t)chain_ok(h, 30, 4000);
}

Test(stw, blocked_threads_need_no_wrapper, .timeout = 60) {
  pthread_t r, f, j;
  cr_assert_eq(pipe(pipefd), 0);
  atomic_store(&held_ready, 0);
  atomic_store(&futex_word, 0);
  cr_assert_eq(pthread_create(&r, NULL, reader, NULL), 0);
  cr_assert_eq(pthread_create(&f, NULL, futex_waiter, NULL), 0);
  cr_assert_eq(pthread_create(&j, NULL, joiner, &f), 0);
  while (atomic_load(&held_ready) < 3)
    sched_yield();
  spin_us(20000); /* all three inside their calls */
  for (int i = 0; i < 200; i++) {
    preempt_stop_the_world("blocked");
    preempt_start_the_world();
    if (i % 20 == 0)
      preempt_gc();
  }
  cr_assert_eq(write(pipefd[1], "x", 1), 1);
  atomic_store(&futex_word, 1);
  syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
  void *ok_r, *ok_f, *ok_j;
  pthread_join(r, &ok_r);
  pthread_join(j, &ok_j); /* joins f */
  ok_f = ok_j;
  cr_assert_eq(atomic_load(&blocked_errors), 0, "read() failed (EINTR?)");
  cr_assert(ok_r && ok_f && ok_j, "a blocked thread's chain was collected");
}

/* A foreign library's own thread calls back into instrumented code. */
static _Atomic int callback_result;

static void callback(void *arg) {
  (void)arg;
  struct tnode *h = chain(40, 5000);
  atomic_store(&held_ready, 1);
  while (!atomic_load_explicit(&quit, memory_order_relaxed))
    ;
  atomic_store(&callback_result, chain_ok(h, 40, 5000) ? 1 : -1);
}

Test(stw, foreign_thread_callback, .timeout = 60) {
  pthread_t th;
  atomic_store(&quit, 0);
  atomic_store(&held_ready, 0);
  cr_assert_eq(foreign_pool_run(callback, NULL, &th), 0);
  while (!atomic_load(&held_ready))
    sched_yield();
  for (int i = 0; i < 20; i++)
    preempt_gc();
  atomic_store(&quit, 1);
  pthread_join(th, NULL);
  cr_assert_eq(atomic_load(&callback_result), 1,
               "the callback's chain was collected");
}

/* Was a bug: a library's signal thread, waiting with every signal blocked
 * (in sigwait for all of them, or in sigsuspend or ppoll with a mask that
 * blocks the stop signal), took the stop signal as its own or never got
 * it, and the first collection waited for ever.  Such calls are a
 * blocking region for every caller, not only for instrumented code. */
struct foreign_waiter {
  int mode;
  _Atomic int quit, waiting, got_urg;
};
int foreign_waiter_start(struct foreign_waiter *w, pthread_t *th);

static void on_usr1(int sig) { (void)sig; }

static void run_waiter(int mode, const char *what) {
  struct sigaction sa = {.sa_handler = on_usr1};
  cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0);
  static struct foreign_waiter w;
  memset(&w, 0, sizeof w);
  w.mode = mode;
  pthread_t th;
  cr_assert_eq(foreign_waiter_start(&w, &th), 0);
  while (!atomic_load(&w.waiting))
    sched_yield();
  struct tnode *keep = chain(20, 7000);
  for (int i = 0; i < 200; i++) {
    preempt_gc();
    preempt_stop_the_world(what);
    preempt_start_the_world();
  }
  cr_assert(chain_ok(keep, 20, 7000));
  atomic_store(&w.quit, 1);
  while (pthread_tryjoin_np(th, NULL) == EBUSY) {
    pthread_kill(th, SIGUSR1);
    usleep(1000);
  }
  cr_assert_eq(atomic_load(&w.got_urg), 0, "%s: the library's thread was "
               "given the stop signal", what);
}

Test(stw, foreign_sigwait_all, .timeout = 60) { run_waiter(0, "sigwait"); }
Test(stw, foreign_sigsuspend_all_blocked, .timeout = 60) {
  run_waiter(1, "sigsuspend");
}
Test(stw, foreign_ppoll_all_blocked, .timeout = 60) { run_waiter(2, "ppoll"); }

#ifdef __x86_64__
#include <sys/mman.h>
/* Code no loaded object owns, without unwind information (a JIT's):
 *   1: incq (%rdi); cmpl $0, (%rsi); je 1b; ret */
static const unsigned char jit_loop[] = {0x48, 0xff, 0x07, 0x83, 0x3e, 0x00,
                                         0x74, 0xf8, 0xc3};
typedef void jit_fn(_Atomic unsigned long *counter, _Atomic int *quit);

static void *jit_spinner(void *code) {
  struct tnode *h = chain(20, 6000);
  atomic_store(&held_ready, 1);
  ((jit_fn *)code)(&progress[0], &quit);
  return (void *)(intptr_t)chain_ok(h, 20, 6000);
}

Test(stw, thread_in_jit_code, .timeout = 60) {
  unsigned char *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  cr_assert_neq(code, MAP_FAILED);
  memcpy(code, jit_loop, sizeof jit_loop);
  cr_assert_eq(mprotect(code, 4096, PROT_READ | PROT_EXEC), 0);
  pthread_t th;
  atomic_store(&quit, 0);
  atomic_store(&held_ready, 0);
  cr_assert_eq(pthread_create(&th, NULL, jit_spinner, code), 0);
  while (!atomic_load(&held_ready))
    sched_yield();
  for (int i = 0; i < 50; i++) {
    wait_running(1);
    preempt_stop_the_world("jit");
    int moved = frozen(1);
    preempt_start_the_world();
    cr_assert_eq(moved, 0, "the thread in JIT code was not stopped");
    if (i % 10 == 0)
      preempt_gc();
  }
  atomic_store(&quit, 1);
  void *ok;
  pthread_join(th, &ok);
  cr_assert(ok, "the JIT thread's chain was collected");
  munmap(code, 4096);
}
#endif

/* ---- unsafe ranges: never stopped inside, stopped right after ---------- */

static _Atomic int in_range;
#define HIDE_KEY ((uintptr_t)0x7f7f7f7f7f7f7f7full)

/* The node exists only xor'ed during the spin: a stop inside would free
 * it.  No call in the range. */
static struct tnode *hidden_spin(struct tnode *p, unsigned long iters) {
  preempt_unsafe_begin(p);
  atomic_store_explicit(&in_range, 1, memory_order_relaxed);
  uintptr_t h = (uintptr_t)p ^ HIDE_KEY;
  for (unsigned long i = 0; i < iters; i++)
    atomic_fetch_add_explicit(&progress[0], 1, memory_order_relaxed);
  struct tnode *q = (struct tnode *)(h ^ HIDE_KEY);
  atomic_store_explicit(&in_range, 0, memory_order_relaxed);
  preempt_unsafe_end(q);
  return q;
}

PREEMPT_UNSAFE static void unsafe_function_spin(unsigned long iters) {
  atomic_store_explicit(&in_range, 2, memory_order_relaxed);
  for (unsigned long i = 0; i < iters; i++)
    atomic_fetch_add_explicit(&progress[0], 1, memory_order_relaxed);
  atomic_store_explicit(&in_range, 0, memory_order_relaxed);
}

static _Atomic int range_failures;

static void *range_runner(void *arg) {
  (void)arg;
  uint64_t id = 7000;
  while (!atomic_load_explicit(&quit, memory_order_relaxed)) {
    struct tnode *n = hidden_spin(tnode_new(id), 20000);
    if (n->check != tcheck(id) || n->id != id)
      atomic_fetch_add(&range_failures, 1);
    unsafe_function_spin(20000);
    id++;
  }
  return NULL;
}

/* Whether the range runner was inside a range while the world stood. */
static void check_outside(void *arg) {
  *(int *)arg |= atomic_load_explicit(&in_range, memory_order_relaxed);
}

Test(stw, unsafe_ranges, .timeout = 120) {
  pthread_t th;
  atomic_store(&quit, 0);
  atomic_store(&range_failures, 0);
  cr_assert_eq(pthread_create(&th, NULL, range_runner, NULL), 0);
  int inside = 0;
  for (int i = 0; i < 300; i++) {
    wait_running(1);
    preempt_with_world_stopped("ranges", check_outside, &inside);
    if (i % 10 == 0)
      preempt_gc(); /* frees the hidden node if it stops in the range */
  }
  atomic_store(&quit, 1);
  pthread_join(th, NULL);
  cr_assert_eq(inside, 0, "stopped inside an unsafe range (%d)", inside);
  cr_assert_eq(atomic_load(&range_failures), 0,
               "a node hidden in an unsafe range was freed");
}

/* A thread in a dl_iterate_phdr callback holds the loader's lock, which a
 * collection takes to scan globals: it must not be stopped there. */
#include <link.h>
static int slow_callback(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)info;
  (void)size;
  (void)arg;
  atomic_store(&held_ready, 1);
  for (unsigned long i = 0; i < 20000000; i++) /* ~20 ms, no call */
    atomic_fetch_add_explicit(&progress[0], 1, memory_order_relaxed);
  return 1;
}

static void *phdr_walker(void *arg) {
  (void)arg;
  while (!atomic_load_explicit(&quit, memory_order_relaxed))
    dl_iterate_phdr(slow_callback, NULL);
  return NULL;
}

Test(stw, thread_in_dl_iterate_phdr_callback, .timeout = 60) {
  pthread_t th;
  atomic_store(&quit, 0);
  atomic_store(&held_ready, 0);
  cr_assert_eq(pthread_create(&th, NULL, phdr_walker, NULL), 0);
  while (!atomic_load(&held_ready))
    sched_yield();
  for (int i = 0; i < 10; i++)
    preempt_gc();
  atomic_store(&quit, 1);
  pthread_join(th, NULL);
}

/* ---- several stoppers, a stopper that is not attached --------------------- */

static _Atomic int inside;

static void *stopper(void *arg) {
  (void)arg;
  for (int i = 0; i < 100; i++) {
    preempt_stop_the_world("concurrent");
    if (atomic_fetch_add(&inside, 1) != 0)
      abort(); /* two stops at once */
    spin_us(20);
    atomic_fetch_sub(&inside, 1);
    preempt_start_the_world();
    if (i % 25 == 0)
      preempt_gc();
  }
  return NULL;
}

Test(stw, concurrent_stops_are_serialised, .timeout = 120) {
  pthread_t sp[MAXSPIN], st[3];
  start_spinners(sp, 1);
  for (int i = 0; i < 3; i++)
    cr_assert_eq(pthread_create(&st[i], NULL, stopper, NULL), 0);
  for (int i = 0; i < 3; i++)
    pthread_join(st[i], NULL);
  stop_spinners(sp, 1);
}

static void *detached_stopper(void *arg) {
  preempt_thread_detach(); /* not attached from here on */
  for (int i = 0; i < 50; i++) {
    preempt_stop_the_world("unattached");
    *(int *)arg |= frozen(1);
    preempt_start_the_world();
  }
  return NULL;
}

Test(stw, unattached_thread_stops_the_world, .timeout = 60) {
  pthread_t sp[MAXSPIN], st;
  int moved = 0;
  start_spinners(sp, 1);
  cr_assert_eq(pthread_create(&st, NULL, detached_stopper, &moved), 0);
  pthread_join(st, NULL);
  stop_spinners(sp, 1);
  cr_assert_eq(moved, 0, "the spinner advanced while stopped");
}

/* ---- telemetry ------------------------------------------------------------ */

Test(stw, stats_per_reason, .timeout = 60) {
  pthread_t th[MAXSPIN];
  start_spinners(th, 2);
  for (int i = 0; i < 40; i++) {
    wait_running(2);
    preempt_stop_the_world("stats-test");
    preempt_start_the_world();
  }
  preempt_gc();
  stop_spinners(th, 2);
  struct preempt_stw_stats s[8];
  size_t n = preempt_read_stw_stats(s, 8);
  const struct preempt_stw_stats *mine = NULL, *gc = NULL;
  for (size_t i = 0; i < n && i < 8; i++) {
    if (!strcmp(s[i].reason, "stats-test"))
      mine = &s[i];
    if (!strcmp(s[i].reason, "gc"))
      gc = &s[i];
  }
  cr_assert(mine && gc, "reasons missing from preempt_read_stw_stats");
  cr_assert_eq(mine->stops, 40);
  cr_assert_geq(mine->signals, 80, "two running spinners, 40 stops: %llu signals",
                (unsigned long long)mine->signals);
  cr_assert(mine->ttsp_p50_ns > 0 && mine->ttsp_p50_ns <= mine->ttsp_p99_ns &&
            mine->ttsp_p99_ns <= mine->ttsp_max_ns);
  cr_assert_geq(gc->stops, 1);
}

/* The reason may be a buffer that does not outlive the call: a stop is
 * counted under the reason it was made with. */
__attribute__((noinline)) static void stop_with_reason_in(char *buf, int i) {
  snprintf(buf, 32, "stack-reason-%d", i % 2);
  preempt_stop_the_world(buf);
  memset(buf, 'X', 31);
  buf[31] = 0;
}

Test(stw, stats_keep_a_reason_that_did_not_outlive_the_call, .timeout = 60) {
  for (int i = 0; i < 10; i++) {
    char buf[32];
    stop_with_reason_in(buf, i);
    preempt_start_the_world();
  }
  struct preempt_stw_stats s[8];
  size_t n = preempt_read_stw_stats(s, 8);
  int found = 0;
  for (size_t i = 0; i < n && i < 8; i++) {
    cr_expect(!strchr(s[i].reason, 'X'), "a reason read after the call: %s",
              s[i].reason);
    if (!strncmp(s[i].reason, "stack-reason-", 13)) {
      found++;
      cr_expect_eq(s[i].stops, 5, "%s: %llu stops", s[i].reason,
                   (unsigned long long)s[i].stops);
    }
  }
  cr_assert_eq(found, 2, "reasons missing from preempt_read_stw_stats");
}

/* ---- misuse: clear fatal errors ------------------------------------------- */

Test(stw, nested_stop_is_fatal, .signal = SIGABRT) {
  preempt_stop_the_world("outer");
  preempt_stop_the_world("inner");
}

Test(stw, start_without_stop_is_fatal, .signal = SIGABRT) {
  preempt_start_the_world();
}

Test(stw, collecting_while_stopped_is_fatal, .signal = SIGABRT) {
  preempt_stop_the_world("then gc");
  preempt_gc();
}

Test(stw, large_allocation_while_stopped_is_fatal, .signal = SIGABRT) {
  preempt_stop_the_world("then alloc");
  opaque(preempt_alloc(1 << 20)); /* the slow path needs the heap lock */
}

static _Atomic int go_start, other_detached;

static void *start_other(void *arg) {
  (void)arg;
  preempt_thread_detach(); /* so that the stop does not stop it */
  atomic_store(&other_detached, 1);
  while (!atomic_load(&go_start))
    sched_yield();
  preempt_start_the_world();
  return NULL;
}

Test(stw, starting_anothers_stop_is_fatal, .signal = SIGABRT) {
  pthread_t th;
  pthread_create(&th, NULL, start_other, NULL);
  while (!atomic_load(&other_detached)) /* a stop now would wait for it */
    sched_yield();
  preempt_stop_the_world("mine");
  atomic_store(&go_start, 1);
  pthread_join(th, NULL);
}

/* ---- the program's own handler for the stop signal ----------------------- */

static _Atomic int user_signals;
static void user_handler(int sig) {
  (void)sig;
  atomic_fetch_add(&user_signals, 1);
}

/* Real signals the program sends itself while stops go on: each reaches
 * its handler exactly once, and no stop request does. */
static void chained_handler_gets_its_signals(int sig) {
  pthread_t th[MAXSPIN];
  atomic_store(&user_signals, 0);
  start_spinners(th, 2);
  int sent = 0;
  for (int i = 0; i < 100; i++) {
    wait_running(2);
    preempt_stop_the_world("chain");
    preempt_start_the_world();
    if (i % 2 == 0) {
      /* To the process (any thread) and to a spinner. */
      cr_assert_eq(i % 4 ? kill(getpid(), sig) : pthread_kill(th[0], sig), 0);
      sent++;
      while (atomic_load(&user_signals) < sent)
        sched_yield();
    }
  }
  stop_spinners(th, 2);
  spin_us(10000);
  cr_assert_eq(atomic_load(&user_signals), sent,
               "%d signals sent, the program's handler ran %d times", sent,
               atomic_load(&user_signals));
}

Test(stw, program_handler_installed_after_runtime, .timeout = 60) {
  struct sigaction a = {.sa_handler = user_handler}, old;
  sigemptyset(&a.sa_mask);
  cr_assert_eq(sigaction(SIGURG, &a, &old), 0);
  cr_assert(old.sa_handler == SIG_DFL, "the runtime's handler leaked out");
  chained_handler_gets_its_signals(SIGURG);
  /* And it reads back as the program's. */
  cr_assert_eq(sigaction(SIGURG, NULL, &old), 0);
  cr_assert(old.sa_handler == user_handler);
  cr_assert(signal(SIGURG, SIG_DFL) == user_handler);
}

/* Two attached threads whose ids are 4096 apart, which a count of sends
 * kept by id modulo a table size would share: each send to one, arriving
 * beside a stop request at the other, looked like a send that request
 * swallowed, and the program's handler ran there too. */
#define ID_STRIDE 4096
static _Atomic long twin_tid[2], twin_calls[2];
static _Atomic int twin_decided;

static void twin_handler(int sig) {
  (void)sig;
  long me = syscall(SYS_gettid);
  for (int i = 0; i < 2; i++)
    if (me == atomic_load(&twin_tid[i]))
      atomic_fetch_add(&twin_calls[i], 1);
}

/* Spins as spinner i if its id is the first's modulo ID_STRIDE (or it is
 * the first); otherwise ends at once. */
static void *twin_candidate(void *arg) {
  long i = (long)arg, me = syscall(SYS_gettid);
  if (i == 1 && (me - atomic_load(&twin_tid[0])) % ID_STRIDE != 0) {
    atomic_store(&twin_decided, -1);
    return NULL;
  }
  atomic_store(&twin_tid[i], me);
  atomic_store(&twin_decided, 1);
  return spinner(arg);
}

static pthread_t twin_start(long i) {
  pthread_t th;
  atomic_store(&twin_decided, 0);
  cr_assert_eq(pthread_create(&th, NULL, twin_candidate, (void *)i), 0);
  while (!atomic_load(&twin_decided))
    sched_yield();
  return th;
}

Test(stw, sends_to_a_thread_are_its_own_whatever_its_id, .timeout = 120) {
  struct sigaction a = {.sa_handler = twin_handler};
  sigemptyset(&a.sa_mask);
  cr_assert_eq(sigaction(SIGURG, &a, NULL), 0);
  atomic_store(&quit, 0);
  pthread_t th[2];
  th[0] = twin_start(0);
  /* Thread ids come in order, and the threads tried on the way attach
   * and detach: the tables of counts churn. */
  int tries = 0;
  for (;; tries++) {
    if (tries == 8 * ID_STRIDE * 10) {
      stop_spinners(th, 1);
      cr_skip_test("no thread id %d away from %ld in %d threads", ID_STRIDE,
                   atomic_load(&twin_tid[0]), tries);
    }
    th[1] = twin_start(1);
    if (atomic_load(&twin_decided) == 1)
      break;
    pthread_join(th[1], NULL);
  }
  for (int i = 0; i < 50; i++) {
    cr_assert_eq(tgkill(getpid(), (pid_t)atomic_load(&twin_tid[0]), SIGURG), 0);
    while (atomic_load(&twin_calls[0]) < i + 1)
      sched_yield();
    wait_running(2);
    preempt_stop_the_world("twins");
    preempt_start_the_world();
  }
  stop_spinners(th, 2);
  cr_assert_eq(atomic_load(&twin_calls[0]), 50);
  cr_assert_eq(atomic_load(&twin_calls[1]), 0,
               "threads %ld and %ld (after %d tries): the program's handler "
               "ran %ld times on the one it was never sent to",
               atomic_load(&twin_tid[0]), atomic_load(&twin_tid[1]), tries,
               atomic_load(&twin_calls[1]));
}

/* Installed before the runtime took the signal over: the handler is in
 * place when preempt_set_stop_signal moves the runtime onto SIGUSR2. */
Test(stw, program_handler_installed_before_runtime, .timeout = 60) {
  if (!in_env_child())
    return;
  cr_assert(signal(SIGUSR2, user_handler) != SIG_ERR);
  cr_assert_eq(preempt_set_stop_signal(SIGUSR2), 0);
  chained_handler_gets_its_signals(SIGUSR2);
}

Test(stw, handler_before_runtime_child, .timeout = 90) {
  int st = run_self_env("test_stw", "", "stw/program_handler_installed_before_runtime",
                        out, sizeof out);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child failed:\n%s", out);
  cr_assert(strstr(out, "Passing: 1"), "the child test did not run:\n%s", out);
}

/* The mask calls leave the stop signal deliverable. */
Test(stw, blocking_all_signals_still_stops, .timeout = 60) {
  sigset_t all, now;
  sigfillset(&all);
  cr_assert_eq(pthread_sigmask(SIG_BLOCK, &all, NULL), 0);
  cr_assert_eq(sigprocmask(SIG_SETMASK, &all, NULL), 0);
  pthread_t th[MAXSPIN];
  start_spinners(th, 1); /* inherits the mask */
  for (int i = 0; i < 20; i++) {
    wait_running(1);
    preempt_stop_the_world("masked");
    int moved = frozen(1);
    preempt_start_the_world();
    cr_assert_eq(moved, 0);
  }
  stop_spinners(th, 1);
  cr_assert_eq(pthread_sigmask(SIG_SETMASK, NULL, &now), 0);
  cr_assert(!sigismember(&now, SIGURG), "the stop signal was blocked");
  cr_assert(sigismember(&now, SIGUSR1), "other signals were not blocked");
}

/* Another signal of the program's, sent to a thread the world has
 * stopped, waits until the world runs again: its handler may touch the
 * heap. */
static _Atomic int world_stopped_now, handler_saw_stopped, usr1_count;

static void usr1_handler(int sig) {
  (void)sig;
  if (atomic_load(&world_stopped_now))
    atomic_store(&handler_saw_stopped, 1);
  opaque(preempt_alloc(32));
  atomic_fetch_add(&usr1_count, 1);
}

Test(stw, program_signals_wait_while_stopped, .timeout = 60) {
  struct sigaction a = {.sa_handler = usr1_handler};
  sigemptyset(&a.sa_mask);
  cr_assert_eq(sigaction(SIGUSR1, &a, NULL), 0);
  pthread_t th[MAXSPIN];
  start_spinners(th, 1);
  for (int i = 0; i < 50; i++) {
    wait_running(1);
    preempt_stop_the_world("usr1");
    atomic_store(&world_stopped_now, 1);
    pthread_kill(th[0], SIGUSR1);
    spin_us(500);
    atomic_store(&world_stopped_now, 0);
    preempt_start_the_world();
    while (atomic_load(&usr1_count) <= i)
      sched_yield();
  }
  stop_spinners(th, 1);
  cr_assert_eq(atomic_load(&handler_saw_stopped), 0,
               "a handler ran on a thread while the world was stopped");
}

/* ---- settings -------------------------------------------------------------- */

static void *polling_spinner(void *arg) {
  long i = (long)arg;
  /* Without signals a thread is attached at its first runtime call. */
  preempt_thread_attach();
  while (!atomic_load_explicit(&quit, memory_order_relaxed)) {
    atomic_fetch_add_explicit(&progress[i], 1, memory_order_relaxed);
    preempt_safepoint();
  }
  return NULL;
}

/* Stops n times with a spinner that polls; returns the signals sent. */
static unsigned long long stops_with_poller(const char *reason, int n) {
  pthread_t th;
  atomic_store(&quit, 0);
  cr_assert_eq(pthread_create(&th, NULL, polling_spinner, (void *)0), 0);
  for (int i = 0; i < n; i++) {
    wait_running(1);
    preempt_stop_the_world(reason);
    int moved = frozen(1);
    preempt_start_the_world();
    cr_assert_eq(moved, 0);
  }
  atomic_store(&quit, 1);
  pthread_join(th, NULL);
  struct preempt_stw_stats s[8];
  size_t k = preempt_read_stw_stats(s, 8);
  for (size_t i = 0; i < k && i < 8; i++)
    if (!strcmp(s[i].reason, reason))
      return (unsigned long long)s[i].signals;
  cr_assert_fail("no statistics for %s", reason);
  return 0;
}

Test(stw, child_cooperative, .timeout = 60) {
  if (!in_env_child())
    return;
  cr_assert_eq(stops_with_poller("coop", 50), 0, "signals sent with asyncpreempt=0");
}

Test(stw, child_other_signal, .timeout = 60) {
  if (!in_env_child())
    return;
  pthread_t th[MAXSPIN];
  start_spinners(th, 2);
  for (int i = 0; i < 30; i++) {
    wait_running(2);
    preempt_stop_the_world("usr2");
    int moved = frozen(2);
    preempt_start_the_world();
    cr_assert_eq(moved, 0);
  }
  stop_spinners(th, 2);
  /* Too late to move it now. */
  cr_assert_eq(preempt_set_stop_signal(SIGURG), -1);
  cr_assert_eq(errno, EBUSY);
}

Test(stw, settings, .timeout = 120) {
  int st = run_self_env("test_stw", "asyncpreempt=0", "stw/child_cooperative",
                        out, sizeof out);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0 && strstr(out, "Passing: 1"),
            "asyncpreempt=0:\n%s", out);
  st = run_self_env("test_stw", "signal=SIGUSR2", "stw/child_other_signal",
                    out, sizeof out);
  cr_assert(strstr(out, "preempt_set_stop_signal(23): threads have already "
                        "been stopped with signal 12"),
            "signal=SIGUSR2:\n%s", out);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0 && strstr(out, "Passing: 1"),
            "signal=SIGUSR2:\n%s", out);
  st = run_self_env("test_stw", "signal=SIGKILL", NULL, out, sizeof out);
  cr_assert(WIFSIGNALED(st) && strstr(out, "bad value 'SIGKILL' for 'signal'"),
            "signal=SIGKILL:\n%s", out);
}

/* A stop held too long is reported with its reason and where the holder
 * is; trace=stw prints the statistics at exit. */
Test(stw, child_long_stop, .timeout = 60) {
  if (!in_env_child())
    return;
  preempt_stop_the_world("held-too-long");
  spin_us(2500000);
  preempt_start_the_world();
}

Test(stw, stwcheck_and_trace, .timeout = 60) {
  int st = run_self_env("test_stw", "stwcheck=1,stwtimeout=1,trace=stw",
                        "stw/child_long_stop", out, sizeof out);
  cr_assert(WIFEXITED(st), "child died:\n%s", out);
  cr_assert(strstr(out, "stwcheck: the world has been stopped for") &&
                strstr(out, "\"held-too-long\"") &&
                strstr(out, "the stopping thread is here") &&
                strstr(out, "criterion_internal_test_main"),
            "no stwcheck report naming the holder:\n%s", out);
  cr_assert(strstr(out, "stop-the-world held-too-long"),
            "no trace=stw table at exit:\n%s", out);
}

/* ---- fenced and fence-free transitions -------------------------------------- */

/* Enters and leaves a blocking region as fast as it can; progress only
 * while running. */
static void *transitioner(void *arg) {
  long i = (long)arg;
  while (!atomic_load_explicit(&quit, memory_order_relaxed)) {
    preempt_enter_blocking();
    preempt_exit_blocking();
    atomic_fetch_add_explicit(&progress[i], 1, memory_order_relaxed);
  }
  return NULL;
}

/* Such threads switch the program to fence-free transitions (by default;
 * at once with membarrier=1), possibly in the middle of these stops: a
 * thread the stopper counts as blocking never runs on while the world is
 * stopped. */
static void stops_with_transitioners(int rounds) {
  pthread_t th[2];
  atomic_store(&quit, 0);
  for (long i = 0; i < 2; i++)
    cr_assert_eq(pthread_create(&th[i], NULL, transitioner, (void *)i), 0);
  for (int r = 0; r < rounds; r++) {
    wait_running(2);
    preempt_stop_the_world("transitions");
    int moved = frozen(2);
    preempt_start_the_world();
    cr_assert_eq(moved, 0, "thread %d left a blocking region while the "
                 "world was stopped (round %d)", moved - 1, r);
    spin_us(r % 7 * 100); /* room for whole batches between stops */
  }
  atomic_store(&quit, 1);
  for (int i = 0; i < 2; i++)
    pthread_join(th[i], NULL);
}

Test(stw, transitions_stay_stopped, .timeout = 120) {
  stops_with_transitioners(1000);
}

Test(stw, child_transitions, .timeout = 120) {
  if (!in_env_child())
    return;
  stops_with_transitioners(300);
}

Test(stw, fast_transitions_go_fence_free, .timeout = 300) {
  static const struct {
    const char *env, *expect;
  } runs[] = {
      {"trace=stw", "blocking transitions fence-free since"},
      {"trace=stw,membarrier=auto", "blocking transitions fence-free since"},
      {"trace=stw,membarrier=1", "blocking transitions fence-free since 0.0"},
      {"trace=stw,membarrier=0", "blocking transitions fenced\n"},
  };
  for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
    int st = run_self_env("test_stw", runs[i].env, "stw/child_transitions",
                          out, sizeof out);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0 && strstr(out, "Passing: 1"),
              "%s:\n%s", runs[i].env, out);
    cr_assert(strstr(out, runs[i].expect), "%s: no '%s' in:\n%s", runs[i].env,
              runs[i].expect, out);
  }
  int st = run_self_env("test_stw", "membarrier=2", NULL, out, sizeof out);
  cr_assert(WIFSIGNALED(st) && strstr(out, "0, 1 or auto"), "membarrier=2:\n%s", out);
}

/* Under a seccomp filter that kills the process for membarrier, as a
 * sandbox's allow-list may: by default the program stays fenced rather
 * than die at the switch. */
Test(stw, child_transitions_under_seccomp, .timeout = 120) {
  if (!in_env_child())
    return;
  struct sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_membarrier, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {sizeof code / sizeof code[0], code};
  cr_assert_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
  cr_assert_eq(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), 0);
  stops_with_transitioners(100);
}

Test(stw, seccomp_keeps_transitions_fenced, .timeout = 120) {
  int st = run_self_env("test_stw", "trace=stw", "stw/child_transitions_under_seccomp",
                        out, sizeof out);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0 && strstr(out, "Passing: 1"),
            "killed under seccomp?\n%s", out);
  cr_assert(strstr(out, "blocking transitions fenced\n"), "%s", out);
}

/* Slower than one transition per microsecond: stays fenced. */
static void *slow_transitioner(void *arg) {
  (void)arg;
  for (int i = 0; i < 3 * 16384; i++) {
    preempt_enter_blocking();
    preempt_exit_blocking();
    spin_us(1);
  }
  return NULL;
}

Test(stw, child_slow_transitions, .timeout = 120) {
  if (!in_env_child())
    return;
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, slow_transitioner, NULL), 0);
  pthread_join(th, NULL);
}

Test(stw, slow_transitions_stay_fenced, .timeout = 120) {
  int st = run_self_env("test_stw", "trace=stw", "stw/child_slow_transitions",
                        out, sizeof out);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0 && strstr(out, "Passing: 1"),
            "%s", out);
  cr_assert(strstr(out, "blocking transitions fenced\n"), "%s", out);
}

/* ---- the heap lock is fair enough -------------------------------------------- */

static _Atomic unsigned long collections[2];

static void *back_to_back_collector(void *arg) {
  long i = (long)arg;
  void *keep = preempt_alloc(64);
  while (!atomic_load_explicit(&quit, memory_order_relaxed)) {
    preempt_gc();
    atomic_fetch_add(&collections[i], 1);
  }
  preempt_keep_alive(keep);
  return NULL;
}

/* A thread that collects back to back unlocks the heap and takes it again
 * at once; without a hand-off to a waiter that has waited long, the other
 * collector and the stopper here waited, under ASan, 20-50 s for five
 * rounds of this (0.5 s with it).  The test's timeout is what fails. */
Test(stw, back_to_back_collectors_starve_nobody, .timeout = 60) {
  pthread_t th[2];
  atomic_store(&quit, 0);
  for (long i = 0; i < 2; i++)
    cr_assert_eq(pthread_create(&th[i], NULL, back_to_back_collector, (void *)i), 0);
  for (int round = 0; round < 10; round++) {
    unsigned long c0 = atomic_load(&collections[0]), c1 = atomic_load(&collections[1]);
    while (atomic_load(&collections[0]) < c0 + 20 || atomic_load(&collections[1]) < c1 + 20)
      sched_yield();
    for (int i = 0; i < 20; i++) {
      preempt_stop_the_world("between collections");
      preempt_start_the_world();
    }
  }
  atomic_store(&quit, 1);
  for (int i = 0; i < 2; i++)
    pthread_join(th[i], NULL);
}
