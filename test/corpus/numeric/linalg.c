/* Dense linear algebra with GCC vector extensions, and loops written so
 * that the optimiser vectorises them. */
#include "numeric.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef int64_t v2l __attribute__((vector_size(16)));

uint32_t lcg_u32(Lcg *g) {
  g->state = g->state * 6364136223846793005u + 1442695040888963407u;
  return (uint32_t)(g->state >> 32);
}

double lcg_unit(Lcg *g) { return lcg_u32(g) * (1.0 / 4294967296.0); }

Mat mat_new(int n) {
  size_t bytes = (size_t)n * (size_t)n * sizeof(double);
  bytes = (bytes + 15) & ~(size_t)15; /* aligned_alloc wants a multiple */
  Mat m = {n, aligned_alloc(16, bytes)};
  if (!m.a)
    abort();
  memset(m.a, 0, bytes);
  return m;
}

void mat_free(Mat *m) {
  free(m->a);
  m->a = NULL;
}

void mat_random(Mat m, Lcg *g) {
  for (int i = 0; i < m.n * m.n; i++)
    m.a[i] = lcg_unit(g) * 2.0 - 1.0;
}

void mat_hilbert(Mat m) {
  for (int i = 0; i < m.n; i++)
    for (int j = 0; j < m.n; j++)
      m.a[i * m.n + j] = 1.0 / (double)(i + j + 1);
}

void mat_mul_naive(Mat c, Mat a, Mat b) {
  int n = a.n;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      double s = 0.0;
      for (int k = 0; k < n; k++)
        s += a.a[i * n + k] * b.a[k * n + j];
      c.a[i * n + j] = s;
    }
}

static v2d load2(const double *p) {
  v2d v;
  memcpy(&v, p, sizeof v); /* rows of odd n are not 16-byte aligned */
  return v;
}

static void store2(double *p, v2d v) { memcpy(p, &v, sizeof v); }

/* Two columns at a time.  Each lane sums over k in the same order as the
 * naive loop, so the result is bit-identical to it. */
void mat_mul_v2d(Mat c, Mat a, Mat b) {
  int n = a.n;
  for (int i = 0; i < n; i++) {
    int j = 0;
    for (; j + 2 <= n; j += 2) {
      v2d s = {0.0, 0.0};
      for (int k = 0; k < n; k++) {
        double aik = a.a[i * n + k];
        v2d av = {aik, aik};
        s += av * load2(&b.a[k * n + j]);
      }
      store2(&c.a[i * n + j], s);
    }
    for (; j < n; j++) {
      double s = 0.0;
      for (int k = 0; k < n; k++)
        s += a.a[i * n + k] * b.a[k * n + j];
      c.a[i * n + j] = s;
    }
  }
}

int mat_equal(Mat a, Mat b) {
  return a.n == b.n &&
         memcmp(a.a, b.a, (size_t)a.n * (size_t)a.n * sizeof(double)) == 0;
}

int lu_decompose(Mat m, int *perm) {
  int n = m.n, sign = 1;
  double *a = m.a;
  for (int i = 0; i < n; i++)
    perm[i] = i;
  for (int col = 0; col < n; col++) {
    int piv = col;
    for (int r = col + 1; r < n; r++)
      if (fabs(a[r * n + col]) > fabs(a[piv * n + col]))
        piv = r;
    if (a[piv * n + col] == 0.0)
      return 0;
    if (piv != col) {
      double tmp[n]; /* VLA row buffer for the swap */
      memcpy(tmp, &a[piv * n], sizeof tmp);
      memcpy(&a[piv * n], &a[col * n], sizeof tmp);
      memcpy(&a[col * n], tmp, sizeof tmp);
      int t = perm[piv];
      perm[piv] = perm[col];
      perm[col] = t;
      sign = -sign;
    }
    for (int r = col + 1; r < n; r++) {
      double f = a[r * n + col] / a[col * n + col];
      a[r * n + col] = f;
      for (int k = col + 1; k < n; k++)
        a[r * n + k] -= f * a[col * n + k];
    }
  }
  return sign;
}

void lu_solve(Mat lu, const int *perm, const double *b, double *x) {
  int n = lu.n;
  const double *a = lu.a;
  for (int i = 0; i < n; i++) { /* forward: L y = P b */
    double s = b[perm[i]];
    for (int k = 0; k < i; k++)
      s -= a[i * n + k] * x[k];
    x[i] = s;
  }
  for (int i = n - 1; i >= 0; i--) { /* backward: U x = y */
    double s = x[i];
    for (int k = i + 1; k < n; k++)
      s -= a[i * n + k] * x[k];
    x[i] = s / a[i * n + i];
  }
}

long double lu_determinant(Mat lu, int sign) {
  long double d = sign;
  for (int i = 0; i < lu.n; i++)
    d *= lu.a[i * lu.n + i];
  return d;
}

double mat_checksum(Mat m) {
  double s = 0;
  for (int i = 0; i < m.n * m.n; i++)
    s += m.a[i] * (double)(i % 7 + 1);
  return s;
}

/* Lane-wise select through integer masks (vector ?: is C++ only). */
static v2d v2_select(v2l mask, v2d yes, v2d no) {
  return (v2d)((mask & (v2l)yes) | (~mask & (v2l)no));
}

V2Pair v2_minmax(const double *x, size_t n) {
  V2Pair r = {load2(x), load2(x)};
  for (size_t i = 2; i + 2 <= n; i += 2) {
    v2d v = load2(x + i);
    r.lo = v2_select(v < r.lo, v, r.lo);
    r.hi = v2_select(v > r.hi, v, r.hi);
  }
  return r;
}

void saxpy(float *restrict y, const float *restrict x, float a, size_t n) {
  for (size_t i = 0; i < n; i++)
    y[i] += a * x[i];
}

int64_t dot_i32(const int32_t *a, const int32_t *b, size_t n) {
  int64_t s = 0;
  for (size_t i = 0; i < n; i++)
    s += (int64_t)a[i] * b[i];
  return s;
}

void histogram_u8(const uint8_t *data, size_t n, uint32_t hist[256]) {
  memset(hist, 0, 256 * sizeof hist[0]);
  for (size_t i = 0; i < n; i++)
    hist[data[i]]++;
}

int32_t max_i32(const int32_t *a, size_t n) {
  int32_t m = INT32_MIN;
  for (size_t i = 0; i < n; i++)
    m = a[i] > m ? a[i] : m;
  return m;
}

void prefix_sum(int64_t *a, size_t n) {
  for (size_t i = 1; i < n; i++)
    a[i] += a[i - 1];
}

v4f v4f_poly(v4f x, v4f c0, v4f c1, v4f c2) { return c0 + x * (c1 + x * c2); }

/* Integer lanes mixed in unsigned arithmetic, where overflow wraps. */
v4i v4i_mix(v4i a, v4i b) {
  typedef uint32_t v4u __attribute__((vector_size(16)));
  v4u ua = (v4u)a, ub = (v4u)b;
  v4u rot = __builtin_shufflevector(ua, ua, 1, 2, 3, 0);
  v4u t = (rot ^ ub) + (ua << 3) - (ub >> 1);
  return (v4i)(t * (v4u){3, 5, 7, 11});
}
