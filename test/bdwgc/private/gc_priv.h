/* private/gc_priv.h: test-only stand-in for bdwgc's internal header,
 * written for test/bdwgc/run.py (not bdwgc's file).  bdwgc's tests include
 * it for output, timing, a random-number generator, word types and the
 * configuration macros; this gives those from the public gc.h and libc,
 * so the tests exercise only libpreempt-gc's public interface. */
#ifndef PREEMPT_BDWGC_SHIM_GC_PRIV_H
#define PREEMPT_BDWGC_SHIM_GC_PRIV_H

#include "gc.h"
#include "gcconfig.h"
#ifdef THREADS
#include "gc_atomic_ops.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef __cplusplus
#define EXTERN_C_BEGIN extern "C" {
#define EXTERN_C_END }
#else
#define EXTERN_C_BEGIN
#define EXTERN_C_END
#endif

/* A 16-bit DOS memory-model qualifier in bdwgc; nothing here. */
#define GC_FAR

typedef GC_word word;
typedef GC_signed_word signed_word;

#ifndef GC_ATTR_NOINLINE
#define GC_ATTR_NOINLINE __attribute__((__noinline__))
#endif
#ifndef GC_ATTR_NO_SANITIZE_THREAD
#define GC_ATTR_NO_SANITIZE_THREAD
#endif
#ifndef GC_ATTR_UNUSED
#define GC_ATTR_UNUSED __attribute__((__unused__))
#endif

/* bdwgc prints test results on stdout and its log on stderr. */
#define GC_printf printf
#define GC_err_printf(...) fprintf(stderr, __VA_ARGS__)
#define GC_log_printf(...) fprintf(stderr, __VA_ARGS__)
/* Flushes stdout first: the test's explanation was printed there and would
 * be lost with the buffer; names the place, the pid (for a forked child). */
#define ABORT(msg)                                                           \
  (fflush(stdout), fprintf(stderr, "%s:%d: pid %ld: %s\n", __FILE__,         \
                           __LINE__, (long)getpid(), (msg)),                 \
   abort())
#define GETENV(name) getenv(name)
#define VERBOSE 2
#define BZERO(p, n) memset((p), 0, (n))

/* Hides a value from the optimiser so a computation is not folded away. */
#define COVERT_DATAFLOW(w)                                                   \
  __extension__({                                                            \
    GC_word covert_ = (GC_word)(w);                                          \
    __asm__ __volatile__("" : "+r"(covert_));                                \
    covert_;                                                                 \
  })

#define LOCK() GC_alloc_lock()
#define UNLOCK() GC_alloc_unlock()

#define CLOCK_TYPE struct timespec
#define GET_TIME(t) (void)clock_gettime(CLOCK_MONOTONIC, &(t))
#define MS_TIME_DIFF(a, b)                                                   \
  ((unsigned long)((a).tv_sec - (b).tv_sec) * 1000UL +                       \
   (unsigned long)(((a).tv_nsec - (b).tv_nsec) / 1000000L))

/* A deterministic generator shared by the test's threads, as bdwgc's is;
 * races only make the sequence less repeatable. */
static inline long GC_random(void)
{
  static unsigned long seed = 1;
  unsigned long s = __atomic_load_n(&seed, __ATOMIC_RELAXED);
  s = s * 1103515245UL + 12345UL;
  __atomic_store_n(&seed, s, __ATOMIC_RELAXED);
  return (long)((s >> 16) & 0x7fffffffUL);
}

#endif
