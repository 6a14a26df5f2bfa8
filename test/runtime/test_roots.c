/* Where roots live: globals, registered ranges, locals in precise frames
 * (in registers or spill slots), escaped locals, VLAs and alloca(), frames
 * of code built without the plugin (a libc qsort calling back). */
#include "testutil.h"

#include <alloca.h>
#include <pthread.h>

static struct tnode *global_root;
static __thread struct tnode *tls_root;
static struct tnode *global_array[4];


static void verify_chain(struct tnode *h, int n, uint64_t base) {
  for (int i = n - 1; i >= 0; i--, h = h->a) {
    cr_assert_not_null(h);
    tnode_verify(h);
    cr_assert_eq(h->id, base + (uint64_t)i);
  }
  cr_assert_null(h);
}

Test(roots, globals) {
  global_root = chain(100, 0);
  for (int i = 0; i < 4; i++)
    global_array[i] = chain(10, 1000 * (uint64_t)(i + 1));
  for (int k = 0; k < 20; k++) {
    opaque(chain(1000, 99999)); /* garbage */
    preempt_gc();
  }
  verify_chain(global_root, 100, 0);
  for (int i = 0; i < 4; i++)
    verify_chain(global_array[i], 10, 1000 * (uint64_t)(i + 1));
  uintptr_t h = hide(global_root);
  global_root = NULL;
  preempt_gc();
  assert_collected(h, "unreferenced former global root survived");
}

Test(roots, registered_ranges) {
  struct tnode **table = malloc(16 * sizeof *table);
  preempt_add_roots(table, 16 * sizeof *table);
  for (int i = 0; i < 16; i++)
    table[i] = chain(5, (uint64_t)i * 100);
  for (int k = 0; k < 10; k++)
    preempt_gc();
  for (int i = 0; i < 16; i++)
    verify_chain(table[i], 5, (uint64_t)i * 100);
  uintptr_t h = hide(table[3]);
  preempt_remove_roots(table);
  preempt_gc();
  assert_collected(h, "object held only by an unregistered malloc table survived");
  free(table);
}

/* Values live across the collection in many locals at once: more than the
 * callee-saved registers, so some are in spill slots. */
Test(roots, many_locals) {
  struct tnode *a = chain(3, 10), *b = chain(3, 20), *c = chain(3, 30),
               *d = chain(3, 40), *e = chain(3, 50), *f = chain(3, 60),
               *g = chain(3, 70), *h = chain(3, 80), *i = chain(3, 90);
  for (int k = 0; k < 10; k++) {
    opaque(chain(100, 1 << 20));
    preempt_gc();
  }
  verify_chain(a, 3, 10); verify_chain(b, 3, 20); verify_chain(c, 3, 30);
  verify_chain(d, 3, 40); verify_chain(e, 3, 50); verify_chain(f, 3, 60);
  verify_chain(g, 3, 70); verify_chain(h, 3, 80); verify_chain(i, 3, 90);
}

/* A struct whose address escapes lives in the frame: found as a region. */
struct holder {
  struct tnode *x;
  long pad[3];
  struct tnode *y;
};
__attribute__((noinline)) static void fill_holder(struct holder *h) {
  h->x = chain(7, 700);
  h->y = chain(8, 800);
}
Test(roots, escaped_local_struct) {
  struct holder h;
  fill_holder(&h);
  for (int k = 0; k < 10; k++) {
    opaque(chain(100, 1 << 20));
    preempt_gc();
  }
  verify_chain(h.x, 7, 700);
  verify_chain(h.y, 8, 800);
}

__attribute__((noinline)) static void fill_array(struct tnode **v, int n) {
  for (int i = 0; i < n; i++)
    v[i] = chain(2, (uint64_t)i * 10);
}
Test(roots, vla_and_alloca) {
  int n = (int)(uintptr_t)opaque((void *)(uintptr_t)37);
  struct tnode *vla[n];
  struct tnode **al = alloca((size_t)n * sizeof *al);
  fill_array(vla, n);
  fill_array(al, n);
  for (int k = 0; k < 10; k++) {
    opaque(chain(100, 1 << 20));
    preempt_gc();
  }
  for (int i = 0; i < n; i++) {
    verify_chain(vla[i], 2, (uint64_t)i * 10);
    verify_chain(al[i], 2, (uint64_t)i * 10);
  }
}

/* qsort (libc, no maps) calls our comparator, which collects.  The array
 * being sorted and the caller's locals above qsort must survive. */
static int collections_in_cmp;
static int cmp_nodes(const void *pa, const void *pb) {
  const struct tnode *a = *(struct tnode *const *)pa, *b = *(struct tnode *const *)pb;
  tnode_verify(a);
  tnode_verify(b);
  if (collections_in_cmp++ % 16 == 0) {
    opaque(chain(50, 1 << 20));
    preempt_gc();
  }
  return (a->id > b->id) - (a->id < b->id);
}
Test(roots, frames_under_foreign_code) {
  enum { N = 200 };
  struct tnode **arr = preempt_alloc(N * sizeof *arr); /* reachable only from this frame */
  struct tnode *mine = chain(20, 5000);
  for (int i = 0; i < N; i++)
    arr[i] = tnode_new((uint64_t)((i * 7919) % N));
  qsort(arr, N, sizeof *arr, cmp_nodes);
  cr_assert_gt(collections_in_cmp, 16);
  for (int i = 0; i < N; i++) {
    tnode_verify(arr[i]);
    cr_assert_eq(arr[i]->id, (uint64_t)i);
  }
  verify_chain(mine, 20, 5000);
}

/* Deep recursion: every frame holds its own node across the collection. */
static uint64_t deep(int depth) {
  struct tnode *mine = tnode_new((uint64_t)depth);
  uint64_t below = 0;
  if (depth > 0)
    below = deep(depth - 1);
  else
    preempt_gc();
  tnode_verify(mine);
  return below + mine->id;
}
Test(roots, deep_recursion) {
  cr_assert_eq(deep(2000), 2000ull * 2001 / 2);
}

/* Thread-local variables are roots, in every thread. */
static void *tls_worker(void *arg) {
  uint64_t base = (uint64_t)(uintptr_t)arg;
  tls_root = chain(50, base);
  for (int k = 0; k < 5; k++) {
    opaque(chain(100, 1 << 20));
    preempt_gc();
  }
  verify_chain(tls_root, 50, base);
  return NULL;
}

Test(roots, thread_locals) {
  tls_root = chain(30, 333);
  pthread_t t[2];
  for (uintptr_t i = 0; i < 2; i++)
    pthread_create(&t[i], NULL, tls_worker, (void *)((i + 1) * 10000));
  preempt_enter_blocking();
  for (int i = 0; i < 2; i++)
    pthread_join(t[i], NULL);
  preempt_exit_blocking();
  preempt_gc();
  verify_chain(tls_root, 30, 333);
  uintptr_t h = hide(tls_root);
  tls_root = NULL;
  preempt_gc();
  assert_collected(h, "a former thread-local root survived");
}

/* More live pointers than callee-saved registers, across a call that
 * collects deeper down: some roots are in this frame's spill slots, found
 * at rsp-relative offsets of this frame (not of a callee's). */
__attribute__((noinline)) static void churn_and_collect(void) {
  for (int i = 0; i < 1000; i++)
    opaque(preempt_alloc(64));
  preempt_gc();
}

__attribute__((noinline)) static void ten_live(uint64_t base) {
  struct tnode *a = tnode_new(base + 1), *b = tnode_new(base + 2),
               *c = tnode_new(base + 3), *d = tnode_new(base + 4),
               *e = tnode_new(base + 5), *f = tnode_new(base + 6),
               *g = tnode_new(base + 7), *h = tnode_new(base + 8),
               *i = tnode_new(base + 9), *j = tnode_new(base + 10);
  churn_and_collect();
  struct tnode *all[] = {a, b, c, d, e, f, g, h, i, j};
  for (int k = 0; k < 10; k++) {
    tnode_verify(all[k]);
    cr_assert_eq(all[k]->id, base + 1 + (uint64_t)k);
  }
}

Test(roots, spill_slots_of_a_caller) {
  for (uint64_t round = 0; round < 20; round++)
    ten_live(round * 100);
}
