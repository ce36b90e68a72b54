"""cdk-nag: the rule packs every synth runs, and the few findings we accept.

Each acknowledgement names one finding on one resource, with the reason a reviewer
would accept; any other finding fails the synth.
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Acknowledgment, App, Validations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
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


DEAD_LETTER_QUEUE_REASON = "This queue is itself a dead-letter queue; its messages are inspected and redriven by hand"


def acknowledge_dead_letter_queue(queue: sqs.IQueue, reason: str = DEAD_LETTER_QUEUE_REASON) -> None:
    """A dead-letter queue has no dead-letter queue of its own (Serverless-SQSRedrivePolicy)."""
    acknowledge(queue.node.default_child, "Serverless-SQSRedrivePolicy", reason)


def acknowledge_sqs_event_source(mapping: lambda_.EventSourceMapping) -> None:
    """An SQS event source mapping fails over through its queue's redrive policy, not a destination."""
    acknowledge(
        mapping.node.default_child,
        "Serverless-LambdaEventSourceMappingDestination",
        "SQS event source mappings take no on-failure destination; the queue's redrive policy sends "
        "failed messages to the dead-letter queue",
    )


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
