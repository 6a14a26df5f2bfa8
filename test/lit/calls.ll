; Which calls become safepoints.  Every call that can reach the runtime:
; direct, indirect, variadic, noreturn, invoke, and C library functions
; that LLVM's own safepoint placement skips.  Not: intrinsics, inline asm,
; musttail (the frame is gone), returns_twice (setjmp), gc-leaf functions,
; calls carrying other operand bundles, and calls in return position that
; codegen turns into jumps.
; RUN: %preempt_opt %s | FileCheck %s

target datalayout = "e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-i128:128-f80:128-n8:16:32:64-S128"
target triple = "x86_64-pc-linux-gnu"

declare ptr @malloc(i64)
declare i64 @read(i32, ptr, i64)
declare i32 @printf(ptr, ...)
declare void @qsort(ptr, i64, i64, ptr)
declare void @abort() noreturn
declare i32 @setjmp(ptr) returns_twice
declare void @leaf(ptr) "gc-leaf-function"
declare void @use(ptr)
declare void @llvm.memcpy.p0.p0.i64(ptr, ptr, i64, i1)
declare ptr @tailee(ptr)
declare i32 @__gxx_personality_v0(...)

@fmt = private constant [4 x i8] c"%g\0A\00"

; CHECK-LABEL: define void @library(ptr %buf, ptr %cmp)
define void @library(ptr %buf, ptr %cmp) {
; CHECK: %m = call ptr @malloc(i64 64) [ "deopt"(i32 2, ptr %buf, ptr %cmp) ]
  %m = call ptr @malloc(i64 64)
; CHECK: call i64 @read(i32 0, ptr %buf, i64 64) [ "deopt"(i32 3, ptr %buf, ptr %cmp, ptr %m) ]
  %n = call i64 @read(i32 0, ptr %buf, i64 64)
; CHECK: call i32 (ptr, ...) @printf(ptr @fmt, double 2.500000e-01) [ "deopt"(i32 3, ptr %buf, ptr %cmp, ptr %m) ]
  %p = call i32 (ptr, ...) @printf(ptr @fmt, double 0.25)
; CHECK: call void @qsort(ptr %buf, i64 8, i64 8, ptr %cmp) [ "deopt"(i32 2, ptr %cmp, ptr %m) ]
  call void @qsort(ptr %buf, i64 8, i64 8, ptr %cmp)
; CHECK: call void %cmp(ptr %m) [ "deopt"(i32 0) ]
  call void %cmp(ptr %m)
  ret void
}

; CHECK-LABEL: define void @not_safepoints(ptr %a, ptr %b)
define void @not_safepoints(ptr %a, ptr %b) {
; CHECK: call void @llvm.memcpy.p0.p0.i64(ptr %a, ptr %b, i64 8, i1 false){{$}}
  call void @llvm.memcpy.p0.p0.i64(ptr %a, ptr %b, i64 8, i1 false)
; CHECK: call void asm sideeffect "nop", ""(){{$}}
  call void asm sideeffect "nop", ""()
; CHECK: call i32 @setjmp(ptr %a){{$}}
  %j = call i32 @setjmp(ptr %a)
; CHECK: call void @leaf(ptr %a){{$}}
  call void @leaf(ptr %a)
; CHECK: call void %b(ptr %a) [ "kcfi"(i32 42) ]
  call void %b(ptr %a) [ "kcfi"(i32 42) ]
; CHECK: call void @use(ptr %b) [ "deopt"(i32 0) ]
  call void @use(ptr %b)
  ret void
}

; CHECK-LABEL: define ptr @musttail(ptr %a)
; CHECK: musttail call ptr @tailee(ptr %a){{$}}
define ptr @musttail(ptr %a) {
  %r = musttail call ptr @tailee(ptr %a)
  ret ptr %r
}

; A tail call in return position keeps the sibling-call optimisation;
; the same call not in return position gets a map.
; CHECK-LABEL: define ptr @tailpos(ptr %a)
; CHECK: %r = tail call ptr @tailee(ptr %a){{$}}
define ptr @tailpos(ptr %a) {
  %r = tail call ptr @tailee(ptr %a)
  ret ptr %r
}
; CHECK-LABEL: define ptr @not_tailpos(ptr %a)
; CHECK: %r = tail call ptr @tailee(ptr %a) [ "deopt"(i32 1, ptr %a) ]
define ptr @not_tailpos(ptr %a) {
  %r = tail call ptr @tailee(ptr %a)
  call void @use(ptr %a)
  ret ptr %r
}

; CHECK-LABEL: define void @noreturn(ptr %a)
; CHECK: call void @abort() [ "deopt"(i32 0) ]
define void @noreturn(ptr %a) {
  call void @abort()
  unreachable
}

; An invoke keeps its landing pad; values live only on the unwind path
; are live at it.
; CHECK-LABEL: define void @invoke(ptr %a, ptr %b) gc "preempt" personality
; CHECK: invoke void @use(ptr null) [ "deopt"(i32 2, ptr %a, ptr %b) ]
; CHECK-NEXT: to label %ok unwind label %lp
define void @invoke(ptr %a, ptr %b) personality ptr @__gxx_personality_v0 {
  invoke void @use(ptr null) to label %ok unwind label %lp
ok:
  call void @use(ptr %a)
  ret void
lp:
  %l = landingpad { ptr, i32 } cleanup
  call void @use(ptr %b)
  resume { ptr, i32 } %l
}

; Functions without calls are left alone: no gc attribute.
; CHECK-LABEL: define i64 @leaf_function(ptr %a)
; CHECK-NOT: gc
; CHECK-SAME: {
define i64 @leaf_function(ptr %a) {
  %v = load i64, ptr %a
  ret i64 %v
}

; An optnone function in optimised code would make codegen skip the pass
; that moves roots out of call-clobbered registers; the pass drops it.
; CHECK-LABEL: define void @optnone(ptr %a)
; CHECK-SAME: #[[ATTR:[0-9]+]] gc "preempt"
; CHECK: attributes #[[ATTR]] = { noinline }
define void @optnone(ptr %a) noinline optnone {
  call void @use(ptr null)
  call void @use(ptr %a)
  ret void
}
