; Values that may carry a pointer's bits are roots: a union { double d;
; void *p; } is a double in memory, an i64 when passed or returned (the
; calling convention coerces it), and double, x86_fp80 or vector SSA
; values after SROA.  Such a value is recorded when it may come from a
; pointer (not computed as a number here, not an integer in C) and may be
; used as one (stored, passed, returned, converted, compared for identity).
; RUN: %preempt_opt %s | FileCheck %s

target datalayout = "e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-i128:128-f80:128-n8:16:32:64-S128"
target triple = "x86_64-pc-linux-gnu"

%union.num = type { double }
%struct.big = type { i32, %union.num, %union.num }

declare void @gc()
declare void @use(ptr)
declare void @used(double)
declare void @usel(i64)
declare double @mkd()
declare i64 @mki()
declare x86_fp80 @mkld()
declare <2 x double> @mkv()
declare i64 @strlen(ptr)
declare void @fill(ptr)

; A union passed by value (i64, not noundef) and converted back.
; CHECK-LABEL: define void @union_arg(i64 %u)
; CHECK: call void @gc() [ "deopt"(i32 1, i64 %u) ]
define void @union_arg(i64 %u) {
  call void @gc()
  %p = inttoptr i64 %u to ptr
  call void @use(ptr %p)
  ret void
}

; A C integer parameter (noundef) is not; a libc result is not either.
; CHECK-LABEL: define void @c_integers(i64 noundef %n, ptr %s)
; CHECK: call void @gc() [ "deopt"(i32 0) ]
define void @c_integers(i64 noundef %n, ptr %s) {
  %len = call i64 @strlen(ptr %s)
  call void @gc()
  %sum = add i64 %n, %len
  call void @usel(i64 %sum)
  ret void
}

; A double from a call, passed on after the collection; a double only used
; in arithmetic and a number computed here are not roots.
; CHECK-LABEL: define void @doubles()
; CHECK: %y = call double @mkd()
; CHECK: call void @gc() [ "deopt"(i32 1, double %x) ]
define void @doubles() {
  %x = call double @mkd()
  %y = call double @mkd()
  %z = fmul double %y, 2.0
  call void @gc()
  call void @used(double %x)
  %w = fadd double %y, %z
  %c = fcmp olt double %w, 1.0
  br i1 %c, label %a, label %b
a:
  ret void
b:
  ret void
}

; Tags: bits that flow through integer arithmetic and phis.  A loop counter
; is a number; an ordered comparison is no use as a pointer, == is.
; CHECK-LABEL: define void @tagged(i64 %v, i64 %w)
; CHECK: loop:
; CHECK: call void @gc() [ "deopt"(i32 2, i64 %w, i64 %t) ]
define void @tagged(i64 %v, i64 %w) {
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i1, %loop ]
  %t = phi i64 [ %v, %entry ], [ %t1, %loop ]
  call void @gc()
  %t1 = and i64 %t, -8
  %i1 = add i64 %i, 1
  %lt = icmp ult i64 %i1, 10
  %same = icmp eq i64 %w, %t1
  %c = and i1 %lt, %same
  br i1 %c, label %loop, label %exit
exit:
  %p = inttoptr i64 %t1 to ptr
  call void @use(ptr %p)
  ret void
}

; Loads: a union member (typed char by TBAA) or untyped load is a root, a
; load typed long is an integer.
; CHECK-LABEL: define void @loads(ptr %o)
; CHECK: call void @gc() [ "deopt"(i32 2, i64 %u, i64 %raw) ]
define void @loads(ptr %o) {
  %u = load i64, ptr %o, !tbaa !3
  %q = getelementptr i8, ptr %o, i64 8
  %n = load i64, ptr %q, !tbaa !5
  %r = getelementptr i8, ptr %o, i64 16
  %raw = load i64, ptr %r
  call void @gc()
  call void @usel(i64 %u)
  call void @usel(i64 %n)
  call void @usel(i64 %raw)
  ret void
}

; A long double (10 bytes, spilled at any 4-byte offset) is recorded by its
; first word; vectors whole.
; CHECK-LABEL: define void @wide()
; CHECK: @mkv()
; CHECK-NEXT: [[B:%.*]] = bitcast x86_fp80 %ld to i80
; CHECK-NEXT: [[W:%.*]] = trunc i80 [[B]] to i64
; CHECK-NEXT: call void @gc() [ "deopt"(i32 2, i64 [[W]], <2 x double> %v) ]
define void @wide() {
  %ld = call x86_fp80 @mkld()
  %v = call <2 x double> @mkv()
  call void @gc()
  %b = bitcast x86_fp80 %ld to i80
  %t = trunc i80 %b to i64
  call void @usel(i64 %t)
  %e = extractelement <2 x double> %v, i32 1
  call void @used(double %e)
  ret void
}

; Memory: an escaped union local and a byval struct of unions are regions;
; a float is too small to hold a pointer.
; CHECK-LABEL: define void @memory(ptr byval(%struct.big) %b)
; CHECK: call void @gc() [ "deopt"(i32 0, ptr %b, i64 24, ptr %u, i64 8) ]
define void @memory(ptr byval(%struct.big) %b) {
  %u = alloca %union.num
  %f = alloca float
  call void @fill(ptr %u)
  call void @fill(ptr %f)
  call void @gc()
  ret void
}

!0 = !{!"Simple C/C++ TBAA"}
!1 = !{!"omnipotent char", !0, i64 0}
!2 = !{!"long", !1, i64 0}
!3 = !{!1, !1, i64 0}
!5 = !{!2, !2, i64 0}
