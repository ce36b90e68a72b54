"""``dlq``: the stack's dead-letter queues: how many messages each holds, why, and moving them back.

The labels name the stack's outputs (``QUEUES``). ``show`` peeks: it receives with a short
visibility timeout and makes every message visible again at once, so nothing is deleted (each
peek adds one to a message's receive count; a dead-letter queue has no redrive of its own). It
prints each message's ``reason`` and ``source`` attributes and a preview that never holds a
whole body or a phone number: the body's length, its shape, the names of its fields, masked
numbers and the first words of a field that is not the customer's (a ``kind``, a ``messageType``).

``redrive`` moves messages back to the queue they came from, a batch of ten at a time: receive,
send the body unchanged, delete what was sent. (SQS's ``StartMessageMoveTask`` only moves
messages that a redrive policy put there, and the functions park messages themselves.) Only
the inbound and outbound queues have a source queue: the events function's dead letters are
Kinesis batch coordinates, the rule's are events EventBridge could not deliver and the
schedules' are invocations Scheduler could not make; read those with ``show``.
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass
from typing import Any, TextIO

from two_way_sms.phone import mask
from two_way_sms_client.cli.common import (
    Aws,
    AwsFailure,
    InvalidInput,
    add_json_option,
    bounded,
    emit,
    epoch_ms_text,
    mask_numbers,
)

PEEK_VISIBILITY_SECONDS = 20  # how long a peeked message is hidden if restoring it fails
MOVE_VISIBILITY_SECONDS = 60
PREVIEW_WORDS = 4


@dataclass(frozen=True)
class Queue:
    label: str
    output: str  # the stack output holding its URL (or ARN)
    source_output: str | None  # the queue its messages came from, when there is one to move them back to
    holds: str


QUEUES = {
    queue.label: queue
    for queue in (
        Queue("inbound", "InboundDeadLetterQueueUrl", "InboundQueueUrl", "inbound texts the inbound function parked"),
        Queue("outbound", "OutboundDeadLetterQueueUrl", "OutboundQueueUrl", "send requests the sender parked"),
        Queue("events", "EventsDeadLetterQueueUrl", None, "delivery event batches and records not recorded"),
        Queue(
            "delivery-rule",
            "DeliveryEventRuleDeadLetterQueueUrl",
            None,
            "delivery events EventBridge could not put on the stream",
        ),
        Queue("schedules", "ScheduleDeadLetterQueueArn", None, "schedules that could not reach the campaigns function"),
    )
}
_BY_NAME = {**{q.label: q for q in QUEUES.values()}, **{q.output.lower(): q for q in QUEUES.values()}}

# Fields that hold a phone number (masked) and fields worth a few words (never the customer's text).
_NUMBER_FIELDS = (
    "originationNumber",
    "destinationNumber",
    "destination",
    "destinationPhoneNumber",
    "originationPhoneNumber",
    "customer_number",
    "phone_number",
)
_SUMMARY_FIELDS = ("kind", "detail-type", "messageType", "templateId", "campaignId", "runId", "reason", "condition")


def queue_label(text: str) -> Queue:
    queue = _BY_NAME.get(text.lower())
    if queue is None:
        raise argparse.ArgumentTypeError(f"{text[:60]!r} is not a dead-letter queue: one of {', '.join(QUEUES)}")
    return queue


def register(commands: Any, where: argparse.ArgumentParser) -> None:
    dlq = commands.add_parser("dlq", help="the dead-letter queues: counts, reasons, redrive")
    sub = dlq.add_subparsers(dest="dlq_command", required=True, parser_class=type(dlq))
    listing = sub.add_parser("list", help="each dead-letter queue and how many messages it holds", parents=[where])
    add_json_option(listing)
    listing.set_defaults(handler=list_queues)
    labels = ", ".join(QUEUES)
    show = sub.add_parser(
        "show", help="peek at a queue's messages and their reasons (deletes nothing)", parents=[where]
    )
    show.add_argument("queue", type=queue_label, help=f"one of {labels} (or its stack output's name)")
    show.add_argument("--max", type=bounded(1, 100), default=10, help="at most this many messages (10; 1-100)")
    add_json_option(show)
    show.set_defaults(handler=show_queue)
    redrive = sub.add_parser("redrive", help="move a queue's messages back to their source queue", parents=[where])
    redrive.add_argument("queue", type=queue_label, help="inbound or outbound (or its stack output's name)")
    redrive.add_argument("--max", type=bounded(1, 1_000_000), help="move at most this many (default: all)")
    redrive.set_defaults(handler=redrive_queue)


# -- the commands ---------------------------------------------------------------------------------------
def list_queues(args: argparse.Namespace, aws: Aws, out: TextIO) -> int:
    outputs = aws.outputs()
    sqs = aws.client("sqs")
    rows = []
    for queue in QUEUES.values():
        row: dict[str, Any] = {"queue": queue.label, "output": queue.output, "holds": queue.holds}
        if queue.output in outputs:
            attributes = sqs.get_queue_attributes(
                QueueUrl=aws.queue_url(outputs[queue.output]),
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                ],
            )["Attributes"]
            row["visible"] = int(attributes.get("ApproximateNumberOfMessages", 0))
            row["inFlight"] = int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0))
            row["delayed"] = int(attributes.get("ApproximateNumberOfMessagesDelayed", 0))
        rows.append(row)
    lines = []
    for row in rows:
        if "visible" not in row:
            lines.append(f"{row['queue']:<14} -      not in this stack ({row['output']})")
        else:
            extra = f" (+{row['inFlight']} in flight)" if row["inFlight"] else ""
            lines.append(f"{row['queue']:<14} {row['visible']:<6} {row['holds']}{extra}")
    emit(out, args, {"queues": rows}, lines)
    return 0


def show_queue(args: argparse.Namespace, aws: Aws, out: TextIO) -> int:
    queue: Queue = args.queue
    url = aws.queue_url(aws.output(queue.output))
    messages = peek(aws.client("sqs"), url, args.max)
    shown = [describe(message) for message in messages]
    lines = [f"{queue.label}: {len(shown)} message(s) shown (peeked, not deleted)"]
    for entry in shown:
        lines.append(f"- {entry['messageId']}  sent {entry['sentAt']}  receives {entry['receiveCount']}")
        lines.append(f"    reason: {entry['reason'] or '-'}")
        lines.append(f"    source: {entry['source'] or '-'}")
        for name, value in entry["attributes"].items():
            lines.append(f"    {name}: {value}")
        lines.append(f"    body: {entry['preview']}")
    emit(out, args, {"queue": queue.label, "messages": shown}, lines)
    return 0


def redrive_queue(args: argparse.Namespace, aws: Aws, out: TextIO) -> int:
    queue: Queue = args.queue
    if queue.source_output is None:
        raise InvalidInput(
            f"dlq {queue.label} has no source queue to move its messages back to ({queue.holds}): "
            f"read them with `two-way-sms dlq show {queue.label}`"
        )
    url = aws.queue_url(aws.output(queue.output))
    target = aws.queue_url(aws.output(queue.source_output))
    moved, failed = move(aws.client("sqs"), url, target, args.max)
    print(f"moved {moved} message(s) from the {queue.label} dead-letter queue back to {queue.source_output}", file=out)
    if failed:
        raise AwsFailure(f"{failed} message(s) could not be sent back to {queue.source_output}: they stay in the queue")
    return 0


# -- SQS ------------------------------------------------------------------------------------------------
def peek(sqs: Any, url: str, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` messages, each once, made visible again before returning (nothing deleted)."""
    seen: dict[str, dict[str, Any]] = {}
    handles: list[str] = []
    try:
        while len(seen) < limit:
            received = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(10, limit - len(seen)),
                VisibilityTimeout=PEEK_VISIBILITY_SECONDS,
                WaitTimeSeconds=0,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["All"],
            ).get("Messages", [])
            handles += [message["ReceiptHandle"] for message in received]
            fresh = [message for message in received if message["MessageId"] not in seen]
            if not fresh:
                break
            seen.update({message["MessageId"]: message for message in fresh})
    finally:
        for start in range(0, len(handles), 10):
            sqs.change_message_visibility_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                    for n, handle in enumerate(handles[start : start + 10])
                ],
            )
    return list(seen.values())


def move(sqs: Any, url: str, target: str, limit: int | None) -> tuple[int, int]:
    """Moves messages from ``url`` to ``target`` (body unchanged) until none is left or ``limit``; (moved, failed)."""
    moved = failed = 0
    while limit is None or moved < limit:
        batch = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=min(10, (limit - moved) if limit is not None else 10),
            VisibilityTimeout=MOVE_VISIBILITY_SECONDS,
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not batch:
            break
        try:
            sent = sqs.send_message_batch(
                QueueUrl=target,
                Entries=[{"Id": str(n), "MessageBody": message["Body"]} for n, message in enumerate(batch)],
            )
        except Exception:
            _show_again(sqs, url, batch)
            raise
        done = {entry["Id"] for entry in sent.get("Successful", [])}
        if done:
            sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": message["ReceiptHandle"]}
                    for n, message in enumerate(batch)
                    if str(n) in done
                ],
            )
        moved += len(done)
        lost = [message for n, message in enumerate(batch) if str(n) not in done]
        if lost:  # visible again at once, and stop: the target refuses, trying more would not help
            failed += len(lost)
            _show_again(sqs, url, lost)
            break
    return moved, failed


def _show_again(sqs: Any, url: str, messages: list[dict[str, Any]]) -> None:
    sqs.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[
            {"Id": str(n), "ReceiptHandle": message["ReceiptHandle"], "VisibilityTimeout": 0}
            for n, message in enumerate(messages)
        ],
    )


# -- what is shown of a message ---------------------------------------------------------------------------
def describe(message: dict[str, Any]) -> dict[str, Any]:
    attributes = {name: value.get("StringValue", "") for name, value in message.get("MessageAttributes", {}).items()}
    system = message.get("Attributes", {})
    return {
        "messageId": message["MessageId"],
        "sentAt": epoch_ms_text(system.get("SentTimestamp")),
        "receiveCount": int(system.get("ApproximateReceiveCount", 0)),
        "reason": mask_numbers(attributes.pop("reason", "")) or None,
        "source": mask_numbers(attributes.pop("source", "")) or None,
        "attributes": {name: mask_numbers(value) for name, value in sorted(attributes.items())},
        "preview": preview(message.get("Body", "")),
    }


def preview(body: str) -> str:
    """The body's length and shape, never its text: field names, masked numbers, a few words of one
    field that is not the customer's."""
    size = f"{len(body):,} characters"
    try:
        data = json.loads(body)
    except ValueError:
        return f"{size}, not JSON"
    if not isinstance(data, dict):
        return f"{size}, a JSON {type(data).__name__}"
    shape = "JSON object"
    if data.get("Type") == "Notification" and isinstance(data.get("Message"), str):
        shape = "SNS notification"
        try:
            inner = json.loads(data["Message"])
        except ValueError:
            return f"{size}, {shape} whose message is not JSON"
        if not isinstance(inner, dict):
            return f"{size}, {shape} of a JSON {type(inner).__name__}"
        data = inner
    parts = [size, f"{shape} with {', '.join(sorted(str(key) for key in data)[:12])}"]
    for field in _NUMBER_FIELDS:
        if isinstance(data.get(field), str):
            parts.append(f"{field}={mask(data[field]) if _looks_like_number(data[field]) else '(not a number)'}")
    for field in _SUMMARY_FIELDS:
        value = data.get(field)
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            words = str(value).split()
            shown = " ".join(words[:PREVIEW_WORDS]) + (" ..." if len(words) > PREVIEW_WORDS else "")
            parts.append(f"{field}={mask_numbers(shown)}")
            break
    return "; ".join(parts)


def _looks_like_number(value: str) -> bool:
    return re.fullmatch(r"\+?\d{3,20}", value.strip()) is not None
