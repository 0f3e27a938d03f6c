"""Attribution through Python: every model, removal effects and ROI."""

import unittest

import cvm
from helpers import data_file

PATHS = [("a > b", 3, 30, 1), ("b > c", 1, 5, 4), ("a", 0, 0, 2), ("c > a > b", 2, 10, 0)]


def journeys():
    a = cvm.Attribution()
    for p in PATHS:
        a.add_path(*p)
    return a


class TestAttribution(unittest.TestCase):
    def setUp(self):
        self.a = journeys()

    def tearDown(self):
        self.a.close()

    def test_channels(self):
        self.assertEqual(self.a.channels, ["a", "b", "c"])

    def test_every_model_conserves_totals(self):
        runs = {"first_touch": self.a.first_touch(), "last_touch": self.a.last_touch(),
                "linear": self.a.linear(), "position_based": self.a.position_based(0.3, 0.3),
                "markov": self.a.markov(), "markov2": self.a.markov(order=2),
                "shapley": self.a.shapley(), "shapley_rate": self.a.shapley(kind="rate")}
        for name, credit in runs.items():
            self.assertEqual(sorted(credit), ["a", "b", "c"], name)
            self.assertAlmostEqual(sum(c for c, v in credit.values()), 6, msg=name)
            self.assertAlmostEqual(sum(v for c, v in credit.values()), 45, msg=name)
        self.assertEqual(runs["first_touch"]["a"], (3.0, 30.0))
        self.assertEqual(runs["last_touch"]["b"], (5.0, 40.0))

    def test_markov_details(self):
        self.a.markov()
        effects, p = self.a.removal_effects()
        self.assertEqual(sorted(effects), ["a", "b", "c"])
        self.assertTrue(0 < p < 1)
        states = self.a.states
        self.assertEqual(states[:3], ["(start)", "(conversion)", "(null)"])
        matrix = self.a.transition_matrix()
        self.assertEqual(len(matrix), len(states))
        for row in matrix:
            self.assertAlmostEqual(sum(row), 1.0)

    def test_removal_effects_need_markov(self):
        self.a.linear()
        with self.assertRaises(cvm.InvalidInput):
            self.a.removal_effects()

    def test_roi(self):
        credit = self.a.last_touch()
        roi = self.a.roi({"a": 10, "b": 20})
        self.assertAlmostEqual(roi["b"][0], credit["b"][1] / 20)
        self.assertAlmostEqual(roi["b"][1], 20 / credit["b"][0])
        self.assertEqual(roi["c"], (0.0, 0.0))

    def test_touches_and_decay(self):
        with cvm.Attribution() as a:
            with self.assertRaises(cvm.InvalidInput) as cm:
                self.a.time_decay()
            self.assertIn("time", str(cm.exception))
            a.add_touch("u1", "email", "2020-01-01")
            a.add_touch("u1", "search", "2020-01-05")
            a.add_conversion("u1", "2020-01-06", 100.0)
            a.add_touch("u2", "email", "2020-01-02")
            credit = a.time_decay(half_life_seconds=86400)
            self.assertGreater(credit["search"][1], credit["email"][1])
            self.assertAlmostEqual(sum(v for _, v in credit.values()), 100.0)

    def test_empty(self):
        with cvm.Attribution() as a, self.assertRaises(cvm.EmptyInput):
            a.markov()

    def test_channelattribution_csv(self):
        path = data_file("attribution/channelattribution_Data.csv")
        if path is None:
            self.skipTest("channelattribution_Data.csv not present")
        with cvm.Attribution.from_csv(path, delimiter=";") as a:
            credit = a.markov()
            self.assertGreater(len(credit), 3)
            total = sum(c for c, _ in credit.values())
            self.assertAlmostEqual(sum(c for c, _ in a.linear().values()), total, places=6)


if __name__ == "__main__":
    unittest.main()
