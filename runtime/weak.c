/* Weak links and ephemerons.
 *
 * A weak link is a slot the collector sets to NULL when the object it
 * names is found unreachable (Boehm GC's disappearing links).  The slot
 * must not itself keep the object alive: preempt_weak_set stores the
 * pointer hidden (complemented), which no scan takes for a pointer, and
 * preempt_weak_get reveals it; preempt_weak_link leaves the slot to the
 * program.  A short link is cleared as soon as its object is unreachable,
 * before finalizers are queued; a long one only when the object is
 * reclaimed, after a finalizer has had it for a last time.  A link whose
 * slot lies in a heap object that dies is forgotten.  The links are a map
 * from slot to object (bit 0: long), under the heap lock.
 *
 * An ephemeron (key, value) keeps its value alive only while its key is
 * alive by other paths: the primitive weak-keyed tables need.  It is a
 * pointer-free heap object of two words, so no scan traces either; the
 * collector marks the value of each live ephemeron whose key is marked,
 * to a fixpoint (a value may reach another ephemeron's key), and clears
 * both words of those whose key stays unmarked.  Live ephemerons are a
 * list in OS memory, added to outside any stop (a thread that cannot be
 * preempted meanwhile) and pruned by collections. */
#include "addrmap.h"
#include "locate.h"
#include "mark.h"
#include "stw.h"
#include "sysmem.h"
#include "threads.h"
#include "weak.h"

#include <pthread.h>

static struct preempt_addrmap links = {.what = "weak links"};

static struct {
  uintptr_t **v; /* each an ephemeron: {key, value} */
  size_t len, cap;
} ephs;
static pthread_mutex_t ephs_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- weak links ---------------------------------------------------------- */

static int link_slot(void **slot, const void *obj, bool long_link,
                     bool hide, uintptr_t ip) {
  preempt_thread_current();
  preempt_lock_heap_holding(ip, obj, slot);
  struct preempt_located l = preempt_locate((uintptr_t)obj);
  if (l.where != PREEMPT_IN_OBJECT) {
    preempt_unlock_heap();
    preempt_not_an_object(long_link ? "preempt_weak_set_long / preempt_weak_link"
                                    : "preempt_weak_set / preempt_weak_link",
                          obj, &l, ip, "can be weakly referenced");
  }
  bool added;
  preempt_addrmap_add(&links, (uintptr_t)slot, &added)->value =
      (uintptr_t)obj | long_link;
  if (hide)
    *slot = (void *)~(uintptr_t)obj;
  preempt_unlock_heap();
  return added ? 0 : 1;
}

__attribute__((noinline)) int preempt_weak_link(void **slot, const void *obj,
                                                int long_link) {
  return link_slot(slot, obj, long_link != 0, false,
                   (uintptr_t)__builtin_return_address(0));
}

__attribute__((noinline)) int preempt_weak_unlink(void **slot) {
  preempt_thread_current();
  preempt_lock_heap_holding((uintptr_t)__builtin_return_address(0), slot,
                            NULL);
  bool was = preempt_addrmap_remove(&links, (uintptr_t)slot);
  preempt_unlock_heap();
  return was;
}

static int weak_set(void **slot, const void *obj, bool long_link,
                    uintptr_t ip) {
  if (obj)
    return link_slot(slot, obj, long_link, true, ip);
  preempt_weak_unlink(slot);
  *slot = NULL;
  return 0;
}

__attribute__((noinline)) int preempt_weak_set(void **slot, const void *obj) {
  return weak_set(slot, obj, false, (uintptr_t)__builtin_return_address(0));
}

__attribute__((noinline)) int preempt_weak_set_long(void **slot,
                                                    const void *obj) {
  return weak_set(slot, obj, true, (uintptr_t)__builtin_return_address(0));
}

/* Not stopped between reading the hidden word and revealing it: a stop
 * there would see no pointer, and the object could be freed under us. */
void *preempt_weak_get(void *const *slot) {
  preempt_nopreempt_begin();
  uintptr_t v = (uintptr_t)*(void *volatile const *)slot;
  void *p = v ? (void *)~v : NULL;
  preempt_nopreempt_end();
  return p;
}

__attribute__((noinline)) int preempt_weak_move(void **from, void **to,
                                                int long_link) {
  preempt_thread_current();
  preempt_lock_heap_holding((uintptr_t)__builtin_return_address(0), from, to);
  int r = -1;
  struct preempt_addrmap_entry *e = preempt_addrmap_find(&links, (uintptr_t)from);
  if (e && (e->value & 1) == (long_link != 0)) {
    uintptr_t value = e->value;
    r = 0;
    if (from == to)
      ;
    else if (preempt_addrmap_find(&links, (uintptr_t)to))
      r = 1;
    else {
      preempt_addrmap_remove(&links, (uintptr_t)from);
      bool added;
      preempt_addrmap_add(&links, (uintptr_t)to, &added)->value = value;
    }
  }
  preempt_unlock_heap();
  return r;
}

/* An object is alive if it is marked, or not on the heap at all. */
static bool alive(struct preempt_visitor *m, uintptr_t p) {
  return !preempt_object_base(p) || m->reached(m, p);
}

void preempt_weak_sweep(struct preempt_visitor *m, bool all) {
  if (!links.used)
    return;
  /* Collected first, removed after: removing may shrink the table. */
  struct preempt_vec gone = {0};
  for (size_t i = 0; i < links.cap; i++) {
    uintptr_t slot = links.e[i].key, obj = links.e[i].value & ~(uintptr_t)1;
    bool long_link = links.e[i].value & 1;
    if (!slot)
      continue;
    if (!alive(m, slot)) { /* in a dead object: never written again */
      preempt_vec_push(&gone, slot);
      continue;
    }
    if ((all || !long_link) && !alive(m, obj)) {
      *(void **)slot = NULL;
      preempt_vec_push(&gone, slot);
    }
  }
  for (size_t i = 0; i < gone.len; i++)
    preempt_addrmap_remove(&links, gone.data[i]);
  preempt_vec_free(&gone);
}

/* ---- ephemerons ------------------------------------------------------------ */

void preempt_ephemerons_fork_prepare(void) { pthread_mutex_lock(&ephs_lock); }
void preempt_ephemerons_fork_done(void) { pthread_mutex_unlock(&ephs_lock); }

__attribute__((noinline)) preempt_ephemeron *
preempt_ephemeron_new(const void *key, const void *value) {
  uintptr_t **e = preempt_alloc_noscan(2 * sizeof(uintptr_t));
  /* Not stoppable from here: no collection sees it half made. */
  preempt_nopreempt_begin();
  ((const void **)e)[0] = key;
  ((const void **)e)[1] = value;
  pthread_mutex_lock(&ephs_lock);
  if (ephs.len == ephs.cap)
    preempt_array_grow((void **)&ephs.v, &ephs.cap, ephs.len, sizeof *ephs.v,
                       1024, "the ephemeron list");
  ephs.v[ephs.len++] = (uintptr_t *)e;
  pthread_mutex_unlock(&ephs_lock);
  preempt_nopreempt_end();
  return (preempt_ephemeron *)e;
}

void *preempt_ephemeron_key(const preempt_ephemeron *e) {
  return ((void *volatile const *)e)[0];
}

void *preempt_ephemeron_value(const preempt_ephemeron *e) {
  return ((void *volatile const *)e)[1];
}

void preempt_ephemerons_trace(struct preempt_visitor *m) {
  bool more = true;
  while (more) {
    more = false;
    for (size_t i = 0; i < ephs.len; i++) {
      uintptr_t *e = ephs.v[i];
      if (m->reached(m, (uintptr_t)e) && e[0] && alive(m, e[0]) && e[1] &&
          !alive(m, e[1])) {
        m->value(m, e[1]);
        more = true;
      }
    }
    preempt_mark_drain();
  }
}

void preempt_ephemerons_sweep(struct preempt_visitor *m) {
  size_t k = 0;
  for (size_t i = 0; i < ephs.len; i++) {
    uintptr_t *e = ephs.v[i];
    if (!m->reached(m, (uintptr_t)e))
      continue; /* the ephemeron itself is garbage */
    if (e[0] && !alive(m, e[0]))
      e[0] = e[1] = 0;
    ephs.v[k++] = e;
  }
  ephs.len = k;
}
