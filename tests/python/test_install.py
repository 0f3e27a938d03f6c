"""The package builds into a wheel with nothing but the standard library, so
`pip install ./bindings/python` works offline; the wheel holds every module
and imports."""
import importlib.util
import os
import subprocess
import sys
import tempfile
import unittest
import zipfile

ROOT = os.environ.get("CVM_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
PKG = os.path.join(ROOT, "bindings", "python")


def backend():
    spec = importlib.util.spec_from_file_location(
        "cvm_build", os.path.join(PKG, "build_backend", "cvm_build.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class WheelTest(unittest.TestCase):
    def test_wheel_has_every_module_and_imports(self):
        b = backend()
        self.assertEqual(b.get_requires_for_build_wheel(), [])
        with tempfile.TemporaryDirectory() as d:
            name = b.build_wheel(d)
            whl = os.path.join(d, name)
            with zipfile.ZipFile(whl) as z:
                names = set(z.namelist())
            modules = {f"cvm/{f}" for f in os.listdir(os.path.join(PKG, "cvm")) if f.endswith(".py")}
            self.assertTrue(modules <= names, modules - names)
            self.assertIn("cvm-0.1.0.dist-info/RECORD", names)
            # a fresh interpreter imports the package from the wheel alone
            env = dict(os.environ, PYTHONPATH=whl)
            out = subprocess.run([sys.executable, "-c", "import cvm; print(cvm.BetaGeo.__name__)"],
                                 env=env, capture_output=True, text=True, check=True)
            self.assertEqual(out.stdout.strip(), "BetaGeo")


if __name__ == "__main__":
    unittest.main()
