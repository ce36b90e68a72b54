"""The functions' boto3 clients on the emulated world: moto's, with the SMS client swapped in."""

from __future__ import annotations

from typing import Any

import boto3

from two_way_sms.adapters.dynamodb_tables import DynamoDbTables
from two_way_sms.handlers.wiring import AwsClients

REGION = "us-east-1"


def emulated_clients(*, sms: Any = None, **overrides: Any) -> AwsClients:
    """Clients for the services a function calls, inside ``moto.mock_aws``; ``sms`` is the End User
    Messaging client (the emulator, or a Stubber-wrapped client), ``overrides`` replace any other."""
    made: dict[str, Any] = {
        "dynamodb": DynamoDbTables(boto3.client("dynamodb", region_name=REGION)),  # as on Lambda: no resource
        "sms": sms if sms is not None else boto3.client("pinpoint-sms-voice-v2", region_name=REGION),
        **{
            name: boto3.client(service, region_name=REGION)  # type: ignore[call-overload]
            for name, service in (
                ("sqs", "sqs"),
                ("events", "events"),
                ("ssm", "ssm"),
                ("kms", "kms"),
                ("scheduler", "scheduler"),
                ("s3", "s3"),
            )
        },
    }
    return AwsClients(**{**made, **overrides})
