"""Strata from Python: compile MLIR kernels and call them with NumPy arrays,
or write them in Python with ``@strata.jit``.

    k = strata.compile("kernel.mlir")          # or MLIR text
    y = k(a, b)                                # NumPy in, fresh NumPy out
    k.benchmark(a, b, runs=100)                # {'median_ms': ..., 'min_ms': ..., 'max_ms': ...}
    k.mlir(stage="affine")                     # the IR after a stage

    @strata.jit
    def softmax(x):
        e = strata.exp(x - x.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

This layer is thin: the kernel object, the checks on arguments and the call
are the native module's (``strata._native``, over the Rust driver); what
lives here is reading files, dispatching ``strata.exp`` & co. between traced
values and plain NumPy, and ``jit``'s cache of compiled kernels. Nothing
but NumPy is needed at run time.
"""

from __future__ import annotations

import functools
import inspect
import os
import threading
import weakref

import numpy as np

from . import _native, _trace
from ._native import CompileError, InputError, Kernel, StrataError, pool_threads, set_threads

__all__ = [
    "compile", "jit", "Kernel", "CompileError", "InputError", "StrataError", "set_threads", "pool_threads",
    "exp", "log", "sqrt", "tanh", "maximum", "minimum", "where", "map", "loop",
]


def compile(source_or_path, entry="main", level="O3", threads=None, target="host", races="error") -> Kernel:
    """Compiles MLIR text, or the file at a path, and returns the kernel
    that calls ``entry``.

    ``level`` is the default pipeline's (``O0``..``O3``), ``threads`` the
    thread count of this kernel's calls (default: ``set_threads``'s, else
    the pool's), ``target`` as ``--strata-target`` (``host``, an LLVM CPU
    name, with ``,+feature,-feature``), ``races`` as ``--strata-races``
    (``error``, ``warn``, ``off``). Raises ``CompileError`` with
    ``FILE:LINE:COL: error: MESSAGE`` as the tools print it.
    """
    source, name = _read(source_or_path)
    return _native.compile(source, name, entry=entry, level=level, threads=threads, target=target, races=races)


def _read(source_or_path):
    if isinstance(source_or_path, os.PathLike) or (
        isinstance(source_or_path, str) and "\n" not in source_or_path and "{" not in source_or_path
    ):
        path = os.fspath(source_or_path)
        with open(path, encoding="utf-8") as f:
            return f.read(), path
    if not isinstance(source_or_path, str):
        raise TypeError(f"strata.compile takes MLIR text or a path, not {type(source_or_path).__name__}")
    return source_or_path, "<string>"


# ------------------------------------------------------------ NumPy-level ops


def _dispatch(name, traced, numpy_fn, scalar_op=None):
    def f(x):
        if isinstance(x, _trace.Tensor):
            return traced(x)
        if isinstance(x, _trace.Scalar):
            return _trace.sfloat(scalar_op, x)
        return numpy_fn(x)
    f.__name__ = name
    f.__doc__ = f"Elementwise {name}: a strata op on traced arrays, math.{name} in a map body, NumPy's otherwise."
    return f


exp = _dispatch("exp", lambda x: _trace.unary("exp", x), np.exp, "math.exp")
log = _dispatch("log", lambda x: _trace.unary("log", x), np.log, "math.log")
sqrt = _dispatch("sqrt", lambda x: _trace.unary("sqrt", x), np.sqrt, "math.sqrt")
tanh = _dispatch("tanh", lambda x: _trace.unary("tanh", x), np.tanh, "math.tanh")


def _pairwise(name, op, numpy_fn):
    def f(x, y):
        if isinstance(x, _trace.Tensor) or isinstance(y, _trace.Tensor):
            return _trace.binary(op, x, y)
        if isinstance(x, _trace.Scalar) or isinstance(y, _trace.Scalar):
            return _trace.sbin(op, x, y)
        return numpy_fn(x, y)
    f.__name__ = name
    f.__doc__ = f"Elementwise {name} (strata.{op} on traced arrays, NumPy's otherwise)."
    return f


maximum = _pairwise("maximum", "max", np.maximum)
minimum = _pairwise("minimum", "min", np.minimum)


def where(cond, x, y):
    """Per element, ``x`` where ``cond`` (a comparison) holds, else ``y``."""
    if isinstance(cond, (_trace.Comparison, _trace.Scalar)):
        return _trace.where(cond, x, y)
    return np.where(cond, x, y)


loop = _trace.loop


def map(fn, *arrays):
    """Applies the scalar function ``fn`` per element of the (broadcast)
    arrays: one ``strata.map`` whose body is ``fn`` traced, ``math``
    functions and Python ``if``/``for`` over constants included. Outside a
    traced function, it compiles and runs that map at once."""
    if any(isinstance(a, _trace.Tensor) for a in arrays):
        return _trace.map_(fn, *arrays)
    try:
        f = _eager_maps.get(fn)
    except TypeError:  # not weakly referenceable
        f = None
    if f is None:
        f = jit(lambda *xs: _trace.map_(fn, *xs))
        try:
            _eager_maps[fn] = f
        except TypeError:
            pass
    return f(*arrays)


# fn -> its jit, so that calling strata.map(fn, ...) again reuses the kernels.
_eager_maps = weakref.WeakKeyDictionary()


# ------------------------------------------------------------ @strata.jit


class Jit:
    """A Python function traced into the ``strata`` dialect, compiled once
    per combination of argument shapes and dtypes (and constant values),
    then called like the function."""

    def __init__(self, fn, level="O3", threads=None, target="host"):
        self.fn, self.level, self.threads, self.target = fn, level, threads, target
        self._cache: dict = {}
        # (shape, dtype character) of each argument -> kernel, for calls
        # with arrays only (NumPy scalars included: the kernel takes them
        # as 0-d arrays). A byte-swapped array shares its native twin's
        # entry, and the kernel refuses it.
        self._fast: dict = {}
        self._lock = threading.Lock()
        try:
            self._names = list(inspect.signature(fn).parameters)
        except (TypeError, ValueError):
            self._names = []
        functools.update_wrapper(self, fn)

    def _arrays(self, args):
        # Lists and NumPy scalars become arrays (parameters); Python
        # scalars stay constants of the trace.
        return [np.asarray(a) if isinstance(a, (list, tuple, np.generic)) else a for a in args]

    def _key(self, args):
        return tuple((a.shape, a.dtype.str) if isinstance(a, np.ndarray) else (type(a), a) for a in args)

    def _names_for(self, args):
        names = list(self._names[: len(args)])
        names += [f"arg{i}" for i in range(len(names), len(args))]
        if len(set(names)) != len(names) or any(n.startswith("*") for n in names):
            names = [f"arg{i}" for i in range(len(args))]
        return names

    def _trace(self, args):
        return _trace.trace(self.fn, args, self._names_for(args))

    def kernel(self, *args) -> Kernel:
        """The compiled kernel for these arguments' shapes and dtypes."""
        args = self._arrays(args)
        key = self._key(args)
        k = self._cache.get(key)
        if k is None:
            with self._lock:
                k = self._cache.get(key)
                if k is None:
                    text, params = self._trace(args)
                    k = _native.compile(text, f"<traced {getattr(self.fn, '__name__', 'function')}>",
                                        level=self.level, threads=self.threads, target=self.target,
                                        params=params)
                    self._cache[key] = k
        return k

    def __call__(self, *args, threads=None):
        # The common case first: arrays only, a shape and dtype seen before.
        try:
            k = self._fast.get(tuple([(a.shape, a.dtype.char) for a in args]))
        except AttributeError:  # a Python scalar or a list among them
            k = None
        if k is not None:
            return k(*args) if threads is None else k(*args, threads=threads)
        args = self._arrays(args)
        k = self.kernel(*args)
        if all(isinstance(a, np.ndarray) for a in args):
            self._fast[tuple([(a.shape, a.dtype.char) for a in args])] = k
        return k(*[a for a in args if isinstance(a, np.ndarray)], threads=threads)

    def benchmark(self, *args, runs=100, threads=None):
        """As ``Kernel.benchmark``; tracing and compiling are not timed."""
        args = self._arrays(args)
        k = self.kernel(*args)
        return k.benchmark(*[a for a in args if isinstance(a, np.ndarray)], runs=runs, threads=threads)

    def mlir(self, *example_args, stage="traced"):
        """The traced IR for these example arguments (``stage="traced"``),
        or the IR after a stage of the pipeline, as ``Kernel.mlir``."""
        args = self._arrays(example_args)
        text, _ = self._trace(args)
        if stage == "traced":
            return text
        return _native.mlir(text, "<traced>", stage=stage, level=self.level, target=self.target)

    def cache_size(self) -> int:
        return len(self._cache)


def jit(fn=None, *, level="O3", threads=None, target="host"):
    """``@strata.jit`` or ``@strata.jit(level=..., threads=..., target=...)``."""
    if fn is None:
        return lambda f: Jit(f, level=level, threads=threads, target=target)
    return Jit(fn, level=level, threads=threads, target=target)
