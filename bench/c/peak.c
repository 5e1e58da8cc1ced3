/* The machine's reference lines: the FMA peak (independent AVX-512 or AVX2
 * FMA chains in registers, f32) and a STREAM-like triad bandwidth
 * (a[i] = b[i] + s * c[i]), on OMP_NUM_THREADS threads.
 *   peak fma   -> "gflops X"      peak triad -> "gbps X"
 */
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

#if defined(__AVX512F__)
typedef __m512 vec;
#define W 16
#define FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define SET(x) _mm512_set1_ps(x)
#define SUM(v) _mm512_reduce_add_ps(v)
#else
typedef __m256 vec;
#define W 8
#define FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define SET(x) _mm256_set1_ps(x)
static float SUM(__m256 v) { float f[8]; _mm256_storeu_ps(f, v); return f[0] + f[7]; }
#endif

static double fma_peak(void) {
  const long iters = 50000000;
  double best = 0;
  for (int rep = 0; rep < 3; rep++) {
    double t0 = now_s();
    float sink = 0;
#pragma omp parallel reduction(+ : sink)
    {
      /* Twelve different starting values: with equal ones a compiler may
       * (gcc -O3 does) merge the twelve identical chains into one, which
       * then reports twelve times the FMAs it ran. */
      vec a0 = SET(1.000f), a1 = SET(1.001f), a2 = SET(1.002f), a3 = SET(1.003f);
      vec a4 = SET(1.004f), a5 = SET(1.005f), a6 = SET(1.006f), a7 = SET(1.007f);
      vec a8 = SET(1.008f), a9 = SET(1.009f), a10 = SET(1.010f), a11 = SET(1.011f);
      vec m = SET(0.999999f), d = SET(1e-7f);
      for (long i = 0; i < iters; i++) {
        a0 = FMA(a0, m, d); a1 = FMA(a1, m, d); a2 = FMA(a2, m, d); a3 = FMA(a3, m, d);
        a4 = FMA(a4, m, d); a5 = FMA(a5, m, d); a6 = FMA(a6, m, d); a7 = FMA(a7, m, d);
        a8 = FMA(a8, m, d); a9 = FMA(a9, m, d); a10 = FMA(a10, m, d); a11 = FMA(a11, m, d);
      }
      sink += SUM(a0) + SUM(a1) + SUM(a2) + SUM(a3) + SUM(a4) + SUM(a5) + SUM(a6) + SUM(a7) +
              SUM(a8) + SUM(a9) + SUM(a10) + SUM(a11);
    }
    double dt = now_s() - t0;
    double flops = 2.0 * W * 12 * iters * omp_get_max_threads();
    if (sink == 42) printf("!");
    if (flops / dt / 1e9 > best) best = flops / dt / 1e9;
  }
  return best;
}

static double triad(void) {
  const size_t n = 1 << 25; /* 3 x 128 MiB */
  double *a = aligned_alloc(64, n * 8), *b = aligned_alloc(64, n * 8), *c = aligned_alloc(64, n * 8);
#pragma omp parallel for
  for (size_t i = 0; i < n; i++) { a[i] = 0; b[i] = 1; c[i] = 2; }
  double best = 0;
  for (int rep = 0; rep < 5; rep++) {
    double t0 = now_s();
#pragma omp parallel for
    for (size_t i = 0; i < n; i++) a[i] = b[i] + 3.0 * c[i];
    double dt = now_s() - t0;
    if (3.0 * 8 * n / dt / 1e9 > best) best = 3.0 * 8 * n / dt / 1e9;
  }
  if (a[n / 2] != 7.0) return -1;
  return best;
}

int main(int argc, char **argv) {
  if (argc == 2 && !strcmp(argv[1], "fma")) printf("gflops %.3f\n", fma_peak());
  else if (argc == 2 && !strcmp(argv[1], "triad")) printf("gbps %.3f\n", triad());
  else { fprintf(stderr, "usage: peak fma|triad\n"); return 2; }
  return 0;
}
