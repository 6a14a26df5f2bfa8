// Ordinary C constructs keep compiling, keep their semantics, and get maps
// where they call out.  (test/corpus runs whole programs built of them.)
// RUN: %cc -O2 -S -emit-llvm -fno-discard-value-names -o - %s | FileCheck %s
// RUN: %cc -O0 -c %s -o %t0.o && %cc -O2 -c %s -o %t2.o
// RUN: %cc -O2 -fPIC -c %s -o %tp.o && %readobj --stackmap %tp.o | FileCheck %s --check-prefix=OBJ
// OBJ: Num Records: {{[1-9][0-9]*}}
#include <setjmp.h>
#include <stdatomic.h>
#include <stdlib.h>

void *take(void *);
void sink(long);

// Atomics are instructions, not calls; the pointer is live across take().
// CHECK-LABEL: define {{.*}} @atomics(ptr {{.*}}%counter, ptr {{.*}}%p)
// CHECK: atomicrmw add ptr %counter
// CHECK: call ptr @take(ptr {{.*}}%p){{.*}}[ "deopt"(i32 1, ptr %counter) ]
long atomics(_Atomic long *counter, void *p) {
  atomic_fetch_add(counter, 1);
  take(p);
  return atomic_load(counter);
}

// Computed goto: indirectbr keeps working, values live across the calls
// inside the dispatch loop are listed.
// CHECK-LABEL: define {{.*}} @computed_goto(ptr {{.*}}%code, ptr {{.*}}%env)
// CHECK-DAG: indirectbr
// CHECK-DAG: call ptr @take(ptr {{.*}}%env){{.*}}[ "deopt"(i32 {{[1-9]}}, {{.*}}ptr %env{{.*}}) ]
long computed_goto(const unsigned char *code, void *env) {
  static void *ops[] = {&&op_take, &&op_add, &&op_end};
  long acc = 0;
#define NEXT goto *ops[*code++]
  NEXT;
op_take:
  take(env);
  NEXT;
op_add:
  acc += *code++;
  NEXT;
op_end:
  return acc;
}

// __attribute__((cleanup)) calls its function at scope exit: the variable
// is live until then (here the cleanup call itself is a tail call).
static void release(void **p) { take(*p); }
// CHECK-LABEL: define {{.*}} @cleanup(ptr {{.*}}%q)
// CHECK: call void @sink(i64 {{.*}}1){{.*}}[ "deopt"(i32 1, ptr %q) ]
void cleanup(void *q) {
  void *p __attribute__((cleanup(release))) = q;
  sink(1);
}

// Thread-local variables: their address is computed, not a root value.
_Thread_local void *tls_slot;
// CHECK-LABEL: define {{.*}} @thread_local(ptr {{.*}}%p)
// CHECK: call ptr @take(ptr {{.*}}%p){{.*}}[ "deopt"(i32 0) ]
void *thread_local(void *p) {
  tls_slot = take(p);
  return tls_slot;
}

// Vector code: the loop is vectorised, the call after it still has a map.
// CHECK-LABEL: define {{.*}} @vectors(ptr {{.*}}%a, ptr {{.*}}%b, i64 {{.*}}%n)
// CHECK: <{{[0-9]+}} x double>
// CHECK: call ptr @take(ptr {{.*}}%a){{.*}}[ "deopt"
double vectors(double *a, const double *b, long n) {
  for (long i = 0; i < n; i++)
    a[i] = a[i] * 2.0 + b[i];
  take(a);
  return a[0];
}

// setjmp is not a safepoint (it returns twice); calls around it are.
static jmp_buf jb;
// CHECK-LABEL: define {{.*}} @with_setjmp(ptr {{.*}}%p)
// CHECK: call i32 @_setjmp(ptr {{.*}}){{( #[0-9]+)?$}}
// CHECK: call ptr @take(ptr {{.*}}%p){{.*}}[ "deopt"
int with_setjmp(void *p) {
  if (setjmp(jb))
    return 1;
  take(p);
  return 0;
}

// Inline asm is not a call.
// CHECK-LABEL: define {{.*}} @inline_asm(ptr {{.*}}%p)
// CHECK: call ptr asm "", "=r,0,~{dirflag},~{fpsr},~{flags}"(ptr %p){{( #[0-9]+)?(, !srcloc !.*)?$}}
void *inline_asm(void *p) {
  __asm__("" : "+r"(p));
  return take(p);
}

// alloca() memory handed to a call is a region at that call.
// CHECK-LABEL: define {{.*}} @with_alloca(i64 {{.*}}%n)
// CHECK: call ptr @take(ptr {{.*}}){{.*}}[ "deopt"(i32 0, ptr %{{.*}}, i64 %{{.*}}) ]
void *with_alloca(long n) {
  void **v = __builtin_alloca((size_t)n * sizeof(void *));
  return take(v);
}
