/* bdwgc redirects pthread_create and friends to register threads; preempt
 * attaches every thread itself, so these are the plain pthread functions
 * under bdwgc's names, and nothing is redirected. */
#ifndef GC_PTHREAD_REDIRECTS_H
#define GC_PTHREAD_REDIRECTS_H
#include <pthread.h>
#include <signal.h>
#ifdef __cplusplus
extern "C" {
#endif
GC_API int GC_pthread_create(pthread_t *, const pthread_attr_t *,
                             void *(*)(void *), void *);
GC_API int GC_pthread_join(pthread_t, void **);
GC_API int GC_pthread_detach(pthread_t);
GC_API int GC_pthread_cancel(pthread_t);
GC_API void GC_pthread_exit(void *) __attribute__((__noreturn__));
GC_API int GC_pthread_sigmask(int, const sigset_t *, sigset_t *);
GC_API void *GC_dlopen(const char *, int);
#ifdef __cplusplus
}
#endif
#endif
