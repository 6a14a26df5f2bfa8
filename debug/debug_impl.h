/* libpreempt-debug internals, shared by its files (all hidden):
 *   address.c  parsing addresses and PREEMPT_DEBUG, the loopback rule
 *   capture.c  snapshots into memory, one at a time, the last one kept
 *   pages.c    the endpoints' bodies, independent of the HTTP library
 *   server.c   the public calls, libmicrohttpd and the server thread */
#ifndef PREEMPT_DEBUG_IMPL_H
#define PREEMPT_DEBUG_IMPL_H

#include "preempt_debug.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* ---- errors (server.c): this thread's message for preempt_debug_error */
void preempt_debug__set_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* ---- address.c */
/* Fills *ss and *len from a numeric address (or "localhost") and a port; 0,
 * or -1 with errno EINVAL and the error set. */
int preempt_debug__sockaddr(const char *address, unsigned short port,
                            struct sockaddr_storage *ss, socklen_t *len);
bool preempt_debug__is_loopback(const struct sockaddr_storage *ss);
/* Does a Host header name loopback ("localhost", 127.x.y.z, [::1], with
 * or without a port)?  A loopback server answers nothing else: a web page
 * whose own name resolves to 127.0.0.1 (DNS rebinding) must not read it
 * through the visitor's browser. */
bool preempt_debug__host_is_loopback(const char *host);
/* Splits "ADDR:PORT", "[V6]:PORT", ":PORT" or "PORT" into addr (""
 * when absent) and *port; 0, or -1 with EINVAL and the error set. */
int preempt_debug__split_hostport(const char *text, char *addr, size_t addrlen,
                                  unsigned short *port);

/* ---- capture.c */
/* A snapshot file in memory, shared by reference (a response still
 * sending it holds one). */
struct preempt_debug__snap {
  const uint8_t *data;
  size_t len;
  unsigned long serial; /* 1 for the server's first snapshot */
  int refs;             /* atomic */
};
void preempt_debug__snap_ref(struct preempt_debug__snap *s);
void preempt_debug__snap_unref(struct preempt_debug__snap *s);
/* Takes a snapshot (reason recorded in it), keeps it as the last one and
 * returns a reference to it; *prev gets a reference to the one it
 * replaced (NULL if none) when prev is not NULL.  NULL with err filled on
 * failure. */
struct preempt_debug__snap *
preempt_debug__capture(const char *reason, struct preempt_debug__snap **prev,
                       char *err, size_t errlen);
/* Drops the kept snapshot (server stop). */
void preempt_debug__capture_reset(void);
/* Around fork (server.c): held across it, so no snapshot is half taken;
 * in the child, released with the parent's snapshot forgotten. */
void preempt_debug__capture_lock(void);
void preempt_debug__capture_unlock(void);
void preempt_debug__capture_forked(void);

/* ---- pages.c */
/* A request: its path and a lookup of its query arguments. */
struct preempt_debug__request {
  const char *path;
  const char *(*arg)(void *ctx, const char *name); /* NULL if absent */
  void *ctx;
};
/* A response: a malloc'd body, or a snapshot reference sent as is. */
struct preempt_debug__response {
  unsigned status;
  const char *content_type;
  const char *disposition; /* Content-Disposition, or NULL */
  char *body;
  size_t len;
  struct preempt_debug__snap *snap;
};
/* Answers a GET (never fails: errors become 4xx/5xx bodies). */
void preempt_debug__serve(const struct preempt_debug__request *req,
                          struct preempt_debug__response *resp);

#endif
