"""Shared test data: reference files under /work/shared/data (or
$CVM_SHARED_DATA), read with the csv module only."""

import csv
import os
from pathlib import Path

DATA = Path(os.environ.get("CVM_SHARED_DATA",
                           Path(os.environ.get("CVM_SOURCE_ROOT", ".")).parent / "shared" / "data"))
if not DATA.is_dir():
    DATA = Path("/work/shared/data")


def data_file(name):
    """Path of a reference file, or None when absent."""
    p = DATA / name
    return p if p.exists() else None


def read_columns(path, delimiter=","):
    """{column: [floats or strings]} of a CSV file."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter=delimiter))
    cols = {}
    for k in rows[0]:
        values = [r[k] for r in rows]
        try:
            cols[k] = [float(v) for v in values]
        except ValueError:
            cols[k] = values
    return cols
