/* Linked with -nostartfiles so that no .fini follows .text: the call to
 * die, the last instruction of the code, returns to one past its end. */
#include <stdlib.h>

__attribute__((noreturn, noinline, visibility("hidden"))) void die(void *p) {
  (void)p;
  abort();
}

void *lib_alloc(int n) {
  void *p = malloc((size_t)n);
  void *q = malloc((size_t)n);
  if (n > 1000)
    die(q);
  return p;
}
