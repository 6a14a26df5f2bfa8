/* Reading the machine's state on x86-64. */
#define _GNU_SOURCE
#include "../arch.h"

#include <cpuid.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
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

/* Where each XSAVE component lies in a signal frame (the standard
 * format), from CPUID leaf 0xD; filled once, by whichever thread first
 * needs it (the values are the same for all). */
#define XSAVE_HEADER 512u
static struct {
  uint32_t off, size;
} component[64];
static atomic_bool layout_read;

static void read_layout(void) {
  if (atomic_load_explicit(&layout_read, memory_order_acquire))
    return;
  unsigned a, b, c, d;
  __cpuid_count(0xd, 0, a, b, c, d); /* the components there are */
  uint64_t supported = (uint64_t)d << 32 | a;
  for (unsigned i = 2; i < 63; i++)
    if (supported >> i & 1) { /* each CPUID costs a VM exit */
      __cpuid_count(0xd, i, a, b, c, d);
      component[i].size = a;
      component[i].off = b;
    }
  atomic_store_explicit(&layout_read, true, memory_order_release);
}

void preempt_arch_context_values(const void *ucp,
                                 void (*fn)(void *, uintptr_t), void *arg) {
  const ucontext_t *uc = ucp;
  for (int r = 0; r < NGREG; r++)
    if (r != REG_RIP && r != REG_EFL && r != REG_CSGSFS && r != REG_ERR &&
        r != REG_TRAPNO && r != REG_OLDMASK && r != REG_CR2)
      fn(arg, (uintptr_t)uc->uc_mcontext.gregs[r]);
  /* x87/SSE state (xmm0-15 low halves) and, when the frame is XSAVE, the
   * upper halves of ymm/zmm and zmm16-31, every word: a pointer may sit
   * in any lane during a struct copy.  Only the components the frame
   * holds: the kernel does not write those in their initial state, whose
   * bytes are then whatever the stack held before (stale pointers). */
  const unsigned char *fp = (const unsigned char *)uc->uc_mcontext.fpregs;
  if (!fp)
    return;
  uint32_t magic, xsize;
  memcpy(&magic, fp + SW_BYTES_OFFSET, 4);
  memcpy(&xsize, fp + SW_BYTES_OFFSET + 16, 4); /* xstate_size */
  if (magic != FP_XSTATE_MAGIC1_ || xsize < XSAVE_HEADER + 64 ||
      xsize >= (1u << 16)) {
    words(fp, FXSAVE_SIZE, fn, arg); /* FXSAVE: all of it written */
    return;
  }
  uint64_t present;
  memcpy(&present, fp + XSAVE_HEADER, sizeof present); /* XSTATE_BV */
  if (present & 1)
    words(fp + 32, 128, fn, arg); /* st0-7 */
  if (present & 2)
    words(fp + 160, 256, fn, arg); /* xmm0-15 */
  read_layout();
  for (unsigned i = 2; i < 63; i++)
    if ((present >> i & 1) && component[i].size &&
        component[i].off >= XSAVE_HEADER + 64 &&
        component[i].off + component[i].size <= xsize)
      words(fp + component[i].off, component[i].size, fn, arg);
}
