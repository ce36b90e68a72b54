"""``tests.integration.fake_dynamodb`` against moto: the same calls, the same answers.

Every case runs on moto and on the fake through real boto3 clients and compares what the
caller gets: the response (less its metadata), or the error code and its modeled members
(the ``Item`` of a failed condition). The adapters the campaign end to end test uses run
the same way, and the tables must end up alike. A few checks the service makes and moto
does not are tested on the fake alone, at the end.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ParamValidationError
from moto import mock_aws

from tests.integration.fake_dynamodb import FakeDynamoDb
from two_way_sms.adapters.campaign_runs import CampaignRuns
from two_way_sms.adapters.contacts import ContactsTable
from two_way_sms.adapters.ledger import MessageLedger
from two_way_sms.adapters.request_outcomes import HELD, REFUSED, SENT, RequestOutcomes
from two_way_sms.delivery import parse_delivery_event
from two_way_sms.outbound.contacts_import import ContactImport
from two_way_sms.outbound.request import CampaignRef
from two_way_sms.responder import ConsentChange
from two_way_sms_local.emulation import REGION, create_outbound_table, create_tables, delivery_event


@pytest.fixture(autouse=True, scope="module")
def credentials() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        yield


class Twins:
    """The same DynamoDB twice: moto's and the fake, each behind its own boto3 session."""

    def __init__(self) -> None:
        self.moto = boto3.Session(region_name=REGION)
        self.fake = FakeDynamoDb(region=REGION).attach(boto3.Session(region_name=REGION))
        self._clients = [session.client("dynamodb") for session in (self.moto, self.fake)]
        self._resources = [session.resource("dynamodb") for session in (self.moto, self.fake)]

    def new_tables(self) -> None:
        """The handlers' tables, empty (sessions and clients are kept: making them takes most of a test)."""
        for client, resource in zip(self._clients, self._resources):
            for name in client.list_tables()["TableNames"]:
                client.delete_table(TableName=name)
            create_tables(resource)
            create_outbound_table(resource)

    def call(self, operation: str, **params: Any) -> tuple:
        """Runs the call on both; they must answer alike. Returns the (common) outcome."""
        moto, fake = (_outcome(client, operation, params) for client in self._clients)
        assert fake == moto, f"{operation}({params}): fake {fake} but moto {moto}"
        return fake

    def tables(self, name: str) -> list[Any]:
        """The table's resource in each."""
        return [resource.Table(name) for resource in self._resources]

    def contents_alike(self, name: str) -> None:
        moto, fake = (sorted(table.scan(ConsistentRead=True)["Items"], key=_item_key) for table in self.tables(name))
        assert fake == moto


def _outcome(client: Any, operation: str, params: dict[str, Any]) -> tuple:
    try:
        response = getattr(client, operation)(**params)
    except ClientError as error:
        return "error", error.response["Error"]["Code"], error.response.get("Item")
    response.pop("ResponseMetadata")
    for volatile in ("ConsumedCapacity", "ItemCollectionMetrics"):
        response.pop(volatile, None)
    return "ok", _sets_sorted(response)


def _sets_sorted(value: Any) -> Any:
    """Sets in the wire format have no order: compare them sorted."""
    if isinstance(value, dict):
        return {k: sorted(v) if k in ("SS", "NS", "BS") else _sets_sorted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_sets_sorted(v) for v in value]
    return value


def _item_key(item: dict[str, Any]) -> str:
    return json.dumps({k: str(v) for k, v in item.items() if k in ("pk", "sk", "phone_number", "record", "id",
                                                                    "message_id")}, sort_keys=True)


@pytest.fixture(scope="module")
def both() -> Iterator[Twins]:
    with mock_aws():
        yield Twins()


@pytest.fixture
def twins(both: Twins) -> Twins:
    both.new_tables()
    return both


def s(text: str) -> dict[str, str]:
    return {"S": text}


def n(text: str) -> dict[str, str]:
    return {"N": text}


ITEM = {"pk": s("A"), "sk": s("1"), "count": n("5"), "name": s("first"), "tags": {"SS": ["x", "y"]},
        "nested": {"M": {"leaf": n("1"), "list": {"L": [s("a"), n("2")]}}}}


def put(twins: Twins, item: dict[str, Any] = ITEM) -> None:
    assert twins.call("put_item", TableName="outbound", Item=item)[0] == "ok"


# -- items: reads, writes, conditions ------------------------------------------------------------
@pytest.mark.parametrize("params", [
    {"Key": {"pk": s("A"), "sk": s("1")}},
    {"Key": {"pk": s("A"), "sk": s("1")}, "ConsistentRead": True},
    {"Key": {"pk": s("A"), "sk": s("2")}},
    {"Key": {"pk": s("A"), "sk": s("1")}, "ProjectionExpression": "#c, nested.leaf, tags",
     "ExpressionAttributeNames": {"#c": "count"}},
    {"Key": {"pk": s("A")}},  # half a key
    {"Key": {"pk": s("A"), "sk": s("1"), "name": s("first")}},  # more than the key
    {"Key": {"pk": s(""), "sk": s("1")}},
    {"Key": {"pk": s("A"), "sk": s("1")}, "ProjectionExpression": "name, #unused",
     "ExpressionAttributeNames": {"#unused": "x", "#other": "y"}},
])
def test_get_item(twins: Twins, params: dict) -> None:
    put(twins)
    twins.call("get_item", TableName="outbound", **params)


@pytest.mark.parametrize("params", [
    {"Item": {"pk": s("B"), "sk": s("1")}},
    {"Item": {"pk": s("A"), "sk": s("1")}, "ReturnValues": "ALL_OLD"},
    {"Item": {"sk": s("1")}},  # no partition key
    {"Item": {"pk": n("1"), "sk": s("1")}},
    {"Item": {"pk": s(""), "sk": s("1")}},
    {"Item": {"pk": s("B"), "sk": s("1"), "tags": {"SS": []}}},
    {"Item": {"pk": s("B"), "sk": s("1"), "bad": n("twelve")}},
    {"Item": ITEM, "ConditionExpression": "attribute_not_exists(pk)"},
    {"Item": ITEM, "ConditionExpression": "attribute_not_exists(pk)", "ReturnValuesOnConditionCheckFailure": "ALL_OLD"},
    {"Item": ITEM, "ConditionExpression": "attribute_exists(pk) AND #c = :five",
     "ExpressionAttributeNames": {"#c": "count"}, "ExpressionAttributeValues": {":five": n("5")}},
    {"Item": ITEM, "ConditionExpression": "#c < :five OR (#c > :five)", "ExpressionAttributeNames": {"#c": "count"},
     "ExpressionAttributeValues": {":five": n("5")}, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"},
    {"Item": ITEM, "ConditionExpression": "NOT contains(tags, :x)", "ExpressionAttributeValues": {":x": s("x")}},
    {"Item": ITEM, "ConditionExpression": "contains(tags, :z) OR begins_with(#n, :f)",
     "ExpressionAttributeNames": {"#n": "name"}, "ExpressionAttributeValues": {":z": s("z"), ":f": s("fi")}},
    {"Item": ITEM, "ConditionExpression": "#n <> :other AND nested.#l[1] = :two AND size(tags) = :two",
     "ExpressionAttributeNames": {"#n": "name", "#l": "list"},
     "ExpressionAttributeValues": {":other": s("other"), ":two": n("2")}},
    {"Item": ITEM, "ConditionExpression": "#c BETWEEN :one AND :five AND #n IN (:a, :first)",
     "ExpressionAttributeNames": {"#c": "count", "#n": "name"},
     "ExpressionAttributeValues": {":one": n("1"), ":five": n("5"), ":a": s("a"), ":first": s("first")}},
    {"Item": ITEM, "ConditionExpression": "missing <> :v", "ExpressionAttributeValues": {":v": s("v")}},
    {"Item": ITEM, "ConditionExpression": "attribute_type(tags, :ss)", "ExpressionAttributeValues": {":ss": s("SS")}},
    {"Item": ITEM, "ConditionExpression": "status = :v", "ExpressionAttributeValues": {":v": s("v")}},  # reserved
])
def test_put_item(twins: Twins, params: dict) -> None:
    put(twins)
    twins.call("put_item", TableName="outbound", **params)
    twins.contents_alike("outbound")


@pytest.mark.parametrize("params", [
    {"UpdateExpression": "SET #n = :v, other = if_not_exists(other, :v)", "ExpressionAttributeNames": {"#n": "name"},
     "ExpressionAttributeValues": {":v": s("v")}, "ReturnValues": "ALL_NEW"},
    {"UpdateExpression": "SET #c = #c + :one, total = if_not_exists(total, :zero) - :one",
     "ExpressionAttributeNames": {"#c": "count"}, "ExpressionAttributeValues": {":one": n("1"), ":zero": n("0")},
     "ReturnValues": "UPDATED_NEW"},
    {"UpdateExpression": "ADD #c :two, tags :z, fresh :two, freshset :z", "ExpressionAttributeNames": {"#c": "count"},
     "ExpressionAttributeValues": {":two": n("2"), ":z": {"SS": ["z", "x"]}}, "ReturnValues": "ALL_NEW"},
    {"UpdateExpression": "DELETE tags :x REMOVE #n", "ExpressionAttributeNames": {"#n": "name"},
     "ExpressionAttributeValues": {":x": {"SS": ["x"]}}, "ReturnValues": "ALL_OLD"},
    {"UpdateExpression": "SET nested.leaf = :v, nested.#l[0] = :v, nested.#l[5] = :v",
     "ExpressionAttributeNames": {"#l": "list"}, "ExpressionAttributeValues": {":v": s("v")},
     "ReturnValues": "ALL_NEW"},
    {"UpdateExpression": "SET nested.#l = list_append(nested.#l, :more) REMOVE nested.leaf",
     "ExpressionAttributeNames": {"#l": "list"}, "ExpressionAttributeValues": {":more": {"L": [s("z")]}},
     "ReturnValues": "UPDATED_NEW"},
    {"UpdateExpression": "SET done = :yes", "ConditionExpression": "NOT contains(tags, :x)",
     "ExpressionAttributeValues": {":yes": {"BOOL": True}, ":x": s("x")},
     "ReturnValuesOnConditionCheckFailure": "ALL_OLD"},
    {"UpdateExpression": "ADD #n :one", "ExpressionAttributeNames": {"#n": "name"},
     "ExpressionAttributeValues": {":one": n("1")}},  # a number added to a string
    {"UpdateExpression": "SET x = missing + :one", "ExpressionAttributeValues": {":one": n("1")}},
    {"UpdateExpression": "SET pk = :v", "ExpressionAttributeValues": {":v": s("v")}},  # a key attribute
    {"UpdateExpression": "SET a = :v, a = :v", "ExpressionAttributeValues": {":v": s("v")}},
    {"UpdateExpression": "SET nested = :v REMOVE nested.leaf", "ExpressionAttributeValues": {":v": s("v")}},
    {"UpdateExpression": "SET a = :v SET b = :v", "ExpressionAttributeValues": {":v": s("v")}},
    {"UpdateExpression": "SET missing.inner = :v", "ExpressionAttributeValues": {":v": s("v")}},
    {"UpdateExpression": "SET a = :v", "ExpressionAttributeValues": {":v": s("v"), ":unused": s("u")}},
    {"UpdateExpression": "SET a = :v", "ExpressionAttributeValues": {":v": {"NS": []}}},
])
@pytest.mark.parametrize("key", [{"pk": s("A"), "sk": s("1")}, {"pk": s("A"), "sk": s("new")}],
                         ids=["existing", "new"])
def test_update_item(twins: Twins, params: dict, key: dict) -> None:
    put(twins)
    twins.call("update_item", TableName="outbound", Key=key, **params)
    twins.contents_alike("outbound")


@pytest.mark.parametrize("params", [
    {},
    {"ReturnValues": "ALL_OLD"},
    {"ConditionExpression": "#c > :nine", "ExpressionAttributeNames": {"#c": "count"},
     "ExpressionAttributeValues": {":nine": n("9")}, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"},
])
def test_delete_item(twins: Twins, params: dict) -> None:
    put(twins)
    twins.call("delete_item", TableName="outbound", Key={"pk": s("A"), "sk": s("1")}, **params)
    twins.contents_alike("outbound")


def test_an_unknown_table_is_not_found(twins: Twins) -> None:
    assert twins.call("get_item", TableName="nope", Key={"pk": s("A")})[:2] == ("error", "ResourceNotFoundException")


# -- queries and batches ------------------------------------------------------------------------
@pytest.mark.parametrize("params", [
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": s("A")}},
    {"KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b",
     "ExpressionAttributeValues": {":p": s("A"), ":a": s("10"), ":b": s("3")}, "ConsistentRead": True},
    {"KeyConditionExpression": "sk > :a AND pk = :p", "ExpressionAttributeValues": {":p": s("A"), ":a": s("2")},
     "ScanIndexForward": False},
    {"KeyConditionExpression": "pk = :p AND begins_with(sk, :one)",
     "ExpressionAttributeValues": {":p": s("A"), ":one": s("1")}},
    {"KeyConditionExpression": "pk = :p", "FilterExpression": "#c >= :c", "ExpressionAttributeNames": {"#c": "count"},
     "ExpressionAttributeValues": {":p": s("A"), ":c": n("3")}, "Limit": 3},
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": s("A")}, "Limit": 2,
     "ExclusiveStartKey": {"pk": s("A"), "sk": s("10")}},
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": s("A")}, "Select": "COUNT"},
    {"KeyConditionExpression": "pk = :p", "ProjectionExpression": "sk",
     "ExpressionAttributeValues": {":p": s("A")}},
    {"KeyConditionExpression": "sk = :s", "ExpressionAttributeValues": {":s": s("1")}},  # no partition key
    {"KeyConditionExpression": "pk = :p AND #c = :c", "ExpressionAttributeNames": {"#c": "count"},
     "ExpressionAttributeValues": {":p": s("A"), ":c": n("1")}},  # not a key
])
def test_query(twins: Twins, params: dict) -> None:
    for position, sort_key in enumerate(["1", "10", "2", "3", "30"]):
        put(twins, {"pk": s("A"), "sk": s(sort_key), "count": n(str(position))})
    put(twins, {"pk": s("B"), "sk": s("1")})
    twins.call("query", TableName="outbound", **params)


@pytest.mark.parametrize("params", [
    {"TableName": "outbound"},
    {"TableName": "outbound", "FilterExpression": "#c > :one", "ProjectionExpression": "pk, sk",
     "ExpressionAttributeNames": {"#c": "count"}, "ExpressionAttributeValues": {":one": n("1")}},
    {"TableName": "outbound", "Limit": 2, "ExclusiveStartKey": {"pk": s("A"), "sk": s("10")}},
    {"TableName": "ledger", "IndexName": "ByDestination"},
    {"TableName": "ledger", "IndexName": "ByDestination", "ConsistentRead": True},
])
def test_scan(twins: Twins, params: dict) -> None:
    for position, sort_key in enumerate(["1", "10", "2"]):
        put(twins, {"pk": s("A"), "sk": s(sort_key), "count": n(str(position))})
    twins.call("put_item", TableName="ledger", Item={"message_id": s("m1"), "destination_number": s("+1"),
                                                      "requested_at": s("2026")})
    twins.call("put_item", TableName="ledger", Item={"message_id": s("m2")})  # not in the index
    twins.call("scan", **params)


@pytest.mark.parametrize("params", [
    {"KeyConditionExpression": "destination_number = :d", "ExpressionAttributeValues": {":d": s("+1")}},
    {"KeyConditionExpression": "destination_number = :d AND requested_at > :t", "ScanIndexForward": False,
     "ExpressionAttributeValues": {":d": s("+1"), ":t": s("2026-01")}},
    {"KeyConditionExpression": "destination_number = :d", "ExpressionAttributeValues": {":d": s("+1")},
     "ConsistentRead": True},
])
def test_query_on_a_global_secondary_index(twins: Twins, params: dict) -> None:
    for message, at in (("m1", "2026-02"), ("m2", "2026-01"), ("m3", "2026-03")):
        twins.call("put_item", TableName="ledger", Item={"message_id": s(message), "destination_number": s("+1"),
                                                          "requested_at": s(at), "status": s("SENT")})
    twins.call("put_item", TableName="ledger", Item={"message_id": s("m4"), "destination_number": s("+2"),
                                                      "requested_at": s("2026-01")})
    twins.call("query", TableName="ledger", IndexName="ByDestination", **params)


@pytest.mark.parametrize("params", [
    {"RequestItems": {"outbound": {"Keys": [{"pk": s("A"), "sk": s("1")}, {"pk": s("A"), "sk": s("9")}]},
                      "contacts": {"Keys": [{"phone_number": s("+1"), "record": s("PROFILE")}],
                                   "ConsistentRead": True}}},
    {"RequestItems": {"outbound": {"Keys": [{"pk": s("A"), "sk": s("1")}], "ProjectionExpression": "#n",
                                   "ExpressionAttributeNames": {"#n": "name"}}}},
    {"RequestItems": {"outbound": {"Keys": [{"pk": s("A"), "sk": s("1")}] * 2}}},
    {"RequestItems": {"outbound": {"Keys": [{"pk": s("A"), "sk": s(str(i))} for i in range(101)]}}},
])
def test_batch_get_item(twins: Twins, params: dict) -> None:
    put(twins)
    twins.call("batch_get_item", **params)


@pytest.mark.parametrize("params", [
    {"RequestItems": {"outbound": [{"PutRequest": {"Item": {"pk": s("B"), "sk": s(str(i))}}} for i in range(3)]
                      + [{"DeleteRequest": {"Key": {"pk": s("A"), "sk": s("1")}}}]}},
    {"RequestItems": {"outbound": [{"PutRequest": {"Item": {"pk": s("B"), "sk": s("1")}}}] * 2}},
])
def test_batch_write_item(twins: Twins, params: dict) -> None:
    put(twins)
    twins.call("batch_write_item", **params)
    twins.contents_alike("outbound")


# -- the adapters the campaign uses ------------------------------------------------------------------
AT = datetime(2026, 3, 4, 18, 0, tzinfo=timezone.utc)


def test_the_contacts_adapter_leaves_both_tables_alike(twins: Twins) -> None:
    results = []
    for table in twins.tables("contacts"):
        contacts = ContactsTable(table)
        run = CampaignRef("spring", "r1")
        results.append([
            contacts.import_contact(ContactImport("+12065550100", "web-form", AT, {"first_name": "Ann"})),
            contacts.import_contact(ContactImport("+12065550101", attributes={"first_name": "Bob"})),
            contacts.import_contact(ContactImport("+12065550100", "web-form", AT, {"first_name": "Ann"})),
            contacts.record_consent(number="+12065550100", change=ConsentChange.OPTED_OUT, at_ms=1_772_000_000_000,
                                    message_id="stop-1", keyword="STOP", our_number="+18445550100"),
            contacts.record_consent(number="+12065550100", change=ConsentChange.OPTED_IN, at_ms=1_771_000_000_000,
                                    message_id="old", keyword="START", our_number="+18445550100"),
            contacts.record_promotional_send("+12065550101", "key-1", run, AT),
            contacts.record_promotional_send("+12065550101", "key-1", run, AT),
            contacts.record_promotional_send("+12065550101", "key-2", run, AT),
            contacts.contact_state("+12065550100"), contacts.contact_state("+12065550101"),
            contacts.contact_states(["+12065550100", "+12065550101", "+12065550199"]),
            contacts.is_opted_out("+12065550100"),
        ])
    assert results[0] == results[1]
    twins.contents_alike("contacts")


def test_outcomes_and_campaign_runs_leave_both_tables_alike(twins: Twins) -> None:
    results = []
    for table in twins.tables("outbound"):
        outcomes, runs = RequestOutcomes(table), CampaignRuns(table)
        runs.start("spring", "r1", AT, template_id="spring", template_lacks_opt_out_instruction=True)
        runs.start("spring", "r1", AT)
        results.append([
            outcomes.record("k1", HELD, reason="QUIET_HOURS", at=AT), outcomes.record("k1", HELD, at=AT),
            outcomes.record("k1", SENT, message_id="m1", at=AT), outcomes.record("k1", REFUSED, reason="X", at=AT),
            outcomes.get("k1"), outcomes.get("k2"),
            runs.add_counts("spring", "r1", {"queued": 10, "skipped_OPTED_OUT": 2}, chunk="start"),
            runs.add_counts("spring", "r1", {"queued": 10, "skipped_OPTED_OUT": 2}, chunk="start"),
            runs.add_counts("spring", "r1", {"sent": 1}), runs.add_counts("spring", "r1", {}, chunk="row-10"),
        ])
        runs.finish_fan_out("spring", "r1", AT)
        results[-1].append(runs.read("spring", "r1"))
    assert results[0] == results[1]
    twins.contents_alike("outbound")


def test_the_ledger_leaves_both_tables_alike(twins: Twins) -> None:
    events = [parse_delivery_event(delivery_event(kind, after_ms=ms, is_final=False))
              for kind, ms in (("TEXT_SUCCESSFUL", 400), ("TEXT_QUEUED", 100), ("TEXT_SUCCESSFUL", 400))]
    results = []
    for table in twins.tables("ledger"):
        ledger = MessageLedger(table, retention_days=400)
        ledger.record_sent(message_id=events[0].message_id, destination="+12065550100", origination="+18445550100",
                           context={"campaign": "spring/r1"}, sent_at_ms=1_772_647_200_000,
                           message_type="PROMOTIONAL", estimated_parts=1, sent_by="sender")
        results.append([ledger.apply(event) for event in events])
    assert results[0] == results[1]
    twins.contents_alike("ledger")


# -- what the service checks and moto does not (or gets wrong) ------------------------------------
@pytest.fixture(scope="module")
def fake_client() -> Any:
    return FakeDynamoDb(region=REGION).attach(boto3.Session(region_name=REGION)).client("dynamodb")


@pytest.fixture
def fake(fake_client: Any) -> Any:
    """A fake client with the outbound table holding ``ITEM``."""
    client = fake_client
    for name in client.list_tables()["TableNames"]:
        client.delete_table(TableName=name)
    create_outbound_table(client)
    client.put_item(TableName="outbound", Item=ITEM)
    return client


def validation_error(call: Any, **params: Any) -> str:
    with pytest.raises(ClientError) as raised:
        call(TableName="outbound", **params)
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    return raised.value.response["Error"]["Message"]


def test_numbers_are_stored_normalized_and_checked_like_the_service(fake: Any) -> None:
    fake.put_item(TableName="outbound", Item={"pk": s("A"), "sk": s("1"), "n": n("01.50"), "big": n("1E+2")})
    item = fake.get_item(TableName="outbound", Key={"pk": s("A"), "sk": s("1")})["Item"]
    assert (item["n"], item["big"]) == (n("1.5"), n("100"))
    fake.put_item(TableName="outbound", Item={"pk": s("A"), "sk": s("1"), "n": n("1" * 38 + "000")})
    for bad in ("1" * 39, "1E+126", "1E-131", "NaN", "twelve"):
        validation_error(fake.put_item, Item={"pk": s("A"), "sk": s("1"), "n": n(bad)})


def test_malformed_items_and_keys_are_refused(fake: Any) -> None:
    assert "does not match the schema" in validation_error(fake.get_item, Key={"pk": n("1"), "sk": s("1")})
    assert "duplicates" in validation_error(fake.put_item, Item={"pk": s("B"), "sk": s("1"), "t": {"SS": ["a", "a"]}})
    assert "more than one datatypes" in validation_error(fake.put_item, Item={"pk": {"S": "a", "N": "1"}, "sk": s("1")})


def test_placeholders_undefined_or_unused_and_syntax_errors_are_refused(fake: Any) -> None:
    key = {"Key": {"pk": s("A"), "sk": s("1")}}
    assert "not defined; attribute name: #c" in validation_error(fake.get_item, ProjectionExpression="#c", **key)
    assert "not defined; attribute name: #x" in validation_error(
        fake.put_item, Item=ITEM, ConditionExpression="#x = :v", ExpressionAttributeValues={":v": s("v")})
    assert "not defined; attribute value: :v" in validation_error(
        fake.put_item, Item=ITEM, ConditionExpression="pk = :v")
    assert "unused in expressions: keys: {:v}" in validation_error(
        fake.put_item, Item=ITEM, ConditionExpression="attribute_exists(pk)", ExpressionAttributeValues={":v": s("v")})
    assert "Syntax error" in validation_error(fake.put_item, Item=ITEM, ConditionExpression="pk = ")


def test_comparing_a_string_with_a_number_is_false_not_an_error(fake: Any) -> None:
    with pytest.raises(fake.exceptions.ConditionalCheckFailedException):
        fake.put_item(TableName="outbound", Item=ITEM, ConditionExpression="#n < :v",
                      ExpressionAttributeNames={"#n": "name"}, ExpressionAttributeValues={":v": n("1")})


def test_a_refused_update_writes_nothing(fake: Any) -> None:
    key = {"pk": s("A"), "sk": s("new")}
    assert "operator: ADD, operand type: STRING" in validation_error(
        fake.update_item, Key=key, UpdateExpression="ADD newattr :s", ExpressionAttributeValues={":s": s("s")})
    assert "Item" not in fake.get_item(TableName="outbound", Key=key)


def test_key_conditions_and_filters_are_checked_against_the_key_schema(fake: Any) -> None:
    assert "Primary key attribute: sk" in validation_error(
        fake.query, KeyConditionExpression="pk = :p", FilterExpression="sk = :s",
        ExpressionAttributeValues={":p": s("A"), ":s": s("1")})
    assert "BETWEEN operator requires upper bound" in validation_error(
        fake.query, KeyConditionExpression="pk = :p AND sk BETWEEN :b AND :a",
        ExpressionAttributeValues={":p": s("A"), ":a": s("10"), ":b": s("3")})
    assert "does not match schema type" in validation_error(
        fake.query, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": n("1")})


def test_reserved_words_are_refused_wherever_a_path_names_an_attribute(fake: Any) -> None:
    create_tables(fake)
    with pytest.raises(ClientError, match="reserved keyword: record"):
        fake.query(TableName="contacts", KeyConditionExpression="phone_number = :n AND record = :r",
                   ExpressionAttributeValues={":n": s("+1"), ":r": s("PROFILE")})
    assert "reserved keyword: status" in validation_error(fake.get_item, Key={"pk": s("A"), "sk": s("1")},
                                                          ProjectionExpression="nested.status")


def test_batches_above_the_service_limits_are_refused(fake: Any) -> None:
    with pytest.raises(ClientError, match="Too many items requested for the BatchWriteItem call"):
        fake.batch_write_item(RequestItems={"outbound": [
            {"PutRequest": {"Item": {"pk": s("B"), "sk": s(str(i))}}} for i in range(26)]})


def test_what_botocore_checks_never_reaches_the_fake(fake: Any) -> None:
    with pytest.raises(ParamValidationError):
        fake.get_item(TableName="outbound")
    with pytest.raises(ParamValidationError):
        fake.put_item(TableName="outbound", Item={"pk": {"S": 5}})


def test_what_the_fake_does_not_implement_fails_loudly(fake: Any) -> None:
    with pytest.raises(NotImplementedError):
        fake.transact_write_items(TransactItems=[{"Put": {"TableName": "outbound", "Item": ITEM}}])
    with pytest.raises(NotImplementedError):
        fake.get_item(TableName="outbound", Key={"pk": s("A"), "sk": s("1")}, AttributesToGet=["pk"])
