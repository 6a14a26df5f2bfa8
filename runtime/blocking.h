/* Blocking C library calls as blocking transitions (blocking.c): one
 * wrapper per call of blocking.def, named preempt_blocking_<name>, with
 * libc's prototype.  The plugin redirects direct calls of instrumented
 * code to them (passes/Blocking.cpp), so a thread waiting there is never
 * sent the stop signal, whose handler would cut the wait short with EINTR,
 * and never holds a stop up.  Exported: instrumented code in any object
 * calls them. */
#ifndef PREEMPT_BLOCKING_H
#define PREEMPT_BLOCKING_H

#ifndef _GNU_SOURCE
#error "blocking.h needs _GNU_SOURCE (ppoll, accept4, recvmmsg...)"
#endif

#include "common.h"

#include <poll.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/msg.h>
#include <sys/select.h>
#include <sys/sem.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* libaio's types, for io_getevents (its header is not needed to build). */
typedef struct io_context *io_context_t;
struct io_event;

/* Instrumented code references the wrappers weakly (so that it links
 * without the runtime), and a weak reference does not pull blocking.o out
 * of libpreempt.a: a strong reference to this, from an object every
 * program using the runtime links, does. */
extern const char preempt_blocking_anchor PREEMPT_HIDDEN;

/* Declared by glibc's headers only with _FORTIFY_SOURCE. */
extern int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout,
                      size_t fdslen);
extern int __ppoll_chk(struct pollfd *fds, nfds_t nfds,
                       const struct timespec *timeout, const sigset_t *mask,
                       size_t fdslen);
extern ssize_t __recv_chk(int fd, void *buf, size_t size, size_t buflen,
                          int flags);
extern ssize_t __recvfrom_chk(int fd, void *restrict buf, size_t size,
                              size_t buflen, int flags, __SOCKADDR_ARG addr,
                              socklen_t *restrict len);

#define PREEMPT_BLOCKING_LIBC(major, minor) __GLIBC_PREREQ(major, minor)
#define PREEMPT_BLOCKING_CALL(ret, name, params, args, keep, sig)              \
  PREEMPT_API ret preempt_blocking_##name params;
#include "blocking.def"
#undef PREEMPT_BLOCKING_CALL

#endif
