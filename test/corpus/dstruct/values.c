/* Value unions, by-value struct traffic, the log buffer, the error hook,
 * and tests of calling-convention corner cases. */
#include "ds.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

/* ---- errors ------------------------------------------------------------ */

jmp_buf *ds_error_target;
const char *ds_error_what;
int ds_error_code;

noreturn void ds_raise(int code, const char *what) {
  ds_error_what = what;
  ds_error_code = code;
  if (!ds_error_target) {
    fprintf(stderr, "unhandled error %d: %s\n", code, what);
    abort();
  }
  longjmp(*ds_error_target, code);
}

/* ---- values ------------------------------------------------------------ */

static uint64_t stamp_counter;

static Header header(Kind k, int small) {
  Header h = {0};
  h.kind = k;
  h.small = (signed char)small;
  h.stamp = ++stamp_counter & 0xffffffffffu;
  h.weight = (unsigned char)(small & 15);
  h.flags = (unsigned)(k * 3 + 1) & 31u;
  return h;
}

Value value_int(int64_t i, int small) {
  Value v = {header(V_INT, small), {.i = i}};
  return v;
}

Value value_dbl(double d, int small) {
  Value v = {header(V_DBL, small), {.d = d}};
  return v;
}

Value value_str(const char *s, int small) {
  Value v = {header(V_STR, small), {.i = 0}};
  strncpy(v.u.s, s, sizeof v.u.s - 1);
  return v;
}

Value value_pair(int32_t a, int32_t b, int small) {
  Value v = {header(V_PAIR, small), {.pair = {a, b}}};
  return v;
}

static int64_t as_int(Value v) {
  switch ((Kind)v.h.kind) {
  case V_INT: return v.u.i;
  case V_DBL: return (int64_t)v.u.d;
  case V_STR: return (int64_t)strlen(v.u.s);
  case V_PAIR: return (int64_t)v.u.pair.a * v.u.pair.b;
  default: return 0;
  }
}

/* Combining rules keep the result's kind a function of both kinds. */
NOINLINE Value value_combine(Value a, Value b) {
  int small = a.h.small + b.h.small; /* may leave the 8-bit range: wraps */
  switch ((Kind)a.h.kind) {
  case V_INT:
    /* unsigned: the chain overflows int64 on purpose, and must wrap */
    return value_int((int64_t)((uint64_t)a.u.i * 31u + (uint64_t)as_int(b)),
                     small);
  case V_DBL:
    return value_dbl(a.u.d * 0.5 + (double)as_int(b), small);
  case V_STR: {
    char buf[32];
    snprintf(buf, sizeof buf, "%.7s%lld", a.u.s, (long long)(as_int(b) % 1000));
    return value_str(buf, small);
  }
  case V_PAIR:
    return value_pair(a.u.pair.b, a.u.pair.a + (int32_t)as_int(b), small);
  default:
    return a;
  }
}

/* Recursion passing and returning the 24-byte struct at every level. */
NOINLINE Value value_chain(Value v, int depth) {
  if (depth == 0)
    return v;
  Value w = value_combine(v, value_int(depth, depth));
  Value r = value_chain(w, depth - 1);
  r.h.flags ^= (unsigned)depth & 31u;
  return r;
}

uint64_t value_hash(Value v) {
  uint64_t h = 1469598103934665603u;
  uint64_t parts[4] = {v.h.kind, (uint64_t)(int64_t)v.h.small, v.h.flags,
                       v.h.weight};
  for (int i = 0; i < 4; i++)
    h = (h ^ parts[i]) * 1099511628211u;
  /* the union is hashed through its active member only */
  switch ((Kind)v.h.kind) {
  case V_INT: h ^= (uint64_t)v.u.i; break;
  case V_DBL: h ^= (uint64_t)(int64_t)(v.u.d * 1024); break;
  case V_STR:
    for (const char *p = v.u.s; *p; p++)
      h = (h ^ (unsigned char)*p) * 1099511628211u;
    break;
  case V_PAIR: h ^= (uint64_t)(uint32_t)v.u.pair.a << 32 | (uint32_t)v.u.pair.b; break;
  default: break;
  }
  return h * 0x9e3779b97f4a7c15u;
}

int value_cmp(const Value *a, const Value *b) {
  if (a->h.kind != b->h.kind)
    return (int)a->h.kind - (int)b->h.kind;
  int64_t x = as_int(*a), y = as_int(*b);
  if (x != y)
    return x < y ? -1 : 1;
  return a->h.small - b->h.small;
}

void value_format(Value v, char *buf, size_t n) {
  static const char *const kinds[] = {"int", "dbl", "str", "pair"};
  switch ((Kind)v.h.kind) {
  case V_INT: snprintf(buf, n, "%s(%lld|%d)", kinds[0], (long long)v.u.i, v.h.small); break;
  case V_DBL: snprintf(buf, n, "%s(%.4f|%d)", kinds[1], v.u.d, v.h.small); break;
  case V_STR: snprintf(buf, n, "%s(%s|%d)", kinds[2], v.u.s, v.h.small); break;
  case V_PAIR:
    snprintf(buf, n, "%s(%d,%d|%d)", kinds[3], v.u.pair.a, v.u.pair.b, v.h.small);
    break;
  default: snprintf(buf, n, "?"); break;
  }
}

/* ---- small aggregates -------------------------------------------------- */

NOINLINE Pt16 pt_add(Pt16 a, Pt16 b) {
  return (Pt16){(int16_t)(a.x + b.x), (int16_t)(a.y + b.y)};
}

NOINLINE Vec3f vec_scale(Vec3f v, float s) {
  return (Vec3f){v.x * s, v.y * s, v.z * (double)s};
}

NOINLINE TagDbl tag_next(TagDbl t) { return (TagDbl){(char)(t.tag + 1), t.d * 1.5}; }

NOINLINE Triple triple_rot(Triple t, int n) {
  for (int i = 0; i < n; i++)
    t = (Triple){t.b, t.c, t.a + i};
  return t;
}

/* ---- log buffer -------------------------------------------------------- */

static char log_buf[2048];
static size_t log_len;
static unsigned log_lines;

void vdlog(int level, const char *fmt, va_list ap) {
  static const char *const names[] = {"debug", "info", "warn", "error"};
  va_list copy;
  va_copy(copy, ap); /* measured once, written once */
  int need = vsnprintf(NULL, 0, fmt, copy);
  va_end(copy);
  char head[32];
  int nhead = snprintf(head, sizeof head, "%-5s #%u ", names[level & 3],
                       ++log_lines);
  if (need < 0 || nhead < 0)
    abort();
  if (log_len + (size_t)nhead + (size_t)need + 2 > sizeof log_buf)
    dlog_dump(); /* full: flush, then this line starts a fresh buffer */
  memcpy(log_buf + log_len, head, (size_t)nhead);
  log_len += (size_t)nhead;
  vsnprintf(log_buf + log_len, sizeof log_buf - log_len, fmt, ap);
  log_len += (size_t)need;
  log_buf[log_len++] = '\n';
  log_buf[log_len] = '\0';
}

void dlog(int level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vdlog(level, fmt, ap);
  va_end(ap);
}

void dlog_dump(void) {
  fputs(log_buf, stdout);
  log_len = 0;
  log_buf[0] = '\0';
}

/* ---- small integers: sign and zero extension at call boundaries -------- */

NOINLINE signed char sc_twice(signed char c) { return (signed char)(c * 2); }
NOINLINE unsigned char uc_twice(unsigned char c) { return (unsigned char)(c * 2); }
NOINLINE short s_neg(short s) { return (short)-s; }
NOINLINE unsigned short us_add(unsigned short a, unsigned short b) {
  return (unsigned short)(a + b);
}
NOINLINE _Bool is_odd(long v) { return v & 1; }

/* Returning through a function pointer: the caller relies on the
 * callee's extension of the narrow result. */
typedef signed char (*ScFn)(signed char);
typedef unsigned char (*UcFn)(unsigned char);

static void test_small_ints(void) {
  volatile ScFn sf = sc_twice; /* volatile: keep the calls indirect */
  volatile UcFn uf = uc_twice;
  unsigned long acc = 0; /* unsigned: the mixing below wraps */
  for (int i = -130; i <= 130; i += 7) {
    signed char a = sc_twice((signed char)i), b = sf((signed char)i);
    unsigned char c = uc_twice((unsigned char)i), d = uf((unsigned char)i);
    int widened = a + b; /* sign-extended arithmetic */
    unsigned uw = (unsigned)c + d;
    acc = acc * 3 + (unsigned long)(long)widened + uw +
          (unsigned long)(long)s_neg((short)(i * 300)) +
          us_add((unsigned short)(i * 500), 40000) + is_odd(i);
  }
  printf("small ints: %lu\n", acc);
}

/* ---- noreturn + longjmp ------------------------------------------------ */

static int checked_div(int a, int b) {
  if (b == 0)
    ds_raise(7, "division by zero");
  return a / b;
}

static void test_raise(void) {
  jmp_buf jb;
  jmp_buf *saved = ds_error_target;
  volatile int completed = 0, raised = 0;
  for (int i = -3; i <= 3; i++) {
    ds_error_target = &jb;
    /* setjmp may only be used in a few contexts: a switch is one */
    switch (setjmp(jb)) {
    case 0:
      completed += checked_div(100 + i, i);
      break;
    default:
      raised += ds_error_code;
      printf("raised %d (%s) at i=%d\n", ds_error_code, ds_error_what, i);
      break;
    }
  }
  ds_error_target = saved;
  printf("raise test: completed sum %d, raised %d\n", completed, raised);
}

/* ---- musttail: a state machine that runs in constant stack ------------- */

typedef struct {
  long sum, words, maxrun;
} Scan;

/* All states share one signature, as musttail requires. */
static long st_space(const char *p, long run, Scan *s);
static long st_word(const char *p, long run, Scan *s);

static long st_space(const char *p, long run, Scan *s) {
  (void)run; /* only words use it */
  if (*p == '\0')
    return s->sum;
  if (*p == ' ')
    __attribute__((musttail)) return st_space(p + 1, 0, s);
  s->words++;
  __attribute__((musttail)) return st_word(p, 0, s);
}

static long st_word(const char *p, long run, Scan *s) {
  if (*p == '\0' || *p == ' ') {
    if (run > s->maxrun)
      s->maxrun = run;
    __attribute__((musttail)) return st_space(p, 0, s);
  }
  s->sum += (*p - 'a' + 1) * (run + 1);
  __attribute__((musttail)) return st_word(p + 1, run + 1, s);
}

static void test_musttail(void) {
  /* Long enough that without real tail calls the stack would overflow. */
  size_t n = 3u << 20;
  char *text = malloc(n + 1);
  if (!text)
    abort();
  for (size_t i = 0; i < n; i++)
    text[i] = (i * 7 + i / 13) % 11 == 0 ? ' ' : (char)('a' + (i * 31 + 7) % 26);
  text[n] = '\0';
  Scan s = {0, 0, 0};
  long r = st_space(text, 0, &s);
  printf("musttail scan: sum %ld, words %ld, longest %ld\n", r, s.words,
         s.maxrun);
  free(text);
}

/* Ordinary self-recursion in tail position (a sibling call at -O2). */
static unsigned long gcd_tail(unsigned long a, unsigned long b) {
  if (b == 0)
    return a;
  return gcd_tail(b, a % b);
}

/* ---- inline asm -------------------------------------------------------- */

static uint64_t asm_bswap(uint64_t x) {
  __asm__("bswapq %0" : "+r"(x));
  return x;
}

/* 128-bit add with carry in two asm instructions. */
static void asm_add128(uint64_t *hi, uint64_t *lo, uint64_t add) {
  __asm__("addq %2, %0\n\tadcq $0, %1" : "+r"(*lo), "+r"(*hi) : "r"(add) : "cc");
}

/* Memory operand on a local: that local cannot become a register. */
static int asm_mem_inc(int v) {
  int slot = v;
  __asm__ volatile("incl %0" : "+m"(slot));
  return slot;
}

/* asm goto: a call-like branch the safepoint pass must leave alone. */
static int asm_is_zero(uint64_t x) {
  __asm__ goto("testq %0, %0\n\tjz %l[zero]" : : "r"(x) : "cc" : zero);
  return 0;
zero:
  return 1;
}

static void test_asm(void) {
  uint64_t hi = 0, lo = UINT64_MAX - 5;
  for (int i = 0; i < 4; i++)
    asm_add128(&hi, &lo, 3);
  int zeros = 0;
  for (uint64_t v = 0; v < 100; v += 7)
    zeros += asm_is_zero(v & 0xf0);
  printf("asm: bswap %016llx, add128 %llu:%llu, mem_inc %d, zeros %d\n",
         (unsigned long long)asm_bswap(0x0102030405060708u),
         (unsigned long long)hi, (unsigned long long)lo, asm_mem_inc(41), zeros);
}

/* ---- atomics (single thread: exercises the lowering, not races) -------- */

static void test_atomics(void) {
  _Atomic long counter = 0;
  atomic_uint bits = 0;
  _Atomic(double) dacc = 0.0;
  for (int i = 0; i < 1000; i++) {
    atomic_fetch_add(&counter, i);
    atomic_fetch_or(&bits, 1u << (i % 32));
    double old = atomic_load(&dacc), want;
    do /* CAS loop: the canonical way to add to an atomic double */
      want = old + 0.5;
    while (!atomic_compare_exchange_weak(&dacc, &old, want));
  }
  long expected = 5;
  _Bool swapped = atomic_compare_exchange_strong(&counter, &expected, 0);
  long x = 10;
  long prev = __atomic_exchange_n(&x, 20, __ATOMIC_SEQ_CST);
  int y = 3;
  __sync_fetch_and_add(&y, 4);
  atomic_thread_fence(memory_order_seq_cst);
  printf("atomics: counter %ld (cas %d, saw %ld), bits %08x, dacc %.1f, xchg "
         "%ld->%ld, sync %d\n",
         atomic_load(&counter), swapped, expected, atomic_load(&bits),
         atomic_load(&dacc), prev, x, y);
}

/* ---- function pointer tables ------------------------------------------- */

typedef struct Shape Shape;
typedef struct {
  const char *name;
  double (*area)(const Shape *);
  double (*perimeter)(const Shape *);
  Shape (*scaled)(Shape, double); /* by-value struct through a pointer */
} ShapeOps;

struct Shape {
  const ShapeOps *ops;
  double a, b;
};

static double rect_area(const Shape *s) { return s->a * s->b; }
static double rect_perim(const Shape *s) { return 2 * (s->a + s->b); }
static double circ_area(const Shape *s) { return 3.141592653589793 * s->a * s->a; }
static double circ_perim(const Shape *s) { return 2 * 3.141592653589793 * s->a; }
static double tri_area(const Shape *s) { return 0.5 * s->a * s->b; }
static double tri_perim(const Shape *s) {
  return s->a + s->b + __builtin_sqrt(s->a * s->a + s->b * s->b);
}
static Shape scale_both(Shape s, double k) {
  s.a *= k;
  s.b *= k;
  return s;
}

static const ShapeOps shape_ops[] = {
    {"rect", rect_area, rect_perim, scale_both},
    {"circle", circ_area, circ_perim, scale_both},
    {"triangle", tri_area, tri_perim, scale_both},
};

static int64_t op_add(int64_t a, int64_t b) { return a + b; }
static int64_t op_sub(int64_t a, int64_t b) { return a - b; }
static int64_t op_mul(int64_t a, int64_t b) { return a * b % 1000003; }
static int64_t op_xor(int64_t a, int64_t b) { return a ^ b; }
static int64_t (*const binops[])(int64_t, int64_t) = {op_add, op_sub, op_mul,
                                                      op_xor};

static void test_tables(void) {
  double total_area = 0, total_perim = 0;
  for (int i = 0; i < 9; i++) {
    Shape s = {&shape_ops[i % 3], 1.0 + i, 2.0 + i * 0.5};
    Shape t = s.ops->scaled(s, 1.5);
    total_area += t.ops->area(&t);
    total_perim += t.ops->perimeter(&t);
  }
  int64_t acc = 1;
  for (int i = 1; i < 200; i++)
    acc = binops[(i * 7) % 4](acc, i * i);
  printf("tables: area %.6f perimeter %.6f ops %lld gcd %lu\n", total_area,
         total_perim, (long long)acc, gcd_tail(1071u * 7919u, 462u * 7919u));
}

static void test_aggregates(void) {
  Pt16 p = {1, -1};
  for (int i = 0; i < 10; i++)
    p = pt_add(p, (Pt16){(int16_t)(i * 1000), (int16_t)(-i * 3)});
  Vec3f v = vec_scale(vec_scale((Vec3f){1.5f, -2.0f, 3.25}, 2.0f), 0.75f);
  TagDbl t = {'a', 1.0};
  for (int i = 0; i < 5; i++)
    t = tag_next(t);
  Triple tr = triple_rot((Triple){1, 2, 3}, 7);
  printf("aggregates: pt %d,%d vec %.4f,%.4f,%.4f tag %c %.5f triple %ld %ld %ld\n",
         p.x, p.y, (double)v.x, (double)v.y, v.z, t.tag, t.d, tr.a, tr.b, tr.c);
}

void run_abi_tests(void) {
  test_small_ints();
  test_raise();
  test_musttail();
  test_asm();
  test_atomics();
  test_tables();
  test_aggregates();
}
