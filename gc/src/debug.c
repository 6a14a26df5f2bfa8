/* Debugging allocation (GC_DEBUG), smash detection and leak finding.
 *
 * A GC_debug_malloc object is a header, the user's bytes and a guard:
 *
 *   base: file, line | flags, size, caller, entry, start guard
 *   base + GC_DEBUG_HEADER_BYTES: the user's size bytes
 *   then 8 guard bytes (unaligned)
 *
 * Guards hold a value derived from the object's address, so a copied or
 * reused header never passes for another object's.  GC_debug_free checks
 * them, and so does every collection (with the world stopped) for every
 * live debugging object: the objects are a registry of weak slots, which
 * the collector itself empties as objects die.  Reports are printed after
 * the collection, by the thread that allocates or collects next.
 *
 * Find-leak mode gives every object a no-order finalizer that reports it:
 * an object that becomes unreachable without GC_free is a leak. */
#include "compat.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define GUARD_START 0x5aa5c33cf00f0ff0ull
#define GUARD_END 0xa55a3cc30ff0f00full
enum { F_ATOMIC = 1, F_UNCOLLECTABLE = 2, F_REPORTED = 4 };

struct header {
  const char *file;
  uint64_t line_flags; /* line << 8 | flags */
  uint64_t size;
  uintptr_t caller;
  uint64_t entry; /* index in the registry */
  uint64_t guard;
};
_Static_assert(sizeof(struct header) == GC_DEBUG_HEADER_BYTES,
               "the header is what GC_get_debug_header_size says");

static uint64_t start_guard(const void *base) {
  return GUARD_START ^ (uintptr_t)base;
}
static uint64_t end_guard(const void *base) {
  return GUARD_END ^ (uintptr_t)base;
}
static char *user_of(struct header *h) { return (char *)(h + 1); }

size_t GC_get_debug_header_size(void) { return GC_DEBUG_HEADER_BYTES; }

bool gc_debug_object(const void *base) {
  return base && ((const struct header *)base)->guard == start_guard(base);
}

/* ---- the registry: weak slots in chunks that never move ----------------- */

#define CHUNK 4096
#define MAX_CHUNKS 4096
static void **chunks[MAX_CHUNKS];
static size_t nentries;
static _Atomic bool registry_used;
static uint64_t *free_entries; /* a stack of released indices */
static size_t nfree, free_cap;
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;

static void **slot_at(uint64_t i) { return &chunks[i / CHUNK][i % CHUNK]; }
/* An entry on the free stack holds this (no hidden pointer is ~1). */
#define ON_FREE_STACK ((void *)1)

static void push_free(uint64_t i) {
  if (nfree == free_cap) {
    size_t cap = free_cap ? free_cap * 2 : 1024;
    uint64_t *v = realloc(free_entries, cap * sizeof *v);
    if (!v)
      return; /* the entry is simply not reused */
    free_entries = v;
    free_cap = cap;
  }
  *slot_at(i) = ON_FREE_STACK;
  free_entries[nfree++] = i;
}

/* Entries the collector emptied (their objects died) are free again. */
static void collect_emptied(void) {
  for (size_t i = 0; i < nentries; i++)
    if (!*slot_at(i))
      push_free(i);
}

static uint64_t reg_add(struct header *h) {
  pthread_mutex_lock(&reg_lock);
  uint64_t i;
  if (!nfree && nentries % CHUNK == 0)
    collect_emptied();
  if (nfree) {
    i = free_entries[--nfree];
  } else {
    if (nentries / CHUNK >= MAX_CHUNKS)
      gc_abort("GC_debug_malloc: more than %d debugging objects at once",
               CHUNK * MAX_CHUNKS);
    if (!chunks[nentries / CHUNK] &&
        !(chunks[nentries / CHUNK] = calloc(CHUNK, sizeof(void *))))
      gc_abort("GC_debug_malloc: out of memory for the object registry");
    i = nentries++;
  }
  preempt_weak_set(slot_at(i), h);
  atomic_store_explicit(&registry_used, true, memory_order_relaxed);
  pthread_mutex_unlock(&reg_lock);
  return i;
}

static void reg_remove(uint64_t i) {
  pthread_mutex_lock(&reg_lock);
  preempt_weak_set(slot_at(i), NULL);
  push_free(i);
  pthread_mutex_unlock(&reg_lock);
}

/* GC_free of a debugging object's start (not through GC_debug_free). */
void gc_debug_forget(void *base) {
  if (atomic_load_explicit(&registry_used, memory_order_relaxed) &&
      preempt_object_start(base) == base && gc_debug_object(base))
    reg_remove(((struct header *)base)->entry);
}

/* ---- smashes -------------------------------------------------------------------- */

#define MAX_SMASHED 64
static struct smash {
  const void *where;
  struct header *h;
} smashed[MAX_SMASHED];
static _Atomic size_t nsmashed;
static size_t smashed_lost;

/* The first byte of the object's guards that is wrong, or NULL. */
static const void *smashed_at(struct header *h) {
  if (h->guard != start_guard(h))
    return &h->guard;
  uint64_t want = end_guard(h);
  const unsigned char *e = (const unsigned char *)user_of(h) + h->size;
  for (int k = 0; k < 8; k++)
    if (e[k] != ((const unsigned char *)&want)[k])
      return e + k;
  return NULL;
}

static void describe(char *buf, size_t n, struct header *h) {
  char from[256];
  preempt_symbolise(h->caller, from, sizeof from);
  snprintf(buf, n, "object %p (%llu bytes) allocated at %s:%d, in %s",
           (void *)user_of(h), (unsigned long long)h->size,
           h->file ? h->file : "?", (int)(h->line_flags >> 8), from);
}

/* World stopped, from the collection: every registered object is still
 * allocated (a dead one's slot was emptied by the collection that found
 * it).  A thread stopped while holding the registry lock makes us skip. */
PREEMPT_UNSAFE void gc_debug_check_all(void) {
  if (!nentries || pthread_mutex_trylock(&reg_lock))
    return;
  for (size_t i = 0; i < nentries; i++) {
    void *v = *slot_at(i);
    if (!v || v == ON_FREE_STACK)
      continue;
    struct header *h = (struct header *)~(uintptr_t)v;
    if (h->line_flags & F_REPORTED)
      continue;
    const void *at = smashed_at(h);
    if (!at)
      continue;
    h->line_flags |= F_REPORTED;
    size_t k = atomic_load(&nsmashed);
    if (k < MAX_SMASHED) {
      smashed[k] = (struct smash){at, h};
      atomic_store(&nsmashed, k + 1);
    } else {
      smashed_lost++;
    }
  }
  pthread_mutex_unlock(&reg_lock);
  if (atomic_load(&nsmashed))
    gc_set_pending();
}

static void report_smash(const char *who, const void *at, struct header *h) {
  char what[512];
  describe(what, sizeof what, h);
  long off = (long)((const char *)at - user_of(h));
  gc_warn("%s: smashed memory at %p (offset %ld of the user's bytes) in %s",
          who, at, off, what);
}

void gc_debug_report(void) {
  size_t n = atomic_exchange(&nsmashed, 0);
  if (n)
    gc_warn("GC_check_heap: found %zu smashed object%s", n + smashed_lost,
            n + smashed_lost == 1 ? "" : "s");
  for (size_t i = 0; i < n; i++)
    report_smash("GC_check_heap", smashed[i].where, smashed[i].h);
  smashed_lost = 0;
}

/* ---- allocation ----------------------------------------------------------------- */

static void *debug_alloc(size_t lb, int kind, const char *file, int line,
                         uintptr_t caller) {
  size_t total;
  if (__builtin_add_overflow(lb, GC_DEBUG_HEADER_BYTES + 8, &total))
    return gc_out_of_memory(lb);
  struct header *h = gc_alloc_kind_as(total, kind, false);
  if (!h)
    return NULL;
  int flags = 0;
  if (kind == GC_KIND_PTRFREE || kind == GC_KIND_AUNCOLLECTABLE)
    flags |= F_ATOMIC;
  if (kind == GC_KIND_UNCOLLECTABLE || kind == GC_KIND_AUNCOLLECTABLE)
    flags |= F_UNCOLLECTABLE;
  h->file = file;
  h->line_flags = (uint64_t)(unsigned)line << 8 | (unsigned)flags;
  h->size = lb;
  h->caller = caller;
  h->guard = start_guard(h);
  uint64_t eg = end_guard(h);
  memcpy(user_of(h) + lb, &eg, 8);
  h->entry = reg_add(h);
  if (GC_find_leak && !(flags & F_UNCOLLECTABLE))
    gc_leak_track(h);
  return user_of(h);
}

#define CALLER ((uintptr_t)__builtin_return_address(0))

void *GC_debug_malloc(size_t lb, const char *s, int i) {
  return debug_alloc(lb, GC_KIND_NORMAL, s, i, CALLER);
}
void *GC_debug_malloc_atomic(size_t lb, const char *s, int i) {
  return debug_alloc(lb, GC_KIND_PTRFREE, s, i, CALLER);
}
void *GC_debug_malloc_uncollectable(size_t lb, const char *s, int i) {
  return debug_alloc(lb, GC_KIND_UNCOLLECTABLE, s, i, CALLER);
}
void *GC_debug_malloc_atomic_uncollectable(size_t lb, const char *s, int i) {
  return debug_alloc(lb, GC_KIND_AUNCOLLECTABLE, s, i, CALLER);
}
void *GC_debug_malloc_stubborn(size_t lb, const char *s, int i) {
  return debug_alloc(lb, GC_KIND_NORMAL, s, i, CALLER);
}
void *GC_debug_malloc_ignore_off_page(size_t lb, const char *s, int i) {
  return debug_alloc(lb, GC_KIND_NORMAL, s, i, CALLER);
}
void *GC_debug_malloc_atomic_ignore_off_page(size_t lb, const char *s, int i) {
  return debug_alloc(lb, GC_KIND_PTRFREE, s, i, CALLER);
}
void *GC_debug_generic_or_special_malloc(size_t lb, int k, const char *s,
                                         int i) {
  return debug_alloc(lb, k, s, i, CALLER);
}
void *GC_debug_malloc_replacement(size_t lb) {
  return debug_alloc(lb, GC_KIND_NORMAL, "(malloc replacement)", 0, CALLER);
}

char *GC_debug_strdup(const char *str, const char *s, int i) {
  if (!str)
    return NULL;
  size_t n = strlen(str) + 1;
  char *p = debug_alloc(n, GC_KIND_PTRFREE, s, i, CALLER);
  if (p)
    memcpy(p, str, n);
  return p;
}
char *GC_debug_strndup(const char *str, size_t max, const char *s, int i) {
  size_t n = strnlen(str, max);
  char *p = debug_alloc(n + 1, GC_KIND_PTRFREE, s, i, CALLER);
  if (p) {
    memcpy(p, str, n);
    p[n] = 0;
  }
  return p;
}
wchar_t *GC_debug_wcsdup(const wchar_t *str, const char *s, int i) {
  size_t n = (wcslen(str) + 1) * sizeof(wchar_t);
  wchar_t *p = debug_alloc(n, GC_KIND_PTRFREE, s, i, CALLER);
  if (p)
    memcpy(p, str, n);
  return p;
}

/* The header of the debugging object whose user's bytes start at p, or
 * NULL if p is not such a start. */
static struct header *header_of(void *p) {
  void *base = preempt_object_start(p);
  if (!base || (char *)p - (char *)base != GC_DEBUG_HEADER_BYTES)
    return NULL;
  return gc_debug_object(base) ? base : NULL;
}

void GC_debug_free(void *p) {
  if (!p)
    return;
  gc_ensure_init();
  struct header *h = header_of(p);
  if (!h) {
    if (preempt_object_start(p) == p) {
      gc_warn("GC_debug_free: %p was not allocated by GC_debug_malloc "
              "(freed anyway)", p);
      GC_free(p);
      return;
    }
    char from[256];
    preempt_symbolise((uintptr_t)__builtin_return_address(0), from, sizeof from);
    gc_abort("GC_debug_free: %p is not the start of a GC_debug_malloc "
             "object (freed twice, never allocated, or an interior pointer); "
             "called from %s",
             p, from);
  }
  const void *at = smashed_at(h);
  if (at)
    report_smash("GC_debug_free", at, h);
  reg_remove(h->entry);
  h->guard = 0; /* not a debugging object for GC_free any more */
  GC_free(h);
}

void *GC_debug_realloc(void *p, size_t lb, const char *s, int i) {
  if (!p)
    return debug_alloc(lb, GC_KIND_NORMAL, s, i, CALLER);
  if (!lb) {
    GC_debug_free(p);
    return NULL;
  }
  struct header *h = header_of(p);
  if (!h) {
    char from[256];
    preempt_symbolise((uintptr_t)__builtin_return_address(0), from, sizeof from);
    gc_abort("GC_debug_realloc: %p is not the start of a GC_debug_malloc "
             "object; called from %s",
             p, from);
  }
  int flags = (int)(h->line_flags & 0xff);
  int kind = flags & F_UNCOLLECTABLE
                 ? (flags & F_ATOMIC ? GC_KIND_AUNCOLLECTABLE
                                     : GC_KIND_UNCOLLECTABLE)
                 : (flags & F_ATOMIC ? GC_KIND_PTRFREE : GC_KIND_NORMAL);
  void *q = debug_alloc(lb, kind, s, i, CALLER);
  if (!q)
    return NULL;
  memcpy(q, p, lb < h->size ? lb : h->size);
  GC_debug_free(p);
  return q;
}
void *GC_debug_realloc_replacement(void *p, size_t lb) {
  return GC_debug_realloc(p, lb, "(realloc replacement)", 0);
}
void GC_debug_change_stubborn(const void *p) { (void)p; }
void GC_debug_end_stubborn_change(const void *p) { (void)p; }
void GC_debug_ptr_store_and_dirty(void *p, const void *q) {
  *(const void **)GC_is_visible(p) = GC_is_valid_displacement((void *)q);
}

/* ---- leaks ------------------------------------------------------------------------ */

static void GC_CALLBACK leak_found(void *base, void *arg) {
  (void)arg;
  if (gc_debug_object(base)) {
    struct header *h = base;
    char what[512];
    describe(what, sizeof what, h);
    gc_warn("GC: leaked %s", what);
  } else {
    gc_warn("GC: leaked object %p (%zu bytes)", base, preempt_object_size(base));
  }
}

void gc_leak_track(void *base) {
  preempt_set_finalizer_order(base, leak_found, NULL, PREEMPT_FIN_NO_ORDER);
}

/* ---- pointer checks ------------------------------------------------------------------ */

static void GC_CALLBACK default_same_obj(void *p, void *q) {
  gc_abort("GC_same_obj: %p and %p are not in the same object", p, q);
}
static void GC_CALLBACK default_displacement(void *p) {
  gc_abort("GC_is_valid_displacement: %p is not a valid pointer", p);
}
static void GC_CALLBACK default_visible(void *p) {
  gc_abort("GC_is_visible: %p is inside a pointer-free object: the collector "
           "would not see a pointer stored there",
           p);
}
GC_same_obj_print_proc_t GC_same_obj_print_proc = default_same_obj;
GC_valid_ptr_print_proc_t GC_is_valid_displacement_print_proc =
    default_displacement;
GC_valid_ptr_print_proc_t GC_is_visible_print_proc = default_visible;

void *GC_same_obj(void *p, void *q) {
  void *bp = preempt_object_start(p), *bq = preempt_object_start(q);
  if (bp != bq)
    GC_same_obj_print_proc(p, q);
  return p;
}
void *GC_pre_incr(void **p, ptrdiff_t n) {
  void *r = (char *)*p + n;
  GC_same_obj(r, *p);
  return *p = r;
}
void *GC_post_incr(void **p, ptrdiff_t n) {
  void *old = *p;
  GC_same_obj((char *)old + n, old);
  *p = (char *)old + n;
  return old;
}
/* Every interior pointer is valid here. */
void *GC_is_valid_displacement(void *p) { return p; }
void *GC_is_visible(void *p) {
  if (preempt_object_scanned(p) == 0)
    GC_is_visible_print_proc(p);
  return p;
}
/* preempt registers no temporary roots. */
int GC_is_tmp_root(void *p) {
  (void)p;
  return 0;
}
