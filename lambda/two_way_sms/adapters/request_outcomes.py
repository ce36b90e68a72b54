"""What became of each send request, by idempotency key, in the outbound table.

Item: ``pk = "REQUEST#<idempotency key>"``, ``sk = "OUTCOME"``, with ``status`` (HELD, SENT,
REFUSED, or UNKNOWN: the send's answer was lost, it may have gone and is not sent again),
``reason``, ``message_id``, ``code`` (End User Messaging's error, when it rejected the send),
``at`` (ISO 8601 UTC) and ``expires_at`` (TTL).
An application that queued a request asks here whether it was sent, held or refused, and why.

SENT is final: a later write for the same key (a redelivered duplicate) never replaces it.
``record`` says whether the status changed, which is the sender's exactly-once point for
counting a request on its campaign run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from two_way_sms.adapters.batch_reads import batch_get

_deserialize = TypeDeserializer().deserialize

HELD = "HELD"
SENT = "SENT"
REFUSED = "REFUSED"
UNKNOWN = "UNKNOWN"
STATUSES = (HELD, SENT, REFUSED, UNKNOWN)
SORT_KEY = "OUTCOME"
DEFAULT_RETENTION_DAYS = 30


@dataclass(frozen=True)
class RequestOutcome:
    idempotency_key: str
    status: str
    at: str
    reason: str | None = None
    message_id: str | None = None
    code: str | None = None


def outcome_key(idempotency_key: str) -> dict[str, str]:
    return {"pk": f"REQUEST#{idempotency_key}", "sk": SORT_KEY}


class RequestOutcomes:
    def __init__(self, table: Any, *, retention_days: int = DEFAULT_RETENTION_DAYS) -> None:
        self._table = table  # a boto3 DynamoDB Table resource (the outbound table)
        self._retention_seconds = retention_days * 86400

    def record(
        self,
        key: str,
        status: str,
        reason: str | None = None,
        message_id: str | None = None,
        *,
        at: datetime,
        code: str | None = None,
        written_by: str | None = None,
    ) -> bool:
        """Stores the request's outcome; True when its status changed (False: the same status
        again, or the request was already SENT, which is kept).

        Also True for a SENT outcome found stored by this very attempt (``written_by``, the token of
        the claim it holds): its own one write (``SentRecords``) stored it and lost the answer, so no
        one counted it. A duplicate that reuses the attempt's result passes no token and counts nothing.
        """
        put = outcome_put(
            key,
            status,
            reason,
            message_id,
            at=at,
            code=code,
            retention_seconds=self._retention_seconds,
            written_by=written_by,
        )
        try:
            response = self._table.put_item(
                **put, ReturnValues="ALL_OLD", ReturnValuesOnConditionCheckFailure="ALL_OLD"
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            # Already SENT: that stays the answer. The refusal carries the stored item (wire format).
            stored_by = error.response.get("Item", {}).get("written_by")
            return written_by is not None and stored_by is not None and _deserialize(stored_by) == written_by
        return bool(response.get("Attributes", {}).get("status") != status)

    def get(self, key: str) -> RequestOutcome | None:
        item = self._table.get_item(Key=outcome_key(key), ConsistentRead=True).get("Item")
        return None if item is None else _outcome(key, item)

    def get_many(self, keys: Iterable[str]) -> dict[str, RequestOutcome]:
        """The outcomes recorded for ``keys`` (consistent batch reads); a key with none is left out."""
        unique = list(dict.fromkeys(keys))
        return outcomes_of(batch_get(self._table, [outcome_key(key) for key in unique]))


def outcome_put(
    key: str,
    status: str,
    reason: str | None = None,
    message_id: str | None = None,
    *,
    at: datetime,
    code: str | None = None,
    retention_seconds: int = DEFAULT_RETENTION_DAYS * 86400,
    written_by: str | None = None,
) -> dict[str, Any]:
    """The outcome's write (``put_item`` kwargs, or a transaction's item): never over a SENT one.
    ``written_by``: the token of the send attempt that writes it (``attempt_token``)."""
    if status not in STATUSES:
        raise ValueError(f"status {status!r} must be one of {', '.join(STATUSES)}")
    if at.tzinfo is None:
        raise ValueError(f"at {at.isoformat()} must be timezone-aware")
    # The whole item is the outcome: a HELD request later SENT keeps no stale hold reason.
    item: dict[str, Any] = {
        **outcome_key(key),
        "status": status,
        "at": at.astimezone(timezone.utc).isoformat(timespec="milliseconds"),
        "expires_at": int(at.timestamp()) + retention_seconds,
    }
    if reason is not None:
        item["reason"] = reason
    if message_id is not None:
        item["message_id"] = message_id
    if code is not None:
        item["code"] = code
    if written_by is not None:
        item["written_by"] = written_by
    return {
        "Item": item,
        "ConditionExpression": "attribute_not_exists(#status) OR #status <> :sent",
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": {":sent": SENT},
    }


def attempt_token(claimed_at: float) -> str:
    """A send attempt's token: the time of the claim it holds (one claim per attempt, stored with it)."""
    return f"{claimed_at:.3f}"


def outcomes_of(items: Iterable[dict[str, Any]]) -> dict[str, RequestOutcome]:
    """The outcomes among the items a batch read of ``outcome_key``s found, by idempotency key."""
    found = (_outcome(item["pk"].removeprefix("REQUEST#"), item) for item in items)
    return {outcome.idempotency_key: outcome for outcome in found}


def _outcome(key: str, item: dict[str, Any]) -> RequestOutcome:
    return RequestOutcome(
        idempotency_key=key,
        status=item["status"],
        at=item["at"],
        reason=item.get("reason"),
        message_id=item.get("message_id"),
        code=item.get("code"),
    )
