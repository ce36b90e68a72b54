"""What the benchmarks share: the import path, a responder configuration, the handler's environment.

The configuration is the one the integration tests use (tests/integration/conftest.py),
validated by the same ``parse_config`` the synth runs.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
LAMBDA_DIR = REPO_ROOT / "lambda"
REGION = "us-east-1"

for _path in (REPO_ROOT, LAMBDA_DIR):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

# Powertools reads these when a handler module creates its Logger, Metrics and Tracer (at import, as on
# Lambda): set before any benchmark imports a handler.
for _name, _value in {
    "POWERTOOLS_SERVICE_NAME": "two-way-sms",
    "POWERTOOLS_METRICS_NAMESPACE": "TwoWaySmsBench",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "AWS_DEFAULT_REGION": REGION,
}.items():
    os.environ.setdefault(_name, _value)

from two_way_sms_local import moto_transactions  # noqa: E402
from two_way_sms_local.emulation import SAMPLES as FIXTURES  # noqa: E402  (the sample payloads)

# moto backs up whole tables before each transaction; the senders' bursts make thousands of them
moto_transactions.install()

SETTINGS: dict[str, Any] = {
    "help_reply": "Example Clinic: help at +1 206 555 0100. Reply STOP to cancel.",
    "stop_reply": "Example Clinic: you are unsubscribed and will receive no more messages.",
    "opt_in_reply": "Example Clinic: you are subscribed again. Reply STOP to cancel.",
    "default_reply": "Example Clinic: thanks! Reply HELP for help.",
    "keywords": [{"keyword": "HOURS", "reply": "Open Mon-Fri 8-18.", "action": "AUTOMATIC_RESPONSE"}],
}


def responder_settings(**overrides: Any):
    """The validated ResponderSettings for SETTINGS with ``overrides``."""
    from two_way_sms_cdk.config import parse_config

    return parse_config({**SETTINGS, **overrides}).responder


def handler_environment(**overrides: Any) -> dict[str, str]:
    """The environment variables the inbound handler reads at import (fake credentials, no tracing)."""
    return {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        "RESPONDER_SETTINGS": responder_settings(**overrides).to_json(),
        "CONTACTS_TABLE": "contacts",
        "LEDGER_TABLE": "ledger",
        "LEDGER_RETENTION_DAYS": "400",
        "CONFIGURATION_SET": "replies",
        "OPT_OUT_LIST": "opt-outs",
        "MESSAGE_TYPE": "TRANSACTIONAL",
        "POWERTOOLS_SERVICE_NAME": "two-way-sms",
        "POWERTOOLS_METRICS_NAMESPACE": "TwoWaySmsBench",
        "POWERTOOLS_TRACE_DISABLED": "true",
        # The benchmark prints a table: keep the handler's JSON logs and EMF metrics off stdout.
        "POWERTOOLS_LOG_LEVEL": "CRITICAL",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }


def inbound_payload(body: str, message_id: str = "in-1", customer: str = "+14255550182") -> dict[str, Any]:
    """The documented inbound payload (tests/fixtures) with this body, id and sender."""
    payload = json.loads((FIXTURES / "inbound-sns-message.json").read_text())
    return {**payload, "messageBody": body, "inboundMessageId": message_id, "originationNumber": customer}
