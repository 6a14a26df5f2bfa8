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

static struct preempt_mark_raw *raw; /* a snapshot's record, if one */
_Static_assert(PREEMPT_MAX_TYPES <= 0x10000, "a type id fits 16 bits");

void preempt_mark_record(struct preempt_mark_raw *r) { raw = r; }

/* An object of a type with a layout is queued as (obj | 1, layout): its
 * scan reads only the words that may hold pointers.  While a snapshot
 * records, every object is queued as (obj, size << 16 | type), which the
 * record needs and would otherwise look up again. */
static inline void queue(const struct preempt_span *s, uintptr_t obj,
                         uint32_t i, uintptr_t size) {
  unsigned type = s->types ? s->types[i] : 0;
  const struct preempt_layout *l = preempt_type_layouts[type];
  if (unlikely(raw))
    push(obj, size << 16 | type);
  else if (l)
    push(obj | 1, (uintptr_t)l);
  else
    push(obj, size);
}


struct preempt_raw_chunk *preempt_raw_chunk_new(size_t words, bool prefault) {
  size_t bytes = ALIGN_UP(sizeof(struct preempt_raw_chunk) +
                              words * sizeof(uintptr_t),
                          PREEMPT_PAGE_SIZE);
  struct preempt_raw_chunk *c = preempt_sys_alloc(bytes);
  if (!c)
    return NULL;
  for (size_t off = 4096; prefault && off < bytes; off += 4096)
    ((volatile char *)c)[off] = 0;
  c->next = NULL;
  c->len = 0;
  c->bytes = bytes;
  c->cap = (bytes - sizeof *c) / sizeof(uintptr_t);
  return c;
}

/* Room for n more words in the record, or NULL (and the record failed). */
static __attribute__((noinline)) uintptr_t *raw_grow(size_t n) {
  if (raw->failed)
    return NULL;
  struct preempt_raw_chunk *c =
      preempt_raw_chunk_new(n > (8u << 20) ? n : (8u << 20), false);
  if (!c) {
    raw->failed = true;
    return NULL;
  }
  if (raw->last)
    raw->last->next = c;
  else
    raw->first = c;
  raw->last = c;
  return c->w;
}

/* n words of the record, taken at once: marking while they are filled
 * may record other (pointer-free) objects after them. */
static inline uintptr_t *raw_take(size_t n) {
  struct preempt_raw_chunk *c = raw->last;
  uintptr_t *w;
  if (likely(c && c->cap - c->len >= n))
    w = c->w + c->len;
  else if (!(w = raw_grow(n)))
    return NULL;
  raw->last->len += n;
  return w;
}

/* Past the cache: the record is read only after the mark. */
static inline uintptr_t *raw_put(uintptr_t *w, uintptr_t v) {
  __builtin_nontemporal_store(v, w);
  return w + 1;
}

/* A pointer-free object is never scanned: recorded when marked. */
static __attribute__((noinline)) void record_leaf(struct preempt_span *s,
                                                  uint32_t i, uintptr_t obj) {
  uintptr_t *w = raw_take(2);
  if (!w)
    return;
  uintptr_t size = span_slot_bytes(s);
  w = raw_put(w, obj | PREEMPT_RAW_LEAF);
  raw_put(w, size << 16 | (s->types ? s->types[i] : 0));
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
    else if (unlikely(raw))
      record_leaf(s, i, s->base + (uintptr_t)i * s->elemsize);
  } else if (s->state == SPAN_LARGE && !s->large_bits[1]) {
    s->large_bits[1] = 1;
    if (!s->noscan)
      queue(s, s->base, 0, s->npages * PREEMPT_PAGE_SIZE);
    else if (unlikely(raw))
      record_leaf(s, 0, s->base);
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
  uintptr_t size = span_slot_bytes(s);
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
    end = obj + span_slot_bytes(s);
  }
  uintptr_t lo = preempt_heap.lo, span = preempt_heap.hi - lo;
  for (uintptr_t base = obj; base + l->size <= end; base += l->size)
    for (uint32_t k = 0; k < l->nptrs; k++) {
      uintptr_t v = *(const uintptr_t *)(base + l->offsets[k]);
      if (v - lo < span)
        mark(v);
    }
}

/* scan or scan_typed, copying the words read to the record; sizetype is
 * what queue() pushed. */
PREEMPT_NO_ASAN static void scan_recording(uintptr_t obj, uintptr_t sizetype) {
  uintptr_t size = sizetype >> 16;
  const struct preempt_layout *l = preempt_type_layouts[sizetype & 0xffff];
  size_t reps = !l ? 0 : l->flags & PREEMPT_LAYOUT_ARRAY ? size / l->size : 1;
  size_t n = l ? reps * l->nptrs : size / sizeof(uintptr_t);
  uintptr_t *w = raw_take(2 + (l != NULL) + n);
  if (!w) { /* the snapshot fails; the mark goes on */
    if (l)
      scan_typed(obj, l);
    else
      scan(obj, size);
    return;
  }
  w = raw_put(w, obj | (l ? PREEMPT_RAW_TYPED : 0));
  w = raw_put(w, sizetype);
  uintptr_t lo = preempt_heap.lo, span = preempt_heap.hi - lo;
  if (!l) {
    for (const uintptr_t *p = (const uintptr_t *)obj, *end = p + n; p < end;
         p++) {
      w = raw_put(w, *p);
      if (*p - lo < span)
        mark(*p);
    }
  } else {
    w = raw_put(w, (uintptr_t)l);
    for (uintptr_t base = obj; base < obj + reps * l->size; base += l->size)
      for (uint32_t k = 0; k < l->nptrs; k++) {
        uintptr_t v = *(const uintptr_t *)(base + l->offsets[k]);
        w = raw_put(w, v);
        if (v - lo < span)
          mark(v);
      }
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
    if (unlikely(raw))
      scan_recording(obj, size);
    else if (obj & 1)
      scan_typed(obj - 1, (const struct preempt_layout *)size);
    else
      scan(obj, size);
  }
}
