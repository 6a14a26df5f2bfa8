/* Stopping the world: stop requests, parking, blocking regions, publishing
 * a thread's roots, and the public stop-the-world API.
 *
 * States (struct preempt_thread.state): RUNNING (user code; must stop),
 * BLOCKING (in a foreign or blocking call; its stack above saved_sp is
 * frozen and scanned conservatively), PARKED (stopped, roots published or
 * being published).
 *
 * The stopper raises preempt__stop_requested and sends the stop signal to
 * every RUNNING thread (signals.c); the handler stops the thread where it
 * was interrupted (an async safe point) unless it is in a runtime critical
 * section (no_preempt: deferred to the section's end, which raises the
 * signal again on itself), in an unsafe range (the range's end polls), in
 * the dynamic linker (signalled again later), or in code of no object the
 * registry knows before the stopper's sync for this stop (signalled again
 * after it: the code may be an object's loaded just now, whose unsafe
 * ranges the sync brings).  The stopper syncs again before it signals a
 * thread again (it may have been in the loader, mapping an object whose
 * code it runs now), and a thread publishing the roots of the context it
 * was stopped in syncs too: if that context turns out to be in an unsafe
 * range, it runs on to the range's poll instead.  A thread also stops on
 * its own at its next allocation slow path, preempt_safepoint(), heap lock
 * or exit_blocking, which is all there is with PREEMPT=asyncpreempt=0.
 *
 * A thread leaving PARKED or BLOCKING stores RUNNING and then re-reads the
 * request (both sequentially consistent), so either the stopper sees it
 * running or it sees the request and stays stopped.  Entering BLOCKING,
 * a thread waits for a stop signal already on its way (sig_pending), so
 * that the signal never lands in the blocking call (no EINTR the runtime
 * caused); the stopper sets sig_pending before it reads the state, and
 * withdraws it if the thread is not running.
 *
 * Every way of stopping goes through publish: a thread scans its own
 * stack, and the collector waits until it has, so nothing frees or
 * rebuilds what a scan is reading.  A thread parked (by signal or at a
 * safepoint) for a stop that needs no roots (the public API) does not
 * scan: the scan would delay the stop, and on a busy machine hold the CPU
 * a thread not yet stopped is waiting for.  If a stop that needs them
 * finds it still parked, it scans then (resume). */
#define _GNU_SOURCE
#include "gc.h"
#include "blocking.h"
#include "options.h"
#include "polls.h"
#include "registry.h"
#include "signals.h"
#include "stack.h"
#include "stw.h"
#include "threads.h"

#include <errno.h>
#include <signal.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

/* Code built with the plugin references the blocking wrappers weakly: this
 * strong reference pulls them out of libpreempt.a with the rest. */
__attribute__((used)) static const char *const blocking_anchor =
    &preempt_blocking_anchor;

pthread_mutex_t preempt_heap_lock = PTHREAD_MUTEX_INITIALIZER;
_Atomic int preempt__stop_requested;
_Atomic bool preempt_stw_asymmetric;
static _Atomic bool stop_membarrier; /* every stop runs a membarrier */
static uint64_t init_ns, asymmetric_ns; /* for trace=stw */
static _Atomic unsigned world_epoch; /* futex word: bumped on restart */
static _Atomic long heap_owner;      /* kernel tid holding the heap lock */
/* Bumped whenever a thread stops; a stopper waiting for that sleeps on it
 * (its CPU is then free for the threads it waits for). */
static _Atomic unsigned stop_progress;
static _Atomic int stopper_sleeping;

/* The stop in force. */
static struct {
  _Atomic long holder; /* tid of the stopping thread, 0 when running */
  const char *reason;  /* the caller's; once the signals are sent, reason_copy */
  bool api;            /* by preempt_stop_the_world, not a collection */
  _Atomic bool roots;  /* stopped threads must publish their roots */
  uint64_t t0, since;  /* when the stop began; when every thread had stopped */
  _Atomic bool synced; /* the registry is synced for this stop (see the top) */
  _Atomic unsigned bounced; /* handlers that found it not yet synced */
  _Atomic bool begun;  /* a thread has been stopped once */
  unsigned signalled;  /* threads signalled as the stop began */
  uint64_t spin_until; /* the stopper spins, rather than yields, until */
  char reason_copy[sizeof ((struct preempt_stw_stats *)0)->reason];
} world;

static long current_tid(void) {
  struct preempt_thread *t = preempt_self;
  return t ? t->tid : (long)syscall(SYS_gettid);
}

static void futex_wait(_Atomic unsigned *addr, unsigned val) {
  syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake_all(_Atomic unsigned *addr) {
  syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}

static void futex_wait_ns(_Atomic unsigned *addr, unsigned val, uint64_t ns) {
  struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
  syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, &ts, NULL, 0);
}

/* Registers the process for expedited membarriers, once; false if the
 * kernel has none.  Not by default under a seccomp filter, which may kill
 * the process for a system call it does not list (PREEMPT=membarrier=1
 * asks for it anyway). */
static bool membarrier_registered(void) {
  static _Atomic int registered; /* 0 unknown, 1 yes, -1 no */
  int r = atomic_load(&registered);
  if (!r && preempt_opts.membarrier == PREEMPT_MEMBARRIER_AUTO &&
      prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 0)
    atomic_store(&registered, r = -1);
  if (!r) {
    long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    r = cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
                syscall(SYS_membarrier,
                        MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0
            ? 1 : -1;
    atomic_store(&registered, r);
  }
  return r > 0;
}

/* Stoppers run a membarrier; then threads may stop fencing.  A stopper
 * sets the request and then reads stop_membarrier; here the reverse: so
 * either this sees its request (and switches at a later batch: that stop
 * may have gone without a membarrier), or every stop from now on has one. */
static void go_asymmetric(void) {
  if (!membarrier_registered())
    return;
  atomic_store(&stop_membarrier, true);
  if (!atomic_load(&preempt__stop_requested)) {
    asymmetric_ns = preempt_now_ns();
    atomic_store(&preempt_stw_asymmetric, true);
  }
}

double preempt_stw_fence_free_since(void) {
  return atomic_load(&preempt_stw_asymmetric) ? (asymmetric_ns - init_ns) / 1e9
                                              : -1;
}

void preempt_stw_init(void) {
  init_ns = preempt_now_ns();
  if (preempt_opts.membarrier == PREEMPT_MEMBARRIER_ON)
    go_asymmetric(); /* no stop yet */
}

/* Runs in BLOCKING (a system call or two is no delay to anyone). */
void preempt_stw_fenced_batch(struct preempt_fenced *f) {
  uint64_t now = preempt_now_ns();
  bool fast = f->since && now - f->since < PREEMPT_FENCED_BATCH * 1000ull;
  f->since = now;
  f->left = PREEMPT_FENCED_BATCH;
  if (fast && preempt_opts.membarrier == PREEMPT_MEMBARRIER_AUTO)
    go_asymmetric();
}

/* The calling thread has left RUNNING. */
static void stopped(struct preempt_thread *t, int state) {
  atomic_store(&t->state, state);
  atomic_fetch_add(&stop_progress, 1);
  if (atomic_load(&stopper_sleeping))
    futex_wake_all(&stop_progress);
}

bool preempt_stw_stops_begun(void) { return atomic_load(&world.begun); }

void preempt_stw_publish(struct preempt_thread *t, uintptr_t start_ip) {
  preempt_registry_sync();
  preempt_thread_tls_refresh(t);
  t->roots.len = 0;
  preempt_scan_own_stack(t, start_ip, &t->roots);
  atomic_store(&t->roots_valid, true);
}

static bool publish_interrupted(struct preempt_thread *t, const void *uc);

/* The code a signal stopped t in turned out, by the registry synced as t
 * published, to be an unsafe range of an object loaded after the
 * stopper's sync: t runs on to the range's poll and stops there (the
 * stopper, waiting for its roots, waits for that: wait_published). */
static void unstop(struct preempt_thread *t) {
  atomic_store(&t->retry_soon, true);
  atomic_store(&t->state, THREAD_RUNNING);
}

/* Leave a stopped state unless a stop is (still) requested.  A thread
 * parked without publishing its roots publishes them if a stop needs
 * them: from uc, the context a signal stopped it in, or from its own
 * stack at start_ip (0: nothing to publish). */
static void resume(struct preempt_thread *t, int stopped_state, const void *uc,
                   uintptr_t start_ip) {
  for (;;) {
    unsigned epoch = atomic_load(&world_epoch);
    if (!atomic_load(&preempt__stop_requested)) {
      atomic_store(&t->state, THREAD_RUNNING);
      if (!atomic_load(&preempt__stop_requested)) {
        atomic_store(&t->roots_valid, false);
        t->roots.len = 0;
        return;
      }
      stopped(t, stopped_state);
    }
    if ((uc || start_ip) && !atomic_load(&t->roots_valid) &&
        atomic_load(&world.roots)) {
      if (uc) {
        if (!publish_interrupted(t, uc)) {
          unstop(t);
          return;
        }
      } else {
        atomic_store(&t->publishing, 1);
        preempt_stw_publish(t, start_ip);
        atomic_store(&t->publishing, 0);
      }
    }
    futex_wait(&world_epoch, epoch);
  }
}

void preempt_park(uintptr_t start_ip) {
  struct preempt_thread *t = preempt_self;
  if (!t || !atomic_load(&preempt__stop_requested) ||
      atomic_load(&world.holder) == t->tid) /* its own stop */
    return;
  preempt_nopreempt_enter(t);
  sigset_t mask;
  preempt_signal_block_all(&mask); /* no handler runs on a parked thread */
  atomic_store(&t->roots_valid, false);
  if (atomic_load(&world.roots)) /* else only if a stop needs them later */
    preempt_stw_publish(t, start_ip);
  stopped(t, THREAD_PARKED);
  resume(t, THREAD_PARKED, NULL, start_ip);
  preempt_signal_restore(&mask);
  preempt_nopreempt_exit(t);
}

__attribute__((noinline)) void preempt_safepoint(void) {
  if (atomic_load_explicit(&preempt__stop_requested, memory_order_relaxed))
    preempt_park((uintptr_t)__builtin_return_address(0));
}

/* ---- the heap lock --------------------------------------------------------- */

static _Atomic long api_lock_holder; /* preempt_lock's thread, or 0 */

__attribute__((noreturn)) static void heap_while_stopped(void) {
  if (atomic_load(&api_lock_holder) == current_tid())
    preempt_fatal("this thread holds preempt_lock() and then called into "
                  "the runtime for the heap (an allocation, preempt_gc, a "
                  "finalizer, weak link or root change): call "
                  "preempt_unlock() first");
  preempt_fatal("this thread stopped the world (\"%s\") and then called "
                "into the runtime for the heap (an allocation, preempt_gc, "
                "a finalizer or root change): call "
                "preempt_start_the_world() first",
                world.reason ? world.reason : "?");
}

/* The heap lock is a glibc mutex, which lets a thread that unlocks take it
 * again before a waiter wakes: a thread collecting back to back would
 * starve another's allocation or stop.  So, as Go's sync.Mutex does, a
 * waiter that has waited over 1 ms marks itself starving, and until it has
 * the lock nobody else tries for it. */
static _Atomic long heap_starving;      /* that waiter's tid, or 0 */
static _Atomic unsigned starving_over;  /* futex word: bumped as it clears */
#define STARVING_AFTER_NS 1000000

static void lock_heap_waiting(long me) {
  for (;;) {
    unsigned seq = atomic_load(&starving_over);
    long s = atomic_load(&heap_starving);
    if (!s || s == me)
      break;
    futex_wait(&starving_over, seq);
  }
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_nsec += STARVING_AFTER_NS;
  if (until.tv_nsec >= 1000000000) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000;
  }
  if (pthread_mutex_clocklock(&preempt_heap_lock, CLOCK_MONOTONIC, &until)) {
    long none = 0;
    atomic_compare_exchange_strong(&heap_starving, &none, me);
    pthread_mutex_lock(&preempt_heap_lock);
  }
  if (atomic_load(&heap_starving) == me) {
    atomic_store(&heap_starving, 0);
    atomic_fetch_add(&starving_over, 1);
    futex_wake_all(&starving_over);
  }
}

void preempt_stw_fork_child(void) { atomic_store(&heap_starving, 0); }

/* Taking the heap lock is a safepoint: if another thread holds it (perhaps
 * to collect), publish our roots first so that it need not wait for us. */
void preempt_lock_heap(uintptr_t ip) {
  struct preempt_thread *t = preempt_self;
  preempt_nopreempt_enter(t);
  if (atomic_load_explicit(&heap_starving, memory_order_relaxed) ||
      pthread_mutex_trylock(&preempt_heap_lock) != 0) {
    long me = current_tid();
    if (atomic_load(&heap_owner) == me)
      heap_while_stopped();
    if (!t || atomic_load(&t->state) != THREAD_RUNNING) {
      lock_heap_waiting(me); /* not holding a stop up */
    } else {
      sigset_t mask;
      preempt_signal_block_all(&mask); /* see preempt_park */
      preempt_stw_publish(t, ip);
      stopped(t, THREAD_PARKED);
      lock_heap_waiting(me);
      atomic_store(&t->state, THREAD_RUNNING);
      atomic_store(&t->roots_valid, false);
      t->roots.len = 0;
      preempt_signal_restore(&mask);
    }
  }
  atomic_store(&heap_owner, current_tid());
}

void preempt_lock_heap_holding(uintptr_t ip, const void *a, const void *b) {
  struct preempt_thread *t = preempt_self;
  if (t) {
    t->held[0] = (uintptr_t)a;
    t->held[1] = (uintptr_t)b;
  }
  preempt_lock_heap(ip);
  if (t)
    t->held[0] = t->held[1] = 0;
}

void preempt_unlock_heap(void) {
  atomic_store(&heap_owner, 0);
  pthread_mutex_unlock(&preempt_heap_lock);
  preempt_nopreempt_end();
}

/* The end of a runtime critical section found a stop waiting for it: take
 * the signal again, now that it can stop the thread here. */
void preempt_nopreempt_deferred(struct preempt_thread *t) {
  if (t->no_preempt != PREEMPT_DEFERRED)
    return; /* still inside an outer section */
  t->no_preempt = 0;
  if (t->deferred_sigs)
    preempt_signal_redeliver(t);
  if (atomic_load(&preempt__stop_requested))
    preempt_signal_self();
}

void *preempt_nopreempt_deferred_ret(struct preempt_thread *t, void *p) {
  preempt_nopreempt_deferred(t);
  return p;
}

/* ---- blocking regions ------------------------------------------------------ */

static void enter_blocked(struct preempt_thread *t) {
  stopped(t, THREAD_BLOCKING);
  /* A stop signal on its way lands here rather than in the call, unless
   * the thread blocks it (it then lands after the call). */
  for (unsigned i = 0; atomic_load(&t->sig_pending) && i < 1000000; i++) {
    if (i == 64 && preempt_signal_blocked())
      break;
    sched_yield();
  }
}

/* Called with the registers and stack pointer of preempt_enter_blocking's
 * caller: what its frames hold while it blocks. */
__attribute__((used, visibility("hidden"))) void
preempt_stw_enter_blocking(const uintptr_t *regs, uintptr_t sp) {
  int saved_errno = errno;
  struct preempt_thread *t = preempt_thread_current();
  memcpy(t->saved_regs, regs, sizeof t->saved_regs);
  t->saved_sp = sp;
  preempt_stack_note_blocking(t);
  /* With no stop requested and no stop signal on its way, the state is
   * all there is to publish. */
  preempt_stw_block_store(&t->state, THREAD_BLOCKING, &t->fenced);
  if (unlikely(atomic_load_explicit(&preempt__stop_requested, memory_order_acquire) ||
               atomic_load_explicit(&t->sig_pending, memory_order_relaxed)))
    enter_blocked(t);
  errno = saved_errno;
}

__attribute__((naked)) void preempt_enter_blocking(void) {
  PREEMPT_ARCH_CALL_WITH_CALLER_CONTEXT(preempt_stw_enter_blocking);
}

void preempt_exit_blocking(void) {
  struct preempt_thread *t = preempt_self;
  if (!t)
    return;
  preempt_stw_state_store(&t->state, THREAD_RUNNING);
  if (likely(!atomic_load_explicit(&preempt__stop_requested, memory_order_acquire)))
    return;
  int saved_errno = errno; /* of the call just made */
  if (atomic_load(&world.holder) != t->tid) { /* its own stop: no waiting */
    stopped(t, THREAD_BLOCKING); /* the stopper may be counting on it */
    resume(t, THREAD_BLOCKING, NULL, 0);
  }
  errno = saved_errno;
}

bool preempt_stw_handler_enter(struct preempt_thread *t,
                               struct preempt_blocking_save *s) {
  if (atomic_load(&t->state) != THREAD_BLOCKING)
    return false;
  memcpy(s->regs, t->saved_regs, sizeof s->regs);
  s->sp = t->saved_sp;
  s->hi = t->saved_hi;
  s->off_stack = t->off_stack;
  s->idle = t->idle;
  t->idle = false;
  preempt_exit_blocking();
  return true;
}

void preempt_stw_handler_leave(struct preempt_thread *t,
                               const struct preempt_blocking_save *s) {
  memcpy(t->saved_regs, s->regs, sizeof s->regs);
  t->saved_sp = s->sp;
  t->saved_hi = s->hi;
  t->off_stack = s->off_stack;
  t->idle = s->idle;
  enter_blocked(t);
}

/* ---- stopping by signal ----------------------------------------------------- */

void preempt_stw_on_signal(struct preempt_thread *t, void *uc) {
  if (!atomic_load(&preempt__stop_requested) ||
      atomic_load(&t->state) != THREAD_RUNNING) {
    atomic_store(&t->sig_pending, 0);
    return;
  }
  if (t->no_preempt) { /* stops at the section's end */
    t->no_preempt |= PREEMPT_DEFERRED;
    atomic_store(&t->sig_pending, 0);
    return;
  }
  /* Read before the tables: once it is set they are this stop's. */
  bool synced = atomic_load(&world.synced), unsynced = false;
  uintptr_t pc = preempt_arch_context_pc(uc);
  if (preempt_signal_in_loader_text(pc) || preempt_registry_unsafe_at(pc) ||
      (preempt_signal_in_libc_text(pc) && preempt_stack_libc_called_by_loader(uc)) ||
      (unsynced = !synced && !preempt_registry_known_code(pc))) {
    atomic_store(&t->retry_soon, true);
    atomic_store(&t->sig_pending, 0); /* the range's poll or a new signal */
    if (unsynced)
      atomic_fetch_add(&world.bounced, 1);
    return;
  }
  /* Stopped from here on: the stopper may go on while we publish. */
  bool roots = atomic_load(&world.roots);
  atomic_store(&t->roots_valid, false);
  if (roots)
    atomic_store(&t->publishing, 1);
  stopped(t, THREAD_PARKED);
  atomic_store(&t->sig_pending, 0);
  if (roots && !publish_interrupted(t, uc)) {
    unstop(t);
    return;
  }
  resume(t, THREAD_PARKED, uc, 0);
}

/* False, publishing nothing, if the registry synced here (after the
 * interruption, so it knows the code interrupted) finds that code in an
 * unsafe range: it was not known when the handler looked. */
static bool publish_interrupted(struct preempt_thread *t, const void *uc) {
  atomic_store(&t->publishing, 1);
  preempt_registry_sync();
  if (preempt_registry_unsafe_at(preempt_arch_context_pc(uc))) {
    atomic_store(&t->publishing, 0);
    return false;
  }
  preempt_thread_tls_refresh(t);
  t->roots.len = 0;
  preempt_scan_interrupted(t, uc, &t->roots);
  atomic_store(&t->roots_valid, true);
  atomic_store(&t->publishing, 0);
  return true;
}

static int ncpus(void) {
  static _Atomic int n;
  if (!atomic_load_explicit(&n, memory_order_relaxed))
    atomic_store(&n, get_nprocs());
  return atomic_load_explicit(&n, memory_order_relaxed);
}

/* Ask t to stop by signal, unless one is on its way (and not `again`) or
 * it is not running.  sig_pending is set before the state is read (see the
 * top).  Sent again, a signal that was lost (read by a raw sigtimedwait or
 * a signalfd the runtime never saw) is replaced; one still pending is
 * merged with it by the kernel, so the thread never handles two stops. */
static void request(struct preempt_thread *t, bool again) {
  if (!preempt_signal_number())
    return;
  bool in_flight = atomic_exchange(&t->sig_pending, 1);
  if (in_flight && !again)
    return; /* coalesced with the one in flight */
  if (atomic_load(&t->state) != THREAD_RUNNING) {
    /* Cleared by the one on its way, if any; none, and a thread entering
     * a blocking region would wait for it (enter_blocked). */
    if (!in_flight)
      atomic_store(&t->sig_pending, 0);
    return;
  }
  if (!preempt_signal_send(t)) {
    atomic_store(&t->sig_pending, 0);
    return;
  }
  t->signals_this_stop++;
}

static void request_each(struct preempt_thread *t, void *self) {
  if (t == self)
    return;
  t->signals_this_stop = 0;
  atomic_store(&t->retry_soon, false);
  request(t, false);
  world.signalled += t->signals_this_stop;
}

static void report_straggler(const struct preempt_thread *t, unsigned secs) {
  if (preempt_signal_number())
    preempt_warn("stopping the world (\"%s\"): thread %ld has not stopped "
                 "after %u s: it ignores the stop signal %d (blocked with a "
                 "raw system call?), or stays in the dynamic linker, an "
                 "unsafe range or a runtime call that does not return",
                 world.reason, t->tid, secs, preempt_signal_number());
  else
    preempt_warn("stopping the world (\"%s\"): waiting %u s for thread %ld, "
                 "which has not reached a safepoint (PREEMPT=asyncpreempt=0): "
                 "wrap blocking calls (pthread_join, read, sleep...) in "
                 "preempt_enter_blocking()/preempt_exit_blocking()",
                 world.reason, secs, t->tid);
}

/* Stores nothing until it has stopped: the stopper's stores while it
 * polls would take the line from under the thread's handler. */
static bool seen_stopped(struct preempt_thread *t) {
  int state = atomic_load(&t->state);
  if (state == THREAD_RUNNING)
    return false;
  t->stopped_as = state;
  return true;
}

static void wait_stopped(struct preempt_thread *t, void *self) {
  if (t == self) {
    t->stopped_as = THREAD_RUNNING; /* it publishes as it collects */
    return;
  }
  /* A thread on another CPU stops within a signal's round trip (10-15 us
   * on a VM): spin that long from the start of the stop (if it may,
   * preempt_stop_world), checking the clock every 32 pauses. */
  uint64_t start = preempt_now_ns(), next = start + 20000, backoff = 20000;
  while (preempt_now_ns() < world.spin_until)
    for (unsigned spins = 0; spins < 32; spins++) {
      if (seen_stopped(t))
        return;
      PREEMPT_ARCH_PAUSE();
    }
  unsigned reported = 0;
  for (;;) {
    unsigned progress = atomic_load(&stop_progress);
    if (seen_stopped(t))
      return;
    uint64_t now = preempt_now_ns();
    /* Signalled again unless a critical section will stop it at its end. */
    if (now >= next &&
        !(__atomic_load_n(&t->no_preempt, __ATOMIC_RELAXED) & PREEMPT_DEFERRED)) {
      /* Doubling, to 10 ms, for a thread that ignores the signal. */
      if (atomic_exchange(&t->retry_soon, false))
        backoff = 50000;
      else if (backoff < 10000000)
        backoff *= 2;
      /* It may have been in the loader, mapping an object whose code it
       * runs now: the object's unsafe ranges are known before it lands. */
      preempt_registry_sync();
      request(t, true);
      next = now + backoff;
    }
    if (now - start >= (uint64_t)(reported + 1) * 5000000000u)
      report_straggler(t, 5 * ++reported);
    /* A signalled thread waiting for this CPU gets it at once; sleeping
     * would add a wake-up to every stop. */
    if (now - start < 130000) {
      sched_yield();
      continue;
    }
    atomic_store(&stopper_sleeping, 1);
    if (atomic_load(&t->state) == THREAD_RUNNING)
      futex_wait_ns(&stop_progress, progress, next > now ? next - now : 1000);
    atomic_store(&stopper_sleeping, 0);
  }
}

/* Also for a thread a signal parked for a stop without roots, and that
 * has not woken since: it publishes as it sees this stop (resume). */
static void wait_published(struct preempt_thread *t, void *self) {
  if (t == self)
    return;
  while (atomic_load(&t->publishing) ||
         (t->stopped_as == THREAD_PARKED && !atomic_load(&t->roots_valid))) {
    if (atomic_load(&t->state) == THREAD_RUNNING)
      wait_stopped(t, self); /* unstopped: it stops again at a poll */
    else
      sched_yield();
  }
}

/* Signalled again at once: its handler ran before the registry sync. */
static void request_bounced(struct preempt_thread *t, void *self) {
  if (t != self && atomic_load(&t->retry_soon) &&
      atomic_load(&t->state) == THREAD_RUNNING)
    request(t, true);
}

struct tally {
  unsigned signals, resignalled;
};

static void tally_each(struct preempt_thread *t, void *arg) {
  struct tally *s = arg;
  s->signals += t->signals_this_stop;
  s->resignalled += t->signals_this_stop > 1;
}

/* The signals go first: the stopper's own bookkeeping (the flags of the
 * polls, the registry sync, the statistics) happens while they are on
 * their way or once the world has restarted, not before the first
 * thread can stop. */
void preempt_stop_world(const char *reason, bool roots) {
  uint64_t t0 = preempt_now_ns();
  struct preempt_thread *self = preempt_self;
  /* Published by the request (sequentially consistent), after which
   * every reader reads them. */
  atomic_store_explicit(&world.holder, current_tid(), memory_order_relaxed);
  world.reason = reason;
  world.t0 = t0;
  atomic_store(&world.begun, true);
  atomic_store_explicit(&world.roots, roots, memory_order_relaxed);
  atomic_store_explicit(&world.synced, false, memory_order_relaxed);
  atomic_store_explicit(&world.bounced, 0, memory_order_relaxed);
  atomic_store(&preempt__stop_requested, 1);
  if (atomic_load(&stop_membarrier) &&
      syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0)
    preempt_fatal("membarrier failed after it was registered: %s",
                  strerror(errno));
  world.signalled = 0;
  preempt_threads_each(request_each, self);
  /* With more signalled threads than other CPUs, some of them wait for a
   * CPU, perhaps this one: spinning on it, even once the others have
   * stopped, would keep them off it (measured: 2 spinners on 2 CPUs, p99
   * 45 us spinning 20 us first, 22-29 us yielding at once). */
  world.spin_until = world.signalled + 1 > (unsigned)ncpus() ? 0 : t0 + 30000;
  preempt_polls_set(1); /* the flags the plugin's polls read (polls.c) */
  preempt_registry_sync(); /* unsafe ranges of objects loaded just now */
  atomic_store(&world.synced, true);
  /* The caller's string may not outlive its call (a stack buffer), and
   * the statistics and messages want it until the restart. */
  strncpy(world.reason_copy, reason, sizeof world.reason_copy - 1);
  world.reason = world.reason_copy;
  if (atomic_load(&world.bounced))
    preempt_threads_each(request_bounced, self);
  preempt_threads_each(wait_stopped, self);
  world.since = preempt_now_ns();
  if (roots)
    preempt_threads_each(wait_published, self);
}

void preempt_start_world(void) {
  uint64_t now = preempt_now_ns();
  struct tally s = {0, 0};
  preempt_threads_each(tally_each, &s);
  preempt_stw_stats_record(world.reason, world.since - world.t0, s.signals,
                           s.resignalled, now - world.since);
  atomic_store(&world.holder, 0);
  atomic_store(&preempt__stop_requested, 0);
  preempt_polls_set(0);
  atomic_fetch_add(&world_epoch, 1);
  futex_wake_all(&world_epoch);
}

/* ---- the public API ----------------------------------------------------------- */

bool preempt_heap_locked_here(void) {
  return atomic_load(&heap_owner) == current_tid();
}

__attribute__((noinline)) void preempt_lock(void) {
  preempt_init();
  preempt_lock_heap((uintptr_t)__builtin_return_address(0));
  atomic_store(&api_lock_holder, current_tid());
}

void preempt_unlock(void) {
  if (atomic_load(&api_lock_holder) != current_tid())
    preempt_fatal("preempt_unlock(): this thread does not hold preempt_lock()");
  atomic_store(&api_lock_holder, 0);
  preempt_unlock_heap();
}

void preempt_stop_the_world(const char *reason) {
  preempt_init();
  if (!reason)
    reason = "preempt_stop_the_world";
  if (atomic_load(&world.holder) == current_tid())
    preempt_fatal("preempt_stop_the_world(\"%s\"): this thread has already "
                  "stopped the world (\"%s\"); stops do not nest: call "
                  "preempt_start_the_world() first",
                  reason, world.reason);
  preempt_lock_heap((uintptr_t)__builtin_return_address(0));
  world.api = true;
  preempt_stop_world(reason, false);
  if (preempt_opts.stw_check)
    preempt_stwcheck_arm(current_tid(), world.reason);
}

void preempt_start_the_world(void) {
  long holder = atomic_load(&world.holder);
  if (!world.api || holder != current_tid()) {
    if (world.api)
      preempt_fatal("preempt_start_the_world(): the world was stopped by "
                    "thread %ld (\"%s\"), not by this one: the thread that "
                    "stops it starts it",
                    holder, world.reason);
    preempt_fatal("preempt_start_the_world(): the world is not stopped "
                  "(no preempt_stop_the_world() before it)");
  }
  world.api = false;
  if (preempt_opts.stw_check)
    preempt_stwcheck_disarm();
  preempt_start_world();
  preempt_unlock_heap();
}

void preempt_with_world_stopped(const char *reason, void (*fn)(void *),
                                void *arg) {
  preempt_stop_the_world(reason);
  fn(arg);
  preempt_start_the_world();
}
