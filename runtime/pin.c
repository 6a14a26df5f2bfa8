/* Pinning, like Go's runtime.Pinner, and PREEMPT=cgocheck=1.
 *
 * Foreign code may keep a heap pointer where the collector never looks
 * (a C library's user-data field, malloc'ed memory, a pointer it xors).
 * preempt_pin(p) makes p's object a root until as many preempt_unpin(p)
 * calls: the pins are a hash table from an object's start to its count.
 * The table lives in memory from the OS, never on the collected heap, and
 * is guarded by the heap lock: a collection holds that lock from its stop
 * to its sweep, so a pin never races a mark or a sweep, and threads that
 * are not attached (a library's own workers) may pin too.
 *
 * An object with no pin left is an ordinary object again: collected once
 * unreachable.  A pinned object is scanned like any root, so what it
 * points to stays alive too.
 *
 * cgocheck: a foreign call that is given a heap object may let foreign
 * code follow the pointers inside it after the call, when nothing keeps
 * their objects alive any more.  With PREEMPT=cgocheck=1 every aligned
 * word of such an argument's object that points into another live heap
 * object must point to a pinned one (objects have no typed layout yet, so
 * every word counts).  A violation is fatal, as Go's cgocheck panics: the
 * check is opt-in for finding these bugs, and the bug it finds is a
 * use-after-free that would otherwise show up later, somewhere else. */
#define _GNU_SOURCE
#include "pin.h"
#include "addrmap.h"
#include "heap.h"
#include "locate.h"
#include "stw.h"
#include "sysmem.h"
#include "threads.h"
#include "types.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

bool preempt_cgocheck_on;

/* Object start -> pin count; under the heap lock. */
static struct preempt_addrmap pins = {.what = "pinned objects"};

static void pin_add(uintptr_t obj) {
  bool added;
  preempt_addrmap_add(&pins, obj, &added)->value++;
}

/* false if obj is not pinned. */
static bool pin_remove(uintptr_t obj) {
  struct preempt_addrmap_entry *x = preempt_addrmap_find(&pins, obj);
  if (!x)
    return false;
  if (!--x->value)
    preempt_addrmap_remove(&pins, obj);
  return true;
}

bool preempt_pinned(uintptr_t obj) {
  return preempt_addrmap_find(&pins, obj) != NULL;
}

void preempt_pins_visit(struct preempt_visitor *v) {
  for (size_t i = 0; i < pins.cap; i++)
    if (pins.e[i].key)
      v->value(v, pins.e[i].key);
}

/* ---- the API --------------------------------------------------------------- */

__attribute__((noinline)) void preempt_pin(const void *p) {
  uintptr_t ip = (uintptr_t)__builtin_return_address(0);
  preempt_lock_heap_holding(ip, p, NULL);
  struct preempt_located l = preempt_locate((uintptr_t)p);
  if (l.where == PREEMPT_IN_OBJECT)
    pin_add(l.obj);
  preempt_unlock_heap();
  if (l.where != PREEMPT_IN_OBJECT)
    preempt_not_an_object("preempt_pin", p, &l, ip, "can be pinned");
}

__attribute__((noinline)) void preempt_unpin(const void *p) {
  uintptr_t ip = (uintptr_t)__builtin_return_address(0);
  preempt_lock_heap_holding(ip, p, NULL);
  struct preempt_located l = preempt_locate((uintptr_t)p);
  bool pinned = l.where == PREEMPT_IN_OBJECT && pin_remove(l.obj);
  preempt_unlock_heap();
  if (l.where != PREEMPT_IN_OBJECT)
    preempt_not_an_object("preempt_unpin", p, &l, ip, "can be pinned");
  if (!pinned) {
    char from[256];
    preempt_symbolise(ip, from, sizeof from);
    preempt_fatal("preempt_unpin(%p) called from %s: heap object %p (%s, %zu "
                  "bytes) is not pinned (unpinned more often than pinned?)",
                  p, from, (void *)l.obj, preempt_type_name(l.type), l.size);
  }
}

/* ---- cgocheck ----------------------------------------------------------- */

struct violation {
  size_t offset;  /* of the word in the argument's object */
  uintptr_t word; /* its value */
  struct preempt_located target;
};

/* The first word of [obj, obj + size) that points into another live heap
 * object that is not pinned.  Heap lock held.  Objects are read whole,
 * like the marker reads them (their padding included). */
PREEMPT_NO_ASAN static bool find_unpinned(uintptr_t obj, size_t size,
                                          struct violation *out) {
  const uintptr_t *w = (const uintptr_t *)obj;
  for (size_t k = 0; k < size / sizeof *w; k++) {
    uintptr_t v = w[k];
    if (!preempt_in_heap(v))
      continue;
    struct preempt_located t = preempt_locate(v);
    if (t.where != PREEMPT_IN_OBJECT || t.obj == obj || preempt_addrmap_find(&pins, t.obj))
      continue;
    *out = (struct violation){k * sizeof *w, v, t};
    return true;
  }
  return false;
}

/* ip: the caller's return address (where its roots are published from if
 * it waits for the heap lock). */
static void check_arg(const void *arg, int index, const void *site,
                      uintptr_t ip) {
  preempt_lock_heap_holding(ip, arg, NULL);
  struct preempt_located a = preempt_locate((uintptr_t)arg);
  struct violation v;
  /* Memory outside the heap is not checked: nothing there is collected,
   * and heap pointers the program keeps there must be registered roots. */
  bool bad = a.where == PREEMPT_IN_OBJECT && a.scan && find_unpinned(a.obj, a.scan, &v);
  preempt_unlock_heap();
  if (!bad)
    return;
  char at[256], argname[32] = "an argument";
  preempt_symbolise((uintptr_t)site, at, sizeof at);
  if (index > 0)
    snprintf(argname, sizeof argname, "argument %d", index);
  preempt_fatal("cgocheck: %s of foreign call at %s holds pointer to unpinned "
                "heap object %p (%s, %zu bytes) at offset %zu of heap object "
                "%p (%s, %zu bytes; the argument was %p): foreign code may "
                "keep it after the call, when nothing keeps that object "
                "alive; preempt_pin() it for as long as foreign code may use "
                "it (PREEMPT=cgocheck=0 turns this check off)",
                argname, at, (void *)v.word, preempt_type_name(v.target.type),
                v.target.size, v.offset, (void *)a.obj,
                preempt_type_name(a.type), a.size, arg);
}

__attribute__((noinline)) void preempt_cgocheck_argn(const void *arg,
                                                     int index,
                                                     const void *site) {
  if (preempt_cgocheck_on)
    check_arg(arg, index, site, (uintptr_t)__builtin_return_address(0));
}

__attribute__((noinline)) void preempt_cgocheck_arg(const void *arg,
                                                    const void *site) {
  if (preempt_cgocheck_on)
    check_arg(arg, 0, site, (uintptr_t)__builtin_return_address(0));
}
