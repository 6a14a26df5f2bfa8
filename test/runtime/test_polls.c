/* Cooperative polls (-fplugin-arg-preempt-polls, passes/Polls.cpp) with
 * PREEMPT=asyncpreempt=0: no signal stops a thread, only its own checks.
 *
 * Threads spin in loops without any call, or recurse without a loop;
 * other threads stop the world and collect.  The stops must complete (a
 * hang is a Criterion timeout), a stopped spinner must not advance, and
 * objects held only in the spinning frame must survive the collections
 * (their checksums; PREEMPT=verify=1 poisons freed memory) and be
 * collected once the frame is gone.  Every stop must have been made
 * without a signal: the test fails if it runs with signals on.
 *
 * A library built with polls (pollslib.c) is loaded and unloaded over
 * and over while another thread stops the world: its loop stops at its
 * own flag, which its constructor registered with the runtime and its
 * destructor took back before dlclose unmapped it (a stopper writing to
 * it afterwards would crash).
 *
 * Built at -O2 (test_polls_O2) and -O0 (test_polls_O0) with the default
 * mode (polls=loops: only loops without any call are polled), and at -O2
 * with polls=cycles (test_polls_cycles: every cycle without a certain
 * check), which also runs a spinner whose loop calls a leaf that never
 * checks: only that mode stops it.  CMake runs all with
 * PREEMPT=asyncpreempt=0. */
#define _GNU_SOURCE
#include "testutil.h"

#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

static _Atomic unsigned long progress;
static _Atomic int quit;
static _Atomic int ready;
static _Atomic uintptr_t hidden_head; /* the spinner's chain, hidden */

/* The waits of the test's own thread check for stops themselves: in loops
 * mode a loop that calls is trusted to check in its callees, and
 * sched_yield never does (another thread may be stopping the world). */
static void wait_running(void) {
  unsigned long c = atomic_load(&progress);
  while (atomic_load(&progress) == c) {
    sched_yield();
    preempt_safepoint();
  }
}

static void spin_us(long us) {
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  do
    clock_gettime(CLOCK_MONOTONIC, &b);
  while ((b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000 <
         us);
}

/* With the world stopped: the spinner must not move.  No malloc, no stdio. */
static int frozen(void) {
  unsigned long before = atomic_load(&progress);
  spin_us(300);
  return atomic_load(&progress) != before;
}

/* Signals the runtime sent for stops with this reason (0 if none). */
static uint64_t signals_for(const char *reason, uint64_t *stops) {
  struct preempt_stw_stats s[16];
  size_t n = preempt_read_stw_stats(s, 16);
  for (size_t i = 0; i < n; i++)
    if (strcmp(s[i].reason, reason) == 0) {
      *stops = s[i].stops;
      return s[i].signals;
    }
  *stops = 0;
  return 0;
}

static void assert_no_signals(const char *reason, uint64_t min_stops) {
  uint64_t stops, sig = signals_for(reason, &stops);
  cr_assert_geq(stops, min_stops, "\"%s\": %llu stops recorded, expected %llu",
                reason, (unsigned long long)stops,
                (unsigned long long)min_stops);
  cr_assert_eq(sig, 0,
               "\"%s\": %llu stop signals sent: this test needs "
               "PREEMPT=asyncpreempt=0 (only polls may stop threads)",
               reason, (unsigned long long)sig);
}

/* A loop without any call: only the plugin's poll on its back-edge can
 * stop it.  It keeps a chain of its own, live across the loop. */
static void *spinner(void *arg) {
  (void)arg;
  struct tnode *head = chain(40, 100); /* attaches the thread, too */
  atomic_store(&hidden_head, hide(head));
  atomic_store(&ready, 1);
  while (!atomic_load_explicit(&quit, memory_order_relaxed))
    atomic_fetch_add_explicit(&progress, 1, memory_order_relaxed);
  return (void *)(intptr_t)chain_ok(head, 40, 100);
}

static void start(pthread_t *th, void *(*fn)(void *)) {
  atomic_store(&quit, 0);
  atomic_store(&ready, 0);
  cr_assert_eq(pthread_create(th, NULL, fn, NULL), 0);
  while (!atomic_load(&ready)) {
    sched_yield();
    preempt_safepoint();
  }
  wait_running();
}

/* Without signals a thread blocked outside a blocking region would hold
 * every stop up (README): joins are blocking regions. */
static void *join(pthread_t th) {
  void *ret;
  preempt_enter_blocking();
  pthread_join(th, &ret);
  preempt_exit_blocking();
  return ret;
}

static void finish(pthread_t th) {
  atomic_store(&quit, 1);
  cr_assert(join(th), "the spinning thread's chain was freed while it held it");
}

Test(polls, call_free_loop_stops, .timeout = 60) {
  pthread_t th;
  start(&th, spinner);
  for (int i = 0; i < 200; i++) {
    preempt_stop_the_world("polls: loop");
    int moved = frozen();
    preempt_start_the_world();
    cr_assert_eq(moved, 0, "round %d: the spinner advanced while stopped", i);
    wait_running();
  }
  finish(th);
  assert_no_signals("polls: loop", 200);
}

Test(polls, spinning_frame_keeps_its_objects, .timeout = 60) {
  pthread_t th;
  uint64_t before = gc_count();
  start(&th, spinner);
  for (int i = 0; i < 30; i++) {
    preempt_gc(); /* stops the spinner at its poll, scans its frame */
    /* the chain is reachable: every node intact */
    struct tnode *h = unhide(atomic_load(&hidden_head));
    cr_assert(chain_ok(h, 40, 100), "collection %d freed the spinner's chain",
              i);
    wait_running();
  }
  finish(th);
  cr_assert_geq(gc_count() - before, 30);
  assert_no_signals("gc", 30);
  /* The frame is gone: nothing holds the chain any more. */
  uintptr_t h = atomic_load(&hidden_head);
  for (int i = 0; i < 3; i++)
    preempt_gc();
  assert_collected(h, "the chain outlived the frame that held it");
}

#ifdef POLLS_CYCLES
/* A leaf that never checks, out of line: the loop below calls it. */
__attribute__((noinline)) static void step(void) {
  atomic_fetch_add_explicit(&progress, 1, memory_order_relaxed);
}

/* A loop that calls on every iteration, a function that never checks:
 * polls=cycles polls it (polls=loops trusts the call and would leave the
 * stop waiting). */
static void *leaf_caller(void *arg) {
  (void)arg;
  struct tnode *head = chain(40, 100);
  atomic_store(&hidden_head, hide(head));
  atomic_store(&ready, 1);
  while (!atomic_load_explicit(&quit, memory_order_relaxed))
    step();
  return (void *)(intptr_t)chain_ok(head, 40, 100);
}

Test(polls, leaf_calling_loop_stops, .timeout = 60) {
  pthread_t th;
  start(&th, leaf_caller);
  for (int i = 0; i < 100; i++) {
    preempt_stop_the_world("polls: leaf");
    int moved = frozen();
    preempt_start_the_world();
    cr_assert_eq(moved, 0, "round %d: the loop advanced while stopped", i);
    if (i % 10 == 0)
      preempt_gc();
    wait_running();
  }
  finish(th);
  assert_no_signals("polls: leaf", 100);
}
#endif

/* Recursion without a loop or an allocation: only the poll before the
 * recursive calls stops it.  Each leaf counts; the recursion ends once
 * asked to (it would run for minutes otherwise). */
static long recurse(long n) {
  if (n < 2 || atomic_load_explicit(&quit, memory_order_relaxed)) {
    atomic_fetch_add_explicit(&progress, 1, memory_order_relaxed);
    return n;
  }
  return recurse(n - 1) + recurse(n - 2);
}

static void *recurser(void *arg) {
  (void)arg;
  struct tnode *head = chain(40, 500);
  atomic_store(&hidden_head, hide(head));
  atomic_store(&ready, 1);
  long r = recurse(60);
  return (void *)(intptr_t)(chain_ok(head, 40, 500) && r >= 0);
}

Test(polls, recursion_without_loops_stops, .timeout = 60) {
  pthread_t th;
  start(&th, recurser);
  for (int i = 0; i < 100; i++) {
    preempt_stop_the_world("polls: recursion");
    int moved = frozen();
    preempt_start_the_world();
    cr_assert_eq(moved, 0, "round %d: the recursion advanced while stopped",
                 i);
    if (i % 10 == 0)
      preempt_gc();
    wait_running();
  }
  finish(th);
  assert_no_signals("polls: recursion", 100);
}

/* Two spinners and two threads that stop the world concurrently. */
static void nothing(void *arg) { (void)arg; }

static void *stopper(void *arg) {
  (void)arg;
  preempt_thread_attach();
  for (int i = 0; i < 100; i++) {
    if (i % 4 == 0)
      preempt_gc();
    else
      preempt_with_world_stopped("polls: concurrent", nothing, NULL);
  }
  return NULL;
}

Test(polls, concurrent_stoppers, .timeout = 120) {
  pthread_t spin[2], stop[2];
  for (int i = 0; i < 2; i++)
    start(&spin[i], spinner);
  for (int i = 0; i < 2; i++)
    cr_assert_eq(pthread_create(&stop[i], NULL, stopper, NULL), 0);
  for (int i = 0; i < 2; i++)
    join(stop[i]);
  atomic_store(&quit, 1);
  for (int i = 0; i < 2; i++)
    cr_assert(join(spin[i]), "spinner %d lost its chain", i);
  assert_no_signals("polls: concurrent", 100);
}

/* dlopen and dlclose of a library with polls while another thread stops
 * the world all the time: the library's spinner stops at its flag each
 * round, and unloading leaves the stoppers nothing to write to. */
#define POLLSLIB LIBDIR "/libpreempt_pollslib.so"

typedef long (*lib_spin_fn)(_Atomic int *, _Atomic unsigned long *);
static lib_spin_fn lib_spin;
static _Atomic int background_quit;

static void *lib_spinner(void *arg) {
  (void)arg;
  preempt_thread_attach();
  atomic_store(&ready, 1);
  return (void *)(intptr_t)lib_spin(&quit, &progress);
}

/* Pauses between its stops: the heap lock is not fair, and a thread
 * taking it again at once starved the test's own stops (minutes under
 * ASan, where each collection is slow). */
static void *background_stopper(void *arg) {
  (void)arg;
  preempt_thread_attach();
  for (unsigned i = 0; !atomic_load(&background_quit); i++) {
    if (i % 4 == 0)
      preempt_gc();
    else
      preempt_with_world_stopped("polls: background", nothing, NULL);
    usleep(200);
  }
  return NULL;
}

Test(polls, dlopen_dlclose_under_stops, .timeout = 120) {
  pthread_t bg;
  atomic_store(&background_quit, 0);
  cr_assert_eq(pthread_create(&bg, NULL, background_stopper, NULL), 0);
  for (int i = 0; i < 30; i++) {
    void *h = dlopen(POLLSLIB, RTLD_NOW | RTLD_LOCAL);
    cr_assert(h, "dlopen: %s", dlerror());
    lib_spin = (lib_spin_fn)dlsym(h, "pollslib_spin");
    cr_assert(lib_spin, "dlsym: %s", dlerror());
    pthread_t th;
    start(&th, lib_spinner);
    for (int j = 0; j < 5; j++) {
      preempt_stop_the_world("polls: dlopen");
      int moved = frozen();
      preempt_start_the_world();
      cr_assert_eq(moved, 0, "load %d, round %d: the library's spinner "
                   "advanced while stopped", i, j);
      wait_running();
    }
    finish(th);
    cr_assert_eq(dlclose(h), 0, "dlclose: %s", dlerror());
    cr_assert_null(dlopen(POLLSLIB, RTLD_NOW | RTLD_NOLOAD),
                   "load %d: the library stayed loaded after dlclose: the "
                   "test would not see a flag written after unmapping", i);
    /* Stops before the next load can map it again at the same address:
     * a flag left registered is written to unmapped memory. */
    preempt_gc();
    preempt_with_world_stopped("polls: dlopen", nothing, NULL);
  }
  atomic_store(&background_quit, 1);
  join(bg);
  assert_no_signals("polls: dlopen", 150);
  assert_no_signals("polls: background", 1);
}
