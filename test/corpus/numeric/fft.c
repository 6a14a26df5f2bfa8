/* Radix-2 FFT on double complex, a naive DFT to check it, FFT-based
 * integer convolution, and some float / long double complex arithmetic. */
#include "numeric.h"

#include <math.h>
#include <stdlib.h>

static const double PI = 3.14159265358979323846;

static size_t reverse_bits(size_t x, int bits) {
  size_t r = 0;
  for (int i = 0; i < bits; i++) {
    r = (r << 1) | (x & 1);
    x >>= 1;
  }
  return r;
}

static void bit_reverse_permute(double complex *x, size_t n) {
  int bits = 0;
  while (((size_t)1 << bits) < n)
    bits++;
  for (size_t i = 0; i < n; i++) {
    size_t j = reverse_bits(i, bits);
    if (j > i) {
      double complex t = x[i];
      x[i] = x[j];
      x[j] = t;
    }
  }
}

/* In place, n a power of two.  The inverse is unscaled. */
void fft(double complex *x, size_t n, int inverse) {
  bit_reverse_permute(x, n);
  double sign = inverse ? 1.0 : -1.0;
  for (size_t len = 2; len <= n; len <<= 1) {
    double ang = sign * 2.0 * PI / (double)len;
    double complex wlen = CMPLX(cos(ang), sin(ang));
    for (size_t start = 0; start < n; start += len) {
      double complex w = 1.0;
      for (size_t k = 0; k < len / 2; k++) {
        double complex u = x[start + k];
        double complex v = x[start + k + len / 2] * w;
        x[start + k] = u + v;
        x[start + k + len / 2] = u - v;
        w *= wlen;
      }
    }
  }
}

void dft_naive(const double complex *in, double complex *out, size_t n) {
  for (size_t k = 0; k < n; k++) {
    double complex s = 0;
    for (size_t t = 0; t < n; t++) {
      double ang = -2.0 * PI * (double)((k * t) % n) / (double)n;
      s += in[t] * CMPLX(cos(ang), sin(ang));
    }
    out[k] = s;
  }
}

double max_abs_diff(const double complex *a, const double complex *b,
                    size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; i++) {
    double d = cabs(a[i] - b[i]);
    m = d > m ? d : m;
  }
  return m;
}

int convolve_check(const int *a, size_t na, const int *b, size_t nb,
                   long *out) {
  size_t need = na + nb - 1, n = 1;
  while (n < need)
    n <<= 1;
  double complex *fa = calloc(n, sizeof *fa), *fb = calloc(n, sizeof *fb);
  if (!fa || !fb)
    abort();
  for (size_t i = 0; i < na; i++)
    fa[i] = a[i];
  for (size_t i = 0; i < nb; i++)
    fb[i] = b[i];
  fft(fa, n, 0);
  fft(fb, n, 0);
  for (size_t i = 0; i < n; i++)
    fa[i] *= fb[i];
  fft(fa, n, 1);
  int ok = 1;
  for (size_t i = 0; i < need; i++) {
    out[i] = lround(creal(fa[i]) / (double)n);
    long direct = 0;
    for (size_t j = 0; j < na; j++)
      if (i >= j && i - j < nb)
        direct += (long)a[j] * b[i - j];
    ok &= direct == out[i];
  }
  free(fa);
  free(fb);
  return ok;
}

/* Product of the n-th roots of unity: (-1)^(n+1), up to rounding. */
long double complex root_product(int n) {
  long double complex p = 1;
  const long double pi = 3.141592653589793238462643383279502884L;
  for (int k = 0; k < n; k++) {
    long double ang = 2 * pi * k / n;
    p *= CMPLXL(cosl(ang), sinl(ang));
  }
  return p;
}

float complex cf_rotate(float complex z, int quarter_turns) {
  for (int i = 0; i < quarter_turns; i++)
    z *= I;
  return z;
}
