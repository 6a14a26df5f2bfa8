/* Hidden `preempt-heap selftest [ROUNDS]`: checks preempt_dominators
 * against a naive iterative dataflow solver (dom(v) = {v} + intersection of
 * dom(p) over predecessors p, O(n^2) bitsets) on random graphs: shapes
 * with chains, cycles, diamonds, self edges and unreachable nodes. */
#include "heap.h"

#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint32_t next_rand(void) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return (uint32_t)(rng >> 16);
}

/* Naive: node n is the super-root; returns idom in the same encoding. */
static void naive(size_t n, const size_t *start, const uint32_t *succ,
                  const uint32_t *roots, size_t nroot, uint32_t *idom) {
  size_t N = n + 1, W = (N + 63) / 64;
  uint64_t *dom = malloc(N * W * sizeof *dom);
  uint8_t *reach = calloc(N, 1);
  uint32_t *stack = malloc((N + start[n] + nroot) * sizeof *stack);
  size_t sp = 0;
  reach[n] = 1;
  for (size_t i = 0; i < nroot; i++)
    stack[sp++] = roots[i];
  while (sp) {
    uint32_t v = stack[--sp];
    if (reach[v])
      continue;
    reach[v] = 1;
    for (size_t e = start[v]; e < start[v + 1]; e++)
      stack[sp++] = succ[e];
  }
  for (size_t v = 0; v < N; v++)
    for (size_t w = 0; w < W; w++)
      dom[v * W + w] = v == n ? 0 : ~0ull;
  dom[n * W + n / 64] |= 1ull << (n % 64);
  uint64_t *tmp = malloc(W * sizeof *tmp);
  for (int changed = 1; changed;) {
    changed = 0;
    for (size_t v = 0; v < n; v++) {
      if (!reach[v])
        continue;
      for (size_t w = 0; w < W; w++)
        tmp[w] = ~0ull;
      /* predecessors: scan all edges (naive on purpose) */
      for (size_t u = 0; u < n; u++)
        if (reach[u])
          for (size_t e = start[u]; e < start[u + 1]; e++)
            if (succ[e] == v)
              for (size_t w = 0; w < W; w++)
                tmp[w] &= dom[u * W + w];
      for (size_t i = 0; i < nroot; i++)
        if (roots[i] == v)
          for (size_t w = 0; w < W; w++)
            tmp[w] &= dom[n * W + w];
      tmp[v / 64] |= 1ull << (v % 64);
      if (memcmp(tmp, &dom[v * W], W * sizeof *tmp)) {
        memcpy(&dom[v * W], tmp, W * sizeof *tmp);
        changed = 1;
      }
    }
  }
  /* idom(v): the strict dominator with the most dominators itself. */
  for (size_t v = 0; v < n; v++) {
    idom[v] = PREEMPT_DOM_UNREACHED;
    if (!reach[v])
      continue;
    size_t best = N, bestcnt = 0;
    for (size_t d = 0; d < N; d++) {
      if (d == v || !(dom[v * W + d / 64] >> (d % 64) & 1))
        continue;
      size_t cnt = 0;
      for (size_t w = 0; w < W; w++)
        cnt += (size_t)__builtin_popcountll(dom[d * W + w]);
      if (best == N || cnt > bestcnt)
        best = d, bestcnt = cnt;
    }
    idom[v] = best == n ? PREEMPT_DOM_ROOT : (uint32_t)best;
  }
  free(tmp);
  free(dom);
  free(reach);
  free(stack);
}

/* A comb: a chain of L nodes whose last has K leaves, each leaf also
 * reached from the chain's head through a node of its own.  Each leaf's
 * immediate dominator is the head, found from the chain's end by walking
 * up the whole chain: K * L steps, where the solver must give up walking
 * and compute them Lengauer-Tarjan's way. */
static size_t comb(size_t L, size_t K, size_t *start, uint32_t *succ) {
  size_t n = L + 2 * K, m = 0;
  for (size_t v = 0; v < n; v++) {
    start[v] = m;
    if (v + 1 < L)
      succ[m++] = (uint32_t)(v + 1);
    if (v == L - 1)
      for (size_t k = 0; k < K; k++)
        succ[m++] = (uint32_t)(L + k);
    if (v == 0)
      for (size_t k = 0; k < K; k++)
        succ[m++] = (uint32_t)(L + K + k);
    if (v >= L + K)
      succ[m++] = (uint32_t)(v - K);
  }
  start[n] = m;
  return n;
}

int preempt_heap_selftest(int rounds) {
  int bad = 0;
  for (int r = 0; r <= rounds && bad < 5; r++) {
    size_t n = 1 + next_rand() % (r < rounds / 2 ? 12 : 300);
    size_t avg = 1 + next_rand() % 3;
    size_t m = 0;
    size_t *start = malloc((n + 1) * sizeof *start);
    uint32_t *succ = malloc(n * (avg * 2 + 2) * sizeof *succ);
    uint32_t roots[4];
    size_t nroot = 1;
    if (r == rounds) { /* last: the comb */
      free(start), free(succ);
      start = malloc((1000 + 2 * 400 + 1) * sizeof *start);
      succ = malloc((1000 + 4 * 400) * sizeof *succ);
      n = comb(1000, 400, start, succ);
      m = start[n];
      roots[0] = 0;
    } else {
      for (size_t v = 0; v < n; v++) {
        start[v] = m;
        size_t k = next_rand() % (avg * 2 + 1);
        if (next_rand() % 4 == 0 && v + 1 < n) /* chains */
          succ[m++] = (uint32_t)(v + 1);
        for (size_t j = 0; j < k; j++)
          succ[m++] = next_rand() % n;
      }
      start[n] = m;
      nroot = 1 + next_rand() % 4;
      for (size_t i = 0; i < nroot; i++)
        roots[i] = next_rand() % n;
    }
    uint32_t *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    size_t reached = preempt_dominators(n, start, succ, roots, nroot, a, NULL);
    naive(n, start, succ, roots, nroot, b);
    size_t nb = 0;
    for (size_t v = 0; v < n; v++)
      nb += b[v] != PREEMPT_DOM_UNREACHED;
    if (reached != nb || memcmp(a, b, n * sizeof *a)) {
      bad++;
      fprintf(stderr, "selftest: round %d (%zu nodes, %zu edges): dominators "
              "differ from the naive solver\n", r, n, m);
      for (size_t v = 0; v < n; v++)
        if (a[v] != b[v])
          fprintf(stderr, "  node %zu: idom %d, naive %d\n", v, (int)a[v],
                  (int)b[v]);
    }
    free(start), free(succ), free(a), free(b);
  }
  if (!bad)
    printf("selftest: %d random graphs and a comb: dominators agree with "
           "the naive solver\n", rounds);
  return bad;
}
