/* Several threads allocate, build and verify their own structures and a
 * shared one while collections stop them at allocations and safepoints;
 * threads in blocking calls do not hold a collection up. */
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

enum { NTHREADS = 4, ROUNDS = 2000 };

static _Atomic(struct tnode *) shared_list;

/* Joining blocks: until threads are stopped by signals, a thread waiting in
 * pthread_join must say so, or a collection would wait for it. */
static void join_all(pthread_t *t, int n) {
  preempt_enter_blocking();
  for (int i = 0; i < n; i++)
    pthread_join(t[i], NULL);
  preempt_exit_blocking();
}
static _Atomic int failures;


static void *worker(void *arg) {
  uint64_t me = (uint64_t)(uintptr_t)arg;
  struct tnode *mine = chain(100, me << 32);
  for (int r = 0; r < ROUNDS; r++) {
    struct tnode *tmp = chain(50, (me << 32) + 1000000);
    if (!chain_ok(tmp, 50, (me << 32) + 1000000))
      atomic_fetch_add(&failures, 1);
    /* Publish a node to the shared list (lock-free push). */
    struct tnode *n = tnode_new((me << 32) + 2000000 + (uint64_t)r);
    struct tnode *old = atomic_load(&shared_list);
    do
      n->b = old;
    while (!atomic_compare_exchange_weak(&shared_list, &old, n));
    if (r % 20 == 0)
      preempt_gc();
    /* A pure computation loop stays stoppable through a safepoint poll. */
    for (int k = 0; k < 1000; k++)
      preempt_safepoint();
  }
  if (!chain_ok(mine, 100, me << 32))
    atomic_fetch_add(&failures, 1);
  return NULL;
}

Test(threads, concurrent_mutators, .timeout = 120) {
  pthread_t t[NTHREADS];
  for (uintptr_t i = 0; i < NTHREADS; i++)
    cr_assert_eq(pthread_create(&t[i], NULL, worker, (void *)(i + 1)), 0);
  join_all(t, NTHREADS);
  cr_assert_eq(atomic_load(&failures), 0);
  int n = 0;
  for (struct tnode *p = atomic_load(&shared_list); p; p = p->b, n++)
    tnode_verify(p);
  cr_assert_eq(n, NTHREADS * ROUNDS);
  cr_assert_gt(gc_count(), 0);
}

/* A thread sleeping in a blocking region does not delay collections, and
 * what it holds on its stack survives them. */
static _Atomic int sleeper_done;
static void *sleeper(void *arg) {
  (void)arg;
  struct tnode *held = chain(30, 777);
  preempt_enter_blocking();
  sleep(1);
  preempt_exit_blocking();
  atomic_store(&sleeper_done, chain_ok(held, 30, 777) ? 1 : -1);
  return NULL;
}

Test(threads, blocking_does_not_delay_collection, .timeout = 60) {
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, sleeper, NULL), 0);
  usleep(100000);
  uint64_t before = gc_count();
  for (int i = 0; i < 20; i++) {
    opaque(chain(100, 1 << 20));
    preempt_gc();
  }
  cr_assert_eq(gc_count() - before, 20);
  cr_assert_eq(atomic_load(&sleeper_done), 0, "collections waited for the sleeping thread");
  join_all(&t, 1);
  cr_assert_eq(atomic_load(&sleeper_done), 1);
}

/* Threads come and go while others collect. */
static void *short_lived(void *arg) {
  struct tnode *c = chain(20, (uint64_t)(uintptr_t)arg);
  preempt_gc();
  return (void *)(uintptr_t)chain_ok(c, 20, (uint64_t)(uintptr_t)arg);
}

Test(threads, attach_and_detach, .timeout = 120) {
  for (int round = 0; round < 50; round++) {
    pthread_t t[3];
    for (uintptr_t i = 0; i < 3; i++)
      pthread_create(&t[i], NULL, short_lived, (void *)(i * 1000));
    void *ok[3];
    preempt_enter_blocking();
    for (int i = 0; i < 3; i++)
      pthread_join(t[i], &ok[i]);
    preempt_exit_blocking();
    for (int i = 0; i < 3; i++)
      cr_assert(ok[i]);
  }
}

/* After fork() the child has only the forking thread; collections in the
 * child must not wait for the parent's other threads, and finalizers
 * still run (on a new finalizer thread). */
static _Atomic int stop_spinner;
static void *spinner(void *arg) {
  (void)arg;
  while (!atomic_load(&stop_spinner)) {
    opaque(tnode_new(1));
    preempt_safepoint();
  }
  return NULL;
}
static _Atomic int child_finalized;
static void child_fin(void *obj, void *arg) {
  (void)obj;
  (void)arg;
  atomic_fetch_add(&child_finalized, 1);
}

Test(threads, fork_child_collects, .timeout = 60) {
  pthread_t t;
  pthread_create(&t, NULL, spinner, NULL);
  preempt_set_finalizer(tnode_new(2), child_fin, NULL);
  pid_t pid = fork();
  if (pid == 0) {
    for (int i = 0; i < 20; i++) {
      preempt_set_finalizer(tnode_new((uint64_t)i), child_fin, NULL);
      preempt_gc();
    }
    preempt_run_finalizers();
    _exit(atomic_load(&child_finalized) >= 20 ? 0 : 1);
  }
  int status;
  preempt_enter_blocking();
  waitpid(pid, &status, 0);
  atomic_store(&stop_spinner, 1);
  pthread_join(t, NULL);
  preempt_exit_blocking();
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "the child hung or lost finalizers (status %d)", status);
}

/* The argument of pthread_create is the only reference to its object until
 * the new thread runs. */
static void *check_argument(void *arg) {
  usleep(200); /* let the creator collect first */
  return (void *)(uintptr_t)chain_ok(arg, 20, 77000);
}

Test(threads, start_argument_is_a_root, .timeout = 120) {
  /* AddressSanitizer's own pthread_create wrapper reaches the C library's
   * by symbol version, past ours. */
  if (!PRECISE_FRAMES)
    cr_skip_test("the runtime's pthread_create is bypassed under ASan");
  for (int i = 0; i < 300; i++) {
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, check_argument, chain(20, 77000)), 0);
    preempt_gc();
    chain(60, 9000); /* garbage, to reuse freed slots */
    void *ok;
    preempt_enter_blocking();
    pthread_join(t, &ok);
    preempt_exit_blocking();
    cr_assert(ok, "round %d: the start argument was freed", i);
  }
}

/* Was a bug: fork() while another thread held the runtime's lock of type
 * names or of the program's signal handlers left it locked in the child,
 * whose first new type or sigaction() then waited for ever. */
static _Atomic int stop_naming;
static void on_usr2(int sig) { (void)sig; }
static void *name_types_loop(void *arg) {
  (void)arg;
  char name[32];
  for (int i = 0; !atomic_load(&stop_naming); i++) {
    snprintf(name, sizeof name, "fork type %d", i % 2000);
    preempt_alloc_typed(16, name);
    struct sigaction sa = {.sa_handler = i % 2 ? on_usr2 : SIG_IGN};
    sigaction(SIGUSR2, &sa, NULL);
  }
  return NULL;
}

Test(threads, fork_while_another_thread_names_types, .timeout = 120) {
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, name_types_loop, NULL), 0);
  for (int i = 0; i < 200; i++) {
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
      alarm(20); /* a hang dies of SIGALRM */
      preempt_alloc_typed(16, "a type first named in the child");
      struct sigaction sa = {.sa_handler = on_usr2};
      sigaction(SIGUSR2, &sa, NULL);
      _exit(0);
    }
    int st;
    preempt_enter_blocking();
    waitpid(pid, &st, 0);
    preempt_exit_blocking();
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "child %d hung or failed: status 0x%x", i, st);
  }
  atomic_store(&stop_naming, 1);
  preempt_enter_blocking();
  pthread_join(t, NULL);
  preempt_exit_blocking();
}

/* fork() from one thread while another collects. */
static _Atomic int stop_collecting;
static void *collect_loop(void *arg) {
  (void)arg;
  while (!atomic_load(&stop_collecting)) {
    chain(20, 5000);
    preempt_gc();
  }
  return NULL;
}

Test(threads, fork_while_another_thread_collects, .timeout = 120) {
  pthread_t t;
  struct tnode *mine = chain(30, 600);
  cr_assert_eq(pthread_create(&t, NULL, collect_loop, NULL), 0);
  for (int i = 0; i < 100; i++) {
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
      if (!chain_ok(mine, 30, 600))
        _exit(2);
      chain(100, 9000);
      preempt_gc();
      _exit(chain_ok(mine, 30, 600) ? 0 : 1);
    }
    int st;
    preempt_enter_blocking();
    waitpid(pid, &st, 0);
    preempt_exit_blocking();
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %d failed: status 0x%x", i, st);
  }
  atomic_store(&stop_collecting, 1);
  preempt_enter_blocking();
  pthread_join(t, NULL);
  preempt_exit_blocking();
  cr_assert(chain_ok(mine, 30, 600));
}
