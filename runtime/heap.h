/* The heap (heap.c): the arena, its pages and spans, and the span facts
 * the allocator, marker and sweeper share. */
#ifndef PREEMPT_HEAP_H
#define PREEMPT_HEAP_H

#include "common.h"

#define PREEMPT_PAGE_SHIFT 13
#define PREEMPT_PAGE_SIZE ((size_t)1 << PREEMPT_PAGE_SHIFT)

enum span_state { SPAN_FREE = 0, SPAN_SMALL, SPAN_LARGE };

struct preempt_span {
  uintptr_t base;
  size_t npages;
  uint8_t state;     /* enum span_state */
  uint8_t sizeclass; /* SPAN_SMALL */
  bool noscan;       /* objects hold no pointers */
  bool in_cache;     /* owned by a thread cache */
  uint8_t empty_sweeps; /* consecutive sweeps that found it empty */
  uint32_t elemsize;
  uint32_t nelems;
  uint32_t freeindex; /* slots below are allocated; above: see allocbits */
  uint32_t nfree;     /* free slots as of the last sweep/refill */
  uint32_t divmul;    /* (off * divmul) >> 32 == off / elemsize */
  uint64_t *allocbits;
  uint64_t *markbits;
  uint16_t *types; /* per slot type id, or NULL */
  uint64_t large_bits[2]; /* SPAN_LARGE: alloc and mark bit of its object */
  struct preempt_span *next, *prev; /* central or free lists */
  bool scavenged;                   /* free pages returned to the OS */
  size_t dirty; /* from span_alloc: leading bytes that may be non-zero */
  uint64_t free_since;              /* SPAN_FREE: collection it was freed in */
};

struct preempt_heap_info {
  uintptr_t lo, hi;             /* committed arena range; objects lie inside */
  uintptr_t page_base;          /* address of page 0 of the page table */
  struct preempt_span **pages;  /* span of each page */
};
extern struct preempt_heap_info preempt_heap PREEMPT_HIDDEN;

void preempt_heap_init(void) PREEMPT_HIDDEN;
/* Both under the heap lock.  Freeing a span frees its side tables
 * (bitmaps, types) and returns its pages to the page heap. */
struct preempt_span *preempt_span_alloc(size_t npages) PREEMPT_HIDDEN;
void preempt_span_free(struct preempt_span *s) PREEMPT_HIDDEN;
/* After collection number gc: returns free pages unused for a whole cycle
 * to the OS, keeping retain_bytes of free memory resident. */
void preempt_heap_scavenge(size_t retain_bytes, uint64_t gc) PREEMPT_HIDDEN;
size_t preempt_heap_mapped(void) PREEMPT_HIDDEN;
size_t preempt_heap_reserved(void) PREEMPT_HIDDEN; /* address space */
/* Iterate spans in use (world stopped). */
void preempt_heap_each_span(void (*fn)(struct preempt_span *, void *),
                            void *arg) PREEMPT_HIDDEN;

static inline bool preempt_in_heap(uintptr_t a) {
  return a - preempt_heap.lo < preempt_heap.hi - preempt_heap.lo;
}
static inline struct preempt_span *preempt_span_of(uintptr_t a) {
  if (!preempt_in_heap(a))
    return NULL;
  return preempt_heap.pages[(a - preempt_heap.page_base) >> PREEMPT_PAGE_SHIFT];
}
static inline bool bit_get(const uint64_t *b, uint32_t i) {
  return (b[i >> 6] >> (i & 63)) & 1;
}
static inline void bit_set(uint64_t *b, uint32_t i) {
  b[i >> 6] |= (uint64_t)1 << (i & 63);
}
static inline void bit_clear(uint64_t *b, uint32_t i) {
  b[i >> 6] &= ~((uint64_t)1 << (i & 63));
}
static inline uint32_t span_index(const struct preempt_span *s, uintptr_t a) {
  return (uint32_t)(((uint64_t)(a - s->base) * s->divmul) >> 32);
}
/* The bytes of one object of s: a slot, or a large object's pages. */
static inline uintptr_t span_slot_bytes(const struct preempt_span *s) {
  return s->state == SPAN_LARGE ? s->npages * PREEMPT_PAGE_SIZE : s->elemsize;
}
static inline bool span_slot_allocated(const struct preempt_span *s,
                                       uint32_t i) {
  return i < s->freeindex || bit_get(s->allocbits, i);
}
static inline size_t span_bitmap_words(uint32_t nelems) {
  return (nelems + 63) / 64;
}

/* The allocated object containing v (interior pointers too), its span
 * and slot; 0 if none. */
static inline uintptr_t preempt_object_of(uintptr_t v, struct preempt_span **sp,
                                          uint32_t *idx) {
  struct preempt_span *s = preempt_span_of(v);
  if (!s)
    return 0;
  if (s->state == SPAN_SMALL) {
    uint32_t i = span_index(s, v);
    if (i >= s->nelems || !span_slot_allocated(s, i))
      return 0;
    *sp = s;
    *idx = i;
    return s->base + (uintptr_t)i * s->elemsize;
  }
  if (s->state == SPAN_LARGE) {
    *sp = s;
    *idx = 0;
    return s->base;
  }
  return 0;
}

#endif
