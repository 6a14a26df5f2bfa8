/* Why is this object alive?  Answered from a heap snapshot. */
#ifndef GC_BACKPTR_H
#define GC_BACKPTR_H
#include "gc.h"
#ifdef __cplusplus
extern "C" {
#endif
typedef enum {
  GC_UNREFERENCED,
  GC_NO_SPACE,
  GC_REFD_FROM_ROOT,
  GC_REFD_FROM_REG,
  GC_REFD_FROM_HEAP,
  GC_FINALIZER_REFD
} GC_ref_kind;
/* What refers to the object at dest (its start): a root (*base_p set to
 * the root's address, or 0 for a register/stack), or an object
 * (*base_p its start, *offset_p the field's offset). */
GC_API GC_ref_kind GC_CALL GC_get_back_ptr_info(void *dest, void **base_p,
                                                size_t *offset_p);
GC_API void *GC_CALL GC_generate_random_heap_address(void);
GC_API void *GC_CALL GC_generate_random_valid_address(void);
/* Prints the chain of references from a root to a random live object. */
GC_API void GC_CALL GC_generate_random_backtrace(void);
GC_API void GC_CALL GC_print_backtrace(void *);
#ifdef __cplusplus
}
#endif
#endif
