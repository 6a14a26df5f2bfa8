/* Boehm GC's stop-the-world, timed by harness.c: the spinners are started
 * with GC_pthread_create (so the collector knows them), the measurer
 * stops them with GC_stop_world_external and restarts them with
 * GC_start_world_external (libgc 8.2, declared in gc.h under GC_THREADS:
 * the collector's own stop, SIGPWR to every registered thread and a
 * semaphore post from each handler, taken under the allocation lock).
 *
 * Build: clang-19 -O2 boehm_stw.c harness.c -lgc -pthread.  Usage: see
 * harness.c. */
#define GC_THREADS
#include <gc.h>

#include "harness.h"

static void boehm_init(void) { GC_INIT(); }

static int boehm_create(pthread_t *th, void *(*fn)(void *), void *arg) {
  return GC_pthread_create(th, NULL, fn, arg);
}

static void boehm_stop(void) { GC_stop_world_external(); }

static void boehm_start(void) { GC_start_world_external(); }

int main(int argc, char **argv) {
  static const struct stw_system boehm_system = {
      .name = "boehm",
      .check_stopped = 1,
      .init = boehm_init,
      .create = boehm_create,
      .stop = boehm_stop,
      .start = boehm_start,
  };
  return stw_bench_main(argc, argv, &boehm_system);
}
