// Type layouts (plugin/Layouts.cpp, passes/Layouts.cpp): each
// preempt_new(T) whose T can be described becomes preempt__alloc_layout
// with a constant blob (runtime/layout_format.h): magic "PRLY", size,
// flags (1: array), pointer count, names length, then (offset, name
// offset) per pointer word and the names.  Pointers, uintptr_t and unions
// with a pointer member count; doubles, chars, longs, bit-fields and
// function pointers do not.  Packed pointers and flexible array members
// leave the type without a layout (conservative).
// RUN: %clang -O2 -fplugin=%plugin -I%include -S -emit-llvm %s -o - | FileCheck %s
// Without the plugin the macros compile to the conservative call.
// RUN: %clang -O2 -I%include -S -emit-llvm %s -o - | FileCheck %s --check-prefix=PLAIN
// PLAIN-NOT: preempt__alloc_layout
// And with -fplugin-arg-preempt-no-layouts (programs that keep pointers in
// a long or a double) every object stays conservative.
// RUN: %clang -O2 -fplugin=%plugin -fplugin-arg-preempt-no-layouts -I%include -S -emit-llvm %s -o - | FileCheck %s --check-prefix=PLAIN
#include <preempt.h>
#include <stdint.h>

struct inner {
  double d;
  void *p;
};
union either {
  double d;
  struct node *n;
};
struct node {
  struct node *next;   // 0
  double val;          // 8
  char name[12];       // 16
  uintptr_t tagged;    // 32
  union either e;      // 40
  struct inner in[2];  // 48: p at 56 and 72
  void (*fn)(void);    // 80
  long plain;          // 88
  unsigned bits : 3;   // 96
};
struct packed {
  char c;
  void *p;
} __attribute__((packed));
struct flexible {
  int n;
  void *items[];
};

// 104 = 0x68 bytes, flags 0, 5 pointers, 32 bytes of names; pointers at
// 0, 32, 40, 56, 72 with names at 0, 5, 12, 16, 24.
// CHECK-DAG: @[[NODE:preempt.layout[.0-9]*]] = private unnamed_addr constant [92 x i8] c"PRLYh\00\00\00\00\00\00\00\05\00\00\00 \00\00\00\00\00\00\00\00\00\00\00 \00\00\00\05\00\00\00(\00\00\00\0C\00\00\008\00\00\00\10\00\00\00H\00\00\00\18\00\00\00next\00tagged\00e.n\00in[0].p\00in[1].p\00"
// An array of doubles: flags 1, no pointer.
// CHECK-DAG: @[[DOUBLES:preempt.layout[.0-9]*]] = private unnamed_addr constant [20 x i8] c"PRLY\08\00\00\00\01\00\00\00\00\00\00\00\00\00\00\00"
// CHECK-LABEL: define {{.*}} @make
// CHECK: call ptr @preempt__alloc_layout(i64 noundef 104, {{.*}}, ptr @[[NODE]])
// CHECK: call ptr @preempt__alloc_slot(i64 noundef 9,
// CHECK: call ptr @preempt__alloc_slot(i64 noundef 8,
// CHECK: call ptr @preempt__alloc_layout(i64 noundef %{{.*}}, {{.*}}, ptr @[[DOUBLES]])
void *sink(void *, void *, void *, void *);
void *make(int n) {
  return sink(preempt_new(struct node), preempt_new(struct packed),
              preempt_new(struct flexible), preempt_new_array(double, n));
}
