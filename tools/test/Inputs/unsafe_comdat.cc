// An inline function with an unsafe range, defined in two translation
// units (COMDAT): the linker keeps one copy of the code and of its table.
#include <preempt.h>
#include <stdint.h>
#include <stdio.h>
inline void *preempt_test_roundtrip(void *p, uintptr_t k1, uintptr_t k2) {
  preempt_unsafe_begin(p);
  uintptr_t h = (uintptr_t)p ^ k1;
  void *q = (void *)(h ^ k2);
  preempt_unsafe_end(q);
  return q;
}
#if UNIT == 1
void *other(void *p, uintptr_t k);
int main() {
  int x;
  volatile uintptr_t k = 0x5a5a;
  printf("%d\n", preempt_test_roundtrip(&x, k, k) == &x && other(&x, k) == &x);
}
#else
void *other(void *p, uintptr_t k) { return preempt_test_roundtrip(p, k, k); }
#endif
