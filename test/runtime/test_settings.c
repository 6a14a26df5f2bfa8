/* Settings: the PREEMPT variable (malformed values are fatal with a message
 * naming the key), and the heap limit, from the environment or set by
 * preempt_set_heap_limit once the program runs.
 *
 * Settings are read before main, so a test runs this binary again with
 * PREEMPT set: it either dies at start-up (malformed) or runs one of the
 * child_* tests, which do nothing unless ENV_CHILD is set. */
#include "testutil.h"

#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static char out[8192];

static int run_self(const char *preempt, const char *filter) {
  return run_self_env("test_settings", preempt, filter, out, sizeof out);
}

static bool in_child(void) { return in_env_child(); }

static void expect_fatal(const char *preempt, const char *key,
                         const char *accepted) {
  int st = run_self(preempt, NULL);
  cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT,
            "PREEMPT=%s was accepted (status %#x):\n%s", preempt, st, out);
  cr_assert(strstr(out, "preempt: fatal: PREEMPT:"), "PREEMPT=%s:\n%s", preempt, out);
  cr_assert(strstr(out, key), "PREEMPT=%s: message does not name %s:\n%s",
            preempt, key, out);
  cr_assert(strstr(out, accepted), "PREEMPT=%s: message does not say '%s':\n%s",
            preempt, accepted, out);
}

Test(settings, malformed_values_are_fatal_and_named) {
  static const char *const cases[][3] = {
      {"minheap=-5", "'minheap'", "a size in bytes"},
      {"minheap=", "'minheap'", "a size in bytes"},
      {"minheap= 5", "'minheap'", "a size in bytes"},
      {"minheap=4x", "'minheap'", "suffix"},
      {"minheap=4mb", "'minheap'", "suffix"},
      {"minheap=99999999999999999999999", "'minheap'", "64 TiB"},
      {"minheap=100000000g", "'minheap'", "64 TiB"},
      {"limit=0", "'limit'", "from 1m"},
      {"limit=-1", "'limit'", "from 1m"},
      {"gc=-1", "'gc'", "or off"},
      {"gc=abc", "'gc'", "or off"},
      {"gc=50%", "'gc'", "or off"},
      {"gc=2000000", "'gc'", "or off"},
      {"retain=1.5", "'retain'", "whole seconds"},
      {"retain=-3", "'retain'", "whole seconds"},
      {"verify=yes", "'verify'", "0 or 1"},
      {"poison=2", "'poison'", "0 or 1"},
      {"verbose=3", "'verbose'", "0, 1 or 2"},
      {"oom=NULL", "'oom'", "null or abort"},
      {"snapfork=-1", "'snapfork'", "or off"},
      {"snapfork=many", "'snapfork'", "or off"},
      {"gc=100,bogus=1", "'bogus'", "known: gc"},
      {"=5", "''", "known: gc"},
      {"verify", "'verify'", "key=value"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    expect_fatal(cases[i][0], cases[i][1], cases[i][2]);
}

Test(settings, well_formed_values_are_accepted) {
  static const char *const cases[] = {
      "",
      "gc=off,minheap=8m,limit=1g,retain=0,oom=null,verbose=0,poison=1,verify=0",
      "gc=0,minheap=0,limit=1048576,retain=1000000,oom=abort,",
      "gc=1000000,minheap=4K,limit=64G,verbose=1",
      "snapfork=0", "snapfork=off,gc=100", "snapfork=1000000000",
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int st = run_self(cases[i], NULL);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "PREEMPT=%s refused (status %#x):\n%s", cases[i], st, out);
    cr_assert_null(strstr(out, "preempt:"), "PREEMPT=%s:\n%s", cases[i], out);
  }
}

/* Allocates 64 KiB nodes (keeping all) until allocation fails; returns how
 * many, after checking that every one is intact. */
struct big_node {
  struct big_node *next;
  uint64_t id, check;
  char pad[65536 - 24];
};
static size_t fill_until_null(size_t max) {
  struct big_node *head = NULL;
  size_t n = 0;
  for (; n < max; n++) {
    struct big_node *b = preempt_alloc(sizeof *b);
    if (!b)
      break;
    b->id = n;
    b->check = tcheck(n);
    b->next = head;
    head = b;
  }
  preempt_gc();
  size_t k = n;
  for (struct big_node *b = head; b; b = b->next) {
    k--;
    cr_assert_eq(b->id, k);
    cr_assert_eq(b->check, tcheck(k), "node %zu corrupted", k);
  }
  cr_assert_eq(k, 0);
  return n;
}

static void check_limit_holds(size_t limit) {
  preempt_set_oom_policy(PREEMPT_OOM_NULL);
  /* Bigger than the limit at once: refused. */
  cr_assert_null(preempt_alloc(4 * limit));
  /* Live data grows up to the limit, not beyond. */
  size_t n = fill_until_null(limit / 65536 + 100);
  size_t bytes = n * sizeof(struct big_node);
  cr_assert_leq(bytes, limit, "%zu bytes live under a %zu byte limit", bytes, limit);
  cr_assert_geq(bytes, limit / 2, "only %zu bytes live under a %zu byte limit", bytes,
                limit);
  struct preempt_stats s;
  preempt_read_stats(&s);
  cr_assert_leq(s.heap_mapped_bytes, limit);
  /* Still usable after running out. */
  cr_assert_not_null(preempt_alloc(100));
}

/* The limit holds when the program sets it first thing (the heap was
 * reserved before main). */
Test(settings, heap_limit_set_in_main_holds) {
  preempt_set_heap_limit((size_t)64 << 20);
  check_limit_holds((size_t)64 << 20);
}

/* Small limits work, from the environment too. */
Test(settings, child_small_limit) {
  if (!in_child())
    return;
  size_t mib = 0;
  cr_assert_eq(sscanf(getenv("PREEMPT"), "limit=%zum", &mib), 1);
  check_limit_holds(mib << 20);
}

Test(settings, small_limit_from_environment) {
  int st = run_self("limit=4m,retain=0", "settings/child_small_limit");
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x:\n%s", st, out);
  st = run_self("limit=32m", "settings/child_small_limit");
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x:\n%s", st, out);
}

Test(settings, child_over_limit) {
  if (!in_child())
    return;
  static void *keep[1000]; /* a global: a root */
  for (int i = 0; i < 1000; i++)
    keep[i] = preempt_alloc(1 << 20);
}

/* By default, running out under a limit is fatal with a message saying
 * what the limit is and how to change it. */
Test(settings, over_limit_aborts_with_message) {
  int st = run_self("limit=8m", "settings/child_over_limit");
  cr_assert(strstr(out, "out of memory") && strstr(out, "limit 8 MiB"),
            "status %#x:\n%s", st, out);
}
