"""Bad input on the outbound queue is parked at once with its reason; every failed attempt is logged
once with its SQS message id and reason, so each dead-letter entry can be explained from the logs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.test_sender import SEATTLE, SenderHarness, build_harness, emitted_metrics, send_request
from two_way_sms.adapters.ledger import MessageLedger
from two_way_sms.adapters.request_outcomes import RequestOutcomes
from two_way_sms.adapters.sent_records import SentRecords


@pytest.fixture
def harness(monkeypatch) -> Iterator[SenderHarness]:
    with build_harness(monkeypatch, dead_letter_queue=True) as built:
        yield built


def parked(harness: SenderHarness) -> list[tuple[str, dict[str, str]]]:
    """The dead-letter queue's messages: each body as it was and its message attributes."""
    messages = harness.sqs.receive_message(
        QueueUrl=harness.dead_letter_queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages", [])
    return [
        (m["Body"], {name: value["StringValue"] for name, value in m["MessageAttributes"].items()}) for m in messages
    ]


def log_lines(harness: SenderHarness) -> list[dict[str, Any]]:
    return [json.loads(line) for line in harness.logs.getvalue().splitlines()]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "request is not JSON (Expecting value: line 1 column 1 (char 0))"),
        (json.dumps(send_request("m-1", destination="+1 555")), "destination: not a possible phone number: ******"),
        (
            json.dumps(send_request("m-1", destination="+999123456789")),
            "destination: not a possible phone number: +9991******89",
        ),
        (json.dumps({**send_request("m-1"), "sendafter": "tomorrow"}), "request has unknown fields: sendafter"),
        (json.dumps(send_request("m" * 129)), "idempotency key"),
    ],
)
def test_a_malformed_request_goes_straight_to_the_dead_letter_queue_with_its_reason(harness, capsys, body, reason):
    harness.submit(body, send_request("good-1"))

    result = harness.invoke_once()

    assert result == {"batchItemFailures": []}  # not retried: it could never succeed
    assert [t.context["sendKey"] for t in harness.sms.sent] == ["good-1"] and harness.pending() == []
    [(parked_body, attributes)] = parked(harness)
    assert parked_body == body  # as it was: a redrive after a fix puts it back on the queue
    assert attributes["reason"].startswith(reason) and attributes["source"] == "sender"
    [line] = [line for line in log_lines(harness) if "parked" in line["message"]]
    assert line["level"] == "ERROR" and line["reason"] == attributes["reason"]
    assert line["sqs_message_id"] == attributes["sqsMessageId"] and attributes["receiveCount"] == "1"
    assert SEATTLE not in harness.logs.getvalue() and "Your code is" not in harness.logs.getvalue()
    assert emitted_metrics(capsys)["OutboundMalformed"] == 1


def test_every_failed_attempt_is_logged_once_with_its_message_id_and_reason(harness, monkeypatch):
    def table_down(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the outbound table is unavailable")

    # Every plan ends by recording its outcome (the function's adapter: the harness's reads go on).
    monkeypatch.setattr(RequestOutcomes, "record", table_down)
    harness.opt_out(SEATTLE)  # a refusal, recorded in the outbound table
    harness.submit(send_request("r-1"))

    harness.drain()

    [dead] = harness.dead_letters  # five receives, then the queue's redrive policy
    failures = [line for line in log_lines(harness) if line.get("sqs_message_id") == dead.message_id]
    assert len(failures) == 5 and all(line["level"] == "ERROR" for line in failures)
    assert {line["reason"] for line in failures} == {"RuntimeError: the outbound table is unavailable"}
    assert [line["receive_count"] for line in failures] == ["1", "2", "3", "4", "5"]
    assert parked(harness) == []  # a passing failure is retried, not parked


def test_a_failed_send_is_logged_with_its_message_id_and_reason(harness, monkeypatch):
    def ledger_down(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("ledger throttled")

    # The function's ledger is its own: its one write after the send fails, then its own write.
    monkeypatch.setattr(SentRecords, "record", ledger_down)
    monkeypatch.setattr(MessageLedger, "record_sent", ledger_down)
    harness.submit(send_request("s-1"))

    result = harness.invoke_once()

    [failure] = result["batchItemFailures"]
    [line] = [line for line in log_lines(harness) if line.get("sqs_message_id") == failure["itemIdentifier"]]
    assert line["reason"] == "RuntimeError: ledger throttled" and line["message"].startswith("send failed")


def test_without_a_dead_letter_queue_a_malformed_request_fails_and_is_logged(monkeypatch):
    with build_harness(monkeypatch) as harness:
        harness.submit("not json")
        result = harness.invoke_once()
        [failure] = result["batchItemFailures"]
        [line] = [line for line in log_lines(harness) if line.get("sqs_message_id") == failure["itemIdentifier"]]
        assert line["reason"].startswith("InvalidSendRequest: request is not JSON")
