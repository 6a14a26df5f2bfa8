/* bench/ffi's foreign code: a tiny "C library" built WITHOUT the plugin
 * (clang-19 -O2, no maps), in its own object file so that no call into it
 * is inlined.  ffibench.c calls it directly, through a bare ffi_call and
 * through preempt_ffi_call / preempt_ffi_call_leaf; the callback entries
 * call back into instrumented code through a callback's C pointer. */
#include "foreign.h"

int ffib_add(int a, int b) { return a + b; }

int ffib_add8(int a, int b, int c, int d, int e, int f, int g, int h) {
  return a + b + c + d + e + f + g + h;
}

int ffib_peek(const int *p, int b) { return *p + b; }

int ffib_call1(ffib_cb cb, int a, int b) { return cb(a, b); }

int ffib_calln(ffib_cb cb, int n) {
  int acc = 0;
  for (int i = 0; i < n; i++)
    acc = cb(acc, i);
  return acc;
}
