# The Mojo peer: Mandelbrot, tanh(a*b+c), softmax and layernorm written the
# way Modular's own examples write them (SIMD over the innermost dimension
# with `vectorize` at `simd_width_of`, `parallelize` over rows; Mandelbrot
# leaves its loop once every lane has escaped). Built by bench/bench.py with
# `mojo build`; run as
#
#   kernels NAME SIZE RUNS THREADS [OUT]  -> prints "median_ms X"
#
# after one warm-up call. THREADS is parallelize's worker count (bench.py
# also pins the process to that many cores). Inputs are made here from the
# formula that bench.py's `pattern` uses, so NumPy checks OUT (the last
# call's result, raw little-endian) against the same data.
from std.sys import simd_width_of, argv
from std.memory import alloc
from std.math import iota, exp, tanh, sqrt
from std.time import perf_counter_ns
from std.algorithm import vectorize
from max.algorithm import parallelize

comptime f32 = DType.float32
comptime f64 = DType.float64
comptime F32Ptr = Pointer[Float32, MutUntrackedOrigin]
comptime I32Ptr = Pointer[Int32, MutUntrackedOrigin]
comptime ROWS = 1024  # softmax and layernorm: ROWS x SIZE, as in bench.py


def pattern(n: Int, seed: Int) -> F32Ptr:
    # (i * seed + 13) mod 1021 / 1024 - 0.5: exact in f32, so NumPy rebuilds it bit for bit.
    var p = alloc[Float32](n)
    for i in range(n):
        p.store(i, Float32((i * seed + 13) % 1021) / 1024.0 - 0.5)
    return p


def mandelbrot(dst: I32Ptr, n: Int, threads: Int):
    comptime W = simd_width_of[f64]()
    var step = 2.5 / Float64(n)

    def worker(row: Int) {dst, n, step}:
        def compute[width: Int](col: Int) {dst, n, step, row}:
            var cr = iota[f64, width](Float64(col)) * step - 2.0
            var ci = SIMD[f64, width](Float64(row) * step - 1.25)
            var x = SIMD[f64, width](0)
            var y = SIMD[f64, width](0)
            var k = SIMD[DType.int32, width](0)
            for _ in range(100):
                var inside = (x * x + y * y).lt(4.0)
                if not inside.reduce_or():
                    break
                var xn = x * x - y * y + cr
                var yn = 2.0 * x * y + ci
                x = inside.select(xn, x)
                y = inside.select(yn, y)
                k = inside.select(k + 1, k)
            dst.store(row * n + col, k)

        vectorize[W](n, compute)

    parallelize(worker, n, threads)


def tanh_fma(
    a: F32Ptr,
    b: F32Ptr,
    c: F32Ptr,
    y: F32Ptr,
    n: Int,
    threads: Int,
):
    comptime W = simd_width_of[f32]()

    def worker(row: Int) {a, b, c, y, n}:
        var base = row * n

        def compute[width: Int](j: Int) {a, b, c, y, base}:
            var i = base + j
            var v = a.load[width=width](i) * b.load[width=width](i) + c.load[width=width](i)
            y.store(i, tanh(v))

        vectorize[W](n, compute)

    parallelize(worker, n, threads)


def softmax(
    x: F32Ptr,
    y: F32Ptr,
    cols: Int,
    threads: Int,
):
    comptime W = simd_width_of[f32]()

    def worker(row: Int) {x, y, cols}:
        var base = row * cols
        var m = Float32.MIN

        def row_max[width: Int](j: Int) {mut m, x, base}:
            m = max(m, x.load[width=width](base + j).reduce_max())

        vectorize[W](cols, row_max)
        var s = Float32(0)

        def exp_sum[width: Int](j: Int) {mut s, x, y, base, m}:
            var e = exp(x.load[width=width](base + j) - m)
            y.store(base + j, e)
            s += e.reduce_add()

        vectorize[W](cols, exp_sum)
        var inv = 1.0 / s

        def scale[width: Int](j: Int) {y, base, inv}:
            y.store(base + j, y.load[width=width](base + j) * inv)

        vectorize[W](cols, scale)

    parallelize(worker, ROWS, threads)


def layernorm(
    x: F32Ptr,
    y: F32Ptr,
    cols: Int,
    threads: Int,
):
    comptime W = simd_width_of[f32]()

    def worker(row: Int) {x, y, cols}:
        var base = row * cols
        var s = Float32(0)

        def row_sum[width: Int](j: Int) {mut s, x, base}:
            s += x.load[width=width](base + j).reduce_add()

        vectorize[W](cols, row_sum)
        var mean = s / Float32(cols)
        var v = Float32(0)

        def row_var[width: Int](j: Int) {mut v, x, base, mean}:
            var d = x.load[width=width](base + j) - mean
            v += (d * d).reduce_add()

        vectorize[W](cols, row_var)
        var inv = 1.0 / sqrt(v / Float32(cols) + 1.0e-5)

        def norm[width: Int](j: Int) {x, y, base, mean, inv}:
            y.store(base + j, (x.load[width=width](base + j) - mean) * inv)

        vectorize[W](cols, norm)

    parallelize(worker, ROWS, threads)


def main() raises:
    var args = argv()
    if len(args) < 5:
        print("usage: kernels NAME SIZE RUNS THREADS [OUT]")
        return
    var name = String(args[1])
    var n = Int(args[2])
    var runs = Int(args[3])
    var threads = Int(args[4])
    var count = n * n if name == "mandelbrot" or name == "tanh_fma" else ROWS * n
    var a = pattern(count, 7919)
    var b = pattern(count, 104729)
    var c = pattern(count, 1299709)
    var y = alloc[Float32](count)
    var k = alloc[Int32](count)
    var times = List[Float64]()
    for _ in range(runs + 1):
        var t0 = perf_counter_ns()
        if name == "mandelbrot":
            mandelbrot(k, n, threads)
        elif name == "tanh_fma":
            tanh_fma(a, b, c, y, n, threads)
        elif name == "softmax":
            softmax(a, y, n, threads)
        elif name == "layernorm":
            layernorm(a, y, n, threads)
        else:
            raise Error("unknown kernel " + name)
        times.append(Float64(perf_counter_ns() - t0) / 1.0e6)
    var warm = times[0]
    _ = warm
    var rest = List[Float64]()
    for i in range(1, len(times)):
        rest.append(times[i])
    sort(rest)
    print("median_ms", rest[len(rest) // 2])
    if len(args) > 5:
        with open(String(args[5]), "w") as f:
            if name == "mandelbrot":
                f.write_bytes(Span(unsafe_ptr=k.bitcast[UInt8](), length=count * 4))
            else:
                f.write_bytes(Span(unsafe_ptr=y.bitcast[UInt8](), length=count * 4))
    a.free()
    b.free()
    c.free()
    y.free()
    k.free()
