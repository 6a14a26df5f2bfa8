/* private/gc_alloc_ptrs.h: test-only stand-in for bdwgc's header of
 * internal allocator hooks, written for test/bdwgc/run.py.  gctest calls
 * GC_incr_bytes_allocd(0) and GC_incr_bytes_freed(0) only to see that they
 * can be called with the allocation lock held; preempt keeps its own
 * allocation statistics, so adding zero is nothing. */
#ifndef PREEMPT_BDWGC_SHIM_GC_ALLOC_PTRS_H
#define PREEMPT_BDWGC_SHIM_GC_ALLOC_PTRS_H

#include <stddef.h>

static inline void GC_incr_bytes_allocd(size_t bytes) { (void)bytes; }
static inline void GC_incr_bytes_freed(size_t bytes) { (void)bytes; }

#endif
