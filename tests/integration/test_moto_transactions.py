"""The emulators' cheaper transactions (two_way_sms_local.moto_transactions): still all or nothing."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from two_way_sms_local import moto_transactions
from two_way_sms_local.emulation import REGION, create_tables


@pytest.fixture
def contacts(emulated_aws):
    moto_transactions.install()
    resource = boto3.resource("dynamodb", region_name=REGION)
    create_tables(resource)
    table = resource.Table("contacts")
    table.put_item(Item={"phone_number": "+14255550101", "record": "PROFILE", "version": 1})
    table.put_item(Item={"phone_number": "+14255550102", "record": "PROFILE", "version": 1})
    return table


def profile(table, number: str) -> dict | None:
    return table.get_item(Key={"phone_number": number, "record": "PROFILE"}).get("Item")


def test_a_cancelled_transaction_puts_back_what_its_earlier_items_changed_and_removes_what_they_created(contacts):
    client = contacts.meta.client
    with pytest.raises(ClientError, match="TransactionCanceled"):
        client.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": "contacts",
                        "Key": {"phone_number": "+14255550101", "record": "PROFILE"},
                        "UpdateExpression": "SET version = :two",
                        "ExpressionAttributeValues": {":two": 2},
                    }
                },
                {"Put": {"TableName": "contacts", "Item": {"phone_number": "+14255550103", "record": "PROFILE"}}},
                {
                    "Put": {
                        "TableName": "contacts",
                        "Item": {"phone_number": "+14255550102", "record": "PROFILE", "version": 2},
                        "ConditionExpression": "version = :five",
                        "ExpressionAttributeValues": {":five": 5},
                    }
                },
            ]
        )

    assert profile(contacts, "+14255550101")["version"] == 1 and profile(contacts, "+14255550102")["version"] == 1
    assert profile(contacts, "+14255550103") is None


def test_a_transaction_that_goes_through_writes_every_item_and_leaves_the_others(contacts):
    contacts.meta.client.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "contacts", "Item": {"phone_number": "+14255550103", "record": "PROFILE"}}},
            {"Delete": {"TableName": "contacts", "Key": {"phone_number": "+14255550101", "record": "PROFILE"}}},
        ]
    )

    assert profile(contacts, "+14255550103") is not None and profile(contacts, "+14255550101") is None
    assert profile(contacts, "+14255550102")["version"] == 1
