"""Installs the functions' third-party packages for the Lambda platform, once.

``function_requirements.txt`` (package data of this library) is installed as wheels for
arm64 and the runtime's Python into ``.build/lambda-layer/python`` under the directory
you synthesize from (or ``$TWO_WAY_SMS_LAYER_DIR``). ``make`` runs it before synth in this
repository; an app that installed the library runs ``two-way-sms-layer`` once. Synth
itself never touches the network. A stamp of the requirements skips the work when
unchanged. Each module gets its byte-code for the runtime's Python (``lambda_bytecode``), so
Lambda does not compile Powertools at every cold start. No CDK import here.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from two_way_sms_cdk import lambda_bytecode

REQUIREMENTS = Path(__file__).resolve().parent / "function_requirements.txt"
LAYER_DIR_VARIABLE = "TWO_WAY_SMS_LAYER_DIR"
STAMP = ".requirements-sha256"
LAMBDA_PYTHON_VERSION = "3.14"
_PLATFORM = ["--platform", "manylinux2014_aarch64", "--implementation", "cp", "--python-version", LAMBDA_PYTHON_VERSION]
# Data no handler reads (phonenumbers' geocoding and carrier tables: ~40 MB).
# Not read at run time: phonenumbers' geocoder and carrier tables, holidays' translations (the functions
# name holidays in English) and its financial-market calendars. tests/infra/test_lambda_layer.py runs the
# layer's own copies on what the functions call.
_PRUNED = ["phonenumbers/geodata", "phonenumbers/carrierdata", "holidays/locale", "holidays/financial", "bin"]


def layer_dir() -> Path:
    """Where the layer is built and read: ``$TWO_WAY_SMS_LAYER_DIR``, else ``.build/lambda-layer`` here."""
    return Path(os.environ.get(LAYER_DIR_VARIABLE) or Path.cwd() / ".build" / "lambda-layer").resolve()


def is_built(layer_dir: Path) -> bool:
    stamp = layer_dir / STAMP
    return stamp.exists() and stamp.read_text() == _digest()


def build(layer_dir: Path) -> Path:
    if is_built(layer_dir):
        return layer_dir
    shutil.rmtree(layer_dir, ignore_errors=True)
    target = layer_dir / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-compile",
            "--only-binary=:all:",
            *_PLATFORM,
            "--target",
            str(target),
            "--requirement",
            str(REQUIREMENTS),
        ],
        check=True,
    )
    for relative in _PRUNED:
        shutil.rmtree(target / relative, ignore_errors=True)
    lambda_bytecode.compile_for_runtime([target], LAMBDA_PYTHON_VERSION)  # no compiler: sources only
    (layer_dir / STAMP).write_text(_digest())
    return layer_dir


def _digest() -> str:
    """The requirements, how they are installed, and the byte-code compiler (a layer built before Pyodide
    was installed is built again once it is)."""
    how = " ".join([*_PLATFORM, *_PRUNED, "bytecode", lambda_bytecode.compiler_version()])
    return hashlib.sha256(REQUIREMENTS.read_bytes() + how.encode()).hexdigest()


def main() -> None:
    """``two-way-sms-layer``: builds the layer where synth will look for it."""
    print(f"Lambda dependencies (arm64, Python {LAMBDA_PYTHON_VERSION}) in {build(layer_dir())}")


if __name__ == "__main__":
    main()
