"""The message ledger: one DynamoDB item per outbound message id, and its fate.

Writers:
- a sender (``record_sent``) right after ``SendTextMessage`` returned the message id:
  status ``SENT``, the send's ``Context``, who sent it and the estimated parts;
- the events handler (``apply``) for every delivery event.

Every write is safe to repeat and to reorder. The event with the greatest
``status_key`` owns the status fields (one conditional UpdateItem); any other event only
adds its line to the ``history`` string set, and an exact duplicate writes nothing. The
sender's write never lowers a status (``if_not_exists``). So the item ends the same
whatever order and however often the writes arrive.

Spend is counted once per message, when it first has a final status: a transaction
marks the message (``spend_month``) and adds its price to the month's summary item
(``message_id = "SPEND#<yyyy-mm>"``); the mark makes a retried record count nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from two_way_sms.delivery import SENT_STATUS, SENT_STATUS_KEY, DeliveryEvent
from two_way_sms.instants import iso_timestamp

SPEND_PREFIX = "SPEND#"
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
class Applied:
    """What one delivery event did to the ledger."""

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


class MessageLedger:
    def __init__(self, table: Any, *, retention_days: int) -> None:
        self._table = table  # a boto3 DynamoDB Table resource
        self._client = table.meta.client  # the resource's client takes Python types too
        self._retention_seconds = retention_days * 86400

    # -- senders -------------------------------------------------------------------------------
    def record_sent(self, sent: SentText) -> None:
        sent_at = iso_timestamp(sent.sent_at_ms)
        values = {
            ":sent": SENT_STATUS,
            ":sent_key": SENT_STATUS_KEY,
            ":false": False,
            ":sent_at": sent_at,
            ":by": sent.sent_by,
            ":context": sent.context,
            ":destination": sent.destination,
            ":origination": sent.origination,
            ":message_type": sent.message_type,
            ":expires_at": sent.sent_at_ms // 1000 + self._retention_seconds,
            ":parts": sent.estimated_parts,
            ":history": {f"{sent_at} {SENT_STATUS} {SENT_STATUS}"},
        }
        self._table.update_item(
            Key={"message_id": sent.message_id},
            UpdateExpression=(
                "SET #status = if_not_exists(#status, :sent), status_key = if_not_exists(status_key, :sent_key), "
                "is_final = if_not_exists(is_final, :false), sent_at = :sent_at, sent_by = :by, #context = :context, "
                "destination_number = if_not_exists(destination_number, :destination), "
                "origination_number = if_not_exists(origination_number, :origination), "
                "requested_at = if_not_exists(requested_at, :sent_at), "
                "message_type = if_not_exists(message_type, :message_type), "
                "expires_at = if_not_exists(expires_at, :expires_at), estimated_parts = :parts "
                "ADD history :history"
            ),
            ExpressionAttributeNames={"#status": "status", "#context": "context"},
            ExpressionAttributeValues=values,
        )

    # -- delivery events ---------------------------------------------------------------------
    def apply(self, event: DeliveryEvent) -> Applied:
        """Records one delivery event; see the module docstring for why any order ends the same."""
        try:
            response = self._table.update_item(
                Key={"message_id": event.message_id},
                ConditionExpression="attribute_not_exists(status_key) OR status_key < :status_key",
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
                **self._winner_update(event),
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            current = {k: _deserialize(v) for k, v in error.response.get("Item", {}).items()}
            return self._stale(event, current)
        old = response.get("Attributes", {})
        became_final = event.is_final and not old.get("is_final")
        if event.is_final and "spend_month" not in old:
            return self._count_spend(
                event.message_id,
                event.billing_month,
                event.spend_usd,
                event.parts,
                advanced=True,
                became_final=became_final,
            )
        return Applied(advanced=True, became_final=became_final)

    def _stale(self, event: DeliveryEvent, current: dict[str, Any]) -> Applied:
        if event.history_entry not in current.get("history", set()):
            self._table.update_item(
                Key={"message_id": event.message_id},
                UpdateExpression="ADD history :history",
                ExpressionAttributeValues={":history": {event.history_entry}},
            )
        if current.get("is_final") and "spend_month" not in current:
            # A retry after the status was written but before its spend was counted.
            spend = Decimal(current.get("price_usd", 0)) + Decimal(current.get("carrier_fee_usd", 0))
            parts = int(current["parts"]) if "parts" in current else None
            return self._count_spend(
                event.message_id, event.billing_month, spend, parts, advanced=False, became_final=False
            )
        return Applied(advanced=False, became_final=False)

    def _winner_update(self, event: DeliveryEvent) -> dict[str, Any]:
        names = {"#status": "status"}
        values: dict[str, Any] = {
            ":status": event.message_status,
            ":event_type": event.event_type,
            ":status_key": event.status_key,
            ":is_final": event.is_final,
            ":reported_at": event.reported_at,
            ":history": {event.history_entry},
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
        message_fields = {
            "destination_number": event.destination_number,
            "origination_number": event.origination_number,
            "requested_at": event.requested_at,
            "message_type": event.message_type,
        }
        for name, value in message_fields.items():
            if value is not None:
                assignments.append(f"{name} = :{name}")
                values[f":{name}"] = value
        if event.request_timestamp_ms is not None:
            assignments.append("expires_at = :expires_at")
            values[":expires_at"] = event.request_timestamp_ms // 1000 + self._retention_seconds
        else:
            assignments.append("expires_at = if_not_exists(expires_at, :expires_at)")
            values[":expires_at"] = event.event_timestamp_ms // 1000 + self._retention_seconds
        if event.context:
            names["#context"] = "context"
            assignments.append("#context = if_not_exists(#context, :context)")
            values[":context"] = event.context
        expression = "SET " + ", ".join(assignments)
        if removals:
            expression += " REMOVE " + ", ".join(removals)
        expression += " ADD history :history"
        return {"UpdateExpression": expression, "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}

    # -- spend ---------------------------------------------------------------------------------
    def _count_spend(
        self, message_id: str, month: str, spend: Decimal, parts: int | None, *, advanced: bool, became_final: bool
    ) -> Applied:
        table = self._table.name
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": table,
                            "Key": {"message_id": message_id},
                            "UpdateExpression": "SET spend_month = :month",
                            "ConditionExpression": "attribute_not_exists(spend_month)",
                            "ExpressionAttributeValues": {":month": month},
                        }
                    },
                    {
                        "Update": {
                            "TableName": table,
                            "Key": {"message_id": SPEND_PREFIX + month},
                            "UpdateExpression": "ADD spend_usd :spend, parts :parts, messages :one",
                            "ExpressionAttributeValues": {":spend": spend, ":parts": parts or 0, ":one": 1},
                        }
                    },
                ]
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons = [reason.get("Code") for reason in error.response.get("CancellationReasons", [])]
            if reasons[:1] != ["ConditionalCheckFailed"]:
                raise  # a conflict or throttle: the record is retried and counts then
            return Applied(advanced=advanced, became_final=became_final)  # counted by a concurrent record
        return Applied(
            advanced=advanced,
            became_final=became_final,
            counted_spend=spend,
            counted_parts=parts,
            month_to_date_usd=self.month_to_date(month),
        )

    def month_to_date(self, month: str) -> Decimal:
        item = self._table.get_item(Key={"message_id": SPEND_PREFIX + month}).get("Item", {})
        return Decimal(item.get("spend_usd", 0))

    def get(self, message_id: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self._table.get_item(Key={"message_id": message_id}, ConsistentRead=True).get(
            "Item"
        )
        return item
