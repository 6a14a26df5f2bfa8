; Cooperative polls (Polls.cpp): a poll at the end of each block that
; closes a control-flow cycle of a loop without any call (the LOOPS lines:
; the default, preempt-polls<loops>), or of any cycle passing no check (a
; poll, or a call after which the thread certainly checked; the CYCLES
; lines: preempt-polls<cycles>); CHECK lines hold in both.  Also before each call that may
; recurse (a cycle of direct calls, a call through a pointer, a function
; of another file, a C library function that takes a callback) that some
; path from the entry reaches unchecked.  None inside unsafe ranges, in
; preempt-unsafe, preempt-no-safepoint or naked functions.  The poll's
; call gets a map like any other call.
; RUN: %opt -load-pass-plugin=%passes -passes='preempt-polls<unroll=1>' -S %s | FileCheck %s --check-prefixes=CHECK,LOOPS
; RUN: %opt -load-pass-plugin=%passes -passes='preempt-polls<loops;unroll=1>' -S %s | FileCheck %s --check-prefixes=CHECK,LOOPS
; RUN: %opt -load-pass-plugin=%passes -passes='preempt-polls<cycles;unroll=1>' -S %s | FileCheck %s --check-prefixes=CHECK,CYCLES
; An unknown mode is an error that names the accepted ones.
; RUN: not %opt -load-pass-plugin=%passes -passes='preempt-polls<bogus>' -S %s 2>&1 | FileCheck %s --check-prefix=BADMODE
; BADMODE: preempt-polls<bogus>: bad parameter (accepted: loops, cycles, unroll=N with N from 1 to 8)
; RUN: %opt -load-pass-plugin=%passes -passes='preempt-polls<unroll=1>,preempt-safepoints' -S %s | FileCheck %s --check-prefix=MAP
; Without the option, the default pipeline adds none.
; RUN: %opt -load-pass-plugin=%passes -passes='default<O2>' -S %s | FileCheck %s --check-prefix=OFF
; OFF-NOT: preempt.poll

target datalayout = "e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-i128:128-f80:128-n8:16:32:64-S128"
target triple = "x86_64-pc-linux-gnu"

; One flag per linked object: hidden (addressed relative to the
; instruction pointer), linkonce_odr in a comdat of its own (the files of
; one executable or library share it).  The constructor and destructor
; (same comdat; their table entries keyed by the flag, so the linker keeps
; one of each) register it with the runtime if the runtime is linked: weak
; references, code built with polls links without the runtime.
; CHECK-DAG: $preempt__poll_flag = comdat any
; CHECK-DAG: @preempt__poll_flag = linkonce_odr hidden global i32 0, comdat, align 4
; CHECK-DAG: @llvm.global_ctors = appending global {{.*}} { i32 0, ptr @preempt__poll_init, ptr @preempt__poll_flag }
; CHECK-DAG: @llvm.global_dtors = appending global {{.*}} { i32 0, ptr @preempt__poll_fini, ptr @preempt__poll_flag }
; CHECK-DAG: declare extern_weak void @preempt_safepoint()
; CHECK-NOT: preempt__stop_requested
; CHECK-NOT: preempt.poll.at

declare void @ext(ptr)
declare i64 @strlen(ptr)
declare void @qsort(ptr, i64, i64, ptr)
declare void @preempt_gc()
declare void @preempt_safepoint()
declare ptr @preempt_alloc(i64)
declare i32 @preempt_blocking_usleep(i32) "preempt-no-safepoint"
declare i32 @usleep(i32)

; A call-free loop: on the back-edge a volatile load of the flag (at a
; constant address: x86 folds it into the compare), a test and an
; unlikely branch to the cold call.
; CHECK-LABEL: define void @spin(ptr %c)
; CHECK-NEXT: entry:
; CHECK-NEXT: br label %loop
; CHECK: loop:
; CHECK: store atomic i64
; CHECK-NEXT: %preempt.poll = load volatile i32, ptr @preempt__poll_flag, align 4
; CHECK-NEXT: %preempt.stop = icmp ne i32 %preempt.poll, 0
; CHECK-NEXT: br i1 %preempt.stop, label %preempt.poll.slow, label %preempt.poll.done, !prof [[UNLIKELY:![0-9]+]]
; CHECK: preempt.poll.slow:
; CHECK-NEXT: call void @preempt_safepoint() #[[COLD:[0-9]+]]
; CHECK-NEXT: br label %preempt.poll.done
; CHECK: preempt.poll.done:
; CHECK-NEXT: br label %loop
define void @spin(ptr %c) {
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %n, %loop ]
  %n = add i64 %i, 1
  store atomic i64 %n, ptr %c monotonic, align 8
  br label %loop
}

; The poll's call has a map: the pointer held only by the spinning frame
; is a root there.
; MAP-LABEL: define i64 @hold(ptr %obj, ptr %stop)
; MAP: call void @preempt_safepoint() #{{[0-9]+}} [ "deopt"(i32 2, ptr %obj, ptr %stop) ]
define i64 @hold(ptr %obj, ptr %stop) {
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %n, %loop ]
  %n = add i64 %i, 1
  %s = load atomic i32, ptr %stop monotonic, align 4
  %done = icmp ne i32 %s, 0
  br i1 %done, label %exit, label %loop
exit:
  %v = load i64, ptr %obj
  %r = add i64 %v, %n
  ret i64 %r
}

; A counted loop is polled too, once per iteration, at its latch.
; CHECK-LABEL: define i64 @sum(ptr %a, i64 %len)
; CHECK: body:
; CHECK: %preempt.poll = load volatile
; CHECK-NOT: preempt.poll =
; CHECK: ret i64
define i64 @sum(ptr %a, i64 %len) {
entry:
  %empty = icmp eq i64 %len, 0
  br i1 %empty, label %exit, label %body
body:
  %i = phi i64 [ 0, %entry ], [ %i1, %body ]
  %s = phi i64 [ 0, %entry ], [ %s1, %body ]
  %p = getelementptr inbounds i64, ptr %a, i64 %i
  %v = load i64, ptr %p
  %s1 = add i64 %s, %v
  %i1 = add i64 %i, 1
  %more = icmp ult i64 %i1, %len
  br i1 %more, label %body, label %exit
exit:
  %r = phi i64 [ 0, %entry ], [ %s1, %body ]
  ret i64 %r
}

; Loops that certainly check for a stop on every iteration: a collection,
; an explicit poll, a blocking call redirected by Blocking.cpp.  No poll
; (and none of them calls back).
; CHECK-LABEL: define void @collects(i64 %n)
; CHECK-NOT: preempt.poll
; CHECK: ret void
define void @collects(i64 %n) {
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i1, %loop ]
  call void @preempt_gc()
  %i1 = add i64 %i, 1
  %more = icmp ult i64 %i1, %n
  br i1 %more, label %loop, label %exit
exit:
  ret void
}

; CHECK-LABEL: define void @explicit_poll()
; CHECK-NOT: preempt.poll
define void @explicit_poll() {
entry:
  br label %loop
loop:
  call void @preempt_safepoint()
  br label %loop
}

; CHECK-LABEL: define void @sleeps()
; CHECK-NOT: preempt.poll
; CHECK: ret void
define void @sleeps() {
entry:
  br label %loop
loop:
  %has = icmp ne ptr @preempt_blocking_usleep, null
  %fn = select i1 %has, ptr @preempt_blocking_usleep, ptr @usleep
  %r = call i32 %fn(i32 10)
  %again = icmp eq i32 %r, 0
  br i1 %again, label %loop, label %exit
exit:
  ret void
}

; A call on one path only: the other path is a cycle without a check
; (cycles); the loop has a call (loops).
; CHECK-LABEL: define void @sometimes(i64 %n)
; LOOPS-NOT: preempt.poll
; CYCLES: latch:
; CYCLES: %preempt.poll = load volatile
; CHECK: ret void
define void @sometimes(i64 %n) {
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i1, %latch ]
  %odd = and i64 %i, 1
  %c = icmp eq i64 %odd, 0
  br i1 %c, label %call, label %latch
call:
  call void @preempt_gc()
  br label %latch
latch:
  %i1 = add i64 %i, 1
  %more = icmp ult i64 %i1, %n
  br i1 %more, label %loop, label %exit
exit:
  ret void
}

; Allocation only polls on its slow path: it does not count as a check
; (cycles); it is a call (loops).
; CHECK-LABEL: define void @allocates(i64 %n)
; CHECK: loop:
; LOOPS-NOT: preempt.poll
; CHECK: call ptr @preempt_alloc
; CYCLES: %preempt.poll = load volatile
; LOOPS-NOT: preempt.poll
; CHECK: ret void
define void @allocates(i64 %n) {
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i1, %loop ]
  %p = call ptr @preempt_alloc(i64 16)
  %i1 = add i64 %i, 1
  %more = icmp ult i64 %i1, %n
  br i1 %more, label %loop, label %exit
exit:
  ret void
}

; Recursion without a loop: one poll before the recursive calls; the base
; case runs without.
; CHECK-LABEL: define i64 @fib(i64 %n)
; CHECK: base:
; CHECK-NEXT: ret i64 %n
; CHECK: rec:
; CHECK: %preempt.poll = load volatile
; CHECK: call void @preempt_safepoint()
; CHECK: preempt.poll.done:
; CHECK-NEXT: %fa = call i64 @fib(i64 %a)
; CHECK-NEXT: %fb = call i64 @fib(i64 %b)
; CHECK: ret i64
define i64 @fib(i64 %n) {
entry:
  %slot = alloca i64
  %small = icmp slt i64 %n, 2
  br i1 %small, label %base, label %rec
base:
  ret i64 %n
rec:
  %a = sub i64 %n, 1
  %b = sub i64 %n, 2
  %fa = call i64 @fib(i64 %a)
  %fb = call i64 @fib(i64 %b)
  %s = add i64 %fa, %fb
  ret i64 %s
}

; fib(1) does not check: a loop calling fib is polled (cycles); not
; (loops: a call).
; CHECK-LABEL: define void @calls_fib(i64 %n)
; CYCLES: %preempt.poll = load volatile
; LOOPS-NOT: preempt.poll
; CHECK: ret void
define void @calls_fib(i64 %n) {
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i1, %loop ]
  %f = call i64 @fib(i64 20)
  %i1 = add i64 %i, 1
  %more = icmp ult i64 %i1, %n
  br i1 %more, label %loop, label %exit
exit:
  ret void
}

; Mutual recursion: one poll in the cycle.  pong checks on every path, so
; its call is a check in ping.
; CHECK-LABEL: define void @ping(i64 %n)
; CHECK-NOT: preempt.poll
; CHECK-LABEL: define void @pong(i64 %n)
; CHECK-NEXT: entry:
; CHECK-NEXT: %preempt.poll = load volatile i32, ptr @preempt__poll_flag
; CHECK: preempt.poll.done:
; CHECK-NEXT: call void @ping(i64 %n)
define void @ping(i64 %n) {
entry:
  %z = icmp eq i64 %n, 0
  br i1 %z, label %done, label %go
go:
  %m = sub i64 %n, 1
  call void @pong(i64 %m)
  br label %done
done:
  ret void
}
define void @pong(i64 %n) {
entry:
  call void @ping(i64 %n)
  ret void
}

; A function of another file may call back, and need not check itself: a
; poll before the call, which checks for the loop too (cycles).  In loops
; mode the loop is not polled (a call): one poll at the entry is cheaper
; and checks before any re-entry.
; CHECK-LABEL: define void @calls_ext(ptr %p)
; LOOPS-NEXT: entry:
; LOOPS-NEXT: %preempt.poll = load volatile i32, ptr @preempt__poll_flag
; LOOPS: loop:
; LOOPS-NEXT: call void @ext(ptr %p)
; LOOPS-NEXT: br label %loop
; CYCLES: loop:
; CYCLES-NEXT: %preempt.poll = load volatile i32, ptr @preempt__poll_flag
; CYCLES: preempt.poll.done:
; CYCLES-NEXT: call void @ext(ptr %p)
; CYCLES-NEXT: br label %loop
; CHECK-NEXT: }
define void @calls_ext(ptr %p) {
entry:
  br label %loop
loop:
  call void @ext(ptr %p)
  br label %loop
}

; Through a pointer: a poll before the call.
; CHECK-LABEL: define void @indirect(ptr %f)
; CHECK-NEXT: entry:
; CHECK-NEXT: %preempt.poll = load volatile i32, ptr @preempt__poll_flag
; CHECK: preempt.poll.done:
; CHECK-NEXT: call void %f()
define void @indirect(ptr %f) {
entry:
  call void %f()
  ret void
}

; The C library's qsort calls the comparator: a poll before it.
; CHECK-LABEL: define void @sorts(ptr %a, ptr %cmp)
; CHECK-NEXT: entry:
; CHECK-NEXT: %preempt.poll = load volatile i32, ptr @preempt__poll_flag
define void @sorts(ptr %a, ptr %cmp) {
entry:
  call void @qsort(ptr %a, i64 10, i64 8, ptr %cmp)
  ret void
}

; strlen calls nothing back: no poll before it; the loop is polled
; (cycles), not (loops: a call).
; CHECK-LABEL: define i64 @lengths(ptr %s, i64 %n)
; LOOPS-NOT: preempt.poll
; CHECK: %l = call i64 @strlen(ptr %s)
; CYCLES: %preempt.poll = load volatile
; LOOPS-NOT: preempt.poll
; CHECK: ret i64 %i1
define i64 @lengths(ptr %s, i64 %n) {
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i1, %loop ]
  %l = call i64 @strlen(ptr %s)
  %i1 = add i64 %i, %l
  %more = icmp ult i64 %i1, %n
  br i1 %more, label %loop, label %exit
exit:
  ret i64 %i1
}

; No loop, no recursion: nothing, however hot.
; CHECK-LABEL: define i64 @leaf(ptr %p)
; CHECK-NOT: preempt
; CHECK: ret i64
define i64 @leaf(ptr %p) {
  %v = load i64, ptr %p
  %l = call i64 @strlen(ptr %p)
  %r = add i64 %v, %l
  ret i64 %r
}

; An irreducible cycle (two entries) has no natural loop: polled all the
; same.
; CHECK-LABEL: define void @irreducible(i1 %c)
; CHECK: %preempt.poll = load volatile
define void @irreducible(i1 %c) {
entry:
  br i1 %c, label %a, label %b
a:
  br label %b
b:
  br label %a
}

; Inside an unsafe range the collector could not see the hidden pointer:
; no poll there (the loop outside the range is polled).
; CHECK-LABEL: define ptr @unsafe_loop(ptr %p, i64 %k)
; CHECK: inner:
; CHECK-NOT: preempt.poll =
; CHECK: "# preempt.unsafe.end 1 0 1 $0"
; CHECK: %preempt.poll = load volatile
; CHECK: ret ptr
define ptr @unsafe_loop(ptr %p, i64 %k) {
entry:
  br label %outer
outer:
  %b = call ptr asm sideeffect "# preempt.unsafe.begin 1 0 7 $0", "=r,0,~{memory}"(ptr %p)
  %i = ptrtoint ptr %b to i64
  br label %inner
inner:
  %h = phi i64 [ %i, %outer ], [ %h1, %inner ]
  %h1 = xor i64 %h, %k
  %again = icmp ne i64 %h1, %i
  br i1 %again, label %inner, label %done
done:
  %q = inttoptr i64 %h1 to ptr
  %e = call ptr asm sideeffect "# preempt.unsafe.end 1 0 1 $0", "=r,0,~{memory}"(ptr %q)
  %stop = icmp eq ptr %e, null
  br i1 %stop, label %exit, label %outer
exit:
  ret ptr %e
}

; CHECK-LABEL: define void @marked_unsafe()
; CHECK-NOT: preempt.poll
define void @marked_unsafe() "preempt-unsafe" {
entry:
  br label %loop
loop:
  br label %loop
}

; CHECK-LABEL: define void @no_safepoint()
; CHECK-NOT: preempt.poll
define void @no_safepoint() "preempt-no-safepoint" {
entry:
  br label %loop
loop:
  br label %loop
}

; A function of this module that checks on every path: calling it checks.
; CHECK-LABEL: define void @checker(i1 %c)
; CHECK-NOT: preempt.poll
; CHECK-LABEL: define void @calls_checker(i1 %c)
; CHECK-NOT: preempt.poll
; CHECK: ret void
define void @checker(i1 %c) {
entry:
  br i1 %c, label %a, label %b
a:
  call void @preempt_gc()
  ret void
b:
  call void @preempt_safepoint()
  ret void
}
define void @calls_checker(i1 %c) {
entry:
  br label %loop
loop:
  call void @checker(i1 %c)
  br i1 %c, label %loop, label %exit
exit:
  ret void
}

; Short loops: an innermost loop without calls that scalar evolution
; bounds to at most 256 iterations of at most 64 instructions gets no
; poll; a cycle that enters it again is polled outside it (here, the
; parent loop's back-edge).
; CHECK-LABEL: define void @short_inner(ptr %a, i64 %n)
; CHECK: inner:
; CHECK-NOT: preempt.poll
; CHECK: outer.latch:
; CHECK-NEXT: %i.next = add i64 %i, 1
; CHECK-NEXT: %again = icmp ne i64 %i.next, %n
; CHECK-NEXT: %preempt.poll = load volatile i32, ptr @preempt__poll_flag
; CHECK: preempt.poll.done:
; CHECK-NEXT: br i1 %again, label %outer, label %exit
define void @short_inner(ptr %a, i64 %n) {
entry:
  br label %outer
outer:
  %i = phi i64 [ 0, %entry ], [ %i.next, %outer.latch ]
  br label %inner
inner:
  %j = phi i64 [ 0, %outer ], [ %j.next, %inner ]
  %p = getelementptr i64, ptr %a, i64 %j
  store volatile i64 %i, ptr %p
  %j.next = add nuw nsw i64 %j, 1
  %more = icmp ult i64 %j.next, 16
  br i1 %more, label %inner, label %outer.latch
outer.latch:
  %i.next = add i64 %i, 1
  %again = icmp ne i64 %i.next, %n
  br i1 %again, label %outer, label %exit
exit:
  ret void
}

; A short loop in no loop: it runs once per call; nothing to poll.
; CHECK-LABEL: define void @short_alone(ptr %a)
; CHECK-NOT: preempt.poll
; CHECK: ret void
define void @short_alone(ptr %a) {
entry:
  br label %loop
loop:
  %j = phi i64 [ 0, %entry ], [ %j.next, %loop ]
  %p = getelementptr i64, ptr %a, i64 %j
  store volatile i64 %j, ptr %p
  %j.next = add nuw nsw i64 %j, 1
  %more = icmp ult i64 %j.next, 256
  br i1 %more, label %loop, label %exit
exit:
  ret void
}

; Polled: one iteration more than the bound allows,
; CHECK-LABEL: define void @long_bound(ptr %a)
; CHECK: loop:
; CHECK: %preempt.poll = load volatile i32, ptr @preempt__poll_flag
define void @long_bound(ptr %a) {
entry:
  br label %loop
loop:
  %j = phi i64 [ 0, %entry ], [ %j.next, %loop ]
  %p = getelementptr i64, ptr %a, i64 %j
  store volatile i64 %j, ptr %p
  %j.next = add nuw nsw i64 %j, 1
  %more = icmp ult i64 %j.next, 257
  br i1 %more, label %loop, label %exit
exit:
  ret void
}

; a short loop that calls (even a function of this file without loops;
; cycles: loops mode trusts the call),
define void @short_callee(ptr %p) {
  store volatile i64 0, ptr %p
  ret void
}
; CHECK-LABEL: define void @short_calls(ptr %a)
; CHECK: loop:
; CHECK: call void @short_callee(
; CYCLES: %preempt.poll = load volatile i32, ptr @preempt__poll_flag
; LOOPS-NOT: preempt.poll
; CHECK: ret void
define void @short_calls(ptr %a) {
entry:
  br label %loop
loop:
  %j = phi i64 [ 0, %entry ], [ %j.next, %loop ]
  %p = getelementptr i64, ptr %a, i64 %j
  call void @short_callee(ptr %p)
  %j.next = add nuw nsw i64 %j, 1
  %more = icmp ult i64 %j.next, 16
  br i1 %more, label %loop, label %exit
exit:
  ret void
}

; and a loop whose bound scalar evolution cannot see.
; CHECK-LABEL: define void @unknown_bound(ptr %a, i64 %n)
; CHECK: loop:
; CHECK: %preempt.poll = load volatile i32, ptr @preempt__poll_flag
define void @unknown_bound(ptr %a, i64 %n) {
entry:
  br label %loop
loop:
  %j = phi i64 [ 0, %entry ], [ %j.next, %loop ]
  %p = getelementptr i64, ptr %a, i64 %j
  store volatile i64 %j, ptr %p
  %j.next = add i64 %j, 1
  %more = icmp ne i64 %j.next, %n
  br i1 %more, label %loop, label %exit
exit:
  ret void
}

;; Loops (the default) against cycles.

; A leaf of this module: it never checks.
define i64 @work(ptr %p) {
  %v = load volatile i64, ptr %p
  ret i64 %v
}

; An interpreter's dispatch loop: each handler closes a cycle through the
; dispatch, one of them calls.  Loops: one loop with a call, no poll (the
; call-free handlers cost nothing).  Cycles: the call does not check, so
; each handler's path back is polled.
; CHECK-LABEL: define void @dispatch(ptr %code, ptr %acc)
; LOOPS-NOT: preempt.poll
; CYCLES: add:
; CYCLES: %preempt.poll = load volatile
; CYCLES: call:
; CYCLES: %w = call i64 @work(ptr %acc)
; CYCLES-NEXT: %preempt.poll{{[0-9]*}} = load volatile
; CHECK: exit:
; CHECK-NEXT: ret void
define void @dispatch(ptr %code, ptr %acc) {
entry:
  br label %next
next:
  %pc = phi ptr [ %code, %entry ], [ %pc1, %add ], [ %pc1, %call ]
  %op = load i8, ptr %pc
  %pc1 = getelementptr i8, ptr %pc, i64 1
  switch i8 %op, label %exit [ i8 0, label %add
                               i8 1, label %call ]
add:
  %a = load i64, ptr %acc
  %a1 = add i64 %a, 1
  store i64 %a1, ptr %acc
  br label %next
call:
  %w = call i64 @work(ptr %acc)
  br label %next
exit:
  ret void
}

; A call-free inner loop (bound unknown) in an outer loop that calls:
; the inner loop is polled in both modes, the outer one only in cycles
; mode (strlen does not check).
; CHECK-LABEL: define void @nested(ptr %s, ptr %a, i64 %n, i64 %m)
; CHECK: outer:
; CHECK-NOT: @preempt__poll_flag
; CHECK: {{^}}inner:
; CHECK: %preempt.poll = load volatile
; CHECK: outer.latch:
; LOOPS-NOT: @preempt__poll_flag
; CYCLES: %preempt.poll{{[0-9]+}} = load volatile
; CHECK: exit:
; CHECK-NEXT: ret void
define void @nested(ptr %s, ptr %a, i64 %n, i64 %m) {
entry:
  br label %outer
outer:
  %i = phi i64 [ 0, %entry ], [ %i1, %outer.latch ]
  %l = call i64 @strlen(ptr %s)
  br label %inner
inner:
  %j = phi i64 [ 0, %outer ], [ %j1, %inner ]
  %p = getelementptr i64, ptr %a, i64 %j
  store volatile i64 %l, ptr %p
  %j1 = add i64 %j, 1
  %more = icmp ne i64 %j1, %m
  br i1 %more, label %inner, label %outer.latch
outer.latch:
  %i1 = add i64 %i, 1
  %again = icmp ne i64 %i1, %n
  br i1 %again, label %outer, label %exit
exit:
  ret void
}

; An irreducible cycle that calls: a loop with a call (loops), a cycle
; without a check (cycles).
; CHECK-LABEL: define void @irreducible_calls(i1 %c, ptr %s)
; LOOPS-NOT: preempt.poll
; CYCLES: %preempt.poll = load volatile
; CHECK: {{^}}}{{$}}
define void @irreducible_calls(i1 %c, ptr %s) {
entry:
  br i1 %c, label %a, label %b
a:
  %l = call i64 @strlen(ptr %s)
  br label %b
b:
  br label %a
}

; A call-free loop inside an irreducible one that calls (entered at a and
; at b): the edges back into both entries are left out, the inner loop
; at c is polled in both modes.
; CHECK-LABEL: define void @irreducible_inner(i1 %k, ptr %s, ptr %x)
; CHECK: {{^}}c:
; CHECK: %preempt.poll = load volatile i32, ptr @preempt__poll_flag
; CHECK-NOT: @preempt__poll_flag
; CHECK: {{^}}}{{$}}
define void @irreducible_inner(i1 %k, ptr %s, ptr %x) {
entry:
  br i1 %k, label %a, label %b
a:
  %l = call i64 @strlen(ptr %s)
  br label %b
b:
  br label %c
c:
  %v = load volatile i64, ptr %x
  %z = icmp eq i64 %v, 0
  br i1 %z, label %c, label %a
}

; The constructor and destructor: register the flag, and take it back,
; if the runtime is linked.
; CHECK: declare extern_weak void @preempt__poll_register(ptr)
; CHECK-LABEL: define linkonce_odr hidden void @preempt__poll_init() #{{[0-9]+}} comdat($preempt__poll_flag)
; CHECK-NEXT: icmp ne ptr @preempt__poll_register, null
; CHECK-NEXT: br i1 %{{[0-9]+}}, label %runtime, label %done
; CHECK: runtime:
; CHECK-NEXT: call void @preempt__poll_register(ptr @preempt__poll_flag)
; CHECK: declare extern_weak void @preempt__poll_unregister(ptr)
; CHECK-LABEL: define linkonce_odr hidden void @preempt__poll_fini() #{{[0-9]+}} comdat($preempt__poll_flag)
; CHECK-NEXT: icmp ne ptr @preempt__poll_unregister, null
; CHECK-NEXT: br i1 %{{[0-9]+}}, label %runtime, label %done
; CHECK: runtime:
; CHECK-NEXT: call void @preempt__poll_unregister(ptr @preempt__poll_flag)

; CHECK: attributes #[[COLD]] = { cold }
; CHECK: [[UNLIKELY]] = !{!"branch_weights", i32 1, i32 1048575}
