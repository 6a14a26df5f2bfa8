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
#include <pthread.h>
/* Suspending single threads is not offered: preempt stops all or none. */
#define GC_SUSPEND_THREAD_ID pthread_t
GC_API void GC_CALL GC_suspend_thread(GC_SUSPEND_THREAD_ID);
GC_API void GC_CALL GC_resume_thread(GC_SUSPEND_THREAD_ID);
GC_API int GC_CALL GC_is_thread_suspended(GC_SUSPEND_THREAD_ID);
#endif
#ifdef __cplusplus
}
#endif
#endif
