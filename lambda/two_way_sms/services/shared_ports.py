"""Ports that more than one use case takes: consent, campaign counters, the ledger, the queues.

Each is one adapter in Lambda (named on the port) and one fake in tests; a use case that needs
more of the same adapter extends the port (``sender_ports.Contacts``, ``campaign_ports.Runs``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from two_way_sms.adapters.contacts import ConsentRecorded
from two_way_sms.adapters.ledger import SentText
from two_way_sms.adapters.outbound_queue import EnqueueResult
from two_way_sms.outbound.request import SendRequest
from two_way_sms.responder import ConsentChange


class Consent(Protocol):
    """Where consent changes and their proof are kept (``adapters.contacts.ContactsTable``)."""

    def record_consent(
        self,
        *,
        number: str,
        change: ConsentChange,
        at_ms: int,
        message_id: str,
        keyword: str,
        our_number: str,
        source: str = ...,
    ) -> ConsentRecorded: ...


class CampaignCounters(Protocol):
    """A campaign run's counters (``adapters.campaign_runs.CampaignRuns``)."""

    def add_counts(
        self, campaign_id: str, run_id: str, counts: Mapping[str, int], chunk: str | None = None
    ) -> bool: ...


class Ledger(Protocol):
    """Every text sent (``adapters.ledger.MessageLedger``)."""

    def record_sent(self, sent: SentText) -> None: ...


class DeadLetters(Protocol):
    """Where what can never be processed is kept, as it came (``adapters.dead_letters.DeadLetterQueue``)."""

    def park(self, body: str, *, reason: str, source: str, attributes: Mapping[str, str] | None = None) -> str: ...


class OutboundQueue(Protocol):
    """The outbound queue (``adapters.outbound_queue.OutboundQueue``): says which requests did not get in."""

    def enqueue(self, requests: Iterable[SendRequest], *, delay_seconds: int = 0) -> EnqueueResult: ...
