"""cvm.Attribution: channel credit from journeys (heuristics, Markov, Shapley)."""

from ctypes import byref, c_double

from . import _arrays, _ffi
from ._base import DAY, Handle, encode, errbuf, options, to_time

MODELS = {"first_touch": 0, "last_touch": 1, "linear": 2, "time_decay": 3,
          "position_based": 4, "markov": 5, "shapley": 6}
SHAPLEY = {"conversions": 0, "rate": 1}


class Attribution(Handle):
    """Journeys as aggregated paths ("a > b > c") or raw touches per customer;
    each model method returns {channel: (conversions, value)}."""

    _prefix = "attribution"

    def __init__(self, lookback_seconds=30 * DAY, separator=">"):
        self.separator = separator
        self._new(byref(options(_ffi.AttributionOptions, "attribution",
                                lookback_seconds=int(lookback_seconds),
                                separator=ord(separator))))

    @classmethod
    def from_csv(cls, path, path_column="path", conversions_column="total_conversions",
                 value_column="total_conversion_value", null_column="total_null",
                 delimiter=",", **kwargs):
        """Paths in ChannelAttribution's CSV layout (value/null columns may be None)."""
        self = cls(**kwargs)
        try:
            self.read_csv(path, path_column, conversions_column, value_column, null_column,
                          delimiter)
        except BaseException:
            self.close()
            raise
        return self

    def read_csv(self, path, path_column="path", conversions_column="total_conversions",
                 value_column="total_conversion_value", null_column="total_null",
                 delimiter=","):
        o = options(_ffi.PathsCsvOptions, "paths_csv", delimiter=ord(delimiter))
        for field, col in (("path_column", path_column),
                           ("conversions_column", conversions_column),
                           ("value_column", value_column), ("null_column", null_column)):
            setattr(o, field, col.encode() if col is not None else None)
        _ffi.lib.cvm_attribution_load_csv(self._h, str(path).encode(), byref(o))
        return self

    def add_path(self, path, conversions, value=0.0, nulls=0.0):
        """An aggregated path: a separator-joined string or a sequence of channels."""
        if not isinstance(path, (str, bytes)):
            path = f" {self.separator} ".join(path)
        b = encode(path)
        _ffi.lib.cvm_attribution_add_path(self._h, b, len(b), float(conversions), float(value),
                                          float(nulls))

    def add_touch(self, customer_id, channel, time):
        b, c = encode(customer_id), encode(channel)
        _ffi.lib.cvm_attribution_add_touch(self._h, b, len(b), c, len(c), to_time(time))

    def add_conversion(self, customer_id, time, value=0.0):
        b = encode(customer_id)
        _ffi.lib.cvm_attribution_add_conversion(self._h, b, len(b), to_time(time), float(value))

    @property
    def channels(self):
        h = self._h
        return [_ffi.lib.cvm_attribution_channel_name(h, i).decode()
                for i in range(_ffi.lib.cvm_attribution_channel_count(h))]

    def _run(self, model, **fields):
        o = options(_ffi.RunOptions, "attribution_run", model=MODELS[model], **fields)
        _ffi.lib.cvm_attribution_run(self._h, byref(o))
        names = self.channels
        n = len(names)
        conv, val = (c_double * n)(), (c_double * n)()
        _ffi.lib.cvm_attribution_credit(self._h, conv, val, n)
        return {name: (c, v) for name, c, v in zip(names, conv, val)}

    def first_touch(self):
        return self._run("first_touch")

    def last_touch(self):
        return self._run("last_touch")

    def linear(self):
        return self._run("linear")

    def time_decay(self, half_life_seconds=7 * DAY):
        return self._run("time_decay", half_life_seconds=float(half_life_seconds))

    def position_based(self, first=0.4, last=0.4):
        return self._run("position_based", first_share=float(first), last_share=float(last))

    def markov(self, order=1, max_steps=0, use_nulls=True):
        """Markov chain removal-effect attribution of order 1..4."""
        return self._run("markov", order=order, max_steps=max_steps, use_nulls=int(use_nulls))

    def shapley(self, kind="conversions"):
        """Shapley values: kind "conversions" (Zhao et al.) or "rate" (Shao & Li)."""
        return self._run("shapley", shapley=SHAPLEY.get(kind, kind))

    def removal_effects(self):
        """After markov(): ({channel: removal effect}, P(conversion))."""
        names = self.channels
        effects, p = (c_double * len(names))(), c_double()
        _ffi.lib.cvm_attribution_removal_effects(self._h, effects, len(names), byref(p))
        return dict(zip(names, effects)), p.value

    @property
    def states(self):
        """After markov(): the chain's state names ("(start)", "(conversion)", ...)."""
        h = self._h
        return [_ffi.lib.cvm_attribution_state_name(h, i).decode()
                for i in range(_ffi.lib.cvm_attribution_state_count(h))]

    def transition_matrix(self):
        """After markov(): states x states transition probabilities, row-major rows."""
        k = _ffi.lib.cvm_attribution_state_count(self._h)
        out, p = _arrays.empty(k * k)
        _ffi.lib.cvm_attribution_transitions(self._h, p, k * k)
        return _arrays.rows(out, k, k)

    def roi(self, spend):
        """Return on spend of the last run: {channel: (roi, cost_per_conversion)};
        spend is {channel: amount} (missing channels spend 0) or a sequence in
        channel order."""
        names = self.channels
        if isinstance(spend, dict):
            spend = [float(spend.get(c, 0.0)) for c in names]
        ps, n = _arrays.doubles(spend, "spend")
        roi, cost = (c_double * n)(), (c_double * n)()
        buf, blen = errbuf()
        _ffi.lib.cvm_attribution_roi(self._h, ps, n, roi, cost, buf, blen)
        return {c: (r, k) for c, r, k in zip(names, roi, cost)}
