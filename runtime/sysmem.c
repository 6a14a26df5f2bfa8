/* Memory straight from the OS for the runtime's own tables.  Not malloc:
 * these are used while other threads are stopped (perhaps inside malloc)
 * and from signal handlers. */
#include "internal.h"

#include <string.h>
#include <sys/mman.h>

void *preempt_sys_alloc(size_t size) {
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

void preempt_sys_free(void *p, size_t size) {
  if (p)
    munmap(p, size);
}

bool preempt_vec_push(struct preempt_vec *v, uintptr_t x) {
  if (unlikely(v->len == v->cap)) {
    size_t cap = v->cap ? v->cap * 2 : 4096;
    uintptr_t *d = preempt_sys_alloc(cap * sizeof *d);
    if (!d)
      return false;
    if (v->data) {
      memcpy(d, v->data, v->len * sizeof *d);
      preempt_sys_free(v->data, v->cap * sizeof *d);
    }
    v->data = d;
    v->cap = cap;
  }
  v->data[v->len++] = x;
  return true;
}

void preempt_vec_free(struct preempt_vec *v) {
  preempt_sys_free(v->data, v->cap * sizeof *v->data);
  v->data = NULL;
  v->len = v->cap = 0;
}
