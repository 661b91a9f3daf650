"""The wheel carries the shipped data: arch_configs/ and workloads/ (which stay at the top of
the repository, where users look for them) are copied into the built package as
archsim/_data/, where archsim.resources finds them when archsim is installed from a wheel.
Everything else is in pyproject.toml."""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

DATA_DIRS = ("arch_configs", "workloads")


class build_py_with_data(build_py):
    def run(self):
        super().run()
        root = Path(__file__).resolve().parent
        for name in DATA_DIRS:
            src = root / name
            dst = Path(self.build_lib) / "archsim" / "_data" / name
            if dst.exists():
                shutil.rmtree(dst)
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))


setup(cmdclass={"build_py": build_py_with_data})
