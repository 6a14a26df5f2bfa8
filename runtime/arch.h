/* What the runtime, the plugin and the tools know about the machine: the
 * register set as DWARF numbers, the stack-map architecture id, and (in
 * the runtime) saving a thread's context.  One header per architecture in
 * arch/, selected here; a port adds arch/<cpu>.h and arch/<cpu>.c.
 *
 * The per-architecture header is plain C and C++ with no dependencies, so
 * the plugin (C++) and preempt-maps include it too. */
#ifndef PREEMPT_ARCH_H
#define PREEMPT_ARCH_H

#if defined(__x86_64__)
#include "arch/x86_64.h"
#else
#error "preempt supports x86-64 only so far: add runtime/arch/<cpu>.h and .c"
#endif

#ifndef __cplusplus
#include <stdint.h>
uintptr_t preempt_arch_stack_pointer(void) __attribute__((visibility("hidden")));
/* PREEMPT_ARCH_CALL_WITH_CALLER_CONTEXT(fn), from the arch header, is the
 * whole body of a naked function: it calls
 *   void fn(uintptr_t *regs, uintptr_t sp)
 * with its caller's callee-saved registers (PREEMPT_NUM_CALLEE_SAVED words,
 * in the order of PREEMPT_CALLEE_SAVED) and stack pointer as they were at
 * the call, and returns.  Everything the callers hold while the caller goes
 * on into other code is then above sp or in regs: saving them in any C
 * function instead would save that function's own use of the registers. */

/* An interrupted context (the ucontext_t a signal handler receives):
 * where it stopped, its stack pointer, and every register that may hold a
 * pointer (general-purpose and vector, whole), each passed to fn. */
uintptr_t preempt_arch_context_pc(const void *uc)
    __attribute__((visibility("hidden")));
uintptr_t preempt_arch_context_sp(const void *uc)
    __attribute__((visibility("hidden")));
void preempt_arch_context_values(const void *uc,
                                 void (*fn)(void *arg, uintptr_t value),
                                 void *arg) __attribute__((visibility("hidden")));
#endif

#endif
