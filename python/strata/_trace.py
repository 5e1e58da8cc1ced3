"""Tracing a NumPy-like subset of Python into the ``strata`` dialect.

Matches: a Python function over arrays, called with NumPy arrays (the
parameters) and Python scalars (compile-time constants). Inside it,
``Tensor`` values support ``+ - * /``, unary ``-``, ``**`` (a constant
exponent), ``abs``, ``@``, comparisons (only as the condition of
``strata.where``), ``.sum/.max/.min/.mean/.prod(axis=..., keepdims=...)``,
``.T``/``.transpose``, ``.astype`` and NumPy broadcasting;
``strata.exp/log/sqrt/tanh/maximum/minimum/where/map/loop`` dispatch here.
Produces: MLIR text, one ``func.func @main``, one ``strata`` op per
NumPy-level op (``strata.add``, ``strata.matmul``, ``strata.reduce``, ...),
so the pipeline's fusion, tiling and vectorization all apply. Scalar code
(``strata.map``'s lambda, ``strata.where``'s selection) becomes ``arith`` and
``math`` ops in a ``strata.map`` region; Python ``if``/``for`` over
constants simply run while tracing (loops unroll; ``strata.loop`` keeps one
``scf.for``).
Assumes: element types float32, float64, int32, int64, and operands of one
dtype (Python scalars take the array's dtype, as NumPy 2 does).
Guarantees: a mistake (mismatched shapes, an unsupported dtype or op, a
traced value used as a Python bool) is a ``TypeError``/``ValueError`` naming
what is wrong, raised while tracing, never invalid IR.

Broadcasting stretches size-1 dimensions, which ``strata.broadcast`` cannot
do (it only adds dimensions): a stretched dimension is first removed with a
``strata.reduce`` of kind ``mul`` over it (one element times 1: exact, signed
zeros and NaNs kept), then added back at its new size.
"""

from __future__ import annotations

import math
import re
import struct
import types

import numpy as np

DTYPES = {
    np.dtype(np.float32): "f32",
    np.dtype(np.float64): "f64",
    np.dtype(np.int32): "i32",
    np.dtype(np.int64): "i64",
}
NUMPY_OF = {v: k for k, v in DTYPES.items()}


def elem_of(dtype) -> str:
    try:
        return DTYPES[np.dtype(dtype)]
    except (KeyError, TypeError):
        raise TypeError(f"strata.jit: dtype {np.dtype(dtype) if _is_dtype(dtype) else dtype!r} is not supported "
                        "(float32, float64, int32, int64)") from None


def _is_dtype(d) -> bool:
    try:
        np.dtype(d)
        return True
    except TypeError:
        return False


def is_float(elem: str) -> bool:
    return elem.startswith("f")


def tensor_type(shape, elem) -> str:
    return "tensor<" + "".join(f"{d}x" for d in shape) + elem + ">"


def literal(value, elem: str) -> str:
    """An ``arith.constant`` value: hex bits for floats (exact, and inf/nan
    have no decimal literal), decimal for integers."""
    if elem == "f32":
        return "0x%08X" % struct.unpack("<I", struct.pack("<f", float(value)))[0]
    if elem == "f64":
        return "0x%016X" % struct.unpack("<Q", struct.pack("<d", float(value)))[0]
    if isinstance(value, float) and not float(value).is_integer():
        raise TypeError(f"strata.jit: the constant {value!r} is not an integer, but the operand is {elem}")
    return str(int(value))


def is_constant(x) -> bool:
    return isinstance(x, (bool, int, float, np.number)) and not isinstance(x, np.bool_)


class Builder:
    """The body of one function or region being traced: lines of MLIR and
    fresh SSA names."""

    def __init__(self, indent="  ", counter=None, elem=None):
        self.lines: list[str] = []
        self.indent = indent
        self.counter = counter if counter is not None else [0]
        # In a map region: the dtype constants take when nothing else says.
        self.elem = elem

    def fresh(self, hint="v") -> str:
        self.counter[0] += 1
        return f"%{hint}{self.counter[0]}"

    def emit(self, text: str, hint="v") -> str:
        name = self.fresh(hint)
        self.lines.append(f"{self.indent}{name} = {text}")
        return name


# ---------------------------------------------------------------- tensors


class Tensor:
    """A traced array: an SSA value of type ``tensor<shape x elem>``."""

    __array_priority__ = 1000  # NumPy defers to our reflected operators

    def __init__(self, builder: Builder, name: str, shape: tuple, elem: str):
        self.b, self.name, self.shape, self.elem = builder, name, tuple(shape), elem

    @property
    def type(self) -> str:
        return tensor_type(self.shape, self.elem)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def dtype(self):
        return NUMPY_OF[self.elem]

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def __repr__(self):
        return f"<traced {self.type} {self.name}>"

    def __bool__(self):
        raise TypeError("strata.jit: a traced array has no truth value (use strata.where for a choice per element)")

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a rank-0 traced array")
        return self.shape[0]

    # arithmetic
    def __add__(self, o): return binary("add", self, o)
    def __radd__(self, o): return binary("add", o, self)
    def __sub__(self, o): return binary("sub", self, o)
    def __rsub__(self, o): return binary("sub", o, self)
    def __mul__(self, o): return binary("mul", self, o)
    def __rmul__(self, o): return binary("mul", o, self)
    def __truediv__(self, o): return binary("div", self, o)
    def __rtruediv__(self, o): return binary("div", o, self)
    def __neg__(self): return unary("neg", self)
    def __pos__(self): return self
    def __abs__(self): return map_(abs, self)

    def __pow__(self, o):
        if not is_constant(o):
            raise TypeError("strata.jit: ** takes a constant exponent (a traced one: strata.map with math.pow)")
        return map_(lambda u: u ** o, self)

    def __matmul__(self, o): return matmul(self, o)
    def __rmatmul__(self, o): return matmul(o, self)
    def __lt__(self, o): return Comparison("lt", self, o)
    def __le__(self, o): return Comparison("le", self, o)
    def __gt__(self, o): return Comparison("gt", self, o)
    def __ge__(self, o): return Comparison("ge", self, o)
    def __eq__(self, o): return Comparison("eq", self, o)  # type: ignore[override]
    def __ne__(self, o): return Comparison("ne", self, o)  # type: ignore[override]
    __hash__ = object.__hash__

    # shape
    @property
    def T(self):
        return self.transpose()

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if not axes:
            axes = tuple(reversed(range(self.ndim)))
        axes = tuple(_axis(a, self.ndim) for a in axes)
        if sorted(axes) != list(range(self.ndim)):
            raise ValueError(f"strata.jit: axes {axes} are not a permutation of a rank-{self.ndim} array's axes")
        if axes == tuple(range(self.ndim)):
            return self
        shape = tuple(self.shape[a] for a in axes)
        perm = ", ".join(map(str, axes))
        name = self.b.emit(f'"strata.transpose"({self.name}) {{permutation = array<i64: {perm}>}} : '
                           f"({self.type}) -> {tensor_type(shape, self.elem)}")
        return Tensor(self.b, name, shape, self.elem)

    # reductions
    def sum(self, axis=None, keepdims=False): return reduce(self, "add", axis, keepdims)
    def max(self, axis=None, keepdims=False): return reduce(self, "max", axis, keepdims)
    def min(self, axis=None, keepdims=False): return reduce(self, "min", axis, keepdims)
    def prod(self, axis=None, keepdims=False): return reduce(self, "mul", axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        if not is_float(self.elem):
            raise TypeError("strata.jit: mean of an integer array (cast it with .astype first)")
        dims = _dims(axis, self.ndim)
        n = int(np.prod([self.shape[d] for d in dims], dtype=np.int64))
        return reduce(self, "add", axis, keepdims) / float(n)

    def astype(self, dtype):
        elem = elem_of(dtype)
        if elem == self.elem:
            return self
        return map_(lambda x: cast(x, elem), self)


def _axis(a, ndim):
    a = int(a)
    if not -ndim <= a < ndim:
        raise ValueError(f"strata.jit: axis {a} is out of bounds for a rank-{ndim} array")
    return a % ndim


def _dims(axis, ndim):
    if axis is None:
        return list(range(ndim))
    if isinstance(axis, (tuple, list)):
        dims = sorted({_axis(a, ndim) for a in axis})
        if len(dims) != len(axis):
            raise ValueError("strata.jit: repeated axis")
        return dims
    return [_axis(axis, ndim)]


def reduce(x: Tensor, kind: str, axis=None, keepdims=False) -> Tensor:
    dims = _dims(axis, x.ndim)
    if not dims:
        return x
    shape = tuple(d for i, d in enumerate(x.shape) if i not in dims)
    text = ", ".join(map(str, dims))
    name = x.b.emit(f'"strata.reduce"({x.name}) {{dims = array<i64: {text}>, kind = "{kind}"}} : '
                    f"({x.type}) -> {tensor_type(shape, x.elem)}")
    r = Tensor(x.b, name, shape, x.elem)
    if keepdims:
        kept = tuple(1 if i in dims else d for i, d in enumerate(x.shape))
        r = _add_dims(r, kept, dims)
    return r


def _add_dims(x: Tensor, shape: tuple, dims) -> Tensor:
    """``strata.broadcast`` of ``x`` to ``shape``, ``dims`` the new ones."""
    text = ", ".join(map(str, dims))
    name = x.b.emit(f'"strata.broadcast"({x.name}) {{dims = array<i64: {text}>}} : '
                    f"({x.type}) -> {tensor_type(shape, x.elem)}")
    r = Tensor(x.b, name, shape, x.elem)
    if all(shape[d] == 1 for d in dims):
        # A keepdims result: broadcasting it later starts from `x` again
        # rather than removing the size-1 dimensions just added.
        r.expanded_from = (x, list(dims))
    return r


def broadcast_shapes(*shapes) -> tuple:
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ValueError("strata.jit: operands could not be broadcast together with shapes "
                         + " ".join(str(tuple(s)) for s in shapes)) from None


def broadcast_to(x: Tensor, shape: tuple) -> Tensor:
    shape = tuple(shape)
    if x.shape == shape:
        return x
    lead = len(shape) - x.ndim
    if lead < 0 or broadcast_shapes(x.shape, shape) != shape:
        raise ValueError(f"strata.jit: cannot broadcast shape {x.shape} to {shape}")
    stretched = [i for i, d in enumerate(x.shape) if d == 1 and shape[lead + i] != 1]
    origin = getattr(x, "expanded_from", None)
    if origin is not None and sorted(origin[1]) == stretched:
        src = origin[0]
        new = [i for i in range(len(shape)) if i < lead or (i - lead) in stretched]
        return _add_dims(src, shape, new)
    if stretched:
        x = reduce(x, "mul", stretched)
    kept = [lead + i for i in range(len(shape) - lead) if i not in stretched]
    new = [i for i in range(len(shape)) if i not in kept]
    return _add_dims(x, shape, new) if new else x


def _common_elem(operands) -> str:
    elems = {o.elem for o in operands if isinstance(o, (Tensor, Scalar))}
    if len(elems) > 1:
        raise TypeError("strata.jit: operands of different dtypes (" + ", ".join(sorted(elems))
                        + "); convert one with .astype")
    if not elems:
        raise TypeError("strata.jit: at least one operand must be a traced array")
    return elems.pop()



def fill(b: Builder, value, shape, elem) -> Tensor:
    c = b.emit(f"arith.constant {literal(value, elem)} : {elem}", "c")
    name = b.emit(f'"strata.fill"({c}) : ({elem}) -> {tensor_type(shape, elem)}')
    return Tensor(b, name, shape, elem)


def _operands(*xs):
    """Tensors (constants filled to the others' shape), broadcast to one
    shape, of one dtype."""
    for x in xs:
        if not isinstance(x, Tensor) and not is_constant(x):
            raise TypeError(f"strata.jit: cannot combine a traced array with {type(x).__name__} "
                            "(pass arrays as arguments of the traced function)")
    elem = _common_elem(xs)
    b = next(x.b for x in xs if isinstance(x, Tensor))
    shape = broadcast_shapes(*[x.shape for x in xs if isinstance(x, Tensor)])
    return b, shape, elem, [broadcast_to(x, shape) if isinstance(x, Tensor) else fill(b, x, shape, elem) for x in xs]


def binary(op: str, x, y) -> Tensor:
    if (is_constant(x) and isinstance(y, Tensor)) or (isinstance(x, Tensor) and is_constant(y)):
        # A constant operand stays a constant of one strata.map's region:
        # one op rather than a strata.fill and the op, and no filled
        # tensor for the passes to fuse away.
        t = x if isinstance(x, Tensor) else y
        if op == "div" and not is_float(t.elem):
            raise TypeError("strata.jit: '/' on integer arrays (NumPy would make floats; cast with .astype first)")
        literal(x if t is y else y, t.elem)  # a float constant for an integer array is refused here
        if t is x:
            return map_(lambda u: sbin(op, u, y), x)
        return map_(lambda u: sbin(op, x, u), y)
    b, shape, elem, (x, y) = _operands(x, y)
    if op == "div" and not is_float(elem):
        raise TypeError("strata.jit: '/' on integer arrays (NumPy would make floats; cast with .astype first)")
    name = b.emit(f'"strata.{op}"({x.name}, {y.name}) : ({x.type}, {y.type}) -> {x.type}')
    return Tensor(b, name, shape, elem)


def unary(op: str, x: Tensor) -> Tensor:
    if op != "neg" and not is_float(x.elem):
        raise TypeError(f"strata.jit: {op} of an integer array (it takes floats)")
    name = x.b.emit(f'"strata.{op}"({x.name}) : ({x.type}) -> {x.type}')
    return Tensor(x.b, name, x.shape, x.elem)


def matmul(x, y) -> Tensor:
    if not (isinstance(x, Tensor) and isinstance(y, Tensor)):
        raise TypeError("strata.jit: both operands of @ must be traced arrays")
    elem = _common_elem([x, y])
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError("strata.jit: @ does not take rank-0 operands (use *)")
    if x.ndim == 1 and y.ndim == 1:
        if x.shape != y.shape:
            raise ValueError(f"strata.jit: @ of vectors of lengths {x.shape[0]} and {y.shape[0]}")
        return (x * y).sum()
    squeeze = []
    if x.ndim == 1:
        x = _add_dims(x, (1,) + x.shape, [0])
        squeeze.append(-2)
    if y.ndim == 1:
        y = _add_dims(y, y.shape + (1,), [1])
        squeeze.append(-1)
    if x.shape[-1] != y.shape[-2]:
        raise ValueError(f"strata.jit: @ of shapes {x.shape} and {y.shape}: contracting dimensions differ "
                         f"({x.shape[-1]} and {y.shape[-2]})")
    batch = broadcast_shapes(x.shape[:-2], y.shape[:-2])
    if len(batch) > 1:
        raise ValueError(f"strata.jit: @ with more than one batch dimension ({batch})")
    x = broadcast_to(x, batch + x.shape[-2:])
    y = broadcast_to(y, batch + y.shape[-2:])
    shape = batch + (x.shape[-2], y.shape[-1])
    name = x.b.emit(f'"strata.matmul"({x.name}, {y.name}) : ({x.type}, {y.type}) -> {tensor_type(shape, elem)}')
    r = Tensor(x.b, name, shape, elem)
    if squeeze:
        r = reduce(r, "mul", [len(shape) + s for s in squeeze])
    return r


class Comparison:
    """``a < b`` on traced arrays: kept unevaluated (the dialect has no
    boolean tensors) until ``strata.where`` turns it into a selection."""

    def __init__(self, pred, lhs, rhs):
        self.pred, self.lhs, self.rhs = pred, lhs, rhs

    def __bool__(self):
        raise TypeError("strata.jit: a comparison of traced arrays has no truth value (use strata.where)")


# ---------------------------------------------------------------- scalars (map regions)


CMPF = {"lt": "olt", "le": "ole", "gt": "ogt", "ge": "oge", "eq": "oeq", "ne": "une"}
CMPI = {"lt": "slt", "le": "sle", "gt": "sgt", "ge": "sge", "eq": "eq", "ne": "ne"}


class Scalar:
    """A traced element inside a ``strata.map`` region."""

    def __init__(self, b: Builder, name: str, elem: str):
        self.b, self.name, self.elem = b, name, elem

    def __repr__(self):
        return f"<traced {self.elem} {self.name}>"

    def __bool__(self):
        raise TypeError("strata.jit: a traced value has no truth value: Python 'if' and 'while' only work on "
                        "constants while tracing (use strata.where(cond, a, b) for a choice per element)")

    def __float__(self):
        raise TypeError("strata.jit: a traced value cannot become a Python float (math functions on it are "
                        "traced only inside strata.map, or use strata.exp/log/...)")

    __int__ = __index__ = __float__

    def __add__(self, o): return sbin("add", self, o)
    def __radd__(self, o): return sbin("add", o, self)
    def __sub__(self, o): return sbin("sub", self, o)
    def __rsub__(self, o): return sbin("sub", o, self)
    def __mul__(self, o): return sbin("mul", self, o)
    def __rmul__(self, o): return sbin("mul", o, self)
    def __truediv__(self, o): return sbin("div", self, o)
    def __rtruediv__(self, o): return sbin("div", o, self)
    def __neg__(self): return sbin("sub", 0, self) if not is_float(self.elem) else sun("arith.negf", self)
    def __pos__(self): return self
    def __abs__(self): return sun("math.absf" if is_float(self.elem) else "math.absi", self)
    def __lt__(self, o): return scmp("lt", self, o)
    def __le__(self, o): return scmp("le", self, o)
    def __gt__(self, o): return scmp("gt", self, o)
    def __ge__(self, o): return scmp("ge", self, o)
    def __eq__(self, o): return scmp("eq", self, o)  # type: ignore[override]
    def __ne__(self, o): return scmp("ne", self, o)  # type: ignore[override]
    __hash__ = object.__hash__

    def __pow__(self, o):
        if isinstance(o, int) and 0 <= o <= 64:
            if o == 0:
                return _sconst(self.b, 1, self.elem)
            r = self
            for _ in range(o - 1):
                r = r * self
            return r
        if not is_float(self.elem):
            raise TypeError("strata.jit: ** on integers takes a constant exponent in 0..64")
        if isinstance(o, int):
            o = float(o)
        return sbin2("math.powf", self, o)


def _sconst(b: Builder, value, elem) -> Scalar:
    return Scalar(b, b.emit(f"arith.constant {literal(value, elem)} : {elem}", "c"), elem)


def _scalars(*xs):
    for x in xs:
        if not isinstance(x, Scalar) and not is_constant(x):
            raise TypeError(f"strata.map: cannot combine a traced value with {type(x).__name__}")
    elem = _common_elem(xs)
    if elem == "i1":
        raise TypeError("strata.map: arithmetic on a comparison (use strata.where)")
    b = next(x.b for x in xs if isinstance(x, Scalar))
    return b, elem, [x if isinstance(x, Scalar) else _sconst(b, x, elem) for x in xs]


ARITH = {"add": ("addf", "addi"), "sub": ("subf", "subi"), "mul": ("mulf", "muli"), "div": ("divf", "divsi"),
         "max": ("maximumf", "maxsi"), "min": ("minimumf", "minsi")}


def sbin(op, x, y) -> Scalar:
    b, elem, (x, y) = _scalars(x, y)
    if op == "div" and not is_float(elem):
        raise TypeError("strata.map: '/' on integers (NumPy would make floats; cast first)")
    f, i = ARITH[op]
    return Scalar(b, b.emit(f"arith.{f if is_float(elem) else i} {x.name}, {y.name} : {elem}"), elem)


def sbin2(op, x, y) -> Scalar:
    b, elem, (x, y) = _scalars(x, y)
    return Scalar(b, b.emit(f"{op} {x.name}, {y.name} : {elem}"), elem)


def sun(op, x) -> Scalar:
    if not isinstance(x, Scalar):
        raise TypeError(f"strata.map: {op} of {type(x).__name__}")
    return Scalar(x.b, x.b.emit(f"{op} {x.name} : {x.elem}"), x.elem)


def sfloat(op, x) -> Scalar:
    if not is_float(x.elem):
        raise TypeError(f"strata.map: {op} of an integer (it takes floats)")
    return sun(op, x)


def scmp(pred, x, y) -> Scalar:
    b, elem, (x, y) = _scalars(x, y)
    if is_float(elem):
        text = f"arith.cmpf {CMPF[pred]}, {x.name}, {y.name} : {elem}"
    else:
        text = f"arith.cmpi {CMPI[pred]}, {x.name}, {y.name} : {elem}"
    r = Scalar(b, b.emit(text), "i1")
    r.cmp_elem = elem  # what strata.where(c, 1.0, 0.0) makes
    return r


def sselect(c: Scalar, x, y, elem=None) -> Scalar:
    if not isinstance(c, Scalar) or c.elem != "i1":
        raise TypeError("strata.where: the condition must be a comparison")
    if not isinstance(x, Scalar) and not isinstance(y, Scalar):
        if elem is None:
            raise TypeError("strata.where: give at least one traced value, or a dtype")
        x, y = _sconst(c.b, x, elem), _sconst(c.b, y, elem)
    _, _, (x, y) = _scalars(x, y)
    return Scalar(c.b, c.b.emit(f"arith.select {c.name}, {x.name}, {y.name} : {x.elem}"), x.elem)


def cast(x: Scalar, elem: str) -> Scalar:
    if x.elem == elem:
        return x
    src, dst = x.elem, elem
    if is_float(src) and is_float(dst):
        op = "arith.extf" if dst == "f64" else "arith.truncf"
    elif is_float(src):
        op = "arith.fptosi"
    elif is_float(dst):
        op = "arith.sitofp"
    else:
        op = "arith.extsi" if dst == "i64" else "arith.trunci"
    return Scalar(x.b, x.b.emit(f"{op} {x.name} : {src} to {dst}"), dst)


# math.* inside a map body: the lambda's globals are swapped for these.
def _math_fn(op, ints=False):
    def f(x, *rest):
        if isinstance(x, Scalar):
            if rest:
                raise TypeError(f"strata.map: {op} takes one argument")
            return sun(op, x) if ints else sfloat(op, x)
        return getattr(math, op.split(".")[1].replace("absf", "fabs"))(x, *rest)
    return f


MATH = {
    "exp": _math_fn("math.exp"), "log": _math_fn("math.log"), "sqrt": _math_fn("math.sqrt"),
    "tanh": _math_fn("math.tanh"), "sin": _math_fn("math.sin"), "cos": _math_fn("math.cos"),
    "tan": _math_fn("math.tan"), "atan": _math_fn("math.atan"), "floor": _math_fn("math.floor"),
    "ceil": _math_fn("math.ceil"), "fabs": _math_fn("math.absf"), "erf": _math_fn("math.erf"),
    "log2": _math_fn("math.log2"), "log10": _math_fn("math.log10"), "exp2": _math_fn("math.exp2"),
}


def _math_pow(x, y):
    if isinstance(x, Scalar) or isinstance(y, Scalar):
        return sbin2("math.powf", x, y)
    return math.pow(x, y)


def _math_atan2(x, y):
    if isinstance(x, Scalar) or isinstance(y, Scalar):
        return sbin2("math.atan2", x, y)
    return math.atan2(x, y)


class _TracedMath(types.ModuleType):
    """``math`` as a map body sees it: traced functions over ``Scalar``,
    the real ones over numbers, the constants unchanged."""

    def __init__(self):
        super().__init__("math")
        for k in dir(math):
            if not k.startswith("_"):
                setattr(self, k, getattr(math, k))
        for k, f in MATH.items():
            setattr(self, k, f)
        self.pow, self.atan2 = _math_pow, _math_atan2


TRACED_MATH = _TracedMath()


def _with_traced_math(fn):
    """``fn`` with ``math`` (and functions imported from it) replaced by the
    tracing versions in its globals."""
    if not isinstance(fn, types.FunctionType):
        return fn
    g = dict(fn.__globals__)
    for name in fn.__code__.co_names:
        v = g.get(name)
        if v is math:
            g[name] = TRACED_MATH
        elif callable(v) and getattr(v, "__module__", None) == "math" and hasattr(TRACED_MATH, v.__name__):
            g[name] = getattr(TRACED_MATH, v.__name__)
    return types.FunctionType(fn.__code__, g, fn.__name__, fn.__defaults__, fn.__closure__)


def map_(fn, *args) -> Tensor:
    """``strata.map``: ``fn`` applied per element of the broadcast
    arguments; constants are constants of the region."""
    tensors = [a for a in args if isinstance(a, Tensor)]
    if not tensors:
        raise TypeError("strata.map: at least one argument must be a traced array")
    outer = tensors[0].b
    shape = broadcast_shapes(*[t.shape for t in tensors])
    operands = [broadcast_to(t, shape) for t in tensors]
    region = Builder(indent="    ", counter=outer.counter, elem=_common_elem(operands))
    block_args, call_args = [], []
    for a in args:
        if isinstance(a, Tensor):
            n = region.fresh("x")
            block_args.append(f"{n}: {a.elem}")
            call_args.append(Scalar(region, n, a.elem))
        elif is_constant(a):
            call_args.append(a)
        else:
            raise TypeError(f"strata.map: arguments are traced arrays or constants, not {type(a).__name__}")
    _current_region.append(region)
    try:
        r = _with_traced_math(fn)(*call_args)
    finally:
        _current_region.pop()
    if isinstance(r, Scalar) and r.elem == "i1":
        raise TypeError("strata.map: the function returns a comparison (use strata.where to choose values)")
    if not isinstance(r, Scalar):
        if not is_constant(r):
            raise TypeError(f"strata.map: the function must return a number, not {type(r).__name__}")
        r = _sconst(region, r, _common_elem(operands))
    out_type = tensor_type(shape, r.elem)
    ins = ", ".join(o.name for o in operands)
    in_types = ", ".join(o.type for o in operands)
    body = "\n".join(region.lines)
    name = outer.emit(f'"strata.map"({ins}) ({{\n  ^bb0({", ".join(block_args)}):\n{body}\n'
                      f'    "strata.yield"({r.name}) : ({r.elem}) -> ()\n'
                      f"  }}) : ({in_types}) -> {out_type}")
    return Tensor(outer, name, shape, r.elem)


_current_region: list = []


def loop(n, body, *init):
    """``strata.loop(n, body, *init)`` inside a map body: ``body(*values)``
    returns the next values, ``n`` times, as one ``scf.for`` carrying them
    (a Python ``for`` would unroll ``n`` copies). Constants among ``init``
    take the other values' dtype, else the map's."""
    scalars = [v for v in init if isinstance(v, Scalar)]
    if not scalars and not _current_region:
        raise TypeError("strata.loop: use it inside a strata.map body")
    b = scalars[0].b if scalars else _current_region[-1]
    elems = {v.elem for v in scalars}
    # Each carried value keeps its dtype; constants take the one dtype of
    # the others, else the map's.
    default = scalars[0].elem if len(elems) == 1 else b.elem
    values = [v if isinstance(v, Scalar) else _sconst(b, v, default) for v in init]
    if not isinstance(n, int) or n < 0:
        raise TypeError("strata.loop: the trip count must be a non-negative Python int")
    c0, cn, c1 = (b.emit(f"arith.constant {v} : index", "c") for v in (0, n, 1))
    inner = Builder(indent=b.indent + "  ", counter=b.counter, elem=b.elem)
    iv = inner.fresh("k")
    carried = [Scalar(inner, inner.fresh("x"), v.elem) for v in values]
    out = body(*carried)
    out = list(out) if isinstance(out, (tuple, list)) else [out]
    if len(out) != len(values):
        raise TypeError(f"strata.loop: the body returns {len(out)} value(s) for {len(values)} carried")
    out = [o if isinstance(o, Scalar) else _sconst(inner, o, v.elem) for o, v in zip(out, values)]
    for o, v in zip(out, values):
        if o.elem != v.elem:
            raise TypeError(f"strata.loop: a carried value changes dtype ({v.elem} to {o.elem})")
    types_ = ", ".join(v.elem for v in values)
    res = b.fresh("r")
    args = ", ".join(f"{c.name} = {v.name}" for c, v in zip(carried, values))
    b.lines.append(f"{b.indent}{res}:{len(values)} = scf.for {iv} = {c0} to {cn} step {c1} iter_args({args}) "
                   f"-> ({types_}) {{")
    b.lines.extend(inner.lines)
    b.lines.append(f"{inner.indent}scf.yield {', '.join(o.name for o in out)} : {types_}")
    b.lines.append(f"{b.indent}}}")
    results = [Scalar(b, f"{res}#{i}", v.elem) for i, v in enumerate(values)]
    return results[0] if len(results) == 1 else tuple(results)


def where(cond, x, y):
    """``strata.where(cond, x, y)``: per element, ``x`` where ``cond``
    holds, else ``y`` (one ``strata.map`` holding the comparison and an
    ``arith.select``)."""
    if isinstance(cond, Scalar):
        return sselect(cond, x, y, getattr(cond, "cmp_elem", None))
    if not isinstance(cond, Comparison):
        raise TypeError("strata.where: the condition must be a comparison of traced arrays (a < b, x >= 0, ...)")
    values = [v for v in (x, y) if isinstance(v, Tensor)]
    elem = _common_elem(values) if values else None
    cmp_elem = _common_elem([v for v in (cond.lhs, cond.rhs)])
    pred = cond.pred
    # Constant sides of the comparison and the choice stay constants of
    # the region; traced ones become its operands.
    args = [cond.lhs, cond.rhs, x, y]

    def body(l, r, a, b_):
        if not isinstance(l, Scalar):
            l = _sconst(r.b, l, cmp_elem)
        if not isinstance(r, Scalar):
            r = _sconst(l.b, r, cmp_elem)
        return sselect(scmp(pred, l, r), a, b_, elem or cmp_elem)

    return map_(body, *args)


# ---------------------------------------------------------------- functions


def trace(fn, args, names):
    """MLIR text for ``fn`` called with ``args`` (NumPy arrays become
    parameters named ``names``, anything else is a constant), and the
    parameter names."""
    b = Builder()
    params, call = [], []
    for a, n in zip(args, names):
        if isinstance(a, np.ndarray):
            elem = elem_of(a.dtype)
            # Parameters keep their Python names, apart from the fresh ones.
            if re.fullmatch(r"[vcx][0-9]+", n):
                n += "_"
            t = Tensor(b, f"%{n}", a.shape, elem)
            params.append(t)
            call.append(t)
        else:
            call.append(a)
    r = fn(*call)
    results = list(r) if isinstance(r, (tuple, list)) else [r]
    for x in results:
        if isinstance(x, Comparison):
            raise TypeError("strata.jit: a comparison cannot be returned (the dialect has no boolean arrays; "
                            "use strata.where)")
        if not isinstance(x, Tensor):
            raise TypeError(f"strata.jit: the function must return traced arrays, not {type(x).__name__}")
    sig = ", ".join(f"{p.name}: {p.type}" for p in params)
    res_types = ", ".join(x.type for x in results)
    lines = [f"func.func @main({sig}) -> ({res_types}) {{"] + b.lines
    lines.append(f"  return {', '.join(x.name for x in results)} : {res_types}")
    lines.append("}")
    return "\n".join(lines) + "\n", [p.name[1:] for p in params]
