/* The type registry (types.c): names given to objects by preempt_new(T)
 * and preempt_alloc_typed, for heap reports. */
#ifndef PREEMPT_TYPES_H
#define PREEMPT_TYPES_H

#include "common.h"

#define PREEMPT_MAX_TYPES 4096
extern const char *preempt_type_names[PREEMPT_MAX_TYPES] PREEMPT_HIDDEN;
/* 1 unless the type is a single object from preempt_new (see malloc.c). */
extern uint8_t preempt_type_pad[PREEMPT_MAX_TYPES] PREEMPT_HIDDEN;
extern _Atomic int preempt_type_cache[256] PREEMPT_HIDDEN;
extern const char *_Atomic preempt_type_keys[] PREEMPT_HIDDEN;
/* After a dlclose: a name's address may now hold another name. */
void preempt_types_forget_keys(void) PREEMPT_HIDDEN;
void preempt_types_fork_prepare(void) PREEMPT_HIDDEN;
void preempt_types_fork_done(void) PREEMPT_HIDDEN;
int preempt_type_id_slow(const char *name) PREEMPT_HIDDEN;

/* Names usually come from preempt_new(T): the same string literal at each
 * call, so a cache keyed by its address answers without comparing
 * strings; an entry is checked against the names before use.  0: untyped
 * (also once the table is full). */
static inline int preempt_type_id(const char *name) {
  if (!name)
    return 0;
  unsigned h = (unsigned)(((uintptr_t)name >> 3) & 255);
  int id = atomic_load_explicit(&preempt_type_cache[h], memory_order_relaxed);
  if (likely(id && atomic_load_explicit(&preempt_type_keys[id],
                                       memory_order_relaxed) == name))
    return id;
  id = preempt_type_id_slow(name);
  atomic_store_explicit(&preempt_type_cache[h], id, memory_order_relaxed);
  return id;
}
const char *preempt_type_name(int id) PREEMPT_HIDDEN;
int preempt_type_count(void) PREEMPT_HIDDEN;

#endif
