/* Heap snapshots (preempt_heap_snapshot) of graphs built on the real heap,
 * read back with the one reader of the format (tools/heap/snapshot_read.c):
 * exact objects, sizes, types and edges; every kind of root with what
 * holds it; nothing unreachable; and the heap unharmed afterwards (nothing
 * freed by the snapshot, garbage still collected by the next collection). */
#define _GNU_SOURCE
#include "testutil.h"

#include "heap.h"
#include "snapshot.h"
#include "snapshot_format.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>

struct snode {
  struct snode *next;
  uint64_t id;
};

static struct snode *global_chain;
static __thread struct snode *tls_obj;

static struct snode *snode_chain(int n, uint64_t base) {
  struct snode *h = NULL;
  for (int i = 0; i < n; i++) {
    struct snode *s = preempt_new(struct snode);
    s->next = h;
    s->id = base + (uint64_t)i;
    h = s;
  }
  return h;
}

/* unhide(h) after the calls before it: unhide itself may be computed
 * early, and a pointer held across a call is, rightly, a root. */
__attribute__((noinline)) static void *reveal(uintptr_t h) {
  __asm__ __volatile__("" : "+r"(h));
  return unhide(h);
}

/* Takes a snapshot into a temporary file, from all roots or (names) the
 * named ranges only, and loads it. */
static void take_named(struct preempt_snap *s, const char *reason,
                       const char *const *names, size_t n) {
  char path[] = "/tmp/preempt-snapshot-test-XXXXXX";
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  cr_assert_eq(names ? preempt_heap_snapshot_from(fd, reason, names, n)
                     : preempt_heap_snapshot(fd, reason),
               0, "snapshot failed: %s", strerror(errno));
  close(fd);
  char err[512];
  int r = preempt_snap_load(path, s, err, sizeof err);
  unlink(path);
  cr_assert_eq(r, 0, "%s", err);
}

static void take(struct preempt_snap *s, const char *reason) {
  take_named(s, reason, NULL, 0);
}

static const char *type_of(const struct preempt_snap *s, uint32_t obj) {
  const char *n = s->types[s->objects[obj].type].name;
  return n ? n : "?";
}

/* The roots holding obj, of kind (0: any); the last one in *out. */
static int roots_of(const struct preempt_snap *s, uint32_t obj, unsigned kind,
                    const struct preempt_snap_root **out) {
  int n = 0;
  for (size_t i = 0; i < s->nroots; i++)
    if (s->roots[i].obj == obj && (!kind || s->roots[i].kind == kind)) {
      n++;
      if (out)
        *out = &s->roots[i];
    }
  return n;
}

Test(snapshot, chain_from_a_global_exactly) {
  global_chain = snode_chain(50, 1000);
  struct preempt_snap s;
  take(&s, "chain");
  cr_assert(s.info.present);
  cr_assert_str_eq(s.info.reason, "chain");
  cr_assert_eq(s.info.pid, (uint64_t)getpid());
  cr_assert_eq(s.info.objects, s.nobjects);
  cr_assert_eq(s.info.roots, s.nroots);
  cr_assert_gt(s.info.pause_ns, 0);
  int i = 49;
  for (struct snode *p = global_chain; p; p = p->next, i--) {
    uint32_t o = preempt_snap_find_exact(&s, (uintptr_t)p);
    cr_assert_neq(o, PREEMPT_SNAP_NONE, "node %d missing", i);
    cr_assert_str_eq(type_of(&s, o), "struct snode");
    cr_assert_geq(s.objects[o].size, sizeof(struct snode));
    cr_assert_eq(s.objects[o].flags & PREEMPT_SNAP_NOSCAN, 0);
    size_t a = s.edge_start[o], b = s.edge_start[o + 1];
    if (p->next) {
      cr_assert_eq(b - a, 1, "node %d: %zu edges", i, b - a);
      cr_assert_eq(s.edge_offset[a], 0); /* the next field */
      cr_assert_eq(s.objects[s.edge_target[a]].addr, (uintptr_t)p->next);
    } else {
      cr_assert_eq(b - a, 0);
    }
  }
  cr_assert_eq(i, -1);
  const struct preempt_snap_root *r = NULL;
  uint32_t head = preempt_snap_find_exact(&s, (uintptr_t)global_chain);
  cr_assert_eq(roots_of(&s, head, PREEMPT_ROOT_GLOBAL, &r), 1);
  cr_assert_eq(r->slot, (uintptr_t)&global_chain, "the global's address");
  /* The executable is among the modules, and holds the global. */
  int found = 0;
  for (size_t m = 0; m < s.nmodules; m++)
    found |= s.modules[m].lo <= r->slot && r->slot < s.modules[m].hi &&
             strstr(s.modules[m].path, "test_snapshot");
  cr_assert(found, "no module record covers the global");
  preempt_snap_free(&s);
  global_chain = NULL;
}

__attribute__((noinline)) static void snapshot_holding(struct preempt_snap *s,
                                                       uintptr_t *where) {
  struct snode *mine = snode_chain(3, 77);
  *where = hide(mine);
  take(s, "frame");
  preempt_keep_alive(mine);
}

Test(snapshot, object_only_in_a_stack_frame) {
  struct preempt_snap s;
  uintptr_t h;
  snapshot_holding(&s, &h);
  uint32_t o = preempt_snap_find_exact(&s, (uintptr_t)unhide(h));
  cr_assert_neq(o, PREEMPT_SNAP_NONE);
  const struct preempt_snap_root *r = NULL;
  int n = roots_of(&s, o, 0, &r);
  cr_assert_geq(n, 1);
  cr_assert(r->kind == PREEMPT_ROOT_STACK || r->kind == PREEMPT_ROOT_REGISTER,
            "kind %u", r->kind);
  cr_assert_eq(r->tid, (uint64_t)syscall(SYS_gettid));
  cr_assert_neq(preempt_snap_thread(&s, r->tid), NULL, "no THREAD record");
  /* Precise frames name the frame: its return address is in this file. */
  if (PRECISE_FRAMES && r->kind == PREEMPT_ROOT_STACK)
    cr_assert_neq(r->ip, 0);
  preempt_snap_free(&s);
}

Test(snapshot, only_from_a_thread_local) {
  tls_obj = snode_chain(1, 5);
  struct preempt_snap s;
  take(&s, "tls");
  uint32_t o = preempt_snap_find_exact(&s, (uintptr_t)tls_obj);
  cr_assert_neq(o, PREEMPT_SNAP_NONE);
  const struct preempt_snap_root *r = NULL;
  cr_assert_eq(roots_of(&s, o, PREEMPT_ROOT_TLS, &r), 1);
  cr_assert_eq(r->slot, (uintptr_t)&tls_obj);
  cr_assert_eq(r->tid, (uint64_t)syscall(SYS_gettid));
  preempt_snap_free(&s);
  tls_obj = NULL;
}

Test(snapshot, only_from_a_pinned_object_and_a_registered_range) {
  uintptr_t *foreign = malloc(2 * sizeof *foreign); /* not scanned */
  struct snode *pinned = snode_chain(1, 9);
  foreign[0] = hide(pinned);
  preempt_pin(pinned);
  static uintptr_t range[4];
  range[2] = (uintptr_t)snode_chain(1, 11);
  preempt_add_roots(range, sizeof range);
  uintptr_t ranged = hide((void *)range[2]);
  pinned = NULL;
  struct preempt_snap s;
  take(&s, "pins");
  uint32_t p = preempt_snap_find_exact(&s, (uintptr_t)unhide(foreign[0]));
  cr_assert_neq(p, PREEMPT_SNAP_NONE);
  cr_assert_eq(roots_of(&s, p, PREEMPT_ROOT_PINNED, NULL), 1);
  uint32_t q = preempt_snap_find_exact(&s, (uintptr_t)unhide(ranged));
  const struct preempt_snap_root *r = NULL;
  cr_assert_eq(roots_of(&s, q, PREEMPT_ROOT_RANGE, &r), 1);
  cr_assert_eq(r->slot, (uintptr_t)&range[2]);
  preempt_snap_free(&s);
  preempt_unpin(unhide(foreign[0]));
  preempt_remove_roots(range);
  free(foreign);
}

struct pair {
  char pad[24];
  struct snode *inner; /* points into the middle of another object */
};

Test(snapshot, interior_pointer_edges_name_the_object) {
  struct snode *big = preempt_new_array(struct snode, 8);
  struct pair *holder = preempt_new(struct pair);
  holder->inner = &big[5];
  global_chain = (struct snode *)holder;
  struct preempt_snap s;
  take(&s, "interior");
  uint32_t h = preempt_snap_find_exact(&s, (uintptr_t)holder);
  cr_assert_neq(h, PREEMPT_SNAP_NONE);
  size_t a = s.edge_start[h];
  cr_assert_eq(s.edge_start[h + 1] - a, 1);
  cr_assert_eq(s.edge_offset[a], 24);
  cr_assert_eq(s.objects[s.edge_target[a]].addr, (uintptr_t)big);
  preempt_snap_free(&s);
  global_chain = NULL;
}

/* The snapshot records the words the marker read; a word that points into
 * the heap but at no live object (a freed slot) is no edge. */
Test(snapshot, a_word_at_a_freed_slot_is_no_edge) {
  REQUIRE_PRECISE_FRAMES();
  /* Allocated first, so that neither takes the freed slot. */
  uintptr_t *holder = preempt_alloc(4 * sizeof(uintptr_t));
  struct snode *live = snode_chain(1, 501);
  holder[1] = (uintptr_t)live;
  global_chain = (struct snode *)holder;
  uintptr_t dead = hide(snode_chain(1, 500));
  preempt_gc();
  assert_collected(dead, "the object to be freed survived");
  holder[0] = (uintptr_t)reveal(dead); /* stale: a free slot now */
  holder[2] = (uintptr_t)reveal(dead) + 8; /* interior, just as stale */
  struct preempt_snap s;
  take(&s, "stale");
  uint32_t h = preempt_snap_find_exact(&s, (uintptr_t)holder);
  cr_assert_neq(h, PREEMPT_SNAP_NONE);
  size_t a = s.edge_start[h];
  cr_assert_eq(s.edge_start[h + 1] - a, 1, "%zu edges, not 1",
               s.edge_start[h + 1] - a);
  cr_assert_eq(s.edge_offset[a], 8);
  cr_assert_eq(s.objects[s.edge_target[a]].addr, (uintptr_t)live);
  cr_assert_eq(preempt_snap_find(&s, (uintptr_t)reveal(dead)), PREEMPT_SNAP_NONE);
  preempt_snap_free(&s);
  global_chain = NULL;
}

Test(snapshot, unreachable_objects_are_not_in_it_and_still_collected) {
  REQUIRE_PRECISE_FRAMES();
  global_chain = snode_chain(20, 300);
  uintptr_t dead = hide(snode_chain(20, 400));
  struct preempt_snap s;
  take(&s, "garbage");
  cr_assert_eq(preempt_snap_find_exact(&s, (uintptr_t)reveal(dead)),
               PREEMPT_SNAP_NONE, "an unreachable object is in the snapshot");
  for (struct snode *p = global_chain; p; p = p->next)
    cr_assert_neq(preempt_snap_find_exact(&s, (uintptr_t)p), PREEMPT_SNAP_NONE);
  preempt_snap_free(&s);
  /* The snapshot's marks are gone: the next collection frees the garbage
   * and keeps the chain. */
  preempt_gc();
  assert_collected(dead, "garbage survived a collection after a snapshot");
  int n = 0;
  for (struct snode *p = global_chain; p; p = p->next, n++)
    cr_assert_eq(p->id, 300 + 19 - (uint64_t)n);
  cr_assert_eq(n, 20);
  global_chain = NULL;
}

/* The file is written after the world restarts: a pipe drained by another
 * thread of the program does not deadlock. */
static void *drain(void *arg) {
  int fd = (int)(intptr_t)arg;
  char buf[4096];
  size_t total = 0;
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0)
    total += (size_t)n;
  return (void *)total;
}

Test(snapshot, to_a_pipe_read_by_another_thread, .timeout = 60) {
  global_chain = snode_chain(20000, 0); /* more than a pipe buffer */
  int fds[2];
  cr_assert_eq(pipe(fds), 0);
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, drain, (void *)(intptr_t)fds[0]), 0);
  cr_assert_eq(preempt_heap_snapshot(fds[1], NULL), 0);
  close(fds[1]);
  void *total;
  preempt_enter_blocking();
  pthread_join(t, &total);
  preempt_exit_blocking();
  close(fds[0]);
  cr_assert_gt((size_t)total, 20000 * 4, "only %zu bytes", (size_t)total);
  global_chain = NULL;
}

/* Walked by a forked copy (the runtime-test_snapshot-fork run, with
 * PREEMPT=snapfork=0): the program's SIGCHLD handler and waitpid(-1) never
 * see the walker, and the file names the program, not the walker. */
static _Atomic int sigchld_seen;
static void on_sigchld(int sig) {
  (void)sig;
  sigchld_seen++;
}

Test(snapshot, a_forked_walker_is_invisible_to_the_program) {
  struct sigaction sa = {.sa_handler = on_sigchld}, old;
  sigemptyset(&sa.sa_mask);
  cr_assert_eq(sigaction(SIGCHLD, &sa, &old), 0);
  global_chain = snode_chain(100, 7000);
  struct preempt_snap s;
  take(&s, "forked");
  cr_assert_eq(s.info.pid, (uint64_t)getpid(), "the file names pid %llu",
               (unsigned long long)s.info.pid);
  int status;
  errno = 0;
  cr_assert_eq(waitpid(-1, &status, WNOHANG), -1);
  cr_assert_eq(errno, ECHILD, "a child was left for the program to reap");
  cr_assert_eq(sigchld_seen, 0, "the program got SIGCHLD");
  sigaction(SIGCHLD, &old, NULL);
  preempt_snap_free(&s);
  global_chain = NULL;
}

Test(snapshot, bad_fd_fails_with_errno) {
  errno = 0;
  cr_assert_eq(preempt_heap_snapshot(-1, "bad"), -1);
  cr_assert_eq(errno, EBADF);
}

/* Retained sizes on a graph built on the real heap, computed as
 * preempt-heap computes them: a diamond under A (B and C both reach D),
 * a cycle D -> E -> D, an interior pointer from C into F, and S shared by
 * two globals (so retained by the roots, by no object). */
struct gnode {
  struct gnode *a, *b;
  uint64_t payload[2];
};
static struct gnode *g_top, *g_s1, *g_s2;

static struct gnode *gnew(void) { return preempt_new(struct gnode); }

Test(snapshot, retained_sizes_of_a_constructed_graph) {
  REQUIRE_PRECISE_FRAMES();
  struct gnode *A = gnew(), *B = gnew(), *C = gnew(), *D = gnew(), *E = gnew(),
               *S = gnew();
  struct gnode *F = preempt_new_array(struct gnode, 4);
  A->a = B;
  A->b = C;
  B->a = D;
  C->a = D;
  C->b = &F[2]; /* interior */
  D->a = E;
  E->a = D;
  g_top = A;
  g_s1 = g_s2 = S;
  uintptr_t h[7] = {hide(A), hide(B), hide(C), hide(D), hide(E), hide(F), hide(S)};
  A = B = C = D = E = F = S = NULL;
  struct preempt_snap s;
  take(&s, "graph");
  struct preempt_dom d;
  cr_assert_eq(preempt_dom_compute(&s, &d), 0);
  uint32_t o[7];
  uint64_t size[7];
  for (int i = 0; i < 7; i++) {
    o[i] = preempt_snap_find_exact(&s, (uintptr_t)reveal(h[i]));
    cr_assert_neq(o[i], PREEMPT_SNAP_NONE, "object %d missing", i);
    size[i] = s.objects[o[i]].size;
  }
  enum { iA, iB, iC, iD, iE, iF, iS };
  /* A dominates everything under it; B and C only themselves (D has two
   * parents), D the cycle (E), C the array (its only referent). */
  cr_assert_eq(d.retained[o[iA]],
               size[iA] + size[iB] + size[iC] + size[iD] + size[iE] + size[iF]);
  cr_assert_eq(d.retained[o[iB]], size[iB]);
  cr_assert_eq(d.retained[o[iC]], size[iC] + size[iF]);
  cr_assert_eq(d.retained[o[iD]], size[iD] + size[iE]);
  cr_assert_eq(d.retained[o[iE]], size[iE]);
  cr_assert_eq(d.idom[o[iD]], o[iA]);
  cr_assert_eq(d.idom[o[iE]], o[iD]);
  cr_assert_eq(d.idom[o[iF]], o[iC]);
  /* Two globals: its immediate dominator is the roots themselves. */
  cr_assert_eq(d.idom[o[iS]], PREEMPT_DOM_ROOT);
  cr_assert_eq(d.retained[o[iS]], size[iS]);
  cr_assert_eq(roots_of(&s, o[iS], PREEMPT_ROOT_GLOBAL, NULL), 2);
  preempt_dom_free(&d);
  preempt_snap_free(&s);
  g_top = g_s1 = g_s2 = NULL;
}

/* Registered ranges carry their names into the snapshot, and a snapshot
 * can start from named ranges only. */

Test(snapshot, named_roots_and_snapshots_from_them) {
  uintptr_t *cache_a = calloc(4, sizeof *cache_a);
  uintptr_t *cache_b = calloc(4, sizeof *cache_b);
  cache_a[1] = (uintptr_t)snode_chain(5, 10);
  cache_b[2] = (uintptr_t)snode_chain(7, 20);
  global_chain = snode_chain(3, 30);
  preempt_add_named_roots(cache_a, 4 * sizeof *cache_a, "cache A");
  preempt_add_named_roots(cache_b, 4 * sizeof *cache_b, "cache B");

  struct preempt_snap s;
  take(&s, "all");
  const struct preempt_snap_root *r = NULL;
  uint32_t a = preempt_snap_find_exact(&s, cache_a[1]);
  cr_assert_eq(roots_of(&s, a, PREEMPT_ROOT_RANGE, &r), 1);
  cr_assert_str_eq(r->name, "cache A");
  cr_assert_eq(r->slot, (uintptr_t)&cache_a[1]);
  preempt_snap_free(&s);

  const char *only[] = {"cache A"};
  take_named(&s, "from", only, 1);
  cr_assert_eq(s.nobjects, 5, "%zu objects from cache A", s.nobjects);
  cr_assert_eq(s.nroots, 1);
  cr_assert_str_eq(s.roots[0].name, "cache A");
  for (struct snode *p = (struct snode *)cache_a[1]; p; p = p->next)
    cr_assert_neq(preempt_snap_find_exact(&s, (uintptr_t)p), PREEMPT_SNAP_NONE);
  cr_assert_eq(preempt_snap_find_exact(&s, cache_b[2]), PREEMPT_SNAP_NONE);
  cr_assert_eq(preempt_snap_find_exact(&s, (uintptr_t)global_chain),
               PREEMPT_SNAP_NONE);
  preempt_snap_free(&s);

  const char *both[] = {"cache B", "cache A"};
  take_named(&s, "from", both, 2);
  cr_assert_eq(s.nobjects, 12);
  preempt_snap_free(&s);

  const char *missing[] = {"cache A", "no such cache"};
  errno = 0;
  cr_assert_eq(preempt_heap_snapshot_from(1, "x", missing, 2), -1);
  cr_assert_eq(errno, ENOENT);

  preempt_remove_roots(cache_a);
  preempt_remove_roots(cache_b);
  free(cache_a);
  free(cache_b);
  global_chain = NULL;
}
