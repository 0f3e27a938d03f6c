"""Loading libcvm and declaring every exported function.

TABLE holds one (name, argtypes, restype, errcheck) row per function of
bindings/api.list, except the few in UNBOUND (tests/check_bindings.py
checks both). Status-returning functions get an errcheck that turns a
nonzero cvm_status into the matching cvm.Error subclass, carrying the
handle's message (or the errbuf's)."""

import ctypes
import ctypes.util
import glob
import os
from ctypes import (POINTER, Structure, c_char, c_char_p, c_double, c_int, c_int32, c_int64,
                    c_size_t, c_uint, c_uint64, c_void_p)

from . import _errors

MAJOR = 0  # the libcvm major version this package is written for

# Deliberately unbound exported functions, with the reason.
UNBOUND = {}

# ---- Options and result structs (include/cvm/*.h) --------------------------


def _struct(name, fields):
    return type(name, (Structure,), {"_fields_": [("size", c_size_t)] + fields})


CustomersOptions = _struct("CustomersOptions", [
    ("allocator", c_void_p), ("period_seconds", c_int64), ("period_origin", c_int64),
    ("calibration_end", c_int64)])
CsvOptions = _struct("CsvOptions", [
    ("id_column", c_char_p), ("date_column", c_char_p), ("amount_column", c_char_p),
    ("id_index", c_int32), ("date_index", c_int32), ("amount_index", c_int32),
    ("date_format", c_int32), ("delimiter", c_int32), ("whitespace", c_int32),
    ("has_header", c_int32), ("reserved", c_int32)])
SummaryOptions = _struct("SummaryOptions", [
    ("unit_seconds", c_int64), ("observation_end", c_int64)])
SimulateOptions = _struct("SimulateOptions", [
    ("seed", c_uint64), ("customers", c_uint64), ("model", c_int32), ("spend", c_int32),
    ("params", c_double * 4), ("spend_params", c_double * 3), ("start", c_int64),
    ("acquisition_seconds", c_int64), ("duration_seconds", c_int64), ("unit_seconds", c_int64)])
FitOptions = _struct("FitOptions", [
    ("penalizer", c_double), ("tolerance", c_double), ("initial", POINTER(c_double)),
    ("max_iterations", c_int32), ("starts", c_int32)])
FitInfo = _struct("FitInfo", [
    ("fitted", c_int32), ("converged", c_int32), ("iterations", c_int32),
    ("has_stderr", c_int32), ("loglik", c_double), ("weight", c_double),
    ("rows", c_uint64), ("patterns", c_uint64)])
ClvOptions = _struct("ClvOptions", [
    ("allocator", c_void_p), ("kind", c_int32), ("reserved", c_int32)])
HoldoutReport = _struct("HoldoutReport", [
    (f, c_double) for f in ("customers", "predicted", "actual", "mae", "rmse", "bias")])
ModelOptions = _struct("ModelOptions", [("allocator", c_void_p)])
ValueOptions = _struct("ValueOptions", [
    ("periods", c_int32), ("reserved", c_int32), ("period_length", c_double),
    ("discount_rate", c_double), ("margin", c_double)])
RfmOptions = _struct("RfmOptions", [
    ("allocator", c_void_p), ("bins", c_int32), ("ties", c_int32), ("map", c_int32),
    ("reserved", c_int32)])
SegmentProfile = _struct("SegmentProfile", [
    (f, c_double) for f in ("count", "share_customers", "share_revenue", "mean_recency",
                            "mean_frequency", "mean_monetary", "mean_p_alive", "mean_clv",
                            "share_clv")])
KmeansOptions = _struct("KmeansOptions", [
    ("allocator", c_void_p), ("seed", c_uint64), ("tolerance", c_double), ("k", c_int32),
    ("n_init", c_int32), ("max_iterations", c_int32), ("scaling", c_int32)])
KmeansInfo = _struct("KmeansInfo", [
    ("inertia", c_double), ("k", c_int32), ("d", c_int32), ("iterations", c_int32),
    ("converged", c_int32)])
TiersOptions = _struct("TiersOptions", [
    ("allocator", c_void_p), ("top_shares", POINTER(c_double)), ("nshares", c_size_t)])
LifecycleOptions = _struct("LifecycleOptions", [
    (f, c_double) for f in ("new_age", "at_risk_gaps", "lapsed_gaps", "at_risk_p_alive",
                            "lapsed_p_alive")])
AttributionOptions = _struct("AttributionOptions", [
    ("allocator", c_void_p), ("lookback_seconds", c_int64), ("separator", c_int32),
    ("reserved", c_int32)])
PathsCsvOptions = _struct("PathsCsvOptions", [
    ("path_column", c_char_p), ("conversions_column", c_char_p), ("value_column", c_char_p),
    ("null_column", c_char_p), ("delimiter", c_int32), ("reserved", c_int32)])
RunOptions = _struct("RunOptions", [
    ("half_life_seconds", c_double), ("first_share", c_double), ("last_share", c_double),
    ("model", c_int32), ("order", c_int32), ("max_steps", c_int32), ("use_nulls", c_int32),
    ("shapley", c_int32), ("reserved", c_int32)])


class RfmRule(Structure):
    _fields_ = [("name", c_char_p)] + [(f, c_int32) for f in (
        "r_min", "r_max", "f_min", "f_max", "m_min", "m_max")]


TRANSACTION_FN = ctypes.CFUNCTYPE(c_int, c_void_p, c_size_t, c_int64, c_double)

# ---- Error checks ----------------------------------------------------------

lib = None  # the loaded CDLL, set by load()


def _raise(status, message):
    if not message:
        message = lib.cvm_strerror(status).decode()
    raise _errors.from_status(status, message)


def _status(result, func, args):
    """Plain status: the message is cvm_strerror()."""
    if result:
        _raise(result, "")
    return result


def _handle(prefix):
    """Status of a call on a handle (first argument): the message is the
    handle's errmsg."""
    def check(result, func, args):
        if result:
            errmsg = getattr(lib, f"cvm_{prefix}_errmsg")(args[0])
            _raise(result, (errmsg or b"").decode(errors="replace"))
        return result
    return check


def _errbuf(result, func, args):
    """Status of a call taking (..., char *errbuf, size_t errlen) last."""
    if result:
        buf = args[-2]
        _raise(result, buf.value.decode(errors="replace") if buf is not None else "")
    return result


# ---- The declaration table -------------------------------------------------

H, D, I32, SZ = c_void_p, POINTER(c_double), POINTER(c_int32), c_size_t
ST = c_int  # cvm_status
OUT = POINTER(c_void_p)  # T **out
EB = [POINTER(c_char), c_size_t]  # errbuf, errlen
S = c_char_p


def _rows():
    rows = [
        ("cvm_strerror", [c_int], c_char_p, None),
        ("cvm_version", [], c_uint, None),
        ("cvm_version_string", [], c_char_p, None),
        ("cvm_parse_time", [S, SZ, c_int32, POINTER(c_int64)], ST, _status),
        ("cvm_format_date", [POINTER(c_char), SZ, c_int64], ST, _status),
        ("cvm_model_name", [c_int32], c_char_p, None),
        ("cvm_model_from_name", [S, POINTER(c_int32)], ST, _status),
        ("cvm_simulate", [POINTER(SimulateOptions), TRANSACTION_FN, c_void_p], ST, _status),
    ]
    opts = {"customers": CustomersOptions, "csv": CsvOptions, "summary": SummaryOptions,
            "simulate": SimulateOptions, "fit": FitOptions, "clv": ClvOptions,
            "model": ModelOptions, "value": ValueOptions, "rfm": RfmOptions,
            "kmeans": KmeansOptions, "tiers": TiersOptions, "lifecycle": LifecycleOptions,
            "attribution": AttributionOptions, "paths_csv": PathsCsvOptions,
            "attribution_run": RunOptions}
    for name, cls in opts.items():
        rows.append((f"cvm_{name}_options_init", [POINTER(cls), SZ], ST, _status))
    # new / free / errmsg / save / load of every handle type.
    handles = {"customers": CustomersOptions, "clv": ClvOptions, "spend": ModelOptions,
               "retention": ModelOptions, "rfm": RfmOptions, "kmeans": KmeansOptions,
               "tiers": TiersOptions, "attribution": AttributionOptions}
    for name, cls in handles.items():
        rows += [
            (f"cvm_{name}_new", [OUT, POINTER(cls)], ST, _status),
            (f"cvm_{name}_free", [H], None, None),
            (f"cvm_{name}_errmsg", [H], c_char_p, None),
        ]
        if name != "attribution":
            rows += [
                (f"cvm_{name}_save", [H, S], ST, _handle(name)),
                (f"cvm_{name}_load", [OUT, S, POINTER(cls)] + EB, ST, _errbuf),
            ]
    cu, clv, sp, rt = _handle("customers"), _handle("clv"), _handle("spend"), _handle("retention")
    rfm, km, ti, at = _handle("rfm"), _handle("kmeans"), _handle("tiers"), _handle("attribution")
    rows += [
        # customers
        ("cvm_customers_add", [H, c_void_p, SZ, c_int64, c_double], ST, cu),
        ("cvm_customers_add_batch", [H, c_void_p, POINTER(c_size_t), POINTER(c_int64), D, SZ],
         ST, cu),
        ("cvm_customers_load_csv", [H, S, POINTER(CsvOptions)], ST, cu),
        ("cvm_customers_load_csv_buffer", [H, c_void_p, SZ, S, POINTER(CsvOptions)], ST, cu),
        ("cvm_customers_count", [H], SZ, None),
        ("cvm_customers_transactions", [H], SZ, None),
        ("cvm_customers_find", [H, c_void_p, SZ, POINTER(c_size_t)], ST, cu),
        ("cvm_customers_id", [H, SZ, POINTER(c_void_p), POINTER(c_size_t)], ST, cu),
        ("cvm_customers_summary_rows", [H], SZ, None),
        ("cvm_customers_summary", [H, POINTER(SummaryOptions), c_int32, D, SZ], ST, cu),
        ("cvm_customers_summary_index", [H, POINTER(c_size_t), SZ], ST, cu),
        ("cvm_customers_row", [H, SZ, POINTER(SummaryOptions), D, SZ], ST, cu),
        ("cvm_customers_repeat_curve", [H, c_int64, c_int64, D, SZ], ST, cu),
        ("cvm_customers_merge", [H, H], ST, cu),
        # transaction models
        ("cvm_clv_kind", [H], c_int32, None),
        ("cvm_clv_param_count", [H], SZ, None),
        ("cvm_clv_param_name", [H, SZ], c_char_p, None),
        ("cvm_clv_fit", [H, D, D, D, D, SZ, POINTER(FitOptions)], ST, clv),
        ("cvm_clv_params", [H, D, D, SZ], ST, clv),
        ("cvm_clv_set_params", [H, D, SZ], ST, clv),
        ("cvm_clv_info", [H, POINTER(FitInfo)], ST, clv),
        ("cvm_clv_loglik", [H, D, D, D, SZ, D, D] + EB, ST, _errbuf),
        ("cvm_clv_p_alive", [H, D, D, D, SZ, D] + EB, ST, _errbuf),
        ("cvm_clv_expected", [H, c_double, D, D, D, SZ, D] + EB, ST, _errbuf),
        ("cvm_clv_expected_new", [H, D, SZ, D] + EB, ST, _errbuf),
        ("cvm_clv_prob_count", [H, D, D, SZ, D] + EB, ST, _errbuf),
        ("cvm_clv_holdout", [H, D, D, D, D, D, SZ, D, POINTER(HoldoutReport)] + EB, ST, _errbuf),
        ("cvm_clv_tracking", [H, D, D, SZ, D, SZ, D] + EB, ST, _errbuf),
        ("cvm_clv_value", [H, H, POINTER(ValueOptions), D, D, D, D, SZ, D] + EB, ST, _errbuf),
        ("cvm_clv_score", [H, H, c_double, POINTER(ValueOptions), D, D, D, D, SZ, D, D, D, D]
         + EB, ST, _errbuf),
        # spend
        ("cvm_spend_fit", [H, D, D, D, SZ, POINTER(FitOptions)], ST, sp),
        ("cvm_spend_params", [H, D, D, SZ], ST, sp),
        ("cvm_spend_set_params", [H, D, SZ], ST, sp),
        ("cvm_spend_info", [H, POINTER(FitInfo)], ST, sp),
        ("cvm_spend_expected", [H, D, D, SZ, D] + EB, ST, _errbuf),
        # retention
        ("cvm_retention_fit", [H, D, SZ, POINTER(FitOptions)], ST, rt),
        ("cvm_retention_params", [H, D, D, SZ], ST, rt),
        ("cvm_retention_set_params", [H, D, SZ], ST, rt),
        ("cvm_retention_info", [H, POINTER(FitInfo)], ST, rt),
        ("cvm_retention_survival", [H, D, SZ, D] + EB, ST, _errbuf),
        ("cvm_retention_rate", [H, D, SZ, D] + EB, ST, _errbuf),
        ("cvm_retention_lifetime", [H, c_double, D] + EB, ST, _errbuf),
        # rfm
        ("cvm_rfm_fit", [H, D, D, D, SZ], ST, rfm),
        ("cvm_rfm_score", [H, D, D, D, SZ, I32, I32, I32] + EB, ST, _errbuf),
        ("cvm_rfm_fit_scores", [H, SZ, I32, I32, I32], ST, rfm),
        ("cvm_rfm_breakpoints", [H, c_int32, D, SZ], ST, rfm),
        ("cvm_rfm_set_rules", [H, POINTER(RfmRule), SZ], ST, rfm),
        ("cvm_rfm_segment_count", [H], SZ, None),
        ("cvm_rfm_segment_name", [H, SZ], c_char_p, None),
        ("cvm_rfm_segment", [H, I32, I32, I32, SZ, I32] + EB, ST, _errbuf),
        ("cvm_segment_profiles", [I32, SZ, SZ, D, D, D, D, D, POINTER(SegmentProfile)] + EB,
         ST, _errbuf),
        # k-means
        ("cvm_kmeans_fit", [H, D, SZ, SZ, D, I32], ST, km),
        ("cvm_kmeans_predict", [H, D, SZ, SZ, I32] + EB, ST, _errbuf),
        ("cvm_kmeans_info_get", [H, POINTER(KmeansInfo)], ST, km),
        ("cvm_kmeans_centroids", [H, D, SZ], ST, km),
        ("cvm_kmeans_silhouette", [H, D, SZ, SZ, I32, SZ, c_uint64, D] + EB, ST, _errbuf),
        ("cvm_kmeans_elbow", [POINTER(KmeansOptions), D, SZ, SZ, D, c_int32, c_int32, D] + EB,
         ST, _errbuf),
        # tiers and lifecycle
        ("cvm_value_tiers", [D, SZ, D, SZ, D, I32] + EB, ST, _errbuf),
        ("cvm_value_tier_assign", [D, SZ, D, SZ, I32] + EB, ST, _errbuf),
        ("cvm_tiers_fit", [H, D, SZ, I32], ST, ti),
        ("cvm_tiers_assign", [H, D, SZ, I32] + EB, ST, _errbuf),
        ("cvm_tiers_cut_count", [H], SZ, None),
        ("cvm_tiers_cuts", [H, D, SZ], ST, ti),
        ("cvm_lifecycle", [POINTER(LifecycleOptions), D, D, D, D, D, SZ, I32] + EB, ST, _errbuf),
        # attribution
        ("cvm_attribution_add_path", [H, S, SZ, c_double, c_double, c_double], ST, at),
        ("cvm_attribution_load_csv", [H, S, POINTER(PathsCsvOptions)], ST, at),
        ("cvm_attribution_add_touch", [H, c_void_p, SZ, S, SZ, c_int64], ST, at),
        ("cvm_attribution_add_conversion", [H, c_void_p, SZ, c_int64, c_double], ST, at),
        ("cvm_attribution_channel_count", [H], SZ, None),
        ("cvm_attribution_channel_name", [H, SZ], c_char_p, None),
        ("cvm_attribution_run", [H, POINTER(RunOptions)], ST, at),
        ("cvm_attribution_credit", [H, D, D, SZ], ST, at),
        ("cvm_attribution_removal_effects", [H, D, SZ, D], ST, at),
        ("cvm_attribution_state_count", [H], SZ, None),
        ("cvm_attribution_state_name", [H, SZ], c_char_p, None),
        ("cvm_attribution_transitions", [H, D, SZ], ST, at),
        ("cvm_attribution_roi", [H, D, SZ, D, D] + EB, ST, _errbuf),
    ]
    return rows


TABLE = _rows()

# ---- Loading ---------------------------------------------------------------

_NAMES = ("libcvm.so.%d" % MAJOR, "libcvm.so", "libcvm.%d.dylib" % MAJOR, "libcvm.dylib",
          "cvm.dll", "libcvm.dll")


def candidates():
    """Where the library is looked for, in order."""
    env = os.environ.get("CVM_LIBRARY")
    if env:
        return [env]
    here = os.path.dirname(os.path.abspath(__file__))
    found = [os.path.join(here, n) for n in _NAMES if os.path.exists(os.path.join(here, n))]
    found += sorted(glob.glob(os.path.join(here, "libcvm.so.*")))
    system = ctypes.util.find_library("cvm")
    return found + ([system] if system else [])


def check_version(handle, path="libcvm"):
    """Refuse a library of another major version."""
    number = handle.cvm_version()
    if number // 10000 != MAJOR:
        raise _errors.VersionMismatch(
            f"{path} is libcvm {number // 10000}.{number // 100 % 100}.{number % 100}, "
            f"but this cvm package needs major version {MAJOR}: install a matching libcvm "
            f"or point CVM_LIBRARY at one")
    return number


def declare(handle):
    for name, argtypes, restype, errcheck in TABLE:
        func = getattr(handle, name)
        func.argtypes = argtypes
        func.restype = restype
        if errcheck is not None:
            func.errcheck = errcheck


def load():
    """Find, load, version-check and declare libcvm; sets the module's `lib`."""
    global lib
    tried = []
    for path in candidates():
        try:
            handle = ctypes.CDLL(path)
        except OSError as e:
            tried.append(f"{path}: {e}")
            continue
        handle.cvm_version.argtypes = []
        handle.cvm_version.restype = c_uint
        check_version(handle, path)
        declare(handle)
        lib = handle
        return handle
    raise _errors.LibraryNotFound(
        "libcvm not found: set CVM_LIBRARY to the path of libcvm.so, put it next to the "
        "cvm package or install it system-wide" + ("".join("\n  " + t for t in tried)))
