"""PEP 517 build backend for the cvm package, standard library only.

The package is pure Python (ctypes), so a wheel is a zip of cvm/*.py (and a
libcvm copied beside them, if any) plus its metadata. Needing nothing to
build means `pip install ./bindings/python` works offline, with pip's default
build isolation: there is nothing for pip to download."""

import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _project():
    with open(os.path.join(HERE, "pyproject.toml"), encoding="utf-8") as f:
        text = f.read()

    def field(key):
        return re.search(rf'^{key}\s*=\s*"([^"]*)"', text, re.M).group(1)

    return field("name"), field("version"), field("description"), field("requires-python")


def _metadata():
    name, version, summary, python = _project()
    return (f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
            f"Summary: {summary}\nRequires-Python: {python}\n"
            "Provides-Extra: numpy\nProvides-Extra: pandas\n").encode()


def _package_files(name):
    files = {}
    pkg = os.path.join(HERE, name)
    for entry in sorted(os.listdir(pkg)):
        if entry.endswith(".py") or entry.startswith("libcvm."):
            with open(os.path.join(pkg, entry), "rb") as f:
                files[f"{name}/{entry}"] = f.read()
    return files


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name, version, _, _ = _project()
    dist_info = f"{name}-{version}.dist-info"
    files = _package_files(name)
    files[f"{dist_info}/METADATA"] = _metadata()
    files[f"{dist_info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: cvm_build\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n").encode()
    files[f"{dist_info}/top_level.txt"] = f"{name}\n".encode()
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(data)}")
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    filename = f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w", zipfile.ZIP_DEFLATED) as whl:
        for path, data in files.items():
            whl.writestr(path, data)
    return filename


def build_sdist(sdist_directory, config_settings=None):
    name, version, _, _ = _project()
    base = f"{name}-{version}"
    filename = f"{base}.tar.gz"
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz") as tar:
        for rel in ["pyproject.toml", "README.md", "build_backend/cvm_build.py"]:
            tar.add(os.path.join(HERE, rel), arcname=f"{base}/{rel}")
        for path, data in _package_files(name).items():
            info = tarfile.TarInfo(f"{base}/{path}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        pkg_info = tarfile.TarInfo(f"{base}/PKG-INFO")
        meta = _metadata()
        pkg_info.size = len(meta)
        tar.addfile(pkg_info, io.BytesIO(meta))
    return filename
