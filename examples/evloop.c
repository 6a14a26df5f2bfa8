/* evloop: see evloop.h.  Plain C, built without the plugin. */
#include "evloop.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#define EVLOOP_MAX 8

struct evloop {
  struct {
    int period;
    evloop_fn fn;
    void *user; /* the library's only copy once the caller forgets it */
  } timers[EVLOOP_MAX];
  int ntimers, ticks;
};

struct evloop *evloop_new(void) { return calloc(1, sizeof(struct evloop)); }

int evloop_every(struct evloop *loop, int period, evloop_fn fn, void *user) {
  if (loop->ntimers == EVLOOP_MAX || period < 1)
    return -1;
  int t = loop->ntimers++;
  loop->timers[t].period = period;
  loop->timers[t].fn = fn;
  loop->timers[t].user = user;
  return t;
}

void *evloop_user(const struct evloop *loop, int timer) {
  return timer >= 0 && timer < loop->ntimers ? loop->timers[timer].user : NULL;
}

static void *worker(void *arg) {
  struct evloop *loop = arg;
  for (int tick = 1; tick <= loop->ticks; tick++) {
    nanosleep(&(struct timespec){0, 1000000}, NULL);
    for (int t = 0; t < loop->ntimers; t++)
      if (tick % loop->timers[t].period == 0)
        loop->timers[t].fn(loop->timers[t].user, tick);
  }
  return NULL;
}

void evloop_run(struct evloop *loop, int ticks) {
  pthread_t thread;
  loop->ticks = ticks;
  if (pthread_create(&thread, NULL, worker, loop) == 0)
    pthread_join(thread, NULL);
}

void evloop_free(struct evloop *loop) { free(loop); }
