#!/usr/bin/env python3
"""Measures every benchmark kernel under Strata and its peers in one run.

Peers: NumPy (OpenBLAS; the kernel it picked is reported via threadpoolctl),
the same kernel written plainly in C (clang -O3 -march=native -fopenmp),
IREE and JAX (bench/peers.py: one worker process per peer and thread
count) and Mojo (bench/mojo/kernels.mojo, for the kernels Modular's own
examples cover). A peer that is not installed or fails is reported as
unavailable with its reason; the run goes on.

Every peer's result is checked against a reference first: NumPy in float64
for float kernels (a normwise relative error under the kernel's
tolerance), exact for integer kernels and Mandelbrot's counts. Then, for
each kernel and thread count, the peers run in alternating rounds; each
round reports a median over its timed calls, and the table shows the
median of the rounds. Run counts follow a time budget per measurement, so
a slow kernel runs once per round instead of blowing up the total.
Reference lines: the measured FMA peak and a STREAM-like triad
(bench/c/peak.c).

Writes docs/benchmarks.md (the tables), docs/matmul.png and
docs/contractions.png (the plots). Run it through bench/run.sh, which
installs the peers and builds everything (the one command named in the
README). STRATA_BENCH_QUICK=1: smaller sizes, one round.
"""

import datetime
import json
import math
import os
import platform
import re
import select
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "target" / "bench"
INPUTS = BUILD / "inputs"
OUTS = BUILD / "outputs"
STRATA_RUN = ROOT / "target" / "release" / "strata-run"
VENV_BIN = Path(sys.executable).parent
QUICK = os.environ.get("STRATA_BENCH_QUICK") == "1"
ROUNDS = 1 if QUICK else 5
THREADS = [1, 2]
# Wall time one measurement (one peer, one round) aims at; the run count
# is this over one call's time, within [1, the kernel's runs].
BUDGET_MS = 300 if QUICK else 1200
WORKER_TIMEOUT_S = 300


def sh(cmd, env=None, timeout=900):
    out = subprocess.run(list(map(str, cmd)), capture_output=True, text=True, env=env, timeout=timeout)
    if out.returncode != 0:
        tail = (out.stderr or out.stdout).strip().splitlines()
        raise RuntimeError(tail[-1] if tail else f"exit status {out.returncode}")
    return out.stdout


def first_line(e):
    text = str(e).strip().splitlines()
    return (text[0] if text else type(e).__name__)[:200]


def kernel_file(template, **subs):
    text = (ROOT / "bench" / "kernels" / f"{template}.mlir.in").read_text()
    for key, value in sorted(subs.items(), key=lambda kv: -len(kv[0])):
        text = text.replace("@" + key, str(value))
    name = template + "_" + "_".join(f"{k}{v}" for k, v in sorted(subs.items()))
    path = BUILD / f"{name}.mlir"
    path.write_text(text)
    return path


# --- Inputs ------------------------------------------------------------------

def pattern(shape, seed):
    """(i * seed + 13) mod 1021 / 1024 - 0.5 in f32: bench/mojo/kernels.mojo makes the same values."""
    n = math.prod(shape)
    i = np.arange(n, dtype=np.int64)
    return (((i * seed + 13) % 1021).astype(np.float32) / np.float32(1024) - np.float32(0.5)).reshape(shape)


def random(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "i":
        return rng.integers(-8, 9, size=shape).astype(dtype)
    return rng.uniform(-1, 1, size=shape).astype(dtype)


def save_inputs(label, arrays):
    paths = []
    for i, a in enumerate(arrays):
        p = INPUTS / f"{re.sub(r'[^A-Za-z0-9]+', '_', label)}_{i}.npy"
        np.save(p, a)
        paths.append(p)
    return paths


# --- The kernels -------------------------------------------------------------
#
# Each kernel: label; kind (contraction, memory or pixels: which table and
# reference line); strata (template file, substitutions); inputs (arrays);
# ref (float64 NumPy on those arrays: the reference every peer is checked
# against); numpy (what the NumPy peer runs, same inputs); check ("exact" or
# a relative tolerance); work (flops, bytes or pixels per call); peak
# ("fma", "fma64", "triad" or None); runs (most timed calls per round); c,
# mojo (name, size) for the compiled peers; peer (name, params) for IREE
# and JAX; strata_flags (optional): more strata-run flags.

def f64(*arrays):
    return [a.astype(np.float64) for a in arrays]


def contraction(label, template, subs, inputs, ref, flops, runs=5, peer=None, dtype="f32", c=None, numpy=None,
                tol=None, group=None, size=None):
    return dict(label=label, kind="contraction", strata=(template, subs), inputs=inputs, ref=ref,
                numpy=numpy or ref, check="exact" if dtype == "i32" else (tol or (1e-9 if dtype == "f64" else 2e-3)),
                work=flops, unit="GOP/s" if dtype == "i32" else "GFLOP/s",
                peak=None if dtype == "i32" else ("fma64" if dtype == "f64" else "fma"),
                runs=runs, c=c, mojo=None, peer=peer, group=group, size=size)


def gelu(v):
    return 0.5 * v * (1.0 + np.tanh(0.797884583 * (v + 0.044715 * v * v * v)))


def softmax_rows(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def layernorm_rows(x):
    d = x - x.mean(axis=1, keepdims=True)
    return d / np.sqrt((d * d).mean(axis=1, keepdims=True) + 1e-5)


def mandelbrot_ref(n):
    step = 2.5 / n
    cr = (np.arange(n) * step - 2.0)[None, :].repeat(n, 0)
    ci = (np.arange(n) * step - 1.25)[:, None].repeat(n, 1)
    x = np.zeros((n, n)); y = np.zeros((n, n)); k = np.zeros((n, n), np.int32)
    for _ in range(100):
        inside = x * x + y * y < 4.0
        xn = x * x - y * y + cr
        y = np.where(inside, 2.0 * x * y + ci, y)
        x = np.where(inside, xn, x)
        k += inside
    return k


def kernels():
    out = []
    # Plain f32 matmul at several sizes (the plot), then every other spelling.
    for n in ([256, 512] if QUICK else [256, 1024, 2048]):
        a, b = random((n, n), np.float32, 1), random((n, n), np.float32, 2)
        out.append(contraction(f"matmul f32 {n}^3", "matmul", dict(N=n), [a, b], lambda a, b: a @ b, 2.0 * n ** 3,
                               runs=5 if n <= 1024 else 2, peer=("matmul", dict(M=n, K=n, N=n)), c=("matmul", n),
                               numpy=lambda a, b: a @ b, group="matmul", size=n))
    n = 512 if QUICK else 1024
    a, b = random((n, n), np.float32, 3), random((n, n), np.float32, 4)
    out.append(contraction(f"A.B^T f32 {n}^3 (strata.transpose, strata.matmul)", "matmul_bt", dict(M=n, K=n, N=n), [a, b],
                           lambda a, b: a @ b.T, 2.0 * n ** 3, peer=("matmul", dict(M=n, K=n, N=n, tb=True))))
    out.append(contraction(f"A^T.B f32 {n}^3 (strata.transpose, strata.matmul)", "matmul_at", dict(M=n, K=n, N=n), [a, b],
                           lambda a, b: a.T @ b, 2.0 * n ** 3, peer=("matmul", dict(M=n, K=n, N=n, ta=True))))
    bt, m = (8, 128) if QUICK else (16, 256)
    a, b = random((bt, m, m), np.float32, 5), random((bt, m, m), np.float32, 6)
    out.append(contraction(f"batched matmul f32 {bt}x{m}x{m}.{bt}x{m}x{m}", "batch_matmul", dict(B=bt, M=m, K=m, N=m), [a, b],
                           np.matmul, 2.0 * bt * m ** 3, peer=("batch_matmul", dict(B=bt, M=m, K=m, N=m))))
    big, k = (2048 if QUICK else 4096), 64
    a, b = random((big, k), np.float32, 7), random((k, big), np.float32, 8)
    out.append(contraction(f"skinny f32 {big}x{k}.{k}x{big}", "matmul_general", dict(M=big, K=k, N=big, T="f32"), [a, b],
                           lambda a, b: a @ b, 2.0 * big * k * big, peer=("matmul", dict(M=big, K=k, N=big))))
    for (mm, kk, nn) in ([(500, 500, 500), (499, 501, 497)] if QUICK else [(1000, 1000, 1000), (999, 1001, 997)]):
        a, b = random((mm, kk), np.float32, 9), random((kk, nn), np.float32, 10)
        out.append(contraction(f"odd sizes f32 {mm}x{kk}.{kk}x{nn}", "matmul_general", dict(M=mm, K=kk, N=nn, T="f32"), [a, b],
                               lambda a, b: a @ b, 2.0 * mm * kk * nn, peer=("matmul", dict(M=mm, K=kk, N=nn))))
    n = 512 if QUICK else 1024
    a, b = random((n, n), np.float64, 11), random((n, n), np.float64, 12)
    out.append(contraction(f"matmul f64 {n}^3", "matmul_general", dict(M=n, K=n, N=n, T="f64"), [a, b],
                           lambda a, b: a @ b, 2.0 * n ** 3, dtype="f64", peer=("matmul", dict(M=n, K=n, N=n, T="f64"))))
    # NumPy's integer matmul has no BLAS behind it (seconds at 1024^3): 512^3.
    n = 256 if QUICK else 512
    a, b = random((n, n), np.int32, 13), random((n, n), np.int32, 14)
    out.append(contraction(f"matmul i32 {n}^3", "matmul_general", dict(M=n, K=n, N=n, T="i32"), [a, b],
                           lambda a, b: a @ b, 2.0 * n ** 3, dtype="i32", runs=3, peer=("matmul", dict(M=n, K=n, N=n, T="i32"))))
    n = 512 if QUICK else 1024
    x, w, bias = random((n, n), np.float32, 15), random((n, n), np.float32, 16), random((n,), np.float32, 17)
    out.append(contraction(f"MLP layer f32 {n} (matmul+bias+relu)", "mlp", dict(N=n), [x, w, bias],
                           lambda x, w, b: np.maximum(x @ w + b, 0), 2.0 * n ** 3 + 2.0 * n * n,
                           peer=("mlp", dict(M=n, K=n, N=n, act="relu")), c=("mlp", n)))
    out.append(contraction(f"GELU MLP layer f32 {n} (matmul+bias+gelu)", "mlp_gelu", dict(M=n, K=n, N=n), [x, w, bias],
                           lambda x, w, b: gelu(x @ w + b), 2.0 * n ** 3 + 2.0 * n * n,
                           peer=("mlp", dict(M=n, K=n, N=n, act="gelu"))))
    s, d = (512 if QUICK else 1024), 64
    q, kk, v = random((s, d), np.float32, 18), random((s, d), np.float32, 19), random((s, d), np.float32, 20)
    scale = 1.0 / math.sqrt(d)
    out.append(contraction(f"attention f32 {s}x{d} (Q.K^T, scale, softmax, .V)", "attention", dict(S=s, D=d, SCALE=repr(scale)),
                           [q, kk, v], lambda q, k, v: softmax_rows((q @ k.T) * scale) @ v, 4.0 * s * s * d,
                           peer=("attention", dict(S=s, D=d, SCALE=repr(scale)))))

    # Memory-bound kernels: GB/s against the triad.
    mv = 2048 if QUICK else 4096
    a, xv = random((mv, mv), np.float32, 21), random((mv, 1), np.float32, 22)
    out.append(dict(label=f"matvec f32 {mv}x{mv}.{mv}x1", kind="memory", strata=("matmul_general", dict(M=mv, K=mv, N=1, T="f32")),
                    inputs=[a, xv], ref=lambda a, x: a @ x, numpy=lambda a, x: a @ x, check=2e-3,
                    work=4.0 * (mv * mv + 2 * mv), unit="GB/s", peak="triad", runs=9, c=None, mojo=None,
                    peer=("matmul", dict(M=mv, K=mv, N=1))))
    rows, cols = 1024, 4096
    xs = pattern((rows, cols), 7919)
    for name, fn in [("softmax", softmax_rows), ("layernorm", layernorm_rows)]:
        out.append(dict(label=f"{name} f32 {rows}x{cols}", kind="memory", strata=(name, dict(R=rows, C=cols)), inputs=[xs],
                        ref=fn, numpy=fn, check=1e-4, work=2.0 * rows * cols * 4, unit="GB/s", peak="triad", runs=7,
                        c=(name, cols), mojo=(name, cols), peer=(name, dict(R=rows, C=cols))))
    n = 2048 if QUICK else 4096
    ta, tb, tc = pattern((n, n), 7919), pattern((n, n), 104729), pattern((n, n), 1299709)
    out.append(dict(label=f"tanh(a*b+c) f32 {n}x{n}", kind="memory", strata=("tanh_fma", dict(N=n)), inputs=[ta, tb, tc],
                    ref=lambda a, b, c: np.tanh(a * b + c), numpy=lambda a, b, c: np.tanh(a * b + c), check=1e-5,
                    work=4.0 * n * n * 4, unit="GB/s", peak="triad", runs=5, c=("tanh_fma", n), mojo=("tanh_fma", n),
                    peer=("tanh_fma", dict(N=n))))
    n = 512 if QUICK else 1024
    step = repr(2.5 / n)
    for template, how in [("mandelbrot", "fixed 100-step scf.for"), ("mandelbrot_while", "scf.while escape loop")]:
        out.append(dict(label=f"Mandelbrot f64 {n}x{n}, 100 iterations (Strata: {how})", kind="pixels",
                        strata=(template, dict(N=n, STEP=step)), inputs=[], ref=lambda n=n: mandelbrot_ref(n),
                        numpy=lambda n=n: mandelbrot_ref(n), check="exact", work=float(n * n), unit="Mpixel/s", peak=None,
                        runs=5, c=("mandelbrot", n), mojo=("mandelbrot", n), peer=("mandelbrot", dict(N=n)),
                        peer_inputs=[np.array(2.5 / n)]))
    n = 1 << 24
    buf = pattern((n,), 7919)
    out.append(dict(label=f"parallel_for scale f32 {n} (in place)", kind="memory", strata=("parallel_scale", dict(N=n)),
                    inputs=[buf], ref=lambda x: x * 2 + 1, numpy=scale_np, check=1e-6, work=2.0 * n * 4, unit="GB/s",
                    peak="triad", runs=9, c=("parallel_scale", n), mojo=None, peer=None))
    for name, how in [("sum_reduce", "strata.reduce"), ("sum_parallel_for", "parallel_for reduce")]:
        out.append(dict(label=f"sum f32 {n} ({how})", kind="memory", strata=(name, dict(N=n)), inputs=[buf],
                        ref=lambda x: np.asarray(x.sum()), numpy=lambda x: np.asarray(x.sum()), check=2e-3,
                        check_scale=lambda x: float(np.abs(x).sum()), work=1.0 * n * 4, unit="GB/s", peak="triad",
                        runs=9, c=("sum", n), mojo=None, peer=("sum", dict(N=n))))
    hist = ((np.arange(n, dtype=np.int64) * 7919 + 13) % 256).astype(np.int32)
    out.append(dict(label=f"histogram {n} i32 into 256 bins (atomic_rmw)", kind="memory", strata=("histogram", dict(N=n)),
                    inputs=[hist, np.zeros(256, np.int64)], ref=lambda x, h: np.bincount(x, minlength=256).astype(np.int64),
                    numpy=lambda x, h: np.bincount(x, minlength=256), check="exact", strata_result=1,
                    work=1.0 * n * 4, unit="GB/s", peak="triad", runs=5, c=("histogram", n), mojo=None, peer=None))
    out += memory_kernels_issue11()
    out += race_checker_kernels()
    return out


def race_checker_kernels():
    """The cost of the run-time race checker (issue 14): a scatter through a
    random permutation, which the static check can only warn about, with and
    without `--strata-races=runtime`, in memory and in the L2 cache."""
    out = []
    for n in [1 << 16, 1 << 22]:
        perm = np.random.default_rng(n).permutation(n).astype(np.int32)
        x = pattern((n,), 7919)

        def scatter(p, x, o):
            o = o.copy()
            o[p] = x
            return o

        for checked in [False, True]:
            how = ", run-time race checker" if checked else ""
            out.append(dict(label=f"scatter f32 {n} through a permutation{how}", kind="memory",
                            strata=("scatter", dict(N=n)), inputs=[perm, x, np.zeros(n, np.float32)], ref=scatter,
                            numpy=scatter, check="exact", strata_result=2, work=3 * 4.0 * n, unit="GB/s",
                            peak="triad", runs=9 if n > 1 << 20 else 201, c=None, mojo=None, peer=None,
                            strata_flags=["--strata-races=runtime"] if checked else []))
    return out


def softmax_cols(x):
    e = np.exp(x - x.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def stencil_ref(x, out):
    o = np.zeros_like(x)
    o[1:-1, 1:-1] = 0.2 * (x[1:-1, 1:-1] + x[:-2, 1:-1] + x[2:, 1:-1] + x[1:-1, :-2] + x[1:-1, 2:])
    return o


def memory_kernels_issue11():
    """The memory-bound kernels of issue 11 (reductions along dim 0,
    transposes, a sigmoid, softmax along dim 0, layernorm with gamma and
    beta, a stencil over parallel_for, a broadcast along dims [0, 2]),
    each against NumPy (and JAX, bench/peers.py)."""
    out = []

    def mem(label, template, subs, inputs, ref, numpy, tol, work, peer=None, **extra):
        k = dict(label=label, kind="memory", strata=(template, subs), inputs=inputs, ref=ref, numpy=numpy, check=tol,
                 work=float(work), unit="GB/s", peak="triad", runs=9, c=None, mojo=None, peer=peer, peer_for={"jax"})
        k.update(extra)
        return k

    n = 2048 if QUICK else 4096
    x = pattern((n, n), 7919)
    out.append(mem(f"column sums f32 {n}x{n} (reduce dims [0])", "colsum", dict(R=n, C=n), [x],
                   lambda x: x.sum(axis=0), lambda x: x.sum(axis=0), 2e-3, 4.0 * (n * n + n), peer=("colsum", {}),
                   check_scale=lambda x: float(np.abs(x).sum(axis=0).max())))
    out.append(mem(f"transpose f32 {n}x{n}", "transpose", dict(N=n), [x], lambda x: x.T,
                   lambda x: np.ascontiguousarray(x.T), "exact", 2 * 4.0 * n * n, peer=("transpose", {})))
    out.append(mem(f"sigmoid f32 {n}x{n} (neg, exp, map)", "sigmoid", dict(N=n), [x], lambda x: 1 / (1 + np.exp(-x)),
                   lambda x: 1 / (1 + np.exp(-x)), 1e-5, 2 * 4.0 * n * n, peer=("sigmoid", {})))
    rows, cols = 1024, 4096
    xs = pattern((rows, cols), 7919)
    out.append(mem(f"softmax f32 {rows}x{cols} along dim 0", "softmax_cols", dict(R=rows, C=cols), [xs], softmax_cols,
                   softmax_cols, 1e-4, 2 * 4.0 * rows * cols, peer=("softmax_cols", {})))
    gamma, beta = pattern((cols,), 104729) + np.float32(1), pattern((cols,), 1299709)
    ln = lambda x, g, b: layernorm_rows(x) * g + b
    out.append(mem(f"layernorm f32 {rows}x{cols} with gamma, beta", "layernorm_affine", dict(R=rows, C=cols), [xs, gamma, beta],
                   ln, ln, 1e-4, 4.0 * (2 * rows * cols + 2 * cols), peer=("layernorm_affine", {})))
    zeros = np.zeros((n, n), np.float32)
    out.append(mem(f"5-point stencil f32 {n}x{n} (parallel_for)", "stencil", dict(N=n, LAST=n - 1), [x, zeros],
                   stencil_ref, stencil_ref, 1e-5, 2 * 4.0 * n * n, peer=("stencil", {}), strata_result=1))
    a, b, c = (32, 1024, 256) if QUICK else (64, 1024, 256)
    x3, v = pattern((a, b, c), 7919), pattern((b,), 104729)
    bc = lambda x, v: x + v[None, :, None]
    out.append(mem(f"x + broadcast dims [0, 2] f32 {a}x{b}x{c}", "broadcast3", dict(A=a, B=b, C=c), [x3, v], bc, bc, 1e-6,
                   4.0 * (2 * a * b * c + b), peer=("broadcast3", {})))
    return out


def scale_np(x):
    # In place, as Strata's and C's: the buffer is x's copy.
    buf = x.copy()
    def f():
        np.multiply(buf, 2.0, out=buf)
        np.add(buf, 1.0, out=buf)
        return buf
    return f


# --- Checking results --------------------------------------------------------

def check(k, out, ref, scale=None):
    """None when `out` matches the reference, else a short reason."""
    out = np.asarray(out)
    if out.shape != ref.shape:
        if out.size == ref.size:
            out = out.reshape(ref.shape)
        else:
            return f"shape {out.shape}, expected {ref.shape}"
    if k["check"] == "exact":
        bad = int(np.count_nonzero(out != ref))
        return None if bad == 0 else f"{bad} of {ref.size} elements differ"
    if not np.all(np.isfinite(out)):
        return "non-finite values"
    denom = scale if scale is not None else max(float(np.abs(ref).max()), 1e-30)
    err = float(np.abs(out.astype(np.float64) - ref).max()) / denom
    return None if err <= k["check"] else f"relative error {err:.1e} > {k['check']:.0e}"


# --- Peers -------------------------------------------------------------------
#
# Each peer: available(k) -> bool (the kernel has a version for it),
# verify(k, t) -> (ms estimate, failure or None), measure(k, t, runs) -> ms.

class Unavailable(Exception):
    pass


class Strata:
    name = "Strata"

    def available(self, k):
        return True

    def _path(self, k):
        if "path" not in k:
            template, subs = k["strata"]
            k["path"] = kernel_file(template, **subs)
        return k["path"]

    def verify(self, k, t):
        outs = [OUTS / f"strata_{id(k)}_{i}.npy" for i in range(k.get("strata_result", 0) + 1)]
        start = time.perf_counter()
        sh([STRATA_RUN, self._path(k), *[f"--input=@{p}" for p in k["input_paths"]], f"--threads={t}",
            *k.get("strata_flags", []), *[f"--output=@{p}" for p in outs]])
        wall = (time.perf_counter() - start) * 1e3
        return wall, np.load(outs[-1])

    def measure(self, k, t, runs):
        out = sh([STRATA_RUN, self._path(k), *[f"--input=@{p}" for p in k["input_paths"]], f"--threads={t}",
                  *k.get("strata_flags", []), f"--benchmark={runs}"])
        m = re.match(r"benchmark: \d+ runs, median ([0-9.]+) ms", out)
        if not m:
            raise RuntimeError(f"unexpected strata-run output: {out.strip()[:100]}")
        return float(m.group(1))


class NumPy:
    name = "NumPy"

    def available(self, k):
        return True

    def _fn(self, k):
        if "np_fn" not in k:
            if k["numpy"] is scale_np:
                k["np_fn"] = scale_np(*k["arrays"])
            else:
                k["np_fn"] = lambda: k["numpy"](*k["arrays"])
        return k["np_fn"]

    def verify(self, k, t):
        with threadpool_limits(limits=t):
            if k["numpy"] is scale_np:  # one call on a fresh buffer
                start = time.perf_counter()
                out = scale_np(*k["arrays"])()
                return (time.perf_counter() - start) * 1e3, out
            start = time.perf_counter()
            out = self._fn(k)()
            return (time.perf_counter() - start) * 1e3, out

    def measure(self, k, t, runs):
        f = self._fn(k)
        with threadpool_limits(limits=t):
            f()
            times = []
            for _ in range(runs):
                s = time.perf_counter(); f(); times.append((time.perf_counter() - s) * 1e3)
        return statistics.median(times)


class C:
    name = "C"

    def available(self, k):
        return k.get("c") is not None

    def measure(self, k, t, runs):
        name, size = k["c"]
        out = sh([BUILD / "kernels", name, size, runs], env=dict(os.environ, OMP_NUM_THREADS=str(t)))
        return float(out.split()[1])

    def verify(self, k, t):
        # The C kernels make their own inputs (bench/c/kernels.c) and print one
        # element as a sanity value; their results are not compared.
        return self.measure(k, t, 1), None


def cores(t):
    return ",".join(str(i) for i in range(min(t, os.cpu_count() or t)))


class Mojo:
    name = "Mojo"

    def __init__(self):
        self.exe = BUILD / "mojo_kernels"
        self.error = None
        mojo = VENV_BIN / "mojo"
        src = ROOT / "bench" / "mojo" / "kernels.mojo"
        try:
            if not mojo.exists():
                raise Unavailable(install_reason("mojo") or "mojo is not installed in the bench venv")
            if not self.exe.exists() or self.exe.stat().st_mtime < src.stat().st_mtime:
                sh([mojo, "build", src, "-o", self.exe], timeout=600)
            self.version = sh([mojo, "--version"]).strip()
        except Exception as e:
            self.error = first_line(e)

    def available(self, k):
        return k.get("mojo") is not None

    def run(self, k, t, runs, out=None):
        if self.error:
            raise Unavailable(self.error)
        name, size = k["mojo"]
        res = sh(["taskset", "-c", cores(t), self.exe, name, size, runs, t, *([out] if out else [])])
        return float(res.split()[1])

    def measure(self, k, t, runs):
        return self.run(k, t, runs)

    def verify(self, k, t):
        out = OUTS / f"mojo_{id(k)}.bin"
        ms = self.run(k, t, 1, out)
        dtype = np.int32 if k["mojo"][0] == "mandelbrot" else np.float32
        return ms, np.fromfile(out, dtype)


class Worker:
    """An IREE or JAX worker process (bench/peers.py), one per thread count."""

    def __init__(self, peer, threads):
        env = dict(os.environ)
        if peer == "jax" and threads == 1:
            env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1").strip()
        self.proc = subprocess.Popen(["taskset", "-c", cores(threads), sys.executable, ROOT / "bench" / "peers.py", peer, str(threads)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        hello = json.loads(self.proc.stdout.readline() or '{"error": "the worker exited"}')
        if "error" in hello:
            raise Unavailable(hello["error"])

    def ask(self, req):
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        # A worker that hangs (a compile that never ends) must not stop the run.
        ready, _, _ = select.select([self.proc.stdout], [], [], WORKER_TIMEOUT_S)
        if not ready:
            self.proc.kill()
            raise Unavailable(f"no answer within {WORKER_TIMEOUT_S} s; worker stopped")
        line = self.proc.stdout.readline()
        if not line:
            raise Unavailable("the worker process exited")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply


class WorkerPeer:
    def __init__(self, name, peer, module):
        self.name, self.peer, self.workers, self.error, self.variants = name, peer, {}, None, {}
        try:
            __import__(module)
        except Exception as e:
            self.error = install_reason(peer) or f"import {module}: {first_line(e)}"

    def available(self, k):
        return k.get("peer") is not None and self.peer in k.get("peer_for", {"iree", "jax"})

    def worker(self, t):
        if self.error:
            raise Unavailable(self.error)
        if t not in self.workers:
            try:
                self.workers[t] = Worker(self.peer, t)
            except Unavailable as e:
                self.error = str(e)
                raise
        return self.workers[t]

    def request(self, k, t, runs, out=None):
        name, params = k["peer"]
        worker = self.worker(t)
        if worker.proc.poll() is not None:  # it died or was stopped: a fresh one for the next kernel
            del self.workers[t]
            worker = self.worker(t)
        reply = worker.ask(dict(kernel=name, params=params, inputs=[str(p) for p in k["peer_input_paths"]],
                                runs=runs, out=str(out) if out else None))
        self.variants[(k["label"], t)] = reply.get("variant")
        return reply["ms"]

    def measure(self, k, t, runs):
        return self.request(k, t, runs)

    def verify(self, k, t):
        out = OUTS / f"{self.peer}_{id(k)}.npy"
        ms = self.request(k, t, 1, out)
        return ms, np.load(out)


def install_reason(peer):
    """Why run.sh could not install a peer, if it wrote that down."""
    status = BUILD / "install-status.txt"
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith(peer + ":"):
                return line.split(":", 1)[1].strip()
    return None


# --- The run -------------------------------------------------------------------

def host():
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = next((l.split(":", 1)[1].strip() for l in lscpu.splitlines() if l.startswith("Model name")), platform.machine())
    flags = set(next((l.split(":", 1)[1].split() for l in lscpu.splitlines() if l.startswith("Flags")), []))
    have = ", ".join(f"{f} {'yes' if f in flags else 'no'}" for f in ["avx512f", "avx2", "fma"])
    return model, have


def main():
    BUILD.mkdir(parents=True, exist_ok=True)
    INPUTS.mkdir(exist_ok=True)
    OUTS.mkdir(exist_ok=True)
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    clang = os.environ.get("STRATA_CLANG", "clang")
    for src, exe in [("kernels.c", "kernels"), ("peak.c", "peak")]:
        sh([clang, "-O3", "-march=native", "-fopenmp", ROOT / "bench" / "c" / src, "-o", BUILD / exe, "-lm"])
    np_info = [i for i in threadpool_info() if i.get("internal_api") == "openblas"]
    blas = ", ".join(f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')})" for i in np_info) or "no OpenBLAS found"
    ref_lines = {}
    measure_reference_lines(ref_lines)

    iree = WorkerPeer("IREE", "iree", "iree.runtime")
    jax = WorkerPeer("JAX", "jax", "jax")
    peers = [Strata(), NumPy(), C(), iree, jax, Mojo()]
    names = [p.name for p in peers]

    results = []
    for k in kernels():
        k["arrays"] = k["inputs"]
        k["input_paths"] = save_inputs(k["label"], k["inputs"])
        k["peer_input_paths"] = save_inputs(k["label"] + " peer", k["peer_inputs"]) if "peer_inputs" in k else k["input_paths"]
        ref = np.asarray(k["ref"](*f64(*k["arrays"])) if k["check"] != "exact" else k["ref"](*k["arrays"]))
        scale = k["check_scale"](*f64(*k["arrays"])) if "check_scale" in k else None
        for t in THREADS:
            row = dict(kernel=k["label"], kind=k["kind"], group=k.get("group"), size=k.get("size"), threads=t,
                       unit=k["unit"], peak=k["peak"])
            live = []
            for p in peers:
                if not p.available(k):
                    continue
                try:
                    est, out = p.verify(k, t)
                    bad = None if out is None else check(k, out, ref, scale)
                    row[p.name] = dict(wrong=bad, checked=out is not None)
                    runs = max(1, min(k["runs"], int(BUDGET_MS / max(est, 1e-3))))
                    row[p.name]["runs"] = runs
                    row[p.name]["rounds"] = ROUNDS if est * (runs + 1) < 2 * BUDGET_MS else 1
                    row[p.name]["ms_list"] = []
                    live.append(p)
                except Exception as e:
                    row[p.name] = dict(error=first_line(e))
            for rnd in range(ROUNDS):
                for p in live:  # alternating, round by round
                    cell = row[p.name]
                    if "error" in cell or rnd >= cell["rounds"]:
                        continue
                    try:
                        cell["ms_list"].append(p.measure(k, t, cell["runs"]))
                    except Exception as e:
                        row[p.name] = dict(error=first_line(e))
            for p in live:
                cell = row[p.name]
                if "error" in cell:
                    continue
                cell["ms"] = statistics.median(cell.pop("ms_list"))
                cell["rate"] = k["work"] / (cell["ms"] / 1e3) / (1e6 if k["unit"] == "Mpixel/s" else 1e9)
                if isinstance(p, WorkerPeer):
                    cell["variant"] = p.variants.get((k["label"], t))
            results.append(row)
            print(f"{k['label'][:50]:50s} {t}T  " + "  ".join(
                f"{n}: {row[n]['ms']:8.2f}" + ("!" if row[n].get("wrong") else "") if "ms" in row.get(n, {}) else
                (f"{n}: err" if n in row else "") for n in names), flush=True)
            for n in names:
                if n in row and (row[n].get("error") or row[n].get("wrong")):
                    print(f"    {n}: {row[n].get('error') or 'WRONG: ' + row[n]['wrong']}", flush=True)
        k.pop("np_fn", None)
        measure_reference_lines(ref_lines, quiet=True)

    measure_reference_lines(ref_lines)
    elapsed = time.perf_counter() - started
    load = (load_before, os.getloadavg()[0])
    commit = sh(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]).strip()
    model, flags = host()
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    versions = peer_versions(peers, blas)
    (BUILD / "results.json").write_text(json.dumps(dict(results=results, ref=ref_lines, versions=versions, commit=commit,
                                                        cpu=model, flags=flags, date=stamp, seconds=elapsed), indent=1, default=str))
    write_markdown(results, ref_lines, versions, commit, model, flags, stamp, elapsed, peers, load)
    plot(results, ref_lines, commit, stamp, names)


def measure_reference_lines(lines, quiet=False):
    """The best FMA peak and triad seen so far: measured before, between and
    after the kernels, as another load on the shared machine lowers any one
    measurement."""
    for t in THREADS:
        env = dict(os.environ, OMP_NUM_THREADS=str(t))
        fma = float(sh([BUILD / "peak", "fma"], env=env).split()[1])
        triad = float(sh([BUILD / "peak", "triad"], env=env).split()[1])
        old = lines.get(t, {"fma": 0.0, "triad": 0.0})
        lines[t] = {"fma": max(fma, old["fma"]), "triad": max(triad, old["triad"])}
        if not quiet:
            print(f"reference, {t} thread(s): FMA peak {fma:.1f} GFLOP/s, triad {triad:.1f} GB/s", flush=True)


def peer_versions(peers, blas):
    v = {"NumPy": f"NumPy {np.__version__} with {blas}"}
    try:
        import iree.compiler
        v["IREE"] = f"iree-base-compiler {pip_version('iree-base-compiler')} and iree-base-runtime {pip_version('iree-base-runtime')}"
    except Exception:
        pass
    try:
        import jax as j
        v["JAX"] = f"jax {j.__version__}, jaxlib {pip_version('jaxlib')}"
    except Exception:
        pass
    m = next(p for p in peers if isinstance(p, Mojo))
    if not m.error:
        v["Mojo"] = f"{m.version}, max {pip_version('max')}"
    for name, dists in PEER_DISTS.items():
        if name in v:
            v[name] += f" ({installed_mb(dists):.0f} MB installed)"
    return v


PEER_DISTS = {
    "IREE": ["iree-base-compiler", "iree-base-runtime"],
    "JAX": ["jax", "jaxlib"],
    "Mojo": ["mojo", "mojo-compiler", "mojo-compiler-mojo-libs", "mojo-lldb-libs", "mblack",
             "max", "max-core", "max-mojo-libs", "max-shmem-libs"],
}


def installed_mb(dists):
    """The size on disk of the installed distributions, from their RECORD files."""
    from importlib.metadata import distribution
    total = 0
    for d in dists:
        try:
            for f in distribution(d).files or []:
                path = f.locate()
                if path.is_file():
                    total += path.stat().st_size
        except Exception:
            pass
    return total / 2 ** 20


def pip_version(pkg):
    from importlib.metadata import version
    try:
        return version(pkg)
    except Exception:
        return "?"


def fmt_cell(c):
    if c is None:
        return "—"
    if "error" in c:
        return "n/a"
    mark = " ✗" if c.get("wrong") else ""
    return f"{c['rate']:.1f} ({c['ms']:.2f} ms){mark}"


def ratio(row, peer):
    s, p = row.get("Strata"), row.get(peer)
    if not s or not p or "ms" not in s or "ms" not in p:
        return "—"
    return f"{p['ms'] / s['ms']:.2f}x"


def write_markdown(results, ref, versions, commit, model, flags, stamp, elapsed, peers, load):
    names = [p.name for p in peers]
    lines = [
        "# Benchmarks",
        "",
        "Generated by `bash bench/run.sh` (see the README); every figure below comes from",
        f"that one run: commit `{commit}`, {stamp}, {elapsed / 60:.1f} minutes.",
        "",
        f"**Host:** {model}, {os.cpu_count()} cores (lscpu flags: {flags}). The machine is shared: its 1-minute load "
        f"average was {load[0]:.1f} when the run started and {load[1]:.1f} when it ended, so 2-thread figures in "
        "particular move from run to run; compare peers within one run.",
        "",
        f"Nothing here is typed in by hand. {'QUICK mode (smaller sizes, one round). ' if QUICK else ''}"
        f"Each cell is the median over {ROUNDS} alternating round(s) of each peer's median"
        f" (a kernel slower than the time budget runs one round); ratios compare peers within this run.",
        "",
        "Peers:",
        "",
        "- **Strata**: `strata-run --benchmark` at the default pipeline (O3), `--threads` as shown.",
        f"- **NumPy**: {versions['NumPy']} (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset), threads via threadpoolctl.",
        "- **C**: the same kernel as a plain loop nest, `clang -O3 -march=native -fopenmp` (bench/c/kernels.c), OMP_NUM_THREADS.",
        f"- **IREE**: {versions.get('IREE', 'not available')}; the kernels as MLIR on tensors (bench/peers.py), llvm-cpu backend, "
        "`--iree-llvmcpu-target-cpu=host`; each contraction compiled with data tiling + ukernels, data tiling alone and "
        "without data tiling, the fastest kept (the variant is listed below); local-task driver with "
        "`--task_topology_group_count` = threads.",
        f"- **JAX**: {versions.get('JAX', 'not available')}; `jax.jit` on the CPU backend (x64 on); threads: the worker runs under "
        "`taskset` on that many cores (XLA sizes its pools from the affinity), and at 1 thread also with "
        "`XLA_FLAGS=--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1`.",
        f"- **Mojo**: {versions.get('Mojo', 'not available')}; bench/mojo/kernels.mojo, written as Modular's examples "
        "(`vectorize` at `simd_width_of`, `parallelize` from `max.algorithm` over rows with that many workers, "
        "the process under `taskset`); Mandelbrot leaves its loop when every lane has escaped.",
        "",
        "Every result is checked before it is timed: against NumPy in float64 (normwise relative error within the "
        "kernel's tolerance) or exactly (integers, Mandelbrot's counts). ✗ marks a result that failed (see the notes); "
        "n/a a peer that failed to run; — a kernel the peer has no version of. C computes on its own data and is not "
        "checked.",
        "",
        "Reference lines (bench/c/peak.c), the best of the measurements taken before, between and after the kernels "
        "(the triad counts STREAM's 24 bytes per element, not the write-allocate read, so a kernel without a separate "
        "write stream, such as the in-place scale or a sum, can exceed it):",
        "",
        "| threads | FMA peak (f32) | triad bandwidth |",
        "|---|---|---|",
    ]
    for t, r in ref.items():
        lines.append(f"| {t} | {r['fma']:.1f} GFLOP/s | {r['triad']:.1f} GB/s |")
    others = [n for n in names if n != "Strata"]

    def table(kind, title, unit_note, line_name):
        rows = [r for r in results if r["kind"] == kind]
        if not rows:
            return
        cols = [n for n in others if any(n in r for r in rows)]
        head = "| kernel | threads | unit | Strata |" + (f" Strata % of {line_name} |" if line_name else "") + \
               "".join(f" {n} |" for n in cols) + "".join(f" Strata / {n} |" for n in cols)
        lines.extend(["", f"## {title}", "", unit_note, "", head, "|" + "---|" * (head.count("|") - 1)])
        for r in rows:
            s = r.get("Strata")
            pct = ""
            if line_name:
                peak = {"fma": ref[r["threads"]]["fma"], "fma64": ref[r["threads"]]["fma"] / 2,
                        "triad": ref[r["threads"]]["triad"]}.get(r["peak"])
                pct = f" {100 * s['rate'] / peak:.0f}% |" if peak and s and "rate" in s else " — |"
            lines.append(f"| {r['kernel']} | {r['threads']} | {r['unit']} | {fmt_cell(s)} |{pct}" +
                         "".join(f" {fmt_cell(r.get(n))} |" for n in cols) +
                         "".join(f" {ratio(r, n)} |" for n in cols))

    table("contraction", "Contractions", "GFLOP/s (GOP/s for i32) and the time per call; the % column is Strata "
          "against the FMA peak line (f64: half the f32 peak; i32: none).", "FMA peak")
    table("memory", "Memory-bound kernels", "GB/s (bytes read and written once per call) and the time per call; the % "
          "column is Strata against the triad bandwidth.", "triad")
    table("pixels", "Mandelbrot", "Mpixel/s and the time per call. IREE runs the 100 steps unrolled by hand "
          "(no escape); JAX a `fori_loop` of 100 masked steps; NumPy the same, array at a time.", None)
    lines += ["", "Ratios are speed ratios (peer time / Strata time): above 1 means Strata is faster.", ""]
    lines += targets(results, ref) + [""]

    notes = []
    for r in results:
        for n in names:
            c = r.get(n)
            if c and c.get("error") and not any(c["error"] == getattr(p, "error", None) for p in peers):
                notes.append(f"- {r['kernel']}, {r['threads']} thread(s), {n}: unavailable: {c['error']}")
            elif c and c.get("wrong"):
                notes.append(f"- {r['kernel']}, {r['threads']} thread(s), {n}: result differs from NumPy: {c['wrong']}")
    unavailable = [f"- {p.name}: not measured at all: {p.error}" for p in peers if getattr(p, "error", None)]
    lines += ["## Notes", ""] + (unavailable + notes or ["- Every peer ran and every checked result matched."])
    variants = sorted({(r["kernel"], r["IREE"].get("variant")) for r in results
                       if r["kind"] == "contraction" and r.get("IREE", {}).get("variant")})
    if variants:
        lines += ["", "IREE variant kept per contraction (threads: variant):", ""]
        for kname in dict.fromkeys(r["kernel"] for r in results if r["kind"] == "contraction"):
            vs = [f"{r['threads']}: {r['IREE']['variant']}" for r in results
                  if r["kernel"] == kname and r.get("IREE", {}).get("variant")]
            if vs:
                lines.append(f"- {kname}: {', '.join(vs)}")
    lines += ["", "![matmul GFLOP/s by size](matmul.png)", "", "![contractions against the FMA peak](contractions.png)", ""]
    (ROOT / "docs" / "benchmarks.md").write_text("\n".join(lines))


def targets(results, ref):
    """The benchmark targets of the contraction and divergent-loop issues, checked on this run's figures."""
    def rows(prefix):
        return [r for r in results if r["kernel"].startswith(prefix)]

    def ms(r, peer):
        return r.get(peer, {}).get("ms")

    def speed(r, peer):  # peer time / Strata time
        a, b = ms(r, peer), ms(r, "Strata")
        return a / b if a and b else None

    out = []

    def verdict(name, checks):
        vals = [v for _, v, _ in checks if v is not None]
        ok = all(good for _, v, good in checks if v is not None) and vals
        detail = ", ".join(f"{what} {v:.2f}" for what, v, _ in checks if v is not None) or "not measured"
        out.append(f"| {name} | {'yes' if ok else 'no'} | {detail} |")

    contr = [r for r in results if r["kind"] == "contraction"] + rows("matvec")
    checks = [(f"{r['kernel'].split(' (')[0]} {r['threads']}T", speed(r, "NumPy"), (speed(r, "NumPy") or 0) >= 0.9) for r in contr]
    failing = [c for c in checks if c[1] is not None and not c[2]]
    out.append(f"| every contraction >= 0.9x NumPy at 1 and 2 threads | {'yes' if not failing else 'no'} | "
               f"{len(checks) - len(failing)} of {len(checks)} rows; below: " +
               (", ".join(f"{w} {v:.2f}x" for w, v, _ in failing) or "none") + " |")
    ab = {r["threads"]: r for r in rows("matmul f32 1024^3")}
    abt = {r["threads"]: r for r in rows("A.B^T")}
    verdict("A.B^T within 10% of A.B (time of A.B / time of A.B^T >= 0.9)",
            [(f"{t}T", ms(ab[t], "Strata") / ms(abt[t], "Strata"), ms(ab[t], "Strata") / ms(abt[t], "Strata") >= 0.9)
             for t in THREADS if t in ab and t in abt and ms(ab[t], "Strata") and ms(abt[t], "Strata")])
    big = [r for r in rows("matmul f32 2048^3") if r["threads"] == 1]
    if big and "rate" in big[0].get("Strata", {}):
        pct = big[0]["Strata"]["rate"] / ref[1]["fma"]
        verdict("2048^3 f32 at 1 thread: >= 1.0x OpenBLAS and >= 85% of the FMA peak",
                [("x NumPy", speed(big[0], "NumPy"), (speed(big[0], "NumPy") or 0) >= 1.0), ("of peak", pct, pct >= 0.85)])
    verdict("matvec >= 80% of the triad bandwidth",
            [(f"{r['threads']}T", r["Strata"]["rate"] / ref[r["threads"]]["triad"], r["Strata"]["rate"] / ref[r["threads"]]["triad"] >= 0.8)
             for r in rows("matvec") if "rate" in r.get("Strata", {})])
    verdict("attention >= 1.0x NumPy", [(f"{r['threads']}T", speed(r, "NumPy"), (speed(r, "NumPy") or 0) >= 1.0) for r in rows("attention")])
    for peer in ["IREE", "JAX"]:
        checks = [(f"{r['kernel'].split(' (')[0]} {r['threads']}T", speed(r, peer), (speed(r, peer) or 0) >= 1.0)
                  for r in results if r["kind"] == "contraction"]
        failing = [c for c in checks if c[1] is not None and not c[2]]
        measured = [c for c in checks if c[1] is not None]
        out.append(f"| Strata ahead of {peer} on every contraction | {'yes' if measured and not failing else 'no'} | "
                   f"{len(measured) - len(failing)} of {len(measured)} rows; behind: " +
                   (", ".join(f"{w} {v:.2f}x" for w, v, _ in failing) or "none") + " |")
    mw = [r for r in rows("Mandelbrot") if "scf.while" in r["kernel"]]
    mf = [r for r in rows("Mandelbrot") if "scf.for" in r["kernel"]]
    verdict("scf.while Mandelbrot at least as fast as Mojo's", [(f"{r['threads']}T", speed(r, "Mojo"), (speed(r, "Mojo") or 0) >= 1.0) for r in mw])
    verdict("fixed-trip Mandelbrot at least as fast as IREE's unrolled one",
            [(f"{r['threads']}T", speed(r, "IREE"), (speed(r, "IREE") or 0) >= 1.0) for r in mf])
    for label, rs in [("scf.while", mw), ("fixed-trip", mf)]:
        by = {r["threads"]: ms(r, "Strata") for r in rs}
        if by.get(1) and by.get(2):
            verdict(f"{label} Mandelbrot: 1 to 2 threads scales >= 1.9x", [("scaling", by[1] / by[2], by[1] / by[2] >= 1.9)])
    red = {r["threads"]: r for r in rows("sum f32") if "strata.reduce" in r["kernel"]}
    pf = {r["threads"]: r for r in rows("sum f32") if "parallel_for reduce" in r["kernel"]}
    verdict("parallel_for reduction within 10% of strata.reduce (time of reduce / time of parallel_for >= 0.9)",
            [(f"{t}T", ms(red[t], "Strata") / ms(pf[t], "Strata"), ms(red[t], "Strata") / ms(pf[t], "Strata") >= 0.9)
             for t in THREADS if t in red and t in pf and ms(red[t], "Strata") and ms(pf[t], "Strata")])
    for r in rows("scatter"):
        if "race checker" in r["kernel"]:
            plain = [q for q in results if q["kernel"] == r["kernel"].replace(", run-time race checker", "") and q["threads"] == r["threads"]]
            if plain and ms(r, "Strata") and ms(plain[0], "Strata"):
                cost = ms(r, "Strata") / ms(plain[0], "Strata")
                verdict(f"run-time race checker < 10x the kernel: {r['kernel'].split(',')[0]} {r['threads']}T",
                        [("checked / unchecked time", cost, cost < 10)])
    return ["", "## Targets (issues 10, 12 and 14), on this run", "",
            "Speed ratios are peer time / Strata time.", "", "| target | met | figures |", "|---|---|---|"] + out


def plot(results, ref, commit, stamp, names):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    t = max(THREADS)
    rows = [r for r in results if r["group"] == "matmul" and r["threads"] == t]
    sizes = [r["size"] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name in names:
        ys = [r[name]["rate"] if "rate" in r.get(name, {}) else np.nan for r in rows]
        if not all(np.isnan(ys)):
            ax.plot(sizes, ys, marker="o", label=name)
    ax.axhline(ref[t]["fma"], color="grey", linestyle="--", label=f"FMA peak ({ref[t]['fma']:.0f} GFLOP/s)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(sizes, [str(s) for s in sizes])
    ax.set_xlabel("matrix size N (N x N x N, f32)")
    ax.set_ylabel("GFLOP/s")
    ax.set_title(f"matmul, {t} threads (commit {commit}, {stamp})", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(ROOT / "docs" / "matmul.png", dpi=110)
    plt.close(fig)

    rows = [r for r in results if r["kind"] == "contraction" and r["threads"] == t and r["unit"] == "GFLOP/s"]
    peers = [n for n in names if n not in ("C", "Mojo") and any("rate" in r.get(n, {}) for r in rows)]
    fig, ax = plt.subplots(figsize=(10, 5))
    width = 0.8 / max(len(peers), 1)
    for i, name in enumerate(peers):
        ax.bar([j + i * width for j in range(len(rows))], [r[name]["rate"] if "rate" in r.get(name, {}) else 0 for r in rows],
               width, label=name)
    ax.axhline(ref[t]["fma"], color="grey", linestyle="--", label=f"f32 FMA peak ({ref[t]['fma']:.0f} GFLOP/s)")
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(rows))],
                  [re.sub(r" \(.*\)", "", r["kernel"]) for r in rows], rotation=35, ha="right", fontsize=7)
    ax.set_ylabel("GFLOP/s")
    ax.set_title(f"contractions, {t} threads (commit {commit}, {stamp})", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(ROOT / "docs" / "contractions.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
