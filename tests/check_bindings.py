#!/usr/bin/env python3
"""Every exported function is bound, or deliberately unbound, in each binding.

usage: check_bindings.py SOURCE_ROOT [--lua]

The exported set is bindings/api.list (lines `name since`, # comments),
which must equal the global names of src/libcvm.map. Then, per binding:

Python: a function is bound when bindings/python/cvm/_ffi.py's TABLE has a
  row (name, argtypes, restype, errcheck) for it, and deliberately unbound
  when it is a key of _ffi.UNBOUND ({"cvm_x": "why"}, also exported as
  cvm._UNBOUND). _ffi is imported without loading libcvm.

Lua: a function is bound when `cvm_\\w+\\(` (a call) occurs in any
  bindings/lua/*.c (or as the free function of an LCVM_CLOSE(...) line), and deliberately unbound when bindings/lua/unbound.txt
  has a line `cvm_x  reason` (name, blanks, reason; blank lines and lines
  starting with # are ignored). Without any bindings/lua/*.c the Lua check
  reports "Lua binding not built": a failure when --lua is given (meson
  passes it when it found Lua 5.4), otherwise skipped.

In both, a name that is neither bound nor unbound fails, and so does an
unbound entry that is not exported or that is also bound (stale)."""

import importlib
import re
import sys
import types
from pathlib import Path


def api_list(root):
    names = []
    for line in (root / "bindings" / "api.list").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(line.split()[0])
    return names


def mapped(root):
    text = re.sub(r"/\*.*?\*/", "", (root / "src" / "libcvm.map").read_text(), flags=re.S)
    return set(re.findall(r"^\s*(cvm_\w+)\s*;", text, flags=re.M))


def python_binding(root):
    """(bound, unbound) from cvm._ffi, imported without running cvm/__init__."""
    pkg_dir = root / "bindings" / "python" / "cvm"
    pkg = types.ModuleType("cvm")
    pkg.__path__ = [str(pkg_dir)]
    sys.modules["cvm"] = pkg
    ffi = importlib.import_module("cvm._ffi")
    bound = [row[0] for row in ffi.TABLE]
    bad = [row[0] for row in ffi.TABLE if len(row) != 4]
    if bad:
        raise SystemExit(f"python: TABLE rows without 4 fields: {bad}")
    dups = sorted({n for n in bound if bound.count(n) > 1})
    if dups:
        raise SystemExit(f"python: TABLE declares twice: {dups}")
    return set(bound), dict(ffi.UNBOUND)


def lua_binding(root):
    """(bound, unbound) from bindings/lua, or None when there is no C source."""
    lua_dir = root / "bindings" / "lua"
    sources = sorted(lua_dir.glob("*.c"))
    if not sources:
        return None
    bound = set()
    for src in sources:
        text = re.sub(r"/\*.*?\*/|//[^\n]*", "", src.read_text(), flags=re.S)
        bound |= set(re.findall(r"\b(cvm_\w+)\s*\(", text))
        # LCVM_CLOSE(name, tname, type, free) passes the free function by name
        bound |= set(re.findall(r"LCVM_CLOSE\([^)]*,\s*(cvm_\w+)\s*\)", text))
    unbound = {}
    listing = lua_dir / "unbound.txt"
    if listing.exists():
        for line in listing.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                name, _, reason = line.partition(" ")
                unbound[name] = reason.strip()
    return bound, unbound


def compare(label, exported, bound, unbound):
    failures = []
    missing = sorted(exported - bound - set(unbound))
    if missing:
        failures.append(f"{label}: exported but neither bound nor listed as unbound: {missing}")
    stale = sorted(set(unbound) - exported)
    if stale:
        failures.append(f"{label}: unbound list names functions that are not exported: {stale}")
    both = sorted(set(unbound) & bound)
    if both:
        failures.append(f"{label}: listed as unbound but bound: {both}")
    if label == "python":
        extra = sorted(bound - exported)
        if extra:
            failures.append(f"python: TABLE declares functions not in api.list: {extra}")
    covered = len(exported & bound)
    print(f"{label}: {covered} bound, {len(set(unbound) & exported)} deliberately unbound, "
          f"of {len(exported)}")
    return failures


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    lua_required = "--lua" in sys.argv[1:]
    if len(args) != 1:
        raise SystemExit(__doc__)
    root = Path(args[0])
    failures = []
    names = api_list(root)
    exported = set(names)
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        failures.append(f"api.list lists twice: {dups}")
    mp = mapped(root)
    if exported != mp:
        failures.append(f"api.list vs src/libcvm.map: only in api.list {sorted(exported - mp)}, "
                        f"only in the map {sorted(mp - exported)}")
    failures += compare("python", exported, *python_binding(root))
    lua = lua_binding(root)
    if lua is None:
        print("lua: Lua binding not built (no bindings/lua/*.c)")
        if lua_required:
            failures.append("lua: Lua 5.4 was found but bindings/lua/*.c is missing")
    else:
        failures += compare("lua", exported, *lua)
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
