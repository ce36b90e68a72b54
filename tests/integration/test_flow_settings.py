"""The flows parameter is trusted only as deployed: a changed value is refused and counted."""

from __future__ import annotations

import boto3
import pytest

from two_way_sms.adapters.flow_settings import FlowSettings, FlowsNotAsDeployed
from two_way_sms.conversations.flows import flows_digest, flows_to_json, parse_flows
from two_way_sms.conversations.ready_flows import READY_FLOWS
from two_way_sms_local.emulation import REGION

NAME = "/two-way-sms/flows"


@pytest.fixture
def ssm(emulated_aws):
    client = boto3.client("ssm", region_name=REGION)
    client.put_parameter(Name=NAME, Value=flows_to_json(parse_flows(READY_FLOWS)), Type="String")
    return client


def test_the_deployed_flows_are_read(ssm):
    deployed = flows_digest(flows_to_json(parse_flows(READY_FLOWS)))

    assert set(FlowSettings(ssm, NAME, expected_digest=deployed).flows()) == {"appointment", "transaction", "support"}


def test_flows_changed_outside_a_deploy_are_refused_and_counted(ssm):
    deployed = flows_digest(flows_to_json(parse_flows(READY_FLOWS)))
    tampered = parse_flows(READY_FLOWS)
    ssm.put_parameter(Name=NAME, Value=flows_to_json({"support": tampered["support"]}), Type="String", Overwrite=True)
    refused = []

    with pytest.raises(FlowsNotAsDeployed, match="does not hold the flows this stack deployed"):
        FlowSettings(ssm, NAME, expected_digest=deployed, on_mismatch=lambda: refused.append(1)).flows()
    assert refused == [1]


def test_the_digest_is_short_enough_for_the_environment_and_changes_with_any_edit():
    text = flows_to_json(parse_flows(READY_FLOWS))

    assert len(flows_digest(text)) == 16
    assert flows_digest(text) != flows_digest(text.replace("appointment", "appointmenT", 1))
