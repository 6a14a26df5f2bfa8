/* A library built with the plugin whose constructor holds heap objects
 * only as hidden integers inside unsafe ranges, each for a while, and
 * checks them afterwards; test_loader loads it while another thread
 * collects.  A stop that began while the loader was still mapping the
 * library finds the thread in its code later, when it signals the thread
 * again: if the stop took that code for code of no object (the registry
 * synced before the library was mapped) and stopped the thread in the
 * range, the collector would free the object. */
#include <preempt.h>

#include <stdint.h>

static volatile uintptr_t hidden, key = 0x5a5a5a5a5a5a5a5aull;
static volatile unsigned spins = 100000;
int unsafelib_bad; /* words found changed after their range */
int unsafelib_rounds;

static uint64_t word(int r, int i) {
  return 0x1234567800000000ull + (uint64_t)r * 64 + (uint64_t)i;
}

__attribute__((constructor)) static void hold_hidden(void) {
  for (int r = 0; r < 16; r++) {
    uint64_t *o = preempt_alloc_noscan(8 * sizeof *o);
    for (int i = 0; i < 8; i++)
      o[i] = word(r, i);
    preempt_unsafe_begin(o);
    hidden = (uintptr_t)o ^ key;
#if defined(__x86_64__)
    /* No register keeps a copy the conservative scan of the interrupted
     * frame would find. */
    __asm__ __volatile__(
        "xor %%eax, %%eax; xor %%ebx, %%ebx; xor %%ecx, %%ecx;"
        "xor %%edx, %%edx; xor %%esi, %%esi; xor %%edi, %%edi;"
        "xor %%r8d, %%r8d; xor %%r9d, %%r9d; xor %%r10d, %%r10d;"
        "xor %%r11d, %%r11d; xor %%r12d, %%r12d; xor %%r13d, %%r13d;"
        "xor %%r14d, %%r14d; xor %%r15d, %%r15d" ::: "rax", "rbx", "rcx",
        "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14",
        "r15", "memory");
#endif
    for (unsigned i = 0; i < spins; i++) /* no call: a signal may land here */
      __asm__ __volatile__("" ::: "memory");
    uint64_t *p = (uint64_t *)(hidden ^ key);
    preempt_unsafe_end(p);
    for (int i = 0; i < 8; i++)
      unsafelib_bad += p[i] != word(r, i);
    hidden = 0;
    unsafelib_rounds++;
  }
}
