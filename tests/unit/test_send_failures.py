"""Explaining failures: each failed record logged once with its id and reason, bad input parked with
its reason, and the month's spend read at most once per cache period."""

from decimal import Decimal
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch import EventType, process_partial_response

from two_way_sms.adapters.batch_failures import LoggedBatchProcessor, failure_reason, record_identity
from two_way_sms.adapters.dead_letters import MAX_REASON_CHARACTERS, DeadLetterQueue
from two_way_sms.adapters.spend import MonthSpend


class RecordingLogger:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []

    def error(self, message: str, **keys: Any) -> None:
        self.lines.append(("error", message, keys))


def sqs_event(*bodies: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m-{n}",
                "receiptHandle": f"r-{n}",
                "body": body,
                "md5OfBody": "",
                "attributes": {"ApproximateReceiveCount": "3"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:outbound",
                "awsRegion": "us-east-1",
            }
            for n, body in enumerate(bodies)
        ]
    }


# -- one line per failed record -------------------------------------------------------------
def test_each_failed_record_is_logged_once_with_its_message_id_and_reason():
    log = RecordingLogger()

    def handle(record: Any) -> None:
        if record.body == "bad":
            raise RuntimeError("the outbound table said no for +14255550182")

    processor = LoggedBatchProcessor(EventType.SQS, failure_logger=log)
    response = process_partial_response(
        event=sqs_event("good", "bad", "good"), record_handler=handle, processor=processor
    )

    assert response == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    [(level, message, keys)] = log.lines
    assert level == "error" and "retried" in message
    assert keys["sqs_message_id"] == "m-1" and keys["receive_count"] == "3"
    assert keys["reason"] == "RuntimeError: the outbound table said no for +1425*****82"
    assert keys["error_type"] == "RuntimeError" and keys["exc_info"][0] is RuntimeError


@pytest.mark.parametrize(
    ("max_receive_count", "said"),
    [
        (3, "record failed; it was its last receive: it goes to the dead-letter queue"),  # received 3 times
        (5, "record failed; it goes back to its queue and is retried"),
        (None, "record failed; it goes back to its queue and is retried"),  # the redrive unknown
    ],
)
def test_a_failed_records_line_says_whether_its_last_receive_sends_it_to_the_dead_letter_queue(max_receive_count, said):
    log = RecordingLogger()

    def handle(record: Any) -> None:
        raise RuntimeError("DynamoDB is unavailable")

    processor = LoggedBatchProcessor(EventType.SQS, failure_logger=log, max_receive_count=max_receive_count)
    process_partial_response(event=sqs_event("a"), record_handler=handle, processor=processor)

    assert [message for _, message, _ in log.lines] == [said]


def test_a_whole_failed_batch_is_reported_not_raised():
    def handle(record: Any) -> None:
        raise ValueError("nope")

    response = process_partial_response(
        event=sqs_event("a", "b"),
        record_handler=handle,
        processor=LoggedBatchProcessor(EventType.SQS, failure_logger=RecordingLogger()),
    )
    assert len(response["batchItemFailures"]) == 2


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ValueError("line one\nline two"), "ValueError: line one line two"),
        (RuntimeError("call (206) 555-0100 or 206-555-0100"), "RuntimeError: call 20655***00 or 20655***00"),
        (RuntimeError("at 2026-03-04T12:00:00Z, 3 parts"), "RuntimeError: at 2026-03-04T12:00:00Z, 3 parts"),
        (None, "unknown error"),
    ],
)
def test_a_reason_is_one_line_without_a_phone_number(error, expected):
    assert failure_reason(error) == expected


def test_a_reason_is_cut_to_500_characters():
    assert len(failure_reason(RuntimeError("x" * 2000))) == 500


def test_a_kinesis_record_is_named_by_its_sequence_number():
    class Kinesis:
        sequence_number = "4959"

    class Record:
        kinesis = Kinesis()

    assert record_identity(Record()) == {"sequence_number": "4959"} and record_identity(None) == {}


# -- parking ----------------------------------------------------------------------------------
class RecordingSqs:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, **params: Any) -> dict[str, str]:
        self.sent.append(params)
        return {"MessageId": f"dlq-{len(self.sent)}"}


def test_a_parked_message_keeps_its_body_and_carries_its_reason_as_attributes():
    sqs = RecordingSqs()
    parked_as = DeadLetterQueue(sqs, "https://dlq").park(
        "not json",
        reason="request is not JSON (Expecting value: line 1 column 1 (char 0))",
        source="sender",
        attributes={"sqsMessageId": "m-1", "receiveCount": ""},
    )
    [sent] = sqs.sent
    assert parked_as == "dlq-1" and sent["QueueUrl"] == "https://dlq" and sent["MessageBody"] == "not json"
    assert {name: value["StringValue"] for name, value in sent["MessageAttributes"].items()} == {
        "reason": "request is not JSON (Expecting value: line 1 column 1 (char 0))",
        "source": "sender",
        "sqsMessageId": "m-1",
        "receiveCount": "-",
    }  # SQS takes no empty attribute value


def test_a_parked_event_is_wrapped_with_its_reason_and_a_long_reason_is_cut():
    sqs = RecordingSqs()
    DeadLetterQueue(sqs, "https://dlq").park_event({"kind": "party"}, reason="r" * 5000, source="campaigns-function")
    [sent] = sqs.sent
    assert '"event": {"kind": "party"}' in sent["MessageBody"]
    assert '"source": "campaigns-function"' in sent["MessageBody"]
    assert len(sent["MessageAttributes"]["reason"]["StringValue"]) == MAX_REASON_CHARACTERS


# -- the month's spend, cached briefly --------------------------------------------------------
def test_the_months_spend_is_read_once_per_cache_period_and_again_for_a_new_month():
    reads: list[str] = []

    def read(month: str) -> Decimal:
        reads.append(month)
        return Decimal("12.50") if month == "2026-03" else Decimal(0)

    spend = MonthSpend(read, ttl_seconds=30)
    assert spend.usd("2026-03", 1000.0) == Decimal("12.50")
    assert spend.usd("2026-03", 1029.0) == Decimal("12.50")  # cached
    assert spend.usd("2026-03", 1030.0) == Decimal("12.50")  # read again
    assert spend.usd("2026-04", 1031.0) == Decimal(0)  # the month turned: read at once
    spend.forget()
    spend.usd("2026-04", 1032.0)
    assert reads == ["2026-03", "2026-03", "2026-04", "2026-04"] and spend.reads == 4
