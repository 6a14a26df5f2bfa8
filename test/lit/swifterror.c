// swifterror arguments travel in a register the call must not disturb:
// such calls get no map, the error slot is never a region, and at -O0
// (where codegen tracks that register across blocks) the function is left
// to conservative scanning.
// RUN: %cc -O2 -S -emit-llvm -fno-discard-value-names -o - %s | FileCheck %s
// RUN: %cc -O0 -fplugin-arg-preempt-stats -c %s -o %t.o 2>&1 | FileCheck %s --check-prefix=O0
// O0: 2 functions left to conservative scanning
#define SWIFT __attribute__((swiftcall))
#define ERROR __attribute__((swift_error_result))
#define CONTEXT __attribute__((swift_context))

SWIFT long parse(const char *s, CONTEXT void *ctx, ERROR void **err);
void note(void *);

// CHECK-LABEL: define {{.*}} @caller
// CHECK: call swiftcc i64 @parse({{.*}}swifterror{{.*}}){{( #[0-9]+)?$}}
// CHECK-NOT: swifterror{{.*}}"deopt"

// The swifterror argument itself is never listed as a root.
// CHECK-LABEL: define {{.*}} @callee(ptr {{.*}}%s, ptr {{.*}}%ctx, ptr {{.*}}swifterror %0)
// CHECK: [[ERR:%[0-9]+]] = load ptr, ptr %0
// CHECK: call void @note(ptr {{.*}}%ctx){{.*}}[ "deopt"(i32 3, ptr %s, ptr %ctx, ptr [[ERR]]) ]
long caller(const char *s, void *ctx) {
  void *err = 0;
  long r = parse(s, ctx, &err);
  note(err);
  return r;
}

SWIFT long callee(const char *s, CONTEXT void *ctx, ERROR void **err) {
  note(ctx);
  return parse(s, ctx, err);
}
