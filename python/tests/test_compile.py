"""strata.compile over MLIR text: calls against NumPy for every dtype and
rank, zero-copy and copied inputs, errors, threads, memory."""

import os
import threading

import numpy as np
import pytest

import strata

DTYPES = [np.float32, np.float64, np.int32, np.int64]
ELEM = {np.float32: "f32", np.float64: "f64", np.int32: "i32", np.int64: "i64"}
SHAPES = [(), (7,), (3, 5), (2, 3, 4), (2, 1, 3, 5)]


def ttype(shape, dtype):
    return "tensor<" + "".join(f"{d}x" for d in shape) + ELEM[dtype] + ">"


def binary_kernel(op, shape, dtype):
    t = ttype(shape, dtype)
    return strata.compile(
        f'func.func @main(%a: {t}, %b: {t}) -> {t} {{\n'
        f'  %r = "strata.{op}"(%a, %b) : ({t}, {t}) -> {t}\n'
        f"  return %r : {t}\n}}\n"
    )


def sample(shape, dtype, rng, positive=False):
    if np.issubdtype(dtype, np.integer):
        lo = 1 if positive else -50
        return rng.integers(lo, 50, size=shape).astype(dtype)
    x = rng.standard_normal(shape).astype(dtype)
    return (np.abs(x) + 0.5).astype(dtype) if positive else x  # NumPy 1 makes float32 scalar + 0.5 a float64


REFERENCE = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "max": np.maximum, "min": np.minimum,
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("op", sorted(REFERENCE))
def test_binary_ops_every_dtype_and_rank(op, shape, dtype):
    rng = np.random.default_rng(1)
    a, b = sample(shape, dtype, rng), sample(shape, dtype, rng)
    k = binary_kernel(op, shape, dtype)
    r = k(a, b)
    assert r.dtype == dtype and r.shape == shape
    np.testing.assert_array_equal(r, REFERENCE[op](a, b))


@pytest.mark.parametrize("dtype", DTYPES)
def test_division_floats_and_truncating_integers(dtype):
    rng = np.random.default_rng(2)
    a, b = sample((4, 6), dtype, rng), sample((4, 6), dtype, rng, positive=True)
    b = b * np.where(rng.random((4, 6)) < 0.5, -1, 1).astype(dtype)
    r = binary_kernel("div", (4, 6), dtype)(a, b)
    if np.issubdtype(dtype, np.integer):
        expected = (np.trunc(a.astype(np.float64) / b)).astype(dtype)  # toward zero, as the spec says
        np.testing.assert_array_equal(r, expected)
    else:
        np.testing.assert_allclose(r, a / b, rtol=1e-6)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("op", ["exp", "log", "sqrt", "tanh", "neg"])
def test_unary_float_ops(op, shape):
    rng = np.random.default_rng(3)
    for dtype in (np.float32, np.float64):
        x = sample(shape, dtype, rng, positive=op in ("log", "sqrt"))
        t = ttype(shape, dtype)
        k = strata.compile(f'func.func @main(%x: {t}) -> {t} {{\n  %r = "strata.{op}"(%x) : ({t}) -> {t}\n'
                           f"  return %r : {t}\n}}\n")
        ref = {"exp": np.exp, "log": np.log, "sqrt": np.sqrt, "tanh": np.tanh, "neg": np.negative}[op](x)
        np.testing.assert_allclose(k(x), ref, rtol=2e-6 if dtype == np.float32 else 1e-13, atol=1e-7)


MATMUL = """
func.func @main(%a: tensor<5x7xf64>, %b: tensor<7x3xf64>) -> tensor<5x3xf64> {
  %r = "strata.matmul"(%a, %b) : (tensor<5x7xf64>, tensor<7x3xf64>) -> tensor<5x3xf64>
  return %r : tensor<5x3xf64>
}
func.func @rowsum(%x: tensor<37x129xf32>) -> tensor<37xf32> {
  %r = "strata.reduce"(%x) {dims = array<i64: 1>, kind = "add"} : (tensor<37x129xf32>) -> tensor<37xf32>
  return %r : tensor<37xf32>
}
func.func @two(%x: tensor<4xi64>, %s: i64) -> (tensor<4xi64>, i64) {
  %f = "strata.fill"(%s) : (i64) -> tensor<4xi64>
  %r = "strata.add"(%x, %f) : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi64>
  return %r, %s : tensor<4xi64>, i64
}
func.func @scale(%buf: memref<1000xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 1000 : index
  "strata.parallel_for"(%c0, %n, %c1) ({
  ^bb0(%i: index):
    %v = memref.load %buf[%i] : memref<1000xf32>
    %two = arith.constant 2.0 : f32
    %w = arith.mulf %v, %two : f32
    memref.store %w, %buf[%i] : memref<1000xf32>
    "strata.yield"() : () -> ()
  }) {grain = 64 : i64} : (index, index, index) -> ()
  return
}
"""


def test_entry_points_results_and_memrefs(tmp_path):
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((5, 7)), rng.standard_normal((7, 3))
    np.testing.assert_allclose(strata.compile(MATMUL)(a, b), a @ b, rtol=1e-12)
    x = rng.standard_normal((37, 129)).astype(np.float32)
    path = tmp_path / "k.mlir"
    path.write_text(MATMUL)
    for src in (path, str(path)):
        np.testing.assert_allclose(strata.compile(src, entry="rowsum")(x), x.astype(np.float64).sum(axis=1),
                                   rtol=1e-5, atol=1e-4)
    r, s = strata.compile(MATMUL, entry="two")(np.arange(4, dtype=np.int64), 10)
    np.testing.assert_array_equal(r, np.arange(4) + 10)
    assert s == 10 and isinstance(s, np.int64)
    buf = np.arange(1000, dtype=np.float32)
    assert strata.compile(MATMUL, entry="scale")(buf) is None
    np.testing.assert_array_equal(buf, 2 * np.arange(1000, dtype=np.float32))


def test_inputs_are_not_copied_when_contiguous_and_copied_once_otherwise():
    k = strata.compile(MATMUL, entry="scale")
    buf = np.ones(1000, dtype=np.float32)
    k(buf)
    assert buf[0] == 2  # written in place: the kernel saw this array's memory
    view = np.ones(2000, dtype=np.float32)[::2]
    with pytest.raises(strata.InputError, match="C-contiguous"):
        k(view)  # a copy would silently drop the kernel's writes
    ro = np.ones(1000, dtype=np.float32)
    ro.flags.writeable = False
    with pytest.raises(strata.InputError, match="read-only"):
        k(ro)
    mm = strata.compile(MATMUL)
    rng = np.random.default_rng(5)
    at = np.asfortranarray(rng.standard_normal((5, 7)))
    b = rng.standard_normal((14, 3))[::2]
    np.testing.assert_allclose(mm(at, b), at @ b, rtol=1e-12)
    assert not at.flags.c_contiguous  # the caller's arrays are left as they were


SUM = """func.func @main(%x: tensor<4194304xf32>) -> tensor<f32> {
  %r = "strata.reduce"(%x) {dims = array<i64: 0>, kind = "add"} : (tensor<4194304xf32>) -> tensor<f32>
  return %r : tensor<f32>
}
"""


def test_a_contiguous_input_is_not_copied_and_a_strided_one_once():
    import tracemalloc
    k = strata.compile(SUM)
    n = 4194304  # 16 MiB of float32
    a = np.ones(n, np.float32)
    strided = np.ones(2 * n, np.float32)[::2]
    k(a), k(strided)
    tracemalloc.start()  # NumPy reports its allocations to tracemalloc
    try:
        assert k(a) == n
        contiguous_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        assert k(strided) == n
        strided_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert contiguous_peak < 1 << 20, contiguous_peak  # no copy of the 16 MiB
    assert 4 * n <= strided_peak < 2 * 4 * n, strided_peak  # exactly one copy


def test_outputs_are_fresh_arrays():
    k = binary_kernel("add", (3,), np.float64)
    a = np.ones(3)
    r1, r2 = k(a, a), k(a, a)
    assert r1 is not r2 and not np.shares_memory(r1, r2) and not np.shares_memory(r1, a)
    assert r1.flags.c_contiguous and r1.flags.writeable and r1.flags.owndata


def test_input_errors_name_the_parameter_expected_and_given():
    k = binary_kernel("add", (2, 16), np.float32)
    a = np.zeros((2, 16), np.float32)
    with pytest.raises(strata.InputError) as e:
        k(a, np.zeros((2, 16), np.float64))
    assert str(e.value) == ("parameter #1 of 'main': expected float32 array of shape (2, 16), "
                            "given float64 array of shape (2, 16)")
    with pytest.raises(strata.InputError, match=r"parameter #0 of 'main': expected float32 array of shape "
                                                r"\(2, 16\), given float32 array of shape \(16, 2\)"):
        k(a.T.copy(), a)
    with pytest.raises(strata.InputError, match=r"expected a numpy.ndarray \(float32 array of shape \(2, 16\)\), "
                                                r"given list"):
        k([[0.0] * 16] * 2, a)
    with pytest.raises(strata.InputError, match=r"'main' takes 2 argument\(s\) \(tensor<2x16xf32>, "
                                                r"tensor<2x16xf32>\), 1 given"):
        k(a)
    with pytest.raises(strata.InputError, match="given >f4 array"):
        k(a.astype(">f4"), a)
    two = strata.compile(MATMUL, entry="two")
    with pytest.raises(strata.InputError, match="parameter #1 of 'two': expected a int64 scalar, given float"):
        two(np.zeros(4, np.int64), 1.5)
    assert issubclass(strata.InputError, strata.StrataError)


BAD_TYPE = """func.func @main(%a: tensor<4x8xf32>, %b: tensor<9x2xf32>) -> tensor<4x2xf32> {
  %r = "strata.matmul"(%a, %b) : (tensor<4x8xf32>, tensor<9x2xf32>) -> tensor<4x2xf32>
  return %r : tensor<4x2xf32>
}
"""

RACY = """func.func @main(%buf: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  "strata.parallel_for"(%c0, %c8, %c1) ({
  ^bb0(%i: index):
    %v = arith.constant 1.0 : f32
    memref.store %v, %buf[%c0] : memref<8xf32>
    "strata.yield"() : () -> ()
  }) : (index, index, index) -> ()
  return
}
"""


def test_compile_errors_carry_the_location_and_message(tmp_path):
    path = tmp_path / "bad.mlir"
    path.write_text(BAD_TYPE)
    with pytest.raises(strata.CompileError) as e:
        strata.compile(path)
    err = e.value
    assert (err.file, err.line, err.col) == (str(path), 2, 8)
    assert "contracting dimensions differ: lhs has K=8, rhs has K=9" in err.message
    assert str(err) == f"{path}:2:8: error: {err.message}"
    assert err.pass_name is None
    odd = tmp_path / "a:1:2.mlir"  # colons in the file name
    odd.write_text(BAD_TYPE)
    with pytest.raises(strata.CompileError) as e:
        strata.compile(odd)
    assert (e.value.file, e.value.line, e.value.col) == (str(odd), 2, 8)
    with pytest.raises(strata.CompileError) as e:
        strata.compile("func.func @main() {\n  %x = arith.constant : f32\n}\n")
    assert e.value.file == "<string>" and e.value.line == 2
    with pytest.raises(strata.CompileError) as e:
        strata.compile(RACY)
    assert e.value.pass_name == "strata-check-races"
    assert str(e.value).startswith("<string>:5:3: error: pass 'strata-check-races' failed: data race: ")
    assert (e.value.line, e.value.col) == (5, 3)
    strata.compile(RACY, races="off")
    with pytest.raises(strata.CompileError, match="no function named 'nope'"):
        strata.compile(BAD_TYPE.replace("9x2", "8x2"), entry="nope")
    with pytest.raises(ValueError, match="expected O0, O1, O2 or O3"):
        strata.compile(RACY, level="O7")
    with pytest.raises(FileNotFoundError):
        strata.compile("no-such-kernel.mlir")


def test_every_level_and_a_named_target():
    rng = np.random.default_rng(6)
    a, b = rng.standard_normal((5, 7)), rng.standard_normal((7, 3))
    for level in ("O0", "O1", "O2", "O3"):
        np.testing.assert_allclose(strata.compile(MATMUL, level=level)(a, b), a @ b, rtol=1e-12)
    np.testing.assert_allclose(strata.compile(MATMUL, target="x86-64")(a, b), a @ b, rtol=1e-12)
    with pytest.raises(strata.CompileError, match="nosuchcpu"):
        strata.compile(MATMUL, target="nosuchcpu")


def test_benchmark_and_stages():
    k = binary_kernel("add", (2, 16), np.float32)
    a = np.ones((2, 16), np.float32)
    t = k.benchmark(a, a, runs=50)
    assert set(t) >= {"median_ms", "min_ms", "max_ms", "runs"} and t["runs"] == 50
    assert 0 < t["min_ms"] <= t["median_ms"] <= t["max_ms"]
    assert '"strata.add"' in k.mlir("source") or "strata.add" in k.mlir("source")
    affine = k.mlir("affine")
    assert "affine.parallel" in affine and "strata.add" not in affine
    assert "llvm.func @main" in k.mlir()
    assert "vector<16xf32>" in k.mlir("vector") or "vector<" in k.mlir("strata-vectorize")
    with pytest.raises(ValueError, match="unknown stage 'bogus' for O3: expected one of source, strata-fuse"):
        k.mlir("bogus")
    assert k.signature == "(tensor<2x16xf32>, tensor<2x16xf32>) -> (tensor<2x16xf32>)"


def test_eight_threads_call_one_kernel():
    rng = np.random.default_rng(7)
    k = strata.compile(MATMUL, entry="rowsum")
    inputs = [rng.standard_normal((37, 129)).astype(np.float32) for _ in range(8)]
    errors = []

    def work(x):
        try:
            for _ in range(300):
                np.testing.assert_allclose(k(x), x.astype(np.float64).sum(axis=1), rtol=1e-5, atol=1e-4)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(x,)) for x in inputs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]


SLOW = """func.func @main(%x: tensor<64xf64>) -> tensor<64xf64> {
  %r = strata.map(%x) : (tensor<64xf64>) -> tensor<64xf64> {
  ^bb0(%v: f64):
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %n = arith.constant 30000000 : index
    %s = scf.for %i = %c0 to %n step %c1 iter_args(%a = %v) -> (f64) {
      %h = arith.constant 0.999999 : f64
      %b = arith.mulf %a, %h : f64
      scf.yield %b : f64
    }
    strata.yield %s : f64
  }
  return %r : tensor<64xf64>
}
"""


def test_a_call_releases_the_gil():
    import time
    k = strata.compile(SLOW, threads=1)
    x = np.ones(64)
    t = time.perf_counter()
    k(x)
    call = time.perf_counter() - t
    done, ticks = threading.Event(), []

    def run():
        k(x)
        done.set()

    worker = threading.Thread(target=run)
    worker.start()
    # While the kernel runs, this thread keeps running Python: with the
    # GIL held by the call, it would make no progress until the call ended.
    while not done.is_set():
        ticks.append(time.perf_counter())
        time.sleep(0.001)
    worker.join()
    assert len(ticks) >= 3 and call > 0.05, (len(ticks), call)
    assert max(b - a for a, b in zip(ticks, ticks[1:])) < call / 2


def test_threads_per_call_per_kernel_and_global():
    rng = np.random.default_rng(8)
    a, b = rng.standard_normal((5, 7)), rng.standard_normal((7, 3))
    k = strata.compile(MATMUL, threads=1)
    for threads in (None, 1, 2, 64):
        np.testing.assert_allclose(k(a, b, threads=threads), a @ b, rtol=1e-12)
    with pytest.raises(ValueError, match="at least 1"):
        k(a, b, threads=0)
    size = strata.pool_threads()
    assert size >= 1
    # Once the pool runs, set_threads caps calls; None lifts the cap.
    assert strata.set_threads(1) == size
    np.testing.assert_allclose(strata.compile(MATMUL)(a, b), a @ b, rtol=1e-12)
    assert strata.set_threads(None) == size
    with pytest.raises(ValueError, match="at least 1"):
        strata.set_threads(0)


def rss_bytes():
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_ten_thousand_calls_leave_rss_flat():
    k = strata.compile(MATMUL, entry="two")
    x = np.arange(4, dtype=np.int64)
    m = strata.compile(MATMUL)
    a, b = np.ones((5, 7)), np.ones((7, 3))
    for _ in range(1000):  # warm-up: allocator pools, caches
        k(x, 3), m(a, b)
    before = rss_bytes()
    for _ in range(10_000):
        k(x, 3), m(a, b)
    grown = rss_bytes() - before
    # 10,000 leaked result arrays would be >= 1.2 MB (m's alone are 120 B each).
    assert grown < 1 << 20, f"RSS grew {grown} bytes over 10,000 calls"
    assert strata._native.live_bytes() == 0


HISTOGRAM = """func.func @main(%x: memref<100003xi32>, %h: memref<257xi64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 100003 : index
  %one = arith.constant 1 : i64
  strata.parallel_for %i = %c0 to %n step %c1 grain 97 {
    %v = memref.load %x[%i] : memref<100003xi32>
    %b = arith.index_cast %v : i32 to index
    %old = memref.atomic_rmw addi %one, %h[%b] : (i64, memref<257xi64>) -> i64
  }
  return
}
"""

# A pool of 8 threads, whatever the cores: the pool's size is fixed when it
# starts, so this runs in a process of its own.
HISTOGRAM_AT_EACH_THREAD_COUNT = """
import sys
import numpy as np
import strata
assert strata.pool_threads() == 8, strata.pool_threads()
k = strata.compile(sys.argv[1])
rng = np.random.default_rng(11)
# Skewed (a few hot bins, where the atomics contend) and uniform values.
for x in (rng.zipf(1.3, 100003) % 257, rng.integers(0, 257, 100003)):
    x = x.astype(np.int32)
    for threads in (1, 2, 3, 8):
        h = np.zeros(257, np.int64)
        assert k(x, h, threads=threads) is None
        np.testing.assert_array_equal(h, np.bincount(x, minlength=257), err_msg=f"{threads} threads")
print("ok")
"""


def test_atomic_histograms_match_bincount_at_1_2_3_and_8_threads():
    import subprocess
    import sys
    env = dict(os.environ, STRATA_NUM_THREADS="8")
    done = subprocess.run([sys.executable, "-c", HISTOGRAM_AT_EACH_THREAD_COUNT, HISTOGRAM], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
