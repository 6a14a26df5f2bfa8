/* A library built without the plugin that runs callbacks on a thread of
 * its own, as a C library's thread pool or event loop does.  The runtime
 * never saw this code: the thread must still be attached (pthread_create
 * is wrapped) and stopped while the callback runs. */
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
