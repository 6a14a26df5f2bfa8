// The maps of a relocatable object: function and callee names, roots,
// source lines, the summary, JSON, --function, and agreement with LLVM's
// own StackMap copy.  exec.test and shared.test link this file too and
// check it with the EXE and SO prefixes.
//
// RUN: %cc -O2 -g -c %s -o %t.o
// RUN: %maps %t.o | FileCheck-19 %s
// RUN: %maps --function make_list %t.o | FileCheck-19 --check-prefix=FUNC %s
// RUN: %maps --summary %t.o | FileCheck-19 --check-prefix=SUM %s
// RUN: %maps --json %t.o | FileCheck-19 --check-prefix=JSON %s
// RUN: %maps --json %t.o | %python -m json.tool > /dev/null
// RUN: %crosscheck %t.o
// RUN: %maps %t.o | grep -c '^  \.text+' > %t.count
// RUN: llvm-readobj-19 --stackmap %t.o | grep -c 'Record ID' | diff - %t.count
//
// Without debug information there are no lines, and nothing else changes.
// RUN: %cc -O2 -c %s -o %t.nodebug.o
// RUN: %maps %t.nodebug.o | FileCheck-19 --check-prefix=NOLINES %s
// RUN: %maps --no-lines %t.o | FileCheck-19 --check-prefix=NOLINES %s
//
// An unknown function is an error.
// RUN: %expect_exit 1 %maps --function no_such_function %t.o 2>&1 | FileCheck-19 --check-prefix=NOFUNC %s
// NOFUNC: no stack map records in function 'no_such_function'
#include <stdio.h>
#include <stdlib.h>

struct node {
  struct node *next;
  int value;
};

void visit(void *p);
void (*volatile hook)(void *) = visit; /* no specialisation of call_each */

// CHECK: {{.*}}.o: relocatable object, [[#RECORDS:]] records in [[#FUNCS:]] functions
// CHECK: note at offset 0x{{[0-9a-f]+}} (.note.preempt): [[#FUNCS]] functions, [[#RECORDS]] records

// CHECK-LABEL: function make_list
// FUNC:      function make_list
// FUNC-NOT:  function
// EXE-LABEL: function make_list
// SO-LABEL:  function make_list
__attribute__((noinline)) struct node *make_list(int n) {
  struct node *head = NULL;
  for (int i = 0; i < n; i++) {
    // The list so far is live across the allocation: one root value.
    // CHECK:      .text+0x{{[0-9a-f]+}} make_list+0x{{[0-9a-f]+}}: call malloc at {{.*}}basic.c:[[@LINE+5]]{{$}}
    // CHECK-NEXT:   value in {{rbx|rbp|r12|r13|r14|r15}}
    // CHECK-NOT:    value
    // EXE:        0x{{[0-9a-f]+}} make_list+0x{{[0-9a-f]+}}: call malloc@plt at {{.*}}basic.c:[[@LINE+2]]{{$}}
    // SO:         0x{{[0-9a-f]+}} make_list+0x{{[0-9a-f]+}}: call malloc@plt at {{.*}}basic.c:[[@LINE+1]]{{$}}
    struct node *x = malloc(sizeof *x);
    x->next = head;
    x->value = i;
    head = x;
    // CHECK:      make_list+0x{{[0-9a-f]+}}: call printf at {{.*}}basic.c:[[@LINE+3]]{{$}}
    // CHECK-NEXT:   value in {{rbx|rbp|r12|r13|r14|r15}}
    // EXE:        make_list+0x{{[0-9a-f]+}}: call printf@plt at {{.*}}basic.c:[[@LINE+1]]{{$}}
    printf("node %d\n", i);
  }
  return head;
}

// An escaped local array is a root region in the frame.
// CHECK-LABEL: function escape
// EXE-LABEL:   function escape
// SO-LABEL:    function escape
__attribute__((noinline)) int escape(struct node *list) {
  void *slots[4] = {list, list->next, 0, 0};
  // CHECK:      escape+0x{{[0-9a-f]+}}: call visit at {{.*}}basic.c:[[@LINE+5]]{{$}}
  // CHECK-NOT:  function
  // CHECK:        region [rsp{{(\+[0-9]+)?}}, 32 bytes)
  // EXE:        escape+0x{{[0-9a-f]+}}: call visit at {{.*}}basic.c:[[@LINE+2]]{{$}}
  // SO:         escape+0x{{[0-9a-f]+}}: call visit@plt at {{.*}}basic.c:[[@LINE+1]]{{$}}
  visit(slots);
  return slots[2] != 0;
}

// Calls through a pointer; nothing is live across the last one.
// CHECK-LABEL: function call_each
// EXE-LABEL:   function call_each
__attribute__((noinline)) void call_each(void (*fn)(void *), struct node *l) {
  // CHECK:      call_each+0x{{[0-9a-f]+}}: call (indirect) at {{.*}}basic.c:[[@LINE+3]]{{$}}
  // CHECK-NEXT:   value in {{rbx|rbp|r12|r13|r14|r15}}
  // EXE:        call_each+0x{{[0-9a-f]+}}: call (indirect) at {{.*}}basic.c:[[@LINE+1]]{{$}}
  fn(l);
  // CHECK:      call_each+0x{{[0-9a-f]+}}: call (indirect) at {{.*}}basic.c:[[@LINE+3]]{{$}}
  // CHECK-NEXT:   no roots
  // EXE:        call_each+0x{{[0-9a-f]+}}: call (indirect) at {{.*}}basic.c:[[@LINE+1]]{{$}}
  fn(l->next);
  printf("done\n"); /* a tail call: no record */
}

// CHECK-LABEL: function main
// EXE-LABEL:   function main
// SO-LABEL:    function main
int main(int argc, char **argv) {
  (void)argv;
  // CHECK:      main+0x{{[0-9a-f]+}}: call make_list at {{.*}}basic.c:[[@LINE+4]]{{$}}
  // CHECK-NEXT:   no roots
  // EXE:        main+0x{{[0-9a-f]+}}: call make_list at {{.*}}basic.c:[[@LINE+2]]{{$}}
  // SO:         main+0x{{[0-9a-f]+}}: call make_list{{(@plt)?}} at {{.*}}basic.c:[[@LINE+1]]{{$}}
  struct node *list = make_list(argc + 2);
  // CHECK:      main+0x{{[0-9a-f]+}}: call escape at {{.*}}basic.c:[[@LINE+2]]{{$}}
  // CHECK-NEXT:   value in {{rbx|rbp|r12|r13|r14|r15}}
  int r = escape(list);
  call_each(hook, list);
  // CHECK:      main+0x{{[0-9a-f]+}}: call printf at {{.*}}basic.c:[[@LINE+2]]{{$}}
  // CHECK-NEXT:   no roots
  printf("%d\n", r);
  return 0;
}

#ifdef WITH_VISIT /* for linking it alone; a tail call, so no record */
__attribute__((noinline)) void visit(void *p) { printf("%p\n", p); }
#endif

// CHECK-LABEL: summary of {{.*}}.o (relocatable object):
// CHECK-NEXT:    functions with maps  [[#FUNCS]]
// CHECK-NEXT:    records              [[#RECORDS]]
// CHECK-NEXT:    root values          {{[0-9]+}} ({{[0-9.]+}} per record)
// CHECK-NEXT:    root regions         {{[1-9][0-9]*}} ({{[0-9.]+}} per record)
// CHECK-NEXT:    .note.preempt        {{[0-9]+}} bytes in 1 note ({{[0-9.]+}} per record)
// CHECK-NEXT:    code                 {{[0-9]+}} bytes
// CHECK-NEXT:    map bytes per code byte 0.{{[0-9]+}}
// CHECK-NEXT:    .llvm_stackmaps      {{[0-9]+}} bytes

// FUNC-LABEL: summary of

// SUM-NOT: function
// SUM-NOT: call
// SUM:     summary of {{.*}}.o (relocatable object):
// SUM:       functions with maps  4
// SUM:       records              {{[0-9]+}}

// JSON:      {"file":"{{.*}}.o","type":"relocatable","notes":[{"offset":{{[0-9]+}},"section":".note.preempt","functions":4,
// JSON:      {"function":"make_list",{{.*}}"section":".text",{{.*}}"callee":"malloc","call":"direct","source":{"file":"{{.*}}basic.c","line":{{[0-9]+}},{{.*}}"values":[{"loc":{"kind":"reg","reg":"{{r[a-z0-9]+}}"},"text":"value in {{r[a-z0-9]+}}"}],"regions":[]}
// JSON:      {"function":"escape",{{.*}}"callee":"visit",{{.*}}"regions":[{"base":{"kind":"direct","reg":"rsp","offset":{{[0-9]+}}},"size":{"kind":"const","value":32},"text":"region [rsp{{.*}}, 32 bytes)"}]}
// JSON:      {"function":"call_each",{{.*}}"callee":"(indirect)","call":"indirect"
// JSON:      "summary":{"notes":1,"functions":4,"records":{{[0-9]+}},

// NOLINES:     function make_list
// NOLINES:     make_list+0x{{[0-9a-f]+}}: call malloc{{$}}
// NOLINES-NOT: basic.c:
// NOLINES:     summary of
