/* Finalizers run after their object is unreachable, never before; an
 * object's referents are finalized after it; keep_alive stops a finalizer
 * from closing a descriptor still in use (Go's runtime.KeepAlive example). */
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

static _Atomic int finalized;
static _Atomic uint64_t order[4];
static _Atomic int norder;

static void count_fin(void *obj, void *arg) {
  (void)arg;
  tnode_verify(obj); /* still intact when its finalizer runs */
  atomic_fetch_add(&finalized, 1);
}

Test(finalizers, run_once_unreachable) {
  REQUIRE_PRECISE_FRAMES();
  struct tnode *kept = tnode_new(1);
  preempt_set_finalizer(kept, count_fin, NULL);
  for (int i = 0; i < 100; i++)
    preempt_set_finalizer(tnode_new((uint64_t)i), count_fin, NULL);
  preempt_gc();
  preempt_run_finalizers();
  cr_assert_eq(atomic_load(&finalized), 100);
  preempt_gc();
  preempt_run_finalizers();
  cr_assert_eq(atomic_load(&finalized), 100, "a finalizer ran twice or on a reachable object");
  tnode_verify(kept);
  kept = NULL;
  preempt_gc();
  preempt_run_finalizers();
  cr_assert_eq(atomic_load(&finalized), 101);
}

static void record_order(void *obj, void *arg) {
  (void)arg;
  order[atomic_fetch_add(&norder, 1)] = ((struct tnode *)obj)->id;
}

Test(finalizers, referent_finalized_after_referrer) {
  REQUIRE_PRECISE_FRAMES();
  struct tnode *a = tnode_new(1), *b = tnode_new(2);
  a->a = b;
  preempt_set_finalizer(a, record_order, NULL);
  preempt_set_finalizer(b, record_order, NULL);
  a = b = NULL;
  preempt_gc();
  preempt_run_finalizers();
  cr_assert_eq(atomic_load(&norder), 1, "both finalized in one cycle");
  cr_assert_eq(order[0], 1);
  preempt_gc();
  preempt_run_finalizers();
  cr_assert_eq(atomic_load(&norder), 2);
  cr_assert_eq(order[1], 2);
}

Test(finalizers, removed_finalizer_does_not_run) {
  struct tnode *n = tnode_new(5);
  preempt_set_finalizer(n, count_fin, NULL);
  preempt_set_finalizer(n, NULL, NULL);
  n = NULL;
  preempt_gc();
  preempt_run_finalizers();
  cr_assert_eq(atomic_load(&finalized), 0);
}

Test(finalizers, interior_pointer_is_refused, .signal = SIGABRT) {
  char *p = preempt_alloc(64);
  preempt_set_finalizer(p + 8, count_fin, NULL);
}

/* Go's classic: an object owns a descriptor, its finalizer closes it, and a
 * read loop uses only the descriptor after the last use of the object. */
struct file {
  int fd;
};

static void close_file(void *obj, void *arg) {
  (void)arg;
  close(((struct file *)obj)->fd);
}

static struct file *open_file(void) {
  struct file *f = preempt_new(struct file);
  f->fd = open("/dev/zero", O_RDONLY);
  cr_assert_geq(f->fd, 0);
  preempt_set_finalizer(f, close_file, NULL);
  return f;
}

static int last_errno;

/* Returns the number of reads that failed.  Each iteration collects and
 * waits for finalizers: maximal collection pressure.  Two copies, because
 * liveness is decided at compile time. */
#define READ_LOOP(name, KEEP)                                                  \
  __attribute__((noinline)) static int name(void) {                            \
    struct file *f = open_file();                                              \
    int fd = f->fd; /* the last use of f... */                                 \
    char buf[64];                                                              \
    int failed = 0;                                                            \
    for (int i = 0; i < 20; i++) {                                             \
      preempt_gc();                                                            \
      preempt_run_finalizers();                                                \
      if (read(fd, buf, sizeof buf) != sizeof buf)                             \
        failed++, last_errno = errno;                                          \
    }                                                                          \
    KEEP; /* ...unless this keeps f alive to here */                           \
    return failed;                                                             \
  }
READ_LOOP(read_loop_plain, (void)0)
READ_LOOP(read_loop_kept, preempt_keep_alive(f))

Test(finalizers, without_keep_alive_the_descriptor_closes_early) {
  REQUIRE_PRECISE_FRAMES();
  int failed = read_loop_plain();
  cr_assert_gt(failed, 0, "the finalizer never closed the descriptor during the loop");
  cr_assert_eq(last_errno, EBADF);
}

Test(finalizers, keep_alive_keeps_the_descriptor_open) {
  cr_assert_eq(read_loop_kept(), 0, "the finalizer closed the descriptor while in use");
}

/* ---- cycles, arg, fork --------------------------------------------------- */

/* Pointers from an object into itself do not keep it from its finalizer. */
Test(finalizers, self_reference_is_finalized_and_freed) {
  REQUIRE_PRECISE_FRAMES();
  struct tnode *n = tnode_new(9);
  n->a = n;
  n->b = (struct tnode *)&n->id; /* interior, into itself */
  uintptr_t h = hide(n);
  preempt_set_finalizer(n, count_fin, NULL);
  n = NULL;
  preempt_gc();
  preempt_run_finalizers();
  cr_assert_eq(atomic_load(&finalized), 1, "a self-referring object was not finalized");
  preempt_gc();
  assert_collected(h, "a finalized self-referring object was not freed");
}

/* An object whose finalizer is its own arg: still finalized. */
Test(finalizers, arg_pointing_to_the_object_is_finalized) {
  REQUIRE_PRECISE_FRAMES();
  struct tnode *n = tnode_new(3);
  preempt_set_finalizer(n, count_fin, &n->check);
  n = NULL;
  preempt_gc();
  preempt_run_finalizers();
  cr_assert_eq(atomic_load(&finalized), 1);
}

/* The documented rule (Go's): a cycle through other objects keeps a
 * finalizable object from being finalized, and from being freed. */
Test(finalizers, cycle_is_neither_finalized_nor_freed) {
  struct tnode *a = tnode_new(1), *b = tnode_new(2);
  a->a = b;
  b->a = a;
  uintptr_t ha = hide(a);
  preempt_set_finalizer(a, count_fin, NULL);
  a = b = NULL;
  for (int i = 0; i < 3; i++) {
    preempt_gc();
    preempt_run_finalizers();
  }
  cr_assert_eq(atomic_load(&finalized), 0);
  struct tnode *back = unhide(ha);
  tnode_verify(back);
  tnode_verify(back->a);
}

/* The finalizer's arg is kept alive while the finalizer may still run, as
 * Boehm GC does for its client data. */
static _Atomic int arg_ok = -1;
static void check_arg(void *obj, void *arg) {
  (void)obj;
  const struct tnode *t = arg;
  atomic_store(&arg_ok, t->id == 77 && t->check == tcheck(77));
}

static uintptr_t harg;
__attribute__((noinline)) static struct tnode *with_arg_finalizer(void) {
  struct tnode *n = tnode_new(5), *arg = tnode_new(77);
  harg = hide(arg);
  preempt_set_finalizer(n, check_arg, arg);
  return n;
}

Test(finalizers, arg_is_kept_alive) {
  struct tnode *n = with_arg_finalizer();
  for (int i = 0; i < 5; i++) { /* arg only reachable from the finalizer */
    preempt_gc();
    for (int k = 0; k < 1000; k++)
      memset(opaque(preempt_alloc(sizeof(struct tnode))), 0xee, sizeof(struct tnode));
  }
  tnode_verify(n);
  tnode_verify(unhide(harg));
  n = NULL;
  preempt_gc();
  preempt_run_finalizers();
  if (!PRECISE_FRAMES && atomic_load(&arg_ok) == -1)
    return; /* n kept by a conservative frame */
  cr_assert_eq(atomic_load(&arg_ok), 1, "the finalizer's arg was freed before it ran");
  preempt_gc();
  preempt_gc();
  assert_collected(harg, "arg of a finalizer that ran was never freed");
}

/* A child forked while finalizers are queued runs them. */
static _Atomic int release_fin, fork_finalized;
static void slow_fin(void *obj, void *arg) {
  (void)obj;
  (void)arg;
  while (!atomic_load(&release_fin))
    usleep(1000);
  atomic_fetch_add(&fork_finalized, 1);
}

__attribute__((noinline)) static void make_slow_garbage(void) {
  for (int i = 0; i < 10; i++)
    preempt_set_finalizer(tnode_new((uint64_t)i), slow_fin, NULL);
}

Test(finalizers, forked_child_runs_queued_finalizers) {
  REQUIRE_PRECISE_FRAMES();
  make_slow_garbage();
  preempt_gc(); /* queues 10; the first blocks the finalizer thread */
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    alarm(10);
    atomic_store(&release_fin, 1);
    preempt_run_finalizers();
    /* The one the parent was running at the fork runs again here. */
    _exit(atomic_load(&fork_finalized) == 10 ? 0 : 1);
  }
  int st;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  atomic_store(&release_fin, 1);
  preempt_run_finalizers();
  cr_assert_eq(atomic_load(&fork_finalized), 10);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
            "the child did not run the queued finalizers (status %#x)", st);
}

/* ---- Boehm GC's orders and finalization on demand ---------------------- */

/* a -> b, both finalizable, unreachable; a of order oa, b of order ob. */
__attribute__((noinline)) static void pair_of(enum preempt_finalizer_order oa,
                                              enum preempt_finalizer_order ob) {
  struct tnode *a = tnode_new(1), *b = tnode_new(2);
  a->a = b;
  preempt_set_finalizer_order(a, record_order, NULL, oa);
  preempt_set_finalizer_order(b, record_order, NULL, ob);
}

Test(finalizers, no_order_referents_are_finalized_in_the_same_round) {
  REQUIRE_PRECISE_FRAMES();
  pair_of(PREEMPT_FIN_NO_ORDER, PREEMPT_FIN_NO_ORDER);
  preempt_gc();
  preempt_run_finalizers();
  cr_assert_eq(atomic_load(&norder), 2, "no order: both in one round, not %d",
               atomic_load(&norder));
}

Test(finalizers, an_ordered_referrer_still_holds_back_a_no_order_referent) {
  REQUIRE_PRECISE_FRAMES();
  pair_of(PREEMPT_FIN_ORDERED, PREEMPT_FIN_NO_ORDER);
  preempt_gc();
  preempt_run_finalizers();
  cr_assert_eq(atomic_load(&norder), 1);
  cr_assert_eq(order[0], 1);
}

Test(finalizers, unreachable_waits_for_no_order_referrers) {
  REQUIRE_PRECISE_FRAMES();
  pair_of(PREEMPT_FIN_NO_ORDER, PREEMPT_FIN_UNREACHABLE);
  preempt_gc();
  preempt_run_finalizers();
  cr_assert_eq(atomic_load(&norder), 1, "the unreachable one ran with its "
               "no-order referrer");
  cr_assert_eq(order[0], 1);
  preempt_gc();
  preempt_run_finalizers();
  cr_assert_eq(atomic_load(&norder), 2);
  cr_assert_eq(order[1], 2);
}

Test(finalizers, a_bad_order_is_fatal, .signal = SIGABRT) {
  preempt_set_finalizer_order(tnode_new(1), count_fin, NULL,
                              (enum preempt_finalizer_order)7);
}

static _Atomic int notified;
static void note_pending(void *arg) {
  cr_assert_eq(arg, (void *)&notified);
  notified++;
}
static pthread_t ran_on;
static void which_thread(void *obj, void *arg) {
  (void)obj, (void)arg;
  ran_on = pthread_self();
  atomic_fetch_add(&finalized, 1);
}

__attribute__((noinline)) static void finalizable_garbage(int n) {
  for (int i = 0; i < n; i++)
    preempt_set_finalizer(tnode_new((uint64_t)i), which_thread, NULL);
}

Test(finalizers, on_demand_they_run_only_when_invoked_on_the_callers_thread) {
  REQUIRE_PRECISE_FRAMES();
  preempt_set_finalize_on_demand(1);
  preempt_set_finalizer_notifier(note_pending, (void *)&notified);
  finalizable_garbage(10);
  preempt_gc();
  cr_assert_gt(notified, 0, "the notifier was not told");
  usleep(100000); /* the finalizer thread, were it to run them */
  cr_assert_eq(atomic_load(&finalized), 0, "ran without being invoked");
  cr_assert_eq(preempt_invoke_finalizers(), 10);
  cr_assert_eq(atomic_load(&finalized), 10);
  cr_assert(pthread_equal(ran_on, pthread_self()), "not on the caller's thread");
  cr_assert_eq(preempt_invoke_finalizers(), 0);
  /* Back to the finalizer thread. */
  preempt_set_finalize_on_demand(0);
  finalizable_garbage(5);
  preempt_gc();
  preempt_run_finalizers();
  cr_assert_eq(atomic_load(&finalized), 15);
  cr_assert(!pthread_equal(ran_on, pthread_self()));
  preempt_set_finalizer_notifier(NULL, NULL);
}

static void invoke_from_inside(void *obj, void *arg) {
  (void)obj, (void)arg;
  cr_assert_eq(preempt_invoke_finalizers(), 0);
  preempt_run_finalizers(); /* returns at once too */
  atomic_fetch_add(&finalized, 1);
}

Test(finalizers, invoking_from_a_finalizer_returns_at_once, .timeout = 30) {
  REQUIRE_PRECISE_FRAMES();
  preempt_set_finalize_on_demand(1);
  for (int i = 0; i < 3; i++)
    preempt_set_finalizer(tnode_new((uint64_t)i), invoke_from_inside, NULL);
  preempt_gc();
  cr_assert_eq(preempt_invoke_finalizers(), 3);
  cr_assert_eq(atomic_load(&finalized), 3);
}
