"""The sender's claim on a send, by idempotency key: at most one ``SendTextMessage`` per request.

Item in the outbound table: ``pk = "REQUEST#<idempotency key>"``, ``sk = "SEND"``, with
``status``: ``SENDING`` (claimed before the call, with ``until``: the deadline of the
invocation holding it), ``NOT_SENT`` (the call surely did not go: it may be claimed again)
or ``DONE`` (with ``result``, the send's outcome as JSON, which a duplicate reuses).

A claim still ``SENDING`` after its invocation's deadline is a send whose outcome was lost
(a crash, a timeout between the call and the completion): ``SendTextMessage`` has no client
token, so the safe side is not to send it again. Unlike an idempotency record that expires
and lets the call run again, the claim never does, for as long as the item is kept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

SORT_KEY = "SEND"
SENDING = "SENDING"
NOT_SENT = "NOT_SENT"
DONE = "DONE"
KEEP_SECONDS = 30 * 86400  # as long as the request's outcome is kept


@dataclass(frozen=True)
class Existing:
    """The claim another attempt left: its status and, when done, its result."""

    status: str
    until: float
    result: dict[str, Any] | None = None
    at: float = 0.0  # when it was claimed


class SendClaims:
    def __init__(self, table: Any) -> None:
        self._table = table  # a boto3 DynamoDB Table resource (the outbound table)

    def claim(self, key: str, *, now: float, until: float) -> Existing | None:
        """Claims the send of ``key``; None when claimed, else what another attempt left. When the
        write's answer is lost, the claim is read back: left unsent, a claim of ours would later
        pass for a send whose outcome was lost."""
        try:
            self._table.put_item(
                Item={
                    "pk": f"REQUEST#{key}",
                    "sk": SORT_KEY,
                    "status": SENDING,
                    "at": _decimal(now),
                    "until": _decimal(until),
                    "expires_at": int(now) + KEEP_SECONDS,
                },
                ConditionExpression="attribute_not_exists(pk) OR #status = :not_sent",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":not_sent": NOT_SENT},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            return _existing(error.response.get("Item")) or self.read(key)
        except Exception:
            written = self._read_again(key)
            if written is not None and written.status == SENDING and written.at == round(now, 3):
                return None
            raise
        return None

    def _read_again(self, key: str) -> Existing | None:
        """The claim as stored, read up to three times (a read that fails too would strand our claim)."""
        for _ in range(2):
            try:
                return self.read(key)
            except Exception:
                continue
        return self.read(key)

    def read(self, key: str) -> Existing | None:
        item = self._table.get_item(Key={"pk": f"REQUEST#{key}", "sk": SORT_KEY}, ConsistentRead=True).get("Item")
        if item is None:
            return None
        result = json.loads(item["result"]) if item.get("result") else None
        return Existing(item["status"], float(item.get("until", 0)), result, float(item.get("at", 0)))

    def finish(self, key: str, *, claimed_at: float, result: dict[str, Any] | None) -> bool:
        """Completes our claim: DONE with ``result``, or NOT_SENT (``result`` None) to let a retry send.
        False when the claim is no longer ours (nothing written)."""
        try:
            self._table.update_item(**finish_update(key, claimed_at=claimed_at, result=result))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True


def finish_update(key: str, *, claimed_at: float, result: dict[str, Any] | None) -> dict[str, Any]:
    """The claim's completion (``update_item`` kwargs, or a transaction's item): only while it is
    still the claim made at ``claimed_at``."""
    values: dict[str, Any] = {
        ":sending": SENDING,
        ":at": _decimal(claimed_at),
        ":status": DONE if result is not None else NOT_SENT,
    }
    expression = "SET #status = :status"
    if result is not None:
        expression += ", #result = :result"
        values[":result"] = json.dumps(result, separators=(",", ":"), default=str)
    return {
        "Key": {"pk": f"REQUEST#{key}", "sk": SORT_KEY},
        "UpdateExpression": expression,
        "ConditionExpression": "#status = :sending AND #at = :at",
        "ExpressionAttributeNames": {
            "#status": "status",
            "#at": "at",
            **({"#result": "result"} if result is not None else {}),
        },
        "ExpressionAttributeValues": values,
    }


def _existing(item: dict[str, Any] | None) -> Existing | None:
    """The wire-format ``Item`` of a failed condition, read back (None when absent)."""
    if not item:
        return None
    status = item.get("status", {}).get("S")
    if status is None:
        return None
    until = float(item.get("until", {}).get("N", 0))
    result = item.get("result", {}).get("S")
    return Existing(status, until, json.loads(result) if result else None, float(item.get("at", {}).get("N", 0)))


def _decimal(seconds: float) -> Decimal:
    return Decimal(str(round(seconds, 3)))
