/* bdwgc's inline allocation macros, as calls (preempt's allocation fast
 * path is already a thread-local free list). */
#ifndef GC_INLINE_H
#define GC_INLINE_H
#include "gc.h"
#include "gc_mark.h"
#define GC_MALLOC_WORDS(result, n, tiny_fl)                                   \
  ((void)(tiny_fl), (result) = GC_malloc((n) * sizeof(GC_word)))
#define GC_MALLOC_ATOMIC_WORDS(result, n, tiny_fl)                            \
  ((void)(tiny_fl), (result) = GC_malloc_atomic((n) * sizeof(GC_word)))
#define GC_MALLOC_WORDS_KIND(result, n, tiny_fl, k, init)                     \
  ((void)(tiny_fl), (void)(init),                                             \
   (result) = GC_generic_malloc((n) * sizeof(GC_word), k))
#define GC_CONS(result, first, second, tiny_fl)                                \
  do {                                                                        \
    void **gc_cons_ = (void **)GC_malloc(2 * sizeof(void *));                 \
    (void)(tiny_fl);                                                          \
    if (gc_cons_) {                                                           \
      gc_cons_[0] = (void *)(first);                                          \
      gc_cons_[1] = (void *)(second);                                         \
    }                                                                         \
    (result) = (void *)gc_cons_;                                              \
  } while (0)
#define GC_TINY_FREELISTS 25
/* *result: a list of objects of lb bytes of kind k, linked by GC_NEXT. */
GC_API void GC_CALL GC_generic_malloc_many(size_t lb, int k, void **result);
#endif
