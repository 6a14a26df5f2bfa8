/* Weak references and ephemerons: a weak slot is cleared exactly when its
 * object dies (a long one only once the object is reclaimed, after its
 * finalizer); a slot in a dead object is forgotten, never written; an
 * ephemeron keeps its value exactly as long as its key lives by other
 * paths, chains across ephemerons included. */
#include "testutil.h"

#include <pthread.h>
#include <signal.h>

static void *wslot, *wlong, *blink; /* weak slots in globals */
static struct tnode *strong;
static preempt_ephemeron *eph[4];

__attribute__((noinline)) static void *reveal(uintptr_t h) {
  __asm__ __volatile__("" : "+r"(h));
  return unhide(h);
}

/* Made in a frame of its own: nothing of it stays in the test's frame. */
__attribute__((noinline)) static uintptr_t weakly_held(void **slot,
                                                      uint64_t id) {
  struct tnode *n = tnode_new(id);
  cr_assert_eq(preempt_weak_set(slot, n), 0);
  return hide(n);
}

Test(weak, a_slot_keeps_nothing_and_is_cleared_when_its_object_dies) {
  REQUIRE_PRECISE_FRAMES();
  uintptr_t h = weakly_held(&wslot, 1);
  cr_assert_eq(preempt_weak_get(&wslot), reveal(h));
  cr_assert_neq((uintptr_t)wslot, (uintptr_t)reveal(h), "stored unhidden");
  preempt_gc();
  cr_assert_null(preempt_weak_get(&wslot), "not cleared");
  cr_assert_null(wslot);
  cr_assert(!preempt_is_heap_object(reveal(h)), "the weak slot kept it");
}

Test(weak, a_slot_to_a_live_object_is_kept_across_collections) {
  strong = tnode_new(7);
  cr_assert_eq(preempt_weak_set(&wslot, strong), 0);
  for (int i = 0; i < 5; i++) {
    preempt_gc();
    cr_assert_eq(preempt_weak_get(&wslot), strong);
  }
  tnode_verify(strong);
  cr_assert_eq(preempt_weak_set(&wslot, strong), 1, "set again: replaced");
  cr_assert_eq(preempt_weak_unlink(&wslot), 1);
  cr_assert_eq(preempt_weak_unlink(&wslot), 0);
  strong = NULL;
}

static _Atomic int finalized;
static void note_final(void *obj, void *arg) {
  (void)arg;
  tnode_verify(obj); /* a long link still sees it whole */
  finalized++;
}

__attribute__((noinline)) static uintptr_t finalizable(void) {
  struct tnode *n = tnode_new(3);
  preempt_set_finalizer(n, note_final, NULL);
  cr_assert_eq(preempt_weak_set(&wslot, n), 0);
  cr_assert_eq(preempt_weak_set_long(&wlong, n), 0);
  return hide(n);
}

Test(weak, short_links_clear_before_finalization_long_ones_after) {
  REQUIRE_PRECISE_FRAMES();
  uintptr_t h = finalizable();
  preempt_gc(); /* finds it unreachable, queues its finalizer */
  cr_assert_null(preempt_weak_get(&wslot), "the short link survived");
  cr_assert_eq(preempt_weak_get(&wlong), reveal(h),
               "the long link was cleared before the finalizer ran");
  preempt_run_finalizers();
  cr_assert_eq(finalized, 1);
  preempt_gc(); /* reclaims it */
  cr_assert_null(preempt_weak_get(&wlong), "the long link survived");
}

/* A holder object with a weak slot inside, both dead at once: the link is
 * forgotten, and the collector never writes into the holder's old slot,
 * which a new object may have taken. */
__attribute__((noinline)) static void dead_holder(void) {
  void **holder = preempt_alloc(4 * sizeof(void *));
  struct tnode *t = tnode_new(9);
  cr_assert_eq(preempt_weak_set(&holder[1], t), 0);
}

Test(weak, a_slot_inside_a_dead_object_is_forgotten) {
  REQUIRE_PRECISE_FRAMES();
  for (int round = 0; round < 50; round++) {
    dead_holder();
    preempt_gc();
    /* New objects of the same size take the freed slots. */
    uintptr_t *fresh[64];
    for (int i = 0; i < 64; i++) {
      fresh[i] = preempt_alloc(4 * sizeof(void *));
      for (int k = 0; k < 4; k++)
        fresh[i][k] = 0x1234567 + (uintptr_t)k;
    }
    preempt_gc();
    for (int i = 0; i < 64; i++)
      for (int k = 0; k < 4; k++)
        cr_assert_eq(fresh[i][k], 0x1234567 + (uintptr_t)k,
                     "round %d: a weak slot of a dead object was written",
                     round);
  }
}

/* Boehm GC's style: the program hides the pointer itself. */
Test(weak, a_linked_slot_the_program_hides_is_set_to_null) {
  REQUIRE_PRECISE_FRAMES();
  uintptr_t h = hide(tnode_new(11));
  blink = (void *)~(uintptr_t)reveal(h);
  cr_assert_eq(preempt_weak_link(&blink, reveal(h), 0), 0);
  preempt_gc();
  cr_assert_null(blink);
}

static void weak_to_a_global(void) {
  static long g;
  preempt_weak_set(&wslot, &g);
}

Test(weak, a_slot_to_a_non_heap_object_is_fatal) {
  char out[2048];
  int status = run_in_child(weak_to_a_global, out, sizeof out);
  cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "%s", out);
  cr_assert(strstr(out, "preempt_weak_set") && strstr(out, "weakly"), "%s",
            out);
}

/* ---- ephemerons ---------------------------------------------------------- */

/* An ephemeron in eph[i] whose value (id vid) is reachable only through
 * it, and whose value points back at its key (the cycle weak tables must
 * break). */
__attribute__((noinline)) static uintptr_t make_eph(int i, struct tnode *key,
                                                    uint64_t vid) {
  struct tnode *v = tnode_new(vid);
  v->a = key;
  eph[i] = preempt_ephemeron_new(key, v);
  return hide(v);
}

Test(ephemeron, the_value_lives_while_the_key_does) {
  strong = tnode_new(20);
  uintptr_t hv = make_eph(0, strong, 21);
  for (int i = 0; i < 5; i++) {
    preempt_gc();
    cr_assert_eq(preempt_ephemeron_key(eph[0]), strong);
    struct tnode *v = preempt_ephemeron_value(eph[0]);
    cr_assert_eq(v, reveal(hv), "the value was cleared while the key lives");
    cr_assert(preempt_is_heap_object(v), "the value was freed");
    tnode_verify(v);
  }
  strong = NULL;
}

__attribute__((noinline)) static uintptr_t make_dying_key(void) {
  struct tnode *k = tnode_new(30);
  return hide(k);
}

Test(ephemeron, a_dead_key_clears_both_and_frees_the_value) {
  REQUIRE_PRECISE_FRAMES();
  uintptr_t hk = make_dying_key();
  uintptr_t hv = make_eph(0, reveal(hk), 31); /* the value points at the key */
  preempt_gc();
  cr_assert_null(preempt_ephemeron_key(eph[0]));
  cr_assert_null(preempt_ephemeron_value(eph[0]));
  cr_assert(!preempt_is_heap_object(reveal(hk)), "the key was kept");
  cr_assert(!preempt_is_heap_object(reveal(hv)), "the value was kept");
}

/* e0: k0 -> v0, e1: v0 -> v1, e2: v1 -> v2: a chain through values. */
__attribute__((noinline)) static void make_chain(struct tnode *k0,
                                                 uintptr_t *hv) {
  struct tnode *v0 = tnode_new(40), *v1 = tnode_new(41), *v2 = tnode_new(42);
  /* Made in reverse so that no pass of the fixpoint resolves all at once. */
  eph[2] = preempt_ephemeron_new(v1, v2);
  eph[1] = preempt_ephemeron_new(v0, v1);
  eph[0] = preempt_ephemeron_new(k0, v0);
  hv[0] = hide(v0), hv[1] = hide(v1), hv[2] = hide(v2);
}

Test(ephemeron, chains_through_values_resolve) {
  REQUIRE_PRECISE_FRAMES();
  uintptr_t hv[3];
  strong = tnode_new(43);
  make_chain(strong, hv);
  preempt_gc();
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(preempt_ephemeron_value(eph[i]), reveal(hv[i]),
                 "link %d of the chain was lost", i);
    cr_assert(preempt_is_heap_object(reveal(hv[i])), "value %d freed", i);
    tnode_verify(reveal(hv[i]));
  }
  strong = NULL; /* now the first key dies, and with it the chain */
  preempt_gc();
  for (int i = 0; i < 3; i++) {
    cr_assert_null(preempt_ephemeron_value(eph[i]), "link %d kept", i);
    cr_assert(!preempt_is_heap_object(reveal(hv[i])), "value %d kept", i);
  }
}

Test(ephemeron, unreachable_ephemerons_are_collected) {
  REQUIRE_PRECISE_FRAMES();
  strong = tnode_new(50);
  struct preempt_stats before, after;
  for (int i = 0; i < 10000; i++)
    preempt_ephemeron_new(strong, tnode_new((uint64_t)i));
  preempt_gc();
  preempt_read_stats(&before);
  preempt_gc();
  preempt_read_stats(&after);
  /* Nothing of the 10000 pairs is left after the first collection. */
  cr_assert_lt(after.heap_live_bytes, 10000 * 16,
               "%zu bytes live: the ephemerons or their values were kept",
               (size_t)after.heap_live_bytes);
  tnode_verify(strong);
  (void)before;
  strong = NULL;
}

/* A thread adds ephemerons while another forks: the child can add its
 * own (the list's lock is not left held in it). */
static _Atomic int stop_adding;
static void *adder(void *arg) {
  struct tnode *k = arg;
  while (!stop_adding)
    preempt_ephemeron_new(k, NULL);
  return NULL;
}

Test(ephemeron, fork_while_another_thread_adds_them, .timeout = 120) {
  strong = tnode_new(60);
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, adder, strong), 0);
  for (int f = 0; f < 30; f++) {
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
      alarm(20); /* a hang is a failure, not a stuck test */
      preempt_ephemeron *e = preempt_ephemeron_new(strong, strong);
      preempt_gc();
      _exit(preempt_ephemeron_value(e) == strong ? 0 : 3);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "fork %d: the child failed (status %#x)", f, status);
  }
  stop_adding = 1;
  pthread_join(th, NULL);
  strong = NULL;
}
