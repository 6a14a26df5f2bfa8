/* The page heap: one reserved arena of 8 KiB pages, handed out as spans.
 *
 * The arena is reserved once (PROT_NONE) and committed as it grows, so
 * "is this word a heap pointer?" is one range check, and the page table
 * (one span pointer per page) answers "which object?" for interior
 * pointers.  Free spans are coalesced with their neighbours; free pages are
 * given back to the OS (madvise) after collections when the heap shrinks.
 * Span descriptors live outside the arena.  Everything here runs under the
 * heap lock. */
#include "events.h"
#include "heap.h"
#include "options.h"
#include "sysmem.h"

#include <string.h>
#include <sys/mman.h>

struct preempt_heap_info preempt_heap __attribute__((section("preempt_rt")));

#define FREE_BUCKETS 128 /* lists for 1..127 pages; the last holds larger */
#define COMMIT_CHUNK ((size_t)4 << 20)
#define HUGE_PAGE ((size_t)2 << 20)
/* Address space reserved whatever the limit, so that the limit can be
 * raised (or lowered) at any time: it bounds committed memory only. */
#define DEFAULT_RESERVE ((size_t)64 << 30)

static struct {
  uintptr_t reserve_lo, reserve_hi;
  struct preempt_span **pages; /* page table over the reserved range */
  struct preempt_span *free[FREE_BUCKETS];
  struct preempt_span *spare; /* unused descriptors */
  size_t committed, scavenged_bytes, free_bytes, inuse_bytes;
  uintptr_t touched_hi; /* pages at and above it were never handed out */
} H __attribute__((section("preempt_rt"))); /* holds heap addresses */

size_t preempt_heap_mapped(void) {
  return H.committed - H.scavenged_bytes;
}

size_t preempt_heap_reserved(void) {
  return H.reserve_hi - H.reserve_lo;
}

void preempt_heap_init(void) {
  size_t limit = ALIGN_UP(preempt_opts.heap_limit, COMMIT_CHUNK);
  size_t want = limit > DEFAULT_RESERVE ? limit : DEFAULT_RESERVE;
  /* Address space may be limited (ulimit -v, valgrind): settle for less,
   * down to one commit chunk. */
  void *p = MAP_FAILED, *pt = MAP_FAILED;
  size_t size = want, ptsize = 0;
  for (; size >= COMMIT_CHUNK; size /= 2) {
    p = mmap(NULL, size + HUGE_PAGE, PROT_NONE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
      continue;
    ptsize = (size >> PREEMPT_PAGE_SHIFT) * sizeof(void *);
    pt = mmap(NULL, ptsize, PROT_READ | PROT_WRITE,
              MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (pt != MAP_FAILED)
      break;
    munmap(p, size + HUGE_PAGE);
    p = MAP_FAILED;
  }
  if (p == MAP_FAILED)
    preempt_fatal("cannot reserve address space for the heap (not even "
                  "%zu MiB; is the address space limited by ulimit -v?)",
                  COMMIT_CHUNK >> 20);
  if (size < limit && (preempt_opts.verbose || limit != DEFAULT_RESERVE))
    preempt_warn("reserved %zu MiB of address space for the heap instead of "
                 "%zu MiB: the heap cannot grow beyond it",
                 size >> 20, want >> 20);
  /* Aligned for transparent huge pages: marking touches objects all over
   * the heap, and 4 KiB pages make that a TLB miss per object. */
  H.reserve_lo = ALIGN_UP((uintptr_t)p, HUGE_PAGE);
  H.reserve_hi = H.reserve_lo + size;
  madvise((void *)H.reserve_lo, size, MADV_HUGEPAGE);
  H.pages = preempt_heap.pages = pt;
  preempt_heap.page_base = H.reserve_lo;
  /* The first page is never used: stale copies of the arena's base address
   * (the mmap result on some stack) must not pin an object. */
  preempt_heap.lo = preempt_heap.hi = H.reserve_lo + PREEMPT_PAGE_SIZE;
  H.touched_hi = preempt_heap.lo;
}

static struct preempt_span *desc_new(void) {
  if (!H.spare) {
    size_t n = 4096;
    struct preempt_span *a = preempt_sys_alloc(n * sizeof *a);
    if (!a)
      return NULL;
    for (size_t i = 0; i < n; i++) {
      a[i].next = H.spare;
      H.spare = &a[i];
    }
  }
  struct preempt_span *s = H.spare;
  H.spare = s->next;
  memset(s, 0, sizeof *s);
  return s;
}

static void desc_free(struct preempt_span *s) {
  s->next = H.spare;
  H.spare = s;
}

static inline size_t page_of(uintptr_t a) {
  return (a - H.reserve_lo) >> PREEMPT_PAGE_SHIFT;
}

static void set_pages(struct preempt_span *s, struct preempt_span *v) {
  size_t first = page_of(s->base);
  for (size_t i = 0; i < s->npages; i++)
    H.pages[first + i] = v;
}

static size_t bucket(size_t npages) {
  return npages < FREE_BUCKETS ? npages : FREE_BUCKETS - 1;
}

static void list_remove(struct preempt_span **head, struct preempt_span *s) {
  if (s->prev)
    s->prev->next = s->next;
  else
    *head = s->next;
  if (s->next)
    s->next->prev = s->prev;
  s->next = s->prev = NULL;
}

static void list_push(struct preempt_span **head, struct preempt_span *s) {
  s->prev = NULL;
  s->next = *head;
  if (*head)
    (*head)->prev = s;
  *head = s;
}

static uint64_t gc_epoch; /* collections so far, for free_since */

/* since: the collection the span (or its oldest part) became free in. */
static void free_insert_since(struct preempt_span *s, uint64_t since) {
  s->state = SPAN_FREE;
  s->free_since = since;
  set_pages(s, s);
  list_push(&H.free[bucket(s->npages)], s);
  H.free_bytes += s->npages * PREEMPT_PAGE_SIZE;
  if (s->scavenged)
    H.scavenged_bytes += s->npages * PREEMPT_PAGE_SIZE;
}

static void free_insert(struct preempt_span *s) {
  free_insert_since(s, gc_epoch);
}

static void free_remove(struct preempt_span *s) {
  list_remove(&H.free[bucket(s->npages)], s);
  H.free_bytes -= s->npages * PREEMPT_PAGE_SIZE;
  if (s->scavenged)
    H.scavenged_bytes -= s->npages * PREEMPT_PAGE_SIZE;
}

/* Commits at least npages more, within the reservation and the limit. */
static bool grow(size_t npages) {
  size_t room = H.reserve_hi - preempt_heap.hi;
  size_t limit = preempt_opts.heap_limit;
  if (H.committed + room > limit)
    room = limit > H.committed ? limit - H.committed : 0;
  size_t bytes = ALIGN_UP(npages * PREEMPT_PAGE_SIZE, COMMIT_CHUNK);
  if (bytes > room)
    bytes = npages * PREEMPT_PAGE_SIZE;
  if (bytes > room)
    return false;
  if (mprotect((void *)preempt_heap.hi, bytes, PROT_READ | PROT_WRITE))
    return false;
  struct preempt_span *s = desc_new();
  if (!s)
    return false;
  s->base = preempt_heap.hi;
  s->npages = bytes >> PREEMPT_PAGE_SHIFT;
  preempt_heap.hi += bytes;
  H.committed += bytes;
  /* New memory joins the page heap like freed memory, merging with a free
   * span that ends at the old frontier. */
  H.inuse_bytes += bytes;
  preempt_span_free(s);
  preempt_event(PREEMPT_EVENT_HEAP_RESIZE, preempt_heap_mapped());
  return true;
}

struct preempt_span *preempt_span_alloc(size_t npages) {
  for (int attempt = 0; attempt < 2; attempt++) {
    struct preempt_span *best = NULL;
    for (size_t b = bucket(npages); b < FREE_BUCKETS && !best; b++)
      for (struct preempt_span *s = H.free[b]; s; s = s->next)
        if (s->npages >= npages && (!best || s->npages < best->npages ||
                                    (s->npages == best->npages &&
                                     s->base < best->base))) {
          best = s;
          if (b < FREE_BUCKETS - 1)
            break; /* exact-size bucket: any will do */
        }
    if (best) {
      free_remove(best);
      if (best->npages > npages) {
        struct preempt_span *rest = desc_new();
        if (!rest) {
          free_insert(best);
          return NULL;
        }
        rest->base = best->base + npages * PREEMPT_PAGE_SIZE;
        rest->npages = best->npages - npages;
        rest->scavenged = best->scavenged;
        best->npages = npages;
        free_insert(rest);
      }
      bool scavenged = best->scavenged;
      struct preempt_span *s = best;
      uintptr_t base = s->base, end = base + npages * PREEMPT_PAGE_SIZE;
      memset(s, 0, sizeof *s);
      s->base = base;
      s->npages = npages;
      s->scavenged = scavenged; /* pages are zero if they were scavenged */
      /* Pages never handed out are still zero from the OS: a large object
       * need not touch them (untouched, they cost no memory). */
      if (!scavenged && base < H.touched_hi)
        s->dirty = (H.touched_hi < end ? H.touched_hi : end) - base;
      if (end > H.touched_hi)
        H.touched_hi = end;
      H.inuse_bytes += npages * PREEMPT_PAGE_SIZE;
      return s;
    }
    if (!grow(npages))
      return NULL;
  }
  return NULL;
}

void preempt_span_free(struct preempt_span *s) {
  if (s->state == SPAN_SMALL && s->allocbits) /* one block; sweeping swaps its halves */
    preempt_pool_free(s->allocbits < s->markbits ? s->allocbits : s->markbits,
                      2 * span_bitmap_words(s->nelems) * sizeof(uint64_t));
  if (s->types)
    preempt_pool_free(s->types, s->nelems * sizeof(uint16_t));
  s->allocbits = s->markbits = NULL;
  s->types = NULL;
  H.inuse_bytes -= s->npages * PREEMPT_PAGE_SIZE;
  s->scavenged = false;
  uint64_t since = gc_epoch;
  size_t first = page_of(s->base);
  struct preempt_span *left = s->base > preempt_heap.lo ? H.pages[first - 1] : NULL;
  struct preempt_span *right = s->base + s->npages * PREEMPT_PAGE_SIZE <
                                       preempt_heap.hi
                                   ? H.pages[first + s->npages]
                                   : NULL;
  /* A merged span takes the age of its larger part: a long-unused span
   * still goes back to the OS after a small neighbour is freed, and a
   * large span just freed is not scavenged because of an old sliver. */
  if (left && left->state == SPAN_FREE && !left->scavenged) {
    free_remove(left);
    if (left->npages > s->npages)
      since = left->free_since;
    left->npages += s->npages;
    desc_free(s);
    s = left;
  }
  if (right && right->state == SPAN_FREE && !right->scavenged) {
    free_remove(right);
    if (right->npages > s->npages)
      since = right->free_since;
    s->npages += right->npages;
    desc_free(right);
  }
  free_insert_since(s, since);
}

/* Gives free pages back to the OS, largest spans first, until at most
 * retain bytes of free memory stay resident.  Only spans that stayed free
 * through a whole cycle: memory freed by a collection and reused before
 * the next one is the steady state, not something to give back. */
void preempt_heap_scavenge(size_t retain, uint64_t gc) {
  for (int b = FREE_BUCKETS - 1; b >= 1; b--) {
    for (struct preempt_span *s = H.free[b], *next; s; s = next) {
      next = s->next;
      if (H.free_bytes - H.scavenged_bytes <= retain)
        goto done;
      if (s->scavenged || s->free_since + 1 >= gc)
        continue;
      /* Release only the excess: split it off the end of a larger span. */
      size_t excess = H.free_bytes - H.scavenged_bytes - retain;
      size_t pages = (excess + PREEMPT_PAGE_SIZE - 1) >> PREEMPT_PAGE_SHIFT;
      struct preempt_span *t = s;
      if (pages < s->npages && (t = desc_new())) {
        free_remove(s);
        t->base = s->base + (s->npages - pages) * PREEMPT_PAGE_SIZE;
        t->npages = pages;
        s->npages -= pages;
        free_insert_since(s, s->free_since);
        free_insert_since(t, s->free_since);
      } else {
        t = s;
      }
      madvise((void *)t->base, t->npages * PREEMPT_PAGE_SIZE, MADV_DONTNEED);
      t->scavenged = true;
      H.scavenged_bytes += t->npages * PREEMPT_PAGE_SIZE;
    }
  }
done:
  gc_epoch = gc;
}

void preempt_heap_each_span(void (*fn)(struct preempt_span *, void *),
                            void *arg) {
  for (uintptr_t a = preempt_heap.lo; a < preempt_heap.hi;) {
    struct preempt_span *s = H.pages[page_of(a)];
    if (!s)
      preempt_fatal("page table hole at %p", (void *)a);
    uintptr_t next = s->base + s->npages * PREEMPT_PAGE_SIZE;
    if (s->state != SPAN_FREE)
      fn(s, arg); /* fn may free s */
    a = next;
  }
}
