/* Multithreaded workloads whose printed results do not depend on the
 * schedule: every shared total is order-independent (sums, xors, maxima)
 * and per-thread results are printed by the main thread in join order.
 *
 * pool.c   a fixed-size thread pool with a mutex/condvar job queue, and a
 *          bounded blocking queue for producer/consumer tests
 * main.c   the workloads
 */
#ifndef MT_H
#define MT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* ---- thread pool ------------------------------------------------------- */

typedef void (*JobFn)(void *arg, int worker);

typedef struct Job {
  JobFn fn;
  void *arg;
  struct Job *next;
} Job;

typedef struct {
  pthread_mutex_t lock;
  pthread_cond_t work;  /* signalled when a job is queued or on shutdown */
  pthread_cond_t idle;  /* signalled when the last running job finishes */
  Job *head, *tail;
  int pending;          /* queued + running */
  int shutting_down;
  int nworkers;
  pthread_t *threads;
  atomic_long jobs_done;
} Pool;

void pool_start(Pool *p, int nworkers);
void pool_submit(Pool *p, JobFn fn, void *arg);
void pool_wait(Pool *p); /* until every submitted job has finished */
void pool_stop(Pool *p);

/* Index of the calling pool worker, -1 outside the pool (thread-local). */
int pool_worker_index(void);

/* ---- bounded queue ----------------------------------------------------- */

typedef struct {
  pthread_mutex_t lock;
  pthread_cond_t not_empty, not_full;
  int64_t *items;
  size_t cap, head, count;
  int closed;
} BQueue;

void bq_init(BQueue *q, size_t cap);
void bq_destroy(BQueue *q);
void bq_push(BQueue *q, int64_t v);
/* Returns 0 when the queue is closed and drained. */
int bq_pop(BQueue *q, int64_t *out);
void bq_close(BQueue *q);

#endif
