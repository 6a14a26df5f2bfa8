// -fplugin-arg-preempt-polls through clang: the fast path of a loop's
// poll is a compare with memory and a branch not taken (the flag's address
// in a register for the whole loop), the call out of line after the loop's
// own code; the call has a stack map.  At -O0 too.  Without the argument,
// no poll.  The stats argument counts them; unknown arguments list it.
// RUN: %cc -O2 -fplugin-arg-preempt-polls -S -o - %s | FileCheck %s --check-prefix=ASM
// RUN: %cc -O2 -fplugin-arg-preempt-polls -S -emit-llvm -o - %s | FileCheck %s --check-prefix=IR
// RUN: %cc -O0 -fplugin-arg-preempt-polls -S -emit-llvm -o - %s | FileCheck %s --check-prefix=IR
// RUN: %cc -O2 -S -emit-llvm -o - %s | FileCheck %s --check-prefix=OFF
// RUN: %cc -O2 -fplugin-arg-preempt-polls -fplugin-arg-preempt-stats -c -o /dev/null %s 2>&1 | FileCheck %s --check-prefix=STATS
// RUN: not %cc -fplugin-arg-preempt-bogus -c -o /dev/null %s 2>&1 | FileCheck %s --check-prefix=ARG
#include <preempt.h>
#include <stdatomic.h>

_Atomic int stop;

// ASM-LABEL: spin:
// ASM: movq preempt.poll.at(%rip), %[[R:[a-z0-9]+]]
// ASM: [[LOOP:.LBB[0-9_]+]]: # =>This Inner Loop Header
// ASM-NOT: call
// ASM: cmpl $0, (%[[R]])
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

// OFF-NOT: preempt.poll
// OFF-NOT: preempt_safepoint

// STATS: preempt: {{.*}}polls.c: polls in 1 functions: 1 on loops, 0 before calls that may recurse, 0 at entries instead
// ARG: error: preempt: unknown plugin argument 'bogus' (known: no-llvm-stackmaps, polls, stats)
