#include <preempt.h>
#include <stdio.h>

struct cell { struct cell *next; long v; };

int main(void) {
  struct cell *l = 0;
  for (long i = 0; i < 100000; i++) {
    struct cell *c = preempt_new(struct cell);
    c->v = i;
    c->next = i % 100 ? 0 : l; /* keep one in a hundred */
    if (!(i % 100))
      l = c;
  }
  preempt_gc();
  long n = 0;
  for (struct cell *c = l; c; c = c->next)
    n++;
  struct preempt_stats s;
  preempt_read_stats(&s);
  printf("kept %ld, maps for %llu call sites\n", n,
         (unsigned long long)s.stack_records);
  return n == 1000 && s.stack_records > 0 ? 0 : 1;
}
