#!/usr/bin/env python3
"""tests/test_options.c checks every options struct, every member.

    check_options.py SOURCE_ROOT

Reads the public headers (include/cvm.h, include/cvm/*.h, version.h.in) and
fails unless:
- every CVM_*_INIT macro is the initialiser of a cvm_*_options struct named
  alike (CVM_X_OPTIONS_INIT for cvm_x_options), with a cvm_x_options_init()
  function declared, and every cvm_*_options struct has such a macro;
- each options struct starts with `size_t size`;
- test_options.c has, for each struct, exactly one block
      OPTIONS_BEGIN(cvm_x_options, CVM_X_OPTIONS_INIT, cvm_x_options_init);
      FIELD(member); ... ARRAY(member); ...
      OPTIONS_END(cvm_x_options);
  naming every member but `size` (which OPTIONS_BEGIN checks) once, in a
  START_TEST that the suite registers with tcase_add_test;
- tests/cxx_headers.cc uses every CVM_*_INIT macro as a C++ initialiser.
"""
import re
import sys
from pathlib import Path


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def headers(root):
    inc = root / "include"
    return [inc / "cvm.h"] + sorted((inc / "cvm").glob("*.h")) + sorted((inc / "cvm").glob("*.h.in"))


def members(body):
    """Member names of a struct body, in order: `int32_t a, b;`, `double p[4];`,
    `const T *x;` and function pointers `void (*f)(...)`."""
    names = []
    for decl in body.split(";"):
        decl = " ".join(decl.split())
        if not decl:
            continue
        fp = re.match(r".*\(\s*\*\s*(\w+)\s*\)", decl)
        if fp:
            names.append(fp.group(1))
            continue
        first, *rest = decl.split(",")
        for d in [first] + rest:
            d = re.sub(r"\[[^\]]*\]", "", d).strip()
            m = re.search(r"(\w+)\s*$", d)
            if m:
                names.append(m.group(1))
    return names


def main():
    root = Path(sys.argv[1])
    failures = []
    macros, structs, funcs = {}, {}, set()
    for h in headers(root):
        raw = h.read_text()
        for m in re.finditer(r"^\s*#\s*define\s+(CVM_\w*_INIT)\b", raw, flags=re.M):
            macros[m.group(1)] = h.name
        text = strip_comments(raw)
        for m in re.finditer(r"typedef\s+struct\s+(\w+)\s*\{(.*?)\}\s*(\w+)\s*;", text, flags=re.S):
            tag, body, name = m.groups()
            if re.fullmatch(r"cvm_\w+_options", name):
                if tag != name:
                    failures.append(f"{h.name}: struct {tag} typedef'd as {name}")
                structs[name] = (h.name, members(body), body)
        for m in re.finditer(r"CVM_API\b[^;{(]*?\b(cvm_\w+_options_init)\s*\(", text):
            funcs.add(m.group(1))
    for macro, where in sorted(macros.items()):
        want = macro[: -len("_INIT")].lower()
        if not want.endswith("_options"):
            failures.append(f"{where}: {macro} does not name an options struct (CVM_X_OPTIONS_INIT)")
        elif want not in structs:
            failures.append(f"{where}: {macro} but no struct {want}")
    for name, (where, names, _) in sorted(structs.items()):
        if name.upper() + "_INIT" not in macros:
            failures.append(f"{where}: {name} has no {name.upper()}_INIT macro")
        if name + "_init" not in funcs:
            failures.append(f"{where}: {name} has no CVM_API {name}_init() function")
        if not names or names[0] != "size":
            failures.append(f"{where}: {name} does not start with `size_t size`")

    test = root / "tests" / "test_options.c"
    src = strip_comments(test.read_text())
    registered = set(re.findall(r"tcase_add_test\s*\(\s*\w+\s*,\s*(\w+)\s*\)", src))
    tests = {m.group(1): m.start() for m in re.finditer(r"START_TEST\s*\(\s*(\w+)\s*\)", src)}
    seen = {}
    for m in re.finditer(r"OPTIONS_BEGIN\s*\(\s*(\w+)\s*,\s*(\w+)\s*,\s*(\w+)\s*\)\s*;(.*?)"
                         r"OPTIONS_END\s*\(\s*(\w+)\s*\)", src, flags=re.S):
        name, macro, func, block, end = m.groups()
        if name in seen:
            failures.append(f"test_options.c: {name} checked twice")
        seen[name] = True
        if end != name:
            failures.append(f"test_options.c: OPTIONS_BEGIN({name}) ends with OPTIONS_END({end})")
        if macro != name.upper() + "_INIT" or func != name + "_init":
            failures.append(f"test_options.c: {name} checked with {macro} and {func}")
        owner = max((pos, t) for t, pos in tests.items() if pos < m.start())[1] if tests else None
        if owner is None or owner not in registered:
            failures.append(f"test_options.c: the test checking {name} ({owner}) is not registered")
        checked = re.findall(r"\b(?:FIELD|ARRAY)\s*\(\s*(\w+)\s*\)", block)
        if name not in structs:
            failures.append(f"test_options.c: {name} is not an options struct of the headers")
            continue
        want = structs[name][1][1:]
        dup = sorted({c for c in checked if checked.count(c) > 1})
        if dup:
            failures.append(f"test_options.c: {name}: members compared twice: {dup}")
        missing = [x for x in want if x not in checked]
        extra = [x for x in checked if x not in want]
        if missing or extra:
            failures.append(f"test_options.c: {name}: not compared {missing}, not members {extra}")
        arrays = {x for x in want if re.search(r"\b" + x + r"\s*\[", structs[name][2])}
        for x in checked:
            is_array = re.search(r"\bARRAY\s*\(\s*" + x + r"\s*\)", block) is not None
            if x in arrays and not is_array:
                failures.append(f"test_options.c: {name}.{x} is an array: compare it with ARRAY()")
    cxx = strip_comments((root / "tests" / "cxx_headers.cc").read_text())
    for macro in sorted(macros):
        if not re.search(r"\b" + macro + r"\b", cxx):
            failures.append(f"cxx_headers.cc does not use {macro}")
    for name in sorted(set(structs) - set(seen)):
        failures.append(f"test_options.c: {name} ({structs[name][0]}) is not checked")
    for f in failures:
        print("FAIL:", f)
    nfields = sum(len(v[1]) for v in structs.values())
    print(f"options coverage: {len(structs)} structs, {len(macros)} INIT macros, {nfields} members; "
          f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
