/* Skip list with a deterministic level generator.  Searches keep their
 * "update" path in a VLA; range queries collect nodes in alloca memory. */
#include "ds.h"

#include <alloca.h>
#include <stdlib.h>
#include <string.h>

static SkipNode *node_new(int level, int64_t key, Value v) {
  SkipNode *n = calloc(1, sizeof *n + (size_t)level * sizeof n->next[0]);
  if (!n)
    abort();
  n->key = key;
  n->val = v;
  n->level = level;
  return n;
}

void skip_init(SkipList *s, uint64_t seed) {
  Value none = value_int(0, 0);
  s->head = node_new(SKIP_MAX_LEVEL, INT64_MIN, none);
  s->level = 1;
  s->size = 0;
  s->rng = seed | 1;
}

void skip_free(SkipList *s) {
  SkipNode *n = s->head;
  while (n) {
    SkipNode *next = n->next[0];
    free(n);
    n = next;
  }
  s->head = NULL;
}

/* Geometric with p = 1/4, from a xorshift generator owned by the list. */
static int random_level(SkipList *s) {
  uint64_t x = s->rng;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  s->rng = x;
  int level = 1;
  while (level < SKIP_MAX_LEVEL && (x & 3) == 0) {
    level++;
    x >>= 2;
  }
  return level;
}

/* Fills update[i] with the last node before key on level i. */
static SkipNode *find_path(const SkipList *s, int64_t key, int levels,
                           SkipNode *update[levels]) {
  SkipNode *x = s->head;
  for (int i = s->level - 1; i >= 0; i--) {
    while (x->next[i] && x->next[i]->key < key)
      x = x->next[i];
    if (i < levels)
      update[i] = x;
  }
  return x->next[0];
}

int skip_insert(SkipList *s, int64_t key, Value v) {
  int levels = SKIP_MAX_LEVEL;
  SkipNode *update[levels]; /* VLA sized by a run-time value */
  SkipNode *x = find_path(s, key, levels, update);
  if (x && x->key == key) {
    x->val = v;
    return 0;
  }
  int lvl = random_level(s);
  if (lvl > s->level) {
    for (int i = s->level; i < lvl; i++)
      update[i] = s->head;
    s->level = lvl;
  }
  SkipNode *n = node_new(lvl, key, v);
  for (int i = 0; i < lvl; i++) {
    n->next[i] = update[i]->next[i];
    update[i]->next[i] = n;
  }
  s->size++;
  return 1;
}

int skip_remove(SkipList *s, int64_t key) {
  int levels = s->level;
  SkipNode *update[levels];
  SkipNode *x = find_path(s, key, levels, update);
  if (!x || x->key != key)
    return 0;
  for (int i = 0; i < x->level; i++)
    if (update[i]->next[i] == x)
      update[i]->next[i] = x->next[i];
  free(x);
  while (s->level > 1 && !s->head->next[s->level - 1])
    s->level--;
  s->size--;
  return 1;
}

const Value *skip_find(const SkipList *s, int64_t key) {
  const SkipNode *x = s->head;
  for (int i = s->level - 1; i >= 0; i--)
    while (x->next[i] && x->next[i]->key < key)
      x = x->next[i];
  x = x->next[0];
  return x && x->key == key ? &x->val : NULL;
}

static int cmp_hash_desc(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? 1 : x > y ? -1 : 0;
}

uint64_t skip_range(const SkipList *s, int64_t lo, int64_t hi, size_t *count) {
  /* count first, then gather into a stack buffer of exactly that size */
  size_t n = 0;
  const SkipNode *x = s->head;
  for (int i = s->level - 1; i >= 0; i--)
    while (x->next[i] && x->next[i]->key < lo)
      x = x->next[i];
  const SkipNode *first = x->next[0];
  for (x = first; x && x->key < hi; x = x->next[0])
    n++;
  *count = n;
  if (n == 0)
    return 0;
  uint64_t *hashes = alloca(n * sizeof *hashes);
  size_t k = 0;
  for (x = first; x && x->key < hi; x = x->next[0])
    hashes[k++] = value_hash(x->val) ^ (uint64_t)x->key;
  /* sorted, so the combination below depends on the set, not on order */
  qsort(hashes, n, sizeof *hashes, cmp_hash_desc);
  uint64_t h = 0;
  for (size_t i = 0; i < n; i++)
    h = (h ^ hashes[i]) * 0x100000001b3u;
  return h;
}

void skip_level_histogram(const SkipList *s, unsigned hist[SKIP_MAX_LEVEL + 1]) {
  memset(hist, 0, (SKIP_MAX_LEVEL + 1) * sizeof hist[0]);
  for (const SkipNode *x = s->head->next[0]; x; x = x->next[0])
    hist[x->level]++;
}
