/* The main demo: a garbage-collected linked structure in plain C, with the
 * precision that only stack maps give.
 *
 *   preempt-cc -O2 -g demo.c -o demo && ./demo
 */
#include <preempt.h>
#include <stdint.h>
#include <stdio.h>

struct node {
  struct node *next;
  long value;
};

static struct node *cons(long value, struct node *next) {
  struct node *n = preempt_new(struct node);
  n->value = value;
  n->next = next;
  return n;
}

static long sum(const struct node *l) {
  long s = 0;
  for (; l; l = l->next)
    s += l->value;
  return s;
}

/* Where a pointer was, as a number the collector cannot mistake for one. */
static uintptr_t disguise(const void *p) { return (uintptr_t)p ^ 0xa5a5a5a5a5a5a5a5u; }
static void *undisguise(uintptr_t d) { return (void *)(d ^ 0xa5a5a5a5a5a5a5a5u); }

__attribute__((noinline)) static uintptr_t dead_local(void) {
  struct node *big = NULL;
  for (long i = 0; i < 1000; i++)
    big = cons(i, big);
  printf("  a list of 1000 nodes, sum %ld\n", sum(big));
  uintptr_t where = disguise(big);
  /* big is dead from here on, though its bits are likely still in a
   * register: a conservative collector (Boehm) keeps the list, we don't. */
  preempt_gc();
  return where;
}

int main(void) {
  printf("1. Short-lived garbage is collected, long-lived data survives:\n");
  struct node *kept = NULL;
  for (long round = 0; round < 100; round++) {
    struct node *tmp = NULL;
    for (long i = 0; i < 10000; i++)
      tmp = cons(i, tmp);
    kept = cons(sum(tmp), kept);
  }
  struct preempt_stats st;
  preempt_read_stats(&st);
  printf("  1,000,100 nodes allocated, %llu collections, kept list sums to %ld\n",
         (unsigned long long)st.collections, sum(kept));

  printf("2. A pointer that is dead in the program is not a root:\n");
  uintptr_t where = dead_local();
  printf("  after preempt_gc(), the list is %s\n",
         preempt_is_heap_object(undisguise(where)) ? "still there (imprecise!)"
                                                   : "gone");

  printf("3. Maps of this program: %llu call sites with precise maps\n",
         (unsigned long long)st.stack_records);
  printf("4. Live objects by type:\n");
  fflush(stdout);
  preempt_heap_report(1);
  preempt_keep_alive(kept);
  return 0;
}
