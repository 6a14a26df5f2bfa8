/* Root ranges registered by the program (malloc'd tables holding heap
 * pointers).  Scanned conservatively. */
#include "roots.h"
#include "snapshot_format.h"
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
  char *name; /* a copy, or NULL */
};

static struct root_range *ranges; /* under the heap lock */
static size_t nranges, cap;

static char *copy_name(const char *name) {
  if (!name)
    return NULL;
  size_t n = strlen(name) + 1;
  char *c = preempt_sys_alloc(n);
  if (!c)
    preempt_fatal("out of memory for the name of a root range");
  memcpy(c, name, n);
  return c;
}

static void free_name(char *name) {
  if (name)
    preempt_sys_free(name, strlen(name) + 1);
}

static void add(const void *start, size_t size, const char *name,
                uintptr_t ip) {
  preempt_thread_current();
  char *copy = copy_name(name);
  preempt_lock_heap(ip);
  if (nranges == cap)
    preempt_array_grow((void **)&ranges, &cap, nranges, sizeof *ranges, 64,
                       "registered roots");
  ranges[nranges++] = (struct root_range){start, size, copy};
  preempt_unlock_heap();
}

__attribute__((noinline)) void preempt_add_roots(const void *start,
                                                 size_t size) {
  add(start, size, NULL, (uintptr_t)__builtin_return_address(0));
}

__attribute__((noinline)) void preempt_add_named_roots(const void *start,
                                                       size_t size,
                                                       const char *name) {
  add(start, size, name, (uintptr_t)__builtin_return_address(0));
}

bool preempt_roots_named(const char *name) {
  for (size_t i = 0; i < nranges; i++)
    if (ranges[i].name && !strcmp(ranges[i].name, name))
      return true;
  return false;
}

void preempt_remove_roots(const void *start) {
  preempt_thread_current();
  preempt_lock_heap((uintptr_t)__builtin_return_address(0));
  bool found = false;
  char *name = NULL;
  for (size_t i = 0; i < nranges && !found; i++)
    if (ranges[i].start == start) {
      name = ranges[i].name;
      ranges[i] = ranges[--nranges];
      found = true;
    }
  preempt_unlock_heap();
  free_name(name);
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
    if (v->label)
      v->label(v, PREEMPT_ROOT_RANGE, 0, 0, ranges[i].name);
    v->range(v, ranges[i].start, (const char *)ranges[i].start + ranges[i].size);
  }
}
