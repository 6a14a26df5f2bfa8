/* Counting the program's sends of the stop signal, per attached thread.
 *
 * A sender names its target by pthread_t (pthread_kill, pthread_sigqueue,
 * raise) or by thread id (tgkill, the runtime's redelivery): two
 * open-addressed tables keyed by those names, where each attached thread
 * holds one slot of each from attaching to detaching.  A count is then
 * exactly the sends to that thread: no other thread shares it (a shared
 * slot would make sends to one look like swallowed sends to the other,
 * and call the program's handler spuriously).
 *
 * Senders look up without a lock (a send may come from a signal handler);
 * claims and releases take one.  Lookups stop at a free slot, so a slot
 * given back is marked gone, not free, unless nothing after it in the
 * table could have been placed past it.  A thread that cannot get a slot
 * (the table full of attached threads) has no count: a send to it that a
 * stop request swallows is then lost, as it would be without this. */
#include "sends.h"
#include "signals.h"
#include "threads.h"

#include <sched.h>
#include <signal.h>
#include <string.h>

#define SLOTS 4096 /* per table: attached threads counted at once */
#define FREE ((uintptr_t)0)
#define GONE (~(uintptr_t)0) /* neither a pthread_t nor a thread id */

struct preempt_sends {
  _Atomic uintptr_t key;
  _Atomic uint64_t begun, ended; /* around the kernel's send */
};

static struct preempt_sends tables[2][SLOTS];
static atomic_flag lock = ATOMIC_FLAG_INIT; /* claims and releases */

static unsigned home(uintptr_t key) {
  return (unsigned)((key * 0x9e3779b97f4a7c15u) >> 52) % SLOTS;
}

static struct preempt_sends *find(enum preempt_sends_by by, uintptr_t key) {
  for (unsigned i = 0, h = home(key); i < SLOTS; i++) {
    struct preempt_sends *s = &tables[by][(h + i) % SLOTS];
    uintptr_t k = atomic_load(&s->key);
    if (k == key)
      return s;
    if (k == FREE)
      return NULL;
  }
  return NULL;
}

/* Under the lock, with signals blocked (a handler on this thread may
 * send, or attach). */
static void lock_slots(sigset_t *old) {
  preempt_signal_block_all(old);
  while (atomic_flag_test_and_set(&lock))
    sched_yield();
}

static void unlock_slots(const sigset_t *old) {
  atomic_flag_clear(&lock);
  preempt_signal_restore(old);
}

static struct preempt_sends *claim(enum preempt_sends_by by, uintptr_t key) {
  struct preempt_sends *s = find(by, key);
  if (s) /* left by a thread that never detached (its id is reused) */
    return s;
  for (unsigned i = 0, h = home(key); i < SLOTS; i++) {
    s = &tables[by][(h + i) % SLOTS];
    uintptr_t k = atomic_load(&s->key);
    if (k == FREE || k == GONE) {
      atomic_store(&s->key, key);
      return s;
    }
  }
  return NULL;
}

static void release(enum preempt_sends_by by, struct preempt_sends *s) {
  if (!s)
    return;
  atomic_store(&s->key, GONE);
  /* Gone slots just before a free one hold no chain up: free them. */
  unsigned i = (unsigned)(s - tables[by]);
  if (atomic_load(&tables[by][(i + 1) % SLOTS].key) != FREE)
    return;
  for (unsigned n = 0; n < SLOTS &&
                       atomic_load(&tables[by][i].key) == GONE; n++) {
    atomic_store(&tables[by][i].key, FREE);
    i = (i + SLOTS - 1) % SLOTS;
  }
}

void preempt_sends_claim(struct preempt_thread *t) {
  sigset_t old;
  lock_slots(&old);
  t->sends[PREEMPT_SENDS_BY_HANDLE] =
      claim(PREEMPT_SENDS_BY_HANDLE, (uintptr_t)t->id);
  t->sends[PREEMPT_SENDS_BY_TID] =
      claim(PREEMPT_SENDS_BY_TID, (uintptr_t)t->tid);
  unlock_slots(&old);
}

void preempt_sends_release(struct preempt_thread *t) {
  sigset_t old;
  lock_slots(&old);
  for (int by = 0; by < 2; by++) {
    release(by, t->sends[by]);
    t->sends[by] = NULL;
  }
  unlock_slots(&old);
}

void preempt_sends_forked(struct preempt_thread *self) {
  atomic_flag_clear(&lock); /* perhaps held by a thread not copied */
  memset(tables, 0, sizeof tables); /* and senders that stayed behind */
  if (self)
    preempt_sends_claim(self);
}

struct preempt_sends *preempt_sends_begin(enum preempt_sends_by by,
                                          uintptr_t key) {
  struct preempt_sends *s = find(by, key);
  if (!s)
    return NULL;
  atomic_fetch_add(&s->begun, 1);
  /* Given back and taken by another thread since it was found: not a
   * send to that one. */
  if (atomic_load(&s->key) != key) {
    atomic_fetch_sub(&s->begun, 1);
    return NULL;
  }
  return s;
}

void preempt_sends_end(struct preempt_sends *s) {
  if (s)
    atomic_fetch_add(&s->ended, 1);
}

/* Waits for sends under way (only the scheduler holds a sender there:
 * every signal is blocked around them): nothing of the stop signal is
 * pending on t while its handler runs, so each was handled or merged.  A
 * sender gone mid-send (a fault handler's jump out of it) is given up
 * after 100 ms and taken as never sent. */
uint64_t preempt_sends_to(const struct preempt_thread *t) {
  uint64_t deadline = 0; /* the clock is read only once a send is seen */
  for (unsigned i = 0;; i++) {
    /* Each ended read before its begun: equal sums, none under way. */
    uint64_t ended = 0, begun = 0;
    for (int by = 0; by < 2; by++)
      if (t->sends[by]) {
        ended += atomic_load(&t->sends[by]->ended);
        begun += atomic_load(&t->sends[by]->begun);
      }
    if (ended == begun)
      return ended;
    if (i % 64 == 0) {
      uint64_t now = preempt_now_ns();
      if (!deadline)
        deadline = now + 100000000u;
      else if (now > deadline)
        return ended;
    }
    sched_yield();
  }
}
