/* What the parts of libpreempt-gc share: start-up, the program's settings,
 * and the pieces of debugging allocation the other parts consult. */
#ifndef PREEMPT_GC_COMPAT_H
#define PREEMPT_GC_COMPAT_H

#define GC_NO_THREAD_REDIRECTS
#include "gc/gc.h"
#include "gc/gc_mark.h"
#include "gc/gc_typed.h"

#include <preempt.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define GC_HIDDEN __attribute__((visibility("hidden")))
#define unlikely(x) __builtin_expect(!!(x), 0)

/* init.c */
extern _Atomic bool gc_initialised GC_HIDDEN;
void gc_init_slow(void) GC_HIDDEN;
static inline void gc_ensure_init(void) {
  if (unlikely(!atomic_load_explicit(&gc_initialised, memory_order_acquire)))
    gc_init_slow();
}
/* GC_dont_gc, GC_disable and GC_enable agree with the runtime. */
void gc_sync_dont_gc(void) GC_HIDDEN;
extern int gc_seen_dont_gc GC_HIDDEN;
/* A warning through the program's warn procedure (printf-formatted). */
void gc_warn(const char *fmt, ...) GC_HIDDEN
    __attribute__((format(printf, 1, 2)));
/* A fatal error through the abort function, then abort(). */
__attribute__((noreturn)) void gc_abort(const char *fmt, ...) GC_HIDDEN
    __attribute__((format(printf, 1, 2)));
/* The out-of-memory function's answer for a failed request of n bytes. */
void *gc_out_of_memory(size_t n) GC_HIDDEN;

/* finalize.c: what a collection leaves for the allocating thread to do
 * (finalizers, unless on demand; toggle-refs; debugging reports): work the
 * collector cannot do itself, since it holds the heap lock. */
extern _Atomic int gc_pending GC_HIDDEN;
void gc_finalize_init(void) GC_HIDDEN;
void gc_pending_work(void) GC_HIDDEN;
static inline void gc_maybe_finalize(void) {
  if (unlikely(atomic_load_explicit(&gc_pending, memory_order_relaxed)))
    gc_pending_work();
}
void gc_toggle_refs_update(void) GC_HIDDEN;
/* The collection has something for gc_pending_work. */
void gc_set_pending(void) GC_HIDDEN;

/* alloc.c */
void *gc_alloc_kind(size_t lb, int kind) GC_HIDDEN;
/* The same, not tracked for find-leak mode (debug.c tracks its objects
 * once their header is written). */
void *gc_alloc_kind_as(size_t lb, int kind, bool track) GC_HIDDEN;
void gc_kind_disclaim(void *obj, int kind) GC_HIDDEN;
enum { GC_KIND_PTRFREE, GC_KIND_NORMAL, GC_KIND_UNCOLLECTABLE,
       GC_KIND_AUNCOLLECTABLE, GC_KIND_FIRST_CUSTOM };
bool gc_is_uncollectable(const void *base) GC_HIDDEN;

/* debug.c: objects from GC_debug_malloc carry a header. */
#define GC_DEBUG_HEADER_BYTES 48
bool gc_debug_object(const void *base) GC_HIDDEN;
void gc_debug_check_all(void) GC_HIDDEN; /* world stopped */
void gc_debug_report(void) GC_HIDDEN;    /* world running */
/* Find-leak mode: obj is tracked and reported if it dies unfreed. */
void gc_leak_track(void *base) GC_HIDDEN;
void gc_debug_forget(void *base) GC_HIDDEN;

#endif
