/* private/gcconfig.h: test-only stand-in for bdwgc's private platform
 * header, written for test/bdwgc/run.py (not bdwgc's file).  bdwgc's tests
 * read only a few platform facts from it; preempt runs on Linux with
 * pthreads, where fork is handled through pthread_atfork. */
#ifndef PREEMPT_BDWGC_SHIM_GCCONFIG_H
#define PREEMPT_BDWGC_SHIM_GCCONFIG_H

#if defined(__linux__) && !defined(LINUX)
#define LINUX
#endif
#if defined(GC_THREADS) && !defined(THREADS)
#define THREADS
#endif
/* A forked child of a threaded program keeps a working collector. */
#if defined(THREADS) && !defined(CAN_HANDLE_FORK)
#define CAN_HANDLE_FORK
#endif
#if defined(THREADS) && !defined(CAN_CALL_ATFORK)
#define CAN_CALL_ATFORK
#endif
#define CPP_WORDSZ (__SIZEOF_POINTER__ * 8)

#endif
