/* A shared library built with the plugin, loaded by test_registry. */
#include <preempt.h>

struct cell { struct cell *next; long v; };

void *testlib_build(int n) {
  struct cell *head = 0;
  for (int i = 0; i < n; i++) {
    struct cell *c = preempt_new(struct cell);
    c->v = i;
    c->next = head;
    head = c;
    if (i % 100 == 0)
      preempt_gc();
  }
  return head;
}

long testlib_check(void *p) {
  long s = 0;
  preempt_gc();
  for (struct cell *c = p; c; c = c->next)
    s += c->v;
  return s;
}
