/* The program's hooks: collection events in order with the world stopped
 * between WORLD_STOPPED and WORLD_STARTING, heap resizes, warnings and
 * fatal errors routed to the program, and the out-of-memory hook's answer
 * becoming the allocation's result. */
#include "testutil.h"

#include <signal.h>

enum { MAXEV = 64 };
static enum preempt_event seen[MAXEV];
static size_t values[MAXEV];
static _Atomic int nseen;

/* No allocation, no lock: the world may be stopped. */
static void record(enum preempt_event ev, size_t value, void *arg) {
  cr_assert_eq(arg, (void *)seen, "the argument is not the one given");
  int i = nseen++;
  if (i < MAXEV) {
    seen[i] = ev;
    values[i] = value;
  }
}

Test(events, a_collection_reports_its_phases_in_order) {
  preempt_gc(); /* the heap exists */
  preempt_set_event_hook(record, seen);
  preempt_gc();
  preempt_set_event_hook(NULL, NULL);
  preempt_gc(); /* unhooked: nothing more */
  static const enum preempt_event want[] = {
      PREEMPT_EVENT_GC_START, PREEMPT_EVENT_WORLD_STOPPED,
      PREEMPT_EVENT_MARK_END, PREEMPT_EVENT_WORLD_STARTING,
      PREEMPT_EVENT_GC_END};
  int k = 0;
  for (int i = 0; i < nseen && i < MAXEV; i++) {
    if (seen[i] == PREEMPT_EVENT_HEAP_RESIZE)
      continue; /* may come at the end */
    cr_assert_lt(k, 5, "more events than one collection's");
    cr_assert_eq(seen[i], want[k], "event %d is %d, not %d", k, seen[i],
                 want[k]);
    cr_assert_eq(values[i], values[0], "the collection number changed");
    k++;
  }
  cr_assert_eq(k, 5, "%d events", k);
}

Test(events, growing_the_heap_reports_its_size) {
  preempt_set_gc_percent(-1);
  preempt_set_event_hook(record, seen);
  void *volatile keep[64];
  for (int i = 0; i < 64; i++)
    keep[i] = preempt_alloc_noscan(1 << 20);
  preempt_set_event_hook(NULL, NULL);
  int resizes = 0;
  size_t last = 0;
  for (int i = 0; i < nseen && i < MAXEV; i++)
    if (seen[i] == PREEMPT_EVENT_HEAP_RESIZE) {
      cr_assert_gt(values[i], last, "the heap's size did not grow");
      last = values[i];
      resizes++;
    }
  cr_assert_gt(resizes, 0, "64 MiB allocated and no resize reported");
  cr_assert_geq(last, (size_t)64 << 20);
  (void)keep;
}

static char warned[1024];
static void on_warning(const char *msg, void *arg) {
  (void)arg;
  snprintf(warned, sizeof warned, "%s", msg);
}

Test(events, warnings_go_to_the_hook) {
  preempt_set_warning_hook(on_warning, NULL);
  preempt_set_heap_limit((size_t)1 << 62); /* above the reservation */
  preempt_set_warning_hook(NULL, NULL);
  cr_assert(strstr(warned, "preempt_set_heap_limit"), "got '%s'", warned);
  cr_assert(strncmp(warned, "preempt: ", 9), "the prefix was left in");
}

static void on_fatal(const char *msg, void *arg) {
  (void)arg;
  fprintf(stderr, "HOOKED<%s>\n", msg);
}

static void hooked_fatal(void) {
  preempt_set_fatal_hook(on_fatal, NULL);
  preempt_unpin(preempt_alloc(16)); /* fatal: not pinned */
}

Test(events, a_fatal_error_goes_to_the_hook_then_aborts) {
  char out[4096];
  int status = run_in_child(hooked_fatal, out, sizeof out);
  cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "%s", out);
  cr_assert(strstr(out, "HOOKED<fatal: preempt_unpin"), "%s", out);
  cr_assert_null(strstr(out, "preempt: fatal"), "also on stderr: %s", out);
}

static char reserve[4 << 20];
static size_t asked;
static void *give_reserve(size_t size, void *arg) {
  asked = size;
  return size <= sizeof reserve ? arg : NULL;
}

Test(events, the_oom_hook_answers_for_a_failed_allocation) {
  preempt_set_oom_policy(PREEMPT_OOM_NULL);
  preempt_set_oom_hook(give_reserve, reserve);
  void *p = preempt_alloc((size_t)1 << 41); /* more than any heap */
  cr_assert_eq(asked, (size_t)1 << 41);
  cr_assert_null(p, "the hook said NULL: the policy (NULL here) applies");
  /* A heap that cannot grow: 3 MiB blocks until one fails. */
  struct preempt_stats st;
  preempt_read_stats(&st);
  preempt_set_heap_limit(st.heap_mapped_bytes + (16 << 20));
  static void *keep[64];
  int i = 0;
  asked = 0;
  while (i < 64 && (keep[i] = preempt_alloc_noscan(3 << 20)) != reserve)
    cr_assert_not_null(keep[i++], "an allocation failed without the hook");
  cr_assert_lt(i, 64, "the heap limit never stopped the heap");
  cr_assert_eq(asked, (size_t)3 << 20);
  preempt_set_oom_hook(NULL, NULL);
}
