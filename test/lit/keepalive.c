// keep_alive from C at -O2: the expression form and the variable
// annotation; both compile to nothing but extend the maps.
// RUN: %cc -O2 -S -emit-llvm -fno-discard-value-names -o - %s | FileCheck %s
// RUN: %cc -O2 -S -o - %s | FileCheck %s --check-prefix=ASM
#include <preempt.h>
#include <unistd.h>

struct file { int fd; };
void consume(struct file *f);

// CHECK-LABEL: define {{.*}} @expression(ptr {{.*}}%f, ptr {{.*}}%buf)
// CHECK: call {{.*}} @read({{.*}}){{.*}} [ "deopt"(i32 2, ptr %f, ptr %buf) ]
// CHECK: call {{.*}} @read({{.*}}){{.*}} [ "deopt"(i32 1, ptr %f) ]
// CHECK-NOT: asm
// CHECK: ret
long expression(struct file *f, char *buf) {
  int fd = f->fd;
  long n = read(fd, buf, 16);
  n += read(fd, buf, 16);
  preempt_keep_alive(f);
  return n;
}

// CHECK-LABEL: define {{.*}} @annotation(ptr {{.*}}%fp, ptr {{.*}}%buf)
// CHECK: call {{.*}} @read({{.*}}){{.*}} [ "deopt"(i32 2, ptr %fp, ptr %buf) ]
// CHECK: call {{.*}} @read({{.*}}){{.*}} [ "deopt"(i32 1, ptr %fp) ]
// CHECK-NOT: asm
// CHECK: ret
long annotation(struct file *fp, char *buf) {
  struct file *f PREEMPT_KEEP_ALIVE = fp;
  int fd = f->fd;
  long n = read(fd, buf, 16);
  n += read(fd, buf, 16);
  return n;
}

// CHECK-LABEL: define {{.*}} @none(ptr {{.*}}%f, ptr {{.*}}%buf)
// CHECK: call {{.*}} @read({{.*}}){{.*}} [ "deopt"(i32 1, ptr %buf) ]
// CHECK: call {{.*}} @read({{.*}}){{.*}} [ "deopt"(i32 0) ]
long none(struct file *f, char *buf) {
  int fd = f->fd;
  long n = read(fd, buf, 16);
  n += read(fd, buf, 16);
  return n;
}

// Zero instructions: nothing of the marker reaches the assembly.
// ASM-NOT: preempt_keep_alive
