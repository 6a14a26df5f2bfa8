/* Start-up, settings, collection control, statistics and the program's
 * callbacks: bdwgc's knobs mapped onto preempt's runtime, or accepted and
 * ignored where preempt has no such thing (each says why). */
#include "compat.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

_Atomic bool gc_initialised;

/* bdwgc's variables (read at start-up; GC_dont_gc at every allocation). */
GC_word GC_gc_no;
int GC_parallel;
GC_oom_func GC_oom_fn;
GC_on_heap_resize_proc GC_on_heap_resize;
int GC_find_leak;
int GC_all_interior_pointers = 1;
int GC_finalize_on_demand;
int GC_java_finalization = 1;
GC_finalizer_notifier_proc GC_finalizer_notifier;
int GC_dont_gc;
int GC_dont_expand;
int GC_use_entire_heap;
int GC_full_freq = 19;
GC_word GC_non_gc_bytes;
int GC_no_dls;
GC_word GC_free_space_divisor = 3;
GC_word GC_max_retries;
char *GC_stackbottom;
int GC_dont_precollect;
unsigned long GC_time_limit = GC_TIME_UNLIMITED;
void *GC_least_plausible_heap_addr;
void *GC_greatest_plausible_heap_addr = (void *)~(uintptr_t)0;

int gc_seen_dont_gc;
static int gc_percent_before_disable = 100;
static pthread_mutex_t settings_lock = PTHREAD_MUTEX_INITIALIZER;

static GC_on_collection_event_proc _Atomic on_event;
static GC_on_thread_event_proc _Atomic on_thread_event;
static GC_start_callback_proc _Atomic on_start;
static GC_push_other_roots_proc _Atomic push_other_roots;
static GC_stop_func _Atomic default_stop_func;
static GC_abort_func _Atomic abort_func;
static int log_fd = 2;
static struct GC_timeval_s time_limit_tv = {GC_TIME_UNLIMITED, 0};
static uint64_t full_gc_total_ns;
static bool measuring;
static uint64_t gc_started_ns;

unsigned GC_get_version(void) {
  return GC_VERSION_MAJOR << 16 | GC_VERSION_MINOR << 8 | GC_VERSION_MICRO;
}

/* ---- messages ------------------------------------------------------------ */

static void GC_CALLBACK default_warn_proc(char *msg, GC_word arg) {
  char buf[1024];
  snprintf(buf, sizeof buf, msg, arg);
  dprintf(log_fd, "GC Warning: %s", buf);
  size_t n = strlen(buf);
  if (!n || buf[n - 1] != '\n')
    dprintf(log_fd, "\n");
}
static GC_warn_proc _Atomic warn_proc = default_warn_proc;

void GC_set_warn_proc(GC_warn_proc p) {
  atomic_store(&warn_proc, p ? p : default_warn_proc);
}
GC_warn_proc GC_get_warn_proc(void) { return atomic_load(&warn_proc); }
void GC_CALLBACK GC_ignore_warn_proc(char *msg, GC_word arg) {
  (void)msg;
  (void)arg;
}

/* The procedure gets a printf format taking one word: a message of ours
 * is passed with its % doubled. */
static void warn_text(const char *text) {
  char buf[1024];
  size_t j = 0;
  for (size_t i = 0; text[i] && j + 3 < sizeof buf; i++) {
    if (text[i] == '%')
      buf[j++] = '%';
    buf[j++] = text[i];
  }
  buf[j] = 0;
  atomic_load(&warn_proc)(buf, 0);
}

void gc_warn(const char *fmt, ...) {
  char text[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  warn_text(text);
}

static void runtime_warning(const char *msg, void *arg) {
  (void)arg;
  warn_text(msg);
}

void GC_set_abort_func(GC_abort_func f) { atomic_store(&abort_func, f); }
GC_abort_func GC_get_abort_func(void) { return atomic_load(&abort_func); }

void gc_abort(const char *fmt, ...) {
  char text[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  GC_abort_func f = atomic_load(&abort_func);
  if (f)
    f(text);
  else
    dprintf(2, "%s\n", text);
  abort();
}

/* The runtime prints nothing itself once a hook is set. */
static void runtime_fatal(const char *msg, void *arg) {
  (void)arg;
  GC_abort_func f = atomic_load(&abort_func);
  if (f)
    f(msg);
  else
    dprintf(2, "preempt: %s\n", msg); /* as the runtime prints it */
}

void GC_set_log_fd(int fd) { log_fd = fd; }

/* ---- out of memory --------------------------------------------------------- */

static GC_oom_func _Atomic oom_fn;
static bool abort_on_oom;

void GC_set_oom_fn(GC_oom_func f) {
  atomic_store(&oom_fn, f);
  GC_oom_fn = f;
}
GC_oom_func GC_get_oom_fn(void) { return atomic_load(&oom_fn); }
void GC_abort_on_oom(void) { abort_on_oom = true; }

void *gc_out_of_memory(size_t n) {
  GC_oom_func f = atomic_load(&oom_fn);
  if (GC_oom_fn != f) /* the program set the variable itself */
    f = GC_oom_fn;
  if (abort_on_oom && !f)
    gc_abort("GC: out of memory allocating %zu bytes", n);
  return f ? f(n) : NULL;
}

/* ---- collection events -------------------------------------------------- */

void GC_set_on_collection_event(GC_on_collection_event_proc f) {
  atomic_store(&on_event, f);
}
GC_on_collection_event_proc GC_get_on_collection_event(void) {
  return atomic_load(&on_event);
}
void GC_set_on_thread_event(GC_on_thread_event_proc f) {
  atomic_store(&on_thread_event, f);
}
GC_on_thread_event_proc GC_get_on_thread_event(void) {
  return atomic_load(&on_thread_event);
}
void GC_set_start_callback(GC_start_callback_proc f) {
  atomic_store(&on_start, f);
}
GC_start_callback_proc GC_get_start_callback(void) {
  return atomic_load(&on_start);
}
/* preempt finds every root itself; the procedure is kept, not called. */
void GC_set_push_other_roots(GC_push_other_roots_proc f) {
  atomic_store(&push_other_roots, f);
}
GC_push_other_roots_proc GC_get_push_other_roots(void) {
  return atomic_load(&push_other_roots);
}
void GC_set_on_heap_resize(GC_on_heap_resize_proc f) { GC_on_heap_resize = f; }
GC_on_heap_resize_proc GC_get_on_heap_resize(void) { return GC_on_heap_resize; }

static void send(GC_EventType a, GC_EventType b) {
  GC_on_collection_event_proc f = atomic_load(&on_event);
  if (f) {
    f(a);
    f(b);
  }
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* preempt's events, as bdwgc's: each of preempt's points stands for the
 * pair of bdwgc's that happen there. */
static void runtime_event(enum preempt_event ev, size_t value, void *arg) {
  (void)arg;
  switch (ev) {
  case PREEMPT_EVENT_GC_START: {
    gc_started_ns = now_ns();
    GC_start_callback_proc s = atomic_load(&on_start);
    if (s)
      s();
    send(GC_EVENT_START, GC_EVENT_PRE_STOP_WORLD);
    break;
  }
  case PREEMPT_EVENT_WORLD_STOPPED:
    send(GC_EVENT_POST_STOP_WORLD, GC_EVENT_MARK_START);
    gc_debug_check_all();
    break;
  case PREEMPT_EVENT_MARK_END:
    send(GC_EVENT_MARK_END, GC_EVENT_RECLAIM_START);
    break;
  case PREEMPT_EVENT_WORLD_STARTING:
    send(GC_EVENT_RECLAIM_END, GC_EVENT_PRE_START_WORLD);
    break;
  case PREEMPT_EVENT_GC_END:
    GC_gc_no++;
    if (measuring)
      full_gc_total_ns += now_ns() - gc_started_ns;
    send(GC_EVENT_POST_START_WORLD, GC_EVENT_END);
    if (GC_get_toggleref_func()) /* asked again after each collection */
      gc_set_pending();
    break;
  case PREEMPT_EVENT_HEAP_RESIZE: {
    GC_on_heap_resize_proc r = GC_on_heap_resize;
    if (r)
      r((GC_word)value);
    break;
  }
  }
}

/* ---- start-up --------------------------------------------------------------- */

/* Whether PREEMPT=... in the environment sets key (the program's choice
 * wins over bdwgc's defaults). */
static bool preempt_setting_given(const char *key) {
  const char *v = getenv("PREEMPT");
  size_t n = strlen(key);
  for (const char *p = v; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
    if (!strncmp(p, key, n) && p[n] == '=')
      return true;
  return false;
}

static size_t env_size(const char *name) {
  const char *v = getenv(name);
  if (!v || !*v)
    return 0;
  char *end;
  errno = 0;
  unsigned long long n = strtoull(v, &end, 10);
  unsigned shift = 0;
  switch (*end) {
  case 'k': case 'K': shift = 10; end++; break;
  case 'm': case 'M': shift = 20; end++; break;
  case 'g': case 'G': shift = 30; end++; break;
  }
  if (errno || *end || end == v) {
    gc_warn("%s=%s is not a size (a number, optionally k, m or g): ignored",
            name, v);
    return 0;
  }
  return (size_t)n << shift;
}

static void init_once(void) {
  preempt_set_warning_hook(runtime_warning, NULL);
  preempt_set_fatal_hook(runtime_fatal, NULL);
  preempt_set_event_hook(runtime_event, NULL);
  preempt_set_oom_policy(PREEMPT_OOM_NULL);
  if (getenv("GC_FIND_LEAK"))
    GC_find_leak = 1;
  if (getenv("GC_DONT_GC"))
    GC_dont_gc = 1;
  if (getenv("GC_ABORT_ON_OOM"))
    abort_on_oom = true;
  size_t max = env_size("GC_MAXIMUM_HEAP_SIZE");
  if (max)
    preempt_set_heap_limit(max);
  const char *div = getenv("GC_FREE_SPACE_DIVISOR");
  if (div && atoi(div) > 0)
    GC_set_free_space_divisor((GC_word)atoi(div));
  else if (!preempt_setting_given("gc")) /* bdwgc's pacing by default */
    GC_set_free_space_divisor(GC_free_space_divisor);
  if (GC_oom_fn)
    atomic_store(&oom_fn, GC_oom_fn);
  gc_finalize_init();
  gc_sync_dont_gc();
}

void gc_init_slow(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, init_once);
  atomic_store_explicit(&gc_initialised, true, memory_order_release);
}

void GC_init(void) { gc_ensure_init(); }
int GC_is_init_called(void) { return atomic_load(&gc_initialised); }
/* The runtime lives as long as the process. */
void GC_deinit(void) {}

/* ---- collection control ----------------------------------------------------- */

void gc_sync_dont_gc(void) {
  pthread_mutex_lock(&settings_lock);
  int now = GC_dont_gc;
  if ((now > 0) != (gc_seen_dont_gc > 0)) {
    if (now > 0)
      gc_percent_before_disable = preempt_set_gc_percent(-1);
    else
      preempt_set_gc_percent(gc_percent_before_disable);
  }
  gc_seen_dont_gc = now;
  pthread_mutex_unlock(&settings_lock);
}

void GC_disable(void) {
  gc_ensure_init();
  pthread_mutex_lock(&settings_lock);
  GC_dont_gc++;
  pthread_mutex_unlock(&settings_lock);
  gc_sync_dont_gc();
}

void GC_enable(void) {
  gc_ensure_init();
  pthread_mutex_lock(&settings_lock);
  if (GC_dont_gc <= 0) {
    pthread_mutex_unlock(&settings_lock);
    gc_abort("GC_enable() without a matching GC_disable()");
  }
  GC_dont_gc--;
  pthread_mutex_unlock(&settings_lock);
  gc_sync_dont_gc();
}

int GC_is_disabled(void) { return GC_dont_gc != 0; }
static int auto_disabled;
void GC_set_disable_automatic_collection(int v) {
  gc_ensure_init();
  auto_disabled = v != 0;
  preempt_set_gc_percent(v ? -1 : gc_percent_before_disable);
}
int GC_get_disable_automatic_collection(void) { return auto_disabled; }

int GC_try_to_collect(GC_stop_func stop) {
  gc_ensure_init();
  if (GC_dont_gc != gc_seen_dont_gc)
    gc_sync_dont_gc();
  if (GC_dont_gc || (stop && stop()))
    return 0;
  gc_toggle_refs_update();
  preempt_gc();
  gc_debug_report();
  if (!GC_finalize_on_demand)
    GC_invoke_finalizers();
  return 1;
}

void GC_gcollect(void) { GC_try_to_collect(atomic_load(&default_stop_func)); }
/* preempt returns free pages to the system after each collection. */
void GC_gcollect_and_unmap(void) { GC_gcollect(); }
void GC_set_stop_func(GC_stop_func f) { atomic_store(&default_stop_func, f); }
GC_stop_func GC_get_stop_func(void) { return atomic_load(&default_stop_func); }

/* A collection is triggered by growth over the live heap (like GOGC):
 * bdwgc's divisor d means "collect once heap/d is allocated", and with
 * the heap about live data plus what was allocated since, that is growth
 * of 100/(d-1) percent: 50% at its default of 3. */
void GC_set_free_space_divisor(GC_word d) {
  GC_free_space_divisor = d ? d : 1;
  int percent = GC_free_space_divisor > 1
                    ? (int)(100 / (GC_free_space_divisor - 1))
                    : 200;
  gc_percent_before_disable = percent < 1 ? 1 : percent;
  if (!GC_dont_gc)
    preempt_set_gc_percent(gc_percent_before_disable);
}
GC_word GC_get_free_space_divisor(void) { return GC_free_space_divisor; }

/* 0: no limit but the address space reserved at start-up. */
void GC_set_max_heap_size(GC_word n) {
  if (n)
    preempt_set_heap_limit((size_t)n);
}
/* The heap grows on demand; nothing to reserve ahead. */
int GC_expand_hp(size_t n) {
  (void)n;
  gc_ensure_init();
  return 1;
}

/* ---- statistics --------------------------------------------------------------- */

static struct preempt_stats stats(void) {
  struct preempt_stats s;
  preempt_read_stats(&s);
  return s;
}

size_t GC_get_heap_size(void) { return stats().heap_mapped_bytes; }
size_t GC_get_free_bytes(void) {
  struct preempt_stats s = stats();
  return s.heap_mapped_bytes > s.heap_alloc_bytes
             ? s.heap_mapped_bytes - s.heap_alloc_bytes
             : 0;
}
size_t GC_get_unmapped_bytes(void) { return 0; }
size_t GC_get_bytes_since_gc(void) {
  struct preempt_stats s = stats();
  return s.heap_alloc_bytes > s.heap_live_bytes
             ? s.heap_alloc_bytes - s.heap_live_bytes
             : 0;
}
size_t GC_get_expl_freed_bytes_since_gc(void) { return 0; }
size_t GC_get_total_bytes(void) {
  struct preempt_stats s = stats();
  return s.heap_alloc_bytes + s.total_freed_bytes;
}
size_t GC_get_obtained_from_os_bytes(void) { return stats().heap_mapped_bytes; }
size_t GC_get_memory_use(void) { return stats().heap_alloc_bytes; }
GC_word GC_get_gc_no(void) { return GC_gc_no; }
int GC_get_parallel(void) { return 0; }

void GC_get_heap_usage_safe(GC_word *heap_size, GC_word *free_bytes,
                            GC_word *unmapped_bytes, GC_word *bytes_since_gc,
                            GC_word *total_bytes) {
  struct preempt_stats s = stats();
  if (heap_size)
    *heap_size = s.heap_mapped_bytes;
  if (free_bytes)
    *free_bytes = s.heap_mapped_bytes > s.heap_alloc_bytes
                      ? s.heap_mapped_bytes - s.heap_alloc_bytes
                      : 0;
  if (unmapped_bytes)
    *unmapped_bytes = 0;
  if (bytes_since_gc)
    *bytes_since_gc = s.heap_alloc_bytes > s.heap_live_bytes
                          ? s.heap_alloc_bytes - s.heap_live_bytes
                          : 0;
  if (total_bytes)
    *total_bytes = s.heap_alloc_bytes + s.total_freed_bytes;
}

size_t GC_get_prof_stats(struct GC_prof_stats_s *out, size_t size) {
  struct preempt_stats s = stats();
  struct GC_prof_stats_s v;
  memset(&v, 0, sizeof v);
  v.heapsize_full = s.heap_mapped_bytes;
  v.free_bytes_full = s.heap_mapped_bytes > s.heap_alloc_bytes
                          ? s.heap_mapped_bytes - s.heap_alloc_bytes
                          : 0;
  v.bytes_allocd_since_gc = s.heap_alloc_bytes > s.heap_live_bytes
                                ? s.heap_alloc_bytes - s.heap_live_bytes
                                : 0;
  v.allocd_bytes_before_gc = s.heap_live_bytes + s.total_freed_bytes;
  v.non_gc_bytes = GC_non_gc_bytes;
  v.gc_no = GC_gc_no;
  v.reclaimed_bytes_before_gc = s.total_freed_bytes;
  v.obtained_from_os_bytes = s.heap_mapped_bytes;
  if (size > sizeof v) {
    memset((char *)out + sizeof v, 0xff, size - sizeof v); /* unknown: -1 */
    size = sizeof v;
  }
  memcpy(out, &v, size);
  return size;
}
size_t GC_get_prof_stats_unsafe(struct GC_prof_stats_s *out, size_t size) {
  return GC_get_prof_stats(out, size);
}
/* Size classes are preempt's: report the request itself. */
size_t GC_get_size_map_at(int i) { return i < 0 ? 0 : (size_t)i; }

void GC_start_performance_measurement(void) { measuring = true; }
unsigned long GC_get_full_gc_total_time(void) {
  return (unsigned long)(full_gc_total_ns / 1000000);
}

/* ---- settings kept for programs that read them back --------------------------
 * preempt has no incremental mode, no unmapping schedule, no marker
 * threads and no separate heap-expansion policy: these store the value so
 * a getter returns it, and change nothing. */
#define KEPT(type, name, var)                                                  \
  void GC_set_##name(type v) { var = v; }                                     \
  type GC_get_##name(void) { return var; }
static int pages_executable, max_prior, rate = 10;
static int force_unmap, manual_vdb;
static size_t min_bytes_allocd = 1;
static GC_word allocd_per_finalizer = 10000;
KEPT(int, find_leak, GC_find_leak)
KEPT(int, all_interior_pointers, GC_all_interior_pointers)
KEPT(int, java_finalization, GC_java_finalization)
KEPT(int, dont_expand, GC_dont_expand)
KEPT(int, full_freq, GC_full_freq)
KEPT(GC_word, non_gc_bytes, GC_non_gc_bytes)
KEPT(int, no_dls, GC_no_dls)
KEPT(GC_word, max_retries, GC_max_retries)
KEPT(int, dont_precollect, GC_dont_precollect)
KEPT(unsigned long, time_limit, GC_time_limit)
KEPT(int, pages_executable, pages_executable)
KEPT(size_t, min_bytes_allocd, min_bytes_allocd)
KEPT(int, rate, rate)
KEPT(int, max_prior_attempts, max_prior)
KEPT(int, force_unmap_on_gcollect, force_unmap)
KEPT(int, manual_vdb_allowed, manual_vdb)
KEPT(GC_word, allocd_bytes_per_finalizer, allocd_per_finalizer)
void GC_set_time_limit_tv(struct GC_timeval_s tv) { time_limit_tv = tv; }
struct GC_timeval_s GC_get_time_limit_tv(void) { return time_limit_tv; }
void GC_set_markers_count(unsigned n) { (void)n; }
void GC_start_mark_threads(void) {}
void GC_enable_incremental(void) {}
int GC_is_incremental_mode(void) { return 0; }
int GC_incremental_protection_needs(void) { return GC_PROTECTS_NONE; }
void GC_start_incremental_collection(void) {}
int GC_collect_a_little(void) { return 0; }
/* preempt handles fork itself (its locks join pthread_atfork). */
void GC_set_handle_fork(int v) { (void)v; }
void GC_atfork_prepare(void) {}
void GC_atfork_parent(void) {}
void GC_atfork_child(void) {}
/* Every interior pointer counts already. */
void GC_register_displacement(size_t n) { (void)n; }
void GC_debug_register_displacement(size_t n) { (void)n; }
/* Every loaded object's data is scanned: the callback is not consulted. */
void GC_register_has_static_roots_callback(GC_has_static_roots_func f) {
  (void)f;
}
void GC_init_global_static_roots(void) {}
void GC_noop1(GC_word w) {
  __asm__ __volatile__("" : : "r"(w) : "memory");
}
void GC_register_describe_type_fn(int kind, GC_describe_type_fn fn) {
  (void)kind;
  (void)fn;
}
void GC_print_trace(GC_word n) { (void)n; }
void GC_print_trace_inner(GC_word n) { (void)n; }

/* ---- dumps ---------------------------------------------------------------------- */

void GC_dump_named(const char *name) {
  struct preempt_stats s = stats();
  dprintf(log_fd,
          "***GC Dump %s\n  collections: %llu\n  heap: %llu bytes mapped, "
          "%llu allocated, %llu live after the last collection\n"
          "  pauses: %llu ns total, %llu ns longest\n",
          name ? name : "", (unsigned long long)s.collections,
          (unsigned long long)s.heap_mapped_bytes,
          (unsigned long long)s.heap_alloc_bytes,
          (unsigned long long)s.heap_live_bytes,
          (unsigned long long)s.total_pause_ns,
          (unsigned long long)s.max_pause_ns);
}
void GC_dump(void) { GC_dump_named(NULL); }
void GC_dump_regions(void) { GC_dump_named("regions"); }
void GC_print_free_list(int kind, size_t sz) {
  dprintf(log_fd, "free list of kind %d, %zu granules: per-thread caches "
                  "(not listed)\n", kind, sz);
}
