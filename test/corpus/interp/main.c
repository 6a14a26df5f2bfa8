/* Runs a fixed list of programs through compile + VM and prints their
 * output, statistics and errors.  Some programs fail on purpose: the
 * setjmp/longjmp recovery must leave the driver in a usable state. */
#include "interp.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
  const char *title;
  long budget;
  const char *src;
} Case;

static const Case cases[] = {
    {"arithmetic", 10000,
     "print 1 + 2 * 3;\n"
     "print (1 + 2) * 3;\n"
     "print 100 / 7 % 5;\n"
     "print -5 / 2; print -5 % 2;\n"
     "print 1 << 40 | 3;\n"
     "print (255 & 15) ^ 6;\n"
     "print -(1 << 62) >> 3;\n"
     "print 3 < 4 && 4 < 3 || 9 >= 9;\n"
     "print !0 + !7;\n"
     "print 9223372036854775807 + 1;\n"},
    {"recursive fib", 2000000,
     "fn fib(n) { if (n < 2) return n; return fib(n - 1) + fib(n - 2); }\n"
     "let i = 0;\n"
     "while (i <= 20) { if (i % 5 == 0) print fib(i); i = i + 1; }\n"},
    {"primes", 3000000,
     "fn is_prime(n) {\n"
     "  if (n < 2) return 0;\n"
     "  let d = 2;\n"
     "  while (d * d <= n) { if (n % d == 0) return 0; d = d + 1; }\n"
     "  return 1;\n"
     "}\n"
     "let count = 0; let last = 0; let n = 0;\n"
     "while (n < 5000) { if (is_prime(n)) { count = count + 1; last = n; } n = n + 1; }\n"
     "print count; print last;\n"},
    {"collatz", 5000000,
     "fn steps(n) { let s = 0; while (n != 1) { if (n & 1) n = 3 * n + 1; else n = n / 2; s = s + 1; } return s; }\n"
     "let best = 0; let arg = 0; let i = 1;\n"
     "while (i < 3000) { let s = steps(i); if (s > best) { best = s; arg = i; } i = i + 1; }\n"
     "print arg; print best;\n"},
    {"natives", 100000,
     "print abs(-42); print gcd(1071, 462); print isqrt(1000000007);\n"
     "print max(3, 9, -2, 7); print min(3, 9, -2, 7); print sum(1, 2, 3, 4, 5, 6, 7, 8);\n"
     "print hash(1, 2, 3) % 1000003;\n"
     "let acc = 0; let i = 0;\n"
     "while (i < 200) { acc = acc ^ hash(i, acc); i = i + 1; }\n"
     "print acc & 16777215;\n"},
    {"ackermann + scopes", 3000000,
     "fn ack(m, n) {\n"
     "  if (m == 0) return n + 1;\n"
     "  if (n == 0) return ack(m - 1, 1);\n"
     "  return ack(m - 1, ack(m, n - 1));\n"
     "}\n"
     "let x = 1;\n"
     "{ let x = 2; { let x = x + 10; print x; } print x; }\n"
     "print x;\n"
     "print ack(2, 3); print ack(3, 3);\n"},
    {"forward reference", 1000000,
     "fn is_even(n) { if (n == 0) return 1; return is_odd(n - 1); }\n"
     "fn is_odd(n) { if (n == 0) return 0; return is_even(n - 1); }\n"},
    {"gcd table", 500000,
     "fn g(a, b) { while (b) { let t = a % b; a = b; b = t; } return a; }\n"
     "let total = 0; let i = 1;\n"
     "while (i <= 60) { let j = 1; while (j <= 60) { total = total + g(i, j); j = j + 1; } i = i + 1; }\n"
     "print total;\n"
     "print g(2 * 3 * 5 * 7 * 11 * 13, 3 * 7 * 17 * 19);\n"},
    {"division by zero", 10000,
     "let a = 10; print a; let b = a - 10; print a / b; print 99;\n"},
    {"deep recursion", 1000000,
     "fn down(n) { return down(n + 1) + 1; }\nprint down(0);\n"},
    {"infinite loop", 50000, "let i = 0;\nwhile (1) { i = i + 1; }\n"},
    {"syntax error", 1000, "let x = 3;\nprint (x + ;\n"},
    {"undefined variable", 1000, "let x = 3;\nprint x + y;\n"},
    {"arity mismatch", 1000, "fn f(a, b) { return a + b; }\nprint f(1);\n"},
    {"bad shift", 1000, "print 1 << 64;\n"},
    {"native error", 1000, "print isqrt(0 - 4);\n"},
    {"bad character", 1000, "let x = 3 @ 4;\n"},
    {"after errors", 100000,
     "fn tri(n) { let s = 0; while (n > 0) { s = s + n; n = n - 1; } return s; }\n"
     "print tri(100); print tri(1000);\n"},
};

/* Outcome of one case, kept in volatile storage: it is written after
 * setjmp and read after the longjmp returns there. */
typedef struct {
  int ok;
  VMStats stats;
  uint32_t checksum;
} Outcome;

static Outcome run_case(const Case *cs, volatile int *errors) {
  ErrorCtx err;
  memset(&err, 0, sizeof err);
  Program *volatile prog = NULL;
  volatile uint32_t checksum = 0;
  Outcome res = {0, {0, 0, 0, 0}, 0};

  printf("== %s\n", cs->title);
  fflush(stdout);
  if (setjmp(err.jb) != 0) {
    printf("error: %s\n", err.msg);
    ++*errors;
    program_free(prog);
    Outcome failed = {0, {0, 0, 0, 0}, checksum};
    return failed;
  }
  prog = program_new();
  compile(prog, cs->src, &err);
  checksum = program_checksum(prog);
  res.stats = vm_run(prog, &err, cs->budget, stdout);
  res.ok = 1;
  res.checksum = checksum;
  program_free(prog);
  return res;
}

/* Prints the bytecode of one small program: pins down the compiler. */
static void show_disassembly(void) {
  ErrorCtx err;
  memset(&err, 0, sizeof err);
  Program *volatile prog = program_new();
  if (setjmp(err.jb) != 0) {
    printf("unexpected error: %s\n", err.msg);
    program_free(prog);
    exit(1);
  }
  compile(prog,
          "fn sq(x) { return x * x; }\n"
          "let a = 3; if (a > 2 && a < 9) print sq(a); else print 0 - a;\n",
          &err);
  disassemble(prog, stdout);
  program_free(prog);
}

int main(void) {
  volatile int errors = 0;
  long total_steps = 0;
  uint32_t all = 0;
  int n = (int)(sizeof cases / sizeof cases[0]);
  for (int i = 0; i < n; i++) {
    Outcome o = run_case(&cases[i], &errors);
    if (o.ok) {
      printf("-- ok: %ld steps, depth %d, %d values, print hash %lld, code %08x\n",
             o.stats.steps, o.stats.max_depth, o.stats.nprinted,
             (long long)o.stats.printed, o.checksum);
      total_steps += o.stats.steps;
    }
    all = all * 33u + o.checksum;
  }
  show_disassembly();
  printf("cases %d, errors %d, total steps %ld, checksum %08x\n", n, errors,
         total_steps, all);
  return 0;
}
