/* Unsafe points: the runtime's lookup (preempt_registry_unsafe_at, which
 * the stopping signal handler asks) is true inside each kind of range the
 * plugin records and false elsewhere in instrumented code.  Linked with
 * the static runtime to reach that internal function.
 *
 * Each range takes its own address from inside it: an asm that loads the
 * address of its own instruction.  Volatile asm statements keep their order,
 * so it stays between the markers. */
#include <criterion/criterion.h>
#include <preempt.h>

#include <dlfcn.h>
#include <link.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>

bool preempt_registry_unsafe_at(uintptr_t pc);
bool preempt_registry_known_code(uintptr_t pc);
void preempt_registry_sync(void);

#define HERE(pc) __asm__ __volatile__("1: lea 1b(%%rip), %0" : "=r"(pc))

/* Keys the optimiser cannot cancel against each other. */
static volatile uintptr_t key1 = 0x5a5a0000, key2 = 0x5a5a0000;

__attribute__((noinline)) static void *explicit_range(void *p, uintptr_t *pc) {
  uintptr_t k1 = key1, k2 = key2, at;
  preempt_unsafe_begin(p);
  uintptr_t h = (uintptr_t)p ^ k1;
  HERE(at);
  void *q = (void *)(h ^ k2);
  preempt_unsafe_end(q);
  *pc = at;
  return q;
}

PREEMPT_UNSAFE static uintptr_t whole_function(void) {
  uintptr_t at;
  HERE(at);
  return at;
}

__attribute__((noinline)) static void *automatic(void *p, uintptr_t *pc) {
  uintptr_t k1 = key1, k2 = key2, at;
  uintptr_t h = (uintptr_t)p ^ k1;
  __asm__ __volatile__("1: lea 1b(%%rip), %0" : "=r"(at) : "r"(h));
  *pc = at;
  return (void *)(h ^ k2);
}

__attribute__((noinline)) static uintptr_t plain(void) {
  uintptr_t at;
  HERE(at);
  return at;
}

Test(unsafe, explicit_range_is_unsafe) {
  preempt_registry_sync();
  uintptr_t pc;
  void *obj = preempt_alloc(32);
  cr_assert_eq(explicit_range(obj, &pc), obj);
  cr_expect(preempt_registry_unsafe_at(pc), "pc %#lx in a marked range", (unsigned long)pc);
}

Test(unsafe, marked_function_is_unsafe) {
  preempt_registry_sync();
  uintptr_t pc = whole_function();
  cr_expect(preempt_registry_unsafe_at(pc));
  /* Its first instruction too: the prologue is inside. */
  cr_expect(preempt_registry_unsafe_at((uintptr_t)&whole_function));
}

Test(unsafe, hidden_pointer_is_unsafe) {
  preempt_registry_sync();
  uintptr_t pc;
  void *obj = preempt_alloc(32);
  cr_assert_eq(automatic(obj, &pc), obj);
  cr_expect(preempt_registry_unsafe_at(pc));
}

Test(unsafe, ordinary_code_is_safe) {
  preempt_registry_sync();
  cr_expect(!preempt_registry_unsafe_at(plain()));
  cr_expect(!preempt_registry_unsafe_at((uintptr_t)&plain));
  /* Just past the marked function's range is another function's code. */
  uintptr_t pc;
  explicit_range(&pc, &pc);
  cr_expect(!preempt_registry_unsafe_at((uintptr_t)&explicit_range));
}

Test(unsafe, unknown_code_is_safe) {
  preempt_registry_sync();
  /* Executable memory no loaded object owns (a JIT's) has no unsafe
   * ranges: a thread there is stopped and scanned conservatively. */
  void *code = mmap(NULL, 4096, PROT_READ | PROT_EXEC,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  cr_assert_neq(code, MAP_FAILED);
  cr_expect(!preempt_registry_unsafe_at((uintptr_t)code + 16));
  munmap(code, 4096);
}

/* The stopper syncs the registry while its signals are on their way, and
 * a handler that finds its thread in code no sync has seen waits for the
 * sync (stw.c): that code must be unknown until a sync has seen its
 * object, known after, and unknown again once it is unloaded. */
Test(unsafe, code_is_known_from_the_sync_after_its_load) {
  preempt_registry_sync();
  cr_expect(preempt_registry_known_code((uintptr_t)&plain));
  cr_expect(preempt_registry_known_code((uintptr_t)&memcpy), "the C library");
  /* The vDSO's code (clock_gettime runs there), from its own headers. */
  uintptr_t vdso = (uintptr_t)getauxval(AT_SYSINFO_EHDR), vdso_code = 0;
  cr_assert(vdso, "no vDSO");
  const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)vdso;
  const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(vdso + eh->e_phoff);
  for (int i = 0; i < eh->e_phnum; i++)
    if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_X))
      vdso_code = vdso + ph[i].p_vaddr + ph[i].p_memsz / 2;
  cr_assert(vdso_code, "no code segment in the vDSO");
  cr_expect(preempt_registry_known_code(vdso_code), "the vDSO");
  void *code = mmap(NULL, 4096, PROT_READ | PROT_EXEC,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  cr_assert_neq(code, MAP_FAILED);
  cr_expect(!preempt_registry_known_code((uintptr_t)code + 16), "JIT code");
  munmap(code, 4096);

  void *h = dlopen(LIBDIR "/libpreempt_foreignpool.so", RTLD_NOW | RTLD_LOCAL);
  cr_assert(h, "dlopen: %s", dlerror());
  uintptr_t fn = (uintptr_t)dlsym(h, "foreign_pool_run");
  cr_assert(fn);
  cr_expect(!preempt_registry_known_code(fn), "known before any sync saw it");
  preempt_registry_sync();
  cr_expect(preempt_registry_known_code(fn), "unknown after a sync");
  cr_expect(!preempt_registry_unsafe_at(fn));
  cr_assert_eq(dlclose(h), 0);
  preempt_registry_sync();
  cr_expect(!preempt_registry_known_code(fn), "known after its unload");
}
