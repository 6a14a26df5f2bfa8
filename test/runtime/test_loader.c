/* The registry under a changing set of loaded objects: a library unloaded
 * while another thread collects, the map table rebuilt while threads walk
 * their stacks, thread-local roots of a library loaded after a collection. */
#include "testutil.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>

#define BIGLIB LIBDIR "/libpreempt_biglib.so"
#define TESTLIB LIBDIR "/libpreempt_testlib.so"

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
