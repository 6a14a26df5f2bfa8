/* Memory from the OS, never from malloc (signal-safe): sysmem.c. */
#ifndef PREEMPT_SYSMEM_H
#define PREEMPT_SYSMEM_H

#include "common.h"

void *preempt_sys_alloc(size_t size) PREEMPT_HIDDEN; /* zeroed, or NULL */
void preempt_sys_free(void *p, size_t size) PREEMPT_HIDDEN;
/* A copy of the process that runs no atfork handler and whose exit sends
 * no signal (reaped with waitpid(..., __WALL)): 0 in the child, its pid in
 * the parent, -1 on failure.  The child must not take a pthread lock or
 * call malloc: its thread ids are stale. */
long preempt_fork_quiet(void) PREEMPT_HIDDEN;
/* Zeroed small blocks for span side tables; under the heap lock. */
void *preempt_pool_alloc(size_t size) PREEMPT_HIDDEN;
void preempt_pool_free(void *p, size_t size) PREEMPT_HIDDEN;
/* Doubles an array in OS memory (first_cap elements at first); false if
 * memory runs out (the array is left as it was). */
bool preempt_array_try_grow(void **data, size_t *cap, size_t len, size_t elem,
                            size_t first_cap) PREEMPT_HIDDEN;
/* The same, fatal if memory runs out, naming what for. */
void preempt_array_grow(void **data, size_t *cap, size_t len, size_t elem,
                        size_t first_cap, const char *what) PREEMPT_HIDDEN;
/* A growable array of words in OS memory, usable in a signal handler. */
struct preempt_vec {
  uintptr_t *data;
  size_t len, cap;
};
void preempt_vec_push(struct preempt_vec *v, uintptr_t x) PREEMPT_HIDDEN;
void preempt_vec_free(struct preempt_vec *v) PREEMPT_HIDDEN;

#endif
