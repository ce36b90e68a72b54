"""What the inbound use case (``services.answer_inbound``) is given: small ports, and what it answers.

Each port is one adapter in Lambda (named on it) and one fake in tests; consent is the
port other use cases take too (``services.shared_ports.Consent``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from two_way_sms.adapters.ledger import SentText
from two_way_sms.adapters.reply_log import Claimed, Completed, InboundView, ReplyLogState
from two_way_sms.adapters.sms import SendResult
from two_way_sms.inbound import InboundMessage
from two_way_sms.reply_log import Entry
from two_way_sms.responder import Decision


class ReplyLog(Protocol):
    """The customer's reply log, kept with their consent (``adapters.reply_log.ReplyLogTable``)."""

    def view(self, number: str) -> InboundView: ...

    def read(self, number: str) -> ReplyLogState: ...

    def claim(
        self, number: str, key: str, entry: Entry, *, needs_consent: bool, replacing: Entry | None = None
    ) -> Claimed: ...

    def write(self, number: str, key: str, entry: Entry, *, replacing: Entry | None = None) -> bool: ...

    def complete(
        self,
        number: str,
        key: str,
        claim: Entry,
        outcome: Entry,
        *,
        forget: Iterable[str] = (),
        sent: SentText | None = None,
    ) -> Completed: ...


class Sms(Protocol):
    """End User Messaging: replies and the opt-out list (``adapters.sms.SmsGateway``)."""

    def send_text(self, *, to: str, from_number: str, body: str, context: dict[str, str]) -> SendResult: ...

    def put_opted_out(self, number: str) -> None: ...

    def delete_opted_out(self, number: str) -> None: ...


class Telemetry(Protocol):
    """Where the service reports: one log line per fact, one metric per count."""

    def info(self, message: str, **fields: Any) -> None: ...

    def warning(self, message: str, **fields: Any) -> None: ...

    def count(self, metric: str, value: int = 1) -> None: ...


@dataclass(frozen=True)
class Delivery:
    """How this delivery of the message came: when the customer sent it and how long we may take."""

    sent_at_ms: int  # the service's time for the customer's message (SNS), not our receipt
    remaining_seconds: float  # what is left of the invocation: a claim held past it is stale
    last_attempt: bool = False  # the record's last receive: what fails now goes to the dead-letter queue


@dataclass(frozen=True)
class Answer:
    intent: str
    path: str
    reply_message_id: str | None = None


class Turn:
    """One message's answer in progress: what was decided, and the reply log as last seen.

    ``log`` is what the last read or claim saw; ``log_read`` says whether the number's log and
    consent were read before answering (consent changes are; the rest learn both from their
    first reply's claim)."""

    def __init__(
        self,
        inbound: InboundMessage,
        decision: Decision,
        delivery: Delivery,
        log: ReplyLogState,
        *,
        deadline: float,
        log_read: bool = True,
    ) -> None:
        self.inbound = inbound
        self.decision = decision
        self.delivery = delivery
        self.log = log
        self.log_read = log_read
        self.opted_out = False  # as read with the log (``log_read``); a claim finds it out otherwise
        self.consent_message_id: str | None = None  # the message behind the standing consent, as read with the log
        self.deadline = deadline  # epoch seconds, on the service's clock
