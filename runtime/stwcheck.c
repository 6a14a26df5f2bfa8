/* PREEMPT=stwcheck=1: a watchdog for stops made with the public API.
 *
 * The common mistake while the world is stopped is to take a lock that a
 * stopped thread holds (malloc's, stdio's, the dynamic linker's): the
 * stopping thread then waits for ever, and only sometimes, when a stopped
 * thread happened to be inside.  Another is to forget to start the world.
 * Both look the same from outside: a stop that does not end.  The
 * watchdog, a thread of its own that is never stopped, reports a stop
 * older than PREEMPT=stwtimeout seconds once: the holder, the reason, and
 * the holder's stack, which it prints itself from the stop signal's
 * handler (a lock wait in malloc shows as malloc on that stack).  It does
 * not end the program: a long stop may be meant. */
#define _GNU_SOURCE
#include "options.h"
#include "signals.h"
#include "stw.h"
#include "threads.h"

#include <execinfo.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static struct {
  _Atomic long holder; /* 0: no API stop in force */
  const char *reason;
  uint64_t since;
  _Atomic bool want_stack; /* the holder should print its stack */
} watch;

static void say(const char *msg) {
  for (size_t n = strlen(msg); n;) {
    ssize_t w = write(2, msg, n);
    if (w <= 0)
      return;
    msg += w;
    n -= (size_t)w;
  }
}

void preempt_stwcheck_on_signal(void) {
  if (!atomic_load(&watch.want_stack) ||
      atomic_load(&watch.holder) != (long)syscall(SYS_gettid))
    return;
  atomic_store(&watch.want_stack, false);
  void *frames[64];
  int n = backtrace(frames, 64);
  say("preempt: stwcheck: the stopping thread is here (innermost first; "
      "the first frames are the runtime's signal handler):\n");
  backtrace_symbols_fd(frames, n, 2);
}

static void *watchdog(void *arg) {
  (void)arg;
  long reported = 0;
  uint64_t reported_since = 0;
  for (;;) {
    struct timespec ts = {0, 100000000};
    nanosleep(&ts, NULL);
    long holder = atomic_load(&watch.holder);
    uint64_t since = watch.since;
    if (!holder || (holder == reported && since == reported_since))
      continue;
    uint64_t age = preempt_now_ns() - since;
    if (age < (uint64_t)preempt_opts.stw_timeout_s * 1000000000u)
      continue;
    reported = holder;
    reported_since = since;
    char msg[512];
    snprintf(msg, sizeof msg,
             "preempt: stwcheck: the world has been stopped for %llu s by "
             "thread %ld (\"%s\") and not started again.  While it is "
             "stopped, that thread must not take a lock a stopped thread "
             "may hold (malloc, stdio, the dynamic linker, the program's "
             "own), and it must call preempt_start_the_world().\n",
             (unsigned long long)(age / 1000000000u), holder,
             watch.reason ? watch.reason : "?");
    say(msg);
    atomic_store(&watch.want_stack, true);
    preempt_signal_send_tid(holder);
  }
  return NULL;
}

void preempt_stwcheck_arm(long holder, const char *reason) {
  static bool started;
  if (!started) {
    started = true;
    void *frames[1];
    backtrace(frames, 1); /* loads libgcc_s now, not in the handler */
    pthread_t th;
    if (preempt_thread_create_unattached(&th, watchdog, NULL))
      preempt_warn("stwcheck: cannot start the watchdog thread");
  }
  watch.reason = reason;
  watch.since = preempt_now_ns();
  atomic_store(&watch.holder, holder);
}

void preempt_stwcheck_disarm(void) { atomic_store(&watch.holder, 0); }
