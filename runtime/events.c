/* The program's hooks.  Each is a function and its argument, published
 * together as one pointer to a record that is never freed (a record a
 * hook is being called through may be replaced meanwhile): hooks are set
 * rarely, and each setting costs a few bytes for good. */
#include "events.h"

#include <stdlib.h>

struct hook {
  void (*fn)(void);
  void *arg;
};

enum { EVENT, WARNING, FATAL, OOM, NHOOKS };
static _Atomic(struct hook *) hooks[NHOOKS];

static void set(int which, void (*fn)(void), void *arg) {
  struct hook *h = NULL;
  if (fn) {
    h = malloc(sizeof *h);
    if (!h)
      preempt_fatal("out of memory setting a hook");
    *h = (struct hook){fn, arg};
  }
  atomic_store(&hooks[which], h);
}

void preempt_set_event_hook(preempt_event_fn fn, void *arg) {
  set(EVENT, (void (*)(void))fn, arg);
}
void preempt_set_warning_hook(preempt_message_fn fn, void *arg) {
  set(WARNING, (void (*)(void))fn, arg);
}
void preempt_set_fatal_hook(preempt_message_fn fn, void *arg) {
  set(FATAL, (void (*)(void))fn, arg);
}
void preempt_set_oom_hook(preempt_oom_fn fn, void *arg) {
  set(OOM, (void (*)(void))fn, arg);
}

void preempt_event(enum preempt_event ev, size_t value) {
  struct hook *h = atomic_load(&hooks[EVENT]);
  if (h)
    ((preempt_event_fn)h->fn)(ev, value, h->arg);
}

static bool message(int which, const char *msg) {
  struct hook *h = atomic_load(&hooks[which]);
  if (h)
    ((preempt_message_fn)h->fn)(msg, h->arg);
  return h != NULL;
}
bool preempt_hook_warning(const char *msg) { return message(WARNING, msg); }
bool preempt_hook_fatal(const char *msg) { return message(FATAL, msg); }

void *preempt_hook_oom(size_t size) {
  struct hook *h = atomic_load(&hooks[OOM]);
  return h ? ((preempt_oom_fn)h->fn)(size, h->arg) : NULL;
}
