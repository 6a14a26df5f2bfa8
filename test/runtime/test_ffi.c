/* Foreign calls and callbacks through libffi (preempt_ffi_call,
 * preempt_callback_new), against ffiforeign.c, a library built without
 * the plugin.
 *
 * Every libffi type class goes through a call and back (integers of each
 * width, signed and unsigned, float, double, long double, pointers,
 * structs small and large, nested, variadic); bad signatures say where
 * they are wrong.  Callbacks run from qsort called directly, from a
 * foreign call, nested, from a foreign thread pool (threads the runtime
 * attached at creation, and threads created past its pthread_create
 * wrapper) while other threads stop the world.  A foreign call blocked
 * in a raw system call for seconds does not hold up hundreds of
 * collections and sees no EINTR.  A heap object whose only reference is
 * the argument of a foreign call survives many collections during it
 * (PREEMPT=verify=1 poisons freed memory) and is collected after it. */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <ffi.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

/* ffiforeign.c */
int8_t ff_neg_i8(int8_t);
uint8_t ff_inc_u8(uint8_t);
int16_t ff_neg_i16(int16_t);
uint16_t ff_inc_u16(uint16_t);
int32_t ff_neg_i32(int32_t);
uint32_t ff_inc_u32(uint32_t);
int64_t ff_neg_i64(int64_t);
uint64_t ff_inc_u64(uint64_t);
long long ff_neg_ll(long long);
unsigned long long ff_inc_ull(unsigned long long);
size_t ff_inc_size(size_t);
ssize_t ff_neg_ssize(ssize_t);
bool ff_not(bool);
double ff_mix(int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t,
              uint64_t, float, double, long double, void *, size_t, bool,
              int8_t);
double ff_mix6(int8_t, uint16_t, float, int32_t, double, void *);
int8_t ff_last_i8(long, long, long, long, long, long, int8_t);
uint16_t ff_last_u16(long, long, long, long, long, long, uint16_t);
float ff_fadd(float, float);
double ff_dmul(double, double);
long double ff_ldmul(long double, long double);
void *ff_ptr_add(void *, size_t);
struct ff_tiny { char c; short s; };
struct ff_small { int a; double b; };
struct ff_large { long a[5]; char c; };
struct ff_nested { struct { char c; float f; } in; void *p; double d[2]; };
struct ff_ld { long double x; int y; };
struct ff_floats { float a, b, c; };
struct ff_tiny ff_tiny_bump(struct ff_tiny);
struct ff_small ff_small_scale(struct ff_small, int);
struct ff_large ff_large_rev(struct ff_large, long);
struct ff_nested ff_nested_bump(struct ff_nested, void *);
struct ff_ld ff_ld_twice(struct ff_ld);
struct ff_floats ff_floats_sum(struct ff_floats, struct ff_floats);
double ff_vsum(int, const char *, ...);
int ff_sleep_ms(int);
int ff_wait_fd(int, int);
long ff_hold_check(const unsigned char *, size_t, int, int, int);
struct ff_holder { long tag; const unsigned char *obj; };
long ff_hold_check_struct(struct ff_holder, size_t, int, int, int);
void ff_qsort(void *, size_t, size_t, int (*)(const void *, const void *));
int ff_nest(int, int (*)(int, void *), void *);
double ff_call_types(int8_t (*)(int8_t), uint16_t (*)(uint16_t),
                     float (*)(float), long double (*)(long double),
                     struct ff_small (*)(struct ff_small),
                     struct ff_large (*)(struct ff_large));
int ff_pool_run(int, int, void (*)(int, int, void *), void *, int);

static char out[16384];

static preempt_sig *sig(const char *text) {
  char err[512];
  preempt_sig *s = preempt_sig_new(text, err, sizeof err);
  cr_assert(s, "signature \"%s\": %s", text, err);
  return s;
}

/* Calls fn with sig, with and without the blocking transition, and runs
 * check after each. */
#define CALL_BOTH(text, fn, ret, check, ...)                                   \
  do {                                                                         \
    preempt_sig *s_ = sig(text);                                               \
    void *a_[] = {__VA_ARGS__};                                                \
    for (int leaf_ = 0; leaf_ < 2; leaf_++) {                                  \
      memset(&(ret), 0, sizeof(ret));                                          \
      (leaf_ ? preempt_ffi_call_leaf : preempt_ffi_call)(s_, PREEMPT_FN(fn),   \
                                                         &(ret), a_);          \
      check;                                                                   \
    }                                                                          \
    preempt_sig_free(s_);                                                      \
  } while (0)

/* A narrow return is stored at its width: the bytes after it stay. */
#define INT_CASE(text, T, fn, arg, expect)                                     \
  do {                                                                         \
    struct {                                                                   \
      T r;                                                                     \
      unsigned char guard[8];                                                  \
    } o_;                                                                      \
    memset(&o_, 0xa5, sizeof o_);                                              \
    T x_ = (arg);                                                              \
    CALL_BOTH(text, fn, o_.r, (void)({                                         \
                cr_assert_eq(o_.r, (T)(expect), "%s: got %lld, expected %lld", \
                             text, (long long)o_.r, (long long)(T)(expect));   \
                for (size_t i_ = 0; i_ < sizeof o_.guard; i_++)                \
                  cr_assert_eq(o_.guard[i_], 0xa5,                             \
                               "%s: wrote past the return value", text);       \
              }),                                                              \
              &x_);                                                            \
  } while (0)

Test(ffi, integers_of_every_width) {
  INT_CASE("c(c)", int8_t, ff_neg_i8, 5, -5);
  INT_CASE("c(c)", int8_t, ff_neg_i8, -128, -128);
  INT_CASE("C(C)", uint8_t, ff_inc_u8, 254, 255);
  INT_CASE("C(C)", uint8_t, ff_inc_u8, 255, 0);
  INT_CASE("s(s)", int16_t, ff_neg_i16, 300, -300);
  INT_CASE("S(S)", uint16_t, ff_inc_u16, 65534, 65535);
  INT_CASE("i(i)", int32_t, ff_neg_i32, 123456, -123456);
  INT_CASE("I(I)", uint32_t, ff_inc_u32, 0xfffffffe, 0xffffffff);
  INT_CASE("l(l)", int64_t, ff_neg_i64, 0x123456789ll, -0x123456789ll);
  INT_CASE("L(L)", uint64_t, ff_inc_u64, 0xfffffffffffffffeull,
           0xffffffffffffffffull);
  INT_CASE("q(q)", long long, ff_neg_ll, -(1ll << 62), 1ll << 62);
  INT_CASE("Q(Q)", unsigned long long, ff_inc_ull, 41, 42);
  INT_CASE("z(z)", size_t, ff_inc_size, (size_t)-2, (size_t)-1);
  INT_CASE("Z(Z)", ssize_t, ff_neg_ssize, 77, -77);
  INT_CASE("B(B)", bool, ff_not, false, true);
  INT_CASE("B(B)", bool, ff_not, true, false);
}

Test(ffi, every_class_in_one_call) {
  int8_t a = -3, last = -128;
  uint8_t b = 250;
  int16_t c = -30000;
  uint16_t d = 60000;
  int32_t e = -2000000000;
  uint32_t f = 4000000000u;
  int64_t g = -(1ll << 40);
  uint64_t h = 1ull << 50;
  float x = 1.25f;
  double y = -2.5e10;
  long double z = 3.75L;
  void *p = (void *)0x12345678;
  size_t n = 99;
  bool bo = true;
  double expect = ff_mix(a, b, c, d, e, f, g, h, x, y, z, p, n, bo, last), r;
  CALL_BOTH("d(cCsSiIlLfdDpzBc)", ff_mix, r,
            cr_assert_eq(r, expect, "got %g, expected %g", r, expect),
            &a, &b, &c, &d, &e, &f, &g, &h,
            &x, &y, &z, &p, &n, &bo, &last);
}

/* Signatures called directly (all arguments in registers) and through
 * libffi (a seventh integer on the stack) agree. */
Test(ffi, direct_and_libffi_paths) {
  int8_t a = -100;
  uint16_t b = 65535;
  float x = -0.75f;
  int32_t c = -7;
  double y = 1e-3, r;
  void *p = (void *)0x42;
  double expect = ff_mix6(a, b, x, c, y, p);
  CALL_BOTH("d(cSfidp)", ff_mix6, r, cr_assert_eq(r, expect), &a, &b, &x, &c,
            &y, &p);
  long l[6] = {1, 2, 3, 4, 5, 6};
  int8_t i8 = 22;
  struct {
    int8_t r;
    unsigned char guard[7];
  } o;
  memset(&o, 0xa5, sizeof o);
  CALL_BOTH("c(llllllc)", ff_last_i8, o.r,
            cr_assert(o.r == -1 && o.guard[0] == 0xa5 && o.guard[6] == 0xa5,
                      "got %d", o.r),
            &l[0], &l[1], &l[2], &l[3], &l[4], &l[5], &i8);
  uint16_t u16 = 65000, ru;
  CALL_BOTH("S(llllllS)", ff_last_u16, ru, cr_assert_eq(ru, 65021), &l[0],
            &l[1], &l[2], &l[3], &l[4], &l[5], &u16);
}

Test(ffi, floating_point_and_pointers) {
  float fa = 1.5f, fb = 2.25f, fr;
  CALL_BOTH("f(ff)", ff_fadd, fr,
            cr_assert_eq(fr, 3.75f),
            &fa, &fb);
  double da = 1.5, db = -4.0, dr;
  CALL_BOTH("d(dd)", ff_dmul, dr,
            cr_assert_eq(dr, -6.0),
            &da, &db);
  long double la = 1.0L / 3, lb = 3.0L, lr;
  CALL_BOTH("D(DD)", ff_ldmul, lr,
            cr_assert_eq(lr, ff_ldmul(la, lb), "long double lost precision"),
            &la, &lb);
  char buf[16];
  void *p = buf, *pr;
  size_t off = 5;
  CALL_BOTH("p(pz)", ff_ptr_add, pr,
            cr_assert_eq(pr, buf + 5),
            &p, &off);
}

Test(ffi, structs_by_value) {
  struct ff_tiny t = {'a', 1000}, tr;
  CALL_BOTH("{cs}({cs})", ff_tiny_bump, tr,
            cr_assert(tr.c == 'b' && tr.s == 999),
            &t);

  struct ff_small s = {7, 0.25}, sr;
  int k = -3;
  CALL_BOTH("{id}({id}i)", ff_small_scale, sr,
            cr_assert(sr.a == -21 && sr.b == -0.75, "small struct: %d %g", sr.a, sr.b),
            &s, &k);

  struct ff_large l = {{1, 2, 3, 4, 5}, 'y'}, lr;
  long add = 100;
  CALL_BOTH("{5lc}({5lc}l)", ff_large_rev, lr, (void)({
              for (int i = 0; i < 5; i++)
                cr_assert_eq(lr.a[i], 105 - i);
              cr_assert_eq(lr.c, 'z');
            }),
            &l, &add);

  struct ff_nested nn = {{'m', 1.5f}, NULL, {1.0, 2.0}}, nr;
  void *q = &nn;
  CALL_BOTH("{{cf}p2d}({{cf}p2d}p)", ff_nested_bump, nr,
            cr_assert(nr.in.c == 'n' && nr.in.f == 3.0f && nr.p == &nn &&
            nr.d[0] == 2.0 && nr.d[1] == 1.0),
            &nn, &q);

  struct ff_ld v = {1.0L / 7, 21}, vr;
  CALL_BOTH("{Di}({Di})", ff_ld_twice, vr,
            cr_assert(vr.x == ff_ld_twice(v).x && vr.y == 42),
            &v);

  struct ff_floats fa = {1, 2, 3}, fb = {0.5f, 0.25f, 0.125f}, fr;
  CALL_BOTH("{3f}({3f}{fff})", ff_floats_sum, fr,
            cr_assert(fr.a == 1.5f && fr.b == 2.25f && fr.c == 3.125f),
            &fa, &fb);
}

Test(ffi, variadic) {
  preempt_sig *base = sig("d(ip...)");
  int n = 4;
  const char *types = "ildp";
  int i = -5;
  long l = 1l << 40;
  double d = 0.5;
  void *p = (void *)0x1000;
  double r = 0;
  void *args[] = {&n, &types, &i, &l, &d, &p};
  preempt_ffi_call_variadic(base, "ildp", PREEMPT_FN(ff_vsum), &r, args);
  double expect = -5 + (double)(1l << 40) + 0.5 + 0x1000;
  cr_assert_eq(r, expect, "got %g, expected %g", r, expect);

  /* Prepared once, called many times; a struct among the variadics. */
  char err[256];
  preempt_sig *v = preempt_sig_variadic(base, " i {id} d", err, sizeof err);
  cr_assert(v, "%s", err);
  cr_assert_eq(preempt_sig_nargs(v), 5);
  struct ff_small s = {3, 0.25};
  const char *t2 = "isd";
  int three = 3;
  for (int k = 0; k < 100; k++) {
    int ik = k;
    void *a2[] = {&three, &t2, &ik, &s, &d};
    r = 0;
    preempt_ffi_call(v, PREEMPT_FN(ff_vsum), &r, a2);
    cr_assert_eq(r, k + 3.25 + 0.5);
  }
  preempt_sig_free(v);

  /* The C library's own. */
  preempt_sig *sn = sig("i(pzp...)");
  char buf[64];
  void *bp = buf;
  size_t size = sizeof buf;
  const char *fmt = "%d-%s-%.2f";
  const char *word = "ok";
  int ri = 0, num = 42;
  void *a3[] = {&bp, &size, &fmt, &num, &word, &d};
  preempt_ffi_call_variadic(sn, "ipd", PREEMPT_FN(snprintf), &ri, a3);
  cr_assert_str_eq(buf, "42-ok-0.50");
  cr_assert_eq(ri, 10);
  preempt_sig_free(sn);
  preempt_sig_free(base);
}

Test(ffi, ready_libffi_types) {
  ffi_type *elems[] = {&ffi_type_sint32, &ffi_type_double, NULL};
  ffi_type small = {.size = 0, .alignment = 0, .type = FFI_TYPE_STRUCT,
                    .elements = elems};
  ffi_type *args[] = {&small, &ffi_type_sint32};
  char err[256];
  preempt_sig *s = preempt_sig_from_ffi(&small, 2, args, -1, err, sizeof err);
  cr_assert(s, "%s", err);
  cr_assert(preempt_sig_cif(s));
  struct ff_small in = {2, 1.5}, r;
  int k = 4;
  void *a[] = {&in, &k};
  preempt_ffi_call(s, PREEMPT_FN(ff_small_scale), &r, a);
  cr_assert(r.a == 8 && r.b == 6.0);
  preempt_sig_free(s);

  ffi_type *bad[] = {&ffi_type_void};
  cr_assert_null(preempt_sig_from_ffi(&ffi_type_sint32, 1, bad, -1, err, sizeof err));
  cr_assert(strstr(err, "argument 1 is void"), "%s", err);
}

/* ---- bad signatures ---- */

static void bad(const char *text, const char *expect) {
  char err[512] = "";
  preempt_sig *s = preempt_sig_new(text, err, sizeof err);
  cr_assert_null(s, "\"%s\" was accepted", text);
  cr_assert(strstr(err, expect), "\"%s\": message \"%s\" lacks \"%s\"", text,
            err, expect);
  char quoted[128];
  snprintf(quoted, sizeof quoted, "signature \"%s\"", text);
  cr_assert(strstr(err, quoted), "message \"%s\" does not name the signature", err);
}

Test(ffi, bad_signatures_say_where) {
  bad("i(pX)", "position 4 ('X'): unknown type letter");
  bad("i(p", "position 4 (the end): the argument list has no ')'");
  bad("i", "position 2 (the end): '(' was expected after the return type");
  bad("", "position 1 (the end): a type is missing");
  bad("i(v)", "position 3 ('v'): void is only a return type");
  bad("{}(i)", "position 1 ('{'): an empty struct");
  bad("i(p)x", "position 5 ('x'): nothing may follow the argument list");
  bad("i(...p)", "position 6 ('p'): \"...\" ends the argument list");
  bad("v({ip(i)", "position 6 ('('): a type letter was expected here");
  bad("v({ip", "position 6 (the end): the struct opened at position 3 has no '}'");
  bad("v({0i})", "position 4 ('0'): a field count is 1 to 255");
  bad("v(i,i)", "position 4 (','): unknown type letter");

  char err[256];
  preempt_sig *base = sig("i(p...)");
  cr_assert_null(preempt_sig_variadic(base, "if", err, sizeof err));
  cr_assert(strstr(err, "variadic types \"if\", position 2 ('f'): C promotes a "
                        "variadic float to double: write 'd'"), "%s", err);
  cr_assert_null(preempt_sig_variadic(base, "c", err, sizeof err));
  cr_assert(strstr(err, "write 'i'"), "%s", err);
  preempt_sig *fixed = sig("i(p)");
  cr_assert_null(preempt_sig_variadic(fixed, "i", err, sizeof err));
  cr_assert(strstr(err, "does not end in \"...\""), "%s", err);
  preempt_sig_free(fixed);
  preempt_sig_free(base);
  /* Spaces are fine. */
  preempt_sig_free(sig(" i ( p z { i p } ... ) "));
}

Test(ffi, bad_signature_without_err_is_fatal, .signal = SIGABRT) {
  preempt_sig_new("i(pq", NULL, 0);
}

Test(ffi, variadic_without_types_is_fatal, .signal = SIGABRT) {
  preempt_sig *s = sig("d(ip...)");
  int n = 0;
  const char *t = "";
  void *a[] = {&n, &t};
  double r;
  preempt_ffi_call(s, PREEMPT_FN(ff_vsum), &r, a);
}

Test(ffi, variadic_callback_is_fatal, .signal = SIGABRT) {
  preempt_callback_new(sig("i(i...)"), NULL, NULL);
}

/* ---- callbacks ---- */

static _Atomic long compares;

/* Compares tnode pointers by id, allocating, and collecting now and then:
 * the nodes being sorted must survive. */
static void cmp_handler(void *ret, void **args, void *ctx) {
  const struct tnode *a = **(struct tnode *const *const *)args[0];
  const struct tnode *b = **(struct tnode *const *const *)args[1];
  tnode_verify(a);
  tnode_verify(b);
  struct tnode *garbage = chain(4, 0);
  cr_assert(chain_ok(garbage, 4, 0));
  if (atomic_fetch_add(&compares, 1) % 200 == 0)
    preempt_gc();
  cr_assert_eq(ctx, (void *)&compares);
  *(int *)ret = a->id < b->id ? -1 : a->id > b->id;
}

static struct tnode **shuffled(int n) {
  struct tnode **v = preempt_new_array(struct tnode *, (size_t)n);
  for (int i = 0; i < n; i++)
    v[i] = tnode_new((uint64_t)((i * 7919) % n));
  return v;
}

static void check_sorted(struct tnode **v, int n) {
  for (int i = 0; i < n; i++) {
    tnode_verify(v[i]);
    cr_assert_eq(v[i]->id, (uint64_t)i);
  }
}

Test(ffi, callbacks_from_qsort, .timeout = 60) {
  preempt_sig *s = sig("i(pp)");
  preempt_callback *cb = preempt_callback_new(s, cmp_handler, &compares);
  int (*cmp)(const void *, const void *) = preempt_callback_code(cb);
  /* qsort called directly: the thread is running when it calls back. */
  struct tnode **v = shuffled(500);
  qsort(v, 500, sizeof *v, cmp);
  check_sorted(v, 500);
  /* Through a foreign call: blocking, and back to running for each compare. */
  v = shuffled(500);
  preempt_sig *qs = sig("v(pzzp)");
  size_t n = 500, size = sizeof *v;
  void *a[] = {&v, &n, &size, &cmp};
  preempt_ffi_call(qs, PREEMPT_FN(ff_qsort), NULL, a);
  check_sorted(v, 500);
  cr_assert_gt(atomic_load(&compares), 1000);
  preempt_callback_free(cb);
  preempt_sig_free(qs);
  preempt_sig_free(s);
}

/* Callbacks returning each type class to foreign code, which returns them
 * on (ff_call_types). */
static void r_c8(void *ret, void **args, void *ctx) {
  (void)ctx;
  *(int8_t *)ret = (int8_t)(*(int8_t *)args[0] * 2); /* -14: sign extended */
}
static void r_u16(void *ret, void **args, void *ctx) {
  (void)ctx;
  *(uint16_t *)ret = (uint16_t)(*(uint16_t *)args[0] + 500); /* 65500 */
}
static void r_f(void *ret, void **args, void *ctx) {
  (void)ctx;
  *(float *)ret = *(float *)args[0] * 2;
}
static void r_ld(void *ret, void **args, void *ctx) {
  (void)ctx;
  *(long double *)ret = *(long double *)args[0] * 2;
}
static void r_small(void *ret, void **args, void *ctx) {
  (void)ctx;
  struct ff_small s = *(struct ff_small *)args[0];
  preempt_gc();
  *(struct ff_small *)ret = (struct ff_small){s.a * 10, s.b * 10};
}
static void r_large(void *ret, void **args, void *ctx) {
  (void)ctx;
  struct ff_large l = *(struct ff_large *)args[0], r;
  for (int i = 0; i < 5; i++)
    r.a[i] = l.a[i] * 3;
  r.c = (char)(l.c + 1);
  *(struct ff_large *)ret = r;
}

Test(ffi, callbacks_return_every_class) {
  const char *sigs[] = {"c(c)", "S(S)", "f(f)", "D(D)", "{id}({id})",
                        "{5lc}({5lc})"};
  preempt_callback_fn fns[] = {r_c8, r_u16, r_f, r_ld, r_small, r_large};
  preempt_sig *s[6];
  preempt_callback *cb[6];
  void *code[6];
  for (int i = 0; i < 6; i++) {
    s[i] = sig(sigs[i]);
    cb[i] = preempt_callback_new(s[i], fns[i], NULL);
    code[i] = preempt_callback_code(cb[i]);
  }
  double expect = -14 + 65500 + 3.0 + 4.5 + 30 + 5 + (3 * 10000 + 15) + 'y';
  /* Called directly, then through a foreign call (blocking). */
  double r = ff_call_types(code[0], code[1], code[2], code[3], code[4], code[5]);
  cr_assert_eq(r, expect, "direct: got %f, expected %f", r, expect);
  preempt_sig *ct = sig("d(pppppp)");
  void *a[] = {&code[0], &code[1], &code[2], &code[3], &code[4], &code[5]};
  r = 0;
  preempt_ffi_call(ct, PREEMPT_FN(ff_call_types), &r, a);
  cr_assert_eq(r, expect, "through preempt_ffi_call: got %f, expected %f", r,
               expect);
  for (int i = 0; i < 6; i++) {
    preempt_callback_free(cb[i]);
    preempt_sig_free(s[i]);
  }
  preempt_sig_free(ct);
}

/* ---- nested: foreign -> instrumented -> foreign -> instrumented ... ---- */

struct nest_ctx {
  preempt_sig *nest_sig;
  void *code; /* the callback itself */
  int deepest;
};

static int level(int depth, void *p);

/* Each level holds a chain across the inner foreign call, collects inside
 * it, and checks its chain afterwards. */
static int level(int depth, void *p) {
  struct nest_ctx *c = p;
  struct tnode *mine = chain(50, (uint64_t)depth * 1000);
  preempt_gc();
  int r = 0;
  if (depth > 0) {
    int d = depth - 1;
    void *a[] = {&d, &c->code, &p};
    preempt_ffi_call(c->nest_sig, PREEMPT_FN(ff_nest), &r, a);
  } else {
    c->deepest++;
  }
  preempt_gc();
  cr_assert(chain_ok(mine, 50, (uint64_t)depth * 1000), "level %d lost its chain",
            depth);
  return r + depth;
}

static void level_handler(void *ret, void **args, void *ctx) {
  (void)ctx;
  *(int *)ret = level(*(int *)args[0], *(void **)args[1]);
}

Test(ffi, nested_callbacks, .timeout = 60) {
  struct nest_ctx *c = preempt_new(struct nest_ctx);
  c->nest_sig = sig("i(ipp)");
  preempt_sig *cs = sig("i(ip)");
  preempt_callback *cb = preempt_callback_new(cs, level_handler, NULL);
  c->code = preempt_callback_code(cb);
  /* level(n) = ff_nest(n-1) + n = level(n-1) + 1 + n, level(0) = 0. */
  int r = level(6, c);
  cr_assert_eq(r, 6 + 5 + 4 + 3 + 2 + 1 + 6, "got %d", r);
  cr_assert_eq(c->deepest, 1);
  /* A wrapped C function instead of a handler: the same transitions. */
  preempt_callback *w = preempt_callback_wrap(cs, PREEMPT_FN(level));
  c->code = preempt_callback_code(w);
  c->deepest = 0;
  r = level(4, c);
  cr_assert_eq(r, 4 + 3 + 2 + 1 + 4, "wrapped: got %d", r);
  preempt_callback_free(w);
  preempt_callback_free(cb);
  preempt_sig_free(cs);
  preempt_sig_free(c->nest_sig);
}

/* ---- a foreign thread pool ---- */

static _Atomic int pool_calls, pool_errors, stopper_quit;

static void pool_handler(void *ret, void **args, void *ctx) {
  (void)ret;
  (void)ctx;
  int thread = *(int *)args[0], iter = *(int *)args[1];
  uint64_t base = (uint64_t)thread * 1000000 + (uint64_t)iter * 100;
  struct tnode *c = chain(30, base);
  if (iter % 10 == 0)
    preempt_gc();
  struct tnode *d = chain(30, base + 50);
  if (!chain_ok(c, 30, base) || !chain_ok(d, 30, base + 50))
    atomic_fetch_add(&pool_errors, 1);
  atomic_fetch_add(&pool_calls, 1);
}

static _Atomic long stopper_stops;
static void *stopper(void *arg) {
  (void)arg;
  while (!atomic_load(&stopper_quit)) {
    preempt_stop_the_world("test_ffi pool");
    preempt_start_the_world();
    atomic_fetch_add(&stopper_stops, 1);
    usleep(200);
  }
  return NULL;
}

static void pool(int unseen) {
  preempt_sig *s = sig("v(iip)");
  preempt_callback *cb = preempt_callback_new(s, pool_handler, NULL);
  void *code = preempt_callback_code(cb);
  pthread_t st;
  atomic_store(&stopper_quit, 0);
  atomic_store(&stopper_stops, 0);
  cr_assert_eq(pthread_create(&st, NULL, stopper, NULL), 0);
  /* The pool runs while the world is being stopped: the stopper has
   * stopped it once before the pool starts (a fast pool once finished
   * before the stopper ran at all). */
  preempt_enter_blocking();
  while (!atomic_load(&stopper_stops))
    usleep(100);
  preempt_exit_blocking();
  preempt_sig *run = sig("i(iippi)");
  int nthreads = 4, iters = 60, r = -1;
  void *ctx = NULL;
  void *a[] = {&nthreads, &iters, &code, &ctx, &unseen};
  /* Twice: threads of the second round are new ones, attached afresh. */
  for (int round = 0; round < 2; round++) {
    preempt_ffi_call(run, PREEMPT_FN(ff_pool_run), &r, a);
    cr_assert_eq(r, 0, "ff_pool_run failed: %d", r);
  }
  atomic_store(&stopper_quit, 1);
  /* With asyncpreempt=0 only a blocking region lets the stopper's last
   * stop go on while this thread waits for it. */
  preempt_enter_blocking();
  pthread_join(st, NULL);
  preempt_exit_blocking();
  cr_assert_eq(atomic_load(&pool_errors), 0, "callbacks lost objects");
  cr_assert_eq(atomic_load(&pool_calls), 2 * nthreads * iters);
  preempt_callback_free(cb);
  preempt_sig_free(run);
  preempt_sig_free(s);
}

Test(ffi, foreign_pool_attached_threads, .timeout = 120) { pool(0); }

/* Threads created past the runtime's pthread_create wrapper: attached by
 * their first callback, blocking (idle) between callbacks. */
Test(ffi, foreign_pool_unseen_threads, .timeout = 120) {
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
  cr_skip_test("threads created past ASan's pthread_create interceptor");
#endif
#endif
  pool(1);
}

/* With PREEMPT=asyncpreempt=0 threads of the pool are not attached at
 * creation: their first callback attaches them, and they must not hold
 * stops up afterwards (signals cannot stop them). */
Test(ffi, foreign_pool_cooperative_child, .timeout = 120) {
  if (!in_env_child())
    return;
  pool(0);
}

Test(ffi, foreign_pool_cooperative, .timeout = 180) {
  int st = run_self_env("test_ffi", "asyncpreempt=0,verify=1",
                        "ffi/foreign_pool_cooperative_child", out, sizeof out);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child failed:\n%s", out);
  cr_assert(strstr(out, "Passing: 1"), "the child test did not run:\n%s", out);
}

/* ---- blocking for seconds ---- */

struct blocked {
  int fd;
  int result;
  preempt_sig *s;
};

static void *waiter(void *p) {
  struct blocked *b = p;
  int timeout = 60000;
  void *a[] = {&b->fd, &timeout};
  preempt_ffi_call(b->s, PREEMPT_FN(ff_wait_fd), &b->result, a);
  return NULL;
}

static void *sleeper(void *p) {
  struct blocked *b = p;
  int ms = 1500;
  void *a[] = {&ms};
  preempt_ffi_call(b->s, PREEMPT_FN(ff_sleep_ms), &b->result, a);
  return NULL;
}

/* The waiter returns only after the collections: if its foreign call held
 * them up, it would time out (60 s) instead of seeing its input. */
Test(ffi, blocked_foreign_call_does_not_delay_collections, .timeout = 120) {
  int fds[2];
  cr_assert_eq(pipe(fds), 0);
  struct blocked w = {.fd = fds[0], .result = -99, .s = sig("i(ii)")};
  struct blocked sl = {.result = -99, .s = sig("i(i)")};
  pthread_t tw, ts;
  cr_assert_eq(pthread_create(&tw, NULL, waiter, &w), 0);
  cr_assert_eq(pthread_create(&ts, NULL, sleeper, &sl), 0);
  uint64_t before = gc_count();
  for (int i = 0; i < 300; i++) {
    struct tnode *g = chain(20, 0);
    preempt_keep_alive(g);
    preempt_gc();
  }
  cr_assert_geq(gc_count() - before, 300);
  cr_assert_eq(write(fds[1], "x", 1), 1);
  pthread_join(tw, NULL);
  pthread_join(ts, NULL);
  cr_assert_eq(w.result, 1, "the blocked poll returned %d (0: timed out, "
               "%d: EINTR)", w.result, -EINTR);
  cr_assert_eq(sl.result, 0, "the blocked nanosleep returned %d (%d: EINTR)",
               sl.result, -EINTR);
  close(fds[0]);
  close(fds[1]);
  preempt_sig_free(w.s);
  preempt_sig_free(sl.s);
}

/* ---- heap arguments the caller no longer holds ---- */

#define HELD_SIZE 4000
#define HELD_PATTERN 0x3c
static _Atomic int finalized;

static void count_final(void *obj, void *arg) {
  (void)obj;
  (void)arg;
  atomic_fetch_add(&finalized, 1);
}

/* The object goes only into malloc'd memory, which nothing scans: during
 * the call only the call's own record of its arguments keeps it. */
__attribute__((noinline)) static void make_held(void **cell, uintptr_t *hidden) {
  unsigned char *o = preempt_alloc_noscan(HELD_SIZE);
  memset(o, HELD_PATTERN, HELD_SIZE);
  preempt_set_finalizer(o, count_final, NULL);
  *cell = o;
  *hidden = hide(o);
}

struct churn {
  int fd;
  int rounds;
};

/* Collects, and allocates objects of the same size with another pattern
 * (they would take a freed argument's place), then releases the waiter. */
static void *churner(void *p) {
  struct churn *c = p;
  for (int i = 0; i < c->rounds; i++) {
    for (int k = 0; k < 20; k++) {
      unsigned char *g = preempt_alloc_noscan(HELD_SIZE);
      memset(g, 0x77, HELD_SIZE);
    }
    preempt_gc();
  }
  cr_assert_eq(write(c->fd, "x", 1), 1);
  return NULL;
}

static void held_call(bool in_struct) {
  int fds[2];
  cr_assert_eq(pipe(fds), 0);
  void **cell = malloc(sizeof *cell);
  uintptr_t hidden;
  atomic_store(&finalized, 0);
  make_held(cell, &hidden);
  struct churn c = {fds[1], 200};
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, churner, &c), 0);
  size_t n = HELD_SIZE;
  int pattern = HELD_PATTERN, timeout = 60000;
  long r = -1;
  if (in_struct) {
    struct ff_holder *h = malloc(sizeof *h);
    h->tag = 0;
    h->obj = *cell;
    *cell = NULL;
    preempt_sig *s = sig("l({lp}ziii)");
    void *a[] = {h, &n, &pattern, &fds[0], &timeout};
    preempt_ffi_call(s, PREEMPT_FN(ff_hold_check_struct), &r, a);
    memset(h, 0, sizeof *h);
    free(h);
    preempt_sig_free(s);
  } else {
    preempt_sig *s = sig("l(pziii)");
    void *a[] = {cell, &n, &pattern, &fds[0], &timeout};
    preempt_ffi_call(s, PREEMPT_FN(ff_hold_check), &r, a);
    preempt_sig_free(s);
  }
  pthread_join(th, NULL);
  cr_assert_eq(r, 0, "the argument changed during the call (%ld bytes; "
               "negative: the wait failed): freed while foreign code used it", r);
  *cell = NULL;
  free(cell);
  close(fds[0]);
  close(fds[1]);
  /* Nothing holds it after the call. */
  for (int i = 0; i < 3 && !atomic_load(&finalized); i++) {
    preempt_gc();
    preempt_run_finalizers();
  }
  if (PRECISE_FRAMES)
    cr_assert_eq(atomic_load(&finalized), 1, "the argument was not collected "
                 "after the call");
  preempt_gc();
  assert_collected(hidden, "the argument was not freed after the call");
}

Test(ffi, heap_argument_survives_the_call, .timeout = 120) { held_call(false); }

Test(ffi, heap_argument_in_struct_survives_the_call, .timeout = 120) {
  held_call(true);
}

/* ---- closures and their lifetime ---- */

struct owner {
  preempt_callback *cb;
};

static void echo_handler(void *ret, void **args, void *ctx) {
  struct tnode *n = ctx;
  tnode_verify(n);
  *(int *)ret = *(int *)args[0] + (int)n->id;
}

__attribute__((noinline)) static uintptr_t make_owner(preempt_sig *s,
                                                      struct owner **keep) {
  struct owner *o = preempt_new(struct owner);
  /* ctx lives only in the callback. */
  o->cb = preempt_callback_new(s, echo_handler, tnode_new(1000));
  *keep = o;
  return hide(o->cb);
}

Test(ffi, callback_keeps_ctx_and_dies_with_its_owner, .timeout = 60) {
  preempt_sig *s = sig("i(i)");
  struct owner **keep = preempt_new(struct owner *);
  uintptr_t h = make_owner(s, keep);
  for (int i = 0; i < 3; i++)
    preempt_gc();
  void *code = preempt_callback_code((*keep)->cb);
  int (*fn)(int) = code;
  cr_assert_eq(fn(5), 1005);
  cr_assert_eq(ff_nest(5, code, NULL), 1006); /* its extra argument ignored */
  *keep = NULL; /* drop the owner: the callback goes with it */
  for (int i = 0; i < 3; i++) {
    preempt_gc();
    preempt_run_finalizers();
  }
  assert_collected(h, "the callback outlived its owner");
  preempt_sig_free(s);
}

Test(ffi, freed_callback_is_fatal, .signal = SIGABRT) {
  preempt_sig *s = sig("i(i)");
  preempt_callback *cb = preempt_callback_new(s, echo_handler, NULL);
  preempt_callback_free(cb);
  preempt_callback_code(cb);
}

/* ---- cgocheck ---- */

struct box {
  struct tnode *inner;
};

/* A heap object holding a pointer to another, given to a foreign call. */
static void give_box(bool pin) {
  struct box *b = preempt_new(struct box);
  b->inner = tnode_new(7);
  if (pin)
    preempt_pin(b->inner);
  preempt_sig *s = sig("p(pz)");
  size_t off = 0;
  void *r = NULL;
  void *a[] = {&b, &off};
  preempt_ffi_call(s, PREEMPT_FN(ff_ptr_add), &r, a);
  cr_assert_eq(r, (void *)b);
  if (pin)
    preempt_unpin(b->inner);
  preempt_sig_free(s);
}

Test(ffi, cgocheck_unpinned_child) {
  if (!in_env_child())
    return;
  give_box(false);
}

Test(ffi, cgocheck_pinned_child) {
  if (!in_env_child())
    return;
  give_box(true);
}

Test(ffi, cgocheck_catches_unpinned, .timeout = 60) {
  int st = run_self_env("test_ffi", "cgocheck=1", "ffi/cgocheck_unpinned_child",
                        out, sizeof out);
  cr_assert(!(WIFEXITED(st) && WEXITSTATUS(st) == 0) &&
                strstr(out, "cgocheck: argument 1 of foreign call at") &&
                strstr(out, "unpinned"),
            "no cgocheck report:\n%s", out);
  st = run_self_env("test_ffi", "cgocheck=1", "ffi/cgocheck_pinned_child", out,
                    sizeof out);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0 && strstr(out, "Passing: 1"),
            "a pinned object was reported:\n%s", out);
  st = run_self_env("test_ffi", "", "ffi/cgocheck_unpinned_child", out,
                    sizeof out);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0 && strstr(out, "Passing: 1"),
            "reported without cgocheck=1:\n%s", out);
}
