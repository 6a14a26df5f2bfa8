/* Everything the runtime knows about x86-64 registers.  A port adds one
 * file like this one (and the plugin's DWARF register numbering). */
#include "internal.h"

#if !defined(__x86_64__)
#error "preempt supports x86-64 only so far: add arch_<cpu>.c"
#endif

/* DWARF numbers of the System V callee-saved registers: rbx, rbp, r12-r15.
 * Their values in a frame may belong to any caller further up. */
const int preempt_callee_saved[] = {3, 6, 12, 13, 14, 15};
const int preempt_ncallee_saved =
    sizeof preempt_callee_saved / sizeof preempt_callee_saved[0];

/* Stores the callee-saved registers and returns the stack pointer, for a
 * thread about to block: everything its callers hold is then either on
 * the stack above the returned pointer or in regs. */
uintptr_t preempt_arch_save_context(uintptr_t regs[8]) {
  uintptr_t sp;
  __asm__ __volatile__("movq %%rbx, 0(%1)\n\t"
                       "movq %%rbp, 8(%1)\n\t"
                       "movq %%r12, 16(%1)\n\t"
                       "movq %%r13, 24(%1)\n\t"
                       "movq %%r14, 32(%1)\n\t"
                       "movq %%r15, 40(%1)\n\t"
                       "movq %%rsp, %0"
                       : "=r"(sp)
                       : "r"(regs)
                       : "memory");
  return sp;
}

uintptr_t preempt_arch_stack_pointer(void) {
  uintptr_t sp;
  __asm__ __volatile__("movq %%rsp, %0" : "=r"(sp));
  return sp;
}
