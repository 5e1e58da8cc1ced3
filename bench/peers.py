#!/usr/bin/env python3
"""The IREE and JAX peers of bench/bench.py, one worker process per peer and
thread count.

bench.py starts `peers.py iree THREADS` or `peers.py jax THREADS` once and
talks to it in JSON lines on stdin/stdout:

  {"kernel": NAME, "params": {...}, "inputs": [npy, ...], "runs": R, "out": npy or null}
  -> {"ms": median of R timed calls after a warm-up, "variant": ...}
     or {"error": "one line"}

The result of the last call goes to "out" (bench.py checks it against
NumPy). Compiled kernels are kept for the worker's lifetime, so only the
first request of a kernel compiles.

- IREE: each kernel written by hand as MLIR on tensors (linalg named ops and
  linalg.generic; the Mandelbrot's 100 steps unrolled, as the escape loop
  cannot be written in a linalg body), compiled with iree-compile's
  llvm-cpu backend for the host CPU (`--iree-llvmcpu-target-cpu=host`).
  A contraction is compiled in three variants (data tiling with ukernels,
  data tiling with generated code, no data tiling), each timed (the fastest
  of three calls), and the fastest is kept: "best variant"; the matvec is
  also tried spelled as linalg.matvec. Runs on the local-task driver with
  `--task_topology_group_count=THREADS`; inputs are uploaded to the device
  once, outside the timing.
- JAX: the same kernels in jax.numpy under `jax.jit` on the CPU backend,
  x64 enabled (for the f64 kernels). The thread count is set by the CPU
  affinity that bench.py starts the worker with (`taskset`), which XLA's
  thread pools size themselves from, and at 1 thread by XLA_FLAGS
  `--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1`.
"""

import json
import statistics
import sys
import time

import numpy as np

# --- The kernels as MLIR on tensors, for IREE ------------------------------

MLIR_TYPES = {"f32": "f32", "f64": "f64", "i32": "i32"}


def _zero(t):
    return "0 : i32" if t == "i32" else f"0.0 : {t}"


def _ty(shape, t):
    return "tensor<" + "x".join(map(str, shape)) + f"x{t}>"


def iree_matmul(p):
    """r = a . b with optional transposes of either operand (stored transposed)."""
    m, k, n, t = p["M"], p["K"], p["N"], p.get("T", "f32")
    ta, tb = p.get("ta", False), p.get("tb", False)
    a = _ty([k, m] if ta else [m, k], t)
    b = _ty([n, k] if tb else [k, n], t)
    r = _ty([m, n], t)
    maps = ""
    if ta or tb:
        am = "affine_map<(m, n, k) -> (k, m)>" if ta else "affine_map<(m, n, k) -> (m, k)>"
        bm = "affine_map<(m, n, k) -> (n, k)>" if tb else "affine_map<(m, n, k) -> (k, n)>"
        maps = f" indexing_maps = [{am}, {bm}, affine_map<(m, n, k) -> (m, n)>]"
    return f"""
func.func @main(%a: {a}, %b: {b}) -> {r} {{
  %z = arith.constant {_zero(t)}
  %e = tensor.empty() : {r}
  %f = linalg.fill ins(%z : {t}) outs(%e : {r}) -> {r}
  %r = linalg.matmul{maps} ins(%a, %b : {a}, {b}) outs(%f : {r}) -> {r}
  return %r : {r}
}}"""


def iree_matvec(p):
    """The M x K . K x 1 product spelled as linalg.matvec (IREE's matvec path), reshaped around it."""
    m, k = p["M"], p["K"]
    a, x, r = _ty([m, k], "f32"), _ty([k, 1], "f32"), _ty([m, 1], "f32")
    return f"""
func.func @main(%a: {a}, %x: {x}) -> {r} {{
  %z = arith.constant 0.0 : f32
  %xv = tensor.collapse_shape %x [[0, 1]] : {x} into tensor<{k}xf32>
  %e = tensor.empty() : tensor<{m}xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<{m}xf32>) -> tensor<{m}xf32>
  %y = linalg.matvec ins(%a, %xv : {a}, tensor<{k}xf32>) outs(%f : tensor<{m}xf32>) -> tensor<{m}xf32>
  %r = tensor.expand_shape %y [[0, 1]] output_shape [{m}, 1] : tensor<{m}xf32> into {r}
  return %r : {r}
}}"""


def iree_batch_matmul(p):
    bb, m, k, n = p["B"], p["M"], p["K"], p["N"]
    a, b, r = _ty([bb, m, k], "f32"), _ty([bb, k, n], "f32"), _ty([bb, m, n], "f32")
    return f"""
func.func @main(%a: {a}, %b: {b}) -> {r} {{
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : {r}
  %f = linalg.fill ins(%z : f32) outs(%e : {r}) -> {r}
  %r = linalg.batch_matmul ins(%a, %b : {a}, {b}) outs(%f : {r}) -> {r}
  return %r : {r}
}}"""


GELU_BODY = """
    %half = arith.constant 0.5 : f32
    %one = arith.constant 1.0 : f32
    %c = arith.constant 0.797884583 : f32
    %k = arith.constant 0.044715 : f32
    %v2 = arith.mulf %v, %v : f32
    %v3 = arith.mulf %v2, %v : f32
    %kv3 = arith.mulf %k, %v3 : f32
    %in0 = arith.addf %v, %kv3 : f32
    %in = arith.mulf %c, %in0 : f32
    %t = math.tanh %in : f32
    %t1 = arith.addf %one, %t : f32
    %hv = arith.mulf %half, %v : f32
    %g = arith.mulf %hv, %t1 : f32"""


def iree_mlp(p):
    """matmul, + bias, then relu or GELU (tanh approximation)."""
    m, k, n = p["M"], p["K"], p["N"]
    x, w, r, bt = _ty([m, k], "f32"), _ty([k, n], "f32"), _ty([m, n], "f32"), _ty([n], "f32")
    act = GELU_BODY if p["act"] == "gelu" else """
    %z0 = arith.constant 0.0 : f32
    %g = arith.maximumf %v, %z0 : f32"""
    return f"""
func.func @main(%x: {x}, %w: {w}, %bias: {bt}) -> {r} {{
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : {r}
  %f = linalg.fill ins(%z : f32) outs(%e : {r}) -> {r}
  %mm = linalg.matmul ins(%x, %w : {x}, {w}) outs(%f : {r}) -> {r}
  %o = linalg.generic {{indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}}
      ins(%mm, %bias : {r}, {bt}) outs(%e : {r}) {{
  ^bb0(%a: f32, %b: f32, %out: f32):
    %v = arith.addf %a, %b : f32{act}
    linalg.yield %g : f32
  }} -> {r}
  return %o : {r}
}}"""


def iree_attention(p):
    s, d, scale = p["S"], p["D"], p["SCALE"]
    q, ss = _ty([s, d], "f32"), _ty([s, s], "f32")
    return f"""
func.func @main(%q: {q}, %k: {q}, %v: {q}) -> {q} {{
  %z = arith.constant 0.0 : f32
  %scale = arith.constant {scale} : f32
  %e = tensor.empty() : {ss}
  %f = linalg.fill ins(%z : f32) outs(%e : {ss}) -> {ss}
  %qk = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%q, %k : {q}, {q}) outs(%f : {ss}) -> {ss}
  %sc = linalg.generic {{indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}}
      ins(%qk : {ss}) outs(%e : {ss}) {{
  ^bb0(%a: f32, %out: f32):
    %m = arith.mulf %a, %scale : f32
    linalg.yield %m : f32
  }} -> {ss}
  %p = linalg.softmax dimension(1) ins(%sc : {ss}) outs(%e : {ss}) -> {ss}
  %e2 = tensor.empty() : {q}
  %f2 = linalg.fill ins(%z : f32) outs(%e2 : {q}) -> {q}
  %r = linalg.matmul ins(%p, %v : {ss}, {q}) outs(%f2 : {q}) -> {q}
  return %r : {q}
}}"""


def iree_softmax(p):
    t = _ty([p["R"], p["C"]], "f32")
    return f"""
func.func @main(%x: {t}) -> {t} {{
  %e = tensor.empty() : {t}
  %r = linalg.softmax dimension(1) ins(%x : {t}) outs(%e : {t}) -> {t}
  return %r : {t}
}}"""


def iree_layernorm(p):
    rr, c = p["R"], p["C"]
    t, v = _ty([rr, c], "f32"), _ty([rr], "f32")
    row = "affine_map<(i, j) -> (i)>"
    full = "affine_map<(i, j) -> (i, j)>"
    return f"""
func.func @main(%x: {t}) -> {t} {{
  %z = arith.constant 0.0 : f32
  %n = arith.constant {float(c)} : f32
  %eps = arith.constant 1.0e-5 : f32
  %ev = tensor.empty() : {v}
  %fv = linalg.fill ins(%z : f32) outs(%ev : {v}) -> {v}
  %s = linalg.generic {{indexing_maps = [{full}, {row}], iterator_types = ["parallel", "reduction"]}}
      ins(%x : {t}) outs(%fv : {v}) {{
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  }} -> {v}
  %ss = linalg.generic {{indexing_maps = [{full}, {row}, {row}], iterator_types = ["parallel", "reduction"]}}
      ins(%x, %s : {t}, {v}) outs(%fv : {v}) {{
  ^bb0(%a: f32, %sum: f32, %acc: f32):
    %mean = arith.divf %sum, %n : f32
    %d = arith.subf %a, %mean : f32
    %d2 = arith.mulf %d, %d : f32
    %r = arith.addf %d2, %acc : f32
    linalg.yield %r : f32
  }} -> {v}
  %et = tensor.empty() : {t}
  %o = linalg.generic {{indexing_maps = [{full}, {row}, {row}, {full}], iterator_types = ["parallel", "parallel"]}}
      ins(%x, %s, %ss : {t}, {v}, {v}) outs(%et : {t}) {{
  ^bb0(%a: f32, %sum: f32, %sq: f32, %out: f32):
    %mean = arith.divf %sum, %n : f32
    %var = arith.divf %sq, %n : f32
    %ve = arith.addf %var, %eps : f32
    %sd = math.sqrt %ve : f32
    %d = arith.subf %a, %mean : f32
    %r = arith.divf %d, %sd : f32
    linalg.yield %r : f32
  }} -> {t}
  return %o : {t}
}}"""


def iree_tanh_fma(p):
    t = _ty([p["N"], p["N"]], "f32")
    full = "affine_map<(i, j) -> (i, j)>"
    return f"""
func.func @main(%a: {t}, %b: {t}, %c: {t}) -> {t} {{
  %e = tensor.empty() : {t}
  %r = linalg.generic {{indexing_maps = [{full}, {full}, {full}, {full}], iterator_types = ["parallel", "parallel"]}}
      ins(%a, %b, %c : {t}, {t}, {t}) outs(%e : {t}) {{
  ^bb0(%x: f32, %y: f32, %w: f32, %out: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %m, %w : f32
    %th = math.tanh %s : f32
    linalg.yield %th : f32
  }} -> {t}
  return %r : {t}
}}"""


def iree_mandelbrot(p):
    """The 100 steps unrolled by hand: a linalg body holds no loop IREE vectorizes.
    The step comes in as a tensor<f64> so that IREE cannot fold the whole
    image into a constant at compile time."""
    n = p["N"]
    t = _ty([n, n], "i32")
    steps = []
    x, y, k = "%x0", "%y0", "%k0"
    for s in range(1, 101):
        steps.append(f"""
    %xx{s} = arith.mulf {x}, {x} : f64
    %yy{s} = arith.mulf {y}, {y} : f64
    %r2{s} = arith.addf %xx{s}, %yy{s} : f64
    %in{s} = arith.cmpf olt, %r2{s}, %four : f64
    %xd{s} = arith.subf %xx{s}, %yy{s} : f64
    %xn{s} = arith.addf %xd{s}, %cr : f64
    %xy{s} = arith.mulf {x}, {y} : f64
    %yt{s} = arith.mulf %xy{s}, %two : f64
    %yn{s} = arith.addf %yt{s}, %ci : f64
    %kp{s} = arith.addi {k}, %one : i32
    %x{s} = arith.select %in{s}, %xn{s}, {x} : f64
    %y{s} = arith.select %in{s}, %yn{s}, {y} : f64
    %k{s} = arith.select %in{s}, %kp{s}, {k} : i32""")
        x, y, k = f"%x{s}", f"%y{s}", f"%k{s}"
    return f"""
func.func @main(%steptensor: tensor<f64>) -> {t} {{
  %step = tensor.extract %steptensor[] : tensor<f64>
  %e = tensor.empty() : {t}
  %r = linalg.generic {{indexing_maps = [affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}}
      outs(%e : {t}) {{
  ^bb0(%out: i32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %ii = arith.index_cast %i : index to i64
    %jj = arith.index_cast %j : index to i64
    %fi = arith.sitofp %ii : i64 to f64
    %fj = arith.sitofp %jj : i64 to f64
    %m2 = arith.constant -2.0 : f64
    %m125 = arith.constant -1.25 : f64
    %cr0 = arith.mulf %fj, %step : f64
    %cr = arith.addf %cr0, %m2 : f64
    %ci0 = arith.mulf %fi, %step : f64
    %ci = arith.addf %ci0, %m125 : f64
    %x0 = arith.constant 0.0 : f64
    %y0 = arith.constant 0.0 : f64
    %k0 = arith.constant 0 : i32
    %one = arith.constant 1 : i32
    %two = arith.constant 2.0 : f64
    %four = arith.constant 4.0 : f64{"".join(steps)}
    linalg.yield {k} : i32
  }} -> {t}
  return %r : {t}
}}"""


def iree_sum(p):
    t = _ty([p["N"]], "f32")
    return f"""
func.func @main(%x: {t}) -> tensor<f32> {{
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %r = linalg.reduce ins(%x : {t}) outs(%f : tensor<f32>) dimensions = [0]
    (%a: f32, %acc: f32) {{
      %s = arith.addf %a, %acc : f32
      linalg.yield %s : f32
    }}
  return %r : tensor<f32>
}}"""


IREE = {
    "matmul": iree_matmul, "batch_matmul": iree_batch_matmul, "mlp": iree_mlp, "attention": iree_attention,
    "softmax": iree_softmax, "layernorm": iree_layernorm, "tanh_fma": iree_tanh_fma,
    "mandelbrot": iree_mandelbrot, "sum": iree_sum,
}
CONTRACTIONS = {"matmul", "batch_matmul", "mlp", "attention"}

# IREE demotes f64 to f32 unless told not to.
BASE_FLAGS = ["--iree-llvmcpu-target-cpu=host", "--iree-input-demote-f64-to-f32=false"]
VARIANTS = {
    "data tiling + ukernels": ["--iree-opt-data-tiling=true", "--iree-llvmcpu-enable-ukernels=all"],
    "data tiling": ["--iree-opt-data-tiling=true", "--iree-llvmcpu-enable-ukernels=none"],
    "no data tiling": ["--iree-opt-data-tiling=false", "--iree-llvmcpu-enable-ukernels=none"],
}


# --- The kernels in jax.numpy ----------------------------------------------

def jax_kernel(name, p):
    import jax
    import jax.numpy as jnp

    if name == "matmul":
        ta, tb = p.get("ta", False), p.get("tb", False)
        f = lambda a, b: (a.T if ta else a) @ (b.T if tb else b)
    elif name == "batch_matmul":
        f = lambda a, b: jnp.matmul(a, b)
    elif name == "mlp":
        if p["act"] == "gelu":
            def f(x, w, bias):
                v = x @ w + bias
                return 0.5 * v * (1.0 + jnp.tanh(0.797884583 * (v + 0.044715 * v * v * v)))
        else:
            f = lambda x, w, bias: jnp.maximum(x @ w + bias, 0.0)
    elif name == "attention":
        f = lambda q, k, v: jax.nn.softmax((q @ k.T) * float(p["SCALE"]), axis=1) @ v
    elif name == "softmax":
        f = lambda x: jax.nn.softmax(x, axis=1)
    elif name == "layernorm":
        def f(x):
            d = x - x.mean(axis=1, keepdims=True)
            return d / jnp.sqrt((d * d).mean(axis=1, keepdims=True) + 1e-5)
    elif name == "tanh_fma":
        f = lambda a, b, c: jnp.tanh(a * b + c)
    elif name == "mandelbrot":
        n = p["N"]
        def f(step):
            cr = (jnp.arange(n, dtype=jnp.float64) * step - 2.0)[None, :]
            ci = (jnp.arange(n, dtype=jnp.float64) * step - 1.25)[:, None]
            z = jnp.zeros((n, n), jnp.float64)
            def body(_, s):
                x, y, k = s
                inside = x * x + y * y < 4.0
                xn = x * x - y * y + cr
                yn = 2.0 * x * y + ci
                return jnp.where(inside, xn, x), jnp.where(inside, yn, y), k + inside.astype(jnp.int32)
            return jax.lax.fori_loop(0, 100, body, (z, z, jnp.zeros((n, n), jnp.int32)))[2]
    elif name == "sum":
        f = lambda x: jnp.sum(x)
    elif name == "colsum":
        f = lambda x: jnp.sum(x, axis=0)
    elif name == "transpose":
        f = lambda x: x.T
    elif name == "sigmoid":
        f = lambda x: 1 / (1 + jnp.exp(-x))
    elif name == "softmax_cols":
        f = lambda x: jax.nn.softmax(x, axis=0)
    elif name == "layernorm_affine":
        def f(x, g, b):
            d = x - x.mean(axis=1, keepdims=True)
            return d / jnp.sqrt((d * d).mean(axis=1, keepdims=True) + 1e-5) * g + b
    elif name == "stencil":
        def f(x, out):
            return out.at[1:-1, 1:-1].set(0.2 * (x[1:-1, 1:-1] + x[:-2, 1:-1] + x[2:, 1:-1] + x[1:-1, :-2] + x[1:-1, 2:]))
    elif name == "broadcast3":
        f = lambda x, v: x + v[None, :, None]
    else:
        raise KeyError(name)
    return jax.jit(f)


# --- The worker --------------------------------------------------------------

def timed(call, sync, runs):
    sync(call())  # warm-up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        sync(call())
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times), call()


class Iree:
    def __init__(self, threads):
        import iree.compiler as ireec
        import iree.runtime as ireert
        ireert.flags.parse_flags(f"--task_topology_group_count={threads}")
        self.rt, self.cc = ireert, ireec
        self.config = ireert.Config("local-task")
        self.cache = {}

    def load(self, text, flags):
        vmfb = self.cc.compile_str(text, target_backends=["llvm-cpu"], extra_args=BASE_FLAGS + flags)
        ctx = self.rt.SystemContext(config=self.config)
        ctx.add_vm_module(self.rt.VmModule.copy_buffer(ctx.instance, vmfb))
        return ctx.modules.module["main"]

    def run(self, req, args):
        key = json.dumps([req["kernel"], req["params"]], sort_keys=True)
        dev = [self.rt.asdevicearray(self.config.device, a) for a in args]
        sync = lambda r: np.asarray(r) if req.get("sync_copy") else r
        if key not in self.cache:
            texts = {"": IREE[req["kernel"]](req["params"])}
            if req["kernel"] == "matmul" and req["params"]["N"] == 1 and not req["params"].get("ta"):
                texts["linalg.matvec, "] = iree_matvec(req["params"])
            variants = VARIANTS if req["kernel"] in CONTRACTIONS else {"default": []}
            best, errors = None, []
            for spelling, flags, vname in [(sp, f, sp + v) for sp in texts for v, f in variants.items()]:
                text = texts[spelling]
                try:
                    fn = self.load(text, flags)
                    # The fastest of three calls: the machine is noisy, and one slow call should not decide.
                    ms = min(timed(lambda: fn(*dev), sync, 1)[0] for _ in range(3))
                except Exception as e:  # a variant that does not compile is skipped
                    errors.append(f"{vname}: {str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}")
                    continue
                if best is None or ms < best[0]:
                    best = (ms, vname, fn)
            if best is None:
                raise RuntimeError("; ".join(errors))
            self.cache[key] = (best[2], best[1])
        fn, vname = self.cache[key]
        ms, out = timed(lambda: fn(*dev), sync, req["runs"])
        return ms, np.asarray(out.to_host() if hasattr(out, "to_host") else out), vname


class Jax:
    def __init__(self, threads):
        import jax
        jax.config.update("jax_enable_x64", True)
        jax.config.update("jax_platforms", "cpu")
        self.jax = jax
        self.cache = {}

    def run(self, req, args):
        key = json.dumps([req["kernel"], req["params"]], sort_keys=True)
        if key not in self.cache:
            self.cache[key] = jax_kernel(req["kernel"], req["params"])
        fn = self.cache[key]
        dev = [self.jax.device_put(a) for a in args]
        ms, out = timed(lambda: fn(*dev), lambda r: r.block_until_ready(), req["runs"])
        return ms, np.asarray(out), f"jax {self.jax.__version__}"


def main():
    peer, threads = sys.argv[1], int(sys.argv[2])
    try:
        worker = (Iree if peer == "iree" else Jax)(threads)
        print(json.dumps({"ready": True}), flush=True)
    except Exception as e:
        print(json.dumps({"error": f"{type(e).__name__}: {e}".splitlines()[0]}), flush=True)
        return 1
    for line in sys.stdin:
        req = json.loads(line)
        try:
            args = [np.load(p) for p in req["inputs"]]
            ms, out, variant = worker.run(req, args)
            if req.get("out"):
                np.save(req["out"], out)
            reply = {"ms": ms, "variant": variant}
        except Exception as e:
            msg = str(e).strip().splitlines()
            reply = {"error": f"{type(e).__name__}: {msg[0] if msg else ''}"[:300]}
        print(json.dumps(reply), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
