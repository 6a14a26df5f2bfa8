/* Thread pool and bounded blocking queue. */
#include "mt.h"

#include <stdio.h>
#include <stdlib.h>

static _Thread_local int worker_index = -1;

int pool_worker_index(void) { return worker_index; }

typedef struct {
  Pool *pool;
  int index;
} WorkerArg;

static void *worker_main(void *varg) {
  WorkerArg a = *(WorkerArg *)varg;
  free(varg);
  Pool *p = a.pool;
  worker_index = a.index;
  pthread_mutex_lock(&p->lock);
  for (;;) {
    while (!p->head && !p->shutting_down)
      pthread_cond_wait(&p->work, &p->lock);
    if (!p->head) /* shutting down and nothing left */
      break;
    Job *j = p->head;
    p->head = j->next;
    if (!p->head)
      p->tail = NULL;
    pthread_mutex_unlock(&p->lock);

    j->fn(j->arg, a.index); /* run outside the lock */
    free(j);
    atomic_fetch_add_explicit(&p->jobs_done, 1, memory_order_relaxed);

    pthread_mutex_lock(&p->lock);
    if (--p->pending == 0)
      pthread_cond_broadcast(&p->idle);
  }
  pthread_mutex_unlock(&p->lock);
  return NULL;
}

void pool_start(Pool *p, int nworkers) {
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->work, NULL);
  pthread_cond_init(&p->idle, NULL);
  p->head = p->tail = NULL;
  p->pending = 0;
  p->shutting_down = 0;
  p->nworkers = nworkers;
  atomic_init(&p->jobs_done, 0);
  p->threads = calloc((size_t)nworkers, sizeof *p->threads);
  if (!p->threads)
    abort();
  for (int i = 0; i < nworkers; i++) {
    WorkerArg *a = malloc(sizeof *a);
    if (!a)
      abort();
    *a = (WorkerArg){p, i};
    if (pthread_create(&p->threads[i], NULL, worker_main, a) != 0) {
      fprintf(stderr, "pthread_create failed\n");
      exit(1);
    }
  }
}

void pool_submit(Pool *p, JobFn fn, void *arg) {
  Job *j = malloc(sizeof *j);
  if (!j)
    abort();
  *j = (Job){fn, arg, NULL};
  pthread_mutex_lock(&p->lock);
  if (p->tail)
    p->tail->next = j;
  else
    p->head = j;
  p->tail = j;
  p->pending++;
  pthread_cond_signal(&p->work);
  pthread_mutex_unlock(&p->lock);
}

void pool_wait(Pool *p) {
  pthread_mutex_lock(&p->lock);
  while (p->pending > 0)
    pthread_cond_wait(&p->idle, &p->lock);
  pthread_mutex_unlock(&p->lock);
}

void pool_stop(Pool *p) {
  pthread_mutex_lock(&p->lock);
  p->shutting_down = 1;
  pthread_cond_broadcast(&p->work);
  pthread_mutex_unlock(&p->lock);
  for (int i = 0; i < p->nworkers; i++)
    pthread_join(p->threads[i], NULL);
  free(p->threads);
  pthread_cond_destroy(&p->work);
  pthread_cond_destroy(&p->idle);
  pthread_mutex_destroy(&p->lock);
}

/* ---- bounded queue ----------------------------------------------------- */

void bq_init(BQueue *q, size_t cap) {
  pthread_mutex_init(&q->lock, NULL);
  pthread_cond_init(&q->not_empty, NULL);
  pthread_cond_init(&q->not_full, NULL);
  q->items = malloc(cap * sizeof *q->items);
  if (!q->items)
    abort();
  q->cap = cap;
  q->head = q->count = 0;
  q->closed = 0;
}

void bq_destroy(BQueue *q) {
  free(q->items);
  pthread_cond_destroy(&q->not_empty);
  pthread_cond_destroy(&q->not_full);
  pthread_mutex_destroy(&q->lock);
}

void bq_push(BQueue *q, int64_t v) {
  pthread_mutex_lock(&q->lock);
  while (q->count == q->cap)
    pthread_cond_wait(&q->not_full, &q->lock);
  q->items[(q->head + q->count++) % q->cap] = v;
  pthread_cond_signal(&q->not_empty);
  pthread_mutex_unlock(&q->lock);
}

int bq_pop(BQueue *q, int64_t *out) {
  pthread_mutex_lock(&q->lock);
  while (q->count == 0 && !q->closed)
    pthread_cond_wait(&q->not_empty, &q->lock);
  int got = q->count > 0;
  if (got) {
    *out = q->items[q->head];
    q->head = (q->head + 1) % q->cap;
    q->count--;
    pthread_cond_signal(&q->not_full);
  }
  pthread_mutex_unlock(&q->lock);
  return got;
}

void bq_close(BQueue *q) {
  pthread_mutex_lock(&q->lock);
  q->closed = 1;
  pthread_cond_broadcast(&q->not_empty);
  pthread_mutex_unlock(&q->lock);
}
