// The kinds of roots: values in callee-saved registers and in spill slots,
// vectors of pointers, escaped locals, byval arguments and alloca()
// regions whose address and size are only known at run time; and a call
// to a noreturn function, whose return address is past its function's end.
//
// RUN: %cc -O2 -g -c %s -o %t.o
// RUN: %maps %t.o | FileCheck-19 %s
// RUN: %crosscheck %t.o
// RUN: %maps --json %t.o | FileCheck-19 --check-prefix=JSON %s
//
// -ffunction-sections: one code section per function, so return addresses
// are relative to different sections (and llvm-symbolizer gets a copy of
// the object in which the sections have distinct addresses).
// RUN: %cc -O2 -g -ffunction-sections -c %s -o %t.fs.o
// RUN: %maps %t.fs.o | FileCheck-19 --check-prefix=FS %s
// RUN: %crosscheck %t.fs.o
//
// -O0 code keeps more in memory; the maps must still agree with LLVM's.
// RUN: %cc -O0 -g -c %s -o %t.O0.o
// RUN: %crosscheck %t.O0.o
// RUN: %maps %t.O0.o | FileCheck-19 --check-prefix=O0 %s
// O0: function many
// O0: function checked
// O0: checked+0x{{[0-9a-f]+}}: call fatal at {{.*}}roots.c:
#include <alloca.h>

struct big {
  void *a, *b, *c, *d;
};
struct pair {
  void *a, *b;
};
void *make(void);
void take(void *);
void take8(void *, void *, void *, void *, void *, void *, void *, void *);
__attribute__((noreturn)) void fatal(const char *msg, ...);

// Eight values live across a call: more than the six callee-saved
// registers, so some are in spill slots.
// CHECK-LABEL: function many
// FS-LABEL:    function many
void many(void) {
  void *a = make(), *b = make(), *c = make(), *d = make();
  void *e = make(), *f = make(), *g = make(), *h = make();
  // CHECK:      .text+0x{{[0-9a-f]+}} many+0x{{[0-9a-f]+}}: call take at {{.*}}roots.c:[[@LINE+11]]{{$}}
  // CHECK-NEXT:   value {{in|at}} {{.*}}
  // CHECK-NEXT:   value {{in|at}} {{.*}}
  // CHECK-NEXT:   value {{in|at}} {{.*}}
  // CHECK-NEXT:   value {{in|at}} {{.*}}
  // CHECK-NEXT:   value {{in|at}} {{.*}}
  // CHECK-NEXT:   value {{in|at}} {{.*}}
  // CHECK-NEXT:   value {{in|at}} {{.*}}
  // CHECK-NEXT:   value {{in|at}} {{.*}}
  // CHECK-NEXT: many+0x{{[0-9a-f]+}}: call take8
  // FS:         .text.many+0x{{[0-9a-f]+}} many+0x{{[0-9a-f]+}}: call take at {{.*}}roots.c:[[@LINE+1]]{{$}}
  take(0);
  take8(a, b, c, d, e, f, g, h);
  take8(h, g, f, e, d, c, b, a);
}
// CHECK: value at [rsp+{{[0-9]+}}]

// Two pointers loaded and stored as one vector, kept in a 16-byte slot.
// CHECK-LABEL: function copy2
void copy2(struct pair *dst, struct pair *src) {
  void *a = src->a, *b = src->b;
  // CHECK:      copy2+0x{{[0-9a-f]+}}: call take at {{.*}}roots.c:[[@LINE+3]]{{$}}
  // CHECK-NEXT:   value in {{rbx|rbp|r12|r13|r14|r15}}
  // CHECK-NEXT:   value (16 bytes) at [rsp{{(\+[0-9]+)?}}]
  take(0);
  dst->a = a;
  dst->b = b;
}

// alloca(): the region's address and size are both values in the frame.
// CHECK-LABEL: function dyn
// FS-LABEL:    function dyn
int dyn(int n) {
  void **p = alloca(n * sizeof *p);
  for (int i = 0; i < n; i++)
    p[i] = make();
  // CHECK:      dyn+0x{{[0-9a-f]+}}: call take at {{.*}}roots.c:[[@LINE+3]]{{$}}
  // CHECK-NEXT:   region at {{[a-z0-9]+}}-held address, size in {{[a-z0-9]+|\[rsp.*\]}}
  // FS:         .text.dyn+0x{{[0-9a-f]+}} dyn+0x{{[0-9a-f]+}}: call take at {{.*}}roots.c:[[@LINE+1]]{{$}}
  take(0);
  take(p[n - 1]);
  return n;
}

// A byval argument lives in the caller's frame, above the return address.
// CHECK-LABEL: function byval
int byval(struct big b) {
  // CHECK:      byval+0x{{[0-9a-f]+}}: call take at {{.*}}roots.c:[[@LINE+2]]{{$}}
  // CHECK-NEXT:   region [rsp+{{[0-9]+}}, 32 bytes)
  take(0);
  take(&b);
  return 0;
}

// The call to fatal is the last instruction of the function: its return
// address is the function's end, yet it belongs to checked.
// CHECK-LABEL: function checked
// FS-LABEL:    function checked
void *checked(void *p) {
  if (!p)
    // CHECK: checked+0x{{[0-9a-f]+}}: call fatal at {{.*}}roots.c:[[@LINE+2]]{{$}}
    // FS:    .text.checked+0x{{[0-9a-f]+}} checked+0x{{[0-9a-f]+}}: call fatal at {{.*}}roots.c:[[@LINE+1]]{{$}}
    fatal("null pointer %p", p);
  take(p);
  return p;
}

// CHECK-LABEL: summary of
// CHECK: root regions {{[3-9]}}

// JSON: {"loc":{"kind":"ind","reg":"rsp","offset":{{[0-9]+}}},"text":"value at [rsp+{{[0-9]+}}]"}
// JSON: {"function":"copy2",{{.*}}{"loc":{"kind":"ind_n","reg":"rsp","offset":{{[0-9]+}},"size":16},"text":"value (16 bytes) at [rsp{{.*}}]"}
// JSON: {"function":"dyn",{{.*}}"regions":[{"base":{"kind":"reg","reg":"{{[a-z0-9]+}}"},"size":{"kind":"{{reg|ind}}",
// JSON: {"function":"byval",{{.*}}"regions":[{"base":{"kind":"direct","reg":"rsp","offset":{{[0-9]+}}},"size":{"kind":"const","value":32}
