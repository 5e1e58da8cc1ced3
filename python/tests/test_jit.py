"""@strata.jit against NumPy: every op, dtype and rank the op allows,
broadcasting edge cases, reductions, matmul forms, where, map, the cache
and the tracer's errors."""

import math

import numpy as np
import pytest

import strata

DTYPES = [np.float32, np.float64, np.int32, np.int64]
SHAPES = [(), (5,), (3, 4), (2, 3, 4), (2, 1, 3, 4)]


def sample(shape, dtype, seed=0, positive=False):
    rng = np.random.default_rng(seed)
    if np.issubdtype(dtype, np.integer):
        return rng.integers(1 if positive else -20, 20, size=shape).astype(dtype)
    x = rng.standard_normal(shape)
    return (np.abs(x) + 0.25 if positive else x).astype(dtype)


def close(dtype):
    return {"rtol": 2e-6, "atol": 1e-6} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-12}


@strata.jit
def arith(a, b):
    return a + b, a - b, a * b, -a, strata.maximum(a, b), strata.minimum(a, b), 2 * a - b * 3


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_elementwise_every_dtype_and_rank(shape, dtype):
    a, b = sample(shape, dtype, 1), sample(shape, dtype, 2)
    got = arith(a, b)
    want = (a + b, a - b, a * b, -a, np.maximum(a, b), np.minimum(a, b), 2 * a - b * 3)
    for g, w in zip(got, want):
        assert g.dtype == dtype and g.shape == shape
        np.testing.assert_allclose(g, np.asarray(w, dtype=dtype), **close(dtype))


@strata.jit
def floats(a, b):
    return a / b, strata.exp(a), strata.log(b), strata.sqrt(b), strata.tanh(a)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_float_functions_every_rank(shape, dtype):
    a, b = sample(shape, dtype, 3), sample(shape, dtype, 4, positive=True)
    for g, w in zip(floats(a, b), (a / b, np.exp(a), np.log(b), np.sqrt(b), np.tanh(a))):
        np.testing.assert_allclose(g, w, **close(dtype))


BROADCASTS = [
    ((), (3, 4)),            # rank 0 against anything
    ((4,), (3, 4)),          # missing leading dimension
    ((3, 1), (1, 4)),        # both sides stretched
    ((3, 1), (3, 4)),        # a stretched trailing dimension
    ((1,), (5,)),            # size 1 against n
    ((1, 1), (1, 1)),        # size 1 against size 1: nothing stretched
    ((2, 1, 4), (3, 1)),     # interleaved: (2,1,4) with (1,3,1)
    ((5, 1, 1, 2), (4, 3, 1)),
    ((1, 3, 1), ()),
]


@pytest.mark.parametrize("sa,sb", BROADCASTS)
@pytest.mark.parametrize("dtype", [np.float64, np.int32])
def test_broadcasting_edge_cases(sa, sb, dtype):
    a, b = sample(sa, dtype, 5), sample(sb, dtype, 6)
    got = strata.jit(lambda x, y: (x + y, y * x, strata.maximum(x, y) - x))(a, b)
    for g, w in zip(got, (a + b, b * a, np.maximum(a, b) - a)):
        assert g.shape == np.broadcast_shapes(sa, sb)
        np.testing.assert_array_equal(g, w)


def test_python_scalars_take_the_arrays_dtype_and_broadcast():
    x = np.arange(6, dtype=np.int32).reshape(2, 3)
    r = strata.jit(lambda v: 3 - v * 2 + 1)(x)
    assert r.dtype == np.int32
    np.testing.assert_array_equal(r, 3 - x * 2 + 1)
    y = np.linspace(-1, 1, 7, dtype=np.float32)
    np.testing.assert_allclose(strata.jit(lambda v: 0.5 * v / 4.0 - 1e-3)(y), 0.5 * y / 4.0 - np.float32(1e-3),
                               rtol=1e-6)


def test_broadcasting_keeps_signed_zeros_and_nans():
    col = np.array([[-0.0], [np.nan], [np.inf]])
    r = strata.jit(lambda c, z: c + z)(col, np.zeros((3, 4)) * -1.0)
    np.testing.assert_array_equal(np.signbit(r[0]), [True] * 4)
    assert np.isnan(r[1]).all() and np.isposinf(r[2]).all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(6,), (3, 4), (2, 3, 4), (2, 3, 2, 5)])
def test_reductions_every_axis(shape, dtype):
    x = sample(shape, dtype, 7)
    axes = [None, 0, -1, tuple(range(len(shape)))] + ([(0, len(shape) - 1)] if len(shape) > 1 else [])
    for axis in axes:
        for keepdims in (False, True):
            f = strata.jit(lambda v, axis=axis, keepdims=keepdims: (
                v.sum(axis=axis, keepdims=keepdims), v.max(axis=axis, keepdims=keepdims),
                v.min(axis=axis, keepdims=keepdims)))
            for g, w in zip(f(x), (x.sum(axis=axis, keepdims=keepdims), x.max(axis=axis, keepdims=keepdims),
                                   x.min(axis=axis, keepdims=keepdims))):
                w = np.asarray(w, dtype=dtype)
                assert g.shape == w.shape, (axis, keepdims)
                np.testing.assert_allclose(g, w, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-5)


def test_mean_and_a_reduction_broadcast_back():
    x = sample((4, 6), np.float64, 8)
    r = strata.jit(lambda v: v - v.mean(axis=1, keepdims=True))(x)
    np.testing.assert_allclose(r, x - x.mean(axis=1, keepdims=True), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", DTYPES)
def test_transpose_every_rank(dtype):
    for shape in [(5,), (3, 4), (2, 3, 4), (2, 3, 4, 5)]:
        x = sample(shape, dtype, 9)
        axes = tuple(reversed(range(len(shape))))[1:] + (len(shape) - 1,) if len(shape) > 1 else (0,)
        got = strata.jit(lambda v: (v.T, v.transpose(axes)))(x)
        for g, w in zip(got, (x.T, x.transpose(axes))):
            np.testing.assert_array_equal(g, w)
        np.testing.assert_array_equal(strata.jit(lambda v: v.transpose(*axes) + 1)(x), x.transpose(axes) + 1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_forms(dtype):
    a, b = sample((5, 7), dtype, 10), sample((7, 3), dtype, 11)
    v, w = sample((7,), dtype, 12), sample((5,), dtype, 13)
    ba, bb = sample((2, 5, 7), dtype, 14), sample((2, 7, 3), dtype, 15)
    f = strata.jit(lambda a, b, v, w, ba, bb: (a @ b, v @ b, a @ v, v @ v, w @ a, ba @ bb, ba @ b, a.T.T @ b))
    want = (a @ b, v @ b, a @ v, v @ v, w @ a, ba @ bb, ba @ b, a @ b)
    for g, x in zip(f(a, b, v, w, ba, bb), want):
        assert g.shape == np.shape(x)
        np.testing.assert_allclose(g, x, **({"rtol": 1e-5} if dtype == np.float32 else {"rtol": 1e-12}))


def test_where_with_arrays_constants_and_broadcasting():
    x, y = sample((3, 4), np.float32, 16), sample((4,), np.float32, 17)
    f = strata.jit(lambda x, y: (strata.where(x > y, x, y), strata.where(x <= 0.0, 0.0, x),
                                 strata.where(x != x, -1.0, 2.0 * x), strata.where(y > 0.0, x, 1.0)))
    want = (np.where(x > y, x, y), np.where(x <= 0, 0, x), np.where(x != x, -1, 2 * x), np.where(y > 0, x, 1))
    for g, w in zip(f(x, y), want):
        np.testing.assert_array_equal(g, np.asarray(w, np.float32))
    i = np.arange(-5, 5, dtype=np.int64)
    np.testing.assert_array_equal(strata.jit(lambda i: strata.where(i >= 0, i, -i))(i), np.abs(i))


def test_map_with_math_functions_and_python_control_flow():
    x, y = sample((4, 5), np.float64, 18), sample((5,), np.float64, 19, positive=True)

    def poly(u, v):
        acc = 0.0
        for k in range(4):  # unrolled while tracing
            acc = acc * u + (k + 1)
        if acc is not None:  # a constant condition: fine
            acc = acc + math.exp(u) * math.sqrt(v) - math.tanh(u) / math.log(v + 2.0)
        return strata.where(u > 0.0, acc, abs(u) ** 2)

    got = strata.jit(lambda a, b: strata.map(poly, a, b))(x, y)
    u, v = x, y
    acc = ((1.0 * u + 2) * u + 3) * u + 4
    want = np.where(u > 0, acc + np.exp(u) * np.sqrt(v) - np.tanh(u) / np.log(v + 2.0), u * u)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # Eagerly, outside a traced function, and with a constant argument.
    np.testing.assert_allclose(strata.map(lambda u, c: math.sin(u) * c, x, 3.0), np.sin(x) * 3.0, rtol=1e-12)
    i = np.arange(10, dtype=np.int32)
    square = lambda k: k * k - 3  # noqa: E731
    np.testing.assert_array_equal(strata.map(square, i), i * i - 3)
    assert strata._eager_maps[square].cache_size() == 1
    np.testing.assert_array_equal(strata.map(square, i + 1), (i + 1) ** 2 - 3)
    assert strata._eager_maps[square].cache_size() == 1  # compiled once per shape and dtype


def test_mandelbrot_counts_match_numpy():
    ys, xs = np.mgrid[-1.2:1.2:24j, -2.0:0.6:32j]
    cr, ci = xs.astype(np.float64), ys.astype(np.float64)

    def escape(cr, ci):
        zr, zi, n = 0.0, 0.0, 0.0
        for _ in range(30):
            zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
            n = n + strata.where(zr * zr + zi * zi < 4.0, 1.0, 0.0)
        return n

    got = strata.map(escape, cr, ci)
    zr, zi, n = np.zeros_like(cr), np.zeros_like(cr), np.zeros_like(cr)
    with np.errstate(all="ignore"):
        for _ in range(30):
            zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
            n += (zr * zr + zi * zi < 4.0)
    np.testing.assert_array_equal(got, n)


def test_loop_carries_values_through_one_scf_for():
    ys, xs = np.mgrid[-1.2:1.2:24j, -2.0:0.6:32j]

    def escape(cr, ci):
        def step(zr, zi, n):
            zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
            return zr, zi, n + strata.where(zr * zr + zi * zi < 4.0, 1.0, 0.0)
        return strata.loop(30, step, 0.0, 0.0, 0.0)[2]

    f = strata.jit(lambda cr, ci: strata.map(escape, cr, ci))
    text = f.mlir(xs, ys)
    assert text.count("scf.for") == 1 and text.count("arith.mulf") < 10  # not unrolled
    zr, zi, n = np.zeros_like(xs), np.zeros_like(xs), np.zeros_like(xs)
    with np.errstate(all="ignore"):
        for _ in range(30):
            zr, zi = zr * zr - zi * zi + xs, 2.0 * zr * zi + ys
            n += (zr * zr + zi * zi < 4.0)
    np.testing.assert_array_equal(f(xs, ys), n)
    i = np.arange(6, dtype=np.int64)
    fact = strata.map(lambda k: strata.loop(5, lambda acc: acc * k + 1, 0), i)  # int carried, from a constant
    np.testing.assert_array_equal(fact, sum(i ** p for p in range(5)))
    with pytest.raises(TypeError, match="returns 1 value"):
        strata.map(lambda u: strata.loop(3, lambda a, b: a, u, u), xs)


def test_powers_and_abs():
    x = sample((3, 5), np.float64, 20)
    f = strata.jit(lambda v: (v ** 2, v ** 0, abs(v), abs(v) ** 0.5, v ** -1))
    for g, w in zip(f(x), (x ** 2, x ** 0, abs(x), abs(x) ** 0.5, x ** -1.0)):
        np.testing.assert_allclose(g, w, rtol=1e-12)
    i = np.arange(-4, 5, dtype=np.int32)
    r = strata.jit(lambda v: (v ** 3, abs(v)))(i)
    np.testing.assert_array_equal(r[0], i ** 3)
    np.testing.assert_array_equal(r[1], abs(i))
    with pytest.raises(TypeError, match="constant exponent"):
        strata.jit(lambda v: v ** v)(x)


def test_astype():
    x = np.array([-2.7, -0.5, 0.5, 3.9], np.float64)
    f = strata.jit(lambda v: (v.astype(np.int32), v.astype(np.float32), v.astype(np.int64).astype(np.float64)))
    for g, w in zip(f(x), (x.astype(np.int32), x.astype(np.float32), x.astype(np.int64).astype(np.float64))):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g, w)


def test_one_compile_per_shape_and_dtype():
    calls = []

    @strata.jit
    def f(x):
        calls.append(x.shape)
        return x * 2

    for _ in range(3):
        f(np.ones(4, np.float32))
    f(np.ones(4, np.float64))
    f(np.ones((2, 2), np.float32))
    np.testing.assert_array_equal(f(np.arange(4, dtype=np.float32)), [0, 2, 4, 6])
    assert f.cache_size() == 3 and calls == [(4,), (4,), (2, 2)]


def test_mlir_shows_the_traced_ir_one_op_per_numpy_op():
    f = strata.jit(lambda x, w, b: strata.maximum(x @ w + b, 0.0))
    x, w, b = np.ones((8, 4), np.float32), np.ones((4, 6), np.float32), np.ones(6, np.float32)
    text = f.mlir(x, w, b)
    assert text.startswith("func.func @main(%x: tensor<8x4xf32>, %w: tensor<4x6xf32>, %b: tensor<6xf32>) "
                           "-> (tensor<8x6xf32>)")
    ops = [line.split('"')[1] for line in text.splitlines() if '= "strata.' in line]
    assert ops == ["strata.matmul", "strata.broadcast", "strata.add", "strata.map"]
    assert "arith.maximumf" in text  # the constant 0.0 inside the map's region
    assert "affine.parallel" in f.mlir(x, w, b, stage="affine")
    np.testing.assert_allclose(f(x, w, b), np.maximum(x @ w + b, 0))


def test_tracer_mistakes_are_python_errors():
    x = np.ones((3, 4), np.float32)
    with pytest.raises(ValueError, match=r"could not be broadcast together with shapes \(3, 4\) \(3,\)"):
        strata.jit(lambda a, b: a + b)(x, np.ones(3, np.float32))
    with pytest.raises(TypeError, match="operands of different dtypes"):
        strata.jit(lambda a, b: a + b)(x, x.astype(np.float64))
    with pytest.raises(TypeError, match="'/' on integer arrays"):
        strata.jit(lambda a: a / 2)(np.ones(3, np.int32))
    with pytest.raises(TypeError, match="no truth value"):
        strata.jit(lambda a: a if a > 0 else -a)(x)
    with pytest.raises(TypeError, match="no truth value"):
        strata.map(lambda u: u if u > 0 else -u, x)
    with pytest.raises(TypeError, match="dtype"):
        strata.jit(lambda a: a * 2)(np.ones(3, np.float16))
    with pytest.raises(TypeError, match="exp of an integer"):
        strata.jit(strata.exp)(np.ones(3, np.int64))
    with pytest.raises(ValueError, match="contracting dimensions differ"):
        strata.jit(lambda a: a @ a)(x)
    with pytest.raises(ValueError, match="axis 2 is out of bounds"):
        strata.jit(lambda a: a.sum(axis=2))(x)
    with pytest.raises(TypeError, match="a comparison cannot be returned"):
        strata.jit(lambda a: a > 0)(x)
