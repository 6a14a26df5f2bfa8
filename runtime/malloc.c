/* Allocation: size classes, per-thread caches, large objects.
 *
 * A small-object span holds equal-sized slots.  Like Go, a span needs no
 * free list: slots below freeindex are allocated, and above it allocbits
 * (the mark bits of the last collection) tell which are.  Each thread keeps
 * one span per size class and a 64-bit word of its free slots, so the fast
 * path is a count-trailing-zeros and a memset, with no lock and no atomic.
 * Pointer-free (noscan) objects get their own spans: the collector skips
 * them without looking inside. */
#include "gc.h"
#include "malloc.h"
#include "events.h"
#include "options.h"
#include "stw.h"
#include "sysmem.h"
#include "threads.h"
#include "layout.h"
#include "types.h"

#include <string.h>

static const uint32_t class_size[PREEMPT_NUM_CLASSES] = {
    0,     8,     16,    24,    32,    48,    64,    80,    96,    112,
    128,   160,   192,   224,   256,   320,   384,   448,   512,   640,
    768,   896,   1024,  1280,  1536,  1792,  2048,  2560,  3072,  3584,
    4096,  5120,  6144,  7168,  8192,  10240, 12288, 14336, 16384, 20480,
    24576, 28672, 32768};
#define NCLASSES 43
_Static_assert(NCLASSES <= PREEMPT_NUM_CLASSES, "class table too small");

static uint8_t class_of_small[1024 / 8 + 1]; /* (size + 7) / 8 -> class */
static uint8_t class_of_large[PREEMPT_MAX_SMALL / 128 + 1];
static uint8_t class_pages[NCLASSES];

/* Spans with free slots, per class and scan kind; under the heap lock. */
static struct preempt_span *central[NCLASSES][2];

static void classes_init(void) {
  for (unsigned c = 1, s = 0; s <= 1024; s += 8) {
    while (class_size[c] < s)
      c++;
    class_of_small[s / 8] = (uint8_t)c;
  }
  for (unsigned c = 1, s = 0; s <= PREEMPT_MAX_SMALL; s += 128) {
    while (class_size[c] < s)
      c++;
    class_of_large[s / 128] = (uint8_t)c;
  }
  /* Enough pages for at least 8 objects with at most 1/8 wasted. */
  for (unsigned c = 1; c < NCLASSES; c++) {
    size_t sz = class_size[c], n = 1;
    while (n < 16 && ((n * PREEMPT_PAGE_SIZE) / sz < 8 ||
                      (n * PREEMPT_PAGE_SIZE) % sz * 8 > n * PREEMPT_PAGE_SIZE))
      n++;
    class_pages[c] = (uint8_t)n;
  }
}

static inline unsigned size_class(size_t size) {
  if (likely(size <= 1024))
    return class_of_small[(size + 7) >> 3];
  return class_of_large[(size + 127) >> 7];
}

/* ---- spans of small objects ---------------------------------------------- */

static struct preempt_span *small_span_new(unsigned c, bool noscan) {
  struct preempt_span *s = preempt_span_alloc(class_pages[c]);
  if (!s)
    return NULL;
  uint32_t size = class_size[c];
  s->state = SPAN_SMALL;
  s->sizeclass = (uint8_t)c;
  s->noscan = noscan;
  s->elemsize = size;
  s->nelems = (uint32_t)(s->npages * PREEMPT_PAGE_SIZE / size);
  s->divmul = (uint32_t)(((uint64_t)1 << 32) / size + 1);
  size_t words = span_bitmap_words(s->nelems);
  s->allocbits = preempt_pool_alloc(2 * words * sizeof(uint64_t));
  if (!s->allocbits) {
    preempt_span_free(s);
    return NULL;
  }
  s->markbits = s->allocbits + words;
  s->nfree = s->nelems;
  if (preempt_opts.verify)
    memset((void *)s->base, PREEMPT_POISON_BYTE, s->nelems * (size_t)size);
  return s;
}

void preempt_central_reset(void) { memset(central, 0, sizeof central); }

void preempt_central_add(struct preempt_span *s) {
  struct preempt_span **head = &central[s->sizeclass][s->noscan];
  s->prev = NULL;
  s->next = *head;
  if (*head)
    (*head)->prev = s;
  *head = s;
}

/* Free-slot bits of the rest of freeindex's word, bit 0 = freeindex;
 * moves freeindex to the next word with a free slot; 0 when full. */
static uint64_t next_free_word(struct preempt_span *s) {
  while (s->freeindex < s->nelems) {
    uint32_t w = s->freeindex & ~63u;
    uint64_t bits = ~s->allocbits[w / 64];
    if (s->nelems - w < 64)
      bits &= ((uint64_t)1 << (s->nelems - w)) - 1;
    bits >>= s->freeindex - w;
    if (bits)
      return bits;
    s->freeindex = w + 64;
  }
  s->freeindex = s->nelems;
  return 0;
}

/* Bytes still free in a cached span: given back to the heap accounting. */
static size_t cached_free_bytes(struct preempt_span *s, uint64_t bits) {
  size_t n = (size_t)__builtin_popcountll(bits);
  for (uint32_t w = (uint32_t)ALIGN_UP(s->freeindex + 1, 64); w < s->nelems; w += 64) {
    uint64_t b = ~s->allocbits[w / 64];
    if (s->nelems - w < 64)
      b &= ((uint64_t)1 << (s->nelems - w)) - 1;
    n += (size_t)__builtin_popcountll(b);
  }
  return n * s->elemsize;
}

void preempt_cache_flush(struct preempt_cache *c) {
  for (unsigned k = 1; k < NCLASSES; k++)
    for (int ns = 0; ns < 2; ns++) {
      struct preempt_span *s = c->span[k][ns];
      if (!s)
        continue;
      atomic_fetch_sub(&preempt_heap_live, cached_free_bytes(s, c->bits[k][ns]));
      s->in_cache = false;
      c->span[k][ns] = NULL;
      c->bits[k][ns] = 0;
      /* It goes back to a central list at the next sweep; until then the
       * collector sees it through the page table. */
    }
}

/* ---- allocation ---------------------------------------------------------- */

static void *oom(size_t size) {
  void *p = preempt_hook_oom(size);
  if (p || preempt_opts.oom_null)
    return p;
  size_t limit = preempt_opts.heap_limit, reserved = preempt_heap_reserved();
  preempt_fatal("out of memory allocating %zu bytes (heap: %zu MiB in use, "
                "limit %zu MiB; PREEMPT=limit=... or preempt_set_heap_limit "
                "raises the limit, preempt_set_oom_policy(PREEMPT_OOM_NULL) "
                "returns NULL)",
                size, (size_t)atomic_load(&preempt_heap_live) >> 20,
                (limit < reserved ? limit : reserved) >> 20);
}


static void check_poison(const struct preempt_span *s, void *p) {
  const uint8_t *b = p;
  for (uint32_t i = 0; i < s->elemsize; i++)
    if (b[i] != PREEMPT_POISON_BYTE)
      preempt_fatal("freed object %p (%u bytes) was written to after it was "
                    "freed (byte %u is 0x%02x)",
                    p, s->elemsize, i, b[i]);
}

/* Leaves the allocation's critical section (entered by alloc; none when
 * t is NULL) and returns p: a tail call even when a stop was deferred. */
static inline void *leave(struct preempt_thread *t, void *p) {
  if (t && unlikely(PREEMPT_ARCH_SIGSAFE_DEC_NONZERO(&t->no_preempt)))
    return preempt_nopreempt_deferred_ret(t, p);
  return p;
}

/* The rest of take_slot for big slots and checked heaps: out of line, so
 * that the common path makes no call and saves no register. */
__attribute__((noinline)) static void *finish_slot(struct preempt_span *s,
                                                   uint32_t idx, void *p,
                                                   int type,
                                                   struct preempt_thread *t) {
  if (unlikely(preempt_opts.verify))
    check_poison(s, p);
  if (s->types)
    s->types[idx] = (uint16_t)type;
  memset(p, 0, s->elemsize);
  return leave(t, p);
}

static inline void *take_slot(struct preempt_span *s, uint64_t *bits, int type,
                              struct preempt_thread *t) {
  unsigned z = (unsigned)__builtin_ctzll(*bits);
  uint32_t idx = s->freeindex + z;
  s->freeindex = idx + 1;
  *bits = (*bits >> z) >> 1;
  void *p = (void *)(s->base + (uintptr_t)idx * s->elemsize);
  if (unlikely(s->elemsize > 64 || preempt_opts.verify))
    return finish_slot(s, idx, p, type, t);
  if (s->types)
    s->types[idx] = (uint16_t)type;
  /* Stores for the small sizes: cheaper than a call to memset. */
  uint64_t *w = p;
  switch (s->elemsize) {
  case 64: w[7] = 0; w[6] = 0; /* fall through */
  case 48: w[5] = 0; w[4] = 0; /* fall through */
  case 32: w[3] = 0; /* fall through */
  case 24: w[2] = 0; /* fall through */
  case 16: w[1] = 0; /* fall through */
  default: w[0] = 0;
  }
  return leave(t, p);
}

/* Gives the thread a span with free slots for class c. */
static bool refill(struct preempt_thread *t, unsigned c, bool noscan) {
  struct preempt_cache *cache = &t->cache;
  struct preempt_span *s = cache->span[c][noscan];
  if (s) {
    /* Only this word is used up; its free bytes were counted already. */
    uint64_t bits = next_free_word(s);
    if (bits) {
      cache->bits[c][noscan] = bits;
      return true;
    }
    s->in_cache = false; /* full: the next sweep finds it */
    cache->span[c][noscan] = NULL;
  }
  struct preempt_span **head = &central[c][noscan];
  while ((s = *head)) {
    *head = s->next;
    if (*head)
      (*head)->prev = NULL;
    s->next = s->prev = NULL;
    uint64_t bits = next_free_word(s);
    if (bits) {
      s->in_cache = true;
      cache->span[c][noscan] = s;
      cache->bits[c][noscan] = bits;
      atomic_fetch_add(&preempt_heap_live, cached_free_bytes(s, bits));
      return true;
    }
  }
  s = small_span_new(c, noscan);
  if (!s)
    return false;
  s->in_cache = true;
  cache->span[c][noscan] = s;
  cache->bits[c][noscan] = next_free_word(s);
  atomic_fetch_add(&preempt_heap_live, (size_t)s->nelems * s->elemsize);
  return true;
}

static void *alloc_large(size_t size, bool noscan, int type) {
  size_t npages = (size + PREEMPT_PAGE_SIZE - 1) >> PREEMPT_PAGE_SHIFT;
  struct preempt_span *s = preempt_span_alloc(npages);
  if (!s)
    return NULL;
  s->state = SPAN_LARGE;
  s->noscan = noscan;
  s->nelems = 1;
  s->freeindex = 1;
  s->elemsize = (uint32_t)(size > UINT32_MAX ? UINT32_MAX : size);
  s->large_bits[0] = 1;
  s->large_bits[1] = 0;
  s->allocbits = &s->large_bits[0];
  s->markbits = &s->large_bits[1];
  if (type) {
    s->types = preempt_pool_alloc(sizeof(uint16_t));
    if (s->types)
      s->types[0] = (uint16_t)type;
  }
  memset((void *)s->base, 0, size < s->dirty ? size : s->dirty);
  atomic_fetch_add(&preempt_heap_live, npages * PREEMPT_PAGE_SIZE);
  return (void *)s->base;
}

__attribute__((noinline, cold)) static void *
alloc_slow(size_t size, size_t pad, bool noscan, int type, uintptr_t ip) {
  struct preempt_thread *t = preempt_thread_current();
  if (atomic_load(&preempt__stop_requested))
    preempt_park(ip);
  if (size > ((size_t)1 << 40))
    return oom(size);
  size_t asked = size;
  size += pad; /* see alloc */
  if (size == 0)
    size = 1;
  preempt_lock_heap(ip);
  if (atomic_load(&preempt_heap_live) >= preempt_next_gc &&
      preempt_opts.gc_percent >= 0)
    preempt_collect_locked(ip);
  void *p = NULL;
  for (int attempt = 0; attempt < 2 && !p; attempt++) {
    if (size > PREEMPT_MAX_SMALL) {
      p = alloc_large(size, noscan, type);
    } else {
      unsigned c = size_class(size);
      if (refill(t, c, noscan)) {
        struct preempt_span *s = t->cache.span[c][noscan];
        if (type && !s->types)
          s->types = preempt_pool_alloc(s->nelems * sizeof(uint16_t));
        p = take_slot(s, &t->cache.bits[c][noscan], type, NULL);
      }
    }
    if (!p && attempt == 0)
      preempt_collect_locked(ip); /* out of address space: collect, retry */
  }
  preempt_unlock_heap();
  return p ? p : oom(asked);
}

/* The fast path: inlined into each entry point, no call but the cold one.
 * Objects get pad (1) byte more than asked for: C allows a pointer one
 * past the end of an array (buf + n), and that pointer may be the only one
 * left (a loop's end bound, f(buf + n)); without the pad it would point at
 * the next object and let this one be freed.  Single objects of
 * preempt_new(T) are not padded: one past a struct is hardly ever its only
 * reference, and small structs of exactly a class size (two pointers: 16
 * bytes) are the most common objects of all. */
__attribute__((always_inline)) static inline void *
alloc(size_t size, size_t pad, bool noscan, int type, uintptr_t ip) {
  struct preempt_thread *t = preempt_self;
  size_t n = size + pad;
  if (likely(t && n - 1 < PREEMPT_MAX_SMALL)) {
    unsigned c = size_class(n);
    uint64_t *bits = &t->cache.bits[c][noscan];
    /* A collection flushes the cache: no stop in the middle of a take. */
    preempt_nopreempt_enter(t);
    if (likely(*bits))
      return take_slot(t->cache.span[c][noscan], bits, type, t);
    /* A stop deferred meanwhile waits for the slow path's heap lock. */
    (void)PREEMPT_ARCH_SIGSAFE_DEC_NONZERO(&t->no_preempt);
  }
  return alloc_slow(size, pad, noscan, type, ip);
}

#define CALLER ((uintptr_t)__builtin_return_address(0))

__attribute__((noinline)) void *preempt_alloc(size_t size) {
  return alloc(size, 1, false, 0, CALLER);
}

__attribute__((noinline)) void *preempt_alloc_noscan(size_t size) {
  return alloc(size, 1, true, 0, CALLER);
}

__attribute__((noinline)) void *preempt_alloc_typed(size_t size,
                                                    const char *type_name) {
  return alloc(size, 1, false, preempt_type_id(type_name), CALLER);
}

__attribute__((noinline, cold)) static void *
alloc_first_of_type(size_t size, const char *name, int *slot,
                    const void *layout, uintptr_t ip) {
  int id = preempt_type_id(name);
  preempt_type_set_layout(id, layout);
  if (name)
    __atomic_store_n(slot, id, __ATOMIC_RELAXED);
  return alloc(size, preempt_type_pad[id], layout && preempt_type_noscan[id],
               id, ip);
}

/* Behind preempt_new: no type lookup once the call site knows its id, and
 * only tail calls, so the fast path saves no register. */
__attribute__((noinline)) void *preempt__alloc_slot(size_t size,
                                                    const char *name,
                                                    int *slot) {
  int id = __atomic_load_n(slot, __ATOMIC_RELAXED);
  if (unlikely(!id))
    return alloc_first_of_type(size, name, slot, NULL, CALLER);
  return alloc(size, preempt_type_pad[id], false, id, CALLER);
}

/* preempt_new(T) built with the plugin: layout describes T
 * (layout_format.h).  A type without pointers is never scanned. */
__attribute__((noinline)) void *preempt__alloc_layout(size_t size,
                                                      const char *name,
                                                      int *slot,
                                                      const void *layout) {
  int id = __atomic_load_n(slot, __ATOMIC_RELAXED);
  if (unlikely(!id))
    return alloc_first_of_type(size, name, slot, layout, CALLER);
  return alloc(size, preempt_type_pad[id], preempt_type_noscan[id], id, CALLER);
}

enum preempt_oom_policy preempt_set_oom_policy(enum preempt_oom_policy p) {
  enum preempt_oom_policy old =
      preempt_opts.oom_null ? PREEMPT_OOM_NULL : PREEMPT_OOM_ABORT;
  preempt_opts.oom_null = p == PREEMPT_OOM_NULL;
  return old;
}


void preempt_malloc_init(void) { classes_init(); }
