/* What every part of the runtime uses: visibility, branch hints, alignment,
 * and reporting errors.  Public API: preempt.h. */
#ifndef PREEMPT_COMMON_H
#define PREEMPT_COMMON_H

#include "preempt.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define PREEMPT_HIDDEN __attribute__((visibility("hidden")))
/* Conservative scanning reads any word of a stack or an object, redzones
 * of AddressSanitizer builds included. */
#define PREEMPT_NO_ASAN __attribute__((no_sanitize("address")))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define ALIGN_UP(x, a) (((x) + (a)-1) & ~((uintptr_t)(a)-1))

static inline uint64_t preempt_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* error.c: messages on stderr, prefixed "preempt: " */
void preempt_fatal(const char *fmt, ...) PREEMPT_HIDDEN
    __attribute__((noreturn, format(printf, 1, 2)));
void preempt_warn(const char *fmt, ...) PREEMPT_HIDDEN
    __attribute__((format(printf, 1, 2)));

/* loader.c: the next definition of name after the runtime's own (the C
 * library's, behind a wrapper); fatal if there is none. */
void *preempt_libc_symbol(const char *name) PREEMPT_HIDDEN;
/* loader.c: fork waits until no thread is inside dl_iterate_phdr, whose
 * lock glibc does not reset in the child, and holds new calls off. */
void preempt_loader_fork_prepare(void) PREEMPT_HIDDEN;
void preempt_loader_fork_done(bool child) PREEMPT_HIDDEN;
/* loader.c: dl_iterate_phdr for the collector, ahead of the program's
 * calls, which wait meanwhile (the loader's lock is not fair: a thread
 * calling it in a loop would keep a collection out for ever). */
struct dl_phdr_info;
int preempt_loader_iterate(int (*cb)(struct dl_phdr_info *, size_t, void *),
                           void *arg) PREEMPT_HIDDEN;

#endif
