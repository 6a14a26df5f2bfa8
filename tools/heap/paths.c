/* Shortest retention paths: breadth-first from the super-root, so each
 * object's recorded predecessor lies on a path with the fewest hops from
 * some root (the first root in file order among equals). */
#include "heap.h"

#include <stdlib.h>
#include <string.h>

int preempt_bfs_compute(const struct preempt_snap *s, struct preempt_bfs *b) {
  size_t n = s->nobjects;
  b->from = malloc((n ? n : 1) * sizeof *b->from);
  b->via = malloc((n ? n : 1) * sizeof *b->via);
  uint32_t *queue = malloc((n ? n : 1) * sizeof *queue);
  b->order = NULL;
  b->norder = 0;
  if (!b->from || !b->via || !queue) {
    free(queue);
    preempt_bfs_free(b);
    return -1;
  }
  for (size_t i = 0; i < n; i++)
    b->from[i] = PREEMPT_DOM_UNREACHED;
  size_t head = 0, tail = 0;
  for (size_t r = 0; r < s->nroots; r++) {
    uint32_t o = s->roots[r].obj;
    if (b->from[o] == PREEMPT_DOM_UNREACHED) {
      b->from[o] = PREEMPT_DOM_ROOT;
      b->via[o] = r;
      queue[tail++] = o;
    }
  }
  while (head < tail) {
    uint32_t o = queue[head++];
    for (size_t e = s->edge_start[o]; e < s->edge_start[o + 1]; e++) {
      uint32_t t = s->edge_target[e];
      if (b->from[t] == PREEMPT_DOM_UNREACHED) {
        b->from[t] = o;
        b->via[t] = e;
        queue[tail++] = t;
      }
    }
  }
  b->order = queue; /* the queue is the BFS order */
  b->norder = tail;
  return 0;
}

void preempt_bfs_free(struct preempt_bfs *b) {
  free(b->from);
  free(b->via);
  free(b->order);
  memset(b, 0, sizeof *b);
}
