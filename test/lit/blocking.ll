; Which calls the blocking pass redirects to the runtime's wrappers: direct
; calls and invokes of a listed C library function declared (or
; available_externally, as glibc's fortify inlines are) with the listed
; type, _FORTIFY_SOURCE's __*_chk variants too.  Not: a function the
; module defines, a declaration or call of another type, functions marked
; "preempt-no-safepoint".  Safepoints, run next, gives the call its map.
; RUN: opt -load-pass-plugin=%passes -passes=preempt-blocking,preempt-safepoints -S %s | FileCheck %s

target datalayout = "e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-i128:128-f80:128-n8:16:32:64-S128"
target triple = "x86_64-pc-linux-gnu"

declare i64 @recv(i32, ptr, i64, i32)
declare i64 @sleep(i64)
declare i32 @nanosleep(ptr, ptr)
declare i32 @usleep(i32)
declare i32 @preempt_blocking_usleep(i32)
declare i32 @__poll_chk(ptr, i64, i32, i64)
declare i32 @__ppoll_chk(ptr, i64, ptr, ptr, i64)
declare i64 @__recv_chk(i32, ptr, i64, i64, i32)
declare i64 @__recvfrom_chk(i32, ptr, i64, i64, i32, ptr, ptr)
declare i32 @__gxx_personality_v0(...)
declare void @use(ptr)

define available_externally i32 @poll(ptr %fds, i64 %n, i32 %t) {
  ret i32 0
}

define internal i32 @accept(i32 %a, ptr %b, ptr %c) {
  ret i32 %a
}

; CHECK-LABEL: define void @redirected(
define void @redirected(ptr %buf, ptr %fds) personality ptr @__gxx_personality_v0 {
; CHECK: %[[HAS:.*]] = icmp ne ptr @preempt_blocking_recv, null
; CHECK-NEXT: %[[F:.*]] = select i1 %[[HAS]], ptr @preempt_blocking_recv, ptr @recv
; CHECK-NEXT: invoke i64 %[[F]](i32 0, ptr %buf, i64 8, i32 0) [ "deopt"(i32 2, ptr %buf, ptr %fds) ]
  invoke i64 @recv(i32 0, ptr %buf, i64 8, i32 0)
      to label %ok unwind label %lp
ok:
; The call's promise about memory described recv, not the wrapper.
; CHECK: select i1 %{{.*}}, ptr @preempt_blocking_poll, ptr @poll
; CHECK-NEXT: call i32 %{{.*}}(ptr %fds, i64 1, i32 20) [ "deopt"
; CHECK-NOT: memory
  %p = call i32 @poll(ptr %fds, i64 1, i32 20) memory(argmem: readwrite)
; A wrapper the module declares (not weakly) is called directly.
; CHECK: call i32 @preempt_blocking_usleep(i32 1) [ "deopt"
  %u = call i32 @usleep(i32 1)
; CHECK: select i1 %{{.*}}, ptr @preempt_blocking___poll_chk, ptr @__poll_chk
  %c1 = call i32 @__poll_chk(ptr %fds, i64 1, i32 20, i64 8)
; CHECK: select i1 %{{.*}}, ptr @preempt_blocking___ppoll_chk, ptr @__ppoll_chk
  %c2 = call i32 @__ppoll_chk(ptr %fds, i64 1, ptr null, ptr null, i64 8)
; CHECK: select i1 %{{.*}}, ptr @preempt_blocking___recv_chk, ptr @__recv_chk
  %c3 = call i64 @__recv_chk(i32 0, ptr %buf, i64 8, i64 8, i32 0)
; CHECK: select i1 %{{.*}}, ptr @preempt_blocking___recvfrom_chk, ptr @__recvfrom_chk
  %c4 = call i64 @__recvfrom_chk(i32 0, ptr %buf, i64 8, i64 8, i32 0, ptr null, ptr null)
  call void @use(ptr %buf)
  call void @use(ptr %fds)
  ret void
lp:
  %l = landingpad { ptr, i32 } cleanup
  resume { ptr, i32 } %l
}

; CHECK-LABEL: define void @left_alone(
; CHECK-NOT: preempt_blocking
; CHECK: ret void
define void @left_alone(ptr %p) {
  %a = call i32 @accept(i32 0, ptr %p, ptr null)     ; defined here
  %s = call i64 @sleep(i64 1)                         ; not libc's type
  %n = call i32 @nanosleep(ptr %p, i32 7)             ; called with another type
  %f = call ptr @pick()
  %i = call i32 %f(ptr %p, ptr null)                  ; indirect
  ret void
}
declare ptr @pick()

; CHECK-LABEL: define void @opted_out(
; CHECK-NOT: preempt_blocking
; CHECK: ret void
define void @opted_out(ptr %p) "preempt-no-safepoint" {
  %n = call i32 @nanosleep(ptr %p, ptr null)
  ret void
}

; CHECK-DAG: declare extern_weak i64 @preempt_blocking_recv(i32, ptr, i64, i32)
; CHECK-NOT: @preempt_blocking_nanosleep
; CHECK-NOT: @preempt_blocking_sleep
; CHECK-NOT: @preempt_blocking_accept
