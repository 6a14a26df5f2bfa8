/* The measuring loop shared by the C stop-the-world benchmarks (floor.c,
 * preempt_stw.c, boehm_stw.c).  Each program describes how its system
 * stops and restarts the other threads; harness.c starts the spinners,
 * times the stops and checks that they really stopped.  See
 * bench/stw/run.py and bench/README.md. */
#ifndef STW_HARNESS_H
#define STW_HARNESS_H

#include <pthread.h>

struct stw_system {
  const char *name;
  int min_threads, max_threads; /* spinners it supports (max 0: no limit) */
  int check_stopped; /* spinners must not advance between stop and start */
  /* Once in main before any spinner starts (may be NULL). */
  void (*init)(void);
  /* In each spinner before its loop, index 0..n-1 (may be NULL). */
  void (*thread_setup)(int index);
  /* Starts a spinner (NULL: pthread_create). */
  int (*create)(pthread_t *th, void *(*fn)(void *), void *arg);
  /* Returns when every spinner is stopped (the floor: when the signalled
   * spinner has answered).  Timed from just before the call to just
   * after it returns. */
  void (*stop)(void);
  void (*start)(void); /* may be NULL */
};

/* Parses the command line (see usage in harness.c), runs the rounds and
 * prints the samples; returns main's exit status. */
int stw_bench_main(int argc, char **argv, const struct stw_system *sys);

#endif
