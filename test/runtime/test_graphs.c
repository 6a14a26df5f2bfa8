/* Object graphs survive thousands of collections intact: lists, trees,
 * graphs with cycles.  Run with PREEMPT=verify=1: freed memory is poisoned
 * and checked on reuse, so a reachable object freed by mistake fails the
 * checksums. */
#include "testutil.h"

static struct tnode *tree(int depth, uint64_t *next_id) {
  struct tnode *t = tnode_new((*next_id)++);
  if (depth > 0) {
    t->a = tree(depth - 1, next_id);
    t->b = tree(depth - 1, next_id);
  }
  return t;
}

static uint64_t check_tree(const struct tnode *t) {
  if (!t)
    return 0;
  tnode_verify(t);
  return 1 + check_tree(t->a) + check_tree(t->b);
}

Test(graphs, trees_across_thousands_of_collections, .timeout = 120) {
  uint64_t id = 0;
  struct tnode *longlived = tree(12, &id);
  uint64_t before = gc_count();
  for (int round = 0; round < 3000; round++) {
    uint64_t tid = 1u << 30;
    struct tnode *shortlived = tree(4, &tid);
    if (round % 3 == 0)
      preempt_gc();
    cr_assert_eq(check_tree(shortlived), 31);
    if (round % 500 == 0)
      cr_assert_eq(check_tree(longlived), (1u << 13) - 1);
  }
  cr_assert_eq(check_tree(longlived), (1u << 13) - 1);
  cr_assert_geq(gc_count() - before, 1000);
}

/* A ring plus random chords: cycles everywhere.  Half the ring is cut off
 * each round and must be collected; the kept half must stay intact. */
Test(graphs, cycles, .timeout = 120) {
  enum { N = 2000 };
  for (int round = 0; round < 200; round++) {
    struct tnode **nodes = preempt_alloc(N * sizeof *nodes);
    for (int i = 0; i < N; i++)
      nodes[i] = tnode_new((uint64_t)i);
    for (int i = 0; i < N; i++) {
      nodes[i]->a = nodes[(i + 1) % N];
      nodes[i]->b = nodes[(i * 7 + round) % N];
    }
    struct tnode *entry = nodes[round % N];
    uintptr_t hidden_table = hide(nodes);
    nodes = NULL;
    preempt_gc();
    assert_collected(hidden_table, "unreferenced table survived");
    /* Everything is still reachable from entry through the ring. */
    struct tnode *p = entry;
    for (int i = 0; i < N; i++, p = p->a) {
      tnode_verify(p);
      tnode_verify(p->b);
    }
    cr_assert_eq(p, entry);
  }
}

/* Objects reachable only through interior pointers stored in the heap. */
Test(graphs, interior_links) {
  enum { N = 1000 };
  char *head = NULL;
  for (int i = 0; i < N; i++) {
    char *obj = preempt_alloc(64);
    *(char **)(obj + 8) = head ? head + 40 : NULL; /* points inside */
    obj[40] = (char)i;
    head = obj;
  }
  for (int k = 0; k < 20; k++)
    preempt_gc();
  int n = 0;
  for (char *p = head; p; n++) {
    cr_assert_eq((unsigned char)p[40], (unsigned char)(N - 1 - n));
    char *inner = *(char **)(p + 8);
    p = inner ? inner - 40 : NULL;
  }
  cr_assert_eq(n, N);
}
