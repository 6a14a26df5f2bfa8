// -fplugin-arg-preempt-polls through clang: the fast path of a loop's
// poll is a compare of the flag in memory, addressed relative to the
// instruction pointer (no register, no pointer load), and a branch not
// taken; the call out of line after the loop's own code; the call has a
// stack map.  The flag (one per linked object) is a hidden comdat global;
// the constructor and destructor that register it with the runtime are in
// its comdat, and so are their .init_array/.fini_array entries (the
// linker keeps one of each per object).  At -O0 too.  Without the argument,
// no poll.  The stats argument counts them; unknown arguments list it.
// polls=loops (the default) polls only loops without any call; polls=cycles
// every cycle without a certain check; other modes are an error.
// RUN: %cc -O2 -fplugin-arg-preempt-polls -S -o - %s | FileCheck %s --check-prefix=ASM
// RUN: %cc -O2 -fplugin-arg-preempt-polls -S -emit-llvm -o - %s | FileCheck %s --check-prefixes=IR,IRO2
// RUN: %cc -O0 -fplugin-arg-preempt-polls -S -emit-llvm -o - %s | FileCheck %s --check-prefix=IR
// RUN: %cc -O2 -S -emit-llvm -o - %s | FileCheck %s --check-prefix=OFF
// RUN: %cc -O2 -fplugin-arg-preempt-polls -fplugin-arg-preempt-stats -c -o /dev/null %s 2>&1 | FileCheck %s --check-prefix=STATS
// RUN: not %cc -fplugin-arg-preempt-bogus -c -o /dev/null %s 2>&1 | FileCheck %s --check-prefix=ARG
// RUN: %cc -O2 -fplugin-arg-preempt-polls -S -emit-llvm -o - %s | FileCheck %s --check-prefixes=MODE,LOOPS
// RUN: %cc -O2 -fplugin-arg-preempt-polls=loops -S -emit-llvm -o - %s | FileCheck %s --check-prefixes=MODE,LOOPS
// RUN: %cc -O2 -fplugin-arg-preempt-polls=cycles -S -emit-llvm -o - %s | FileCheck %s --check-prefixes=MODE,CYCLES
// RUN: not %cc -fplugin-arg-preempt-polls=often -c -o /dev/null %s 2>&1 | FileCheck %s --check-prefix=BADMODE
#include <preempt.h>
#include <stdatomic.h>

_Atomic int stop;

// ASM-LABEL: spin:
// ASM-NOT: preempt__poll_flag
// ASM: [[LOOP:.LBB[0-9_]+]]: # =>This Inner Loop Header
// ASM-NOT: call
// ASM: cmpl $0, preempt__poll_flag(%rip)
// ASM-NEXT: jne [[SLOW:.LBB[0-9_]+]]
// ASM-NOT: call
// ASM: je [[LOOP]]
// ASM: [[SLOW]]:
// ASM-NOT: {{^.LBB}}
// ASM: callq preempt_safepoint@PLT
// IR-LABEL: define {{.*}}i64 @spin(
// IR: load volatile i32, ptr
// IR: call void @preempt_safepoint() #{{[0-9]+}} [ "deopt"(
long spin(_Atomic long *c) {
  long n = 0;
  while (!atomic_load_explicit(&stop, memory_order_relaxed))
    atomic_store_explicit(c, ++n, memory_order_relaxed);
  return n;
}

// A short loop (100 iterations, no call) inside a polled one: only the
// outer loop polls.
// ASM-LABEL: fill:
// ASM-COUNT-1: cmpl $0, preempt__poll_flag(%rip)
// ASM-NOT: preempt__poll_flag
// ASM: .Lfunc_end
void fill(long (*rows)[100], long n) {
  for (long i = 0; i < n; i++)
    for (int j = 0; j < 100; j++)
      ((volatile long *)rows[i])[j] = i + j;
}
// IRO2-LABEL: define {{.*}}void @fill(
// IRO2-COUNT-1: load volatile i32, ptr @preempt__poll_flag
// IRO2-NOT: preempt__poll_flag
// IRO2: {{^}}}{{$}}

// An interpreter: one handler calls a function that never checks.
// Loops: the dispatch loop has a call, no poll.  Cycles: polled.
__attribute__((noinline)) long work(volatile long *p) { return *p; }

// MODE-LABEL: define {{.*}}i64 @interp(
// LOOPS-NOT: @preempt__poll_flag
// CYCLES: load volatile i32, ptr @preempt__poll_flag
// MODE: {{^}}}{{$}}
long interp(const unsigned char *pc, volatile long *cell) {
  long acc = 0;
  for (;;)
    switch (*pc++) {
    case 0:
      acc++;
      break;
    case 1:
      acc += work(cell);
      break;
    default:
      return acc;
    }
}

// A call-free spinner: polled in both modes.
// MODE-LABEL: define {{.*}}void @spin_free(
// MODE: load volatile i32, ptr @preempt__poll_flag
// MODE: {{^}}}{{$}}
void spin_free(volatile long *c) {
  for (;;)
    ++*c;
}

// ASM: .section .text.preempt__poll_init,"axG",@progbits,preempt__poll_flag,comdat
// ASM: leaq preempt__poll_flag(%rip), %rdi
// ASM: callq preempt__poll_register@PLT
// ASM: .section .text.preempt__poll_fini,"axG",@progbits,preempt__poll_flag,comdat
// ASM: callq preempt__poll_unregister@PLT
// ASM: .hidden preempt__poll_flag
// ASM: .section .init_array.0,"awG",@init_array,preempt__poll_flag,comdat
// ASM-NEXT: .p2align 3
// ASM-NEXT: .quad preempt__poll_init
// ASM: .section .fini_array.0,"awG",@fini_array,preempt__poll_flag,comdat
// ASM-NEXT: .p2align 3
// ASM-NEXT: .quad preempt__poll_fini

// OFF-NOT: preempt.poll
// OFF-NOT: preempt_safepoint

// STATS: preempt: {{.*}}polls.c: polls in 3 functions: 3 on loops, 0 before calls that may recurse, 0 at entries instead; 1 short loops left to their parents
// ARG: error: preempt: unknown plugin argument 'bogus' (known: no-layouts, no-llvm-stackmaps, polls[=loops|cycles], polls-unroll=N, stats)
// BADMODE: error: preempt: -fplugin-arg-preempt-polls=often: unknown mode (accepted: -fplugin-arg-preempt-polls, -fplugin-arg-preempt-polls=loops, -fplugin-arg-preempt-polls=cycles)
