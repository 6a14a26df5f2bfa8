/* Driver for the numeric kernels; also long double summation, calls with
 * many floating point arguments, and our own floating point varargs. */
#include "numeric.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- matrices ---------------------------------------------------------- */

static void test_matrices(void) {
  Lcg g = {42};
  int n = 23; /* odd: exercises the scalar tail column */
  Mat a = mat_new(n), b = mat_new(n), c1 = mat_new(n), c2 = mat_new(n);
  mat_random(a, &g);
  mat_random(b, &g);
  mat_mul_naive(c1, a, b);
  mat_mul_v2d(c2, a, b);
  printf("matmul %dx%d: checksum %.12f, vector version %s\n", n, n,
         mat_checksum(c1), mat_equal(c1, c2) ? "identical" : "DIFFERENT");

  /* solve A x = b for a known x */
  int perm[n];
  double x_true[n], rhs[n], x[n];
  for (int i = 0; i < n; i++)
    x_true[i] = (double)(i % 5) - 1.5;
  for (int i = 0; i < n; i++) {
    rhs[i] = 0;
    for (int k = 0; k < n; k++)
      rhs[i] += a.a[i * n + k] * x_true[k];
  }
  int sign = lu_decompose(a, perm);
  lu_solve(a, perm, rhs, x);
  double err = 0;
  for (int i = 0; i < n; i++)
    err = fmax(err, fabs(x[i] - x_true[i]));
  printf("lu: sign %+d, det %.12Le, max error %.3e, perm[0..5] %d %d %d %d %d %d\n",
         sign, lu_determinant(a, sign), err, perm[0], perm[1], perm[2], perm[3],
         perm[4], perm[5]);

  for (int h = 4; h <= 10; h += 3) {
    Mat hm = mat_new(h);
    mat_hilbert(hm);
    int hp[h];
    int hs = lu_decompose(hm, hp);
    printf("hilbert %2d: det %.10Le\n", h, lu_determinant(hm, hs));
    mat_free(&hm);
  }

  V2Pair mm = v2_minmax(b.a, (size_t)n * (size_t)n - 1);
  printf("minmax lanes: lo %.9f %.9f hi %.9f %.9f\n", mm.lo[0], mm.lo[1],
         mm.hi[0], mm.hi[1]);
  mat_free(&a);
  mat_free(&b);
  mat_free(&c1);
  mat_free(&c2);
}

/* ---- vectorisable loops ------------------------------------------------ */

static void test_loops(void) {
  enum { N = 1003 }; /* not a multiple of any vector width: remainder loops */
  static float xs[N], ys[N];
  static int32_t ia[N], ib[N];
  static uint8_t bytes[4 * N];
  static int64_t pre[N];
  Lcg g = {7};
  for (int i = 0; i < N; i++) {
    xs[i] = (float)lcg_unit(&g);
    ys[i] = (float)i * 0.25f;
    ia[i] = (int32_t)(lcg_u32(&g) % 20001) - 10000;
    ib[i] = (int32_t)(lcg_u32(&g) % 301) - 150;
    pre[i] = ia[i];
  }
  for (int i = 0; i < 4 * N; i++)
    bytes[i] = (uint8_t)(lcg_u32(&g) >> 24);

  saxpy(ys, xs, 1.75f, N);
  double ysum = 0;
  for (int i = 0; i < N; i++)
    ysum += ys[i];
  uint32_t hist[256];
  histogram_u8(bytes, sizeof bytes, hist);
  uint32_t hmax = 0, hmin = UINT32_MAX;
  for (int i = 0; i < 256; i++) {
    hmax = hist[i] > hmax ? hist[i] : hmax;
    hmin = hist[i] < hmin ? hist[i] : hmin;
  }
  prefix_sum(pre, N);
  printf("saxpy sum %.6f, y[0] %.7f, y[%d] %.7f\n", ysum, (double)ys[0], N - 1,
         (double)ys[N - 1]);
  printf("dot %lld, max %d, hist min %u max %u, prefix end %lld mid %lld\n",
         (long long)dot_i32(ia, ib, N), max_i32(ia, N), hmin, hmax,
         (long long)pre[N - 1], (long long)pre[N / 2]);

  v4f p = v4f_poly((v4f){0.5f, -1.0f, 2.0f, 3.25f}, (v4f){1, 1, 1, 1},
                   (v4f){-2, 0.5f, 0.25f, 1}, (v4f){0.125f, 3, -1, 0.5f});
  v4i m = v4i_mix((v4i){1, -2, 3, 1 << 30}, (v4i){-7, 11, 13, -17});
  printf("v4f poly %.6f %.6f %.6f %.6f; v4i mix %d %d %d %d\n", (double)p[0],
         (double)p[1], (double)p[2], (double)p[3], m[0], m[1], m[2], m[3]);
}

/* ---- FFT --------------------------------------------------------------- */

static void test_fft(void) {
  enum { N = 64 };
  double complex sig[N], a[N], ref[N];
  for (int i = 0; i < N; i++)
    sig[i] = sin(2 * 3.14159265358979323846 * 5 * i / N) +
             0.5 * cos(2 * 3.14159265358979323846 * 12 * i / N) + 0.25;
  memcpy(a, sig, sizeof a);
  fft(a, N, 0);
  dft_naive(sig, ref, N);
  printf("fft vs dft: max diff %.3e\n", max_abs_diff(a, ref, N));
  printf("bins:");
  for (int k = 0; k < N; k++)
    if (cabs(a[k]) > 1e-6)
      printf(" %d:%.6f", k, cabs(a[k]));
  printf("\n");
  fft(a, N, 1);
  for (int i = 0; i < N; i++)
    a[i] /= N;
  printf("round trip max diff %.3e\n", max_abs_diff(a, sig, N));

  /* big-number multiply: digits convolved through the FFT, then carried */
  const char *x = "3141592653589793238462643383279502884197";
  const char *y = "2718281828459045235360287471352662497757";
  size_t nx = strlen(x), ny = strlen(y);
  int dx[64], dy[64];
  for (size_t i = 0; i < nx; i++)
    dx[i] = x[nx - 1 - i] - '0'; /* least significant digit first */
  for (size_t i = 0; i < ny; i++)
    dy[i] = y[ny - 1 - i] - '0';
  long conv[128] = {0};
  int ok = convolve_check(dx, nx, dy, ny, conv);
  char digits[130];
  size_t nd = nx + ny;
  long carry = 0;
  for (size_t i = 0; i < nd; i++) {
    long v = (i < nx + ny - 1 ? conv[i] : 0) + carry;
    digits[nd - 1 - i] = (char)('0' + v % 10);
    carry = v / 10;
  }
  digits[nd] = '\0';
  printf("convolution %s; product %s\n", ok ? "exact" : "WRONG",
         digits[0] == '0' ? digits + 1 : digits);

  for (int n = 3; n <= 12; n += 3) {
    long double complex r = root_product(n);
    printf("roots of unity n=%2d: product %+.9Lf %+.9Lf\n", n, creall(r),
           fabsl(cimagl(r)) < 1e-15L ? 0.0L : cimagl(r));
  }
  float complex z = cf_rotate(1.5f + 0.5f * I, 3);
  printf("rotated: %.3f %+.3fi\n", (double)crealf(z), (double)cimagf(z));
}

/* ---- summation --------------------------------------------------------- */

static void test_sums(void) {
  const int n = 1000000;
  float sf = 0;
  double sd = 0, kahan = 0, comp = 0;
  long double sl = 0;
  for (int i = 1; i <= n; i++) {
    double term = 1.0 / i;
    sf += (float)term;
    sd += term;
    sl += 1.0L / i;
    double y = term - comp; /* Kahan: comp carries the lost low bits */
    double t = kahan + y;
    comp = (t - kahan) - y;
    kahan = t;
  }
  printf("harmonic(%d): float %.9g double %.17g kahan %.17g long double %.21Lg\n",
         n, (double)sf, sd, kahan, sl);
  long double e = 0, fact = 1;
  for (int k = 0; k < 25; k++) {
    e += 1 / fact;
    fact *= k + 1;
  }
  printf("e = %.20Lf, e - expl(1) = %.3Le\n", e, e - expl(1.0L));

  /* Welford running mean and variance */
  Lcg g = {2024};
  double mean = 0, m2 = 0;
  for (int i = 1; i <= 10000; i++) {
    double v = lcg_unit(&g) * 10 + (i % 3);
    double d = v - mean;
    mean += d / i;
    m2 += d * (v - mean);
  }
  printf("welford: mean %.10f variance %.10f\n", mean, m2 / 9999);
}

/* ---- calls with many floating point arguments -------------------------- */

/* More float arguments than there are xmm argument registers, mixed with
 * integers: the tail goes on the stack in declaration order. */
__attribute__((noinline)) static double many_args(
    double a0, int i0, double a1, float f0, double a2, long i1, double a3,
    double a4, float f1, double a5, double a6, int i2, double a7, double a8,
    long double l0, double a9, short s0, float f2, unsigned char c0) {
  return a0 + 2 * a1 + 3 * a2 + 4 * a3 + 5 * a4 + 6 * a5 + 7 * a6 + 8 * a7 +
         9 * a8 + 10 * a9 + (double)(f0 + f1 * 2 + f2 * 3) +
         (double)(i0 + i1 * 100 + i2 * 10000) + (double)(l0 * 0.5L) +
         s0 * 1e-3 + c0 * 1e-6;
}

/* Our own varargs: kinds[i] says how argument i was passed. */
static long double vsum(const char *kinds, ...) {
  va_list ap, again;
  va_start(ap, kinds);
  va_copy(again, ap);
  long double s = 0;
  for (const char *k = kinds; *k; k++) {
    switch (*k) {
    case 'd': s += va_arg(ap, double); break;
    case 'f': s += va_arg(ap, double); break; /* floats promote */
    case 'i': s += va_arg(ap, int); break;
    case 'l': s += va_arg(ap, long); break;
    case 'L': s += va_arg(ap, long double); break;
    }
  }
  /* second walk over a copy: weighted by position */
  long double w = 0;
  int pos = 1;
  for (const char *k = kinds; *k; k++, pos++) {
    switch (*k) {
    case 'd': case 'f': w += pos * va_arg(again, double); break;
    case 'i': w += pos * va_arg(again, int); break;
    case 'l': w += pos * va_arg(again, long); break;
    case 'L': w += pos * va_arg(again, long double); break;
    }
  }
  va_end(again);
  va_end(ap);
  return s * 1000 + w;
}

static void test_calls(void) {
  double r = many_args(1.5, 2, 2.25, 0.5f, 3.125, 7L, 4.0, 5.5, 1.25f, 6.75,
                       7.0, -3, 8.5, 9.25, 10.5L, 11.0, (short)-12, 2.5f,
                       (unsigned char)200);
  printf("many_args = %.9f\n", r);
  long double v = vsum("dfidLlddddddddL", 1.5, 2.5f, 3, 4.25, 5.5L, 6L, 7.0,
                       8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.25L);
  printf("vsum = %.6Lf\n", v);
  /* sixteen doubles and friends through libc's varargs */
  double d[16];
  for (int i = 0; i < 16; i++)
    d[i] = (i + 1) * 1.125 - 3;
  printf("%.3f %.3f %.3f %.3f %.3f %.3f %.3f %.3f %d %.3f %.3f %.3f %.3f %.3f "
         "%.3f %.3f %.3f %s %.4Lf %.2e\n",
         d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], 42, d[8], d[9], d[10],
         d[11], d[12], d[13], d[14], d[15], "end", 1.0L / 3, 6.02214076e23);
}

/* ---- integration and a picture ----------------------------------------- */

static double simpson(double (*f)(double), double a, double b, int n) {
  double h = (b - a) / n, s = f(a) + f(b);
  for (int i = 1; i < n; i++)
    s += f(a + i * h) * (i % 2 ? 4 : 2);
  return s * h / 3;
}

static double gauss(double x) { return exp(-x * x); }
static double recip(double x) { return 1 / x; }

static void test_misc(void) {
  struct {
    const char *name;
    double (*f)(double);
    double a, b;
  } integrals[] = {{"exp(-x^2) 0..1", gauss, 0, 1},
                   {"1/x 1..e", recip, 1, 2.718281828459045},
                   {"sin 0..pi", sin, 0, 3.141592653589793},
                   {"sqrt 0..4", sqrt, 0, 4}};
  for (size_t i = 0; i < sizeof integrals / sizeof integrals[0]; i++)
    printf("simpson %-15s %.12f\n", integrals[i].name,
           simpson(integrals[i].f, integrals[i].a, integrals[i].b, 1000));

  /* Mandelbrot set: escape counts drawn with a ramp of characters */
  static const char ramp[] = " .:-=+*#%@";
  unsigned long total = 0;
  for (int row = 0; row < 16; row++) {
    char line[57];
    for (int col = 0; col < 56; col++) {
      double cr = -2.2 + col * (3.0 / 56), ci = -1.2 + row * (2.4 / 15);
      double zr = 0, zi = 0;
      int it = 0;
      while (it < 200 && zr * zr + zi * zi <= 4) {
        double t = zr * zr - zi * zi + cr;
        zi = 2 * zr * zi + ci;
        zr = t;
        it++;
      }
      total += (unsigned long)it;
      line[col] = ramp[it >= 200 ? 9 : it % 9];
    }
    line[56] = '\0';
    printf("|%s|\n", line);
  }
  printf("mandelbrot iterations %lu\n", total);
}

int main(void) {
  test_matrices();
  test_loops();
  test_fft();
  test_sums();
  test_calls();
  test_misc();
  return 0;
}
