"""The message ledger: one DynamoDB item per outbound message id, and its fate.

Writers:
- a sender (``record_sent``) right after ``SendTextMessage`` returned the message id:
  status ``SENT``, the send's ``Context``, who sent it and the estimated parts;
- the events handler (``apply_message``, ``count_spend``) for every batch of delivery events.

Every write is safe to repeat and to reorder. The events of one message in one batch
are folded (``two_way_sms.delivery_batches``) into one conditional UpdateItem: the event
with the greatest ``status_key`` owns the status fields if its key is greater than the
stored one, and every event adds its line to the ``history`` string set. When a later
status is stored already, a second UpdateItem adds only the missing history lines, and
an exact duplicate writes nothing. A write that fails for a passing reason is tried once
more at once (botocore retried it already, but it holds all the message's events of the
batch). The conditional write returns the item as it was (``ALL_OLD``, also when its
condition fails), so no read comes before it. The sender's
write never lowers a status (``if_not_exists``). So the item ends the same whatever
order and however often the writes arrive.

Spend is counted once per message, when it first has a final status: one transaction
per batch (up to 100 items) marks each such message (``spend_month``, on the condition
that it has none) and adds their prices, summed, to each month's summary item
(``message_id = "SPEND#<yyyy-mm>"``). A mark and its month's sum commit together or not
at all, and the mark makes a retried record count nothing: a message whose mark is found
already is dropped and the rest committed; a transaction that fails for a passing reason
is tried once more at once, since it holds the whole batch's spend. A crash between the
status write and the transaction leaves a final status without a mark; the retried
record finds it and counts the stored price then.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import BotoCoreError, ClientError

from two_way_sms.delivery import SENT_STATUS, SENT_STATUS_KEY, DeliveryEvent
from two_way_sms.delivery_batches import MessageEvents
from two_way_sms.instants import iso_timestamp

SPEND_PREFIX = "SPEND#"
MAX_TRANSACTION_ITEMS = 100  # TransactWriteItems' limit: the marks and the months' sums together
WRITE_RETRIES = 1  # more attempts of a message's write or a spend transaction that failed for a passing reason
RETRY_PAUSE_SECONDS = 0.05
# Owned by the winning event: written when it has them, removed when it has not, so the
# item shows exactly one event's view whatever arrived before it.
_EVENT_FIELDS = (
    "status_description",
    "iso_country_code",
    "is_international",
    "mcc",
    "mnc",
    "carrier_name",
    "encoding",
    "parts",
    "price_usd",
    "carrier_fee_usd",
)
_deserialize = TypeDeserializer().deserialize


@dataclass(frozen=True)
class SpendDue:
    """A message whose final status is written and whose spend is not counted yet."""

    message_id: str
    month: str  # yyyy-mm: where it counts
    spend_usd: Decimal
    parts: int | None


@dataclass(frozen=True)
class MessageApplied:
    """What one message's events in a batch did to the ledger (``apply_message``)."""

    advanced: tuple[bool, ...]  # per event, in arrival order: it would have moved the status on its own
    became_final: bool  # the message reached a final status with these events (true once per message)
    spend_due: SpendDue | None = None  # to count with ``count_spend`` (None: nothing, or counted before)


@dataclass(frozen=True)
class Applied:
    """What one delivery event did to the ledger (``apply``: one event, its spend counted at once)."""

    advanced: bool  # the event now owns the status (False: stale or duplicate)
    became_final: bool  # the message reached a final status with this event
    counted_spend: Decimal | None = None  # the spend added to the month (once per message)
    counted_parts: int | None = None
    month_to_date_usd: Decimal | None = None  # the month's total after counting


@dataclass(frozen=True)
class SentText:
    """A text ``SendTextMessage`` accepted, as a sender records it (``record_sent``)."""

    message_id: str
    destination: str
    origination: str
    context: dict[str, str]
    sent_at_ms: int
    message_type: str
    estimated_parts: int
    sent_by: str  # which function sent it: "sender" or "inbound"


def sent_update(sent: SentText, retention_seconds: int) -> dict[str, Any]:
    """The ledger's update for a text just sent (``update_item`` kwargs, or a transaction's item).

    It never lowers a status a delivery event already stored, and keeps the first request time."""
    sent_at = iso_timestamp(sent.sent_at_ms)
    return {
        "Key": {"message_id": sent.message_id},
        "UpdateExpression": (
            "SET #status = if_not_exists(#status, :sent), status_key = if_not_exists(status_key, :sent_key), "
            "is_final = if_not_exists(is_final, :false), sent_at = :sent_at, sent_by = :by, #context = :context, "
            "destination_number = if_not_exists(destination_number, :destination), "
            "origination_number = if_not_exists(origination_number, :origination), "
            "requested_at = if_not_exists(requested_at, :sent_at), "
            "message_type = if_not_exists(message_type, :message_type), "
            "expires_at = if_not_exists(expires_at, :expires_at), estimated_parts = :parts "
            "ADD history :history"
        ),
        "ExpressionAttributeNames": {"#status": "status", "#context": "context"},
        "ExpressionAttributeValues": {
            ":sent": SENT_STATUS,
            ":sent_key": SENT_STATUS_KEY,
            ":false": False,
            ":sent_at": sent_at,
            ":by": sent.sent_by,
            ":context": sent.context,
            ":destination": sent.destination,
            ":origination": sent.origination,
            ":message_type": sent.message_type,
            ":expires_at": sent.sent_at_ms // 1000 + retention_seconds,
            ":parts": sent.estimated_parts,
            ":history": {f"{sent_at} {SENT_STATUS} {SENT_STATUS}"},
        },
    }


class MessageLedger:
    def __init__(self, table: Any, *, retention_days: int) -> None:
        self._table = table  # a boto3 DynamoDB Table resource
        self._client = table.meta.client  # the resource's client takes Python types too
        self._retention_seconds = retention_days * 86400

    # -- senders -------------------------------------------------------------------------------
    def record_sent(self, sent: SentText) -> None:
        self._table.update_item(**sent_update(sent, self._retention_seconds))

    # -- delivery events ---------------------------------------------------------------------
    def apply_message(self, message: MessageEvents) -> MessageApplied:
        """Records one message's events of a batch in one conditional UpdateItem (two when a later
        status is stored and history lines are missing); see the module docstring."""
        winner = message.winner
        update = self._winner_update(message)
        for attempt in range(1 + WRITE_RETRIES):
            try:
                response = self._table.update_item(
                    Key={"message_id": message.message_id},
                    ConditionExpression="attribute_not_exists(status_key) OR status_key < :status_key",
                    ReturnValues="ALL_OLD",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                    **update,
                )
                break
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                    current = {k: _deserialize(v) for k, v in error.response.get("Item", {}).items()}
                    return self._stale(message, current)
                if attempt == WRITE_RETRIES:
                    raise
            except BotoCoreError:
                if attempt == WRITE_RETRIES:
                    raise
            # A passing failure botocore gave up on, or a lost answer (the retry then finds the write done):
            # a message's write holds all its events, and its failure sends the stream back to its first record.
            time.sleep(RETRY_PAUSE_SECONDS)
        old = response.get("Attributes", {})
        due = None
        if winner.is_final and "spend_month" not in old:
            due = SpendDue(message.message_id, winner.billing_month, winner.spend_usd, winner.parts)
        return MessageApplied(
            advanced=message.advanced(old.get("status_key")),
            became_final=winner.is_final and not old.get("is_final"),
            spend_due=due,
        )

    def apply(self, event: DeliveryEvent) -> Applied:
        """Records one delivery event and counts its spend at once (callers with one event at a time)."""
        applied = self.apply_message(MessageEvents((event,)))
        due = applied.spend_due
        if due is None or not self.count_spend([due]):
            return Applied(advanced=applied.advanced[0], became_final=applied.became_final)
        return Applied(
            advanced=applied.advanced[0],
            became_final=applied.became_final,
            counted_spend=due.spend_usd,
            counted_parts=due.parts,
            month_to_date_usd=self.month_to_date(due.month),
        )

    def _stale(self, message: MessageEvents, current: dict[str, Any]) -> MessageApplied:
        missing = message.history_entries - set(current.get("history", set()))
        if missing:
            self._table.update_item(
                Key={"message_id": message.message_id},
                UpdateExpression="ADD history :history",
                ExpressionAttributeValues={":history": set(missing)},
            )
        due = None
        if current.get("is_final") and "spend_month" not in current:
            # A retry after the status was written but before its spend was counted: the stored price counts.
            spend = Decimal(current.get("price_usd", 0)) + Decimal(current.get("carrier_fee_usd", 0))
            parts = int(current["parts"]) if "parts" in current else None
            due = SpendDue(message.message_id, message.winner.billing_month, spend, parts)
        return MessageApplied(advanced=(False,) * len(message.events), became_final=False, spend_due=due)

    def _winner_update(self, message: MessageEvents) -> dict[str, Any]:
        event = message.winner
        names = {"#status": "status"}
        values: dict[str, Any] = {
            ":status": event.message_status,
            ":event_type": event.event_type,
            ":status_key": event.status_key,
            ":is_final": event.is_final,
            ":reported_at": event.reported_at,
            ":history": set(message.history_entries),
        }
        assignments = [
            "#status = :status",
            "event_type = :event_type",
            "status_key = :status_key",
            "is_final = :is_final",
            "reported_at = :reported_at",
        ]
        removals = []
        for name in _EVENT_FIELDS:
            value = getattr(event, name)
            if value is None:
                removals.append(name)
            else:
                assignments.append(f"{name} = :{name}")
                values[f":{name}"] = value
        # The same for every event of a message: written by whichever carries them.
        for name in ("destination_number", "origination_number", "requested_at", "message_type"):
            value = message.first(name)
            if value is not None:
                assignments.append(f"{name} = :{name}")
                values[f":{name}"] = value
        requested_ms = message.first("request_timestamp_ms")
        if isinstance(requested_ms, int):
            assignments.append("expires_at = :expires_at")
            values[":expires_at"] = requested_ms // 1000 + self._retention_seconds
        else:
            assignments.append("expires_at = if_not_exists(expires_at, :expires_at)")
            values[":expires_at"] = event.event_timestamp_ms // 1000 + self._retention_seconds
        context = message.first("context")
        if context:
            names["#context"] = "context"
            assignments.append("#context = if_not_exists(#context, :context)")
            values[":context"] = context
        expression = "SET " + ", ".join(assignments)
        if removals:
            expression += " REMOVE " + ", ".join(removals)
        expression += " ADD history :history"
        return {"UpdateExpression": expression, "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}

    # -- spend ---------------------------------------------------------------------------------
    def count_spend(self, dues: Sequence[SpendDue]) -> list[SpendDue]:
        """Counts each message's spend in its month once, one transaction per up to 100 items;
        returns the ones this call counted (the others were counted before)."""
        counted: list[SpendDue] = []
        for chunk in _transaction_chunks(dues):
            counted += self._count_chunk(chunk)
        return counted

    def _count_chunk(self, dues: list[SpendDue]) -> list[SpendDue]:
        passing_failures = 0
        while dues:
            try:
                self._client.transact_write_items(TransactItems=self._spend_items(dues))
            except (ClientError, BotoCoreError) as error:
                reasons = _cancellation_reasons(error)
                counted_before = {n for n, code in enumerate(reasons[: len(dues)]) if code == "ConditionalCheckFailed"}
                if counted_before and all(code in (None, "None", "ConditionalCheckFailed") for code in reasons):
                    if passing_failures and len(counted_before) == len(dues):
                        return dues  # every mark there after our attempt failed: its answer was lost, it committed
                    dues = [due for n, due in enumerate(dues) if n not in counted_before]  # marked already: counted
                    continue
                # A conflict, a throttle, a lost answer (botocore retried already). One transaction covers a
                # whole batch, so it is tried once more before the batch's final messages are retried by the
                # stream; marks already written (a lost answer) then fail their condition and count nothing.
                passing_failures += 1
                if passing_failures > WRITE_RETRIES:
                    raise
                time.sleep(RETRY_PAUSE_SECONDS)
                continue
            return dues
        return []

    def _spend_items(self, dues: list[SpendDue]) -> list[dict[str, Any]]:
        table = self._table.name
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": table,
                    "Key": {"message_id": due.message_id},
                    "UpdateExpression": "SET spend_month = :month",
                    "ConditionExpression": "attribute_not_exists(spend_month)",
                    "ExpressionAttributeValues": {":month": due.month},
                }
            }
            for due in dues
        ]
        months: dict[str, tuple[Decimal, int, int]] = {}
        for due in dues:
            spend, parts, messages = months.get(due.month, (Decimal(0), 0, 0))
            months[due.month] = (spend + due.spend_usd, parts + (due.parts or 0), messages + 1)
        for month, (spend, parts, messages) in months.items():
            items.append(
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"message_id": SPEND_PREFIX + month},
                        "UpdateExpression": "ADD spend_usd :spend, parts :parts, messages :messages",
                        "ExpressionAttributeValues": {":spend": spend, ":parts": parts, ":messages": messages},
                    }
                }
            )
        return items

    def month_to_date(self, month: str) -> Decimal:
        item = self._table.get_item(Key={"message_id": SPEND_PREFIX + month}).get("Item", {})
        return Decimal(item.get("spend_usd", 0))

    def get(self, message_id: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self._table.get_item(Key={"message_id": message_id}, ConsistentRead=True).get(
            "Item"
        )
        return item


def _transaction_chunks(dues: Sequence[SpendDue]) -> list[list[SpendDue]]:
    """``dues`` in runs whose marks and month items fit one transaction."""
    chunks: list[list[SpendDue]] = []
    chunk: list[SpendDue] = []
    months: set[str] = set()
    for due in dues:
        if len(chunk) + len(months | {due.month}) + 1 > MAX_TRANSACTION_ITEMS:
            chunks.append(chunk)
            chunk, months = [], set()
        chunk.append(due)
        months.add(due.month)
    if chunk:
        chunks.append(chunk)
    return chunks


def _cancellation_reasons(error: Exception) -> list[str | None]:
    """The per-item codes of a cancelled transaction (``["None", "ConditionalCheckFailed", ...]``); [] otherwise."""
    response = getattr(error, "response", None)
    if not isinstance(response, dict) or response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return []
    return [reason.get("Code") for reason in response.get("CancellationReasons", [])]
