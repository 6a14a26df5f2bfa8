/* Pinning (preempt_pin/preempt_unpin, like Go's runtime.Pinner) and
 * PREEMPT=cgocheck=1.
 *
 * A pinned object survives collections while only foreign memory (malloc'ed,
 * never registered) or a hidden (xor'ed) copy points to it, together with
 * what it points to, and is collected once unpinned; pins are counted;
 * threads attached or not pin and unpin while another thread collects and
 * stops the world; misuse is fatal with a message saying what the pointer
 * is.  Linked with the static runtime to call preempt_cgocheck_arg (hidden
 * in the .so: the foreign-call path calls it), with its symbols exported so
 * that call sites in it are symbolised by name.
 *
 * Settings are read before main: the cgocheck tests run this binary again
 * with PREEMPT=cgocheck=1 (run_self_env), running child_* tests that do
 * nothing unless ENV_CHILD is set. */
#include "testutil.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>

/* The runtime's check (runtime/pin.h), as the foreign-call path calls it. */
void preempt_cgocheck_arg(const void *arg, const void *site);

static char out[16384];

#define NODES 200

/* Memory the collector never scans, as a C library's would be. */
struct foreign {
  void *user_data;
  uintptr_t hidden;
};

/* A hidden pointer read again after a collection: the compiler may not
 * keep the pointer it unhid before (a root) in a register across it. */
static uintptr_t fresh(const uintptr_t *h) { return *(const volatile uintptr_t *)h; }

static _Atomic int finalized;
static void count_fin(void *obj, void *arg) {
  (void)arg;
  tnode_verify(obj);
  atomic_fetch_add(&finalized, 1);
}

/* Garbage between collections, so that freed memory gets reused (and, with
 * PREEMPT=verify=1, poisoned and checked). */
__attribute__((noinline)) static void churn(int n) {
  for (int i = 0; i < n; i++)
    opaque(chain(20, 1000000 + (uint64_t)i));
}

/* A chain whose head only f points to (and, hidden, f->hidden); pinned
 * if pin.  In a function of its own: no copy stays in the test's frame. */
__attribute__((noinline)) static void hand_over(struct foreign *f, bool pin,
                                                bool finalizer) {
  struct tnode *head = chain(NODES, 1);
  if (finalizer)
    preempt_set_finalizer(head, count_fin, NULL);
  if (pin)
    preempt_pin(head);
  f->user_data = head;
  f->hidden = hide(head);
}

__attribute__((noinline)) static void collect_many(int n) {
  for (int i = 0; i < n; i++) {
    churn(50);
    preempt_gc();
  }
}

Test(pin, pinned_survives_with_only_foreign_pointers) {
  struct foreign *f = malloc(sizeof *f);
  cr_assert(f);
  hand_over(f, true, true);
  collect_many(20);
  preempt_run_finalizers();
  cr_assert_eq(atomic_load(&finalized), 0, "a pinned object was finalized");
  cr_assert(chain_ok(f->user_data, NODES, 1),
            "a pinned chain was freed (or what it points to)");
  cr_assert(chain_ok(unhide(f->hidden), NODES, 1));
  /* Unpinned: an ordinary object again, collected once unreachable. */
  preempt_unpin(unhide(f->hidden));
  f->user_data = NULL;
  collect_many(2);
  preempt_run_finalizers();
  collect_many(2); /* finalized objects are freed by the next cycle */
  if (PRECISE_FRAMES)
    cr_assert_eq(atomic_load(&finalized), 1, "not finalized after unpinning");
  assert_collected(fresh(&f->hidden), "an unpinned object was not collected");
  free(f);
}

/* The control: without the pin the same object is collected, so the test
 * above does hide it from the collector. */
Test(pin, unpinned_with_only_foreign_pointers_is_collected) {
  REQUIRE_PRECISE_FRAMES();
  struct foreign *f = malloc(sizeof *f);
  cr_assert(f);
  hand_over(f, false, true);
  collect_many(2);
  preempt_run_finalizers();
  collect_many(2);
  cr_assert_eq(atomic_load(&finalized), 1);
  assert_collected(fresh(&f->hidden), "held only by malloc'ed memory, yet kept");
  free(f);
}

__attribute__((noinline)) static uintptr_t pinned_hidden(size_t size,
                                                         bool noscan,
                                                         size_t pin_at) {
  unsigned char *p = noscan ? preempt_alloc_noscan(size) : preempt_alloc(size);
  cr_assert(p);
  for (size_t i = 0; i < size; i += 4096)
    p[i] = (unsigned char)(i / 4096 + 1);
  p[size - 1] = 0x5a;
  preempt_pin(p + pin_at); /* interior pointers pin their object */
  return hide(p);
}

static void check_bytes(uintptr_t h, size_t size) {
  const unsigned char *p = unhide(h);
  for (size_t i = 0; i < size; i += 4096)
    cr_assert_eq(p[i], (unsigned char)(i / 4096 + 1), "byte %zu", i);
  cr_assert_eq(p[size - 1], 0x5a);
}

Test(pin, interior_large_and_noscan_objects) {
  static const struct {
    size_t size;
    bool noscan;
  } cases[] = {{48, false}, {48, true}, {5000, false}, {200000, false},
               {200000, true}};
  uintptr_t h[5];
  for (int i = 0; i < 5; i++)
    h[i] = pinned_hidden(cases[i].size, cases[i].noscan, cases[i].size / 2);
  collect_many(5);
  for (int i = 0; i < 5; i++) {
    cr_assert(preempt_is_heap_object(unhide(h[i])), "case %d freed", i);
    check_bytes(h[i], cases[i].size);
    /* Any interior pointer unpins it, not just the one that pinned it. */
    preempt_unpin((char *)unhide(h[i]) + cases[i].size - 1);
  }
  collect_many(2);
  for (int i = 0; i < 5; i++)
    assert_collected(fresh(&h[i]), "case %d kept after unpinning", i);
}

/* Foreign memory is malloc'ed in these tests, not a local struct: the
 * compiler may keep a local's unhidden pointer in a register across the
 * collection that should free it. */
Test(pin, pins_are_counted) {
  struct foreign *f = malloc(sizeof *f);
  cr_assert(f);
  hand_over(f, true, false);
  preempt_pin(unhide(f->hidden));
  preempt_pin((char *)unhide(f->hidden) + 8);
  f->user_data = NULL;
  for (int k = 3; k > 0; k--) {
    collect_many(3);
    cr_assert(chain_ok(unhide(f->hidden), NODES, 1),
              "freed with %d pins left", k);
    preempt_unpin(unhide(f->hidden));
  }
  collect_many(2);
  assert_collected(fresh(&f->hidden), "kept after as many unpins as pins");
  free(f);
}

/* Many pinned objects: the table grows, and shrinks again as they go. */
Test(pin, many_pins) {
  enum { N = 20000 };
  uintptr_t *h = malloc(N * sizeof *h);
  cr_assert(h);
  for (int i = 0; i < N; i++) {
    struct tnode *n = tnode_new((uint64_t)i);
    preempt_pin(n);
    h[i] = hide(n);
  }
  collect_many(3);
  for (int i = 0; i < N; i++) {
    struct tnode *n = unhide(h[i]);
    tnode_verify(n);
    cr_assert_eq(n->id, (uint64_t)i);
  }
  for (int i = 0; i < N; i += 2)
    preempt_unpin(unhide(h[i]));
  collect_many(2);
  for (int i = 0; i < N; i++) {
    if (i % 2 == 0) {
      if (i % 1000 == 0)
        assert_collected(fresh(&h[i]), "node %d kept after unpinning", i);
      continue;
    }
    tnode_verify(unhide(h[i]));
    preempt_unpin(unhide(h[i]));
  }
  collect_many(1);
  assert_collected(fresh(&h[N - 1]), "the last node kept");
  free(h);
}

/* ---- threads ---------------------------------------------------------------- */

#define SHARED 64
static uintptr_t shared[SHARED]; /* hidden; main holds one pin on each */
static _Atomic bool stop_threads;
static _Atomic long pin_ops;
static _Atomic int failures; /* Criterion's asserts are for the main thread */

/* Attached: allocates its own objects, pins them, hides them, unpins. */
static void *attached_pinner(void *arg) {
  uint64_t base = (uint64_t)(uintptr_t)arg * 1000000;
  uintptr_t *mine = malloc(16 * sizeof *mine);
  if (!mine)
    abort();
  for (uint64_t round = 0; !atomic_load(&stop_threads) || round < 50; round++) {
    for (int i = 0; i < 16; i++) {
      struct tnode *n = tnode_new(base + round * 16 + (uint64_t)i);
      preempt_pin(n);
      if (i % 4 == 0)
        preempt_pin(n); /* counted */
      mine[i] = hide(n);
    }
    opaque(chain(10, 7)); /* allocation: a safepoint */
    for (int i = 0; i < 16; i++) {
      struct tnode *n = unhide(mine[i]);
      uint64_t id = base + round * 16 + (uint64_t)i;
      if (n->id != id || n->check != tcheck(id))
        atomic_fetch_add(&failures, 1);
      if (i % 4 == 0)
        preempt_unpin(n);
      preempt_unpin(n);
    }
    atomic_fetch_add(&pin_ops, 16);
  }
  free(mine);
  return NULL;
}

/* Not attached (a library's own thread): pins and unpins objects it never
 * allocated and does not keep alive itself. */
static void *detached_pinner(void *arg) {
  (void)arg;
  preempt_thread_detach();
  unsigned seed = 1;
  for (long i = 0; !atomic_load(&stop_threads) || i < 2000; i++) {
    seed = seed * 1103515245 + 12345;
    void *p = unhide(shared[(seed >> 8) % SHARED]);
    preempt_pin(p);
    preempt_pin((char *)p + 16);
    preempt_unpin(p);
    preempt_unpin(p);
    atomic_fetch_add(&pin_ops, 1);
  }
  return NULL;
}

static void *collector(void *arg) {
  (void)arg;
  while (!atomic_load(&stop_threads)) {
    preempt_gc();
    preempt_stop_the_world("pin test");
    preempt_start_the_world();
  }
  return NULL;
}

Test(pin, concurrent_pins_while_collecting, .timeout = 120) {
  for (int i = 0; i < SHARED; i++) {
    struct tnode *n = tnode_new(500 + (uint64_t)i);
    preempt_pin(n);
    shared[i] = hide(n);
  }
  pthread_t th[5];
  cr_assert_eq(pthread_create(&th[0], NULL, collector, NULL), 0);
  for (int i = 1; i <= 2; i++)
    cr_assert_eq(pthread_create(&th[i], NULL, attached_pinner,
                                (void *)(uintptr_t)i), 0);
  for (int i = 3; i <= 4; i++)
    cr_assert_eq(pthread_create(&th[i], NULL, detached_pinner, NULL), 0);
  uint64_t gc0 = gc_count();
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  /* Until enough collections have interleaved (or 3 s: no timing claim). */
  do {
    churn(20);
    clock_gettime(CLOCK_MONOTONIC, &t);
  } while (gc_count() - gc0 < 100 && t.tv_sec - t0.tv_sec < 3);
  atomic_store(&stop_threads, true);
  for (int i = 0; i < 5; i++)
    pthread_join(th[i], NULL);
  cr_assert_eq(atomic_load(&failures), 0,
               "pinned objects were freed or reused while pinned");
  cr_log_info("%ld pin operations during %llu collections",
              atomic_load(&pin_ops), (unsigned long long)(gc_count() - gc0));
  cr_assert_gt(gc_count() - gc0, 0);
  /* The detached threads' pins and unpins balanced: main's pin is the
   * only one left, so each object survives now and goes after one unpin. */
  collect_many(2);
  for (int i = 0; i < SHARED; i++) {
    struct tnode *n = unhide(shared[i]);
    tnode_verify(n);
    cr_assert_eq(n->id, 500 + (uint64_t)i);
    preempt_unpin(n);
  }
  collect_many(2);
  for (int i = 0; i < SHARED; i += 8)
    assert_collected(fresh(&shared[i]), "shared object %d kept after its last unpin", i);
}

/* Cost of a pin and its unpin on one thread, for the record (no claim). */
Test(pin, cost) {
  struct tnode *n = tnode_new(1);
  enum { ROUNDS = 1000000 };
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int i = 0; i < ROUNDS; i++) {
    preempt_pin(n);
    preempt_unpin(n);
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  double ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / ROUNDS;
  cr_log_info("pin + unpin: %.1f ns", ns);
  tnode_verify(n);
}

/* ---- misuse ------------------------------------------------------------------ */

static int a_global;

Test(pin, null_is_fatal, .signal = SIGABRT) { preempt_pin(NULL); }
Test(pin, global_is_fatal, .signal = SIGABRT) { preempt_pin(&a_global); }
Test(pin, stack_is_fatal, .signal = SIGABRT) {
  int local = 0;
  preempt_pin(opaque(&local));
}
Test(pin, malloc_is_fatal, .signal = SIGABRT) {
  void *p = malloc(64);
  preempt_pin(p);
}
Test(pin, freed_object_is_fatal, .signal = SIGABRT) {
  if (!PRECISE_FRAMES) { /* a stale copy in a frame may keep the object */
    cr_log_info("not checked: frames are scanned conservatively under ASan");
    abort();
  }
  struct foreign *f = malloc(sizeof *f);
  cr_assert(f);
  hand_over(f, false, false);
  f->user_data = NULL;
  collect_many(2);
  cr_assert(!preempt_is_heap_object(unhide(f->hidden)), "not freed");
  preempt_pin(unhide(f->hidden));
}
Test(pin, unpin_unpinned_is_fatal, .signal = SIGABRT) {
  struct tnode *n = tnode_new(1);
  preempt_unpin(n);
}
Test(pin, unpin_once_too_often_is_fatal, .signal = SIGABRT) {
  struct tnode *n = tnode_new(1);
  preempt_pin(n);
  preempt_pin(n);
  preempt_unpin(n);
  preempt_unpin(n);
  preempt_unpin(n);
}

/* The same, run again to read what they say. */
Test(pin, misuse_messages, .timeout = 60) {
  if (in_env_child())
    return;
  static const char *const cases[][3] = {
      {"pin/null_is_fatal", "preempt_pin((nil))", "NULL is not a heap object"},
      {"pin/global_is_fatal", "not in the collected heap",
       "a global or code"},
      {"pin/stack_is_fatal", "not in the collected heap",
       "on this thread's stack"},
      {"pin/malloc_is_fatal", "not in the collected heap",
       "memory from malloc or mmap"},
      {"pin/freed_object_is_fatal", "preempt_pin(0x", "a freed object"},
      {"pin/unpin_unpinned_is_fatal", "preempt_unpin(0x",
       "(struct tnode, 32 bytes) is not pinned"},
      {"pin/unpin_once_too_often_is_fatal", "preempt_unpin(0x",
       "is not pinned"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    if (!PRECISE_FRAMES && strstr(cases[i][0], "freed"))
      continue;
    run_self_env("test_pin", "", cases[i][0], out, sizeof out);
    cr_assert(strstr(out, "preempt: fatal: ") && strstr(out, cases[i][1]) &&
                  strstr(out, cases[i][2]) && strstr(out, "called from "),
              "%s: expected '%s' and '%s':\n%s", cases[i][0], cases[i][1],
              cases[i][2], out);
  }
}

/* ---- cgocheck ---------------------------------------------------------------- */

/* Stands for a foreign function: the call site reported is inside it. */
__attribute__((noinline)) void pin_test_foreign_call(void *arg) {
  preempt_cgocheck_arg(arg, (const char *)(void *)pin_test_foreign_call + 4);
}

/* An argument object: a heap pointer to b, another into itself, a pointer
 * to a global and a word that looks like nothing in particular. */
struct arg {
  struct tnode *b;
  struct arg *self;
  int *global;
  uintptr_t number;
};

__attribute__((noinline)) static struct arg *make_arg(void) {
  struct arg *a = preempt_new(struct arg);
  a->b = tnode_new(2);
  a->self = a;
  a->global = &a_global;
  a->number = 12345;
  return a;
}

Test(pin, child_cgocheck_quiet_when_pinned) {
  if (!in_env_child())
    return;
  struct arg *a = make_arg();
  preempt_pin(a->b);
  pin_test_foreign_call(a);
  pin_test_foreign_call(&a->number); /* interior: the whole object */
  /* Not heap objects, or holding no pointer: nothing to check. */
  pin_test_foreign_call(&a_global);
  pin_test_foreign_call(NULL);
  uintptr_t *raw = preempt_alloc_noscan(64);
  raw[0] = (uintptr_t)tnode_new(3); /* never scanned, so never followed */
  pin_test_foreign_call(raw);
  preempt_unpin(a->b);
  preempt_keep_alive(a);
}

Test(pin, child_cgocheck_unpinned) {
  if (!in_env_child())
    return;
  struct arg *a = make_arg();
  preempt_pin(a); /* the argument's own pin does not cover its contents */
  pin_test_foreign_call(&a->global);
}

/* Without cgocheck=1 the same call is quiet (and the check is skipped). */
Test(pin, cgocheck_off_by_default) {
  if (in_env_child())
    return;
  struct arg *a = make_arg();
  pin_test_foreign_call(a);
  preempt_keep_alive(a);
}

Test(pin, cgocheck, .timeout = 60) {
  if (in_env_child())
    return;
  int st = run_self_env("test_pin", "cgocheck=1",
                        "pin/child_cgocheck_quiet_when_pinned", out, sizeof out);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0 && strstr(out, "Passing: 1") &&
                !strstr(out, "preempt:"),
            "cgocheck=1 complained about pinned pointers:\n%s", out);
  st = run_self_env("test_pin", "cgocheck=1", "pin/child_cgocheck_unpinned",
                    out, sizeof out);
  cr_assert(!(WIFEXITED(st) && WEXITSTATUS(st) == 0) &&
                strstr(out, "preempt: fatal: cgocheck: an argument of foreign "
                            "call at pin_test_foreign_call+0x4 (") &&
                strstr(out, ") holds pointer to unpinned heap object 0x") &&
                strstr(out, "(struct tnode, 32 bytes) at offset 0 of heap "
                            "object 0x") &&
                strstr(out, "(struct arg, 32 bytes; the argument was 0x"),
            "cgocheck=1 did not catch an unpinned pointer:\n%s", out);
  st = run_self_env("test_pin", "cgocheck=0", "pin/child_cgocheck_unpinned",
                    out, sizeof out);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0 && !strstr(out, "preempt:"),
            "cgocheck=0 still checks:\n%s", out);
  st = run_self_env("test_pin", "cgocheck=2", NULL, out, sizeof out);
  cr_assert(WIFSIGNALED(st) && strstr(out, "bad value '2' for 'cgocheck'"),
            "cgocheck=2 accepted:\n%s", out);
}
