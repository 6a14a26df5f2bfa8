/* The registry under a changing set of loaded objects: a library unloaded
 * while another thread collects, the map table rebuilt while threads walk
 * their stacks, thread-local roots of a library loaded after a collection. */
#define _GNU_SOURCE
#include "testutil.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BIGLIB LIBDIR "/libpreempt_biglib.so"
#define TESTLIB LIBDIR "/libpreempt_testlib.so"
#define UNSAFELIB LIBDIR "/libpreempt_unsafelib.so"

static _Atomic int stop;

static void join_blocking(pthread_t t) {
  preempt_enter_blocking();
  pthread_join(t, NULL);
  preempt_exit_blocking();
}

/* Never touches the heap: a thread the collector does not stop. */
static void *load_unload(void *arg) {
  const char *path = arg;
  while (!atomic_load(&stop)) {
    void *h = dlopen(path, RTLD_NOW);
    if (!h)
      abort();
    dlclose(h);
  }
  return NULL;
}

Test(loader, dlclose_while_collecting, .timeout = 120) {
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, load_unload, (void *)BIGLIB), 0);
  struct tnode *keep = chain(100, 1);
  for (int i = 0; i < 1000; i++) {
    preempt_gc();
    chain(50, 1000); /* garbage */
  }
  atomic_store(&stop, 1);
  join_blocking(t);
  cr_assert(chain_ok(keep, 100, 1));
}

/* Collects every 100 us or so: often enough to overlap each dlopen, with
 * room between for the other thread to take the heap lock. */
static void *collect_until_stop(void *arg) {
  (void)arg;
  while (!atomic_load(&stop)) {
    preempt_gc();
    /* Garbage of the size the library's objects have: a slot freed too
     * soon is taken again and zeroed, also without PREEMPT=verify=1. */
    for (int i = 0; i < 64; i++)
      preempt_alloc_noscan(64);
    struct timespec ts = {0, 100000};
    nanosleep(&ts, NULL);
  }
  return NULL;
}

/* A collection that begins while dlopen maps an instrumented library finds
 * the loading thread in the loader and signals it again later, when the
 * library's constructor may run an unsafe range: it must not stop it
 * there, though the registry was synced before the library was mapped,
 * or the collector frees what the range holds only as a hidden integer
 * (unsafelib.c).  With PREEMPT=verify=1 what is freed is also poisoned. */
Test(loader, unsafe_range_of_a_library_being_loaded, .timeout = 180) {
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, collect_until_stop, NULL), 0);
  int bad = 0, rounds = 0;
  for (int i = 0; i < 200; i++) {
    void *h = dlopen(UNSAFELIB, RTLD_NOW | RTLD_LOCAL);
    cr_assert(h, "dlopen: %s", dlerror());
    bad += *(int *)dlsym(h, "unsafelib_bad");
    rounds += *(int *)dlsym(h, "unsafelib_rounds");
    cr_assert_eq(dlclose(h), 0);
  }
  atomic_store(&stop, 1);
  join_blocking(t);
  cr_assert_eq(rounds, 200 * 16);
  cr_assert_eq(bad, 0, "%d words of objects held in unsafe ranges changed: "
               "a collection stopped the loading thread inside a range", bad);
}

/* Walks its own stack while waiting for the heap lock, deep in recursion. */
static int deep(int n, uint64_t base) {
  if (n == 0) {
    preempt_alloc_noscan(40000); /* large: always takes the heap lock */
    struct tnode *c = chain(5, base);
    return chain_ok(c, 5, base);
  }
  struct tnode *mine = tnode_new(base + 100 + (uint64_t)n);
  int ok = deep(n - 1, base);
  return ok && mine->check == tcheck(mine->id);
}

static _Atomic int failures;

static void *contender(void *arg) {
  uint64_t base = (uint64_t)(uintptr_t)arg << 32;
  while (!atomic_load(&stop))
    if (!deep(40, base))
      atomic_fetch_add(&failures, 1);
  return NULL;
}

static void *load_unload_attached(void *arg) {
  (void)arg;
  while (!atomic_load(&stop)) {
    void *h = dlopen(TESTLIB, RTLD_NOW), *big = dlopen(BIGLIB, RTLD_NOW);
    if (!h || !big)
      abort();
    void *(*build)(int) = (void *(*)(int))dlsym(h, "testlib_build");
    build(20);
    dlclose(big); /* 10,000 records fewer: the table shrinks */
    dlclose(h);
    preempt_safepoint();
  }
  return NULL;
}

Test(loader, table_rebuilt_while_threads_walk, .timeout = 120) {
  pthread_t c[2], l;
  for (uintptr_t i = 0; i < 2; i++)
    cr_assert_eq(pthread_create(&c[i], NULL, contender, (void *)(i + 1)), 0);
  cr_assert_eq(pthread_create(&l, NULL, load_unload_attached, NULL), 0);
  for (int i = 0; i < 300; i++) {
    preempt_gc();
    preempt_safepoint();
  }
  atomic_store(&stop, 1);
  join_blocking(l);
  for (int i = 0; i < 2; i++)
    join_blocking(c[i]);
  cr_assert_eq(atomic_load(&failures), 0);
}

Test(loader, tls_of_a_library_loaded_later) {
  void *h = dlopen(BIGLIB, RTLD_NOW);
  cr_assert(h, "%s", dlerror());
  void (*set)(void *) = (void (*)(void *))dlsym(h, "biglib_set_tls");
  void *(*get)(void) = (void *(*)(void))dlsym(h, "biglib_get_tls");
  /* The registry learns of the library; this thread has no block yet. */
  preempt_gc();
  set(chain(50, 7000)); /* allocates the block: the only reference */
  for (int i = 0; i < 5; i++) {
    preempt_gc();
    chain(100, 9000); /* garbage, to reuse freed slots */
  }
  cr_assert(chain_ok(get(), 50, 7000), "a thread-local root was lost");
  set(NULL);
  dlclose(h);
}

Test(loader, globals_of_a_library_are_roots) {
  void *h = dlopen(BIGLIB, RTLD_NOW);
  cr_assert(h, "%s", dlerror());
  void (*set)(void *) = (void (*)(void *))dlsym(h, "biglib_set_global");
  void **table = dlsym(h, "biglib_table");
  set(chain(50, 3000));
  for (int i = 0; i < 5; i++) {
    preempt_gc();
    chain(100, 9000);
  }
  cr_assert(chain_ok(table[12345], 50, 3000));
  dlclose(h);
}

/* ---- fork while other threads are inside dl_iterate_phdr ------------------- */

static int slow_phdr_cb(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)info;
  (void)size;
  for (volatile int i = 0; i < 2000; i++)
    ;
  ++*(int *)arg;
  return 0;
}

static void *iterate_always(void *arg) {
  (void)arg;
  while (!atomic_load(&stop)) {
    int n = 0;
    dl_iterate_phdr(slow_phdr_cb, &n);
  }
  return NULL;
}

static void *nothing(void *arg) { return arg; }

/* Thread starts read their TLS blocks with dl_iterate_phdr too. */
static void *start_threads_always(void *arg) {
  (void)arg;
  while (!atomic_load(&stop)) {
    pthread_t t;
    if (pthread_create(&t, NULL, nothing, NULL) == 0)
      pthread_join(t, NULL);
  }
  return NULL;
}

/* glibc does not reset dl_iterate_phdr's lock in a forked child: a fork
 * while another thread was inside it left the child hanging at its first
 * call (seen in Criterion's own worker set-up under ASan).  Each child
 * here iterates, starts a thread and collects; the parent gives it 30 s. */
Test(loader, fork_while_threads_iterate_phdrs, .timeout = 180) {
  pthread_t th[3];
  atomic_store(&stop, 0);
  cr_assert_eq(pthread_create(&th[0], NULL, iterate_always, NULL), 0);
  cr_assert_eq(pthread_create(&th[1], NULL, iterate_always, NULL), 0);
  cr_assert_eq(pthread_create(&th[2], NULL, start_threads_always, NULL), 0);
  for (int i = 0; i < 100; i++) {
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
      alarm(30); /* a hung child dies rather than outlive the test */
      int n = 0;
      dl_iterate_phdr(slow_phdr_cb, &n);
      pthread_t t;
      if (n == 0 || pthread_create(&t, NULL, nothing, NULL) != 0)
        _exit(2);
      pthread_join(t, NULL);
      preempt_gc();
      _exit(0);
    }
    int st;
    preempt_enter_blocking();
    pid_t w = waitpid(pid, &st, 0);
    preempt_exit_blocking();
    cr_assert_eq(w, pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "child %d of 100 %s", i + 1,
              WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM
                  ? "hung (in dl_iterate_phdr?) for 30 s"
                  : "failed");
  }
  atomic_store(&stop, 1);
  for (int i = 0; i < 3; i++)
    join_blocking(th[i]);
}
