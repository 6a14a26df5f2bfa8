/* Root ranges registered by the program (malloc'd tables holding heap
 * pointers).  Scanned conservatively. */
#include "internal.h"

#include <string.h>

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
  pthread_mutex_unlock(&preempt_heap_lock);
}

void preempt_remove_roots(const void *start) {
  preempt_thread_current();
  preempt_lock_heap((uintptr_t)__builtin_return_address(0));
  for (size_t i = 0; i < nranges; i++)
    if (ranges[i].start == start) {
      ranges[i] = ranges[--nranges];
      break;
    }
  pthread_mutex_unlock(&preempt_heap_lock);
}

void preempt_roots_mark(void) {
  for (size_t i = 0; i < nranges; i++)
    preempt_mark_range(ranges[i].start,
                       (const char *)ranges[i].start + ranges[i].size);
}
