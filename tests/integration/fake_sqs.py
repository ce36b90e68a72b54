"""An in-memory SQS (standard queues) on an injected clock, for boto3 clients (``tests.integration.fake_aws``).

What it does as SQS does, on ``clock.now()`` instead of the wall clock:

- a message sent with ``DelaySeconds`` (or into a queue with a ``DelaySeconds`` attribute)
  is invisible until its delay has passed;
- a received message is invisible for the receive's ``VisibilityTimeout`` (else the
  queue's) and comes back after it unless deleted; every receive gives a new receipt
  handle and counts ``ApproximateReceiveCount``; only the latest handle deletes (an older
  one "succeeds" and deletes nothing, as documented);
- a ``RedrivePolicy`` moves a message to its dead-letter queue when a receive would
  exceed ``maxReceiveCount``; a message older than ``MessageRetentionPeriod`` is dropped;
- requests are checked as the service checks them: batch sizes and entry ids, delays,
  visibility timeouts, ``MaxNumberOfMessages``, message size and characters, receipt
  handles, queue attributes, unknown queues (the error codes of the query-compatible JSON
  protocol); a batch entry the service refuses is reported in ``Failed`` and the others
  are sent.

Receives return the visible messages oldest-visible first (a standard queue promises no
order; this one is just deterministic). Not modeled: FIFO queues, message attributes
(both raise ``NotImplementedError``), long polling (``WaitTimeSeconds`` returns at once),
in-flight limits and eventual consistency of the approximate counts.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from tests.integration.fake_aws import ACCOUNT, JsonServiceFake, ServiceError

DEFAULT_REGION = "us-east-1"
MAX_DELAY_SECONDS = 900
MAX_VISIBILITY_TIMEOUT = 43_200
MAX_MESSAGE_BYTES = 262_144
DEFAULT_ATTRIBUTES = {
    "DelaySeconds": "0", "VisibilityTimeout": "30", "MessageRetentionPeriod": "345600",
    "MaximumMessageSize": str(MAX_MESSAGE_BYTES), "ReceiveMessageWaitTimeSeconds": "0",
}
SETTABLE_ATTRIBUTES = {*DEFAULT_ATTRIBUTES, "RedrivePolicy", "Policy", "KmsMasterKeyId",
                       "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled", "RedriveAllowPolicy"}
_BATCH_ENTRY_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")
# Characters SQS takes in a message: #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF.
_INVALID_CHARACTER = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class Clock(Protocol):
    def now(self) -> float: ...


@dataclass
class _Message:
    message_id: str
    body: str
    sent_at: float
    visible_at: float
    receive_count: int = 0
    first_received_at: float | None = None
    receipt_handle: str | None = None  # the latest receive's


@dataclass
class _Queue:
    name: str
    url: str
    arn: str
    attributes: dict[str, str]
    messages: dict[str, _Message] = field(default_factory=dict)  # by message id, in sending order
    # (visible_at, sequence, message id): a message's entry is stale when its visible_at changed.
    _visibility: list[tuple[float, int, str]] = field(default_factory=list)

    def schedule(self, message: _Message, sequence: int) -> None:
        heapq.heappush(self._visibility, (message.visible_at, sequence, message.message_id))

    def pop_visible(self, now: float) -> _Message | None:
        while self._visibility and self._visibility[0][0] <= now:
            visible_at, _, message_id = heapq.heappop(self._visibility)
            message = self.messages.get(message_id)
            if message is not None and message.visible_at == visible_at:
                return message
        return None

    def next_visible_at(self) -> float | None:
        while self._visibility:
            visible_at, _, message_id = self._visibility[0]
            message = self.messages.get(message_id)
            if message is not None and message.visible_at == visible_at:
                return visible_at
            heapq.heappop(self._visibility)  # stale: deleted, or received since
        return None


class FakeSqs(JsonServiceFake):
    service_name = "sqs"
    error_namespace = "com.amazonaws.sqs"

    def __init__(self, clock: Clock, *, region: str = DEFAULT_REGION) -> None:
        self.clock, self.region = clock, region
        self._queues: dict[str, _Queue] = {}  # by name
        self._sequence = itertools.count()
        self._handles: dict[str, tuple[str, str]] = {}  # receipt handle -> (queue name, message id)

    # -- test helpers -----------------------------------------------------------------------
    def next_visible_at(self, queue_url: str) -> float | None:
        """When the next message of the queue becomes visible (None: the queue is empty)."""
        return self._queue(queue_url).next_visible_at()

    def message_count(self, queue_url: str) -> int:
        """Every message in the queue: visible, delayed and in flight."""
        return len(self._queue(queue_url).messages)

    # -- queues -----------------------------------------------------------------------------
    def create_queue(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["QueueName"]
        if name.endswith(".fifo"):
            raise NotImplementedError("the SQS fake has standard queues only")
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,80}", name):
            raise _invalid_parameter("Can only include alphanumeric characters, hyphens, or underscores. "
                                     "1 to 80 in length")
        attributes = {**DEFAULT_ATTRIBUTES, **self._checked_attributes(request.get("Attributes", {}))}
        existing = self._queues.get(name)
        if existing is not None:
            if any(existing.attributes.get(k) != v for k, v in attributes.items()):
                raise ServiceError("QueueNameExists", "A queue already exists with the same name and a "
                                   "different value for attribute(s)", query_code="QueueAlreadyExists")
            return {"QueueUrl": existing.url}
        url = f"https://sqs.{self.region}.amazonaws.com/{ACCOUNT}/{name}"
        self._queues[name] = _Queue(name, url, f"arn:aws:sqs:{self.region}:{ACCOUNT}:{name}", attributes)
        return {"QueueUrl": url}

    def get_queue_url(self, request: dict[str, Any]) -> dict[str, Any]:
        queue = self._queues.get(request["QueueName"])
        if queue is None:
            raise _no_queue()
        return {"QueueUrl": queue.url}

    def get_queue_attributes(self, request: dict[str, Any]) -> dict[str, Any]:
        queue = self._queue(request["QueueUrl"])
        now = self.clock.now()
        delayed = sum(1 for m in queue.messages.values() if m.visible_at > now and m.receive_count == 0)
        in_flight = sum(1 for m in queue.messages.values() if m.visible_at > now and m.receive_count > 0)
        every = {
            **queue.attributes, "QueueArn": queue.arn,
            "ApproximateNumberOfMessages": str(len(queue.messages) - delayed - in_flight),
            "ApproximateNumberOfMessagesDelayed": str(delayed),
            "ApproximateNumberOfMessagesNotVisible": str(in_flight),
        }
        names = request.get("AttributeNames", [])
        wanted = every if "All" in names else {name: every[name] for name in names if name in every}
        return {"Attributes": wanted} if wanted else {}

    # -- sending ----------------------------------------------------------------------------
    def send_message(self, request: dict[str, Any]) -> dict[str, Any]:
        queue = self._queue(request["QueueUrl"])
        self._check_entry(request, queue)
        return self._enqueue(queue, request)

    def send_message_batch(self, request: dict[str, Any]) -> dict[str, Any]:
        queue = self._queue(request["QueueUrl"])
        entries = request["Entries"]
        self._check_batch(entries, "SendMessageBatchRequestEntry")
        if sum(len(entry["MessageBody"].encode()) for entry in entries) > int(queue.attributes["MaximumMessageSize"]):
            raise ServiceError("BatchRequestTooLong", "Batch requests cannot be longer than "
                               f"{queue.attributes['MaximumMessageSize']} bytes",
                               query_code="AWS.SimpleQueueService.BatchRequestTooLong")
        successful, failed = [], []
        for entry in entries:  # an entry the service refuses fails alone
            try:
                self._check_entry(entry, queue)
            except ServiceError as error:
                failed.append({"Id": entry["Id"], "SenderFault": True, "Code": error.query_code or error.code,
                               "Message": error.message})
            else:
                successful.append({"Id": entry["Id"], **self._enqueue(queue, entry)})
        return {"Successful": successful, "Failed": failed}

    def _enqueue(self, queue: _Queue, entry: dict[str, Any]) -> dict[str, Any]:
        now = self.clock.now()
        delay = entry.get("DelaySeconds", int(queue.attributes["DelaySeconds"]))
        message = _Message(str(uuid.uuid4()), entry["MessageBody"], sent_at=now, visible_at=now + delay)
        queue.messages[message.message_id] = message
        queue.schedule(message, next(self._sequence))
        return {"MessageId": message.message_id, "MD5OfMessageBody": _md5(message.body)}

    # -- receiving --------------------------------------------------------------------------
    def receive_message(self, request: dict[str, Any]) -> dict[str, Any]:
        queue = self._queue(request["QueueUrl"])
        count = request.get("MaxNumberOfMessages", 1)
        if not 1 <= count <= 10:
            raise _invalid_parameter(f"Value {count} for parameter MaxNumberOfMessages is invalid. "
                                     "Reason: Must be between 1 and 10, if provided.")
        visibility = request.get("VisibilityTimeout", int(queue.attributes["VisibilityTimeout"]))
        _check_visibility_timeout(visibility)
        if request.get("MessageAttributeNames"):
            raise NotImplementedError("the SQS fake has no message attributes")
        wanted = set(request.get("MessageSystemAttributeNames", [])) | set(request.get("AttributeNames", []))
        now = self.clock.now()
        max_receives, dead_letters = self._redrive(queue)
        received = []
        while len(received) < count and (message := queue.pop_visible(now)) is not None:
            if message.sent_at + int(queue.attributes["MessageRetentionPeriod"]) <= now:
                del queue.messages[message.message_id]  # expired
                continue
            if max_receives is not None and message.receive_count >= max_receives:
                del queue.messages[message.message_id]  # moved, keeping its id, body and age
                message.visible_at = now
                dead_letters.messages[message.message_id] = message
                dead_letters.schedule(message, next(self._sequence))
                continue
            message.receive_count += 1
            message.first_received_at = message.first_received_at or now
            message.visible_at = now + visibility
            message.receipt_handle = f"{uuid.uuid4()}-{message.receive_count}"
            self._handles[message.receipt_handle] = (queue.name, message.message_id)
            queue.schedule(message, next(self._sequence))
            received.append(self._received(message, wanted))
        return {"Messages": received} if received else {}

    def _received(self, message: _Message, wanted: set[str]) -> dict[str, Any]:
        attributes = {
            "SenderId": ACCOUNT, "SentTimestamp": str(int(message.sent_at * 1000)),
            "ApproximateReceiveCount": str(message.receive_count),
            "ApproximateFirstReceiveTimestamp": str(int((message.first_received_at or 0) * 1000)),
        }
        if "All" not in wanted:
            attributes = {name: value for name, value in attributes.items() if name in wanted}
        return {"MessageId": message.message_id, "ReceiptHandle": message.receipt_handle, "Body": message.body,
                "MD5OfBody": _md5(message.body), **({"Attributes": attributes} if attributes else {})}

    def _redrive(self, queue: _Queue) -> tuple[int | None, _Queue | None]:
        if "RedrivePolicy" not in queue.attributes:
            return None, None
        policy = json.loads(queue.attributes["RedrivePolicy"])
        dead_letters = self._queues.get(policy["deadLetterTargetArn"].rsplit(":", 1)[-1])
        if dead_letters is None:
            raise _no_queue()
        return int(policy["maxReceiveCount"]), dead_letters

    # -- deleting and visibility ----------------------------------------------------------------
    def delete_message(self, request: dict[str, Any]) -> dict[str, Any]:
        queue = self._queue(request["QueueUrl"])
        self._delete(queue, request["ReceiptHandle"])
        return {}

    def delete_message_batch(self, request: dict[str, Any]) -> dict[str, Any]:
        queue = self._queue(request["QueueUrl"])
        entries = request["Entries"]
        self._check_batch(entries, "DeleteMessageBatchRequestEntry")
        successful, failed = [], []
        for entry in entries:
            try:
                self._delete(queue, entry["ReceiptHandle"])
            except ServiceError as error:
                failed.append({"Id": entry["Id"], "SenderFault": True, "Code": error.code, "Message": error.message})
            else:
                successful.append({"Id": entry["Id"]})
        return {"Successful": successful, "Failed": failed}

    def change_message_visibility(self, request: dict[str, Any]) -> dict[str, Any]:
        queue = self._queue(request["QueueUrl"])
        _check_visibility_timeout(request["VisibilityTimeout"])
        message = queue.messages.get(self._message_id(queue, request["ReceiptHandle"]))
        now = self.clock.now()
        if message is None or message.receipt_handle != request["ReceiptHandle"] or message.visible_at <= now:
            raise ServiceError("MessageNotInflight", "The message referred to is not in flight.",
                               query_code="AWS.SimpleQueueService.MessageNotInflight")
        message.visible_at = now + request["VisibilityTimeout"]
        queue.schedule(message, next(self._sequence))
        return {}

    def _delete(self, queue: _Queue, receipt_handle: str) -> None:
        message_id = self._message_id(queue, receipt_handle)
        message = queue.messages.get(message_id)
        if message is not None and message.receipt_handle == receipt_handle:
            del queue.messages[message_id]

    def _message_id(self, queue: _Queue, receipt_handle: str) -> str:
        issued = self._handles.get(receipt_handle)
        if issued is None or issued[0] != queue.name:
            raise ServiceError("ReceiptHandleIsInvalid",
                               f'The input receipt handle "{receipt_handle}" is not a valid receipt handle.',
                               query_code="ReceiptHandleIsInvalid")
        return issued[1]

    # -- checks -----------------------------------------------------------------------------
    def _queue(self, url: str) -> _Queue:
        queue = self._queues.get(url.rstrip("/").rsplit("/", 1)[-1])
        if queue is None or queue.url != url:
            raise _no_queue()
        return queue

    def _checked_attributes(self, attributes: dict[str, str]) -> dict[str, str]:
        for name, value in attributes.items():
            if name not in SETTABLE_ATTRIBUTES:
                raise ServiceError("InvalidAttributeName", f"Unknown Attribute {name}.",
                                   query_code="InvalidAttributeName")
            limits = {"DelaySeconds": (0, MAX_DELAY_SECONDS), "VisibilityTimeout": (0, MAX_VISIBILITY_TIMEOUT),
                      "MessageRetentionPeriod": (60, 1_209_600), "MaximumMessageSize": (1024, MAX_MESSAGE_BYTES),
                      "ReceiveMessageWaitTimeSeconds": (0, 20)}
            if name in limits and not (value.isdigit() and limits[name][0] <= int(value) <= limits[name][1]):
                raise ServiceError("InvalidAttributeValue", f"Invalid value for the parameter {name}.",
                                   query_code="InvalidAttributeValue")
            if name == "RedrivePolicy":
                policy = json.loads(value)
                if not 1 <= int(policy.get("maxReceiveCount", 0)) <= 1000 or "deadLetterTargetArn" not in policy:
                    raise ServiceError("InvalidAttributeValue", "Invalid value for the parameter RedrivePolicy.",
                                       query_code="InvalidAttributeValue")
        return dict(attributes)

    @staticmethod
    def _check_batch(entries: list[dict[str, Any]], entry_name: str) -> None:
        if not entries:
            raise ServiceError("EmptyBatchRequest", f"There should be at least one {entry_name} in the request.",
                               query_code="AWS.SimpleQueueService.EmptyBatchRequest")
        if len(entries) > 10:
            raise ServiceError("TooManyEntriesInBatchRequest",
                               f"Maximum number of entries per request are 10. You have sent {len(entries)}.",
                               query_code="AWS.SimpleQueueService.TooManyEntriesInBatchRequest")
        ids = [entry["Id"] for entry in entries]
        for entry_id in ids:
            if not _BATCH_ENTRY_ID.fullmatch(entry_id):
                raise ServiceError("InvalidBatchEntryId", "A batch entry id can only contain alphanumeric "
                                   "characters, hyphens and underscores. It can be at most 80 letters long.",
                                   query_code="AWS.SimpleQueueService.InvalidBatchEntryId")
        if len(set(ids)) != len(ids):
            raise ServiceError("BatchEntryIdsNotDistinct", "Two or more batch entries in the request have the same Id.",
                               query_code="AWS.SimpleQueueService.BatchEntryIdsNotDistinct")

    @staticmethod
    def _check_entry(entry: dict[str, Any], queue: _Queue) -> None:
        if entry.get("MessageAttributes") or entry.get("MessageSystemAttributes"):
            raise NotImplementedError("the SQS fake has no message attributes")
        if "MessageGroupId" in entry or "MessageDeduplicationId" in entry:
            raise _invalid_parameter("The request include parameter that is not valid for this queue type")
        delay = entry.get("DelaySeconds", 0)
        if not 0 <= delay <= MAX_DELAY_SECONDS:
            raise _invalid_parameter(f"Value {delay} for parameter DelaySeconds is invalid. "
                                     f"Reason: DelaySeconds must be >= 0 and <= {MAX_DELAY_SECONDS}.")
        body = entry["MessageBody"]
        if not body:
            raise ServiceError("MissingParameter", "The request must contain the parameter MessageBody.",
                               query_code="MissingParameter")
        if len(body.encode()) > int(queue.attributes["MaximumMessageSize"]):
            raise _invalid_parameter(f"One or more parameters are invalid. Reason: Message must be shorter than "
                                     f"{queue.attributes['MaximumMessageSize']} bytes.")
        if _INVALID_CHARACTER.search(body):
            raise ServiceError("InvalidMessageContents", "Invalid characters found. Valid unicode characters are "
                               "#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF",
                               query_code="InvalidMessageContents")


def _check_visibility_timeout(seconds: int) -> None:
    if not 0 <= seconds <= MAX_VISIBILITY_TIMEOUT:
        raise _invalid_parameter(f"Value {seconds} for parameter VisibilityTimeout is invalid. "
                                 f"Reason: Must be between 0 and {MAX_VISIBILITY_TIMEOUT}, if provided.")


def _invalid_parameter(message: str) -> ServiceError:
    return ServiceError("InvalidParameterValue", message, query_code="InvalidParameterValue")


def _no_queue() -> ServiceError:
    return ServiceError("QueueDoesNotExist", "The specified queue does not exist.",
                        query_code="AWS.SimpleQueueService.NonExistentQueue")


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()
