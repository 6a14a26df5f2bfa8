/* eintr: how many blocking calls a collector's stops cut short with EINTR.
 *
 * Three threads loop on nanosleep, poll (on a pipe nobody writes) and
 * sem_timedwait (on a semaphore nobody posts), each with a 20 ms timeout,
 * passing heap objects as the calls' arguments; the main thread stops and
 * restarts the world STOPS times (1 ms apart) and collects COLLECTIONS
 * times in between.  A collector that stops threads with a signal
 * installed with SA_RESTART still interrupts these calls: none of them is
 * restarted after a handler (man 7 signal).
 *
 * Built three ways (bench/eintr/run.py):
 *   -DEI_PREEMPT                     preempt, with the plugin (calls made
 *                                    blocking transitions)
 *   -DEI_PREEMPT -DEI_INDIRECT       the same, calls through pointers, which
 *                                    the plugin leaves alone
 *   -DEI_BOEHM                       Boehm GC (GC_stop_world_external)
 *
 *   eintr [stops [collections [timeout_ms [gap_us]]]]
 *
 * Prints one line per call and, last on stderr,
 *   STATS variant=V stops=N collections=N wrapped=0|1 <call>_calls=N
 *         <call>_eintr=N ... stop_total_us=N stop_max_us=N */
#define _GNU_SOURCE
#include <time.h>
#if defined(EI_BOEHM)
#define GC_THREADS
#include <gc/gc.h>
#define VARIANT "boehm"
#define ALLOC(n) GC_MALLOC(n)
#define INIT() GC_INIT()
#define STOP() GC_stop_world_external()
#define START() GC_start_world_external()
#define COLLECT() GC_gcollect()
#elif defined(EI_PREEMPT)
#include <preempt.h>
#ifdef EI_INDIRECT
#define VARIANT "preempt-indirect"
#else
#define VARIANT "preempt"
#endif
#define ALLOC(n) preempt_alloc(n)
#define INIT() do {} while (0)
#define STOP() preempt_stop_the_world("eintr")
#define START() preempt_start_the_world()
#define COLLECT() preempt_gc()
/* Non-null when the runtime's wrappers are linked in. */
extern int preempt_blocking_nanosleep(const struct timespec *, struct timespec *)
    __attribute__((weak));
#else
#error "build with -DEI_PREEMPT or -DEI_BOEHM"
#endif

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef EI_INDIRECT
/* Called through pointers the optimiser cannot see through. */
static int (*volatile nanosleep_p)(const struct timespec *, struct timespec *) =
    nanosleep;
static int (*volatile poll_p)(struct pollfd *, nfds_t, int) = poll;
static int (*volatile sem_timedwait_p)(sem_t *, const struct timespec *) =
    sem_timedwait;
#define NANOSLEEP (*nanosleep_p)
#define POLL (*poll_p)
#define SEM_TIMEDWAIT (*sem_timedwait_p)
#else
#define NANOSLEEP nanosleep
#define POLL poll
#define SEM_TIMEDWAIT sem_timedwait
#endif

enum { K_NANOSLEEP, K_POLL, K_SEM, NKINDS };
static const char *const names[NKINDS] = {"nanosleep", "poll", "sem_timedwait"};
static _Atomic int looping = 1;
static _Atomic long calls[NKINDS], eintrs[NKINDS], wrong;
static long timeout_ms = 20;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *looper(void *arg) {
  int k = (int)(intptr_t)arg;
  int fds[2] = {-1, -1};
  if (k == K_POLL && pipe(fds) != 0) {
    perror("pipe");
    exit(2);
  }
  while (atomic_load(&looping)) {
    int r;
    if (k == K_NANOSLEEP) {
      struct timespec *req = ALLOC(2 * sizeof *req);
      req->tv_nsec = timeout_ms * 1000000L;
      r = NANOSLEEP(req, req + 1);
    } else if (k == K_POLL) {
      struct pollfd *p = ALLOC(sizeof *p);
      p->fd = fds[0];
      p->events = POLLIN;
      r = POLL(p, 1, (int)timeout_ms);
    } else {
      struct {
        sem_t sem;
        struct timespec abstime;
      } *s = ALLOC(sizeof *s);
      sem_init(&s->sem, 0, 0);
      clock_gettime(CLOCK_REALTIME, &s->abstime);
      s->abstime.tv_nsec += timeout_ms * 1000000L;
      s->abstime.tv_sec += s->abstime.tv_nsec / 1000000000L;
      s->abstime.tv_nsec %= 1000000000L;
      r = SEM_TIMEDWAIT(&s->sem, &s->abstime);
      if (r == -1 && errno == ETIMEDOUT)
        r = 0;
    }
    atomic_fetch_add(&calls[k], 1);
    if (r == -1 && errno == EINTR)
      atomic_fetch_add(&eintrs[k], 1);
    else if (r != 0)
      atomic_fetch_add(&wrong, 1);
  }
  return NULL;
}

int main(int argc, char **argv) {
  long stops = argc > 1 ? atol(argv[1]) : 400;
  long collections = argc > 2 ? atol(argv[2]) : 10;
  timeout_ms = argc > 3 ? atol(argv[3]) : 20;
  long gap_us = argc > 4 ? atol(argv[4]) : 1000;
  if (stops < 1 || collections < 0 || collections > stops || timeout_ms < 1 ||
      gap_us < 0) {
    fprintf(stderr, "usage: eintr [stops [collections [timeout_ms [gap_us]]]]\n");
    return 2;
  }
  INIT();
  pthread_t t[NKINDS];
  for (int k = 0; k < NKINDS; k++)
    if (pthread_create(&t[k], NULL, looper, (void *)(intptr_t)k)) {
      perror("pthread_create");
      return 2;
    }
  struct timespec gap = {gap_us / 1000000, gap_us % 1000000 * 1000};
  nanosleep(&gap, NULL);
  long every = collections ? stops / collections : 0;
  uint64_t total = 0, max = 0;
  for (long i = 0; i < stops; i++) {
    uint64_t t0 = now_ns();
    STOP();
    START();
    uint64_t d = now_ns() - t0;
    total += d;
    max = d > max ? d : max;
    if (every && i % every == every - 1)
      COLLECT();
    nanosleep(&gap, NULL);
  }
  atomic_store(&looping, 0);
  for (int k = 0; k < NKINDS; k++)
    pthread_join(t[k], NULL);

  int wrapped = 0;
#if defined(EI_PREEMPT) && !defined(EI_INDIRECT)
  wrapped = preempt_blocking_nanosleep != NULL;
#endif
  char line[1024];
  int n = snprintf(line, sizeof line,
                   "STATS variant=%s stops=%ld collections=%ld wrapped=%d",
                   VARIANT, stops, collections, wrapped);
  for (int k = 0; k < NKINDS; k++) {
    printf("%-14s %6ld calls %6ld EINTR\n", names[k], atomic_load(&calls[k]),
           atomic_load(&eintrs[k]));
    n += snprintf(line + n, sizeof line - (size_t)n, " %s_calls=%ld %s_eintr=%ld",
                  names[k], atomic_load(&calls[k]), names[k],
                  atomic_load(&eintrs[k]));
  }
  snprintf(line + n, sizeof line - (size_t)n,
           " wrong=%ld stop_total_us=%llu stop_max_us=%llu", atomic_load(&wrong),
           (unsigned long long)(total / 1000), (unsigned long long)(max / 1000));
  fflush(stdout);
  fprintf(stderr, "%s\n", line);
  return atomic_load(&wrong) ? 1 : 0;
}
