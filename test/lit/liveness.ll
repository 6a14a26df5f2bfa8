; Liveness-only safepoints: each call lists exactly the pointers live
; across it, as "deopt"(i32 NumValues, values..., regions...).
; RUN: %preempt_opt %s | FileCheck %s

target datalayout = "e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-i128:128-f80:128-n8:16:32:64-S128"
target triple = "x86_64-pc-linux-gnu"

declare ptr @alloc(i64)
declare void @use(ptr)
declare void @use2(ptr, ptr)

; %a is used after every call; %x only until the second use; %y is the
; result of the call it would otherwise be listed at.
; CHECK-LABEL: define ptr @straight(ptr %a) gc "preempt"
; CHECK: %x = call ptr @alloc(i64 16) [ "deopt"(i32 1, ptr %a) ]
; CHECK: %y = call ptr @alloc(i64 32) [ "deopt"(i32 2, ptr %a, ptr %x) ]
; CHECK: call void @use(ptr %x) [ "deopt"(i32 2, ptr %a, ptr %y) ]
; CHECK: call void @use(ptr %a) [ "deopt"(i32 1, ptr %y) ]
; CHECK: call void @use(ptr %y) [ "deopt"(i32 0) ]
define ptr @straight(ptr %a) {
  %x = call ptr @alloc(i64 16)
  %y = call ptr @alloc(i64 32)
  call void @use(ptr %x)
  call void @use(ptr %a)
  call void @use(ptr %y)
  ret ptr null
}

; A value defined before a loop and used after it is live at the call in
; the loop; the loop-carried PHI is live at it too, but not the value only
; used on entry to the loop.
; CHECK-LABEL: define void @loop(ptr %keep, ptr %once, i64 %n)
; CHECK: call void @use(ptr %once) [ "deopt"(i32 1, ptr %keep) ]
; CHECK: loop:
; CHECK: %next = call ptr @alloc(i64 8) [ "deopt"(i32 2, ptr %keep, ptr %cur) ]
; CHECK: exit:
; CHECK: call void @use2(ptr %keep, ptr %cur) [ "deopt"(i32 0) ]
define void @loop(ptr %keep, ptr %once, i64 %n) {
entry:
  call void @use(ptr %once)
  br label %loop
loop:
  %cur = phi ptr [ %keep, %entry ], [ %next, %loop ]
  %i = phi i64 [ 0, %entry ], [ %i1, %loop ]
  %next = call ptr @alloc(i64 8)
  store ptr %cur, ptr %next
  %i1 = add i64 %i, 1
  %c = icmp ult i64 %i1, %n
  br i1 %c, label %loop, label %exit
exit:
  call void @use2(ptr %keep, ptr %cur)
  ret void
}

; A pointer derived by inbounds arithmetic lies in its base's object: the
; base is recorded instead (it keeps that object alive), for as long as
; the derived pointer is used.  Several derived pointers, one root.
; CHECK-LABEL: define i8 @interior(ptr %base, i64 %i)
; CHECK: %p = getelementptr inbounds i8, ptr %base, i64 40
; CHECK: %q = getelementptr inbounds i8, ptr %base, i64 %i
; CHECK: call void @use(ptr null) [ "deopt"(i32 1, ptr %base) ]
define i8 @interior(ptr %base, i64 %i) {
  %p = getelementptr inbounds i8, ptr %base, i64 40
  %q = getelementptr inbounds i8, ptr %base, i64 %i
  call void @use(ptr null)
  %v = load i8, ptr %p
  %w = load i8, ptr %q
  %r = add i8 %v, %w
  ret i8 %r
}

; Without inbounds the result may point into another object: it is an
; (interior) root of its own, no base is needed (nothing moves).
; CHECK-LABEL: define i8 @not_inbounds(ptr %base)
; CHECK: call void @use(ptr null) [ "deopt"(i32 1, ptr %p) ]
define i8 @not_inbounds(ptr %base) {
  %p = getelementptr i8, ptr %base, i64 40
  call void @use(ptr null)
  %v = load i8, ptr %p
  ret i8 %v
}

; Pointers into globals or constants are never heap roots.
@table = global [4 x ptr] zeroinitializer
; CHECK-LABEL: define ptr @globals(i64 %i)
; CHECK: call void @use(ptr null) [ "deopt"(i32 0) ]
define ptr @globals(i64 %i) {
  %g = getelementptr [4 x ptr], ptr @table, i64 0, i64 %i
  call void @use(ptr null)
  ret ptr %g
}

; A value used on one branch only is live only on the paths to its use.
; CHECK-LABEL: define void @branches(ptr %a, ptr %b, i1 %c)
; CHECK: then:
; CHECK-NEXT: call void @use(ptr null) [ "deopt"(i32 1, ptr %a) ]
; CHECK: else:
; CHECK-NEXT: call void @use(ptr null) [ "deopt"(i32 1, ptr %b) ]
define void @branches(ptr %a, ptr %b, i1 %c) {
  br i1 %c, label %then, label %else
then:
  call void @use(ptr null)
  call void @use(ptr %a)
  ret void
else:
  call void @use(ptr null)
  call void @use(ptr %b)
  ret void
}

; Integers computed from pointers (tagged pointers) are roots; integers
; that are integers in C (a noundef parameter) are not.
; CHECK-LABEL: define i64 @tagged(ptr %p, i64 noundef %n)
; CHECK: call void @use(ptr null) [ "deopt"(i32 1, i64 %tag) ]
define i64 @tagged(ptr %p, i64 noundef %n) {
  %int = ptrtoint ptr %p to i64
  %tag = or i64 %int, 1
  %m = mul i64 %n, 3
  call void @use(ptr null)
  %r = add i64 %tag, %m
  ret i64 %r
}

; First-class aggregates holding pointers are split into their members
; that may hold one (the i64 may be a union) at the call.
; CHECK-LABEL: define ptr @aggregate({ ptr, i64, i32, ptr } %s)
; CHECK: [[A:%.*]] = extractvalue { ptr, i64, i32, ptr } %s, 0
; CHECK: [[I:%.*]] = extractvalue { ptr, i64, i32, ptr } %s, 1
; CHECK: [[B:%.*]] = extractvalue { ptr, i64, i32, ptr } %s, 3
; CHECK: call void @use(ptr null) [ "deopt"(i32 3, ptr [[A]], i64 [[I]], ptr [[B]]) ]
define ptr @aggregate({ ptr, i64, i32, ptr } %s) {
  call void @use(ptr null)
  %r = extractvalue { ptr, i64, i32, ptr } %s, 3
  ret ptr %r
}

; Vectors of pointers are recorded whole.
; CHECK-LABEL: define <2 x ptr> @vector(<2 x ptr> %v)
; CHECK: call void @use(ptr null) [ "deopt"(i32 1, <2 x ptr> %v) ]
define <2 x ptr> @vector(<2 x ptr> %v) {
  call void @use(ptr null)
  ret <2 x ptr> %v
}
