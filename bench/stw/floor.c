/* The machine's floor for stopping a thread by signal: one spinner on the
 * other core; the measurer sends it SIGURG with tgkill and spins until the
 * handler's reply.  No runtime can stop a running thread by signal faster
 * than this round trip (it also has to wait for the reply), so the other
 * columns are read as multiples of it.
 *
 * Built with -DFLOOR_PARK (floor-park), it is the least a stop can do, for
 * any number of spinners: a tgkill to each, and each handler replies and
 * then waits, as a stopped thread does, until the measurer restarts it:
 * asleep in a futex, its CPU idle.  The next signal after such a sleep is
 * slower to arrive on some machines.  With more spinners than other CPUs
 * some of them are not on a CPU when the stop begins, and the measurer
 * yields its own CPU while it waits (spinning would keep one that waits
 * for this CPU off it); otherwise it spins.  A runtime's stop can only be
 * slower than this row: it has to do the same and more.
 *
 * Build: clang-19 -O2 [-DFLOOR_PARK] floor.c harness.c -pthread.  Usage:
 * see harness.c (-n must be 1 for the floor, 1 to 64 for floor-park). */
#define _GNU_SOURCE
#include "harness.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/sysinfo.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_SPINNERS 64

static _Atomic pid_t spinner_tid[MAX_SPINNERS];
static _Atomic int spinners;
static _Atomic uint64_t answered; /* replies since the program began */
static uint64_t expected;         /* the measurer's: sends so far */
static _Atomic unsigned restarts; /* floor-park: futex word */
static pid_t pid;
static int cpus;

static void on_urg(int sig) {
  (void)sig;
  unsigned r = atomic_load(&restarts);
  atomic_fetch_add_explicit(&answered, 1, memory_order_release);
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
  cpus = get_nprocs();
}

static void floor_thread_setup(int index) {
  atomic_store(&spinner_tid[index], (pid_t)syscall(SYS_gettid));
  atomic_fetch_add(&spinners, 1);
}

static void floor_stop(void) {
  int n = atomic_load(&spinners); /* all of them: the first stop waits */
  for (int i = 0; i < n; i++)     /* until each has run (harness.c) */
    if (syscall(SYS_tgkill, pid, atomic_load(&spinner_tid[i]), SIGURG)) {
      perror("stw: floor: tgkill");
      exit(1);
    }
  expected += (uint64_t)n;
  int crowded = n + 1 > cpus;
  while (atomic_load_explicit(&answered, memory_order_acquire) != expected)
    if (crowded)
      sched_yield();
}

#ifdef FLOOR_PARK
static void floor_start(void) {
  atomic_fetch_add(&restarts, 1);
  syscall(SYS_futex, &restarts, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL,
          0);
}
#endif

int main(int argc, char **argv) {
  static const struct stw_system floor_system = {
#ifdef FLOOR_PARK
      .name = "floor-park",
      .check_stopped = 1,
      .start = floor_start,
      .max_threads = MAX_SPINNERS,
#else
      .name = "floor",
      .check_stopped = 0, /* the spinner answers and goes on */
      .max_threads = 1,
#endif
      .min_threads = 1,
      .init = floor_init,
      .thread_setup = floor_thread_setup,
      .stop = floor_stop,
  };
  return stw_bench_main(argc, argv, &floor_system);
}
