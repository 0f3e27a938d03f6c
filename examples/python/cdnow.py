"""CDNOW end to end through the Python binding: transactions -> summary ->
BG/NBD + Gamma-Gamma -> CLV -> RFM segments, as a short report.

    python3 examples/python/cdnow.py [PATH]

PATH defaults to ../shared/data/CDNOW_sample.txt beside the project (the
1/10 CDNOW sample: whitespace-separated, no header, columns original id,
customer id, date YYYYMMDD, CDs, amount). Without it the example says so and
exits with 77, which meson reports as a skipped test. The binding must be
importable (PYTHONPATH=bindings/python) and find libcvm (CVM_LIBRARY=path of
libcvm.so, or the library installed).
"""

import os
import sys

import cvm

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT = os.path.join(ROOT, "..", "shared", "data", "CDNOW_sample.txt")


def main(path):
    if not os.path.exists(path):
        print(f"cdnow.py: {path} not found; skipping (pass the CDNOW sample's path)")
        return 77

    # The literature's setup: weeks, calibration to 1997-09-30, holdout to 1998-06-30.
    customers = cvm.Customers.from_csv(
        path, customer_id_col=2, datetime_col=3, monetary_value_col=5, date_format="yyyymmdd",
        header=False, whitespace=True, calibration_end="1997-09-30")
    # A dict of columns (as_dict: no pandas needed), ids under "customer_id".
    s = customers.summary(freq="week", observation_period_end="1998-06-30", as_dict=True)
    x, t_x, T, m = s["frequency"], s["recency"], s["T"], s["monetary_value"]
    print(f"{len(x)} customers, {customers.transactions} transactions")

    # Transaction model (FHL 2005: r 0.243, alpha 4.414, a 0.793, b 2.426).
    bg = cvm.BetaGeo().fit(x, t_x, T)
    print("BG/NBD      " + "  ".join(f"{k} {v:.4f}" for k, v in bg.params_.items())
          + f"  LL {bg.log_likelihood_:.2f}")
    gg = cvm.GammaGamma().fit(x, m)
    print("Gamma-Gamma " + "  ".join(f"{k} {v:.4f}" for k, v in gg.params_.items()))

    # Holdout check: expected purchases in each customer's 39 holdout weeks.
    predicted = bg.conditional_expected_number_of_purchases_up_to_time(39, x, t_x, T)
    print(f"holdout purchases: predicted {sum(predicted):.1f}, "
          f"actual {sum(s['frequency_holdout']):.0f}")

    # 12-month CLV (monthly periods of 4.348 weeks, 1% a month).
    clv = gg.customer_lifetime_value(bg, x, t_x, T, m, time=12, period_length=4.348,
                                     discount_rate=0.01)
    top = sorted(range(len(clv)), key=lambda i: -clv[i])[:5]
    print("top 5 customers by 12-month CLV:")
    for i in top:
        print(f"  {s['customer_id'][i]:>6}  x {x[i]:3.0f}  mean spend {m[i]:7.2f}  CLV {clv[i]:8.2f}")
    share = sum(clv[i] for i in sorted(range(len(clv)), key=lambda i: -clv[i])[:len(clv) // 10])
    print(f"the top 10% hold {100 * share / sum(clv):.1f}% of the CLV")

    # RFM segments (R's `rfm` map): recency is the time since the last purchase.
    since = [a - b for a, b in zip(T, t_x)]
    rfm = cvm.RFM().fit(since, x, m)
    r, f, mm = rfm.fit_scores(len(since))
    labels = rfm.segment(r, f, mm)
    names = rfm.segment_names
    profiles = cvm.segment_profiles(labels, len(names), since, x, m, clv=clv)
    print(f"RFM segments:\n  {'segment':<20} {'count':>5} {'cust%':>6} {'rev%':>6} {'CLV%':>6}")
    for name, p in sorted(zip(names, profiles), key=lambda np_: -np_[1]["count"]):
        if p["count"]:
            print(f"  {name:<20} {p['count']:5.0f} {100 * p['share_customers']:6.1f} "
                  f"{100 * p['share_revenue']:6.1f} {100 * p['share_clv']:6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else DEFAULT))
