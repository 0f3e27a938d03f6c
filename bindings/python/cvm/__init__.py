"""cvm: Python bindings (ctypes, standard library only) for libcvm, customer
value maximization: customer ledgers and RFM summaries, BTYD transaction
models (BG/NBD, Pareto/NBD, MBG/NBD, BG/BB), Gamma-Gamma spend, sBG retention,
RFM, k-means, value tiers, lifecycle stages and campaign attribution.

The library is found via $CVM_LIBRARY, then next to this package, then the
system loader; a library of another major version is refused. numpy and
pandas are used when importable, never required."""

from ctypes import byref

from . import _ffi
from ._errors import (ABIMismatch, EmptyInput, Error, FormatError, InvalidInput,
                      IOFailure, LibraryNotFound, Mismatch, NoConvergence, NotFound, OutOfMemory,
                      ParseError, RangeError, VersionMismatch)

_ffi.load()

from ._base import format_date, parse_time  # noqa: E402
from .attribution import Attribution  # noqa: E402
from .customers import Customers  # noqa: E402
from .models import (BetaGeo, BetaGeoBetaBinom, BetaGeoBetaBinomFitter, BetaGeoFitter,  # noqa: E402
                     GammaGamma, GammaGammaFitter, ModifiedBetaGeo, ModifiedBetaGeoFitter,
                     ParetoNBD, ParetoNBDFitter, ShiftedBetaGeo)
from .segment import (RFM, STAGES, KMeans, Tiers, elbow, lifecycle, rfm,  # noqa: E402
                      segment_profiles, value_tier_assign, value_tiers)

_UNBOUND = _ffi.UNBOUND


def version():
    """The loaded library's version as (major, minor, patch)."""
    n = _ffi.lib.cvm_version()
    return n // 10000, n // 100 % 100, n % 100


__version__ = _ffi.lib.cvm_version_string().decode()


def strerror(status):
    """The English name of a cvm_status."""
    return _ffi.lib.cvm_strerror(status).decode()


def simulate(model="bgnbd", customers=1000, params=None, spend=True, spend_params=None,
             seed=1, start=None, acquisition_seconds=None, duration_seconds=None,
             unit_seconds=None, callback=None):
    """Draw purchases from a model (cvm_simulate). With `callback(customer,
    time, amount)` each purchase is passed on (return True to stop) and None
    is returned; otherwise a list of (customer, time, amount) tuples."""
    from ctypes import c_int32

    from ._base import options, to_time
    kind = c_int32()
    _ffi.lib.cvm_model_from_name(model.encode(), byref(kind))
    o = options(_ffi.SimulateOptions, "simulate", model=kind.value, customers=customers,
                seed=seed, spend=int(bool(spend)))
    if params is not None:
        o.params[:] = list(params.values() if isinstance(params, dict) else params)
    if spend_params is not None:
        o.spend_params[:] = list(spend_params.values() if isinstance(spend_params, dict)
                                 else spend_params)
    for name, value in (("start", start), ("acquisition_seconds", acquisition_seconds),
                        ("duration_seconds", duration_seconds), ("unit_seconds", unit_seconds)):
        if value is not None:
            setattr(o, name, to_time(value))
    rows, failure = [], []

    def receive(_ud, customer, time, amount):
        try:
            if callback is None:
                rows.append((customer, time, amount))
                return 0
            return 1 if callback(customer, time, amount) else 0
        except BaseException as e:  # stop the run; re-raised below
            failure.append(e)
            return 1

    fn = _ffi.TRANSACTION_FN(receive)
    _ffi.lib.cvm_simulate(byref(o), fn, None)
    if failure:
        raise failure[0]
    return None if callback is not None else rows


__all__ = [
    "Error", "InvalidInput", "OutOfMemory", "ABIMismatch", "IOFailure", "ParseError",
    "RangeError", "NotFound", "EmptyInput", "FormatError", "NoConvergence",
    "Mismatch", "VersionMismatch", "LibraryNotFound",
    "Customers", "BetaGeo", "ParetoNBD", "ModifiedBetaGeo", "BetaGeoBetaBinom", "GammaGamma",
    "ShiftedBetaGeo", "BetaGeoFitter", "ParetoNBDFitter", "ModifiedBetaGeoFitter",
    "BetaGeoBetaBinomFitter", "GammaGammaFitter", "RFM", "rfm", "KMeans", "elbow", "Tiers",
    "value_tiers", "value_tier_assign", "lifecycle", "STAGES", "segment_profiles",
    "Attribution", "simulate", "parse_time", "format_date", "version", "strerror",
]
