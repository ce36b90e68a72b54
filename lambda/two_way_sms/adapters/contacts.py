"""The contacts table: each customer's current consent, and the proof of every change.

One item per number holds the current state (``record = "PROFILE"``); every opt-out or
opt-in adds an item ``record = "CONSENT#<time>#<message id>"`` with the number, time,
message id, keyword and source (``INBOUND``: the customer's own text; ``DELIVERY_EVENT``: a
carrier reported the number blocked as opted out): the proof a regulator asks for. Both writes are safe to
repeat: a redelivered message adds no second proof, and an older change never
overwrites a newer one.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import ClientError

from two_way_sms.responder import ConsentChange

PROFILE = "PROFILE"


class ContactsTable:
    def __init__(self, table: Any) -> None:
        self._table = table  # a boto3 DynamoDB Table resource

    def is_opted_out(self, number: str) -> bool:
        item = self._table.get_item(Key={"phone_number": number, "record": PROFILE}, ConsistentRead=True).get("Item")
        return bool(item and item.get("opted_out"))

    def record_consent(
        self,
        *,
        number: str,
        change: ConsentChange,
        at_ms: int,
        message_id: str,
        keyword: str,
        our_number: str,
        source: str = "INBOUND",
    ) -> bool:
        """Stores the proof and the new state; False when this message was already recorded."""
        at = datetime.fromtimestamp(at_ms / 1000, tz=timezone.utc).isoformat(timespec="milliseconds")
        is_new = True
        try:
            self._table.put_item(
                Item={
                    "phone_number": number,
                    "record": f"CONSENT#{at}#{message_id}",
                    "change": change.value,
                    "at": at,
                    "message_id": message_id,
                    "source": source,
                    "keyword": keyword,
                    "our_number": our_number,
                },
                ConditionExpression="attribute_not_exists(phone_number)",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            is_new = False  # a retry: the proof exists, but make sure the state was written too
        try:
            self._table.update_item(
                Key={"phone_number": number, "record": PROFILE},
                UpdateExpression="SET opted_out = :out, consent_changed_at = :at, consent_message_id = :id",
                ConditionExpression="attribute_not_exists(consent_changed_at) OR consent_changed_at <= :at",
                ExpressionAttributeValues={
                    ":out": change is ConsentChange.OPTED_OUT,
                    ":at": at,
                    ":id": message_id,
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise  # a newer change is already recorded: keep it
        return is_new
