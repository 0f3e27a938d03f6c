"""Handles, options and small conversions shared by the modules."""

import ctypes
import datetime
import weakref
from ctypes import byref, c_int64, c_void_p

from . import _ffi
from ._errors import InvalidInput

ERRLEN = 512
DAY, WEEK = 86400, 604800
TIME_NONE = -(2 ** 63)
UNITS = {"second": 1, "s": 1, "hour": 3600, "h": 3600, "day": DAY, "D": DAY, "week": WEEK,
         "W": WEEK}


def errbuf():
    """(buffer, length) for the errbuf, errlen pair of a call."""
    return ctypes.create_string_buffer(ERRLEN), ERRLEN


def options(cls, prefix, **fields):
    """A cls filled with the library's defaults, then `fields`."""
    o = cls()
    getattr(_ffi.lib, f"cvm_{prefix}_options_init")(byref(o), ctypes.sizeof(cls))
    for k, v in fields.items():
        setattr(o, k, v)
    return o


def fit_options(penalizer=0.0, tol=None, max_iter=None, starts=None, initial=None):
    o = options(_ffi.FitOptions, "fit", penalizer=float(penalizer))
    if tol is not None:
        o.tolerance = tol
    if max_iter is not None:
        o.max_iterations = max_iter
    if starts is not None:
        o.starts = starts
    if initial is not None:
        o.initial = (ctypes.c_double * len(initial))(*initial)
    return o


def encode(s):
    """str or bytes-like id to bytes."""
    return s.encode() if isinstance(s, str) else bytes(s)


def unit_seconds(unit):
    return UNITS[unit] if isinstance(unit, str) else int(unit)


def parse_time(text, format=0):
    """Seconds since the epoch of a date or date-time string (cvm_parse_time)."""
    b = encode(text)
    out = c_int64()
    _ffi.lib.cvm_parse_time(b, len(b), format, byref(out))
    return out.value


def format_date(t):
    """'YYYY-MM-DD' of seconds since the epoch (cvm_format_date)."""
    buf = ctypes.create_string_buffer(11)
    _ffi.lib.cvm_format_date(buf, 11, int(t))
    return buf.value.decode()


def to_time(t):
    """Seconds since the epoch from an int, a date string, a date or a datetime
    (naive means UTC)."""
    if t is None:
        return TIME_NONE
    if isinstance(t, datetime.datetime):
        if t.tzinfo is None:
            t = t.replace(tzinfo=datetime.timezone.utc)
        return int(t.timestamp())
    if isinstance(t, datetime.date):
        return parse_time(t.isoformat())
    if isinstance(t, (str, bytes)):
        return parse_time(t)
    return int(t)


class Handle:
    """An owned C handle: freed by close(), a `with` block or the finalizer."""

    _prefix = None  # "customers", "clv", ...

    def _adopt(self, ptr):
        self._ptr = ptr
        self._finalizer = weakref.finalize(self, getattr(_ffi.lib, f"cvm_{self._prefix}_free"), ptr)

    def _new(self, opts):
        out = c_void_p()
        getattr(_ffi.lib, f"cvm_{self._prefix}_new")(byref(out), opts)
        self._adopt(out.value)

    @classmethod
    def _load(cls, path, opts=None):
        out = c_void_p()
        buf, n = errbuf()
        getattr(_ffi.lib, f"cvm_{cls._prefix}_load")(byref(out), str(path).encode(), opts, buf, n)
        self = cls.__new__(cls)
        self._adopt(out.value)
        return self

    @property
    def _h(self):
        ptr = getattr(self, "_ptr", None)
        if ptr is None:
            raise InvalidInput(f"{type(self).__name__} is closed")
        return ptr

    @property
    def closed(self):
        return getattr(self, "_ptr", None) is None

    def close(self):
        """Free the C object now; later calls raise InvalidInput. Idempotent."""
        if getattr(self, "_ptr", None) is not None:
            self._ptr = None
            self._finalizer()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def save(self, path):
        """Write a checksummed snapshot to `path`."""
        getattr(_ffi.lib, f"cvm_{self._prefix}_save")(self._h, str(path).encode())

    @property
    def errmsg(self):
        return getattr(_ffi.lib, f"cvm_{self._prefix}_errmsg")(self._h).decode(errors="replace")
