"""Shared pieces of the emulated AWS: the handler's tables in moto, and a Lambda context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REGION = "us-east-1"


@dataclass(frozen=True)
class FakeLambdaContext:
    function_name: str = "inbound"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:inbound"
    aws_request_id: str = "request-1"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def create_tables(dynamodb: Any) -> Any:
    """Creates ``contacts`` and ``idempotency`` on a boto3 DynamoDB resource; returns contacts."""
    contacts = dynamodb.create_table(
        TableName="contacts", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "phone_number", "KeyType": "HASH"}, {"AttributeName": "record", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "phone_number", "AttributeType": "S"},
                              {"AttributeName": "record", "AttributeType": "S"}],
    )
    dynamodb.create_table(
        TableName="idempotency", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
    )
    return contacts
