/* x86-64 (System V ABI): register facts shared by runtime, plugin, tools. */
#ifndef PREEMPT_ARCH_X86_64_H
#define PREEMPT_ARCH_X86_64_H

#define PREEMPT_ARCH_NAME "x86-64"
#define PREEMPT_ARCH_MAP_ID 1u         /* preempt_map_header.arch */
#define PREEMPT_ARCH_ELF_MACHINE 62    /* EM_X86_64 */
/* General-purpose registers are DWARF 0..15; 16 is the return address. */
#define PREEMPT_DWARF_NUM_GPRS 16
#define PREEMPT_DWARF_SP 7
#define PREEMPT_DWARF_FP 6
#define PREEMPT_DWARF_REG_NAMES                                              \
  {"rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp",                   \
   "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"}
/* Callee-saved: rbx, rbp, r12-r15.  Their values in a frame may belong to
 * any caller further up. */
#define PREEMPT_CALLEE_SAVED {3, 6, 12, 13, 14, 15}
#define PREEMPT_NUM_CALLEE_SAVED 6

/* See arch.h.  At entry rsp+8 is the caller's stack pointer; 56 bytes keep
 * the stack 16-byte aligned for the call.  The CFI adjustments keep the
 * frame unwindable at every instruction (a stop signal may land here). */
#define PREEMPT_ARCH_CALL_WITH_CALLER_CONTEXT(fn)                           \
  __asm__("lea 8(%rsp), %rsi\n\t"                                           \
          "sub $56, %rsp\n\t"                                               \
          ".cfi_adjust_cfa_offset 56\n\t"                                   \
          "mov %rbx, 0(%rsp)\n\t"                                           \
          "mov %rbp, 8(%rsp)\n\t"                                           \
          "mov %r12, 16(%rsp)\n\t"                                          \
          "mov %r13, 24(%rsp)\n\t"                                          \
          "mov %r14, 32(%rsp)\n\t"                                          \
          "mov %r15, 40(%rsp)\n\t"                                          \
          "mov %rsp, %rdi\n\t"                                              \
          "call " #fn "\n\t"                                                \
          "add $56, %rsp\n\t"                                               \
          ".cfi_adjust_cfa_offset -56\n\t"                                  \
          "ret")


/* In a spin-wait loop: let the sibling hyperthread run. */
#define PREEMPT_ARCH_PAUSE() __builtin_ia32_pause()

/* Bytes below the stack pointer a leaf function may use without moving it
 * (System V red zone): an interrupted frame's data may live there. */
#define PREEMPT_ARCH_RED_ZONE 128

/* A counter updated by one instruction, so that a signal handler on the
 * same thread sees it either before or after, never half done (no lock
 * prefix: other threads never touch it).  DEC returns true when the
 * result is non-zero. */
#define PREEMPT_ARCH_SIGSAFE_INC(p)                                         \
  __asm__ __volatile__("addl $1, %0" : "+m"(*(p)) : : "cc", "memory")
#define PREEMPT_ARCH_SIGSAFE_DEC_NONZERO(p)                                 \
  (__extension__({                                                          \
    _Bool nz_;                                                              \
    __asm__ __volatile__("subl $1, %0"                                      \
                         : "+m"(*(p)), "=@ccnz"(nz_)                        \
                         :                                                  \
                         : "memory");                                       \
    nz_;                                                                    \
  }))

#endif
