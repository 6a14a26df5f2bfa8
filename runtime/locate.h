/* What a pointer is (locate.c): an object of the heap, a freed slot, free
 * pages, or memory outside the heap; and messages that say so, naming the
 * caller, for the API's fatal errors on bad pointers. */
#ifndef PREEMPT_LOCATE_H
#define PREEMPT_LOCATE_H

#include "common.h"

enum preempt_where {
  PREEMPT_IN_OBJECT,    /* an allocated object */
  PREEMPT_IS_NULL,
  PREEMPT_OUTSIDE_HEAP, /* not in the heap's arena */
  PREEMPT_FREE_PAGES,   /* in the arena, on pages no span uses */
  PREEMPT_FREE_SLOT,    /* a slot of a span that holds no object now */
};

struct preempt_located {
  enum preempt_where where;
  uintptr_t obj;   /* PREEMPT_IN_OBJECT: its start */
  size_t size;     /* its size in bytes (requested size for large ones) */
  size_t scan;     /* the bytes a collection scans, 0 if pointer-free */
  int type;        /* type id (0: untyped) */
  uint32_t elemsize; /* PREEMPT_FREE_SLOT: the span's object size */
};

/* Heap lock held: the span tables do not change under us (sweeping needs
 * the lock; an allocated object's slot stays allocated until swept). */
struct preempt_located preempt_locate(uintptr_t p) PREEMPT_HIDDEN;

/* Fatal: p, given to fn (called from caller), is not a heap object, and
 * why; can ends the message ("can be pinned"). */
__attribute__((noreturn)) void
preempt_not_an_object(const char *fn, const void *p,
                      const struct preempt_located *l, uintptr_t caller,
                      const char *can) PREEMPT_HIDDEN;

#endif
