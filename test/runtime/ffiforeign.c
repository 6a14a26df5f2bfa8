/* A library built without the plugin, for test_ffi: functions of every
 * libffi type class, functions that block in raw system calls (no libc
 * wrapper the runtime could interpose), functions that call back, and a
 * thread pool whose threads call back (created through the wrapped
 * pthread_create, or past it, straight through libc's: threads the
 * runtime never saw). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define API __attribute__((visibility("default")))

/* ---- every integer width, signed and unsigned ---- */
API int8_t ff_neg_i8(int8_t x) { return (int8_t)-x; }
API uint8_t ff_inc_u8(uint8_t x) { return (uint8_t)(x + 1); }
API int16_t ff_neg_i16(int16_t x) { return (int16_t)-x; }
API uint16_t ff_inc_u16(uint16_t x) { return (uint16_t)(x + 1); }
API int32_t ff_neg_i32(int32_t x) { return -x; }
API uint32_t ff_inc_u32(uint32_t x) { return x + 1; }
API int64_t ff_neg_i64(int64_t x) { return -x; }
API uint64_t ff_inc_u64(uint64_t x) { return x + 1; }
API long long ff_neg_ll(long long x) { return -x; }
API unsigned long long ff_inc_ull(unsigned long long x) { return x + 1; }
API size_t ff_inc_size(size_t x) { return x + 1; }
API ssize_t ff_neg_ssize(ssize_t x) { return -x; }
API bool ff_not(bool x) { return !x; }

/* Every class at once: each argument must arrive intact. */
API double ff_mix(int8_t a, uint8_t b, int16_t c, uint16_t d, int32_t e,
                  uint32_t f, int64_t g, uint64_t h, float x, double y,
                  long double z, void *p, size_t n, bool bo, int8_t last) {
  return (double)a + b * 3.0 + c * 5.0 + d * 7.0 + e * 11.0 + f * 13.0 +
         (double)g * 17.0 + (double)h * 19.0 + x * 23.0 + y * 29.0 +
         (double)z * 31.0 + (double)(uintptr_t)p * 37.0 + (double)n * 41.0 +
         bo * 43.0 + last * 47.0;
}

/* Six arguments in registers, mixed: the direct path (ffi_call.c). */
API double ff_mix6(int8_t a, uint16_t b, float x, int32_t c, double y,
                   void *p) {
  return a + b * 3.0 + x * 5.0 + c * 7.0 + y * 11.0 + (double)(uintptr_t)p;
}
/* A seventh integer goes on the stack: libffi's path, narrow returns. */
API int8_t ff_last_i8(long a, long b, long c, long d, long e, long f,
                      int8_t x) {
  return (int8_t)(a + b + c + d + e + f - x);
}
API uint16_t ff_last_u16(long a, long b, long c, long d, long e, long f,
                         uint16_t x) {
  return (uint16_t)(a + b + c + d + e + f + x);
}

/* ---- floating point and pointers ---- */
API float ff_fadd(float a, float b) { return a + b; }
API double ff_dmul(double a, double b) { return a * b; }
API long double ff_ldmul(long double a, long double b) { return a * b; }
API void *ff_ptr_add(void *p, size_t n) { return (char *)p + n; }

/* ---- structs by value ---- */
struct ff_tiny { char c; short s; };                   /* "{cs}", 4 bytes */
struct ff_small { int a; double b; };                  /* "{id}", 16 */
struct ff_large { long a[5]; char c; };                /* "{5lc}", 48 */
struct ff_nested { struct { char c; float f; } in; void *p; double d[2]; };
struct ff_ld { long double x; int y; };                /* "{Di}" */
struct ff_floats { float a, b, c; };                   /* "{3f}" */

API struct ff_tiny ff_tiny_bump(struct ff_tiny t) {
  t.c = (char)(t.c + 1);
  t.s = (short)(t.s - 1);
  return t;
}
API struct ff_small ff_small_scale(struct ff_small s, int k) {
  s.a *= k;
  s.b *= k;
  return s;
}
API struct ff_large ff_large_rev(struct ff_large l, long add) {
  struct ff_large r;
  for (int i = 0; i < 5; i++)
    r.a[i] = l.a[4 - i] + add;
  r.c = (char)(l.c + 1);
  return r;
}
API struct ff_nested ff_nested_bump(struct ff_nested n, void *q) {
  n.in.c = (char)(n.in.c + 1);
  n.in.f *= 2;
  n.p = q;
  n.d[0] += 1;
  n.d[1] -= 1;
  return n;
}
API struct ff_ld ff_ld_twice(struct ff_ld v) {
  v.x *= 2;
  v.y *= 2;
  return v;
}
API struct ff_floats ff_floats_sum(struct ff_floats a, struct ff_floats b) {
  return (struct ff_floats){a.a + b.a, a.b + b.b, a.c + b.c};
}

/* ---- variadic ---- */
/* Sums n variadic arguments whose types types[] gives (i l d p). */
API double ff_vsum(int n, const char *types, ...) {
  va_list ap;
  va_start(ap, types);
  double s = 0;
  for (int i = 0; i < n; i++)
    switch (types[i]) {
    case 'i': s += va_arg(ap, int); break;
    case 'l': s += (double)va_arg(ap, long); break;
    case 'd': s += va_arg(ap, double); break;
    case 'p': s += (double)(uintptr_t)va_arg(ap, void *); break;
    case 's': {
      struct ff_small v = va_arg(ap, struct ff_small);
      s += v.a + v.b;
      break;
    }
    }
  va_end(ap);
  return s;
}

/* ---- blocking in raw system calls ---- */
/* Sleeps ms milliseconds in one nanosleep: 0, or -errno (-EINTR if a
 * signal handler ran meanwhile). */
API int ff_sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
  long r = syscall(SYS_nanosleep, &ts, NULL);
  return r < 0 ? -errno : 0;
}
/* One poll(2) on fd for input: its result, or -errno. */
API int ff_wait_fd(int fd, int timeout_ms) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  long r = syscall(SYS_poll, &p, 1, timeout_ms);
  return r < 0 ? -errno : (int)r;
}
/* Waits for fd like ff_wait_fd, then counts the bytes of obj that differ
 * from pattern: obj must have stayed alive and untouched meanwhile. */
API long ff_hold_check(const unsigned char *obj, size_t n, int pattern, int fd,
                       int timeout_ms) {
  int r = ff_wait_fd(fd, timeout_ms);
  if (r != 1)
    return r <= 0 ? -1000 + r : -1000;
  long bad = 0;
  for (size_t i = 0; i < n; i++)
    bad += obj[i] != (unsigned char)pattern;
  return bad;
}
/* The same for an object passed inside a struct by value. */
struct ff_holder { long tag; const unsigned char *obj; };
API long ff_hold_check_struct(struct ff_holder h, size_t n, int pattern, int fd,
                              int timeout_ms) {
  return ff_hold_check(h.obj, n, pattern, fd, timeout_ms) + h.tag;
}

/* ---- calling back ---- */
API void ff_qsort(void *base, size_t n, size_t size,
                  int (*cmp)(const void *, const void *)) {
  qsort(base, n, size, cmp);
}
/* cb(depth, ctx) + 1. */
API int ff_nest(int depth, int (*cb)(int, void *), void *ctx) {
  return cb(depth, ctx) + 1;
}
/* A callback returning every type class back to foreign code. */
API double ff_call_types(int8_t (*c8)(int8_t), uint16_t (*u16)(uint16_t),
                         float (*fl)(float), long double (*ld)(long double),
                         struct ff_small (*sm)(struct ff_small),
                         struct ff_large (*lg)(struct ff_large)) {
  struct ff_small s = sm((struct ff_small){3, 0.5});
  struct ff_large l = lg((struct ff_large){{1, 2, 3, 4, 5}, 'x'});
  return c8(-7) + u16(65000) + fl(1.5f) + (double)ld(2.25L) + s.a + s.b +
         (double)(l.a[0] * 10000 + l.a[4]) + l.c;
}

/* ---- a thread pool ---- */
struct ff_pool {
  void (*cb)(int thread, int iter, void *ctx);
  void *ctx;
  int iters;
  int index;
};
static void *pool_worker(void *p) {
  struct ff_pool *w = p;
  for (int i = 0; i < w->iters; i++)
    w->cb(w->index, i, w->ctx);
  return NULL;
}
typedef int create_fn(pthread_t *, const pthread_attr_t *, void *(*)(void *),
                      void *);
/* Runs nthreads threads calling cb(thread, i, ctx) for i < iters, and
 * waits for them.  unseen: create them with libc's own pthread_create,
 * not the one the program (the runtime) interposes. */
API int ff_pool_run(int nthreads, int iters,
                    void (*cb)(int, int, void *), void *ctx, int unseen) {
  create_fn *create = pthread_create;
  if (unseen) {
    void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
    create = libc ? (create_fn *)dlsym(libc, "pthread_create") : NULL;
    if (!create)
      return -1;
  }
  pthread_t th[16];
  struct ff_pool w[16];
  if (nthreads > 16)
    return -2;
  for (int i = 0; i < nthreads; i++) {
    w[i] = (struct ff_pool){cb, ctx, iters, i};
    if (create(&th[i], NULL, pool_worker, &w[i]))
      return -3;
  }
  for (int i = 0; i < nthreads; i++)
    pthread_join(th[i], NULL);
  return 0;
}
