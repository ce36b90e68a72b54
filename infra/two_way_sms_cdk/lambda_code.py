"""How the functions are packaged, without Docker, from the repository or an installed copy.

Every function runs the runtime package ``two_way_sms`` (its handlers are
``two_way_sms.handlers.<name>.handler``): its asset is that package, staged from wherever
Python imports it (``lambda/`` in the repository, ``site-packages`` once installed), so one
asset serves every function. The custom resource adds its own folder beside it. Both ship
byte-code for the runtime's Python where Pyodide is installed (``lambda_bytecode``). The
third-party dependencies (``function_requirements.txt``) go in one layer, built once by
``make deps`` or ``two-way-sms-layer`` as wheels for the Lambda platform (arm64, the
runtime's Python); synth itself never touches the network.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

import two_way_sms
from two_way_sms_cdk import lambda_bytecode, lambda_dependencies

RUNTIME_PACKAGE_DIR = Path(two_way_sms.__file__).resolve().parent
CUSTOM_RESOURCES_DIR = Path(__file__).resolve().parent / "custom_resources"
HANDLERS = ("inbound", "sender", "campaigns", "events")

RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64
if RUNTIME.name != f"python{lambda_dependencies.LAMBDA_PYTHON_VERSION}":
    raise RuntimeError(
        f"the layer's wheels are for Python {lambda_dependencies.LAMBDA_PYTHON_VERSION}, not {RUNTIME.name}"
    )

_NOT_CODE = shutil.ignore_patterns("__pycache__", "*.pyc")


def dependencies_layer(scope: Construct) -> lambda_.ILayerVersion:
    """The stack's one layer of third-party packages, shared by every function in it."""
    stack = Stack.of(scope)
    existing = stack.node.try_find_child("TwoWaySmsDependencies")
    if existing is not None:
        return existing  # type: ignore[return-value]
    layer_dir = lambda_dependencies.layer_dir()
    if not lambda_dependencies.is_built(layer_dir):
        raise RuntimeError(
            f"the Lambda dependencies are not built (or are stale) in {layer_dir}: run `two-way-sms-layer` "
            "(`make deps` in the repository) once before synth"
        )
    return lambda_.LayerVersion(
        stack,
        "TwoWaySmsDependencies",
        code=lambda_.Code.from_asset(str(layer_dir), exclude=[lambda_dependencies.STAMP]),
        compatible_runtimes=[RUNTIME],
        compatible_architectures=[ARCHITECTURE],
        description="Powertools for AWS Lambda, phonenumbers (two_way_sms_cdk/function_requirements.txt)",
        removal_policy=RemovalPolicy.RETAIN,
    )


def extensions_layer(scope: Construct, construct_id: str, *, directory: str, module: str) -> lambda_.LayerVersion:
    """Your handlers (``<directory>/python/<module>``) as a layer, beside the dependencies layer.

    Lambda unpacks a function's layers into ``/opt`` one after the other, the last one's file
    winning, and that order is not ours to keep: CDK sorts the layers by construct path under
    ``@aws-cdk/aws-lambda:recognizeLayerVersion`` and keeps them as added without it. So the
    two layers may not ship the same package (which would mix two versions' files anyway): a
    ``ValueError`` names what to leave out. The layer is a copy of ``directory`` with byte-code for
    the runtime's Python (``lambda_bytecode``): a module it cannot compile fails the synth, naming it.
    """
    shared = sorted(
        _top_level_names(Path(directory) / "python") & _top_level_names(lambda_dependencies.layer_dir() / "python")
    )
    if shared:
        raise ValueError(
            f"the extensions layer {directory!r} ships {shared}, which the dependencies layer "
            "(function_requirements.txt) has too: leave them out of its python/ (which layer's files would win depends "
            "on the app's feature flags)"
        )
    return lambda_.LayerVersion(
        scope,
        construct_id,
        code=lambda_.Code.from_asset(str(_compiled_copy(Path(directory).resolve()))),
        compatible_runtimes=[RUNTIME],
        compatible_architectures=[ARCHITECTURE],
        description=f"Your handlers: {module}",
    )


def _top_level_names(python_dir: Path) -> set[str]:
    """The importable names at the top of a layer's ``python/`` (packages, modules), metadata left out."""
    if not python_dir.is_dir():
        return set()
    names = set()
    for entry in python_dir.iterdir():
        if entry.name == "__pycache__" or entry.name.endswith((".dist-info", ".egg-info", ".data")):
            continue
        names.add(
            entry.name.split(".")[0] if entry.is_file() and entry.suffix in (".py", ".so", ".pyd") else entry.name
        )
    return names


def handler_code(name: str) -> tuple[lambda_.Code, str]:
    """The runtime package as a function's code, and the handler string of ``two_way_sms.handlers.<name>``."""
    if name not in HANDLERS:
        raise ValueError(f"handler {name!r} is not one of {', '.join(HANDLERS)}")
    return lambda_.Code.from_asset(str(_staged("two_way_sms"))), f"two_way_sms.handlers.{name}.handler"


def custom_resource_code(name: str) -> tuple[lambda_.Code, str]:
    """``custom_resources/<name>/app.py`` beside the runtime package (it reuses the domain's rules)."""
    if not (CUSTOM_RESOURCES_DIR / name / "app.py").is_file():
        raise ValueError(f"custom resource {name!r} has no app.py under {CUSTOM_RESOURCES_DIR}")
    return lambda_.Code.from_asset(str(_staged("two_way_sms", name))), f"{name}.app.handler"


@functools.cache
def _staged(*packages: str) -> Path:
    """A folder holding copies of ``packages`` (the runtime package, custom resources), once per process,
    with their byte-code for the runtime's Python where it can be made (``lambda_bytecode``).

    CDK hashes an asset by its files, not its path, so the copy's place does not change the template.
    """
    folder = _temporary_folder("two-way-sms-asset-")
    compiled = _compiled_sources()
    for package in packages:
        shutil.copytree(compiled / package, folder / package)
    return folder


@functools.cache
def _compiled_sources() -> Path:
    """Every package an asset may hold, copied without this machine's byte-code, then compiled once for
    the runtime (one Pyodide start, a few seconds, serves every asset of the process)."""
    folder = _temporary_folder("two-way-sms-sources-")
    shutil.copytree(RUNTIME_PACKAGE_DIR, folder / "two_way_sms", ignore=_NOT_CODE)
    for resource in sorted(CUSTOM_RESOURCES_DIR.iterdir()):
        if (resource / "app.py").is_file():
            shutil.copytree(resource, folder / resource.name, ignore=_NOT_CODE)
    lambda_bytecode.compile_for_runtime(
        sorted(child for child in folder.iterdir() if child.is_dir()), lambda_dependencies.LAMBDA_PYTHON_VERSION
    )
    return folder


@functools.cache
def _compiled_copy(directory: Path) -> Path:
    """``directory`` copied without this machine's byte-code, then compiled for the runtime."""
    folder = _temporary_folder("two-way-sms-extensions-") / directory.name
    shutil.copytree(directory, folder, ignore=_NOT_CODE)
    lambda_bytecode.compile_for_runtime([folder], lambda_dependencies.LAMBDA_PYTHON_VERSION)
    return folder


def _temporary_folder(prefix: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder
