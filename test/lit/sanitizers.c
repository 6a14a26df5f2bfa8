// AddressSanitizer (and its relatives) run after our pass and move locals
// into a frame of their own; such functions get one "whole frame" region
// instead of a computed address per local, so register pressure does not
// grow with the number of locals (it used to fail with "ran out of
// registers" in a function calling setjmp).
// RUN: %cc -O1 -fsanitize=address -c %s -o %t.o
// RUN: %maps --no-lines %t.o | FileCheck %s
// CHECK: function f
// CHECK: call work
// CHECK-NEXT: the whole frame, conservatively
#include <setjmp.h>

void use(long *p);
void work(void);
static jmp_buf jb;

int f(void) {
  long a0[4], a1[4], a2[4], a3[4], a4[4], a5[4];
  use(a0), use(a1), use(a2), use(a3), use(a4), use(a5);
  if (setjmp(jb))
    return 1;
  work();
  use(a0), use(a1), use(a2), use(a3), use(a4), use(a5);
  return 0;
}
