"""cdk-nag: the rule packs every synth runs, and the few findings we accept.

Each acknowledgement names one finding on one resource, with the reason a reviewer
would accept; any other finding fails the synth.
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Acknowledgment, App, Validations
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, ServerlessChecks
from constructs import IConstruct


def register_rule_packs(app: App) -> None:
    Validations.of(app).add_plugins(
        AwsSolutionsChecks(app),
        ServerlessChecks(app),
        HIPAASecurityChecks(app),
        NIST80053R5Checks(app),
    )


def acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=finding, reason=reason))


def nag_resource_name(value: Any) -> str:
    """A resolved CloudFormation value as cdk-nag names it in a finding (its ``flattenCfnReference``)."""
    if isinstance(value, str):
        return value.replace("${", "<").replace("}", ">")
    if isinstance(value, dict):
        if "Fn::Join" in value:
            delimiter, items = value["Fn::Join"]
            return delimiter.join(nag_resource_name(item) for item in items)
        if "Fn::Sub" in value:
            return nag_resource_name(value["Fn::Sub"])
        if "Fn::GetAtt" in value:
            resource, attribute = value["Fn::GetAtt"]
            return f"<{nag_resource_name(resource)}.{nag_resource_name(attribute)}>"
        if "Fn::ImportValue" in value:
            return nag_resource_name(value["Fn::ImportValue"])
        if "Ref" in value:
            return f"<{nag_resource_name(value['Ref'])}>"
    return json.dumps(value, separators=(",", ":"))
