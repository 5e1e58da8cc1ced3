#!/usr/bin/env python3
"""Measures every benchmark kernel under Strata and its peers in one run.

Peers: NumPy (OpenBLAS; the kernel it picked is reported via threadpoolctl)
and the same kernel written plainly in C (clang -O3 -march=native
-fopenmp). For each kernel and thread count, the peers run in alternating
rounds; each round reports a median, and the table shows the median of the
rounds. Reference lines: the measured FMA peak and a STREAM-like triad.

Writes docs/benchmarks.md (the table) and docs/matmul.png (the plot).
Run it through bench/run.sh, which builds everything and sets up the
environment (the one command named in the README).
"""

import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "target" / "bench"
STRATA_RUN = ROOT / "target" / "release" / "strata-run"
QUICK = os.environ.get("STRATA_BENCH_QUICK") == "1"
ROUNDS = 1 if QUICK else 3
THREADS = [1, 2]


def sh(cmd, env=None):
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed:\n{out.stderr}")
    return out.stdout


def kernel_file(template, **subs):
    text = (ROOT / "bench" / "kernels" / f"{template}.mlir.in").read_text()
    for key, value in sorted(subs.items(), key=lambda kv: -len(kv[0])):
        text = text.replace("@" + key, str(value))
    name = template + "_" + "_".join(f"{k}{v}" for k, v in sorted(subs.items()))
    path = BUILD / f"{name}.mlir"
    path.write_text(text)
    return path


# (label, strata file, strata inputs, C args, numpy setup -> callable, work, unit, runs)
def kernels():
    out = []
    for n in ([256, 512] if QUICK else [256, 1024, 2048]):
        runs = 5 if n <= 1024 else 2
        out.append(dict(
            label=f"matmul f32 {n}^3", group="matmul", size=n,
            strata=(kernel_file("matmul", N=n), [f"--input={n}x{n}xf32=0.5", f"--input={n}x{n}xf32=0.25"]),
            c=("matmul", n), numpy=lambda n=n: matmul_np(n),
            work=2.0 * n ** 3, unit="GFLOP/s", runs=runs))
    n = 512 if QUICK else 1024
    out.append(dict(
        label=f"MLP layer f32 {n} (matmul+bias+relu)", group="mlp", size=n,
        strata=(kernel_file("mlp", N=n), [f"--input={n}x{n}xf32=0.5", f"--input={n}x{n}xf32=0.25", f"--input={n}xf32=-1"]),
        c=("mlp", n), numpy=lambda n=n: mlp_np(n), work=2.0 * n ** 3 + 2.0 * n * n, unit="GFLOP/s", runs=5))
    rows, cols = 1024, 4096
    for name, label in [("softmax", "softmax"), ("layernorm", "layernorm")]:
        out.append(dict(
            label=f"{label} f32 {rows}x{cols}", group=name, size=cols,
            strata=(kernel_file(name, R=rows, C=cols), [f"--input={rows}x{cols}xf32=0.5"]),
            c=(name, cols), numpy=(lambda f=name: softmax_np(rows, cols)) if name == "softmax" else (lambda: layernorm_np(rows, cols)),
            work=2.0 * rows * cols * 4, unit="GB/s", runs=7))
    n = 2048 if QUICK else 4096
    out.append(dict(
        label=f"tanh(a*b+c) f32 {n}x{n}", group="tanh_fma", size=n,
        strata=(kernel_file("tanh_fma", N=n), [f"--input={n}x{n}xf32=0.5", f"--input={n}x{n}xf32=0.25", f"--input={n}x{n}xf32=0.1"]),
        c=("tanh_fma", n), numpy=lambda n=n: tanh_fma_np(n), work=4.0 * n * n * 4, unit="GB/s", runs=5))
    n = 512 if QUICK else 1024
    out.append(dict(
        label=f"Mandelbrot f64 {n}x{n}, 100 iterations", group="mandelbrot", size=n,
        strata=(kernel_file("mandelbrot", N=n, STEP=repr(2.5 / n)), []),
        c=("mandelbrot", n), numpy=lambda n=n: mandelbrot_np(n), work=float(n * n) / 1e3, unit="Mpixel/s", runs=5))
    out.append(dict(
        label=f"Mandelbrot f64 {n}x{n}, scf.while escape loop", group="mandelbrot", size=n,
        strata=(kernel_file("mandelbrot_while", N=n, STEP=repr(2.5 / n)), []),
        c=("mandelbrot", n), numpy=lambda n=n: mandelbrot_np(n), work=float(n * n) / 1e3, unit="Mpixel/s", runs=5))
    n = 1 << 24
    out.append(dict(
        label=f"parallel_for scale f32 {n} (in place)", group="parallel_scale", size=n,
        strata=(kernel_file("parallel_scale", N=n), [f"--input={n}xf32=1"]),
        c=("parallel_scale", n), numpy=lambda n=n: scale_np(n), work=2.0 * n * 4, unit="GB/s", runs=9))
    for name, label in [("sum_reduce", "strata.reduce"), ("sum_parallel_for", "parallel_for reduce")]:
        out.append(dict(
            label=f"sum f32 {n} ({label})", group="sum", size=n,
            strata=(kernel_file(name, N=n), [f"--input={n}xf32=0.5"]),
            c=("sum", n), numpy=lambda n=n: sum_np(n), work=1.0 * n * 4, unit="GB/s", runs=9))
    out.append(dict(
        label=f"histogram {n} i32 into 256 bins (atomic_rmw)", group="histogram", size=n,
        strata=(kernel_file("histogram", N=n), [f"--input={n}xi32=3", "--input=256xi64=0"]),
        c=("histogram", n), numpy=lambda n=n: histogram_np(n), work=1.0 * n * 4, unit="GB/s", runs=5))
    return out


# --- NumPy versions, array at a time -------------------------------------

def matmul_np(n):
    a = np.full((n, n), 0.5, np.float32); b = np.full((n, n), 0.25, np.float32)
    return lambda: a @ b

def mlp_np(n):
    a = np.full((n, n), 0.5, np.float32); b = np.full((n, n), 0.25, np.float32); bias = np.full(n, -1, np.float32)
    return lambda: np.maximum(a @ b + bias, 0)

def softmax_np(r, c):
    x = np.full((r, c), 0.5, np.float32)
    def f():
        e = np.exp(x - x.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    return f

def layernorm_np(r, c):
    x = np.full((r, c), 0.5, np.float32)
    def f():
        m = x.mean(axis=1, keepdims=True)
        d = x - m
        return d / np.sqrt((d * d).mean(axis=1, keepdims=True) + 1e-5)
    return f

def tanh_fma_np(n):
    a = np.full((n, n), 0.5, np.float32); b = np.full((n, n), 0.25, np.float32); c = np.full((n, n), 0.1, np.float32)
    return lambda: np.tanh(a * b + c)

def mandelbrot_np(n):
    step = 2.5 / n
    cr = (np.arange(n) * step - 2.0)[None, :].repeat(n, 0)
    ci = (np.arange(n) * step - 1.25)[:, None].repeat(n, 1)
    def f():
        x = np.zeros((n, n)); y = np.zeros((n, n)); k = np.zeros((n, n), np.int32)
        for _ in range(100):
            inside = x * x + y * y < 4.0
            xn = x * x - y * y + cr
            y = np.where(inside, 2.0 * x * y + ci, y)
            x = np.where(inside, xn, x)
            k += inside
        return k
    return f

def scale_np(n):
    buf = np.ones(n, np.float32)
    def f():
        np.multiply(buf, 2.0, out=buf)
        np.add(buf, 1.0, out=buf)
    return f


def sum_np(n):
    x = np.full(n, 0.5, np.float32)
    return lambda: x.sum()

def histogram_np(n):
    # The same data as Strata's (every value 3): bincount into 256 bins.
    x = np.full(n, 3, np.int32)
    return lambda: np.bincount(x, minlength=256)


# --- Measurement -----------------------------------------------------------

def strata_ms(k, threads):
    path, inputs = k["strata"]
    out = sh([STRATA_RUN, path, *inputs, f"--threads={threads}", f"--benchmark={k['runs']}"])
    m = re.match(r"benchmark: \d+ runs, median ([0-9.]+) ms", out)
    if not m:
        raise RuntimeError(f"unexpected strata-run output: {out}")
    return float(m.group(1))

def c_ms(k, threads):
    name, size = k["c"]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = sh([BUILD / "kernels", name, str(size), str(k["runs"])], env=env)
    return float(out.split()[1])

def numpy_ms(k, threads, fns={}):
    if k["label"] not in fns:
        fns[k["label"]] = k["numpy"]()
    f = fns[k["label"]]
    with threadpool_limits(limits=threads):
        f()
        times = []
        for _ in range(k["runs"]):
            t = time.perf_counter(); f(); times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)

PEERS = [("Strata", strata_ms), ("NumPy", numpy_ms), ("C (clang -O3 -fopenmp)", c_ms)]


def main():
    BUILD.mkdir(parents=True, exist_ok=True)
    for src, exe in [("kernels.c", "kernels"), ("peak.c", "peak")]:
        sh([os.environ.get("STRATA_CLANG", "clang"), "-O3", "-march=native", "-fopenmp",
            ROOT / "bench" / "c" / src, "-o", BUILD / exe, "-lm"])
    np_info = [i for i in threadpool_info() if i.get("internal_api") == "openblas"]
    blas = ", ".join(f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')})" for i in np_info) or "no OpenBLAS found"
    ref = {}
    for t in THREADS:
        env = dict(os.environ, OMP_NUM_THREADS=str(t))
        ref[t] = {
            "fma": float(sh([BUILD / "peak", "fma"], env=env).split()[1]),
            "triad": float(sh([BUILD / "peak", "triad"], env=env).split()[1]),
        }
        print(f"reference, {t} thread(s): FMA peak {ref[t]['fma']:.1f} GFLOP/s, triad {ref[t]['triad']:.1f} GB/s", flush=True)

    results = []
    for k in kernels():
        for t in THREADS:
            rounds = {name: [] for name, _ in PEERS}
            for _ in range(ROUNDS):
                for name, measure in PEERS:  # alternating, round by round
                    rounds[name].append(measure(k, t))
            row = dict(kernel=k["label"], group=k["group"], size=k["size"], threads=t, unit=k["unit"])
            for name, _ in PEERS:
                ms = statistics.median(rounds[name])
                row[name] = dict(ms=ms, rate=k["work"] / (ms / 1e3) / 1e9 if k["unit"] != "Mpixel/s" else k["work"] / ms)
            results.append(row)
            print(f"{k['label']:45s} {t}T  " + "  ".join(f"{n}: {row[n]['ms']:9.3f} ms" for n, _ in PEERS), flush=True)

    commit = sh(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]).strip()
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("model name")), machine)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    (BUILD / "results.json").write_text(json.dumps(dict(results=results, ref=ref, blas=blas, commit=commit, cpu=cpu, date=stamp), indent=1))
    write_markdown(results, ref, blas, commit, cpu, stamp)
    plot(results, ref, commit, stamp)


def write_markdown(results, ref, blas, commit, cpu, stamp):
    lines = [
        "# Benchmarks",
        "",
        "Generated by `bash bench/run.sh` (see the README); every figure below comes from",
        f"that one run: commit `{commit}`, {stamp}, on {cpu} ({os.cpu_count()} cores).",
        f"Nothing here is typed in by hand. {'QUICK mode (smaller sizes, one round). ' if QUICK else ''}"
        f"Each cell is the median over {ROUNDS} alternating round(s) of each peer's median.",
        "",
        f"- NumPy {np.__version__} with {blas} (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset).",
        "- C: the same kernel as a plain loop nest, `clang -O3 -march=native -fopenmp` (bench/c/kernels.c).",
        "- Strata: `strata-run --benchmark` at the default pipeline (O3), `--threads` as shown.",
        "",
        "Reference lines (bench/c/peak.c):",
        "",
        "| threads | FMA peak (f32) | triad bandwidth |",
        "|---|---|---|",
    ]
    for t, r in ref.items():
        lines.append(f"| {t} | {r['fma']:.1f} GFLOP/s | {r['triad']:.1f} GB/s |")
    lines += ["", "| kernel | threads | unit | Strata | NumPy | C | Strata / NumPy | Strata / C |", "|---|---|---|---|---|---|---|---|"]
    for r in results:
        s, n, c = r["Strata"], r["NumPy"], r["C (clang -O3 -fopenmp)"]
        cell = lambda p: f"{p['rate']:.2f} ({p['ms']:.2f} ms)"
        lines.append(
            f"| {r['kernel']} | {r['threads']} | {r['unit']} | {cell(s)} | {cell(n)} | {cell(c)} | "
            f"{n['ms'] / s['ms']:.2f}x | {c['ms'] / s['ms']:.2f}x |")
    lines += ["", "Ratios are speed ratios (peer time / Strata time): above 1 means Strata is faster.",
              "", "![matmul GFLOP/s by size](matmul.png)", ""]
    (ROOT / "docs" / "benchmarks.md").write_text("\n".join(lines))


def plot(results, ref, commit, stamp):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    t = max(THREADS)
    rows = [r for r in results if r["group"] == "matmul" and r["threads"] == t]
    sizes = [r["size"] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, _ in PEERS:
        ax.plot(sizes, [r[name]["rate"] for r in rows], marker="o", label=name)
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


if __name__ == "__main__":
    sys.exit(main())
