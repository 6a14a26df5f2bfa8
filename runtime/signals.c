/* The stop signal: the runtime's handler installed beside the program's.
 *
 * One signal (SIGURG by default, as Go; PREEMPT=signal=...) carries stop
 * requests.  The runtime's handler stays installed: sigaction() and
 * signal() are wrapped, so a handler the program installs for the same
 * signal, before or after the runtime, is recorded and called by ours for
 * every signal that is not a stop request.  A stop request is recognised
 * by its siginfo (sent with rt_tgsigqueueinfo, SI_QUEUE from this process
 * with a private cookie), so a SIGURG from the kernel (out-of-band socket
 * data) or another process still reaches the program.  Signals below
 * SIGRTMIN are not queued: one sent to a thread while a stop request is
 * pending there merges with it, and the handler sees only the request.
 * The program's own sends to a thread (pthread_kill, raise, tgkill,
 * pthread_sigqueue, and the runtime's redelivery of deferred ones) are
 * counted per target (sends.c), and each thread counts those it has seen:
 * a stop request arriving while the count is short swallowed one, which
 * is then passed to the program's handler.  Limit: a signal
 * another process or the kernel sends to that thread alone in that window
 * is lost.
 *
 * The signal must never be blocked, or the thread could not be stopped:
 * sigprocmask() and pthread_sigmask() leave it out of the masks they set.
 * The handler runs on the interrupted stack (no SA_ONSTACK), so a thread
 * interrupted on its alternate signal stack keeps both stacks walkable. */
#define _GNU_SOURCE
#include "gc.h"
#include "blocking.h"
#include "options.h"
#include "sends.h"
#include "signals.h"
#include "stw.h"
#include "threads.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

typedef int sigaction_fn(int, const struct sigaction *, struct sigaction *);
typedef int sigmask_fn(int, const sigset_t *, sigset_t *);
struct preempt_blocking_save;
typedef int sigaltstack_fn(const stack_t *, stack_t *);

static sigaction_fn *real_sigaction;
static sigmask_fn *real_pthread_sigmask, *real_sigprocmask;
static sigaltstack_fn *real_sigaltstack;

/* The signal stack this thread last set: with SS_AUTODISARM the kernel
 * disables it while a handler runs on it, and sigaltstack() no longer
 * says where it is. */
static __thread uintptr_t alt_lo, alt_hi __attribute__((tls_model("initial-exec")));

static int stop_sig;              /* 0: not installed (cooperative stops) */
static pid_t self_pid;            /* refreshed in a forked child */
static const int cookie_obj[2];   /* their addresses mark our signals */
#define COOKIE ((void *)&cookie_obj[0])        /* a stop request */
#define REMASK_COOKIE ((void *)&cookie_obj[1]) /* unblock remask_sig */
static int remask_sig;              /* the stop signal being moved to */
static _Atomic unsigned remasked;   /* threads that have unblocked it */

/* The program's own action for stop_sig.  Written by the sigaction
 * wrapper with the signal blocked on the writing thread; read by handlers
 * on any thread, which retry while the sequence number is odd or moves. */
static struct sigaction user_action;
static _Atomic unsigned user_seq;
static pthread_mutex_t user_lock = PTHREAD_MUTEX_INITIALIZER;

/* Counts a send around the kernel's, with every signal blocked: nothing
 * (a stop request above all) can hold the sender between its send and its
 * count, where a receiver would wait for it.  A thread sending to itself
 * gets the signal when the mask comes back, so a stop request never finds
 * its own send half done. */
struct counted {
  struct preempt_sends *slot; /* NULL: not stop_sig, or no attached target */
  sigset_t old;
};

static void send_begin(struct counted *c, bool counted,
                       enum preempt_sends_by by, uintptr_t key) {
  c->slot = NULL;
  if (!stop_sig || !counted)
    return;
  preempt_signal_block_all(&c->old); /* but faults, which cannot wait */
  c->slot = preempt_sends_begin(by, key);
  if (!c->slot)
    preempt_signal_restore(&c->old);
}

static void send_end(const struct counted *c) {
  if (!c->slot)
    return;
  preempt_sends_end(c->slot);
  preempt_signal_restore(&c->old);
}

static uintptr_t loader_lo, loader_hi; /* ld.so's code */
static uintptr_t libc_lo, libc_hi;     /* the C library's */

static void resolve_once(void) {
  real_sigaction = (sigaction_fn *)preempt_libc_symbol("sigaction");
  real_pthread_sigmask = (sigmask_fn *)preempt_libc_symbol("pthread_sigmask");
  real_sigprocmask = (sigmask_fn *)preempt_libc_symbol("sigprocmask");
  real_sigaltstack = (sigaltstack_fn *)preempt_libc_symbol("sigaltstack");
}

static void resolve(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, resolve_once);
}

int preempt_signal_number(void) { return stop_sig; }

/* Signals that carry no meaning the C library or a fault relies on. */
bool preempt_signal_allowed(int sig) {
  return sig == SIGURG || sig == SIGUSR1 || sig == SIGUSR2 || sig == SIGPWR ||
         sig == SIGVTALRM || sig == SIGPROF ||
         (sig >= SIGRTMIN && sig <= SIGRTMAX);
}

int preempt_signal_real_mask(int how, const void *set, void *old) {
  resolve();
  return real_pthread_sigmask(how, set, old);
}

/* glibc's signal of pthread_cancel, which sigfillset and pthread_sigmask
 * leave out of every mask they build. */
#define PREEMPT_SIGCANCEL 32

/* While the handler runs (and keeps its thread stopped) no other handler
 * of the program may run on the thread and touch the heap: everything is
 * blocked but the signals of faults, which cannot wait.  That includes
 * the C library's cancellation signal, whose handler unwinds the thread
 * through the program's cleanup handlers (an asynchronous cancel). */
static void handler_mask(sigset_t *m) {
  sigfillset(m);
  static const int faults[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP,
                               SIGSYS, SIGABRT};
  for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++)
    sigdelset(m, faults[i]);
  unsigned long *bits = (unsigned long *)m;
  bits[(PREEMPT_SIGCANCEL - 1) / (8 * sizeof *bits)] |=
      1ul << ((PREEMPT_SIGCANCEL - 1) % (8 * sizeof *bits));
}

void preempt_signal_block_all(void *old) {
  sigset_t m;
  handler_mask(&m);
  /* Not pthread_sigmask, which would unblock the cancellation signal. */
  syscall(SYS_rt_sigprocmask, SIG_BLOCK, &m, old, _NSIG / 8);
}

void preempt_signal_unblock(void) {
  if (!stop_sig)
    return;
  sigset_t m;
  sigemptyset(&m);
  sigaddset(&m, stop_sig);
  syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &m, NULL, _NSIG / 8);
}

bool preempt_signal_blocked(void) {
  sigset_t m;
  /* Raw: the program may have blocked it with a raw call too. */
  if (!stop_sig || syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &m, _NSIG / 8))
    return false;
  return sigismember(&m, stop_sig);
}

void preempt_signal_restore(const void *old) {
  real_pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* ---- the program's handler ---------------------------------------------- */

static void read_user_action(struct sigaction *out) {
  for (;;) {
    unsigned s = atomic_load(&user_seq);
    if (s & 1)
      continue;
    memcpy(out, &user_action, sizeof *out);
    if (atomic_load(&user_seq) == s)
      return;
  }
}

static bool default_ignores(int sig) {
  return sig == SIGURG || sig == SIGCHLD || sig == SIGWINCH || sig == SIGCONT;
}

static bool same_stack(const struct preempt_thread *t, uintptr_t a,
                       uintptr_t b) {
  uintptr_t lo, hi;
  if (a >= t->stack_lo && a < t->stack_hi)
    return b >= t->stack_lo && b < t->stack_hi;
  return preempt_signal_stack(a, &lo, &hi) && b >= lo && b <= hi;
}

/* Whether a signal interrupted the program's handler for the stop signal.
 * A handler left by a jump leaves its mark behind: a signal on a frame
 * above it, or on another stack, finds it gone. */
static bool in_program_stop_handler(struct preempt_thread *t, const void *uc) {
  uintptr_t top = t->stop_handler_sp, sp = preempt_arch_context_sp(uc);
  if (!top)
    return false;
  if (sp < top && same_stack(t, sp, top))
    return true;
  t->stop_handler_sp = 0;
  return false;
}

/* Sent again later, with its siginfo: at the end of the runtime's critical
 * section (deferred), or when the program's handler returns. */
static void defer(struct preempt_thread *t, int sig, const siginfo_t *info,
                  bool section) {
  t->deferred_info[sig] = *info;
  t->deferred_sigs |= 1ull << sig;
  if (section)
    t->no_preempt |= PREEMPT_DEFERRED;
}

/* The program's handler for the stop signal runs on an unattached thread
 * with the signal blocked, as the kernel would (a storm of them would
 * otherwise nest without end); if it attaches the thread (it allocates),
 * the thread must be stoppable from there on: preempt_signal_attached. */
static __thread uintptr_t unattached_handler_sp
    __attribute__((tls_model("initial-exec")));

void preempt_signal_attached(struct preempt_thread *t) {
  if (!unattached_handler_sp)
    return;
  t->stop_handler_sp = unattached_handler_sp; /* its own signals wait */
  unattached_handler_sp = 0;
  preempt_signal_unblock();
}

static bool in_section(const struct preempt_thread *t) {
  return t && (t->no_preempt & (PREEMPT_DEFERRED - 1));
}

/* What the program would have done with a signal that is not ours.  Its
 * handler runs as other signals' do (the trampoline below): after the
 * runtime's critical section it interrupted, outside a blocking region.
 * But the stop signal stays unblocked while it runs, or its thread could
 * not be stopped there (nor ever again, after a siglongjmp out of it that
 * keeps the mask): the program's own signals that arrive meanwhile wait,
 * as the kernel would have held them, unless it asked for SA_NODEFER. */
static void forward(int sig, siginfo_t *info, void *uc) {
  struct sigaction a;
  read_user_action(&a);
  if (a.sa_handler == SIG_IGN)
    return;
  if (a.sa_handler == SIG_DFL) {
    if (default_ignores(sig))
      return;
    /* Its default action (terminate): restore it and let it happen. */
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    real_sigaction(sig, &dfl, NULL);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    syscall(SYS_tgkill, self_pid, (pid_t)syscall(SYS_gettid), sig);
    real_pthread_sigmask(SIG_UNBLOCK, &s, NULL);
    return;
  }
  struct preempt_thread *t = preempt_self;
  bool nodefer = a.sa_flags & SA_NODEFER;
  if (t && sig < 64 &&
      (in_section(t) || (!nodefer && in_program_stop_handler(t, uc)))) {
    defer(t, sig, info, in_section(t));
    return;
  }
  /* The mask the kernel would have set for the program's handler, less
   * the stop signal on a thread that can be stopped.  Marked before the
   * signal is unblocked, and blocked again before the mark goes: a storm
   * of the program's own signals would otherwise nest here without end. */
  sigset_t m = ((ucontext_t *)uc)->uc_sigmask, old;
  sigorset(&m, &m, &a.sa_mask);
  if (t || nodefer)
    sigdelset(&m, sig);
  else
    sigaddset(&m, sig);
  uintptr_t outer = t ? t->stop_handler_sp : 0;
  uintptr_t mark = nodefer ? 0 : (uintptr_t)__builtin_frame_address(0);
  if (t)
    t->stop_handler_sp = mark ? mark : outer;
  else
    unattached_handler_sp = mark;
  real_pthread_sigmask(SIG_SETMASK, &m, &old);
  struct preempt_blocking_save save;
  bool was_blocking = t && preempt_stw_handler_enter(t, &save);
  if (a.sa_flags & SA_SIGINFO)
    a.sa_sigaction(sig, info, uc);
  else
    a.sa_handler(sig);
  if (was_blocking)
    preempt_stw_handler_leave(t, &save);
  real_pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (!t) {
    unattached_handler_sp = 0;
    t = preempt_self; /* attached by the handler (an allocation) */
  }
  if (t)
    t->stop_handler_sp = outer;
  if (a.sa_flags & SA_RESETHAND) {
    atomic_fetch_add(&user_seq, 1);
    user_action.sa_handler = SIG_DFL;
    user_action.sa_flags &= ~SA_SIGINFO;
    atomic_fetch_add(&user_seq, 1);
  }
  if (t && !outer && !in_section(t) && t->deferred_sigs)
    preempt_signal_redeliver(t);
}

void preempt_signal_attach(struct preempt_thread *t) {
  preempt_sends_claim(t);
  t->program_sigs_seen = preempt_sends_to(t);
}

void preempt_signal_detach(struct preempt_thread *t) {
  preempt_sends_release(t);
}

void preempt_signal_forked(struct preempt_thread *self) {
  preempt_sends_forked(self);
  if (self)
    self->program_sigs_seen = 0;
}

/* Whether stop_sig is pending on this thread itself, not on the process:
 * only /proc tells them apart, so it is asked only when rt_sigpending
 * says one of them holds it.  If /proc cannot say: no. */
static bool pending_on_thread(void) {
  sigset_t p;
  if (syscall(SYS_rt_sigpending, &p, _NSIG / 8) || !sigismember(&p, stop_sig))
    return false;
  int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/thread-self/status",
                        O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  char buf[4096];
  long len = syscall(SYS_read, fd, buf, sizeof buf - 1);
  syscall(SYS_close, fd);
  if (len <= 0)
    return false;
  buf[len] = 0;
  const char *line = strstr(buf, "\nSigPnd:");
  if (!line)
    return false;
  unsigned long long mask = 0;
  for (const char *c = line + 8; *c && *c != '\n'; c++) {
    int d = *c >= '0' && *c <= '9'   ? *c - '0'
            : *c >= 'a' && *c <= 'f' ? *c - 'a' + 10
                                     : -1;
    if (d >= 0)
      mask = mask << 4 | (unsigned)d;
  }
  return mask >> (stop_sig - 1) & 1;
}

/* On the arrival of stop_sig at t (a stop request if ours): did it
 * swallow a send of the program's?  The sends counted since the last
 * arrival came before its dequeue (and merged into it) or after (and wait
 * in another instance, pending: the handler blocks the signal).  When one
 * is pending the split is unknown, so the decision is left to it: it
 * comes as soon as this handler returns, and finds the count still short
 * unless it is the program's own.  A program's tgkill (SI_TKILL: raise,
 * pthread_kill) arriving is one of the counted sends. */
static bool swallowed(struct preempt_thread *t, bool ours,
                      const siginfo_t *info) {
  uint64_t n = preempt_sends_to(t), seen = t->program_sigs_seen;
  if (n == seen)
    return false;
  if (!pending_on_thread()) {
    t->program_sigs_seen = n;
    return ours;
  }
  if (!ours && info && info->si_code == SI_TKILL && info->si_pid == self_pid)
    t->program_sigs_seen = seen + 1;
  return false;
}

static void handler(int sig, siginfo_t *info, void *uc) {
  int saved_errno = errno;
  bool ours = info && info->si_code == SI_QUEUE && info->si_pid == self_pid &&
              (info->si_value.sival_ptr == COOKIE ||
               info->si_value.sival_ptr == REMASK_COOKIE);
  if (ours && info->si_value.sival_ptr == REMASK_COOKIE) {
    /* The mask the thread returns to no longer blocks the new signal. */
    sigdelset(&((ucontext_t *)uc)->uc_sigmask, remask_sig);
    atomic_fetch_add(&remasked, 1);
    errno = saved_errno;
    return;
  }
  struct preempt_thread *t = preempt_self;
  if (ours && preempt_opts.stw_check)
    preempt_stwcheck_on_signal();
  bool merged = t && swallowed(t, ours, info);
  if (t)
    preempt_stw_on_signal(t, uc);
  if (!ours) {
    forward(sig, info, uc);
  } else if (merged) {
    siginfo_t as_sent = {.si_signo = sig, .si_code = SI_TKILL};
    as_sent.si_pid = self_pid;
    as_sent.si_uid = getuid();
    forward(sig, &as_sent, uc);
  }
  errno = saved_errno;
}

/* ---- installing ---------------------------------------------------------- */


/* The executable segment of the object loaded at arg[0], into arg[1..2]. */
static int find_text(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  uintptr_t *r = arg;
  if (info->dlpi_addr != r[0])
    return 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
      r[1] = info->dlpi_addr + ph->p_vaddr;
      r[2] = r[1] + ph->p_memsz;
    }
  }
  return 1;
}

static void text_of(uintptr_t base, uintptr_t *lo, uintptr_t *hi) {
  uintptr_t r[3] = {base, 0, 0};
  if (base)
    dl_iterate_phdr(find_text, r);
  *lo = r[1];
  *hi = r[2];
}

bool preempt_signal_in_loader_text(uintptr_t pc) {
  return pc >= loader_lo && pc < loader_hi;
}

bool preempt_signal_in_libc_text(uintptr_t pc) {
  return pc >= libc_lo && pc < libc_hi;
}

static void after_fork_child(void) { self_pid = getpid(); }

void preempt_signal_fork_prepare(void) { pthread_mutex_lock(&user_lock); }
void preempt_signal_fork_done(void) { pthread_mutex_unlock(&user_lock); }
static void wrap_existing(void);

static void install(int sig) {
  struct sigaction old, ours = {.sa_sigaction = handler,
                                .sa_flags = SA_SIGINFO | SA_RESTART};
  handler_mask(&ours.sa_mask);
  if (real_sigaction(sig, &ours, &old))
    preempt_fatal("cannot install the stop signal's handler (signal %d): %s",
                  sig, strerror(errno));
  pthread_mutex_lock(&user_lock);
  atomic_fetch_add(&user_seq, 1);
  user_action = old; /* a handler the program installed earlier */
  stop_sig = sig;
  atomic_fetch_add(&user_seq, 1);
  pthread_mutex_unlock(&user_lock);
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, sig);
  real_pthread_sigmask(SIG_UNBLOCK, &s, NULL);
}

static bool send_value(long tid, int sig, void *cookie) {
  siginfo_t si;
  memset(&si, 0, sizeof si);
  si.si_signo = sig;
  si.si_code = SI_QUEUE;
  si.si_pid = self_pid; /* si_uid left 0: only our handler reads these */
  si.si_value.sival_ptr = cookie;
  return syscall(SYS_rt_tgsigqueueinfo, self_pid, (pid_t)tid, sig, &si) == 0;
}

struct remask {
  int old_sig;
  unsigned sent;
};

static void remask_each(struct preempt_thread *t, void *arg) {
  struct remask *r = arg;
  if (t != preempt_self && send_value(t->tid, r->old_sig, REMASK_COOKIE))
    r->sent++;
}

/* Threads that exist already may block the new signal (libraries block
 * every signal in their worker threads; the wrapped mask calls only ever
 * spared the old one): each is asked, by the old signal, to unblock it. */
static void move_to(int sig) {
  int old_sig = stop_sig;
  struct sigaction old_user;
  read_user_action(&old_user);
  struct sigaction ours = {.sa_sigaction = handler,
                           .sa_flags = SA_SIGINFO | SA_RESTART},
                   prev;
  handler_mask(&ours.sa_mask);
  if (real_sigaction(sig, &ours, &prev))
    preempt_fatal("cannot install the stop signal's handler (signal %d): %s",
                  sig, strerror(errno));
  remask_sig = sig;
  atomic_store(&remasked, 0);
  struct remask r = {old_sig, 0};
  preempt_lock_heap((uintptr_t)__builtin_return_address(0));
  preempt_threads_each(remask_each, &r);
  preempt_unlock_heap();
  for (unsigned i = 0; atomic_load(&remasked) < r.sent && i < 100000; i++)
    sched_yield();
  pthread_mutex_lock(&user_lock);
  atomic_fetch_add(&user_seq, 1);
  user_action = prev;
  stop_sig = sig;
  atomic_fetch_add(&user_seq, 1);
  pthread_mutex_unlock(&user_lock);
  real_sigaction(old_sig, &old_user, NULL); /* the old one back to the program */
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, sig);
  real_pthread_sigmask(SIG_UNBLOCK, &s, NULL);
}

void preempt_signal_init(void) {
  resolve();
  self_pid = getpid();
  pthread_atfork(NULL, NULL, after_fork_child);
  text_of((uintptr_t)getauxval(AT_BASE), &loader_lo, &loader_hi);
  Dl_info libc;
  if (dladdr((void *)real_sigprocmask, &libc))
    text_of((uintptr_t)libc.dli_fbase, &libc_lo, &libc_hi);
  if (preempt_opts.async_preempt)
    install(preempt_opts.stop_signal);
  wrap_existing();
}

int preempt_set_stop_signal(int sig) {
  preempt_init();
  if (!preempt_signal_allowed(sig)) {
    preempt_warn("preempt_set_stop_signal(%d): not a signal the runtime can "
                 "use (SIGURG, SIGUSR1, SIGUSR2, SIGPWR, SIGVTALRM, SIGPROF or "
                 "SIGRTMIN..SIGRTMAX)", sig);
    errno = EINVAL;
    return -1;
  }
  if (!preempt_opts.async_preempt || sig == stop_sig)
    return 0;
  if (preempt_stw_stops_begun()) {
    preempt_warn("preempt_set_stop_signal(%d): threads have already been "
                 "stopped with signal %d; it stays",
                 sig, stop_sig);
    errno = EBUSY;
    return -1;
  }
  move_to(sig);
  preempt_opts.stop_signal = sig;
  return 0;
}

bool preempt_signal_send(struct preempt_thread *t) {
  return preempt_signal_send_tid(t->tid);
}

bool preempt_signal_send_tid(long tid) {
  return send_value(tid, stop_sig, COOKIE);
}

void preempt_signal_redeliver(struct preempt_thread *t) {
  uint64_t sigs = t->deferred_sigs;
  t->deferred_sigs = 0;
  for (int sig = 1; sig < 64; sig++)
    if (sigs & (1ull << sig)) {
      siginfo_t si = t->deferred_info[sig];
      struct counted c;
      send_begin(&c, sig == stop_sig, PREEMPT_SENDS_BY_TID, (uintptr_t)t->tid);
      syscall(SYS_rt_tgsigqueueinfo, self_pid, (pid_t)t->tid, sig, &si);
      send_end(&c);
    }
}

void preempt_signal_self(void) {
  struct preempt_thread *t = preempt_self;
  if (t && stop_sig)
    preempt_signal_send(t);
}

/* ---- the program's sends of the stop signal to a thread ----------------- *
 * A signal to the whole process waits in another queue than a thread's
 * and never merges: only these are counted. */
#define REAL(name)                                                             \
  static __typeof__(name) *_Atomic real;                                       \
  if (!real)                                                                   \
  real = (__typeof__(name) *)preempt_libc_symbol(#name)

__attribute__((visibility("default"))) int pthread_kill(pthread_t th, int sig) {
  REAL(pthread_kill);
  struct counted c;
  send_begin(&c, sig == stop_sig, PREEMPT_SENDS_BY_HANDLE, (uintptr_t)th);
  int r = real(th, sig);
  send_end(&c);
  return r;
}

__attribute__((visibility("default"))) int
pthread_sigqueue(pthread_t th, int sig, const union sigval value) {
  REAL(pthread_sigqueue);
  struct counted c;
  send_begin(&c, sig == stop_sig, PREEMPT_SENDS_BY_HANDLE, (uintptr_t)th);
  int r = real(th, sig, value);
  send_end(&c);
  return r;
}

__attribute__((visibility("default"))) int raise(int sig) {
  REAL(raise);
  struct counted c;
  send_begin(&c, sig == stop_sig, PREEMPT_SENDS_BY_HANDLE,
             (uintptr_t)pthread_self());
  int r = real(sig);
  send_end(&c);
  return r;
}

__attribute__((visibility("default"))) int tgkill(pid_t pid, pid_t tid, int sig) {
  REAL(tgkill);
  struct counted c;
  send_begin(&c, sig == stop_sig && pid == self_pid, PREEMPT_SENDS_BY_TID,
             (uintptr_t)tid);
  int r = real(pid, tid, sig);
  send_end(&c);
  return r;
}

/* ---- the program's other handlers ------------------------------------------ *
 * A handler may run while its thread is in a blocking region (a signal
 * cutting a sleep short): it runs the program's code, which may use the
 * heap, on a thread the collector treats as stopped.  So every handler the
 * program installs runs through a trampoline that leaves the blocking
 * region for the handler (waiting if the world is stopped) and enters it
 * again afterwards, as cgo does for callbacks. */
static struct sigaction other_action[_NSIG]; /* under user_lock, user_seq */
static bool other_wrapped[_NSIG];

static void read_other(int sig, struct sigaction *out) {
  for (;;) {
    unsigned s = atomic_load(&user_seq);
    if (s & 1)
      continue;
    memcpy(out, &other_action[sig], sizeof *out);
    if (atomic_load(&user_seq) == s)
      return;
  }
}

static void trampoline(int sig, siginfo_t *info, void *uc) {
  struct sigaction a;
  read_other(sig, &a);
  struct preempt_thread *t = preempt_self;
  /* Inside the runtime (the heap lock held, a collection running): the
   * handler runs at the section's end, sent again with its siginfo.  Not
   * a one-shot handler: the kernel has reset it already. */
  if (in_section(t) && sig < 64 && !(a.sa_flags & SA_RESETHAND)) {
    defer(t, sig, info, true);
    return;
  }
  if (a.sa_flags & SA_RESETHAND) { /* the kernel reset the trampoline */
    atomic_fetch_add(&user_seq, 1);
    other_action[sig].sa_handler = SIG_DFL;
    other_action[sig].sa_flags &= ~SA_SIGINFO;
    atomic_fetch_add(&user_seq, 1);
  }
  struct preempt_blocking_save save;
  bool was_blocking = t && preempt_stw_handler_enter(t, &save);
  if (a.sa_flags & SA_SIGINFO)
    a.sa_sigaction(sig, info, uc);
  else if (a.sa_handler != SIG_DFL && a.sa_handler != SIG_IGN)
    a.sa_handler(sig);
  if (was_blocking)
    preempt_stw_handler_leave(t, &save);
}

static bool is_handler(const struct sigaction *a) {
  return (a->sa_flags & SA_SIGINFO) ||
         (a->sa_handler != SIG_DFL && a->sa_handler != SIG_IGN);
}

/* Installs act for a signal other than the stop signal. */
static int set_other(int sig, const struct sigaction *act,
                     struct sigaction *old) {
  if (sig <= 0 || sig >= _NSIG || !act)
    return real_sigaction(sig, act, old);
  struct sigaction a = *act, prev;
  if (stop_sig) /* sigfillset(&sa.sa_mask) is common */
    sigdelset(&a.sa_mask, stop_sig);
  /* The trampoline itself, read back by code that bypassed the wrapper
   * (a sanitizer's interceptor): the handler behind it stays. */
  if ((act->sa_flags & SA_SIGINFO) && act->sa_sigaction == trampoline)
    return real_sigaction(sig, act, old);
  bool wrap = is_handler(act) && sig != SIGKILL && sig != SIGSTOP;
  if (wrap) {
    a.sa_sigaction = trampoline;
    a.sa_flags |= SA_SIGINFO;
  }
  pthread_mutex_lock(&user_lock);
  int r = real_sigaction(sig, &a, &prev);
  if (r == 0) {
    if (old)
      *old = other_wrapped[sig] && prev.sa_sigaction == trampoline
                 ? other_action[sig]
                 : prev;
    atomic_fetch_add(&user_seq, 1);
    other_action[sig] = *act;
    other_wrapped[sig] = wrap;
    atomic_fetch_add(&user_seq, 1);
  }
  pthread_mutex_unlock(&user_lock);
  return r;
}

/* Handlers installed before the runtime started. */
static void wrap_existing(void) {
  for (int sig = 1; sig < _NSIG; sig++) {
    struct sigaction a;
    if (sig == stop_sig || sig == SIGKILL || sig == SIGSTOP ||
        real_sigaction(sig, NULL, &a) || !is_handler(&a) ||
        a.sa_sigaction == handler || a.sa_sigaction == trampoline)
      continue;
    set_other(sig, &a, NULL);
  }
}

__attribute__((visibility("default"))) int
sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
  resolve();
  if (!stop_sig || sig != stop_sig) {
    if (!act && old && sig > 0 && sig < _NSIG) {
      int r = real_sigaction(sig, NULL, old);
      if (r == 0 && other_wrapped[sig] && old->sa_sigaction == trampoline)
        read_other(sig, old);
      return r;
    }
    return set_other(sig, act, old);
  }
  sigset_t s, prev;
  sigemptyset(&s);
  sigaddset(&s, sig);
  real_pthread_sigmask(SIG_BLOCK, &s, &prev);
  pthread_mutex_lock(&user_lock);
  if (old)
    *old = user_action;
  if (act) {
    atomic_fetch_add(&user_seq, 1);
    user_action = *act;
    atomic_fetch_add(&user_seq, 1);
  }
  pthread_mutex_unlock(&user_lock);
  real_pthread_sigmask(SIG_SETMASK, &prev, NULL);
  return 0;
}

/* glibc's signal() has BSD semantics: restartable, not reset. */
__attribute__((visibility("default"))) __sighandler_t
signal(int sig, __sighandler_t h) {
  resolve();
  struct sigaction a = {.sa_handler = h, .sa_flags = SA_RESTART}, old;
  sigemptyset(&a.sa_mask);
  if (sigaction(sig, &a, &old))
    return SIG_ERR;
  return old.sa_handler;
}

/* The older calls: the C library implements them with its internal
 * sigaction and sigprocmask, which the wrappers above never see. */
static __sighandler_t set_handler(int sig, __sighandler_t h, int flags) {
  struct sigaction a = {.sa_handler = h, .sa_flags = flags}, old;
  sigemptyset(&a.sa_mask);
  if (sigaction(sig, &a, &old))
    return SIG_ERR;
  return old.sa_handler;
}

__attribute__((visibility("default"))) __sighandler_t
bsd_signal(int sig, __sighandler_t h) {
  return signal(sig, h);
}

__attribute__((visibility("default"))) __sighandler_t
sysv_signal(int sig, __sighandler_t h) {
  return set_handler(sig, h, SA_RESETHAND | SA_NODEFER);
}

__attribute__((visibility("default"))) int sigignore(int sig) {
  return set_handler(sig, SIG_IGN, 0) == SIG_ERR ? -1 : 0;
}

static int block_one(int how, int sig) {
  sigset_t s;
  sigemptyset(&s);
  if (sigaddset(&s, sig))
    return -1;
  return pthread_sigmask(how, &s, NULL) ? -1 : 0;
}

__attribute__((visibility("default"))) int sighold(int sig) {
  return block_one(SIG_BLOCK, sig);
}

__attribute__((visibility("default"))) int sigrelse(int sig) {
  return block_one(SIG_UNBLOCK, sig);
}

/* System V: SIG_HOLD blocks the signal; any other disposition sets it
 * and unblocks it.  Returns SIG_HOLD if it was blocked. */
__attribute__((visibility("default"))) __sighandler_t
sigset(int sig, __sighandler_t h) {
  sigset_t cur;
  if (pthread_sigmask(SIG_BLOCK, NULL, &cur))
    return SIG_ERR;
  bool held = sigismember(&cur, sig) == 1;
  struct sigaction old;
  if (sigaction(sig, NULL, &old))
    return SIG_ERR;
  if (h == SIG_HOLD) {
    if (block_one(SIG_BLOCK, sig))
      return SIG_ERR;
  } else {
    if (set_handler(sig, h, 0) == SIG_ERR || block_one(SIG_UNBLOCK, sig))
      return SIG_ERR;
  }
  return held ? SIG_HOLD : old.sa_handler;
}

/* BSD masks: one bit per signal, below 32. */
static int bsd_mask(int how, int mask) {
  sigset_t s, old;
  sigemptyset(&s);
  for (int sig = 1; sig < 32; sig++)
    if (mask & (1 << (sig - 1)))
      sigaddset(&s, sig);
  if (pthread_sigmask(how, &s, &old))
    return -1;
  int r = 0;
  for (int sig = 1; sig < 32; sig++)
    if (sigismember(&old, sig) == 1)
      r |= 1 << (sig - 1);
  return r;
}

__attribute__((visibility("default"))) int sigblock(int mask) {
  return bsd_mask(SIG_BLOCK, mask);
}

__attribute__((visibility("default"))) int sigsetmask(int mask) {
  return bsd_mask(SIG_SETMASK, mask);
}

/* Whether a signal interrupts system calls: for the stop signal, that of
 * the program's handler (the runtime's keeps SA_RESTART). */
__attribute__((visibility("default"))) int siginterrupt(int sig, int flag) {
  struct sigaction a;
  if (sigaction(sig, NULL, &a))
    return -1;
  if (flag)
    a.sa_flags &= ~SA_RESTART;
  else
    a.sa_flags |= SA_RESTART;
  return sigaction(sig, &a, NULL);
}

__attribute__((visibility("default"))) int sigaltstack(const stack_t *ss,
                                                      stack_t *old) {
  resolve();
  int r = real_sigaltstack(ss, old);
  if (r == 0 && ss) {
    bool off = ss->ss_flags & SS_DISABLE;
    alt_lo = off ? 0 : (uintptr_t)ss->ss_sp;
    alt_hi = off ? 0 : (uintptr_t)ss->ss_sp + ss->ss_size;
  }
  return r;
}

bool preempt_signal_stack(uintptr_t sp, uintptr_t *lo, uintptr_t *hi) {
  stack_t ss;
  resolve();
  if (real_sigaltstack(NULL, &ss) == 0 && !(ss.ss_flags & SS_DISABLE) &&
      sp >= (uintptr_t)ss.ss_sp && sp <= (uintptr_t)ss.ss_sp + ss.ss_size) {
    *lo = (uintptr_t)ss.ss_sp;
    *hi = (uintptr_t)ss.ss_sp + ss.ss_size;
    return true;
  }
  if (sp >= alt_lo && sp <= alt_hi && alt_hi) {
    *lo = alt_lo;
    *hi = alt_hi;
    return true;
  }
  return false;
}

static int masked(sigmask_fn *real, int how, const sigset_t *set,
                  sigset_t *old) {
  if (set && stop_sig && how != SIG_UNBLOCK && sigismember(set, stop_sig)) {
    sigset_t s = *set;
    sigdelset(&s, stop_sig);
    return real(how, &s, old);
  }
  return real(how, set, old);
}

__attribute__((visibility("default"))) int
pthread_sigmask(int how, const sigset_t *set, sigset_t *old) {
  resolve();
  return masked(real_pthread_sigmask, how, set, old);
}

__attribute__((visibility("default"))) int
sigprocmask(int how, const sigset_t *set, sigset_t *old) {
  resolve();
  return masked(real_sigprocmask, how, set, old);
}

/* A signalfd reading the stop signal would take the runtime's requests:
 * its read dequeues them before any handler runs, and the reader, blocked
 * there, would never stop.  The stop signal is left out of its set (the
 * program's own then reach its handler, as they do when it blocks them). */
__attribute__((visibility("default"))) int signalfd(int fd, const sigset_t *mask,
                                                   int flags) {
  static __typeof__(signalfd) *_Atomic real;
  if (!real)
    real = (__typeof__(signalfd) *)preempt_libc_symbol("signalfd");
  if (stop_sig && sigismember(mask, stop_sig) == 1) {
    sigset_t m = *mask;
    sigdelset(&m, stop_sig);
    return real(fd, &m, flags);
  }
  return real(fd, mask, flags);
}

/* ---- the calls that wait with a mask or for signals ---------------------- *
 * A thread waiting in sigwait() for every signal would take the stop
 * signal as its own, and one in sigsuspend(), ppoll(), pselect() or
 * epoll_pwait() with a mask that blocks it would never get it: either way
 * a stop would wait for ever.  Instrumented code's calls reach blocking.c's
 * wrappers through the plugin; these catch everyone else's (a library's
 * signal thread) and give them the same blocking region, in which no stop
 * signal is sent.  A thread already blocking calls libc as is. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) && defined(PREEMPT_STATIC_LIB)
/* The sanitizer defines these names itself (and calls libc's directly). */
#define NO_WAIT_WRAPPERS
#endif
#endif

#ifndef NO_WAIT_WRAPPERS
#define WAIT_CALL(ret, name, params, args)                                     \
  __attribute__((visibility("default"))) ret name params {                     \
    static __typeof__(name) *_Atomic real;                                     \
    struct preempt_thread *t = preempt_self;                                   \
    if (t && atomic_load_explicit(&t->state, memory_order_relaxed) ==          \
                 THREAD_RUNNING)                                               \
      return preempt_blocking_##name args;                                     \
    if (!real)                                                                 \
      real = (__typeof__(name) *)preempt_libc_symbol(#name);                   \
    return real args;                                                          \
  }
WAIT_CALL(int, sigwait, (const sigset_t *restrict set, int *restrict sig),
          (set, sig))
WAIT_CALL(int, sigwaitinfo,
          (const sigset_t *restrict set, siginfo_t *restrict info), (set, info))
WAIT_CALL(int, sigtimedwait,
          (const sigset_t *restrict set, siginfo_t *restrict info,
           const struct timespec *restrict timeout),
          (set, info, timeout))
WAIT_CALL(int, sigsuspend, (const sigset_t *mask), (mask))
WAIT_CALL(int, ppoll,
          (struct pollfd *fds, nfds_t nfds, const struct timespec *timeout,
           const sigset_t *mask),
          (fds, nfds, timeout, mask))
WAIT_CALL(int, __ppoll_chk,
          (struct pollfd *fds, nfds_t nfds, const struct timespec *timeout,
           const sigset_t *mask, size_t fdslen),
          (fds, nfds, timeout, mask, fdslen))
WAIT_CALL(int, pselect,
          (int nfds, fd_set *restrict rd, fd_set *restrict wr,
           fd_set *restrict ex, const struct timespec *restrict timeout,
           const sigset_t *restrict mask),
          (nfds, rd, wr, ex, timeout, mask))
WAIT_CALL(int, epoll_pwait,
          (int epfd, struct epoll_event *events, int maxevents, int timeout,
           const sigset_t *mask),
          (epfd, events, maxevents, timeout, mask))
#if __GLIBC_PREREQ(2, 35)
WAIT_CALL(int, epoll_pwait2,
          (int epfd, struct epoll_event *events, int maxevents,
           const struct timespec *timeout, const sigset_t *mask),
          (epfd, events, maxevents, timeout, mask))
#endif
#endif
