"""Byte-code for the Lambda runtime's Python, compiled before deploy so a cold start does not compile.

Lambda cannot write ``__pycache__`` in ``/var/task`` or ``/opt``: a function whose asset and
layer ship only sources compiles every module it imports at every cold start, about a quarter
of the inbound function's start (``make bench``, section 2). The runtime's Python (3.14) is
not the one that synthesizes; Pyodide is (CPython compiled to WebAssembly, pinned in
``package.json``, run by Node), and byte-code does not depend on the platform. Each file gets
a checked-hash ``.pyc``: valid whatever times the asset's zip gives the files, and ignored if
its source is ever edited in place. The output is the same on every run, so the asset's hash
is too.

Where Node or Pyodide is missing (an app that installed this library without it), the code
ships as sources, as before: slower to start, same behaviour.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

PYODIDE_VARIABLE = "TWO_WAY_SMS_PYODIDE"  # a folder holding pyodide.mjs (npm's node_modules/pyodide)
COMPILER_SCRIPT = Path(__file__).resolve().parent / "lambda_bytecode.mjs"


class BytecodeError(RuntimeError):
    """The byte-code cannot be made for the runtime: the message says what to change."""


def pyodide_module() -> Path | None:
    """``pyodide.mjs``: under ``$TWO_WAY_SMS_PYODIDE``, else in a ``node_modules`` above the working
    directory or this library's checkout; ``None`` when there is none."""
    named = os.environ.get(PYODIDE_VARIABLE)
    if named:
        module = Path(named) / "pyodide.mjs"
        if not module.is_file():
            raise BytecodeError(f"{PYODIDE_VARIABLE}={named} holds no pyodide.mjs")
        return module
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for folder in (start.resolve(), *start.resolve().parents):
            module = folder / "node_modules" / "pyodide" / "pyodide.mjs"
            if module.is_file():
                return module
    return None


def compiler_version() -> str:
    """Which compiler would run (for a build's stamp): Pyodide's ``package.json`` version, or "none"."""
    module = pyodide_module()
    if module is None or shutil.which("node") is None:
        return "none"
    return str(json.loads((module.parent / "package.json").read_text())["version"])


def compile_for_runtime(folders: Sequence[Path], python_version: str) -> int | None:
    """Write checked-hash ``.pyc`` files for Python ``python_version`` ("3.14") beside every ``.py`` in
    ``folders``; how many, or ``None`` (nothing written) when Node or Pyodide is not installed."""
    module, node = pyodide_module(), shutil.which("node")
    if module is None or node is None or not folders:
        return None
    done = subprocess.run(
        [node, str(COMPILER_SCRIPT), str(module), *(str(folder) for folder in folders)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise BytecodeError(f"Pyodide ({module}) could not compile byte-code: {done.stderr.strip()[-2000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    expected_tag = "cpython-" + python_version.replace(".", "")
    if report["cache_tag"] != expected_tag:
        raise BytecodeError(
            f"Pyodide {module.parent.name} compiles for {report['cache_tag']}, but the functions run Python "
            f"{python_version} ({expected_tag}): pin the Pyodide release of that Python in package.json "
            f"(its version starts with {python_version.replace('.', '')})"
        )
    if report["errors"]:
        failures = "; ".join(f"{folders[index] / path}: {message}" for index, path, message in report["errors"])
        raise BytecodeError(f"Python {python_version} cannot compile: {failures}")
    return int(report["compiled"])
