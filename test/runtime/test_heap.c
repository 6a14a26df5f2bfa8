/* The heap: allocation, sizes, interior pointers, pointer-free objects,
 * statistics, pacing, out-of-memory policy, giving memory back. */
#include "testutil.h"

#include <signal.h>
#include <stdio.h>
#include <unistd.h>

Test(heap, zeroed_and_distinct) {
  static const size_t sizes[] = {1, 7, 8, 9, 16, 24, 33, 100, 1000, 4096,
                                 5000, 32768, 32769, 100000, 1 << 20};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t n = sizes[i];
    unsigned char *a = preempt_alloc(n), *b = preempt_alloc(n);
    cr_assert(a && b && a != b);
    for (size_t k = 0; k < n; k++)
      cr_assert_eq(a[k] | b[k], 0, "size %zu byte %zu not zero", n, k);
    memset(a, 0xff, n);
    memset(b, 0xee, n);
    cr_assert(a + n <= b || b + n <= a, "size %zu objects overlap", n);
    cr_assert(preempt_is_heap_object(a) && preempt_is_heap_object(a + n - 1));
  }
}

Test(heap, reused_memory_is_zeroed) {
  for (int round = 0; round < 50; round++) {
    for (int i = 0; i < 1000; i++)
      memset(preempt_alloc(48), 0xab, 48);
    preempt_gc();
    unsigned char *p = preempt_alloc(48);
    for (int k = 0; k < 48; k++)
      cr_assert_eq(p[k], 0);
  }
}

/* An interior pointer alone keeps the whole object alive. */
Test(heap, interior_pointer_keeps_object) {
  char *obj = preempt_alloc(1000);
  strcpy(obj, "hello");
  uintptr_t h = hide(obj);
  char *inner = obj + 500;
  obj = NULL;
  for (int i = 0; i < 5; i++)
    preempt_gc();
  cr_assert(preempt_is_heap_object(unhide(h)));
  cr_assert_str_eq((char *)unhide(h), "hello");
  preempt_keep_alive(inner);
}

/* The content of a pointer-free object is never scanned. */
Test(heap, noscan_objects_are_not_scanned) {
  void **box = preempt_alloc_noscan(sizeof(void *));
  void *target = preempt_alloc(64);
  uintptr_t h = hide(target);
  *box = target;
  target = NULL;
  preempt_gc();
  assert_collected(h, "object referenced only from noscan memory survived");
  preempt_keep_alive(box);
}

/* ... while an ordinary object's content is. */
Test(heap, scanned_objects_keep_referents) {
  void **box = preempt_alloc(sizeof(void *));
  void *target = preempt_alloc(64);
  uintptr_t h = hide(target);
  *box = target;
  target = NULL;
  preempt_gc();
  cr_assert(preempt_is_heap_object(unhide(h)));
  preempt_keep_alive(box);
}

Test(heap, large_objects_collected) {
  uintptr_t h[8];
  for (int i = 0; i < 8; i++)
    h[i] = hide(preempt_alloc((size_t)1 << (16 + i)));
  preempt_gc();
  for (int i = 0; i < 8; i++)
    assert_collected(h[i], "large object %d survived", i);
}

Test(heap, statistics) {
  uint64_t before = gc_count();
  for (int i = 0; i < 10000; i++)
    opaque(preempt_alloc(100));
  preempt_gc();
  struct preempt_stats s;
  preempt_read_stats(&s);
  cr_assert_gt(s.collections, before);
  cr_assert_geq(s.total_freed_objects, 10000);
  cr_assert_gt(s.heap_mapped_bytes, 0);
  cr_assert_geq(s.max_pause_ns, s.last_pause_ns);
  cr_assert_gt(s.stack_records, 0, "no stack maps registered: was the test built with the plugin?");
}

/* GOGC-style pacing: with 100%, the heap may grow to twice the live data. */
Test(heap, pacing) {
  preempt_set_gc_percent(100);
  struct tnode *keep = NULL;
  for (int i = 0; i < 200000; i++) {
    struct tnode *n = tnode_new((uint64_t)i);
    if (i % 2 == 0) {
      n->a = keep;
      keep = n;
    }
  }
  struct preempt_stats s;
  preempt_read_stats(&s);
  cr_assert_gt(s.collections, 0, "allocating ~10 MB never collected");
  cr_assert_leq(s.next_gc_bytes, 2 * s.heap_live_bytes + (4 << 20));
  uint64_t n = 0;
  for (struct tnode *p = keep; p; p = p->a, n++)
    tnode_verify(p);
  cr_assert_eq(n, 100000);
}

Test(heap, gc_off) {
  cr_assert_eq(preempt_set_gc_percent(-1), 100);
  uint64_t before = gc_count();
  for (int i = 0; i < 100000; i++)
    opaque(preempt_alloc(256));
  cr_assert_eq(gc_count(), before, "collected although automatic collection is off");
  cr_assert_eq(preempt_set_gc_percent(100), -1);
}

Test(heap, oom_returns_null_when_asked) {
  preempt_set_oom_policy(PREEMPT_OOM_NULL);
  /* More than the reserved heap (64 GiB by default). */
  cr_assert_null(preempt_alloc((size_t)1 << 37));
  cr_assert_null(preempt_alloc_noscan(SIZE_MAX / 2));
  cr_assert_null(preempt_new_array(double, SIZE_MAX / 4));
  /* Still usable afterwards. */
  cr_assert_not_null(preempt_alloc(100));
}

Test(heap, oom_aborts_by_default, .signal = SIGABRT) {
  preempt_alloc((size_t)1 << 45);
}

/* Memory is returned to the system once the heap shrinks. */
/* Held through a global only, so that no copy lingers in the test's frame
 * (sanitizer builds scan that frame conservatively). */
static void **big;
__attribute__((noinline)) static void fill_big(void) {
  big = preempt_alloc(1000 * sizeof(void *));
  for (int i = 0; i < 1000; i++) { /* 100 MB in all, written to: memory */
    big[i] = preempt_alloc(100 * 1024); /* fresh from the OS is not resident */
    memset(big[i], 1, 100 * 1024);
  }
}

Test(heap, shrinking_heap_gives_memory_back) {
  fill_big();
  preempt_gc();
  long full = rss_kib();
  struct preempt_stats s;
  preempt_read_stats(&s);
  uint64_t mapped_full = s.heap_mapped_bytes;
  big = NULL;
  preempt_gc();
  preempt_gc();
  long after = rss_kib();
  preempt_read_stats(&s);
  cr_assert_lt(s.heap_mapped_bytes, mapped_full / 4, "heap still maps %llu of %llu bytes",
               (unsigned long long)s.heap_mapped_bytes, (unsigned long long)mapped_full);
  cr_assert_lt(after, full - 50 * 1024, "RSS %ld KiB -> %ld KiB", full, after);
}

Test(heap, report_by_type) {
  struct point { long x, y; };
  struct point *keep[10];
  for (int i = 0; i < 10; i++)
    keep[i] = preempt_new(struct point);
  int fds[2];
  cr_assert_eq(pipe(fds), 0);
  preempt_heap_report(fds[1]);
  close(fds[1]);
  char buf[4096];
  ssize_t n = read(fds[0], buf, sizeof buf - 1);
  cr_assert_gt(n, 0);
  buf[n] = 0;
  char *line = strstr(buf, "struct point");
  cr_assert(line, "no 'struct point' line in:\n%s", buf);
  long count = 0;
  cr_assert_eq(sscanf(line + strlen("struct point"), "%ld", &count), 1);
  cr_assert_eq(count, 10, "report:\n%s", buf);
  preempt_keep_alive(keep);
}
