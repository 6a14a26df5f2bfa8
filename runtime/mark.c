/* Marking.  A value is a heap pointer if it falls inside an allocated slot
 * of a span in use, interior pointers included; the slot's mark bit is set
 * and, unless the object is pointer-free, it is queued for scanning.
 * Objects are scanned conservatively (every aligned word).  This loop is
 * most of a collection's time: the queue holds (object, size) so that
 * scanning needs no span lookup, and queued objects are prefetched. */
#include "heap.h"
#include "layout.h"
#include "layout_format.h"
#include "mark.h"
#include "sysmem.h"

static struct {
  uintptr_t *data;
  size_t len, cap;
} stack;

static __attribute__((noinline)) void stack_grow(void) {
  preempt_array_grow((void **)&stack.data, &stack.cap, stack.len,
                     sizeof *stack.data, 65536, "the mark stack");
}

static inline void push(uintptr_t obj, uintptr_t size) {
  if (unlikely(stack.len + 2 > stack.cap))
    stack_grow();
  stack.data[stack.len] = obj;
  stack.data[stack.len + 1] = size;
  stack.len += 2;
}

/* An object of a type with a layout is queued as (obj | 1, layout): its
 * scan reads only the words that may hold pointers. */
static inline void queue(const struct preempt_span *s, uintptr_t obj,
                         uint32_t i, uintptr_t size) {
  const struct preempt_layout *l =
      s->types ? preempt_type_layouts[s->types[i]] : NULL;
  if (l)
    push(obj | 1, (uintptr_t)l);
  else
    push(obj, size);
}

/* v is inside the arena. */
__attribute__((always_inline)) static inline void mark(uintptr_t v) {
  struct preempt_span *s =
      preempt_heap.pages[(v - preempt_heap.page_base) >> PREEMPT_PAGE_SHIFT];
  if (!s)
    return;
  if (likely(s->state == SPAN_SMALL)) {
    uint32_t i = span_index(s, v);
    uint64_t bit = (uint64_t)1 << (i & 63);
    uint64_t *word = &s->markbits[i >> 6];
    if (*word & bit)
      return; /* already marked: the common case */
    if (i >= s->nelems || (i >= s->freeindex && !(s->allocbits[i >> 6] & bit)))
      return;
    *word |= bit;
    if (!s->noscan)
      queue(s, s->base + (uintptr_t)i * s->elemsize, i, s->elemsize);
  } else if (s->state == SPAN_LARGE && !s->large_bits[1]) {
    s->large_bits[1] = 1;
    if (!s->noscan)
      queue(s, s->base, 0, s->npages * PREEMPT_PAGE_SIZE);
  }
}

static void mark_value(struct preempt_visitor *v, uintptr_t word) {
  (void)v;
  if (preempt_in_heap(word))
    mark(word);
}

uintptr_t preempt_object_base(uintptr_t v) {
  struct preempt_span *s;
  uint32_t i;
  return preempt_object_of(v, &s, &i);
}

static bool is_marked(struct preempt_visitor *vis, uintptr_t v) {
  (void)vis;
  struct preempt_span *s;
  uint32_t i;
  uintptr_t obj = preempt_object_of(v, &s, &i);
  return obj && bit_get(s->markbits, i);
}

PREEMPT_NO_ASAN static void scan(uintptr_t obj, uintptr_t size) {
  const uintptr_t *p = (const uintptr_t *)obj;
  const uintptr_t *end = (const uintptr_t *)(obj + size);
  uintptr_t lo = preempt_heap.lo, span = preempt_heap.hi - lo;
  for (; p < end; p++)
    if (*p - lo < span)
      mark(*p);
}

/* Pointers from the object into itself are skipped: an object that refers
 * to itself must still be found unreachable (finalizers). */
PREEMPT_NO_ASAN static void mark_contents(struct preempt_visitor *vis,
                                          uintptr_t v) {
  (void)vis;
  struct preempt_span *s;
  uint32_t i;
  uintptr_t obj = preempt_object_of(v, &s, &i);
  if (!obj || s->noscan)
    return;
  uintptr_t size =
      s->state == SPAN_LARGE ? s->npages * PREEMPT_PAGE_SIZE : s->elemsize;
  uintptr_t lo = preempt_heap.lo, span = preempt_heap.hi - lo;
  for (const uintptr_t *p = (const uintptr_t *)obj,
                       *end = (const uintptr_t *)(obj + size);
       p < end; p++)
    if (*p - lo < span && *p - obj >= size)
      mark(*p);
}

/* An array (preempt_new_array) repeats its element's layout up to the end
 * of its slot. */
PREEMPT_NO_ASAN static void scan_typed(uintptr_t obj,
                                       const struct preempt_layout *l) {
  uintptr_t end = obj + l->size;
  if (l->flags & PREEMPT_LAYOUT_ARRAY) {
    const struct preempt_span *s = preempt_span_of(obj);
    end = obj + (s->state == SPAN_LARGE ? s->npages * PREEMPT_PAGE_SIZE
                                        : s->elemsize);
  }
  uintptr_t lo = preempt_heap.lo, span = preempt_heap.hi - lo;
  for (uintptr_t base = obj; base + l->size <= end; base += l->size)
    for (uint32_t k = 0; k < l->nptrs; k++) {
      uintptr_t v = *(const uintptr_t *)(base + l->offsets[k]);
      if (v - lo < span)
        mark(v);
    }
}

static void mark_range(struct preempt_visitor *v, const void *lo,
                       const void *hi) {
  (void)v;
  uintptr_t a = ALIGN_UP((uintptr_t)lo, sizeof(uintptr_t));
  uintptr_t b = (uintptr_t)hi & ~(uintptr_t)(sizeof(uintptr_t) - 1);
  if (b > a)
    scan(a, b - a);
}

struct preempt_visitor preempt_marker = {
    .value = mark_value,
    .range = mark_range,
    .contents = mark_contents,
    .reached = is_marked,
};

/* Scanning a tree depth-first touches each object right after pushing it,
 * before a prefetch can have fetched it.  Objects pass through a small ring
 * first: an object is prefetched as it enters and scanned PREFETCH_DEPTH
 * objects later, by when its cache line has usually arrived. */
#define PREFETCH_DEPTH 16

void preempt_mark_drain(void) {
  uintptr_t ring_obj[PREFETCH_DEPTH], ring_size[PREFETCH_DEPTH];
  unsigned head = 0, count = 0;
  for (;;) {
    while (count < PREFETCH_DEPTH && stack.len) {
      stack.len -= 2;
      uintptr_t obj = stack.data[stack.len];
      __builtin_prefetch((const void *)(obj & ~(uintptr_t)1));
      unsigned slot = (head + count) % PREFETCH_DEPTH;
      ring_obj[slot] = obj;
      ring_size[slot] = stack.data[stack.len + 1];
      count++;
    }
    if (!count)
      return;
    uintptr_t obj = ring_obj[head], size = ring_size[head];
    head = (head + 1) % PREFETCH_DEPTH;
    count--;
    if (obj & 1)
      scan_typed(obj - 1, (const struct preempt_layout *)size);
    else
      scan(obj, size);
  }
}
