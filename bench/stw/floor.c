/* The machine's floor for stopping a thread by signal: one spinner on the
 * other core; the measurer sends it SIGURG with tgkill and spins until the
 * handler's reply.  No runtime can stop a running thread by signal faster
 * than this round trip (it also has to wait for the reply), so the other
 * columns are read as multiples of it.
 *
 * Built with -DFLOOR_PARK (floor-park), the handler then waits, as a
 * stopped thread does, until the measurer restarts it: asleep in a futex,
 * its CPU idle.  That is the least a stop can do, and the next signal
 * after such a sleep is slower to arrive on some machines: the row shows
 * how much of a runtime's figure that is.
 *
 * Build: clang-19 -O2 [-DFLOOR_PARK] floor.c harness.c -pthread.  Usage:
 * see harness.c (-n must be 1). */
#define _GNU_SOURCE
#include "harness.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

static _Atomic pid_t spinner_tid;
static _Atomic uint64_t sent, answered;
static _Atomic unsigned restarts; /* floor-park: futex word */
static pid_t pid;

static void on_urg(int sig) {
  (void)sig;
  unsigned r = atomic_load(&restarts);
  atomic_store_explicit(&answered, atomic_load_explicit(&sent,
                                                        memory_order_relaxed),
                        memory_order_release);
#ifdef FLOOR_PARK
  while (atomic_load(&restarts) == r)
    syscall(SYS_futex, &restarts, FUTEX_WAIT_PRIVATE, r, NULL, NULL, 0);
#else
  (void)r;
#endif
}

static void floor_init(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_urg;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGURG, &sa, NULL);
  pid = getpid();
}

static void floor_thread_setup(int index) {
  (void)index;
  atomic_store(&spinner_tid, (pid_t)syscall(SYS_gettid));
}

static void floor_stop(void) {
  uint64_t s = atomic_load_explicit(&sent, memory_order_relaxed) + 1;
  atomic_store_explicit(&sent, s, memory_order_relaxed);
  if (syscall(SYS_tgkill, pid, atomic_load(&spinner_tid), SIGURG) != 0) {
    perror("stw: floor: tgkill");
    exit(1);
  }
  while (atomic_load_explicit(&answered, memory_order_acquire) != s)
    ;
}

static void floor_start(void) {
  atomic_fetch_add(&restarts, 1);
  syscall(SYS_futex, &restarts, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

int main(int argc, char **argv) {
  static const struct stw_system floor_system = {
#ifdef FLOOR_PARK
      .name = "floor-park",
      .check_stopped = 1,
      .start = floor_start,
#else
      .name = "floor",
      .check_stopped = 0, /* the spinner answers and goes on */
#endif
      .min_threads = 1,
      .max_threads = 1,
      .init = floor_init,
      .thread_setup = floor_thread_setup,
      .stop = floor_stop,
  };
  return stw_bench_main(argc, argv, &floor_system);
}
