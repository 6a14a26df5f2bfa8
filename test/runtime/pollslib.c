/* A shared library built with -fplugin-arg-preempt-polls, which test_polls
 * loads and unloads over and over while other threads stop the world.
 * Its loop has no call: with PREEMPT=asyncpreempt=0 only the poll on its
 * back-edge stops it, and that poll reads this library's own flag. */
#include <preempt.h>
#include <stdatomic.h>

struct pollslib_box {
  long v;
};

/* Spins until *quit, counting in *progress, holding a heap object that
 * only this frame references; returns whether it survived intact. */
long pollslib_spin(_Atomic int *quit, _Atomic unsigned long *progress) {
  struct pollslib_box *b = preempt_new(struct pollslib_box);
  b->v = 0x5eed;
  while (!atomic_load_explicit(quit, memory_order_relaxed))
    atomic_fetch_add_explicit(progress, 1, memory_order_relaxed);
  return atomic_load_explicit((_Atomic long *)&b->v, memory_order_relaxed) ==
         0x5eed;
}
