/* What precise maps buy over a conservative collector.  A pointer that is
 * dead in the program is not a root even if its bits are still in a
 * register or a stack slot; a live one is a root wherever codegen put it,
 * a callee-saved register included. */
#include "testutil.h"

__attribute__((noinline)) static void use(void *p) { opaque(p); }
__attribute__((noinline)) static void nothing(void) { opaque(NULL); }

/* p is live across nothing() (so codegen keeps it in a callee-saved
 * register or a spill slot), then dead: at preempt_gc() its bits are
 * typically still in that register, but the map of that call does not
 * list it. */
__attribute__((noinline)) static uintptr_t dead_after_use(void) {
  void *p = preempt_alloc(128);
  nothing();
  use(p);
  uintptr_t h = hide(p);
  preempt_gc();
  return h;
}

Test(precision, dead_local_is_collected) {
  REQUIRE_PRECISE_FRAMES();
  uintptr_t h = dead_after_use();
  cr_assert(!preempt_is_heap_object(unhide(h)),
            "an object referenced only by a dead local survived");
}

/* The same object, kept alive by a later use: the collection must see it
 * although its only copy is in a callee-saved register (the plugin does
 * not spill roots; test/lit checks that maps say "Register"). */
__attribute__((noinline)) static int live_in_register(void) {
  struct tnode *n = tnode_new(42);
  uintptr_t h = hide(n);
  for (int i = 0; i < 5; i++)
    preempt_gc();
  int ok = preempt_is_heap_object(unhide(h));
  tnode_verify(n);
  return ok && n->id == 42;
}

Test(precision, live_value_in_register_is_kept) {
  cr_assert(live_in_register());
}

/* A dead pointer left in a frame slot of a returned call. */
__attribute__((noinline)) static uintptr_t leave_garbage_on_stack(void) {
  void *volatile slot[4];
  for (int i = 0; i < 4; i++)
    slot[i] = preempt_alloc(64);
  return hide(slot[0]);
}

Test(precision, stale_stack_slot_is_not_a_root) {
  REQUIRE_PRECISE_FRAMES();
  uintptr_t h = leave_garbage_on_stack();
  preempt_gc();
  cr_assert(!preempt_is_heap_object(unhide(h)));
}
