/* Memory straight from the OS for the runtime's own tables.  Not malloc:
 * these are used while other threads are stopped (perhaps inside malloc)
 * and from signal handlers. */
#include "sysmem.h"

#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

void *preempt_sys_alloc(size_t size) {
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

void preempt_sys_free(void *p, size_t size) {
  if (p)
    munmap(p, size);
}

bool preempt_array_try_grow(void **data, size_t *cap, size_t len, size_t elem,
                            size_t first_cap) {
  size_t ncap = *cap ? *cap * 2 : first_cap;
  void *d = preempt_sys_alloc(ncap * elem);
  if (!d)
    return false;
  if (*data) {
    memcpy(d, *data, len * elem);
    preempt_sys_free(*data, *cap * elem);
  }
  *data = d;
  *cap = ncap;
  return true;
}

void preempt_array_grow(void **data, size_t *cap, size_t len, size_t elem,
                        size_t first_cap, const char *what) {
  if (!preempt_array_try_grow(data, cap, len, elem, first_cap))
    preempt_fatal("out of memory for %s", what);
}

void preempt_vec_push(struct preempt_vec *v, uintptr_t x) {
  if (unlikely(v->len == v->cap))
    preempt_array_grow((void **)&v->data, &v->cap, v->len, sizeof *v->data,
                       4096, "a root buffer");
  v->data[v->len++] = x;
}

void preempt_vec_free(struct preempt_vec *v) {
  preempt_sys_free(v->data, v->cap * sizeof *v->data);
  v->data = NULL;
  v->len = v->cap = 0;
}

/* Small side tables (span bitmaps, type arrays) come from a pool of
 * power-of-two blocks carved from 1 MiB chunks: an mmap per span would
 * cost a system call and a TLB shootdown each time.  Blocks are recycled,
 * never unmapped.  Under the heap lock. */
#define POOL_MIN_SHIFT 4
#define POOL_MAX_SHIFT 16
#define POOL_CHUNK ((size_t)1 << 20)

static struct pool_block {
  struct pool_block *next;
} *pool_free[POOL_MAX_SHIFT + 1];
static uint8_t *chunk_cur, *chunk_end;

static unsigned pool_shift(size_t size) {
  unsigned s = POOL_MIN_SHIFT;
  while (((size_t)1 << s) < size)
    s++;
  return s;
}

void *preempt_pool_alloc(size_t size) {
  unsigned s = pool_shift(size);
  if (s > POOL_MAX_SHIFT)
    return preempt_sys_alloc(size);
  struct pool_block *b = pool_free[s];
  if (b) {
    pool_free[s] = b->next;
    memset(b, 0, (size_t)1 << s);
    return b;
  }
  size_t n = (size_t)1 << s;
  if ((size_t)(chunk_end - chunk_cur) < n) {
    chunk_cur = preempt_sys_alloc(POOL_CHUNK);
    if (!chunk_cur)
      return NULL;
    chunk_end = chunk_cur + POOL_CHUNK;
  }
  void *p = chunk_cur; /* fresh chunks are zero */
  chunk_cur += n;
  return p;
}

void preempt_pool_free(void *p, size_t size) {
  if (!p)
    return;
  unsigned s = pool_shift(size);
  if (s > POOL_MAX_SHIFT) {
    preempt_sys_free(p, size);
    return;
  }
  struct pool_block *b = p;
  b->next = pool_free[s];
  pool_free[s] = b;
}

long preempt_fork_quiet(void) {
  /* clone with no flags and no exit signal: a fork the program's SIGCHLD
   * handler and waitpid(-1) never see. */
  return syscall(SYS_clone, 0UL, 0UL, 0UL, 0UL, 0UL);
}
