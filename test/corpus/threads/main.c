/* Multithreaded workloads with schedule-independent output. */
#include "mt.h"

#include <limits.h>
#include <sched.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NTHREADS 6

static void start_or_die(pthread_t *t, void *(*fn)(void *), void *arg) {
  if (pthread_create(t, NULL, fn, arg) != 0) {
    fprintf(stderr, "pthread_create failed\n");
    exit(1);
  }
}

/* ---- 1. shared counters: atomic, mutex, spinlock ----------------------- */

static atomic_long a_counter;
static atomic_ulong a_xor;
static atomic_long a_max = LONG_MIN;
static long m_counter;
static pthread_mutex_t m_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_flag spin = ATOMIC_FLAG_INIT;
static long s_counter;

static void spin_lock(void) {
  while (atomic_flag_test_and_set_explicit(&spin, memory_order_acquire))
    ; /* busy wait: the critical sections are tiny */
}

static void spin_unlock(void) {
  atomic_flag_clear_explicit(&spin, memory_order_release);
}

static void atomic_max_update(long v) {
  long cur = atomic_load_explicit(&a_max, memory_order_relaxed);
  while (v > cur &&
         !atomic_compare_exchange_weak_explicit(&a_max, &cur, v,
                                                memory_order_relaxed,
                                                memory_order_relaxed))
    ; /* cur was reloaded by the failed exchange */
}

static void *counter_thread(void *arg) {
  long id = (long)(intptr_t)arg;
  for (long i = 0; i < 20000; i++) {
    atomic_fetch_add_explicit(&a_counter, i % 7, memory_order_relaxed);
    atomic_fetch_xor(&a_xor, (unsigned long)(id * 100003 + i) * 2654435761u);
    if (i % 16 == 0) {
      pthread_mutex_lock(&m_lock);
      m_counter += id + 1;
      pthread_mutex_unlock(&m_lock);
      spin_lock();
      s_counter += 2;
      spin_unlock();
    }
    atomic_max_update((id * 7919 + i * 31) % 100000);
  }
  return (void *)(intptr_t)(id * id); /* read back by pthread_join */
}

static void test_counters(void) {
  pthread_t t[NTHREADS];
  for (long i = 0; i < NTHREADS; i++)
    start_or_die(&t[i], counter_thread, (void *)(intptr_t)i);
  long joined = 0;
  for (int i = 0; i < NTHREADS; i++) {
    void *ret;
    pthread_join(t[i], &ret);
    joined += (long)(intptr_t)ret;
  }
  printf("counters: atomic %ld xor %016lx max %ld mutex %ld spin %ld joined %ld\n",
         atomic_load(&a_counter), atomic_load(&a_xor), atomic_load(&a_max),
         m_counter, s_counter, joined);
}

/* ---- 2. thread-local state --------------------------------------------- */

static _Thread_local long tls_sum;
static _Thread_local int tls_calls = 100; /* each thread starts at 100 */
static __thread char tls_name[16];
static _Thread_local uint32_t tls_table[64];

static void tls_accumulate(long v) {
  tls_sum += v;
  tls_calls++;
  tls_table[v & 63] += (uint32_t)v;
}

/* Takes the address of a thread-local: must be this thread's copy. */
static uint32_t table_hash(const uint32_t *table, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++)
    h = (h ^ table[i]) * 16777619u;
  return h;
}

typedef struct {
  int id;
  long sum;
  int calls;
  uint32_t hash;
  char name[16];
  int worker_index;
} TlsResult;

static void *tls_thread(void *arg) {
  TlsResult *r = arg;
  snprintf(tls_name, sizeof tls_name, "thr-%d", r->id);
  for (long i = 0; i < 5000 + 1000 * r->id; i++)
    tls_accumulate(i * (r->id + 1));
  r->sum = tls_sum;
  r->calls = tls_calls;
  r->hash = table_hash(tls_table, 64);
  memcpy(r->name, tls_name, sizeof r->name);
  r->worker_index = pool_worker_index(); /* -1: not a pool thread */
  return NULL;
}

static void test_tls(void) {
  pthread_t t[NTHREADS];
  TlsResult res[NTHREADS];
  for (int i = 0; i < NTHREADS; i++) {
    memset(&res[i], 0, sizeof res[i]);
    res[i].id = i;
    start_or_die(&t[i], tls_thread, &res[i]);
  }
  for (int i = 0; i < NTHREADS; i++) {
    pthread_join(t[i], NULL);
    printf("tls %s: sum %ld calls %d hash %08x pool index %d\n", res[i].name,
           res[i].sum, res[i].calls, res[i].hash, res[i].worker_index);
  }
  printf("tls main: sum %ld calls %d name '%s'\n", tls_sum, tls_calls, tls_name);
}

/* ---- 3. thread pool: prime counting in segments ------------------------ */

typedef struct {
  long lo, hi;
  long primes;
  long largest;
  uint64_t hash;
} Segment;

static int is_prime(long n) {
  if (n < 2)
    return 0;
  if (n % 2 == 0)
    return n == 2;
  for (long d = 3; d * d <= n; d += 2)
    if (n % d == 0)
      return 0;
  return 1;
}

static void segment_job(void *arg, int worker) {
  (void)worker; /* which worker ran it must not matter */
  Segment *s = arg;
  for (long n = s->lo; n < s->hi; n++)
    if (is_prime(n)) {
      s->primes++;
      s->largest = n;
      s->hash = s->hash * 31 + (uint64_t)n;
    }
}

static void test_pool(void) {
  enum { NSEG = 24 };
  Segment seg[NSEG];
  Pool pool;
  pool_start(&pool, 4);
  for (int i = 0; i < NSEG; i++) {
    seg[i] = (Segment){i * 5000L, (i + 1) * 5000L, 0, 0, 0};
    pool_submit(&pool, segment_job, &seg[i]);
  }
  pool_wait(&pool);
  long total = 0;
  uint64_t h = 0;
  for (int i = 0; i < NSEG; i++) {
    total += seg[i].primes;
    h = h * 1000003 + seg[i].hash;
    if (i % 6 == 5)
      printf("pool: segment %2d [%6ld, %6ld): %ld primes, largest %ld\n", i,
             seg[i].lo, seg[i].hi, seg[i].primes, seg[i].largest);
  }
  /* a second batch on the same pool, then shut down */
  for (int i = 0; i < NSEG; i++) {
    seg[i] = (Segment){1000000 + i * 1000L, 1000000 + (i + 1) * 1000L, 0, 0, 0};
    pool_submit(&pool, segment_job, &seg[i]);
  }
  pool_wait(&pool);
  long second = 0;
  for (int i = 0; i < NSEG; i++)
    second += seg[i].primes;
  long done = atomic_load(&pool.jobs_done);
  pool_stop(&pool);
  printf("pool: primes below %d: %ld, hash %016llx; in [1e6, 1e6+%d): %ld; "
         "jobs %ld\n",
         NSEG * 5000, total, (unsigned long long)h, NSEG * 1000, second, done);
}

/* ---- 4. producer / consumer -------------------------------------------- */

typedef struct {
  BQueue *q;
  long count;
  int64_t sum;
  uint64_t xor_all;
} Consumer;

static void *consumer_thread(void *arg) {
  Consumer *c = arg;
  int64_t v;
  while (bq_pop(c->q, &v)) {
    c->count++;
    c->sum += v;
    c->xor_all ^= (uint64_t)v * 0x9e3779b97f4a7c15u;
  }
  return NULL;
}

typedef struct {
  BQueue *q;
  int id, n;
} Producer;

static void *producer_thread(void *arg) {
  Producer *p = arg;
  for (int i = 0; i < p->n; i++)
    bq_push(p->q, (int64_t)p->id * 1000000 + i * i);
  return NULL;
}

static void test_queue(void) {
  enum { NPROD = 3, NCONS = 4, PER = 4000 };
  BQueue q;
  bq_init(&q, 64);
  pthread_t pt[NPROD], ct[NCONS];
  Producer prod[NPROD];
  Consumer cons[NCONS];
  for (int i = 0; i < NCONS; i++) {
    cons[i] = (Consumer){&q, 0, 0, 0};
    start_or_die(&ct[i], consumer_thread, &cons[i]);
  }
  for (int i = 0; i < NPROD; i++) {
    prod[i] = (Producer){&q, i + 1, PER};
    start_or_die(&pt[i], producer_thread, &prod[i]);
  }
  for (int i = 0; i < NPROD; i++)
    pthread_join(pt[i], NULL);
  bq_close(&q);
  long count = 0;
  int64_t sum = 0;
  uint64_t x = 0;
  for (int i = 0; i < NCONS; i++) {
    pthread_join(ct[i], NULL);
    count += cons[i].count; /* each consumer's share varies; totals do not */
    sum += cons[i].sum;
    x ^= cons[i].xor_all;
  }
  bq_destroy(&q);
  printf("queue: %ld items, sum %lld, xor %016llx\n", count, (long long)sum,
         (unsigned long long)x);
}

/* ---- 5. barrier-synchronised Jacobi relaxation ------------------------- */

enum { GRID = 256, STEPS = 200, SLICES = 4 };
static double grid[2][GRID];
static pthread_barrier_t barrier;

static void *jacobi_thread(void *arg) {
  int slice = (int)(intptr_t)arg;
  int lo = 1 + slice * (GRID - 2) / SLICES;
  int hi = 1 + (slice + 1) * (GRID - 2) / SLICES;
  for (int step = 0; step < STEPS; step++) {
    const double *src = grid[step & 1];
    double *dst = grid[(step + 1) & 1];
    for (int i = lo; i < hi; i++)
      dst[i] = 0.25 * src[i - 1] + 0.5 * src[i] + 0.25 * src[i + 1];
    pthread_barrier_wait(&barrier); /* nobody reads dst before all wrote */
  }
  return NULL;
}

static void test_barrier(void) {
  for (int b = 0; b < 2; b++) {
    for (int i = 0; i < GRID; i++)
      grid[b][i] = 0.0;
    grid[b][0] = 100.0; /* fixed boundary values */
    grid[b][GRID - 1] = -50.0;
  }
  for (int i = GRID / 3; i < GRID / 2; i++)
    grid[0][i] = 10.0;
  pthread_barrier_init(&barrier, NULL, SLICES);
  pthread_t t[SLICES];
  for (int i = 0; i < SLICES; i++)
    start_or_die(&t[i], jacobi_thread, (void *)(intptr_t)i);
  for (int i = 0; i < SLICES; i++)
    pthread_join(t[i], NULL);
  pthread_barrier_destroy(&barrier);
  const double *g = grid[STEPS & 1];
  double sum = 0;
  for (int i = 0; i < GRID; i++)
    sum += g[i];
  printf("jacobi: sum %.10f, g[1] %.10f, g[%d] %.10f, g[%d] %.10f\n", sum, g[1],
         GRID / 2, g[GRID / 2], GRID - 2, g[GRID - 2]);
}

/* ---- 6. once, keys with destructors, release/acquire hand-off ---------- */

static pthread_once_t once = PTHREAD_ONCE_INIT;
static atomic_int once_runs;
static pthread_key_t key;
static atomic_int destructor_runs;
static atomic_long destructor_sum;

static void key_destructor(void *p) {
  atomic_fetch_add(&destructor_runs, 1);
  atomic_fetch_add(&destructor_sum, *(long *)p);
  free(p);
}

static void init_once(void) {
  atomic_fetch_add(&once_runs, 1);
  pthread_key_create(&key, key_destructor);
}

static long payload[4];
static atomic_int ready;

static void *key_thread(void *arg) {
  long id = (long)(intptr_t)arg;
  pthread_once(&once, init_once);
  long *mine = malloc(sizeof *mine);
  if (!mine)
    abort();
  *mine = id * 10 + 1;
  pthread_setspecific(key, mine);
  if (id == 0) { /* the publisher: plain writes, then a release store */
    for (int i = 0; i < 4; i++)
      payload[i] = (i + 1) * 111;
    atomic_store_explicit(&ready, 1, memory_order_release);
    return NULL;
  }
  while (!atomic_load_explicit(&ready, memory_order_acquire))
    sched_yield();
  long s = 0;
  for (int i = 0; i < 4; i++)
    s += payload[i]; /* visible after the acquire load */
  return (void *)(intptr_t)s;
}

static void test_once_keys(void) {
  pthread_t t[NTHREADS];
  for (long i = NTHREADS - 1; i >= 0; i--) /* the publisher starts last */
    start_or_die(&t[i], key_thread, (void *)(intptr_t)i);
  long seen = 0;
  for (int i = 0; i < NTHREADS; i++) {
    void *r;
    pthread_join(t[i], &r);
    seen += (long)(intptr_t)r;
  }
  printf("once ran %d time(s); destructors %d, sum %ld; readers saw %ld\n",
         atomic_load(&once_runs), atomic_load(&destructor_runs),
         atomic_load(&destructor_sum), seen);
  pthread_key_delete(key);
}

/* ---- 7. setjmp/longjmp inside threads ---------------------------------- */

static _Thread_local jmp_buf *thread_jb;

static long risky(long n, long depth) {
  if (depth == n % 17)
    longjmp(*thread_jb, (int)(n % 5) + 1);
  return risky(n, depth + 1) + 1;
}

static void *jmp_thread(void *arg) {
  long id = (long)(intptr_t)arg;
  jmp_buf jb;
  thread_jb = &jb;
  volatile long total = 0; /* modified between setjmp and longjmp */
  for (volatile long i = 0; i < 200; i++) {
    int code = 0;
    if (setjmp(jb) == 0)
      risky(id * 1000 + i, -3);
    else
      code = 1;
    total += code + i % 3;
  }
  return (void *)(intptr_t)total;
}

static void test_longjmp(void) {
  pthread_t t[NTHREADS];
  for (long i = 0; i < NTHREADS; i++)
    start_or_die(&t[i], jmp_thread, (void *)(intptr_t)i);
  long total = 0;
  for (int i = 0; i < NTHREADS; i++) {
    void *r;
    pthread_join(t[i], &r);
    total = total * 7 + (long)(intptr_t)r;
  }
  printf("longjmp in threads: %ld\n", total);
}

int main(void) {
  test_counters();
  test_tls();
  test_pool();
  test_queue();
  test_barrier();
  test_once_keys();
  test_longjmp();
  return 0;
}
