/* Sweeping, with the world stopped.  A small span's new allocation bits are
 * its mark bits: no free list to build, so sweeping costs a few word
 * operations per span rather than per object (unless freed objects are
 * poisoned).  Empty spans and dead large objects go back to the page heap. */
#include "heap.h"
#include "malloc.h"
#include "options.h"
#include "sweep.h"

#include <string.h>

static size_t count_allocated(const struct preempt_span *s) {
  size_t n = s->freeindex;
  for (uint32_t i = s->freeindex; i < s->nelems;) {
    if (i % 64 == 0 && s->nelems - i >= 64) {
      n += (size_t)__builtin_popcountll(s->allocbits[i / 64]);
      i += 64;
    } else {
      n += bit_get(s->allocbits, i);
      i++;
    }
  }
  return n;
}

static void poison_freed(const struct preempt_span *s) {
  for (uint32_t i = 0; i < s->nelems; i++)
    if (span_slot_allocated(s, i) && !bit_get(s->markbits, i))
      memset((void *)(s->base + (uintptr_t)i * s->elemsize),
             PREEMPT_POISON_BYTE, s->elemsize);
}

static void sweep_span(struct preempt_span *s, void *arg) {
  struct sweep_result *r = arg;
  if (s->state == SPAN_LARGE) {
    size_t bytes = s->npages * PREEMPT_PAGE_SIZE;
    if (s->large_bits[1]) {
      s->large_bits[1] = 0;
      r->live_bytes += bytes;
      r->live_objects++;
      return;
    }
    r->freed_bytes += bytes;
    r->freed_objects++;
    if (preempt_opts.poison)
      memset((void *)s->base, PREEMPT_POISON_BYTE, bytes);
    preempt_span_free(s);
    return;
  }
  size_t words = (s->nelems + 63) / 64, live = 0;
  for (size_t w = 0; w < words; w++)
    live += (size_t)__builtin_popcountll(s->markbits[w]);
  size_t allocated = count_allocated(s);
  r->live_objects += live;
  r->live_bytes += live * s->elemsize;
  r->freed_objects += allocated - live;
  r->freed_bytes += (allocated - live) * s->elemsize;
  if (preempt_opts.poison && allocated != live)
    poison_freed(s);
  /* An empty span stays with its size class for one cycle: the next one
   * usually allocates the same sizes again.  Empty twice, it goes back to
   * the page heap. */
  if (live == 0 && s->empty_sweeps++ > 0) {
    preempt_span_free(s);
    return;
  }
  if (live)
    s->empty_sweeps = 0;
  uint64_t *t = s->allocbits;
  s->allocbits = s->markbits;
  s->markbits = t;
  memset(s->markbits, 0, words * sizeof(uint64_t));
  s->freeindex = 0;
  s->nfree = s->nelems - (uint32_t)live;
  s->in_cache = false;
  if (s->nfree)
    preempt_central_add(s);
}

void preempt_sweep(struct sweep_result *r) {
  memset(r, 0, sizeof *r);
  preempt_central_reset();
  preempt_heap_each_span(sweep_span, r);
}
