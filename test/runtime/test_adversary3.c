/* Adversarial tests of three changes to stopping the world and polls.
 *
 * 1. PREEMPT=membarrier=auto (stw.c): threads start with fenced blocking
 *    transitions and switch, for good, to fence-free ones (a membarrier per
 *    stop) once one of them makes them fast.  Here threads enter and leave
 *    blocking regions and foreign calls as fast as they can while the test
 *    stops the world thousands of times and another thread forks children
 *    that stop and collect their own threads: no thread may move while the
 *    world is stopped, before, during or after the switch, objects held
 *    only across the regions must survive, and a child forked from a
 *    fence-free parent must stop its threads (its stops run a membarrier).
 * 2. The heap lock's starvation mode (stw.c, lock_heap_waiting): threads
 *    collect back to back, so waiters starve and mark themselves; the test
 *    stops the world between their collections and another thread forks
 *    (with a large heap, so a fork holds the heap lock long enough for a
 *    waiter to starve meanwhile) children that collect: nothing may hang
 *    (a Criterion timeout fails the test), the children's heap lock must
 *    not be held up by a starving thread the child does not have.
 * 3. Polls' unrolling (passes/Polls.cpp): this file is built with
 *    -fplugin-arg-preempt-polls, so its call-free loops are unrolled with
 *    one poll per several iterations.  With signals off
 *    (PREEMPT=asyncpreempt=0, in a child run of this binary) a list walk
 *    and a string scan hold the rest of their data only in the register of
 *    the unrolled loop; they wait, inside that loop, at a gate in the
 *    middle until two collections have run, and must then compute known
 *    results (every node's checksum; freed memory is poisoned under
 *    PREEMPT=verify=1) while the world is stopped and started around them.
 *
 * Every check that a thread stayed stopped compares counters across a
 * stop; every check of an object compares a checksum. */
#define _GNU_SOURCE
#include "testutil.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>

static char out[65536];

#define MAXT 8
static _Atomic unsigned long progress[MAXT];
static _Atomic int quit;
static _Atomic unsigned lost; /* objects found broken by a thread */

static void spin_us(long us) {
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  do
    clock_gettime(CLOCK_MONOTONIC, &b);
  while ((b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000 < us);
}

/* Until each of threads 0..n-1 has visibly run since the call.  Checks
 * for a stop itself (with polls and signals off a loop that calls is
 * trusted to check in its callees, and sched_yield does not). */
static void wait_running(int n) {
  for (int i = 0; i < n; i++) {
    unsigned long c = atomic_load(&progress[i]);
    while (atomic_load(&progress[i]) == c) {
      sched_yield();
      preempt_safepoint();
    }
  }
}

/* With the world stopped: 0 if no thread 0..n-1 moved, else its index + 1.
 * No malloc, no stdio. */
static int frozen(int n, long us) {
  unsigned long before[MAXT];
  for (int i = 0; i < n; i++)
    before[i] = atomic_load(&progress[i]);
  spin_us(us);
  for (int i = 0; i < n; i++)
    if (atomic_load(&progress[i]) != before[i])
      return i + 1;
  return 0;
}

/* ---- 1. fenced and fence-free transitions ------------------------------- */

/* While set, transitions are slower than one per microsecond (they stay
 * fenced); cleared in the middle of the stops, so that the switch comes
 * while the world is being stopped over and over. */
static _Atomic int slow_phase;

/* Blocking regions back to back; a chain allocated every 4096 of them is
 * held only in this frame across them and checked afterwards. */
static void *transitioner(void *arg) {
  long i = (long)arg;
  uint64_t base = (uint64_t)(i + 1) << 40;
  for (uint64_t n = 0; !atomic_load_explicit(&quit, memory_order_relaxed); n++) {
    struct tnode *c = chain(16, base + n * 16);
    for (int k = 0; k < 4096; k++) {
      preempt_enter_blocking();
      preempt_exit_blocking();
      atomic_fetch_add_explicit(&progress[i], 1, memory_order_relaxed);
      if (atomic_load_explicit(&slow_phase, memory_order_relaxed))
        spin_us(2);
    }
    if (!chain_ok(c, 16, base + n * 16))
      atomic_fetch_add(&lost, 1);
  }
  return NULL;
}

/* "Foreign": counts the intact nodes of the chain it is given, which the
 * call keeps alive (its pointer argument). */
__attribute__((noinline)) static long foreign_count(struct tnode *n) {
  long k = 0;
  for (; n; n = n->a)
    k += n->check == tcheck(n->id);
  return k;
}

/* Foreign calls back to back (the fast path's transitions), a new chain
 * every 512 of them as the argument. */
static void *ffi_caller(void *arg) {
  long i = (long)arg;
  char err[128];
  preempt_sig *sig = preempt_sig_new("l(p)", err, sizeof err);
  if (!sig) {
    atomic_fetch_add(&lost, 1000);
    return NULL;
  }
  uint64_t base = (uint64_t)(i + 1) << 40;
  for (uint64_t n = 0; !atomic_load_explicit(&quit, memory_order_relaxed); n++) {
    struct tnode *c = chain(4, base + n * 4);
    void *args[1] = {&c};
    for (int k = 0; k < 512; k++) {
      long r = 0;
      preempt_ffi_call(sig, PREEMPT_FN(foreign_count), &r, args);
      if (r != 4)
        atomic_fetch_add(&lost, 1);
      atomic_fetch_add_explicit(&progress[i], 1, memory_order_relaxed);
      if (atomic_load_explicit(&slow_phase, memory_order_relaxed))
        spin_us(2);
    }
    c = NULL;
  }
  preempt_sig_free(sig);
  return NULL;
}

/* In a forked child: its own two transitioners, stopped 40 times, and
 * collections.  Exit status: 0, or what failed. */
static int forked_stops(void) {
  pthread_t th[2];
  atomic_store(&quit, 0);
  atomic_store(&lost, 0);
  atomic_store(&slow_phase, 0);
  for (int i = 0; i < MAXT; i++)
    atomic_store(&progress[i], 0);
  struct tnode *keep = chain(64, 7000);
  for (long i = 0; i < 2; i++)
    if (pthread_create(&th[i], NULL, transitioner, (void *)i))
      return 2;
  int moved = 0;
  for (int r = 0; r < 40 && !moved; r++) {
    if (r % 8 == 0)
      wait_running(2);
    preempt_stop_the_world("adv3 child");
    moved = frozen(2, 50);
    preempt_start_the_world();
    if (r % 8 == 0)
      preempt_gc();
  }
  atomic_store(&quit, 1);
  for (int i = 0; i < 2; i++)
    pthread_join(th[i], NULL);
  preempt_gc();
  if (moved)
    return 3;
  if (atomic_load(&lost))
    return 4;
  if (!chain_ok(keep, 64, 7000))
    return 5;
  return 0;
}

/* A forked child that hangs (the failure some of these tests look for)
 * must not outlive the test that Criterion's timeout kills: it may wait
 * with every signal blocked, and would hold the test's output open. */
static void die_with_parent(void) { prctl(PR_SET_PDEATHSIG, SIGKILL); }

static _Atomic int fork_failures, forks_done;
static _Atomic int fork_status; /* the last failing child's wait status */

/* Forks n children that run child() and exit with its status, one at a
 * time, counting the failures (until quit, if honour_quit). */
static void fork_children(long n, int (*child)(void), bool honour_quit) {
  for (long k = 0; k < n && !(honour_quit && atomic_load(&quit)); k++) {
    pid_t pid = fork();
    if (pid == 0) {
      die_with_parent();
      _exit(child());
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
        WEXITSTATUS(st) != 0) {
      atomic_store(&fork_status, st);
      atomic_fetch_add(&fork_failures, 1);
    }
    atomic_fetch_add(&forks_done, 1);
  }
}

static void *forker(void *arg) {
  fork_children((long)arg, forked_stops, true);
  return NULL;
}

/* Three transitioners and a foreign caller (threads 0-3), a forker; the
 * world stopped rounds times, collected every 16th. */
static void transitions_world(int rounds, long forks) {
  pthread_t th[4], fk;
  atomic_store(&quit, 0);
  atomic_store(&lost, 0);
  atomic_store(&fork_failures, 0);
  atomic_store(&forks_done, 0);
  struct tnode *keep = chain(256, 1);
  atomic_store(&slow_phase, 1);
  for (long i = 0; i < 3; i++)
    cr_assert_eq(pthread_create(&th[i], NULL, transitioner, (void *)i), 0);
  cr_assert_eq(pthread_create(&th[3], NULL, ffi_caller, (void *)3), 0);
  cr_assert_eq(pthread_create(&fk, NULL, forker, (void *)forks), 0);
  for (int r = 0; r < rounds; r++) {
    if (r == rounds / 3)
      atomic_store(&slow_phase, 0);
    if (r % 64 == 0) /* (a wait costs a scheduling round on 2 CPUs) */
      wait_running(4);
    preempt_stop_the_world("adv3 transitions");
    int moved = frozen(4, 30);
    preempt_start_the_world();
    cr_assert_eq(moved, 0, "thread %d left a blocking region or foreign call "
                 "while the world was stopped (round %d)", moved - 1, r);
    if (r % 16 == 0)
      preempt_gc();
  }
  /* Every fork done, while the transitioners still run. */
  while (atomic_load(&forks_done) < forks)
    sched_yield();
  atomic_store(&quit, 1);
  for (int i = 0; i < 4; i++)
    pthread_join(th[i], NULL);
  pthread_join(fk, NULL);
  preempt_gc();
  cr_assert_eq(atomic_load(&lost), 0, "%u chains held across blocking regions "
               "or passed to foreign calls were broken", atomic_load(&lost));
  cr_assert(chain_ok(keep, 256, 1), "the test's own chain was broken");
  int st = atomic_load(&fork_status);
  cr_assert_eq(atomic_load(&fork_failures), 0,
               "%d forked children failed (last: %s %d; exit 3: a thread "
               "moved while stopped, 4/5: an object broken, signal 6: "
               "fatal, e.g. membarrier)", atomic_load(&fork_failures),
               WIFEXITED(st) ? "exit" : "signal",
               WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

Test(adv3, transitions_forks_and_stops, .timeout = 120) {
  transitions_world(1000, 4);
}

Test(adv3, child_transitions, .timeout = 120) {
  if (!in_env_child())
    return;
  transitions_world(1000, 4);
}

/* The switch itself, seen by trace=stw: by default (auto) it happens in
 * the middle of the stops; with membarrier=1 from the start; with 0 never.
 * Every run with freed memory poisoned and checked. */
Test(adv3, transitions_in_every_mode, .timeout = 300) {
  static const struct {
    const char *env, *expect;
  } runs[] = {
      {"trace=stw,verify=1,retain=0", "blocking transitions fence-free since"},
      {"trace=stw,verify=1,retain=0,membarrier=1",
       "blocking transitions fence-free since 0.0"},
      {"trace=stw,verify=1,retain=0,membarrier=0", "blocking transitions fenced\n"},
  };
  for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
    int st = run_self_env("test_adversary3", runs[i].env, "adv3/child_transitions",
                          out, sizeof out);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0 && strstr(out, "Passing: 1"),
              "%s:\n%s", runs[i].env, out);
    cr_assert(strstr(out, runs[i].expect), "%s: no '%s' in:\n%s", runs[i].env,
              runs[i].expect, out);
  }
}

/* ---- 2. the heap lock's starvation mode ---------------------------------- */

#define NCOLL 6

/* Collects back to back, allocating between collections; checks a chain
 * it holds throughout.  progress[i] counts its collections. */
static void *starving_collector(void *arg) {
  long i = (long)arg;
  uint64_t base = (uint64_t)(i + 1) << 40;
  struct tnode *keep = chain(32, base);
  while (!atomic_load_explicit(&quit, memory_order_relaxed)) {
    preempt_gc();
    struct tnode *junk = chain(64, 0);
    preempt_keep_alive(junk);
    if (!chain_ok(keep, 32, base))
      atomic_fetch_add(&lost, 1);
    atomic_fetch_add(&progress[i], 1);
  }
  return NULL;
}

/* In a forked child: collect, with a thread that collects too. */
static void *child_collector(void *arg) {
  (void)arg;
  for (int k = 0; k < 5; k++)
    preempt_gc();
  return NULL;
}

static int forked_collects(void) {
  struct tnode *keep = chain(100, 5000);
  pthread_t th;
  if (pthread_create(&th, NULL, child_collector, NULL))
    return 2;
  for (int k = 0; k < 5; k++) {
    preempt_gc();
    preempt_stop_the_world("adv3 starving child");
    preempt_start_the_world();
  }
  pthread_join(th, NULL);
  return chain_ok(keep, 100, 5000) ? 0 : 5;
}

static void *starving_forker(void *arg) {
  fork_children((long)arg, forked_collects, false);
  return NULL;
}

/* Six back-to-back collectors, a forker, and stops here: every stop
 * completes, no collection finishes while the world is stopped, children
 * forked at any moment (perhaps while a waiter of the parent's is
 * starving) collect and stop their own threads. */
Test(adv3, starving_collectors_stops_and_forks, .timeout = 120) {
  pthread_t th[NCOLL], fk;
  atomic_store(&quit, 0);
  atomic_store(&lost, 0);
  atomic_store(&fork_failures, 0);
  atomic_store(&forks_done, 0);
  for (int i = 0; i < MAXT; i++)
    atomic_store(&progress[i], 0);
  /* 48 MiB touched, so that each fork copies page tables for a while (the
   * heap lock held meanwhile): waiters starve during forks. */
  size_t big_size = (size_t)48 << 20;
  char *big = preempt_alloc_noscan(big_size);
  cr_assert(big);
  memset(big, 1, big_size);
  for (long i = 0; i < NCOLL; i++)
    cr_assert_eq(pthread_create(&th[i], NULL, starving_collector, (void *)i), 0);
  const long forks = 12;
  cr_assert_eq(pthread_create(&fk, NULL, starving_forker, (void *)forks), 0);
  for (int round = 0; round < 40; round++) {
    wait_running(NCOLL);
    for (int k = 0; k < 5; k++) {
      preempt_stop_the_world("adv3 between collections");
      int moved = frozen(NCOLL, 20);
      preempt_start_the_world();
      cr_assert_eq(moved, 0, "collector %d finished a collection while the "
                   "world was stopped", moved - 1);
    }
  }
  while (atomic_load(&forks_done) < forks) {
    sched_yield();
  }
  atomic_store(&quit, 1);
  for (int i = 0; i < NCOLL; i++)
    pthread_join(th[i], NULL);
  pthread_join(fk, NULL);
  cr_assert_eq(big[0] + big[big_size - 1], 2);
  preempt_keep_alive(big);
  cr_assert_eq(atomic_load(&lost), 0, "%u collectors' chains broken",
               atomic_load(&lost));
  int st = atomic_load(&fork_status);
  cr_assert_eq(atomic_load(&fork_failures), 0,
               "%d forked children failed (last: %s %d)",
               atomic_load(&fork_failures), WIFEXITED(st) ? "exit" : "signal",
               WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

/* ---- 3. unrolled polled loops with signals off --------------------------- */

/* Bumped by the collector thread after each of its collections; the walks
 * wait at their gates until it has moved on by two. */
static _Atomic unsigned gc_gen;
static _Atomic unsigned long walk_pos[2];

/* Sums the ids of list n and counts its broken nodes, call-free (a polled,
 * unrolled loop).  At the node with id gate_id it stays (advancing nothing:
 * a select, not a nested loop) until two more collections have finished:
 * the rest of the list is then held only in this loop's register while a
 * whole collection runs.  pos: nodes visited, for the stopper's checks. */
__attribute__((noinline)) static uint64_t walk_gated(struct tnode *n, uint64_t gate_id,
                                                     uint64_t *bad,
                                                     _Atomic unsigned long *pos) {
  uint64_t s = 0, b = 0;
  unsigned long k = 0;
  unsigned until = 0; /* set on reaching the gate: two collections on */
  while (n) {
    unsigned g = atomic_load_explicit(&gc_gen, memory_order_relaxed);
    bool at_gate = n->id == gate_id;
    until = at_gate && !until ? g + 2 : until;
    bool hold = at_gate && g < until;
    s += hold ? 0 : n->id;
    b += hold ? 0 : n->check != tcheck(n->id);
    k += !hold;
    atomic_store_explicit(pos, k, memory_order_relaxed);
    n = hold ? n : n->a;
  }
  *bad = b;
  return s;
}

/* A polynomial hash of string p, call-free, with a gate at offset gate:
 * only the scanning pointer keeps the string alive past its start. */
__attribute__((noinline)) static uint64_t scan_gated(const unsigned char *p, size_t gate,
                                                     _Atomic unsigned long *pos) {
  uint64_t h = 0;
  unsigned long k = 0;
  unsigned until = 0;
  while (*p) {
    unsigned g = atomic_load_explicit(&gc_gen, memory_order_relaxed);
    bool at_gate = k == gate;
    until = at_gate && !until ? g + 2 : until;
    bool hold = at_gate && g < until;
    h = hold ? h : h * 31 + *p;
    k += !hold;
    atomic_store_explicit(pos, k, memory_order_relaxed);
    p += !hold;
  }
  return h;
}

/* Expected results, computed without unrolling (optnone). */
__attribute__((optnone, noinline)) static uint64_t expect_hash(size_t len,
                                                               unsigned seed) {
  uint64_t h = 0;
  for (size_t i = 0; i < len; i++)
    h = h * 31 + (unsigned char)('a' + (i * 7 + seed) % 26);
  return h;
}

__attribute__((noinline)) static unsigned char *make_string(size_t len,
                                                            unsigned seed) {
  unsigned char *s = preempt_alloc_noscan(len + 1);
  cr_assert(s);
  for (size_t i = 0; i < len; i++)
    s[i] = (unsigned char)('a' + (i * 7 + seed) % 26);
  s[len] = 0;
  return s;
}

static _Atomic unsigned walk_failures;
static _Atomic uint64_t walk_got, walk_want; /* the last failure */

/* Alternates list walks and string scans, each gated for two collections.
 * Its allocations (the lists, the strings) are its safepoints otherwise. */
static void *walker(void *arg) {
  long w = (long)arg;
  for (unsigned r = 0; !atomic_load_explicit(&quit, memory_order_relaxed); r++) {
    const int n = 20000;
    uint64_t base = ((uint64_t)w << 40) + (uint64_t)r * n;
    uint64_t bad = 0;
    /* The list's only reference is walk_gated's argument. */
    uint64_t s = walk_gated(chain(n, base), base + n / 2, &bad, &walk_pos[w]);
    uint64_t want = (uint64_t)n * base + (uint64_t)n * (n - 1) / 2;
    if (s != want || bad) {
      atomic_store(&walk_got, s);
      atomic_store(&walk_want, want);
      atomic_fetch_add(&walk_failures, 1);
    }
    size_t len = 50000 + r % 64;
    uint64_t h = scan_gated(make_string(len, r), len / 3, &walk_pos[w]);
    uint64_t hw = expect_hash(len, r);
    if (h != hw) {
      atomic_store(&walk_got, h);
      atomic_store(&walk_want, hw);
      atomic_fetch_add(&walk_failures, 1);
    }
    atomic_fetch_add(&progress[w], 1);
  }
  return NULL;
}

static _Atomic int quit_collector; /* after the walkers, whose gates need it */

static void *gen_collector(void *arg) {
  (void)arg;
  while (!atomic_load_explicit(&quit_collector, memory_order_relaxed)) {
    preempt_gc();
    preempt_keep_alive(chain(64, 0)); /* garbage for the next one */
    atomic_fetch_add(&gc_gen, 1);
  }
  return NULL;
}

/* Run with asyncpreempt=0 (below): two walkers, a collector, and stops
 * here; while stopped no walker may move. */
Test(adv3, child_polls_unrolled, .timeout = 120) {
  if (!in_env_child())
    return;
  pthread_t th[2], gc;
  atomic_store(&quit, 0);
  atomic_store(&quit_collector, 0);
  for (long i = 0; i < 2; i++)
    cr_assert_eq(pthread_create(&th[i], NULL, walker, (void *)i), 0);
  cr_assert_eq(pthread_create(&gc, NULL, gen_collector, NULL), 0);
  for (int r = 0; r < 300; r++) {
    preempt_stop_the_world("adv3 polls");
    unsigned long p0 = atomic_load(&walk_pos[0]), p1 = atomic_load(&walk_pos[1]);
    spin_us(30);
    int moved = atomic_load(&walk_pos[0]) != p0 || atomic_load(&walk_pos[1]) != p1;
    preempt_start_the_world();
    cr_assert(!moved, "a walker moved while the world was stopped (round %d)", r);
    spin_us(100);
    preempt_safepoint();
  }
  for (int k = 0; k < 4; k++) /* whole walks, each past two collections */
    wait_running(2);
  atomic_store(&quit, 1);
  preempt_enter_blocking(); /* signals are off: joins must not hold stops up */
  for (int i = 0; i < 2; i++)
    pthread_join(th[i], NULL);
  preempt_exit_blocking();
  atomic_store(&quit_collector, 1);
  preempt_enter_blocking();
  pthread_join(gc, NULL);
  preempt_exit_blocking();
  cr_assert_eq(atomic_load(&walk_failures), 0,
               "%u walks or scans wrong (last: got %llu, want %llu)",
               atomic_load(&walk_failures), (unsigned long long)atomic_load(&walk_got),
               (unsigned long long)atomic_load(&walk_want));
  uint64_t stops = 0;
  struct preempt_stw_stats s[16];
  size_t ns = preempt_read_stw_stats(s, 16);
  for (size_t i = 0; i < ns; i++) {
    cr_assert_eq(s[i].signals, 0, "\"%s\": a stop signal with asyncpreempt=0",
                 s[i].reason);
    stops += s[i].stops;
  }
  cr_assert_geq(stops, 300);
}

Test(adv3, polls_unrolled_with_signals_off, .timeout = 150) {
  int st = run_self_env("test_adversary3", "asyncpreempt=0,verify=1,retain=0",
                        "adv3/child_polls_unrolled", out, sizeof out);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0 && strstr(out, "Passing: 1"),
            "asyncpreempt=0,verify=1:\n%s", out);
}
