; preempt_keep_alive(p) is an empty asm reading p: a use for liveness, so p
; stays in the maps of the calls before it; then the asm is deleted.
; RUN: %preempt_opt %s | FileCheck %s

target datalayout = "e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-i128:128-f80:128-n8:16:32:64-S128"
target triple = "x86_64-pc-linux-gnu"

declare i64 @read(i32, ptr, i64)
declare void @use(ptr)

; CHECK-LABEL: define void @with_keep_alive(ptr %obj, i32 %fd, ptr %buf)
; CHECK: call i64 @read(i32 %fd, ptr %buf, i64 64) [ "deopt"(i32 2, ptr %obj, ptr %buf) ]
; CHECK: call i64 @read(i32 %fd, ptr %buf, i64 64) [ "deopt"(i32 1, ptr %obj) ]
; CHECK-NOT: preempt_keep_alive
; CHECK: ret void
define void @with_keep_alive(ptr %obj, i32 %fd, ptr %buf) {
  call void @use(ptr %obj)
  %a = call i64 @read(i32 %fd, ptr %buf, i64 64)
  %b = call i64 @read(i32 %fd, ptr %buf, i64 64)
  call void asm sideeffect "# preempt_keep_alive $0", "r,~{dirflag},~{fpsr},~{flags}"(ptr %obj)
  ret void
}

; The same without it: obj is dead after its last use.
; CHECK-LABEL: define void @without(ptr %obj, i32 %fd, ptr %buf)
; CHECK: call i64 @read(i32 %fd, ptr %buf, i64 64) [ "deopt"(i32 1, ptr %buf) ]
; CHECK: call i64 @read(i32 %fd, ptr %buf, i64 64) [ "deopt"(i32 0) ]
define void @without(ptr %obj, i32 %fd, ptr %buf) {
  call void @use(ptr %obj)
  %a = call i64 @read(i32 %fd, ptr %buf, i64 64)
  %b = call i64 @read(i32 %fd, ptr %buf, i64 64)
  ret void
}

; Other inline asm is an ordinary use, and stays.
; CHECK-LABEL: define void @other_asm(ptr %obj)
; CHECK: call void @use(ptr null) [ "deopt"(i32 1, ptr %obj) ]
; CHECK: call void asm sideeffect "# something else $0"
define void @other_asm(ptr %obj) {
  call void @use(ptr null)
  call void asm sideeffect "# something else $0", "r"(ptr %obj)
  ret void
}

; A function whose only "call" is the marker loses it too.
; CHECK-LABEL: define void @marker_only(ptr %obj)
; CHECK-NEXT: ret void
define void @marker_only(ptr %obj) {
  call void asm sideeffect "# preempt_keep_alive $0", "r"(ptr %obj)
  ret void
}
