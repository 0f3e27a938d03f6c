#!/usr/bin/env python3
"""The cvm command line against DESIGN.md's contract: output columns, exit
statuses, one-line errors naming file and line, nothing half-written."""
import csv
import io
import os
import subprocess
import sys
import tempfile

CVM = sys.argv[1]
DATA = os.path.join(os.environ.get("CVM_SOURCE_ROOT", "."), "..", "shared", "data")
results = {"passed": 0, "failed": 0, "skipped": 0}


def run(*args, stdin=None):
    return subprocess.run([CVM, *args], input=stdin, capture_output=True, text=True)


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


def main():
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "a"))
        os.makedirs(os.path.join(tmp, "b"))
        test_simulate_summary(os.path.join(tmp, "a"))
        test_bad_input(os.path.join(tmp, "b"))
        test_options(tmp)
    test_cdnow()
    print(f"cli: {results['passed']} passed, {results['failed']} failed, {results['skipped']} skipped")
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
