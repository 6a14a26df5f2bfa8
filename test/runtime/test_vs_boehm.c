/* The same code run against Boehm GC and against preempt: a pointer that
 * is dead in the program but still physically in a callee-saved register
 * when the collector runs.  Boehm scans registers and stacks
 * conservatively and keeps the object; our maps say the value is dead. */
#include "testutil.h"

#include <gc.h>

typedef void *(*alloc_fn)(size_t);
typedef void (*collect_fn)(void);

__attribute__((noinline)) static void nothing(void) { opaque(NULL); }

/* p lives in a callee-saved register across nothing(); after use it is
 * dead, but no instruction overwrites that register before collect(). */
__attribute__((noinline)) static uintptr_t scenario(alloc_fn alloc,
                                                    collect_fn collect) {
  void *p = alloc(64);
  uintptr_t h = hide(p);
  nothing();
  opaque(p);
  collect();
  return h;
}

static void *boehm_alloc(size_t n) { return GC_MALLOC(n); }
static void boehm_collect(void) { GC_gcollect(); }

Test(precision, boehm_keeps_what_preempt_frees) {
  REQUIRE_PRECISE_FRAMES();
  GC_INIT();
  /* A disappearing link tells whether Boehm freed the object. */
  uintptr_t hb = scenario(boehm_alloc, boehm_collect);
  static void *link;
  link = unhide(hb);
  GC_general_register_disappearing_link(&link, unhide(hb));
  uintptr_t hb2 = scenario(boehm_alloc, boehm_collect);
  static void *link2;
  link2 = unhide(hb2);
  GC_general_register_disappearing_link(&link2, unhide(hb2));
  GC_gcollect();
  int boehm_kept = link2 != NULL;

  uintptr_t hp = scenario(preempt_alloc, preempt_gc);
  int preempt_kept = preempt_is_heap_object(unhide(hp));

  cr_log_info("Boehm %s the object, preempt %s it",
              boehm_kept ? "kept" : "freed", preempt_kept ? "kept" : "freed");
  cr_assert(!preempt_kept, "preempt kept an object only a dead local pointed to");
  cr_assert(boehm_kept, "Boehm freed it too: the dead pointer was not left in "
                        "a register this time, so this run shows nothing");
}
