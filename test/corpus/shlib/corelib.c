/* corelib: callbacks, sorting, the registry, errors. */
#include "corelib.h"

#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

const char cl_version[] = "corelib 1.4";
__thread int cl_tls_depth;
long cl_global_calls;
void (*cl_hook)(const char *event, long value);

/* Filled by a constructor when the library is loaded, before main. */
static int16_t square_table[64];
static int constructed;

__attribute__((constructor)) static void corelib_init(void) {
  for (int i = 0; i < 64; i++)
    square_table[i] = (int16_t)(i * i - 1000);
  constructed = 1;
}

/* Internal but not static: hidden visibility keeps it out of the ABI. */
__attribute__((visibility("hidden"))) void cl_count_call(void) {
  /* atomic: the executable calls us from several threads */
  __atomic_fetch_add(&cl_global_calls, 1, __ATOMIC_RELAXED);
}

void cl_foreach(const int *a, size_t n, cl_visit_fn fn, void *ctx) {
  cl_count_call();
  for (size_t i = 0; i < n; i++)
    fn(a[i] + (constructed ? square_table[i % 64] : 0), i, ctx);
}

/* ---- merge sort -------------------------------------------------------- */

static void merge_pass(char *src, char *dst, size_t n, size_t size,
                       size_t width, cl_cmp_fn cmp, void *ctx) {
  for (size_t lo = 0; lo < n; lo += 2 * width) {
    size_t mid = lo + width < n ? lo + width : n;
    size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
    size_t i = lo, j = mid, k = lo;
    while (i < mid && j < hi) {
      /* <= keeps equal elements in order: the sort is stable */
      if (cmp(src + i * size, src + j * size, ctx) <= 0)
        memcpy(dst + k++ * size, src + i++ * size, size);
      else
        memcpy(dst + k++ * size, src + j++ * size, size);
    }
    memcpy(dst + k * size, src + i * size, (mid - i) * size);
    k += mid - i;
    memcpy(dst + k * size, src + j * size, (hi - j) * size);
  }
}

void cl_sort(void *base, size_t n, size_t size, cl_cmp_fn cmp, void *ctx) {
  cl_count_call();
  if (n < 2)
    return;
  char *tmp = malloc(n * size);
  if (!tmp)
    abort();
  char *src = base, *dst = tmp;
  for (size_t width = 1; width < n; width *= 2) {
    merge_pass(src, dst, n, size, width, cmp, ctx);
    char *t = src;
    src = dst;
    dst = t;
  }
  if (src != base)
    memcpy(base, src, n * size);
  free(tmp);
}

double cl_reduce(const double *v, size_t n, cl_binop_fn op, double init) {
  cl_count_call();
  double acc = init;
  for (size_t i = 0; i < n; i++)
    acc = op(acc, v[i]);
  return acc;
}

long cl_iterate(cl_int_fn f, long x, int n) {
  cl_count_call();
  for (int i = 0; i < n; i++)
    x = f(x);
  return x;
}

/* ---- registry ---------------------------------------------------------- */

#define MAX_CALLBACKS 16

static struct {
  char name[24];
  cl_int_fn fn;
} registry[MAX_CALLBACKS];
static int nregistered;

int cl_register(const char *name, cl_int_fn fn) {
  cl_count_call();
  if (nregistered == MAX_CALLBACKS)
    return -1;
  strncpy(registry[nregistered].name, name, sizeof registry[0].name - 1);
  registry[nregistered].fn = fn;
  return nregistered++;
}

const char *cl_name_at(int index) {
  return index >= 0 && index < nregistered ? registry[index].name : NULL;
}

ClStats cl_invoke_all(long x) {
  cl_count_call();
  ClStats s = {0, 0.0, 0, 0};
  double total = 0;
  for (int i = 0; i < nregistered; i++) {
    long r = registry[i].fn(x);
    int clipped = r > 1000000 ? 1000000 : r < -1000000 ? -1000000 : (int)r;
    if (s.calls == 0 || clipped < s.min)
      s.min = clipped;
    if (s.calls == 0 || clipped > s.max)
      s.max = clipped;
    s.calls++;
    total += (double)r;
    if (cl_hook)
      cl_hook(registry[i].name, r);
  }
  s.mean = s.calls ? total / (double)s.calls : 0.0;
  return s;
}

/* ---- structs ----------------------------------------------------------- */

ClPoint cl_point_add(ClPoint a, ClPoint b) {
  cl_count_call();
  return (ClPoint){a.x + b.x, a.y + b.y};
}

ClVec cl_vec_scale(ClVec v, double k) {
  cl_count_call();
  for (int i = 0; i < 5; i++)
    v.v[i] *= k;
  v.label[0] = (char)(v.label[0] + 1); /* the copy is ours to change */
  return v;
}

double cl_vec_dot(ClVec a, ClVec b) {
  cl_count_call();
  double s = 0;
  for (int i = 0; i < 5; i++)
    s += a.v[i] * b.v[i];
  return s;
}

/* ---- errors ------------------------------------------------------------ */

/* One handler chain per thread; cl_throw jumps to the innermost. */
static __thread jmp_buf *current_handler;
static __thread int thrown_code;

int cl_try(cl_body_fn body, void *ctx, int *thrown) {
  cl_count_call();
  jmp_buf jb;
  jmp_buf *volatile outer = current_handler; /* volatile: read after longjmp */
  current_handler = &jb;
  cl_tls_depth++;
  switch (setjmp(jb)) { /* setjmp's value is only usable in a few contexts */
  case 0: {
    int r = body(ctx);
    current_handler = outer;
    cl_tls_depth--;
    *thrown = 0;
    return r;
  }
  default:
    current_handler = outer;
    cl_tls_depth--;
    *thrown = thrown_code;
    return -1;
  }
}

_Noreturn void cl_throw(int code) {
  if (!current_handler)
    abort();
  thrown_code = code ? code : 1;
  longjmp(*current_handler, 1);
}
