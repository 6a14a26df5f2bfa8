/* Edges of the heap: a pointer one past the end of an object keeps it;
 * large objects fresh from the system are not touched (no memory spent on
 * them) while reused memory is still zeroed; registered root ranges that
 * are misused get a message. */
#include "testutil.h"

#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/* Collects while end (one past an n-byte object) is the only reference
 * to the object, reusing freed memory of that size meanwhile; then checks
 * the object's bytes. */
__attribute__((noinline)) static void collect_holding_end(unsigned char *end,
                                                          size_t n) {
  for (int round = 0; round < 5; round++) {
    preempt_gc();
    for (int i = 0; i < 200; i++)
      memset(opaque(preempt_alloc(n)), 0xee, n);
  }
  unsigned char *buf = (unsigned char *)opaque(end) - n;
  for (size_t i = 0; i < n; i++)
    cr_assert_eq(buf[i], (unsigned char)(i * 7 + 1),
                 "byte %zu of a %zu-byte object held one past its end: "
                 "freed while reachable?",
                 i, n);
}

static void one_past_end(size_t n) {
  unsigned char *buf = preempt_alloc(n);
  for (size_t i = 0; i < n; i++)
    buf[i] = (unsigned char)(i * 7 + 1);
  collect_holding_end(buf + n, n);
}

/* Exact size-class sizes, where the next slot starts right at the end. */
Test(edges, one_past_the_end_keeps_small_objects) {
  static const size_t sizes[] = {8, 16, 48, 64, 1024, 4096, 32768};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    one_past_end(sizes[i]);
}

/* Arrays from preempt_new_array are padded too (single preempt_new
 * objects are not: see preempt.h). */
__attribute__((noinline)) static void collect_holding_array_end(uint64_t *end) {
  for (int round = 0; round < 5; round++) {
    preempt_gc();
    for (int i = 0; i < 200; i++)
      memset(opaque(preempt_new_array(uint64_t, 8)), 0xee, 64);
  }
  uint64_t *a = (uint64_t *)opaque(end) - 8;
  for (int i = 0; i < 8; i++)
    cr_assert_eq(a[i], tcheck((uint64_t)i), "array element %d lost", i);
}

Test(edges, one_past_the_end_keeps_arrays) {
  uint64_t *a = preempt_new_array(uint64_t, 8);
  for (int i = 0; i < 8; i++)
    a[i] = tcheck((uint64_t)i);
  collect_holding_array_end(a + 8);
}

/* Whole pages: the end is the next page. */
Test(edges, one_past_the_end_keeps_large_objects) {
  one_past_end(65536);
  one_past_end(8192 * 5);
}

static void assert_zero(const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i += 64)
    cr_assert_eq(p[i] | p[i + 63 < n ? i + 63 : n - 1], 0,
                 "byte %zu of a new %zu-byte object is not zero", i, n);
}

/* Memory fresh from the system is zero already: a large object nobody
 * writes to costs no resident memory. */
Test(edges, fresh_large_object_costs_no_memory) {
  long before = rss_kib();
  unsigned char *p = preempt_alloc((size_t)300 << 20);
  cr_assert_not_null(p);
  long after = rss_kib();
  cr_assert_lt(after - before, 30 * 1024, "a 300 MB untouched object costs %ld KiB",
               after - before);
  /* It reads as zero all the same (a sample: reading maps pages). */
  for (size_t i = 0; i < ((size_t)300 << 20); i += (size_t)1 << 20)
    cr_assert_eq(p[i], 0);
  preempt_keep_alive(p);
}

static void *held;

__attribute__((noinline)) static void dirty(size_t n) {
  held = preempt_alloc(n);
  memset(held, 0xab, n);
}

/* Memory that held an object, reused for a new one, is zeroed: alone,
 * and as the dirty front of a span whose rest is fresh. */
Test(edges, reused_large_memory_is_zeroed) {
  for (int round = 0; round < 3; round++) {
    size_t n = ((size_t)8 << 20) + 12345;
    dirty(n);
    held = NULL;
    preempt_gc();
    unsigned char *p = preempt_alloc(n);
    assert_zero(p, n);
    memset(p, 0xcd, n);
    p = NULL;
    preempt_gc();
    size_t m = (size_t)64 << 20; /* more than the free memory left */
    unsigned char *q = preempt_alloc(m);
    assert_zero(q, m);
    memset(q, 0xcd, m);
    q = NULL;
    preempt_gc();
  }
}

/* ---- root ranges --------------------------------------------------------- */

static char out[4096];
static int in_child(void (*fn)(void)) {
  return run_in_child(fn, out, sizeof out);
}

static void unmapped_range(void) {
  void *m = mmap(NULL, 65536, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  preempt_add_roots(m, 65536);
  preempt_gc();
  munmap(m, 65536);
  fprintf(stderr, "range %p\n", m);
  preempt_gc();
}

/* A range unmapped without preempt_remove_roots: a fatal message, not a
 * crash in the marker. */
Test(edges, unmapped_root_range_is_reported) {
  int st = in_child(unmapped_range);
  cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "status %#x:\n%s", st, out);
  void *range;
  cr_assert_eq(sscanf(out, "range %p", &range), 1, "%s", out);
  char want[64];
  snprintf(want, sizeof want, "root range [%p,", range);
  cr_assert(strstr(out, want) && strstr(out, "preempt_remove_roots"), "%s", out);
}

static void remove_unknown(void) {
  static char table[64];
  preempt_add_roots(table, sizeof table);
  fprintf(stderr, "range %p\n", (void *)(table + 8));
  preempt_remove_roots(table + 8); /* not a start */
  preempt_remove_roots(table);
  fprintf(stderr, "again\n");
  preempt_remove_roots(table); /* removed already */
}

Test(edges, removing_an_unknown_root_range_warns) {
  int st = in_child(remove_unknown);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x:\n%s", st, out);
  void *bad;
  cr_assert_eq(sscanf(out, "range %p", &bad), 1, "%s", out);
  char want[64];
  snprintf(want, sizeof want, "preempt_remove_roots(%p): no root range", bad);
  char *first = strstr(out, want);
  cr_assert(first, "no warning for an unknown start:\n%s", out);
  char *again = strstr(out, "again\n");
  cr_assert(again && first < again);
  cr_assert(strstr(again, "no root range starts there"),
            "no warning for a range removed twice:\n%s", out);
  /* The right start removes it silently. */
  cr_assert_eq(strstr(strchr(first, '\n'), "no root range"),
               strstr(again, "no root range"), "%s", out);
}
