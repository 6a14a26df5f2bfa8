/* Marking.  A value is a heap pointer if it falls inside an allocated slot
 * of a span in use, interior pointers included; the slot's mark bit is set
 * and, unless the object is pointer-free, its words are queued for
 * scanning.  Objects are scanned conservatively (every aligned word). */
#include "internal.h"

static struct preempt_vec stack; /* objects to scan */

void preempt_mark_init(void) {}

/* Returns the object containing v, or 0. */
static inline uintptr_t object_of(uintptr_t v, struct preempt_span **sp,
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

void preempt_mark_value(uintptr_t v) {
  struct preempt_span *s;
  uint32_t i;
  uintptr_t obj = object_of(v, &s, &i);
  if (!obj || bit_get(s->markbits, i))
    return;
  bit_set(s->markbits, i);
  if (!s->noscan && !preempt_vec_push(&stack, obj))
    preempt_fatal("out of memory for the mark stack");
}

uintptr_t preempt_object_base(uintptr_t v) {
  struct preempt_span *s;
  uint32_t i;
  return object_of(v, &s, &i);
}

bool preempt_is_marked(uintptr_t v) {
  struct preempt_span *s;
  uint32_t i;
  uintptr_t obj = object_of(v, &s, &i);
  return obj && bit_get(s->markbits, i);
}

static size_t object_size(const struct preempt_span *s) {
  return s->state == SPAN_LARGE ? s->npages * PREEMPT_PAGE_SIZE : s->elemsize;
}

PREEMPT_NO_ASAN static void scan_object(uintptr_t obj) {
  struct preempt_span *s = preempt_span_of(obj);
  const uintptr_t *p = (const uintptr_t *)obj;
  const uintptr_t *end = (const uintptr_t *)(obj + object_size(s));
  uintptr_t lo = preempt_heap.lo, span = preempt_heap.hi - lo;
  for (; p < end; p++)
    if (*p - lo < span)
      preempt_mark_value(*p);
}

void preempt_mark_object_contents(uintptr_t v) {
  struct preempt_span *s;
  uint32_t i;
  uintptr_t obj = object_of(v, &s, &i);
  if (obj && !s->noscan)
    scan_object(obj);
}

PREEMPT_NO_ASAN void preempt_mark_range(const void *lo, const void *hi) {
  uintptr_t a = ALIGN_UP((uintptr_t)lo, sizeof(uintptr_t));
  for (; a + sizeof(uintptr_t) <= (uintptr_t)hi; a += sizeof(uintptr_t)) {
    uintptr_t v = *(const uintptr_t *)a;
    if (preempt_in_heap(v))
      preempt_mark_value(v);
  }
}

void preempt_mark_drain(void) {
  while (stack.len)
    scan_object(stack.data[--stack.len]);
}
