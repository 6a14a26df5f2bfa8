/* Dominators of the object graph (Semi-NCA: Lengauer-Tarjan's
 * semi-dominators, simple version: path compression without balanced
 * linking, then nearest common ancestors, falling back to Lengauer-Tarjan's
 * buckets where those walks grow long; O(m log n), in practice linear),
 * and retained sizes.  Everything is iterative: snapshot graphs can be
 * tens of millions of objects deep (a long list), far beyond any stack.
 *
 * Work arrays are indexed by DFS number, 0 being the virtual super-root
 * whose successors are the roots' objects. */
#include "heap.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>


#define NONE UINT32_MAX

/* A node of the link-eval forest: its ancestor, its label (the node of
 * least semi-dominator on its compressed path) and that label's
 * semi-dominator, kept together so that a step of eval is one miss. */
struct forest {
  uint32_t ancestor, label, lsemi;
};

/* The label of the forest node with the least semi-dominator on v's path
 * to its forest root, compressing the path (with an explicit stack); its
 * semi-dominator in *sd. */
static uint32_t eval(uint32_t v, struct forest *f, const uint32_t *semi,
                     uint32_t *stk, uint32_t *sd) {
  if (f[v].ancestor == NONE) {
    *sd = semi[v];
    return v;
  }
  size_t sp = 0;
  for (uint32_t u = v; f[f[u].ancestor].ancestor != NONE; u = f[u].ancestor)
    stk[sp++] = u;
  while (sp) { /* from the top of the path down, as the recursion would */
    uint32_t x = stk[--sp], a = f[x].ancestor;
    if (f[a].lsemi < f[x].lsemi) {
      f[x].label = f[a].label;
      f[x].lsemi = f[a].lsemi;
    }
    f[x].ancestor = f[a].ancestor;
  }
  *sd = f[v].lsemi;
  return f[v].label;
}

/* Immediate dominators from semi-dominators, Semi-NCA's way: each node's
 * is the nearest ancestor of its parent, on the tree built so far in DFS
 * order, numbered no higher than its semi-dominator.  The walks are short
 * in practice but can add up to n^2 (a long chain whose end has many
 * children reached around it): past 16 steps a node on average it gives
 * up (false). */
static bool nca_idoms(uint32_t N, const uint32_t *parent, const uint32_t *semi,
                      uint32_t *dom) {
  uint64_t steps = 0, budget = 16 * (uint64_t)N + 1024;
  dom[0] = 0;
  for (uint32_t w = 1; w < N; w++) {
    uint32_t x = parent[w];
    while (x > semi[w]) {
      x = dom[x];
      if (++steps > budget)
        return false;
    }
    dom[w] = x;
  }
  return true;
}

/* The same as Lengauer-Tarjan's last passes do it, in O(m log n) whatever
 * the graph: linking the forest again in reverse DFS order, each node
 * evaluated once from its semi-dominator's bucket.  false: out of memory. */
static bool bucket_idoms(uint32_t N, const uint32_t *parent,
                         const uint32_t *semi, uint32_t *dom,
                         struct forest *f, uint32_t *stk) {
  uint32_t *bucket = malloc((size_t)N * sizeof *bucket);
  uint32_t *bnext = malloc((size_t)N * sizeof *bnext);
  if (!bucket || !bnext) {
    free(bucket), free(bnext);
    return false;
  }
  for (uint32_t w = 0; w < N; w++) {
    f[w] = (struct forest){NONE, w, semi[w]};
    bucket[w] = NONE;
  }
  dom[0] = 0;
  for (uint32_t w = N - 1; w >= 1; w--) {
    bnext[w] = bucket[semi[w]];
    bucket[semi[w]] = w;
    uint32_t p = parent[w];
    f[w].ancestor = p;
    for (uint32_t x = bucket[p]; x != NONE; x = bnext[x]) {
      uint32_t su, u = eval(x, f, semi, stk, &su);
      dom[x] = su < semi[x] ? u : p;
    }
    bucket[p] = NONE;
  }
  for (uint32_t w = 1; w < N; w++)
    if (dom[w] != semi[w])
      dom[w] = dom[dom[w]];
  free(bucket), free(bnext);
  return true;
}

size_t preempt_dominators(size_t n, const size_t *start, const uint32_t *succ,
                          const uint32_t *rootsucc, size_t nroot,
                          uint32_t *idom, uint32_t *order) {
  size_t m = start[n];
  /* What the search needs of a node, in 24 bytes: its number and its
   * successors, the first two of them inline (most objects have no more),
   * so that a random graph costs a miss per node visited, not three. */
#define INLINE_SUCC 2
  struct dnode {
    size_t first;                 /* its successors in succ... */
    uint32_t deg;                 /* ...how many */
    uint32_t dfn;                 /* 0: not reached */
    uint32_t succ[INLINE_SUCC];   /* the first ones, again */
  } *node = malloc((n ? n : 1) * sizeof *node);
  uint32_t *dfn = malloc((n ? n : 1) * sizeof *dfn);
  uint32_t *vertex = malloc((n + 1) * sizeof *vertex);
  uint32_t *parent = malloc((n + 1) * sizeof *parent);
  /* Each vertex on the search path: its successors, and the next one. */
  const uint32_t **cursor = malloc((n + 1) * sizeof *cursor);
  const uint32_t **cend = malloc((n + 1) * sizeof *cend);
  uint8_t *isroot = calloc(n ? n : 1, 1);
  if (!node || !dfn || !vertex || !parent || !cursor || !cend || !isroot) {
    free(node), free(dfn), free(vertex), free(parent), free(cursor);
    free(cend), free(isroot);
    return (size_t)-1;
  }
  for (size_t i = 0; i < n; i++) {
    node[i].first = start[i];
    node[i].deg = (uint32_t)(start[i + 1] - start[i]);
    node[i].dfn = 0;
    for (size_t k = 0; k < INLINE_SUCC && k < node[i].deg; k++)
      node[i].succ[k] = succ[start[i] + k];
  }
  for (size_t i = 0; i < nroot; i++)
    isroot[rootsucc[i]] = 1;

  /* DFS; the stack is the parent chain. */
  uint32_t N = 1;
  vertex[0] = NONE;
  parent[0] = NONE;
  cursor[0] = rootsucc;
  cend[0] = rootsucc + nroot;
  uint32_t v = 0;
  for (;;) {
    uint32_t next = NONE;
    while (cursor[v] < cend[v]) {
      uint32_t t = *cursor[v]++;
      if (!node[t].dfn) {
        next = t;
        break;
      }
    }
    if (next == NONE) {
      if (v == 0)
        break;
      v = parent[v];
      continue;
    }
    uint32_t w = N++;
    struct dnode *x = &node[next];
    x->dfn = w;
    vertex[w] = next;
    parent[w] = v;
    const uint32_t *list = x->deg <= INLINE_SUCC ? x->succ : &succ[x->first];
    cursor[w] = list;
    cend[w] = list + x->deg;
    /* Its successors' nodes are read next, one by one as the search comes
     * back to them: ask for all of them now, so their misses overlap. */
    for (uint32_t k = 0; k < x->deg && k < 8; k++)
      __builtin_prefetch(&node[list[k]]);
    v = w;
  }
  for (size_t i = 0; i < n; i++)
    dfn[i] = node[i].dfn;
  free(node), free(cursor), free(cend);

  /* Predecessors (reverse CSR) of reached nodes, in DFS numbers. */
  uint32_t *pstart = calloc((size_t)N + 1, sizeof *pstart);
  uint32_t *pred = NULL;
  uint32_t *semi = malloc((size_t)N * sizeof *semi);
  struct forest *f = malloc((size_t)N * sizeof *f);
  uint32_t *dom = malloc((size_t)N * sizeof *dom);
  uint32_t *stk = malloc((size_t)N * sizeof *stk);
  size_t np = 0;
  int ok = pstart && semi && f && dom && stk;
  /* The edges are read in order and their targets' numbers at random:
   * those are fetched PF edges ahead. */
#define PF 32
  if (ok) {
    for (size_t i = 0; i < n; i++)
      if (dfn[i])
        for (size_t e = start[i]; e < start[i + 1]; e++) {
          if (e + PF < m)
            __builtin_prefetch(&dfn[succ[e + PF]]);
          if (dfn[succ[e]])
            pstart[dfn[succ[e]] + 1]++, np++;
        }
    ok = np <= UINT32_MAX && (pred = malloc((np ? np : 1) * sizeof *pred));
  }
  if (!ok) {
    free(dfn), free(vertex), free(parent), free(isroot), free(pstart);
    free(pred), free(semi), free(f), free(dom), free(stk);
    return (size_t)-1;
  }
  for (uint32_t w = 1; w <= N - 1; w++)
    pstart[w + 1] += pstart[w];
  /* Fill using pstart[w] as the insertion point, then shift back. */
  for (size_t i = 0; i < n; i++)
    if (dfn[i])
      for (size_t e = start[i]; e < start[i + 1]; e++) {
        if (e + PF < m) {
          uint32_t t = dfn[succ[e + PF / 2]];
          __builtin_prefetch(&dfn[succ[e + PF]]);
          __builtin_prefetch(&pstart[t]);
        }
        if (dfn[succ[e]])
          pred[pstart[dfn[succ[e]]]++] = dfn[i];
      }
  for (uint32_t w = N - 1; w >= 1; w--)
    pstart[w] = pstart[w - 1];
  pstart[0] = 0;
  pstart[1] = 0;

  for (uint32_t w = 0; w < N; w++) {
    semi[w] = w;
    f[w] = (struct forest){NONE, w, w};
  }
  /* Semi-dominators as Lengauer-Tarjan computes them. */
  for (uint32_t w = N - 1; w >= 1; w--) {
    /* The next node's predecessors, whose forest nodes eval reads. */
    for (uint32_t k = pstart[w - 1]; k < pstart[w] && k < pstart[w - 1] + 8; k++)
      __builtin_prefetch(&f[pred[k]]);
    for (uint32_t k = pstart[w]; k < pstart[w + 1]; k++) {
      uint32_t su;
      eval(pred[k], f, semi, stk, &su);
      if (su < semi[w])
        semi[w] = su;
    }
    if (isroot[vertex[w]])
      semi[w] = 0; /* the super-root is a predecessor */
    f[w].ancestor = parent[w];
    f[w].lsemi = semi[w]; /* its label is itself */
  }
  if (!nca_idoms(N, parent, semi, dom) &&
      !bucket_idoms(N, parent, semi, dom, f, stk)) {
    free(dfn), free(vertex), free(parent), free(isroot), free(pstart);
    free(pred), free(semi), free(f), free(dom), free(stk);
    return (size_t)-1;
  }

  for (size_t i = 0; i < n; i++)
    idom[i] = PREEMPT_DOM_UNREACHED;
  for (uint32_t w = 1; w < N; w++) {
    idom[vertex[w]] = dom[w] == 0 ? PREEMPT_DOM_ROOT : vertex[dom[w]];
    if (order)
      order[w - 1] = vertex[w];
  }
  free(dfn), free(vertex), free(parent), free(isroot), free(pstart);
  free(pred), free(semi), free(f), free(dom), free(stk);
  return (size_t)N - 1;
}

void preempt_dom_free(struct preempt_dom *d) {
  free(d->idom);
  free(d->retained);
  free(d->type_top);
  memset(d, 0, sizeof *d);
}

int preempt_dom_compute(const struct preempt_snap *s, struct preempt_dom *d) {
  size_t n = s->nobjects;
  memset(d, 0, sizeof *d);
  uint32_t *rootsucc = malloc((s->nroots ? s->nroots : 1) * sizeof *rootsucc);
  uint32_t *order = malloc((n ? n : 1) * sizeof *order);
  d->idom = malloc((n ? n : 1) * sizeof *d->idom);
  if (!rootsucc || !order || !d->idom) {
    free(rootsucc), free(order);
    preempt_dom_free(d);
    return -1;
  }
  for (size_t i = 0; i < s->nroots; i++)
    rootsucc[i] = s->roots[i].obj;
  size_t nr = preempt_dominators(n, s->edge_start, s->edge_target, rootsucc,
                                 s->nroots, d->idom, order);
  free(rootsucc);
  d->retained = calloc(n ? n : 1, sizeof *d->retained);
  d->type_top = calloc(n ? n : 1, 1);
  if (nr == (size_t)-1 || !d->retained || !d->type_top) {
    free(order);
    preempt_dom_free(d);
    return -1;
  }
  d->nreached = nr;
  d->nunreached = n - nr;
  for (size_t i = 0; i < n; i++)
    if (d->idom[i] == PREEMPT_DOM_UNREACHED)
      d->unreached_bytes += s->objects[i].size;
    else
      d->retained[i] = s->objects[i].size;
  /* Children after parents in preorder: sum bottom-up in reverse. */
  for (size_t k = nr; k-- > 0;) {
    uint32_t x = order[k], p = d->idom[x];
    if (p == PREEMPT_DOM_ROOT)
      d->reached_bytes += d->retained[x];
    else
      d->retained[p] += d->retained[x];
  }

  /* type_top: an object retained by the roots, or by an object of its own
   * type, is decided at once (a heap of one type, lists, trees); if some
   * are not, the dominator tree is walked depth first, counting per type
   * how many objects of that type are on the current path. */
  size_t undecided = 0;
  for (size_t k = 0; k < nr; k++) {
    uint32_t x = order[k], p = d->idom[x];
    if (p == PREEMPT_DOM_ROOT)
      d->type_top[x] = 1;
    else if (s->objects[p].type != s->objects[x].type)
      undecided++;
  }
  if (!undecided) {
    free(order);
    return 0;
  }
  uint32_t *cstart = calloc(n + 2, sizeof *cstart);
  uint32_t *child = malloc((nr ? nr : 1) * sizeof *child);
  uint32_t *cur = malloc((n + 1) * sizeof *cur);
  uint32_t *active = calloc(s->ntypes ? s->ntypes : 1, sizeof *active);
  if (!cstart || !child || !cur || !active) {
    free(order), free(cstart), free(child), free(cur), free(active);
    preempt_dom_free(d);
    return -1;
  }
  /* Node n stands for the super-root in the tree. */
#define TNODE(p) ((p) == PREEMPT_DOM_ROOT ? (uint32_t)n : (p))
  for (size_t k = 0; k < nr; k++)
    cstart[TNODE(d->idom[order[k]]) + 1]++;
  for (size_t i = 0; i <= n; i++)
    cstart[i + 1] += cstart[i];
  for (size_t i = 0; i <= n; i++)
    cur[i] = cstart[i];
  for (size_t k = 0; k < nr; k++)
    child[cur[TNODE(d->idom[order[k]])]++] = order[k];
  for (size_t i = 0; i <= n; i++)
    cur[i] = cstart[i];
  free(order);
  uint32_t v = (uint32_t)n;
  for (;;) {
    if (cur[v] < cstart[v + 1]) {
      uint32_t c = child[cur[v]++];
      uint32_t t = s->objects[c].type;
      d->type_top[c] = active[t] == 0;
      active[t]++;
      v = c;
      continue;
    }
    if (v == n)
      break;
    active[s->objects[v].type]--;
    v = TNODE(d->idom[v]);
  }
#undef TNODE
  free(cstart), free(child), free(cur), free(active);
  return 0;
}
