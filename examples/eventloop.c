/* Callbacks from a C library built without the plugin: evloop.c, a timer
 * loop with a worker thread of its own, calls on_tick(user, tick), which is
 * built with the plugin and allocates on the collected heap and collects.
 * Each timer's state is reachable only through the user-data pointer the
 * library keeps in malloc'd memory, which the collector never reads: the
 * state is pinned while the library holds it.
 *
 *   clang-19 -O2 -c evloop.c                     # the library: no plugin
 *   preempt-cc -O2 eventloop.c evloop.o -o eventloop && ./eventloop
 */
#include "evloop.h"

#include <preempt.h>
#include <stdatomic.h>
#include <stdio.h>

struct note {
  struct note *next;
  int tick;
};

struct timer_state {
  const char *name;
  int calls;
  struct note *notes;   /* heap objects reachable only through this state */
  preempt_callback *cb; /* the C function pointer the library calls */
};

static preempt_sig *sig_v_pi; /* void (void *, int): on_tick, evloop_run */
static atomic_int states_collected;

/* Runs on the library's worker thread, through the callback: the thread
 * is the runtime's for the call (stopped and scanned like any other). */
static void on_tick(void *user, int tick) {
  struct timer_state *s = user;
  struct note *n = preempt_new(struct note);
  n->tick = tick;
  n->next = s->notes;
  s->notes = n;
  s->calls++;
  for (int i = 0; i < 1000; i++) /* garbage, for the collector */
    preempt_alloc(100);
  preempt_gc(); /* here, on the library's thread */
  printf("tick %2d: %s\n", tick, s->name);
}

static void state_gone(void *obj, void *arg) {
  (void)obj, (void)arg;
  states_collected++;
}

static int add_timer(struct evloop *loop, const char *name, int period) {
  struct timer_state *s = preempt_new(struct timer_state);
  s->name = name;
  s->cb = preempt_callback_wrap(sig_v_pi, PREEMPT_FN(on_tick));
  preempt_set_finalizer(s, state_gone, NULL);
  preempt_pin(s); /* the library keeps s where the collector cannot see */
  return evloop_every(loop, period, (evloop_fn)preempt_callback_code(s->cb),
                      s);
}

/* The library hands the state back: every note must be there. */
static int check(struct evloop *loop, int timer, int period, int ticks) {
  struct timer_state *s = evloop_user(loop, timer);
  int want = ticks / period * period, ok = s->calls == ticks / period;
  printf("%s: %d calls, notes", s->name, s->calls);
  for (struct note *n = s->notes; n; n = n->next, want -= period) {
    printf(" %d", n->tick);
    ok &= n->tick == want;
  }
  printf("%s\n", ok && want == 0 ? "" : "  WRONG");
  preempt_unpin(s); /* the library is done with it */
  return ok && want == 0;
}

__attribute__((noinline)) static int run(int ticks) {
  struct evloop *loop = evloop_new();
  int fizz = add_timer(loop, "fizz", 3), buzz = add_timer(loop, "buzz", 5);
  /* This thread waits in the library in the blocking state: collections
   * started by the callbacks do not wait for it. */
  void *args[] = {&loop, &ticks};
  preempt_ffi_call(sig_v_pi, PREEMPT_FN(evloop_run), NULL, args);
  int ok = check(loop, fizz, 3, ticks) & check(loop, buzz, 5, ticks);
  evloop_free(loop);
  return ok;
}

int main(void) {
  sig_v_pi = preempt_sig_new("v(pi)", NULL, 0);
  int ok = run(15);
  preempt_gc(); /* unpinned and forgotten: the states go, and their notes */
  preempt_run_finalizers();
  printf("timer states collected: %d of 2\n", (int)states_collected);
  return ok && states_collected == 2 ? 0 : 1;
}
