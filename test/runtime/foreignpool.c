/* A library built without the plugin that runs callbacks on a thread of
 * its own, as a C library's thread pool or event loop does.  The runtime
 * never saw this code: the thread must still be attached (pthread_create
 * is wrapped) and stopped while the callback runs. */
#define _GNU_SOURCE /* ppoll */
#include <pthread.h>

struct job {
  void (*fn)(void *);
  void *arg;
};

static void *worker(void *p) {
  struct job *j = p;
  j->fn(j->arg);
  return NULL;
}

int foreign_pool_run(void (*fn)(void *), void *arg, pthread_t *th) {
  static struct job j;
  j.fn = fn;
  j.arg = arg;
  return pthread_create(th, NULL, worker, &j);
}

/* A library's signal thread: every signal blocked, waiting for them in
 * sigwait (mode 0), sigsuspend (1) or ppoll (2) with every signal but
 * SIGUSR1 blocked, until *quit.  Counts the stop signal (SIGURG) if it
 * ever gets it, which it must not. */
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>

struct foreign_waiter {
  int mode;
  _Atomic int quit, waiting, got_urg;
};

static void *waiter(void *p) {
  struct foreign_waiter *w = p;
  sigset_t all, but_usr1;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, NULL);
  sigfillset(&but_usr1);
  sigdelset(&but_usr1, SIGUSR1);
  while (!atomic_load(&w->quit)) {
    atomic_store(&w->waiting, 1);
    int sig = 0;
    if (w->mode == 0) {
      if (sigwait(&all, &sig) != 0)
        sig = 0;
    } else if (w->mode == 1) {
      sigsuspend(&but_usr1);
    } else {
      ppoll(NULL, 0, NULL, &but_usr1);
    }
    if (sig == SIGURG)
      atomic_fetch_add(&w->got_urg, 1);
  }
  return NULL;
}

int foreign_waiter_start(struct foreign_waiter *w, pthread_t *th) {
  return pthread_create(th, NULL, waiter, w);
}
