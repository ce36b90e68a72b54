"""Installs the functions' third-party packages for the Lambda platform, once.

``lambda/requirements.txt`` is installed as wheels for arm64 and the runtime's Python
into ``.build/lambda-layer/python``; ``make`` runs this before synth, so synth itself
never touches the network. A stamp of the requirements skips the work when unchanged.
No CDK import here: it runs in a second.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = REPO_ROOT / "lambda" / "requirements.txt"
LAYER_DIR = REPO_ROOT / ".build" / "lambda-layer"
STAMP = ".requirements-sha256"
LAMBDA_PYTHON_VERSION = "3.14"
_PLATFORM = ["--platform", "manylinux2014_aarch64", "--implementation", "cp", "--python-version", LAMBDA_PYTHON_VERSION]
# Data no handler reads (phonenumbers' geocoding and carrier tables: ~40 MB).
_PRUNED = ["phonenumbers/geodata", "phonenumbers/carrierdata", "bin"]


def is_built(layer_dir: Path = LAYER_DIR) -> bool:
    stamp = layer_dir / STAMP
    return stamp.exists() and stamp.read_text() == _digest()


def build(layer_dir: Path = LAYER_DIR) -> Path:
    if is_built(layer_dir):
        return layer_dir
    shutil.rmtree(layer_dir, ignore_errors=True)
    target = layer_dir / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile", "--only-binary=:all:",
         *_PLATFORM, "--target", str(target), "--requirement", str(REQUIREMENTS)],
        check=True,
    )
    for relative in _PRUNED:
        shutil.rmtree(target / relative, ignore_errors=True)
    (layer_dir / STAMP).write_text(_digest())
    return layer_dir


def _digest() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes() + " ".join(_PLATFORM).encode()).hexdigest()


if __name__ == "__main__":
    print(f"Lambda dependencies (arm64, Python {LAMBDA_PYTHON_VERSION}) in {build().relative_to(REPO_ROOT)}")
