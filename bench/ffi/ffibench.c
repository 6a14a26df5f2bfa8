/* bench/ffi: the cost of one call into foreign code, and of one callback
 * from it, through preempt's libffi API, against a plain C call and a bare
 * ffi_call.  Built with the plugin (the program is instrumented code) and
 * linked with foreign.c, which is built without it.  run.py builds it,
 * runs it next to Go's cgo benchmarks (go/) and prints the table.
 *
 * Every variant is a loop of n calls whose results feed a checksum that is
 * checked against the plain computation (a variant that calls nothing, or
 * the wrong thing, fails).  The loop is the same shape in every variant,
 * so its overhead is in every figure alike.
 *
 * Timing: a sample is one loop of n calls, n calibrated so that a sample
 * lasts about -m milliseconds; the variants' samples are interleaved
 * (round-robin, rotating start) so that a busy moment of a shared machine
 * does not fall on one variant only.  Each sample prints its wall time
 * per call and the share of that wall time the thread was on a CPU
 * (CLOCK_THREAD_CPUTIME_ID / CLOCK_MONOTONIC): a sample with a low share
 * was descheduled and run.py discards it.
 *
 * Usage: ffibench [-s samples] [-m ms] [-v variant,...]   timed samples:
 *            "S <variant> <ns per call> <cpu share>" lines
 *        ffibench -n N -v variant                         N calls, untimed
 *            (for instruction counts: run.py runs it under callgrind with
 *            two N and divides the difference) */
#define _GNU_SOURCE
#include <ffi.h>
#include <preempt.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "foreign.h"

#define CB_CHUNK 1000 /* callbacks per foreign call in cb_loop */

static ffi_cif cif_ii;         /* int (int, int), for the bare ffi_call */
static ffi_cif cif_i8;         /* int (int x 8) */
static preempt_sig *sig_i8;    /* "i(iiiiiiii)" */
static preempt_sig *sig_ii;    /* "i(ii)" */
static preempt_sig *sig_pi;    /* "i(pi)": ffib_peek, ffib_calln */
static preempt_sig *sig_pii;   /* "i(pii)": ffib_call1 */
static preempt_callback *cb_handler; /* add_handler, "i(ii)" */
static preempt_callback *cb_wrap;    /* add_fn wrapped, "i(ii)" */
static int *heap_int;                /* a heap object for ffib_peek */

/* The instrumented side of a callback: a handler, and a plain C function
 * for preempt_callback_wrap. */
static void add_handler(void *ret, void **args, void *ctx) {
  (void)ctx;
  *(int *)ret = *(int *)args[0] + *(int *)args[1];
}

__attribute__((noinline)) static int add_fn(int a, int b) { return a + b; }

/* ---- the variants: n calls each, returning a checksum ------------------- */

static uint64_t run_c(uint64_t n) {
  uint64_t acc = 0;
  for (uint64_t i = 0; i < n; i++)
    acc += (uint64_t)ffib_add((int)(i & 1023), 1);
  return acc;
}

static uint64_t run_ffi(uint64_t n) {
  uint64_t acc = 0;
  int a, b = 1;
  void *args[2] = {&a, &b};
  ffi_arg r;
  for (uint64_t i = 0; i < n; i++) {
    a = (int)(i & 1023);
    ffi_call(&cif_ii, FFI_FN(ffib_add), &r, args);
    acc += (uint64_t)(int)r;
  }
  return acc;
}

static uint64_t run_call(uint64_t n) {
  uint64_t acc = 0;
  int a, b = 1, r;
  void *args[2] = {&a, &b};
  for (uint64_t i = 0; i < n; i++) {
    a = (int)(i & 1023);
    preempt_ffi_call(sig_ii, PREEMPT_FN(ffib_add), &r, args);
    acc += (uint64_t)r;
  }
  return acc;
}

static uint64_t run_leaf(uint64_t n) {
  uint64_t acc = 0;
  int a, b = 1, r;
  void *args[2] = {&a, &b};
  for (uint64_t i = 0; i < n; i++) {
    a = (int)(i & 1023);
    preempt_ffi_call_leaf(sig_ii, PREEMPT_FN(ffib_add), &r, args);
    acc += (uint64_t)r;
  }
  return acc;
}

/* Eight arguments, two on the stack: preempt's API goes through ffi_call
 * (its direct path, which the two-argument variants take, passes register
 * arguments only). */
static uint64_t run_ffi8(uint64_t n) {
  uint64_t acc = 0;
  int a, one = 1, zero = 0;
  void *args[8] = {&a, &one, &zero, &zero, &zero, &zero, &zero, &zero};
  ffi_arg r;
  for (uint64_t i = 0; i < n; i++) {
    a = (int)(i & 1023);
    ffi_call(&cif_i8, FFI_FN(ffib_add8), &r, args);
    acc += (uint64_t)(int)r;
  }
  return acc;
}

static uint64_t run_call8(uint64_t n) {
  uint64_t acc = 0;
  int a, one = 1, zero = 0, r;
  void *args[8] = {&a, &one, &zero, &zero, &zero, &zero, &zero, &zero};
  for (uint64_t i = 0; i < n; i++) {
    a = (int)(i & 1023);
    preempt_ffi_call(sig_i8, PREEMPT_FN(ffib_add8), &r, args);
    acc += (uint64_t)r;
  }
  return acc;
}

static uint64_t run_leaf8(uint64_t n) {
  uint64_t acc = 0;
  int a, one = 1, zero = 0, r;
  void *args[8] = {&a, &one, &zero, &zero, &zero, &zero, &zero, &zero};
  for (uint64_t i = 0; i < n; i++) {
    a = (int)(i & 1023);
    preempt_ffi_call_leaf(sig_i8, PREEMPT_FN(ffib_add8), &r, args);
    acc += (uint64_t)r;
  }
  return acc;
}

/* A heap object as the argument: the call publishes it as a root. */
static uint64_t run_call_ptr(uint64_t n) {
  uint64_t acc = 0;
  int *p = heap_int;
  int b, r;
  void *args[2] = {&p, &b};
  for (uint64_t i = 0; i < n; i++) {
    *p = (int)(i & 1023);
    b = 1;
    preempt_ffi_call(sig_pi, PREEMPT_FN(ffib_peek), &r, args);
    acc += (uint64_t)r;
  }
  return acc;
}

/* The blocking transition alone, with the plain call inside so that the
 * figure minus "c" is the pair's cost. */
static uint64_t run_transition(uint64_t n) {
  uint64_t acc = 0;
  for (uint64_t i = 0; i < n; i++) {
    preempt_enter_blocking();
    acc += (uint64_t)ffib_add((int)(i & 1023), 1);
    preempt_exit_blocking();
  }
  return acc;
}

/* Not the runtime: the least a transition of its kind (store the state,
 * then check for a stop request; the stopper does the reverse) costs on
 * this machine, two sequentially consistent stores (xchg on x86-64), with
 * the plain call inside like "transition". */
_Atomic int ffib_floor_stop_requested; /* extern: not folded away */
_Thread_local _Atomic int ffib_floor_state;

static uint64_t run_fences(uint64_t n) {
  uint64_t acc = 0;
  for (uint64_t i = 0; i < n; i++) {
    atomic_store(&ffib_floor_state, 1);
    if (atomic_load_explicit(&ffib_floor_stop_requested, memory_order_relaxed))
      abort();
    acc += (uint64_t)ffib_add((int)(i & 1023), 1);
    atomic_store(&ffib_floor_state, 0);
    if (atomic_load_explicit(&ffib_floor_stop_requested, memory_order_relaxed))
      abort();
  }
  return acc;
}

/* Foreign code called directly (the thread stays running) calls back:
 * libffi's closure and the runtime's dispatch, no transition. */
static uint64_t run_cb_direct(uint64_t n) {
  uint64_t acc = 0;
  ffib_cb code = (ffib_cb)preempt_callback_code(cb_handler);
  for (uint64_t i = 0; i < n; i++)
    acc += (uint64_t)ffib_call1(code, (int)(i & 1023), 1);
  return acc;
}

/* The round trip: instrumented -> preempt_ffi_call (enters blocking) ->
 * foreign ffib_call1 -> callback (leaves blocking, runs the handler,
 * enters again) -> back (leaves blocking). */
static uint64_t round_trip(preempt_callback *cb, uint64_t n) {
  uint64_t acc = 0;
  void *code = preempt_callback_code(cb);
  int a, b = 1, r;
  void *args[3] = {&code, &a, &b};
  for (uint64_t i = 0; i < n; i++) {
    a = (int)(i & 1023);
    preempt_ffi_call(sig_pii, PREEMPT_FN(ffib_call1), &r, args);
    acc += (uint64_t)r;
  }
  return acc;
}

static uint64_t run_cb_roundtrip(uint64_t n) { return round_trip(cb_handler, n); }

static uint64_t run_cb_wrap(uint64_t n) { return round_trip(cb_wrap, n); }

/* Callbacks only: one foreign call makes CB_CHUNK callbacks in a loop. */
static uint64_t run_cb_loop(uint64_t n) {
  uint64_t acc = 0;
  void *code = preempt_callback_code(cb_handler);
  int k, r;
  void *args[2] = {&code, &k};
  for (uint64_t done = 0; done < n; done += (uint64_t)k) {
    k = n - done < CB_CHUNK ? (int)(n - done) : CB_CHUNK;
    preempt_ffi_call(sig_pi, PREEMPT_FN(ffib_calln), &r, args);
    acc += (uint64_t)r;
  }
  return acc;
}

static uint64_t expect_plain(uint64_t n) {
  uint64_t acc = 0;
  for (uint64_t i = 0; i < n; i++)
    acc += (i & 1023) + 1;
  return acc;
}

static uint64_t expect_loop(uint64_t n) {
  uint64_t acc = 0;
  for (uint64_t done = 0; done < n; done += CB_CHUNK) {
    uint64_t k = n - done < CB_CHUNK ? n - done : CB_CHUNK;
    acc += k * (k - 1) / 2;
  }
  return acc;
}

struct variant {
  const char *name;
  uint64_t (*run)(uint64_t);
  uint64_t (*expect)(uint64_t);
  uint64_t n; /* calibrated */
};

static struct variant variants[] = {
    {"c", run_c, expect_plain, 0},
    {"ffi", run_ffi, expect_plain, 0},
    {"call", run_call, expect_plain, 0},
    {"leaf", run_leaf, expect_plain, 0},
    {"call_ptr", run_call_ptr, expect_plain, 0},
    {"ffi8", run_ffi8, expect_plain, 0},
    {"leaf8", run_leaf8, expect_plain, 0},
    {"call8", run_call8, expect_plain, 0},
    {"transition", run_transition, expect_plain, 0},
    {"fences", run_fences, expect_plain, 0},
    {"cb_direct", run_cb_direct, expect_plain, 0},
    {"cb_roundtrip", run_cb_roundtrip, expect_plain, 0},
    {"cb_wrap", run_cb_wrap, expect_plain, 0},
    {"cb_loop", run_cb_loop, expect_loop, 0},
};
#define NVARIANTS (sizeof variants / sizeof variants[0])

/* ---- timing ------------------------------------------------------------- */

static double now_ns(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void check(const struct variant *v, uint64_t n, uint64_t got) {
  uint64_t want = v->expect(n);
  if (got != want) {
    fprintf(stderr, "ffibench: %s: checksum %llu after %llu calls, expected "
            "%llu\n", v->name, (unsigned long long)got,
            (unsigned long long)n, (unsigned long long)want);
    exit(1);
  }
}

/* One sample: ns per call and the thread's CPU share of the wall time. */
static void sample(const struct variant *v, uint64_t n, double *ns,
                   double *share) {
  double w0 = now_ns(CLOCK_MONOTONIC), c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
  uint64_t sum = v->run(n);
  double c1 = now_ns(CLOCK_THREAD_CPUTIME_ID), w1 = now_ns(CLOCK_MONOTONIC);
  check(v, n, sum);
  *ns = (w1 - w0) / (double)n;
  *share = w1 > w0 ? (c1 - c0) / (w1 - w0) : 1.0;
}

/* n such that one sample takes about ms milliseconds. */
static uint64_t calibrate(const struct variant *v, double ms) {
  uint64_t n = 1000;
  double ns, share;
  for (;;) {
    sample(v, n, &ns, &share);
    if (ns * (double)n >= ms * 1e6 / 4 || n >= (UINT64_C(1) << 40))
      break;
    n *= 4;
  }
  uint64_t want = (uint64_t)(ms * 1e6 / ns);
  return want < 1000 ? 1000 : want;
}

static void setup(void) {
  ffi_type *ii[2] = {&ffi_type_sint, &ffi_type_sint};
  static ffi_type *ii_args[2];
  memcpy(ii_args, ii, sizeof ii);
  if (ffi_prep_cif(&cif_ii, FFI_DEFAULT_ABI, 2, &ffi_type_sint, ii_args) !=
      FFI_OK) {
    fprintf(stderr, "ffibench: ffi_prep_cif failed\n");
    exit(1);
  }
  static ffi_type *i8_args[8];
  for (int i = 0; i < 8; i++)
    i8_args[i] = &ffi_type_sint;
  if (ffi_prep_cif(&cif_i8, FFI_DEFAULT_ABI, 8, &ffi_type_sint, i8_args) !=
      FFI_OK) {
    fprintf(stderr, "ffibench: ffi_prep_cif failed\n");
    exit(1);
  }
  sig_ii = preempt_sig_new("i(ii)", NULL, 0);
  sig_i8 = preempt_sig_new("i(iiiiiiii)", NULL, 0);
  sig_pi = preempt_sig_new("i(pi)", NULL, 0);
  sig_pii = preempt_sig_new("i(pii)", NULL, 0);
  /* Globals are roots: the callbacks and the object live to the end. */
  cb_handler = preempt_callback_new(sig_ii, add_handler, NULL);
  cb_wrap = preempt_callback_wrap(sig_ii, PREEMPT_FN(add_fn));
  heap_int = preempt_alloc_noscan(sizeof *heap_int);
}

static struct variant *find(const char *name) {
  for (size_t i = 0; i < NVARIANTS; i++)
    if (!strcmp(variants[i].name, name))
      return &variants[i];
  fprintf(stderr, "ffibench: unknown variant '%s' (known:", name);
  for (size_t i = 0; i < NVARIANTS; i++)
    fprintf(stderr, " %s", variants[i].name);
  fprintf(stderr, ")\n");
  exit(2);
}

int main(int argc, char **argv) {
  int samples = 20;
  double ms = 10;
  uint64_t fixed = 0;
  char *only = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "-s"))
      samples = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "-m"))
      ms = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "-n"))
      fixed = strtoull(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "-v"))
      only = argv[i + 1];
    else {
      fprintf(stderr, "usage: ffibench [-s samples] [-m ms] [-n calls] "
                      "[-v variant,...]\n");
      return 2;
    }
  }
  setup();
  struct variant *chosen[NVARIANTS];
  size_t nchosen = 0;
  if (only) {
    for (char *tok = strtok(only, ","); tok; tok = strtok(NULL, ","))
      if (nchosen < NVARIANTS)
        chosen[nchosen++] = find(tok);
  } else {
    for (size_t i = 0; i < NVARIANTS; i++)
      chosen[nchosen++] = &variants[i];
  }
  if (fixed) { /* untimed, for instruction counts */
    for (size_t i = 0; i < nchosen; i++)
      check(chosen[i], fixed, chosen[i]->run(fixed));
    return 0;
  }
  for (size_t i = 0; i < nchosen; i++) {
    chosen[i]->n = calibrate(chosen[i], ms);
    printf("N %s %llu\n", chosen[i]->name, (unsigned long long)chosen[i]->n);
  }
  for (int s = 0; s < samples; s++)
    for (size_t j = 0; j < nchosen; j++) {
      struct variant *v = chosen[(j + (size_t)s) % nchosen];
      double ns, share;
      sample(v, v->n, &ns, &share);
      printf("S %s %.3f %.3f\n", v->name, ns, share);
    }
  return 0;
}
