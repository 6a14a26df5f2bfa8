/* Clang's Swift calling conventions used from C: swiftcall with
 * swift_context (r13), swift_error_result (r12, a "swifterror" value that
 * the callee hands back in a register) and swift_indirect_result, and
 * swiftasynccall continuations chained with musttail (r14 context).
 *
 * A small checked-arithmetic and parsing library reports failures through
 * the error register; callers test and forward the error, as Swift does.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define SWIFT __attribute__((swiftcall, noinline))
#define CONTEXT __attribute__((swift_context))
#define ERROR __attribute__((swift_error_result))
#define INDIRECT __attribute__((swift_indirect_result))

/* ---- errors ------------------------------------------------------------ */

typedef struct {
  int code;
  const char *what;
} Error;

static const Error err_overflow = {1, "overflow"};
static const Error err_syntax = {2, "syntax"};
static const Error err_range = {3, "out of range"};
static const Error err_divzero = {4, "division by zero"};

/* The context carries limits and counts calls, like a Swift "self". */
typedef struct {
  long limit;
  long calls;
} Ctx;

/* ---- swiftcall with an error result ------------------------------------ */

SWIFT static long checked_add(long a, long b, CONTEXT void *vctx, ERROR void **err) {
  Ctx *ctx = vctx;
  ctx->calls++;
  long r;
  if (__builtin_add_overflow(a, b, &r) || r > ctx->limit || r < -ctx->limit) {
    *err = (void *)&err_overflow;
    return 0;
  }
  return r;
}

SWIFT static long checked_mul(long a, long b, CONTEXT void *vctx, ERROR void **err) {
  Ctx *ctx = vctx;
  ctx->calls++;
  long r;
  if (__builtin_mul_overflow(a, b, &r) || r > ctx->limit || r < -ctx->limit) {
    *err = (void *)&err_overflow;
    return 0;
  }
  return r;
}

SWIFT static long checked_div(long a, long b, CONTEXT void *vctx, ERROR void **err) {
  ((Ctx *)vctx)->calls++;
  if (b == 0) {
    *err = (void *)&err_divzero;
    return 0;
  }
  return a / b;
}

/* Parses a decimal number; errors on junk and on values past the limit. */
SWIFT static long parse_number(const char *s, CONTEXT void *vctx, ERROR void **err) {
  long v = 0;
  int neg = *s == '-';
  if (neg)
    s++;
  if (*s < '0' || *s > '9') {
    *err = (void *)&err_syntax;
    return 0;
  }
  for (; *s >= '0' && *s <= '9'; s++) {
    v = checked_mul(v, 10, vctx, err);
    if (*err)
      return 0; /* forward the callee's error unchanged */
    v = checked_add(v, *s - '0', vctx, err);
    if (*err)
      return 0;
  }
  if (*s != '\0') {
    *err = (void *)&err_syntax;
    return 0;
  }
  return neg ? -v : v;
}

/* "a op b" with op in + * /; errors from either side propagate. */
SWIFT static long eval_binary(const char *a, char op, const char *b,
                              CONTEXT void *vctx, ERROR void **err) {
  long x = parse_number(a, vctx, err);
  if (*err)
    return 0;
  long y = parse_number(b, vctx, err);
  if (*err)
    return 0;
  switch (op) {
  case '+': return checked_add(x, y, vctx, err);
  case '*': return checked_mul(x, y, vctx, err);
  case '/': return checked_div(x, y, vctx, err);
  default:
    *err = (void *)&err_range;
    return 0;
  }
}

/* ---- indirect results -------------------------------------------------- */

typedef struct {
  long sum, product, min, max;
  char label[16];
} Summary; /* too large for registers: returned through memory */

SWIFT static void summarize(INDIRECT Summary *out, const long *v, int n,
                            CONTEXT void *vctx, ERROR void **err) {
  /* Built in a local and stored once: the indirect result is write-only
   * memory to clang (it marks it sret), so it is never read back. */
  Summary r;
  memset(&r, 0, sizeof r);
  if (n == 0) {
    *err = (void *)&err_range;
    *out = r;
    return;
  }
  r.product = 1;
  r.min = r.max = v[0];
  for (int i = 0; i < n && !*err; i++) {
    r.sum = checked_add(r.sum, v[i], vctx, err);
    if (!*err)
      r.product = checked_mul(r.product, v[i], vctx, err);
    r.min = v[i] < r.min ? v[i] : r.min;
    r.max = v[i] > r.max ? v[i] : r.max;
  }
  snprintf(r.label, sizeof r.label, "n=%d", n);
  *out = r;
}

/* ---- async continuations ----------------------------------------------- */

typedef struct Task {
  long acc;
  int step, steps;
  char trace[64];
  size_t tlen;
} Task;

#define ASYNC __attribute__((swiftasynccall, noinline))
#define ACTX __attribute__((swift_async_context))

ASYNC static void task_even(ACTX void *t);
ASYNC static void task_odd(ACTX void *t);

static void note(Task *t, char c) {
  if (t->tlen + 1 < sizeof t->trace) {
    t->trace[t->tlen++] = c;
    t->trace[t->tlen] = '\0';
  }
}

ASYNC static void task_done(ACTX void *vt) { note(vt, '.'); }

/* Each step continues in the next with a guaranteed tail call. */
ASYNC static void task_even(ACTX void *vt) {
  Task *t = vt;
  if (t->step++ == t->steps)
    __attribute__((musttail)) return task_done(vt);
  t->acc = t->acc * 2 + t->step;
  note(t, 'e');
  __attribute__((musttail)) return task_odd(vt);
}

ASYNC static void task_odd(ACTX void *vt) {
  Task *t = vt;
  if (t->step++ == t->steps)
    __attribute__((musttail)) return task_done(vt);
  t->acc = t->acc * 3 - t->step;
  note(t, 'o');
  __attribute__((musttail)) return task_even(vt);
}

/* ---- driver ------------------------------------------------------------ */

static void show(const char *a, char op, const char *b, Ctx *ctx) {
  void *err = NULL;
  long r = eval_binary(a, op, b, ctx, &err);
  if (err)
    printf("%s %c %s -> error %d (%s)\n", a, op, b, ((const Error *)err)->code,
           ((const Error *)err)->what);
  else
    printf("%s %c %s -> %ld\n", a, op, b, r);
}

int main(void) {
  Ctx ctx = {1000000000L, 0};
  show("12", '+', "30", &ctx);
  show("-7", '*', "6", &ctx);
  show("100", '/', "7", &ctx);
  show("100", '/', "0", &ctx);
  show("12x", '+', "1", &ctx);
  show("999999999", '+', "1", &ctx);
  show("99999", '*', "99999", &ctx);
  show("123456789012", '+', "0", &ctx);
  show("5", '%', "2", &ctx);

  /* errors counted over many calls: the error register is reset each time */
  long ok = 0, failed = 0, total = 0;
  for (long i = 0; i < 200; i++) {
    char a[24], b[24];
    snprintf(a, sizeof a, "%ld", i * 7919 % 100003);
    snprintf(b, sizeof b, "%ld", i % 13 - 3);
    void *err = NULL;
    long r = eval_binary(a, "+*/"[i % 3], b, &ctx, &err);
    if (err) {
      failed++;
    } else {
      ok++;
      total += r;
    }
  }
  printf("loop: ok %ld failed %ld total %ld\n", ok, failed, total);

  long values[] = {3, -4, 5, 7, -2, 9};
  Summary s;
  void *err = NULL;
  summarize(&s, values, 6, &ctx, &err);
  printf("summary %s: sum %ld product %ld min %ld max %ld error %d\n", s.label,
         s.sum, s.product, s.min, s.max, err ? ((const Error *)err)->code : 0);
  long big[] = {100000, 100000, 100000};
  err = NULL;
  summarize(&s, big, 3, &ctx, &err);
  printf("summary of large values: error %d\n", err ? ((const Error *)err)->code : 0);

  Task t = {1, 0, 20, "", 0};
  task_even(&t);
  printf("task: acc %ld after %d steps, trace %s\n", t.acc, t.steps, t.trace);
  printf("context calls: %ld\n", ctx.calls);
  return 0;
}
