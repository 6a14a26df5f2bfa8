/* Stop-the-world telemetry: per reason string, how long stopping took
 * (time to safepoint: from the request until every thread had stopped),
 * the signals it needed, and how long the world stayed stopped.  Updated
 * by the stopper under the heap lock as it restarts the world (not while
 * it stops it, which is timed); read with preempt_read_stw_stats, and
 * printed at exit with PREEMPT=trace=stw. */
#include "gc.h"
#include "options.h"
#include "stw.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Log-linear histogram: 8 buckets per power of two (12.5% wide). */
#define SUB 8
#define NBUCKETS (64 * SUB)
#define MAX_REASONS 32

struct reason {
  char name[sizeof ((struct preempt_stw_stats *)0)->reason];
  uint64_t stops, signals, resignalled, stopped_ns, max_ns;
  uint32_t hist[NBUCKETS];
};
static struct reason reasons[MAX_REASONS];
static size_t nreasons;

static unsigned bucket(uint64_t ns) {
  if (ns < SUB)
    return (unsigned)ns;
  unsigned msb = 63u - (unsigned)__builtin_clzll(ns);
  return (msb - 2) * SUB + (unsigned)((ns >> (msb - 3)) & (SUB - 1));
}

static uint64_t bucket_top(unsigned b) {
  if (b < SUB)
    return b;
  unsigned msb = b / SUB + 2, sub = b % SUB;
  return (((uint64_t)SUB + sub + 1) << (msb - 3)) - 1;
}

static struct reason *find(const char *name) {
  for (size_t i = 0; i < nreasons; i++)
    if (!strncmp(reasons[i].name, name, sizeof reasons[i].name - 1))
      return &reasons[i];
  if (nreasons < MAX_REASONS - 1) {
    struct reason *r = &reasons[nreasons++];
    strncpy(r->name, name, sizeof r->name - 1);
    return r;
  }
  struct reason *r = &reasons[MAX_REASONS - 1]; /* full: the last pools */
  strcpy(r->name, "(other reasons)");
  nreasons = MAX_REASONS;
  return r;
}

void preempt_stw_stats_record(const char *reason, uint64_t ttsp_ns,
                              unsigned signals, unsigned resignalled,
                              uint64_t stopped_ns) {
  struct reason *r = find(reason ? reason : "?");
  r->stops++;
  r->signals += signals;
  r->resignalled += resignalled;
  r->hist[bucket(ttsp_ns)]++;
  if (ttsp_ns > r->max_ns)
    r->max_ns = ttsp_ns;
  r->stopped_ns += stopped_ns;
}

static uint64_t percentile(const struct reason *r, double p) {
  uint64_t need = (uint64_t)((double)r->stops * p + 0.999999), seen = 0;
  for (unsigned b = 0; b < NBUCKETS; b++) {
    seen += r->hist[b];
    if (seen >= need && seen)
      return bucket_top(b) < r->max_ns ? bucket_top(b) : r->max_ns;
  }
  return r->max_ns;
}

static void fill(const struct reason *r, struct preempt_stw_stats *o) {
  memset(o, 0, sizeof *o);
  memcpy(o->reason, r->name, sizeof o->reason);
  o->stops = r->stops;
  o->ttsp_p50_ns = percentile(r, 0.50);
  o->ttsp_p99_ns = percentile(r, 0.99);
  o->ttsp_max_ns = r->max_ns;
  o->signals = r->signals;
  o->threads_resignalled = r->resignalled;
  o->stopped_ns = r->stopped_ns;
}

size_t preempt_read_stw_stats(struct preempt_stw_stats *out, size_t max) {
  preempt_init();
  preempt_lock_heap((uintptr_t)__builtin_return_address(0));
  for (size_t i = 0; i < nreasons && i < max; i++)
    fill(&reasons[i], &out[i]);
  size_t n = nreasons;
  preempt_unlock_heap();
  return n;
}

__attribute__((destructor)) static void print_at_exit(void) {
  if (!preempt_opts.trace_stw)
    return;
  char line[256];
  int n = snprintf(line, sizeof line,
                   "preempt: stop-the-world %-20s %8s %9s %9s %9s %8s %11s "
                   "%10s\n",
                   "reason", "stops", "p50 us", "p99 us", "max us",
                   "signals", "resignalled", "stopped ms");
  write(2, line, (size_t)n);
  for (size_t i = 0; i < nreasons; i++) {
    struct preempt_stw_stats s;
    fill(&reasons[i], &s);
    n = snprintf(line, sizeof line,
                 "preempt: stop-the-world %-20s %8llu %9.1f %9.1f %9.1f %8llu "
                 "%11llu %10.1f\n",
                 s.reason, (unsigned long long)s.stops, s.ttsp_p50_ns / 1e3,
                 s.ttsp_p99_ns / 1e3, s.ttsp_max_ns / 1e3,
                 (unsigned long long)s.signals,
                 (unsigned long long)s.threads_resignalled,
                 s.stopped_ns / 1e6);
    write(2, line, (size_t)n);
  }
  double since = preempt_stw_fence_free_since();
  if (since < 0)
    n = snprintf(line, sizeof line, "preempt: blocking transitions fenced\n");
  else
    n = snprintf(line, sizeof line,
                 "preempt: blocking transitions fence-free since %.3f s, "
                 "a membarrier per stop\n",
                 since);
  write(2, line, (size_t)n);
}
