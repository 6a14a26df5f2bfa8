; Frame memory that may hold pointers is listed as (base, size) regions
; after the values: escaped locals while their lifetime markers say they
; exist, alloca()/VLAs with their run-time size, byval arguments.
; Promotable locals become SSA values first (what -O0 needs).
; RUN: %preempt_opt %s | FileCheck %s

target datalayout = "e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-i128:128-f80:128-n8:16:32:64-S128"
target triple = "x86_64-pc-linux-gnu"

%struct.pair = type { ptr, ptr }
declare void @fill(ptr)
declare void @use(ptr)
declare void @llvm.lifetime.start.p0(i64, ptr)
declare void @llvm.lifetime.end.p0(i64, ptr)
declare ptr @llvm.stacksave.p0()
declare void @llvm.stackrestore.p0(ptr)

; CHECK-LABEL: define void @escaped()
; CHECK: call void @fill(ptr %s) [ "deopt"(i32 0, ptr %s, i64 16) ]
; CHECK: call void @use(ptr null) [ "deopt"(i32 0, ptr %s, i64 16) ]
define void @escaped() {
  %s = alloca %struct.pair
  call void @fill(ptr %s)
  call void @use(ptr null)
  ret void
}

; Narrow integers cannot hold a pointer; a char buffer can, and so can
; doubles (a union { double; void * } takes the double's type).  Without
; lifetime markers a local exists in the whole body.
; CHECK-LABEL: define void @pointer_free()
; CHECK: call void @fill(ptr %d) [ "deopt"(i32 0, ptr %d, i64 64, ptr %c, i64 32) ]
; CHECK: call void @fill(ptr %i) [ "deopt"(i32 0, ptr %d, i64 64, ptr %c, i64 32) ]
; CHECK: call void @fill(ptr %c) [ "deopt"(i32 0, ptr %d, i64 64, ptr %c, i64 32) ]
define void @pointer_free() {
  %d = alloca [8 x double]
  %i = alloca [8 x i32]
  %c = alloca [32 x i8]
  call void @fill(ptr %d)
  call void @fill(ptr %i)
  call void @fill(ptr %c)
  ret void
}

; Lifetime markers bound a region: not before start, not after end.
; CHECK-LABEL: define void @lifetime()
; CHECK: call void @use(ptr null) [ "deopt"(i32 0) ]
; CHECK: call void @fill(ptr %s) [ "deopt"(i32 0, ptr %s, i64 16) ]
; CHECK: call void @use(ptr null) [ "deopt"(i32 0, ptr %s, i64 16) ]
; CHECK: call void @llvm.lifetime.end.p0(i64 16, ptr %s)
; CHECK: call void @use(ptr null) [ "deopt"(i32 0) ]
define void @lifetime() {
  %s = alloca %struct.pair
  call void @use(ptr null)
  call void @llvm.lifetime.start.p0(i64 16, ptr %s)
  call void @fill(ptr %s)
  call void @use(ptr null)
  call void @llvm.lifetime.end.p0(i64 16, ptr %s)
  call void @use(ptr null)
  ret void
}

; A lifetime started in a loop body stays live around the back edge only
; if it is not ended first.
; CHECK-LABEL: define void @lifetime_loop(i1 %c)
; CHECK: entry:
; CHECK: call void @use(ptr null) [ "deopt"(i32 0) ]
; CHECK: body:
; CHECK: call void @fill(ptr %s) [ "deopt"(i32 0, ptr %s, i64 16) ]
; CHECK: latch:
; CHECK: call void @use(ptr null) [ "deopt"(i32 0) ]
define void @lifetime_loop(i1 %c) {
entry:
  %s = alloca %struct.pair
  call void @use(ptr null)
  br label %body
body:
  call void @llvm.lifetime.start.p0(i64 16, ptr %s)
  call void @fill(ptr %s)
  call void @llvm.lifetime.end.p0(i64 16, ptr %s)
  br label %latch
latch:
  call void @use(ptr null)
  br i1 %c, label %body, label %exit
exit:
  ret void
}

; alloca() and VLAs: the size is computed once, next to the allocation,
; and kept with the base while any pointer into the memory is live.  The
; saved stack pointer is not a heap root.
; CHECK-LABEL: define void @vla(i64 %n)
; CHECK: %v = alloca ptr, i64 %n
; CHECK-NEXT: %v.preempt.size = mul i64 %n, 8
; CHECK: call void @fill(ptr %v) [ "deopt"(i32 0, ptr %v, i64 %v.preempt.size) ]
; CHECK: call void @use(ptr %q) [ "deopt"(i32 0, ptr %v, i64 %v.preempt.size) ]
; CHECK: call void @llvm.stackrestore.p0(ptr %sp)
; CHECK: call void @use(ptr null) [ "deopt"(i32 0) ]
define void @vla(i64 %n) {
entry:
  %sp = call ptr @llvm.stacksave.p0()
  br label %body
body:
  %v = alloca ptr, i64 %n
  call void @fill(ptr %v)
  %q = getelementptr ptr, ptr %v, i64 1
  call void @use(ptr %q)
  %x = load ptr, ptr %q
  call void @llvm.stackrestore.p0(ptr %sp)
  call void @use(ptr null)
  ret void
}

; A byval argument is a copy in the caller's frame, there for the whole call.
; CHECK-LABEL: define void @byval(ptr byval(%struct.pair) %p)
; CHECK: call void @use(ptr null) [ "deopt"(i32 0, ptr %p, i64 16) ]
define void @byval(ptr byval(%struct.pair) %p) {
  call void @use(ptr null)
  %x = load ptr, ptr %p
  ret void
}

; Locals that are only loaded and stored are promoted first: what was a
; pointer in memory becomes a value in the map.
; CHECK-LABEL: define void @promoted(ptr %a)
; CHECK-NOT: alloca
; CHECK: call void @use(ptr null) [ "deopt"(i32 1, ptr %a) ]
define void @promoted(ptr %a) {
  %slot = alloca ptr
  store ptr %a, ptr %slot
  call void @use(ptr null)
  %v = load ptr, ptr %slot
  call void @use(ptr %v)
  ret void
}

; Memory handed to a call is live during that call even if nothing uses it
; afterwards: the callee may collect while reading it.
; CHECK-LABEL: define void @vla_last_use(i64 %n)
; CHECK: call void @fill(ptr %v) [ "deopt"(i32 0, ptr %v, i64 %v.preempt.size) ]
; CHECK-NEXT: ret void
define void @vla_last_use(i64 %n) {
  %v = alloca ptr, i64 %n
  call void @fill(ptr %v)
  ret void
}
