"""The functions' code and layer ship byte-code Lambda's Python 3.14 loads, so a cold start compiles nothing."""

from __future__ import annotations

import _imp
import json
from pathlib import Path

import pytest

from two_way_sms_cdk import lambda_bytecode, lambda_code, lambda_dependencies

RUNTIME_PYTHON = lambda_dependencies.LAMBDA_PYTHON_VERSION
CHECKED_HASH = 0b11  # the .pyc's flags: hash-based, and checked against the source at import
# CPython's magic numbers for 3.14 lie in 3600-3649 (Lib/importlib/_bootstrap_external.py): 3.15's start at 3650.
PYTHON_314_MAGICS = range(3600, 3650)

REPOSITORY = Path(__file__).resolve().parents[2]


def stale_or_missing(folder: Path) -> list[str]:
    """The ``.py`` files under ``folder`` without a 3.14 ``.pyc`` of their current source."""
    wrong = []
    for source in sorted(folder.rglob("*.py")):
        compiled = source.parent / "__pycache__" / f"{source.stem}.cpython-314.pyc"
        if not compiled.is_file():
            wrong.append(f"{source}: no byte-code")
            continue
        header = compiled.read_bytes()[:16]
        magic = int.from_bytes(header[:2], "little")
        flags = int.from_bytes(header[4:8], "little")
        # What 3.14's import system checks: the source's keyed hash, the key being the magic number.
        source_hash = _imp.source_hash(int.from_bytes(header[:4], "little"), source.read_bytes())
        if magic not in PYTHON_314_MAGICS or flags != CHECKED_HASH or header[8:16] != source_hash:
            wrong.append(f"{source}: magic {magic}, flags {flags:#b}, hash matches {header[8:16] == source_hash}")
    return wrong


def test_the_checkout_compiles_with_the_pyodide_its_package_json_pins():
    """make install puts it in node_modules; every test below compiles with it (none skips without it)."""
    pinned = json.loads((REPOSITORY / "package.json").read_text())["devDependencies"]["pyodide"]

    assert lambda_bytecode.compiler_version() == pinned


def test_every_module_of_the_functions_asset_has_byte_code_of_its_source_for_the_runtime():
    asset = lambda_code._staged("two_way_sms", "number_settings")

    assert len(list(asset.rglob("*.py"))) > 90
    assert stale_or_missing(asset) == []
    assert not [pyc for pyc in asset.rglob("*.pyc") if ".cpython-314." not in pyc.name]  # none of this machine's


def test_every_module_of_the_dependencies_layer_has_byte_code_for_the_runtime():
    layer = lambda_dependencies.build(lambda_dependencies.layer_dir())  # built by make deps: nothing to do

    assert stale_or_missing(layer / "python" / "aws_lambda_powertools") == []
    assert stale_or_missing(layer / "python" / "phonenumbers") == []


def test_the_same_sources_compile_to_the_same_bytes_so_the_assets_hash_is_stable(tmp_path):
    for copy in ("first", "second"):
        (tmp_path / copy / "package").mkdir(parents=True)
        (tmp_path / copy / "package" / "module.py").write_text("CODES = {'STOP': 1}\n\ndef answer(x):\n    return x\n")
        lambda_bytecode.compile_for_runtime([tmp_path / copy], RUNTIME_PYTHON)

    first, second = (
        tmp_path / copy / "package" / "__pycache__" / "module.cpython-314.pyc" for copy in ("first", "second")
    )
    assert first.read_bytes() == second.read_bytes()


def test_a_module_the_runtime_cannot_compile_fails_the_build_naming_the_file(tmp_path):
    (tmp_path / "fine.py").write_text("x = 1\n")
    (tmp_path / "broken.py").write_text("def f(:\n")

    with pytest.raises(lambda_bytecode.BytecodeError, match=r"cannot compile: .*broken\.py: SyntaxError"):
        lambda_bytecode.compile_for_runtime([tmp_path], RUNTIME_PYTHON)


def test_a_pyodide_of_another_python_than_the_runtime_is_refused_with_the_versions(tmp_path):
    (tmp_path / "module.py").write_text("x = 1\n")

    with pytest.raises(
        lambda_bytecode.BytecodeError, match=r"compiles for cpython-314, but the functions run Python 3\.15"
    ):
        lambda_bytecode.compile_for_runtime([tmp_path], "3.15")


def test_without_pyodide_the_code_ships_as_sources(tmp_path, monkeypatch):
    monkeypatch.setattr(lambda_bytecode, "pyodide_module", lambda: None)
    (tmp_path / "module.py").write_text("x = 1\n")

    assert lambda_bytecode.compile_for_runtime([tmp_path], RUNTIME_PYTHON) is None
    assert lambda_bytecode.compiler_version() == "none"
    assert not list(tmp_path.rglob("*.pyc"))


def test_a_pyodide_folder_named_in_the_environment_must_hold_pyodide(tmp_path, monkeypatch):
    monkeypatch.setenv(lambda_bytecode.PYODIDE_VARIABLE, str(tmp_path))

    with pytest.raises(lambda_bytecode.BytecodeError, match="holds no pyodide.mjs"):
        lambda_bytecode.pyodide_module()
