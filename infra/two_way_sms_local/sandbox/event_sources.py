"""Lambda's event source mappings on the sandbox clock: SQS (batches, partial failures, redrive) and Kinesis
(checkpoints, retries, bisection, the on-failure destination)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from two_way_sms_local.sandbox.clock import EPSILON, iso
from two_way_sms_local.sandbox.functions import Function
from two_way_sms_local.sandbox.runtime import Runtime
from two_way_sms_local.sandbox.template import ACCOUNT, REGION


def next_visible(sqs_backend: Any, queue_name: str, now: float) -> float | None:
    """When the first message of the queue that is hidden now (delayed, or in flight) shows again."""
    try:
        queue = sqs_backend.get_queue(queue_name)
        messages = list(queue._messages)
    except Exception:  # moto's internals moved: the caller steps to the end of the advance instead
        return None
    times = []
    for message in messages:
        shows = max(getattr(message, "visible_at", 0), getattr(message, "delayed_until", 0)) / 1000
        if shows >= now:
            times.append(shows + EPSILON)
    return min(times) if times else None


# -- SQS -> Lambda ----------------------------------------------------------------------------------
@dataclass
class SqsMapping:
    function: Function
    queue_arn: str
    batch_size: int
    report_failures: bool
    runtime: Runtime
    sqs_backend: Any
    enabled: bool = True
    observe: Callable[[str], None] | None = None  # sees each body handed to the function (the state's bookkeeping)

    @property
    def queue_name(self) -> str:
        return self.queue_arn.rsplit(":", 1)[-1]

    def run(self) -> bool:
        if not self.enabled or self.function.handler is None:
            return False
        url = self.runtime.queue_url(self.queue_arn)
        messages: list[dict[str, Any]] = []
        while len(messages) < self.batch_size:
            received = self.runtime.sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(10, self.batch_size - len(messages)),
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not received:
                break
            messages += received
        if not messages:
            return False
        if self.observe is not None:
            for message in messages:
                self.observe(message["Body"])
        event = {"Records": [self._record(m) for m in messages]}
        result, error = self.runtime.invoke(self.function, event, f"sqs {self.queue_name}", len(messages))
        if error is not None:
            return True  # every record comes back after the visibility timeout
        failed = set()
        if self.report_failures and isinstance(result, dict):
            failed = {f.get("itemIdentifier") for f in result.get("batchItemFailures") or []}
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            self.runtime.sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done[start : start + 10])
                ],
            )
        return True

    def next_due(self) -> float | None:
        return next_visible(self.sqs_backend, self.queue_name, self.runtime.clock.now())

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        attributes = message.get("Attributes", {})
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": {
                name: attributes[name]
                for name in ("ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp")
                if name in attributes
            },
            "messageAttributes": {
                name: {
                    "stringValue": value.get("StringValue"),
                    "binaryValue": value.get("BinaryValue"),
                    "stringListValues": [],
                    "binaryListValues": [],
                    "dataType": value.get("DataType", "String"),
                }
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": REGION,
        }


# -- Kinesis -> Lambda --------------------------------------------------------------------------------
@dataclass
class KinesisMapping:
    function: Function
    stream_name: str
    stream_arn: str
    batch_size: int
    report_failures: bool
    bisect: bool
    max_retries: int  # -1: for ever
    max_record_age: int  # seconds; -1: for ever
    on_failure_arn: str | None
    runtime: Runtime
    checkpoints: dict[str, str | None] = field(default_factory=dict)  # shard -> last sequence number handled
    attempts: dict[str, int] = field(default_factory=dict)  # shard -> failed attempts of its current batch
    limits: dict[str, int] = field(default_factory=dict)  # shard -> batch size after bisecting

    def run(self) -> bool:
        if self.function.handler is None:
            return False
        shards = self.runtime.kinesis.list_shards(StreamName=self.stream_name)["Shards"]
        progressed = False
        for shard in shards:
            progressed |= self._run_shard(shard["ShardId"])
        return progressed

    def next_due(self) -> float | None:
        return None  # records are handled as soon as they are on the stream

    def _run_shard(self, shard_id: str) -> bool:
        after = self.checkpoints.get(shard_id)
        iterator_args: dict[str, Any] = (
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": after}
            if after
            else {"ShardIteratorType": "TRIM_HORIZON"}
        )
        iterator = self.runtime.kinesis.get_shard_iterator(
            StreamName=self.stream_name, ShardId=shard_id, **iterator_args
        )
        limit = self.limits.get(shard_id, self.batch_size)
        records = self.runtime.kinesis.get_records(ShardIterator=iterator["ShardIterator"], Limit=limit)["Records"]
        if not records:
            return False
        now = self.runtime.clock.now()
        if self.max_record_age >= 0:
            expired = [r for r in records if r["ApproximateArrivalTimestamp"].timestamp() < now - self.max_record_age]
            if expired:
                self._give_up(shard_id, expired, "RecordAgeExceeded")
                return True
        event = {"Records": [self._record(shard_id, r) for r in records]}
        result, error = self.runtime.invoke(self.function, event, f"kinesis {self.stream_name}", len(records))
        failed_at: str | None = None
        if error is not None:
            failed_at = records[0]["SequenceNumber"]
        elif self.report_failures and isinstance(result, dict) and result.get("batchItemFailures"):
            failed = [f.get("itemIdentifier") for f in result["batchItemFailures"]]
            numbers = [r["SequenceNumber"] for r in records]
            failed_at = min((n for n in failed if n in numbers), key=int, default=records[0]["SequenceNumber"])
        if failed_at is None:
            self._checkpoint(shard_id, records[-1]["SequenceNumber"])
            return True
        done = [r for r in records if int(r["SequenceNumber"]) < int(failed_at)]
        if done:
            self._checkpoint(shard_id, done[-1]["SequenceNumber"])
        self.attempts[shard_id] = self.attempts.get(shard_id, 0) + 1
        if error is not None and self.bisect and len(records) > 1:
            self.limits[shard_id] = max(1, len(records) // 2)
        if 0 <= self.max_retries < self.attempts[shard_id]:
            rest = [r for r in records if int(r["SequenceNumber"]) >= int(failed_at)]
            self._give_up(shard_id, rest, "RetryAttemptsExhausted")
        return True

    def _checkpoint(self, shard_id: str, sequence_number: str) -> None:
        self.checkpoints[shard_id] = sequence_number
        self.attempts.pop(shard_id, None)
        self.limits.pop(shard_id, None)

    def _give_up(self, shard_id: str, records: list[dict[str, Any]], condition: str) -> None:
        """The records' coordinates to the on-failure destination, as Lambda sends them; moves past them."""
        if self.on_failure_arn and ":sqs:" in self.on_failure_arn:
            first, last = records[0], records[-1]
            body = {
                "requestContext": {
                    "requestId": f"{self.function.label}-{self.function.invocations:06d}",
                    "functionArn": self.function.arn,
                    "condition": condition,
                    "approximateInvokeCount": self.attempts.get(shard_id, 0) + 1,
                },
                "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
                "version": "1.0",
                "timestamp": iso(self.runtime.clock.now()),
                "KinesisBatchInfo": {
                    "shardId": shard_id,
                    "startSequenceNumber": first["SequenceNumber"],
                    "endSequenceNumber": last["SequenceNumber"],
                    "approximateArrivalOfFirstRecord": first["ApproximateArrivalTimestamp"].isoformat(),
                    "approximateArrivalOfLastRecord": last["ApproximateArrivalTimestamp"].isoformat(),
                    "batchSize": len(records),
                    "streamArn": self.stream_arn,
                },
            }
            self.runtime.sqs.send_message(
                QueueUrl=self.runtime.queue_url(self.on_failure_arn), MessageBody=json.dumps(body)
            )
        self._checkpoint(shard_id, records[-1]["SequenceNumber"])

    def _record(self, shard_id: str, record: dict[str, Any]) -> dict[str, Any]:
        import base64

        return {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": record["PartitionKey"],
                "sequenceNumber": record["SequenceNumber"],
                "data": base64.b64encode(record["Data"]).decode(),
                "approximateArrivalTimestamp": record["ApproximateArrivalTimestamp"].timestamp(),
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": f"{shard_id}:{record['SequenceNumber']}",
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": f"arn:aws:iam::{ACCOUNT}:role/{self.function.name}",
            "awsRegion": REGION,
            "eventSourceARN": self.stream_arn,
        }
