/* The benchmark kernels written plainly in C: the "what clang -O3
 * -march=native -fopenmp makes of a straightforward loop" peer. Each is
 * the loop nest a careful C programmer writes first (i-k-j matmul, one pass
 * per softmax/layernorm step), parallel over rows with OpenMP.
 *
 *   kernels NAME SIZE RUNS   -> prints "median_ms X" (after one warm-up)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static float *filled(size_t n, float v) {
  float *p = aligned_alloc(64, ((n * sizeof(float) + 63) / 64) * 64);
  for (size_t i = 0; i < n; i++) p[i] = v + (float)(i % 7) * 0.01f;
  return p;
}

static void matmul(int n, const float *a, const float *b, float *c) {
#pragma omp parallel for
  for (int i = 0; i < n; i++) {
    float *ci = c + (size_t)i * n;
    for (int j = 0; j < n; j++) ci[j] = 0.0f;
    for (int k = 0; k < n; k++) {
      float aik = a[(size_t)i * n + k];
      const float *bk = b + (size_t)k * n;
      for (int j = 0; j < n; j++) ci[j] += aik * bk[j];
    }
  }
}

static void mlp(int n, const float *a, const float *b, const float *bias, float *c) {
  matmul(n, a, b, c);
#pragma omp parallel for
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      float v = c[(size_t)i * n + j] + bias[j];
      c[(size_t)i * n + j] = v > 0.0f ? v : 0.0f;
    }
}

static void softmax(int rows, int cols, const float *x, float *y) {
#pragma omp parallel for
  for (int i = 0; i < rows; i++) {
    const float *xi = x + (size_t)i * cols;
    float *yi = y + (size_t)i * cols;
    float m = -INFINITY, s = 0.0f;
    for (int j = 0; j < cols; j++) m = xi[j] > m ? xi[j] : m;
    for (int j = 0; j < cols; j++) { yi[j] = expf(xi[j] - m); s += yi[j]; }
    for (int j = 0; j < cols; j++) yi[j] /= s;
  }
}

static void layernorm(int rows, int cols, const float *x, float *y) {
#pragma omp parallel for
  for (int i = 0; i < rows; i++) {
    const float *xi = x + (size_t)i * cols;
    float *yi = y + (size_t)i * cols;
    float s = 0.0f, v = 0.0f;
    for (int j = 0; j < cols; j++) s += xi[j];
    float mean = s / cols;
    for (int j = 0; j < cols; j++) v += (xi[j] - mean) * (xi[j] - mean);
    float sd = sqrtf(v / cols + 1e-5f);
    for (int j = 0; j < cols; j++) yi[j] = (xi[j] - mean) / sd;
  }
}

static void tanh_fma(size_t n, const float *a, const float *b, const float *c, float *y) {
#pragma omp parallel for
  for (size_t i = 0; i < n; i++) y[i] = tanhf(a[i] * b[i] + c[i]);
}

static void mandelbrot(int n, int *out) {
  double step = 2.5 / n;
#pragma omp parallel for schedule(dynamic, 8)
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      double cr = j * step - 2.0, ci = i * step - 1.25, x = 0, y = 0;
      int k = 0;
      for (int it = 0; it < 100; it++) {
        if (x * x + y * y < 4.0) {
          double xn = x * x - y * y + cr;
          y = 2.0 * x * y + ci;
          x = xn;
          k++;
        }
      }
      out[(size_t)i * n + j] = k;
    }
}

static void scale(size_t n, float *buf) {
#pragma omp parallel for
  for (size_t i = 0; i < n; i++) buf[i] = buf[i] * 2.0f + 1.0f;
}

static double sum(size_t n, const float *x) {
  double total = 0;
  float acc = 0;
#pragma omp parallel for reduction(+ : acc)
  for (size_t i = 0; i < n; i++) acc += x[i];
  total = acc;
  return total;
}

static void histogram(size_t n, const int *x, long *h) {
#pragma omp parallel for
  for (size_t i = 0; i < n; i++) {
#pragma omp atomic
    h[x[i] & 255]++;
  }
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: kernels NAME SIZE RUNS\n");
    return 2;
  }
  const char *name = argv[1];
  int n = atoi(argv[2]), runs = atoi(argv[3]);
  int rows = 1024;
  int flat = !strcmp(name, "parallel_scale") || !strcmp(name, "sum") || !strcmp(name, "histogram");
  size_t nn = flat ? (size_t)n
              : (!strcmp(name, "softmax") || !strcmp(name, "layernorm")) ? (size_t)rows * n
                                                                          : (size_t)n * n;
  float *a = filled(nn, 0.5f), *b = filled(nn, 0.25f), *c = filled(nn, 0.1f), *y = filled(nn, 0.0f);
  int *iy = malloc(nn * sizeof(int));
  if (!strcmp(name, "histogram"))
    for (size_t i = 0; i < nn; i++) iy[i] = 3; /* Strata's and NumPy's data */
  double *t = malloc(sizeof(double) * (runs + 1));
  for (int r = 0; r <= runs; r++) {
    double t0 = now_ms();
    if (!strcmp(name, "matmul")) matmul(n, a, b, y);
    else if (!strcmp(name, "mlp")) mlp(n, a, b, c, y);
    else if (!strcmp(name, "softmax")) softmax(rows, n, a, y);
    else if (!strcmp(name, "layernorm")) layernorm(rows, n, a, y);
    else if (!strcmp(name, "tanh_fma")) tanh_fma(nn, a, b, c, y);
    else if (!strcmp(name, "mandelbrot")) mandelbrot(n, iy);
    else if (!strcmp(name, "parallel_scale")) scale((size_t)n, a);
    else if (!strcmp(name, "sum")) y[nn / 3] = (float)sum(nn, a);
    else if (!strcmp(name, "histogram")) {
      static long h[256];
      histogram(nn, iy, h);
    }
    else { fprintf(stderr, "unknown kernel %s\n", name); return 2; }
    t[r] = now_ms() - t0;
  }
  qsort(t + 1, runs, sizeof(double), cmp); /* t[0] was the warm-up */
  printf("median_ms %.6f check %g\n", t[1 + runs / 2], (double)y[nn / 3] + iy[nn / 3] * 0);
  return 0;
}
