/* After a peak, the heap keeps room for about as much as it needed (fewer
 * collections), and gives it back as time passes.  Run with
 * PREEMPT=retain=1: the retained size halves every second. */
#include "testutil.h"

#include <unistd.h>

static void **big;
__attribute__((noinline)) static void fill_big(void) {
  big = preempt_alloc(1000 * sizeof(void *));
  for (int i = 0; i < 1000; i++)
    big[i] = preempt_alloc(100 * 1024);
}

static uint64_t mapped(void) {
  struct preempt_stats s;
  preempt_read_stats(&s);
  return s.heap_mapped_bytes;
}

Test(retain, room_kept_then_given_back, .timeout = 60) {
  REQUIRE_PRECISE_FRAMES();
  fill_big();
  preempt_gc();
  uint64_t peak = mapped();
  big = NULL;
  preempt_gc();
  preempt_gc();
  struct preempt_stats s;
  preempt_read_stats(&s);
  cr_assert_lt(s.heap_live_bytes, peak / 10);
  cr_assert_geq(s.next_gc_bytes, peak / 2,
                "the room of the peak was not kept (next collection at %llu of %llu)",
                (unsigned long long)s.next_gc_bytes, (unsigned long long)peak);
  cr_assert_geq(mapped(), peak / 2, "memory given back at once");
  /* Four half-lives later the retained size is 1/16 of the peak. */
  sleep(4);
  preempt_gc();
  preempt_gc();
  cr_assert_lt(mapped(), peak / 4, "still %llu of %llu bytes mapped after 4 s",
               (unsigned long long)mapped(), (unsigned long long)peak);
}
