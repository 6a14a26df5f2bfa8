// Tagged values in C, through codegen: each root lands where the map
// format can describe it (a callee-saved register or a word-aligned slot;
// a long double by its first word, a vector as 16 bytes), so the runtime
// accepts the maps, at -O0 and -O2.
// RUN: %cc -O2 -c %s -o %t2.o && %maps --no-lines %t2.o | FileCheck %s --check-prefixes=CHECK,O2
// RUN: %cc -O0 -c %s -o %t0.o && %maps --no-lines %t0.o | FileCheck %s --check-prefixes=CHECK,O0
union num { double d; void *p; };
struct value { int tag; union num u; };
void gc(void);
void use(void *);
struct value make(void);
long double make_ld(void);
typedef double v2d __attribute__((vector_size(16)));
v2d make_v(void);

// CHECK-LABEL: function by_value
// CHECK: call gc
// O2-NEXT: value in {{rbx|rbp|r1[2-5]}}
// O0-NEXT: region [rsp
void by_value(struct value v) {
  gc();
  use(v.u.p);
}

// CHECK-LABEL: function returned
// CHECK: call gc
// O2-NEXT: value in {{rbx|rbp|r1[2-5]}}
// O0-NEXT: region [rsp
void returned(void) {
  struct value v = make();
  gc();
  use(v.u.p);
}

// CHECK-LABEL: function long_double
// CHECK: call gc
// O2-NEXT: value in {{rbx|rbp|r1[2-5]}}
// O0-NEXT: region [rsp
void long_double(void) {
  union { long double ld; void *p; } u;
  u.ld = make_ld();
  gc();
  use(u.p);
}

// CHECK-LABEL: function vector
// CHECK: call gc
// O2-NEXT: value (16 bytes) at [rsp{{.*}}]
// O0-NEXT: region [rsp
void vector(void) {
  v2d v = make_v();
  gc();
  void *p;
  __builtin_memcpy(&p, &v, sizeof p);
  use(p);
}
// CHECK: summary
