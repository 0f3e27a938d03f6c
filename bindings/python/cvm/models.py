"""Fitted models with lifetimes' names: BetaGeo, ParetoNBD, ModifiedBetaGeo,
BetaGeoBetaBinom (cvm_clv), GammaGamma (cvm_spend), ShiftedBetaGeo
(cvm_retention). All computation is in libcvm."""

import ctypes
from ctypes import byref, c_double, c_int32

from . import _arrays, _ffi
from ._base import Handle, errbuf, fit_options, options

_XTT = ("frequency", "recency", "T")


def _info(prefix, h):
    info = _ffi.FitInfo(size=ctypes.sizeof(_ffi.FitInfo))
    getattr(_ffi.lib, f"cvm_{prefix}_info")(h, byref(info))
    return {name: getattr(info, name) for name, _ in info._fields_[1:]}


class _Fitted(Handle):
    """Parameters, standard errors and fit information of a handle."""

    _param_names = ()

    def _names(self):
        return self._param_names

    def _params(self):
        n = len(self._names())
        params, stderrs = (c_double * n)(), (c_double * n)()
        getattr(_ffi.lib, f"cvm_{self._prefix}_params")(self._h, params, stderrs, n)
        return params, stderrs

    @property
    def params_(self):
        """{name: value} of the fitted (or set, or loaded) parameters."""
        return dict(zip(self._names(), self._params()[0]))

    @property
    def standard_errors_(self):
        """{name: standard error} (0 where unknown)."""
        return dict(zip(self._names(), self._params()[1]))

    @property
    def info_(self):
        """What the last fit did: fitted, converged, iterations, loglik, ..."""
        return _info(self._prefix, self._h)

    @property
    def log_likelihood_(self):
        return self.info_["loglik"]

    @property
    def converged_(self):
        return bool(self.info_["converged"])

    def set_params(self, params):
        """Set the parameters by hand: a dict by name or a sequence in order."""
        if isinstance(params, dict):
            params = [params[k] for k in self._names()]
        values = (c_double * len(params))(*params)
        getattr(_ffi.lib, f"cvm_{self._prefix}_set_params")(self._h, values, len(params))
        return self

    def _fit_options(self, tol, max_iter, starts, initial_params):
        if isinstance(initial_params, dict):
            initial_params = [initial_params[k] for k in self._names()]
        return fit_options(self.penalizer_coef, tol, max_iter, starts, initial_params)

    def __repr__(self):
        if self.closed:
            return f"<cvm.{type(self).__name__} closed>"
        if not self.info_["fitted"]:
            return f"<cvm.{type(self).__name__} unfitted>"
        params = ", ".join(f"{k}: {v:.6g}" for k, v in self.params_.items())
        return f"<cvm.{type(self).__name__} {params}>"


class _TransactionModel(_Fitted):
    _prefix = "clv"
    _model = None  # cvm_model_name of the kind

    def __init__(self, penalizer_coef=0.0):
        self.penalizer_coef = penalizer_coef
        kind = c_int32()
        _ffi.lib.cvm_model_from_name(self._model.encode(), byref(kind))
        self._new(byref(options(_ffi.ClvOptions, "clv", kind=kind.value)))

    @classmethod
    def load(cls, path):
        """Read a model saved by save(); the class follows the file's kind."""
        self = cls._load(path)
        name = _ffi.lib.cvm_model_name(_ffi.lib.cvm_clv_kind(self._h)).decode()
        self.__class__ = _BY_NAME[name]
        self.penalizer_coef = 0.0
        return self

    def _names(self):
        h = self._h
        return tuple(_ffi.lib.cvm_clv_param_name(h, i).decode()
                     for i in range(_ffi.lib.cvm_clv_param_count(h)))

    def fit(self, frequency, recency, T, weights=None, initial_params=None, tol=None,
            max_iter=None, starts=None):
        """Maximum likelihood fit to one row per customer (lifetimes' fit)."""
        (x, tx, t, w), n = _arrays.columns(_XTT + ("weights",), frequency, recency, T, weights)
        o = self._fit_options(tol, max_iter, starts, initial_params)
        _ffi.lib.cvm_clv_fit(self._h, x, tx, t, w, n, byref(o))
        return self

    def _rows(self, func, *args):
        (x, tx, t), n = _arrays.columns(_XTT, *args[-3:])
        out, p = _arrays.empty(n)
        buf, blen = errbuf()
        func(self._h, *args[:-3], x, tx, t, n, p, buf, blen)
        return out

    def conditional_probability_alive(self, frequency, recency, T):
        return self._rows(_ffi.lib.cvm_clv_p_alive, frequency, recency, T)

    def conditional_expected_number_of_purchases_up_to_time(self, t, frequency, recency, T):
        return self._rows(_ffi.lib.cvm_clv_expected, float(t), frequency, recency, T)

    def expected_number_of_purchases_up_to_time(self, t):
        """E[X(t)] of a new customer at each t (a number or a sequence)."""
        scalar = isinstance(t, (int, float))
        p_t, n = _arrays.doubles([t] if scalar else t, "t")
        out, p = _arrays.empty(n)
        buf, blen = errbuf()
        _ffi.lib.cvm_clv_expected_new(self._h, p_t, n, p, buf, blen)
        return out[0] if scalar else out

    def probability_of_n_purchases_up_to_time(self, t, n):
        """P(X(t) = n) of a new customer (numbers or equal-length sequences)."""
        scalar = isinstance(t, (int, float)) and isinstance(n, (int, float))
        (pt, pk), m = _arrays.columns(("t", "n"), [t] if scalar else t, [n] if scalar else n)
        out, p = _arrays.empty(m)
        buf, blen = errbuf()
        _ffi.lib.cvm_clv_prob_count(self._h, pt, pk, m, p, buf, blen)
        return out[0] if scalar else out

    def log_likelihood(self, frequency, recency, T):
        """Per-row log-likelihood at the current parameters."""
        (x, tx, t), n = _arrays.columns(_XTT, frequency, recency, T)
        out, p = _arrays.empty(n)
        buf, blen = errbuf()
        _ffi.lib.cvm_clv_loglik(self._h, x, tx, t, n, p, None, buf, blen)
        return out

    def holdout(self, frequency, recency, T, duration_holdout, frequency_holdout):
        """(predicted per customer, report dict) against actual holdout purchases."""
        (x, tx, t, d, a), n = _arrays.columns(_XTT + ("duration_holdout", "frequency_holdout"),
                                              frequency, recency, T, duration_holdout,
                                              frequency_holdout)
        out, p = _arrays.empty(n)
        report = _ffi.HoldoutReport(size=ctypes.sizeof(_ffi.HoldoutReport))
        buf, blen = errbuf()
        _ffi.lib.cvm_clv_holdout(self._h, x, tx, t, d, a, n, p, byref(report), buf, blen)
        return out, {k: getattr(report, k) for k, _ in report._fields_[1:]}

    def tracking(self, birth, times, weights=None):
        """Cumulative expected repeat purchases of a cohort at each time."""
        (b, w), n = _arrays.columns(("birth", "weights"), birth, weights)
        pt, m = _arrays.doubles(times, "times")
        out, p = _arrays.empty(m)
        buf, blen = errbuf()
        _ffi.lib.cvm_clv_tracking(self._h, b, w, n, pt, m, p, buf, blen)
        return out

    def customer_lifetime_value(self, frequency, recency, T, monetary_value, spend_model=None,
                                time=12, period_length=1.0, discount_rate=0.01, margin=1.0):
        """Discounted CLV over `time` periods of `period_length` model units;
        spend from `spend_model` (a fitted GammaGamma) or monetary_value."""
        (x, tx, t, m), n = _arrays.columns(_XTT + ("monetary_value",), frequency, recency, T,
                                           monetary_value)
        o = _value_options(time, period_length, discount_rate, margin)
        out, p = _arrays.empty(n)
        buf, blen = errbuf()
        _ffi.lib.cvm_clv_value(self._h, spend_model._h if spend_model else None, byref(o),
                               x, tx, t, m, n, p, buf, blen)
        return out

    def score(self, frequency, recency, T, monetary_value=None, spend_model=None, horizon=1.0,
              time=12, period_length=1.0, discount_rate=0.01, margin=1.0):
        """One pass: {p_alive, expected_purchases, expected_value, clv} (the last
        two only with monetary_value)."""
        (x, tx, t, m), n = _arrays.columns(_XTT + ("monetary_value",), frequency, recency, T,
                                           monetary_value)
        o = _value_options(time, period_length, discount_rate, margin)
        names = ["p_alive", "expected_purchases"]
        if monetary_value is not None:
            names += ["expected_value", "clv"]
        outs = {k: _arrays.empty(n) for k in names}
        ptrs = [outs[k][1] if k in outs else None
                for k in ("p_alive", "expected_purchases", "expected_value", "clv")]
        buf, blen = errbuf()
        _ffi.lib.cvm_clv_score(self._h, spend_model._h if spend_model else None, float(horizon),
                               byref(o), x, tx, t, m, n, *ptrs, buf, blen)
        return {k: v[0] for k, v in outs.items()}


def _value_options(periods, period_length, discount_rate, margin):
    return options(_ffi.ValueOptions, "value", periods=int(periods),
                   period_length=float(period_length), discount_rate=float(discount_rate),
                   margin=float(margin))


class BetaGeo(_TransactionModel):
    """BG/NBD (Fader, Hardie & Lee 2005): r, alpha, a, b."""
    _model = "bgnbd"


class ParetoNBD(_TransactionModel):
    """Pareto/NBD (Schmittlein et al. 1987): r, alpha, s, beta."""
    _model = "pareto"


class ModifiedBetaGeo(_TransactionModel):
    """MBG/NBD (Batislam et al. 2007): r, alpha, a, b."""
    _model = "mbgnbd"


class BetaGeoBetaBinom(_TransactionModel):
    """BG/BB (Fader, Hardie & Shang 2010), discrete: alpha, beta, gamma, delta.
    recency and T count opportunities."""
    _model = "bgbb"


_BY_NAME = {c._model: c for c in (BetaGeo, ParetoNBD, ModifiedBetaGeo, BetaGeoBetaBinom)}


class GammaGamma(_Fitted):
    """Gamma-Gamma spend model: p, q, v."""

    _prefix = "spend"
    _param_names = ("p", "q", "v")

    def __init__(self, penalizer_coef=0.0):
        self.penalizer_coef = penalizer_coef
        self._new(byref(options(_ffi.ModelOptions, "model")))

    @classmethod
    def load(cls, path):
        self = cls._load(path)
        self.penalizer_coef = 0.0
        return self

    def fit(self, frequency, monetary_value, weights=None, initial_params=None, tol=None,
            max_iter=None, starts=None):
        (x, m, w), n = _arrays.columns(("frequency", "monetary_value", "weights"),
                                       frequency, monetary_value, weights)
        o = self._fit_options(tol, max_iter, starts, initial_params)
        _ffi.lib.cvm_spend_fit(self._h, x, m, w, n, byref(o))
        return self

    def conditional_expected_average_profit(self, frequency, monetary_value):
        """E[M | x, m] per customer."""
        (x, m), n = _arrays.columns(("frequency", "monetary_value"), frequency, monetary_value)
        out, p = _arrays.empty(n)
        buf, blen = errbuf()
        _ffi.lib.cvm_spend_expected(self._h, x, m, n, p, buf, blen)
        return out

    def customer_lifetime_value(self, transaction_prediction_model, frequency, recency, T,
                                monetary_value, time=12, period_length=1.0, discount_rate=0.01,
                                margin=1.0):
        """lifetimes' GammaGammaFitter.customer_lifetime_value."""
        return transaction_prediction_model.customer_lifetime_value(
            frequency, recency, T, monetary_value, spend_model=self, time=time,
            period_length=period_length, discount_rate=discount_rate, margin=margin)


class ShiftedBetaGeo(_Fitted):
    """Shifted-beta-geometric contractual retention (Fader & Hardie 2007): alpha, beta."""

    _prefix = "retention"
    _param_names = ("alpha", "beta")

    def __init__(self, penalizer_coef=0.0):
        self.penalizer_coef = penalizer_coef
        self._new(byref(options(_ffi.ModelOptions, "model")))

    @classmethod
    def load(cls, path):
        self = cls._load(path)
        self.penalizer_coef = 0.0
        return self

    def fit(self, alive, initial_params=None, tol=None, max_iter=None, starts=None):
        """alive[t]: customers of the cohort still active after t periods."""
        p, n = _arrays.doubles(alive, "alive")
        o = self._fit_options(tol, max_iter, starts, initial_params)
        _ffi.lib.cvm_retention_fit(self._h, p, n, byref(o))
        return self

    def _at(self, func, t):
        scalar = isinstance(t, (int, float))
        pt, n = _arrays.doubles([t] if scalar else t, "t")
        out, p = _arrays.empty(n)
        buf, blen = errbuf()
        func(self._h, pt, n, p, buf, blen)
        return out[0] if scalar else out

    def survival_function(self, t):
        """S(t) = P(still active after t periods)."""
        return self._at(_ffi.lib.cvm_retention_survival, t)

    def retention_rate(self, t):
        """r(t) = S(t) / S(t - 1), t >= 1."""
        return self._at(_ffi.lib.cvm_retention_rate, t)

    def expected_lifetime(self, discount_rate=0.0):
        """Mean lifetime in periods, or discounted expected lifetime with d > 0."""
        out = c_double()
        buf, blen = errbuf()
        _ffi.lib.cvm_retention_lifetime(self._h, float(discount_rate), byref(out), buf, blen)
        return out.value


# lifetimes' class names.
BetaGeoFitter, ParetoNBDFitter, ModifiedBetaGeoFitter = BetaGeo, ParetoNBD, ModifiedBetaGeo
BetaGeoBetaBinomFitter, GammaGammaFitter = BetaGeoBetaBinom, GammaGamma
