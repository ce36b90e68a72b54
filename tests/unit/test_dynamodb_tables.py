"""DynamoDB tables on a plain client answer the table adapters' calls as boto3's resource does."""

from __future__ import annotations

from decimal import Decimal

import boto3
import pytest
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError
from moto import mock_aws

from two_way_sms.adapters.dynamodb_tables import DynamoDbTables

REGION = "us-east-1"


@pytest.fixture
def tables():
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(
            TableName="things",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield (
            DynamoDbTables(boto3.client("dynamodb", region_name=REGION)),
            boto3.resource("dynamodb", region_name=REGION),
        )


def test_an_item_written_with_python_types_reads_back_the_same_as_through_the_resource(tables):
    plain, resource = tables
    item = {"pk": "p", "sk": "1", "count": Decimal(3), "tags": {"a", "b"}, "nested": {"list": [1, "x", None]}}

    plain.Table("things").put_item(Item=item)

    assert plain.Table("things").get_item(Key={"pk": "p", "sk": "1"})["Item"] == item
    assert resource.Table("things").get_item(Key={"pk": "p", "sk": "1"})["Item"] == item


def test_conditions_and_updates_take_boto3_condition_objects(tables):
    plain, _ = tables
    table = plain.Table("things")
    table.put_item(Item={"pk": "p", "sk": "1", "count": 1})

    updated = table.update_item(
        Key={"pk": "p", "sk": "1"},
        UpdateExpression="ADD #count :one",
        ConditionExpression=Attr("count").lt(5),
        ExpressionAttributeNames={"#count": "count"},
        ExpressionAttributeValues={":one": 1},
        ReturnValues="ALL_NEW",
    )
    assert updated["Attributes"]["count"] == 2

    with pytest.raises(ClientError) as refused:
        table.put_item(
            Item={"pk": "p", "sk": "1"},
            ConditionExpression=Attr("pk").not_exists(),
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    assert refused.value.response["Error"]["Code"] == "ConditionalCheckFailedException"


def test_query_scan_delete_and_batch_writes_name_their_table(tables):
    plain, _ = tables
    table = plain.Table("things")
    with table.batch_writer() as batch:
        for n in range(30):  # more than one BatchWriteItem request
            batch.put_item(Item={"pk": "p", "sk": f"{n:02}", "n": n})

    found = table.query(KeyConditionExpression=Key("pk").eq("p") & Key("sk").begins_with("1"))["Items"]
    assert [item["n"] for item in found] == list(range(10, 20))

    table.delete_item(Key={"pk": "p", "sk": "00"})
    assert len(table.scan()["Items"]) == 29
    assert table.name == "things"


def test_the_tables_client_takes_python_types_in_transactions_too(tables):
    plain, resource = tables
    plain.meta.client.transact_write_items(
        TransactItems=[{"Put": {"TableName": "things", "Item": {"pk": "t", "sk": "1", "amount": Decimal("0.5")}}}]
    )

    assert resource.Table("things").get_item(Key={"pk": "t", "sk": "1"})["Item"]["amount"] == Decimal("0.5")
    assert plain.Table("things").meta.client is plain.meta.client


def test_a_resource_client_made_to_speak_python_types_again_is_unchanged(tables):
    _, resource = tables
    DynamoDbTables(resource.meta.client)  # the same handlers under the same ids: registered once

    resource.Table("things").put_item(Item={"pk": "r", "sk": "1", "n": 1})
    assert resource.Table("things").get_item(Key={"pk": "r", "sk": "1"})["Item"]["n"] == 1
