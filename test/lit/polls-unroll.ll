; Polled loops are unrolled, keeping every copy's exits, so that one poll
; serves several iterations (Polls.cpp, unrollPolledLoops): up to 8 copies
; of a small call-free loop, fewer with unroll=N, none with unroll=1 (in
; either mode), and none of a loop that holds inline asm.
; RUN: %opt -load-pass-plugin=%passes -passes=preempt-polls -S %s | FileCheck %s --check-prefixes=CHECK,EIGHT
; RUN: %opt -load-pass-plugin=%passes -passes='preempt-polls<unroll=4>' -S %s | FileCheck %s --check-prefixes=CHECK,FOUR
; RUN: %opt -load-pass-plugin=%passes -passes='preempt-polls<cycles;unroll=1>' -S %s | FileCheck %s --check-prefix=CHECK
; RUN: not %opt -load-pass-plugin=%passes -passes='preempt-polls<unroll=9>' -S %s 2>&1 | FileCheck %s --check-prefix=BAD
; RUN: not %clang -fplugin=%plugin -fplugin-arg-preempt-polls -fplugin-arg-preempt-polls-unroll=0 -c -o /dev/null %S/polls.c 2>&1 | FileCheck %s --check-prefix=BADARG
; BAD: preempt-polls<unroll=9>: bad parameter (accepted: loops, cycles, unroll=N with N from 1 to 8)
; BADARG: error: preempt: -fplugin-arg-preempt-polls-unroll=0: the most copies of a polled loop, a whole number from 1 (no unrolling) to 8

target datalayout = "e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-i128:128-f80:128-n8:16:32:64-S128"
target triple = "x86_64-pc-linux-gnu"

; A scan with no trip count known: each copy keeps its own exit.
; CHECK-LABEL: define i32 @scan(
; The entry's test, then the copies' (the first two counted together),
; then the one poll.
; CHECK: load i8
; CHECK-COUNT-2: icmp eq i8
; EIGHT-COUNT-7: icmp eq i8
; FOUR-COUNT-3: icmp eq i8
; CHECK-NOT: icmp eq i8
; CHECK: load volatile i32, ptr @preempt__poll_flag
; CHECK-NOT: icmp eq i8
; CHECK-NOT: @preempt__poll_flag
; CHECK-LABEL: {{^}}}
define i32 @scan(ptr %p0, i8 %c) {
entry:
  %first = load i8, ptr %p0, align 1
  %done0 = icmp eq i8 %first, %c
  br i1 %done0, label %exit, label %loop

loop:
  %ch = phi i8 [ %next, %loop ], [ %first, %entry ]
  %n = phi i32 [ %n1, %loop ], [ 0, %entry ]
  %p = phi ptr [ %p1, %loop ], [ %p0, %entry ]
  %bit = and i8 %ch, 1
  %w = zext i8 %bit to i32
  %n1 = add i32 %n, %w
  %p1 = getelementptr inbounds i8, ptr %p, i64 1
  %next = load i8, ptr %p1, align 1
  %done = icmp eq i8 %next, %c
  br i1 %done, label %exit, label %loop

exit:
  %r = phi i32 [ 0, %entry ], [ %n1, %loop ]
  ret i32 %r
}

; Inline asm may define labels: never cloned, polled every iteration.
; CHECK-LABEL: define i32 @scan_asm(
; CHECK: icmp eq i8
; CHECK: call void asm sideeffect
; CHECK: icmp eq i8
; CHECK: load volatile i32, ptr @preempt__poll_flag
; CHECK-NOT: icmp eq i8
; CHECK-LABEL: {{^}}}
define i32 @scan_asm(ptr %p0, i8 %c) {
entry:
  %first = load i8, ptr %p0, align 1
  %done0 = icmp eq i8 %first, %c
  br i1 %done0, label %exit, label %loop

loop:
  %n = phi i32 [ %n1, %loop ], [ 0, %entry ]
  %p = phi ptr [ %p1, %loop ], [ %p0, %entry ]
  call void asm sideeffect "", "~{memory}"()
  %ch = load i8, ptr %p, align 1
  %bit = and i8 %ch, 1
  %w = zext i8 %bit to i32
  %n1 = add i32 %n, %w
  %p1 = getelementptr inbounds i8, ptr %p, i64 1
  %next = load i8, ptr %p1, align 1
  %done = icmp eq i8 %next, %c
  br i1 %done, label %exit, label %loop

exit:
  %r = phi i32 [ 0, %entry ], [ %n1, %loop ]
  ret i32 %r
}

; -O0 (optnone): the code as written, for the debugger; polled, not unrolled.
; CHECK-LABEL: define i32 @scan_optnone(
; CHECK-COUNT-2: icmp eq i8
; CHECK-NOT: icmp eq i8
; CHECK: load volatile i32, ptr @preempt__poll_flag
; CHECK-NOT: icmp eq i8
; CHECK-LABEL: {{^}}}
define i32 @scan_optnone(ptr %p0, i8 %c) #0 {
entry:
  %first = load i8, ptr %p0, align 1
  %done0 = icmp eq i8 %first, %c
  br i1 %done0, label %exit, label %loop

loop:
  %ch = phi i8 [ %next, %loop ], [ %first, %entry ]
  %n = phi i32 [ %n1, %loop ], [ 0, %entry ]
  %p = phi ptr [ %p1, %loop ], [ %p0, %entry ]
  %bit = and i8 %ch, 1
  %w = zext i8 %bit to i32
  %n1 = add i32 %n, %w
  %p1 = getelementptr inbounds i8, ptr %p, i64 1
  %next = load i8, ptr %p1, align 1
  %done = icmp eq i8 %next, %c
  br i1 %done, label %exit, label %loop

exit:
  %r = phi i32 [ 0, %entry ], [ %n1, %loop ]
  ret i32 %r
}

attributes #0 = { noinline optnone }
