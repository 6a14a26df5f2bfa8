/* Driver for the edge-case tests. */
#include "edge.h"

#include <stdio.h>

int main(void) {
  run_call_tests();
  run_flow_tests();
  printf("edge: done\n");
  return 0;
}
