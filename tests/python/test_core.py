"""Loading, versions, errors, handles and inputs of the cvm package."""

import array
import gc
import os
import subprocess
import sys
import unittest

import cvm
from cvm import _ffi


class TestLoading(unittest.TestCase):
    def test_version(self):
        major, minor, patch = cvm.version()
        self.assertEqual(major, _ffi.MAJOR)
        self.assertEqual(cvm.__version__, f"{major}.{minor}.{patch}")

    def test_major_version_mismatch_refused(self):
        class FakeLib:
            def cvm_version(self):
                return 10203  # 1.2.3
        with self.assertRaises(cvm.VersionMismatch) as cm:
            _ffi.check_version(FakeLib(), "/fake/libcvm.so")
        msg = str(cm.exception)
        self.assertIn("libcvm 1.2.3", msg)
        self.assertIn("major version 0", msg)
        self.assertIsInstance(cm.exception, ImportError)

    def test_major_version_mismatch_on_load(self):
        saved_major, saved_lib = _ffi.MAJOR, _ffi.lib
        _ffi.MAJOR = saved_major + 1
        try:
            with self.assertRaisesRegex(cvm.VersionMismatch, "needs major version"):
                _ffi.load()
        finally:
            _ffi.MAJOR, _ffi.lib = saved_major, saved_lib

    def test_missing_library(self):
        env = dict(os.environ, CVM_LIBRARY="/nonexistent/libcvm.so")
        r = subprocess.run([sys.executable, "-c", "import cvm"], env=env, capture_output=True,
                           text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("LibraryNotFound", r.stderr)
        self.assertIn("/nonexistent/libcvm.so", r.stderr)

    def test_table_covers_api(self):
        names = {row[0] for row in _ffi.TABLE}
        self.assertTrue(all(n.startswith("cvm_") for n in names))
        for name in names:  # every row resolved, with a restype set
            self.assertTrue(hasattr(_ffi.lib, name))


class TestErrors(unittest.TestCase):
    def test_hierarchy(self):
        for cls in (cvm.InvalidInput, cvm.OutOfMemory, cvm.IOFailure, cvm.ParseError,
                    cvm.RangeError, cvm.NotFound, cvm.EmptyInput, cvm.FormatError,
                    cvm.NoConvergence, cvm.Mismatch, cvm.ABIMismatch):
            self.assertTrue(issubclass(cls, cvm.Error))
            self.assertEqual(cvm.strerror(cls.status), _ffi.lib.cvm_strerror(cls.status).decode())

    def test_handle_message(self):
        with cvm.Customers() as c:
            with self.assertRaises(cvm.RangeError) as cm:
                c.add("a", 0, -1.0)
            self.assertTrue(str(cm.exception))
            self.assertEqual(cm.exception.status, 6)
            self.assertIsInstance(cm.exception, ValueError)

    def test_errbuf_message(self):
        with cvm.BetaGeo() as m:
            m.set_params([0.24, 4.4, 0.79, 2.4])
            with self.assertRaises(cvm.InvalidInput) as cm:
                m.conditional_probability_alive([1], [5], [2])
            self.assertIn("row", str(cm.exception))

    def test_io_error(self):
        with self.assertRaises(cvm.IOFailure) as cm:
            cvm.Customers.from_csv("/nonexistent/tx.csv")
        self.assertIn("/nonexistent/tx.csv", str(cm.exception))
        self.assertIsInstance(cm.exception, OSError)

    def test_parse_error(self):
        with cvm.Customers() as c:
            with self.assertRaises(cvm.ParseError) as cm:
                c.read_csv(b"id,date,amount\na,2020-01-01,abc\n", name="mem.csv")
            self.assertIn("mem.csv", str(cm.exception))
            self.assertEqual(len(c), 0)

    def test_not_found(self):
        with cvm.Customers() as c:
            with self.assertRaises(cvm.NotFound):
                c.find("nobody")
            self.assertNotIn("nobody", c)

    def test_no_convergence(self):
        with cvm.BetaGeo() as m:
            with self.assertRaises(cvm.NoConvergence) as cm:
                m.fit([1, 2, 0, 5], [3, 4, 0, 9], [10, 10, 10, 10], max_iter=1, starts=1)
            self.assertTrue(str(cm.exception))

    def test_mismatch(self):
        with cvm.Customers() as a, cvm.Customers(period="week") as b:
            with self.assertRaises(cvm.Mismatch):
                a.merge(b)

    def test_format_error(self):
        import tempfile
        with tempfile.NamedTemporaryFile(suffix=".cvm") as f:
            f.write(b"not a snapshot at all")
            f.flush()
            with self.assertRaises(cvm.FormatError) as cm:
                cvm.BetaGeo.load(f.name)
            self.assertIn(f.name, str(cm.exception))


class TestHandles(unittest.TestCase):
    def test_with_releases(self):
        with cvm.Customers() as c:
            c.add("a", "2020-01-01", 1.0)
            finalizer = c._finalizer
        self.assertTrue(c.closed)
        self.assertFalse(finalizer.alive)
        with self.assertRaisesRegex(cvm.InvalidInput, "closed"):
            len(c)
        c.close()  # idempotent

    def test_finalizer_releases(self):
        for cls in (cvm.Customers, cvm.BetaGeo, cvm.GammaGamma, cvm.ShiftedBetaGeo, cvm.RFM,
                    cvm.KMeans, cvm.Tiers, cvm.Attribution):
            obj = cls()
            finalizer = obj._finalizer
            del obj
            gc.collect()
            self.assertFalse(finalizer.alive, cls.__name__)

    def test_leak(self):
        """100k handles created and freed: RSS stays within 4 MiB of where it
        was after a warm-up of 2k."""
        page = os.sysconf("SC_PAGE_SIZE")

        def rss():
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * page

        def churn(n):
            for i in range(n):
                with cvm.Customers() as c:
                    c.add(b"x", 86400 * (i % 7), 1.0)
                m = cvm.BetaGeo()
                m.close()
                a = cvm.Attribution()  # freed by the finalizer
                del a
        churn(2000)
        gc.collect()
        before = rss()
        churn(100000)
        gc.collect()
        growth = rss() - before
        print(f"\nleak check: RSS before {before >> 10} KiB, growth {growth >> 10} KiB "
              f"after 100k x 3 handles", file=sys.stderr)
        self.assertLess(growth, 4 << 20)


class TestInputs(unittest.TestCase):
    X, TX, T = [2.0, 1.0, 0.0], [30.4, 1.7, 0.0], [38.9, 38.9, 38.9]

    def setUp(self):
        self.m = cvm.BetaGeo().set_params([0.243, 4.414, 0.793, 2.426])
        self.expected = list(self.m.conditional_probability_alive(self.X, self.TX, self.T))

    def tearDown(self):
        self.m.close()

    def check(self, x, tx, t):
        got = self.m.conditional_probability_alive(x, tx, t)
        self.assertEqual(list(got), self.expected)

    def test_list_and_tuple(self):
        self.check(self.X, tuple(self.TX), self.T)

    def test_array_array(self):
        self.check(array.array("i", [2, 1, 0]), array.array("d", self.TX), array.array("d", self.T))

    def test_readonly_memoryview(self):
        views = [memoryview(array.array("d", v).tobytes()).cast("d")
                 for v in (self.X, self.TX, self.T)]
        self.assertTrue(views[0].readonly)
        self.check(*views)

    def test_writable_memoryview(self):
        self.check(*(memoryview(bytearray(array.array("d", v).tobytes())).cast("d")
                     for v in (self.X, self.TX, self.T)))

    def test_generator(self):
        self.check((v for v in self.X), self.TX, self.T)

    def test_raw_bytes_rejected(self):
        with self.assertRaises(TypeError):
            self.m.conditional_probability_alive(array.array("d", self.X).tobytes(), self.TX,
                                                 self.T)

    def test_length_mismatch(self):
        with self.assertRaises(ValueError):
            self.m.conditional_probability_alive(self.X, self.TX[:2], self.T)

    def test_output_type(self):
        out = self.m.conditional_probability_alive(self.X, self.TX, self.T)
        try:
            import numpy
            self.assertIsInstance(out, numpy.ndarray)
        except ImportError:
            self.assertIsInstance(out, array.array)
            self.assertEqual(out.typecode, "d")

    def test_numpy(self):
        try:
            import numpy as np
        except ImportError:
            self.skipTest("numpy not installed")
        x = np.array(self.X)
        self.check(x, np.array(self.TX), np.array(self.T, dtype=np.float32))
        self.check(x[::1], self.TX, self.T)


class TestTimes(unittest.TestCase):
    def test_parse_format(self):
        import datetime
        t = cvm.parse_time("1997-09-30")
        self.assertEqual(t, 875577600)
        self.assertEqual(cvm.format_date(t), "1997-09-30")
        self.assertEqual(cvm.parse_time("19970930"), t)
        with self.assertRaises(cvm.ParseError):
            cvm.parse_time("not a date")
        from cvm._base import to_time
        self.assertEqual(to_time(datetime.date(1997, 9, 30)), t)
        self.assertEqual(to_time(datetime.datetime(1997, 9, 30)), t)


if __name__ == "__main__":
    unittest.main()
