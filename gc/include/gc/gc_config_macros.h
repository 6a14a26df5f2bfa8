/* Declaration attributes used by the gc.h family. */
#ifndef GC_CONFIG_MACROS_H
#define GC_CONFIG_MACROS_H
#if defined(_REENTRANT) || defined(_PTHREADS) || defined(GC_PTHREADS)
#ifndef GC_THREADS
#define GC_THREADS
#endif
#endif
#if defined(GC_THREADS) && !defined(GC_PTHREADS)
#define GC_PTHREADS
#endif
#ifndef GC_API
#define GC_API extern __attribute__((visibility("default")))
#endif
#define GC_CALL
#define GC_CALLBACK
#define GC_ATTR_MALLOC __attribute__((__malloc__))
#define GC_ATTR_ALLOC_SIZE(n) __attribute__((__alloc_size__(n)))
#define GC_ATTR_NONNULL(n) __attribute__((__nonnull__(n)))
#define GC_ATTR_CONST __attribute__((__const__))
#define GC_ATTR_DEPRECATED __attribute__((__deprecated__))
#define GC_ATTR_UNUSED __attribute__((__unused__))
#define GC_ATTR_NO_SANITIZE_THREAD
#define GC_ATTR_NO_SANITIZE_ADDR
#define GC_ATTR_NO_SANITIZE_MEMORY
#define GC_RETURN_ADDR (GC_word)__builtin_return_address(0)
#define GC_HAVE_BUILTIN_BACKTRACE
#define GC_CAN_SAVE_CALL_STACKS
#ifndef GC_GNUC_PREREQ
#define GC_GNUC_PREREQ(major, minor)                                          \
  ((__GNUC__ << 8) + __GNUC_MINOR__ >= ((major) << 8) + (minor))
#endif
#endif
