"""RFM, k-means, value tiers, lifecycle stages and profiles through Python."""

import os
import tempfile
import unittest

import cvm

RECENCY = [1, 5, 10, 20, 40, 2, 8, 30, 15, 3]
FREQUENCY = [10, 3, 2, 1, 0, 8, 2, 0, 1, 5]
MONETARY = [50, 20, 15, 10, 0, 40, 12, 0, 9, 30]


class TestRfm(unittest.TestCase):
    def test_rfm_function(self):
        out = cvm.rfm(RECENCY, FREQUENCY, MONETARY)
        self.assertEqual(out["recency_score"][0], 5)  # most recent
        self.assertEqual(out["rfm_score"][0], 555)
        self.assertEqual(out["segment"][0], "Champions")
        self.assertEqual(len(out["segment"]), 10)

    def test_rfm_handle(self):
        with cvm.RFM(bins=5) as model:
            model.fit(RECENCY, FREQUENCY, MONETARY)
            self.assertEqual(len(model.breakpoints("recency")), 4)
            r, f, m = model.score([1], [10], [50])
            self.assertEqual((r[0], f[0], m[0]), (5, 5, 5))
            names = model.segment_names
            self.assertEqual(names[-1], "Others")
            self.assertEqual(names[model.segment([5], [5], [5])[0]], "Champions")
            model.set_rules([("best", (4, 5), (4, 5), (1, 5)), ("rest", (1, 5), (1, 5), (1, 5))])
            self.assertEqual(model.segment_names, ["best", "rest", "Others"])
            with self.assertRaises(cvm.InvalidInput) as cm:
                model.segment([6], [1], [1])
            self.assertTrue(str(cm.exception))
            with tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, "rfm.cvm")
                model.save(path)
                with cvm.RFM.load(path) as back:
                    self.assertEqual(back.segment_names, ["best", "rest", "Others"])
                    self.assertEqual(back.breakpoints(0), model.breakpoints(0))

    def test_rfm_rank_ties(self):
        out = cvm.rfm(RECENCY, FREQUENCY, MONETARY, bins=2, ties="rank")
        self.assertEqual(sorted(out["frequency_score"]), [1] * 5 + [2] * 5)
        self.assertNotIn("segment", out)


X = [[0, 0], [0, 1], [1, 0], [10, 10], [10, 11], [11, 10]]


class TestKMeans(unittest.TestCase):
    def test_fit_predict(self):
        with cvm.KMeans(n_clusters=2, n_init=3, random_state=42) as km:
            labels = km.fit(X).labels_
            self.assertEqual(len(set(labels[:3])), 1)
            self.assertNotEqual(labels[0], labels[3])
            centers = km.cluster_centers_
            self.assertEqual(len(centers), 2)
            for got, want in zip(sorted(c[0] for c in centers), [1 / 3, 31 / 3]):
                self.assertAlmostEqual(got, want)
            self.assertAlmostEqual(km.inertia_, 4 * 2 / 3)
            self.assertEqual(km.predict([[0.2, 0.2], [9, 9]])[0], labels[0])
            self.assertGreater(km.silhouette_score(X, labels), 0.8)
            self.assertTrue(km.converged_)
            with tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, "km.cvm")
                km.save(path)
                with cvm.KMeans.load(path) as back:
                    self.assertEqual(list(back.predict(X)), list(labels))
                    self.assertEqual(back.n_clusters, 2)

    def test_buffer_and_weighted(self):
        import array
        flat = array.array("d", [v for row in X for v in row])
        matrix = memoryview(flat).cast("B").cast("d", [6, 2])  # a 2-D buffer
        with cvm.KMeans(2, random_state=1).fit(matrix, sample_weight=[1] * 6) as km:
            self.assertEqual(len(km.labels_), 6)
            self.assertEqual(len(km.cluster_centers_[0]), 2)

    def test_elbow_and_errors(self):
        curve = cvm.elbow(X, 1, 3, random_state=1)
        self.assertEqual(len(curve), 3)
        self.assertGreater(curve[0], curve[1])
        with cvm.KMeans(n_clusters=10) as km, self.assertRaises(cvm.InvalidInput):
            km.fit(X)  # more clusters than distinct rows


class TestTiersLifecycle(unittest.TestCase):
    def test_value_tiers(self):
        clv = list(range(100))
        tiers, cuts = cvm.value_tiers(clv)
        self.assertEqual(list(cuts), [99, 90, 50])
        self.assertEqual(tiers[99], 0)
        self.assertEqual(list(cvm.value_tier_assign(cuts, [100, 60, 0])), [0, 2, 3])
        with cvm.Tiers(top_shares=[0.2, 0.5]) as t:
            t.fit(clv)
            self.assertEqual(len(t.cuts_), 2)
            self.assertEqual(list(t.assign([99, 0])), [0, 2])
            self.assertEqual(t.tiers_[0], 2)
            with tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, "tiers.cvm")
                t.save(path)
                with cvm.Tiers.load(path) as back:
                    self.assertEqual(list(back.cuts_), list(t.cuts_))

    def test_lifecycle(self):
        stages = cvm.lifecycle([1, 0, 3], [5, 0, 30], [40, 2, 31], names=True)
        self.assertEqual(stages, ["lapsed", "new", "active"])
        with self.assertRaises(cvm.InvalidInput):
            cvm.lifecycle([1], [5], [2])

    def test_profiles(self):
        prof = cvm.segment_profiles([0, 1, 0], 2, [1, 2, 3], [1, 2, 3], [1, 2, 3],
                                    p_alive=[0.5, 0.5, 1], clv=[1, 2, 3])
        self.assertEqual(prof[0]["count"], 2)
        self.assertAlmostEqual(prof[0]["share_clv"], 4 / 6)
        self.assertAlmostEqual(prof[0]["mean_p_alive"], 0.75)


if __name__ == "__main__":
    unittest.main()
