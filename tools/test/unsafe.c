// Unsafe-point tables: what the plugin records for each kind of range, as
// preempt-maps shows it; --pc answers; the table follows its code through
// --gc-sections and COMDAT, needs no text relocation, and code built with
// -fno-asynchronous-unwind-tables still has unwind information.
//
// RUN: %cc -O2 -g -c %s -o %t.o
// RUN: %maps %t.o | FileCheck-19 %s
// RUN: %maps --json %t.o | FileCheck-19 --check-prefix=JSON %s
// RUN: %maps --json %t.o | %python -m json.tool > /dev/null
//
// Linked: the same ranges at addresses, and --pc.
// RUN: %cc -O2 -g %s -o %t.exe -L%libdir -lpreempt -Wl,-rpath,%libdir
// RUN: %t.exe | FileCheck-19 --check-prefix=OUT %s
// RUN: %maps %t.exe | FileCheck-19 --check-prefix=EXE %s
// RUN: %maps --pc 0x$(nm %t.exe | awk '/ T hash_ptr$/ {print $1}') %t.exe | FileCheck-19 --check-prefix=PCFN %s
// RUN: %maps --pc $(%maps %t.exe | sed -n 's/^  \(0x[0-9a-f]*\)-.* roundtrip+.*marked range.*/\1/p') %t.exe | FileCheck-19 --check-prefix=PCRANGE %s
// RUN: %maps --pc $(%maps %t.exe | sed -n 's/^  \(0x[0-9a-f]*\)-.* untag+.*integer.*/\1/p') %t.exe | FileCheck-19 --check-prefix=PCAUTO %s
// RUN: %maps --pc 0x$(nm %t.exe | awk '/ T main$/ {print $1}') %t.exe | FileCheck-19 --check-prefix=PCSAFE %s
// RUN: %expect_exit 1 %maps --pc 0x10 %t.exe | FileCheck-19 --check-prefix=PCNOCODE %s
// RUN: %expect_exit 1 %maps --pc 0x10 %t.o 2>&1 | FileCheck-19 --check-prefix=PCREL %s
//
// --gc-sections drops an unused function's ranges with it.
// RUN: %cc -O2 -ffunction-sections -c %s -o %t.fs.o
// RUN: %maps %t.fs.o | FileCheck-19 --check-prefix=FS %s
// RUN: clang-19 -Wl,--gc-sections %t.fs.o -o %t.gc -L%libdir -lpreempt -Wl,-rpath,%libdir
// RUN: %maps %t.gc | FileCheck-19 --check-prefix=GC %s
// RUN: %t.gc | FileCheck-19 --check-prefix=OUT %s
//
// A shared library: no text relocation.
// RUN: %cc -O2 -fPIC -shared %s -o %t.so -L%libdir -lpreempt
// RUN: llvm-readelf-19 -d %t.so | FileCheck-19 --check-prefix=NOTEXTREL %s
// RUN: %maps %t.so | FileCheck-19 --check-prefix=EXE %s
//
// -fno-asynchronous-unwind-tables: the plugin keeps them (compare with the
// same file built without it, which has none).
// RUN: %cc -O2 -fno-asynchronous-unwind-tables -fno-unwind-tables %s -o %t.nouw -L%libdir -lpreempt -Wl,-rpath,%libdir
// RUN: %maps --pc 0x$(nm %t.nouw | awk '/ T main$/ {print $1}') %t.nouw | FileCheck-19 --check-prefix=PCSAFE %s
// RUN: clang-19 -I%include -O2 -fno-asynchronous-unwind-tables -fno-unwind-tables %s -o %t.plain -L%libdir -lpreempt -Wl,-rpath,%libdir
// RUN: %maps --pc 0x$(nm %t.plain | awk '/ T main$/ {print $1}') %t.plain | FileCheck-19 --check-prefix=PCNOFDE %s
//
// Damaged tables: the runtime's validator says why (the tool still shows
// what decodes; a table that does not decode is an error).
// RUN: %python %S/corrupt.py unsafe-kind %t.exe %t.bad.kind > %t.bad.kind.off
// RUN: %valgrind %maps %t.bad.kind 2>&1 >/dev/null | FileCheck-19 --check-prefix=BADKIND -DNOTE=$(cat %t.bad.kind.off) %s
// BADKIND: preempt-maps: {{.*}}.bad.kind: warning: unsafe-point note at offset [[NOTE]]: range 0: unknown kind 9 (at offset 0x{{[0-9a-f]+}}); the runtime rejects this table
// RUN: %python %S/corrupt.py unsafe-reversed %t.exe %t.bad.rev > /dev/null
// RUN: %maps %t.bad.rev 2>&1 >/dev/null | FileCheck-19 --check-prefix=BADREV %s
// BADREV: range 0: start 0x[[A:[0-9a-f]+]] is not below end 0x[[A]]
// RUN: %python %S/corrupt.py unsafe-outside %t.exe %t.bad.out > /dev/null
// RUN: %maps %t.bad.out 2>&1 >/dev/null | FileCheck-19 --check-prefix=BADOUT %s
// BADOUT: range 0: range outside the object's code
// RUN: %python %S/corrupt.py unsafe-count %t.exe %t.bad.count > /dev/null
// RUN: %expect_exit 1 %valgrind %maps %t.bad.count 2>&1 | FileCheck-19 --check-prefix=BADCOUNT %s
// BADCOUNT: malformed unsafe-point note at offset 0x{{[0-9a-f]+}}: 2 ranges do not fill the note (24 bytes of description)
#include <preempt.h>
#include <stdint.h>
#include <stdio.h>

static volatile uintptr_t key1 = 0x5a5a0000, key2 = 0x5a5a0000;

// CHECK-LABEL: unsafe ranges (no asynchronous stop): 4 in 4 notes
// CHECK: function hash_ptr
// CHECK-NEXT: .text+0x{{[0-9a-f]+}}-0x{{[0-9a-f]+}} hash_ptr+0x0 ({{[0-9]+}} bytes): function marked preempt_unsafe, line [[@LINE+1]]
PREEMPT_UNSAFE uintptr_t hash_ptr(void *p) {
  return ((uintptr_t)p >> 4) * 0x9e3779b97f4a7c15ull;
}

// CHECK: function roundtrip
// CHECK-NEXT: roundtrip+0x{{[0-9a-f]+}} ({{[0-9]+}} bytes): marked range, line [[@LINE+3]]
__attribute__((noinline)) void *roundtrip(void *p) {
  uintptr_t k1 = key1, k2 = key2;
  preempt_unsafe_begin(p);
  uintptr_t h = (uintptr_t)p ^ k1;
  void *q = (void *)(h ^ k2);
  preempt_unsafe_end(q);
  return q;
}

// CHECK: function untag
// CHECK-NEXT: untag+0x{{[0-9a-f]+}} ({{[0-9]+}} bytes): pointer held as an integer, line [[@LINE+2]]
__attribute__((noinline)) void *untag(void *p, uintptr_t t) {
  uintptr_t x = (uintptr_t)p ^ (t << 56);
  return (void *)(x ^ (key1 << 56));
}

// No range: adding offsets and aligning keeps a pointer in its object.
// CHECK-NOT: function aligned
__attribute__((noinline)) void *aligned(void *p) {
  return (void *)(((uintptr_t)p + 15) & ~(uintptr_t)15);
}

// FS: function unused_but_unsafe
// GC-NOT: unused_but_unsafe
__attribute__((noinline)) void *unused_but_unsafe(void *p) {
  uintptr_t k1 = key1, k2 = key2;
  preempt_unsafe_begin(p);
  uintptr_t h = (uintptr_t)p ^ k1;
  void *q = (void *)(h ^ k2);
  preempt_unsafe_end(q);
  return q;
}

int main(void) {
  int x;
  // OUT: ok 1 1 1
  printf("ok %d %d %d\n", roundtrip(&x) == &x, untag(&x, (uintptr_t)0) == &x,
         hash_ptr(&x) != 0 && aligned(&x) != 0);
  return 0;
}

// JSON: "unsafe":[
// JSON: {"function":"hash_ptr","function_offset":0,"section":".text","start":{{[0-9]+}},"end":{{[0-9]+}},"kind":"function","line":
// JSON: "kind":"range"
// JSON: "kind":"automatic"

// EXE: unsafe ranges (no asynchronous stop):
// EXE: function hash_ptr
// EXE-NEXT: 0x{{[0-9a-f]+}}-0x{{[0-9a-f]+}} hash_ptr+0x0 ({{[0-9]+}} bytes): function marked preempt_unsafe
// EXE: function roundtrip
// EXE: function untag

// PCFN: (hash_ptr+0x0): not an async safe point: function marked preempt_unsafe
// PCRANGE: (roundtrip+0x{{[0-9a-f]+}}): not an async safe point: unsafe range from source line {{[1-9][0-9]*}}
// PCAUTO: (untag+0x{{[0-9a-f]+}}): not an async safe point: pointer held as an integer (unsafe range from source line
// PCSAFE: (main+0x0): async safe point
// PCNOCODE: 0x10: not in the code of
// PCREL: --pc needs a linked executable or shared library
// NOTEXTREL-NOT: TEXTREL
// PCNOFDE: (main+0x0): not an async safe point: no unwind information (no FDE in .eh_frame)

// C++ inline functions (COMDAT) with a range, in two translation units.
// RUN: %cc -x c++ -O1 -fno-inline -DUNIT=1 -c %S/Inputs/unsafe_comdat.cc -o %t.c1.o
// RUN: %cc -x c++ -O1 -fno-inline -DUNIT=2 -c %S/Inputs/unsafe_comdat.cc -o %t.c2.o
// RUN: %maps %t.c1.o | FileCheck-19 --check-prefix=COMDATOBJ %s
// RUN: clang-19 %t.c1.o %t.c2.o -o %t.comdat -L%libdir -lpreempt -Wl,-rpath,%libdir
// RUN: %t.comdat | FileCheck-19 --check-prefix=COMDATOUT %s
// RUN: %maps %t.comdat | FileCheck-19 --check-prefix=COMDAT %s
// COMDATOBJ: .text._Z22preempt_test_roundtripPvmm+0x{{[0-9a-f]+}}-0x{{[0-9a-f]+}} _Z22preempt_test_roundtripPvmm+
// COMDATOUT: 1
// COMDAT: unsafe ranges (no asynchronous stop): 1 in 1 note,
// COMDAT: function _Z22preempt_test_roundtripPvmm
