/* The type registry: names given to objects by preempt_new(T) and
 * preempt_alloc_typed, for heap reports.  Ids are small (uint16_t per
 * slot); the table only grows. */
#include "sysmem.h"
#include "threads.h"
#include "types.h"

#include <pthread.h>
#include <string.h>

const char *preempt_type_names[PREEMPT_MAX_TYPES] = {"(untyped)"};
/* The address each name was first given at: the cache's key only, never
 * read through (the string may belong to a library unloaded since, so
 * names are copied). */
const char *_Atomic preempt_type_keys[PREEMPT_MAX_TYPES];
uint8_t preempt_type_pad[PREEMPT_MAX_TYPES] = {1};
_Atomic int preempt_type_cache[256];
static _Atomic int ntypes = 1;
static pthread_mutex_t types_lock = PTHREAD_MUTEX_INITIALIZER;

/* A copy of name in runtime memory (under types_lock). */
static const char *copy_name(const char *name) {
  static char *cur, *end;
  size_t n = strlen(name) + 1;
  if ((size_t)(end - cur) < n) {
    size_t chunk = n > 65536 ? n : 65536;
    cur = preempt_sys_alloc(chunk);
    if (!cur)
      preempt_fatal("out of memory for type names");
    end = cur + chunk;
  }
  memcpy(cur, name, n);
  cur += n;
  return cur - n;
}

/* Around fork: a thread of the parent may hold the lock (the child's
 * first new type would wait for ever). */
void preempt_types_fork_prepare(void) { pthread_mutex_lock(&types_lock); }
void preempt_types_fork_done(void) { pthread_mutex_unlock(&types_lock); }

void preempt_types_forget_keys(void) {
  for (int i = 0; i < PREEMPT_MAX_TYPES; i++)
    atomic_store_explicit(&preempt_type_keys[i], NULL, memory_order_relaxed);
}

__attribute__((noinline)) int preempt_type_id_slow(const char *name) {
  int n = atomic_load_explicit(&ntypes, memory_order_acquire);
  for (int i = 1; i < n; i++)
    if (!strcmp(preempt_type_names[i], name)) {
      atomic_store_explicit(&preempt_type_keys[i], name, memory_order_relaxed);
      return i;
    }
  preempt_nopreempt_begin();
  pthread_mutex_lock(&types_lock);
  n = atomic_load(&ntypes);
  int id = 0;
  for (int i = 1; i < n && !id; i++)
    if (!strcmp(preempt_type_names[i], name))
      id = i;
  if (!id && n < PREEMPT_MAX_TYPES) {
    preempt_type_names[n] = copy_name(name);
    atomic_store_explicit(&preempt_type_keys[n], name, memory_order_relaxed);
    size_t len = strlen(name);
    /* preempt_new_array(T, n) names its type "T[]": arrays are padded. */
    preempt_type_pad[n] = len >= 2 && !strcmp(name + len - 2, "[]");
    atomic_store_explicit(&ntypes, n + 1, memory_order_release);
    id = n;
  }
  pthread_mutex_unlock(&types_lock);
  preempt_nopreempt_end();
  return id; /* 0 once the table is full: reported as untyped */
}

const char *preempt_type_name(int id) { return preempt_type_names[id]; }
int preempt_type_count(void) { return atomic_load(&ntypes); }
