/* Finalizers, disappearing links, toggle-refs and disclaim procedures.
 *
 * Finalizers are preempt's, with bdwgc's orders.  They run as in bdwgc: in
 * a thread that allocates (or collects) after the collection that found
 * them, or, with GC_finalize_on_demand, when the program calls
 * GC_invoke_finalizers (the notifier says when).  preempt's own finalizer
 * thread is never used: a single-threaded bdwgc program stays single
 * threaded. */
#include "compat.h"
#include "gc/gc_disclaim.h"
#include "gc/javaxfc.h"

#include <pthread.h>
#include <stdlib.h>

_Atomic int gc_pending;
static GC_finalizer_notifier_proc _Atomic notifier;

void gc_set_pending(void) { atomic_store(&gc_pending, 1); }

/* From the runtime, on the collecting thread with the heap locked. */
static void runtime_notifier(void *arg) {
  (void)arg;
  gc_set_pending();
}

void gc_finalize_init(void) {
  preempt_set_finalize_on_demand(1);
  preempt_set_finalizer_notifier(runtime_notifier, NULL);
  if (GC_finalizer_notifier)
    atomic_store(&notifier, GC_finalizer_notifier);
}

void gc_pending_work(void) {
  if (!atomic_exchange(&gc_pending, 0))
    return;
  gc_debug_report();
  gc_toggle_refs_update();
  if (GC_finalize_on_demand) {
    GC_finalizer_notifier_proc n = atomic_load(&notifier);
    if (GC_finalizer_notifier && GC_finalizer_notifier != n)
      n = GC_finalizer_notifier; /* the program set the variable */
    if (n)
      n();
  } else {
    GC_invoke_finalizers();
  }
}

void GC_set_finalize_on_demand(int on) { GC_finalize_on_demand = on; }
int GC_get_finalize_on_demand(void) { return GC_finalize_on_demand; }
void GC_set_finalizer_notifier(GC_finalizer_notifier_proc f) {
  atomic_store(&notifier, f);
  GC_finalizer_notifier = f;
}
GC_finalizer_notifier_proc GC_get_finalizer_notifier(void) {
  return atomic_load(&notifier);
}

int GC_invoke_finalizers(void) {
  gc_ensure_init();
  return (int)preempt_invoke_finalizers();
}

int GC_should_invoke_finalizers(void) {
  gc_ensure_init();
  return preempt_finalizers_queued() != 0;
}

void GC_finalize_all(void) {
  gc_ensure_init();
  preempt_finalize_all();
  GC_invoke_finalizers();
}

/* ---- registration ---------------------------------------------------------
 * A debugging object's finalizer is given the user's pointer, not the
 * object's start: it goes through a closure on the heap (kept alive by the
 * runtime as the finalizer's argument, and scanned for the user's data). */
struct closure {
  GC_finalization_proc fn;
  void *cd;
};

static void GC_CALLBACK debug_invoke(void *base, void *arg) {
  struct closure *c = arg;
  c->fn((char *)base + GC_DEBUG_HEADER_BYTES, c->cd);
}

static void reg(void *obj, GC_finalization_proc fn, void *cd,
                GC_finalization_proc *ofn, void **ocd,
                enum preempt_finalizer_order order, bool debug) {
  gc_ensure_init();
  void *base = debug && obj ? (char *)obj - GC_DEBUG_HEADER_BYTES : obj;
  /* GC_DEBUG code may register an object from GC_malloc: as it is. */
  if (debug && obj && !(preempt_object_start(base) == base &&
                        gc_debug_object(base))) {
    debug = false;
    base = obj;
  }
  preempt_finalizer_fn old = NULL;
  void *old_arg = NULL;
  /* bdwgc ignores an object that is not a heap object's start. */
  if (base && preempt_object_start(base) == base) {
    void *arg = cd;
    preempt_finalizer_fn f = (preempt_finalizer_fn)fn;
    if (debug && fn) {
      struct closure *c = GC_malloc(sizeof *c);
      if (!c)
        gc_abort("GC_debug_register_finalizer: out of memory");
      *c = (struct closure){fn, cd};
      arg = c;
      f = debug_invoke;
    }
    preempt_replace_finalizer(base, f, arg, order, &old, &old_arg);
    if (old == debug_invoke) {
      struct closure *c = old_arg;
      old = (preempt_finalizer_fn)c->fn;
      old_arg = c->cd;
    }
  }
  if (ofn)
    *ofn = (GC_finalization_proc)old;
  if (ocd)
    *ocd = old_arg;
}

#define REGISTER(name, order)                                                  \
  void GC_##name(void *obj, GC_finalization_proc fn, void *cd,                 \
                 GC_finalization_proc *ofn, void **ocd) {                      \
    reg(obj, fn, cd, ofn, ocd, order, false);                                  \
  }                                                                            \
  void GC_debug_##name(void *obj, GC_finalization_proc fn, void *cd,           \
                       GC_finalization_proc *ofn, void **ocd) {                \
    reg(obj, fn, cd, ofn, ocd, order, true);                                   \
  }
REGISTER(register_finalizer, PREEMPT_FIN_STRICT)
REGISTER(register_finalizer_ignore_self, PREEMPT_FIN_ORDERED)
REGISTER(register_finalizer_no_order, PREEMPT_FIN_NO_ORDER)
REGISTER(register_finalizer_unreachable, PREEMPT_FIN_UNREACHABLE)

/* Waiting for finalization is not reported object by object. */
static GC_await_finalize_proc _Atomic await_proc;
void GC_set_await_finalize_proc(GC_await_finalize_proc f) {
  atomic_store(&await_proc, f);
}
GC_await_finalize_proc GC_get_await_finalize_proc(void) {
  return atomic_load(&await_proc);
}

/* ---- disappearing links ---------------------------------------------------- */

static bool linked(void **link, int long_link) {
  return preempt_weak_move(link, link, long_link) == 0;
}

static void check_link(void **link, const char *fn) {
  if (!link || ((uintptr_t)link & (sizeof(void *) - 1)))
    gc_abort("%s: %p is not an aligned pointer slot", fn, (void *)link);
}

static int link_obj(void **link, const void *obj, int long_link,
                    const char *fn) {
  gc_ensure_init();
  check_link(link, fn);
  if (GC_find_leak)
    return GC_UNIMPLEMENTED;
  if (linked(link, 0) || linked(link, 1))
    return GC_DUPLICATE;
  /* An object outside the heap never disappears: nothing to watch. */
  if (!obj || !preempt_object_start(obj))
    return GC_SUCCESS;
  preempt_weak_link(link, obj, long_link);
  return GC_SUCCESS;
}

int GC_general_register_disappearing_link(void **link, const void *obj) {
  return link_obj(link, obj, 0, "GC_general_register_disappearing_link");
}

/* The link is a field of the object that disappears. */
int GC_register_disappearing_link(void **link) {
  void *base = GC_base(link);
  if (!base)
    gc_abort("GC_register_disappearing_link: %p is not inside a heap object",
             (void *)link);
  return GC_general_register_disappearing_link(link, base);
}

int GC_register_long_link(void **link, const void *obj) {
  return link_obj(link, obj, 1, "GC_register_long_link");
}

static int unlink_kind(void **link, int long_link) {
  gc_ensure_init();
  if (!linked(link, long_link))
    return 0;
  return preempt_weak_unlink(link);
}
int GC_unregister_disappearing_link(void **link) { return unlink_kind(link, 0); }
int GC_unregister_long_link(void **link) { return unlink_kind(link, 1); }

static int move_kind(void **link, void **new_link, int long_link,
                     const char *fn) {
  gc_ensure_init();
  check_link(new_link, fn);
  switch (preempt_weak_move(link, new_link, long_link)) {
  case 0:
    return GC_SUCCESS;
  case 1:
    return GC_DUPLICATE;
  default:
    return GC_NOT_FOUND;
  }
}
int GC_move_disappearing_link(void **link, void **new_link) {
  return move_kind(link, new_link, 0, "GC_move_disappearing_link");
}
int GC_move_long_link(void **link, void **new_link) {
  return move_kind(link, new_link, 1, "GC_move_long_link");
}

/* ---- toggle-refs ---------------------------------------------------------------
 * An object whose owner outside the heap decides, collection by
 * collection, whether it is strongly held (pinned), weakly held (a weak
 * slot: dropped once unreachable) or forgotten.  The callback runs before
 * each GC_gcollect and after each automatic collection (a collection
 * cannot call out with the heap locked). */
struct toggle {
  void *weak;   /* hidden (preempt_weak_set); NULL: a free entry */
  void *strong; /* the object while pinned, else NULL */
};
static struct toggle *toggles;
static size_t ntoggles, toggles_cap;
static pthread_mutex_t toggle_lock = PTHREAD_MUTEX_INITIALIZER;
static GC_toggleref_func _Atomic toggle_fn;

void GC_set_toggleref_func(GC_toggleref_func f) { atomic_store(&toggle_fn, f); }
GC_toggleref_func GC_get_toggleref_func(void) { return atomic_load(&toggle_fn); }

static struct toggle *toggle_entry(void) {
  for (size_t i = 0; i < ntoggles; i++)
    if (!toggles[i].weak && !toggles[i].strong)
      return &toggles[i];
  if (ntoggles == toggles_cap) {
    size_t cap = toggles_cap ? toggles_cap * 2 : 64;
    struct toggle *t = calloc(cap, sizeof *t);
    if (!t)
      return NULL;
    for (size_t i = 0; i < ntoggles; i++) { /* the weak slots move too */
      t[i] = toggles[i];
      if (toggles[i].weak)
        preempt_weak_move(&toggles[i].weak, &t[i].weak, 0);
    }
    free(toggles);
    toggles = t;
    toggles_cap = cap;
  }
  return &toggles[ntoggles++];
}

int GC_toggleref_add(void *obj, int is_strong_ref) {
  gc_ensure_init();
  if (!atomic_load(&toggle_fn))
    return GC_SUCCESS; /* as bdwgc: nothing to do without a callback */
  pthread_mutex_lock(&toggle_lock);
  struct toggle *e = toggle_entry();
  if (e) {
    preempt_weak_set(&e->weak, obj);
    if (is_strong_ref) {
      preempt_pin(obj);
      e->strong = obj;
    }
  }
  pthread_mutex_unlock(&toggle_lock);
  return e ? GC_SUCCESS : GC_NO_MEMORY;
}

void gc_toggle_refs_update(void) {
  GC_toggleref_func f = atomic_load(&toggle_fn);
  if (!f)
    return;
  pthread_mutex_lock(&toggle_lock);
  for (size_t i = 0; i < ntoggles; i++) {
    struct toggle *e = &toggles[i];
    void *obj = preempt_weak_get(&e->weak);
    if (!obj && !e->strong)
      continue;
    GC_ToggleRefStatus st = obj ? f(obj) : GC_TOGGLE_REF_DROP;
    if (st != GC_TOGGLE_REF_STRONG && e->strong) {
      preempt_unpin(e->strong);
      e->strong = NULL;
    } else if (st == GC_TOGGLE_REF_STRONG && !e->strong) {
      preempt_pin(obj);
      e->strong = obj;
    }
    if (st == GC_TOGGLE_REF_DROP)
      preempt_weak_set(&e->weak, NULL);
  }
  pthread_mutex_unlock(&toggle_lock);
}

/* ---- disclaim procedures ---------------------------------------------------------
 * GC_finalized_malloc objects keep their closure in their first word
 * (tagged with bit 0) and give the program the rest; the closure runs once
 * the object is unreachable, and the object is freed by the next
 * collection.  What a waiting object reaches is kept (bdwgc marks from
 * all of them), so an object's closure runs before those of the objects
 * it refers to: preempt's ordered finalization. */
static void GC_CALLBACK run_closure(void *base, void *arg) {
  (void)arg;
  uintptr_t w = *(uintptr_t *)base;
  const struct GC_finalizer_closure *fc =
      (const struct GC_finalizer_closure *)(w & ~(uintptr_t)1);
  if (w & 1 && fc->proc)
    fc->proc((uintptr_t *)base + 1, fc->cd);
}

void GC_init_finalized_malloc(void) { gc_ensure_init(); }

void *GC_finalized_malloc(size_t lb, const struct GC_finalizer_closure *fc) {
  uintptr_t *base = GC_malloc(lb + sizeof(uintptr_t));
  if (!base)
    return NULL;
  base[0] = (uintptr_t)fc | 1;
  preempt_set_finalizer_order(base, run_closure, NULL, PREEMPT_FIN_ORDERED);
  return base + 1;
}

/* Kind-wide disclaim procedures: each object of the kind gets a
 * finalizer calling proc (ordered if the kind marks from all its waiting
 * objects, else in no order); a nonzero answer keeps the object until the
 * next collection asks again. */
#define MAX_KINDS 64
static struct {
  GC_disclaim_proc proc;
  enum preempt_finalizer_order order;
} disclaim[MAX_KINDS];

static void GC_CALLBACK run_disclaim(void *obj, void *arg) {
  int kind = (int)(uintptr_t)arg;
  if (disclaim[kind].proc && disclaim[kind].proc(obj))
    preempt_set_finalizer_order(obj, run_disclaim, arg, disclaim[kind].order);
}

void GC_register_disclaim_proc(int kind, GC_disclaim_proc proc,
                               int mark_from_all) {
  if (kind < 0 || kind >= MAX_KINDS)
    gc_abort("GC_register_disclaim_proc: %d is not an object kind", kind);
  disclaim[kind].order = mark_from_all ? PREEMPT_FIN_ORDERED : PREEMPT_FIN_NO_ORDER;
  disclaim[kind].proc = proc;
}

void gc_kind_disclaim(void *obj, int kind) {
  if (kind >= 0 && kind < MAX_KINDS && disclaim[kind].proc)
    preempt_set_finalizer_order(obj, run_disclaim, (void *)(uintptr_t)kind,
                                disclaim[kind].order);
}
