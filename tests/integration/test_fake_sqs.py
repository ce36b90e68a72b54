"""``tests.integration.fake_sqs`` against SQS: it refuses what the service refuses, and keeps
delays, visibility timeouts, receive counts and the redrive policy on its clock.

The refusals run on moto as well where moto checks them, so both must give the same error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ParamValidationError
from moto import mock_aws

from tests.integration.fake_sqs import FakeSqs
from two_way_sms_local.emulation import REGION
from two_way_sms_local.sms_emulator import SimulatedClock


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock()


@pytest.fixture
def fake(clock: SimulatedClock) -> FakeSqs:
    return FakeSqs(clock, region=REGION)


@pytest.fixture
def sqs(fake: FakeSqs) -> Any:
    return fake.attach(boto3.Session(region_name=REGION)).client("sqs")


@pytest.fixture(params=["fake", "moto"])
def either_sqs(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The fake, and moto for the same requests (both must answer alike)."""
    if request.param == "fake":
        yield FakeSqs(SimulatedClock(), region=REGION).attach(boto3.Session(region_name=REGION)).client("sqs")
    else:
        with mock_aws():
            yield boto3.Session(region_name=REGION).client("sqs")


def error_code(call: Any, **params: Any) -> str:
    with pytest.raises(ClientError) as raised:
        call(**params)
    return raised.value.response["Error"]["Code"]


# -- refused as the service refuses them (and as moto does) ---------------------------------------
ENTRY = {"Id": "a", "MessageBody": "hello"}


@pytest.mark.parametrize(("entries", "code"), [
    ([], "AWS.SimpleQueueService.EmptyBatchRequest"),
    ([{**ENTRY, "Id": str(n)} for n in range(11)], "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"),
    ([ENTRY, ENTRY], "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"),
    ([{**ENTRY, "Id": "a b"}], "AWS.SimpleQueueService.InvalidBatchEntryId"),
])
def test_a_malformed_batch_is_refused_whole(either_sqs: Any, entries: list[dict], code: str) -> None:
    url = either_sqs.create_queue(QueueName="outbound")["QueueUrl"]
    assert error_code(either_sqs.send_message_batch, QueueUrl=url, Entries=entries) == code
    assert either_sqs.receive_message(QueueUrl=url).get("Messages") is None


def test_a_batch_entry_with_a_delay_above_15_minutes_fails_alone(either_sqs: Any) -> None:
    url = either_sqs.create_queue(QueueName="outbound")["QueueUrl"]
    response = either_sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "late", "MessageBody": "x", "DelaySeconds": 901}, {"Id": "fine", "MessageBody": "y"}])
    assert [(f["Id"], f["Code"], f["SenderFault"]) for f in response["Failed"]] == [
        ("late", "InvalidParameterValue", True)]
    assert [s["Id"] for s in response["Successful"]] == ["fine"]


@pytest.mark.parametrize(("operation", "params", "code"), [
    ("send_message", {"MessageBody": "x", "DelaySeconds": 901}, "InvalidParameterValue"),
    ("receive_message", {"MaxNumberOfMessages": 11}, "InvalidParameterValue"),
    ("receive_message", {"MaxNumberOfMessages": 0}, "InvalidParameterValue"),
    ("receive_message", {"VisibilityTimeout": 43_201}, "InvalidParameterValue"),
    ("delete_message", {"ReceiptHandle": "not-a-handle"}, "ReceiptHandleIsInvalid"),
])
def test_out_of_range_parameters_and_unknown_receipt_handles_are_refused(
        either_sqs: Any, operation: str, params: dict, code: str) -> None:
    url = either_sqs.create_queue(QueueName="outbound")["QueueUrl"]
    assert error_code(getattr(either_sqs, operation), QueueUrl=url, **params) == code


def test_an_unknown_queue_is_refused_with_the_modeled_exception(either_sqs: Any) -> None:
    url = either_sqs.create_queue(QueueName="outbound")["QueueUrl"]
    with pytest.raises(either_sqs.exceptions.QueueDoesNotExist):
        either_sqs.receive_message(QueueUrl=url + "-gone")


def test_what_botocore_checks_never_reaches_the_queue(either_sqs: Any) -> None:
    url = either_sqs.create_queue(QueueName="outbound")["QueueUrl"]
    with pytest.raises(ParamValidationError):
        either_sqs.send_message(QueueUrl=url)
    with pytest.raises(ParamValidationError):
        either_sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": 5}])


# -- refused by SQS, not checked by moto ----------------------------------------------------------
def test_a_body_sqs_cannot_carry_is_refused(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="outbound")["QueueUrl"]
    assert error_code(sqs.send_message, QueueUrl=url, MessageBody="a\x00b") == "InvalidMessageContents"
    assert error_code(sqs.send_message, QueueUrl=url, MessageBody="x" * 262_145) == "InvalidParameterValue"
    assert error_code(sqs.send_message, QueueUrl=url, MessageBody="") == "MissingParameter"


def test_unknown_or_out_of_range_queue_attributes_are_refused(sqs: Any) -> None:
    assert error_code(sqs.create_queue, QueueName="q", Attributes={"Colour": "red"}) == "InvalidAttributeName"
    assert error_code(sqs.create_queue, QueueName="q", Attributes={"DelaySeconds": "901"}) == "InvalidAttributeValue"
    with pytest.raises(NotImplementedError):
        sqs.create_queue(QueueName="q.fifo", Attributes={"FifoQueue": "true"})


# -- delays, visibility, receive counts, redrive ------------------------------------------------
def receive(sqs: Any, url: str, **params: Any) -> list[dict]:
    return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"],
                               **params).get("Messages", [])


def test_a_delayed_message_stays_invisible_until_its_delay_has_passed_on_the_clock(
        sqs: Any, fake: FakeSqs, clock: SimulatedClock) -> None:
    url = sqs.create_queue(QueueName="outbound")["QueueUrl"]
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "later", "MessageBody": "later", "DelaySeconds": 30},
                                                  {"Id": "now", "MessageBody": "now"}])
    assert [m["Body"] for m in receive(sqs, url, VisibilityTimeout=60)] == ["now"]
    assert fake.next_visible_at(url) == clock.now() + 30
    clock.advance(29.9)
    assert receive(sqs, url) == []
    clock.advance(0.1)
    later = receive(sqs, url)
    assert [m["Body"] for m in later] == ["later"]
    assert later[0]["Attributes"]["SentTimestamp"] == str(int((clock.now() - 30) * 1000))


def test_a_received_message_comes_back_after_its_visibility_timeout_with_a_new_handle_and_count(
        sqs: Any, clock: SimulatedClock) -> None:
    url = sqs.create_queue(QueueName="outbound", Attributes={"VisibilityTimeout": "360"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    first, = receive(sqs, url)
    assert first["Attributes"]["ApproximateReceiveCount"] == "1"
    clock.advance(359)
    assert receive(sqs, url) == []  # the queue's visibility timeout
    clock.advance(1)
    second, = receive(sqs, url, VisibilityTimeout=10)
    assert second["MessageId"] == first["MessageId"] and second["ReceiptHandle"] != first["ReceiptHandle"]
    assert second["Attributes"]["ApproximateReceiveCount"] == "2"
    assert second["Attributes"]["ApproximateFirstReceiveTimestamp"] == str(int((clock.now() - 360) * 1000))
    # An older receipt handle is accepted and deletes nothing; the latest one deletes.
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    clock.advance(10)
    third, = receive(sqs, url)
    response = sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": "0", "ReceiptHandle": third["ReceiptHandle"]}])
    assert response["Successful"] == [{"Id": "0"}] and not response.get("Failed")
    clock.advance(3600)
    assert receive(sqs, url) == []


def test_receives_take_at_most_ten_visible_messages_oldest_first(sqs: Any, fake: FakeSqs) -> None:
    url = sqs.create_queue(QueueName="outbound")["QueueUrl"]
    for start in range(0, 25, 5):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": f"m{n}"}
                                                      for n in range(start, start + 5)])
    bodies = [[m["Body"] for m in receive(sqs, url)] for _ in range(3)]
    assert bodies == [[f"m{n}" for n in range(0, 10)], [f"m{n}" for n in range(10, 20)],
                      [f"m{n}" for n in range(20, 25)]]
    assert fake.message_count(url) == 25  # received, not deleted
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "25"


def test_a_message_received_max_receive_count_times_moves_to_the_dead_letter_queue(
        sqs: Any, fake: FakeSqs, clock: SimulatedClock) -> None:
    dead_letters = sqs.create_queue(QueueName="dead-letters")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dead_letters, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 2})
    url = sqs.create_queue(QueueName="outbound", Attributes={"VisibilityTimeout": "60",
                                                             "RedrivePolicy": redrive})["QueueUrl"]
    sent = sqs.send_message(QueueUrl=url, MessageBody="poison")["MessageId"]
    for _ in range(2):
        assert [m["MessageId"] for m in receive(sqs, url)] == [sent]
        clock.advance(60)
    assert receive(sqs, url) == []
    assert fake.message_count(url) == 0 and fake.next_visible_at(url) is None
    moved, = receive(sqs, dead_letters)
    assert (moved["MessageId"], moved["Body"], moved["Attributes"]["ApproximateReceiveCount"]) == (sent, "poison", "3")
