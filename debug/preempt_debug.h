/* libpreempt-debug: an opt-in HTTP endpoint that answers "what keeps this
 * memory alive" about the running program, from heap snapshots
 * (preempt_heap_snapshot) analysed with preempt-heap's reports.
 *
 * Nothing runs unless the program calls preempt_debug_start (or
 * preempt_debug_start_from_env).  The server listens on loopback only
 * unless told otherwise: a snapshot shows every live object's address,
 * type and size, and the program's symbols.
 *
 * Endpoints (GET only; other methods get 405, unknown paths 404):
 *   /          an HTML index of the endpoints
 *   /roots     the roots of a fresh snapshot: kind, thread, where, the
 *              object's type and size (?format=text|json, ?n=N rows)
 *   /snapshot  the raw snapshot file, for `preempt-heap top FILE`
 *   /top       per type: objects, bytes, retained bytes
 *              (?n=N&format=text|json|pprof|html)
 *   /why       the shortest path from a root to an object
 *              (?what=ADDRESS_OR_TYPE&format=text|json)
 *   /diff      growth since the previous snapshot the server took (by any
 *              endpoint) (?n=N&format=text|json)
 * Every endpoint but / takes a new snapshot (the world is stopped for the
 * walk only), one at a time.
 *
 * Link: -lpreempt-debug (CMake target preempt_debug), with libpreempt.so. */
#ifndef PREEMPT_DEBUG_H
#define PREEMPT_DEBUG_H

#ifdef __cplusplus
extern "C" {
#endif

#define PREEMPT_DEBUG_API __attribute__((visibility("default")))

struct preempt_debug_options {
  /* A numeric IPv4 or IPv6 address, or "localhost".  NULL or "":
   * 127.0.0.1. */
  const char *address;
  /* 0: any free port (preempt_debug_port says which). */
  unsigned short port;
  /* Nonzero: allow an address outside 127.0.0.0/8 and ::1 (0.0.0.0, ::,
   * an interface's address).  Without it such an address is refused. */
  int allow_remote;
};

/* Starts the server on its own thread.  opt NULL: the defaults.  Returns
 * 0, or -1 with errno set and a message in preempt_debug_error():
 * EPERM for a non-loopback address without allow_remote, EINVAL for an
 * address that does not parse, EBUSY when already running, EADDRINUSE or
 * another error when the socket cannot be opened. */
PREEMPT_DEBUG_API int
preempt_debug_start(const struct preempt_debug_options *opt);
/* Stops the server and waits for its thread; drops the kept snapshot.  A
 * no-op when not running.  Not from inside a request. */
PREEMPT_DEBUG_API void preempt_debug_stop(void);
/* The port listened on, or 0 when not running. */
PREEMPT_DEBUG_API int preempt_debug_port(void);
/* The message of this thread's last failed call ("" if none). */
PREEMPT_DEBUG_API const char *preempt_debug_error(void);
/* Starts the server if the environment asks for it:
 *   PREEMPT_DEBUG=ADDR:PORT   ("127.0.0.1:6060", "[::1]:0", ":6060",
 *                              "6060"; no address: 127.0.0.1)
 *   PREEMPT_DEBUG_ALLOW_REMOTE=1   to allow a non-loopback ADDR
 * Returns 0 if PREEMPT_DEBUG is unset or empty, 1 when started (the
 * address is printed on stderr), -1 on error (also printed on stderr). */
PREEMPT_DEBUG_API int preempt_debug_start_from_env(void);

#ifdef __cplusplus
}
#endif
#endif
