/* Numeric kernels: vector-extension matrix code, FFT with _Complex,
 * long double accumulation, and many-argument floating point calls.
 *
 * All results must be bit-identical at every optimisation level: no
 * -ffast-math, no FMA (x86-64 baseline), so the compiler may not
 * reassociate floating point operations.  Printing uses fixed precision.
 */
#ifndef NUMERIC_H
#define NUMERIC_H

#include <complex.h>
#include <stddef.h>
#include <stdint.h>

/* glibc only defines these for GCC >= 4.7, and clang claims to be 4.2 */
#ifndef CMPLX
#define CMPLX(x, y) __builtin_complex((double)(x), (double)(y))
#endif
#ifndef CMPLXL
#define CMPLXL(x, y) __builtin_complex((long double)(x), (long double)(y))
#endif

typedef double v2d __attribute__((vector_size(16)));
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

/* ---- deterministic random doubles -------------------------------------- */

typedef struct {
  uint64_t state;
} Lcg;

uint32_t lcg_u32(Lcg *g);
double lcg_unit(Lcg *g); /* [0, 1) with 32 random bits */

/* ---- matrices (linalg.c) ----------------------------------------------- */

typedef struct {
  int n;     /* n x n, row major */
  double *a; /* 16-byte aligned */
} Mat;

Mat mat_new(int n);
void mat_free(Mat *m);
void mat_random(Mat m, Lcg *g);
void mat_hilbert(Mat m);
void mat_mul_naive(Mat c, Mat a, Mat b);
void mat_mul_v2d(Mat c, Mat a, Mat b);
int mat_equal(Mat a, Mat b);
/* LU with partial pivoting; returns the sign of the permutation, 0 if the
 * matrix is singular.  perm must hold n ints. */
int lu_decompose(Mat m, int *perm);
void lu_solve(Mat lu, const int *perm, const double *b, double *x);
long double lu_determinant(Mat lu, int sign);
double mat_checksum(Mat m);

/* Two vectors returned through memory (32-byte struct: sret). */
typedef struct {
  v2d lo, hi;
} V2Pair;
V2Pair v2_minmax(const double *x, size_t n);

/* Loops that the optimiser auto-vectorises. */
void saxpy(float *restrict y, const float *restrict x, float a, size_t n);
int64_t dot_i32(const int32_t *a, const int32_t *b, size_t n);
void histogram_u8(const uint8_t *data, size_t n, uint32_t hist[256]);
int32_t max_i32(const int32_t *a, size_t n);
void prefix_sum(int64_t *a, size_t n);
v4f v4f_poly(v4f x, v4f c0, v4f c1, v4f c2);
v4i v4i_mix(v4i a, v4i b);

/* ---- FFT (fft.c) ------------------------------------------------------- */

void fft(double complex *x, size_t n, int inverse);
void dft_naive(const double complex *in, double complex *out, size_t n);
double max_abs_diff(const double complex *a, const double complex *b,
                    size_t n);
/* Integer convolution through the FFT, checked against the direct sum. */
int convolve_check(const int *a, size_t na, const int *b, size_t nb,
                   long *out);
long double complex root_product(int n);
float complex cf_rotate(float complex z, int quarter_turns);

#endif
