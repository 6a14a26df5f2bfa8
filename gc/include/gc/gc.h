/* gc.h: Boehm GC 8.2's interface on preempt's collector (libpreempt-gc).
 *
 * A program written for bdwgc builds unchanged with `preempt-cc --gc` (or
 * `pkg-config --cflags --libs preempt-gc`) and runs on preempt's heap:
 * stacks are scanned precisely from the plugin's maps, so a dead pointer
 * left in a stack slot keeps nothing alive.  Every function of bdwgc 8.2's
 * gc.h is here.  Where a concept does not exist in preempt (incremental
 * collection and dirty bits, marker threads, thread redirection, static
 * root exclusion), the function is accepted and does nothing; the README
 * ("Boehm GC programs") says which and why.  Differences that matter:
 *   - finalizers run in the allocating thread, as in bdwgc, unless
 *     GC_set_finalize_on_demand(1);
 *   - stop-the-world uses preempt's signal (SIGURG), not SIGPWR/SIGXCPU;
 *   - every interior pointer is recognised (GC_set_all_interior_pointers
 *     cannot turn that off; displacements need no registering). */
#ifndef GC_H
#define GC_H

#include "gc_version.h"
#include "gc_config_macros.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef void *GC_PTR; /* old name */
typedef unsigned long GC_word;
typedef long GC_signed_word;

GC_API unsigned GC_CALL GC_get_version(void);

/* ---- tunables kept as variables for old programs ----------------------
 * Read when the collector starts (GC_INIT or the first allocation), and
 * GC_dont_gc at every allocation.  Prefer the GC_set_* functions. */
GC_API GC_word GC_gc_no; /* collections so far */
GC_API int GC_parallel;  /* always 0: marking is single-threaded */
typedef void *(GC_CALLBACK *GC_oom_func)(size_t bytes_requested);
GC_API GC_oom_func GC_oom_fn;
typedef void(GC_CALLBACK *GC_on_heap_resize_proc)(GC_word new_size);
GC_API GC_on_heap_resize_proc GC_on_heap_resize;
GC_API int GC_find_leak;
GC_API int GC_all_interior_pointers;
GC_API int GC_finalize_on_demand;
GC_API int GC_java_finalization;
typedef void(GC_CALLBACK *GC_finalizer_notifier_proc)(void);
GC_API GC_finalizer_notifier_proc GC_finalizer_notifier;
GC_API int GC_dont_gc;
GC_API int GC_dont_expand;
GC_API int GC_use_entire_heap;
GC_API int GC_full_freq;
GC_API GC_word GC_non_gc_bytes;
GC_API int GC_no_dls;
GC_API GC_word GC_free_space_divisor;
GC_API GC_word GC_max_retries;
GC_API char *GC_stackbottom;
GC_API int GC_dont_precollect;
GC_API unsigned long GC_time_limit;
#define GC_TIME_UNLIMITED 999999

typedef enum {
  GC_EVENT_START,
  GC_EVENT_MARK_START,
  GC_EVENT_MARK_END,
  GC_EVENT_RECLAIM_START,
  GC_EVENT_RECLAIM_END,
  GC_EVENT_END,
  GC_EVENT_PRE_STOP_WORLD,
  GC_EVENT_POST_STOP_WORLD,
  GC_EVENT_PRE_START_WORLD,
  GC_EVENT_POST_START_WORLD,
  GC_EVENT_THREAD_SUSPENDED,
  GC_EVENT_THREAD_UNSUSPENDED
} GC_EventType;
typedef void(GC_CALLBACK *GC_on_collection_event_proc)(GC_EventType);
typedef void(GC_CALLBACK *GC_on_thread_event_proc)(GC_EventType,
                                                   void *thread_id);

/* Getters and setters; every setter may be called before GC_INIT. */
GC_API void GC_CALL GC_set_oom_fn(GC_oom_func);
GC_API GC_oom_func GC_CALL GC_get_oom_fn(void);
GC_API void GC_CALL GC_set_on_heap_resize(GC_on_heap_resize_proc);
GC_API GC_on_heap_resize_proc GC_CALL GC_get_on_heap_resize(void);
GC_API void GC_CALL GC_set_on_collection_event(GC_on_collection_event_proc);
GC_API GC_on_collection_event_proc GC_CALL GC_get_on_collection_event(void);
GC_API void GC_CALL GC_set_on_thread_event(GC_on_thread_event_proc);
GC_API GC_on_thread_event_proc GC_CALL GC_get_on_thread_event(void);
GC_API void GC_CALL GC_set_find_leak(int);
GC_API int GC_CALL GC_get_find_leak(void);
GC_API void GC_CALL GC_set_all_interior_pointers(int);
GC_API int GC_CALL GC_get_all_interior_pointers(void);
GC_API void GC_CALL GC_set_finalize_on_demand(int);
GC_API int GC_CALL GC_get_finalize_on_demand(void);
GC_API void GC_CALL GC_set_java_finalization(int);
GC_API int GC_CALL GC_get_java_finalization(void);
GC_API void GC_CALL GC_set_finalizer_notifier(GC_finalizer_notifier_proc);
GC_API GC_finalizer_notifier_proc GC_CALL GC_get_finalizer_notifier(void);
GC_API void GC_CALL GC_set_dont_expand(int);
GC_API int GC_CALL GC_get_dont_expand(void);
GC_API void GC_CALL GC_set_full_freq(int);
GC_API int GC_CALL GC_get_full_freq(void);
GC_API void GC_CALL GC_set_non_gc_bytes(GC_word);
GC_API GC_word GC_CALL GC_get_non_gc_bytes(void);
GC_API void GC_CALL GC_set_no_dls(int);
GC_API int GC_CALL GC_get_no_dls(void);
GC_API void GC_CALL GC_set_free_space_divisor(GC_word);
GC_API GC_word GC_CALL GC_get_free_space_divisor(void);
GC_API void GC_CALL GC_set_max_retries(GC_word);
GC_API GC_word GC_CALL GC_get_max_retries(void);
GC_API void GC_CALL GC_set_dont_precollect(int);
GC_API int GC_CALL GC_get_dont_precollect(void);
GC_API void GC_CALL GC_set_time_limit(unsigned long);
GC_API unsigned long GC_CALL GC_get_time_limit(void);
struct GC_timeval_s {
  unsigned long tv_ms;
  unsigned long tv_nsec;
};
GC_API void GC_CALL GC_set_time_limit_tv(struct GC_timeval_s);
GC_API struct GC_timeval_s GC_CALL GC_get_time_limit_tv(void);
GC_API void GC_CALL GC_set_allocd_bytes_per_finalizer(GC_word);
GC_API GC_word GC_CALL GC_get_allocd_bytes_per_finalizer(void);
GC_API void GC_CALL GC_start_performance_measurement(void);
GC_API unsigned long GC_CALL GC_get_full_gc_total_time(void);
GC_API void GC_CALL GC_set_pages_executable(int);
GC_API int GC_CALL GC_get_pages_executable(void);
GC_API void GC_CALL GC_set_min_bytes_allocd(size_t);
GC_API size_t GC_CALL GC_get_min_bytes_allocd(void);
GC_API void GC_CALL GC_set_rate(int);
GC_API int GC_CALL GC_get_rate(void);
GC_API void GC_CALL GC_set_max_prior_attempts(int);
GC_API int GC_CALL GC_get_max_prior_attempts(void);
GC_API void GC_CALL GC_set_disable_automatic_collection(int);
GC_API int GC_CALL GC_get_disable_automatic_collection(void);
GC_API void GC_CALL GC_set_handle_fork(int);
GC_API void GC_CALL GC_atfork_prepare(void);
GC_API void GC_CALL GC_atfork_parent(void);
GC_API void GC_CALL GC_atfork_child(void);

/* ---- starting and stopping ---------------------------------------------- */
GC_API void GC_CALL GC_init(void);
GC_API int GC_CALL GC_is_init_called(void);
GC_API void GC_CALL GC_deinit(void);

/* ---- allocation --------------------------------------------------------
 * Zeroed (except atomic), never NULL unless the out-of-memory function
 * says so.  A pointer one past the end keeps the object alive. */
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL GC_malloc(size_t);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL
GC_malloc_atomic(size_t);
GC_API GC_ATTR_MALLOC char *GC_CALL GC_strdup(const char *);
GC_API GC_ATTR_MALLOC char *GC_CALL GC_strndup(const char *, size_t);
GC_API GC_ATTR_MALLOC wchar_t *GC_CALL GC_wcsdup(const wchar_t *);
#define GC_WCSDUP(s) GC_wcsdup(s)
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL
GC_malloc_uncollectable(size_t);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL
GC_malloc_atomic_uncollectable(size_t);
GC_API GC_ATTR_DEPRECATED void *GC_CALL GC_malloc_stubborn(size_t);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(2) void *GC_CALL
GC_memalign(size_t align, size_t lb);
GC_API int GC_CALL GC_posix_memalign(void **, size_t align, size_t lb);
GC_API void GC_CALL GC_free(void *);
GC_API GC_ATTR_DEPRECATED void GC_CALL GC_change_stubborn(const void *);
GC_API void GC_CALL GC_end_stubborn_change(const void *);
GC_API void *GC_CALL GC_base(void *);
GC_API int GC_CALL GC_is_heap_ptr(const void *);
GC_API size_t GC_CALL GC_size(const void *);
GC_API void *GC_CALL GC_realloc(void *old, size_t new_size)
    GC_ATTR_ALLOC_SIZE(2);
GC_API int GC_CALL GC_expand_hp(size_t);
GC_API void GC_CALL GC_set_max_heap_size(GC_word);
GC_API void GC_CALL GC_exclude_static_roots(void *low, void *high_plus_1);
GC_API void GC_CALL GC_clear_exclusion_table(void);
GC_API void GC_CALL GC_clear_roots(void);
GC_API void GC_CALL GC_add_roots(void *low, void *high_plus_1);
GC_API void GC_CALL GC_remove_roots(void *low, void *high_plus_1);
GC_API void GC_CALL GC_register_displacement(size_t);
GC_API void GC_CALL GC_debug_register_displacement(size_t);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL
GC_malloc_ignore_off_page(size_t);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL
GC_malloc_atomic_ignore_off_page(size_t);
/* A list of objects of lb bytes linked through their first word. */
GC_API void *GC_CALL GC_malloc_many(size_t lb);
#define GC_NEXT(p) (*(void **)(p))

/* ---- collection ----------------------------------------------------------- */
GC_API void GC_CALL GC_gcollect(void);
GC_API void GC_CALL GC_gcollect_and_unmap(void);
typedef int(GC_CALLBACK *GC_stop_func)(void);
GC_API int GC_CALL GC_try_to_collect(GC_stop_func);
GC_API void GC_CALL GC_set_stop_func(GC_stop_func);
GC_API GC_stop_func GC_CALL GC_get_stop_func(void);
GC_API size_t GC_CALL GC_get_heap_size(void);
GC_API size_t GC_CALL GC_get_free_bytes(void);
GC_API size_t GC_CALL GC_get_unmapped_bytes(void);
GC_API size_t GC_CALL GC_get_bytes_since_gc(void);
GC_API size_t GC_CALL GC_get_expl_freed_bytes_since_gc(void);
GC_API size_t GC_CALL GC_get_total_bytes(void);
GC_API size_t GC_CALL GC_get_obtained_from_os_bytes(void);
GC_API void GC_CALL GC_get_heap_usage_safe(GC_word *heap_size,
                                           GC_word *free_bytes,
                                           GC_word *unmapped_bytes,
                                           GC_word *bytes_since_gc,
                                           GC_word *total_bytes);
struct GC_prof_stats_s {
  GC_word heapsize_full;
  GC_word free_bytes_full;
  GC_word unmapped_bytes;
  GC_word bytes_allocd_since_gc;
  GC_word allocd_bytes_before_gc;
  GC_word non_gc_bytes;
  GC_word gc_no;
  GC_word markers_m1;
  GC_word bytes_reclaimed_since_gc;
  GC_word reclaimed_bytes_before_gc;
  GC_word expl_freed_bytes_since_gc;
  GC_word obtained_from_os_bytes;
};
GC_API size_t GC_CALL GC_get_prof_stats(struct GC_prof_stats_s *, size_t);
GC_API size_t GC_CALL GC_get_prof_stats_unsafe(struct GC_prof_stats_s *,
                                               size_t);
GC_API size_t GC_CALL GC_get_size_map_at(int i);
GC_API size_t GC_CALL GC_get_memory_use(void);
GC_API void GC_CALL GC_disable(void);
GC_API int GC_CALL GC_is_disabled(void);
GC_API void GC_CALL GC_enable(void);
GC_API GC_word GC_CALL GC_get_gc_no(void);
GC_API int GC_CALL GC_get_parallel(void);
GC_API void GC_CALL GC_set_markers_count(unsigned);
/* Incremental collection does not exist here: these do nothing. */
GC_API void GC_CALL GC_enable_incremental(void);
GC_API int GC_CALL GC_is_incremental_mode(void);
#define GC_PROTECTS_POINTER_HEAP 1
#define GC_PROTECTS_PTRFREE_HEAP 2
#define GC_PROTECTS_STATIC_DATA 4
#define GC_PROTECTS_STACK 8
#define GC_PROTECTS_NONE 0
GC_API int GC_CALL GC_incremental_protection_needs(void);
GC_API void GC_CALL GC_start_incremental_collection(void);
GC_API int GC_CALL GC_collect_a_little(void);
GC_API void GC_CALL GC_set_force_unmap_on_gcollect(int);
GC_API int GC_CALL GC_get_force_unmap_on_gcollect(void);
GC_API void GC_CALL GC_set_manual_vdb_allowed(int);
GC_API int GC_CALL GC_get_manual_vdb_allowed(void);

/* ---- debugging allocation (GC_DEBUG) ---------------------------------------
 * Each object carries its file and line and guard words before and after;
 * GC_debug_free and every collection check the guards and report a smashed
 * object with where it was allocated. */
#define GC_EXTRAS __FILE__, __LINE__
#define GC_EXTRA_PARAMS const char *s, int i
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL
GC_debug_malloc(size_t, GC_EXTRA_PARAMS);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL
GC_debug_malloc_atomic(size_t, GC_EXTRA_PARAMS);
GC_API GC_ATTR_MALLOC char *GC_CALL GC_debug_strdup(const char *,
                                                   GC_EXTRA_PARAMS);
GC_API GC_ATTR_MALLOC char *GC_CALL GC_debug_strndup(const char *, size_t,
                                                    GC_EXTRA_PARAMS);
GC_API GC_ATTR_MALLOC wchar_t *GC_CALL GC_debug_wcsdup(const wchar_t *,
                                                      GC_EXTRA_PARAMS);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL
GC_debug_malloc_uncollectable(size_t, GC_EXTRA_PARAMS);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL
GC_debug_malloc_atomic_uncollectable(size_t, GC_EXTRA_PARAMS);
GC_API GC_ATTR_DEPRECATED void *GC_CALL GC_debug_malloc_stubborn(size_t,
                                                                GC_EXTRA_PARAMS);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL
GC_debug_malloc_ignore_off_page(size_t, GC_EXTRA_PARAMS);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL
GC_debug_malloc_atomic_ignore_off_page(size_t, GC_EXTRA_PARAMS);
GC_API void GC_CALL GC_debug_free(void *);
GC_API void *GC_CALL GC_debug_realloc(void *, size_t, GC_EXTRA_PARAMS)
    GC_ATTR_ALLOC_SIZE(2);
GC_API GC_ATTR_DEPRECATED void GC_CALL GC_debug_change_stubborn(const void *);
GC_API void GC_CALL GC_debug_end_stubborn_change(const void *);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL
GC_debug_malloc_replacement(size_t);
GC_API GC_ATTR_ALLOC_SIZE(2) void *GC_CALL GC_debug_realloc_replacement(void *,
                                                                      size_t);

#ifdef GC_DEBUG_REPLACEMENT
#define GC_MALLOC(sz) GC_debug_malloc_replacement(sz)
#define GC_REALLOC(old, sz) GC_debug_realloc_replacement(old, sz)
#elif defined(GC_DEBUG)
#define GC_MALLOC(sz) GC_debug_malloc(sz, GC_EXTRAS)
#define GC_REALLOC(old, sz) GC_debug_realloc(old, sz, GC_EXTRAS)
#else
#define GC_MALLOC(sz) GC_malloc(sz)
#define GC_REALLOC(old, sz) GC_realloc(old, sz)
#endif
#ifdef GC_DEBUG
#define GC_MALLOC_ATOMIC(sz) GC_debug_malloc_atomic(sz, GC_EXTRAS)
#define GC_STRDUP(s) GC_debug_strdup(s, GC_EXTRAS)
#define GC_STRNDUP(s, sz) GC_debug_strndup(s, sz, GC_EXTRAS)
#define GC_MALLOC_ATOMIC_UNCOLLECTABLE(sz)                                    \
  GC_debug_malloc_atomic_uncollectable(sz, GC_EXTRAS)
#define GC_MALLOC_UNCOLLECTABLE(sz) GC_debug_malloc_uncollectable(sz, GC_EXTRAS)
#define GC_MALLOC_IGNORE_OFF_PAGE(sz)                                         \
  GC_debug_malloc_ignore_off_page(sz, GC_EXTRAS)
#define GC_MALLOC_ATOMIC_IGNORE_OFF_PAGE(sz)                                  \
  GC_debug_malloc_atomic_ignore_off_page(sz, GC_EXTRAS)
#define GC_FREE(p) GC_debug_free(p)
#define GC_REGISTER_FINALIZER(p, f, d, of, od)                                \
  GC_debug_register_finalizer(p, f, d, of, od)
#define GC_REGISTER_FINALIZER_IGNORE_SELF(p, f, d, of, od)                    \
  GC_debug_register_finalizer_ignore_self(p, f, d, of, od)
#define GC_REGISTER_FINALIZER_NO_ORDER(p, f, d, of, od)                       \
  GC_debug_register_finalizer_no_order(p, f, d, of, od)
#define GC_REGISTER_FINALIZER_UNREACHABLE(p, f, d, of, od)                    \
  GC_debug_register_finalizer_unreachable(p, f, d, of, od)
#define GC_MALLOC_STUBBORN(sz) GC_debug_malloc_stubborn(sz, GC_EXTRAS)
#define GC_CHANGE_STUBBORN(p) GC_debug_change_stubborn(p)
#define GC_END_STUBBORN_CHANGE(p) GC_debug_end_stubborn_change(p)
#define GC_GENERAL_REGISTER_DISAPPEARING_LINK(link, obj)                      \
  GC_general_register_disappearing_link(link, GC_base((void *)(obj)))
#define GC_REGISTER_LONG_LINK(link, obj)                                      \
  GC_register_long_link(link, GC_base((void *)(obj)))
#define GC_REGISTER_DISPLACEMENT(n) GC_debug_register_displacement(n)
#else
#define GC_MALLOC_ATOMIC(sz) GC_malloc_atomic(sz)
#define GC_STRDUP(s) GC_strdup(s)
#define GC_STRNDUP(s, sz) GC_strndup(s, sz)
#define GC_MALLOC_ATOMIC_UNCOLLECTABLE(sz) GC_malloc_atomic_uncollectable(sz)
#define GC_MALLOC_UNCOLLECTABLE(sz) GC_malloc_uncollectable(sz)
#define GC_MALLOC_IGNORE_OFF_PAGE(sz) GC_malloc_ignore_off_page(sz)
#define GC_MALLOC_ATOMIC_IGNORE_OFF_PAGE(sz)                                  \
  GC_malloc_atomic_ignore_off_page(sz)
#define GC_FREE(p) GC_free(p)
#define GC_REGISTER_FINALIZER(p, f, d, of, od)                                \
  GC_register_finalizer(p, f, d, of, od)
#define GC_REGISTER_FINALIZER_IGNORE_SELF(p, f, d, of, od)                    \
  GC_register_finalizer_ignore_self(p, f, d, of, od)
#define GC_REGISTER_FINALIZER_NO_ORDER(p, f, d, of, od)                       \
  GC_register_finalizer_no_order(p, f, d, of, od)
#define GC_REGISTER_FINALIZER_UNREACHABLE(p, f, d, of, od)                    \
  GC_register_finalizer_unreachable(p, f, d, of, od)
#define GC_MALLOC_STUBBORN(sz) GC_malloc_stubborn(sz)
#define GC_CHANGE_STUBBORN(p) GC_change_stubborn(p)
#define GC_END_STUBBORN_CHANGE(p) GC_end_stubborn_change(p)
#define GC_GENERAL_REGISTER_DISAPPEARING_LINK(link, obj)                      \
  GC_general_register_disappearing_link(link, obj)
#define GC_REGISTER_LONG_LINK(link, obj) GC_register_long_link(link, obj)
#define GC_REGISTER_DISPLACEMENT(n) GC_register_displacement(n)
#endif
#define GC_NEW(t) ((t *)GC_MALLOC(sizeof(t)))
#define GC_NEW_ATOMIC(t) ((t *)GC_MALLOC_ATOMIC(sizeof(t)))
#define GC_NEW_STUBBORN(t) ((t *)GC_MALLOC_STUBBORN(sizeof(t)))
#define GC_NEW_UNCOLLECTABLE(t) ((t *)GC_MALLOC_UNCOLLECTABLE(sizeof(t)))

/* ---- finalization --------------------------------------------------------
 * fn(obj, cd) runs once obj is unreachable.  obj must be an object's start
 * (a pointer elsewhere is ignored); fn == 0 removes; the old pair comes
 * back through ofn/ocd (either may be NULL).  Orders: the default keeps an
 * object finalizable by others, or pointing to itself, from being
 * finalized; _ignore_self ignores pointers into itself; _no_order
 * ignores order; _unreachable also waits for _no_order ones that reach
 * it. */
typedef void(GC_CALLBACK *GC_finalization_proc)(void *obj, void *client_data);
GC_API void GC_CALL GC_register_finalizer(void *obj, GC_finalization_proc fn,
                                          void *cd, GC_finalization_proc *ofn,
                                          void **ocd);
GC_API void GC_CALL GC_debug_register_finalizer(void *, GC_finalization_proc,
                                                void *, GC_finalization_proc *,
                                                void **);
GC_API void GC_CALL GC_register_finalizer_ignore_self(void *,
                                                      GC_finalization_proc,
                                                      void *,
                                                      GC_finalization_proc *,
                                                      void **);
GC_API void GC_CALL GC_debug_register_finalizer_ignore_self(
    void *, GC_finalization_proc, void *, GC_finalization_proc *, void **);
GC_API void GC_CALL GC_register_finalizer_no_order(void *,
                                                   GC_finalization_proc,
                                                   void *,
                                                   GC_finalization_proc *,
                                                   void **);
GC_API void GC_CALL GC_debug_register_finalizer_no_order(
    void *, GC_finalization_proc, void *, GC_finalization_proc *, void **);
GC_API void GC_CALL GC_register_finalizer_unreachable(void *,
                                                      GC_finalization_proc,
                                                      void *,
                                                      GC_finalization_proc *,
                                                      void **);
GC_API void GC_CALL GC_debug_register_finalizer_unreachable(
    void *, GC_finalization_proc, void *, GC_finalization_proc *, void **);

#define GC_NO_MEMORY 2
/* Disappearing links: *link is set to 0 when obj is found unreachable
 * (long links: when it is reclaimed, after its finalizer).  Keep the
 * pointer in *link hidden (GC_HIDE_POINTER) or in pointer-free memory. */
GC_API int GC_CALL GC_register_disappearing_link(void **link);
GC_API int GC_CALL GC_general_register_disappearing_link(void **link,
                                                         const void *obj);
GC_API int GC_CALL GC_move_disappearing_link(void **link, void **new_link);
GC_API int GC_CALL GC_unregister_disappearing_link(void **link);
GC_API int GC_CALL GC_register_long_link(void **link, const void *obj);
GC_API int GC_CALL GC_move_long_link(void **, void **);
GC_API int GC_CALL GC_unregister_long_link(void **);

typedef enum {
  GC_TOGGLE_REF_DROP,
  GC_TOGGLE_REF_STRONG,
  GC_TOGGLE_REF_WEAK
} GC_ToggleRefStatus;
typedef GC_ToggleRefStatus(GC_CALLBACK *GC_toggleref_func)(void *obj);
GC_API void GC_CALL GC_set_toggleref_func(GC_toggleref_func);
GC_API GC_toggleref_func GC_CALL GC_get_toggleref_func(void);
GC_API int GC_CALL GC_toggleref_add(void *obj, int is_strong_ref);
typedef void(GC_CALLBACK *GC_await_finalize_proc)(void *obj);
GC_API void GC_CALL GC_set_await_finalize_proc(GC_await_finalize_proc);
GC_API GC_await_finalize_proc GC_CALL GC_get_await_finalize_proc(void);

GC_API int GC_CALL GC_should_invoke_finalizers(void);
GC_API int GC_CALL GC_invoke_finalizers(void);

#if defined(__GNUC__) || defined(__clang__)
#define GC_reachable_here(ptr) __asm__ __volatile__(" " : : "X"(ptr) : "memory")
#else
GC_API void GC_CALL GC_noop1(GC_word);
#define GC_reachable_here(ptr) GC_noop1((GC_word)(ptr))
#endif
GC_API void GC_CALL GC_noop1(GC_word);

/* ---- warnings and aborts ------------------------------------------------ */
typedef void(GC_CALLBACK *GC_warn_proc)(char *msg, GC_word arg);
GC_API void GC_CALL GC_set_warn_proc(GC_warn_proc);
GC_API GC_warn_proc GC_CALL GC_get_warn_proc(void);
GC_API void GC_CALLBACK GC_ignore_warn_proc(char *, GC_word);
GC_API void GC_CALL GC_set_log_fd(int);
typedef void(GC_CALLBACK *GC_abort_func)(const char *msg);
GC_API void GC_CALL GC_set_abort_func(GC_abort_func);
GC_API GC_abort_func GC_CALL GC_get_abort_func(void);
GC_API void GC_CALL GC_abort_on_oom(void);

/* ---- hidden pointers and the allocation lock -------------------------- */
typedef GC_word GC_hidden_pointer;
#define GC_HIDE_POINTER(p) (~(GC_hidden_pointer)(p))
#define GC_REVEAL_POINTER(p) ((void *)GC_HIDE_POINTER(p))
#if defined(I_HIDE_POINTERS) || defined(GC_I_HIDE_POINTERS)
#define HIDE_POINTER(p) GC_HIDE_POINTER(p)
#define REVEAL_POINTER(p) GC_REVEAL_POINTER(p)
#endif
/* No collection runs while it is held; fn must not allocate. */
GC_API void GC_CALL GC_alloc_lock(void);
GC_API void GC_CALL GC_alloc_unlock(void);
typedef void *(GC_CALLBACK *GC_fn_type)(void *client_data);
GC_API void *GC_CALL GC_call_with_alloc_lock(GC_fn_type, void *);

/* ---- threads and stacks -------------------------------------------------
 * preempt attaches threads itself (at pthread_create, or at their first
 * allocation); registering is accepted and attaches at once. */
struct GC_stack_base {
  void *mem_base; /* the hot end's opposite: the highest address */
};
typedef void *(GC_CALLBACK *GC_stack_base_func)(struct GC_stack_base *sb,
                                               void *arg);
GC_API void *GC_CALL GC_call_with_stack_base(GC_stack_base_func, void *);
#define GC_SUCCESS 0
#define GC_DUPLICATE 1
#define GC_NO_THREADS 2
#define GC_UNIMPLEMENTED 3
#define GC_NOT_FOUND 4
GC_API void GC_CALL GC_use_threads_discovery(void);
GC_API void GC_CALL GC_set_suspend_signal(int);
GC_API void GC_CALL GC_set_thr_restart_signal(int);
GC_API int GC_CALL GC_get_suspend_signal(void);
GC_API int GC_CALL GC_get_thr_restart_signal(void);
GC_API void GC_CALL GC_start_mark_threads(void);
GC_API void GC_CALL GC_allow_register_threads(void);
GC_API int GC_CALL GC_register_my_thread(const struct GC_stack_base *);
GC_API int GC_CALL GC_thread_is_registered(void);
GC_API void GC_CALL GC_register_altstack(void *stack, GC_word stack_size,
                                         void *altstack,
                                         GC_word altstack_size);
GC_API int GC_CALL GC_unregister_my_thread(void);
GC_API void GC_CALL GC_stop_world_external(void);
GC_API void GC_CALL GC_start_world_external(void);
/* fn runs in preempt's blocking state: it must not touch the heap. */
GC_API void *GC_CALL GC_do_blocking(GC_fn_type fn, void *client_data);
GC_API void *GC_CALL GC_call_with_gc_active(GC_fn_type fn, void *client_data);
GC_API int GC_CALL GC_get_stack_base(struct GC_stack_base *);
GC_API void *GC_CALL GC_get_my_stackbottom(struct GC_stack_base *);
GC_API void GC_CALL GC_set_stackbottom(void *, const struct GC_stack_base *);

/* ---- pointer checks (GC_DEBUG) ------------------------------------------ */
GC_API void *GC_CALL GC_same_obj(void *p, void *q);
GC_API void *GC_CALL GC_pre_incr(void **p, ptrdiff_t how_much);
GC_API void *GC_CALL GC_post_incr(void **p, ptrdiff_t how_much);
GC_API void *GC_CALL GC_is_visible(void *p);
GC_API void *GC_CALL GC_is_valid_displacement(void *p);
GC_API void GC_CALL GC_dump(void);
GC_API void GC_CALL GC_dump_named(const char *name);
GC_API void GC_CALL GC_dump_regions(void);
GC_API void GC_CALL GC_dump_finalization(void);
#ifdef GC_DEBUG
#define GC_PTR_ADD3(x, n, type_of_result)                                     \
  ((type_of_result)GC_same_obj((x) + (n), (x)))
#define GC_PRE_INCR3(x, n, type_of_result)                                    \
  ((type_of_result)GC_pre_incr((void **)(&(x)), (n) * sizeof(*x)))
#define GC_POST_INCR3(x, n, type_of_result)                                   \
  ((type_of_result)GC_post_incr((void **)(&(x)), (n) * sizeof(*x)))
#define GC_PTR_ADD(x, n) GC_PTR_ADD3(x, n, __typeof__(x))
#define GC_PRE_INCR(x, n) GC_PRE_INCR3(x, n, __typeof__(x))
#define GC_POST_INCR(x) GC_POST_INCR3(x, 1, __typeof__(x))
#define GC_POST_DECR(x) GC_POST_INCR3(x, -1, __typeof__(x))
#else
#define GC_PTR_ADD(x, n) ((x) + (n))
#define GC_PTR_ADD3(x, n, type_of_result) ((x) + (n))
#define GC_PRE_INCR3(x, n, type_of_result) ((x) += (n))
#define GC_POST_INCR3(x, n, type_of_result) ((x)++)
#define GC_PRE_INCR(x, n) ((x) += (n))
#define GC_POST_INCR(x) ((x)++)
#define GC_POST_DECR(x) ((x)--)
#endif
#ifdef GC_DEBUG
#define GC_PTR_STORE(p, q) (*(void **)GC_is_visible((void *)(p)) = GC_is_valid_displacement((void *)(q)))
#else
#define GC_PTR_STORE(p, q) (*(void **)(p) = (void *)(q))
#endif
GC_API void GC_CALL GC_ptr_store_and_dirty(void *p, const void *q);
GC_API void GC_CALL GC_debug_ptr_store_and_dirty(void *p, const void *q);
#ifdef GC_DEBUG
#define GC_PTR_STORE_AND_DIRTY(p, q) GC_debug_ptr_store_and_dirty(p, q)
#else
#define GC_PTR_STORE_AND_DIRTY(p, q) GC_ptr_store_and_dirty(p, q)
#endif
typedef void(GC_CALLBACK *GC_same_obj_print_proc_t)(void *, void *);
typedef void(GC_CALLBACK *GC_valid_ptr_print_proc_t)(void *);
GC_API GC_same_obj_print_proc_t GC_same_obj_print_proc;
GC_API GC_valid_ptr_print_proc_t GC_is_valid_displacement_print_proc;
GC_API GC_valid_ptr_print_proc_t GC_is_visible_print_proc;

/* ---- dynamic libraries and static roots ---------------------------------
 * Every loaded object's data is scanned; the callback is accepted and not
 * called. */
typedef int(GC_CALLBACK *GC_has_static_roots_func)(const char *dlpi_name,
                                                   void *section_start,
                                                   size_t section_size);
GC_API void GC_CALL GC_register_has_static_roots_callback(
    GC_has_static_roots_func);
GC_API void GC_CALL GC_init_global_static_roots(void);

#ifdef GC_THREADS
#include "gc_pthread_redirects.h"
#endif

/* GC_INIT: optional here (the collector starts on first use), kept for
 * the programs that call it. */
#define GC_INIT() GC_init()
#define GC_INIT_CONF_ROOTS

#ifdef __cplusplus
}
#endif

#endif
