/* preempt's stop-the-world, timed by harness.c: the spinners are plain
 * pthreads (attached by the runtime's pthread_create, and by
 * preempt_thread_attach at their start, which is harmless when they
 * already are); the measurer stops them with preempt_stop_the_world and
 * restarts them with preempt_start_the_world.  The spinners' loops make
 * no call, so only a stop by signal reaches them: a runtime that stops
 * threads at calls only ends the round with "did not stop".
 *
 * Build: clang-19 -O2 -fplugin=BUILD/lib/preempt.so -I include
 *        preempt_stw.c harness.c BUILD/lib/libpreempt.a -pthread
 * Usage: see harness.c. */
#include <preempt.h>

#include "harness.h"

static void preempt_bench_init(void) { preempt_thread_attach(); }

static void preempt_bench_thread_setup(int index) {
  (void)index;
  preempt_thread_attach();
}

static void preempt_bench_stop(void) { preempt_stop_the_world("bench/stw"); }

static void preempt_bench_start(void) { preempt_start_the_world(); }

int main(int argc, char **argv) {
  static const struct stw_system preempt_system = {
      .name = "preempt",
      .check_stopped = 1,
      .init = preempt_bench_init,
      .thread_setup = preempt_bench_thread_setup,
      .stop = preempt_bench_stop,
      .start = preempt_bench_start,
  };
  return stw_bench_main(argc, argv, &preempt_system);
}
