"""cdk-nag: every variant synthesizes with no unacknowledged finding from the four rule packs."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sqs as sqs

from tests.infra.synth import FEATURE_FLAGS, read_findings
from two_way_sms_cdk.nag import acknowledge, register_rule_packs

RULE_PACKS = ("AwsSolutions", "Serverless", "HIPAA.Security", "NIST.800.53.R5")


def test_every_variant_has_no_unacknowledged_finding_from_the_rule_packs(any_variant):
    findings = [f for f in any_variant.findings if f.plugin in RULE_PACKS]
    assert not findings, f"{any_variant.name}:\n" + "\n".join(map(str, findings))


def test_default_variant_has_no_validation_finding_at_all(default):
    """Nothing from any plugin: not the rule packs, not CDK's own template validation."""
    assert default.findings == (), "\n".join(map(str, default.findings))


def test_an_unacknowledged_finding_fails_the_synth_and_an_acknowledged_one_does_not(tmp_path):
    """The wiring app.py relies on: the rule packs run on synth, the synth fails on a finding,
    and ``two_way_sms_cdk.nag.acknowledge`` (rule id without the plugin prefix) silences one finding."""
    app = cdk.App(outdir=str(tmp_path), context=FEATURE_FLAGS)
    stack = cdk.Stack(app, "NagWiring")
    acknowledged = sqs.Queue(stack, "Acknowledged")
    sqs.Queue(stack, "NotAcknowledged")
    acknowledge(acknowledged.node.default_child, "AwsSolutions-SQS4", "test: acknowledged on purpose")
    register_rule_packs(app)

    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()

    ssl_findings = {f.construct_path for f in read_findings(tmp_path) if f.rule == "AwsSolutions-SQS4"}
    assert ssl_findings == {"NagWiring/NotAcknowledged/Resource"}
