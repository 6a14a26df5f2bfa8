/* Heap snapshots (preempt_heap_snapshot): every live object, its size,
 * type and pointers, and every root with what holds it, in the format of
 * snapshot_format.h.
 *
 * With the world stopped and the heap locked, the roots are visited with
 * a labelling visitor (kind, thread, frame, slot) that records each and
 * hands it to the collector's marker; the marker marks as in a
 * collection and reports each object it marks, with the pointers it found
 * in it, to a recorder that writes the object's record to a buffer in OS
 * memory; then the marks are cleared (nothing is freed).  No malloc, no
 * heap allocation and no write happen while the world is stopped (a pipe
 * drained by a stopped thread would never drain).  Types, loaded objects and thread names are added,
 * and the file written, once the world runs.
 *
 * A heap of many objects (PREEMPT=snapfork, 65536 by default) is walked by
 * a copy of the process instead: with the world stopped and every thread's
 * roots published, the snapshotting thread forks (a bare clone: no atfork
 * handlers, which would take the runtime's locks, and no SIGCHLD for the
 * program to reap), the world restarts at once, and the child, alone with
 * the heap as it was at the stop, walks it, writes the file and exits.
 * The pause is then the stop and the fork's page-table copy, not the walk.
 * The child takes no lock (a stopped thread held none of the runtime's,
 * but the heap lock is ours in a process where we have another thread id)
 * and calls no malloc. */
#define _GNU_SOURCE
#include "finalizer.h"
#include "gc.h"
#include "heap.h"
#include "layout.h"
#include "layout_format.h"
#include "malloc.h"
#include "mark.h"
#include "options.h"
#include "pin.h"
#include "registry.h"
#include "roots.h"
#include "snapshot_format.h"
#include "stack.h"
#include "stw.h"
#include "sysmem.h"
#include "threads.h"
#include "types.h"
#include "weak.h"

#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A growable byte buffer in OS memory; a failed growth is remembered and
 * the snapshot fails with ENOMEM rather than the program. */
struct buf {
  uint8_t *data;
  size_t len, cap;
  bool failed;
};

static bool buf_room(struct buf *b, size_t n) {
  if (b->failed)
    return false;
  if (b->cap - b->len >= n)
    return true;
  size_t ncap = b->cap ? b->cap : 1 << 20;
  while (ncap - b->len < n)
    ncap *= 2;
  uint8_t *d = preempt_sys_alloc(ncap);
  if (!d) {
    b->failed = true;
    return false;
  }
  if (b->data) {
    memcpy(d, b->data, b->len);
    preempt_sys_free(b->data, b->cap);
  }
  b->data = d;
  b->cap = ncap;
  return true;
}

/* n bytes of room to start with (mapped, not touched). */
static void reserve(struct buf *b, size_t n) {
  if (!b->data && (b->data = preempt_sys_alloc(n)))
    b->cap = n;
}

static void buf_free(struct buf *b) {
  if (b->data)
    preempt_sys_free(b->data, b->cap);
}

/* A record: its payload is built in scratch, then framed into b. */
static void put_record(struct buf *b, int tag, const uint8_t *payload,
                       size_t n) {
  if (!buf_room(b, 1 + 10 + n))
    return;
  b->data[b->len++] = (uint8_t)tag;
  b->len = (size_t)(preempt_snap_put_uleb(b->data + b->len, n) - b->data);
  memcpy(b->data + b->len, payload, n);
  b->len += n;
}

static uint8_t *put_string(uint8_t *p, const char *s, size_t max) {
  size_t n = strnlen(s, max);
  p = preempt_snap_put_uleb(p, n);
  memcpy(p, s, n);
  return p + n;
}

/* ---- the walk (world stopped) ---------------------------------------------- */

struct walk {
  struct preempt_visitor v;
  struct preempt_mark_raw raw; /* what the marker recorded */
  uintptr_t heap_lo, heap_hi;  /* the heap's range then */
  struct buf roots, objects;
  const char *const *only;  /* walk from these named ranges only (n_only) */
  size_t n_only;
  bool accept;              /* roots under the current label are walked */
  uint64_t nobjects, nroots;
  /* Roots as found in the pause, {object, slot, label}, turned into
   * records once the world runs (as the marker's record is). */
  struct raw_root {
    uintptr_t obj, slot;
    size_t label;
  } *raw_roots;
  size_t nraw_roots, raw_roots_cap;
  struct root_label {
    int kind;
    long tid;
    uintptr_t ip;
    char name[201]; /* copied: the range may go once the world runs */
  } *labels;
  size_t nlabels, labels_cap;
  bool roots_failed;
};

/* Room for one more in OS memory (no malloc in the pause); a failed
 * growth fails the snapshot with ENOMEM, not the program. */
static bool grow(void **v, size_t *cap, size_t len, size_t elem) {
  return len < *cap || preempt_array_try_grow(v, cap, len, elem, 1024);
}

static void root(struct walk *w, uintptr_t value, uintptr_t slot) {
  struct preempt_span *s;
  uint32_t i;
  uintptr_t obj = w->accept ? preempt_object_of(value, &s, &i) : 0;
  if (!obj)
    return;
  if (grow((void **)&w->raw_roots, &w->raw_roots_cap, w->nraw_roots,
           sizeof *w->raw_roots))
    w->raw_roots[w->nraw_roots++] =
        (struct raw_root){obj, slot, w->nlabels - 1};
  else
    w->roots_failed = true;
  preempt_marker.value(&preempt_marker, obj);
}

/* World running: the ROOT records. */
static void put_roots(struct walk *w) {
  for (size_t k = 0; k < w->nraw_roots; k++) {
    const struct raw_root *r = &w->raw_roots[k];
    const struct root_label *l = &w->labels[r->label];
    uint8_t p[6 * 10 + 256], *e = p;
    e = preempt_snap_put_uleb(e, (uint64_t)l->kind);
    e = preempt_snap_put_uleb(e, r->obj);
    e = preempt_snap_put_uleb(e, r->slot);
    e = preempt_snap_put_uleb(e, (uint64_t)l->tid);
    e = preempt_snap_put_uleb(e, l->ip);
    e = put_string(e, l->name, 200);
    put_record(&w->roots, PREEMPT_SNAP_ROOT, p, (size_t)(e - p));
  }
  w->nroots = w->nraw_roots;
  if (w->roots_failed)
    w->roots.failed = true;
}

static void raw_roots_free(struct walk *w) {
  if (w->raw_roots)
    preempt_sys_free(w->raw_roots, w->raw_roots_cap * sizeof *w->raw_roots);
  if (w->labels)
    preempt_sys_free(w->labels, w->labels_cap * sizeof *w->labels);
  w->raw_roots = NULL;
  w->labels = NULL;
}

static void walk_value(struct preempt_visitor *v, uintptr_t word) {
  root((struct walk *)v, word, 0);
}

/* Most words of a range (globals, a stack) are no heap address: those are
 * skipped before the lookup. */
PREEMPT_NO_ASAN static void walk_range(struct preempt_visitor *v,
                                       const void *lo, const void *hi) {
  struct walk *w = (struct walk *)v;
  uintptr_t heap = w->heap_lo, span = w->heap_hi - w->heap_lo;
  uintptr_t a = ALIGN_UP((uintptr_t)lo, sizeof(uintptr_t));
  for (; a + sizeof(uintptr_t) <= (uintptr_t)hi; a += sizeof(uintptr_t)) {
    uintptr_t word = *(const uintptr_t *)a;
    if (word - heap < span)
      root(w, word, a);
  }
}

/* A finalizable object's contents are roots (the object itself is not). */
PREEMPT_NO_ASAN static void walk_contents(struct preempt_visitor *v,
                                          uintptr_t obj) {
  struct preempt_span *s;
  uint32_t i;
  uintptr_t base = preempt_object_of(obj, &s, &i);
  if (!base || s->noscan)
    return;
  uintptr_t size = span_slot_bytes(s);
  for (uintptr_t a = base; a < base + size; a += sizeof(uintptr_t)) {
    uintptr_t word = *(const uintptr_t *)a;
    if (word - base >= size)
      root((struct walk *)v, word, a);
  }
}

static bool walk_reached(struct preempt_visitor *v, uintptr_t obj) {
  (void)v;
  struct preempt_span *s;
  uint32_t i;
  return preempt_object_of(obj, &s, &i) && bit_get(s->markbits, i);
}

static void walk_label(struct preempt_visitor *v, int kind, long tid,
                       uintptr_t ip, const char *name) {
  struct walk *w = (struct walk *)v;
  if (grow((void **)&w->labels, &w->labels_cap, w->nlabels,
           sizeof *w->labels)) {
    struct root_label *l = &w->labels[w->nlabels++];
    l->kind = kind;
    l->tid = tid;
    l->ip = ip;
    size_t n = name ? strnlen(name, sizeof l->name - 1) : 0;
    memcpy(l->name, name ? name : "", n);
    l->name[n] = 0;
  } else {
    w->roots_failed = true;
  }
  w->accept = !w->only;
  for (size_t i = 0; i < w->n_only && kind == PREEMPT_ROOT_RANGE && name; i++)
    w->accept |= !strcmp(name, w->only[i]);
  if (w->roots_failed)
    w->accept = false;
}

static void label(struct walk *w, int kind) {
  walk_label(&w->v, kind, 0, 0, NULL);
}

/* ---- OBJECT records, from what the marker recorded (world running) -------- */

/* An OBJECT record per recorded object: its words that fall in the heap's
 * range are its edges, as (offset, word); the reader resolves each to the
 * object containing it, and drops the few that point to none (a freed
 * slot).  Each chunk is unmapped once converted. */
static void put_objects(struct walk *w) {
  uint8_t head[5 * 10], *scratch = NULL;
  size_t scratch_cap = 0;
  for (struct preempt_raw_chunk *c = w->raw.first, *next; c; c = next) {
    next = c->next;
    for (const uintptr_t *p = c->w, *end = c->w + c->len; p < end;) {
      uintptr_t obj = p[0] & ~(uintptr_t)7, size = p[1] >> 16;
      unsigned type = (unsigned)(p[1] & 0xffff), flags = p[0] & 7;
      const struct preempt_layout *l = NULL;
      size_t n = 0;
      p += 2;
      if (flags & PREEMPT_RAW_TYPED) {
        l = (const struct preempt_layout *)*p++;
        n = (l->flags & PREEMPT_LAYOUT_ARRAY ? size / l->size : 1) * l->nptrs;
      } else if (!(flags & PREEMPT_RAW_LEAF)) {
        n = size / sizeof(uintptr_t);
      }
      if (scratch_cap < 20 * n + sizeof head) {
        if (scratch)
          preempt_sys_free(scratch, scratch_cap);
        scratch_cap = ALIGN_UP(20 * n + sizeof head, 1 << 16);
        if (!(scratch = preempt_sys_alloc(scratch_cap))) {
          w->objects.failed = true;
          return;
        }
      }
      /* Edges after room for the fixed fields, moved down to them. */
      uint8_t *e = scratch + sizeof head;
      uint64_t nedges = 0;
      for (size_t k = 0; k < n; k++) {
        uintptr_t v = p[k];
        if (v - w->heap_lo >= w->heap_hi - w->heap_lo)
          continue;
        uintptr_t off = !l ? k * sizeof(uintptr_t)
                           : k / l->nptrs * l->size + l->offsets[k % l->nptrs];
        e = preempt_snap_put_uleb(e, off);
        e = preempt_snap_put_uleb(e, v);
        nedges++;
      }
      p += n;
      uint8_t *h = head;
      h = preempt_snap_put_uleb(h, obj);
      h = preempt_snap_put_uleb(h, size);
      h = preempt_snap_put_uleb(h, type);
      h = preempt_snap_put_uleb(h, flags & PREEMPT_RAW_LEAF ? PREEMPT_SNAP_NOSCAN : 0);
      h = preempt_snap_put_uleb(h, nedges);
      size_t hn = (size_t)(h - head);
      memcpy(scratch + sizeof head - hn, head, hn);
      put_record(&w->objects, PREEMPT_SNAP_OBJECT, scratch + sizeof head - hn,
                 hn + (size_t)(e - (scratch + sizeof head)));
      w->nobjects++;
    }
    preempt_sys_free(c, c->bytes);
    w->raw.first = next;
  }
  if (scratch)
    preempt_sys_free(scratch, scratch_cap);
}

static void raw_free(struct preempt_mark_raw *r) {
  for (struct preempt_raw_chunk *c = r->first, *next; c; c = next) {
    next = c->next;
    preempt_sys_free(c, c->bytes);
  }
  r->first = r->last = NULL;
}

static void clear_marks(struct preempt_span *s, void *arg) {
  (void)arg;
  if (s->state == SPAN_SMALL)
    memset(s->markbits, 0, span_bitmap_words(s->nelems) * sizeof(uint64_t));
  else if (s->state == SPAN_LARGE)
    s->large_bits[1] = 0;
}

static void flush_cache(struct preempt_thread *t, void *arg) {
  (void)arg;
  preempt_cache_flush(&t->cache); /* what it allocated shows in the spans */
}

/* Roots are recorded as they are visited, and marked (with the collector's
 * marker) unless a named-range snapshot leaves them out. */
static void walk_heap(struct walk *w) {
  preempt_threads_each(flush_cache, NULL);
  w->heap_lo = preempt_heap.lo;
  w->heap_hi = preempt_heap.hi;
  preempt_mark_record(&w->raw);
  preempt_visit_label(&w->v, PREEMPT_ROOT_STACK, 0, 0);
  preempt_threads_visit(&w->v);
  label(w, PREEMPT_ROOT_GLOBAL);
  preempt_registry_visit_globals(&w->v);
  label(w, PREEMPT_ROOT_RANGE);
  preempt_roots_visit(&w->v);
  label(w, PREEMPT_ROOT_PINNED);
  preempt_pins_visit(&w->v);
  label(w, PREEMPT_ROOT_FINALIZER);
  preempt_finalizers_visit_queue(&w->v);
  preempt_finalizers_visit_referents(&w->v);
  preempt_mark_drain();
  preempt_ephemerons_trace(&preempt_marker);
  preempt_mark_record(NULL);
  /* The marks are cleared by the caller once the world runs again (under
   * the heap lock still: no collection reads them meanwhile, and running
   * threads never do). */
}

/* ---- the description (world running) --------------------------------------- */

static int module_cb(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  struct buf *b = arg;
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  for (int i = 0; i < info->dlpi_phnum; i++)
    if (info->dlpi_phdr[i].p_type == PT_LOAD) {
      uintptr_t a = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
      if (a < lo)
        lo = a;
      if (a + info->dlpi_phdr[i].p_memsz > hi)
        hi = a + info->dlpi_phdr[i].p_memsz;
    }
  if (hi <= lo)
    return 0;
  char path[4096];
  const char *name = info->dlpi_name;
  if (!name || !*name) { /* the executable */
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    path[n > 0 ? n : 0] = 0;
    name = path;
  }
  uint8_t p[3 * 10 + 10 + 4096], *e = p;
  e = preempt_snap_put_uleb(e, info->dlpi_addr);
  e = preempt_snap_put_uleb(e, lo);
  e = preempt_snap_put_uleb(e, hi);
  e = put_string(e, name, 4096);
  put_record(b, PREEMPT_SNAP_MODULE, p, (size_t)(e - p));
  return 0;
}

struct thread_names {
  struct buf *b;
  long pid; /* the program's: a forked walker has another */
};

static void thread_record(struct preempt_thread *t, void *arg) {
  struct thread_names *tn = arg;
  struct buf *b = tn->b;
  char path[64], name[64] = "";
  snprintf(path, sizeof path, "/proc/%ld/task/%ld/comm", tn->pid, t->tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n = read(fd, name, sizeof name - 1);
    name[n > 0 ? n : 0] = 0;
    close(fd);
    name[strcspn(name, "\n")] = 0;
  }
  uint8_t p[10 + 10 + 64], *e = p;
  e = preempt_snap_put_uleb(e, (uint64_t)t->tid);
  e = put_string(e, name, 63);
  put_record(b, PREEMPT_SNAP_THREAD, p, (size_t)(e - p));
}

/* pid: the program's; forked: in the walking copy, which must not take
 * the heap lock (the thread list cannot change there). */
static void describe(struct buf *b, const struct walk *w, uint64_t pause,
                     uint64_t when, const char *reason, long pid,
                     bool forked) {
  uint8_t p[8 * 10 + 10 + 256], *e = p;
  e = preempt_snap_put_uleb(e, PREEMPT_SNAP_VERSION);
  e = preempt_snap_put_uleb(e, (uint64_t)pid);
  e = preempt_snap_put_uleb(e, when);
  e = preempt_snap_put_uleb(e, pause);
  e = preempt_snap_put_uleb(e, preempt_heap_mapped());
  e = preempt_snap_put_uleb(e, w->nobjects);
  e = preempt_snap_put_uleb(e, w->nroots);
  e = put_string(e, reason, 256);
  put_record(b, PREEMPT_SNAP_INFO, p, (size_t)(e - p));
  size_t qsize = 10 + 10 + 1024 + 3 * 10 + PREEMPT_SNAP_MAX_FIELDS * (10 + 10 + 256);
  uint8_t *q = preempt_sys_alloc(qsize);
  if (!q) {
    b->failed = true;
    return;
  }
  for (int id = 0; id < preempt_type_count(); id++) {
    uint8_t *f = q;
    f = preempt_snap_put_uleb(f, (uint64_t)id);
    f = put_string(f, preempt_type_name(id), 1024);
    const struct preempt_layout *l = preempt_type_layouts[id];
    if (l) { /* its pointer fields' names, for retention paths */
      uint32_t n = l->nptrs < PREEMPT_SNAP_MAX_FIELDS ? l->nptrs : PREEMPT_SNAP_MAX_FIELDS;
      f = preempt_snap_put_uleb(f, l->size);
      f = preempt_snap_put_uleb(f, l->flags & PREEMPT_LAYOUT_ARRAY);
      f = preempt_snap_put_uleb(f, n);
      for (uint32_t k = 0; k < n; k++) {
        f = preempt_snap_put_uleb(f, l->offsets[k]);
        f = put_string(f, l->names[k], 255);
      }
    }
    put_record(b, PREEMPT_SNAP_TYPE, q, (size_t)(f - q));
  }
  preempt_sys_free(q, qsize);
  preempt_loader_iterate(module_cb, b);
  struct thread_names tn = {b, pid};
  if (!forked)
    preempt_lock_heap(0); /* the thread list */
  preempt_threads_each(thread_record, &tn);
  if (!forked)
    preempt_unlock_heap();
}

static bool write_all(int fd, const uint8_t *p, size_t n) {
  while (n) {
    ssize_t k = write(fd, p, n);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return false;
    p += k;
    n -= (size_t)k;
  }
  return true;
}

static void count_slots(struct preempt_span *s, void *arg) {
  if (s->state == SPAN_SMALL || s->state == SPAN_LARGE)
    *(size_t *)arg += s->state == SPAN_SMALL ? s->nelems : 1;
}

/* After the walk: the records, the description and the file.  Returns 0
 * or an errno value (small: a forked walker exits with it). */
static int finish(int fd, struct walk *w, uint64_t pause, uint64_t when,
                  const char *reason, long pid, bool forked) {
  if (w->raw.failed)
    w->objects.failed = true;
  else
    put_objects(w);
  put_roots(w);
  raw_roots_free(w);
  struct buf head = {0};
  describe(&head, w, pause, when, reason, pid, forked);
  static const uint8_t end[2] = {PREEMPT_SNAP_END, 0};
  int err = 0;
  if (head.failed || w->roots.failed || w->objects.failed)
    err = ENOMEM;
  else if (!write_all(fd, (const uint8_t *)PREEMPT_SNAP_MAGIC, 8) ||
           !write_all(fd, head.data, head.len) ||
           !write_all(fd, w->objects.data, w->objects.len) ||
           !write_all(fd, w->roots.data, w->roots.len) ||
           !write_all(fd, end, sizeof end))
    err = errno ? errno : EIO;
  buf_free(&head);
  buf_free(&w->roots);
  buf_free(&w->objects);
  raw_free(&w->raw);
  return err;
}

/* The forked walker's exit status is its errno value; a walker killed by
 * a signal is EIO. */
static int wait_walker(long child) {
  int status;
  preempt_enter_blocking(); /* as long as a walk: no stop waits for us */
  long r;
  do
    r = waitpid((pid_t)child, &status, __WALL);
  while (r < 0 && errno == EINTR);
  preempt_exit_blocking();
  if (r < 0)
    return errno;
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  return EIO;
}

static int snapshot(int fd, const char *reason, const char *const *only,
                    size_t n_only, uintptr_t ip) {
  struct preempt_thread *self = preempt_thread_current();
  if (!reason)
    reason = "preempt_heap_snapshot";
  struct walk w = {
      .v = {.value = walk_value,
            .range = walk_range,
            .contents = walk_contents,
            .reached = walk_reached,
            .label = walk_label},
      .only = only,
      .n_only = n_only,
  };
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  uint64_t when = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;

  /* Room for what the marker records, faulted in before the world stops
   * (page faults inside the pause would double it): three words an object
   * and its words, at most four of those (pointer-free objects record
   * none; a bigger one may have the pause fault in a new chunk).  Objects
   * are counted as the slots of the spans in use, a bound that holds
   * before any collection too; the room faulted in is capped at 64 MiB,
   * the rest added as the walk needs it. */
  size_t objects = 0;
  preempt_lock_heap(ip);
  preempt_heap_each_span(count_slots, &objects);
  preempt_unlock_heap();
  size_t words = atomic_load(&preempt_heap_live) / sizeof(uintptr_t);
  /* A forked walker faults its buffers in outside the pause. */
  bool forked = objects >= preempt_opts.snapshot_fork_objects;
  size_t room = 3 * objects + (words < 4 * objects ? words : 4 * objects) + 8192;
  w.raw.first = w.raw.last = preempt_raw_chunk_new(
      room < ((size_t)8 << 20) ? room : (size_t)8 << 20, !forked);
  if (!forked)
    reserve(&w.objects, objects * 32 + (64 << 10)); /* about 30 bytes each */
  atomic_fetch_add(&preempt_stack_frames_wanted, 1);
  preempt_lock_heap(ip);
  for (size_t i = 0; i < n_only; i++)
    if (!only[i] || !preempt_roots_named(only[i])) {
      preempt_unlock_heap();
      atomic_fetch_sub(&preempt_stack_frames_wanted, 1);
      raw_free(&w.raw);
      buf_free(&w.objects);
      errno = ENOENT;
      return -1;
    }
  /* The walker learns the pause from the program, which measures it. */
  int pause_pipe[2] = {-1, -1};
  if (forked && pipe2(pause_pipe, O_CLOEXEC))
    forked = false;
  uint64_t t0 = preempt_now_ns();
  preempt_stop_world("heap snapshot", true);
  preempt_stw_publish(self, ip);
  long pid = (long)getpid();
  long child = forked ? preempt_fork_quiet() : -1;
  if (child == 0) { /* the copy: walk, write, exit */
    close(pause_pipe[1]);
    walk_heap(&w);
    uint64_t pause = 0;
    while (read(pause_pipe[0], &pause, sizeof pause) < 0 && errno == EINTR)
      ;
    _exit(finish(fd, &w, pause, when, reason, pid, true));
  }
  if (child < 0)
    walk_heap(&w);
  self->roots.len = 0;
  preempt_start_world();
  uint64_t pause = preempt_now_ns() - t0;
  /* Objects with finalizers, unreachable but kept for them, are not in
   * the snapshot: they are garbage waiting for their finalizer. */
  if (child < 0)
    preempt_heap_each_span(clear_marks, NULL);
  preempt_unlock_heap();
  atomic_fetch_sub(&preempt_stack_frames_wanted, 1);
  if (pause_pipe[0] >= 0) {
    if (child > 0)
      (void)!write(pause_pipe[1], &pause, sizeof pause);
    close(pause_pipe[0]);
    close(pause_pipe[1]);
  }
  int err;
  if (child > 0) {
    raw_free(&w.raw);
    buf_free(&w.objects);
    err = wait_walker(child);
  } else {
    err = finish(fd, &w, pause, when, reason, pid, false);
  }
  if (err) {
    errno = err;
    return -1;
  }
  return 0;
}

__attribute__((noinline)) int preempt_heap_snapshot(int fd, const char *reason) {
  return snapshot(fd, reason, NULL, 0, (uintptr_t)__builtin_return_address(0));
}

__attribute__((noinline)) int preempt_heap_snapshot_from(int fd,
                                                         const char *reason,
                                                         const char *const *names,
                                                         size_t n) {
  if (!n || !names) {
    errno = EINVAL;
    return -1;
  }
  return snapshot(fd, reason, names, n, (uintptr_t)__builtin_return_address(0));
}
