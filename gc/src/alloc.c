/* Allocation, explicit free, object queries, kinds and typed objects.
 *
 * GC_malloc is preempt_alloc (scanned conservatively, as bdwgc scans its
 * objects), GC_malloc_atomic preempt_alloc_noscan, and an uncollectable
 * object is a pinned one (a root until GC_free).  Descriptors from
 * GC_make_descriptor are preempt's run-time layouts. */
#include "compat.h"
#include "gc/gc_gcj.h"
#include "gc/gc_inline.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/* ---- uncollectable objects: a set of their starts -------------------------- */

static struct {
  uintptr_t *v; /* open addressing; 0 empty, 1 deleted */
  size_t cap, used;
} uncoll;
/* Whether any object was ever made uncollectable, or cut by GC_memalign:
 * GC_free of an ordinary object then takes no lock of ours and asks the
 * heap nothing more. */
static _Atomic bool any_uncollectable, any_aligned;
static pthread_mutex_t uncoll_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t hash(uintptr_t k, size_t cap) {
  return (size_t)((k * 0x9e3779b97f4a7c15ull) >> 17) & (cap - 1);
}

static void uncoll_put(uintptr_t k) {
  if ((uncoll.used + 1) * 2 > uncoll.cap) {
    uintptr_t *old = uncoll.v;
    size_t old_cap = uncoll.cap;
    uncoll.cap = old_cap ? old_cap * 2 : 256;
    uncoll.v = calloc(uncoll.cap, sizeof *uncoll.v);
    if (!uncoll.v)
      gc_abort("GC: out of memory for the table of uncollectable objects");
    uncoll.used = 0;
    for (size_t i = 0; i < old_cap; i++)
      if (old[i] > 1)
        uncoll_put(old[i]);
    free(old);
  }
  size_t i = hash(k, uncoll.cap);
  while (uncoll.v[i] > 1)
    i = (i + 1) & (uncoll.cap - 1);
  if (!uncoll.v[i])
    uncoll.used++;
  uncoll.v[i] = k;
  atomic_store_explicit(&any_uncollectable, true, memory_order_relaxed);
}

static bool uncoll_take(uintptr_t k, bool remove) {
  if (!uncoll.cap)
    return false;
  for (size_t i = hash(k, uncoll.cap); uncoll.v[i];
       i = (i + 1) & (uncoll.cap - 1))
    if (uncoll.v[i] == k) {
      if (remove)
        uncoll.v[i] = 1;
      return true;
    }
  return false;
}

bool gc_is_uncollectable(const void *base) {
  if (!atomic_load_explicit(&any_uncollectable, memory_order_relaxed))
    return false;
  pthread_mutex_lock(&uncoll_lock);
  bool r = uncoll_take((uintptr_t)base, false);
  pthread_mutex_unlock(&uncoll_lock);
  return r;
}

/* ---- kinds ---------------------------------------------------------------------- */

#define MAX_KINDS 64
static struct {
  GC_word descr;
  bool add_size;
} kinds[MAX_KINDS];
static _Atomic unsigned nkinds = GC_KIND_FIRST_CUSTOM;
static _Atomic unsigned nprocs;

/* A custom kind is pointer-free if its descriptor scans nothing, else
 * scanned conservatively (mark procedures are not called here). */
static bool kind_ptrfree(int k) {
  return (kinds[k].descr & GC_DS_TAGS) == GC_DS_LENGTH && kinds[k].descr == 0 &&
         !kinds[k].add_size;
}

/* bdwgc aligns every object to 16 bytes (its granule), and programs keep
 * tags in the low bits: preempt's classes are multiples of 16 but for 8
 * and 24, which a request (plus the byte past the end) is moved out of. */
static inline size_t granule(size_t lb) {
  if (lb < 8)
    return 15;
  if (lb >= 16 && lb < 24)
    return 31;
  return lb;
}

static inline void *finish_as(void *p, size_t lb, bool track) {
  if (unlikely(!p))
    return gc_out_of_memory(lb);
  if (unlikely(GC_find_leak) && track)
    gc_leak_track(p);
  return p;
}
#define finish(p, lb) finish_as(p, lb, true)

static inline void before_alloc(void) {
  gc_ensure_init();
  if (unlikely(GC_dont_gc != gc_seen_dont_gc))
    gc_sync_dont_gc();
  gc_maybe_finalize();
}

void *gc_alloc_kind_as(size_t lb, int k, bool track) {
  before_alloc();
  void *p;
  switch (k) {
  case GC_KIND_PTRFREE:
    return finish_as(preempt_alloc_noscan(granule(lb)), lb, track);
  case GC_KIND_NORMAL:
    return finish_as(preempt_alloc(granule(lb)), lb, track);
  case GC_KIND_UNCOLLECTABLE:
  case GC_KIND_AUNCOLLECTABLE:
    p = k == GC_KIND_UNCOLLECTABLE ? preempt_alloc(granule(lb))
                                   : preempt_alloc_noscan(granule(lb));
    if (!p)
      return gc_out_of_memory(lb);
    preempt_pin(p);
    pthread_mutex_lock(&uncoll_lock);
    uncoll_put((uintptr_t)p);
    pthread_mutex_unlock(&uncoll_lock);
    return p; /* never a leak */
  default:
    if (k < 0 || (unsigned)k >= atomic_load(&nkinds))
      gc_abort("GC_generic_malloc: %d is not an object kind", k);
    p = finish_as(kind_ptrfree(k) ? preempt_alloc_noscan(granule(lb))
                                  : preempt_alloc(granule(lb)),
                  lb, track);
    if (p)
      gc_kind_disclaim(p, k);
    return p;
  }
}

void *gc_alloc_kind(size_t lb, int k) { return gc_alloc_kind_as(lb, k, true); }

void *GC_malloc(size_t lb) {
  before_alloc();
  return finish(preempt_alloc(granule(lb)), lb);
}

void *GC_malloc_atomic(size_t lb) {
  before_alloc();
  return finish(preempt_alloc_noscan(granule(lb)), lb);
}

void *GC_malloc_uncollectable(size_t lb) {
  return gc_alloc_kind(lb, GC_KIND_UNCOLLECTABLE);
}
void *GC_malloc_atomic_uncollectable(size_t lb) {
  return gc_alloc_kind(lb, GC_KIND_AUNCOLLECTABLE);
}
/* preempt never mistakes an integer for a pointer into a large object's
 * first page any more than elsewhere: the hint changes nothing. */
void *GC_malloc_ignore_off_page(size_t lb) { return GC_malloc(lb); }
void *GC_malloc_atomic_ignore_off_page(size_t lb) {
  return GC_malloc_atomic(lb);
}
/* Stubborn objects (write-once, for incremental collection) are ordinary. */
void *GC_malloc_stubborn(size_t lb) { return GC_malloc(lb); }
void GC_change_stubborn(const void *p) { (void)p; }
void GC_end_stubborn_change(const void *p) { (void)p; }
void GC_ptr_store_and_dirty(void *p, const void *q) {
  *(const void **)p = q;
}

char *GC_strdup(const char *s) {
  if (!s)
    return NULL;
  size_t n = strlen(s) + 1;
  char *p = GC_malloc_atomic(n);
  if (p)
    memcpy(p, s, n);
  return p;
}

char *GC_strndup(const char *s, size_t max) {
  size_t n = strnlen(s, max);
  char *p = GC_malloc_atomic(n + 1);
  if (p) {
    memcpy(p, s, n);
    p[n] = 0;
  }
  return p;
}

wchar_t *GC_wcsdup(const wchar_t *s) {
  size_t n = (wcslen(s) + 1) * sizeof(wchar_t);
  wchar_t *p = GC_malloc_atomic(n);
  if (p)
    memcpy(p, s, n);
  return p;
}

void *GC_malloc_many(size_t lb) {
  if (lb < sizeof(void *))
    lb = sizeof(void *);
  size_t n = lb >= 4096 ? 1 : 4096 / lb;
  void *head = NULL;
  for (size_t i = 0; i < n; i++) {
    void *p = GC_malloc(lb);
    if (!p)
      break;
    GC_NEXT(p) = head;
    head = p;
  }
  return head;
}

void GC_generic_malloc_many(size_t lb, int k, void **result) {
  if (lb < sizeof(void *))
    lb = sizeof(void *);
  size_t n = lb >= 4096 ? 1 : 4096 / lb;
  void *head = NULL;
  for (size_t i = 0; i < n; i++) {
    void *p = gc_alloc_kind(lb, k);
    if (!p)
      break;
    GC_NEXT(p) = head;
    head = p;
  }
  *result = head;
}

/* Mark procedures are never called (their objects are scanned
 * conservatively): what they would call does nothing. */
struct GC_ms_entry *GC_mark_and_push(void *obj, struct GC_ms_entry *msp,
                                     struct GC_ms_entry *lim, void **src) {
  (void)obj;
  (void)lim;
  (void)src;
  return msp;
}
void GC_push_all(void *b, void *t) {
  (void)b;
  (void)t;
}
void GC_push_all_eager(void *b, void *t) {
  (void)b;
  (void)t;
}
void GC_push_conditional(void *b, void *t, int all) {
  (void)b;
  (void)t;
  (void)all;
}
void GC_push_finalizer_structures(void) {}
void *GC_clear_stack(void *p) { return p; }

/* ---- aligned objects ----------------------------------------------------------
 * Alignment beyond preempt's 16 bytes: the object is lb + align bytes and
 * the result a pointer into it, with the object's start (complemented)
 * in the word before, so that GC_free and GC_base find it. */
#define ALIGN_MARK(base) (~(uintptr_t)(base))

void *GC_memalign(size_t align, size_t lb) {
  if (align <= 16) /* every object is */
    return GC_malloc(lb);
  if (align & (align - 1) || lb > SIZE_MAX - align) {
    errno = EINVAL;
    return NULL;
  }
  char *base = GC_malloc(lb + align);
  if (!base)
    return NULL;
  /* A pointer derived from base, never rebuilt from an integer. */
  char *p = base + (align - ((uintptr_t)base & (align - 1)));
  ((uintptr_t *)p)[-1] = ALIGN_MARK(base);
  atomic_store_explicit(&any_aligned, true, memory_order_relaxed);
  return p;
}

int GC_posix_memalign(void **out, size_t align, size_t lb) {
  if (align < sizeof(void *) || (align & (align - 1)))
    return EINVAL;
  void *p = GC_memalign(align, lb);
  if (!p)
    return ENOMEM;
  *out = p;
  return 0;
}

/* The start of the object GC_free(p) means: p itself, or the object an
 * aligned pointer was cut from. */
static void *free_target(void *p) {
  if (!atomic_load_explicit(&any_aligned, memory_order_relaxed))
    return p;
  void *base = preempt_object_start(p);
  if (base && base != p && (uintptr_t)p - (uintptr_t)base >= sizeof(uintptr_t) &&
      ((uintptr_t *)p)[-1] == ALIGN_MARK(base))
    return base;
  return p;
}

/* ---- free and queries -------------------------------------------------------- */

void GC_free(void *p) {
  if (!p)
    return;
  gc_ensure_init();
  p = free_target(p);
  gc_debug_forget(p);
  bool pinned = false;
  if (atomic_load_explicit(&any_uncollectable, memory_order_relaxed)) {
    pthread_mutex_lock(&uncoll_lock);
    pinned = uncoll_take((uintptr_t)p, true);
    pthread_mutex_unlock(&uncoll_lock);
  }
  if (pinned)
    preempt_unpin(p);
  preempt_free(p); /* fatal, naming the caller, for a bad pointer */
}

void *GC_base(void *p) { return p ? preempt_object_start(p) : NULL; }
int GC_is_heap_ptr(const void *p) { return preempt_object_start(p) != NULL; }
size_t GC_size(const void *p) { return preempt_object_size(p); }

int GC_get_kind_and_size(const void *p, size_t *psize) {
  if (psize)
    *psize = preempt_object_size(p);
  int scanned = preempt_object_scanned(p);
  if (gc_is_uncollectable(p))
    return scanned ? GC_KIND_UNCOLLECTABLE : GC_KIND_AUNCOLLECTABLE;
  return scanned > 0 ? GC_KIND_NORMAL : GC_KIND_PTRFREE;
}

void *GC_realloc(void *p, size_t lb) {
  if (!p)
    return GC_malloc(lb);
  if (!lb) {
    GC_free(p);
    return NULL;
  }
  void *base = preempt_object_start(p);
  if (base != p)
    gc_abort("GC_realloc(%p, %zu): not the start of a heap object", p, lb);
  size_t old = preempt_object_size(p);
  /* In place when it still fits with its byte past the end, and does not
   * waste more than half: the tail is cleared (no stale pointers). */
  if (lb < old && lb >= old / 2) {
    memset((char *)p + lb, 0, old - lb);
    return p;
  }
  void *q = gc_alloc_kind(lb, GC_get_kind_and_size(p, NULL));
  if (!q)
    return NULL;
  memcpy(q, p, lb < old ? lb : old);
  GC_free(p);
  return q;
}

/* ---- kinds ------------------------------------------------------------------------ */

void **GC_new_free_list_inner(void) {
  void **fl = calloc(25, sizeof(void *)) /* bdwgc's GC_TINY_FREELISTS */;
  if (!fl)
    gc_abort("GC_new_free_list: out of memory");
  return fl;
}
void **GC_new_free_list(void) { return GC_new_free_list_inner(); }

unsigned GC_new_kind_inner(void **free_list, GC_word descr, int add_size,
                           int clear) {
  (void)free_list;
  (void)clear; /* preempt clears every object */
  unsigned k = atomic_fetch_add(&nkinds, 1);
  if (k >= MAX_KINDS)
    gc_abort("GC_new_kind: more than %d object kinds", MAX_KINDS);
  kinds[k].descr = descr;
  kinds[k].add_size = add_size != 0;
  return k;
}
unsigned GC_new_kind(void **fl, GC_word d, int add, int clear) {
  return GC_new_kind_inner(fl, d, add, clear);
}
/* Mark procedures are never called: objects of their kinds are scanned
 * conservatively, which finds at least what the procedure would. */
unsigned GC_new_proc_inner(GC_mark_proc p) {
  (void)p;
  return atomic_fetch_add(&nprocs, 1);
}
unsigned GC_new_proc(GC_mark_proc p) { return GC_new_proc_inner(p); }

void *GC_generic_malloc(size_t lb, int k) { return gc_alloc_kind(lb, k); }
void *GC_generic_malloc_ignore_off_page(size_t lb, int k) {
  return gc_alloc_kind(lb, k);
}
void *GC_generic_malloc_uncollectable(size_t lb, int k) {
  void *p = gc_alloc_kind(lb, k);
  if (p && k != GC_KIND_UNCOLLECTABLE && k != GC_KIND_AUNCOLLECTABLE) {
    preempt_pin(p);
    pthread_mutex_lock(&uncoll_lock);
    uncoll_put((uintptr_t)p);
    pthread_mutex_unlock(&uncoll_lock);
  }
  return p;
}
void *GC_generic_or_special_malloc(size_t lb, int k) {
  return gc_alloc_kind(lb, k);
}

/* ---- typed objects ------------------------------------------------------------------
 * A descriptor is bdwgc's length descriptor when the layout is trivial
 * (0: no pointer; n: n bytes of pointers), else the address of one of
 * these, tagged GC_DS_PROC. */
struct typed {
  preempt_descriptor *d;
  size_t bytes; /* that the layout covers */
};

GC_descr GC_make_descriptor(const GC_word *bm, size_t len) {
  size_t last = 0, set = 0;
  for (size_t i = 0; i < len; i++)
    if (GC_get_bit(bm, i)) {
      last = i + 1;
      set++;
    }
  if (!set)
    return 0 | GC_DS_LENGTH;
  if (set == last)
    return (GC_descr)(last * sizeof(GC_word)) | GC_DS_LENGTH;
  struct typed *t = malloc(sizeof *t);
  if (!t)
    gc_abort("GC_make_descriptor: out of memory");
  t->d = preempt_make_descriptor((const uint64_t *)bm, last, NULL);
  t->bytes = last * sizeof(GC_word);
  if (!t->d)
    gc_abort("GC_make_descriptor: cannot make a layout of %zu words", last);
  return (GC_descr)t | GC_DS_PROC;
}

void *GC_malloc_explicitly_typed(size_t lb, GC_descr d) {
  if ((d & GC_DS_TAGS) == GC_DS_LENGTH)
    return d ? GC_malloc(lb) : GC_malloc_atomic(lb);
  struct typed *t = (struct typed *)(d & ~(GC_descr)GC_DS_TAGS);
  before_alloc();
  return finish(preempt_alloc_described(granule(lb < t->bytes ? t->bytes : lb),
                                        t->d),
                lb);
}

void *GC_malloc_explicitly_typed_ignore_off_page(size_t lb, GC_descr d) {
  return GC_malloc_explicitly_typed(lb, d);
}

/* An array of typed elements is scanned conservatively unless pointer-free
 * (a layout repeats only at its own size). */
void *GC_calloc_explicitly_typed(size_t n, size_t lb, GC_descr d) {
  size_t bytes;
  if (__builtin_mul_overflow(n, lb, &bytes))
    return gc_out_of_memory(SIZE_MAX);
  return d == 0 ? GC_malloc_atomic(bytes) : GC_malloc(bytes);
}

/* ---- gcj objects: the vtable pointer in the first word ---------------------- */

int GC_gcj_kind = GC_KIND_NORMAL;
int GC_gcj_debug_kind = GC_KIND_NORMAL;
void GC_init_gcj_malloc(int mp_index, void *mark_proc) {
  (void)mp_index;
  (void)mark_proc;
  gc_ensure_init();
}

void *GC_gcj_malloc(size_t lb, void *vtable) {
  void **p = GC_malloc(lb < sizeof(void *) ? sizeof(void *) : lb);
  if (p)
    p[0] = vtable;
  return p;
}
void *GC_gcj_malloc_ignore_off_page(size_t lb, void *vtable) {
  return GC_gcj_malloc(lb, vtable);
}
void *GC_debug_gcj_malloc(size_t lb, void *vtable, const char *s, int i) {
  void **p = GC_debug_malloc(lb < sizeof(void *) ? sizeof(void *) : lb, s, i);
  if (p)
    p[0] = vtable;
  return p;
}
