/* Helpers for the runtime tests.  Test files are compiled with the plugin,
 * so their frames are scanned precisely. */
#ifndef PREEMPT_TESTUTIL_H
#define PREEMPT_TESTUTIL_H

#include <criterion/criterion.h>
#include <preempt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* A pointer the collector cannot see.  Not inline: an integer computed from
 * a pointer in the caller is a root (tagged pointers), and the optimiser
 * could delay the masking past a collection. */
#define HIDE_MASK ((uintptr_t)0x5a5a5a5a5a5a5a5aull)
__attribute__((noinline, unused)) static uintptr_t hide(const void *p) {
  uintptr_t v = (uintptr_t)p ^ HIDE_MASK;
  __asm__ __volatile__("" : "+r"(v));
  return v;
}
static inline void *unhide(uintptr_t h) { return (void *)(h ^ HIDE_MASK); }

/* Calls the optimiser cannot see through. */
__attribute__((noinline, unused)) static void *opaque(void *p) {
  __asm__ __volatile__("" : "+r"(p));
  return p;
}

/* Nodes carry a checksum of their identity: a reachable node that was
 * freed (poisoned with PREEMPT=poison=1) or reused fails the check. */
struct tnode {
  struct tnode *a, *b;
  uint64_t id, check;
};
static inline uint64_t tcheck(uint64_t id) {
  return id * 0x9e3779b97f4a7c15ull ^ 0xfeedface;
}
static inline struct tnode *tnode_new(uint64_t id) {
  struct tnode *n = preempt_new(struct tnode);
  cr_assert(n, "allocation failed");
  n->id = id;
  n->check = tcheck(id);
  return n;
}
static inline void tnode_verify(const struct tnode *n) {
  cr_assert_eq(n->check, tcheck(n->id), "node %p (id %llu) corrupted: freed while reachable?",
               (void *)n, (unsigned long long)n->id);
}

/* A list of n nodes with ids base..base+n-1, the last first. */
__attribute__((unused)) static struct tnode *chain(int n, uint64_t base) {
  struct tnode *head = NULL;
  for (int i = 0; i < n; i++) {
    struct tnode *t = tnode_new(base + (uint64_t)i);
    t->a = head;
    head = t;
  }
  return head;
}

/* Under AddressSanitizer the plugin scans instrumented frames whole and
 * conservatively (ASan moves locals into a frame of its own), so a stale
 * copy of a dead pointer may keep an object: assertions that something
 * was collected only hold in ordinary builds.  ASan builds still check
 * that nothing reachable is lost, and the runtime's memory safety. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PRECISE_FRAMES 0
#endif
#endif
#ifndef PRECISE_FRAMES
#define PRECISE_FRAMES 1
#endif
#define assert_collected(h, ...)                                               \
  do {                                                                         \
    if (preempt_is_heap_object(unhide(h))) {                                   \
      if (PRECISE_FRAMES)                                                      \
        cr_assert_fail(__VA_ARGS__);                                           \
      cr_log_info("kept (conservative frames under ASan): " __VA_ARGS__);     \
    }                                                                          \
  } while (0)
/* For tests that are about precision only. */
#define REQUIRE_PRECISE_FRAMES()                                               \
  do {                                                                         \
    if (!PRECISE_FRAMES)                                                       \
      cr_skip_test("frames are scanned conservatively under ASan");            \
  } while (0)

static inline uint64_t gc_count(void) {
  struct preempt_stats s;
  preempt_read_stats(&s);
  return s.collections;
}

/* Whether h heads an intact chain(n, base). */
__attribute__((unused)) static int chain_ok(struct tnode *h, int n, uint64_t base) {
  for (int i = n - 1; i >= 0; i--, h = h->a)
    if (!h || h->check != tcheck(h->id) || h->id != base + (uint64_t)i)
      return 0;
  return h == NULL;
}

/* Resident memory of this process. */
__attribute__((unused)) static long rss_kib(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long size, res;
  cr_assert(f && fscanf(f, "%ld %ld", &size, &res) == 2);
  fclose(f);
  return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Reads what child pid writes to fd into out (NUL-terminated), waits for
 * it and returns its wait status. */
__attribute__((unused)) static int child_output(pid_t pid, int fd, char *out,
                                                size_t size) {
  size_t n = 0;
  ssize_t r;
  while ((r = read(fd, out + n, size - 1 - n)) > 0)
    n += (size_t)r;
  out[n] = 0;
  close(fd);
  int status;
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  return status;
}

/* Runs fn in a forked child with its stderr captured in out; returns its
 * wait status (a fatal error's message and SIGABRT, for misuse tests). */
__attribute__((unused)) static int run_in_child(void (*fn)(void), char *out,
                                                size_t size) {
  int fds[2];
  cr_assert_eq(pipe(fds), 0);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    dup2(fds[1], 2);
    close(fds[0]);
    fn();
    _exit(0);
  }
  close(fds[1]);
  return child_output(pid, fds[0], out, size);
}

/* Runs this binary (argv0: its name) again with PREEMPT=preempt and
 * ENV_CHILD=1 in a clean environment, running the tests matching filter
 * (NULL: just list them).  Returns the wait status; its stdout and stderr
 * are in out.  Settings are read before main: a test that needs some runs
 * itself this way. */
__attribute__((unused)) static int run_self_env(const char *argv0,
                                                const char *preempt,
                                                const char *filter,
                                                char *out, size_t size) {
  int fds[2];
  cr_assert_eq(pipe(fds), 0);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[0]);
    /* Criterion's own variables would make the new process act as one of
     * its workers. */
    extern char **environ;
    char *env[64], pre[256];
    int n = 0;
    for (char **e = environ; *e && n < 60; e++)
      if (!strncmp(*e, "ASAN_", 5) || !strncmp(*e, "UBSAN_", 6) ||
          !strncmp(*e, "LD_", 3) || !strncmp(*e, "PATH=", 5))
        env[n++] = *e;
    snprintf(pre, sizeof pre, "PREEMPT=%s", preempt);
    env[n++] = pre;
    env[n++] = "ENV_CHILD=1";
    env[n] = NULL;
    char arg[256];
    snprintf(arg, sizeof arg, "--filter=%s", filter ? filter : "");
    execle("/proc/self/exe", argv0, filter ? arg : "--list", "--jobs=1",
           (char *)NULL, env);
    _exit(127);
  }
  close(fds[1]);
  return child_output(pid, fds[0], out, size);
}
__attribute__((unused)) static bool in_env_child(void) {
  return getenv("ENV_CHILD") != NULL;
}

/* Re-execs are not needed: each Criterion test runs in its own process. */
#endif
