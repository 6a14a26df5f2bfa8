// "inlined from" names the function whose inlined copy holds the call, and
// nothing else: string literals (.L.str*) next to the code were once read
// as the inlining function.
//
// RUN: %cc -O2 -g -c %s -o %t.o
// RUN: %maps %t.o | FileCheck-19 %s --implicit-check-not=.L.str
// RUN: %cc -O2 -g %s -o %t.exe
// RUN: %maps %t.exe | FileCheck-19 %s --implicit-check-not=.L.str
//
// The demo's first screen: its printf lines name no inlining function.
// RUN: %cc -O2 -g -c %S/../../examples/demo.c -o %t.demo.o
// RUN: %maps %t.demo.o | FileCheck-19 --check-prefix=DEMO %s --implicit-check-not=.L.str
// DEMO: call {{preempt__alloc_slot|preempt__alloc_layout|preempt_alloc}}{{.*}} (inlined from cons)
// DEMO: call printf{{(@plt)?}} at {{.*}}demo.c:{{[0-9]+}}{{$}}
#include <stdio.h>
#include <stdlib.h>

void sink(void *p);
static inline __attribute__((always_inline)) void report(const char *what,
                                                         void *p);

// CHECK-LABEL: function make
__attribute__((noinline)) void *make(void) {
  void *p = malloc(16);
  // CHECK: call printf{{(@plt)?}} at {{.*}}inlined.c:[[@LINE+1]]{{$}}
  printf("plain: %p\n", p);
  report("first", p);
  sink(p);
  return p;
}

static inline __attribute__((always_inline)) void report(const char *what,
                                                         void *p) {
  // CHECK: call printf{{(@plt)?}} at {{.*}}inlined.c:[[@LINE+1]] (inlined from report){{$}}
  printf("report: %s %p\n", what, p);
}

void sink(void *p) { (void)p; }

int main(void) { return make() == NULL; }
