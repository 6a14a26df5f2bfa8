/* Explicit free and object queries: a freed object's slot is reclaimed by
 * the next collection even when a stale pointer reaches it, nothing
 * reachable is ever lost among the frees, and every misuse is fatal with a
 * message naming what is wrong and the caller. */
#include "testutil.h"

#include <signal.h>

static struct tnode *keep;          /* a chain that must survive */
static void *volatile stale_holder; /* holds a pointer to a freed object */

__attribute__((noinline)) static void *reveal(uintptr_t h) {
  __asm__ __volatile__("" : "+r"(h));
  return unhide(h);
}

Test(free, null_is_ignored) { preempt_free(NULL); }

Test(free, memory_is_cleared_at_once_and_the_slot_reclaimed_by_a_collection) {
  REQUIRE_PRECISE_FRAMES();
  unsigned char *p = preempt_alloc(48);
  memset(p, 0x5c, 48);
  uintptr_t h = hide(p);
  preempt_free(p);
  p = reveal(h);
  for (int i = 0; i < 48; i++) /* 0, or 0xdb under PREEMPT=poison */
    cr_assert(p[i] == 0 || p[i] == 0xdb, "byte %d is %#x after the free", i,
              p[i]);
  cr_assert_null(preempt_object_start(p), "a freed object is not live");
  cr_assert_eq(preempt_object_size(p), 0);
  struct preempt_stats before, after;
  preempt_read_stats(&before);
  preempt_gc();
  preempt_read_stats(&after);
  cr_assert_geq(after.total_freed_objects - before.total_freed_objects, 1);
  cr_assert(!preempt_is_heap_object(reveal(h)), "the slot was not reclaimed");
}

Test(free, a_stale_pointer_does_not_keep_it_nor_what_it_held) {
  REQUIRE_PRECISE_FRAMES();
  struct tnode *obj = tnode_new(1), *child = tnode_new(2);
  obj->a = child;
  uintptr_t ho = hide(obj), hc = hide(child);
  stale_holder = obj; /* reachable, yet freed */
  preempt_free(obj);
  child = NULL;
  preempt_gc();
  cr_assert(!preempt_is_heap_object(reveal(ho)),
            "a freed object survived because a stale pointer reached it");
  cr_assert(!preempt_is_heap_object(reveal(hc)),
            "what the freed object held was kept: it was not cleared");
  stale_holder = NULL;
}

Test(free, reachable_objects_survive_many_frees_and_collections) {
  keep = chain(500, 1000);
  for (int round = 0; round < 20; round++) {
    struct tnode *t[200];
    for (int i = 0; i < 200; i++)
      t[i] = tnode_new((uint64_t)round * 1000 + (uint64_t)i);
    for (int i = 0; i < 200; i += 2)
      preempt_free(t[i]);
    for (int i = 1; i < 200; i += 2)
      tnode_verify(t[i]);
    preempt_gc();
    for (int i = 1; i < 200; i += 2)
      tnode_verify(t[i]);
    cr_assert(chain_ok(keep, 500, 1000), "round %d: the kept chain was hurt",
              round);
  }
  keep = NULL;
}

static _Atomic int finalized;
static void count_final(void *obj, void *arg) {
  (void)obj, (void)arg;
  finalized++;
}

Test(free, a_freed_objects_finalizer_never_runs) {
  for (int i = 0; i < 10; i++) {
    struct tnode *n = tnode_new((uint64_t)i);
    preempt_set_finalizer(n, count_final, NULL);
    if (i % 2)
      preempt_free(n);
  }
  for (int i = 0; i < 3; i++)
    preempt_gc();
  preempt_run_finalizers();
  cr_assert_leq(finalized, 5, "%d finalizers ran for 5 objects not freed",
                (int)finalized);
  if (PRECISE_FRAMES)
    cr_assert_eq(finalized, 5);
}

Test(free, queries_find_the_start_and_size) {
  char *small = preempt_alloc(40);
  cr_assert_eq(preempt_object_start(small + 17), small);
  cr_assert_eq(preempt_object_start(small), small);
  cr_assert_geq(preempt_object_size(small + 39), 40);
  char *big = preempt_alloc_noscan(3 << 20);
  cr_assert_eq(preempt_object_start(big + (2 << 20)), big);
  cr_assert_geq(preempt_object_size(big), (size_t)3 << 20);
  static int a_global;
  int local;
  cr_assert_null(preempt_object_start(&a_global));
  cr_assert_null(preempt_object_start(opaque(&local)));
  cr_assert_null(preempt_object_start(NULL));
  cr_assert_eq(preempt_object_size(&a_global), 0);
  void *m = malloc(16);
  cr_assert_null(preempt_object_start(m));
  free(m);
  keep = (struct tnode *)small; /* both live to here */
  stale_holder = big;
  keep = NULL;
  stale_holder = NULL;
}

static void free_interior(void) {
  char *p = preempt_alloc(64);
  preempt_free(p + 8);
}
static void free_twice(void) {
  void *p = preempt_alloc(64);
  preempt_free(p);
  preempt_free(p);
}
static void free_global(void) {
  static long g[4];
  preempt_free(g);
}
static void free_pinned(void) {
  void *p = preempt_alloc(64);
  preempt_pin(p);
  preempt_free(p);
}
static void free_malloced(void) { preempt_free(malloc(32)); }

Test(free, misuse_is_fatal_and_says_why) {
  static const struct {
    void (*fn)(void);
    const char *words[3];
  } cases[] = {
      {free_interior, {"preempt_free", "middle of", "called from"}},
      {free_twice, {"preempt_free", "double free", "called from"}},
      {free_global, {"preempt_free", "not in the collected heap", "called from"}},
      {free_pinned, {"preempt_free", "pinned", "called from"}},
      {free_malloced, {"preempt_free", "malloc", "called from"}},
  };
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    char out[4096];
    int status = run_in_child(cases[c].fn, out, sizeof out);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
              "case %zu: not fatal (status %#x): %s", c, status, out);
    for (int w = 0; w < 3; w++)
      cr_assert(strstr(out, cases[c].words[w]), "case %zu: '%s' not in: %s",
                c, cases[c].words[w], out);
  }
}
