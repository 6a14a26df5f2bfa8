#define _GNU_SOURCE
#include "locate.h"
#include "heap.h"
#include "threads.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

struct preempt_located preempt_locate(uintptr_t p) {
  struct preempt_located l = {.where = PREEMPT_OUTSIDE_HEAP};
  if (!p) {
    l.where = PREEMPT_IS_NULL;
    return l;
  }
  if (!preempt_in_heap(p))
    return l;
  struct preempt_span *s = preempt_span_of(p);
  l.where = PREEMPT_FREE_PAGES;
  if (!s || (s->state != SPAN_SMALL && s->state != SPAN_LARGE))
    return l;
  uint32_t i = 0;
  if (s->state == SPAN_SMALL) {
    i = span_index(s, p);
    if (i >= s->nelems || !span_slot_allocated(s, i)) {
      l.where = PREEMPT_FREE_SLOT;
      l.elemsize = s->elemsize;
      return l;
    }
    l.obj = s->base + (uintptr_t)i * s->elemsize;
    l.size = l.scan = s->elemsize;
  } else {
    l.obj = s->base;
    l.size = s->elemsize;
    l.scan = s->npages * PREEMPT_PAGE_SIZE; /* as the marker does */
  }
  l.where = PREEMPT_IN_OBJECT;
  if (s->noscan)
    l.scan = 0;
  l.type = s->types ? s->types[i] : 0;
  return l;
}

void preempt_symbolise(uintptr_t addr, char *buf, size_t size) {
  Dl_info info;
  if (!addr || !dladdr((void *)addr, &info) || !info.dli_fname) {
    snprintf(buf, size, "%p", (void *)addr);
    return;
  }
  const char *file = strrchr(info.dli_fname, '/');
  file = file ? file + 1 : info.dli_fname;
  if (info.dli_sname && info.dli_saddr)
    snprintf(buf, size, "%s+0x%lx (%s)", info.dli_sname,
             (unsigned long)(addr - (uintptr_t)info.dli_saddr), file);
  else
    snprintf(buf, size, "%s+0x%lx", *file ? file : "?",
             (unsigned long)(addr - (uintptr_t)info.dli_fbase));
}

void preempt_not_an_object(const char *fn, const void *p,
                           const struct preempt_located *l, uintptr_t caller,
                           const char *can) {
  char from[256], what[320];
  preempt_symbolise(caller, from, sizeof from);
  struct preempt_thread *t = preempt_self;
  Dl_info info;
  switch (l->where) {
  case PREEMPT_IS_NULL:
    snprintf(what, sizeof what, "NULL is not a heap object");
    break;
  case PREEMPT_OUTSIDE_HEAP:
    if (t && (uintptr_t)p >= t->stack_lo && (uintptr_t)p < t->stack_hi)
      snprintf(what, sizeof what,
               "not in the collected heap: it is on this thread's stack");
    else if (dladdr(p, &info) && info.dli_fname)
      snprintf(what, sizeof what,
               "not in the collected heap: it is in the memory of %s%s%s "
               "(a global or code)",
               *info.dli_fname ? info.dli_fname : "the program",
               info.dli_sname ? ", near " : "",
               info.dli_sname ? info.dli_sname : "");
    else
      snprintf(what, sizeof what,
               "not in the collected heap (memory from malloc or mmap?)");
    break;
  case PREEMPT_FREE_PAGES:
    snprintf(what, sizeof what,
             "a freed object: it points into free pages of the heap (the "
             "object was collected, or the pointer is stale)");
    break;
  case PREEMPT_FREE_SLOT:
    snprintf(what, sizeof what,
             "a freed object: it points into a free %u-byte slot of the "
             "heap (the object was collected, or the pointer is stale)",
             l->elemsize);
    break;
  case PREEMPT_IN_OBJECT:
    snprintf(what, sizeof what, "?");
    break;
  }
  preempt_fatal("%s(%p) called from %s: %s; only objects from "
                "preempt_alloc/preempt_new, while reachable, %s",
                fn, p, from, what, can);
}
