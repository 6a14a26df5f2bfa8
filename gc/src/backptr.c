/* Back pointers: what refers to an object, hop by hop back to a root.
 * bdwgc records a back pointer in every debugging object; here the heap
 * is searched instead, with the world stopped, for a word pointing into
 * the object (as a conservative scan would read it).  An object no heap
 * word refers to is held by a root: a global, a thread's stack or
 * registers, a registered range or a pin. */
#include "compat.h"
#include "gc/gc_backptr.h"

#include <stdio.h>
#include <stdlib.h>

struct search {
  char *lo, *hi; /* the target object */
  void *found;
  size_t offset;
};

static void look(void *obj, size_t size, void *arg) {
  struct search *s = arg;
  if (s->found || (char *)obj == s->lo || preempt_object_scanned(obj) <= 0)
    return;
  for (size_t off = 0; off + sizeof(void *) <= size; off += sizeof(void *)) {
    char *w = *(char **)((char *)obj + off);
    if (w >= s->lo && w <= s->hi) { /* one past the end counts */
      s->found = obj;
      s->offset = off;
      return;
    }
  }
}

/* World stopped by the caller. */
static GC_ref_kind referrer(void *dest, void **base_p, size_t *offset_p) {
  struct search s = {dest, (char *)dest + preempt_object_size(dest), NULL, 0};
  preempt_heap_each_object(look, &s);
  if (s.found) {
    *base_p = s.found;
    *offset_p = s.offset;
    return GC_REFD_FROM_HEAP;
  }
  *base_p = NULL;
  *offset_p = 0;
  return GC_REFD_FROM_ROOT;
}

GC_ref_kind GC_get_back_ptr_info(void *dest, void **base_p, size_t *offset_p) {
  gc_ensure_init();
  void *base = preempt_object_start(dest);
  if (!base) {
    *base_p = NULL;
    return GC_NO_SPACE;
  }
  preempt_stop_the_world("GC_get_back_ptr_info");
  GC_ref_kind k = referrer(base, base_p, offset_p);
  preempt_start_the_world();
  return k;
}

struct pick {
  size_t seen;
  void *chosen;
};

static void reservoir(void *obj, size_t size, void *arg) {
  (void)size;
  struct pick *p = arg;
  if ((size_t)random() % ++p->seen == 0)
    p->chosen = obj;
}

void *GC_generate_random_heap_address(void) {
  gc_ensure_init();
  struct pick p = {0, NULL};
  preempt_heap_each_object(reservoir, &p);
  return p.chosen;
}
void *GC_generate_random_valid_address(void) {
  return GC_generate_random_heap_address();
}

#define MAX_HOPS 32
struct chain {
  void *obj[MAX_HOPS + 1];
  size_t offset[MAX_HOPS + 1];
  int n;
  GC_ref_kind end;
};

static void walk(void *arg) {
  struct chain *c = arg;
  for (c->n = 1; c->n <= MAX_HOPS; c->n++) {
    void *base;
    size_t off;
    c->end = referrer(c->obj[c->n - 1], &base, &off);
    if (c->end != GC_REFD_FROM_HEAP)
      return;
    for (int k = 0; k < c->n; k++)
      if (c->obj[k] == base) { /* a cycle: the root is elsewhere */
        c->end = GC_REFD_FROM_HEAP;
        return;
      }
    c->obj[c->n] = base;
    c->offset[c->n] = off;
  }
}

void GC_print_backtrace(void *p) {
  gc_ensure_init();
  struct chain c = {.n = 0};
  c.obj[0] = preempt_object_start(p);
  if (!c.obj[0]) {
    fprintf(stderr, "GC_print_backtrace: %p is not in a heap object\n", p);
    return;
  }
  preempt_with_world_stopped("GC_print_backtrace", walk, &c);
  fprintf(stderr, "%p (object of %zu bytes)\n", c.obj[0],
          preempt_object_size(c.obj[0]));
  for (int k = 1; k < c.n && k <= MAX_HOPS; k++)
    fprintf(stderr, "\treferenced from %p+%zu (object of %zu bytes)\n",
            c.obj[k], c.offset[k], preempt_object_size(c.obj[k]));
  fprintf(stderr, "\t%s\n",
          c.end == GC_REFD_FROM_ROOT
              ? "held by a root (a global, a thread's stack or registers, a "
                "registered range or a pin)"
              : "... (a cycle, or the chain goes on)");
}

void GC_generate_random_backtrace(void) {
  void *p = GC_generate_random_heap_address();
  if (!p) {
    fprintf(stderr, "GC_generate_random_backtrace: the heap is empty\n");
    return;
  }
  fprintf(stderr, "***Chosen address %p in object\n", p);
  GC_print_backtrace(p);
}
