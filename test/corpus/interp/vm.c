/* The virtual machine: an int64 operand stack, a call-frame stack, and
 * computed-goto dispatch (labels as values).  Also the error helper, the
 * native function table and a disassembler. */
#include "interp.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define STACK_MAX 1024
#define FRAMES_MAX 200

/* ---- errors ------------------------------------------------------------ */

noreturn void fail(ErrorCtx *e, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
  if (e->cleanup) {
    void (*fn)(void *) = e->cleanup;
    e->cleanup = NULL;
    fn(e->cleanup_arg);
  }
  longjmp(e->jb, 1);
}

/* ---- natives ----------------------------------------------------------- */

static int64_t nat_abs(int argc, const int64_t *a, ErrorCtx *err) {
  (void)argc;
  if (a[0] == INT64_MIN)
    fail(err, "abs overflow");
  return a[0] < 0 ? -a[0] : a[0];
}

static int64_t nat_gcd(int argc, const int64_t *a, ErrorCtx *err) {
  (void)argc;
  (void)err;
  uint64_t x = (uint64_t)(a[0] < 0 ? -a[0] : a[0]);
  uint64_t y = (uint64_t)(a[1] < 0 ? -a[1] : a[1]);
  while (y) {
    uint64_t t = x % y;
    x = y;
    y = t;
  }
  return (int64_t)x;
}

static int64_t nat_hash(int argc, const int64_t *a, ErrorCtx *err) {
  (void)err;
  uint64_t h = 0x9e3779b97f4a7c15u;
  for (int i = 0; i < argc; i++) {
    h ^= (uint64_t)a[i];
    h *= 0xbf58476d1ce4e5b9u;
    h ^= h >> 31;
  }
  return (int64_t)(h >> 1);
}

static int64_t nat_isqrt(int argc, const int64_t *a, ErrorCtx *err) {
  (void)argc;
  if (a[0] < 0)
    fail(err, "isqrt of negative number %lld", (long long)a[0]);
  /* Newton on integers: exact floor(sqrt(n)) */
  int64_t n = a[0];
  if (n < 2)
    return n;
  int64_t x = n / 2 + 1, y = (x + n / x) / 2;
  while (y < x) {
    x = y;
    y = (x + n / x) / 2;
  }
  return x;
}

static int64_t nat_max(int argc, const int64_t *a, ErrorCtx *err) {
  (void)err;
  int64_t m = a[0];
  for (int i = 1; i < argc; i++)
    m = a[i] > m ? a[i] : m;
  return m;
}

static int64_t nat_min(int argc, const int64_t *a, ErrorCtx *err) {
  (void)err;
  int64_t m = a[0];
  for (int i = 1; i < argc; i++)
    m = a[i] < m ? a[i] : m;
  return m;
}

static int64_t nat_sum(int argc, const int64_t *a, ErrorCtx *err) {
  (void)err;
  int64_t s = 0;
  for (int i = 0; i < argc; i++)
    s += a[i];
  return s;
}

/* Sorted by name for bsearch. */
static const Native natives[] = {
    {"abs", 1, 1, nat_abs},   {"gcd", 2, 2, nat_gcd}, {"hash", 1, 8, nat_hash},
    {"isqrt", 1, 1, nat_isqrt}, {"max", 1, 8, nat_max}, {"min", 1, 8, nat_min},
    {"sum", 0, 8, nat_sum},
};
#define NNATIVES ((int)(sizeof natives / sizeof natives[0]))

struct name_key {
  const char *s;
  int len;
};

static int native_cmp(const void *k, const void *e) {
  const struct name_key *key = k;
  const Native *n = e;
  int c = strncmp(key->s, n->name, (size_t)key->len);
  if (c)
    return c;
  return n->name[key->len] ? -1 : 0;
}

int native_lookup(const char *name, int len) {
  struct name_key k = {name, len};
  const Native *n = bsearch(&k, natives, NNATIVES, sizeof natives[0], native_cmp);
  return n ? (int)(n - natives) : -1;
}

const Native *native_get(int index) { return &natives[index]; }

/* ---- disassembler ------------------------------------------------------ */

static const char *const op_names[] = {
#define X(name, nargs) #name,
    OPCODES(X)
#undef X
};
static const int op_nargs[] = {
#define X(name, nargs) nargs,
    OPCODES(X)
#undef X
};

void disassemble(const Program *p, FILE *out) {
  for (int pc = 0; pc < p->ncode;) {
    for (int f = 0; f < p->nfuncs; f++)
      if (p->funcs[f].entry == pc)
        fprintf(out, "%s/%d (%d slots):\n", p->funcs[f].name, p->funcs[f].arity,
                p->funcs[f].nslots);
    int op = p->code[pc];
    fprintf(out, "  %04d %-6s", pc, op_names[op]);
    for (int i = 0; i < op_nargs[op]; i++)
      fprintf(out, " %d", p->code[pc + 1 + i]);
    if (op == OP_CONST)
      fprintf(out, "    ; %lld", (long long)p->consts[p->code[pc + 1]]);
    fputc('\n', out);
    pc += 1 + op_nargs[op];
  }
}

/* ---- the machine ------------------------------------------------------- */

typedef struct {
  const int32_t *ret;
  int base;
  int fn;
} Frame;

typedef struct {
  int64_t stack[STACK_MAX];
  Frame frames[FRAMES_MAX];
} Machine;

static int64_t div_checked(ErrorCtx *err, int64_t a, int64_t b, int is_mod) {
  if (b == 0)
    fail(err, "division by zero");
  if (a == INT64_MIN && b == -1)
    return is_mod ? 0 : INT64_MIN; /* wrap like the other operators */
  return is_mod ? a % b : a / b;
}

static int64_t shift_count(ErrorCtx *err, int64_t n) {
  if (n < 0 || n > 63)
    fail(err, "shift count %lld out of range", (long long)n);
  return n;
}

static void print_value(VMStats *st, FILE *out, int64_t v) {
  fprintf(out, "%lld\n", (long long)v);
  st->printed = (int64_t)(((uint64_t)st->printed * 31u) ^ (uint64_t)v);
  st->nprinted++;
}

VMStats vm_run(const Program *prog, ErrorCtx *err, long budget, FILE *out) {
  static const void *const dispatch[OP_COUNT] = {
#define X(name, nargs) [OP_##name] = &&do_##name,
      OPCODES(X)
#undef X
  };
  Machine *m = malloc(sizeof *m);
  if (!m)
    abort();
  err->cleanup = free;
  err->cleanup_arg = m;

  VMStats st = {0, 0, 0, 0};
  const int32_t *code = prog->code;
  const FuncInfo *mainf = &prog->funcs[prog->main_fn];
  int64_t *sp = m->stack + mainf->nslots; /* main's slots sit at the bottom */
  memset(m->stack, 0, sizeof m->stack[0] * (size_t)mainf->nslots);
  Frame *fp = m->frames;
  *fp = (Frame){NULL, 0, prog->main_fn};
  const int32_t *ip = code + mainf->entry;
  long steps = 0;

  /* Wrapping arithmetic on the VM's behalf: done in uint64_t. */
#define U(x) ((uint64_t)(x))
#define BINARY(expr_)                                                          \
  do {                                                                         \
    int64_t b = *--sp, a = sp[-1];                                             \
    sp[-1] = (expr_);                                                          \
  } while (0)
#define NEXT                                                                   \
  do {                                                                         \
    if (++steps > budget)                                                      \
      fail(err, "step budget of %ld exhausted", budget);                       \
    goto *dispatch[*ip++];                                                     \
  } while (0)
#define CHECK_STACK(n)                                                         \
  do {                                                                         \
    if (sp + (n) > m->stack + STACK_MAX)                                       \
      fail(err, "operand stack overflow");                                     \
  } while (0)

  NEXT;
do_CONST:
  CHECK_STACK(1);
  *sp++ = prog->consts[*ip++];
  NEXT;
do_LOAD:
  CHECK_STACK(1);
  *sp++ = m->stack[fp->base + *ip++];
  NEXT;
do_STORE:
  m->stack[fp->base + *ip++] = *--sp;
  NEXT;
do_POP:
  --sp;
  NEXT;
do_DUP:
  CHECK_STACK(1);
  sp[0] = sp[-1];
  sp++;
  NEXT;
do_ADD:
  BINARY((int64_t)(U(a) + U(b)));
  NEXT;
do_SUB:
  BINARY((int64_t)(U(a) - U(b)));
  NEXT;
do_MUL:
  BINARY((int64_t)(U(a) * U(b)));
  NEXT;
do_DIV:
  BINARY(div_checked(err, a, b, 0));
  NEXT;
do_MOD:
  BINARY(div_checked(err, a, b, 1));
  NEXT;
do_NEG:
  sp[-1] = (int64_t)(0 - U(sp[-1]));
  NEXT;
do_NOT:
  sp[-1] = !sp[-1];
  NEXT;
do_EQ:
  BINARY(a == b);
  NEXT;
do_NE:
  BINARY(a != b);
  NEXT;
do_LT:
  BINARY(a < b);
  NEXT;
do_LE:
  BINARY(a <= b);
  NEXT;
do_GT:
  BINARY(a > b);
  NEXT;
do_GE:
  BINARY(a >= b);
  NEXT;
do_BAND:
  BINARY(a & b);
  NEXT;
do_BOR:
  BINARY(a | b);
  NEXT;
do_BXOR:
  BINARY(a ^ b);
  NEXT;
do_SHL:
  BINARY((int64_t)(U(a) << shift_count(err, b)));
  NEXT;
do_SHR:
  BINARY(a >> shift_count(err, b)); /* arithmetic, as on our targets */
  NEXT;
do_JMP:
  ip = code + *ip;
  NEXT;
do_JZ: {
  int32_t target = *ip++;
  if (*--sp == 0)
    ip = code + target;
  NEXT;
}
do_CALL: {
  const FuncInfo *f = &prog->funcs[*ip++];
  int argc = *ip++;
  if (fp + 1 == m->frames + FRAMES_MAX)
    fail(err, "call stack overflow in '%s'", f->name);
  CHECK_STACK(f->nslots - argc);
  fp++;
  *fp = (Frame){ip, (int)(sp - m->stack) - argc, (int)(f - prog->funcs)};
  for (int i = argc; i < f->nslots; i++)
    *sp++ = 0;
  int depth = (int)(fp - m->frames);
  if (depth > st.max_depth)
    st.max_depth = depth;
  ip = code + f->entry;
  NEXT;
}
do_NATIVE: {
  const Native *n = native_get(*ip++);
  int argc = *ip++;
  /* copy into a VLA so the native sees a stable, exact-size argument list */
  int64_t args[argc > 0 ? argc : 1];
  memcpy(args, sp - argc, sizeof(int64_t) * (size_t)argc);
  sp -= argc;
  *sp++ = n->fn(argc, args, err);
  NEXT;
}
do_RET: {
  int64_t result = sp[-1];
  sp = m->stack + fp->base;
  ip = fp->ret;
  fp--;
  *sp++ = result;
  NEXT;
}
do_PRINT:
  print_value(&st, out, *--sp);
  NEXT;
do_HALT:
  st.steps = steps;
  err->cleanup = NULL;
  free(m);
  return st;
#undef U
#undef BINARY
#undef NEXT
#undef CHECK_STACK
}
