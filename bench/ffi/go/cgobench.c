/* bench/ffi/go: the C side of the cgo benchmarks, the same functions as
 * ../foreign.c (goAdd is the exported Go function). */
#include "_cgo_export.h"

int cgob_add(int a, int b) { return a + b; }

int cgob_call1(int a, int b) { return goAdd(a, b); }

int cgob_calln(int n) {
  int acc = 0;
  for (int i = 0; i < n; i++)
    acc = goAdd(acc, i);
  return acc;
}
