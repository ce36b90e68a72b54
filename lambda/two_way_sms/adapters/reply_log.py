"""The reply log: each customer's replies, kept on the number's consent item (``PROFILE``).

Each reply is one attribute of the number's PROFILE item in the contacts table,
``reply:<inbound id>#<index>`` -> entry, beside ``opted_out``. Consent and the log in one item
make a claim one UpdateItem with no read before it:

- **claim**: the entry is written unless it is there already (and not ``NOT_SENT``) and, for a
  business reply, unless the number is opted out; the write answers with the item as it was
  (``ALL_OLD``, also when refused). Writes to one item are serialised, so each claim sees every
  claim written before it: of two messages racing for the last reply the limits allow, the
  second sees the first and stands down (``services.reply_sending`` writes its verdict);
- **completion**: the outcome replaces the claim, conditioned on the claim still being ours,
  and drops entries past their keep; a reply that went is recorded in the message ledger in
  the same transaction (one request for both; ``record_sent``'s update, ``adapters.ledger``).

The PROFILE item never gets an ``expires_at``: the contacts table's TTL would delete the consent.

Before this layout the log was a ``record = "REPLIES"`` item with a ``replies`` map and a
``version``. A message answered by the previous release and delivered again to this one must
find its reply there: ``legacy_replies_until`` (read when the function starts) says until when
such items can matter (their keep after this release first ran on the table; nothing on a
table that was empty then), and until then every claim reads the old item as well. The
number's view (``view``) always reads both: they are adjacent sort keys of one Query.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from two_way_sms.adapters.ledger import SentText, sent_update
from two_way_sms.reply_log import KEEP_SECONDS, Entry, ReplyKind, Status

PROFILE = "PROFILE"
REPLIES = "REPLIES"  # the previous release's item: read, never written
ENTRY_PREFIX = "reply:"
# The table-wide note of when this layout was first used (not a phone number: no reader of
# contacts takes it for one; the audience scan reads PROFILE items only).
LAYOUT_KEY = {"phone_number": "#reply-log", "record": "LAYOUT"}
_CONDITION_FAILED = "ConditionalCheckFailedException"
_deserialize = TypeDeserializer().deserialize


class ReplyLogMoved(RuntimeError):
    """Another write kept changing the entry: read again and plan again."""


@dataclass(frozen=True)
class ReplyLogState:
    entries: Mapping[str, Entry] = field(default_factory=dict)
    version: int | None = None  # unused since the log moved to PROFILE; kept for callers that pass it


@dataclass(frozen=True)
class InboundView:
    """What the inbound handler reads about a number before answering it."""

    opted_out: bool
    log: ReplyLogState
    consent_message_id: str | None = None  # the customer's message that made the standing consent change


@dataclass(frozen=True)
class Claimed:
    """What a claim found and did."""

    written: bool  # the claim is ours
    before: ReplyLogState  # the log as it was before the write (the entry's earlier state included)
    opted_out: bool  # the number's consent at the write


@dataclass(frozen=True)
class Completed:
    completed: bool  # the outcome replaced our claim (False: the claim is no longer ours)
    recorded: bool  # the sent reply was recorded in the ledger by the same request


class ReplyLogTable:
    def __init__(
        self,
        table: Any,
        *,
        ledger_table: Any = None,
        ledger_retention_days: int = 0,
        legacy_until: float = 0.0,
    ) -> None:
        self._table = table  # a boto3 DynamoDB Table resource (the contacts table)
        self._ledger_table = ledger_table  # the message ledger's, when replies are recorded there
        self._ledger_retention_seconds = ledger_retention_days * 86400
        self._legacy_until = legacy_until  # epoch seconds: before it, claims read the previous layout too

    def view(self, number: str) -> InboundView:
        """The number's consent and reply log (this layout's and the previous one's), from one consistent Query."""
        response = self._table.query(
            KeyConditionExpression="phone_number = :n AND #r BETWEEN :first AND :last",
            ExpressionAttributeNames={"#r": "record"},
            ExpressionAttributeValues={":n": number, ":first": PROFILE, ":last": REPLIES},
            ConsistentRead=True,
        )
        items = {item["record"]: item for item in response.get("Items", [])}
        profile = items.get(PROFILE, {})
        entries = {**_legacy_entries(items.get(REPLIES)), **_entries(profile)}
        return InboundView(
            opted_out=bool(profile.get("opted_out")),
            log=ReplyLogState(entries),
            consent_message_id=profile.get("consent_message_id"),
        )

    def read(self, number: str) -> ReplyLogState:
        return self.view(number).log

    def claim(
        self, number: str, key: str, entry: Entry, *, needs_consent: bool, replacing: Entry | None = None
    ) -> Claimed:
        """Writes the claim ``entry`` unless reply ``key`` is there already (a ``NOT_SENT`` one is
        claimed again; ``replacing``: only that exact entry is replaced) or, when ``needs_consent``,
        the number is opted out. Answers with the log and consent as they were."""
        legacy: Mapping[str, Entry] = {}
        if entry.at < self._legacy_until:
            view = self.view(number)
            legacy = view.log.entries
            earlier = legacy.get(key)
            if replacing is None and earlier is not None and earlier.status is not Status.NOT_SENT:
                return Claimed(False, view.log, view.opted_out)  # answered before (perhaps by the previous release)
        condition, names, values = _entry_condition(key, replacing)
        if needs_consent:
            condition += " AND (attribute_not_exists(opted_out) OR opted_out = :false)"
            values[":false"] = False
        try:
            response = self._table.update_item(
                Key={"phone_number": number, "record": PROFILE},
                UpdateExpression="SET #e = :entry",
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={**values, ":entry": _item(entry)},
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if _code(error) != _CONDITION_FAILED:
                raise
            old = {name: _deserialize(value) for name, value in error.response.get("Item", {}).items()}
            return Claimed(False, ReplyLogState({**legacy, **_entries(old)}), bool(old.get("opted_out")))
        old = response.get("Attributes", {})
        return Claimed(True, ReplyLogState({**legacy, **_entries(old)}), bool(old.get("opted_out")))

    def write(self, number: str, key: str, entry: Entry, *, replacing: Entry | None = None) -> bool:
        """Writes ``entry`` (a verdict that needs no send, or a note) where reply ``key`` is absent or
        ``NOT_SENT`` (or is exactly ``replacing``); False when it is not."""
        condition, names, values = _entry_condition(key, replacing)
        try:
            self._table.update_item(
                Key={"phone_number": number, "record": PROFILE},
                UpdateExpression="SET #e = :entry",
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={**values, ":entry": _item(entry)},
            )
        except ClientError as error:
            if _code(error) == _CONDITION_FAILED:
                return False
            raise
        return True

    def complete(
        self,
        number: str,
        key: str,
        claim: Entry,
        outcome: Entry,
        *,
        forget: Iterable[str] = (),
        sent: SentText | None = None,
    ) -> Completed:
        """Replaces the claim ``claim`` with its ``outcome`` and drops the entries ``forget``; with
        ``sent`` (and a ledger), records the reply in the ledger in the same transaction."""
        dropped = [old for old in forget if old != key]
        names = {"#e": ENTRY_PREFIX + key, **{f"#o{i}": ENTRY_PREFIX + old for i, old in enumerate(dropped)}}
        removal = (" REMOVE " + ", ".join(f"#o{i}" for i in range(len(dropped)))) if dropped else ""
        update = {
            "Key": {"phone_number": number, "record": PROFILE},
            "UpdateExpression": "SET #e = :outcome" + removal,
            "ConditionExpression": "#e.s = :sending AND #e.t = :at",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": {
                ":outcome": _item(outcome),
                ":sending": Status.SENDING.value,
                ":at": _decimal(claim.at),
            },
        }
        if sent is None or self._ledger_table is None:
            try:
                self._table.update_item(**update)
            except ClientError as error:
                if _code(error) == _CONDITION_FAILED:
                    return Completed(False, False)
                raise
            return Completed(True, False)
        ledger_update = sent_update(sent, self._ledger_retention_seconds)
        try:
            self._table.meta.client.transact_write_items(
                TransactItems=[
                    {"Update": {"TableName": self._table.name, **update}},
                    {"Update": {"TableName": self._ledger_table.name, **ledger_update}},
                ]
            )
        except ClientError as error:
            reasons = [reason.get("Code") for reason in error.response.get("CancellationReasons", [])]
            if _code(error) == "TransactionCanceledException" and reasons[:1] == ["ConditionalCheckFailed"]:
                return Completed(False, False)  # the claim is no longer ours: the caller records the reply alone
            raise
        return Completed(True, True)


def legacy_replies_until(table: Any, now: float) -> float:
    """Until when a number's previous-layout REPLIES item can still matter (0: never on this table).

    The first function of this release to start on the table notes when (``LAYOUT_KEY``): now if
    the table holds anything, 0 if it is empty (a new stack: nothing was written the old way).
    When the note cannot be read or written, the previous layout is read too (one read more per
    claim until the function restarts): never a reply sent twice for want of a note."""
    try:
        return _legacy_replies_until(table, now)
    except Exception:
        return float(now + KEEP_SECONDS)


def _legacy_replies_until(table: Any, now: float) -> float:
    item = table.get_item(Key=LAYOUT_KEY, ConsistentRead=True).get("Item")
    if item is None:
        anything = table.scan(Limit=1, ProjectionExpression="phone_number").get("Items")
        item = {**LAYOUT_KEY, "replies_on_profile_since": int(now) if anything else 0}
        try:
            table.put_item(Item=item, ConditionExpression="attribute_not_exists(phone_number)")
        except ClientError as error:
            if _code(error) != _CONDITION_FAILED:
                raise
            item = table.get_item(Key=LAYOUT_KEY, ConsistentRead=True)["Item"]  # another function noted it first
    since = int(item.get("replies_on_profile_since", 0))
    return float(since + KEEP_SECONDS) if since else 0.0


def _entry_condition(key: str, replacing: Entry | None) -> tuple[str, dict[str, str], dict[str, Any]]:
    names = {"#e": ENTRY_PREFIX + key}
    if replacing is None:
        return "(attribute_not_exists(#e) OR #e.s = :not_sent)", names, {":not_sent": Status.NOT_SENT.value}
    values = {":was": replacing.status.value, ":was_at": _decimal(replacing.at)}
    return "(#e.s = :was AND #e.t = :was_at)", names, values


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _entries(item: Mapping[str, Any]) -> dict[str, Entry]:
    return {name[len(ENTRY_PREFIX) :]: _entry(value) for name, value in item.items() if name.startswith(ENTRY_PREFIX)}


def _legacy_entries(item: Mapping[str, Any] | None) -> dict[str, Entry]:
    if not item:
        return {}
    return {key: _entry(value) for key, value in item.get("replies", {}).items()}


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
