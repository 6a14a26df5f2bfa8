/* A second translation unit for the tests that link two objects. */
#include <stdio.h>
#include <stdlib.h>

void visit(void *p) {
  void *copy = malloc(16);
  printf("%p %p\n", p, copy);
  free(copy);
}
