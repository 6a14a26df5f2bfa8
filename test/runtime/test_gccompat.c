/* libpreempt-gc through its gc.h, for what bdwgc's own tests do not pin
 * down: finalizer orders and the thread that runs finalizers, link moves,
 * smash reports, aligned and uncollectable objects, kinds across realloc,
 * toggle-refs, back pointers, the allocation lock, and event order. */
#include "gc.h"
#include "gc_backptr.h"
#include "gc_mark.h"
#include "gc_typed.h"
#include "javaxfc.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <preempt.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "testutil.h"

struct cell {
  struct cell *next;
  long value;
};

/* Not inline: a pointer revealed in the test's own frame could be kept
 * in a register across the collections that follow. */
static __attribute__((noinline)) int alive(uintptr_t h) {
  return preempt_is_heap_object(unhide(h));
}

static _Atomic int finalized;
static pthread_t finalizer_thread;

static void GC_CALLBACK count_fin(void *obj, void *cd) {
  (void)obj;
  (void)cd;
  finalizer_thread = pthread_self();
  finalized++;
}

static void collect(void) {
  for (int i = 0; i < 3; i++)
    GC_gcollect();
}

/* bdwgc's default order keeps an object pointing to itself from being
 * finalized; _ignore_self does not.  Finalizers run in this thread. */
static __attribute__((noinline)) uintptr_t make_self_ref(int ignore_self) {
  struct cell *c = GC_NEW(struct cell);
  c->next = c;
  if (ignore_self)
    GC_register_finalizer_ignore_self(c, count_fin, NULL, NULL, NULL);
  else
    GC_register_finalizer(c, count_fin, NULL, NULL, NULL);
  return hide(c);
}

Test(gccompat, strict_order_and_ignore_self) {
  REQUIRE_PRECISE_FRAMES();
  GC_INIT();
  finalized = 0;
  uintptr_t strict = make_self_ref(0);
  collect();
  cr_assert_eq(finalized, 0, "a self-pointing object was finalized under "
                             "GC_register_finalizer's default order");
  cr_assert(alive(strict));
  make_self_ref(1);
  collect();
  cr_assert_eq(finalized, 1, "ignore_self: finalized %d times", finalized);
  cr_assert(pthread_equal(finalizer_thread, pthread_self()),
            "the finalizer ran on another thread, not the collecting one");
}

/* A -> B, both finalizable: A first, B only once A is gone. */
static __attribute__((noinline)) void make_chain(void) {
  struct cell *b = GC_NEW(struct cell);
  struct cell *a = GC_NEW(struct cell);
  a->next = b;
  GC_register_finalizer(a, count_fin, NULL, NULL, NULL);
  GC_register_finalizer(b, count_fin, NULL, NULL, NULL);
}

Test(gccompat, ordered_chain) {
  REQUIRE_PRECISE_FRAMES();
  finalized = 0;
  make_chain();
  GC_gcollect();
  cr_assert_eq(finalized, 1, "after one collection %d finalized", finalized);
  GC_gcollect();
  cr_assert_eq(finalized, 2);
}

static _Atomic int notified;
static void GC_CALLBACK notify(void) { notified++; }

static __attribute__((noinline)) void drop_finalizable(void) {
  void *p = GC_MALLOC(32);
  GC_REGISTER_FINALIZER(p, count_fin, NULL, NULL, NULL);
}

Test(gccompat, finalize_on_demand) {
  REQUIRE_PRECISE_FRAMES();
  finalized = notified = 0;
  GC_set_finalize_on_demand(1);
  GC_set_finalizer_notifier(notify);
  drop_finalizable();
  GC_gcollect();
  (void)GC_MALLOC(16); /* the notifier is called by an allocation */
  cr_assert_eq(finalized, 0, "ran before GC_invoke_finalizers");
  cr_assert_geq(notified, 1, "the notifier was not called");
  cr_assert(GC_should_invoke_finalizers(), "the queue looks empty");
  cr_assert_eq(GC_invoke_finalizers(), 1);
  cr_assert(!GC_should_invoke_finalizers());
  cr_assert_eq(finalized, 1);
  GC_set_finalize_on_demand(0);
}

Test(gccompat, old_finalizer_comes_back) {
  void *p = GC_MALLOC(16);
  int cd;
  GC_finalization_proc ofn;
  void *ocd;
  GC_register_finalizer(p, count_fin, &cd, &ofn, &ocd);
  cr_assert_null(ofn);
  GC_register_finalizer(p, NULL, NULL, &ofn, &ocd);
  cr_assert_eq(ofn, count_fin);
  cr_assert_eq(ocd, &cd);
  /* A debugging object's wrapper is hidden from the program. */
  void *d = GC_debug_malloc(16, __FILE__, __LINE__);
  GC_debug_register_finalizer(d, count_fin, &cd, NULL, NULL);
  GC_debug_register_finalizer(d, NULL, NULL, &ofn, &ocd);
  cr_assert_eq(ofn, count_fin);
  cr_assert_eq(ocd, &cd);
  GC_reachable_here(p);
  GC_reachable_here(d);
}

/* ---- links ------------------------------------------------------------ */

static GC_hidden_pointer link_a, link_b, long_link;

static __attribute__((noinline)) void make_linked(void) {
  struct cell *c = GC_NEW(struct cell);
  link_a = GC_HIDE_POINTER(c);
  cr_assert_eq(GC_general_register_disappearing_link((void **)&link_a, c),
               GC_SUCCESS);
  cr_assert_eq(GC_general_register_disappearing_link((void **)&link_a, c),
               GC_DUPLICATE);
  long_link = GC_HIDE_POINTER(c);
  cr_assert_eq(GC_register_long_link((void **)&long_link, c), GC_SUCCESS);
  GC_register_finalizer(c, count_fin, NULL, NULL, NULL);
  cr_assert_eq(GC_move_disappearing_link((void **)&link_a, (void **)&link_b),
               GC_SUCCESS);
  link_b = link_a;
  cr_assert_eq(GC_move_disappearing_link((void **)&link_a, (void **)&link_b),
               GC_NOT_FOUND, "the old slot is still linked after the move");
}

Test(gccompat, links_short_long_and_moved) {
  REQUIRE_PRECISE_FRAMES();
  finalized = 0;
  make_linked();
  GC_gcollect(); /* unreachable: finalizer queued and run */
  cr_assert_eq(finalized, 1);
  cr_assert_eq(link_b, 0, "the moved short link was not cleared");
  cr_assert_neq(link_a, 0, "the slot a link moved away from was cleared");
  cr_assert_neq(long_link, 0, "a long link was cleared before its object "
                              "was reclaimed");
  GC_gcollect();
  cr_assert_eq(long_link, 0, "the long link survived its object");
  cr_assert_eq(GC_unregister_long_link((void **)&long_link), 0);
}

/* ---- debugging allocation --------------------------------------------- */

static char warned[4096];
static void GC_CALLBACK capture(char *msg, GC_word arg) {
  size_t n = strlen(warned);
  snprintf(warned + n, sizeof warned - n, msg, arg);
}

Test(gccompat, smash_found_by_debug_free) {
  warned[0] = 0;
  GC_set_warn_proc(capture);
  char *p = GC_debug_malloc(24, "here.c", 42);
  char *volatile past = p + 24; /* one past the end: UBSan must not see it */
  *past = 1;
  GC_debug_free(p);
  GC_set_warn_proc(NULL);
  cr_assert(strstr(warned, "GC_debug_free") && strstr(warned, "here.c:42") &&
                strstr(warned, "offset 24"),
            "no smash report: %s", warned);
}

static char *volatile kept;

Test(gccompat, smash_found_by_collection) {
  warned[0] = 0;
  GC_set_warn_proc(capture);
  kept = GC_debug_malloc_atomic(40, "there.c", 7);
  char *volatile guard = kept - 1; /* the header's guard */
  *guard = 1;
  GC_gcollect();
  GC_set_warn_proc(NULL);
  cr_assert(strstr(warned, "there.c:7"), "no smash report: %s", warned);
  kept = NULL;
}

Test(gccompat, debug_free_of_a_foreign_pointer_is_fatal, .signal = SIGABRT) {
  char *p = GC_MALLOC(64);
  GC_debug_free(p + 8);
}

/* ---- objects ------------------------------------------------------------- */

Test(gccompat, memalign_free_and_base) {
  for (size_t align = 32; align <= 4096; align *= 2) {
    char *p = GC_memalign(align, 100);
    cr_assert_eq((uintptr_t)p % align, 0);
    cr_assert_neq(GC_base(p), NULL);
    memset(p, 1, 100);
    GC_free(p); /* frees the object it was cut from */
    cr_assert_null(GC_base(p), "still allocated after GC_free");
  }
  void *q;
  cr_assert_eq(GC_posix_memalign(&q, 3, 8), EINVAL);
}

Test(gccompat, realloc_keeps_the_kind) {
  char *a = GC_MALLOC_ATOMIC(10);
  memcpy(a, "123456789", 10);
  size_t sz;
  cr_assert_eq(GC_get_kind_and_size(a, &sz), GC_I_PTRFREE);
  cr_assert_eq(sz, GC_size(a));
  char *b = GC_REALLOC(a, 1000);
  cr_assert_str_eq(b, "123456789");
  cr_assert_eq(GC_get_kind_and_size(b, NULL), GC_I_PTRFREE);
  void **u = GC_MALLOC_UNCOLLECTABLE(16);
  void **v = GC_REALLOC(u, 2000);
  cr_assert_eq(GC_get_kind_and_size(v, NULL), 2, "uncollectable lost");
  GC_FREE(v);
}

static __attribute__((noinline)) uintptr_t make_uncollectable(void) {
  struct cell *c = GC_MALLOC_UNCOLLECTABLE(sizeof *c);
  c->next = GC_NEW(struct cell); /* kept through it */
  c->next->value = 77;
  return hide(c);
}

Test(gccompat, uncollectable_until_freed) {
  uintptr_t h = make_uncollectable();
  collect();
  struct cell *c = unhide(h);
  cr_assert(preempt_is_heap_object(c), "an uncollectable object was freed");
  cr_assert_eq(c->next->value, 77);
  GC_FREE(c);
  cr_assert_null(GC_base(c));
}

Test(gccompat, typed_object_scanned_by_its_bitmap) {
  REQUIRE_PRECISE_FRAMES();
  GC_word bm[1] = {0};
  GC_set_bit(bm, 1); /* word 1 is a pointer, word 0 is not */
  GC_descr d = GC_make_descriptor(bm, 2);
  void **t = GC_malloc_explicitly_typed(2 * sizeof(void *), d);
  void *a = GC_MALLOC(16), *b = GC_MALLOC(16);
  t[0] = a;
  t[1] = b;
  uintptr_t ha = hide(a), hb = hide(b);
  a = b = NULL;
  collect();
  cr_assert(alive(hb), "the pointer word lost its object");
  assert_collected(ha, "a non-pointer word kept an object alive");
  GC_reachable_here(t);
}

/* ---- control ------------------------------------------------------------- */

Test(gccompat, disable_stops_collections) {
  GC_gcollect();
  GC_word n = GC_get_gc_no();
  GC_disable();
  for (int i = 0; i < 200000; i++)
    (void)GC_MALLOC(64);
  GC_gcollect(); /* does nothing while disabled, as in bdwgc */
  cr_assert_eq(GC_get_gc_no(), n, "collected while disabled");
  GC_enable();
  GC_gcollect();
  cr_assert_gt(GC_get_gc_no(), n);
}

static GC_EventType events[64];
static _Atomic int nevents;
static void GC_CALLBACK on_event(GC_EventType e) {
  if (nevents < 64)
    events[nevents++] = e;
}

Test(gccompat, collection_events_in_order) {
  nevents = 0;
  GC_set_on_collection_event(on_event);
  GC_gcollect();
  GC_set_on_collection_event(NULL);
  GC_EventType want[] = {GC_EVENT_START,           GC_EVENT_PRE_STOP_WORLD,
                         GC_EVENT_POST_STOP_WORLD, GC_EVENT_MARK_START,
                         GC_EVENT_MARK_END,        GC_EVENT_RECLAIM_START,
                         GC_EVENT_RECLAIM_END,     GC_EVENT_PRE_START_WORLD,
                         GC_EVENT_POST_START_WORLD, GC_EVENT_END};
  cr_assert_eq(nevents, 10);
  for (int i = 0; i < 10; i++)
    cr_assert_eq(events[i], want[i], "event %d is %d", i, events[i]);
}

static void *GC_CALLBACK alloc_under_lock(void *cd) {
  (void)cd;
  return GC_MALLOC(8);
}

Test(gccompat, allocating_under_the_alloc_lock_is_fatal, .signal = SIGABRT) {
  GC_call_with_alloc_lock(alloc_under_lock, NULL);
}

static void *GC_CALLBACK reveal(void *cd) {
  return GC_REVEAL_POINTER(*(GC_hidden_pointer *)cd);
}

Test(gccompat, reveal_under_the_alloc_lock) {
  struct cell *c = GC_NEW(struct cell);
  c->value = 5;
  static GC_hidden_pointer h;
  h = GC_HIDE_POINTER(c);
  GC_general_register_disappearing_link((void **)&h, c);
  struct cell *r = GC_call_with_alloc_lock(reveal, &h);
  cr_assert_eq(r, c);
  cr_assert_eq(r->value, 5);
  GC_unregister_disappearing_link((void **)&h);
}

static int toggle_state = GC_TOGGLE_REF_STRONG;
static GC_ToggleRefStatus GC_CALLBACK toggle(void *obj) {
  (void)obj;
  return (GC_ToggleRefStatus)toggle_state;
}

static __attribute__((noinline)) uintptr_t make_toggled(void) {
  struct cell *c = GC_NEW(struct cell);
  cr_assert_eq(GC_toggleref_add(c, 1), GC_SUCCESS);
  return hide(c);
}

Test(gccompat, toggle_refs) {
  REQUIRE_PRECISE_FRAMES();
  GC_set_toggleref_func(toggle);
  toggle_state = GC_TOGGLE_REF_STRONG;
  uintptr_t h = make_toggled();
  collect();
  cr_assert(alive(h), "a strong toggle-ref was freed");
  toggle_state = GC_TOGGLE_REF_WEAK;
  collect();
  assert_collected(h, "a weak toggle-ref kept its object");
  GC_set_toggleref_func(NULL);
}

Test(gccompat, back_pointer_names_the_referrer) {
  struct cell *a = GC_NEW(struct cell), *b = GC_NEW(struct cell);
  a->value = 1;
  a->next = b;
  void *base;
  size_t off;
  cr_assert_eq(GC_get_back_ptr_info(b, &base, &off), GC_REFD_FROM_HEAP);
  cr_assert_eq(base, a);
  cr_assert_eq(off, 0);
  GC_reachable_here(a);
}

struct count {
  void *want;
  int seen;
};
static void GC_CALLBACK seen(void *obj, size_t bytes, void *cd) {
  struct count *c = cd;
  if (obj == c->want && bytes >= 48)
    c->seen++;
}

Test(gccompat, enumerate_objects) {
  void *p = GC_MALLOC(48);
  struct count c = {p, 0};
  GC_enumerate_reachable_objects_inner(seen, &c);
  cr_assert_eq(c.seen, 1);
  GC_reachable_here(p);
}

Test(gccompat, finalize_all_runs_reachable_ones) {
  finalized = 0;
  void *p = GC_MALLOC(16);
  GC_register_finalizer(p, count_fin, NULL, NULL, NULL);
  GC_finalize_all();
  cr_assert_eq(finalized, 1);
  GC_reachable_here(p);
}

/* bdwgc's granule: programs keep tags in the low four bits. */
Test(gccompat, every_object_16_aligned) {
  for (size_t n = 0; n < 300; n++) {
    cr_assert_eq((uintptr_t)GC_MALLOC(n) % 16, 0, "GC_MALLOC(%zu)", n);
    cr_assert_eq((uintptr_t)GC_MALLOC_ATOMIC(n) % 16, 0, "atomic %zu", n);
    cr_assert_eq((uintptr_t)GC_memalign(16, n) % 16, 0, "memalign %zu", n);
    cr_assert_eq((uintptr_t)GC_MALLOC_UNCOLLECTABLE(n) % 16, 0, "%zu", n);
  }
}
