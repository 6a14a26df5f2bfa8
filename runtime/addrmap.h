/* A map from addresses to counts or words (addrmap.c), in memory from the
 * OS, never on the collected heap: pinned objects (pin.c) and weak links
 * (weak.c).  The caller locks (both use the heap lock). */
#ifndef PREEMPT_ADDRMAP_H
#define PREEMPT_ADDRMAP_H

#include "common.h"

struct preempt_addrmap_entry {
  uintptr_t key; /* 0: empty */
  uint64_t value;
};

struct preempt_addrmap {
  struct preempt_addrmap_entry *e;
  size_t cap, used; /* cap: 0 or a power of two */
  unsigned shift;   /* 64 - log2(cap) */
  const char *what; /* for the out-of-memory message */
};

/* The entry of key, or NULL. */
struct preempt_addrmap_entry *preempt_addrmap_find(struct preempt_addrmap *m,
                                                   uintptr_t key) PREEMPT_HIDDEN;
/* The entry of key, added with value 0 if new (*added set). */
struct preempt_addrmap_entry *preempt_addrmap_add(struct preempt_addrmap *m,
                                                  uintptr_t key,
                                                  bool *added) PREEMPT_HIDDEN;
/* Removes key's entry (entry pointers taken before are stale). */
bool preempt_addrmap_remove(struct preempt_addrmap *m,
                            uintptr_t key) PREEMPT_HIDDEN;

#endif
