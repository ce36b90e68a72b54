"""The reply log in the contacts table: one ``record = "REPLIES"`` item per customer number.

The item holds ``replies`` (a map: ``<inbound id>#<index>`` -> entry), a ``version`` for
optimistic claims and ``expires_at``. A claim is a conditional write on the version read,
so two messages from one number cannot both take the last reply the limits allow; the
completion of a claim writes only its own entry, conditioned on the claim it completes.

The number's consent (its PROFILE item) is read with the log in one consistent Query: the
sort keys ``PROFILE`` < ``PROMOTIONAL_SENDS`` < ``REPLIES`` are adjacent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from two_way_sms.reply_log import KEEP_SECONDS, Entry, ReplyKind, Status, expired

REPLIES = "REPLIES"
PROFILE = "PROFILE"


class ReplyLogMoved(RuntimeError):
    """Another write changed the log since it was read: read again and plan again."""


@dataclass(frozen=True)
class ReplyLogState:
    entries: Mapping[str, Entry] = field(default_factory=dict)
    version: int | None = None  # None: the number has no log yet


@dataclass(frozen=True)
class InboundView:
    """What the inbound handler reads about a number before answering it."""

    opted_out: bool
    log: ReplyLogState


class ReplyLogTable:
    def __init__(self, table: Any) -> None:
        self._table = table  # a boto3 DynamoDB Table resource (the contacts table)

    def view(self, number: str) -> InboundView:
        """The number's consent and reply log, from one consistent Query."""
        response = self._table.query(
            KeyConditionExpression="phone_number = :n AND #r BETWEEN :first AND :last",
            ExpressionAttributeNames={"#r": "record"},
            ExpressionAttributeValues={":n": number, ":first": PROFILE, ":last": REPLIES},
            ConsistentRead=True,
        )
        items = {item["record"]: item for item in response.get("Items", [])}
        return InboundView(opted_out=bool(items.get(PROFILE, {}).get("opted_out")), log=_state(items.get(REPLIES)))

    def read(self, number: str) -> ReplyLogState:
        item = self._table.get_item(Key={"phone_number": number, "record": REPLIES}, ConsistentRead=True).get("Item")
        return _state(item)

    def write(self, number: str, key: str, entry: Entry, *, read: ReplyLogState, now: float) -> ReplyLogState:
        """Writes ``entry`` (a claim, or a verdict that needs no send) on top of the log as ``read``;
        raises ReplyLogMoved when another write came first. Entries past their keep are dropped."""
        expires_at = int(now) + KEEP_SECONDS
        try:
            if read.version is None:
                self._table.update_item(
                    Key={"phone_number": number, "record": REPLIES},
                    UpdateExpression="SET replies = :replies, version = :one, expires_at = :expires",
                    ConditionExpression="attribute_not_exists(version)",
                    ExpressionAttributeValues={":replies": {key: _item(entry)}, ":one": 1, ":expires": expires_at},
                )
                return ReplyLogState({key: entry}, 1)
            forgotten = [old for old in expired(read.entries, now) if old != key]
            names = {"#k": key, **{f"#o{i}": old for i, old in enumerate(forgotten)}}
            removal = (" REMOVE " + ", ".join(f"replies.#o{i}" for i in range(len(forgotten)))) if forgotten else ""
            self._table.update_item(
                Key={"phone_number": number, "record": REPLIES},
                UpdateExpression="SET replies.#k = :entry, version = :next, expires_at = :expires" + removal,
                ConditionExpression="version = :read",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={
                    ":entry": _item(entry),
                    ":next": read.version + 1,
                    ":read": read.version,
                    ":expires": expires_at,
                },
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise ReplyLogMoved(f"reply log moved since version {read.version}") from None
            raise
        entries = {k: v for k, v in read.entries.items() if k not in forgotten}
        return ReplyLogState({**entries, key: entry}, read.version + 1)

    def complete(self, number: str, key: str, claim: Entry, outcome: Entry) -> bool:
        """Replaces the claim ``claim`` with its ``outcome``; False when the claim is no longer ours."""
        try:
            self._table.update_item(
                Key={"phone_number": number, "record": REPLIES},
                UpdateExpression="SET replies.#k = :outcome",
                ConditionExpression="replies.#k.s = :sending AND replies.#k.t = :at",
                ExpressionAttributeNames={"#k": key},
                ExpressionAttributeValues={
                    ":outcome": _item(outcome),
                    ":sending": Status.SENDING.value,
                    ":at": _decimal(claim.at),
                },
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True


def _state(item: Mapping[str, Any] | None) -> ReplyLogState:
    if not item or "version" not in item:
        return ReplyLogState()
    return ReplyLogState({key: _entry(value) for key, value in item.get("replies", {}).items()}, int(item["version"]))


def _item(entry: Entry) -> dict[str, Any]:
    item: dict[str, Any] = {
        "s": entry.status.value,
        "t": _decimal(entry.at),
        "k": entry.kind.value,
        "h": entry.text_hash,
    }
    if entry.until:
        item["u"] = _decimal(entry.until)
    if entry.message_id:
        item["m"] = entry.message_id
    if entry.reason:
        item["r"] = entry.reason
    return item


def _entry(item: Mapping[str, Any]) -> Entry:
    return Entry(
        status=Status(item["s"]),
        at=float(item["t"]),
        kind=ReplyKind(item["k"]),
        text_hash=item["h"],
        until=float(item.get("u", 0)),
        message_id=item.get("m"),
        reason=item.get("r"),
    )


def _decimal(seconds: float) -> Decimal:
    return Decimal(str(round(seconds, 3)))
