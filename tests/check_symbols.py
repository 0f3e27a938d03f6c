#!/usr/bin/env python3
"""The exported surface: the CVM_API declarations in include/, the linker
map src/libcvm.map and the symbols the built library exports must be the
same set, all named cvm_*; and the library must hold no mutable globals
(nm classes b, d, B, D, C) beyond the toolchain's own. Constant tables of
pointers (a model kind's table of functions) live in .data.rel.ro, which nm
also calls d but the loader makes read-only after relocation (RELRO): those
are allowed, found by their section in objdump -t."""
import re
import subprocess
import sys
from pathlib import Path

TOOLCHAIN = {"_DYNAMIC", "completed.0", "__dso_handle", "__TMC_END__", "_GLOBAL_OFFSET_TABLE_",
             "__frame_dummy_init_array_entry", "__do_global_dtors_aux_fini_array_entry",
             "_edata", "_end", "__bss_start"}


def declared(root):
    names = set()
    headers = list((root / "include").rglob("*.h")) + list((root / "include").rglob("*.h.in"))
    for h in headers:
        text = re.sub(r"/\*.*?\*/", "", h.read_text(), flags=re.S)
        text = re.sub(r"^\s*#.*?(?<!\\)$", "", text, flags=re.M | re.S)
        for m in re.finditer(r"CVM_API\b[^;{(]*?\b(\w+)\s*\(", text):
            names.add(m.group(1))
    return names


def mapped(root):
    text = re.sub(r"/\*.*?\*/", "", (root / "src" / "libcvm.map").read_text(), flags=re.S)
    return set(re.findall(r"^\s*(cvm_\w+)\s*;", text, flags=re.M))


def nm(args, lib):
    out = subprocess.run(["nm"] + args + [lib], check=True, capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            rows.append((parts[-2], parts[-1].split("@")[0]))
    return rows


def relro(lib):
    out = subprocess.run(["objdump", "-t", lib], check=True, capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 5 and ".data.rel.ro" in parts[:-1]:
            names.add(parts[-1])
    return names


def main():
    root, lib = Path(sys.argv[1]), sys.argv[2]
    failures = []
    api, mp = declared(root), mapped(root)
    if api != mp:
        failures.append(f"header vs map: only in headers {sorted(api - mp)}, only in map {sorted(mp - api)}")
    exported = {name for kind, name in nm(["-D", "--defined-only"], lib) if kind in "TDBRWiV"}
    exported -= TOOLCHAIN
    if exported != api:
        failures.append(f"exported vs headers: extra {sorted(exported - api)}, missing {sorted(api - exported)}")
    bad = [name for name in exported if not name.startswith("cvm_")]
    if bad:
        failures.append(f"exported without cvm_ prefix: {bad}")
    table = nm([], lib)
    if not any(name.startswith("cvm__") for _, name in table):
        failures.append("no internal symbols in the symbol table (stripped?): the globals check would be vacuous")
    readonly = relro(lib)
    data = [f"{kind} {name}" for kind, name in table
            if kind in "bdBDCV" and name not in TOOLCHAIN and name not in readonly
            and not name.startswith("__odr_asan")]  # AddressSanitizer's ODR markers
    if data:
        failures.append(f"mutable globals: {data}")
    checks = 5
    for f in failures:
        print("FAIL:", f)
    print(f"symbols: {checks - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
