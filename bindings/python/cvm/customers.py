"""cvm.Customers: the transaction ledger and its RFM summary."""

import ctypes
from ctypes import byref, c_int64, c_size_t, c_void_p

from . import _arrays, _ffi
from ._base import Handle, encode, options, to_time, unit_seconds

# Summary columns by lifetimes' names, in cvm_column order.
COLUMNS = ("frequency", "recency", "T", "monetary_value", "frequency_holdout",
           "monetary_value_holdout", "duration_holdout")
DATE_FORMATS = {"auto": 0, "iso": 1, "yyyymmdd": 2, "%Y%m%d": 2, "unix": 3}


def _csv_options(customer_id_col=None, datetime_col=None, monetary_value_col=None,
                 date_format="auto", delimiter=",", header=True, whitespace=False):
    o = options(_ffi.CsvOptions, "csv")
    for col, name, index in ((customer_id_col, "id_column", "id_index"),
                             (datetime_col, "date_column", "date_index"),
                             (monetary_value_col, "amount_column", "amount_index")):
        if isinstance(col, str):
            setattr(o, name, col.encode())
        elif col is not None:
            setattr(o, index, int(col))  # 1-based index; 0: no amount column
    o.date_format = DATE_FORMATS.get(date_format, date_format)
    o.delimiter = ord(delimiter)
    o.has_header = int(bool(header))
    o.whitespace = int(bool(whitespace))
    return o


class Customers(Handle):
    """A ledger of purchases; `period` merges one customer's purchases per
    period (default a day); `calibration_end` splits calibration and holdout."""

    _prefix = "customers"

    def __init__(self, period="day", calibration_end=None, period_origin=0):
        self._new(byref(options(_ffi.CustomersOptions, "customers",
                                period_seconds=unit_seconds(period),
                                period_origin=to_time(period_origin),
                                calibration_end=to_time(calibration_end))))

    @classmethod
    def from_csv(cls, path, customer_id_col=None, datetime_col=None, monetary_value_col=None,
                 date_format="auto", delimiter=",", header=True, whitespace=False, **kwargs):
        """Read a transaction CSV. Columns are header names or 1-based indices
        (defaults: 1, 2, 3). kwargs go to Customers()."""
        self = cls(**kwargs)
        try:
            self.read_csv(path, customer_id_col, datetime_col, monetary_value_col,
                          date_format, delimiter, header, whitespace)
        except BaseException:
            self.close()
            raise
        return self

    @classmethod
    def from_transactions(cls, ids, times, amounts=None, **kwargs):
        """A ledger from three columns (see add_batch)."""
        self = cls(**kwargs)
        self.add_batch(ids, times, amounts)
        return self

    @classmethod
    def load(cls, path):
        """Read a snapshot written by save()."""
        return cls._load(path)

    def read_csv(self, path_or_data, customer_id_col=None, datetime_col=None,
                 monetary_value_col=None, date_format="auto", delimiter=",", header=True,
                 whitespace=False, name=None):
        """Add the transactions of a CSV file (a path) or of CSV text (bytes,
        bytearray or memoryview), all or nothing."""
        o = _csv_options(customer_id_col, datetime_col, monetary_value_col, date_format,
                         delimiter, header, whitespace)
        if isinstance(path_or_data, (bytes, bytearray, memoryview)):
            data = bytes(path_or_data)
            _ffi.lib.cvm_customers_load_csv_buffer(self._h, data, len(data),
                                                   name.encode() if name else None, byref(o))
        else:
            _ffi.lib.cvm_customers_load_csv(self._h, str(path_or_data).encode(), byref(o))
        return self

    def add(self, customer_id, time, amount=0.0):
        """Record one purchase; time is seconds, a date string, date or datetime."""
        b = encode(customer_id)
        _ffi.lib.cvm_customers_add(self._h, b, len(b), to_time(time), float(amount))

    def add_batch(self, ids, times, amounts=None):
        """Record many purchases at once, all or nothing."""
        ids = [encode(i) for i in ids]
        n = len(ids)
        times = (c_int64 * n)(*(to_time(t) for t in times))
        offsets = (c_size_t * (n + 1))()
        for i, b in enumerate(ids):
            offsets[i + 1] = offsets[i] + len(b)
        amounts_p, m = _arrays.doubles(amounts, "amounts")
        if amounts is not None and m != n:
            raise ValueError(f"{m} amounts for {n} ids")
        _ffi.lib.cvm_customers_add_batch(self._h, b"".join(ids), offsets, times, amounts_p, n)

    def __len__(self):
        return _ffi.lib.cvm_customers_count(self._h)

    @property
    def transactions(self):
        """Number of stored purchases (before same-period merging)."""
        return _ffi.lib.cvm_customers_transactions(self._h)

    def find(self, customer_id):
        """Index of a customer; NotFound if unknown."""
        b = encode(customer_id)
        index = c_size_t()
        _ffi.lib.cvm_customers_find(self._h, b, len(b), byref(index))
        return index.value

    def __contains__(self, customer_id):
        try:
            self.find(customer_id)
        except LookupError:
            return False
        return True

    def id(self, index):
        """The id of customer `index` (str when it is UTF-8, else bytes)."""
        p, n = c_void_p(), c_size_t()
        _ffi.lib.cvm_customers_id(self._h, index, byref(p), byref(n))
        b = ctypes.string_at(p, n.value)
        try:
            return b.decode()
        except UnicodeDecodeError:
            return b

    def _summary_options(self, freq, observation_end):
        return options(_ffi.SummaryOptions, "summary", unit_seconds=unit_seconds(freq),
                       observation_end=to_time(observation_end))

    def summary(self, freq="day", observation_period_end=None, as_dict=False):
        """The per-customer summary with lifetimes' column names (frequency,
        recency, T, monetary_value; with observation_period_end also the
        *_holdout columns), indexed by customer id: a pandas DataFrame when
        pandas is importable (and not as_dict), else a dict of columns with
        the ids under "customer_id"."""
        h = self._h
        o = self._summary_options(freq, observation_period_end)
        n = _ffi.lib.cvm_customers_summary_rows(h)
        index = (c_size_t * n)()
        if n:
            _ffi.lib.cvm_customers_summary_index(h, index, n)
        ids = [self.id(i) for i in index]
        ncols = 4 if observation_period_end is None else 7
        cols = {}
        for c in range(ncols):
            out, p = _arrays.empty(n)
            if n:
                _ffi.lib.cvm_customers_summary(h, byref(o), c, p, n)
            cols[COLUMNS[c]] = out
        if as_dict or _arrays.pd is None:
            return dict(customer_id=ids, **cols)
        df = _arrays.frame(cols, index=ids)
        df.index.name = "customer_id"
        return df

    def row(self, customer, freq="day", observation_period_end=None):
        """One customer's summary (by id, or by index when an int) as a dict."""
        index = customer if isinstance(customer, int) else self.find(customer)
        o = self._summary_options(freq, observation_period_end)
        ncols = 4 if observation_period_end is None else 7
        out = (ctypes.c_double * ncols)()
        _ffi.lib.cvm_customers_row(self._h, index, byref(o), out, ncols)
        return dict(zip(COLUMNS, out))

    def repeat_curve(self, start, n, unit="week"):
        """Cumulative repeat purchases at start + (j + 1) units, j < n."""
        out, p = _arrays.empty(n)
        _ffi.lib.cvm_customers_repeat_curve(self._h, to_time(start), unit_seconds(unit), p, n)
        return out

    def merge(self, other):
        """Add every transaction of `other` (unchanged), all or nothing."""
        _ffi.lib.cvm_customers_merge(self._h, other._h)
        return self

    def __repr__(self):
        if self.closed:
            return "<cvm.Customers closed>"
        return f"<cvm.Customers {len(self)} customers, {self.transactions} transactions>"
