/* The map registry (registry.c): loaded objects, their stack maps and
 * their data segments, and thread-local blocks. */
#ifndef PREEMPT_REGISTRY_H
#define PREEMPT_REGISTRY_H

#include "common.h"
#include "visit.h"

struct preempt_thread;

/* Re-reads the loaded objects if any was loaded or unloaded since. */
void preempt_registry_sync(void) PREEMPT_HIDDEN;
/* O(1) lookup by return address, lock-free.  NULL: no map (code built
 * without the plugin). */
const uint8_t *preempt_registry_lookup(uintptr_t ret, const uint8_t **end)
    PREEMPT_HIDDEN;
/* Whether the instruction at pc must not be where a thread is stopped
 * asynchronously: inside an unsafe range of a loaded object
 * (map_format.h, PREEMPT_NOTE_UNSAFE), or in code the registry does not
 * know (loaded after the last preempt_registry_sync, or not from any
 * object: JIT code, trampolines; true before the first sync too).  Called
 * from the stopping signal handler: lock-free and async-signal-safe, a
 * binary search in a table published atomically by preempt_registry_sync
 * and freed only by preempt_registry_quiesce.  The runtime's own code is
 * not its business. */
bool preempt_registry_unsafe_at(uintptr_t pc) PREEMPT_HIDDEN;
/* Each writable data segment (globals, .bss) of each object, visited
 * under the loader's lock. */
void preempt_registry_visit_globals(struct preempt_visitor *v) PREEMPT_HIDDEN;
size_t preempt_registry_record_count(void) PREEMPT_HIDDEN;
/* Around fork(): no sync half done in the child. */
void preempt_registry_fork_prepare(void) PREEMPT_HIDDEN;
void preempt_registry_fork_done(void) PREEMPT_HIDDEN;
/* Frees tables replaced by syncs; only while the world is stopped. */
void preempt_registry_quiesce(void) PREEMPT_HIDDEN;
/* The calling thread's thread-local blocks (roots like globals), re-read
 * after objects were loaded.  Not signal-safe: it asks the loader. */
void preempt_thread_tls_refresh(struct preempt_thread *t) PREEMPT_HIDDEN;

#endif
