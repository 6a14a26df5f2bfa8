; The unsafe-points pass: canonical markers for preempt_unsafe_begin/end,
; ranges around pointers held as changed integers (and none around offsets
; and alignment), a poll after every range and before each return of a
; preempt-unsafe function, async unwind tables, and the warning for a
; hidden pointer across a call.  The flag and preempt_safepoint are weak:
; code built with the plugin links without the runtime.
; CHECK: @preempt__stop_requested = extern_weak global i32
; CHECK: @preempt.poll.zero = private constant i32 0
; RUN: %opt -load-pass-plugin=%passes -passes=preempt-unsafe -S %s 2>%t.err | FileCheck %s
; RUN: FileCheck %s --check-prefix=WARN < %t.err

target datalayout = "e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-i128:128-f80:128-n8:16:32:64-S128"
target triple = "x86_64-pc-linux-gnu"

declare void @use(ptr)

; CHECK-LABEL: define ptr @explicit(ptr %p, i64 %k)
; CHECK: call ptr asm sideeffect "# preempt.unsafe.begin 1 0 0 $0", "=r,0,~{memory}"(ptr %p)
; CHECK: call ptr asm sideeffect "# preempt.unsafe.end 1 0 1 $0", "=r,0,~{memory}"
; CHECK-NEXT: icmp eq ptr @preempt__stop_requested, null
; CHECK-NEXT: [[ADDR:%.*]] = select i1 {{%.*}}, ptr @preempt.poll.zero, ptr @preempt__stop_requested
; CHECK-NEXT: %preempt.stop = load atomic i32, ptr [[ADDR]] monotonic, align 4
; CHECK-NEXT: icmp ne i32 %preempt.stop, 0
; CHECK-NEXT: br i1 {{.*}}, !prof
; CHECK: call void @preempt_safepoint()
define ptr @explicit(ptr %p, i64 %k) {
  %b = call ptr asm sideeffect "# preempt_unsafe_begin $0", "=r,0,~{memory}"(ptr %p)
  %i = ptrtoint ptr %b to i64
  %h = xor i64 %i, %k
  %j = xor i64 %h, %k
  %q = inttoptr i64 %j to ptr
  %e = call ptr asm sideeffect "# preempt_unsafe_end $0", "=r,0,~{memory}"(ptr %q)
  ret ptr %e
}

; CHECK-LABEL: define ptr @tagged(ptr %p)
; CHECK: call void asm sideeffect "# preempt.unsafe.begin 3 [[ID:[0-9]+]] 0 $0", "r"(ptr %p)
; CHECK-NEXT: ptrtoint ptr %p to i64
; CHECK: %q = inttoptr i64
; CHECK-NEXT: call void asm sideeffect "# preempt.unsafe.end 3 [[ID]] 1 $0", "r"(ptr %q)
; CHECK-NEXT: icmp eq ptr @preempt__stop_requested, null
define ptr @tagged(ptr %p) {
  %i = ptrtoint ptr %p to i64
  %t = or i64 %i, 1152921504606846976
  %u = and i64 %t, 1152921504606846975
  %q = inttoptr i64 %u to ptr
  ret ptr %q
}

; Offsets and 16-byte alignment keep the pointer inside its object.
; CHECK-LABEL: define ptr @aligned(ptr %p)
; CHECK-NOT: preempt.unsafe
; CHECK-NOT: preempt_safepoint
; CHECK: ret ptr
define ptr @aligned(ptr %p) {
  %i = ptrtoint ptr %p to i64
  %a = add i64 %i, 15
  %m = and i64 %a, -16
  %q = inttoptr i64 %m to ptr
  ret ptr %q
}

; The address of a local is no heap pointer.
; CHECK-LABEL: define i64 @local()
; CHECK-NOT: preempt.unsafe
define i64 @local() {
  %x = alloca i64
  %i = ptrtoint ptr %x to i64
  %h = xor i64 %i, 7
  %q = inttoptr i64 %h to ptr
  %v = load i64, ptr %q
  ret i64 %v
}

; WARN: warning: preempt: in function 'across_call', a pointer is held only as a changed integer (ptrtoint, then xor/shift/tag) across the call
; CHECK-LABEL: define ptr @across_call(ptr %p, i64 %k)
; CHECK: preempt.unsafe.begin 3
define ptr @across_call(ptr %p, i64 %k) {
  %i = ptrtoint ptr %p to i64
  %h = xor i64 %i, %k
  call void @use(ptr null)
  %j = xor i64 %h, %k
  %q = inttoptr i64 %j to ptr
  ret ptr %q
}

; A preempt-unsafe function polls before each return.
; CHECK: define i64 @whole(ptr %p) #[[ATTRS:[0-9]+]]
; CHECK: load atomic i32
; CHECK: call void @preempt_safepoint()
; CHECK: ret i64
define i64 @whole(ptr %p) "preempt-unsafe" {
  %i = ptrtoint ptr %p to i64
  %h = lshr i64 %i, 4
  ret i64 %h
}

; CHECK: declare extern_weak void @preempt_safepoint()
; CHECK: attributes #[[ATTRS]] = { {{.*}}uwtable{{.*}}"preempt-unsafe"
