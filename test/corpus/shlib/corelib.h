/* corelib: a shared library (built with -fPIC -shared) whose functions take
 * callbacks into the executable, varargs, structs by value, and whose
 * state (a thread-local, a global, a function pointer hook, a callback
 * registry) is visible from the executable.
 *
 * corelib.c      callbacks, sorting, registry, errors (setjmp in the library,
 *                longjmp from the executable's callback)
 * corelib_fmt.c  a printf-like formatter and numeric varargs
 * app.c, main.c  the executable
 */
#ifndef CORELIB_H
#define CORELIB_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define CL_API __attribute__((visibility("default")))

/* ---- data -------------------------------------------------------------- */

CL_API extern const char cl_version[];
CL_API extern __thread int cl_tls_depth; /* nesting of cl_try in this thread */
CL_API extern long cl_global_calls;      /* every exported call counts */
/* Called by the library on every cl_invoke_all round, if set. */
CL_API extern void (*cl_hook)(const char *event, long value);

/* ---- callbacks --------------------------------------------------------- */

typedef void (*cl_visit_fn)(int value, size_t index, void *ctx);
typedef int (*cl_cmp_fn)(const void *a, const void *b, void *ctx);
typedef double (*cl_binop_fn)(double acc, double x);
typedef long (*cl_int_fn)(long x);

CL_API void cl_foreach(const int *a, size_t n, cl_visit_fn fn, void *ctx);
/* Stable merge sort; the comparator gets a context pointer. */
CL_API void cl_sort(void *base, size_t n, size_t size, cl_cmp_fn cmp, void *ctx);
CL_API double cl_reduce(const double *v, size_t n, cl_binop_fn op, double init);
/* f(f(...f(x))) n times; f may call back into the library (re-entrancy). */
CL_API long cl_iterate(cl_int_fn f, long x, int n);

/* ---- registry ---------------------------------------------------------- */

typedef struct {
  long calls;
  double mean;
  int min, max;
} ClStats; /* returned in memory (sret) */

CL_API int cl_register(const char *name, cl_int_fn fn);
CL_API ClStats cl_invoke_all(long x);
CL_API const char *cl_name_at(int index);

/* ---- structs by value -------------------------------------------------- */

typedef struct {
  int x, y;
} ClPoint; /* one register */
typedef struct {
  double v[5];
  char label[8];
} ClVec; /* byval in memory */

CL_API ClPoint cl_point_add(ClPoint a, ClPoint b);
CL_API ClVec cl_vec_scale(ClVec v, double k);
CL_API double cl_vec_dot(ClVec a, ClVec b);

/* ---- errors: setjmp in the library, longjmp from a callback ------------ */

typedef int (*cl_body_fn)(void *ctx);
/* Runs body; returns its result, or the code passed to cl_throw. */
CL_API int cl_try(cl_body_fn body, void *ctx, int *thrown);
CL_API _Noreturn void cl_throw(int code);

/* ---- formatting (corelib_fmt.c) ---------------------------------------- */

/* %d %i %u %x %ld %lu %lx %lld %s %c %f %.Nf %e %% and a width; returns the
 * length that would have been written, like snprintf. */
CL_API int cl_format(char *buf, size_t n, const char *fmt, ...);
CL_API int cl_vformat(char *buf, size_t n, const char *fmt, va_list ap);
CL_API double cl_sum_doubles(int n, ...);
/* kinds: 'i' int, 'l' long, 'd' double, 'L' long double, 's' string length */
CL_API long double cl_sum_mixed(const char *kinds, ...);
/* Forwards its varargs to a callback taking a va_list (va_copy'd twice). */
typedef long (*cl_vsink_fn)(void *ctx, const char *fmt, va_list ap);
CL_API long cl_forward(cl_vsink_fn sink, void *ctx, const char *fmt, ...);

#endif
