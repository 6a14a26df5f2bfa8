/* Collection pauses of a program written for Boehm GC, timed from
 * GC_EVENT_START to GC_EVENT_END by a collection-event callback: one
 * measure for libgc and for preempt through its gc.h (both collect with
 * the world stopped).  Include after <gc.h>; install with
 * GC_set_on_collection_event(on_gc_event). */
#include <time.h>

static struct timespec gc_start;
static long long gc_total_ns, gc_max_ns, gc_events;

static void GC_CALLBACK on_gc_event(GC_EventType ev) {
  struct timespec now;
  if (ev == GC_EVENT_START) {
    clock_gettime(CLOCK_MONOTONIC, &gc_start);
  } else if (ev == GC_EVENT_END) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long ns = (now.tv_sec - gc_start.tv_sec) * 1000000000LL +
                   (now.tv_nsec - gc_start.tv_nsec);
    gc_total_ns += ns;
    if (ns > gc_max_ns)
      gc_max_ns = ns;
    gc_events++;
  }
}
