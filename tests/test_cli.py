#!/usr/bin/env python3
"""The cvm command line against DESIGN.md's contract: output columns, exit
statuses, one-line errors naming file and line, nothing half-written."""
import csv
import io
import os
import shlex
import subprocess
import sys
import tempfile

CVM = sys.argv[1]
# CVM_TEST_WRAPPER (opt-in): a command every cvm run goes through, e.g.
# "valgrind --error-exitcode=99 -q" (.ci/valgrind). Its own exit status for an
# error must differ from cvm's (0, 1, 2), and it must keep quiet on stdout and,
# when clean, on stderr (the checks read both): send its log to a file.
WRAPPER = shlex.split(os.environ.get("CVM_TEST_WRAPPER", ""))
DATA = os.path.join(os.environ.get("CVM_SOURCE_ROOT", "."), "..", "shared", "data")
# CVM_TEST_QUICK (opt-in, .ci/valgrind): the runs on the reference data in
# ../shared/data are left out (counted as skipped), as when it is absent; the
# plain run checks their numbers, and the code paths are those of the
# simulated data.
if os.environ.get("CVM_TEST_QUICK", "") not in ("", "0"):
    DATA = os.path.join(DATA, "left-out-by-CVM_TEST_QUICK")
results = {"passed": 0, "failed": 0, "skipped": 0}


def run(*args, stdin=None):
    return subprocess.run([*WRAPPER, CVM, *args], input=stdin, capture_output=True, text=True)


def check(name, cond, detail=""):
    results["passed" if cond else "failed"] += 1
    if not cond:
        print(f"FAIL {name}: {detail}")


def bad_input(name, r, *words):
    err = r.stderr.strip()
    check(name + " exit 2", r.returncode == 2, f"exit {r.returncode}, stderr {err!r}")
    check(name + " one line", len(err.splitlines()) == 1, repr(err))
    check(name + " nothing on stdout", r.stdout == "", repr(r.stdout[:200]))
    for w in words:
        check(name + f" mentions {w!r}", w in err, repr(err))


def test_simulate_summary(tmp):
    a = run("simulate", "--customers", "300", "--seed", "7")
    b = run("simulate", "--customers", "300", "--seed", "7")
    c = run("simulate", "--customers", "300", "--seed", "8")
    check("simulate exit", a.returncode == 0, a.stderr)
    check("simulate header", a.stdout.startswith("id,date,amount\n"), a.stdout[:50])
    check("simulate is seeded", a.stdout == b.stdout)
    check("seeds differ", a.stdout != c.stdout)
    rows = list(csv.DictReader(io.StringIO(a.stdout)))
    check("simulate ids", {r["id"] for r in rows} == {str(i) for i in range(1, 301)})
    s = run("summary", "-", stdin=a.stdout)
    check("summary exit", s.returncode == 0, s.stderr)
    out = list(csv.DictReader(io.StringIO(s.stdout)))
    check("summary columns", list(out[0].keys()) == ["id", "frequency", "recency", "T", "monetary_value"],
          str(list(out[0].keys())))
    check("summary rows", len(out) == 300, str(len(out)))
    purchases = {}
    for r in rows:
        purchases.setdefault(r["id"], set()).add(r["date"])
    check("frequency = repeat days",
          all(float(r["frequency"]) == len(purchases[r["id"]]) - 1 for r in out))
    path = os.path.join(tmp, "tx.csv")
    with open(path, "w") as f:
        f.write(a.stdout)
    o = os.path.join(tmp, "summary.csv")
    r = run("summary", path, "--calibration-end", "1997-09-30", "--observation-end", "1998-06-30",
            "--unit-days", "7", "-o", o)
    check("summary -o exit", r.returncode == 0 and r.stdout == "", r.stderr)
    with open(o) as f:
        header = f.readline().strip()
    check("holdout columns", header == "id,frequency,recency,T,monetary_value,frequency_holdout,"
          "monetary_value_holdout,duration_holdout", header)
    check("no temporary files left", sorted(os.listdir(tmp)) == ["summary.csv", "tx.csv"], str(os.listdir(tmp)))


def test_cdnow():
    sample = os.path.join(DATA, "CDNOW_sample.txt")
    if not os.path.exists(sample):
        results["skipped"] += 1
        return
    r = run("summary", sample, "--whitespace", "--no-header", "--id", "2", "--date", "3", "--amount", "5",
            "--date-format", "yyyymmdd", "--unit-days", "7", "--calibration-end", "1997-09-30",
            "--observation-end", "1998-06-30")
    check("cdnow exit", r.returncode == 0, r.stderr)
    ours = {int(row["id"]): row for row in csv.DictReader(io.StringIO(r.stdout))}
    with open(os.path.join(DATA, "btyd_cdnow_cbs.csv")) as f:
        ref = list(csv.DictReader(f))
    check("cdnow customers", len(ours) == len(ref) == 2357)
    worst = 0.0
    for row in ref:
        o = ours[int(row["id"])]
        for mine, theirs in [("frequency", "x"), ("recency", "t_x"), ("T", "T_cal"),
                             ("monetary_value", "m_x"), ("frequency_holdout", "x_star")]:
            worst = max(worst, abs(float(o[mine]) - float(row[theirs])))
    # The CLI prints shortest round-trip doubles; BTYD's file has 15 digits.
    check("cdnow values", worst < 1e-12, str(worst))


def test_bad_input(tmp):
    def write(name, text):
        p = os.path.join(tmp, name)
        with open(p, "w", newline="") as f:
            f.write(text)
        return p

    p = write("bad_amount.csv", "id,date,amount\n1,2020-01-01,5\n2,2020-01-02,abc\n")
    bad_input("bad amount", run("summary", p), "bad_amount.csv:3", "abc")
    p = write("nan.csv", "id,date,amount\n1,2020-01-01,nan\n")
    bad_input("nan amount", run("summary", p), "nan.csv:2", "not finite")
    p = write("neg.csv", "id,date,amount\n1,2020-01-01,-3\n")
    bad_input("negative amount", run("summary", p), "neg.csv:2", "negative")
    p = write("date.csv", "id,date,amount\n1,2020-02-30,1\n")
    bad_input("bad date", run("summary", p), "date.csv:2", "2020-02-30")
    p = write("quote.csv", 'id,date,amount\n"1,2020-01-01,1\n')
    bad_input("open quote", run("summary", p), "quote.csv:", "opened at line 2")
    p = write("empty.csv", "")
    bad_input("empty", run("summary", p), "empty.csv", "no transactions")
    p = write("header.csv", "id,date,amount\n")
    bad_input("header only", run("summary", p), "header.csv", "no transactions")
    p = write("col.csv", "id,date,amount\n1,2020-01-01,1\n")
    bad_input("missing column", run("summary", p, "--amount", "price"), "col.csv", "price")
    bad_input("missing file", run("summary", os.path.join(tmp, "nope.csv")), "nope.csv")
    bad_input("unknown option", run("summary", p, "--frobnicate"), "--frobnicate")
    bad_input("unknown command", run("frobnicate"), "frobnicate")
    bad_input("bad params", run("simulate", "--params", "1,2,x"), "--params")
    bad_input("simulate past 9999", run("simulate", "--start", "9999-06-01", "--weeks", "200"), "9999")
    bad_input("simulate zero weeks", run("simulate", "--weeks", "0"), "simulate")
    # A failed run with -o leaves an existing output untouched and no temp files.
    out = write("keep.csv", "previous\n")
    bad = write("bad2.csv", "id,date,amount\n1,2020-01-01,1\n2,2020-01-02,-1\n")
    r = run("summary", bad, "-o", out)
    check("failed -o exit", r.returncode == 2, r.stderr)
    with open(out) as f:
        check("failed -o keeps previous file", f.read() == "previous\n")
    check("failed -o leaves no temp", not [n for n in os.listdir(tmp) if ".tmp-" in n], str(os.listdir(tmp)))


def test_options(tmp):
    log = "id,date\n1,2020-01-01\n1,2020-01-03\n1,2020-01-06\n"
    r = run("summary", "-", "--amount", "none", "--period", "week", stdin=log)
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    # Wednesday and Friday share lifetimes' Monday-to-Sunday week; the next
    # Monday starts another: one repeat period, no amounts.
    check("week periods", r.returncode == 0 and rows[0]["frequency"] == "1", r.stdout + r.stderr)
    check("no amount column", rows and rows[0]["monetary_value"] == "0", r.stdout)
    old = os.umask(0o022)
    try:
        out = os.path.join(tmp, "perm.csv")
        r = run("simulate", "--customers", "2", "-o", out)
        mode = os.stat(out).st_mode & 0o777
        check("output honours the umask", r.returncode == 0 and mode == 0o644, oct(mode))
    finally:
        os.umask(old)


def test_simulate_models():
    """Every transaction model through --model; BG/BB on whole weeks."""
    import datetime
    outs = {}
    for model in ["bgnbd", "pareto", "mbgnbd", "bgbb"]:
        a = run("simulate", "--customers", "200", "--seed", "3", "--model", model)
        b = run("simulate", "--customers", "200", "--seed", "3", "--model", model)
        check(f"simulate {model} exit", a.returncode == 0, a.stderr)
        check(f"simulate {model} header", a.stdout.startswith("id,date,amount\n"), a.stdout[:50])
        check(f"simulate {model} is seeded", a.stdout == b.stdout)
        rows = list(csv.DictReader(io.StringIO(a.stdout)))
        check(f"simulate {model} ids", {r["id"] for r in rows} == {str(i) for i in range(1, 201)})
        check(f"simulate {model} dates", all("1997-01-01" <= r["date"] < "1998-07-01" for r in rows),
              str([r["date"] for r in rows if not "1997-01-01" <= r["date"] < "1998-07-01"][:3]))
        outs[model] = (a.stdout, rows)
    check("models differ", len({o for o, _ in outs.values()}) == 4)
    check("default model is bgnbd",
          run("simulate", "--customers", "200", "--seed", "3").stdout == outs["bgnbd"][0])
    # BG/BB: first purchases on the 12 weekly cohorts from --start, then
    # opportunities every week after them.
    start = datetime.date(1997, 1, 1)
    first, ok = {}, True
    for r in outs["bgbb"][1]:
        d = (datetime.date.fromisoformat(r["date"]) - start).days
        if r["id"] not in first:
            first[r["id"]] = d
            ok = ok and d % 7 == 0 and d < 84
        else:
            ok = ok and d > first[r["id"]] and (d - first[r["id"]]) % 7 == 0
    check("bgbb on whole weeks", ok)
    s = run("summary", "-", "--unit-days", "7", stdin=outs["bgbb"][0])
    summary = list(csv.DictReader(io.StringIO(s.stdout)))
    check("bgbb summary in whole opportunities", s.returncode == 0 and all(
        float(r[c]).is_integer() for r in summary for c in ("frequency", "recency", "T")), s.stderr)
    # --params wins over the model's defaults, in either order.
    p = "0.3,5,0.8,2.5"
    x = run("simulate", "--customers", "50", "--model", "pareto", "--params", p)
    y = run("simulate", "--customers", "50", "--params", p, "--model", "pareto")
    z = run("simulate", "--customers", "50", "--model", "pareto")
    check("--params with --model", x.returncode == 0 and x.stdout == y.stdout != z.stdout)
    bad_input("unknown model", run("simulate", "--model", "frobnicate"), "frobnicate", "bgbb")
    bad_input("bad bgbb params", run("simulate", "--model", "bgbb", "--params", "1,1,0,1"), "simulate")


# ---- cvm fit / predict / report ----

FIT_KEYS = {"model", "n", "params", "stderr", "loglik", "converged", "iterations"}
# model, published estimates (DATA/README.md), relative tolerance, log-likelihood
CDNOW_FITS = [
    ("bgnbd", {"r": 0.242595, "alpha": 4.413603, "a": 0.792922, "b": 2.425906}, 1e-4, -9582.4292),
    ("pareto", {"r": 0.5533, "alpha": 10.5776, "s": 0.6062, "beta": 11.6679}, 1e-3, -9594.9739),
    ("mbgnbd", {"r": 0.5248, "alpha": 6.1830, "a": 0.8914, "b": 1.6140}, 1e-3, -9582.1327),
    ("gammagamma", {"p": 6.24957, "q": 3.74422, "v": 15.44352}, 1e-4, -4055.9177),
]


def write_file(tmp, name, text):
    p = os.path.join(tmp, name)
    with open(p, "w", newline="") as f:
        f.write(text)
    return p


def fit_json(name, *args):
    """Run `cvm fit ... --json`; the parsed object, or None after a failed check."""
    import json
    r = run("fit", *args, "--json")
    check(name + " exit", r.returncode == 0, r.stderr)
    try:
        obj = json.loads(r.stdout)
    except ValueError:
        check(name + " is JSON", False, repr(r.stdout[:200]))
        return None
    check(name + " keys", set(obj) == FIT_KEYS, str(sorted(obj)))
    return obj


def check_estimates(name, obj, params, rel, loglik):
    if obj is None:
        return
    got = obj.get("params", {})
    check(name + " parameter names", list(got) == list(params), str(list(got)))
    for k, want in params.items():
        v = got.get(k)
        check(f"{name} {k}", v is not None and abs(v - want) <= rel * abs(want), f"{v} vs {want}")
    check(name + " loglik", abs(obj.get("loglik", 0) - loglik) < 0.01, str(obj.get("loglik")))
    check(name + " converged", obj.get("converged") is True and obj.get("iterations", 0) > 0, str(obj))
    se = obj.get("stderr", {})
    check(name + " stderr", list(se) == list(params) and all(
        isinstance(v, float) and v > 0 for v in se.values()), str(se))


def simulated_summary(tmp):
    """A weekly calibration/holdout summary of simulated data: works without ../shared."""
    tx = run("simulate", "--customers", "1500", "--seed", "11")
    path = os.path.join(tmp, "sim_summary.csv")
    r = run("summary", "-", "--unit-days", "7", "--calibration-end", "1997-09-30",
            "--observation-end", "1998-06-30", "-o", path, stdin=tx.stdout)
    check("simulated summary", r.returncode == 0, r.stderr)
    return path


def cdnow_summary(tmp):
    """The CDNOW summary test_cdnow checks, as a file; None without the data."""
    sample = os.path.join(DATA, "CDNOW_sample.txt")
    if not os.path.exists(sample):
        return None
    path = os.path.join(tmp, "cdnow_summary.csv")
    r = run("summary", sample, "--whitespace", "--no-header", "--id", "2", "--date", "3", "--amount", "5",
            "--date-format", "yyyymmdd", "--unit-days", "7", "--calibration-end", "1997-09-30",
            "--observation-end", "1998-06-30", "-o", path)
    check("cdnow summary file", r.returncode == 0, r.stderr)
    return path


def read_predictions(name, r, n, with_value=True):
    import math
    check(name + " exit", r.returncode == 0, r.stderr)
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    cols = ["id", "p_alive", "expected_purchases"] + (["expected_value", "clv"] if with_value else [])
    check(name + " columns", rows and list(rows[0]) == cols, str(rows[:1]))
    check(name + " rows", len(rows) == n, str(len(rows)))
    vals = [[float(row[c]) for c in cols[1:]] for row in rows]
    check(name + " finite", all(math.isfinite(v) for row in vals for v in row))
    check(name + " p_alive in [0, 1]", all(0 <= row[0] <= 1 for row in vals))
    check(name + " non-negative", all(v >= 0 for row in vals for v in row[1:]))
    return rows


def test_fit_predict_simulated(tmp):
    """fit and predict on simulated data, so they are tested without ../shared."""
    path = simulated_summary(tmp)
    with open(path) as f:
        n = sum(1 for _ in f) - 1
    for model in ["bgnbd", "pareto", "mbgnbd", "gammagamma"]:
        obj = fit_json(f"fit {model} simulated", model, "--summary", path)
        if obj:
            check(f"fit {model} n", obj["n"] == n and obj["model"] == model, str(obj))
    # Simulated from BG/NBD (0.243, 4.414, 0.793, 2.426): roughly recovered.
    obj = fit_json("fit recovers", "bgnbd", "--summary", path)
    if obj:
        r = obj["params"]["r"]
        check("fit recovers r", 0.15 < r < 0.4, str(obj["params"]))
    t = run("fit", "bgnbd", "--summary", path)
    check("fit table", t.returncode == 0 and all(w in t.stdout for w in
          ["BG/NBD", "parameter", "estimate", "std. error", "alpha", "log-likelihood", "converged"]),
          t.stdout + t.stderr)
    # Columns by 1-based index: frequency, recency, T are columns 2, 3, 4.
    by_index = fit_json("fit columns by index", "bgnbd", "--summary", path, "--frequency", "2",
                        "--recency", "3", "--T", "4")
    by_name = fit_json("fit columns by name", "bgnbd", "--summary", path)
    check("index = name", by_index is not None and by_index == by_name)
    pen = fit_json("fit --penalizer", "bgnbd", "--summary", path, "--penalizer", "0.1")
    check("penalizer changes the fit", pen is not None and by_name is not None and
          pen["params"] != by_name["params"])
    # Predictions: fitted on the spot, and from saved models, are the same.
    p1 = run("predict", "bgnbd", "--summary", path, "--horizon", "10")
    read_predictions("predict simulated", p1, n)
    model, spend = os.path.join(tmp, "bgnbd.model"), os.path.join(tmp, "gg.model")
    s1 = run("fit", "bgnbd", "--summary", path, "--save", model)
    s2 = run("fit", "gammagamma", "--summary", path, "--save", spend)
    check("fit --save", s1.returncode == 0 and s2.returncode == 0 and os.path.exists(model)
          and os.path.exists(spend), s1.stderr + s2.stderr)
    p2 = run("predict", "bgnbd", "--summary", path, "--horizon", "10", "--model-file", model,
             "--spend-file", spend)
    check("predict from saved models", p2.returncode == 0 and p2.stdout == p1.stdout, p2.stderr)
    bad_input("predict wrong model file", run("predict", "pareto", "--summary", path, "--model-file",
                                              model), "bgnbd.model", "bgnbd")
    # Without a monetary column there is no value to predict.
    p3 = run("predict", "bgnbd", "--summary", path, "--monetary", "none")
    rows = read_predictions("predict without monetary", p3, n, with_value=False)
    # The default horizon is the CLV's (12 periods of 1).
    p4 = run("predict", "bgnbd", "--summary", path, "--horizon", "12")
    check("default horizon", p4.returncode == 0 and rows and
          [r["expected_purchases"] for r in rows] ==
          [r["expected_purchases"] for r in csv.DictReader(io.StringIO(p4.stdout))])
    # A larger margin scales CLV; the expected value per purchase stays.
    m2 = list(csv.DictReader(io.StringIO(run("predict", "bgnbd", "--summary", path, "--horizon", "10",
                                                 "--margin", "0.5").stdout)))
    m1 = list(csv.DictReader(io.StringIO(p1.stdout)))
    check("margin scales clv", m1 and m2 and all(
        abs(float(a["clv"]) * 0.5 - float(b["clv"])) <= 1e-9 * (1 + float(a["clv"])) for a, b in zip(m1, m2)))
    # Ids that need quoting come back quoted; without an id column, row numbers.
    with open(path) as f:
        lines = f.read().splitlines()
    quoted = write_file(tmp, "quoted_ids.csv", "\n".join(
        [lines[0]] + [f'"c,{ln.split(",", 1)[0]}",{ln.split(",", 1)[1]}' for ln in lines[1:]]) + "\n")
    r = run("predict", "bgnbd", "--summary", quoted, "--horizon", "10", "--model-file", model)
    check("predict quoted ids", r.returncode == 0 and r.stdout.splitlines()[1].startswith('"c,1",'),
          r.stdout[:300] + r.stderr)
    noid = write_file(tmp, "noid.csv", "\n".join(ln.split(",", 1)[1] for ln in lines) + "\n")
    r = run("predict", "bgnbd", "--summary", noid, "--horizon", "10", "--model-file", model)
    check("predict row numbers", r.returncode == 0 and
          [ln.split(",")[0] for ln in r.stdout.splitlines()[1:4]] == ["1", "2", "3"], r.stdout[:300] + r.stderr)
    o = os.path.join(tmp, "pred.csv")
    r = run("predict", "bgnbd", "--summary", path, "-o", o)
    check("predict -o", r.returncode == 0 and r.stdout == "" and os.path.exists(o), r.stderr)


def test_fit_cdnow(tmp):
    path = cdnow_summary(tmp)
    if path is None:
        results["skipped"] += 1
        return
    for model, params, rel, loglik in CDNOW_FITS:
        obj = fit_json(f"fit {model} cdnow", model, "--summary", path)
        check_estimates(f"fit {model} cdnow", obj, params, rel, loglik)
        if obj:
            check(f"fit {model} cdnow n", obj["n"] == 2357 and obj["model"] == model, str(obj["n"]))
    donations = os.path.join(DATA, "donations.csv")
    obj = fit_json("fit bgbb donations", "bgbb", "--summary", donations, "--T", "periods",
                   "--weights", "weights")
    check_estimates("fit bgbb donations", obj,
                    {"alpha": 1.2035, "beta": 0.7497, "gamma": 0.6567, "delta": 2.7834}, 1e-3, -33225.5813)
    if obj:
        check("fit bgbb n is rows", obj["n"] == 22, str(obj["n"]))
    bad_input("bgbb without --T", run("fit", "bgbb", "--summary", donations), "donations.csv", "'T'",
              "periods")
    # Holdout: the conditional expectations over 39 weeks sum to 1653.4.
    r = run("predict", "bgnbd", "--summary", path, "--horizon", "39")
    rows = read_predictions("predict cdnow", r, 2357)
    total = sum(float(row["expected_purchases"]) for row in rows)
    check("predict cdnow holdout total", abs(total - 1653.4) < 0.5, str(total))
    with open(path) as f:
        ids = [row["id"] for row in csv.DictReader(f)]
    check("predict cdnow ids", [row["id"] for row in rows] == ids, str(rows[:3]))
    r = run("predict", "bgbb", "--summary", donations, "--T", "periods", "--weights", "weights",
            "--horizon", "5")
    read_predictions("predict bgbb donations", r, 22, with_value=False)


def test_report():
    import time
    t0 = time.monotonic()
    r = run("report")
    took = time.monotonic() - t0
    check("report exit", r.returncode == 0 and r.stderr == "", r.stderr)
    for w in ["Customer value report", "5000 customers simulated", "BG/NBD", "Gamma-Gamma", "Holdout",
              "predicted", "Cumulative repeat purchases", "Top 10 customers by CLV", "Value concentration",
              "top 10%"]:
        check(f"report shows {w!r}", w in r.stdout, r.stdout[:2000])
    if not WRAPPER:  # valgrind makes everything ~30 times slower
        check("report is fast", took < 3, f"{took:.2f} s")
    check("report is repeatable", run("report").stdout == r.stdout)
    r5 = run("report", "--top", "3")
    check("report --top", r5.returncode == 0 and "Top 3 customers" in r5.stdout, r5.stderr)
    bad_input("report unknown option", run("report", "--frobnicate"), "--frobnicate")
    bad_input("report observation before calibration",
              run("report", "--calibration-end", "1997-09-30", "--observation-end", "1997-01-01"), "after")
    sample = os.path.join(DATA, "CDNOW_sample.txt")
    if not os.path.exists(sample):
        results["skipped"] += 1
        return
    r = run("report", sample, "--whitespace", "--no-header", "--id", "2", "--date", "3", "--amount", "5",
            "--date-format", "yyyymmdd", "--unit-days", "7", "--calibration-end", "1997-09-30",
            "--observation-end", "1998-06-30")
    check("report cdnow exit", r.returncode == 0, r.stderr)
    check("report cdnow holdout", "predicted 1653.4, actual 1882" in r.stdout, r.stdout)
    check("report cdnow customers", "2357" in r.stdout and "6919" in r.stdout, r.stdout[:500])
    lines = {ln.split()[0]: ln.split() for ln in r.stdout.splitlines() if ln.strip()}
    for name, want in [("r", 0.242595), ("alpha", 4.413603), ("a", 0.792922), ("b", 2.425906)]:
        got = float(lines.get(name, [name, "nan"])[1])
        check(f"report cdnow {name}", abs(got - want) <= 1e-4 * want, str(lines.get(name)))
    check("report cdnow loglik", "-9582.429" in r.stdout, r.stdout)
    # Week 39 of the tracking curve is the calibration total, 2457 (BTYD).
    check("report cdnow tracking", any(ln.split()[:2] == ["39", "2457"] for ln in r.stdout.splitlines()
                                       if ln.strip()), r.stdout)


def test_fit_bad_input(tmp):
    good = write_file(tmp, "good.csv", "id,frequency,recency,T,monetary_value\n1,2,10,20,5\n2,0,0,18,0\n"
                                       "3,1,4,19,7.5\n")
    bad_input("fit unknown model", run("fit", "frobnicate", "--summary", good), "frobnicate", "gammagamma")
    bad_input("predict unknown model", run("predict", "frobnicate", "--summary", good), "frobnicate")
    bad_input("predict gammagamma", run("predict", "gammagamma", "--summary", good), "gammagamma")
    bad_input("fit no summary", run("fit", "bgnbd"), "--summary")
    bad_input("fit no model", run("fit", "--summary", good), "MODEL")
    bad_input("fit unknown option", run("fit", "bgnbd", "--summary", good, "--frobnicate"), "--frobnicate")
    bad_input("fit bad penalizer", run("fit", "bgnbd", "--summary", good, "--penalizer", "-1"), "--penalizer")
    bad_input("fit missing file", run("fit", "bgnbd", "--summary", os.path.join(tmp, "nope.csv")), "nope.csv")
    p = write_file(tmp, "nocol.csv", "id,frequency,recency\n1,1,2\n")
    bad_input("fit missing column", run("fit", "bgnbd", "--summary", p), "nocol.csv", "'T'")
    bad_input("fit missing named column", run("fit", "bgnbd", "--summary", p, "--recency", "rec"),
              "nocol.csv", "'rec'")
    bad_input("fit column index past the end", run("fit", "bgnbd", "--summary", p, "--T", "9"), "'9'")
    p = write_file(tmp, "tx_after_T.csv", "id,frequency,recency,T\n1,2,10,20\n\n2,2,30,25\n")
    bad_input("fit t_x > T", run("fit", "bgnbd", "--summary", p), "tx_after_T.csv:4", "after T")
    bad_input("predict t_x > T", run("predict", "bgnbd", "--summary", p), "tx_after_T.csv:4")
    p = write_file(tmp, "text.csv", "id,frequency,recency,T\r\n1,2,10,20\r\n2,x2,3,25\r\n")
    bad_input("fit non-numeric", run("fit", "bgnbd", "--summary", p), "text.csv:3", "'x2'")
    p = write_file(tmp, "short.csv", "id,frequency,recency,T\n1,2,10,20\n2,2\n")
    bad_input("fit short row", run("fit", "bgnbd", "--summary", p), "short.csv:3")
    p = write_file(tmp, "quoted.csv", 'id,frequency,recency,T\n"a,1",2,10,20\n"b\nc",0,0,18\n"d",1,1,0\n')
    bad_input("fit row after a quoted newline", run("fit", "bgnbd", "--summary", p), "quoted.csv:5")
    p = write_file(tmp, "negw.csv", "frequency,recency,T,w\n1,1,2,1\n0,0,2,-1\n")
    bad_input("fit negative weight", run("fit", "bgnbd", "--summary", p, "--weights", "w"), "negw.csv:3")
    p = write_file(tmp, "headonly.csv", "id,frequency,recency,T\n")
    bad_input("fit no rows", run("fit", "bgnbd", "--summary", p), "headonly.csv")
    p = write_file(tmp, "norepeat.csv", "id,frequency,recency,T,monetary_value\n1,0,0,20,0\n2,0,0,18,0\n")
    bad_input("fit gammagamma without repeat buyers", run("fit", "gammagamma", "--summary", p), "norepeat.csv")
    bad_input("predict missing model file", run("predict", "bgnbd", "--summary", good, "--model-file",
                                                os.path.join(tmp, "none.model")), "none.model")
    junk = write_file(tmp, "junk.model", "not a model\n")
    bad_input("predict junk model file", run("predict", "bgnbd", "--summary", good, "--model-file", junk),
              "junk.model")
    # A failed predict or fit with -o leaves an existing output and no temporary file.
    out = write_file(tmp, "keep.csv", "previous\n")
    bad = os.path.join(tmp, "tx_after_T.csv")
    for cmd in ["predict", "fit"]:
        r = run(cmd, "bgnbd", "--summary", bad, "-o", out)
        check(f"failed {cmd} -o exit", r.returncode == 2, r.stderr)
        with open(out) as f:
            check(f"failed {cmd} -o keeps previous file", f.read() == "previous\n")
    check("failed -o leaves no temp", not [n for n in os.listdir(tmp) if ".tmp-" in n], str(os.listdir(tmp)))



# ---- cvm segment ----

# R rfm's documented map (vignette "rfm-customer-level-data", chunk "criteria"):
# name, R, F, M closed ranges, the first matching rule wins, else "Others".
RFM_PACKAGE_MAP = [
    ("Champions", (4, 5), (4, 5), (4, 5)),
    ("Loyal Customers", (2, 5), (3, 5), (3, 5)),
    ("Potential Loyalist", (3, 5), (1, 3), (1, 3)),
    ("New Customers", (4, 5), (1, 1), (1, 1)),
    ("Promising", (3, 4), (1, 1), (1, 1)),
    ("Need Attention", (2, 3), (2, 3), (2, 3)),
    ("About To Sleep", (2, 3), (1, 2), (1, 2)),
    ("At Risk", (1, 2), (2, 5), (2, 5)),
    ("Can't Lose Them", (1, 1), (4, 5), (4, 5)),
    ("Lost", (1, 2), (1, 2), (1, 2)),
]
RF_GRID_SEGMENTS = {"hibernating", "at risk", "can't lose", "about to sleep", "need attention",
                    "loyal customers", "promising", "new customers", "potential loyalists", "champions"}
PROFILE_COLS = ["segment", "count", "share_customers", "share_revenue", "mean_recency", "mean_frequency",
                "mean_monetary"]
CLV_PROFILE_COLS = ["mean_p_alive", "mean_clv", "share_clv"]


def rfm_package_segment(r, f, m):
    for name, (r0, r1), (f0, f1), (m0, m1) in RFM_PACKAGE_MAP:
        if r0 <= r <= r1 and f0 <= f <= f1 and m0 <= m <= m1:
            return name
    return "Others"


def read_summary(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return {"id": [r["id"] for r in rows],
            "since": [float(r["T"]) - float(r["recency"]) for r in rows],
            "x": [float(r["frequency"]) for r in rows],
            "m": [float(r["monetary_value"]) for r in rows],
            "T": [float(r["T"]) for r in rows]}


def csv_rows(name, r, cols):
    check(name + " exit", r.returncode == 0 and r.stderr == "", r.stderr)
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    check(name + " columns", bool(rows) and list(rows[0]) == cols, r.stdout[:200])
    return rows if rows and list(rows[0]) == cols else []


def type7_breakpoints(values, k):
    """R's quantile(type = 7) at 1/k .. (k-1)/k."""
    v = sorted(values)
    out = []
    for j in range(1, k):
        h = (len(v) - 1) * j / k
        lo = int(h)
        hi = min(lo + 1, len(v) - 1)
        out.append(v[lo] + (h - lo) * (v[hi] - v[lo]))
    return out


def quantile_scores(values, k, reverse=False):
    b = type7_breakpoints(values, k)
    s = [1 + sum(x > q for q in b) for x in values]
    return [k + 1 - x for x in s] if reverse else s


def monotone(values, scores, reverse=False):
    """Larger values never get lower scores (higher with reverse)."""
    groups = {}
    for v, s in zip(values, scores):
        groups.setdefault(v, []).append(-s if reverse else s)
    ordered = [groups[v] for v in sorted(groups)]
    return all(max(a) <= min(b) for a, b in zip(ordered, ordered[1:]))


def check_rfm(name, path, summ, *extra, bins=5, ties="quantile", grid=False):
    r = run("segment", "rfm", "--summary", path, *extra)
    rows = csv_rows(name, r, ["id", "segment", "r", "f", "m", "rfm_score"])
    n = len(summ["id"])
    check(name + " rows = customers", len(rows) == n, f"{len(rows)} != {n}")
    if len(rows) != n:
        return rows
    check(name + " ids in order", [row["id"] for row in rows] == summ["id"])
    R, F, M = ([int(row[c]) for row in rows] for c in "rfm")
    check(name + " scores in 1..k", all(1 <= s <= bins for s in R + F + M))
    check(name + " rfm_score", all(int(row["rfm_score"]) == 100 * a + 10 * b + c
                                   for row, a, b, c in zip(rows, R, F, M)))
    check(name + " recency monotone", monotone(summ["since"], R, reverse=True))
    check(name + " frequency monotone", monotone(summ["x"], F))
    check(name + " monetary monotone", monotone(summ["m"], M))
    if ties == "quantile":
        want = (quantile_scores(summ["since"], bins, reverse=True), quantile_scores(summ["x"], bins),
                quantile_scores(summ["m"], bins))
        for label, got, w in zip("RFM", (R, F, M), want):
            bad = [i for i in range(n) if got[i] != w[i]]
            check(f"{name} {label} = type-7 quantile bins", not bad,
                  f"{len(bad)} rows differ, first row {bad[:1]}: {[got[i] for i in bad[:1]]} != "
                  f"{[w[i] for i in bad[:1]]}")
    else:
        for label, got in zip("RFM", (R, F, M)):
            sizes = [got.count(s) for s in range(1, bins + 1)]
            check(f"{name} {label} equal-count bins", max(sizes) - min(sizes) <= 1, str(sizes))
    if grid:
        names = RF_GRID_SEGMENTS | {"Others"}
        check(name + " grid names", all(row["segment"] in names for row in rows),
              str({row["segment"] for row in rows} - names))
    elif bins == 5:
        bad = [row for row, a, b, c in zip(rows, R, F, M) if row["segment"] != rfm_package_segment(a, b, c)]
        check(name + " segments from R rfm's map", not bad, str(bad[:3]))
    else:
        check(name + " segments are the score cells", all(row["segment"] == row["rfm_score"] for row in rows))
    return rows


def check_profile(name, r, labels, summ, clv=None):
    """--profile against the per-customer labels it summarises."""
    import math
    cols = PROFILE_COLS + (CLV_PROFILE_COLS if clv else [])
    prof = csv_rows(name, r, cols)
    if not prof:
        return prof
    n = len(labels)
    counts = {}
    for s in labels:
        counts[s] = counts.get(s, 0) + 1
    check(name + " counts add up to n", sum(int(p["count"]) for p in prof) == n,
          str([p["count"] for p in prof]))
    check(name + " counts per segment", {p["segment"]: int(p["count"]) for p in prof} == counts,
          f"{[(p['segment'], p['count']) for p in prof]} vs {counts}")
    shares = ["share_customers", "share_revenue"] + (["share_clv"] if clv else [])
    for c in shares:
        total = sum(float(p[c]) for p in prof)
        check(f"{name} {c} sums to 1", abs(total - 1) < 1e-9, str(total))
    rev = sum(a * b for a, b in zip(summ["x"], summ["m"]))
    for p in prof:
        idx = [i for i, s in enumerate(labels) if s == p["segment"]]
        if not idx:
            continue
        k = len(idx)
        want = {"share_customers": k / n,
                "share_revenue": sum(summ["x"][i] * summ["m"][i] for i in idx) / rev,
                "mean_recency": sum(summ["since"][i] for i in idx) / k,
                "mean_frequency": sum(summ["x"][i] for i in idx) / k,
                "mean_monetary": sum(summ["m"][i] for i in idx) / k}
        if clv:
            want["mean_p_alive"] = sum(clv[0][i] for i in idx) / k
            want["mean_clv"] = sum(clv[1][i] for i in idx) / k
            want["share_clv"] = sum(clv[1][i] for i in idx) / sum(clv[1])
        for c, w in want.items():
            got = float(p[c])
            check(f"{name} {p['segment']} {c}", math.isclose(got, w, rel_tol=1e-9, abs_tol=1e-12),
                  f"{got} != {w}")
    return prof


def segment_checks(tmp, path, tag, full=True):
    summ = read_summary(path)
    n = len(summ["id"])
    rows = check_rfm(f"rfm {tag}", path, summ)
    labels = [row["segment"] for row in rows]
    if rows:
        check_profile(f"rfm profile {tag}", run("segment", "rfm", "--summary", path, "--profile"),
                      labels, summ)
    check_rfm(f"rfm rank {tag}", path, summ, "--ties", "rank", ties="rank")
    check_rfm(f"rfm grid {tag}", path, summ, "--map", "grid", grid=True)
    cells = check_rfm(f"rfm 3 bins {tag}", path, summ, "--bins", "3", bins=3)
    if cells:
        check_profile(f"rfm 3 bins profile {tag}", run("segment", "rfm", "--summary", path, "--bins", "3",
                                                       "--profile"), [r["segment"] for r in cells], summ)
    # --clv: P(alive) and CLV are predict's, the profile their means and shares.
    c = run("segment", "rfm", "--summary", path, "--clv")
    crow = csv_rows(f"rfm --clv {tag}", c, ["id", "segment", "r", "f", "m", "rfm_score", "p_alive", "clv"])
    pred = list(csv.DictReader(io.StringIO(run("predict", "bgnbd", "--summary", path).stdout)))
    check(f"rfm --clv {tag} = predict", len(crow) == n and len(pred) == n and all(
        a["p_alive"] == b["p_alive"] and a["clv"] == b["clv"] for a, b in zip(crow, pred)))
    check(f"rfm --clv {tag} same segments", [r["segment"] for r in crow] == labels)
    if len(crow) == n:
        clv = ([float(r["p_alive"]) for r in crow], [float(r["clv"]) for r in crow])
        check_profile(f"rfm profile --clv {tag}",
                      run("segment", "rfm", "--summary", path, "--profile", "--clv"), labels, summ, clv)
    # k-means: labels 0..k-1, the features in original units, seeded.
    feats = ["recency", "frequency", "monetary"]
    a = run("segment", "kmeans", "--summary", path, "--k", "4", "--seed", "3")
    krows = csv_rows(f"kmeans {tag}", a, ["id", "segment"] + feats)
    check(f"kmeans {tag} rows", len(krows) == n, str(len(krows)))
    klabels = [r["segment"] for r in krows]
    check(f"kmeans {tag} labels in 0..k-1", klabels and set(klabels) <= {"0", "1", "2", "3"},
          str(set(klabels)))
    check(f"kmeans {tag} uses every cluster", set(klabels) == {"0", "1", "2", "3"}, str(set(klabels)))
    check(f"kmeans {tag} features", len(krows) == n and all(
        float(r["recency"]) == summ["since"][i] and float(r["frequency"]) == summ["x"][i]
        and float(r["monetary"]) == summ["m"][i] for i, r in enumerate(krows)))
    b = run("segment", "kmeans", "--summary", path, "--k", "4", "--seed", "3")
    check(f"kmeans {tag} deterministic", a.stdout == b.stdout and a.returncode == 0)
    if krows:
        check_profile(f"kmeans profile {tag}",
                      run("segment", "kmeans", "--summary", path, "--k", "4", "--seed", "3", "--profile"),
                      klabels, summ)
    if not full:
        return
    d = run("segment", "kmeans", "--summary", path)
    drows = csv_rows(f"kmeans defaults {tag}", d, ["id", "segment"] + feats)
    check(f"kmeans defaults {tag} k = 4", drows and {r["segment"] for r in drows} <= {"0", "1", "2", "3"})
    k3 = run("segment", "kmeans", "--summary", path, "--k", "3", "--features", "frequency,monetary",
             "--scale", "zscore", "--n-init", "2", "--seed", "11")
    k3rows = csv_rows(f"kmeans k3 {tag}", k3, ["id", "segment", "frequency", "monetary"])
    check(f"kmeans k3 {tag} labels", len(k3rows) == n and {r["segment"] for r in k3rows} <= {"0", "1", "2"})
    t = run("segment", "kmeans", "--summary", path, "--k", "2", "--features", "tenure", "--scale", "none")
    trows = csv_rows(f"kmeans tenure {tag}", t, ["id", "segment", "tenure"])
    check(f"kmeans tenure {tag} is T", len(trows) == n and all(
        float(r["tenure"]) == summ["T"][i] for i, r in enumerate(trows)))
    # One feature, two clusters: the clusters split T at one threshold.
    if len(trows) == n:
        lo = {r["segment"]: [] for r in trows}
        for r in trows:
            lo[r["segment"]].append(float(r["tenure"]))
        spans = sorted((min(v), max(v)) for v in lo.values())
        check(f"kmeans tenure {tag} splits T", len(spans) == 2 and spans[0][1] < spans[1][0], str(spans))
    o = os.path.join(tmp, f"seg_{tag}.csv")
    r = run("segment", "rfm", "--summary", path, "-o", o)
    with open(o) if os.path.exists(o) else io.StringIO("") as f:
        written = f.read()
    check(f"segment -o {tag}", r.returncode == 0 and r.stdout == "" and written ==
          run("segment", "rfm", "--summary", path).stdout, r.stderr)
    check(f"segment -o {tag} leaves no temp", not [x for x in os.listdir(tmp) if ".tmp-" in x])


def test_segment_simulated(tmp):
    segment_checks(tmp, simulated_summary(tmp), "simulated")


def test_segment_cdnow(tmp):
    path = cdnow_summary(tmp)
    if path is None:
        results["skipped"] += 1
        return
    segment_checks(tmp, path, "cdnow", full=False)


def test_segment_bad_input(tmp):
    good = write_file(tmp, "seg_good.csv", "id,frequency,recency,T,monetary_value\n1,2,10,20,5\n2,0,0,18,0\n"
                                           "3,1,4,19,7.5\n4,3,15,16,12\n")
    bad_input("segment no method", run("segment"), "METHOD")
    bad_input("segment unknown method", run("segment", "frobnicate", "--summary", good), "frobnicate")
    bad_input("segment no summary", run("segment", "rfm"), "--summary")
    bad_input("segment unknown option", run("segment", "rfm", "--summary", good, "--frobnicate"),
              "--frobnicate")
    bad_input("segment rfm takes no --k", run("segment", "rfm", "--summary", good, "--k", "3"), "--k")
    bad_input("segment kmeans takes no --bins", run("segment", "kmeans", "--summary", good, "--bins", "3"),
              "--bins")
    bad_input("segment k = 0", run("segment", "kmeans", "--summary", good, "--k", "0"), "--k", "'0'")
    bad_input("segment k not a number", run("segment", "kmeans", "--summary", good, "--k", "x"), "--k")
    bad_input("segment n-init 0", run("segment", "kmeans", "--summary", good, "--n-init", "0"), "--n-init")
    bad_input("segment bins 1", run("segment", "rfm", "--summary", good, "--bins", "1"), "--bins")
    bad_input("segment bins 10", run("segment", "rfm", "--summary", good, "--bins", "10"), "--bins")
    bad_input("segment bad ties", run("segment", "rfm", "--summary", good, "--ties", "dense"), "dense")
    bad_input("segment bad map", run("segment", "rfm", "--summary", good, "--map", "x"), "--map")
    bad_input("segment map needs 5 bins", run("segment", "rfm", "--summary", good, "--map", "rfm", "--bins", "4"),
              "--map", "--bins 5")
    bad_input("segment bad scale", run("segment", "kmeans", "--summary", good, "--scale", "log"), "log")
    bad_input("segment bad feature", run("segment", "kmeans", "--summary", good, "--features",
                                         "recency,age"), "age")
    bad_input("segment feature twice", run("segment", "kmeans", "--summary", good, "--features",
                                           "frequency,frequency"), "twice")
    bad_input("segment weights", run("segment", "rfm", "--summary", good, "--weights", "w"), "--weights")
    bad_input("segment option without value", run("segment", "kmeans", "--summary", good, "--k"), "--k")
    bad_input("segment missing file", run("segment", "rfm", "--summary", os.path.join(tmp, "nope.csv")),
              "nope.csv")
    p = write_file(tmp, "seg_nomoney.csv", "id,frequency,recency,T\n1,1,2,3\n")
    bad_input("segment missing column", run("segment", "rfm", "--summary", p), "seg_nomoney.csv:1",
              "'monetary_value'")
    bad_input("segment kmeans profile needs monetary",
              run("segment", "kmeans", "--summary", p, "--profile"), "'monetary_value'")
    r = run("segment", "kmeans", "--summary", p, "--features", "recency,frequency", "--k", "1",
            "--scale", "none")
    check("segment kmeans without monetary", r.returncode == 0 and
          r.stdout == "id,segment,recency,frequency\n1,0,1,1\n", r.stdout + r.stderr)
    p = write_file(tmp, "seg_text.csv", "id,frequency,recency,T,monetary_value\r\n1,2,10,20,5\r\n"
                                        "2,1,3,25,x2\r\n")
    bad_input("segment non-numeric", run("segment", "rfm", "--summary", p), "seg_text.csv:3", "'x2'")
    bad_input("segment kmeans non-numeric", run("segment", "kmeans", "--summary", p), "seg_text.csv:3")
    p = write_file(tmp, "seg_after.csv", "id,frequency,recency,T,monetary_value\n1,2,10,20,5\n\n"
                                         "2,2,30,25,4\n")
    bad_input("segment recency after T", run("segment", "rfm", "--summary", p), "seg_after.csv:4", "after T")
    p = write_file(tmp, "seg_neg.csv", "id,frequency,recency,T,monetary_value\n1,2,10,20,5\n2,1,3,25,-4\n")
    bad_input("segment negative monetary", run("segment", "rfm", "--summary", p), "seg_neg.csv:3", "monetary")
    bad_input("segment kmeans negative monetary", run("segment", "kmeans", "--summary", p, "--k", "2"),
              "seg_neg.csv:3", "monetary")
    p = write_file(tmp, "seg_head.csv", "id,frequency,recency,T,monetary_value\n")
    bad_input("segment no rows", run("segment", "rfm", "--summary", p), "seg_head.csv")
    bad_input("segment k above distinct rows", run("segment", "kmeans", "--summary", good, "--k", "9"),
              "seg_good.csv")
    p = write_file(tmp, "seg_norepeat.csv", "id,frequency,recency,T,monetary_value\n1,0,0,20,0\n2,0,0,18,0\n")
    bad_input("segment --clv without repeat buyers", run("segment", "rfm", "--summary", p, "--clv"),
              "seg_norepeat.csv")
    # A failed run with -o leaves an existing output and no temporary file.
    out = write_file(tmp, "seg_keep.csv", "previous\n")
    for method in ["rfm", "kmeans"]:
        r = run("segment", method, "--summary", os.path.join(tmp, "seg_after.csv"), "-o", out)
        check(f"failed segment {method} -o exit", r.returncode == 2, r.stderr)
        with open(out) as f:
            check(f"failed segment {method} -o keeps previous file", f.read() == "previous\n")
    check("failed segment -o leaves no temp", not [x for x in os.listdir(tmp) if ".tmp-" in x],
          str(os.listdir(tmp)))


def report_segments(name, text):
    """The Segments section's tables: {segment: count}, {tier: count}, {stage: count}, modelled n."""
    import re
    n = re.search(r"^  modelled\s+(\d+)", text, re.M)
    start = text.find("\nSegments (")
    check(name + " has a Segments section", start >= 0 and n is not None, text[-3000:])
    if start < 0 or n is None:
        return None
    lines = text[start:].splitlines()[2:]
    segs, tiers, stages = {}, {}, {}
    part = segs
    for ln in lines:
        if ln.startswith("  value tier"):
            part = tiers
            continue
        if ln.startswith("  lifecycle stage"):
            part = stages
            continue
        m = re.match(r"^  (\S.*?)\s+(\d+)\s+\d+\.\d%", ln)
        if m:
            part[m.group(1)] = int(m.group(2))
    return segs, tiers, stages, int(n.group(1))


def check_report_segments(name, text):
    got = report_segments(name, text)
    if got is None:
        return
    segs, tiers, stages, n = got
    names = {s for s, *_ in RFM_PACKAGE_MAP} | {"Others"}
    check(name + " segment names", segs and set(segs) <= names, str(segs))
    check(name + " segments add up", sum(segs.values()) == n, f"{segs} vs {n}")
    check(name + " tiers", list(tiers) == ["top 1%", "next 9%", "next 40%", "bottom 50%"], str(tiers))
    check(name + " tiers add up", sum(tiers.values()) == n, f"{tiers} vs {n}")
    check(name + " top 1% is about 1%", 0 < tiers.get("top 1%", 0) <= max(1, n // 100) + 5, str(tiers))
    check(name + " stages", list(stages) == ["new", "active", "at risk", "lapsed"], str(stages))
    check(name + " stages add up", sum(stages.values()) == n, f"{stages} vs {n}")


def test_report_segments():
    r = run("report")
    check("report segments exit", r.returncode == 0, r.stderr)
    check_report_segments("report", r.stdout)
    sample = os.path.join(DATA, "CDNOW_sample.txt")
    if not os.path.exists(sample):
        results["skipped"] += 1
        return
    r = run("report", sample, "--whitespace", "--no-header", "--id", "2", "--date", "3", "--amount", "5",
            "--date-format", "yyyymmdd", "--unit-days", "7", "--calibration-end", "1997-09-30")
    check("report cdnow segments exit", r.returncode == 0, r.stderr)
    check_report_segments("report cdnow", r.stdout)


ATTR_DATA = os.path.join(DATA, "attribution", "channelattribution_Data.csv")
ATTR_CHANNELS = ["eta", "iota", "alpha", "beta", "theta", "lambda", "kappa", "zeta", "epsilon",
                 "gamma", "delta", "mi"]
# The README's heuristic_models() table (ChannelAttribution 2.1.7).
ATTR_HEURISTICS = {
    "first": [3164, 4606, 6308, 2831, 1606, 902, 74, 27, 99, 165, 1, 2],
    "last": [4167, 3355, 8447, 989, 653, 1207, 230, 107, 531, 92, 5, 2],
    "linear": [3539.951157, 3857.096221, 7574.718594, 2083.500145, 1022.801394, 1035.257572,
               137.9640779, 136.5515405, 272.1704377, 121.041639, 1.725, 2.222222222],
}
ATTR_TINY = ("path,total_conversions,total_conversion_value,total_null\n"
             "A > B > C,2,20,1\nA > A > B,1,5,2\nB,1,7,3\nC > A,0,0,2\nB > C > C,1,10,0\n")


def attribute_rows(name, *args, removal=False, spend=False):
    cols = ["channel", "conversions", "value"] + (["removal_effect"] if removal else []) + \
        (["spend", "roi", "cost_per_conversion"] if spend else [])
    rows = csv_rows(name, run("attribute", *args), cols)
    return {r["channel"]: r for r in rows}


def attribute_json(name, *args):
    import json
    r = run("attribute", *args, "--json")
    check(name + " exit", r.returncode == 0 and r.stderr == "", r.stderr)
    try:
        return json.loads(r.stdout)
    except ValueError:
        check(name + " is JSON", False, repr(r.stdout[:200]))
        return None


def close_all(name, rows, key, want, tol):
    """rows[channel][key] against want {channel: value}, absolute tolerance."""
    worst = max((abs(float(rows[c][key]) - v) if c in rows else float("inf")) for c, v in want.items())
    check(name, worst <= tol, f"worst {worst}: {[(c, rows.get(c, {}).get(key)) for c in want]}")


def test_attribute_data(tmp):
    if not os.path.exists(ATTR_DATA):
        results["skipped"] += 1
        return
    d = ("--paths", ATTR_DATA, "--delimiter", ";")
    for model, ref in ATTR_HEURISTICS.items():
        rows = attribute_rows("attr data " + model, *d, "--model", model)
        check(f"attr data {model} channels", list(rows) == ATTR_CHANNELS, str(list(rows)))
        close_all(f"attr data {model} vs ChannelAttribution", rows, "conversions",
                  dict(zip(ATTR_CHANNELS, ref)), 1e-6)
    for model in ("first", "last", "linear", "position", "markov", "shapley"):
        rows = attribute_rows("attr data totals " + model, *d, "--model", model, removal=model == "markov")
        conv = sum(float(r["conversions"]) for r in rows.values())
        value = sum(float(r["value"]) for r in rows.values())
        check(f"attr data {model} conversions total", abs(conv - 19785) < 1e-6, str(conv))
        check(f"attr data {model} value total", abs(value - 74802.97158721084) < 1e-6, str(value))
    rows = attribute_rows("attr data position", *d, "--model", "position")
    close_all("attr data position 40/20/40", rows, "conversions",
              {"alpha": 7444.823759, "iota": 3944.948166, "eta": 3618.796149}, 1e-5)
    # Markov order 1: the exact expectation of ChannelAttribution's estimator.
    rows = attribute_rows("attr data markov", *d, "--model", "markov", removal=True)
    close_all("attr data markov removal effects", rows, "removal_effect",
              {"alpha": 0.5583994895, "eta": 0.3490263319, "iota": 0.4058350045}, 1e-9)
    rows = attribute_rows("attr data markov order 1", *d, "--model", "markov", "--order", "1", removal=True)
    check("attr data --order 1 is the default", abs(float(rows["alpha"]["removal_effect"]) - 0.5583994895) < 1e-9)
    # Without nulls: DP6 Marketing-Attribution-Models' exact values.
    rows = attribute_rows("attr data markov no-null", *d, "--model", "markov", "--no-null", removal=True)
    close_all("attr data markov no-null credit", rows, "conversions",
              {"alpha": 5260.069561, "eta": 3347.765891, "iota": 3899.246228}, 1e-5)
    close_all("attr data markov no-null removal", rows, "removal_effect", {"alpha": 0.561718844}, 1e-8)
    for k in ("2", "3"):
        rows = attribute_rows("attr data markov order " + k, *d, "--model", "markov", "--order", k, removal=True)
        conv = sum(float(r["conversions"]) for r in rows.values())
        check(f"attr data markov order {k} total", abs(conv - 19785) < 1e-6, str(conv))
    obj = attribute_json("attr data json", *d, "--model", "markov")
    if obj is not None:
        check("attr json model", obj.get("model") == "markov" and obj.get("order") == 1, str(obj)[:200])
        chans = obj.get("channels", [])
        check("attr json channels", [c.get("channel") for c in chans] == ATTR_CHANNELS, str(chans)[:200])
        check("attr json removal", abs(chans[2].get("removal_effect", 0) - 0.5583994895) < 1e-9, str(chans[2:3]))
        check("attr json p_conversion", abs(obj.get("p_conversion", 0) - 0.2238451356) < 1e-9,
              str(obj.get("p_conversion")))
        tot = obj.get("totals", {})
        check("attr json totals", abs(tot.get("conversions", 0) - 19785) < 1e-6 and
              abs(tot.get("value", 0) - 74802.97158721084) < 1e-6, str(tot))
    spend = write_file(tmp, "spend.csv", "channel,spend\nalpha,10000\neta,2500.5\niota,0\n")
    rows = attribute_rows("attr data spend", *d, "--model", "linear", "--spend", spend, spend=True)
    ok = True
    for ch, s in (("alpha", 10000), ("eta", 2500.5)):
        r = rows[ch]
        ok &= float(r["spend"]) == s
        ok &= abs(float(r["roi"]) - float(r["value"]) / s) < 1e-12 * max(1, float(r["roi"]))
        ok &= abs(float(r["cost_per_conversion"]) - s / float(r["conversions"])) < 1e-9
    check("attr spend roi = value / spend", ok, str([rows[c] for c in ("alpha", "eta")]))
    check("attr spend 0: roi 0", float(rows["iota"]["roi"]) == 0, str(rows["iota"]))
    check("attr spend absent: empty", rows["beta"]["spend"] == rows["beta"]["roi"] == "", str(rows["beta"]))
    obj = attribute_json("attr data spend json", *d, "--model", "linear", "--spend", spend)
    if obj is not None:
        check("attr spend json total", obj.get("totals", {}).get("spend") == 12500.5, str(obj.get("totals")))
    bad = write_file(tmp, "badspend.csv", "channel,spend\nalpha,1\nomega,2\n")
    bad_input("attr spend unknown channel", run("attribute", *d, "--model", "last", "--spend", bad),
              "badspend.csv:3", "omega")
    bad_input("attr data wrong delimiter", run("attribute", "--paths", ATTR_DATA, "--model", "last"),
              "channelattribution_Data.csv:1", "path")
    r = run("report", "--paths", ATTR_DATA, "--paths-delimiter", ";", "--spend", spend)
    check("attr report exit", r.returncode == 0, r.stderr)
    sec = r.stdout[r.stdout.find("\nChannels"):]
    check("attr report channels section", "\nChannels" in r.stdout and "19785 conversions" in sec, sec[:300])
    alpha = [line.split() for line in sec.splitlines() if line.split()[:1] == ["alpha"]]
    check("attr report alpha rows", len(alpha) == 2 and alpha[0][1:4] == ["8447.00", "7574.72", "5344.95"]
          and alpha[0][4] == "55.8%" and alpha[1][4:6] == ["10000.00", "2.02"], str(alpha))


def test_attribute_tiny(tmp):
    p = write_file(tmp, "tiny.csv", ATTR_TINY)
    expect = {
        "first": {"A": 3, "B": 2, "C": 0},
        "last": {"A": 0, "B": 2, "C": 3},
        "linear": {"A": 4 / 3, "B": 7 / 3, "C": 4 / 3},
        "position": {"A": 1.4, "B": 2.2, "C": 1.4},
        "markov": {"A": 15 / 13, "B": 2.115384615384615, "C": 1.730769230769231},
        "shapley": {"A": 7 / 6, "B": 8 / 3, "C": 7 / 6},
    }
    for model, want in expect.items():
        rows = attribute_rows("attr tiny " + model, "--paths", p, "--model", model, removal=model == "markov")
        check(f"attr tiny {model} channels", list(rows) == ["A", "B", "C"], str(list(rows)))
        close_all(f"attr tiny {model}", rows, "conversions", want, 1e-9)
        value = sum(float(r["value"]) for r in rows.values())
        check(f"attr tiny {model} value total", abs(value - 42) < 1e-9, str(value))
    rows = attribute_rows("attr tiny markov removal", "--paths", p, "--model", "markov", removal=True)
    close_all("attr tiny removal effects", rows, "removal_effect", {"A": 24 / 55, "B": 4 / 5, "C": 36 / 55}, 1e-12)
    rows = attribute_rows("attr tiny max-steps", "--paths", p, "--model", "markov", "--max-steps", "5", removal=True)
    close_all("attr tiny max-steps 5", rows, "conversions", {"A": 1.103647}, 1e-6)
    rows = attribute_rows("attr tiny shapley rate", "--paths", p, "--model", "shapley", "--shapley", "rate")
    conv = sum(float(r["conversions"]) for r in rows.values())
    check("attr tiny shapley rate total", abs(conv - 5) < 1e-9, str(conv))
    obj = attribute_json("attr tiny json", "--paths", p, "--model", "markov")
    if obj is not None:
        check("attr tiny json p_conversion", abs(obj.get("p_conversion", 0) - 5 / 13) < 1e-12, str(obj))
    # Columns by index, and without the value and null columns.
    rows = attribute_rows("attr tiny by index", "--paths", p, "--model", "last", "--path", "1",
                          "--conversions", "2", "--value", "3")
    close_all("attr tiny by index", rows, "value", {"A": 0, "B": 12, "C": 30}, 0)
    rows = attribute_rows("attr tiny no value", "--paths", p, "--model", "last", "--value", "none")
    close_all("attr tiny no value", rows, "value", {"A": 0, "B": 0, "C": 0}, 0)
    # -o: written whole, or not at all.
    out = os.path.join(tmp, "credit.csv")
    r = run("attribute", "--paths", p, "--model", "last", "-o", out)
    check("attr -o exit", r.returncode == 0 and r.stdout == "", r.stderr)
    with open(out) as f:
        check("attr -o content", f.read().startswith("channel,conversions,value\nA,0,0\n"))
    neg = write_file(tmp, "neg.csv", ATTR_TINY + "B > A,-1,0,0\n")
    r = run("attribute", "--paths", neg, "--model", "last", "-o", out)
    bad_input("attr -o bad input", r, "neg.csv:7", "negative")
    with open(out) as f:
        check("attr -o kept on failure", f.read().startswith("channel,conversions,value\nA,0,0\n"))
    check("attr no temporary files", sorted(os.listdir(tmp)) == ["credit.csv", "neg.csv", "tiny.csv"],
          str(os.listdir(tmp)))
    # Bad input: exit 2, one line naming the file and line.
    bad_input("attr unknown model", run("attribute", "--paths", p, "--model", "lastt"), "lastt")
    bad_input("attr no model", run("attribute", "--paths", p), "--model")
    bad_input("attr missing column", run("attribute", "--paths", p, "--model", "last", "--conversions", "conv"),
              "tiny.csv:1", "conv")
    bad_input("attr column index", run("attribute", "--paths", p, "--model", "last", "--null", "9"),
              "tiny.csv:1", "9")
    bad_input("attr negative count", run("attribute", "--paths", neg, "--model", "last"), "neg.csv:7", "negative")
    nan = write_file(tmp, "nan.csv", ATTR_TINY + "B,1,nan,0\n")
    bad_input("attr NaN value", run("attribute", "--paths", nan, "--model", "last"), "nan.csv:7")
    empty = write_file(tmp, "emptypath.csv", ATTR_TINY + ",1,1,0\n")
    bad_input("attr empty path", run("attribute", "--paths", empty, "--model", "last"), "emptypath.csv:7", "empty")
    tok = write_file(tmp, "emptytok.csv", ATTR_TINY + "B >  > A,1,1,0\n")
    bad_input("attr empty token", run("attribute", "--paths", tok, "--model", "last"), "emptytok.csv:7")
    none = write_file(tmp, "noconv.csv", "path,total_conversions,total_conversion_value,total_null\nA,0,0,3\n")
    bad_input("attr no conversions", run("attribute", "--paths", none, "--model", "markov"), "noconv.csv",
              "no conversions")
    bad_input("attr missing file", run("attribute", "--paths", os.path.join(tmp, "nope.csv"), "--model", "last"),
              "nope.csv")
    for k in ("0", "5", "x"):
        bad_input("attr bad order " + k, run("attribute", "--paths", p, "--model", "markov", "--order", k),
                  "--order", k)
    bad_input("attr order without markov", run("attribute", "--paths", p, "--model", "last", "--order", "2"),
              "--order")
    bad_input("attr decay without times", run("attribute", "--paths", p, "--model", "decay"), "--touchpoints")
    bad_input("attr bad shapley", run("attribute", "--paths", p, "--model", "shapley", "--shapley", "x"),
              "--shapley")
    bad_input("attr both inputs", run("attribute", "--paths", p, "--touchpoints", p, "--model", "last"),
              "--touchpoints")
    dup = write_file(tmp, "dupspend.csv", "channel,spend\nA,1\nA,2\n")
    bad_input("attr duplicate spend", run("attribute", "--paths", p, "--model", "last", "--spend", dup),
              "dupspend.csv:3", "'A'")
    negs = write_file(tmp, "negspend.csv", "channel,spend\nB,-2\n")
    bad_input("attr negative spend", run("attribute", "--paths", p, "--model", "last", "--spend", negs),
              "negspend.csv:2", "-2")
    bad_input("attr report bad paths", run("report", "--paths", neg), "neg.csv:7")
    bad_input("attr report spend without paths", run("report", "--spend", negs), "--paths")


def test_attribute_touchpoints(tmp):
    p = write_file(tmp, "touch.csv", "id,date,channel,value\n"
                   "1,2024-01-01,search,\n1,2024-01-03,email,\n1,2024-01-05,,30\n"
                   "2,2024-01-02,social,\n2,2024-01-04,search,\n"
                   "3,2024-01-01,email,\n3,2024-01-09,,10\n3,2024-01-10,social,\n")
    rows = attribute_rows("attr touch first", "--touchpoints", p, "--model", "first")
    close_all("attr touch first", rows, "value", {"search": 30, "email": 10, "social": 0}, 0)
    rows = attribute_rows("attr touch last", "--touchpoints", p, "--model", "last")
    close_all("attr touch last", rows, "conversions", {"search": 0, "email": 2, "social": 0}, 0)
    # Half-life 2 days: customer 1's search is 4 days old (1/4), email 2 (1/2).
    rows = attribute_rows("attr touch decay", "--touchpoints", p, "--model", "decay", "--half-life", "2")
    close_all("attr touch decay", rows, "conversions", {"search": 1 / 3, "email": 5 / 3, "social": 0}, 1e-12)
    rows = attribute_rows("attr touch lookback", "--touchpoints", p, "--model", "first", "--lookback", "3")
    close_all("attr touch lookback", rows, "conversions", {"search": 0, "email": 1}, 0)
    rows = attribute_rows("attr touch markov", "--touchpoints", p, "--model", "markov", removal=True)
    conv = sum(float(r["conversions"]) for r in rows.values())
    check("attr touch markov total", abs(conv - 2) < 1e-12, str(conv))
    r = run("attribute", "--touchpoints", "-", "--model", "last", stdin=open(p).read())
    check("attr touch stdin", r.returncode == 0 and r.stdout.startswith("channel,"), r.stderr)
    bd = write_file(tmp, "baddate.csv", "id,date,channel\n1,2024-13-01,search\n")
    bad_input("attr touch bad date", run("attribute", "--touchpoints", bd, "--model", "last"),
              "baddate.csv:2", "2024-13-01")
    tv = write_file(tmp, "touchvalue.csv", "id,date,channel,value\n1,2024-01-01,search,5\n")
    bad_input("attr touch with value", run("attribute", "--touchpoints", tv, "--model", "last"),
              "touchvalue.csv:2", "search")
    bad_input("attr touch no channel column",
              run("attribute", "--touchpoints", bd, "--model", "last", "--channel", "medium"),
              "baddate.csv:1", "medium")


def basics():
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "a"))
        os.makedirs(os.path.join(tmp, "b"))
        test_simulate_summary(os.path.join(tmp, "a"))
        test_bad_input(os.path.join(tmp, "b"))
        test_options(tmp)


def fitting():
    with tempfile.TemporaryDirectory() as tmp:
        for d in ("fit", "cdnow", "bad"):
            os.makedirs(os.path.join(tmp, d))
        test_fit_predict_simulated(os.path.join(tmp, "fit"))
        test_fit_cdnow(os.path.join(tmp, "cdnow"))
        test_fit_bad_input(os.path.join(tmp, "bad"))


def segmenting():
    with tempfile.TemporaryDirectory() as tmp:
        for d in ("sim", "cdnow", "bad"):
            os.makedirs(os.path.join(tmp, d))
        test_segment_simulated(os.path.join(tmp, "sim"))
        test_segment_cdnow(os.path.join(tmp, "cdnow"))
        test_segment_bad_input(os.path.join(tmp, "bad"))


def attributing():
    with tempfile.TemporaryDirectory() as tmp:
        for d in ("data", "tiny", "touch"):
            os.makedirs(os.path.join(tmp, d))
        test_attribute_data(os.path.join(tmp, "data"))
        test_attribute_tiny(os.path.join(tmp, "tiny"))
        test_attribute_touchpoints(os.path.join(tmp, "touch"))


# Independent groups, in an order that splits evenly in two halves under
# valgrind: CVM_TEST_SHARD=i/n (opt-in, .ci/valgrind) runs groups i, i + n, ...
GROUPS = [fitting, segmenting, attributing, basics, test_report_segments, test_report,
          test_simulate_models, test_cdnow]


def main():
    shard = os.environ.get("CVM_TEST_SHARD", "")
    index, count = (int(x) for x in shard.split("/")) if shard else (0, 1)
    for k, group in enumerate(GROUPS):
        if k % count == index:
            group()
    print(f"cli{' ' + shard if shard else ''}: {results['passed']} passed, {results['failed']} failed, "
          f"{results['skipped']} skipped")
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
