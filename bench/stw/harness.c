/* The measuring loop of the C stop-the-world benchmarks.
 *
 * Usage: PROGRAM [-n SPINNERS] [-r ROUNDS] [-w WARMUP] [-H HOLD_US]
 *                [-t TIMEOUT_S]
 *   defaults: 1 spinner, 2000 rounds, 20 warm-up rounds (dropped),
 *   50 us hold, 10 s per round before "did not stop".
 *
 * Each spinner is a call-free loop storing an increasing count to its own
 * progress counter (one cache line each, so that the spinners and the
 * measurer do not slow each other by false sharing).  Each round:
 *
 *   1. wait until every spinner's counter has moved since the last round
 *      (sched_yield meanwhile, so that with more spinners than cores they
 *      all get a turn): a stop is only timed against spinners that were
 *      running, not against threads still asleep from the last stop;
 *   2. t0 = clock_gettime; sys->stop(); t1 = clock_gettime;
 *   3. (systems that stop) read every counter, spin HOLD_US, read them
 *      again: a spinner that advanced was not stopped, which is an error
 *      (exit status 1, reported once the world runs again: no stdio or
 *      malloc while it is stopped), whatever the timing;
 *   4. sys->start().
 *
 * A round that takes longer than TIMEOUT_S (alarm) ends the program with
 * "did not stop" and exit status 3 instead of hanging: a runtime that can
 * only stop threads at calls never stops these spinners.
 *
 * stdout:
 *   STW system=S threads=N rounds=R warmup=W hold_us=H
 *   SAMPLES_NS t1-t0 of every round after the warm-up, in order
 *   SUMMARY p50_us=.. p99_us=.. max_us=..
 */
#define _GNU_SOURCE
#include "harness.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct progress {
  _Alignas(64) _Atomic uint64_t count;
};

static struct progress *progress;
static _Atomic int quit;
static const struct stw_system *sys;
static int nthreads;

/* What the alarm handler reports. */
static const char *volatile phase = "starting the spinners";
static volatile int current_round = -1;
static int timeout_s;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The spinner: no call between its setup and the end of the benchmark. */
static void *spin(void *arg) {
  int index = (int)(intptr_t)arg;
  if (sys->thread_setup)
    sys->thread_setup(index);
  _Atomic uint64_t *mine = &progress[index].count;
  uint64_t n = 0;
  while (!atomic_load_explicit(&quit, memory_order_relaxed))
    atomic_store_explicit(mine, ++n, memory_order_relaxed);
  return NULL;
}

/* Async-signal-safe output for the alarm handler. */
static void put(const char *s) {
  ssize_t r = write(2, s, strlen(s));
  (void)r;
}

static void put_int(long v) {
  char buf[24], *p = buf + sizeof buf;
  *--p = 0;
  int neg = v < 0;
  unsigned long u = neg ? -(unsigned long)v : (unsigned long)v;
  do
    *--p = (char)('0' + u % 10);
  while (u /= 10);
  if (neg)
    *--p = '-';
  put(p);
}

static void on_alarm(int sig) {
  (void)sig;
  put("stw: ");
  put(sys->name);
  put(", ");
  put_int(nthreads);
  put(" spinner(s), round ");
  put_int(current_round);
  put(": DID NOT STOP within ");
  put_int(timeout_s);
  put(" s (");
  put(phase);
  put(")\n");
  _exit(3);
}

static void wait_running(uint64_t *snap) {
  for (int i = 0; i < nthreads; i++)
    snap[i] = atomic_load_explicit(&progress[i].count, memory_order_relaxed);
  for (int i = 0; i < nthreads;) {
    if (atomic_load_explicit(&progress[i].count, memory_order_relaxed) !=
        snap[i])
      i++;
    else
      sched_yield();
  }
}

/* Reads the counters, spins hold_ns, reads them again into after[].
 * Nothing here may take a lock (no stdio, no malloc): a stopped spinner
 * could hold it in some runtimes.  Returns how many spinners moved. */
static int check_stopped(uint64_t *before, uint64_t *after, uint64_t hold_ns) {
  for (int i = 0; i < nthreads; i++)
    before[i] = atomic_load_explicit(&progress[i].count, memory_order_relaxed);
  uint64_t until = now_ns() + hold_ns;
  while (now_ns() < until)
    ;
  int moved = 0;
  for (int i = 0; i < nthreads; i++) {
    after[i] = atomic_load_explicit(&progress[i].count, memory_order_relaxed);
    moved += after[i] != before[i];
  }
  return moved;
}

static void report_moved(const uint64_t *before, const uint64_t *after,
                         uint64_t hold_ns, int round) {
  for (int i = 0; i < nthreads; i++)
    if (after[i] != before[i])
      fprintf(stderr,
              "stw: %s, %d spinner(s), round %d: SPINNER %d ADVANCED by %llu "
              "while the world was stopped (between the return of stop and "
              "%llu us later)\n",
              sys->name, nthreads, round, i,
              (unsigned long long)(after[i] - before[i]),
              (unsigned long long)(hold_ns / 1000));
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Nearest rank. */
static double percentile_us(const uint64_t *sorted, int n, double p) {
  int k = (int)((p / 100.0) * n + 0.999999);
  if (k < 1)
    k = 1;
  if (k > n)
    k = n;
  return sorted[k - 1] / 1000.0;
}

static int usage(const char *prog) {
  fprintf(stderr,
          "usage: %s [-n SPINNERS] [-r ROUNDS] [-w WARMUP] [-H HOLD_US] "
          "[-t TIMEOUT_S]\n",
          prog);
  return 2;
}

int stw_bench_main(int argc, char **argv, const struct stw_system *system) {
  sys = system;
  nthreads = 1;
  int rounds = 2000, warmup = 20, hold_us = 50, opt;
  timeout_s = 10;
  while ((opt = getopt(argc, argv, "n:r:w:H:t:")) != -1) {
    switch (opt) {
    case 'n': nthreads = atoi(optarg); break;
    case 'r': rounds = atoi(optarg); break;
    case 'w': warmup = atoi(optarg); break;
    case 'H': hold_us = atoi(optarg); break;
    case 't': timeout_s = atoi(optarg); break;
    default: return usage(argv[0]);
    }
  }
  if (optind != argc || nthreads < 0 || rounds < 1 || warmup < 0 ||
      hold_us < 0 || timeout_s < 1)
    return usage(argv[0]);
  if (nthreads < sys->min_threads ||
      (sys->max_threads && nthreads > sys->max_threads)) {
    if (sys->max_threads)
      fprintf(stderr, "stw: %s measures %d to %d spinner(s), not %d\n",
              sys->name, sys->min_threads, sys->max_threads, nthreads);
    else
      fprintf(stderr, "stw: %s measures %d spinner(s) or more, not %d\n",
              sys->name, sys->min_threads, nthreads);
    return 2;
  }

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  /* The spinners inherit a blocked SIGALRM: the alarm goes to main, which
   * knows what it was waiting for. */
  sigset_t alrm;
  sigemptyset(&alrm);
  sigaddset(&alrm, SIGALRM);
  pthread_sigmask(SIG_BLOCK, &alrm, NULL);
  alarm((unsigned)timeout_s);

  if (sys->init)
    sys->init();
  progress = aligned_alloc(64, sizeof *progress * (nthreads ? nthreads : 1));
  uint64_t *snap = malloc(sizeof *snap * (nthreads ? nthreads : 1));
  uint64_t *after = malloc(sizeof *after * (nthreads ? nthreads : 1));
  pthread_t *th = malloc(sizeof *th * (nthreads ? nthreads : 1));
  uint64_t *samples = malloc(sizeof *samples * (size_t)rounds);
  if (!progress || !snap || !after || !th || !samples) {
    fprintf(stderr, "stw: out of memory\n");
    return 1;
  }
  for (int i = 0; i < nthreads; i++) {
    atomic_init(&progress[i].count, 0);
    int err = sys->create ? sys->create(&th[i], spin, (void *)(intptr_t)i)
                          : pthread_create(&th[i], NULL, spin,
                                           (void *)(intptr_t)i);
    if (err) {
      fprintf(stderr, "stw: %s: cannot start spinner %d: %s\n", sys->name,
              i, strerror(err));
      return 1;
    }
  }
  pthread_sigmask(SIG_UNBLOCK, &alrm, NULL);

  int failed = 0;
  for (int r = 0; r < warmup + rounds; r++) {
    current_round = r;
    alarm((unsigned)timeout_s);
    phase = "waiting until every spinner runs";
    wait_running(snap);
    phase = "stopping";
    uint64_t t0 = now_ns();
    sys->stop();
    uint64_t t1 = now_ns();
    int moved = 0;
    if (sys->check_stopped) {
      phase = "holding the world stopped";
      moved = check_stopped(snap, after, (uint64_t)hold_us * 1000);
    }
    phase = "starting";
    if (sys->start)
      sys->start();
    if (moved) {
      report_moved(snap, after, (uint64_t)hold_us * 1000, r);
      failed = 1;
    }
    if (r >= warmup)
      samples[r - warmup] = t1 - t0;
    if (failed)
      break;
  }
  phase = "joining the spinners";
  atomic_store(&quit, 1);
  for (int i = 0; i < nthreads; i++)
    pthread_join(th[i], NULL);
  alarm(0);
  if (failed)
    return 1;

  printf("STW system=%s threads=%d rounds=%d warmup=%d hold_us=%d\n",
         sys->name, nthreads, rounds, warmup, hold_us);
  printf("SAMPLES_NS");
  for (int i = 0; i < rounds; i++)
    printf(" %llu", (unsigned long long)samples[i]);
  printf("\n");
  qsort(samples, (size_t)rounds, sizeof *samples, cmp_u64);
  printf("SUMMARY p50_us=%.1f p99_us=%.1f max_us=%.1f\n",
         percentile_us(samples, rounds, 50), percentile_us(samples, rounds, 99),
         samples[rounds - 1] / 1000.0);
  return 0;
}
