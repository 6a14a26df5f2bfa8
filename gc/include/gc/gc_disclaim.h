/* Objects with a closure run when they become unreachable. */
#ifndef GC_DISCLAIM_H
#define GC_DISCLAIM_H
#include "gc.h"
#ifdef __cplusplus
extern "C" {
#endif
GC_API void GC_CALL GC_init_finalized_malloc(void);
/* Called for each unreachable object of the kind before it is freed; a
 * nonzero result keeps it (and what it reaches) for this collection. */
typedef int(GC_CALLBACK *GC_disclaim_proc)(void *obj);
GC_API void GC_CALL GC_register_disclaim_proc(int kind, GC_disclaim_proc proc,
                                              int mark_from_all);
struct GC_finalizer_closure {
  GC_finalization_proc proc;
  void *cd;
};
/* An object whose closure fc->proc(obj, fc->cd) runs once it is
 * unreachable, before it is freed, in no particular order. */
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL
GC_finalized_malloc(size_t size, const struct GC_finalizer_closure *fc);
#ifdef __cplusplus
}
#endif
#endif
