/* The collector: start-up, pacing, one stop-the-world mark-sweep cycle,
 * statistics and reports. */
#define _GNU_SOURCE
#include "finalizer.h"
#include "events.h"
#include "free.h"
#include "gc.h"
#include "signals.h"
#include "heap.h"
#include "malloc.h"
#include "mark.h"
#include "options.h"
#include "pin.h"
#include "registry.h"
#include "roots.h"
#include "stw.h"
#include "sweep.h"
#include "sysmem.h"
#include "threads.h"
#include "types.h"
#include "weak.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

size_t preempt_next_gc;
_Atomic size_t preempt_heap_live; /* bytes handed to threads or objects */
size_t preempt_heap_live_objects;  /* after the last collection */
struct preempt_stats preempt_stats_data;
_Atomic uint64_t preempt_stats_finalizers_run;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_once_fn(void) {
  preempt_options_init();
  preempt_heap_init();
  preempt_malloc_init();
  preempt_threads_init();
  preempt_stw_init();
  preempt_signal_init();
  preempt_registry_sync();
  preempt_next_gc = preempt_opts.min_heap;
}

void preempt_init(void) { pthread_once(&init_once, init_once_fn); }

__attribute__((constructor)) static void preempt_init_main_thread(void) {
  preempt_init();
  preempt_thread_attach();
}

static void flush_cache(struct preempt_thread *t, void *arg) {
  (void)arg;
  preempt_cache_flush(&t->cache);
}

/* Memory the heap already occupies may be used before the next
 * collection: a program whose live data shrank after a peak keeps the
 * peak's room for a while (fewer collections, no more memory than it
 * has already shown it needs), and gives it back gradually: the mark
 * halves every PREEMPT=retain=seconds (0: no retention, pure GOGC). */
static size_t retained_floor(uint64_t now, size_t in_use) {
  static double mark;
  static uint64_t last;
  if (preempt_opts.retain_s <= 0)
    return 0;
  /* mark *= 2^-(elapsed / half-life), piecewise linear within a halving. */
  for (double x = last ? (double)(now - last) / 1e9 / preempt_opts.retain_s : 0;
       x > 0 && mark > 0; x -= 1)
    mark *= x >= 1 ? 0.5 : 1 - 0.5 * x;
  last = now;
  if ((double)in_use > mark)
    mark = (double)in_use;
  return (size_t)mark;
}

void preempt_collect_locked(uintptr_t start_ip) {
  uint64_t t0 = preempt_now_ns();
  size_t in_use = atomic_load(&preempt_heap_live); /* the heap's size now */
  struct preempt_thread *self = preempt_self;
  uint64_t number = preempt_stats_data.collections + 1;
  size_t mapped = preempt_heap_mapped();
  preempt_event(PREEMPT_EVENT_GC_START, number);
  preempt_stop_world("gc", true);
  preempt_event(PREEMPT_EVENT_WORLD_STOPPED, number);
  /* Nobody walks a stack now: tables replaced by syncs can go. */
  preempt_registry_quiesce();
  preempt_stw_publish(self, start_ip);

  preempt_threads_each(flush_cache, NULL);
  struct preempt_visitor *m = &preempt_marker;
  preempt_threads_visit(m);
  preempt_registry_visit_globals(m);
  preempt_roots_visit(m);
  preempt_pins_visit(m);
  preempt_finalizers_visit_queue(m);
  preempt_finalizers_visit_referents(m);
  preempt_mark_drain();
  preempt_ephemerons_trace(m);
  preempt_weak_sweep(m, false);
  preempt_finalizers_queue_unreachable(m);
  preempt_mark_drain();
  preempt_ephemerons_trace(m);
  preempt_free_apply();
  preempt_weak_sweep(m, true);
  preempt_ephemerons_sweep(m);
  preempt_event(PREEMPT_EVENT_MARK_END, number);

  struct sweep_result r;
  preempt_sweep(&r);
  self->roots.len = 0;
  atomic_store(&preempt_heap_live, r.live_bytes);
  preempt_heap_live_objects = r.live_objects;
  size_t goal = preempt_opts.gc_percent >= 0
                    ? r.live_bytes + r.live_bytes / 100 * (size_t)preempt_opts.gc_percent
                    : SIZE_MAX;
  preempt_next_gc = goal > preempt_opts.min_heap ? goal : preempt_opts.min_heap;
  size_t floor = retained_floor(t0, in_use);
  if (preempt_next_gc < floor)
    preempt_next_gc = floor;
  /* Keep what the next cycle will need; give the rest back to the OS. */
  size_t keep = preempt_next_gc > r.live_bytes ? preempt_next_gc - r.live_bytes : 0;
  preempt_heap_scavenge(keep, preempt_stats_data.collections + 1);
  preempt_event(PREEMPT_EVENT_WORLD_STARTING, number);
  preempt_start_world();
  preempt_event(PREEMPT_EVENT_GC_END, number);
  if (preempt_heap_mapped() != mapped)
    preempt_event(PREEMPT_EVENT_HEAP_RESIZE, preempt_heap_mapped());

  uint64_t pause = preempt_now_ns() - t0;
  struct preempt_stats *st = &preempt_stats_data;
  st->collections++;
  st->last_pause_ns = pause;
  st->total_pause_ns += pause;
  if (pause > st->max_pause_ns)
    st->max_pause_ns = pause;
  st->heap_live_bytes = r.live_bytes;
  st->total_freed_bytes += r.freed_bytes;
  st->total_freed_objects += r.freed_objects;
  if (preempt_opts.verbose)
    preempt_warn("gc %llu: %zu KiB live in %zu objects, %zu KiB freed, "
                 "next at %zu KiB, %zu KiB mapped, pause %llu us",
                 (unsigned long long)st->collections, r.live_bytes >> 10,
                 r.live_objects, r.freed_bytes >> 10, preempt_next_gc >> 10,
                 preempt_heap_mapped() >> 10,
                 (unsigned long long)(pause / 1000));
  preempt_finalizers_wake();
}

__attribute__((noinline)) void preempt_gc(void) {
  uintptr_t ip = (uintptr_t)__builtin_return_address(0);
  preempt_thread_current();
  preempt_lock_heap(ip);
  preempt_collect_locked(ip);
  preempt_unlock_heap();
}

int preempt_set_gc_percent(int percent) {
  preempt_init();
  int old = preempt_opts.gc_percent;
  preempt_opts.gc_percent = percent < 0 ? -1 : percent;
  return old;
}

/* The limit bounds committed memory, not the reservation, so it may be set
 * at any time; below the heap's present size it stops further growth. */
__attribute__((noinline)) void preempt_set_heap_limit(size_t bytes) {
  preempt_thread_current();
  preempt_lock_heap((uintptr_t)__builtin_return_address(0));
  preempt_opts.heap_limit = bytes;
  size_t reserved = preempt_heap_reserved();
  preempt_unlock_heap();
  if (bytes > reserved)
    preempt_warn("preempt_set_heap_limit: %zu MiB is more than the %zu MiB of "
                 "address space reserved at start-up; PREEMPT=limit=... "
                 "reserves more",
                 bytes >> 20, reserved >> 20);
}

__attribute__((noinline)) int preempt_is_heap_object(const void *p) {
  preempt_thread_current();
  preempt_lock_heap_holding((uintptr_t)__builtin_return_address(0), p, NULL);
  int r = preempt_object_base((uintptr_t)p) != 0;
  preempt_unlock_heap();
  return r;
}

struct each_object {
  void (*fn)(void *obj, size_t size, void *arg);
  void *arg;
};

static void each_object_in(struct preempt_span *s, void *arg) {
  struct each_object *e = arg;
  if (s->state == SPAN_LARGE) {
    if (!preempt_freed(s->base))
      e->fn((void *)s->base, s->elemsize, e->arg);
    return;
  }
  if (s->state != SPAN_SMALL)
    return;
  for (uint32_t i = 0; i < s->nelems; i++) {
    uintptr_t obj = s->base + (uintptr_t)i * s->elemsize;
    if (span_slot_allocated(s, i) && !preempt_freed(obj))
      e->fn((void *)obj, s->elemsize, e->arg);
  }
}

__attribute__((noinline)) void
preempt_heap_each_object(void (*fn)(void *obj, size_t size, void *arg),
                         void *arg) {
  struct each_object e = {fn, arg};
  bool mine = preempt_heap_locked_here();
  if (!mine) {
    preempt_thread_current();
    preempt_lock_heap((uintptr_t)__builtin_return_address(0));
  }
  preempt_heap_each_span(each_object_in, &e);
  if (!mine)
    preempt_unlock_heap();
}

__attribute__((noinline)) void preempt_read_stats(struct preempt_stats *out) {
  preempt_thread_current();
  preempt_lock_heap((uintptr_t)__builtin_return_address(0));
  *out = preempt_stats_data;
  out->heap_alloc_bytes = atomic_load(&preempt_heap_live);
  out->heap_mapped_bytes = preempt_heap_mapped();
  out->next_gc_bytes = preempt_next_gc;
  out->finalizers_run = atomic_load(&preempt_stats_finalizers_run);
  out->stack_records = preempt_registry_record_count();
  preempt_unlock_heap();
}

struct type_tally {
  uint64_t count[4096], bytes[4096];
};

static void tally_span(struct preempt_span *s, void *arg) {
  struct type_tally *t = arg;
  for (uint32_t i = 0; i < s->nelems; i++) {
    if (!span_slot_allocated(s, i))
      continue;
    int id = s->types ? s->types[i] : 0;
    t->count[id]++;
    t->bytes[id] += span_slot_bytes(s);
  }
}

__attribute__((noinline)) void preempt_heap_report(int fd) {
  uintptr_t ip = (uintptr_t)__builtin_return_address(0);
  preempt_thread_current();
  struct type_tally *t = preempt_sys_alloc(sizeof *t);
  if (!t)
    return;
  preempt_lock_heap(ip);
  preempt_collect_locked(ip);
  preempt_heap_each_span(tally_span, t);
  preempt_unlock_heap();
  dprintf(fd, "%-40s %12s %14s\n", "type", "objects", "bytes");
  for (int i = 0; i < preempt_type_count(); i++)
    if (t->count[i])
      dprintf(fd, "%-40s %12llu %14llu\n", preempt_type_name(i),
              (unsigned long long)t->count[i], (unsigned long long)t->bytes[i]);
  preempt_sys_free(t, sizeof *t);
}
