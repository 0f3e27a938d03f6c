"""Customers and the fitted models through Python, against the reference data."""

import os
import tempfile
import unittest

import cvm
from helpers import data_file, read_columns

CDNOW_PARAMS = {"r": 0.242595, "alpha": 4.413603, "a": 0.792922, "b": 2.425906}


def cdnow_cbs():
    path = data_file("btyd_cdnow_cbs.csv")
    if path is None:
        raise unittest.SkipTest("btyd_cdnow_cbs.csv not present")
    return read_columns(path)


class TestCdnow(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cbs = cdnow_cbs()
        cls.x, cls.tx, cls.T = cls.cbs["x"], cls.cbs["t_x"], cls.cbs["T_cal"]

    def test_bgnbd_fit(self):
        with cvm.BetaGeo() as m:
            self.assertIs(m.fit(self.x, self.tx, self.T), m)
            for k, v in CDNOW_PARAMS.items():
                self.assertAlmostEqual(m.params_[k], v, delta=1e-4, msg=k)
            self.assertEqual(list(m.params_), ["r", "alpha", "a", "b"])
            self.assertAlmostEqual(m.log_likelihood_, -9582.43, delta=0.01)
            self.assertTrue(m.converged_)
            self.assertTrue(all(v > 0 for v in m.standard_errors_.values()))
            expected = m.conditional_expected_number_of_purchases_up_to_time(
                39, self.x, self.tx, self.T)
            self.assertTrue(all(0 <= v < 40 for v in expected))
            self.assertIn("r: 0.242595", repr(m))

    def test_bgnbd_predictions(self):
        with cvm.BetaGeo().set_params(CDNOW_PARAMS) as m:
            p = m.conditional_probability_alive([0, 2], [0, 30.43], [38.86, 38.86])
            self.assertEqual(p[0], 1.0)
            self.assertTrue(0 < p[1] < 1)
            e = m.expected_number_of_purchases_up_to_time([39, 78])
            self.assertLess(e[0], e[1])
            self.assertAlmostEqual(m.expected_number_of_purchases_up_to_time(39), e[0])
            probs = m.probability_of_n_purchases_up_to_time([39] * 50, list(range(50)))
            self.assertAlmostEqual(sum(probs), 1.0, delta=1e-3)
            ll = m.log_likelihood(self.x, self.tx, self.T)
            self.assertEqual(len(ll), len(self.x))
            pred, report = m.holdout(self.x, self.tx, self.T, [39.0] * len(self.x),
                                     self.cbs["x_star"])
            self.assertEqual(report["actual"], 1882)
            self.assertAlmostEqual(report["predicted"], sum(pred), delta=1e-6)
            curve = m.tracking([39 - t for t in self.T], [39, 78])
            self.assertLess(curve[0], curve[1])

    def test_other_transaction_models(self):
        for cls, names in ((cvm.ParetoNBD, ["r", "alpha", "s", "beta"]),
                           (cvm.ModifiedBetaGeo, ["r", "alpha", "a", "b"])):
            with cls().fit(self.x, self.tx, self.T) as m:
                self.assertEqual(list(m.params_), names)
                self.assertTrue(m.converged_)
                p = m.conditional_probability_alive(self.x[:5], self.tx[:5], self.T[:5])
                self.assertTrue(all(0 <= v <= 1 for v in p))

    def test_gamma_gamma_and_clv(self):
        m_x, x = self.cbs["m_x"], self.x
        with cvm.GammaGamma().fit(x, m_x) as gg, cvm.BetaGeo().set_params(CDNOW_PARAMS) as bg:
            self.assertEqual(list(gg.params_), ["p", "q", "v"])
            self.assertAlmostEqual(gg.params_["p"], 6.25, delta=0.05)
            profit = gg.conditional_expected_average_profit(x[:3], m_x[:3])
            self.assertEqual(len(profit), 3)
            clv = gg.customer_lifetime_value(bg, x[:3], self.tx[:3], self.T[:3], m_x[:3],
                                             time=12, discount_rate=0.01)
            clv2 = bg.customer_lifetime_value(x[:3], self.tx[:3], self.T[:3], m_x[:3],
                                              spend_model=gg)
            self.assertEqual(list(clv), list(clv2))
            s = bg.score(x[:3], self.tx[:3], self.T[:3], m_x[:3], spend_model=gg)
            self.assertEqual(list(s["clv"]), list(clv))
            self.assertEqual(sorted(s), ["clv", "expected_purchases", "expected_value", "p_alive"])

    def test_save_load(self):
        with tempfile.TemporaryDirectory() as d, cvm.ParetoNBD() as m:
            m.set_params([0.55, 10.6, 0.61, 11.7])
            path = os.path.join(d, "m.cvm")
            m.save(path)
            with cvm.BetaGeo.load(path) as back:
                self.assertIsInstance(back, cvm.ParetoNBD)
                self.assertEqual(back.params_, m.params_)


class TestOtherModels(unittest.TestCase):
    def test_bgbb_donations(self):
        path = data_file("btyd_donations_rf.csv")
        if path is None:
            self.skipTest("btyd_donations_rf.csv not present")
        d = read_columns(path)
        with cvm.BetaGeoBetaBinom() as m:
            m.fit(d["x"], d["t_x"], d["n_cal"], weights=d["custs"])
            p = m.params_
            self.assertEqual(list(p), ["alpha", "beta", "gamma", "delta"])
            # Fader, Hardie & Shang (2010): 1.204, 0.750, 0.657, 2.783
            for k, v in zip(p, (1.204, 0.750, 0.657, 2.783)):
                self.assertAlmostEqual(p[k], v, delta=0.01, msg=k)

    def test_shifted_beta_geo(self):
        # Fader & Hardie (2007), regular customers: alpha 0.704, beta 1.182
        alive = [1000, 631, 468, 382, 326, 289, 262, 241]
        with cvm.ShiftedBetaGeo().fit(alive) as m:
            self.assertAlmostEqual(m.params_["alpha"], 0.704, delta=0.01)
            self.assertAlmostEqual(m.params_["beta"], 1.182, delta=0.01)
            s = m.survival_function([0, 1, 2])
            self.assertEqual(s[0], 1.0)
            self.assertAlmostEqual(m.retention_rate(2), s[2] / s[1])
            self.assertGreater(m.expected_lifetime(0.1), 1.0)
            with self.assertRaises(cvm.RangeError):
                m.expected_lifetime(0.0)  # alpha <= 1: infinite mean lifetime

    def test_unfitted(self):
        with cvm.GammaGamma() as m:
            with self.assertRaises(cvm.InvalidInput):
                m.params_


class TestCustomers(unittest.TestCase):
    def test_cdnow_elog_summary(self):
        path = data_file("btyd_cdnow_elog.csv")
        if path is None:
            self.skipTest("btyd_cdnow_elog.csv not present")
        with cvm.Customers.from_csv(path, customer_id_col="sampleid", datetime_col="date",
                                    monetary_value_col="sales",
                                    calibration_end="1997-09-30") as c:
            self.assertEqual(len(c), 2357)
            self.assertEqual(c.transactions, 6919)
            s = c.summary(freq="week", observation_period_end="1998-06-30", as_dict=True)
            self.assertEqual(list(s), ["customer_id", "frequency", "recency", "T",
                                       "monetary_value", "frequency_holdout",
                                       "monetary_value_holdout", "duration_holdout"])
            self.assertEqual(sum(s["frequency"]), 2457)
            self.assertEqual(sum(s["frequency_holdout"]), 1882)
            with cvm.BetaGeo().fit(s["frequency"], s["recency"], s["T"]) as m:
                for k, v in CDNOW_PARAMS.items():
                    self.assertAlmostEqual(m.params_[k], v, delta=1e-4, msg=k)
            row = c.row(s["customer_id"][0], freq="week")
            self.assertEqual(row["frequency"], s["frequency"][0])

    def test_ledger(self):
        with cvm.Customers() as c:
            c.add("a", "2020-01-01", 10)
            c.add("a", "2020-01-05", 20)
            c.add(b"b", 1577923200, 5)
            c.add_batch(["c", "c"], ["2020-01-03", "2020-01-20"], [1, 2])
            c.read_csv(b"id,date,amount\nd,2020-01-01,3\n")
            self.assertEqual(len(c), 4)
            self.assertEqual(c.transactions, 6)
            self.assertEqual(c.id(c.find("c")), "c")
            s = c.summary()
            ids = s.index if hasattr(s, "index") else s["customer_id"]
            self.assertEqual(list(ids), ["a", "b", "c", "d"])
            self.assertEqual(list(s["frequency"]), [1, 0, 1, 0])
            self.assertEqual(c.row("a")["monetary_value"], 20)
            self.assertEqual(list(c.repeat_curve("2020-01-01", 3, unit="week")), [1, 1, 2])
            with tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, "c.cvm")
                c.save(path)
                with cvm.Customers.load(path) as back, cvm.Customers() as other:
                    self.assertEqual(len(back), 4)
                    other.add("e", "2020-02-01", 1)
                    back.merge(other)
                    self.assertEqual(len(back), 5)

    def test_pandas_summary(self):
        try:
            import pandas  # noqa: F401
        except ImportError:
            self.skipTest("pandas not installed")
        with cvm.Customers() as c:
            c.add("a", "2020-01-01", 1)
            df = c.summary()
            self.assertEqual(list(df.columns), ["frequency", "recency", "T", "monetary_value"])

    def test_simulate(self):
        rows = cvm.simulate(customers=50, seed=7)
        self.assertEqual(len({r[0] for r in rows}), 50)
        self.assertEqual(rows, cvm.simulate(customers=50, seed=7))
        seen = []
        cvm.simulate(customers=50, callback=lambda c, t, a: seen.append(c) or len(seen) >= 3)
        self.assertEqual(len(seen), 3)
        with self.assertRaises(ZeroDivisionError):
            cvm.simulate(customers=5, callback=lambda c, t, a: 1 / 0)
        with self.assertRaises(cvm.NotFound):
            cvm.simulate(model="nope")


if __name__ == "__main__":
    unittest.main()
