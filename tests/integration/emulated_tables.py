"""The handler's DynamoDB tables, created in moto with the keys the construct gives them."""

from __future__ import annotations

from typing import Any


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
