#!/usr/bin/env python3
"""The exported surface: the CVM_API declarations in include/, the linker
map src/libcvm.map and the symbols the built library exports must be the
same set, all named cvm_*; and the library must hold no mutable globals
(nm classes b, d, B, D, C) beyond the toolchain's own. Constant tables of
pointers (a model kind's table of functions) live in .data.rel.ro, which nm
also calls d but the loader makes read-only after relocation (RELRO): those
are allowed, found by their section in objdump -t.

The shared library's ELF identity is checked too: its SONAME is
libcvm.so.<cvm_soversion of meson.build>, its file name carries the project
version, every exported symbol carries the default version (name@@node) of
the src/libcvm.map node that lists it, each name is listed once, and it needs
no library beyond libc and libm (and a sanitizer's runtime)."""
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


def map_nodes(root):
    """[(node, [global names], [local patterns])] in file order."""
    text = re.sub(r"/\*.*?\*/", "", (root / "src" / "libcvm.map").read_text(), flags=re.S)
    text = re.sub(r"#.*", "", text)
    nodes = []
    for m in re.finditer(r"(\w[\w.]*)\s*\{(.*?)\}\s*([\w.]*)\s*;", text, flags=re.S):
        body, names, local = m.group(2), [], []
        section = None
        for item in re.findall(r"[^;:\s]+\s*[;:]", body):
            word, sep = item[:-1].strip(), item[-1]
            if sep == ":":
                section = word
            elif section == "local":
                local.append(word)
            else:
                names.append(word)
        nodes.append((m.group(1), names, local))
    return nodes


def mapped(root):
    return {name for _, names, _ in map_nodes(root) for name in names}


def nm(args, lib, versions=False):
    out = subprocess.run(["nm"] + args + [lib], check=True, capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            rows.append((parts[-2], parts[-1] if versions else parts[-1].split("@")[0]))
    return rows


def dynamic(lib):
    """(SONAME or None, [NEEDED]) from readelf -d."""
    out = subprocess.run(["readelf", "-d", "-W", lib], check=True, capture_output=True,
                         text=True).stdout
    soname = re.findall(r"\(SONAME\).*\[(.*)\]", out)
    return (soname[0] if soname else None), re.findall(r"\(NEEDED\).*\[(.*)\]", out)


def meson_setting(root, pattern):
    m = re.search(pattern, (root / "meson.build").read_text())
    return m.group(1) if m else None


# Libraries libcvm may need: libc and libm (and the dynamic loader), and the
# runtimes a sanitizer or the compiler links in.
NEEDED_OK = re.compile(r"^(libc|libm|ld-linux[\w.-]*|libasan|libubsan|libtsan|liblsan|libgcc_s|"
                       r"libclang_rt[\w.-]*)\.so[.\d]*$")


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
    if lib.endswith(".a"):
        print(f"SKIP: {lib} is a static library; the exported symbols are a shared library's")
        return 77
    failures = []
    api, mp = declared(root), mapped(root)
    if api != mp:
        failures.append(f"header vs map: only in headers {sorted(api - mp)}, only in map {sorted(mp - api)}")
    nodes = map_nodes(root)
    node_of, listed = {}, []
    for node, names, local in nodes:
        listed += names
        for name in names:
            node_of[name] = node
        if any(re.search(r"[*?\[]", n) for n in names):
            failures.append(f"map node {node}: a wildcard in global: exports whatever matches it")
    dup = sorted({n for n in listed if listed.count(n) > 1})
    if dup:
        failures.append(f"listed more than once in the map: {dup}")
    if not nodes or nodes[0][2] != ["*"] or any(local for _, _, local in nodes[1:]):
        failures.append("the map's first node must end with `local: *;` (and only it)")
    bad_nodes = [node for node, _, _ in nodes if not re.fullmatch(r"CVM_\d+\.\d+", node)]
    if bad_nodes:
        failures.append(f"map nodes not named CVM_<major>.<minor>: {bad_nodes}")
    soversion = meson_setting(root, r"cvm_soversion\s*=\s*'(\d+)'")
    version = meson_setting(root, r"project\([^)]*?version:\s*'([^']+)'")
    soname, needed = dynamic(lib)
    if soname != f"libcvm.so.{soversion}":
        failures.append(f"SONAME is {soname}, not libcvm.so.{soversion} (cvm_soversion in meson.build)")
    real = Path(lib).resolve().name
    if not real.endswith(f".so.{version}"):
        failures.append(f"library file {real} does not end in .so.{version} (project version)")
    extra = [n for n in needed if not NEEDED_OK.match(n)]
    if extra:
        failures.append(f"needs libraries beyond libc and libm: {extra}")
    # name@@NODE is NODE's default version; name@NODE a hidden, older one.
    node_names = {node for node, _, _ in nodes}
    versioned = {}
    for kind, full in nm(["-D", "--defined-only"], lib, versions=True):
        name, _, ver = full.partition("@")
        if kind in "TDBRWiVuGS" or (kind == "A" and name not in node_names):
            versioned[name] = ver
    exported = set(versioned) - TOOLCHAIN
    wrong = [f"{n}@{versioned[n] or '(none)'} (map: {node_of[n]})" for n in sorted(exported)
             if n in node_of and versioned[n] != "@" + node_of[n]]
    if wrong:
        failures.append(f"exported without the default version of their map node: {wrong}")
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
            if kind in "bdBDCVgGsSu" and name not in TOOLCHAIN and name not in readonly
            and not name.startswith("__odr_asan")]  # AddressSanitizer's ODR markers
    if data:
        failures.append(f"mutable globals: {data}")
    for f in failures:
        print("FAIL:", f)
    print(f"symbols: {len(failures)} failed of 13 checks" if failures else "symbols: 13 checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
