"""Conversations in DynamoDB: a customer's conversations under their number.

Item: ``customer_number`` (partition), ``conversation_id`` (sort), the engine's fields, a
``version`` for optimistic writes and ``delete_at`` (TTL: a month after the conversation
expires, so a late answer still finds it closed rather than unknown).

A conversation moves on with a conditional write on the version it was read at, so two
deliveries of answers racing each other cannot both act: the loser re-reads, finds the
conversation moved (or closed) and takes the default handling.

Each write keeps the turn that made it (``last_turn``: the inbound message id, the replies
and events it decided), so a retry of that message after a crash repeats what the turn
decided instead of taking another step.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from two_way_sms.conversations.engine import BusinessEvent, Conversation

KEEP_AFTER_EXPIRY_SECONDS = 30 * 86400


class ConversationMoved(RuntimeError):
    """Another write changed the conversation since it was read: re-read and decide again."""


@dataclass(frozen=True)
class TurnRecord:
    """What one inbound message decided in a conversation: done again, not decided again, on a retry."""

    inbound_message_id: str
    replies: tuple[str, ...] = ()
    events: tuple[BusinessEvent, ...] = ()

    def to_json(self) -> str:
        return json.dumps(
            {
                "inboundMessageId": self.inbound_message_id,
                "replies": list(self.replies),
                "events": [{"detailType": e.detail_type, "detail": dict(e.detail)} for e in self.events],
            },
            separators=(",", ":"),
            default=str,
        )

    @classmethod
    def from_json(cls, text: str) -> TurnRecord:
        data = json.loads(text)
        return cls(
            data["inboundMessageId"],
            tuple(data["replies"]),
            tuple(BusinessEvent(e["detailType"], e["detail"]) for e in data["events"]),
        )


@dataclass(frozen=True)
class Stored:
    conversation: Conversation
    version: int
    last_turn: TurnRecord | None = None


class ConversationStore:
    def __init__(self, table: Any) -> None:
        self._table = table  # a boto3 DynamoDB Table resource

    def for_number(self, customer_number: str) -> list[Stored]:
        """Every conversation kept for the number (open, closed and expired): the engine picks."""
        items: list[dict[str, Any]] = []
        arguments: dict[str, Any] = {
            "KeyConditionExpression": Key("customer_number").eq(customer_number),
            "ConsistentRead": True,
        }
        while True:
            page = self._table.query(**arguments)
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return [_stored(item) for item in items]
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def get(self, customer_number: str, conversation_id: str) -> Stored | None:
        item = self._table.get_item(
            Key={"customer_number": customer_number, "conversation_id": conversation_id}, ConsistentRead=True
        ).get("Item")
        return _stored(item) if item else None

    def create(self, conversation: Conversation, *, turn: TurnRecord | None = None) -> Stored:
        """Stores a new conversation; a second create of the same id is refused (ConversationMoved)."""
        return self._write(conversation, version=1, turn=turn, condition=dict(_NEW))

    def save(self, conversation: Conversation, *, read_at: int, turn: TurnRecord | None = None) -> Stored:
        """Stores the conversation as a turn left it, if nobody wrote it since ``read_at`` (its version)."""
        return self._write(
            conversation,
            version=read_at + 1,
            turn=turn,
            condition={"ConditionExpression": "version = :read", "ExpressionAttributeValues": {":read": read_at}},
        )

    def _write(
        self, conversation: Conversation, *, version: int, turn: TurnRecord | None, condition: dict[str, Any]
    ) -> Stored:
        item = _item(conversation, version)
        if turn is not None:
            item["last_turn"] = turn.to_json()
        try:
            self._table.put_item(Item=item, **condition)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise ConversationMoved(f"conversation {conversation.conversation_id} changed meanwhile") from None
            raise
        return Stored(conversation, version, turn)


_NEW = {"ConditionExpression": "attribute_not_exists(conversation_id)"}


def conversation_create(conversation: Conversation) -> dict[str, Any]:
    """A new conversation's write (``put_item`` kwargs, or a transaction's item): refused when stored already."""
    return {"Item": _item(conversation, 1), **_NEW}


def _item(conversation: Conversation, version: int) -> dict[str, Any]:
    item: dict[str, Any] = {
        "customer_number": conversation.customer_number,
        "conversation_id": conversation.conversation_id,
        "flow": conversation.flow,
        "step": conversation.step,
        "our_number": conversation.our_number,
        "opened_at": _number(conversation.opened_at),
        "expires_at": _number(conversation.expires_at),
        "status": conversation.status,
        "variables": dict(conversation.variables),
        "slots": list(conversation.slots),
        "prompt_message_ids": list(conversation.prompt_message_ids),
        "version": version,
        "delete_at": math.ceil(conversation.expires_at) + KEEP_AFTER_EXPIRY_SECONDS,
    }
    optional = {
        "reference": conversation.reference,
        "chosen_slot": conversation.chosen_slot,
        "takes_code": conversation.takes_code or None,
        "wrong_codes": conversation.wrong_codes or None,
    }
    item.update({name: value for name, value in optional.items() if value is not None})
    return item


def _stored(item: Mapping[str, Any]) -> Stored:
    conversation = Conversation(
        conversation_id=item["conversation_id"],
        flow=item["flow"],
        step=item["step"],
        customer_number=item["customer_number"],
        our_number=item["our_number"],
        opened_at=float(item["opened_at"]),
        expires_at=float(item["expires_at"]),
        reference=item.get("reference"),
        variables={str(k): str(v) for k, v in item.get("variables", {}).items()},
        slots=tuple(item.get("slots", [])),
        status=item["status"],
        # Items written before codes were derived again kept a hash: they still take a code.
        takes_code=bool(item.get("takes_code") or item.get("code_hash")),
        wrong_codes=int(item.get("wrong_codes", 0)),
        prompt_message_ids=tuple(item.get("prompt_message_ids", [])),
        chosen_slot=item.get("chosen_slot"),
    )
    last_turn = TurnRecord.from_json(item["last_turn"]) if item.get("last_turn") else None
    return Stored(conversation, int(item["version"]), last_turn)


def _number(seconds: float) -> Decimal:
    return Decimal(repr(seconds))
