/* Callbacks that corelib calls back into. */
#include "app.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void app_visit(int value, size_t index, void *ctx) {
  VisitStats *s = ctx;
  s->sum += value;
  s->weighted += (long)value * (long)(index + 1);
  if (s->visits == 0 || value < s->min)
    s->min = value;
  if (s->visits == 0 || value > s->max)
    s->max = value;
  s->visits++;
}

/* ctx points at a counter of comparisons: state through the library. */
int app_cmp_score(const void *a, const void *b, void *ctx) {
  ++*(long *)ctx;
  const Record *x = a, *y = b;
  return (x->score > y->score) - (x->score < y->score);
}

int app_cmp_name_desc(const void *a, const void *b, void *ctx) {
  ++*(long *)ctx;
  return strcmp(((const Record *)b)->name, ((const Record *)a)->name);
}

double app_add(double acc, double x) { return acc + x; }
double app_max(double acc, double x) { return x > acc ? x : acc; }
double app_rms_step(double acc, double x) { return sqrt(acc * acc + x * x); }

long app_collatz_step(long x) { return x % 2 ? 3 * x + 1 : x / 2; }
long app_triple(long x) { return 3 * x - 1; }
long app_negate_sq(long x) { return -(x * x) + 7; }

/* Library -> app -> library -> app ...: re-entrancy across the boundary. */
long app_reenter(long x) {
  if (x <= 1)
    return x;
  return cl_iterate(app_collatz_step, x, 3) + (x % 3 == 0 ? app_reenter(x / 3) : 0);
}

static char hook_log[512];
static size_t hook_len;

void app_hook(const char *event, long value) {
  int n = cl_format(hook_log + hook_len, sizeof hook_log - hook_len,
                    "%s=%ld;", event, value);
  if (n > 0 && hook_len + (size_t)n < sizeof hook_log)
    hook_len += (size_t)n;
}

void app_print_hook_log(void) { printf("hook log: %s\n", hook_log); }

int app_body_ok(void *ctx) { return *(int *)ctx * 2; }

/* Throws from the executable; the handler's setjmp is in the library. */
int app_body_throw(void *ctx) {
  int v = *(int *)ctx;
  if (v % 2)
    cl_throw(v * 10);
  return v;
}

/* A try inside a try: the inner one catches, the outer returns normally. */
int app_body_nested(void *ctx) {
  int depth_inside = cl_tls_depth; /* the library's thread-local */
  int thrown = 0;
  int r = cl_try(app_body_throw, ctx, &thrown);
  return depth_inside * 1000 + thrown * 10 + (r < 0 ? 1 : 0);
}

/* Formats with both the library's formatter and libc's; both get a
 * va_list that the library copied. */
long app_sink(void *ctx, const char *fmt, va_list ap) {
  char *out = ctx;
  va_list again;
  va_copy(again, ap);
  char mine[128];
  int a = cl_vformat(out, 128, fmt, ap);
  int b = vsnprintf(mine, sizeof mine, fmt, again);
  va_end(again);
  return strcmp(out, mine) == 0 ? a : -(long)b;
}

jmp_buf app_escape;

void app_visit_escape(int value, size_t index, void *ctx) {
  long *seen = ctx;
  *seen += value;
  if (index == 7)
    longjmp(app_escape, (int)index); /* out through the library's frames */
}
