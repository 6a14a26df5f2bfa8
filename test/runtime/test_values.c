/* Values whose memory may hold a pointer are roots: the tagged unions of
 * interpreters (union { double; void * }), structs and arrays of them,
 * passed and returned by value, and doubles, long doubles and vectors
 * holding a pointer's bits.  In each test the only reference to a chain
 * of nodes is such a value while the collector runs; the chain must come
 * out intact (PREEMPT=verify=1 poisons freed memory), and a chain the
 * value no longer holds must be freed.  Built at -O0, -O2 and -O3: SROA
 * and the calling convention turn these values into double, i64,
 * x86_fp80 and vector SSA values, or keep them in memory. */
#include "testutil.h"

union num {
  double d;
  void *p;
};
union word {
  long i;
  void *p;
};
enum { T_NUM, T_PTR };
struct value {
  int tag;
  union num u;
};
struct big { /* passed in memory (byval) */
  int tag;
  union num a, b;
};
union ldbl {
  long double ld;
  void *p;
};
typedef double v2d __attribute__((vector_size(16)));
typedef unsigned char v16b __attribute__((vector_size(16)));

static void verify_chain(const struct tnode *h, int n, uint64_t base) {
  for (int i = n - 1; i >= 0; i--, h = h->a) {
    cr_assert_not_null(h);
    tnode_verify(h);
    cr_assert_eq(h->id, base + (uint64_t)i);
  }
  cr_assert_null(h);
}

/* Collections with garbage in between, from a frame below the caller's. */
__attribute__((noinline)) static void churn(void) {
  for (int k = 0; k < 10; k++) {
    opaque(chain(100, 1 << 20));
    preempt_gc();
  }
}

/* Barriers the optimiser cannot see through, so that the value keeps its
 * representation (a double, an x87 value, a vector) across the collection. */
__attribute__((noinline)) static double opaque_d(double d) {
  __asm__ __volatile__("" : "+x"(d));
  return d;
}
__attribute__((noinline)) static v2d opaque_v2d(v2d v) {
  __asm__ __volatile__("" : "+x"(v));
  return v;
}
__attribute__((noinline)) static v16b opaque_v16b(v16b v) {
  __asm__ __volatile__("" : "+x"(v));
  return v;
}

__attribute__((noinline)) static struct value ptr_value(void *p) {
  struct value v;
  v.tag = T_PTR;
  v.u.p = opaque(p);
  return v;
}
__attribute__((noinline)) static union num ptr_num(void *p) {
  union num n;
  n.p = opaque(p);
  return n;
}
__attribute__((noinline)) static union word ptr_word(void *p) {
  union word w;
  w.p = opaque(p);
  return w;
}
__attribute__((noinline)) static void set_num(union num *n, void *p) {
  n->p = p;
}

Test(values, escaped_local_union) {
  union num n;
  set_num(&n, chain(10, 100));
  churn();
  verify_chain(n.p, 10, 100);
  uintptr_t h = hide(n.p);
  set_num(&n, NULL);
  churn();
  assert_collected(h, "a chain no union holds any more survived");
}

Test(values, union_returned_by_value) {
  union num n = ptr_num(chain(10, 200));
  churn();
  verify_chain(n.p, 10, 200);
}

Test(values, long_union_returned_by_value) {
  union word w = ptr_word(chain(10, 300));
  churn();
  verify_chain(w.p, 10, 300);
}

Test(values, struct_field) {
  struct value v = ptr_value(chain(10, 400));
  churn();
  cr_assert_eq(v.tag, T_PTR);
  verify_chain(v.u.p, 10, 400);
  uintptr_t h = hide(v.u.p);
  v = ptr_value(NULL);
  churn();
  cr_assert_null(v.u.p);
  assert_collected(h, "a chain no struct value holds any more survived");
}

/* An interpreter's registers: an array of tagged values, mixing numbers
 * and references. */
Test(values, array_of_tagged_values) {
  struct value regs[6];
  for (int i = 0; i < 6; i++) {
    if (i % 2)
      regs[i] = ptr_value(chain(5, 1000 * (uint64_t)i));
    else
      regs[i] = (struct value){.tag = T_NUM, .u.d = i * 0.5};
  }
  churn();
  for (int i = 0; i < 6; i++) {
    cr_assert_eq(regs[i].tag, i % 2 ? T_PTR : T_NUM);
    if (i % 2)
      verify_chain(regs[i].u.p, 5, 1000 * (uint64_t)i);
    else
      cr_assert_eq(regs[i].u.d, i * 0.5);
  }
}

__attribute__((noinline)) static void fill_values(struct value *v, int n) {
  for (int i = 0; i < n; i++)
    v[i] = ptr_value(chain(3, 100 * (uint64_t)i));
}
Test(values, escaped_array_of_tagged_values) {
  struct value regs[16];
  fill_values(regs, 16);
  churn();
  for (int i = 0; i < 16; i++)
    verify_chain(regs[i].u.p, 3, 100 * (uint64_t)i);
}

/* The callee's parameter is the only reference: the caller passes a
 * temporary it never uses again. */
__attribute__((noinline)) static void take_value(struct value v, uint64_t base) {
  churn();
  cr_assert_eq(v.tag, T_PTR);
  verify_chain(v.u.p, 10, base);
}
__attribute__((noinline)) static void take_big(struct big v, uint64_t base) {
  churn();
  verify_chain(v.a.p, 10, base);
  verify_chain(v.b.p, 10, base + 10);
}
__attribute__((noinline)) static void take_num(union num n, uint64_t base) {
  churn();
  verify_chain(n.p, 10, base);
}
Test(values, passed_by_value) {
  for (uint64_t r = 0; r < 3; r++) {
    take_value(ptr_value(chain(10, 500 + r)), 500 + r);
    take_num(ptr_num(chain(10, 600 + r)), 600 + r);
    struct big b = {T_PTR, ptr_num(chain(10, 700)), ptr_num(chain(10, 710))};
    take_big(b, 700);
  }
}

/* The value is held across the collection by the function returning it. */
__attribute__((noinline)) static struct value collect_then_return(uint64_t base) {
  struct value v = ptr_value(chain(10, base));
  churn();
  return v;
}
__attribute__((noinline)) static union num collect_then_return_num(uint64_t base) {
  union num n = ptr_num(chain(10, base));
  churn();
  return n;
}
Test(values, returned_by_value) {
  struct value v = collect_then_return(800);
  verify_chain(v.u.p, 10, 800);
  union num n = collect_then_return_num(900);
  verify_chain(n.p, 10, 900);
}

/* A pointer's bits in a double, put there with memcpy. */
__attribute__((noinline)) static double bits_of(void *p) {
  double d;
  memcpy(&d, &p, sizeof d);
  return d;
}
Test(values, double_from_memcpy) {
  double d = opaque_d(bits_of(chain(10, 1100)));
  churn();
  void *p;
  d = opaque_d(d);
  memcpy(&p, &d, sizeof p);
  verify_chain(p, 10, 1100);
}

/* ...and through a union. */
Test(values, double_from_union) {
  union num n = {.p = chain(10, 1200)};
  double d = opaque_d(n.d);
  n.p = NULL;
  churn();
  n.d = opaque_d(d);
  verify_chain(n.p, 10, 1200);
}

__attribute__((noinline)) static long double ldbl_of(void *p) {
  union ldbl u;
  memset(&u, 0, sizeof u);
  u.p = opaque(p);
  return u.ld;
}
Test(values, long_double) {
  long double ld = ldbl_of(chain(10, 1300));
  churn();
  union ldbl u;
  memset(&u, 0, sizeof u);
  u.ld = ld;
  verify_chain(u.p, 10, 1300);
}

Test(values, vectors) {
  void *ps[2] = {chain(10, 1400), chain(10, 1410)};
  v2d v;
  v16b b;
  memcpy(&v, ps, sizeof v);
  v = opaque_v2d(v);
  ps[0] = chain(10, 1420);
  ps[1] = chain(10, 1430);
  memcpy(&b, ps, sizeof b);
  b = opaque_v16b(b);
  memset(ps, 0, sizeof ps);
  churn();
  v = opaque_v2d(v);
  memcpy(ps, &v, sizeof ps);
  verify_chain(ps[0], 10, 1400);
  verify_chain(ps[1], 10, 1410);
  b = opaque_v16b(b);
  memcpy(ps, &b, sizeof ps);
  verify_chain(ps[0], 10, 1420);
  verify_chain(ps[1], 10, 1430);
}

/* The tests above would also pass with this program's frames scanned
 * conservatively, which is what the runtime does with maps it rejects (a
 * location the format cannot describe, such as a 10-byte long double at
 * an unaligned offset): check that they were accepted. */
Test(values, maps_accepted) {
  preempt_gc();
  struct preempt_stats s;
  preempt_read_stats(&s);
  cr_assert_gt(s.stack_records, 0, "this program's stack maps were rejected");
}
