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
/* Stores the callee-saved registers in regs (PREEMPT_NUM_CALLEE_SAVED
 * words, in the order of PREEMPT_CALLEE_SAVED) and returns the stack
 * pointer: everything the callers hold is then above it or in regs. */
uintptr_t preempt_arch_save_context(uintptr_t *regs)
    __attribute__((visibility("hidden")));
uintptr_t preempt_arch_stack_pointer(void) __attribute__((visibility("hidden")));
#endif

#endif
