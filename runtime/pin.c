/* Pinning, like Go's runtime.Pinner, and PREEMPT=cgocheck=1.
 *
 * Foreign code may keep a heap pointer where the collector never looks
 * (a C library's user-data field, malloc'ed memory, a pointer it xors).
 * preempt_pin(p) makes p's object a root until as many preempt_unpin(p)
 * calls: the pins are a hash table from an object's start to its count.
 * The table lives in memory from the OS, never on the collected heap, and
 * is guarded by the heap lock: a collection holds that lock from its stop
 * to its sweep, so a pin never races a mark or a sweep, and threads that
 * are not attached (a library's own workers) may pin too.  Open addressing
 * with linear probing and backward-shift deletion: no tombstones, so
 * probe sequences stay short after any number of pin/unpin pairs.
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
#include "heap.h"
#include "stw.h"
#include "sysmem.h"
#include "threads.h"
#include "types.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

bool preempt_cgocheck_on;

struct pin {
  uintptr_t obj; /* 0: empty */
  uint64_t count;
};

/* Under the heap lock. */
static struct pin *pins;
static size_t pins_cap, pins_used; /* cap: 0 or a power of two */
static unsigned pins_shift;        /* 64 - log2(pins_cap) */

#define PINS_MIN_CAP 64

static size_t home(uintptr_t obj) {
  return (size_t)((obj * 0x9e3779b97f4a7c15ull) >> pins_shift);
}

static size_t find(uintptr_t obj) {
  if (!pins_cap)
    return SIZE_MAX;
  for (size_t i = home(obj);; i = (i + 1) & (pins_cap - 1)) {
    if (pins[i].obj == obj)
      return i;
    if (!pins[i].obj)
      return SIZE_MAX;
  }
}

static void put(struct pin p) {
  size_t i = home(p.obj);
  while (pins[i].obj)
    i = (i + 1) & (pins_cap - 1);
  pins[i] = p;
}

static void resize(size_t cap) {
  struct pin *old = pins;
  size_t old_cap = pins_cap;
  struct pin *fresh = preempt_sys_alloc(cap * sizeof *fresh);
  if (!fresh) {
    if (cap < old_cap)
      return; /* shrinking is optional */
    preempt_unlock_heap();
    preempt_fatal("out of memory for the table of pinned objects (%zu "
                  "entries)",
                  cap);
  }
  pins = fresh;
  pins_cap = cap;
  pins_shift = 64 - (unsigned)__builtin_ctzll(cap);
  for (size_t i = 0; i < old_cap; i++)
    if (old[i].obj)
      put(old[i]);
  if (old)
    preempt_sys_free(old, old_cap * sizeof *old);
}

static void pin_add(uintptr_t obj) {
  size_t i = find(obj);
  if (i != SIZE_MAX) {
    pins[i].count++;
    return;
  }
  if ((pins_used + 1) * 2 > pins_cap)
    resize(pins_cap ? pins_cap * 2 : PINS_MIN_CAP);
  put((struct pin){obj, 1});
  pins_used++;
}

/* false if obj is not pinned. */
static bool pin_remove(uintptr_t obj) {
  size_t i = find(obj);
  if (i == SIZE_MAX)
    return false;
  if (--pins[i].count)
    return true;
  /* Backward shift: move later entries of the run into the hole unless
   * their home lies cyclically in (hole, j]. */
  size_t mask = pins_cap - 1;
  for (size_t j = (i + 1) & mask; pins[j].obj; j = (j + 1) & mask) {
    size_t k = home(pins[j].obj);
    bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
    if (!stays) {
      pins[i] = pins[j];
      i = j;
    }
  }
  pins[i] = (struct pin){0, 0};
  pins_used--;
  /* A burst of pins must not leave a large table for every collection to
   * walk. */
  if (pins_cap > PINS_MIN_CAP && pins_used * 8 < pins_cap)
    resize(pins_cap / 2);
  return true;
}

void preempt_pins_visit(struct preempt_visitor *v) {
  for (size_t i = 0; i < pins_cap; i++)
    if (pins[i].obj)
      v->value(v, pins[i].obj);
}

/* ---- what a pointer is --------------------------------------------------- */

enum where {
  IN_OBJECT,    /* an allocated object */
  IS_NULL,
  OUTSIDE_HEAP, /* not in the heap's arena */
  FREE_PAGES,   /* in the arena, on pages no span uses */
  FREE_SLOT,    /* a slot of a span that holds no object now */
};

struct located {
  enum where where;
  uintptr_t obj;   /* IN_OBJECT: its start */
  size_t size;     /* its size in bytes (requested size for large ones) */
  size_t scan;     /* the bytes a collection scans, 0 if pointer-free */
  int type;        /* type id (0: untyped) */
  uint32_t elemsize; /* FREE_SLOT: the span's object size */
};

/* Heap lock held: the span tables do not change under us (sweeping needs
 * the lock; an allocated object's slot stays allocated until swept). */
static struct located locate(uintptr_t p) {
  struct located l = {.where = OUTSIDE_HEAP};
  if (!p) {
    l.where = IS_NULL;
    return l;
  }
  if (!preempt_in_heap(p))
    return l;
  struct preempt_span *s = preempt_span_of(p);
  l.where = FREE_PAGES;
  if (!s || (s->state != SPAN_SMALL && s->state != SPAN_LARGE))
    return l;
  uint32_t i = 0;
  if (s->state == SPAN_SMALL) {
    i = span_index(s, p);
    if (i >= s->nelems || !span_slot_allocated(s, i)) {
      l.where = FREE_SLOT;
      l.elemsize = s->elemsize;
      return l;
    }
    l.obj = s->base + (uintptr_t)i * s->elemsize;
    l.size = l.scan = s->elemsize;
  } else {
    l.obj = s->base;
    l.size = s->elemsize;
    l.scan = s->npages * PREEMPT_PAGE_SIZE; /* as the marker does */
  }
  l.where = IN_OBJECT;
  if (s->noscan)
    l.scan = 0;
  l.type = s->types ? s->types[i] : 0;
  return l;
}

/* "f+0x12 (libfoo.so)", "prog+0x1234" or "0x7f...": for messages.  Not
 * under the heap lock (dladdr takes the loader's). */
static void symbolise(uintptr_t addr, char *buf, size_t size) {
  Dl_info info;
  if (!addr || !dladdr((void *)addr, &info) || !info.dli_fname) {
    snprintf(buf, size, "%p", (void *)addr);
    return;
  }
  const char *file = strrchr(info.dli_fname, '/');
  file = file ? file + 1 : info.dli_fname;
  if (info.dli_sname && info.dli_saddr)
    snprintf(buf, size, "%s+0x%lx (%s)", info.dli_sname,
             (unsigned long)(addr - (uintptr_t)info.dli_saddr), file);
  else
    snprintf(buf, size, "%s+0x%lx", *file ? file : "?",
             (unsigned long)(addr - (uintptr_t)info.dli_fbase));
}

/* Why p is not a heap object, for fn's fatal message. */
__attribute__((noreturn)) static void not_an_object(const char *fn,
                                                    const void *p,
                                                    const struct located *l,
                                                    uintptr_t caller) {
  char from[256], what[320];
  symbolise(caller, from, sizeof from);
  struct preempt_thread *t = preempt_self;
  Dl_info info;
  switch (l->where) {
  case IS_NULL:
    snprintf(what, sizeof what, "NULL is not a heap object");
    break;
  case OUTSIDE_HEAP:
    if (t && (uintptr_t)p >= t->stack_lo && (uintptr_t)p < t->stack_hi)
      snprintf(what, sizeof what,
               "not in the collected heap: it is on this thread's stack");
    else if (dladdr(p, &info) && info.dli_fname)
      snprintf(what, sizeof what,
               "not in the collected heap: it is in the memory of %s%s%s "
               "(a global or code)",
               *info.dli_fname ? info.dli_fname : "the program",
               info.dli_sname ? ", near " : "",
               info.dli_sname ? info.dli_sname : "");
    else
      snprintf(what, sizeof what,
               "not in the collected heap (memory from malloc or mmap?)");
    break;
  case FREE_PAGES:
    snprintf(what, sizeof what,
             "a freed object: it points into free pages of the heap (the "
             "object was collected, or the pointer is stale)");
    break;
  case FREE_SLOT:
    snprintf(what, sizeof what,
             "a freed object: it points into a free %u-byte slot of the "
             "heap (the object was collected, or the pointer is stale)",
             l->elemsize);
    break;
  case IN_OBJECT:
    snprintf(what, sizeof what, "?");
    break;
  }
  preempt_fatal("%s(%p) called from %s: %s; only objects from "
                "preempt_alloc/preempt_new, while reachable, can be pinned",
                fn, p, from, what);
}

/* ---- the API --------------------------------------------------------------- */

__attribute__((noinline)) void preempt_pin(const void *p) {
  uintptr_t ip = (uintptr_t)__builtin_return_address(0);
  preempt_lock_heap_holding(ip, p, NULL);
  struct located l = locate((uintptr_t)p);
  if (l.where == IN_OBJECT)
    pin_add(l.obj);
  preempt_unlock_heap();
  if (l.where != IN_OBJECT)
    not_an_object("preempt_pin", p, &l, ip);
}

__attribute__((noinline)) void preempt_unpin(const void *p) {
  uintptr_t ip = (uintptr_t)__builtin_return_address(0);
  preempt_lock_heap_holding(ip, p, NULL);
  struct located l = locate((uintptr_t)p);
  bool pinned = l.where == IN_OBJECT && pin_remove(l.obj);
  preempt_unlock_heap();
  if (l.where != IN_OBJECT)
    not_an_object("preempt_unpin", p, &l, ip);
  if (!pinned) {
    char from[256];
    symbolise(ip, from, sizeof from);
    preempt_fatal("preempt_unpin(%p) called from %s: heap object %p (%s, %zu "
                  "bytes) is not pinned (unpinned more often than pinned?)",
                  p, from, (void *)l.obj, preempt_type_name(l.type), l.size);
  }
}

/* ---- cgocheck ----------------------------------------------------------- */

struct violation {
  size_t offset;  /* of the word in the argument's object */
  uintptr_t word; /* its value */
  struct located target;
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
    struct located t = locate(v);
    if (t.where != IN_OBJECT || t.obj == obj || find(t.obj) != SIZE_MAX)
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
  struct located a = locate((uintptr_t)arg);
  struct violation v;
  /* Memory outside the heap is not checked: nothing there is collected,
   * and heap pointers the program keeps there must be registered roots. */
  bool bad = a.where == IN_OBJECT && a.scan && find_unpinned(a.obj, a.scan, &v);
  preempt_unlock_heap();
  if (!bad)
    return;
  char at[256], argname[32] = "an argument";
  symbolise((uintptr_t)site, at, sizeof at);
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
