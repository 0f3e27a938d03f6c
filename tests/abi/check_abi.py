#!/usr/bin/env python3
"""libcvm's ABI check against the release baseline (tests/abi/README).

    check_abi.py [--require] [--write] BASELINE LIBRARY HEADERS_DIR...

Dumps LIBRARY (built with -g) with abidw, restricted to the types of the
public headers in HEADERS_DIR, and compares it with BASELINE. Fails on:

1. anything abidiff reports with suppressions.abignore (whose one rule lets
   fields be appended to cvm_*_options structs);
2. anything abidiff reports WITHOUT the suppression file once the new dump's
   cvm_*_options structs are cut back to the baseline's size: libabigail's
   rule also hides changes to an options struct's existing members and to the
   types they point to, which this pass reports;
3. a symbol added to a version node the baseline already has: new functions
   go into a new node (CVM_0.2 { ... } CVM_0.1;), so abidiff is run with
   --no-added-syms and this check stands in for it.

Without --require, a missing abidw/abidiff, a library without DWARF or built
for another architecture than the baseline exits 77 (skipped), for meson
test. With --write the dump replaces BASELINE instead (at a release only).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

SKIP = 77
HERE = Path(__file__).resolve().parent
SUPPRESSIONS = HERE / "suppressions.abignore"
OPTIONS = re.compile(r"^cvm_[a-z0-9_]*_options$")
# The same options for the baseline and every new dump: only types defined in
# the public headers, only what exported symbols reach, no paths or source
# locations (which change with every edit), type ids hashed from the types
# (stable across builds: a clean rebuild, -O0 or -O2 dump byte for byte alike).
ABIDW_OPTS = ["--drop-private-types", "--exported-interfaces-only", "--no-corpus-path",
              "--no-comp-dir-path", "--no-show-locs", "--type-id-style", "hash"]
ABIDIFF_OPTS = ["--no-default-suppression", "--no-added-syms"]


def skip_or_fail(require, msg):
    print(("FAIL: " if require else "SKIP: ") + msg)
    return 1 if require else SKIP


def run(cmd):
    print("+", " ".join(str(c) for c in cmd), flush=True)
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    out = (p.stdout + p.stderr).strip()
    if out:
        print(out)
    return p.returncode


def has_debug_info(lib):
    p = subprocess.run(["readelf", "-S", "-W", lib], capture_output=True, text=True)
    return p.returncode != 0 or ".debug_info" in p.stdout  # no readelf: let abidw decide


def symbols(root):
    """{name: version} of the defined function and variable symbols."""
    out = {}
    for kind in ("elf-function-symbols", "elf-variable-symbols"):
        for section in root.iter(kind):
            for s in section.iter("elf-symbol"):
                out[s.get("name")] = s.get("version", "")
    return out


def cut_options(base_root, new_root):
    """Cut each cvm_*_options struct of new_root back to the baseline's size:
    drop the members at or past the baseline's end and restore its size.
    Returns the names of the structs that grew."""
    sizes = {}
    for c in base_root.iter("class-decl"):
        if OPTIONS.match(c.get("name", "")) and c.get("is-declaration-only") != "yes":
            sizes[c.get("name")] = int(c.get("size-in-bits", "0"))
    grown = set()
    for c in new_root.iter("class-decl"):
        name = c.get("name", "")
        if name not in sizes or c.get("is-declaration-only") == "yes":
            continue
        old = sizes[name]
        if int(c.get("size-in-bits", "0")) <= old:
            continue  # unchanged, or shrunk: abidiff reports it
        for m in list(c.findall("data-member")):
            if int(m.get("layout-offset-in-bits", "-1")) >= old:
                c.remove(m)
        c.set("size-in-bits", str(old))
        grown.add(name)
    return sorted(grown)


def main(argv):
    require = "--require" in argv
    write = "--write" in argv
    args = [a for a in argv if a not in ("--require", "--write")]
    if len(args) < 3:
        print(__doc__)
        return 2
    baseline, lib, headers = Path(args[0]), args[1], args[2:]
    for tool in ("abidw", "abidiff"):
        if not shutil.which(tool):
            return skip_or_fail(require, f"{tool} not found (Debian/Ubuntu: apt-get install abigail-tools)")
    if not lib.endswith(".so") and ".so." not in os.path.basename(lib):
        return skip_or_fail(require, f"{lib} is not a shared library (static build)")
    if not has_debug_info(lib):
        return skip_or_fail(require, f"{lib} has no DWARF debug info (build with -g, e.g. "
                                     "buildtype=debugoptimized)")
    with tempfile.TemporaryDirectory(prefix="cvm-abi-") as tmp:
        new = Path(tmp) / "new.abi"
        cmd = ["abidw"] + [x for h in headers for x in ("--headers-dir", h)] + ABIDW_OPTS
        if run(cmd + ["--out-file", new, lib]) != 0:
            print("FAIL: abidw could not read", lib)
            return 1
        if write:
            shutil.copyfile(new, baseline)
            print(f"wrote {baseline}")
            return 0
        base_root = ET.parse(baseline).getroot()
        new_root = ET.parse(new).getroot()
        if base_root.get("architecture") != new_root.get("architecture"):
            return skip_or_fail(require, f"the baseline is for {base_root.get('architecture')}, "
                                         f"this library for {new_root.get('architecture')}")
        failures = []
        # 1. The check: abidiff with the suppression file.
        if run(["abidiff"] + ABIDIFF_OPTS + ["--suppressions", SUPPRESSIONS, baseline, new]) != 0:
            failures.append("abidiff reports ABI changes (above)")
        # 2. No suppression, options structs cut back to the baseline's size.
        grown = cut_options(base_root, new_root)
        cut = Path(tmp) / "cut.abi"
        ET.ElementTree(new_root).write(cut, encoding="utf-8", xml_declaration=False)
        if grown:
            print("options structs with appended fields (allowed):", ", ".join(grown))
        if run(["abidiff"] + ABIDIFF_OPTS + [baseline, cut]) != 0:
            failures.append("abidiff without the suppression file, options structs cut back to "
                            "their 0.1.0 size, reports changes (above): only appending fields "
                            "to a cvm_*_options struct is allowed")
        # 3. Added symbols belong to a version node the baseline does not have.
        old_syms, new_syms = symbols(base_root), symbols(ET.parse(new).getroot())
        old_nodes = set(old_syms.values())
        for name in sorted(set(new_syms) - set(old_syms)):
            version = new_syms[name]
            if not version or version in old_nodes:
                failures.append(f"added symbol {name}@{version or '(no version)'}: new symbols go "
                                f"into a new node of src/libcvm.map, not {sorted(old_nodes)}")
            else:
                print(f"added symbol (allowed, new node): {name}@{version}")
    for f in failures:
        print("FAIL:", f)
    print(f"abi: {'FAILED' if failures else 'no ABI change'} against {baseline.name}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
