// The plugin's keep_alive attribute checks what a plain cleanup cannot.
// RUN: not %cc -fsyntax-only %s 2>&1 | FileCheck %s
#include <preempt.h>

struct big { void *p; long x; };
// CHECK: keepalive-errors.c:[[@LINE+1]]:{{[0-9]+}}: error: 'preempt_keep_alive' applies only to local variables
void *global PREEMPT_KEEP_ALIVE;

void f(void) {
  // CHECK: keepalive-errors.c:[[@LINE+1]]:{{[0-9]+}}: error: 'preempt_keep_alive' needs a pointer variable; 's' has type 'struct big'
  struct big s PREEMPT_KEEP_ALIVE = {0, 0};
  // CHECK: keepalive-errors.c:[[@LINE+1]]:{{[0-9]+}}: error: 'preempt_keep_alive' on integer 'i' needs a pointer-sized type such as uintptr_t
  int i PREEMPT_KEEP_ALIVE = 0;
  // No error for these:
  // CHECK-NOT: error:
  // CHECK: 3 errors generated
  void *ok PREEMPT_KEEP_ALIVE = 0;
  uintptr_t u PREEMPT_KEEP_ALIVE = 0;
  (void)s; (void)i; (void)ok; (void)u;
}
