"""How the functions are packaged, without Docker.

Each function's asset is its own folder plus the shared domain package, straight from
``lambda/``. Their third-party dependencies (``lambda/requirements.txt``) go in one
layer, installed once by ``make`` as wheels for the Lambda platform (arm64, the runtime's
Python) into ``.build/lambda-layer``; synth itself never touches the network.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import lambda_dependencies

LAMBDA_DIR = lambda_dependencies.REPO_ROOT / "lambda"
SHARED_PACKAGE = "two_way_sms"

RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64
if RUNTIME.name != f"python{lambda_dependencies.LAMBDA_PYTHON_VERSION}":
    raise RuntimeError(
        f"the layer's wheels are for Python {lambda_dependencies.LAMBDA_PYTHON_VERSION}, not {RUNTIME.name}")


def dependencies_layer(scope: Construct) -> lambda_.ILayerVersion:
    """The stack's one layer of third-party packages, shared by every function in it."""
    stack = Stack.of(scope)
    existing = stack.node.try_find_child("TwoWaySmsDependencies")
    if existing is not None:
        return existing  # type: ignore[return-value]
    if not lambda_dependencies.is_built():
        raise RuntimeError(
            f"the Lambda dependencies are not built (or are stale) in {lambda_dependencies.LAYER_DIR}: "
            "run `make deps` (python -m infra.lambda_dependencies) once before synth"
        )
    return lambda_.LayerVersion(
        stack,
        "TwoWaySmsDependencies",
        code=lambda_.Code.from_asset(str(lambda_dependencies.LAYER_DIR), exclude=[lambda_dependencies.STAMP]),
        compatible_runtimes=[RUNTIME],
        compatible_architectures=[ARCHITECTURE],
        description="Powertools for AWS Lambda, phonenumbers (see lambda/requirements.txt)",
        removal_policy=RemovalPolicy.RETAIN,
    )


def extensions_layer(scope: Construct, construct_id: str, *, directory: str, module: str) -> lambda_.LayerVersion:
    """Your handlers (``<directory>/python/<module>``) as a layer, beside the dependencies layer.

    Lambda unpacks a function's layers into ``/opt`` one after the other, the last one's file
    winning, and that order is not ours to keep: CDK sorts the layers by construct path under
    ``@aws-cdk/aws-lambda:recognizeLayerVersion`` and keeps them as added without it. So the
    two layers may not ship the same package (which would mix two versions' files anyway): a
    ``ValueError`` names what to leave out.
    """
    shared = sorted(_top_level_names(Path(directory) / "python")
                    & _top_level_names(lambda_dependencies.LAYER_DIR / "python"))
    if shared:
        raise ValueError(
            f"the extensions layer {directory!r} ships {shared}, which the dependencies layer "
            "(lambda/requirements.txt) has too: leave them out of its python/ (which layer's files would win depends "
            "on the app's feature flags)")
    return lambda_.LayerVersion(
        scope, construct_id, code=lambda_.Code.from_asset(directory), compatible_runtimes=[RUNTIME],
        compatible_architectures=[ARCHITECTURE], description=f"Your handlers: {module}",
    )


def _top_level_names(python_dir: Path) -> set[str]:
    """The importable names at the top of a layer's ``python/`` (packages, modules), metadata left out."""
    if not python_dir.is_dir():
        return set()
    names = set()
    for entry in python_dir.iterdir():
        if entry.name == "__pycache__" or entry.name.endswith((".dist-info", ".egg-info", ".data")):
            continue
        names.add(entry.name.split(".")[0] if entry.is_file() and entry.suffix in (".py", ".so", ".pyd")
                  else entry.name)
    return names


def function_code(function_dir: str) -> lambda_.Code:
    """``lambda/<function_dir>`` and the shared domain package, nothing else."""
    if not (LAMBDA_DIR / function_dir / "app.py").is_file():
        raise ValueError(f"function_dir {function_dir!r} has no app.py under {LAMBDA_DIR}")
    return lambda_.Code.from_asset(
        str(LAMBDA_DIR),
        exclude=["*", f"!{function_dir}", f"!{function_dir}/**", f"!{SHARED_PACKAGE}", f"!{SHARED_PACKAGE}/**",
                 "**/__pycache__", "**/*.pyc"],
    )

