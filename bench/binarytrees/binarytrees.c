/* binarytrees: a GCBench-style allocation benchmark (after the algorithm of
 * Ellis, Kovac and Boehm's GCBench), one source built three ways:
 *
 *   -DBT_PREEMPT   preempt runtime, compiled with -fplugin=preempt.so;
 *                  nodes from preempt_new (or preempt_alloc with
 *                  -DBT_UNTYPED), never freed
 *   -DBT_BOEHM     Boehm GC (GC_MALLOC, link -lgc), never freed
 *   -DBT_MALLOC    glibc malloc, every tree freed explicitly
 *
 * Usage: binarytrees [DEPTH]   (default 16, which is GCBench's own size)
 *
 *   stretch tree   depth DEPTH+2, built and dropped (GCBench: 18)
 *   long-lived     a tree of depth DEPTH, kept to the end (GCBench: 16)
 *                  and an array of 500000 doubles, kept to the end
 *   short-lived    for depth d = 4, 6, ..., DEPTH: NumIters(d) trees built
 *                  top-down (Populate) then NumIters(d) built bottom-up
 *                  (MakeTree), where NumIters(d) * TreeSize(d) is twice the
 *                  size of the stretch tree
 *
 * Every tree is walked once after it is built (a checksum over its nodes),
 * so all variants do the same work and a collector that frees a live node
 * shows up as a wrong checksum.  stdout: one line "checksum N" (identical
 * for all variants at the same depth).  stderr, last line:
 *   STATS variant=V depth=D collections=N total_pause_ns=T max_pause_ns=M
 * where the pause figures are -1 if the variant cannot measure them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct Node {
  struct Node *left, *right;
  int i, j;
} Node;

/* ---- the allocation layer --------------------------------------------- */
#if defined(BT_PREEMPT)
#include <preempt.h>
#ifdef BT_UNTYPED
#define VARIANT "preempt-untyped"
#define NEW_NODE() ((Node *)preempt_alloc(sizeof(Node)))
#else
#define VARIANT "preempt"
#define NEW_NODE() preempt_new(Node)
#endif
#define NEW_DOUBLES(n) ((double *)preempt_alloc_noscan((n) * sizeof(double)))
#define FREE_TREE(t) ((void)(t))
#define FREE_DOUBLES(a) ((void)(a))

#elif defined(BT_BOEHM)
#include <gc.h>
#define VARIANT "boehm"
#define NEW_NODE() ((Node *)GC_MALLOC(sizeof(Node)))
#define NEW_DOUBLES(n) ((double *)GC_MALLOC_ATOMIC((n) * sizeof(double)))
#define FREE_TREE(t) ((void)(t))
#define FREE_DOUBLES(a) ((void)(a))
static void bt_boehm_stats_init(void);
static void bt_boehm_stats(long long *collections, long long *total,
                           long long *max);

#elif defined(BT_MALLOC)
#define VARIANT "malloc"
#define NEW_NODE() ((Node *)malloc(sizeof(Node)))
#define NEW_DOUBLES(n) ((double *)malloc((n) * sizeof(double)))
#define FREE_TREE(t) free_tree(t)
#define FREE_DOUBLES(a) free(a)
static void free_tree(Node *t) {
  while (t) {
    Node *r = t->right;
    free_tree(t->left);
    free(t);
    t = r;
  }
}
#else
#error "define one of BT_PREEMPT, BT_BOEHM, BT_MALLOC"
#endif

static Node *new_node(Node *l, Node *r) {
  Node *n = NEW_NODE();
  if (!n) {
    fprintf(stderr, "binarytrees: out of memory\n");
    exit(1);
  }
  n->left = l;
  n->right = r;
  n->i = 0;
  n->j = 0;
  return n;
}

/* ---- GCBench ---------------------------------------------------------- */
enum { kArraySize = 500000, kMinTreeDepth = 4 };

static int stretch_depth;

static long tree_size(int depth) { return (1L << (depth + 1)) - 1; }
static long num_iters(int depth) {
  return 2 * tree_size(stretch_depth) / tree_size(depth);
}

/* Top-down: the children of an existing node. */
static void populate(int depth, Node *n) {
  if (depth <= 0)
    return;
  depth--;
  n->left = new_node(NULL, NULL);
  n->right = new_node(NULL, NULL);
  n->i = depth;
  populate(depth, n->left);
  populate(depth, n->right);
}

/* Bottom-up: children first. */
static Node *make_tree(int depth) {
  if (depth <= 0)
    return new_node(NULL, NULL);
  Node *l = make_tree(depth - 1);
  Node *r = make_tree(depth - 1);
  Node *n = new_node(l, r);
  n->j = depth;
  return n;
}

/* Nodes weighted by the fields set above: a wrong or reused node changes it. */
static uint64_t check_tree(const Node *n) {
  uint64_t sum = 0;
  while (n) {
    sum += 1 + (uint64_t)n->i * 3 + (uint64_t)n->j * 7;
    sum += check_tree(n->left);
    n = n->right;
  }
  return sum;
}

static uint64_t checksum;
static void mix(uint64_t v) { checksum = checksum * 1000003u + v; }

static void time_construction(int depth) {
  long iters = num_iters(depth);
  uint64_t top = 0, bottom = 0;
  for (long k = 0; k < iters; k++) {
    Node *t = new_node(NULL, NULL);
    populate(depth, t);
    top += check_tree(t);
    FREE_TREE(t);
  }
  for (long k = 0; k < iters; k++) {
    Node *t = make_tree(depth);
    bottom += check_tree(t);
    FREE_TREE(t);
  }
  mix(top);
  mix(bottom);
}

int main(int argc, char **argv) {
#ifdef BT_BOEHM
  GC_INIT();
  bt_boehm_stats_init();
#endif
  int max_depth = argc > 1 ? atoi(argv[1]) : 16;
  if (max_depth < kMinTreeDepth || max_depth > 26) {
    fprintf(stderr, "usage: binarytrees [DEPTH]  (4 <= DEPTH <= 26)\n");
    return 2;
  }
  stretch_depth = max_depth + 2;
  int long_lived_depth = max_depth;

  /* Stretch the heap. */
  Node *stretch = make_tree(stretch_depth);
  mix(check_tree(stretch));
  FREE_TREE(stretch);

  /* Long-lived data. */
  Node *long_lived = new_node(NULL, NULL);
  populate(long_lived_depth, long_lived);
  double *array = NEW_DOUBLES(kArraySize);
  if (!array) {
    fprintf(stderr, "binarytrees: out of memory\n");
    return 1;
  }
  for (int k = 0; k < kArraySize / 2; k++)
    array[k] = 1.0 / (k + 1);

  for (int d = kMinTreeDepth; d <= max_depth; d += 2)
    time_construction(d);

  /* The long-lived data must have survived every collection. */
  if (array[999] != 1.0 / 1000) {
    fprintf(stderr, "binarytrees: long-lived array corrupted\n");
    return 1;
  }
  double asum = 0;
  for (int k = 0; k < kArraySize; k++)
    asum += array[k];
  mix((uint64_t)(asum * 1e6));
  mix(check_tree(long_lived));
  FREE_TREE(long_lived);
  FREE_DOUBLES(array);

  printf("checksum %llu\n", (unsigned long long)checksum);
  fflush(stdout);

  long long collections = 0, total = -1, max = -1;
#if defined(BT_PREEMPT)
  struct preempt_stats st;
  preempt_read_stats(&st);
  collections = (long long)st.collections;
  total = (long long)st.total_pause_ns;
  max = (long long)st.max_pause_ns;
#elif defined(BT_BOEHM)
  bt_boehm_stats(&collections, &total, &max);
#else
  total = max = 0; /* no collector */
#endif
  fprintf(stderr,
          "STATS variant=%s depth=%d collections=%lld total_pause_ns=%lld "
          "max_pause_ns=%lld\n",
          VARIANT, max_depth, collections, total, max);
  return 0;
}

#ifdef BT_BOEHM
/* Boehm's collections are stop-the-world (no incremental mode here), so a
 * pause is GC_EVENT_START..GC_EVENT_END, timed by a collection-event
 * callback.  GC_get_full_gc_total_time (libgc >= 8.2, whole milliseconds)
 * is printed too as a cross-check. */
#include "../tools/gc_pauses.h"

static void bt_boehm_stats_init(void) {
  GC_start_performance_measurement();
  GC_set_on_collection_event(on_gc_event);
}

static void bt_boehm_stats(long long *collections, long long *total,
                           long long *max) {
  *collections = (long long)GC_get_gc_no();
  *total = gc_total_ns;
  *max = gc_max_ns;
  fprintf(stderr, "boehm: GC_get_full_gc_total_time=%lu ms heap_size=%zu\n",
          GC_get_full_gc_total_time(), GC_get_heap_size());
}
#endif
