/* Reading the machine's state on x86-64. */
#define _GNU_SOURCE
#include "../arch.h"

#include <signal.h>
#include <string.h>
#include <ucontext.h>

uintptr_t preempt_arch_stack_pointer(void) {
  uintptr_t sp;
  __asm__ __volatile__("movq %%rsp, %0" : "=r"(sp));
  return sp;
}

uintptr_t preempt_arch_context_pc(const void *uc) {
  return (uintptr_t)((const ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];
}

uintptr_t preempt_arch_context_sp(const void *uc) {
  return (uintptr_t)((const ucontext_t *)uc)->uc_mcontext.gregs[REG_RSP];
}

/* The kernel marks an XSAVE signal frame in the FXSAVE area's software
 * bytes (offset 464): magic, then the size of the whole XSAVE image. */
#define FP_XSTATE_MAGIC1_ 0x46505853u
#define FXSAVE_SIZE 512u
#define SW_BYTES_OFFSET 464u

static void words(const unsigned char *p, size_t n,
                                       void (*fn)(void *, uintptr_t),
                                       void *arg) {
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uintptr_t v;
    memcpy(&v, p + i, sizeof v);
    fn(arg, v);
  }
}

void preempt_arch_context_values(const void *ucp,
                                 void (*fn)(void *, uintptr_t), void *arg) {
  const ucontext_t *uc = ucp;
  for (int r = 0; r < NGREG; r++)
    if (r != REG_RIP && r != REG_EFL && r != REG_CSGSFS && r != REG_ERR &&
        r != REG_TRAPNO && r != REG_OLDMASK && r != REG_CR2)
      fn(arg, (uintptr_t)uc->uc_mcontext.gregs[r]);
  /* x87/SSE state (xmm0-15 low halves) and, when the frame is XSAVE, the
   * upper halves of ymm/zmm and zmm16-31: all of it, word by word.  A
   * pointer may sit in any lane during a struct copy. */
  const unsigned char *fp = (const unsigned char *)uc->uc_mcontext.fpregs;
  if (!fp)
    return;
  uint32_t magic, xsize;
  memcpy(&magic, fp + SW_BYTES_OFFSET, 4);
  memcpy(&xsize, fp + SW_BYTES_OFFSET + 16, 4); /* xstate_size */
  size_t n = FXSAVE_SIZE;
  if (magic == FP_XSTATE_MAGIC1_ && xsize > FXSAVE_SIZE && xsize < (1u << 16))
    n = xsize;
  words(fp, n, fn, arg);
}
