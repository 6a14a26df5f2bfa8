/* The public calls and the HTTP side: libmicrohttpd in external-polling
 * epoll mode, driven by one thread of ours.
 *
 * Why not libmicrohttpd's own polling thread: it would wait in
 * epoll_wait inside a library built without the plugin, where the runtime
 * does not make the call a blocking region (README: only direct calls
 * from instrumented code are), so every stop would signal it and cut its
 * wait short with EINTR.  Our thread waits in poll() on the daemon's
 * epoll descriptor and a wake-up eventfd inside
 * preempt_enter_blocking()/preempt_exit_blocking(): an idle server is
 * never signalled and never holds a stop up.  MHD_run then does the work
 * without blocking (its own epoll_wait has a zero timeout), on our
 * thread: requests are served one at a time, and a snapshot is taken by
 * this thread like by any other running thread. */
#define _GNU_SOURCE
#include "debug_impl.h"

#include <preempt.h>

#include <microhttpd.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* Requests are small: a larger header block is refused with 431. */
#define CONNECTION_MEMORY (32 * 1024)
#define CONNECTION_LIMIT 16
#define CONNECTION_TIMEOUT_S 10

static __thread char error_text[512];

void preempt_debug__set_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(error_text, sizeof error_text, fmt, ap);
  va_end(ap);
}

const char *preempt_debug_error(void) { return error_text; }

/* The running server: changed by start and stop under server_lock. */
static pthread_mutex_t server_lock = PTHREAD_MUTEX_INITIALIZER;
static struct MHD_Daemon *daemon_;
static pthread_t thread;
static int wake_fd = -1;
static int port_;       /* read by preempt_debug_port without the lock */
static bool check_host; /* loopback only: Host must name loopback */

/* libmicrohttpd's messages: kept for a failing start, dropped otherwise
 * (a client's bad request is its own business). */
static __thread bool capture_log;
static void mhd_log(void *cls, const char *fmt, va_list ap) {
  (void)cls;
  if (!capture_log)
    return;
  char msg[400];
  vsnprintf(msg, sizeof msg, fmt, ap);
  size_t n = strlen(msg);
  while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
    msg[--n] = 0;
  preempt_debug__set_error("preempt_debug_start: libmicrohttpd: %s", msg);
}

static const char *mhd_arg(void *ctx, const char *name) {
  return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, name);
}

static void snap_free_cb(void *cls) { preempt_debug__snap_unref(cls); }

static enum MHD_Result queue(struct MHD_Connection *c,
                             struct preempt_debug__response *r) {
  struct MHD_Response *resp;
  if (r->snap) {
    resp = MHD_create_response_from_buffer_with_free_callback_cls(
        r->snap->len, (void *)r->snap->data, snap_free_cb, r->snap);
    if (!resp)
      preempt_debug__snap_unref(r->snap);
  } else {
    resp =
        MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
    if (!resp)
      free(r->body);
  }
  if (!resp)
    return MHD_NO; /* out of memory: MHD closes the connection */
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
  if (r->disposition)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION,
                            r->disposition);
  /* Error pages echo the path: never let a browser guess HTML. */
  MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  if (r->status >= 400) /* a client in error gets no second request */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
  if (r->status == MHD_HTTP_METHOD_NOT_ALLOWED)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET");
  enum MHD_Result ok = MHD_queue_response(c, r->status, resp);
  MHD_destroy_response(resp);
  return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **state) {
  (void)cls, (void)version, (void)upload;
  struct preempt_debug__response r = {0};
  if (strcmp(method, MHD_HTTP_METHOD_GET)) {
    /* Answered before any body is read; MHD then closes the connection. */
    r.status = MHD_HTTP_METHOD_NOT_ALLOWED;
    r.content_type = "text/plain; charset=utf-8";
    if (asprintf(&r.body, "%s %s: only GET is served\n", method, url) < 0)
      return MHD_NO;
    r.len = strlen(r.body);
    return queue(c, &r);
  }
  /* The first call only announces the request (its headers). */
  static int seen;
  if (!*state) {
    *state = &seen;
    return MHD_YES;
  }
  if (*upload_size) { /* a GET with a body: ignore it */
    *upload_size = 0;
    return MHD_YES;
  }
  const char *host =
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
  if (check_host && host && !preempt_debug__host_is_loopback(host)) {
    r.status = MHD_HTTP_FORBIDDEN;
    r.content_type = "text/plain; charset=utf-8";
    if (asprintf(&r.body,
                 "Host: %s is not a loopback name: this server "
                 "answers only requests made to loopback\n",
                 host) < 0)
      return MHD_NO;
    r.len = strlen(r.body);
    return queue(c, &r);
  }
  struct preempt_debug__request q = {url, mhd_arg, c};
  preempt_debug__serve(&q, &r);
  return queue(c, &r);
}

static void *serve_loop(void *arg) {
  struct MHD_Daemon *d = arg;
  const union MHD_DaemonInfo *info =
      MHD_get_daemon_info(d, MHD_DAEMON_INFO_EPOLL_FD);
  int epfd = info->epoll_fd;
  for (;;) {
    MHD_UNSIGNED_LONG_LONG ms;
    int timeout = -1;
    if (MHD_get_timeout(d, &ms) == MHD_YES)
      timeout = ms > INT_MAX ? INT_MAX : (int)ms;
    struct pollfd p[2] = {{.fd = epfd, .events = POLLIN},
                          {.fd = wake_fd, .events = POLLIN}};
    preempt_enter_blocking();
    int n = poll(p, 2, timeout);
    preempt_exit_blocking();
    if (n < 0 && errno != EINTR)
      break; /* cannot happen with valid descriptors */
    if (p[1].revents)
      break; /* preempt_debug_stop */
    MHD_run(d);
  }
  return NULL;
}

/* fork: the child has no server thread, but inherits the daemon's
 * descriptors; the eventfd is shared with the parent, so the child's
 * preempt_debug_stop would stop the parent's server.  The child forgets
 * the server (closing its copies of the listening socket, epoll and
 * eventfd descriptors: the parent's stay open) and may start its own. */
static void fork_prepare(void) {
  pthread_mutex_lock(&server_lock);
  preempt_debug__capture_lock();
}
static void fork_parent(void) {
  preempt_debug__capture_unlock();
  pthread_mutex_unlock(&server_lock);
}
static void fork_child(void) {
  if (daemon_) {
    const union MHD_DaemonInfo *i;
    if ((i = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_LISTEN_FD)))
      close(i->listen_fd);
    if ((i = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_EPOLL_FD)))
      close(i->epoll_fd);
    close(wake_fd);
    wake_fd = -1;
    daemon_ = NULL; /* its memory stays: freeing it would touch the fds */
    port_ = 0;
  }
  preempt_debug__capture_forked();
  pthread_mutex_unlock(&server_lock); /* this thread took it to fork */
}
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static void atfork_install(void) {
  pthread_atfork(fork_prepare, fork_parent, fork_child);
}

int preempt_debug_start(const struct preempt_debug_options *opt) {
  static const struct preempt_debug_options defaults = {0};
  if (!opt)
    opt = &defaults;
  error_text[0] = 0;
  struct sockaddr_storage ss;
  socklen_t sslen;
  if (preempt_debug__sockaddr(opt->address, opt->port, &ss, &sslen))
    return -1;
  if (!opt->allow_remote && !preempt_debug__is_loopback(&ss)) {
    preempt_debug__set_error(
        "preempt_debug_start: refusing to listen on %s, which is not a "
        "loopback address (127.0.0.0/8, ::1): the server shows the heap's "
        "contents to whoever connects; set allow_remote to do it anyway",
        opt->address);
    errno = EPERM;
    return -1;
  }
  pthread_once(&atfork_once, atfork_install);
  pthread_mutex_lock(&server_lock);
  if (daemon_) {
    pthread_mutex_unlock(&server_lock);
    preempt_debug__set_error("preempt_debug_start: already running on port %d",
                             port_);
    errno = EBUSY;
    return -1;
  }
  wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) {
    int e = errno;
    pthread_mutex_unlock(&server_lock);
    preempt_debug__set_error("preempt_debug_start: eventfd: %s", strerror(e));
    errno = e;
    return -1;
  }
  unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
  if (ss.ss_family == AF_INET6)
    flags |= MHD_USE_IPv6;
  check_host = !opt->allow_remote; /* before the first connection */
  capture_log = true;
  errno = 0;
  struct MHD_Daemon *d = MHD_start_daemon(
      flags, opt->port, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR,
      (struct sockaddr *)&ss, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
      MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
      MHD_OPTION_END);
  int e = errno ? errno : EADDRNOTAVAIL;
  capture_log = false;
  if (!d) {
    close(wake_fd);
    wake_fd = -1;
    pthread_mutex_unlock(&server_lock);
    if (!error_text[0])
      preempt_debug__set_error("preempt_debug_start: cannot listen on %s port "
                               "%u: %s",
                               opt->address ? opt->address : "127.0.0.1",
                               opt->port, strerror(e));
    errno = e;
    return -1;
  }
  const union MHD_DaemonInfo *info =
      MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  int port = info ? info->port : opt->port;
  int rc = pthread_create(&thread, NULL, serve_loop, d);
  if (rc) {
    MHD_stop_daemon(d);
    close(wake_fd);
    wake_fd = -1;
    pthread_mutex_unlock(&server_lock);
    preempt_debug__set_error("preempt_debug_start: pthread_create: %s",
                             strerror(rc));
    errno = rc;
    return -1;
  }
  pthread_setname_np(thread, "preempt-debug"); /* in snapshots, debuggers */
  daemon_ = d;
  __atomic_store_n(&port_, port, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&server_lock);
  return 0;
}

void preempt_debug_stop(void) {
  pthread_mutex_lock(&server_lock);
  if (!daemon_) {
    pthread_mutex_unlock(&server_lock);
    return;
  }
  if (pthread_equal(pthread_self(), thread)) {
    /* From a request (a finalizer run there...): it cannot wait for
     * itself.  The server keeps running. */
    pthread_mutex_unlock(&server_lock);
    preempt_debug__set_error("preempt_debug_stop: called on the server's own "
                             "thread; ignored");
    return;
  }
  uint64_t one = 1;
  while (write(wake_fd, &one, sizeof one) < 0 && errno == EINTR)
    ;
  pthread_join(thread, NULL);
  MHD_stop_daemon(daemon_);
  daemon_ = NULL;
  close(wake_fd);
  wake_fd = -1;
  __atomic_store_n(&port_, 0, __ATOMIC_RELEASE);
  preempt_debug__capture_reset();
  pthread_mutex_unlock(&server_lock);
}

int preempt_debug_port(void) {
  return __atomic_load_n(&port_, __ATOMIC_ACQUIRE);
}

int preempt_debug_start_from_env(void) {
  const char *v = getenv("PREEMPT_DEBUG");
  if (!v || !*v)
    return 0;
  char addr[128];
  struct preempt_debug_options o = {0};
  const char *remote = getenv("PREEMPT_DEBUG_ALLOW_REMOTE");
  o.allow_remote = remote && !strcmp(remote, "1");
  if (preempt_debug__split_hostport(v, addr, sizeof addr, &o.port) == 0) {
    o.address = addr;
    if (preempt_debug_start(&o) == 0) {
      fprintf(stderr, "preempt-debug: serving the heap on http://%s%s%s:%d/\n",
              strchr(addr, ':') ? "[" : "", *addr ? addr : "127.0.0.1",
              strchr(addr, ':') ? "]" : "", preempt_debug_port());
      return 1;
    }
  }
  int e = errno;
  fprintf(stderr, "preempt-debug: %s\n", preempt_debug_error());
  errno = e;
  return -1;
}
