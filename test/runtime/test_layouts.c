/* Typed layouts (plugin/Layouts.cpp, runtime/layout.c): an object of
 * preempt_new(T) is scanned only at the words of T that may hold a
 * pointer: a double or bytes whose bits equal a heap address keep nothing
 * alive; a pointer, a uintptr_t and a union with a pointer member do.
 * Objects without a layout (preempt_alloc, a damaged or conflicting
 * layout) stay conservative: the same bits keep their target. */
#define _GNU_SOURCE
#include "testutil.h"

#include "layout_format.h"
#include "snapshot.h"
#include "snapshot_format.h"

#include <errno.h>
#include <fcntl.h>

struct target {
  uint64_t id, check;
};

union either {
  double d;
  struct target *t;
};

struct holder {
  double d;             /* not a pointer */
  uintptr_t u;          /* a pointer-sized integer: may be one */
  struct target *p;     /* a pointer */
  char bytes[16];       /* not pointers */
  union either e;       /* may be one */
  long plain;           /* not a pointer */
};

static uintptr_t new_target(uint64_t id) {
  struct target *t = preempt_new(struct target);
  t->id = id;
  t->check = ~id;
  return hide(t);
}

/* unhide(h), never computed early: a pointer the optimiser kept from an
 * earlier unhide across a collection would rightly be a root. */
__attribute__((noinline)) static void *reveal(uintptr_t h) {
  __asm__ __volatile__("" : "+r"(h));
  return unhide(h);
}

static void target_ok(uintptr_t h, uint64_t id) {
  struct target *t = reveal(h);
  cr_assert(preempt_is_heap_object(t), "target %llu was freed",
            (unsigned long long)id);
  cr_assert_eq(t->id, id);
  cr_assert_eq(t->check, ~id);
}

static struct holder *global_holder;

Test(layouts, only_pointer_words_keep_objects) {
  REQUIRE_PRECISE_FRAMES();
  uintptr_t in_double = new_target(1), in_u = new_target(2),
            in_p = new_target(3), in_bytes = new_target(4),
            in_union = new_target(5), in_long = new_target(6);
  struct holder *h = preempt_new(struct holder);
  global_holder = h;
  uintptr_t a = (uintptr_t)reveal(in_double);
  memcpy(&h->d, &a, sizeof a);
  h->u = (uintptr_t)reveal(in_u);
  h->p = reveal(in_p);
  a = (uintptr_t)reveal(in_bytes);
  memcpy(h->bytes + 8, &a, sizeof a);
  h->e.t = reveal(in_union);
  h->plain = (long)(uintptr_t)reveal(in_long);
  h = NULL;
  preempt_gc();
  preempt_gc();
  assert_collected(in_double, "a double with a heap address's bits kept it");
  assert_collected(in_bytes, "char bytes with a heap address kept it");
  assert_collected(in_long, "a long (not uintptr_t) kept it");
  target_ok(in_u, 2);
  target_ok(in_p, 3);
  target_ok(in_union, 5);
  global_holder = NULL;
}

/* The control: the same bits in an object without a layout are roots. */
Test(layouts, without_a_layout_the_same_bits_keep_objects) {
  uintptr_t in_double = new_target(11);
  struct holder *h = preempt_alloc(sizeof *h);
  global_holder = h;
  uintptr_t a = (uintptr_t)reveal(in_double);
  memcpy(&h->d, &a, sizeof a);
  h = NULL;
  preempt_gc();
  target_ok(in_double, 11);
  global_holder = NULL;
}

static struct holder *global_array;

Test(layouts, arrays_repeat_the_layout) {
  REQUIRE_PRECISE_FRAMES();
  enum { N = 37 };
  uintptr_t kept[N], dropped[N];
  struct holder *arr = preempt_new_array(struct holder, N);
  global_array = arr;
  for (int i = 0; i < N; i++) {
    kept[i] = new_target(100 + (uint64_t)i);
    dropped[i] = new_target(200 + (uint64_t)i);
    arr[i].p = reveal(kept[i]);
    uintptr_t a = (uintptr_t)reveal(dropped[i]);
    memcpy(&arr[i].d, &a, sizeof a);
  }
  arr = NULL;
  preempt_gc();
  for (int i = 0; i < N; i++) {
    target_ok(kept[i], 100 + (uint64_t)i);
    assert_collected(dropped[i], "element %d's double kept its target", i);
  }
  global_array = NULL;
}

/* A type with no pointer at all is never scanned. */
struct numbers {
  double x[6];
};
static struct numbers *global_numbers;

Test(layouts, pointer_free_types_are_not_scanned) {
  REQUIRE_PRECISE_FRAMES();
  uintptr_t t = new_target(7);
  struct numbers *n = preempt_new(struct numbers);
  global_numbers = n;
  for (int i = 0; i < 6; i++) {
    uintptr_t a = (uintptr_t)reveal(t);
    memcpy(&n->x[i], &a, sizeof a);
  }
  n = NULL;
  preempt_gc();
  assert_collected(t, "a double array kept a heap object");
  global_numbers = NULL;
}

/* Many holders over many collections: nothing reachable is lost. */
struct tree {
  struct tree *left, *right;
  double weight;
  uintptr_t tag;
};

static struct tree *make_tree(int depth, uint64_t *n) {
  struct tree *t = preempt_new(struct tree);
  t->weight = (double)(*n)++;
  t->tag = (uintptr_t)t; /* a uintptr_t holding the object's own address */
  if (depth) {
    t->left = make_tree(depth - 1, n);
    t->right = make_tree(depth - 1, n);
  }
  return t;
}

static uint64_t check_tree(const struct tree *t, int depth, uint64_t *n) {
  cr_assert_eq(t->tag, (uintptr_t)t, "node corrupted: freed while reachable?");
  cr_assert_eq(t->weight, (double)(*n)++);
  uint64_t c = 1;
  if (depth) {
    c += check_tree(t->left, depth - 1, n);
    c += check_tree(t->right, depth - 1, n);
  }
  return c;
}

Test(layouts, trees_survive_collections, .timeout = 60) {
  uint64_t n = 0;
  struct tree *keep = make_tree(12, &n);
  for (int round = 0; round < 30; round++) {
    uint64_t m = 0;
    opaque(make_tree(10, &m)); /* garbage */
    preempt_gc();
    uint64_t k = 0;
    cr_assert_eq(check_tree(keep, 12, &k), (1u << 13) - 1);
  }
}

/* The snapshot lists the fields of types with a layout and edges only
 * from pointer words. */
Test(layouts, snapshot_names_fields_and_skips_doubles) {
  uintptr_t in_double = new_target(21), in_p = new_target(22);
  struct holder *h = preempt_new(struct holder);
  global_holder = h;
  uintptr_t a = (uintptr_t)reveal(in_double);
  memcpy(&h->d, &a, sizeof a);
  h->e.t = reveal(in_p);
  char path[] = "/tmp/preempt-layout-test-XXXXXX";
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  cr_assert_eq(preempt_heap_snapshot(fd, "layouts"), 0);
  close(fd);
  struct preempt_snap s;
  char err[256];
  cr_assert_eq(preempt_snap_load(path, &s, err, sizeof err), 0, "%s", err);
  unlink(path);
  uint32_t o = preempt_snap_find_exact(&s, (uintptr_t)h);
  cr_assert_neq(o, PREEMPT_SNAP_NONE);
  size_t e0 = s.edge_start[o], e1 = s.edge_start[o + 1];
  cr_assert_eq(e1 - e0, 1, "%zu edges: a double counted as one?", e1 - e0);
  cr_assert_eq(s.edge_offset[e0], offsetof(struct holder, e));
  cr_assert_eq(s.objects[s.edge_target[e0]].addr, (uintptr_t)reveal(in_p));
  preempt_snap_free(&s);
  global_holder = NULL;
}

/* Layouts the plugin did not make: damaged ones and two different ones
 * for one name leave the type conservative (and the program running). */
static uint32_t blob[PREEMPT_LAYOUT_HEADER_WORDS + 2 + 4];

static void *alloc_with(const char *name, int *slot) {
  return preempt__alloc_layout(32, name, slot, blob);
}

Test(layouts, damaged_layout_is_refused_and_scanned_conservatively) {
  /* One pointer word at offset 40 of a 32-byte type. */
  uint32_t w[] = {PREEMPT_LAYOUT_MAGIC, 32, 0, 1, 2, 40, 0};
  memcpy(blob, w, sizeof w);
  memcpy((char *)blob + sizeof w, "p", 2);
  static int slot;
  uintptr_t t = new_target(31);
  uintptr_t *obj = alloc_with("damaged layout type", &slot);
  global_holder = (struct holder *)obj;
  obj[0] = (uintptr_t)reveal(t); /* word 0: kept only if conservative */
  obj = NULL;
  preempt_gc();
  target_ok(t, 31);
  global_holder = NULL;
}

Test(layouts, two_layouts_for_one_name_are_conservative) {
  static int slot1, slot2;
  uint32_t w1[] = {PREEMPT_LAYOUT_MAGIC, 32, 0, 1, 2, 8, 0};
  memcpy(blob, w1, sizeof w1);
  memcpy((char *)blob + sizeof w1, "p", 2);
  uintptr_t *a = alloc_with("conflicting type", &slot1);
  uint32_t w2[] = {PREEMPT_LAYOUT_MAGIC, 32, 0, 1, 2, 16, 0};
  memcpy(blob, w2, sizeof w2);
  uintptr_t *b = alloc_with("conflicting type", &slot2);
  global_holder = (struct holder *)a;
  global_array = (struct holder *)b;
  uintptr_t t = new_target(41);
  a[0] = (uintptr_t)reveal(t); /* a pointer word in neither layout */
  a = b = NULL;
  preempt_gc();
  target_ok(t, 41);
  global_holder = global_array = NULL;
}
