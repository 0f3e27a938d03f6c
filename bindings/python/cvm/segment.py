"""Segmentation: RFM scores and segments, k-means, value tiers, lifecycle
stages and segment profiles."""

import ctypes
from ctypes import byref, c_double

from . import _arrays, _ffi
from ._base import Handle, errbuf, options
from ._errors import InvalidInput

TIES = {"quantile": 0, "rank": 1}
MAPS = {"rfm_package": 0, "rf_grid": 1}
SCALING = {"none": 0, None: 0, "zscore": 1, "log1p_zscore": 2}
STAGES = ("new", "active", "at_risk", "lapsed")
_RFM = ("recency", "frequency", "monetary")


class RFM(Handle):
    """RFM scoring fitted once, then applied to new customers. `recency` is
    the time since the last purchase (from a summary: T - recency)."""

    _prefix = "rfm"

    def __init__(self, bins=5, ties="quantile", segments="rfm_package"):
        self._new(byref(self._options(bins, ties, segments)))

    @staticmethod
    def _options(bins=5, ties="quantile", segments="rfm_package"):
        return options(_ffi.RfmOptions, "rfm", bins=bins, ties=TIES.get(ties, ties),
                       map=MAPS.get(segments, segments))

    @classmethod
    def load(cls, path):
        return cls._load(path)

    def fit(self, recency, frequency, monetary):
        ptrs, n = _arrays.columns(_RFM, recency, frequency, monetary)
        _ffi.lib.cvm_rfm_fit(self._h, *ptrs, n)
        return self

    def fit_scores(self, n):
        """(r, f, m) scores of the n rows of the last fit, by its tie rule."""
        outs = [_arrays.empty(n, "i") for _ in range(3)]
        _ffi.lib.cvm_rfm_fit_scores(self._h, n, *(p for _, p in outs))
        return tuple(o for o, _ in outs)

    def score(self, recency, frequency, monetary):
        """(r, f, m) scores against the fitted breakpoints."""
        ptrs, n = _arrays.columns(_RFM, recency, frequency, monetary)
        outs = [_arrays.empty(n, "i") for _ in range(3)]
        buf, blen = errbuf()
        _ffi.lib.cvm_rfm_score(self._h, *ptrs, n, *(p for _, p in outs), buf, blen)
        return tuple(o for o, _ in outs)

    def breakpoints(self, column):
        """The fitted breakpoints of "recency", "frequency" or "monetary"."""
        col = _RFM.index(column) if isinstance(column, str) else column
        k = 9
        out = (c_double * k)()
        for n in range(1, k):  # k - 1 breakpoints; the library checks n
            try:
                _ffi.lib.cvm_rfm_breakpoints(self._h, col, out, n)
                return list(out[:n])
            except InvalidInput:
                continue
        raise ValueError("no breakpoints: not fitted")

    def set_rules(self, rules):
        """Replace the segment rules: (name, (r_min, r_max), (f_min, f_max),
        (m_min, m_max)) tuples, first match wins."""
        arr = (_ffi.RfmRule * len(rules))()
        for rule, (name, r, f, m) in zip(arr, rules):
            rule.name = name.encode()
            rule.r_min, rule.r_max = r
            rule.f_min, rule.f_max = f
            rule.m_min, rule.m_max = m
        _ffi.lib.cvm_rfm_set_rules(self._h, arr, len(rules))
        return self

    @property
    def segment_names(self):
        h = self._h
        return [_ffi.lib.cvm_rfm_segment_name(h, i).decode()
                for i in range(_ffi.lib.cvm_rfm_segment_count(h))]

    def segment(self, r, f, m):
        """Segment index of each score triple (names: segment_names)."""
        (pr, pf, pm), n = _ints3(r, f, m)
        out, p = _arrays.empty(n, "i")
        buf, blen = errbuf()
        _ffi.lib.cvm_rfm_segment(self._h, pr, pf, pm, n, p, buf, blen)
        return out


def _ints3(*cols):
    ptrs, n = [], None
    for c in cols:
        p, m = _arrays.ints(c, "scores")
        if n is not None and m != n:
            raise ValueError("score columns of different lengths")
        ptrs.append(p)
        n = m
    return ptrs, n


def rfm(recency, frequency, monetary, bins=5, ties="quantile", segments="rfm_package"):
    """Score and segment customers in one go: a dict (or DataFrame with pandas)
    of recency_score, frequency_score, monetary_score, rfm_score (100 R + 10 F
    + M) and segment (names; only with 5 bins)."""
    with RFM(bins, ties, segments) as model:
        model.fit(recency, frequency, monetary)
        n = _arrays.columns(_RFM, recency, frequency, monetary)[1]
        r, f, m = model.fit_scores(n)
        result = {"recency_score": r, "frequency_score": f, "monetary_score": m,
                  "rfm_score": [100 * a + 10 * b + c for a, b, c in zip(r, f, m)]}
        if bins == 5:
            names = model.segment_names
            result["segment"] = [names[i] for i in model.segment(r, f, m)]
    return _arrays.frame(result)


def segment_profiles(labels, nsegments, recency, frequency, monetary, p_alive=None, clv=None):
    """One dict per segment: count, shares and means (cvm_segment_profiles)."""
    pl, n = _arrays.ints(labels, "labels")
    (r, f, m, pa, c), m_ = _arrays.columns(_RFM + ("p_alive", "clv"), recency, frequency,
                                           monetary, p_alive, clv)
    if m_ != n:
        raise ValueError(f"{n} labels for {m_} rows")
    out = (_ffi.SegmentProfile * nsegments)()
    for o in out:
        o.size = ctypes.sizeof(_ffi.SegmentProfile)
    buf, blen = errbuf()
    _ffi.lib.cvm_segment_profiles(pl, n, nsegments, r, f, m, pa, c, out, buf, blen)
    return [{k: getattr(o, k) for k, _ in o._fields_[1:]} for o in out]


def _kmeans_options(n_clusters, n_init, random_state, max_iter, tol, scaling):
    return options(_ffi.KmeansOptions, "kmeans", k=n_clusters, n_init=n_init,
                   seed=random_state or 0, max_iterations=max_iter, tolerance=tol,
                   scaling=SCALING.get(scaling, scaling))


class KMeans(Handle):
    """k-means with scikit-learn's names: fit(X) sets labels_,
    cluster_centers_, inertia_, n_iter_; predict(X) assigns new rows."""

    _prefix = "kmeans"

    def __init__(self, n_clusters=8, n_init=1, random_state=0, max_iter=300, tol=1e-4,
                 scaling="none"):
        self.n_clusters = n_clusters
        self._new(byref(_kmeans_options(n_clusters, n_init, random_state, max_iter, tol,
                                        scaling)))

    @classmethod
    def load(cls, path):
        self = cls._load(path)
        self.n_clusters = self._info().k
        return self

    def _info(self):
        info = _ffi.KmeansInfo(size=ctypes.sizeof(_ffi.KmeansInfo))
        _ffi.lib.cvm_kmeans_info_get(self._h, byref(info))
        return info

    def fit(self, X, sample_weight=None):
        px, n, d = _arrays.matrix(X)
        pw, m = _arrays.doubles(sample_weight, "sample_weight")
        if sample_weight is not None and m != n:
            raise ValueError(f"{m} weights for {n} rows")
        labels, pl = _arrays.empty(n, "i")
        _ffi.lib.cvm_kmeans_fit(self._h, px, n, d, pw, pl)
        self.labels_ = labels
        return self

    def fit_predict(self, X, sample_weight=None):
        return self.fit(X, sample_weight).labels_

    def predict(self, X):
        px, n, d = _arrays.matrix(X)
        out, p = _arrays.empty(n, "i")
        buf, blen = errbuf()
        _ffi.lib.cvm_kmeans_predict(self._h, px, n, d, p, buf, blen)
        return out

    @property
    def cluster_centers_(self):
        info = self._info()
        out, p = _arrays.empty(info.k * info.d)
        _ffi.lib.cvm_kmeans_centroids(self._h, p, info.k * info.d)
        return _arrays.rows(out, info.k, info.d)

    @property
    def inertia_(self):
        return self._info().inertia

    @property
    def n_iter_(self):
        return self._info().iterations

    @property
    def converged_(self):
        return bool(self._info().converged)

    def silhouette_score(self, X, labels, sample_size=None, random_state=0):
        """Mean silhouette of (a seeded sample of) the rows, in the fitted scaling."""
        px, n, d = _arrays.matrix(X)
        pl, m = _arrays.ints(labels, "labels")
        if m != n:
            raise ValueError(f"{m} labels for {n} rows")
        out = c_double()
        buf, blen = errbuf()
        _ffi.lib.cvm_kmeans_silhouette(self._h, px, n, d, pl, sample_size or n,
                                       random_state or 0, byref(out), buf, blen)
        return out.value


def elbow(X, k_min, k_max, sample_weight=None, n_init=1, random_state=0, max_iter=300,
          tol=1e-4, scaling="none"):
    """Inertia of the best fit for each k in k_min..k_max."""
    px, n, d = _arrays.matrix(X)
    pw, _ = _arrays.doubles(sample_weight, "sample_weight")
    o = _kmeans_options(k_min, n_init, random_state, max_iter, tol, scaling)
    out, p = _arrays.empty(k_max - k_min + 1 if k_max >= k_min else 0)
    buf, blen = errbuf()
    _ffi.lib.cvm_kmeans_elbow(byref(o), px, n, d, pw, k_min, k_max, p, buf, blen)
    return out


DEFAULT_SHARES = (0.01, 0.10, 0.50)


def value_tiers(clv, top_shares=None):
    """(tiers, cuts): tier 0 is the most valuable; cuts are descending."""
    pc, n = _arrays.doubles(clv, "clv")
    ps, k = _arrays.doubles(top_shares, "top_shares")
    cuts, pcuts = _arrays.empty(k if top_shares is not None else len(DEFAULT_SHARES))
    tiers, pt = _arrays.empty(n, "i")
    buf, blen = errbuf()
    _ffi.lib.cvm_value_tiers(pc, n, ps, k, pcuts, pt, buf, blen)
    return tiers, cuts


def value_tier_assign(cuts, clv):
    """Tier of each CLV against fitted cuts."""
    pcuts, k = _arrays.doubles(cuts, "cuts")
    pc, n = _arrays.doubles(clv, "clv")
    out, p = _arrays.empty(n, "i")
    buf, blen = errbuf()
    _ffi.lib.cvm_value_tier_assign(pcuts, k, pc, n, p, buf, blen)
    return out


class Tiers(Handle):
    """Value tiers by CLV rank, fitted once and assigned to new customers."""

    _prefix = "tiers"

    def __init__(self, top_shares=None):
        o = options(_ffi.TiersOptions, "tiers")
        if top_shares is not None:
            shares = (c_double * len(top_shares))(*top_shares)  # copied by the library
            o.top_shares, o.nshares = shares, len(top_shares)
        self._new(byref(o))

    @classmethod
    def load(cls, path):
        return cls._load(path)

    def fit(self, clv):
        pc, n = _arrays.doubles(clv, "clv")
        tiers, p = _arrays.empty(n, "i")
        _ffi.lib.cvm_tiers_fit(self._h, pc, n, p)
        self.tiers_ = tiers
        return self

    def assign(self, clv):
        pc, n = _arrays.doubles(clv, "clv")
        out, p = _arrays.empty(n, "i")
        buf, blen = errbuf()
        _ffi.lib.cvm_tiers_assign(self._h, pc, n, p, buf, blen)
        return out

    @property
    def cuts_(self):
        k = _ffi.lib.cvm_tiers_cut_count(self._h)
        out, p = _arrays.empty(k)
        if k:
            _ffi.lib.cvm_tiers_cuts(self._h, p, k)
        return out


def lifecycle(frequency, recency, T, p_alive=None, gap=None, names=False, **thresholds):
    """Lifecycle stage of each customer (0 new, 1 active, 2 at risk, 3 lapsed;
    names=True gives STAGES names). thresholds: new_age, at_risk_gaps,
    lapsed_gaps, at_risk_p_alive, lapsed_p_alive."""
    o = options(_ffi.LifecycleOptions, "lifecycle", **thresholds)
    (x, tx, t, pa, g), n = _arrays.columns(("frequency", "recency", "T", "p_alive", "gap"),
                                           frequency, recency, T, p_alive, gap)
    out, p = _arrays.empty(n, "i")
    buf, blen = errbuf()
    _ffi.lib.cvm_lifecycle(byref(o), x, tx, t, pa, g, n, p, buf, blen)
    return [STAGES[s] for s in out] if names else out
