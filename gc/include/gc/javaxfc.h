/* Java-style finalization extras. */
#ifndef GC_JAVAXFC_H
#define GC_JAVAXFC_H
#include "gc.h"
#ifdef __cplusplus
extern "C" {
#endif
/* Runs every registered finalizer, reachable object or not (at exit). */
GC_API void GC_CALL GC_finalize_all(void);
#ifdef GC_THREADS
/* Suspending single threads is not offered: preempt stops all or none. */
GC_API void GC_CALL GC_suspend_thread(void *thread);
GC_API void GC_CALL GC_resume_thread(void *thread);
GC_API int GC_CALL GC_is_thread_suspended(void *thread);
#endif
#ifdef __cplusplus
}
#endif
#endif
