"""Inputs and outputs: lists, array.array, buffer-protocol objects, and numpy
arrays (without a copy when contiguous float64) when numpy is importable.
Outputs are numpy arrays when numpy is importable, else array.array."""

import array
import ctypes
from ctypes import POINTER, c_double, c_int32

try:
    import numpy as np
except ImportError:  # numpy is optional
    np = None

try:
    import pandas as pd
except ImportError:  # pandas is optional
    pd = None

_INT32 = "i" if array.array("i").itemsize == 4 else "l"
_KINDS = {"d": (c_double, "d", "float64"), "i": (c_int32, _INT32, "int32")}


def _is_numpy_like(x):
    return np is not None and (isinstance(x, np.ndarray) or hasattr(x, "__array__"))


def _vector(x, kind, name):
    """(pointer or ctypes array, n) for a 1-D input; the result keeps the data alive."""
    ctype, code, dtype = _KINDS[kind]
    if x is None:
        return None, 0
    if _is_numpy_like(x):
        a = np.ascontiguousarray(x, dtype=dtype).reshape(-1)
        if a.size == 0:
            return None, 0
        return a.ctypes.data_as(POINTER(ctype)), a.size
    try:
        mv = memoryview(x)
    except TypeError:
        mv = None
    if mv is not None:
        if mv.format in ("B", "b", "c") and kind == "d":
            raise TypeError(f"{name}: a byte buffer is ambiguous; pass memoryview(b).cast('d')")
        native = mv.format.lstrip("@=") == code and mv.itemsize == ctypes.sizeof(ctype)
        if native and mv.c_contiguous:
            n = mv.nbytes // mv.itemsize
            if n == 0:
                return None, 0
            flat = mv.cast("B")
            arr_t = ctype * n
            return (arr_t.from_buffer_copy(flat) if mv.readonly else arr_t.from_buffer(flat)), n
        x = mv.tolist()
    try:
        a = array.array(code, x)
    except TypeError as e:
        raise TypeError(f"{name}: expected a sequence of numbers ({e})") from None
    if len(a) == 0:
        return None, 0
    return (ctype * len(a)).from_buffer(a), len(a)


def doubles(x, name="values"):
    return _vector(x, "d", name)


def ints(x, name="values"):
    return _vector(x, "i", name)


def columns(names, *values):
    """Convert several equal-length double columns; returns (pointers, n)."""
    ptrs, n = [], None
    for name, v in zip(names, values):
        p, m = doubles(v, name)
        if v is not None:
            if n is not None and m != n:
                raise ValueError(f"{name} has {m} values, expected {n}")
            n = m
        ptrs.append(p)
    return ptrs, n or 0


def matrix(X, d=None, name="X"):
    """(pointer, n, d) of a row-major matrix: a 2-D numpy array or memoryview,
    a sequence of rows, or a flat sequence with `d` given."""
    if _is_numpy_like(X):
        a = np.ascontiguousarray(X, dtype="float64")
        if a.ndim == 1:
            a = a.reshape(-1, d or 1)
        if a.ndim != 2:
            raise ValueError(f"{name} must be 2-D")
        return a.ctypes.data_as(POINTER(c_double)), a.shape[0], a.shape[1]
    try:
        mv = memoryview(X)
    except TypeError:
        mv = None
    if mv is not None and mv.ndim == 2:
        n, d = mv.shape
        return doubles(mv.cast("B").cast("d"), name)[0], n, d
    if d is None:
        rows = [list(r) for r in X]
        d = len(rows[0]) if rows else 0
        if any(len(r) != d for r in rows):
            raise ValueError(f"{name}: rows of different lengths")
        flat = [v for r in rows for v in r]
    else:
        flat = X
    p, size = doubles(flat, name)
    if d == 0 or size % d:
        raise ValueError(f"{name}: {size} values do not make rows of {d}")
    return p, size // d, d


def empty(n, kind="d"):
    """(result, pointer) for an output of n values."""
    ctype, code, dtype = _KINDS[kind]
    if np is not None:
        a = np.zeros(n, dtype=dtype)
        return a, a.ctypes.data_as(POINTER(ctype))
    a = array.array(code, bytes(n * ctypes.sizeof(ctype)))
    return a, ((ctype * n).from_buffer(a) if n else None)


def rows(result, n, d):
    """Shape a flat output of n*d values as n rows."""
    if np is not None:
        return result.reshape(n, d)
    return [result[i * d:(i + 1) * d] for i in range(n)]


def frame(columns, index=None):
    """A pandas DataFrame when pandas is importable, else the dict itself."""
    if pd is not None:
        return pd.DataFrame(columns, index=index)
    return columns
