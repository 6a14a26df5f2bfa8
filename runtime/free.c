/* Explicit free (preempt_free) and object queries.
 *
 * preempt_free(p) is the program saying that p's object is dead.  Its
 * memory is cleared at once (poisoned under PREEMPT=poison, so a use after
 * the free shows) and its slot is reclaimed by the next collection's
 * sweep, even if a stale pointer still reaches it.  Slots are not handed
 * back at once because thread caches allocate from their spans without
 * the heap lock.  The objects freed since the last collection are a set
 * under the heap lock: a second free of one is fatal, as are pointers into
 * the middle of an object, outside the heap, or to a pinned object. */
#include "addrmap.h"
#include "finalizer.h"
#include "free.h"
#include "heap.h"
#include "locate.h"
#include "options.h"
#include "pin.h"
#include "stw.h"
#include "sysmem.h"
#include "threads.h"
#include "types.h"

#include <string.h>

static struct preempt_addrmap freed = {.what = "explicitly freed objects"};

__attribute__((noinline)) void preempt_free(void *p) {
  if (!p)
    return;
  uintptr_t ip = (uintptr_t)__builtin_return_address(0);
  preempt_thread_current();
  /* p is a root while we wait: the caller may hold it nowhere else, and a
   * collection meanwhile would sweep it under us. */
  preempt_lock_heap_holding(ip, p, NULL);
  struct preempt_located l = preempt_locate((uintptr_t)p);
  if (l.where != PREEMPT_IN_OBJECT) {
    preempt_unlock_heap();
    preempt_not_an_object("preempt_free", p, &l, ip, "can be freed");
  }
  const char *why = NULL;
  bool added = false;
  if (l.obj != (uintptr_t)p)
    why = "points into the middle of";
  else if (preempt_pinned(l.obj))
    why = "is pinned:";
  else if (preempt_addrmap_add(&freed, l.obj, &added), !added)
    why = "was already freed: a double free of";
  if (why) {
    preempt_unlock_heap();
    char from[256];
    preempt_symbolise(ip, from, sizeof from);
    preempt_fatal("preempt_free(%p) called from %s: %p %s heap object %p "
                  "(%s, %zu bytes)",
                  p, from, p, why, (void *)l.obj, preempt_type_name(l.type),
                  l.size);
  }
  preempt_finalizers_forget(l.obj);
  /* Cleared: a stale pointer to it keeps nothing else alive. */
  if (l.scan || preempt_opts.poison)
    memset((void *)l.obj, preempt_opts.poison ? PREEMPT_POISON_BYTE : 0,
           span_slot_bytes(preempt_span_of(l.obj)));
  preempt_unlock_heap();
}

void preempt_free_apply(void) {
  for (size_t i = 0; i < freed.cap; i++) {
    uintptr_t obj = freed.e[i].key;
    if (!obj)
      continue;
    struct preempt_span *s = preempt_span_of(obj);
    if (s->state == SPAN_LARGE)
      s->large_bits[1] = 0;
    else
      bit_clear(s->markbits, span_index(s, obj));
  }
  if (freed.used) {
    preempt_sys_free(freed.e, freed.cap * sizeof *freed.e);
    freed = (struct preempt_addrmap){.what = freed.what};
  }
}

bool preempt_freed(uintptr_t obj) {
  return preempt_addrmap_find(&freed, obj) != NULL;
}

/* Also from the thread that stopped the world (or holds preempt_lock),
 * which has the heap already. */
static struct preempt_located query(const void *p, uintptr_t ip) {
  bool mine = preempt_heap_locked_here();
  if (!mine) {
    preempt_thread_current();
    preempt_lock_heap_holding(ip, p, NULL);
  }
  struct preempt_located l = preempt_locate((uintptr_t)p);
  if (l.where == PREEMPT_IN_OBJECT)
    l.size =
        preempt_freed(l.obj) ? 0 : span_slot_bytes(preempt_span_of(l.obj));
  if (!mine)
    preempt_unlock_heap();
  return l;
}

__attribute__((noinline)) void *preempt_object_start(const void *p) {
  struct preempt_located l =
      query(p, (uintptr_t)__builtin_return_address(0));
  return l.where == PREEMPT_IN_OBJECT && l.size ? (void *)l.obj : NULL;
}

__attribute__((noinline)) int preempt_object_scanned(const void *p) {
  struct preempt_located l =
      query(p, (uintptr_t)__builtin_return_address(0));
  return l.where == PREEMPT_IN_OBJECT && l.size ? l.scan != 0 : -1;
}

__attribute__((noinline)) size_t preempt_object_size(const void *p) {
  struct preempt_located l =
      query(p, (uintptr_t)__builtin_return_address(0));
  return l.where == PREEMPT_IN_OBJECT ? l.size : 0;
}
