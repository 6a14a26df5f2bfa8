// Misuse of the unsafe-point markers and attribute: clear errors naming the
// construct.
// RUN: not %cc -fsyntax-only %s 2>&1 | FileCheck %s --check-prefix=ATTR
// RUN: not %cc -O2 -DRANGES -c %s -o /dev/null 2>&1 | FileCheck %s --check-prefix=RANGE
#include <preempt.h>
#include <stdint.h>

#ifndef RANGES
// ATTR: unsafe-errors.c:[[@LINE+1]]:{{[0-9]+}}: error: 'preempt_unsafe' applies only to functions
int global __attribute__((preempt_unsafe));
// ATTR: unsafe-errors.c:[[@LINE+1]]:{{[0-9]+}}: error: 'preempt_unsafe' takes no arguments
void with_args(void) __attribute__((preempt_unsafe(1)));
// ATTR-NOT: error:
// ATTR: 2 errors generated
PREEMPT_UNSAFE void fine(void) {}
[[preempt::unsafe]] void fine_too(void) {}
#else
void *leaves(void *p, int c) {
  // RANGE: unsafe-errors.c:[[@LINE+1]]:{{[0-9]+}}: error: preempt: a path from this preempt_unsafe_begin leaves function 'leaves' without preempt_unsafe_end
  preempt_unsafe_begin(p);
  if (c)
    return p;
  preempt_unsafe_end(p);
  return p;
}
void *nested(void *p, void *q) {
  preempt_unsafe_begin(p);
  // RANGE: unsafe-errors.c:[[@LINE+1]]:{{[0-9]+}}: error: preempt: preempt_unsafe_begin inside the unsafe range opened at line
  preempt_unsafe_begin(q);
  preempt_unsafe_end(q);
  preempt_unsafe_end(p);
  return p;
}
void *alone(void *p) {
  // RANGE: unsafe-errors.c:[[@LINE+1]]:{{[0-9]+}}: error: preempt: preempt_unsafe_end is not reached from any preempt_unsafe_begin in function 'alone'
  preempt_unsafe_end(p);
  return p;
}
#endif
