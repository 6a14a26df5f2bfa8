/* libpreempt-debug end to end: the server started on a free port, asked
 * with a plain socket client (raw bytes, so malformed requests can be
 * sent too), answering with figures about objects this test allocated
 * and keeps alive; the loopback rule; collections while it idles; stop
 * and start again. */
#define _GNU_SOURCE
#include "testutil.h"

#include "preempt_debug.h"
#include "snapshot.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

/* A type name no other code uses: found in a report, it is ours. */
struct debug_test_marker {
  struct debug_test_marker *next;
  uint64_t payload[5];
};
static struct debug_test_marker *kept; /* a global root */

static void keep_markers(int n) {
  for (int i = 0; i < n; i++) {
    struct debug_test_marker *m = preempt_new(struct debug_test_marker);
    m->next = kept;
    m->payload[0] = (uint64_t)i;
    kept = m;
  }
}

static int start_any_port(void) {
  struct preempt_debug_options o = {0};
  cr_assert_eq(preempt_debug_start(&o), 0, "start: %s", preempt_debug_error());
  int port = preempt_debug_port();
  cr_assert(port > 0 && port < 65536, "port %d", port);
  return port;
}

static int connect_to(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  cr_assert(fd >= 0);
  /* A safety net against a server that never answers, not a timing
   * condition: an answer takes milliseconds. */
  struct timeval tv = {.tv_sec = 120};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

struct answer {
  int status; /* 0: no status line */
  char *head; /* status line and headers */
  char *body;
  size_t len; /* of body */
};

/* Sends raw bytes, reads to EOF (the server closes: HTTP/1.0, or its
 * error paths), splits the answer. */
static struct answer exchange(int port, const char *req, size_t reqlen) {
  int fd = connect_to(port);
  cr_assert(fd >= 0, "connect: %s", strerror(errno));
  size_t off = 0;
  while (off < reqlen) {
    ssize_t n = send(fd, req + off, reqlen - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break; /* the server may answer and close before reading it all */
    off += (size_t)n;
  }
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap + 1);
  for (;;) {
    if (len == cap)
      buf = realloc(buf, (cap *= 2) + 1);
    ssize_t n = recv(fd, buf + len, cap - len, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == ECONNRESET && len)
      break;
    cr_assert(n >= 0, "recv: %s", strerror(errno));
    if (n == 0)
      break;
    len += (size_t)n;
  }
  close(fd);
  buf[len] = 0;
  struct answer a = {0};
  a.head = buf;
  sscanf(buf, "HTTP/1.%*d %d", &a.status);
  char *sep = memmem(buf, len, "\r\n\r\n", 4);
  if (sep) {
    *sep = 0;
    a.body = sep + 4;
    a.len = len - (size_t)(a.body - buf);
  } else {
    a.body = buf + len;
  }
  return a;
}

static struct answer get(int port, const char *path) {
  char req[1024];
  int n = snprintf(req, sizeof req,
                   "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
  return exchange(port, req, (size_t)n);
}

static void answer_free(struct answer *a) { free(a->head); }

/* The header line (any case) in an answer's head, or NULL. */
static const char *has_header(const struct answer *a, const char *line) {
  return strcasestr(a->head, line);
}

Test(debug, top_json_names_a_kept_type) {
  keep_markers(100);
  int port = start_any_port();
  struct answer a = get(port, "/top?format=json&n=100000");
  cr_assert_eq(a.status, 200, "%s\n%s", a.head, a.body);
  cr_assert(has_header(&a, "Content-Type: application/json"), "%s", a.head);
  cr_assert_eq(a.body[0], '{', "%s", a.body);
  cr_assert(strstr(a.body, "\"struct debug_test_marker\""),
            "the kept type is missing:\n%s", a.body);
  answer_free(&a);
  /* The other formats answer too, with their content types. */
  a = get(port, "/top?format=html");
  cr_assert_eq(a.status, 200, "%s\n%s", a.head, a.body);
  cr_assert(has_header(&a, "Content-Type: text/html"));
  cr_assert(strstr(a.body, "debug_test_marker"));
  answer_free(&a);
  a = get(port, "/top?format=pprof");
  cr_assert_eq(a.status, 200, "%s\n%s", a.head, a.body);
  cr_assert(a.len > 0);
  answer_free(&a);
  a = get(port, "/top");
  cr_assert_eq(a.status, 200);
  cr_assert(strstr(a.body, "struct debug_test_marker"), "%s", a.body);
  answer_free(&a);
  preempt_debug_stop();
  cr_assert_eq(kept->payload[0], 99); /* kept alive to here */
}

Test(debug, snapshot_parses_and_holds_the_object) {
  keep_markers(10);
  int port = start_any_port();
  struct answer a = get(port, "/snapshot");
  cr_assert_eq(a.status, 200, "%s", a.head);
  struct preempt_snap s;
  char err[512];
  cr_assert_eq(preempt_snap_parse((const uint8_t *)a.body, a.len, "/snapshot",
                                  &s, err, sizeof err),
               0, "%s", err);
  cr_assert_eq(s.info.pid, (uint64_t)getpid());
  cr_assert_str_eq(s.info.reason, "preempt-debug /snapshot");
  int n = 0;
  for (struct debug_test_marker *m = kept; m; m = m->next, n++) {
    uint32_t o = preempt_snap_find_exact(&s, (uintptr_t)m);
    cr_assert_neq(o, PREEMPT_SNAP_NONE, "marker %d is not in the snapshot", n);
    const char *type = s.types[s.objects[o].type].name;
    cr_assert(type && !strcmp(type, "struct debug_test_marker"), "type %s",
              type ? type : "(none)");
    cr_assert_geq(s.objects[o].size, sizeof *m);
  }
  cr_assert_eq(n, 10);
  preempt_snap_free(&s);
  answer_free(&a);
  preempt_debug_stop();
}

Test(debug, why_and_roots_name_the_object) {
  keep_markers(3);
  int port = start_any_port();
  char path[128];
  snprintf(path, sizeof path, "/why?what=%p&format=json", (void *)kept->next);
  struct answer a = get(port, path);
  cr_assert_eq(a.status, 200, "%s\n%s", a.head, a.body);
  cr_assert(strstr(a.body, "struct debug_test_marker"), "%s", a.body);
  answer_free(&a);
  a = get(port, "/why?what=struct%20debug_test_marker");
  cr_assert_eq(a.status, 200, "%s\n%s", a.head, a.body);
  answer_free(&a);
  /* The global holding the chain is a root, with its symbol. */
  a = get(port, "/roots?format=json&n=100000");
  cr_assert_eq(a.status, 200, "%s\n%s", a.head, a.body);
  char addr[64];
  snprintf(addr, sizeof addr, "\"address\": \"%p\"", (void *)kept);
  char *row = strstr(a.body, addr);
  cr_assert(row, "no root holds %p:\n%s", (void *)kept, a.body);
  char *end = strchr(row, '}');
  *end = 0;
  cr_assert(strstr(row, "struct debug_test_marker"), "%s", row);
  cr_assert(strstr(row, "kept"), "the global's name is missing: %s", row);
  answer_free(&a);
  a = get(port, "/roots");
  cr_assert_eq(a.status, 200);
  cr_assert(strstr(a.body, "global"), "%s", a.body);
  answer_free(&a);
  /* The server's thread is named, in snapshots as elsewhere. */
  a = get(port, "/snapshot");
  struct preempt_snap s;
  char err[512];
  cr_assert_eq(preempt_snap_parse((const uint8_t *)a.body, a.len, "/snapshot",
                                  &s, err, sizeof err),
               0, "%s", err);
  int named = 0;
  for (size_t i = 0; i < s.nthreads; i++)
    named += !strcmp(s.threads[i].name, "preempt-debug");
  cr_assert_eq(named, 1, "no thread named preempt-debug in the snapshot");
  preempt_snap_free(&s);
  answer_free(&a);
  preempt_debug_stop();
}

Test(debug, diff_against_the_previous_snapshot) {
  int port = start_any_port();
  struct answer a = get(port, "/diff");
  cr_assert_eq(a.status, 200);
  cr_assert(strstr(a.body, "No previous snapshot"), "%s", a.body);
  answer_free(&a);
  keep_markers(500); /* growth between the two */
  a = get(port, "/diff?format=json");
  cr_assert_eq(a.status, 200, "%s\n%s", a.head, a.body);
  cr_assert_eq(a.body[0], '{', "%s", a.body);
  cr_assert(strstr(a.body, "struct debug_test_marker"), "%s", a.body);
  answer_free(&a);
  preempt_debug_stop();
}

Test(debug, non_loopback_needs_allow_remote) {
  struct preempt_debug_options o = {.address = "0.0.0.0"};
  errno = 0;
  cr_assert_eq(preempt_debug_start(&o), -1);
  cr_assert_eq(errno, EPERM);
  cr_assert(strstr(preempt_debug_error(), "loopback"), "%s",
            preempt_debug_error());
  cr_assert_eq(preempt_debug_port(), 0);
  o.address = "::";
  cr_assert_eq(preempt_debug_start(&o), -1);
  cr_assert_eq(errno, EPERM);
  o.address = "not-an-address";
  cr_assert_eq(preempt_debug_start(&o), -1);
  cr_assert_eq(errno, EINVAL);
  /* 127.0.0.0/8 is loopback. */
  o.address = "127.0.0.2";
  cr_assert_eq(preempt_debug_start(&o), 0, "%s", preempt_debug_error());
  preempt_debug_stop();
  o.address = "0.0.0.0";
  o.allow_remote = 1;
  cr_assert_eq(preempt_debug_start(&o), 0, "%s", preempt_debug_error());
  int port = preempt_debug_port();
  cr_assert_gt(port, 0);
  struct answer a = get(port, "/"); /* 0.0.0.0 includes loopback */
  cr_assert_eq(a.status, 200);
  cr_assert(strstr(a.body, "/top"));
  answer_free(&a);
  o.address = "127.0.0.1";
  cr_assert_eq(preempt_debug_start(&o), -1, "a second server");
  cr_assert_eq(errno, EBUSY);
  preempt_debug_stop();
}

Test(debug, environment_switch) {
  unsetenv("PREEMPT_DEBUG");
  cr_assert_eq(preempt_debug_start_from_env(), 0);
  cr_assert_eq(preempt_debug_port(), 0);
  setenv("PREEMPT_DEBUG", "0.0.0.0:0", 1);
  cr_assert_eq(preempt_debug_start_from_env(), -1);
  cr_assert_eq(errno, EPERM);
  setenv("PREEMPT_DEBUG", "127.0.0.1:99999", 1);
  cr_assert_eq(preempt_debug_start_from_env(), -1);
  cr_assert_eq(errno, EINVAL);
  setenv("PREEMPT_DEBUG", "::1:0", 1); /* IPv6 needs brackets */
  cr_assert_eq(preempt_debug_start_from_env(), -1);
  cr_assert_eq(errno, EINVAL);
  setenv("PREEMPT_DEBUG", "127.0.0.1:0", 1);
  cr_assert_eq(preempt_debug_start_from_env(), 1, "%s", preempt_debug_error());
  struct answer a = get(preempt_debug_port(), "/");
  cr_assert_eq(a.status, 200);
  answer_free(&a);
  preempt_debug_stop();
  setenv("PREEMPT_DEBUG", ":0", 1);
  cr_assert_eq(preempt_debug_start_from_env(), 1, "%s", preempt_debug_error());
  preempt_debug_stop();
}

/* The server answers GET / after whatever came before. */
static void still_serving(int port, const char *after) {
  struct answer a = get(port, "/");
  cr_assert_eq(a.status, 200, "not serving after %s: %s", after, a.head);
  answer_free(&a);
}

static void expect_4xx(int port, const char *what, const char *req,
                       size_t len) {
  struct answer a = exchange(port, req, len);
  cr_assert(a.status >= 400 && a.status < 500, "%s: got \"%.200s\"", what,
            a.head);
  answer_free(&a);
  still_serving(port, what);
}

Test(debug, malformed_requests_get_4xx) {
  int port = start_any_port();
  char garbage[512];
  for (size_t i = 0; i < sizeof garbage; i++)
    garbage[i] = (char)(i * 37 + 11) ? (char)(i * 37 + 11) : 1;
  memcpy(garbage + sizeof garbage - 4, "\r\n\r\n", 4);
  expect_4xx(port, "garbage bytes", garbage, sizeof garbage);
  size_t big = 100 * 1024;
  char *huge = malloc(big + 64);
  int n = sprintf(huge, "GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: ");
  memset(huge + n, 'a', big);
  memcpy(huge + n + big, "\r\n\r\n", 4);
  expect_4xx(port, "a 100 KB header line", huge, (size_t)n + big + 4);
  free(huge);
  static const char *const bad[][2] = {
      {"a request line without version", "GET /\r\n\r\n"},
      {"POST", "POST /top HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc"},
      {"DELETE", "DELETE / HTTP/1.0\r\n\r\n"},
      {"an unknown path", "GET /nope HTTP/1.0\r\n\r\n"},
      {"a bad what=", "GET /why?what=0x1 HTTP/1.0\r\n\r\n"},
      {"an unknown type",
       "GET /why?what=struct%20no_such_type HTTP/1.0\r\n\r\n"},
      {"no what=", "GET /why HTTP/1.0\r\n\r\n"},
      {"a bad format=", "GET /top?format=xml HTTP/1.0\r\n\r\n"},
      {"pprof of why", "GET /why?what=0x1&format=pprof HTTP/1.0\r\n\r\n"},
      {"n=0", "GET /top?n=0 HTTP/1.0\r\n\r\n"},
      {"n=abc", "GET /top?n=abc HTTP/1.0\r\n\r\n"},
      {"a Host not loopback (DNS rebinding)",
       "GET /top HTTP/1.1\r\nHost: evil.example:8080\r\n\r\n"},
      {"a Host with an address not loopback",
       "GET / HTTP/1.1\r\nHost: 10.0.0.1\r\n\r\n"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    expect_4xx(port, bad[i][0], bad[i][1], strlen(bad[i][1]));
  static const char *const good_hosts[] = {
      "localhost:1", "127.0.0.1", "127.1.2.3:80", "[::1]:8080", "LOCALHOST"};
  for (size_t i = 0; i < sizeof good_hosts / sizeof good_hosts[0]; i++) {
    char req[256];
    int len = snprintf(req, sizeof req,
                       "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close"
                       "\r\n\r\n",
                       good_hosts[i]);
    struct answer a = exchange(port, req, (size_t)len);
    cr_assert_eq(a.status, 200, "Host: %s: %s", good_hosts[i], a.head);
    answer_free(&a);
  }
  struct answer a = get(port, "/top?format=json");
  cr_assert_eq(a.status, 200, "%s", a.head);
  answer_free(&a);
  /* 405 says what is allowed. */
  a = exchange(port, "PUT / HTTP/1.0\r\n\r\n", 18);
  cr_assert_eq(a.status, 405);
  cr_assert(has_header(&a, "Allow: GET"), "%s", a.head);
  answer_free(&a);
  preempt_debug_stop();
}

static uint64_t stop_signals(void) {
  struct preempt_stw_stats st[64];
  size_t n = preempt_read_stw_stats(st, 64);
  uint64_t sum = 0;
  for (size_t i = 0; i < n && i < 64; i++)
    sum += st[i].signals;
  return sum;
}

/* The child of collections_run_while_idle: the forking thread only (no
 * thread of Criterion's), so every stop signal counted went to the
 * server's thread.  Writes "collections signals status" to fd. */
static void idle_child(int fd) {
  int port = 0, status = 0;
  struct preempt_debug_options o = {0};
  if (preempt_debug_start(&o) == 0) {
    port = preempt_debug_port();
    struct answer a = get(port, "/top"); /* it has served, and idles now */
    status = a.status;
    answer_free(&a);
  }
  /* Let it finish with the connection (it may wake once more for the
   * client's close): idle is when it stays unsignalled for a while. */
  for (int quiet = 0, round = 0; quiet < 5 && round < 1000; round++) {
    uint64_t s = stop_signals();
    preempt_gc();
    quiet = stop_signals() == s ? quiet + 1 : 0;
    usleep(10000);
  }
  struct preempt_stats before, after;
  preempt_read_stats(&before);
  uint64_t s0 = stop_signals();
  for (int i = 0; i < 20; i++)
    preempt_gc();
  uint64_t s1 = stop_signals();
  preempt_read_stats(&after);
  if (port) {
    struct answer a = get(port, "/top"); /* and it still serves */
    if (status == 200)
      status = a.status;
    answer_free(&a);
  }
  preempt_debug_stop();
  dprintf(fd, "%llu %llu %d\n",
          (unsigned long long)(after.collections - before.collections),
          (unsigned long long)(s1 - s0), status);
  _exit(0);
}

/* Collections proceed while the server idles, and its thread, waiting in
 * a blocking region, is never signalled for them (libmicrohttpd's own
 * polling thread would be: it waits in a library built without the
 * plugin). */
Test(debug, collections_run_while_idle) {
  keep_markers(5);
  int fds[2];
  cr_assert_eq(pipe(fds), 0);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    idle_child(fds[1]);
  }
  close(fds[1]);
  char line[128] = "";
  ssize_t n = read(fds[0], line, sizeof line - 1);
  close(fds[0]);
  int st;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
  unsigned long long collections = 0, signals = 99;
  int status = 0;
  cr_assert(n > 0 && sscanf(line, "%llu %llu %d", &collections, &signals,
                            &status) == 3,
            "child said \"%s\"", line);
  cr_assert_eq(status, 200, "the server did not answer /top");
  cr_assert_geq(collections, 20);
  cr_assert_eq(signals, 0, "%llu stop signals sent to an idle server", signals);
  cr_assert_eq(kept->payload[0], 4);
}

Test(debug, stop_and_start_again) {
  int port = start_any_port();
  struct answer a = get(port, "/diff");
  cr_assert(strstr(a.body, "No previous snapshot"));
  answer_free(&a);
  preempt_debug_stop();
  cr_assert_eq(preempt_debug_port(), 0);
  int fd = connect_to(port);
  cr_assert_eq(fd, -1, "still listening on %d after stop", port);
  cr_assert_eq(errno, ECONNREFUSED);
  preempt_debug_stop(); /* a no-op */
  /* Again on the same port, then on any. */
  struct preempt_debug_options o = {.port = (unsigned short)port};
  cr_assert_eq(preempt_debug_start(&o), 0, "%s", preempt_debug_error());
  cr_assert_eq(preempt_debug_port(), port);
  a = get(port, "/diff"); /* the kept snapshot went with the stop */
  cr_assert(strstr(a.body, "No previous snapshot"), "%s", a.body);
  answer_free(&a);
  preempt_debug_stop();
  for (int i = 0; i < 3; i++) {
    port = start_any_port();
    still_serving(port, "a restart");
    preempt_debug_stop();
  }
}

/* A forked child has no server (stopping there must not stop the
 * parent's), may start its own, and the parent's keeps serving. */
Test(debug, fork_leaves_the_parent_serving) {
  keep_markers(2);
  int port = start_any_port();
  struct answer a = get(port, "/diff"); /* a kept snapshot */
  cr_assert_eq(a.status, 200);
  answer_free(&a);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    int bad = preempt_debug_port() != 0;
    preempt_debug_stop(); /* a no-op here */
    struct preempt_debug_options o = {0};
    bad |= (preempt_debug_start(&o) != 0) << 1;
    int mine = preempt_debug_port();
    bad |= (mine == port || mine == 0) << 2;
    if (!(bad & 2)) {
      a = get(mine, "/diff"); /* the parent's snapshot is not ours */
      bad |= (a.status != 200 || !strstr(a.body, "No previous")) << 3;
      answer_free(&a);
      preempt_debug_stop();
    }
    _exit(bad);
  }
  int st;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
  a = get(port, "/diff?format=json");
  cr_assert_eq(a.status, 200, "%s", a.head);
  cr_assert(!strstr(a.body, "\"previous\": null"), "%s", a.body);
  answer_free(&a);
  preempt_debug_stop();
}

/* ::1 is loopback too (skipped where the machine has no IPv6). */
Test(debug, ipv6_loopback) {
  struct preempt_debug_options o = {.address = "::1"};
  if (preempt_debug_start(&o)) {
    cr_assert(errno == EADDRNOTAVAIL || errno == EAFNOSUPPORT, "%s",
              preempt_debug_error());
    cr_skip_test("no IPv6 loopback here: %s", preempt_debug_error());
  }
  int port = preempt_debug_port();
  int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  cr_assert(fd >= 0);
  struct sockaddr_in6 a = {.sin6_family = AF_INET6,
                           .sin6_port = htons(port),
                           .sin6_addr = IN6ADDR_LOOPBACK_INIT};
  cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0, "%s",
               strerror(errno));
  const char req[] = "GET /top HTTP/1.0\r\nHost: [::1]\r\n\r\n";
  cr_assert_eq(send(fd, req, sizeof req - 1, MSG_NOSIGNAL),
               (ssize_t)sizeof req - 1);
  char buf[64] = "";
  ssize_t n;
  do
    n = recv(fd, buf, sizeof buf - 1, 0);
  while (n < 0 && errno == EINTR);
  cr_assert_gt(n, 12);
  cr_assert(!strncmp(buf, "HTTP/1.1 200", 12), "%s", buf);
  close(fd);
  preempt_debug_stop();
  /* The v4-mapped form of 127.0.0.1 is loopback, :: is not. */
  o.address = "::ffff:127.0.0.1";
  cr_assert_eq(preempt_debug_start(&o), 0, "%s", preempt_debug_error());
  preempt_debug_stop();
  o.address = "::";
  cr_assert_eq(preempt_debug_start(&o), -1);
  cr_assert_eq(errno, EPERM);
}

/* Requests served while another thread collects and allocates garbage:
 * snapshots and collections take turns, every answer names the kept type,
 * and the kept objects survive (poisoned if freed, in the verify run). */
struct client_run {
  int port, ok;
  atomic_int done;
};
static void *client(void *arg) {
  struct client_run *c = arg;
  for (int i = 0; i < 15; i++) {
    struct answer a = get(c->port, i % 3 == 2 ? "/diff" : "/top?format=json");
    c->ok += a.status == 200 &&
             (i % 3 == 2 || strstr(a.body, "struct debug_test_marker"));
    answer_free(&a);
  }
  atomic_store(&c->done, 1);
  return NULL;
}

Test(debug, requests_while_collecting) {
  keep_markers(50);
  struct client_run c = {.port = start_any_port()};
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, client, &c), 0);
  struct preempt_stats before, after;
  preempt_read_stats(&before);
  int rounds = 0;
  while (!atomic_load(&c.done) || rounds < 10) {
    for (int i = 0; i < 200; i++)
      opaque(chain(4, (uint64_t)i)); /* garbage */
    preempt_gc();
    rounds++;
  }
  pthread_join(t, NULL);
  preempt_read_stats(&after);
  cr_assert_eq(c.ok, 15, "%d of 15 answers right", c.ok);
  cr_assert_geq(after.collections, before.collections + (uint64_t)rounds);
  int n = 0;
  for (struct debug_test_marker *m = kept; m; m = m->next, n++)
    cr_assert_eq(m->payload[0], (uint64_t)(49 - n), "marker %d damaged", n);
  cr_assert_eq(n, 50);
  preempt_debug_stop();
}
