/* Heap snapshot cost (bench/heap/run.py): the pause of
 * preempt_heap_snapshot next to the pause of a full collection of the same
 * heap, the snapshot's size and the memory the runtime adds while taking
 * it.
 *
 * Usage: heap graph N OUT REPS    N objects of struct node (two pointers,
 *                                 16 bytes of payload: 32 bytes) in a
 *                                 random graph, ~2 edges per object
 *        heap tree N OUT REPS     N objects of struct node in binary trees
 *                                 built depth first (allocation order
 *                                 follows the structure, as in most
 *                                 programs), one leaf in 8 also pointing at
 *                                 a random earlier node (shared subtrees)
 *        heap big MB OUT REPS     MB megabytes of 64 KiB..1 MiB pointer-free
 *                                 buffers, each held by a small typed
 *                                 struct big (two pointers)
 *
 * Every object is reachable from the global array roots[].  REPS times, a
 * full collection (preempt_gc; its pause from preempt_read_stats) then a
 * snapshot into OUT (its pause from the file's INFO record, read by the
 * driver; OUT is truncated each time, the last one is kept).  REPS 0: one
 * snapshot and nothing measured (snapshots for preempt-heap).  Prints
 *
 *   RESULT objects=O heap_bytes=H base_rss_kb=R gc_pause_ns=P1,P2..
 *          snap_pause_ns=S1,S2.. snap_wall_ns=W1,W2.. gc_cpu_ns=C1,C2..
 *          snap_cpu_ns=C1,C2.. gc_extra_kb=K snap_extra_kb=K walker_kb=K
 *
 * (snap_pause_ns: the world stopped, from the snapshot's INFO record;
 * snap_wall_ns: the whole call, file written; *_cpu_ns: the calling
 * thread's CPU time in the call, the whole call for the snapshot.)
 *
 * The extra memory is the peak RSS during the call minus the RSS before
 * it: the peak is reset before each call by writing 5 to
 * /proc/self/clear_refs (Linux >= 4.0), so each call's own peak shows;
 * the largest over the repetitions is printed.  A heap walked by a forked
 * copy (PREEMPT=snapfork) costs the program nothing there: walker_kb is
 * the copy's peak RSS (getrusage of the reaped children; pages it shares
 * with the program included), 0 if there was none. */
#define _GNU_SOURCE
#include <sys/resource.h>
#include <preempt.h>

#include "snapshot_format.h" /* runtime/: the INFO record's pause */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct node {
  struct node *a, *b;
  uint64_t payload[2];
};

struct big {
  struct big *next;
  unsigned char *data; /* pointer-free buffer, 64 KiB..1 MiB */
  size_t size;
};

#define NROOTS 1024
/* The graph's entry points: a global, so a root of the data segment. */
static void *roots[NROOTS];

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t next_random(void) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return rng;
}

static uint64_t clock_ns(clockid_t c) {
  struct timespec t;
  clock_gettime(c, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}
static uint64_t now_ns(void) { return clock_ns(CLOCK_MONOTONIC); }
/* This thread's CPU time: on a loaded machine a pause's wall time also
 * counts the time the stopped world's one running thread waited for a
 * CPU. */
static uint64_t cpu_ns(void) { return clock_ns(CLOCK_THREAD_CPUTIME_ID); }

/* VmRSS or VmHWM of this process, KiB; 0 if unreadable. */
static long status_kb(const char *field) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f)
    return 0;
  char line[256];
  size_t n = strlen(field);
  long v = 0;
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, field, n) && line[n] == ':') {
      v = atol(line + n + 1);
      break;
    }
  fclose(f);
  return v;
}

/* Resets VmHWM to the current RSS; 0 if the kernel cannot. */
static int reset_peak(void) {
  int fd = open("/proc/self/clear_refs", O_WRONLY);
  if (fd < 0)
    return 0;
  int ok = write(fd, "5", 1) == 1;
  close(fd);
  return ok;
}

/* N nodes; node i's a links it into one of NROOTS chains over a random
 * order of the nodes (every node reachable, chains short enough for any
 * mark stack), b points to a random node: two edges per node, both to
 * random addresses. */
static void build_graph(size_t n) {
  struct node **all = malloc(n * sizeof *all); /* not scanned: GC is off */
  if (!all) {
    fprintf(stderr, "heap: build_graph: no memory for %zu pointers\n", n);
    exit(1);
  }
  for (size_t i = 0; i < n; i++) {
    struct node *x = preempt_new(struct node);
    x->payload[0] = i;
    x->payload[1] = next_random();
    all[i] = x;
  }
  for (size_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
    size_t j = next_random() % (i + 1);
    struct node *t = all[i];
    all[i] = all[j];
    all[j] = t;
  }
  size_t per = (n + NROOTS - 1) / NROOTS;
  for (size_t i = 0; i < n; i++) {
    if (i % per == 0)
      roots[i / per] = all[i];
    all[i]->a = (i + 1) % per && i + 1 < n ? all[i + 1] : NULL;
    all[i]->b = all[next_random() % n];
  }
  free(all);
}

/* About mb megabytes of buffers of 64 KiB..1 MiB, each behind a struct
 * big, in NROOTS lists. */
/* A binary tree of n nodes in preorder, its root returned; every node is
 * also recorded in all[*k]. */
static struct node *tree(size_t n, struct node **all, size_t *k) {
  if (!n)
    return NULL;
  struct node *x = preempt_new(struct node);
  x->payload[0] = *k;
  all[(*k)++] = x;
  size_t left = (n - 1) / 2;
  x->a = tree(left, all, k);
  x->b = tree(n - 1 - left, all, k);
  if (!x->a && !x->b && next_random() % 8 == 0)
    x->b = all[next_random() % *k]; /* shared with another subtree */
  return x;
}

static void build_tree(size_t n) {
  struct node **all = malloc(n * sizeof *all); /* not scanned: GC is off */
  if (!all) {
    fprintf(stderr, "heap: build_tree: no memory for %zu pointers\n", n);
    exit(1);
  }
  size_t k = 0;
  for (size_t r = 0; r < NROOTS; r++)
    roots[r] = tree(n / NROOTS + (r < n % NROOTS), all, &k);
  free(all);
}

static size_t build_big(size_t mb) {
  size_t total = 0, count = 0, goal = mb << 20;
  while (total < goal) {
    size_t size = (64u << 10) + next_random() % ((1u << 20) - (64u << 10) + 1);
    struct big *b = preempt_new(struct big);
    b->data = preempt_alloc_noscan(size);
    memset(b->data, (int)(count & 0xff), size); /* resident, like real data */
    b->size = size;
    b->next = roots[count % NROOTS];
    roots[count % NROOTS] = b;
    total += size;
    count++;
  }
  return count * 2;
}

/* The pause recorded in the INFO record, the first after the magic. */
static uint64_t info_pause(const char *path) {
  uint8_t buf[256];
  FILE *f = fopen(path, "rb");
  size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
  if (f)
    fclose(f);
  const uint8_t *p = buf + 9, *end = buf + n;
  uint64_t len, version, pid, when, pause;
  if (n < 10 || memcmp(buf, PREEMPT_SNAP_MAGIC, 8) ||
      buf[8] != PREEMPT_SNAP_INFO || !preempt_snap_get_uleb(&p, end, &len) ||
      !preempt_snap_get_uleb(&p, end, &version) ||
      !preempt_snap_get_uleb(&p, end, &pid) ||
      !preempt_snap_get_uleb(&p, end, &when) ||
      !preempt_snap_get_uleb(&p, end, &pause)) {
    fprintf(stderr, "heap: %s: no INFO record at the start\n", path);
    exit(1);
  }
  return pause;
}

static void snapshot_to(const char *path, uint64_t *wall, uint64_t *cpu) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    fprintf(stderr, "heap: %s: %s\n", path, strerror(errno));
    exit(1);
  }
  uint64_t t0 = now_ns(), c0 = cpu_ns();
  if (preempt_heap_snapshot(fd, "bench/heap") != 0) {
    fprintf(stderr, "heap: preempt_heap_snapshot(%s): %s\n", path,
            strerror(errno));
    exit(1);
  }
  *wall = now_ns() - t0;
  *cpu = cpu_ns() - c0;
  close(fd);
}

int main(int argc, char **argv) {
  if (argc != 5 || (strcmp(argv[1], "graph") && strcmp(argv[1], "tree") &&
                    strcmp(argv[1], "big"))) {
    fprintf(stderr, "usage: heap graph N OUT REPS\n"
                    "       heap tree N OUT REPS\n"
                    "       heap big MB OUT REPS\n");
    return 2;
  }
  size_t n = strtoull(argv[2], NULL, 0);
  const char *out = argv[3];
  int reps = atoi(argv[4]);
  preempt_set_gc_percent(-1); /* the builders hold nodes in malloc memory */
  size_t objects = n;
  if (!strcmp(argv[1], "graph"))
    build_graph(n);
  else if (!strcmp(argv[1], "tree"))
    build_tree(n);
  else
    objects = build_big(n);
  uint64_t wall, cpu;
  if (reps <= 0) {
    snapshot_to(out, &wall, &cpu);
    printf("RESULT objects=%zu snap_pause_ns=%" PRIu64 " snap_wall_ns=%" PRIu64
           "\n", objects, info_pause(out), wall);
    return 0;
  }
  preempt_gc(); /* settles the heap: the first measured one is like the rest */
  struct preempt_stats st;
  preempt_read_stats(&st);
  printf("RESULT objects=%zu heap_bytes=%" PRIu64 " base_rss_kb=%ld",
         objects, st.heap_live_bytes, status_kb("VmRSS"));
  long gc_extra = -1, snap_extra = -1;
  char gcs[512] = "", snaps[512] = "", pauses[512] = "";
  char gcpu[512] = "", scpu[512] = "";
  size_t gl = 0, sl = 0, pl = 0, gcl = 0, scl = 0;
  for (int r = 0; r < reps; r++) {
    int peak = reset_peak();
    long before = status_kb("VmRSS");
    uint64_t c0 = cpu_ns();
    preempt_gc();
    cpu = cpu_ns() - c0;
    gcl += (size_t)snprintf(gcpu + gcl, sizeof gcpu - gcl, "%s%" PRIu64,
                            r ? "," : "", cpu);
    long extra = peak ? status_kb("VmHWM") - before : -1;
    gc_extra = extra > gc_extra ? extra : gc_extra;
    preempt_read_stats(&st);
    gl += (size_t)snprintf(gcs + gl, sizeof gcs - gl, "%s%" PRIu64, r ? "," : "",
                           st.last_pause_ns);

    peak = reset_peak();
    before = status_kb("VmRSS");
    snapshot_to(out, &wall, &cpu);
    scl += (size_t)snprintf(scpu + scl, sizeof scpu - scl, "%s%" PRIu64,
                            r ? "," : "", cpu);
    extra = peak ? status_kb("VmHWM") - before : -1;
    snap_extra = extra > snap_extra ? extra : snap_extra;
    sl += (size_t)snprintf(snaps + sl, sizeof snaps - sl, "%s%" PRIu64,
                           r ? "," : "", wall);
    pl += (size_t)snprintf(pauses + pl, sizeof pauses - pl, "%s%" PRIu64,
                           r ? "," : "", info_pause(out));
    if (gl >= sizeof gcs - 24 || sl >= sizeof snaps - 24 ||
        pl >= sizeof pauses - 24 || gcl >= sizeof gcpu - 24 ||
        scl >= sizeof scpu - 24)
      break;
  }
  struct rusage children;
  getrusage(RUSAGE_CHILDREN, &children);
  printf(" gc_pause_ns=%s snap_pause_ns=%s snap_wall_ns=%s gc_cpu_ns=%s "
         "snap_cpu_ns=%s gc_extra_kb=%ld snap_extra_kb=%ld walker_kb=%ld\n",
         gcs, pauses, snaps, gcpu, scpu, gc_extra, snap_extra,
         children.ru_maxrss);
  /* Still all there: the collections freed nothing reachable. */
  size_t seen = 0;
  for (int i = 0; i < NROOTS; i++)
    if (roots[i])
      seen++;
  if (!seen) {
    fprintf(stderr, "heap: every root is gone\n");
    return 1;
  }
  return 0;
}
