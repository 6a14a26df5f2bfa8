/* False retention from a stale stack slot, through Boehm GC's gc.h
 * (bench/gccompat/run.py): the same source built with -lgc and with
 * `preempt-cc --gc`.
 *
 * Usage: stale_stack [NODES] [DEPTH] [-c]  (default 100000 nodes, depth 40)
 *
 * The mechanism.  A conservative collector scans every word of the stack
 * between the stack pointer and the stack's base, whether or not the frame
 * owning it still uses it.  Memory a frame reserves but has not written yet
 * still holds whatever earlier, deeper calls left there.
 *
 *   1. At depth DEPTH, build_list() allocates a list of NODES nodes.  Its
 *      head lives in a callee-saved register across each GC_MALLOC call,
 *      and every allocation (GC_malloc's prologue, and a collection's
 *      register push) stores that register in the frames below.  The list
 *      is summed, then dropped: after the call returns nothing refers to
 *      it, but copies of its head stay in the dead stack area.  (The
 *      calls at the end of phase 1 decide what is left there: with the
 *      links registered in a second pass over the list, that pass's calls
 *      overwrote the area with the last node they saw, the tail, and
 *      Boehm kept one node.  So the links are registered as nodes are
 *      made, and the last word stored is the head.)
 *   2. Later, at the same depth, tally_runs() does ordinary work with a
 *      large local int array used as a work stack (an explicit stack for a
 *      run-length scan); only its first entries are ever written, so the
 *      rest still holds phase 1's words.  It collects (in a real program: an
 *      allocation that triggers a collection) while that frame is active.
 *
 * Boehm scans the whole frame, finds the stale head in the unwritten part
 * of the int array and keeps the list (all of it: each node keeps the next).
 * preempt scans the frame from the plugin's maps: the values live across
 * the call, and escaped locals that may hold a pointer; an int array can
 * not hold one, so it is not scanned, and the list is freed.
 *
 * Control (-c): between the phases, a call at the same depth zeroes a
 * stack area larger than phase 2's frames: nothing stale is left, so both
 * collectors must free the list; this checks the counting itself.
 *
 * Measuring: every node gets a disappearing link (GC_GENERAL_REGISTER_
 * DISAPPEARING_LINK) in a malloc'd table, which neither collector scans;
 * a link still set after GC_gcollect() is a node still alive.  Also printed:
 * GC_get_memory_use() after a second collection, once the links are gone
 * (run.py subtracts the control run's figure).
 *
 * libgc 8.2.2 with clang 19 keeps the whole list at -O0 to -Os and at
 * depths 0 to 300; preempt keeps none.
 *
 * Before collecting, phase 2 also counts the words of its int array that
 * point into a node (stale_words): the stale copies are there for both
 * collectors; what differs is whether the collector reads them.
 *
 *   RESULT mode=stale|control nodes=N node_size=S stale_words=W
 *          retained=K retained_bytes=B memory_use_before=M0
 *          memory_use_after=M1 longest_run=L
 *
 * Exit status 1 if the list was damaged or its links cleared while it was
 * live (a collector freed a live node, or the counting is broken) or the
 * control run retained anything. */
#include <gc.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))
#define WORK_STACK 4096

struct node {
  struct node *next;
  long value;
  long pad[2];
};

static void **links; /* malloc'd: not a root for either collector */
static long nlinks;
static size_t node_size; /* GC_size of a node: what the collector gave */

NOINLINE static struct node *build_list(long n) {
  struct node *head = NULL;
  for (long i = 0; i < n; i++) {
    struct node *x = GC_MALLOC(sizeof *x);
    if (!x) {
      fprintf(stderr, "stale_stack: out of memory\n");
      exit(1);
    }
    x->next = head;
    x->value = i;
    links[i] = x;
    if (GC_GENERAL_REGISTER_DISAPPEARING_LINK(&links[i], x) != GC_SUCCESS) {
      fprintf(stderr, "stale_stack: GC_general_register_disappearing_link "
                      "failed\n");
      exit(1);
    }
    head = x;
  }
  nlinks = n;
  node_size = head ? GC_size(head) : 0;
  return head;
}

NOINLINE static long sum_list(const struct node *l) {
  long s = 0, k = 0;
  for (; l; l = l->next, k++)
    s += l->value;
  return k == nlinks ? s : -1;
}

static long links_set(void) {
  long k = 0;
  for (long i = 0; i < nlinks; i++)
    k += links[i] != NULL;
  return k;
}

/* Phase 1: the list lives and dies within this call. */
NOINLINE static long use_list(long n) {
  struct node *l = build_list(n);
  GC_gcollect(); /* the list is live here: it must survive, links set */
  long set = links_set();
  if (set != n) {
    fprintf(stderr, "stale_stack: %ld of %ld links of the live list were "
                    "cleared by GC_gcollect\n", n - set, n);
    exit(1);
  }
  return sum_list(l);
}

/* Nodes still alive; then the links go, so that their own records do not
 * count in the memory figure taken after the next collection. */
static long retained(void) {
  long k = links_set();
  for (long i = 0; i < nlinks; i++)
    if (links[i])
      GC_unregister_disappearing_link(&links[i]);
  return k;
}

/* Words of [p, p+size) that point into a node: the stale copies a
 * conservative scan of that memory would find.  Read through volatile, as
 * the memory is uninitialised as far as C is concerned; nothing is kept. */
NOINLINE static long stale_words(const void *p, size_t size) {
  const volatile uintptr_t *w = (const volatile uintptr_t *)p;
  long k = 0;
  for (size_t i = 0; i < size / sizeof *w; i++) {
    void *base = GC_base((void *)w[i]);
    k += base != NULL && GC_size(base) == node_size;
  }
  return k;
}

/* Phase 2: lengths of the runs of equal values in a short sequence, with
 * an explicit stack of run starts (room for WORK_STACK; this input needs
 * a few).  Collects while the frame is active. */
NOINLINE static long tally_runs(long *kept, size_t *mem, long *stale) {
  int starts[WORK_STACK];
  int top = 0;
  static const int seq[] = {3, 3, 1, 4, 4, 4, 1, 5, 9, 9};
  int n = (int)(sizeof seq / sizeof seq[0]);
  for (int i = 0; i < n && top < WORK_STACK; i++)
    if (i == 0 || seq[i] != seq[i - 1])
      starts[top++] = i;
  *stale = stale_words(starts, sizeof starts);
  GC_gcollect();
  *kept = retained();
  GC_gcollect();
  *mem = GC_get_memory_use();
  long longest = 0;
  for (int r = 0; r < top; r++) {
    long len = (r + 1 < top ? starts[r + 1] : n) - starts[r];
    if (len > longest)
      longest = len;
  }
  return longest;
}

/* Control only: zeroes the stack below this depth, as far as phase 2's
 * frames reach and more. */
NOINLINE static long scrub(void) {
  char area[2 * WORK_STACK * sizeof(int)];
  memset(area, 0, sizeof area);
  __asm__ volatile("" : : "r"(area) : "memory"); /* keep the memset */
  return area[0];
}

/* The phases run at the same depth, through the same frames. */
NOINLINE static long at_depth(int depth, int phase, long n, long *kept,
                              size_t *mem, long *stale) {
  if (depth > 0)
    return at_depth(depth - 1, phase, n, kept, mem, stale) + 1;
  if (phase == 0)
    return use_list(n);
  if (phase == 1)
    return scrub();
  return tally_runs(kept, mem, stale);
}

int main(int argc, char **argv) {
  GC_INIT();
  long n = argc > 1 ? atol(argv[1]) : 100000;
  int depth = argc > 2 ? atoi(argv[2]) : 40;
  int control = argc > 3 && strcmp(argv[3], "-c") == 0;
  if (n < 1 || depth < 0 || depth > 10000) {
    fprintf(stderr, "usage: stale_stack [NODES] [DEPTH] [-c]\n");
    return 2;
  }
  links = malloc((size_t)n * sizeof *links);
  if (!links) {
    fprintf(stderr, "stale_stack: out of memory\n");
    return 1;
  }
  GC_gcollect();
  size_t before = GC_get_memory_use();
  long sum = at_depth(depth, 0, n, NULL, NULL, NULL) - depth;
  if (nlinks != n || sum != n * (n - 1) / 2) {
    fprintf(stderr, "stale_stack: the live list was damaged: %ld nodes, sum "
                    "%ld (expected %ld, %ld)\n", nlinks, sum, n,
            n * (n - 1) / 2);
    return 1;
  }
  long kept = -1, stale = -1;
  size_t after = 0;
  if (control)
    at_depth(depth, 1, n, NULL, NULL, NULL);
  long longest = at_depth(depth, 2, n, &kept, &after, &stale) - depth;
  printf("RESULT mode=%s nodes=%ld node_size=%zu stale_words=%ld "
         "retained=%ld retained_bytes=%ld memory_use_before=%zu "
         "memory_use_after=%zu longest_run=%ld\n",
         control ? "control" : "stale", n, node_size, stale, kept,
         kept * (long)node_size, before, after, longest);
  if (control && kept != 0) {
    fprintf(stderr, "stale_stack: the control run retained %ld nodes\n", kept);
    return 1;
  }
  return 0;
}
