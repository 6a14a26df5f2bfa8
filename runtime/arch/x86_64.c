/* Saving a thread's context on x86-64. */
#include "../arch.h"

uintptr_t preempt_arch_save_context(uintptr_t *regs) {
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
