/* Driver: deterministic operation sequences on the tree and the skip list,
 * invariant checks, and the ABI tests. */
#include "ds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t lcg_state = 12345;

static uint32_t next_rand(void) {
  lcg_state = lcg_state * 1103515245u + 12345u;
  return lcg_state >> 8;
}

static Value make_value(uint32_t r, int key) {
  switch (r % 4) {
  case 0: return value_int(key * 3 - 7, (int)(r % 200) - 100);
  case 1: return value_dbl(key / 8.0, (int)(r % 50));
  case 2: {
    char s[16];
    snprintf(s, sizeof s, "k%d", key);
    return value_str(s, -(int)(r % 100));
  }
  default: return value_pair(key, -key, (int)(r % 128));
  }
}

/* ---- tree -------------------------------------------------------------- */

typedef struct {
  long prev;
  int sorted;
  size_t n;
  uint64_t hash;
} Walk;

static void walk_visit(RbNode *n, void *vctx) {
  Walk *w = vctx;
  if (n->key <= w->prev)
    w->sorted = 0;
  w->prev = n->key;
  w->n++;
  w->hash = w->hash * 1099511628211u ^ value_hash(n->val) ^ (uint64_t)n->key;
}

static int check_tree(RbTree *t, const char *when) {
  jmp_buf jb;
  jmp_buf *saved = ds_error_target;
  ds_error_target = &jb;
  if (setjmp(jb)) {
    printf("tree invalid %s: %s\n", when, ds_error_what);
    ds_error_target = saved;
    return -1;
  }
  int bh = rb_validate(t);
  ds_error_target = saved;
  return bh;
}

static void test_tree(void) {
  RbTree t;
  rb_init(&t);
  int inserted = 0, replaced = 0;
  for (int i = 0; i < 6000; i++) {
    uint32_t r = next_rand();
    int key = (int)(r % 20000) - 10000;
    if (rb_insert(&t, key, make_value(r, key)))
      inserted++;
    else
      replaced++;
    if (i % 1500 == 1499)
      dlog(1, "tree after %d inserts: size %zu height %d black height %d", i + 1,
           t.size, rb_height(&t), check_tree(&t, "during inserts"));
  }

  /* deletions, some of keys that are absent: those raise */
  jmp_buf jb;
  volatile int deleted = 0, missing = 0; /* volatile: survive longjmp */
  volatile uint64_t del_hash = 0;
  ds_error_target = &jb;
  for (volatile int i = 0; i < 5000; i++) {
    if (setjmp(jb)) {
      missing++;
      continue;
    }
    uint32_t r = next_rand();
    int key = (int)(r % 20000) - 10000;
    Value v = rb_delete(&t, key);
    deleted++;
    del_hash = del_hash * 31 + value_hash(v);
  }
  ds_error_target = NULL;

  Walk w = {-100000, 1, 0, 0};
  rb_inorder(&t, walk_visit, &w);
  RbNode *fl = rb_floor(&t, 0), *fl2 = rb_floor(&t, -20000);
  char buf[64];
  value_format(fl ? fl->val : value_int(0, 0), buf, sizeof buf);
  printf("tree: inserted %d replaced %d deleted %d missing %d, size %zu, "
         "walk %zu %s, hash %016llx, del hash %016llx\n",
         inserted, replaced, deleted, missing, t.size, w.n,
         w.sorted ? "sorted" : "UNSORTED", (unsigned long long)w.hash,
         (unsigned long long)del_hash);
  printf("tree: height %d, black height %d, rotations %u, floor(0) = %d %s, "
         "floor(-20000) %s\n",
         rb_height(&t), check_tree(&t, "after deletes"), t.rotations,
         fl ? fl->key : -1, buf, fl2 ? "found" : "none");

  /* drain in order of the smallest key: many fix-up cases */
  while (t.root) {
    RbNode *m = t.root;
    while (m->left)
      m = m->left;
    rb_delete(&t, m->key);
    if (t.size % 400 == 0 && check_tree(&t, "while draining") < 0)
      break;
  }
  printf("tree drained: size %zu, rotations %u\n", t.size, t.rotations);
  rb_free(&t);
}

/* ---- skip list --------------------------------------------------------- */

static void test_skiplist(void) {
  SkipList s;
  skip_init(&s, 0xfeedface);
  int added = 0;
  for (int i = 0; i < 4000; i++) {
    uint32_t r = next_rand();
    int64_t key = (int64_t)(r % 50000) * 3;
    added += skip_insert(&s, key, make_value(r, (int)key));
  }
  int removed = 0;
  for (int i = 0; i < 2000; i++)
    removed += skip_remove(&s, (int64_t)(next_rand() % 50000) * 3);
  int hits = 0;
  uint64_t fh = 0;
  for (int64_t k = 0; k < 150000; k += 37) {
    const Value *v = skip_find(&s, k);
    if (v) {
      hits++;
      fh ^= value_hash(*v) + (uint64_t)k;
    }
  }
  printf("skiplist: added %d removed %d size %zu level %d, finds %d hash "
         "%016llx\n",
         added, removed, s.size, s.level, hits, (unsigned long long)fh);
  for (int64_t lo = 0; lo < 150000; lo += 37500) {
    size_t count;
    uint64_t h = skip_range(&s, lo, lo + 20000, &count);
    printf("  range [%lld, %lld): %zu keys, hash %016llx\n", (long long)lo,
           (long long)(lo + 20000), count, (unsigned long long)h);
  }
  unsigned hist[SKIP_MAX_LEVEL + 1];
  skip_level_histogram(&s, hist);
  printf("  levels:");
  for (int i = 1; i <= SKIP_MAX_LEVEL; i++)
    if (hist[i])
      printf(" %d:%u", i, hist[i]);
  printf("\n");
  skip_free(&s);
}

/* ---- values ------------------------------------------------------------ */

static int cmp_values(const void *a, const void *b) { return value_cmp(a, b); }

static void test_values(void) {
  Value seeds[] = {value_int(7, 3), value_dbl(2.5, -4), value_str("abc", 100),
                   value_pair(5, 9, -128)};
  for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
    Value r = value_chain(seeds[i], 40);
    char buf[64];
    value_format(r, buf, sizeof buf);
    printf("chain %zu: %s flags %u weight %u hash %016llx\n", i, buf, r.h.flags,
           r.h.weight, (unsigned long long)value_hash(r));
  }

  /* Sign extension of a signed bit-field, and wrap-around of the 8-bit one. */
  Value v = value_int(1, -1);
  Header h = v.h;
  h.small = (signed char)(h.small - 127); /* -128 */
  int widened = h.small;
  h.small = (signed char)(h.small + 255); /* wraps to 127 */
  printf("bit-fields: small %d then %d, sizeof Header %zu, sizeof Value %zu\n",
         widened, h.small, sizeof(Header), sizeof(Value));

  enum { N = 40 };
  Value arr[N];
  for (int i = 0; i < N; i++)
    arr[i] = make_value(next_rand(), (i * 37) % 23 - 11);
  qsort(arr, N, sizeof arr[0], cmp_values);
  uint64_t hh = 0;
  for (int i = 0; i < N; i++)
    hh = hh * 131 + value_hash(arr[i]) % 1000003;
  Value key = arr[N / 2];
  Value *found = bsearch(&key, arr, N, sizeof arr[0], cmp_values);
  char buf[64];
  value_format(arr[0], buf, sizeof buf);
  printf("sorted values: first %s, hash %llu, bsearch %s\n", buf,
         (unsigned long long)hh,
         found && value_cmp(found, &key) == 0 ? "ok" : "FAILED");
}

int main(void) {
  dlog(0, "start: %d %s %.3f %c %lu", 42, "text", 3.14159, 'x', 123456789ul);
  test_tree();
  test_skiplist();
  test_values();
  dlog(2, "doubles %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f end", 1.0,
       2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0);
  dlog(3, "mixed %d %.1f %ld %.1f %hhd %.1Lf %s", 1, 2.5, 3L, 4.5,
       (signed char)-5, 6.5L, "seven");
  run_abi_tests();
  for (int i = 0; i < 40; i++) /* enough to flush the log buffer once */
    dlog(i % 4, "filler line %d of %d: %08x", i, 40, (unsigned)i * 2654435761u);
  dlog_dump();
  return 0;
}
