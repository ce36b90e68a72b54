"""Section 2 of ``make bench``: each function's cold start next to ``import boto3``, in fresh interpreters.

A function's start, as Lambda runs it before its first message is handled: the handler module
imported, its settings read from the environment the synthesized default stack gives it (CloudFormation
references replaced by stand-ins), ``make_handler``, and the boto3 clients its first message calls
created. No network: creating a client only loads its service model, and a call made while wiring
fails at once (the endpoint refuses it).

Beside each figure, the floor: ``import boto3`` and creating the same clients, with none of the
function's own code. What lies between the two is the function's; the floor is botocore's.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from environment import LAMBDA_DIR, REGION, REPO_ROOT
from latency import default_template

from two_way_sms_cdk import lambda_dependencies

RUNS = 7
ACCOUNT = "123456789012"


@dataclass(frozen=True)
class FunctionStart:
    name: str
    module: str  # the handler module (the template's Handler, without ``.handler``)
    settings: str  # "module:Class", the function's settings contract
    # The AwsClients fields its first message calls (a typical one: no dead-letter queue, no hold).
    first_message_clients: tuple[str, ...]
    why: str
    client_configs: str = ""  # an expression for AwsClients.from_default_session(configs=...), in the handler module


FUNCTIONS = (
    FunctionStart(
        "inbound",
        "two_way_sms.handlers.inbound",
        "two_way_sms.settings.inbound:InboundSettings",
        ("dynamodb", "sms", "ssm", "events"),
        "reply log, contacts and ledger; the reply; the flows parameter; reply.received on the bus",
    ),
    FunctionStart(
        "sender",
        "two_way_sms.handlers.sender",
        "two_way_sms.settings.sender:SenderFunctionSettings",
        ("dynamodb", "sms", "ssm"),
        "claims, schedule, contacts and ledger; the text; the flows parameter",
        client_configs='{"sms": m.SMS_RETRIES}',
    ),
    FunctionStart(
        "campaigns",
        "two_way_sms.handlers.campaigns",
        "two_way_sms.settings.campaigns:CampaignsSettings",
        ("dynamodb", "s3", "sqs", "scheduler"),
        "the run and contacts; the audience CSV; the send requests; the next page's schedule",
    ),
    FunctionStart(
        "events",
        "two_way_sms.handlers.events",
        "two_way_sms.settings.events:EventsSettings",
        ("dynamodb",),
        "the ledger, contacts and campaign counters",
    ),
)

_CLOCK = "import time; t = time.perf_counter(); "
_DONE = "; print((time.perf_counter() - t) * 1000)"
BOTO3_PROBE = _CLOCK + "import boto3" + _DONE


def function_probe(function: FunctionStart) -> str:
    """The function's start: import, settings, make_handler, then its first message's clients."""
    settings_module, settings_class = function.settings.split(":")
    configs = f"configs={function.client_configs}" if function.client_configs else ""
    touch = ", ".join(f"c.{name}" for name in function.first_message_clients)
    return (
        _CLOCK + f"import os, boto3; import {function.module} as m; from {settings_module} import {settings_class}; "
        "from two_way_sms.handlers.wiring import AwsClients; "
        f"c = AwsClients.from_default_session({configs}); "
        f"m.make_handler({settings_class}.from_environment(os.environ), c); "
        f"[getattr(x, 'meta') for x in ({touch},)]" + _DONE
    )


def floor_probe(function: FunctionStart) -> str:
    """``import boto3`` and the same clients, made the way AwsClients makes them, and nothing else."""
    services = {"sms": "pinpoint-sms-voice-v2"}
    made = [f"boto3.client({services.get(name, name)!r})" for name in function.first_message_clients]
    return _CLOCK + f"import boto3; [{', '.join(made)}]" + _DONE


# -- the environment each function is deployed with -----------------------------------------------------
def function_environments(template: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Each handler function's environment variables in the template, by handler module."""
    resources = template["Resources"]
    found: dict[str, dict[str, str]] = {}
    for resource in resources.values():
        properties = resource.get("Properties", {})
        handler = str(properties.get("Handler", ""))
        if resource["Type"] != "AWS::Lambda::Function" or not handler.startswith("two_way_sms.handlers."):
            continue
        variables = properties.get("Environment", {}).get("Variables", {})
        found[handler.rsplit(".", 1)[0]] = {name: _stand_in(value, resources) for name, value in variables.items()}
    return found


def _stand_in(value: Any, resources: Mapping[str, Any]) -> str:
    """A CloudFormation value as a plausible string: queue URLs, ARNs, names, a phone number."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        logical_id = value["Ref"]
        if resources.get(logical_id, {}).get("Type") == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{logical_id}"
        return str(logical_id)
    if "Fn::GetAtt" in value:
        logical_id, attribute = value["Fn::GetAtt"]
        if attribute == "PhoneNumber":
            return "+12065550100"
        service = resources.get(logical_id, {}).get("Type", "AWS::Unknown::X").split("::")[1].lower()
        return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{logical_id}"
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(_stand_in(part, resources) for part in parts)
    raise ValueError(f"no stand-in for {value!r}")


def base_environment(lambda_dir: Path = LAMBDA_DIR) -> dict[str, str]:
    """Fake credentials, no tracing, logs and metrics off stdout (the probe prints one number), and
    byte-code written by the warm-up run and read by the runs after it, whatever the shell says."""
    inherited = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    return {
        **inherited,
        "PYTHONPATH": os.pathsep.join([str(lambda_dir), str(REPO_ROOT)]),
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        # A call made while wiring (the inbound function reads a note on its table) fails at once, with
        # no retry: the figure counts building the request, not a network's latency.
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_MAX_ATTEMPTS": "1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "CRITICAL",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }


def from_source_environment(environment: Mapping[str, str], lambda_dir: Path, layer_dir: Path) -> dict[str, str]:
    """As the function's asset and layer shipped before they carried byte-code for the runtime's Python
    (``lambda_bytecode``; Lambda cannot write ``__pycache__`` in /var/task or /opt): every module of the
    package and of the layer's Powertools compiled at every start."""
    return {
        **environment,
        "PYTHONPATH": os.pathsep.join([str(lambda_dir), str(layer_dir), str(REPO_ROOT)]),
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def built_layer() -> Path:
    """The functions' dependencies layer's ``python/``, as ``make deps`` built it."""
    layer = Path(os.environ.get(lambda_dependencies.LAYER_DIR_VARIABLE) or REPO_ROOT / ".build" / "lambda-layer")
    if not lambda_dependencies.is_built(layer):
        raise SystemExit(f"the Lambda dependencies layer is not built in {layer}: run make deps")
    return layer / "python"


def traced_environment(environment: Mapping[str, str]) -> dict[str, str]:
    """As on Lambda with active tracing: Powertools' Tracer on (the X-Ray SDK imported)."""
    traced = {name: value for name, value in environment.items() if name != "POWERTOOLS_TRACE_DISABLED"}
    return {**traced, "LAMBDA_TASK_ROOT": str(LAMBDA_DIR)}


# -- measuring --------------------------------------------------------------------------------------------
def milliseconds(probe: str, environment: Mapping[str, str]) -> float:
    done = subprocess.run(
        [sys.executable, "-c", probe], env=dict(environment), cwd=REPO_ROOT, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"probe failed: {done.stderr.strip().splitlines()[-1:]}")
    return float(done.stdout.strip().splitlines()[-1])


def medians(probes: Mapping[str, tuple[str, Mapping[str, str]]], runs: int = RUNS) -> dict[str, float]:
    """The median of ``runs`` fresh interpreters per probe, interleaved (a warm-up each first)."""
    for probe, environment in probes.values():  # byte-code compiled, files in the page cache
        milliseconds(probe, environment)
    times: dict[str, list[float]] = {name: [] for name in probes}
    for _ in range(runs):
        for name, (probe, environment) in probes.items():
            times[name].append(milliseconds(probe, environment))
    return {name: statistics.median(values) for name, values in times.items()}


@dataclass(frozen=True)
class ColdStarts:
    boto3_ms: float
    function_ms: dict[str, float]
    floor_ms: dict[str, float]
    traced_inbound_ms: float
    from_source_inbound_ms: float
    runs: int

    def ratio(self, function: str) -> float:
        return self.function_ms[function] / self.boto3_ms


def measure_cold_starts(runs: int = RUNS) -> ColdStarts:
    environments = function_environments(default_template())
    base = base_environment()
    probes: dict[str, tuple[str, Mapping[str, str]]] = {"boto3": (BOTO3_PROBE, base)}
    with tempfile.TemporaryDirectory(prefix="cold-start-") as copy:
        source_only, layer_source_only = Path(copy) / "lambda", Path(copy) / "layer"  # no byte-code
        no_bytecode = shutil.ignore_patterns("__pycache__", "*.pyc")
        shutil.copytree(LAMBDA_DIR, source_only, ignore=no_bytecode)
        shutil.copytree(built_layer(), layer_source_only, ignore=no_bytecode)
        for function in FUNCTIONS:
            environment = {**base, **environments[function.module]}
            probes[function.name] = (function_probe(function), environment)
            probes[f"{function.name} floor"] = (floor_probe(function), base)
            if function.name == "inbound":
                probes["inbound traced"] = (function_probe(function), traced_environment(environment))
                probes["inbound from source"] = (
                    function_probe(function),
                    from_source_environment(environment, source_only, layer_source_only),
                )
        found = medians(probes, runs)
    return ColdStarts(
        boto3_ms=found["boto3"],
        function_ms={f.name: found[f.name] for f in FUNCTIONS},
        floor_ms={f.name: found[f"{f.name} floor"] for f in FUNCTIONS},
        traced_inbound_ms=found["inbound traced"],
        from_source_inbound_ms=found["inbound from source"],
        runs=runs,
    )


def print_cold_starts(starts: ColdStarts) -> None:
    boto3_ms = starts.boto3_ms
    print(
        "2. Cold start of each function in a fresh interpreter, next to import boto3 "
        f"(median of {starts.runs} runs each):\n"
        "   the handler imported, its settings read from the default stack's template, make_handler, and the\n"
        "   boto3 clients its first message calls created; the floor is import boto3 and those clients alone"
    )
    print(f"   {'import boto3':<12} {boto3_ms:>6.0f} ms   1.0x")
    header = f"{'function':<12} {'start':>9} {'ratio':>6} {'floor':>9} {'ratio':>6} {'own':>8}"
    print(f"   {header}   clients of a first message")
    for function in FUNCTIONS:
        ms, floor = starts.function_ms[function.name], starts.floor_ms[function.name]
        print(
            f"   {function.name:<12} {ms:>6.0f} ms {ms / boto3_ms:>5.1f}x {floor:>6.0f} ms {floor / boto3_ms:>5.1f}x"
            f" {ms - floor:>5.0f} ms   {', '.join(function.first_message_clients)}"
        )
    traced, from_source = starts.traced_inbound_ms, starts.from_source_inbound_ms
    print(f"   {'inbound, with active tracing':<34} {traced:>6.0f} ms {traced / boto3_ms:>5.1f}x")
    print(f"   {'inbound, no byte-code (as before)':<34} {from_source:>6.0f} ms {from_source / boto3_ms:>5.1f}x")
    print(
        "   (own: the function's modules, Powertools and make_handler, byte-code compiled. Off Lambda and with\n"
        "    POWERTOOLS_TRACE_DISABLED no function imports the X-Ray SDK (off Lambda its recorder would create its\n"
        "    own botocore session and X-Ray clients); with active tracing, as the stack deploys them, Powertools'\n"
        "    Tracer imports it and patches botocore: the first line above. Lambda cannot write byte-code, so the\n"
        "    asset and the layer ship it, compiled for the runtime's Python 3.14 (two_way_sms_cdk.lambda_bytecode);\n"
        "    without it the package and the layer's Powertools were compiled at every cold start: the second.\n"
        "    Issue 15's goal is 1.3x import boto3: the floor alone is past it)\n"
    )


if __name__ == "__main__":
    print_cold_starts(measure_cold_starts())
