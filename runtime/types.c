/* The type registry: names given to objects by preempt_new(T) and
 * preempt_alloc_typed, for heap reports.  Ids are small (uint16_t per
 * slot); the table only grows. */
#include "threads.h"
#include "types.h"

#include <pthread.h>
#include <string.h>

const char *preempt_type_names[PREEMPT_MAX_TYPES] = {"(untyped)"};
uint8_t preempt_type_pad[PREEMPT_MAX_TYPES] = {1};
_Atomic int preempt_type_cache[256];
static _Atomic int ntypes = 1;
static pthread_mutex_t types_lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((noinline)) int preempt_type_id_slow(const char *name) {
  int n = atomic_load_explicit(&ntypes, memory_order_acquire);
  for (int i = 1; i < n; i++)
    if (preempt_type_names[i] == name || !strcmp(preempt_type_names[i], name))
      return i;
  preempt_nopreempt_begin();
  pthread_mutex_lock(&types_lock);
  n = atomic_load(&ntypes);
  int id = 0;
  for (int i = 1; i < n && !id; i++)
    if (!strcmp(preempt_type_names[i], name))
      id = i;
  if (!id && n < PREEMPT_MAX_TYPES) {
    preempt_type_names[n] = name;
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
