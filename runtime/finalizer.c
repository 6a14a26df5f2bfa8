/* Finalizers.
 *
 * During marking, the contents of every object with a finalizer are marked
 * (not the object itself, nor pointers from it into itself), and so is its
 * arg, so whatever a finalizer can reach survives and an object referred
 * to by another finalizable object is finalized only after it.  An object
 * reachable from its own contents through other objects (a cycle) is thus
 * never finalized, as in Go.  After marking, each unmarked object with a
 * finalizer is marked (kept for its finalizer), its finalizer moves to the
 * ready queue, and the runtime's finalizer thread runs it (or, on demand,
 * the program's own thread).  The object is freed by a later collection
 * once nothing refers to it.
 *
 * Boehm GC's other orders: a NO_ORDER object's contents are not marked
 * beforehand, so it is finalized as soon as the roots cannot reach it,
 * with what it refers to; an UNREACHABLE one is ordered, and besides waits
 * while a NO_ORDER object being finalized can reach it (those are queued,
 * and what they reach marked, first); a STRICT one is ordered, and a
 * pointer from the object into itself keeps it (Boehm's default). */
#include "finalizer.h"
#include "gc.h"
#include "locate.h"
#include "mark.h"
#include "stw.h"
#include "sysmem.h"
#include "threads.h"

#include <string.h>

struct fin {
  uintptr_t obj;
  preempt_finalizer_fn fn;
  void *arg;
  enum preempt_finalizer_order order;
};

static struct fin *table; /* open addressing; obj 0 = empty, 1 = deleted */
static size_t table_size, table_used;
static struct fin *queue; /* ready to run: a root */
static size_t queue_len, queue_cap, queue_head;
static uint64_t queued_total, done_total;
static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;

/* Holding qlock is a runtime critical section (the collector takes it). */
static void qlock_take(void) {
  preempt_nopreempt_begin();
  pthread_mutex_lock(&qlock);
}

static void qlock_drop(void) {
  pthread_mutex_unlock(&qlock);
  preempt_nopreempt_end();
}
static pthread_cond_t qcond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
static bool thread_started; /* under qlock */
static bool running;        /* under qlock: a finalizer is being run */
static _Atomic bool on_demand;
static void (*_Atomic notifier)(void *);
static void *_Atomic notifier_arg;
static __thread bool on_finalizer_thread;

static size_t slot_of(uintptr_t obj, size_t size) {
  return (size_t)((obj * 0x9e3779b97f4a7c15ull) >> 20) & (size - 1);
}

static void table_put(struct fin f);

static void table_grow(void) {
  struct fin *old = table;
  size_t old_size = table_size;
  table_size = table_size ? table_size * 2 : 1024;
  table = preempt_sys_alloc(table_size * sizeof *table);
  if (!table)
    preempt_fatal("out of memory for finalizers");
  table_used = 0;
  for (size_t i = 0; i < old_size; i++)
    if (old[i].obj > 1)
      table_put(old[i]);
  preempt_sys_free(old, old_size * sizeof *old);
}

static void table_put(struct fin f) {
  if ((table_used + 1) * 2 > table_size)
    table_grow();
  size_t i = slot_of(f.obj, table_size), tomb = SIZE_MAX;
  for (;; i = (i + 1) & (table_size - 1)) {
    if (table[i].obj == f.obj) {
      table[i] = f;
      return;
    }
    if (table[i].obj == 1 && tomb == SIZE_MAX)
      tomb = i;
    if (table[i].obj == 0)
      break;
  }
  if (tomb != SIZE_MAX)
    i = tomb;
  else
    table_used++;
  table[i] = f;
}

static void table_del(uintptr_t obj) {
  if (!table)
    return;
  for (size_t i = slot_of(obj, table_size); table[i].obj;
       i = (i + 1) & (table_size - 1))
    if (table[i].obj == obj) {
      table[i].obj = 1;
      return;
    }
}

static void *finalizer_main(void *arg);
static void start_thread(void);
static void ensure_thread(void);

static struct fin *table_find(uintptr_t obj) {
  if (!table)
    return NULL;
  for (size_t i = slot_of(obj, table_size); table[i].obj;
       i = (i + 1) & (table_size - 1))
    if (table[i].obj == obj)
      return &table[i];
  return NULL;
}

static void set_finalizer(void *obj, preempt_finalizer_fn fn, void *arg,
                          enum preempt_finalizer_order order, uintptr_t ip,
                          preempt_finalizer_fn *old_fn, void **old_arg) {
  preempt_thread_current();
  preempt_lock_heap_holding(ip, obj, arg);
  if (preempt_object_base((uintptr_t)obj) != (uintptr_t)obj || !obj)
    preempt_fatal("preempt_set_finalizer: %p is not the start of a heap "
                  "object",
                  obj);
  if (order > PREEMPT_FIN_STRICT)
    preempt_fatal("preempt_set_finalizer_order: %d is not an order",
                  (int)order);
  if (old_fn) {
    struct fin *old = table_find((uintptr_t)obj);
    *old_fn = old ? old->fn : NULL;
    *old_arg = old ? old->arg : NULL;
  }
  if (fn)
    table_put((struct fin){(uintptr_t)obj, fn, arg, order});
  else
    table_del((uintptr_t)obj);
  preempt_unlock_heap();
  if (fn)
    ensure_thread();
}

__attribute__((noinline)) void
preempt_set_finalizer(void *obj, preempt_finalizer_fn fn, void *arg) {
  set_finalizer(obj, fn, arg, PREEMPT_FIN_ORDERED,
                (uintptr_t)__builtin_return_address(0), NULL, NULL);
}

__attribute__((noinline)) void
preempt_set_finalizer_order(void *obj, preempt_finalizer_fn fn, void *arg,
                            enum preempt_finalizer_order order) {
  set_finalizer(obj, fn, arg, order, (uintptr_t)__builtin_return_address(0),
                NULL, NULL);
}

__attribute__((noinline)) void
preempt_replace_finalizer(void *obj, preempt_finalizer_fn fn, void *arg,
                          enum preempt_finalizer_order order,
                          preempt_finalizer_fn *old_fn, void **old_arg) {
  preempt_finalizer_fn f;
  void *a;
  set_finalizer(obj, fn, arg, order, (uintptr_t)__builtin_return_address(0),
                old_fn ? old_fn : &f, old_arg ? old_arg : &a);
}

void preempt_finalizers_forget(uintptr_t obj) { table_del(obj); }

/* Starts the finalizer thread unless it runs (or, after a fork, ran only
 * in the parent). */
static void ensure_thread(void) {
  qlock_take();
  bool start = !thread_started;
  thread_started = true;
  qlock_drop();
  if (start)
    start_thread();
}

static void start_thread(void) {
  pthread_t th;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  if (pthread_create(&th, &attr, finalizer_main, NULL))
    preempt_fatal("cannot start the finalizer thread");
  pthread_attr_destroy(&attr);
}

/* arg is kept alive like the object's contents (as Boehm GC does with its
 * client data), unless it points into the object: then it would keep the
 * object itself reachable. */
static void visit_arg(const struct fin *f, struct preempt_visitor *v) {
  if (preempt_object_base((uintptr_t)f->arg) != f->obj)
    v->value(v, (uintptr_t)f->arg);
}

/* Whether obj holds a pointer into itself (read conservatively). */
static bool points_to_itself(uintptr_t obj) {
  struct preempt_located l = preempt_locate(obj);
  for (uintptr_t p = obj; p + sizeof(uintptr_t) <= obj + l.scan;
       p += sizeof(uintptr_t))
    if (*(const uintptr_t *)p - obj < l.size)
      return true;
  return false;
}

void preempt_finalizers_visit_referents(struct preempt_visitor *v) {
  for (size_t i = 0; i < table_size; i++)
    if (table[i].obj > 1) {
      if (table[i].order != PREEMPT_FIN_NO_ORDER)
        v->contents(v, table[i].obj);
      if (table[i].order == PREEMPT_FIN_STRICT &&
          points_to_itself(table[i].obj))
        v->value(v, table[i].obj);
      visit_arg(&table[i], v);
    }
}

void preempt_finalizers_visit_queue(struct preempt_visitor *v) {
  for (size_t i = queue_head; i < queue_len; i++) {
    v->value(v, queue[i].obj);
    v->value(v, (uintptr_t)queue[i].arg);
  }
}

static void enqueue(struct fin f) {
  if (queue_head > 0 && queue_len == queue_cap) {
    memmove(queue, queue + queue_head, (queue_len - queue_head) * sizeof *queue);
    queue_len -= queue_head;
    queue_head = 0;
  }
  if (queue_len == queue_cap)
    preempt_array_grow((void **)&queue, &queue_cap, queue_len, sizeof *queue,
                       256, "the finalizer queue");
  queue[queue_len++] = f;
  queued_total++;
}

/* Queues the unreached objects of the table whose order is in orders
 * (a bit per order), marking each, and what it reaches. */
static void queue_orders(struct preempt_visitor *v, unsigned orders) {
  for (size_t i = 0; i < table_size; i++) {
    struct fin f = table[i];
    if (f.obj <= 1 || !(orders & 1u << f.order) || v->reached(v, f.obj))
      continue;
    v->value(v, f.obj);
    table[i].obj = 1;
    enqueue(f);
  }
  preempt_mark_drain();
}

__attribute__((noinline)) void preempt_finalize_all(void) {
  preempt_thread_current();
  preempt_lock_heap((uintptr_t)__builtin_return_address(0));
  qlock_take();
  for (size_t i = 0; i < table_size; i++)
    if (table[i].obj > 1) {
      enqueue(table[i]);
      table[i].obj = 1;
    }
  qlock_drop();
  preempt_unlock_heap();
  preempt_finalizers_wake();
}

/* World stopped, marking done: queue finalizers of unreachable objects. */
void preempt_finalizers_queue_unreachable(struct preempt_visitor *v) {
  qlock_take();
  queue_orders(v, 1u << PREEMPT_FIN_ORDERED | 1u << PREEMPT_FIN_NO_ORDER |
                     1u << PREEMPT_FIN_STRICT);
  queue_orders(v, 1u << PREEMPT_FIN_UNREACHABLE);
  qlock_drop();
}

void preempt_finalizers_wake(void) {
  qlock_take();
  bool work = queue_head < queue_len;
  if (work && !on_demand)
    pthread_cond_signal(&qcond);
  qlock_drop();
  void (*notify)(void *) = atomic_load(&notifier);
  if (work && notify)
    notify(atomic_load(&notifier_arg));
  if (work && !on_demand)
    ensure_thread();
}

void preempt_set_finalize_on_demand(int on) {
  qlock_take();
  on_demand = on != 0;
  pthread_cond_broadcast(&qcond);
  qlock_drop();
  if (!on)
    ensure_thread();
}

void preempt_set_finalizer_notifier(void (*fn)(void *arg), void *arg) {
  atomic_store(&notifier, NULL);
  atomic_store(&notifier_arg, arg);
  atomic_store(&notifier, fn);
}

/* Waits (blocking, so that collections go on) until no finalizer runs;
 * qlock held on return. */
static void wait_not_running(void) {
  while (running) {
    qlock_drop();
    preempt_enter_blocking();
    qlock_take();
    while (running)
      pthread_cond_wait(&done_cond, &qlock);
    qlock_drop();
    preempt_exit_blocking();
    qlock_take();
  }
}

size_t preempt_finalizers_queued(void) {
  qlock_take();
  size_t n = queue_len - queue_head;
  qlock_drop();
  return n;
}

size_t preempt_invoke_finalizers(void) {
  static __thread bool invoking;
  if (on_finalizer_thread || invoking)
    return 0; /* from a finalizer: it would wait for itself */
  size_t n = 0;
  for (;;) {
    qlock_take();
    wait_not_running();
    if (queue_head == queue_len) {
      qlock_drop();
      return n;
    }
    /* The entry stays in the queue (a root) while its finalizer runs. */
    running = true;
    struct fin f = queue[queue_head];
    qlock_drop();
    invoking = true;
    f.fn((void *)f.obj, f.arg);
    invoking = false;
    qlock_take();
    running = false;
    queue_head++;
    done_total++;
    pthread_cond_broadcast(&done_cond);
    pthread_cond_signal(&qcond);
    qlock_drop();
    atomic_fetch_add(&preempt_stats_finalizers_run, 1);
    n++;
  }
}

static void *finalizer_main(void *arg) {
  (void)arg;
  on_finalizer_thread = true;
  preempt_thread_attach();
  /* From the end of a finalizer until it blocks, the thread's registers
   * and frames hold stale copies of the object it finalized: a signal
   * must not stop it there, or they would keep the object. */
  preempt_nopreempt_begin();
  for (;;) {
    /* Waiting, this thread holds nothing: its stack is runtime frames
     * only, with stale copies of objects it already finalized. */
    preempt_self->idle = true;
    preempt_enter_blocking();
    preempt_nopreempt_end();
    qlock_take();
    while (queue_head == queue_len || on_demand || running)
      pthread_cond_wait(&qcond, &qlock);
    /* The entry stays in the queue (a root) while its finalizer runs. */
    running = true;
    struct fin f = queue[queue_head];
    qlock_drop();
    preempt_exit_blocking();
    preempt_self->idle = false;
    f.fn((void *)f.obj, f.arg);
    preempt_nopreempt_begin();
    qlock_take();
    running = false;
    queue_head++;
    done_total++;
    pthread_cond_broadcast(&done_cond);
    qlock_drop();
    atomic_fetch_add(&preempt_stats_finalizers_run, 1);
  }
  return NULL;
}

void preempt_run_finalizers(void) {
  if (on_finalizer_thread)
    return; /* from a finalizer: waiting for ourselves would never end */
  if (on_demand) { /* nobody else runs them */
    preempt_invoke_finalizers();
    return;
  }
  qlock_take();
  bool work = done_total < queued_total;
  qlock_drop();
  if (work)
    ensure_thread(); /* in a forked child, the first call restarts it */
  preempt_enter_blocking();
  qlock_take();
  uint64_t target = queued_total;
  while (done_total < target)
    pthread_cond_wait(&done_cond, &qlock);
  qlock_drop();
  preempt_exit_blocking();
}

/* In a forked child the finalizer thread is gone: a new one starts when
 * there is work (preempt_run_finalizers, the next collection, the next
 * preempt_set_finalizer), not here, where the thread list is being reset.
 * A finalizer the parent was running when it forked runs again in the
 * child: its entry is still at the head of the queue. */
void preempt_finalizers_after_fork(void) {
  pthread_mutex_init(&qlock, NULL);
  pthread_cond_init(&qcond, NULL);
  pthread_cond_init(&done_cond, NULL);
  thread_started = false;
  running = false; /* its entry runs again here */
}
