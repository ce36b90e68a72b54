"""A text just sent, recorded in one transaction: its claim completed, its outcome SENT, its ledger
entry, the conversation it opens and, for a promotional text, its count on the recipient's recent sends.

The writes the sender made one after another (``send_claims``, ``request_outcomes``,
``ledger``, ``contacts``) become one ``TransactWriteItems``: one request instead of three
(five with the promotional count's read and write), each item keeping its own condition
(the claim still ours, the outcome not SENT already, the recent sends at the version the
batch read; the ledger entry never lowers a status a delivery event stored; the conversation not
stored yet). Either all are written or none is, so the sender's order (the conversation stored
before or with the outcome SENT, never after) still holds. A refused
condition writes nothing and answers False; the caller then writes them one by one, as
before (another send to the same number in the same batch is one such refusal).

A transaction bills each item at twice a plain write's capacity: on demand, about $0.002 more
per 1,000 texts than the separate writes (3 write units a text more; 4 with a promotional
count), for a third of the round trips.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from two_way_sms.adapters.contacts import promotional_sends_put
from two_way_sms.adapters.conversations import conversation_create
from two_way_sms.adapters.ledger import SentText, sent_update
from two_way_sms.adapters.request_outcomes import DEFAULT_RETENTION_DAYS, SENT, attempt_token, outcome_put
from two_way_sms.adapters.send_claims import finish_update
from two_way_sms.conversations.engine import Conversation
from two_way_sms.instants import utc_moment
from two_way_sms.outbound.contact_state import PromotionalCount


class SentRecords:
    def __init__(
        self,
        outbound_table: Any,
        ledger_table: Any,
        contacts_table: Any = None,
        conversations_table: Any = None,
        *,
        ledger_retention_days: int,
        outcome_retention_days: int = DEFAULT_RETENTION_DAYS,
    ) -> None:
        self._outbound = outbound_table  # boto3 DynamoDB Table resources
        self._ledger = ledger_table
        self._contacts = contacts_table  # None: promotional texts are recorded one write at a time
        self._conversations = conversations_table  # None: texts that open one are recorded one write at a time
        self._client = outbound_table.meta.client  # the resource's client takes Python types too
        self._ledger_retention_seconds = ledger_retention_days * 86400
        self._outcome_retention_seconds = outcome_retention_days * 86400

    def record(
        self,
        key: str,
        *,
        claimed_at: float,
        result: dict[str, Any],
        sent: SentText,
        promotional: PromotionalCount | None = None,
        conversation: Conversation | None = None,
    ) -> bool:
        """Completes the claim made at ``claimed_at`` with ``result`` (a SENT one), records the outcome
        SENT, the ledger's entry ``sent``, the ``conversation`` the text opens and the ``promotional``
        count, all or nothing. False when a condition refused it, or there is no table for the count
        or the conversation (nothing written): the claim is no longer ours, the outcome is SENT already,
        the conversation is stored already, or the recent sends moved since read."""
        if (promotional is not None and self._contacts is None) or (
            conversation is not None and self._conversations is None
        ):
            return False
        outcome = outcome_put(
            key,
            SENT,
            message_id=result["message_id"],
            at=utc_moment(float(result["at"])),
            retention_seconds=self._outcome_retention_seconds,
            written_by=attempt_token(claimed_at),
        )
        items = [
            {"Update": {"TableName": self._outbound.name, **finish_update(key, claimed_at=claimed_at, result=result)}},
            {"Put": {"TableName": self._outbound.name, **outcome}},
            {"Update": {"TableName": self._ledger.name, **sent_update(sent, self._ledger_retention_seconds)}},
        ]
        if conversation is not None:
            items.append({"Put": {"TableName": self._conversations.name, **conversation_create(conversation)}})
        if promotional is not None:
            count = promotional_sends_put(
                promotional.number,
                promotional.read,
                promotional.key,
                promotional.campaign,
                utc_moment(float(result["at"])),
                subject=promotional.subject,
            )
            if count is not None:  # None: the read counts it already (a retry of a counted send)
                items.append({"Put": {"TableName": self._contacts.name, **count}})
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as error:
            reasons = [reason.get("Code") for reason in error.response.get("CancellationReasons", [])]
            if error.response.get("Error", {}).get("Code") == "TransactionCanceledException" and (
                "ConditionalCheckFailed" in reasons
            ):
                return False
            raise
        return True
