/* A Boehm GC program: must build against preempt's gc.h, not libgc's. */
#include <gc.h>
#include <stdio.h>

#ifndef GC_PREEMPT
#error "this gc.h is not preempt's"
#endif

struct node {
  struct node *next;
  int value;
};

int main(void) {
  GC_INIT();
  struct node *head = NULL;
  for (int i = 0; i < 100000; i++) {
    struct node *n = GC_NEW(struct node);
    n->value = i;
    n->next = i % 1000 ? head : NULL; /* drop the list every 1000 */
    head = n;
  }
  GC_gcollect();
  long sum = 0;
  for (struct node *n = head; n; n = n->next)
    sum += n->value;
  if (sum != 99999L * 1000 - 999L * 1000 / 2 || GC_get_gc_no() == 0) {
    fprintf(stderr, "boehm consumer: sum %ld, %lu collections\n", sum,
            (unsigned long)GC_get_gc_no());
    return 1;
  }
  return 0;
}
