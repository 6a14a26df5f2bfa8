/* Internal declarations of the preempt runtime.  Public API: preempt.h. */
#ifndef PREEMPT_INTERNAL_H
#define PREEMPT_INTERNAL_H

#include "preempt.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PREEMPT_HIDDEN __attribute__((visibility("hidden")))
/* Conservative scanning reads any word of a stack or an object, redzones
 * of AddressSanitizer builds included. */
#define PREEMPT_NO_ASAN __attribute__((no_sanitize("address")))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define ALIGN_UP(x, a) (((x) + (a)-1) & ~((uintptr_t)(a)-1))

struct preempt_thread;

/* ---- options.c: the PREEMPT environment variable ---------------------- */
struct preempt_options {
  int gc_percent;       /* GOGC: grow the heap by this % of live data; <0 off */
  size_t min_heap;      /* no pacing below this many bytes */
  size_t heap_limit;    /* the heap's committed bytes never exceed this */
  bool poison;          /* fill freed objects with PREEMPT_POISON_BYTE */
  bool verify;          /* check poison on reuse, re-validate maps */
  bool oom_null;        /* out of memory: return NULL instead of aborting */
  int verbose;          /* 1: one line per collection on stderr */
  double retain_s;      /* half-life of the retained heap size, seconds */
};
extern struct preempt_options preempt_opts PREEMPT_HIDDEN;
#define PREEMPT_POISON_BYTE 0xdb
void preempt_options_init(void) PREEMPT_HIDDEN;

/* ---- error.c ----------------------------------------------------------- */
void preempt_fatal(const char *fmt, ...) PREEMPT_HIDDEN
    __attribute__((noreturn, format(printf, 1, 2)));
void preempt_warn(const char *fmt, ...) PREEMPT_HIDDEN
    __attribute__((format(printf, 1, 2)));

/* ---- sysmem.c: memory from the OS, never from malloc (signal-safe) ----- */
void *preempt_sys_alloc(size_t size) PREEMPT_HIDDEN; /* zeroed, or NULL */
void preempt_sys_free(void *p, size_t size) PREEMPT_HIDDEN;
/* Zeroed small blocks for span side tables; under the heap lock. */
void *preempt_pool_alloc(size_t size) PREEMPT_HIDDEN;
void preempt_pool_free(void *p, size_t size) PREEMPT_HIDDEN;
/* Doubles an array in OS memory (first_cap elements at first); fatal if
 * memory runs out, naming what for. */
void preempt_array_grow(void **data, size_t *cap, size_t len, size_t elem,
                        size_t first_cap, const char *what) PREEMPT_HIDDEN;
/* A growable array of words in OS memory, usable in a signal handler. */
struct preempt_vec {
  uintptr_t *data;
  size_t len, cap;
};
void preempt_vec_push(struct preempt_vec *v, uintptr_t x) PREEMPT_HIDDEN;
void preempt_vec_free(struct preempt_vec *v) PREEMPT_HIDDEN;

/* ---- mapfile.c: the map format's reader, shared with the tools -------- */
#include "mapfile.h"

/* ---- registry.c: loaded objects, their maps and their data segments --- */
struct preempt_record_ref {
  uintptr_t ret;       /* return address of the call */
  const uint8_t *data; /* record body: counts then locations */
};
void preempt_registry_sync(void) PREEMPT_HIDDEN; /* after dlopen/dlclose */
/* O(1) lookup by return address; lock-free for readers while the world is
 * stopped.  NULL: no map (code built without the plugin). */
const uint8_t *preempt_registry_lookup(uintptr_t ret, const uint8_t **end)
    PREEMPT_HIDDEN;
/* Calls fn on each writable data segment (globals, .bss) of each object. */
void preempt_registry_data_segments(void (*fn)(void *lo, void *hi, void *arg),
                                    void *arg) PREEMPT_HIDDEN;
size_t preempt_registry_record_count(void) PREEMPT_HIDDEN;
/* Frees tables replaced by syncs; only while the world is stopped. */
void preempt_registry_quiesce(void) PREEMPT_HIDDEN;
/* The calling thread's thread-local blocks (roots like globals), re-read
 * after objects were loaded.  Not signal-safe: it asks the loader. */
void preempt_thread_tls_refresh(struct preempt_thread *t) PREEMPT_HIDDEN;

/* ---- arch.h: the register set (DWARF numbers), saving a context -------- */
#include "arch.h"
static const int preempt_callee_saved[] = PREEMPT_CALLEE_SAVED;

/* ---- stack.c: walking and scanning one thread's own stack -------------- */
/* Pushes every root value found on the calling thread's stack, from the
 * frame whose return address is start_ip outwards, to sink.  Precise for
 * frames with a map, conservative for the others. */
void preempt_scan_own_stack(struct preempt_thread *t, uintptr_t start_ip,
                            struct preempt_vec *sink) PREEMPT_HIDDEN;
/* Where the own stack is mapped from (the main thread's grows on demand). */
uintptr_t preempt_stack_mapped_lo(const struct preempt_thread *t) PREEMPT_HIDDEN;
/* After saved_sp is set: which stack it is on (saved_hi, off_stack). */
void preempt_stack_note_blocking(struct preempt_thread *t) PREEMPT_HIDDEN;

/* ---- heap.c: arena, pages, spans --------------------------------------- */
#define PREEMPT_PAGE_SHIFT 13
#define PREEMPT_PAGE_SIZE ((size_t)1 << PREEMPT_PAGE_SHIFT)
#define PREEMPT_NUM_CLASSES 48
#define PREEMPT_MAX_SMALL 32768

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
  bool released;                    /* free pages returned to the OS */
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
/* Both under the heap lock. */
struct preempt_span *preempt_span_alloc(size_t npages) PREEMPT_HIDDEN;
void preempt_span_free(struct preempt_span *s) PREEMPT_HIDDEN;
static inline struct preempt_span *preempt_span_of(uintptr_t a);
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
static inline uint32_t span_index(const struct preempt_span *s, uintptr_t a) {
  return (uint32_t)(((uint64_t)(a - s->base) * s->divmul) >> 32);
}
static inline bool span_slot_allocated(const struct preempt_span *s,
                                       uint32_t i) {
  return i < s->freeindex || bit_get(s->allocbits, i);
}

/* ---- malloc.c: size classes, thread caches, allocation ----------------- */
extern const uint32_t preempt_class_size[PREEMPT_NUM_CLASSES] PREEMPT_HIDDEN;
struct preempt_cache {
  struct preempt_span *span[PREEMPT_NUM_CLASSES][2]; /* [class][noscan] */
  uint64_t bits[PREEMPT_NUM_CLASSES][2]; /* free-slot bits at freeindex */
};
void preempt_cache_flush(struct preempt_cache *c) PREEMPT_HIDDEN;
void preempt_span_release(struct preempt_span *s) PREEMPT_HIDDEN;
void preempt_malloc_init(void) PREEMPT_HIDDEN;
void preempt_central_reset(void) PREEMPT_HIDDEN;        /* before sweep */
void preempt_central_add(struct preempt_span *s) PREEMPT_HIDDEN; /* after */
int preempt_type_id(const char *name) PREEMPT_HIDDEN;
const char *preempt_type_name(int id) PREEMPT_HIDDEN;
int preempt_type_count(void) PREEMPT_HIDDEN;

/* ---- threads.c: the thread registry, fork, coroutine stacks ----------- */
enum thread_state {
  THREAD_RUNNING = 0, /* running user code; must stop for a collection */
  THREAD_BLOCKING,    /* in a foreign call; stack frozen above saved_sp */
  THREAD_PARKED,      /* stopped, roots published */
};
struct preempt_thread {
  pthread_t id;
  long tid; /* kernel thread id, for messages */
  _Atomic int state;
  uintptr_t stack_lo, stack_hi; /* its own (pthread) stack */
  uintptr_t saved_sp, saved_hi; /* BLOCKING: the frozen part of its stack */
  bool off_stack;               /* BLOCKING on another stack than its own */
  uintptr_t saved_regs[PREEMPT_NUM_CALLEE_SAVED]; /* BLOCKING */
  uintptr_t scan_sp;            /* PARKED: where its published scan began */
  struct preempt_vec roots;     /* values published when parked */
  struct preempt_vec tls;       /* (lo, hi) of its thread-local blocks */
  uint64_t tls_generation;      /* registry generation tls was read at */
  bool tls_missing;             /* some block not allocated when read */
  struct preempt_cache cache;
  size_t alloc_since_flush;
  struct preempt_thread *next;
  bool idle; /* BLOCKING with only runtime frames: nothing to scan */
};
/* initial-exec: one instruction to reach, also in libpreempt.so. */
extern __thread struct preempt_thread *preempt_self PREEMPT_HIDDEN
    __attribute__((tls_model("initial-exec")));
struct preempt_thread *preempt_thread_current(void) PREEMPT_HIDDEN;
void preempt_threads_each(void (*fn)(struct preempt_thread *, void *),
                          void *arg) PREEMPT_HIDDEN;
void preempt_threads_init(void) PREEMPT_HIDDEN;
/* Arguments of threads being started (heap objects nobody else may hold). */
void preempt_threads_mark_starting(void (*visit)(uintptr_t, void *),
                                   void *arg) PREEMPT_HIDDEN;
/* Registered coroutine stacks: the one containing sp, or each of them. */
bool preempt_registered_stack(uintptr_t sp, uintptr_t *lo, uintptr_t *hi)
    PREEMPT_HIDDEN;
void preempt_registered_stacks_each(void (*fn)(uintptr_t lo, uintptr_t hi,
                                               void *),
                                    void *arg) PREEMPT_HIDDEN;

/* ---- stw.c: stopping the world, parking, blocking, publishing roots ---- */
extern pthread_mutex_t preempt_heap_lock PREEMPT_HIDDEN;
extern _Atomic int preempt_gc_waiting PREEMPT_HIDDEN; /* stop requested */
/* Takes the heap lock; publishes the caller's roots first if it must wait
 * (ip: return address into the caller's code). */
void preempt_lock_heap(uintptr_t ip) PREEMPT_HIDDEN;
void preempt_unlock_heap(void) PREEMPT_HIDDEN;
/* Stop/start every other attached thread.  Caller holds the heap lock. */
void preempt_stop_world(void) PREEMPT_HIDDEN;
void preempt_start_world(void) PREEMPT_HIDDEN;
/* A running thread answers a stop request: publish roots, wait. */
void preempt_park(uintptr_t start_ip) PREEMPT_HIDDEN;
/* The calling thread's roots into t->roots, from the frame returning to
 * start_ip outwards. */
void preempt_stw_publish(struct preempt_thread *t, uintptr_t start_ip)
    PREEMPT_HIDDEN;

/* ---- mark.c / sweep.c / gc.c ------------------------------------------ */
void preempt_mark_init(void) PREEMPT_HIDDEN;
void preempt_mark_value(uintptr_t v) PREEMPT_HIDDEN;
void preempt_mark_range(const void *lo, const void *hi) PREEMPT_HIDDEN;
void preempt_mark_drain(void) PREEMPT_HIDDEN;
bool preempt_is_marked(uintptr_t obj) PREEMPT_HIDDEN;
/* Start of the allocated object containing v, or 0. */
uintptr_t preempt_object_base(uintptr_t v) PREEMPT_HIDDEN;
/* Marks what obj points to, not obj itself (pointers into obj skipped). */
void preempt_mark_object_contents(uintptr_t obj) PREEMPT_HIDDEN;
struct sweep_result {
  size_t live_bytes, live_objects, freed_bytes, freed_objects;
};
void preempt_sweep(struct sweep_result *r) PREEMPT_HIDDEN;
/* Collect with the heap lock held; start_ip: caller's return address. */
void preempt_collect_locked(uintptr_t start_ip) PREEMPT_HIDDEN;
void preempt_gc_account(size_t bytes) PREEMPT_HIDDEN; /* may trigger */
extern size_t preempt_next_gc PREEMPT_HIDDEN;
extern _Atomic size_t preempt_heap_live PREEMPT_HIDDEN;
void preempt_init(void) PREEMPT_HIDDEN;

/* ---- roots.c ---------------------------------------------------------- */
void preempt_roots_mark(void) PREEMPT_HIDDEN;

/* ---- finalizer.c ------------------------------------------------------- */
void preempt_finalizers_mark_referents(void) PREEMPT_HIDDEN;
void preempt_finalizers_queue_unreachable(void) PREEMPT_HIDDEN;
void preempt_finalizers_mark_queue(void) PREEMPT_HIDDEN;
void preempt_finalizers_wake(void) PREEMPT_HIDDEN; /* starts the thread */
void preempt_finalizers_after_fork(void) PREEMPT_HIDDEN;

/* ---- stats ------------------------------------------------------------- */
extern struct preempt_stats preempt_stats_data PREEMPT_HIDDEN;
extern _Atomic uint64_t preempt_stats_finalizers_run PREEMPT_HIDDEN;

#endif
