/* bdwgc's lower-level interface, where it has a meaning on preempt's heap.
 * Mark procedures and custom free lists do not exist here: GC_new_kind
 * makes a kind from a descriptor (pointer-free, conservative, or a
 * bitmap), and objects of a kind with a mark procedure are scanned
 * conservatively. */
#ifndef GC_MARK_H
#define GC_MARK_H
#include "gc.h"
#ifdef __cplusplus
extern "C" {
#endif
#define GC_DS_TAG_BITS 2
#define GC_DS_TAGS ((1 << GC_DS_TAG_BITS) - 1)
#define GC_DS_LENGTH 0    /* the rest: bytes to scan conservatively */
#define GC_DS_BITMAP 1    /* high bits: word 0 is the top bit */
#define GC_DS_PROC 2      /* a mark procedure: scanned conservatively */
#define GC_DS_PER_OBJECT 3
#define GC_LOG_MAX_MARK_PROCS 6
#define GC_MAX_MARK_PROCS (1 << GC_LOG_MAX_MARK_PROCS)
#define GC_MAKE_PROC(proc_index, env)                                         \
  ((((((GC_word)(env)) << GC_LOG_MAX_MARK_PROCS) | (proc_index))              \
    << GC_DS_TAG_BITS) |                                                      \
   GC_DS_PROC)
struct GC_ms_entry {
  void *mse_start;
  GC_word mse_descr;
};
typedef struct GC_ms_entry *(GC_CALLBACK *GC_mark_proc)(
    GC_word *addr, struct GC_ms_entry *mark_stack_ptr,
    struct GC_ms_entry *mark_stack_limit, GC_word env);
/* Object kinds: 0 pointer-free, 1 normal, 2 uncollectable, 3 pointer-free
 * uncollectable; GC_new_kind adds more. */
#define GC_I_PTRFREE 0
#define GC_I_NORMAL 1
GC_API void **GC_CALL GC_new_free_list(void);
GC_API void **GC_CALL GC_new_free_list_inner(void);
GC_API unsigned GC_CALL GC_new_kind(void **free_list, GC_word mark_descriptor,
                                    int add_size_to_descriptor,
                                    int clear_new_objects);
GC_API unsigned GC_CALL GC_new_kind_inner(void **free_list,
                                          GC_word mark_descriptor,
                                          int add_size_to_descriptor,
                                          int clear_new_objects);
GC_API unsigned GC_CALL GC_new_proc(GC_mark_proc);
GC_API unsigned GC_CALL GC_new_proc_inner(GC_mark_proc);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL
GC_generic_malloc(size_t lb, int k);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL
GC_generic_malloc_ignore_off_page(size_t lb, int k);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL
GC_generic_malloc_uncollectable(size_t lb, int k);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL
GC_generic_or_special_malloc(size_t lb, int k);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL
GC_debug_generic_or_special_malloc(size_t lb, int k, GC_EXTRA_PARAMS);
#ifdef GC_DEBUG
#define GC_GENERIC_OR_SPECIAL_MALLOC(sz, knd)                                 \
  GC_debug_generic_or_special_malloc(sz, knd, GC_EXTRAS)
#else
#define GC_GENERIC_OR_SPECIAL_MALLOC(sz, knd) GC_generic_or_special_malloc(sz, knd)
#endif
/* The kind of the object at p (its start) and its size. */
GC_API int GC_CALL GC_get_kind_and_size(const void *p, size_t *psize);
/* Between a GC_EVENT_MARK_END and GC_EVENT_RECLAIM_END callback: whether
 * the collection reached p's object (p: its start). */
GC_API int GC_CALL GC_is_marked(const void *p);
GC_API void GC_CALL GC_clear_mark_bit(const void *);
GC_API void GC_CALL GC_set_mark_bit(const void *);
/* With the world stopped (GC_call_with_alloc_lock): proc(obj, size, cd)
 * for every object the last collection found reachable and still there. */
typedef void(GC_CALLBACK *GC_reachable_object_proc)(void *obj, size_t bytes,
                                                    void *client_data);
GC_API void GC_CALL GC_enumerate_reachable_objects_inner(
    GC_reachable_object_proc, void *client_data);
/* The debugging header before a GC_debug_malloc object's user part. */
GC_API size_t GC_CALL GC_get_debug_header_size(void);
#define GC_USR_PTR_FROM_BASE(p) ((void *)((char *)(p) + GC_get_debug_header_size()))
GC_API int GC_CALL GC_is_tmp_root(void *);
typedef void(GC_CALLBACK *GC_start_callback_proc)(void);
GC_API void GC_CALL GC_set_start_callback(GC_start_callback_proc);
GC_API GC_start_callback_proc GC_CALL GC_get_start_callback(void);
typedef void(GC_CALLBACK *GC_push_other_roots_proc)(void);
GC_API void GC_CALL GC_set_push_other_roots(GC_push_other_roots_proc);
GC_API GC_push_other_roots_proc GC_CALL GC_get_push_other_roots(void);
typedef void(GC_CALLBACK *GC_describe_type_fn)(void *p, char *out_buf);
#define GC_TYPE_DESCR_LEN 40
GC_API void GC_CALL GC_register_describe_type_fn(int kind, GC_describe_type_fn);
GC_API void GC_CALL GC_print_trace(GC_word gc_no);
GC_API void GC_CALL GC_print_trace_inner(GC_word gc_no);
GC_API void GC_CALL GC_print_free_list(int kind, size_t sz_in_granules);
/* For mark procedures, which are never called here: they do nothing. */
GC_API struct GC_ms_entry *GC_CALL GC_mark_and_push(void *obj,
                                                    struct GC_ms_entry *msp,
                                                    struct GC_ms_entry *lim,
                                                    void **src);
#define GC_MARK_AND_PUSH(obj, msp, lim, src)                                  \
  GC_mark_and_push((void *)(obj), msp, lim, (void **)(src))
GC_API void GC_CALL GC_push_all(void *bottom, void *top);
GC_API void GC_CALL GC_push_all_eager(void *bottom, void *top);
GC_API void GC_CALL GC_push_conditional(void *bottom, void *top, int all);
GC_API void GC_CALL GC_push_finalizer_structures(void);
GC_API void *GC_CALL GC_clear_stack(void *);
GC_API void *GC_least_plausible_heap_addr;
GC_API void *GC_greatest_plausible_heap_addr;
#ifdef __cplusplus
}
#endif
#endif
