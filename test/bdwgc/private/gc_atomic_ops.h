/* private/gc_atomic_ops.h: test-only stand-in for bdwgc's atomic
 * operations header (which maps to libatomic_ops or compiler builtins),
 * written for test/bdwgc/run.py.  Only the operations bdwgc's tests call,
 * on the compiler's __atomic builtins. */
#ifndef PREEMPT_BDWGC_SHIM_GC_ATOMIC_OPS_H
#define PREEMPT_BDWGC_SHIM_GC_ATOMIC_OPS_H

#include <stddef.h>

typedef size_t AO_t;

#define AO_HAVE_load
#define AO_load(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define AO_HAVE_load_acquire
#define AO_load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define AO_HAVE_store
#define AO_store(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define AO_HAVE_store_release
#define AO_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define AO_HAVE_fetch_and_add
#define AO_fetch_and_add(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#define AO_HAVE_fetch_and_add1
#define AO_fetch_and_add1(p) __atomic_fetch_add((p), 1, __ATOMIC_RELAXED)
#define AO_HAVE_or
#define AO_or(p, v) ((void)__atomic_fetch_or((p), (v), __ATOMIC_RELAXED))
#define AO_HAVE_nop_full
#define AO_nop_full() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define AO_HAVE_compiler_barrier
#define AO_compiler_barrier() __atomic_signal_fence(__ATOMIC_SEQ_CST)

static inline int AO_compare_and_swap(volatile AO_t *p, AO_t old, AO_t new_val)
{
  return __atomic_compare_exchange_n(p, &old, new_val, 0, __ATOMIC_SEQ_CST,
                                     __ATOMIC_SEQ_CST);
}
#define AO_HAVE_compare_and_swap
#define AO_HAVE_compare_and_swap_release
#define AO_compare_and_swap_release AO_compare_and_swap

#endif
