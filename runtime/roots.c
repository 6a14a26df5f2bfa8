/* Root ranges registered by the program (malloc'd tables holding heap
 * pointers).  Scanned conservatively. */
#include "roots.h"
#include "stw.h"
#include "sysmem.h"
#include "threads.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct root_range {
  const void *start;
  size_t size;
};

static struct root_range *ranges; /* under the heap lock */
static size_t nranges, cap;

void preempt_add_roots(const void *start, size_t size) {
  preempt_thread_current();
  preempt_lock_heap((uintptr_t)__builtin_return_address(0));
  if (nranges == cap)
    preempt_array_grow((void **)&ranges, &cap, nranges, sizeof *ranges, 64,
                       "registered roots");
  ranges[nranges++] = (struct root_range){start, size};
  preempt_unlock_heap();
}

void preempt_remove_roots(const void *start) {
  preempt_thread_current();
  preempt_lock_heap((uintptr_t)__builtin_return_address(0));
  bool found = false;
  for (size_t i = 0; i < nranges && !found; i++)
    if (ranges[i].start == start) {
      ranges[i] = ranges[--nranges];
      found = true;
    }
  preempt_unlock_heap();
  if (!found) /* a typo or a double removal: the range may still be live */
    preempt_warn("preempt_remove_roots(%p): no root range starts there "
                 "(preempt_add_roots was not called with that start, or the "
                 "range was removed already)",
                 start);
}

/* A range freed without preempt_remove_roots would crash the marker with
 * no word of why; msync fails with ENOMEM on unmapped pages (one system
 * call per range, no page touched).  Memory freed to malloc but still
 * mapped is scanned harmlessly. */
static void check_mapped(const struct root_range *r) {
  static uintptr_t page;
  if (!page)
    page = (uintptr_t)sysconf(_SC_PAGESIZE);
  uintptr_t lo = (uintptr_t)r->start & ~(page - 1);
  uintptr_t hi = (uintptr_t)r->start + r->size;
  if (msync((void *)lo, hi - lo, MS_ASYNC) && errno == ENOMEM)
    preempt_fatal("root range [%p, %p) from preempt_add_roots is no longer "
                  "mapped: call preempt_remove_roots before freeing it",
                  r->start, (const void *)hi);
}

void preempt_roots_visit(struct preempt_visitor *v) {
  for (size_t i = 0; i < nranges; i++) {
    if (!ranges[i].size)
      continue;
    check_mapped(&ranges[i]);
    v->range(v, ranges[i].start, (const char *)ranges[i].start + ranges[i].size);
  }
}
