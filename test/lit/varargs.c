// x86-64 variadic calls must still tell the callee in %al how many vector
// registers carry arguments (LLVM's gc.statepoint wrapping loses it; our
// deopt bundles keep the call a call).
// RUN: %cc -O2 -S -o - %s | FileCheck %s
// RUN: %cc -O0 -S -o - %s | FileCheck %s
#include <stdio.h>

void *keep(void *);

// CHECK-LABEL: f:
// CHECK: movb $2, %al
// CHECK-NOT: {{call|, %(al|ax|eax|rax)( |$)}}
// CHECK: callq printf
// CHECK: movb $3, %al
// CHECK-NOT: {{call|, %(al|ax|eax|rax)( |$)}}
// CHECK: callq printf
void f(void *p, double x) {
  printf("%g %g\n", 0.25, x);
  printf("%g %g %g %p\n", 0.25, x, x, keep(p));
  keep(p);
}
