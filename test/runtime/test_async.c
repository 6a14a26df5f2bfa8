/* Adversarial tests of stopping the world by signal.
 *
 * A stopper thread collects and stops the world as fast as it can (each
 * round: preempt_gc, then preempt_stop_the_world/start, then `rounds`
 * goes up) while other threads hold heap pointers where only an
 * asynchronous stop can find them: only in a caller-saved register, a
 * vector register (xmm, the upper half of a ymm or zmm, zmm16-31), an
 * opmask or MMX register, the red zone below the stack pointer of a leaf,
 * the frame of a signal handler on an alternate stack, a qsort comparator
 * under libc's frames, a coroutine's stack, a blocked system call.  Each
 * spin waits until the stopper has completed rounds, so collections
 * certainly happen meanwhile; a broken stop hangs the test, which its
 * timeout turns into a failure.
 *
 * Losing an object is seen three ways: its check word is wrong (freed
 * memory is poisoned with PREEMPT=verify=1), preempt_is_heap_object says
 * it is free, or the finalizer of an object only it reaches has run.
 * Each register case has a control that holds the pointer hidden (xor'ed)
 * in the same place and must see the object collected: that proves the
 * spin is long enough and that no stale copy elsewhere keeps the object,
 * so the held case can fail.  After each case the object is dropped and
 * must be freed by a later collection. */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <link.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>

/* Tests that show a known runtime bug (each described where it is) are
 * disabled; build with -DASYNC_KNOWN_BUGS=1 to run them.  Tests marked
 * "was a bug" failed before the commit they name. */
#ifndef ASYNC_KNOWN_BUGS
#define ASYNC_KNOWN_BUGS 0
#endif
#define KNOWN_BUG .disabled = !ASYNC_KNOWN_BUGS

/* ---- the stopper ----------------------------------------------------------- */

static _Atomic unsigned rounds; /* completed rounds of the stopper */
static _Atomic int stopper_quit;
static pthread_t stopper_th;
static bool stopper_running;
/* Runs with the world stopped: no allocation, malloc or stdio there. */
static void (*_Atomic while_stopped)(void);

static void *stopper(void *arg) {
  (void)arg;
  while (!atomic_load(&stopper_quit)) {
    preempt_gc();
    preempt_stop_the_world("test_async");
    void (*fn)(void) = atomic_load(&while_stopped);
    if (fn)
      fn();
    preempt_start_the_world();
    atomic_fetch_add(&rounds, 1);
  }
  return NULL;
}

static void stopper_start(void (*fn)(void)) {
  atomic_store(&while_stopped, fn);
  atomic_store(&stopper_quit, 0);
  cr_assert_eq(pthread_create(&stopper_th, NULL, stopper, NULL), 0);
  stopper_running = true;
}

static void stopper_stop(void) {
  if (!stopper_running)
    return;
  atomic_store(&stopper_quit, 1);
  pthread_join(stopper_th, NULL);
  stopper_running = false;
}

/* Until the stopper has completed n more rounds; no call in the loop, so
 * only a signal stops this thread meanwhile. */
static void wait_rounds(unsigned n) {
  unsigned target = atomic_load(&rounds) + n;
  while (atomic_load_explicit(&rounds, memory_order_relaxed) < target)
    __builtin_ia32_pause();
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Sleeps by a raw system call, which the plugin does not turn into a
 * blocking region: the thread stays one the stopper must stop by signal.
 * A stop may cut it short (EINTR): callers poll. */
static void nap_us(long us) {
  struct timespec ts = {us / 1000000, us % 1000000 * 1000};
  syscall(SYS_nanosleep, &ts, NULL);
}

static int node_ok(const struct tnode *n) {
  return n->check == tcheck(n->id);
}

/* ---- victims: head -> mid -> tail, the tail with a finalizer ---------------- *
 * The head and mid have none (so a lost head is freed, poisoned, and no
 * longer a heap object); the tail's finalizer runs once nothing reaches
 * it, which is the case when the head was lost. */

static void note_finalized(void *obj, void *arg) {
  (void)obj;
  atomic_store((_Atomic int *)arg, 1);
}

/* Returns the head hidden: the pointer is in no register or frame of the
 * caller's afterwards. */
/* Holds the victim from make_victim until a holder has it in its one place
 * (ASM_ENTER clears it): between the two the pointer is only hidden, and a
 * collection there would lose it for a reason that is not under test. */
__attribute__((used, visibility("hidden"))) void *volatile async_handoff;

__attribute__((noinline)) static uintptr_t make_victim(uint64_t base,
                                                       _Atomic int *flag) {
  atomic_store(flag, 0);
  struct tnode *head = chain(3, base);
  preempt_set_finalizer(head->a->a, note_finalized, (void *)flag);
  async_handoff = head;
  return hide(head);
}

__attribute__((noinline)) static int victim_ok(uintptr_t h, uint64_t base) {
  struct tnode *head = unhide(h);
  return preempt_is_heap_object(head) && chain_ok(head, 3, base);
}

/* Whether a holder gave back the victim.  Out of line: at -O0 the
 * temporaries of cr_assert_eq are address-taken locals, scanned whole, and
 * would keep the victim alive for the rest of the test. */
__attribute__((noinline)) static int gave_back(const void *back, uintptr_t h) {
  return back == unhide(h);
}

/* Zeroes the stack below the caller: at -O0 a frame may be scanned whole,
 * stale copies of earlier calls' locals included. */
__attribute__((noinline)) static void scrub_stack(void) {
  char buf[16384];
  memset(buf, 0, sizeof buf);
  __asm__ __volatile__("" : : "r"(buf) : "memory");
}

/* Collected: the head is no heap object and the tail was finalized.
 * (Frames are conservative under ASan: only checked in precise builds.) */
#define assert_victim_collected(h, flag, where)                               \
  do {                                                                         \
    scrub_stack();                                                             \
    victim_collected(h, flag, where);                                          \
  } while (0)
static void victim_collected(uintptr_t h, _Atomic int *flag, const char *where) {
  for (int i = 0; i < 3 && !atomic_load(flag); i++) {
    preempt_gc();
    preempt_run_finalizers();
  }
  preempt_gc();
  if (!PRECISE_FRAMES)
    return;
  cr_assert(atomic_load(flag), "%s: the dropped victim's tail was never finalized "
            "(something still holds it)", where);
  assert_collected(h, "%s: the dropped victim's head was never freed", where);
}

/* ---- holders: a heap pointer held in exactly one place --------------------- *
 * Naked functions, so that the compiler puts nothing anywhere: each takes
 * the head hidden in rdi and a struct spin in rsi, scrubs the scratch
 * registers, the vector registers and 1 KiB below the stack pointer (no
 * stale copy may keep the object), unhides the pointer into rax (and
 * clears async_handoff, which held it until then), moves it to one place,
 * spins until *counter >= target, and returns it. */
struct spin {
  const _Atomic unsigned *counter; /* 0 */
  unsigned target;                 /* 8 */
  int pid;                         /* 12: or a file descriptor */
  int tid;                         /* 16 */
  int vec;                         /* 20: 0 SSE, 1 AVX, 2 AVX-512 */
  long result;                     /* 24: of a system call */
  int byte;                        /* 32: what it read */
};
_Static_assert(offsetof(struct spin, target) == 8 && offsetof(struct spin, pid) == 12 &&
                   offsetof(struct spin, tid) == 16 && offsetof(struct spin, vec) == 20 &&
                   offsetof(struct spin, result) == 24 && offsetof(struct spin, byte) == 32,
               "the holders' asm uses these offsets");

#define ZMM_HI16_CLEAR                                                         \
  "vpxord %zmm16, %zmm16, %zmm16\n\t vpxord %zmm17, %zmm17, %zmm17\n\t"        \
  "vpxord %zmm18, %zmm18, %zmm18\n\t vpxord %zmm19, %zmm19, %zmm19\n\t"        \
  "vpxord %zmm20, %zmm20, %zmm20\n\t vpxord %zmm21, %zmm21, %zmm21\n\t"        \
  "vpxord %zmm22, %zmm22, %zmm22\n\t vpxord %zmm23, %zmm23, %zmm23\n\t"        \
  "vpxord %zmm24, %zmm24, %zmm24\n\t vpxord %zmm25, %zmm25, %zmm25\n\t"        \
  "vpxord %zmm26, %zmm26, %zmm26\n\t vpxord %zmm27, %zmm27, %zmm27\n\t"        \
  "vpxord %zmm28, %zmm28, %zmm28\n\t vpxord %zmm29, %zmm29, %zmm29\n\t"        \
  "vpxord %zmm30, %zmm30, %zmm30\n\t vpxord %zmm31, %zmm31, %zmm31\n\t"
#define XMM_CLEAR                                                              \
  "pxor %xmm0, %xmm0\n\t pxor %xmm1, %xmm1\n\t pxor %xmm2, %xmm2\n\t"          \
  "pxor %xmm3, %xmm3\n\t pxor %xmm4, %xmm4\n\t pxor %xmm5, %xmm5\n\t"          \
  "pxor %xmm6, %xmm6\n\t pxor %xmm7, %xmm7\n\t pxor %xmm8, %xmm8\n\t"          \
  "pxor %xmm9, %xmm9\n\t pxor %xmm10, %xmm10\n\t pxor %xmm11, %xmm11\n\t"      \
  "pxor %xmm12, %xmm12\n\t pxor %xmm13, %xmm13\n\t pxor %xmm14, %xmm14\n\t"    \
  "pxor %xmm15, %xmm15\n\t"

#define ASM_ENTER                                                              \
  "lea -1024(%rsp), %rax\n"                                                    \
  "1: movq $0, (%rax)\n\t"                                                     \
  "add $8, %rax\n\t"                                                           \
  "cmp %rsp, %rax\n\t"                                                         \
  "jb 1b\n\t"                                                                  \
  "xor %ecx, %ecx\n\t xor %edx, %edx\n\t xor %r8d, %r8d\n\t"                   \
  "xor %r9d, %r9d\n\t xor %r10d, %r10d\n\t xor %r11d, %r11d\n\t"               \
  "cmpl $0, 20(%rsi)\n\t"                                                      \
  "je 3f\n\t"                                                                  \
  "vzeroall\n\t"                                                               \
  "cmpl $2, 20(%rsi)\n\t"                                                      \
  "jb 4f\n\t" ZMM_HI16_CLEAR "jmp 4f\n"                                        \
  "3:\n\t" XMM_CLEAR "4:\n\t"                                                  \
  "movabs $0x5a5a5a5a5a5a5a5a, %rax\n\t"                                       \
  "xor %rdi, %rax\n\t"                                                         \
  "xor %edi, %edi\n\t"                                                           \
  "movq $0, async_handoff(%rip)\n\t"

/* Until *counter >= target: rcx and rdx only. */
#define ASM_SPIN                                                               \
  "mov 0(%rsi), %rcx\n\t"                                                      \
  "mov 8(%rsi), %edx\n"                                                        \
  "5: pause\n\t"                                                               \
  "cmpl %edx, (%rcx)\n\t"                                                      \
  "jb 5b\n\t"                                                                  \
  "xor %ecx, %ecx\n\t"

typedef void *holder_fn(uintptr_t hidden, struct spin *s);

/* Control: the pointer only hidden (xor'ed) in r11: must be collected. */
__attribute__((naked, noinline)) static void *hold_hidden(uintptr_t h, struct spin *s) {
  __asm__(ASM_ENTER
          "movabs $0x5a5a5a5a5a5a5a5a, %r11\n\t"
          "xor %rax, %r11\n\t"
          "xor %eax, %eax\n\t" ASM_SPIN
          "movabs $0x5a5a5a5a5a5a5a5a, %rax\n\t"
          "xor %r11, %rax\n\t"
          "xor %r11d, %r11d\n\t"
          "ret");
}

__attribute__((naked, noinline)) static void *hold_r11(uintptr_t h, struct spin *s) {
  __asm__(ASM_ENTER
          "mov %rax, %r11\n\t"
          "xor %eax, %eax\n\t" ASM_SPIN
          "mov %r11, %rax\n\t"
          "xor %r11d, %r11d\n\t"
          "ret");
}

/* An interior pointer (24 bytes into a 32-byte node). */
__attribute__((naked, noinline)) static void *hold_r11_interior(uintptr_t h, struct spin *s) {
  __asm__(ASM_ENTER
          "lea 24(%rax), %r11\n\t"
          "xor %eax, %eax\n\t" ASM_SPIN
          "lea -24(%r11), %rax\n\t"
          "xor %r11d, %r11d\n\t"
          "ret");
}

__attribute__((naked, noinline)) static void *hold_xmm15(uintptr_t h, struct spin *s) {
  __asm__(ASM_ENTER
          "movq %rax, %xmm15\n\t"
          "xor %eax, %eax\n\t" ASM_SPIN
          "movq %xmm15, %rax\n\t"
          "pxor %xmm15, %xmm15\n\t"
          "ret");
}

/* Bits 128..191 of ymm15, the rest of it zero (XSAVE's YMM_Hi128). */
__attribute__((naked, noinline)) static void *hold_ymm_high(uintptr_t h, struct spin *s) {
  __asm__(ASM_ENTER
          "vmovq %rax, %xmm14\n\t"
          "vpxor %xmm15, %xmm15, %xmm15\n\t"
          "vinsertf128 $1, %xmm14, %ymm15, %ymm15\n\t"
          "vpxor %xmm14, %xmm14, %xmm14\n\t"
          "xor %eax, %eax\n\t" ASM_SPIN
          "vextractf128 $1, %ymm15, %xmm14\n\t"
          "vmovq %xmm14, %rax\n\t"
          "vpxor %xmm14, %xmm14, %xmm14\n\t"
          "vpxor %xmm15, %xmm15, %xmm15\n\t"
          "vzeroupper\n\t"
          "ret");
}

/* Bits 256..319 of zmm15 (XSAVE's ZMM_Hi256). */
__attribute__((naked, noinline)) static void *hold_zmm_high(uintptr_t h, struct spin *s) {
  __asm__(ASM_ENTER
          "vmovq %rax, %xmm14\n\t"
          "vpxor %xmm15, %xmm15, %xmm15\n\t"
          "vinserti64x4 $1, %ymm14, %zmm15, %zmm15\n\t"
          "vpxor %xmm14, %xmm14, %xmm14\n\t"
          "xor %eax, %eax\n\t" ASM_SPIN
          "vextracti64x4 $1, %zmm15, %ymm14\n\t"
          "vmovq %xmm14, %rax\n\t"
          "vpxor %xmm14, %xmm14, %xmm14\n\t"
          "vpxor %xmm15, %xmm15, %xmm15\n\t"
          "vzeroupper\n\t"
          "ret");
}

/* xmm31, the low lane of zmm31 (XSAVE's Hi16_ZMM). */
__attribute__((naked, noinline)) static void *hold_zmm31(uintptr_t h, struct spin *s) {
  __asm__(ASM_ENTER
          "vmovq %rax, %xmm31\n\t"
          "xor %eax, %eax\n\t" ASM_SPIN
          "vmovq %xmm31, %rax\n\t"
          "vpxord %zmm31, %zmm31, %zmm31\n\t"
          "ret");
}

/* Opmask register k1 (AVX-512BW: 64 bits). */
__attribute__((naked, noinline)) static void *hold_k1(uintptr_t h, struct spin *s) {
  __asm__(ASM_ENTER
          "kmovq %rax, %k1\n\t"
          "xor %eax, %eax\n\t" ASM_SPIN
          "kmovq %k1, %rax\n\t"
          "kxorq %k1, %k1, %k1\n\t"
          "ret");
}

/* MMX register mm0 (the x87 area of FXSAVE). */
__attribute__((naked, noinline)) static void *hold_mm0(uintptr_t h, struct spin *s) {
  __asm__(ASM_ENTER
          "movq %rax, %mm0\n\t"
          "xor %eax, %eax\n\t" ASM_SPIN
          "movq %mm0, %rax\n\t"
          "pxor %mm0, %mm0\n\t"
          "emms\n\t"
          "ret");
}

/* The red zone of a leaf: just below the stack pointer, and its deepest
 * word (128 bytes below). */
__attribute__((naked, noinline)) static void *hold_red_zone_8(uintptr_t h, struct spin *s) {
  __asm__(ASM_ENTER
          "mov %rax, -8(%rsp)\n\t"
          "xor %eax, %eax\n\t" ASM_SPIN
          "mov -8(%rsp), %rax\n\t"
          "movq $0, -8(%rsp)\n\t"
          "ret");
}

__attribute__((naked, noinline)) static void *hold_red_zone_128(uintptr_t h, struct spin *s) {
  __asm__(ASM_ENTER
          "mov %rax, -128(%rsp)\n\t"
          "xor %eax, %eax\n\t" ASM_SPIN
          "mov -128(%rsp), %rax\n\t"
          "movq $0, -128(%rsp)\n\t"
          "ret");
}

/* A callee-saved register (r12, the caller's value saved with CFI), while
 * the function in the frame above holds nothing. */
__attribute__((naked, noinline)) static void *hold_r12(uintptr_t h, struct spin *s) {
  __asm__(ASM_ENTER
          "push %r12\n\t"
          ".cfi_adjust_cfa_offset 8\n\t"
          ".cfi_rel_offset %r12, 0\n\t"
          "mov %rax, %r12\n\t"
          "xor %eax, %eax\n\t" ASM_SPIN
          "mov %r12, %rax\n\t"
          "pop %r12\n\t"
          ".cfi_adjust_cfa_offset -8\n\t"
          ".cfi_restore %r12\n\t"
          "ret");
}

enum vec_level { VEC_SSE, VEC_AVX, VEC_AVX512 };

static int cpu_vec(void) {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f"))
    return VEC_AVX512;
  return __builtin_cpu_supports("avx") ? VEC_AVX : VEC_SSE;
}

static _Atomic int hold_flags[4];
static _Atomic int control_flag;

/* Runs holder fn three times under a running stopper, each over at least
 * two complete collections; each victim must come back intact, and be
 * collected once dropped. */
static void run_holder(holder_fn *fn, const char *where) {
  uintptr_t h[3];
  stopper_start(NULL);
  for (int rep = 0; rep < 3; rep++) {
    uint64_t base = 100000 + 10 * (uint64_t)rep;
    h[rep] = make_victim(base, &hold_flags[rep]);
    struct spin s = {.counter = &rounds, .target = atomic_load(&rounds) + 3,
                     .vec = cpu_vec()};
    void *back = fn(h[rep], &s); /* live until checked (keep_alive below) */
    cr_assert(gave_back(back, h[rep]), "%s: the holder returned another value", where);
    preempt_run_finalizers();
    cr_assert_eq(atomic_load(&hold_flags[rep]), 0,
                 "%s: the victim was found unreachable while only %s held it",
                 where, where);
    cr_assert(victim_ok(h[rep], base), "%s: the victim held only in %s was freed",
              where, where);
    preempt_keep_alive(back);
  }
  stopper_stop();
  for (int rep = 0; rep < 3; rep++)
    assert_victim_collected(h[rep], &hold_flags[rep], where);
}

/* The control: the same spin with the pointer hidden must lose the
 * victim, or the held cases prove nothing. */
Test(async, control_hidden_pointer_is_collected, .timeout = 60) {
  REQUIRE_PRECISE_FRAMES();
  stopper_start(NULL);
  uintptr_t h = make_victim(200000, &control_flag);
  struct spin s = {.counter = &rounds, .target = atomic_load(&rounds) + 3,
                   .vec = cpu_vec()};
  hold_hidden(h, &s);
  stopper_stop();
  preempt_run_finalizers();
  cr_assert(atomic_load(&control_flag),
            "control: a victim referenced by nothing was not found unreachable "
            "during the spin: a stale copy keeps it, so the register tests "
            "below could not fail");
  assert_collected(h, "control: the hidden victim's head was not freed");
}

Test(async, pointer_only_in_r11, .timeout = 60) { run_holder(hold_r11, "r11"); }
Test(async, interior_pointer_only_in_r11, .timeout = 60) {
  run_holder(hold_r11_interior, "r11 (interior)");
}
Test(async, pointer_only_in_r12_saved_by_cfi, .timeout = 60) {
  run_holder(hold_r12, "r12");
}
Test(async, pointer_only_in_xmm15, .timeout = 60) { run_holder(hold_xmm15, "xmm15"); }
Test(async, pointer_only_in_mm0, .timeout = 60) { run_holder(hold_mm0, "mm0"); }
Test(async, pointer_only_in_red_zone, .timeout = 60) {
  run_holder(hold_red_zone_8, "the red zone (-8)");
}
Test(async, pointer_only_at_bottom_of_red_zone, .timeout = 60) {
  run_holder(hold_red_zone_128, "the red zone (-128)");
}

Test(async, pointer_only_in_upper_ymm, .timeout = 60) {
  if (cpu_vec() < VEC_AVX)
    cr_skip_test("no AVX");
  run_holder(hold_ymm_high, "ymm15 bits 128..191");
}

Test(async, pointer_only_in_upper_zmm, .timeout = 60) {
  if (cpu_vec() < VEC_AVX512)
    cr_skip_test("no AVX-512");
  run_holder(hold_zmm_high, "zmm15 bits 256..319");
}

Test(async, pointer_only_in_zmm31, .timeout = 60) {
  if (cpu_vec() < VEC_AVX512)
    cr_skip_test("no AVX-512");
  run_holder(hold_zmm31, "xmm31");
}

Test(async, pointer_only_in_opmask, .timeout = 60) {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512bw"))
    cr_skip_test("no AVX-512BW");
  run_holder(hold_k1, "k1");
}

/* ---- 1. a mutator rewires a graph under a stopper --------------------------- *
 * Each slot holds a chain (through a); b links any node to another head.
 * Moves hold chains and nodes only in registers for a while.  The stopper
 * checks every reachable node with the world stopped; the mutators check
 * theirs (also preempt_is_heap_object) after every round. */
enum { NSLOTS = 64, NMUT = 2, MAXLEN = 6, GRAPH_ROUNDS = 1500 };
static struct tnode *slots[NSLOTS];
static _Atomic int graph_quit;
static _Atomic unsigned stopped_checks, stopped_bad, mutator_checks, mutator_bad;
static char bad_msg[256];
static _Atomic int bad_msg_taken;

static struct tnode *ld(struct tnode *const *p) {
  return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
static void st(struct tnode **p, struct tnode *v) {
  __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static void note_bad(_Atomic unsigned *counter, const char *who, int slot,
                     const struct tnode *n) {
  atomic_fetch_add(counter, 1);
  if (!atomic_exchange(&bad_msg_taken, 1))
    snprintf(bad_msg, sizeof bad_msg, "%s: node %p in slot %d: id %llu check %llx",
             who, (const void *)n, slot, (unsigned long long)n->id,
             (unsigned long long)n->check);
}

/* Every node of slot i's chain, and what its b points at, is intact.
 * Reads only: also run with the world stopped. */
static int chain_intact(int i, _Atomic unsigned *bad, const char *who,
                        bool heap_check) {
  int len = 0;
  for (struct tnode *n = ld(&slots[i]); n && len < 1000; n = ld(&n->a), len++) {
    if (!node_ok(n) || (heap_check && !preempt_is_heap_object(n))) {
      note_bad(bad, who, i, n);
      return -1;
    }
    struct tnode *b = ld(&n->b);
    if (b && (!node_ok(b) || (heap_check && !preempt_is_heap_object(b)))) {
      note_bad(bad, who, i, b);
      return -1;
    }
  }
  return len;
}

static void check_graph_stopped(void) {
  for (int i = 0; i < NSLOTS; i++)
    chain_intact(i, &stopped_bad, "stopper", false);
  atomic_fetch_add(&stopped_checks, 1);
}

static void cut(struct tnode *n) {
  for (int k = 1; n && k < MAXLEN; k++)
    n = ld(&n->a);
  if (n)
    st(&n->a, NULL);
}

/* Some work on x and y with nothing else holding them. */
static uint64_t churn(const struct tnode *x, const struct tnode *y, int n) {
  uint64_t acc = 0;
  for (int k = 0; k < n; k++) {
    acc += __atomic_load_n(&x->id, __ATOMIC_RELAXED) * 31 +
           __atomic_load_n(&y->check, __ATOMIC_RELAXED);
    __asm__ __volatile__("" : "+r"(acc));
  }
  return acc;
}

static void *mutator(void *arg) {
  int me = (int)(intptr_t)arg;
  int lo = me * (NSLOTS / NMUT), n = NSLOTS / NMUT;
  uint64_t seed = 0x12345 + (uint64_t)me, id = ((uint64_t)me + 1) << 40, sink = 0;
  unsigned seen = atomic_load(&rounds);
  for (int i = lo; i < lo + n; i++)
    st(&slots[i], chain(3, id += 16));
  while (!atomic_load_explicit(&graph_quit, memory_order_relaxed)) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    int i = lo + (int)((seed >> 33) % (unsigned)n);
    int j = lo + (int)((seed >> 45) % (unsigned)n);
    unsigned op = (unsigned)(seed >> 58) % 8;
    if (op < 3 && i != j) { /* swap two chains through registers */
      struct tnode *x = ld(&slots[i]), *y = ld(&slots[j]);
      if (x && y) {
        st(&slots[i], NULL);
        st(&slots[j], NULL);
        sink += churn(x, y, 64);
        st(&slots[i], y);
        st(&slots[j], x);
      }
    } else if (op < 5) { /* move a head to another chain */
      struct tnode *h = ld(&slots[i]);
      if (h) {
        st(&slots[i], ld(&h->a));
        st(&h->a, NULL);
        sink += churn(h, h, 64);
        st(&h->a, ld(&slots[j]));
        st(&slots[j], h);
        cut(h);
      }
    } else if (op == 5) { /* push a new node */
      struct tnode *t = tnode_new(++id);
      t->b = ld(&slots[j]);
      t->a = ld(&slots[i]);
      st(&slots[i], t);
      cut(t);
    } else if (op == 6) { /* pop: garbage unless a b link keeps it */
      struct tnode *h = ld(&slots[i]);
      if (h)
        st(&slots[i], ld(&h->a));
    } else { /* cross link */
      struct tnode *x = ld(&slots[i]);
      if (x)
        st(&x->b, ld(&slots[j]));
    }
    unsigned r = atomic_load_explicit(&rounds, memory_order_relaxed);
    if (r != seen) { /* a collection happened: check everything */
      seen = r;
      for (int k = lo; k < lo + n; k++)
        chain_intact(k, &mutator_bad, "mutator", true);
      atomic_fetch_add(&mutator_checks, 1);
    }
  }
  __asm__ __volatile__("" : : "r"(sink));
  return NULL;
}

Test(async, graph_mutators_under_stops, .timeout = 300) {
  pthread_t m[NMUT];
  memset(slots, 0, sizeof slots);
  stopper_start(check_graph_stopped);
  for (intptr_t i = 0; i < NMUT; i++)
    cr_assert_eq(pthread_create(&m[i], NULL, mutator, (void *)i), 0);
  uint64_t t0 = now_ns();
  unsigned r0 = atomic_load(&rounds);
  while (atomic_load(&rounds) < r0 + GRAPH_ROUNDS && !atomic_load(&stopped_bad) &&
         !atomic_load(&mutator_bad))
    usleep(10000); /* a blocking region of the plugin's */
  uint64_t dt = now_ns() - t0;
  unsigned done = atomic_load(&rounds) - r0;
  atomic_store(&graph_quit, 1);
  for (int i = 0; i < NMUT; i++)
    pthread_join(m[i], NULL);
  stopper_stop();
  cr_log_info("graph: %u rounds (collection + stop) in %.2f s, %.0f/s; %u checks "
              "stopped, %u by mutators",
              done, (double)dt / 1e9, done / ((double)dt / 1e9),
              atomic_load(&stopped_checks), atomic_load(&mutator_checks));
  cr_assert_eq(atomic_load(&stopped_bad) + atomic_load(&mutator_bad), 0,
               "a reachable node was lost: %s", bad_msg);
  cr_assert_gt(atomic_load(&stopped_checks), 0);
  cr_assert_gt(atomic_load(&mutator_checks), 0);
  for (int i = 0; i < NSLOTS; i++)
    cr_assert_geq(chain_intact(i, &mutator_bad, "final", true), 0, "%s", bad_msg);
}

/* ---- 3. struct copies through vector registers ------------------------------- *
 * Four (AVX: one ymm; AVX-512: eight in one zmm) pointers are loaded from
 * a heap object into vector registers, the source is zeroed, the loop
 * spins, then they are stored into the other object: meanwhile they are
 * only in the registers.  Then a plain struct assignment and libc's
 * memcpy/memmove, whatever they use. */
struct quad {
  struct tnode *p[8];
};
static struct quad *qa, *qb; /* globals: the objects are roots */
typedef long long v2i __attribute__((vector_size(16)));
typedef long long v4i __attribute__((vector_size(32)));
typedef long long v8i __attribute__((vector_size(64)));

static void quad_fill(struct quad *q, uint64_t base) {
  for (int i = 0; i < 8; i++)
    q->p[i] = tnode_new(base + (uint64_t)i);
}

static int quad_ok(const struct quad *q, uint64_t base) {
  for (int i = 0; i < 8; i++) {
    const struct tnode *n = q->p[i];
    if (!n || !node_ok(n) || n->id != base + (uint64_t)i)
      return 0;
  }
  return 1;
}

__attribute__((noinline)) static void copy_sse(struct quad *dst, struct quad *src, int spin) {
  v2i a, b, c, d;
  memcpy(&a, &src->p[0], 16);
  memcpy(&b, &src->p[2], 16);
  memcpy(&c, &src->p[4], 16);
  memcpy(&d, &src->p[6], 16);
  __asm__ __volatile__("" : "+x"(a), "+x"(b), "+x"(c), "+x"(d));
  memset(src, 0, sizeof *src);
  for (int k = 0; k < spin; k++)
    __asm__ __volatile__("" : "+x"(a), "+x"(b), "+x"(c), "+x"(d) : : "memory");
  memcpy(&dst->p[0], &a, 16);
  memcpy(&dst->p[2], &b, 16);
  memcpy(&dst->p[4], &c, 16);
  memcpy(&dst->p[6], &d, 16);
}

__attribute__((noinline, target("avx"))) static void copy_avx(struct quad *dst,
                                                              struct quad *src,
                                                              int spin) {
  v4i a, b;
  memcpy(&a, &src->p[0], 32);
  memcpy(&b, &src->p[4], 32);
  __asm__ __volatile__("" : "+x"(a), "+x"(b));
  memset(src, 0, sizeof *src);
  for (int k = 0; k < spin; k++)
    __asm__ __volatile__("" : "+x"(a), "+x"(b) : : "memory");
  memcpy(&dst->p[0], &a, 32);
  memcpy(&dst->p[4], &b, 32);
}

__attribute__((noinline, target("avx512f"))) static void copy_avx512(struct quad *dst,
                                                                     struct quad *src,
                                                                     int spin) {
  v8i a;
  memcpy(&a, &src->p[0], 64);
  __asm__ __volatile__("" : "+v"(a));
  memset(src, 0, sizeof *src);
  for (int k = 0; k < spin; k++)
    __asm__ __volatile__("" : "+v"(a) : : "memory");
  memcpy(&dst->p[0], &a, 64);
}

__attribute__((noinline)) static void copy_plain(struct quad *dst, struct quad *src,
                                                 int spin) {
  struct quad tmp = *src;
  memset(src, 0, sizeof *src);
  for (int k = 0; k < spin; k++)
    __asm__ __volatile__("" : : "r"(&tmp) : "memory");
  *dst = tmp;
}

__attribute__((noinline)) static void copy_libc(struct quad *dst, struct quad *src,
                                                int spin) {
  (void)spin;
  memcpy(dst, src, sizeof *dst);
  memset(src, 0, sizeof *src);
  struct tnode *end = dst->p[7]; /* rotate right, then back */
  memmove(&dst->p[1], &dst->p[0], 7 * sizeof dst->p[0]);
  dst->p[0] = end;
  struct tnode *first = dst->p[0];
  memmove(&dst->p[0], &dst->p[1], 7 * sizeof dst->p[0]);
  dst->p[7] = first;
}

typedef void copy_fn(struct quad *, struct quad *, int);

static void run_copies(copy_fn *copy, const char *how, unsigned nrounds) {
  qa = preempt_new(struct quad);
  qb = preempt_new(struct quad);
  quad_fill(qa, 300000);
  stopper_start(NULL);
  unsigned target = atomic_load(&rounds) + nrounds;
  long copies = 0;
  while (atomic_load(&rounds) < target) {
    copy(qb, qa, 2000);
    copy(qa, qb, 2000);
    copies += 2;
    if (!quad_ok(qa, 300000))
      break;
    if (copies % 64 == 0)
      for (int i = 0; i < 8; i++)
        cr_assert(preempt_is_heap_object(qa->p[i]),
                  "%s: node %d was freed after %ld copies", how, i, copies);
  }
  stopper_stop();
  cr_assert(quad_ok(qa, 300000), "%s: a node copied through registers was lost "
            "after %ld copies", how, copies);
  for (int i = 0; i < 8; i++)
    cr_assert(preempt_is_heap_object(qa->p[i]), "%s: node %d freed", how, i);
  cr_log_info("%s: %ld copies over %u rounds", how, copies, nrounds);
}

Test(async, struct_copy_sse, .timeout = 120) { run_copies(copy_sse, "sse", 300); }
Test(async, struct_copy_avx, .timeout = 120) {
  if (cpu_vec() < VEC_AVX)
    cr_skip_test("no AVX");
  run_copies(copy_avx, "avx", 300);
}
Test(async, struct_copy_avx512, .timeout = 120) {
  if (cpu_vec() < VEC_AVX512)
    cr_skip_test("no AVX-512");
  run_copies(copy_avx512, "avx-512", 300);
}
Test(async, struct_copy_plain, .timeout = 120) { run_copies(copy_plain, "plain", 300); }
Test(async, struct_copy_libc, .timeout = 120) { run_copies(copy_libc, "libc", 300); }

/* ---- 4. a signal handler on an alternate stack ------------------------------- */

static _Atomic int handler_result;
static struct spin handler_spin;

static bool install_onstack = true; /* SA_ONSTACK for install_usr1 */

static stack_t guarded_altstack(size_t size) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size = (size + page - 1) & ~(page - 1);
  char *p = mmap(NULL, size + page, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  cr_assert(p != MAP_FAILED);
  cr_assert_eq(mprotect(p, page, PROT_NONE), 0); /* an overflow faults */
  stack_t ss = {.ss_sp = p + page, .ss_size = size};
  return ss;
}

static void install_usr1(void (*fn)(int), bool block_all) {
  struct sigaction sa = {.sa_handler = fn, .sa_flags = SA_ONSTACK};
  sa.sa_flags = install_onstack ? SA_ONSTACK : 0;
  if (block_all)
    sigfillset(&sa.sa_mask);
  else
    sigemptyset(&sa.sa_mask);
  cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0);
}

/* The handler holds its own chain and spins (no call) over collections. */
static void usr1_spinner(int sig) {
  (void)sig;
  struct tnode *mine = chain(20, 400000);
  while (atomic_load_explicit(handler_spin.counter, memory_order_relaxed) <
         handler_spin.target)
    __builtin_ia32_pause();
  atomic_store(&handler_result, chain_ok(mine, 20, 400000) ? 1 : -1);
}

Test(async, handler_on_sigaltstack_spins, .timeout = 60) {
  stack_t ss = guarded_altstack(256 * 1024);
  cr_assert_eq(sigaltstack(&ss, NULL), 0);
  install_usr1(usr1_spinner, false);
  stopper_start(NULL);
  struct tnode *interrupted = chain(20, 410000); /* on the main stack */
  for (int rep = 0; rep < 5; rep++) {
    atomic_store(&handler_result, 0);
    handler_spin = (struct spin){.counter = &rounds, .target = atomic_load(&rounds) + 3};
    pthread_kill(pthread_self(), SIGUSR1);
    cr_assert_eq(atomic_load(&handler_result), 1,
                 "the handler's chain on the signal stack was lost");
    cr_assert(chain_ok(interrupted, 20, 410000),
              "the interrupted frame's chain was lost");
  }
  stopper_stop();
}

/* Raw tgkill(getpid(), gettid(), SIGUSR1) from a leaf whose only copy of
 * the pointer is at `where`; the syscall instruction itself touches no
 * stack, so the handler runs on the signal stack with the red zone of the
 * interrupted frame intact. */
#define ASM_RAISE_USR1                                                         \
  "mov 12(%rsi), %edi\n\t"                                                     \
  "mov 16(%rsi), %esi\n\t"                                                     \
  "mov $10, %edx\n\t" /* SIGUSR1 */                                            \
  "mov $234, %eax\n\t" /* SYS_tgkill */                                        \
  "syscall\n\t"

__attribute__((naked, noinline)) static void *usr1_red_zone(uintptr_t h, struct spin *s) {
  __asm__(ASM_ENTER
          "mov %rax, -8(%rsp)\n\t"
          "xor %eax, %eax\n\t" ASM_RAISE_USR1
          "mov -8(%rsp), %rax\n\t"
          "movq $0, -8(%rsp)\n\t"
          "ret");
}

__attribute__((naked, noinline)) static void *usr1_r8(uintptr_t h, struct spin *s) {
  __asm__(ASM_ENTER
          "mov %rax, %r8\n\t"
          "xor %eax, %eax\n\t" ASM_RAISE_USR1
          "mov %r8, %rax\n\t"
          "xor %r8d, %r8d\n\t"
          "ret");
}

__attribute__((naked, noinline)) static void *usr1_xmm15(uintptr_t h, struct spin *s) {
  __asm__(ASM_ENTER
          "movq %rax, %xmm15\n\t"
          "xor %eax, %eax\n\t" ASM_RAISE_USR1
          "movq %xmm15, %rax\n\t"
          "pxor %xmm15, %xmm15\n\t"
          "ret");
}

static void run_usr1_holder(holder_fn *fn, const char *where) {
  stack_t ss = guarded_altstack(256 * 1024);
  cr_assert_eq(sigaltstack(&ss, NULL), 0);
  install_usr1(usr1_spinner, false);
  stopper_start(NULL);
  uintptr_t h[3];
  for (int rep = 0; rep < 3; rep++) {
    uint64_t base = 420000 + 10 * (uint64_t)rep;
    h[rep] = make_victim(base, &hold_flags[rep]);
    atomic_store(&handler_result, 0);
    handler_spin = (struct spin){.counter = &rounds, .target = atomic_load(&rounds) + 3};
    struct spin s = {.pid = getpid(), .tid = gettid(), .vec = cpu_vec()};
    void *back = fn(h[rep], &s); /* live until checked (keep_alive below) */
    cr_assert(gave_back(back, h[rep]), "%s: the holder returned another value", where);
    cr_assert_eq(atomic_load(&handler_result), 1, "%s: the handler did not run, "
                 "or lost its chain", where);
    preempt_run_finalizers();
    cr_assert_eq(atomic_load(&hold_flags[rep]), 0,
                 "%s: the victim was found unreachable while the interrupted "
                 "frame held it there and a handler ran on the signal stack",
                 where);
    cr_assert(victim_ok(h[rep], base), "%s: the victim was freed", where);
    preempt_keep_alive(back);
  }
  stopper_stop();
  for (int rep = 0; rep < 3; rep++)
    assert_victim_collected(h[rep], &hold_flags[rep], where);
}

/* The same with the handler on the interrupted stack: the kernel puts its
 * signal frame below the red zone, and the walk scans from there. */
Test(async, same_stack_handler_interrupted_red_zone, .timeout = 60) {
  install_onstack = false;
  run_usr1_holder(usr1_red_zone, "the red zone under a handler on the same stack");
}

Test(async, sigaltstack_interrupted_r8, .timeout = 60) {
  run_usr1_holder(usr1_r8, "r8 under a handler on the signal stack");
}

Test(async, sigaltstack_interrupted_xmm15, .timeout = 60) {
  run_usr1_holder(usr1_xmm15, "xmm15 under a handler on the signal stack");
}

/* Was a bug (fixed in 38f06df): leaving the signal stack for the frame a
 * handler interrupted on the thread's own stack, the walk scanned that
 * frame from its stack pointer up, not the red zone below it, which a
 * handler on the signal stack leaves intact. */
Test(async, sigaltstack_interrupted_red_zone, .timeout = 60) {
  run_usr1_holder(usr1_red_zone, "the red zone under a handler on the signal stack");
}

/* Was a bug (fixed in 7dc1e8d): a signal stack installed with
 * SS_AUTODISARM (Linux 4.7) is disarmed while a handler runs on it, so
 * sigaltstack(NULL, &ss) reports SS_DISABLE there; the stop's walk found
 * no stack for the handler's sp and stopped the program ("running on a
 * stack the runtime does not know"). */
#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)
#endif
Test(async, handler_on_autodisarm_sigaltstack, .timeout = 60) {
  stack_t ss = guarded_altstack(256 * 1024);
  ss.ss_flags = SS_AUTODISARM;
  if (sigaltstack(&ss, NULL) != 0)
    cr_skip_test("no SS_AUTODISARM");
  install_usr1(usr1_spinner, false);
  stopper_start(NULL);
  struct tnode *interrupted = chain(20, 430000);
  for (int rep = 0; rep < 5; rep++) {
    atomic_store(&handler_result, 0);
    handler_spin = (struct spin){.counter = &rounds, .target = atomic_load(&rounds) + 3};
    pthread_kill(pthread_self(), SIGUSR1);
    cr_assert_eq(atomic_load(&handler_result), 1,
                 "the handler's chain on the signal stack was lost");
    cr_assert(chain_ok(interrupted, 20, 430000), "the interrupted frame's chain was lost");
  }
  stopper_stop();
}

/* Was a bug (fixed in 7dc1e8d): a signal handler that runs while its
 * thread is in a blocking region (here nanosleep, which the plugin makes
 * one) ran with the thread BLOCKING: never stopped, and a collection
 * scanned only the frozen stack above the region's stack pointer, not the
 * handler's frames below it or on the signal stack.  Objects the handler
 * allocated and held were freed under it.  Handlers may allocate. */
static _Atomic int sleeper_quit, sleeper_handled, sleeper_bad;

/* Every node of the chain is intact and still allocated. */
static int chain_held(struct tnode *n, int len, uint64_t base) {
  if (!chain_ok(n, len, base))
    return 0;
  for (; n; n = n->a)
    if (!preempt_is_heap_object(n))
      return 0;
  return 1;
}

static void usr1_allocates(int sig) {
  (void)sig;
  struct tnode *mine = chain(30, 440000);
  unsigned target = atomic_load(&rounds) + 3;
  uint64_t deadline = now_ns() + 2000000000u;
  while (atomic_load_explicit(&rounds, memory_order_relaxed) < target && now_ns() < deadline)
    __builtin_ia32_pause();
  if (!chain_held(mine, 30, 440000))
    atomic_fetch_add(&sleeper_bad, 1);
  atomic_fetch_add(&sleeper_handled, 1);
}

static _Atomic long sleeper_tid;
static bool in_syscall(long tid, long nr);

/* Signals the sleeper once it is inside nanosleep's system call, each
 * time after its previous handler has run. */
static void *usr1_sender(void *arg) {
  pthread_t target = *(pthread_t *)arg;
  for (int i = 0; i < 10 && !atomic_load(&sleeper_quit); i++) {
    while (!atomic_load(&sleeper_quit) &&
           !in_syscall(atomic_load(&sleeper_tid), SYS_clock_nanosleep))
      nap_us(1000);
    int before = atomic_load(&sleeper_handled);
    pthread_kill(target, SIGUSR1);
    while (!atomic_load(&sleeper_quit) && atomic_load(&sleeper_handled) == before)
      nap_us(1000);
  }
  return NULL;
}

static void handler_in_blocking_region(bool onstack) {
  if (onstack) {
    stack_t ss = guarded_altstack(256 * 1024);
    cr_assert_eq(sigaltstack(&ss, NULL), 0);
  }
  install_onstack = onstack;
  install_usr1(usr1_allocates, false);
  atomic_store(&sleeper_tid, gettid());
  stopper_start(NULL);
  pthread_t self = pthread_self(), sender;
  cr_assert_eq(pthread_create(&sender, NULL, usr1_sender, &self), 0);
  while (atomic_load(&sleeper_handled) < 10) {
    struct timespec ts = {30, 0};
    nanosleep(&ts, NULL); /* a blocking region of the plugin's; EINTR ends it */
  }
  atomic_store(&sleeper_quit, 1);
  pthread_join(sender, NULL);
  stopper_stop();
  cr_assert_eq(atomic_load(&sleeper_bad), 0, "%d of %d handlers that ran while "
               "their thread slept in nanosleep lost their chain",
               atomic_load(&sleeper_bad), atomic_load(&sleeper_handled));
}

Test(async, handler_allocates_during_blocking_region, .timeout = 120) {
  handler_in_blocking_region(false);
}

Test(async, handler_on_sigaltstack_allocates_during_blocking_region, .timeout = 120) {
  handler_in_blocking_region(true);
}

/* A handler that allocates, interrupting a thread that allocates: the
 * README lets handlers allocate, so the allocator's fast path (which the
 * handler may interrupt between two of its stores) must not hand out one
 * slot twice.  Both keep their latest nodes in rings (globals) and the
 * thread checks that all of them are intact and distinct.
 *
 * Was a bug (fixed by deferring handlers inside runtime critical
 * sections, runtime/signals.c trampoline): the program's handlers were not
 * deferred while their thread was inside the runtime.  A handler that allocates while its thread holds the heap lock
 * (its own collection, started by an allocation: "this thread stopped the
 * world ("gc") and then called into the runtime for the heap", fatal), or
 * right after preempt_lock_heap got the lock (it restores the signal mask
 * it blocked while parked before it sets heap_owner, so the pending
 * handler runs there, and its allocation waits for the lock its own
 * thread holds: a deadlock, ended here by an alarm). */
static void stop_hung(int sig);
enum { RING = 256 };
static struct tnode *main_ring[RING], *handler_ring[RING];
static _Atomic unsigned handler_allocs;

static void usr1_allocates_one(int sig) {
  (void)sig;
  unsigned k = atomic_fetch_add(&handler_allocs, 1);
  handler_ring[k % RING] = tnode_new(0x100000000ull + k);
}

static void *usr1_storm(void *arg) {
  pthread_t target = *(pthread_t *)arg;
  while (!atomic_load(&sleeper_quit)) {
    pthread_kill(target, SIGUSR1);
    nap_us(20);
  }
  return NULL;
}

static int cmp_addr(const void *a, const void *b) {
  uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
  return x < y ? -1 : x > y;
}

/* Intact and pairwise distinct; addrs is scratch for 2 * RING words. */
static const char *rings_ok(uintptr_t *addrs) {
  size_t n = 0;
  for (int i = 0; i < RING; i++) {
    struct tnode *m = __atomic_load_n(&main_ring[i], __ATOMIC_RELAXED);
    struct tnode *h = __atomic_load_n(&handler_ring[i], __ATOMIC_RELAXED);
    if (m && !node_ok(m))
      return "a node of the thread's was overwritten";
    if (h && !node_ok(h))
      return "a node of the handler's was overwritten";
    if (m)
      addrs[n++] = (uintptr_t)m;
    if (h)
      addrs[n++] = (uintptr_t)h;
  }
  qsort(addrs, n, sizeof *addrs, cmp_addr);
  for (size_t i = 1; i < n; i++)
    if (addrs[i] == addrs[i - 1])
      return "one slot was handed out twice";
  return NULL;
}

Test(async, handler_allocates_while_thread_allocates, .timeout = 120) {
  signal(SIGALRM, stop_hung);
  alarm(60);
  install_onstack = false;
  install_usr1(usr1_allocates_one, false);
  stopper_start(NULL);
  pthread_t self = pthread_self(), storm;
  cr_assert_eq(pthread_create(&storm, NULL, usr1_storm, &self), 0);
  uintptr_t *addrs = malloc(2 * RING * sizeof *addrs);
  const char *bad = NULL;
  uint64_t i = 0;
  while (atomic_load(&handler_allocs) < 5000 && !bad) {
    main_ring[i % RING] = tnode_new(i);
    if (++i % 4096 == 0) {
      sigset_t s, old; /* the check itself must not race with the handler */
      sigemptyset(&s);
      sigaddset(&s, SIGUSR1);
      pthread_sigmask(SIG_BLOCK, &s, &old);
      bad = rings_ok(addrs);
      pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
  }
  atomic_store(&sleeper_quit, 1);
  pthread_join(storm, NULL);
  stopper_stop();
  if (!bad)
    bad = rings_ok(addrs);
  free(addrs);
  alarm(0);
  cr_assert(!bad, "%s (%llu allocations by the thread, %u by the handler)", bad,
            (unsigned long long)i, atomic_load(&handler_allocs));
}

/* Was a bug (fixed in 38f06df): the stop signal was kept out of the masks
 * set by sigprocmask/pthread_sigmask but not out of the sa_mask of the
 * program's other handlers; a handler installed with
 * sigfillset(&sa.sa_mask), a common idiom, ran with it blocked and its
 * thread could not be stopped until the handler returned.  The handler
 * here gives up after 2 s instead of hanging. */
static void usr1_spin_bounded(int sig) {
  (void)sig;
  uint64_t deadline = now_ns() + 2000000000u;
  while (atomic_load_explicit(handler_spin.counter, memory_order_relaxed) <
             handler_spin.target &&
         now_ns() < deadline)
    __builtin_ia32_pause();
  atomic_store(&handler_result,
               atomic_load(handler_spin.counter) >= handler_spin.target ? 1 : -1);
}

Test(async, handler_with_full_sa_mask_is_stoppable, .timeout = 60) {
  stack_t ss = guarded_altstack(256 * 1024);
  cr_assert_eq(sigaltstack(&ss, NULL), 0);
  install_usr1(usr1_spin_bounded, true);
  stopper_start(NULL);
  atomic_store(&handler_result, 0);
  handler_spin = (struct spin){.counter = &rounds, .target = atomic_load(&rounds) + 3};
  pthread_kill(pthread_self(), SIGUSR1);
  stopper_stop();
  cr_assert_eq(atomic_load(&handler_result), 1,
               "no collection completed in 2 s while this thread ran a handler "
               "installed with a full sa_mask: the stop signal was blocked");
}

/* Was a bug (fixed in 38f06df): the C library's other ways of blocking or
 * replacing a signal go to its internal sigprocmask/sigaction, not to the
 * wrapped symbols: sighold, sigset(sig, SIG_HOLD), sigblock and sigsetmask
 * blocked the stop signal, and sysv_signal replaced the runtime's handler
 * for the whole process.  The thread then could not be stopped by the
 * signal: here it spins 1.5 s with no safepoint and the stop waited for
 * all of it; after sysv_signal the stop waited forever for Criterion's own
 * thread, blocked in epoll_wait in libnanomsg (an alarm ends it). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static void legacy_block(int how) {
  switch (how) {
  case 0: sighold(SIGURG); break;
  case 1: sigset(SIGURG, SIG_HOLD); break;
  case 2: sigblock(1 << (SIGURG - 1)); break; /* sigmask(SIGURG) */
  case 3: sigsetmask(1 << (SIGURG - 1)); break;
  case 4: sysv_signal(SIGURG, SIG_IGN); break;
  }
}
#pragma GCC diagnostic pop

static _Atomic int legacy_ready, legacy_done;

static void *legacy_spinner(void *arg) {
  legacy_block((int)(intptr_t)arg);
  atomic_store(&legacy_ready, 1);
  uint64_t end = now_ns() + 1500000000u; /* no safepoint meanwhile */
  while (now_ns() < end)
    __builtin_ia32_pause();
  atomic_store(&legacy_done, 1);
  return NULL;
}

/* A stop that never completes: say so and end the test process. */
static void stop_hung(int sig) {
  (void)sig;
  static const char msg[] = "test_async: no progress before the alarm (a stop "
                            "that never completes, or a deadlock)\n";
  if (write(2, msg, sizeof msg - 1) < 0)
    _exit(2);
  _exit(1);
}

static void legacy_case(int how, const char *call) {
  pthread_t th;
  signal(SIGALRM, stop_hung);
  alarm(10);
  cr_assert_eq(pthread_create(&th, NULL, legacy_spinner, (void *)(intptr_t)how), 0);
  while (!atomic_load(&legacy_ready))
    sched_yield();
  preempt_stop_the_world("legacy");
  int late = atomic_load(&legacy_done);
  preempt_start_the_world();
  alarm(0);
  pthread_join(th, NULL);
  cr_assert(!late, "after %s the thread could not be stopped until it had "
            "finished spinning", call);
}

Test(async, sighold_cannot_block_the_stop, .timeout = 30) {
  legacy_case(0, "sighold(SIGURG)");
}
Test(async, sigset_hold_cannot_block_the_stop, .timeout = 30) {
  legacy_case(1, "sigset(SIGURG, SIG_HOLD)");
}
Test(async, sigblock_cannot_block_the_stop, .timeout = 30) {
  legacy_case(2, "sigblock(sigmask(SIGURG))");
}
Test(async, sigsetmask_cannot_block_the_stop, .timeout = 30) {
  legacy_case(3, "sigsetmask(sigmask(SIGURG))");
}
Test(async, sysv_signal_cannot_replace_the_handler, .timeout = 30) {
  legacy_case(4, "sysv_signal(SIGURG, SIG_IGN)");
}

/* A handler on a signal stack of SIGSTKSZ bytes, with a guard page below:
 * the stop signal's handler, and its stack walk, run on top of it. */
static char *small_stack_lo;
static size_t small_stack_size;

Test(async, handler_on_sigstksz_altstack, .timeout = 60) {
  stack_t ss = guarded_altstack(SIGSTKSZ);
  memset(ss.ss_sp, 0xa5, ss.ss_size);
  small_stack_lo = ss.ss_sp;
  small_stack_size = ss.ss_size;
  cr_assert_eq(sigaltstack(&ss, NULL), 0);
  install_usr1(usr1_spinner, false);
  stopper_start(NULL);
  for (int rep = 0; rep < 5; rep++) {
    atomic_store(&handler_result, 0);
    handler_spin = (struct spin){.counter = &rounds, .target = atomic_load(&rounds) + 3};
    pthread_kill(pthread_self(), SIGUSR1);
    cr_assert_eq(atomic_load(&handler_result), 1,
                 "the handler's chain on the signal stack was lost");
  }
  stopper_stop();
  size_t untouched = 0;
  while (untouched < small_stack_size && (unsigned char)small_stack_lo[untouched] == 0xa5)
    untouched++;
  cr_log_info("SIGSTKSZ %zu: %zu bytes used at most (handler, kernel frames and "
              "the runtime's stop)", small_stack_size, small_stack_size - untouched);
}

/* ---- 5. qsort: libc's frames between instrumented ones ---------------------- */

static _Atomic long cmp_calls, cmp_bad;
static long cmp_spin_every; /* 0: never */

static int cmp_nodes(const void *pa, const void *pb) {
  const struct tnode *a = *(struct tnode *const *)pa, *b = *(struct tnode *const *)pb;
  long c = atomic_fetch_add_explicit(&cmp_calls, 1, memory_order_relaxed);
  /* Now and then spin holding a and b: stopped inside the comparator with
   * qsort's frames above. */
  if (cmp_spin_every && c % cmp_spin_every == 0) {
    unsigned target = atomic_load(&rounds) + 1;
    while (atomic_load_explicit(&rounds, memory_order_relaxed) < target)
      __builtin_ia32_pause();
  }
  if (!node_ok(a) || !node_ok(b)) {
    atomic_fetch_add(&cmp_bad, 1);
    return 0;
  }
  return a->id < b->id ? -1 : a->id > b->id;
}

static void shuffle(struct tnode **v, size_t n, uint64_t *seed) {
  for (size_t i = n - 1; i > 0; i--) {
    *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
    size_t j = (size_t)(*seed >> 33) % (i + 1);
    struct tnode *t = v[i];
    v[i] = v[j];
    v[j] = t;
  }
}

/* The array is a heap object and the only reference to its nodes. */
static void sort_under_stops(size_t n, int sorts, long spin_every) {
  cmp_spin_every = spin_every;
  struct tnode **v = preempt_new_array(struct tnode *, n);
  for (size_t i = 0; i < n; i++)
    v[i] = tnode_new(500000 + i);
  uint64_t seed = 42;
  stopper_start(NULL);
  for (int s = 0; s < sorts; s++) {
    shuffle(v, n, &seed);
    qsort(v, n, sizeof *v, cmp_nodes);
    for (size_t i = 0; i < n; i++) {
      cr_assert(preempt_is_heap_object(v[i]) && node_ok(v[i]),
                "sort %d, element %zu (%p): lost while qsort had it", s, i,
                (void *)v[i]);
      cr_assert_eq(v[i]->id, 500000 + i, "sort %d: element %zu out of place", s, i);
    }
    cr_assert_eq(atomic_load(&cmp_bad), 0, "the comparator was given a freed node");
  }
  stopper_stop();
  cr_log_info("qsort of %zu: %d sorts, %ld comparisons, %u rounds", n, sorts,
              atomic_load(&cmp_calls), atomic_load(&rounds));
}

/* 64 pointers: glibc sorts in a temporary array on its own stack (only
 * arrays of 1 KiB or more go through malloc, see qsort_stopped_in_libc_copies). */
Test(async, qsort_comparator_small, .timeout = 120) { sort_under_stops(64, 200, 512); }

/* 127 pointers (under 1 KiB: glibc's temporary array is on its stack),
 * stops anywhere in qsort. */
Test(async, qsort_stopped_anywhere_small, .timeout = 120) { sort_under_stops(127, 3000, 0); }

/* Was a bug (fixed in 38f06df: qsort is a runtime critical section but for
 * the comparator): glibc 2.36's qsort is a merge sort through a temporary
 * array it mallocs (arrays of 1 KiB or more) and copies back over ours
 * after each merge.  A thread stopped by the signal inside that copy had
 * elements only in the malloc'd array, which no collector sees: they were
 * freed.  With PREEMPT=asyncpreempt=0 nothing was lost.  Any code built
 * without the plugin that keeps heap pointers in memory of its own has the
 * same problem once it can be stopped at any instruction.  256 Ki elements
 * make the copies long enough to be hit at once. */
Test(async, qsort_stopped_in_libc_copies, .timeout = 300) {
  sort_under_stops(262144, 10, 0);
}

/* ---- 6. threads created and exiting under stops -------------------------------- */

static _Atomic int churn_bad, churn_done;

static char churn_msg[256];

static void churn_fail(const char *what, const struct tnode *n) {
  if (atomic_fetch_add(&churn_bad, 1) == 0)
    snprintf(churn_msg, sizeof churn_msg, "%s: head %p id %llu check %llx, heap object %d",
             what, (const void *)n, (unsigned long long)n->id,
             (unsigned long long)n->check, preempt_is_heap_object(n));
}

static void *churner(void *arg) {
  struct tnode *mine = arg; /* the only reference, since before we started */
  uint64_t base = (uint64_t)(uintptr_t)mine->b; /* set by spawn */
  if (!chain_ok(mine, 5, base))
    churn_fail("argument on arrival", mine);
  struct tnode *more = chain(10, 600000);
  unsigned target = atomic_load(&rounds) + 1;
  int spins = 0;
  while (atomic_load_explicit(&rounds, memory_order_relaxed) < target && ++spins < 200000)
    __builtin_ia32_pause();
  if (!chain_ok(mine, 5, base))
    churn_fail("argument after a round", mine);
  if (!chain_ok(more, 10, 600000))
    churn_fail("own chain after a round", more);
  atomic_fetch_add(&churn_done, 1);
  if (base % 3 == 0)
    pthread_exit(NULL); /* exit from inside, not by returning */
  return NULL;
}

static struct tnode *churn_arg(uint64_t base) {
  struct tnode *arg = chain(5, base);
  arg->b = (struct tnode *)(uintptr_t)base; /* not a heap address */
  return arg;
}

/* The creator keeps the argument alive until pthread_create returns. */
__attribute__((noinline)) static int spawn_kept(pthread_t *th, uint64_t base) {
  struct tnode *arg = churn_arg(base);
  int r = pthread_create(th, NULL, churner, arg);
  preempt_keep_alive(arg);
  return r;
}

/* The argument is only passed on: dead in this frame during the call (a
 * separate function: a conditional keep_alive would keep it live here). */
__attribute__((noinline)) static int spawn_passed(pthread_t *th, uint64_t base) {
  return pthread_create(th, NULL, churner, churn_arg(base));
}

static void churn_threads(bool keep) {
  enum { TOTAL = 400, INFLIGHT = 6 };
  /* AddressSanitizer's pthread_create reaches the C library's by symbol
   * version, past the runtime's: arguments are no roots then. */
  if (!PRECISE_FRAMES)
    cr_skip_test("the runtime's pthread_create is bypassed under ASan");
  pthread_t th[INFLIGHT];
  bool joinable[INFLIGHT] = {false};
  atomic_store(&churn_bad, 0);
  atomic_store(&churn_done, 0);
  stopper_start(NULL);
  for (int i = 0; i < TOTAL; i++) {
    int k = i % INFLIGHT;
    if (joinable[k])
      pthread_join(th[k], NULL);
    bool detach = i % 4 == 3;
    uint64_t base = 700000 + (uint64_t)i * 8;
    cr_assert_eq(keep ? spawn_kept(&th[k], base) : spawn_passed(&th[k], base), 0);
    if (detach)
      pthread_detach(th[k]);
    joinable[k] = !detach;
  }
  for (int k = 0; k < INFLIGHT; k++)
    if (joinable[k])
      pthread_join(th[k], NULL);
  uint64_t deadline = now_ns() + 60000000000ull;
  while (atomic_load(&churn_done) < TOTAL && now_ns() < deadline)
    usleep(1000); /* the detached ones */
  stopper_stop();
  cr_assert_eq(atomic_load(&churn_done), TOTAL, "some threads never finished");
  cr_assert_eq(atomic_load(&churn_bad), 0, "%d threads lost objects; first: %s",
               atomic_load(&churn_bad), churn_msg);
}

Test(async, threads_come_and_go, .timeout = 300) { churn_threads(true); }

/* Was a bug (fixed in 38f06df): the pthread_create wrapper took the heap
 * lock with preempt_lock_heap(caller's return address) before it listed
 * the argument as a root.  When it had to wait (a collection ran), it
 * published its roots from the caller's frame, where the argument is dead
 * after the call: the collection freed the argument and the new thread
 * received a freed (then reused) object ("argument on arrival"). */
Test(async, thread_argument_survives_a_contended_create, .timeout = 300) {
  churn_threads(false);
}

/* Was a bug (fixed in 38f06df): preempt_set_finalizer(obj) with obj dead
 * after the call in the caller (a temporary) waited for the heap lock the
 * same way before it looked at obj; obj freed meanwhile stopped the
 * program ("not the start of a heap object") or the finalizer went to
 * whatever object took its place. */
static _Atomic long temp_finalized;
static void count_finalized(void *obj, void *arg) {
  (void)obj;
  (void)arg;
  atomic_fetch_add(&temp_finalized, 1);
}

Test(async, finalizer_on_a_temporary, .timeout = 300) {
  stopper_start(NULL);
  unsigned target = atomic_load(&rounds) + 500;
  long n = 0;
  while (atomic_load(&rounds) < target || n < 20000) {
    preempt_set_finalizer(tnode_new((uint64_t)n), count_finalized, NULL);
    n++;
  }
  stopper_stop();
  for (int i = 0; i < 5 && atomic_load(&temp_finalized) < n; i++) {
    preempt_gc();
    preempt_run_finalizers();
  }
  cr_assert_eq(atomic_load(&temp_finalized), n, "finalizers run: %ld of %ld",
               atomic_load(&temp_finalized), n);
}

/* Was a bug (fixed by preempt_lock_heap_holding, 325de50): the same
 * heap-lock wait as pthread_create's and preempt_set_finalizer's before
 * 38f06df: preempt_is_heap_object called
 * preempt_lock_heap(caller's return address), which, when it must wait,
 * publishes the caller's roots, where the argument is dead after the
 * call; the collection frees the object and the call answers 0 for an
 * object that was allocated (and reachable) when it was passed. */
Test(async, is_heap_object_of_a_temporary, .timeout = 300) {
  stopper_start(NULL);
  unsigned target = atomic_load(&rounds) + 500;
  long n = 0, no = 0;
  while (atomic_load(&rounds) < target || n < 20000) {
    no += !preempt_is_heap_object(tnode_new((uint64_t)n));
    n++;
  }
  stopper_stop();
  cr_assert_eq(no, 0, "preempt_is_heap_object said no for %ld of %ld objects "
               "passed to it straight from allocation", no, n);
}

/* ---- 7. fork while threads mutate and collect -------------------------------- */

/* The child's status, or -1 (and the child killed) if it ran 30 s (120 s
 * under ASan: a child marking the heap it inherited copies the pages it
 * touches, shadow included, and took over 30 s on a loaded machine). */
static int wait_child(pid_t pid) {
  int status = 0;
  uint64_t deadline = now_ns() + (PRECISE_FRAMES ? 30 : 120) * 1000000000ull;
  pid_t w;
  while ((w = waitpid(pid, &status, WNOHANG)) == 0 && now_ns() < deadline)
    nap_us(1000);
  if (w != 0)
    return status;
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

/* In the child: only this thread is left. */
static int child_work(void) {
  int bad = 0;
  for (int i = 0; i < NSLOTS; i++)
    if (chain_intact(i, &mutator_bad, "child", true) < 0)
      bad |= 1;
  struct tnode *mine = chain(50, 800000);
  for (int i = 0; i < 3; i++) {
    preempt_gc();
    preempt_stop_the_world("child");
    preempt_start_the_world();
  }
  for (int i = 0; i < NSLOTS; i++)
    if (chain_intact(i, &mutator_bad, "child", true) < 0)
      bad |= 2;
  if (!chain_ok(mine, 50, 800000))
    bad |= 4;
  return bad;
}

Test(async, fork_under_stops, .timeout = 300) {
  pthread_t m[NMUT];
  memset(slots, 0, sizeof slots);
  atomic_store(&graph_quit, 0);
  stopper_start(check_graph_stopped);
  for (intptr_t i = 0; i < NMUT; i++)
    cr_assert_eq(pthread_create(&m[i], NULL, mutator, (void *)i), 0);
  for (int f = 0; f < 12; f++) {
    wait_rounds(5);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0)
      _exit(child_work());
    int status = wait_child(pid);
    cr_assert_neq(status, -1, "fork %d: the child hung collecting or "
                  "stopping the world", f);
    cr_assert(WIFEXITED(status), "fork %d: the child died of signal %d", f,
              WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    cr_assert_eq(WEXITSTATUS(status), 0, "fork %d: the child found lost objects (%d)",
                 f, WEXITSTATUS(status));
  }
  atomic_store(&graph_quit, 1);
  for (int i = 0; i < NMUT; i++)
    pthread_join(m[i], NULL);
  stopper_stop();
  cr_assert_eq(atomic_load(&stopped_bad) + atomic_load(&mutator_bad), 0,
               "a reachable node was lost in the parent: %s", bad_msg);
}

/* Was a bug: the forking thread kept its parent's thread id in the child,
 * so a stop signal from another thread of the child never reached it and
 * the child's first collection from that thread hung. */
static void *child_collector(void *arg) {
  (void)arg;
  for (int i = 0; i < 50; i++) {
    if (i % 25 == 0) /* the child marks all it inherited: slow under ASan */
      preempt_gc();
    preempt_stop_the_world("child collector");
    preempt_start_the_world();
    atomic_fetch_add(&rounds, 1);
  }
  return NULL;
}

static int child_spins_while_collected(void) {
  struct tnode *mine = chain(50, 810000);
  atomic_store(&rounds, 0);
  pthread_t th;
  if (pthread_create(&th, NULL, child_collector, NULL))
    return 8;
  /* Until all 50 rounds, counted from 0: the collector may have run some
   * before this thread gets here. No call: only a signal stops it. */
  while (atomic_load_explicit(&rounds, memory_order_relaxed) < 50)
    __builtin_ia32_pause();
  pthread_join(th, NULL);
  return chain_ok(mine, 50, 810000) ? 0 : 4;
}

Test(async, fork_child_stopped_by_signal, .timeout = 400) {
  struct tnode *mine = chain(10, 820000);
  for (int f = 0; f < 3; f++) {
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0)
      _exit(child_spins_while_collected());
    int status = wait_child(pid);
    cr_assert_neq(status, -1, "fork %d: the child's collector never stopped "
                  "the forking thread", f);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "fork %d: the child failed (status %#x)", f, status);
  }
  cr_assert(chain_ok(mine, 10, 820000));
}

/* ---- 8. coroutines switching under stops ------------------------------------- */

enum { CO_STACK = 256 * 1024, CO_SWITCHES = 4000 };
static ucontext_t co_main, co_ctx[2];
static _Atomic int co_bad, co_runs[2];

/* Runs forever: 0 switches to 1, 1 back to the thread's own stack; left
 * suspended at the end. */
static void coroutine(int me) {
  struct tnode *mine = chain(20, 900000 + (uint64_t)me * 100);
  for (int i = 0;; i++) {
    if (i % 500 == 0) { /* certainly stopped on this stack */
      unsigned target = atomic_load(&rounds) + 1;
      while (atomic_load_explicit(&rounds, memory_order_relaxed) < target)
        __builtin_ia32_pause();
    }
    if (!chain_ok(mine, 20, 900000 + (uint64_t)me * 100))
      atomic_fetch_add(&co_bad, 1);
    atomic_fetch_add(&co_runs[me], 1);
    swapcontext(&co_ctx[me], me ? &co_main : &co_ctx[1]);
  }
}

Test(async, coroutines_switch_under_stops, .timeout = 300) {
  void *stacks[2];
  for (int i = 0; i < 2; i++) {
    stacks[i] = mmap(NULL, CO_STACK, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert(stacks[i] != MAP_FAILED);
    preempt_add_stack(stacks[i], CO_STACK);
    cr_assert_eq(getcontext(&co_ctx[i]), 0);
    co_ctx[i].uc_stack.ss_sp = stacks[i];
    co_ctx[i].uc_stack.ss_size = CO_STACK;
    co_ctx[i].uc_link = NULL;
    makecontext(&co_ctx[i], (void (*)(void))coroutine, 1, i);
  }
  struct tnode *mine = chain(20, 950000);
  stopper_start(NULL);
  unsigned r0 = atomic_load(&rounds);
  for (int k = 0; k < CO_SWITCHES; k++) { /* main -> 0 -> 1 -> main */
    cr_assert_eq(swapcontext(&co_main, &co_ctx[0]), 0);
    if (!chain_ok(mine, 20, 950000))
      atomic_fetch_add(&co_bad, 1);
  }
  stopper_stop();
  cr_log_info("coroutines: %d switches over %u rounds", 3 * CO_SWITCHES,
              atomic_load(&rounds) - r0);
  cr_assert_eq(atomic_load(&co_runs[0]), CO_SWITCHES);
  cr_assert_eq(atomic_load(&co_runs[1]), CO_SWITCHES);
  cr_assert_eq(atomic_load(&co_bad), 0, "a coroutine's or the thread's chain was lost");
  preempt_gc(); /* the suspended coroutines' stacks are scanned whole */
  cr_assert(chain_ok(mine, 20, 950000));
  for (int i = 0; i < 2; i++) {
    preempt_remove_stack(stacks[i]);
    munmap(stacks[i], CO_STACK);
  }
}

/* ---- 9. blocked threads that never allocate ----------------------------------- */

/* A raw read(fd, -64(%rsp), 1) with the pointer only in r12 (saved with
 * CFI) or only in the red zone: the stop interrupts the system call, which
 * must restart (no EINTR) and return the byte written meanwhile. */
#define ASM_RAW_READ                                                           \
  "mov %rsi, %r9\n\t"                                                          \
  "mov 12(%rsi), %edi\n\t"                                                     \
  "lea -64(%rsp), %rsi\n\t"                                                    \
  "movb $0, (%rsi)\n\t"                                                        \
  "mov $1, %edx\n\t"                                                           \
  "xor %eax, %eax\n\t" /* SYS_read */                                          \
  "syscall\n\t"                                                                \
  "mov %rax, 24(%r9)\n\t"                                                      \
  "movzbl -64(%rsp), %ecx\n\t"                                                 \
  "mov %ecx, 32(%r9)\n\t"                                                      \
  "xor %r9d, %r9d\n\t"

__attribute__((naked, noinline)) static void *read_r12(uintptr_t h, struct spin *s) {
  __asm__(ASM_ENTER
          "push %r12\n\t"
          ".cfi_adjust_cfa_offset 8\n\t"
          ".cfi_rel_offset %r12, 0\n\t"
          "mov %rax, %r12\n\t"
          "xor %eax, %eax\n\t" ASM_RAW_READ
          "mov %r12, %rax\n\t"
          "pop %r12\n\t"
          ".cfi_adjust_cfa_offset -8\n\t"
          ".cfi_restore %r12\n\t"
          "ret");
}

__attribute__((naked, noinline)) static void *read_red_zone(uintptr_t h, struct spin *s) {
  __asm__(ASM_ENTER
          "mov %rax, -8(%rsp)\n\t"
          "xor %eax, %eax\n\t" ASM_RAW_READ
          "mov -8(%rsp), %rax\n\t"
          "movq $0, -8(%rsp)\n\t"
          "ret");
}

struct reader_arg {
  holder_fn *fn;
  uintptr_t h;
  struct spin s;
  _Atomic long tid;
  void *back;
};

static void *raw_reader(void *p) {
  struct reader_arg *a = p;
  atomic_store(&a->tid, gettid());
  a->back = a->fn(a->h, &a->s);
  return NULL;
}

/* Whether thread tid is inside system call nr (/proc/.../syscall). */
static bool in_syscall(long tid, long nr) {
  char path[64], buf[64] = {0};
  snprintf(path, sizeof path, "/proc/self/task/%ld/syscall", tid);
  FILE *f = fopen(path, "r");
  if (!f)
    return false;
  bool yes = fgets(buf, sizeof buf, f) && strtol(buf, NULL, 10) == nr &&
             buf[0] != 'r'; /* "running" */
  fclose(f);
  return yes;
}

static void write_while_stopped(void *fd) {
  /* write(2) is allowed with the world stopped. */
  if (write(*(int *)fd, "x", 1) != 1)
    abort();
}

static void run_raw_reader(holder_fn *fn, const char *where) {
  int p[2];
  cr_assert_eq(pipe(p), 0);
  static struct reader_arg a; /* not in the heap: the victim is not in it */
  memset(&a, 0, sizeof a);
  a.fn = fn;
  a.h = make_victim(1000000, &hold_flags[0]);
  a.s = (struct spin){.pid = p[0], .vec = cpu_vec()};
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, raw_reader, &a), 0);
  while (!atomic_load(&a.tid) || !in_syscall(atomic_load(&a.tid), SYS_read))
    sched_yield();
  for (int i = 0; i < 300; i++) {
    preempt_stop_the_world("reader");
    preempt_start_the_world();
    if (i % 30 == 0)
      preempt_gc();
  }
  preempt_with_world_stopped("reader", write_while_stopped, &p[1]);
  pthread_join(th, NULL);
  cr_assert_eq(a.s.result, 1, "%s: read() returned %ld (%s) after stops", where,
               a.s.result, a.s.result < 0 ? strerror((int)-a.s.result) : "");
  cr_assert_eq(a.s.byte, 'x');
  cr_assert(gave_back(a.back, a.h), "%s: the reader returned another value", where);
  preempt_run_finalizers();
  cr_assert_eq(atomic_load(&hold_flags[0]), 0, "%s: the victim of a blocked "
               "thread was found unreachable", where);
  cr_assert(victim_ok(a.h, 1000000), "%s: the victim of a blocked thread was freed",
            where);
  a.back = NULL; /* the last reference */
  assert_victim_collected(a.h, &hold_flags[0], where);
  close(p[0]);
  close(p[1]);
}

Test(async, blocked_raw_read_r12, .timeout = 60) {
  run_raw_reader(read_r12, "r12 in a blocked read");
}

Test(async, blocked_raw_read_red_zone, .timeout = 60) {
  run_raw_reader(read_red_zone, "the red zone of a blocked read");
}

/* Was a bug (fixed in 7dc1e8d): the naked preempt_enter_blocking
 * (runtime/arch/x86_64.h PREEMPT_ARCH_CALL_WITH_CALLER_CONTEXT) had no CFI
 * for its `sub $56, %rsp`, so an unwinder inside it took the saved rbx for
 * the return address.  A stop landing in preempt_stw_enter_blocking before
 * the thread was BLOCKING walked garbage frames: with rbx = 1, libgcc
 * faulted looking for a signal trampoline at address 1 (first seen under
 * ASan, with rbx holding usleep's argument, in its blocking wrapper). */
__attribute__((naked, noinline)) static void enter_exit_with_rbx_1(void) {
  __asm__("push %rbx\n\t"
          ".cfi_adjust_cfa_offset 8\n\t"
          ".cfi_rel_offset %rbx, 0\n\t"
          "mov $1, %ebx\n\t"
          "call preempt_enter_blocking@PLT\n\t"
          "call preempt_exit_blocking@PLT\n\t"
          "pop %rbx\n\t"
          ".cfi_adjust_cfa_offset -8\n\t"
          ".cfi_restore %rbx\n\t"
          "ret");
}

static _Atomic int blocking_quit;

static void *blocking_looper(void *arg) {
  (void)arg;
  while (!atomic_load_explicit(&blocking_quit, memory_order_relaxed))
    enter_exit_with_rbx_1();
  return NULL;
}

Test(async, stopped_while_entering_a_blocking_region, .timeout = 120) {
  pthread_t th[3];
  atomic_store(&blocking_quit, 0);
  stopper_start(NULL);
  for (int i = 0; i < 3; i++)
    cr_assert_eq(pthread_create(&th[i], NULL, blocking_looper, NULL), 0);
  wait_rounds(PRECISE_FRAMES ? 20000 : 2000); /* rounds are ~30 ms under ASan */
  atomic_store(&blocking_quit, 1);
  for (int i = 0; i < 3; i++)
    pthread_join(th[i], NULL);
  stopper_stop();
}

/* pthread_join, read() on a pipe and a futex wait hold a chain each on
 * their stack; the world stops many times; read() then returns the byte
 * written while the world was stopped, with no EINTR. */
static int pipefd[2];
static _Atomic unsigned futex_word;
static _Atomic long blocked_tids[3];
static _Atomic int blocked_errors;

static void *pipe_reader(void *arg) {
  (void)arg;
  struct tnode *h = chain(30, 1100000);
  atomic_store(&blocked_tids[0], gettid());
  char c = 0;
  ssize_t r = read(pipefd[0], &c, 1);
  if (r != 1 || c != 'x')
    atomic_fetch_add(&blocked_errors, 1);
  return (void *)(intptr_t)chain_ok(h, 30, 1100000);
}

static void *futex_waiter(void *arg) {
  (void)arg;
  struct tnode *h = chain(30, 1200000);
  atomic_store(&blocked_tids[1], gettid());
  while (atomic_load(&futex_word) == 0)
    syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
  return (void *)(intptr_t)chain_ok(h, 30, 1200000);
}

static void *joiner(void *arg) {
  struct tnode *h = chain(30, 1300000);
  atomic_store(&blocked_tids[2], gettid());
  void *its;
  pthread_join(*(pthread_t *)arg, &its);
  return (void *)(intptr_t)(its && chain_ok(h, 30, 1300000));
}

Test(async, blocked_threads_hold_their_objects, .timeout = 120) {
  pthread_t r, f, j;
  cr_assert_eq(pipe(pipefd), 0);
  cr_assert_eq(pthread_create(&r, NULL, pipe_reader, NULL), 0);
  cr_assert_eq(pthread_create(&f, NULL, futex_waiter, NULL), 0);
  cr_assert_eq(pthread_create(&j, NULL, joiner, &f), 0);
  static const long nr[3] = {SYS_read, SYS_futex, SYS_futex};
  for (int i = 0; i < 3; i++)
    while (!atomic_load(&blocked_tids[i]) || !in_syscall(atomic_load(&blocked_tids[i]), nr[i]))
      sched_yield();
  for (int i = 0; i < 500; i++) {
    preempt_stop_the_world("blocked");
    preempt_start_the_world();
    if (i % 25 == 0) {
      preempt_gc();
      chain(200, 1400000); /* garbage: freed slots get reused */
    }
  }
  preempt_with_world_stopped("blocked", write_while_stopped, &pipefd[1]);
  atomic_store(&futex_word, 1);
  syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
  void *ok_r, *ok_j;
  pthread_join(r, &ok_r);
  pthread_join(j, &ok_j); /* it joined f and returns f's verdict with its own */
  cr_assert_eq(atomic_load(&blocked_errors), 0, "read() failed (EINTR?) after stops");
  cr_assert(ok_r, "the pipe reader's chain was lost");
  cr_assert(ok_j, "the joiner's or the futex waiter's chain was lost");
}

/* read() on a socket with a receive timeout: the kernel does not restart
 * it after a handler, SA_RESTART or not (man 7 signal), so a stop makes
 * it fail with EINTR.  recv() is a blocking region of the plugin's
 * (runtime/blocking.def) but read() is not, and neither is write() with
 * SO_SNDTIMEO: the README's "never see EINTR from a stop" does not hold
 * for them. */
static int sock[2];

static void *socket_reader(void *arg) {
  (void)arg;
  atomic_store(&blocked_tids[0], gettid());
  char c = 0;
  ssize_t r = read(sock[0], &c, 1);
  return (void *)(intptr_t)(r == 1 && c == 'x' ? 1 : r < 0 ? -errno : -1000);
}

Test(async, socket_read_with_timeout_sees_no_eintr, .timeout = 60, KNOWN_BUG) {
  cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sock), 0);
  struct timeval tv = {.tv_sec = 30};
  cr_assert_eq(setsockopt(sock[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
  atomic_store(&blocked_tids[0], 0);
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, socket_reader, NULL), 0);
  while (!atomic_load(&blocked_tids[0]) || !in_syscall(atomic_load(&blocked_tids[0]), SYS_read))
    sched_yield();
  for (int i = 0; i < 20; i++) {
    preempt_stop_the_world("socket");
    preempt_start_the_world();
  }
  cr_assert_eq(write(sock[1], "x", 1), 1);
  void *r;
  pthread_join(th, &r);
  cr_assert_eq((intptr_t)r, 1, "read() on a socket with SO_RCVTIMEO returned "
               "%s after stops", (intptr_t)r == -EINTR ? "EINTR" : "an error");
}

/* ---- a thread inside a dl_iterate_phdr callback ------------------------------- *
 * A thread stopped by the signal inside a dl_iterate_phdr callback would
 * hold the loader's lock (dl_load_write_lock) while parked, and the
 * collector, which scans globals with dl_iterate_phdr, would wait for it
 * forever.  The callback calls nothing of the runtime's: the runtime must
 * not stop a thread there (it waits until the callback returns). */
static _Atomic int phdr_quit, phdr_inside;

static int phdr_cb(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)info;
  (void)size;
  (void)arg;
  atomic_store(&phdr_inside, 1);
  uint64_t deadline = now_ns() + 3000000000u; /* no call to the runtime */
  while (!atomic_load_explicit(&phdr_quit, memory_order_relaxed) && now_ns() < deadline)
    __builtin_ia32_pause();
  return 1;
}

static void *phdr_walker(void *arg) {
  (void)arg;
  dl_iterate_phdr(phdr_cb, NULL);
  return NULL;
}

static _Atomic int gc_finished, collector_ready, collector_go;

/* Attached before the walker enters its callback (attaching reads the
 * thread-local blocks with dl_iterate_phdr, and would wait there). */
static void *collect_when_told(void *arg) {
  (void)arg;
  atomic_store(&collector_ready, 1);
  while (!atomic_load(&collector_go))
    sched_yield();
  preempt_gc();
  atomic_store(&gc_finished, 1);
  return NULL;
}

Test(async, collect_while_a_thread_is_in_dl_iterate_phdr, .timeout = 60) {
  pthread_t w, c;
  /* Not stopped itself, so that it can tell; no runtime call (nor usleep,
   * a blocking region) from here on. */
  preempt_thread_detach();
  cr_assert_eq(pthread_create(&c, NULL, collect_when_told, NULL), 0);
  while (!atomic_load(&collector_ready))
    sched_yield();
  cr_assert_eq(pthread_create(&w, NULL, phdr_walker, NULL), 0);
  while (!atomic_load(&phdr_inside))
    sched_yield();
  atomic_store(&collector_go, 1);
  uint64_t deadline = now_ns() + 10000000000ull;
  while (!atomic_load(&gc_finished) && now_ns() < deadline)
    sched_yield();
  atomic_store(&phdr_quit, 1);
  cr_assert(atomic_load(&gc_finished),
            "a collection did not finish in 10 s while a thread was inside a "
            "dl_iterate_phdr callback (deadlock on the loader's lock)");
  pthread_join(c, NULL);
  pthread_join(w, NULL);
}
