/* Layouts made at run time (preempt_make_descriptor): an object is scanned
 * at the words its bitmap names and no others, so a pointer hidden in a
 * word the bitmap leaves out keeps nothing alive, and one in a named word
 * always does. */
#include "testutil.h"

#include <signal.h>

static void **holder;

__attribute__((noinline)) static void *reveal(uintptr_t h) {
  __asm__ __volatile__("" : "+r"(h));
  return unhide(h);
}

/* word 0: a pointer; word 1: data; word 2: a pointer; word 3: data. */
static const uint64_t bits = 0x5;

__attribute__((noinline)) static void fill(preempt_descriptor *d,
                                           uintptr_t *kept, uintptr_t *dropped) {
  holder = preempt_alloc_described(4 * sizeof(void *), d);
  struct tnode *a = tnode_new(1), *b = tnode_new(2), *c = tnode_new(3);
  holder[0] = a;
  holder[1] = b; /* a pointer's bits in a data word */
  holder[2] = c;
  kept[0] = hide(a), kept[1] = hide(c), *dropped = hide(b);
}

Test(descriptor, only_the_named_words_keep_objects) {
  REQUIRE_PRECISE_FRAMES();
  preempt_descriptor *d = preempt_make_descriptor(&bits, 4, "struct pair_data");
  cr_assert_not_null(d);
  uintptr_t kept[2], dropped;
  fill(d, kept, &dropped);
  for (int i = 0; i < 3; i++)
    preempt_gc();
  tnode_verify(reveal(kept[0]));
  tnode_verify(reveal(kept[1]));
  cr_assert(preempt_is_heap_object(reveal(kept[0])));
  cr_assert(preempt_is_heap_object(reveal(kept[1])));
  cr_assert(!preempt_is_heap_object(reveal(dropped)),
            "a pointer in a data word kept its object");
  cr_assert_eq(holder[0], reveal(kept[0]));
  holder = NULL;
}

Test(descriptor, many_objects_survive_collections) {
  preempt_descriptor *d = preempt_make_descriptor(&bits, 4, NULL);
  cr_assert_not_null(d);
  enum { N = 2000 };
  static void **objs[N];
  for (int i = 0; i < N; i++) {
    objs[i] = preempt_alloc_described(4 * sizeof(void *), d);
    objs[i][0] = tnode_new((uint64_t)i);
    objs[i][2] = tnode_new((uint64_t)i + N);
  }
  for (int r = 0; r < 5; r++) {
    preempt_gc();
    for (int i = 0; i < N; i++) {
      struct tnode *a = objs[i][0], *c = objs[i][2];
      tnode_verify(a);
      tnode_verify(c);
      cr_assert_eq(a->id, (uint64_t)i);
      cr_assert_eq(c->id, (uint64_t)i + N);
    }
  }
}

Test(descriptor, bad_arguments) {
  cr_assert_null(preempt_make_descriptor(&bits, 0, NULL));
  cr_assert_null(preempt_make_descriptor(NULL, 4, NULL));
  uint64_t none = 0;
  preempt_descriptor *d = preempt_make_descriptor(&none, 2, "no pointers");
  cr_assert_not_null(d);
  void **p = preempt_alloc_described(16, d);
  cr_assert_not_null(p);
  cr_assert_eq(preempt_object_size(p) >= 16, 1);
}

Test(descriptor, an_object_smaller_than_its_descriptor_is_fatal,
     .signal = SIGABRT) {
  preempt_descriptor *d = preempt_make_descriptor(&bits, 4, NULL);
  preempt_alloc_described(8, d);
}
