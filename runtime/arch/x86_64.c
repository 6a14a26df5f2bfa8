/* Reading the machine's state on x86-64. */
#include "../arch.h"

uintptr_t preempt_arch_stack_pointer(void) {
  uintptr_t sp;
  __asm__ __volatile__("movq %%rsp, %0" : "=r"(sp));
  return sp;
}
