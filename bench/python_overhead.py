"""What the Python layer costs (a benchmark script, not a test).

1. Call overhead: a kernel adding two 2x16 f32 arrays, called from Python
   (`k(a, b)`: argument checks, fresh output array, GIL released and
   retaken) against the same call made from Rust in a loop (`k.benchmark`,
   which times `Kernel::call_raw` on prepared pointers without Python in
   between: the Rust call).
2. Traced against hand-written: softmax, an MLP layer and Mandelbrot written
   with @strata.jit against the same kernels written in MLIR text and
   compiled by the same JIT in this process, median of N calls each, the
   two alternating; and the MLIR text under `strata-run --benchmark`
   (target/release, else target/debug), when one is built.

    target/py-venv/bin/python bench/python_overhead.py [--threads N]

Needs the package installed (`pip install ./python`, or scripts/test.sh).
"""

import argparse
import os
import platform
import re
import statistics
import subprocess
import tempfile
import time

import numpy as np

import strata

ADD = """
func.func @main(%a: tensor<2x16xf32>, %b: tensor<2x16xf32>) -> tensor<2x16xf32> {
  %r = strata.add %a, %b : tensor<2x16xf32>
  return %r : tensor<2x16xf32>
}
"""

SOFTMAX = """
func.func @main(%x: tensor<512x1024xf32>) -> tensor<512x1024xf32> {
  %m = strata.reduce "max" %x dims = [1] : tensor<512x1024xf32> -> tensor<512xf32>
  %mb = strata.broadcast %m dims = [1] : tensor<512xf32> -> tensor<512x1024xf32>
  %d = strata.sub %x, %mb : tensor<512x1024xf32>
  %e = strata.exp %d : tensor<512x1024xf32>
  %s = strata.reduce "add" %e dims = [1] : tensor<512x1024xf32> -> tensor<512xf32>
  %sb = strata.broadcast %s dims = [1] : tensor<512xf32> -> tensor<512x1024xf32>
  %r = strata.div %e, %sb : tensor<512x1024xf32>
  return %r : tensor<512x1024xf32>
}
"""

MLP = """
func.func @main(%x: tensor<256x512xf32>, %w: tensor<512x256xf32>, %bias: tensor<256xf32>) -> tensor<256x256xf32> {
  %mm = strata.matmul %x, %w : tensor<256x512xf32>, tensor<512x256xf32> -> tensor<256x256xf32>
  %bb = strata.broadcast %bias dims = [0] : tensor<256xf32> -> tensor<256x256xf32>
  %s = strata.add %mm, %bb : tensor<256x256xf32>
  %r = strata.map(%s) : (tensor<256x256xf32>) -> tensor<256x256xf32> {
  ^bb0(%v: f32):
    %z = arith.constant 0.0 : f32
    %m = arith.maximumf %v, %z : f32
    strata.yield %m : f32
  }
  return %r : tensor<256x256xf32>
}
"""

# The traced Mandelbrot's arithmetic, with the 100 steps as an scf.for.
MANDELBROT = """
func.func @main(%cr: tensor<512x512xf64>, %ci: tensor<512x512xf64>) -> tensor<512x512xf64> {
  %r = strata.map(%cr, %ci) : (tensor<512x512xf64>, tensor<512x512xf64>) -> tensor<512x512xf64> {
  ^bb0(%a: f64, %b: f64):
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c100 = arith.constant 100 : index
    %zero = arith.constant 0.0 : f64
    %one = arith.constant 1.0 : f64
    %two = arith.constant 2.0 : f64
    %four = arith.constant 4.0 : f64
    %res:3 = scf.for %k = %c0 to %c100 step %c1 iter_args(%x = %zero, %y = %zero, %n = %zero) -> (f64, f64, f64) {
      %xx = arith.mulf %x, %x : f64
      %yy = arith.mulf %y, %y : f64
      %d = arith.subf %xx, %yy : f64
      %xn = arith.addf %d, %a : f64
      %tx = arith.mulf %two, %x : f64
      %txy = arith.mulf %tx, %y : f64
      %yn = arith.addf %txy, %b : f64
      %xn2 = arith.mulf %xn, %xn : f64
      %yn2 = arith.mulf %yn, %yn : f64
      %r2 = arith.addf %xn2, %yn2 : f64
      %inside = arith.cmpf olt, %r2, %four : f64
      %inc = arith.select %inside, %one, %zero : f64
      %n1 = arith.addf %n, %inc : f64
      scf.yield %xn, %yn, %n1 : f64, f64, f64
    }
    strata.yield %res#2 : f64
  }
  return %r : tensor<512x512xf64>
}
"""


@strata.jit
def softmax(x):
    e = strata.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@strata.jit
def mlp(x, w, b):
    return strata.maximum(x @ w + b, 0.0)


def step(cr, ci):
    def f(zr, zi, n):
        zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
        return zr, zi, n + strata.where(zr * zr + zi * zi < 4.0, 1.0, 0.0)
    return f


def escape(cr, ci):  # strata.loop: one scf.for, as in the MLIR text
    return strata.loop(100, step(cr, ci), 0.0, 0.0, 0.0)[2]


def escape_unrolled(cr, ci):  # a Python for: 100 copies of the body
    zr, zi, n = 0.0, 0.0, 0.0
    for _ in range(100):
        zr, zi, n = step(cr, ci)(zr, zi, n)
    return n


mandelbrot = strata.jit(lambda cr, ci: strata.map(escape, cr, ci))
mandelbrot_unrolled = strata.jit(lambda cr, ci: strata.map(escape_unrolled, cr, ci))


def python_call_us(k, args, calls=20_000):
    """The mean time of one Python call over `calls` calls, in us."""
    t = time.perf_counter()
    for _ in range(calls):
        k(*args)
    return (time.perf_counter() - t) / calls * 1e6


def strata_run_ms(text, inputs, runs):
    """The median that `strata-run --benchmark` reports for the MLIR text,
    or None without a built strata-run."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    tool = next((t for t in (f"{root}/target/release/strata-run", f"{root}/target/debug/strata-run")
                 if os.path.exists(t)), None)
    if tool is None:
        return None
    with tempfile.TemporaryDirectory() as d:
        with open(f"{d}/k.mlir", "w") as f:
            f.write(text)
        flags = []
        for i, x in enumerate(inputs):
            np.save(f"{d}/in{i}.npy", np.ascontiguousarray(x))
            flags.append(f"--input=@{d}/in{i}.npy")
        out = subprocess.run([tool, f"{d}/k.mlir", *flags, f"--benchmark={runs}"], capture_output=True, text=True)
    m = re.search(r"median ([0-9.]+) ms", out.stdout + out.stderr)
    return float(m.group(1)) if m else None


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--runs", type=int, default=30)
    args = p.parse_args()
    if args.threads:
        strata.set_threads(args.threads)
    print(f"host: {platform.processor() or platform.machine()}, pool threads: {strata.pool_threads()}")

    k = strata.compile(ADD)
    a = np.ones((2, 16), np.float32)
    b = np.ones((2, 16), np.float32)
    k(a, b)
    traced_add = strata.jit(lambda x, y: x + y)
    traced_add(a, b)
    # Rounds of the three alternate, and each figure is its best round: on
    # a shared machine, other processes only ever add time.
    rust, py, jit_py = [], [], []
    for _ in range(9):
        rust.append(k.benchmark(a, b, runs=20_000)["median_ms"] * 1e3)
        py.append(python_call_us(k, (a, b)))
        jit_py.append(python_call_us(traced_add, (a, b)))
    rust, py, jit_py = min(rust), min(py), min(jit_py)
    print("\n## Call overhead: 2x16 f32 add (best of 9 rounds)")
    print(f"Rust call (Kernel::call_raw, timed in Rust): {rust:.3f} us")
    print(f"Python call k(a, b):                         {py:.3f} us  (overhead {py - rust:.3f} us)")
    print(f"Python call of the @strata.jit function:     {jit_py:.3f} us  (overhead {jit_py - rust:.3f} us)")

    rng = np.random.default_rng(0)
    x = rng.standard_normal((512, 1024)).astype(np.float32)
    mx, mw, mb = (rng.standard_normal(s).astype(np.float32) for s in ((256, 512), (512, 256), (256,)))
    ys, xs = np.mgrid[-1.25:1.25:512j, -2.0:0.5:512j]
    cases = [
        ("softmax 512x1024 f32", softmax, SOFTMAX, (x,)),
        ("MLP 256x512 @ 512x256 f32", mlp, MLP, (mx, mw, mb)),
        ("Mandelbrot 512x512 f64, 100 steps (strata.loop)", mandelbrot, MANDELBROT, (xs, ys)),
        ("Mandelbrot, Python for (unrolled)", mandelbrot_unrolled, MANDELBROT, (xs, ys)),
    ]
    print(f"\n## Traced (@strata.jit) against MLIR text, median of {args.runs} calls, alternating")
    print("| kernel | traced ms | MLIR text ms | traced / text | strata-run --benchmark ms |")
    print("|---|---|---|---|---|")
    for name, traced, source, inputs in cases:
        text = strata.compile(source)
        np.testing.assert_allclose(traced(*inputs), text(*inputs), rtol=1e-4, atol=1e-4)
        kt = traced.kernel(*inputs)
        t_traced, t_text = [], []
        for _ in range(5):
            t_traced.append(kt.benchmark(*inputs, runs=args.runs)["median_ms"])
            t_text.append(text.benchmark(*inputs, runs=args.runs)["median_ms"])
        mt, mx_ = statistics.median(t_traced), statistics.median(t_text)
        tool = strata_run_ms(source, inputs, args.runs)
        print(f"| {name} | {mt:.3f} | {mx_:.3f} | {mt / mx_:.2f} | {'-' if tool is None else f'{tool:.3f}'} |")


if __name__ == "__main__":
    main()
