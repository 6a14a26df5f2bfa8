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
 * (map_format.h, PREEMPT_NOTE_UNSAFE).  known_code: whether pc is in the
 * code of an object the last preempt_registry_sync saw (the stopper asks
 * again after its sync about code it did not: JIT code, trampolines, or
 * an object loaded just now).  Called from the stopping signal handler:
 * lock-free and async-signal-safe, binary searches in a table published
 * atomically by preempt_registry_sync and freed only by
 * preempt_registry_quiesce.  The runtime's own code is not their
 * business. */
bool preempt_registry_unsafe_at(uintptr_t pc) PREEMPT_HIDDEN;
bool preempt_registry_known_code(uintptr_t pc) PREEMPT_HIDDEN;
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
