/* A second translation unit for a library with two map notes. */
#include <preempt.h>

void *testlib2_keep(void *p) {
  preempt_gc();
  return p;
}
