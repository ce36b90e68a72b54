"""One text, sent at most once per idempotency key: claim, ``SendTextMessage``, complete the claim.

The send is claimed before the call (``adapters.send_claims``) and completed after it, with
its result. A duplicate finds the result and reuses it; a claim whose invocation died holds
a send whose outcome was lost, and it is not sent again (``UNKNOWN``): ``SendTextMessage``
has no client token, so the safe side is silence. Only the send is inside: the bookkeeping
after it (``services.send_requests``) is safe to repeat, so a failure there is retried
without texting.

The result is a plain dict, as the claim keeps it: ``{"status": SENT, "message_id", "at"}``,
``{"status": REFUSED, "reason", "code", "at"}`` or ``{"status": UNKNOWN, "at"}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from two_way_sms.adapters.batch_failures import failure_reason
from two_way_sms.adapters.ledger import SentText
from two_way_sms.adapters.request_outcomes import REFUSED, SENT, UNKNOWN
from two_way_sms.adapters.send_claims import DONE, SENDING
from two_way_sms.adapters.sms import OutgoingText, PriceAboveMax, RetryableSendError, SendOutcomeUnknown, SendRejected
from two_way_sms.conversations.engine import Conversation, sent_at
from two_way_sms.outbound.budget import SPEND_LIMIT_ERROR
from two_way_sms.outbound.contact_state import PromotionalCount
from two_way_sms.outbound.policy import OPTED_OUT, PRICE_ABOVE_MAX, REJECTED, SenderSettings
from two_way_sms.outbound.request import PROMOTIONAL, SendRequest
from two_way_sms.services.sender_ports import Claims, Clock, Log, SentRecords, Sms

# Completing a claim is worth a few more tries (after botocore's own): a claim left behind
# reads as a send whose outcome was lost, so a text that surely did not go would never be sent.
CLAIM_FINISH_ATTEMPTS = 3


class SendInFlight(Exception):
    """Another invocation holds the claim on this send right now (a duplicate request): defer it."""


class AccountSpendLimitReached(Exception):
    """End User Messaging refused the send: the account's monthly spend limit is reached. Raised, not
    returned, so the claim is released and the request can be sent once the limit allows."""


@dataclass(frozen=True)
class Send:
    """A planned text: the request, its final body and parts, and the message type its plan applied."""

    request: SendRequest
    body: str
    parts: int
    message_type: str
    promotional: PromotionalCount | None = None  # a promotional text's count, on top of its batch's read
    conversation: Conversation | None = None  # the conversation the text opens, stored once it went

    @property
    def records_with_claim(self) -> bool:
        """The claim's completion, the outcome, the ledger entry, the conversation and a promotional count
        can be one write: not for a promotional text whose batch read nothing to count it on."""
        return self.message_type != PROMOTIONAL or self.promotional is not None


@dataclass(frozen=True)
class Delivered:
    """A send's result; ``recorded``: its outcome SENT and ledger entry were written with the claim."""

    result: dict[str, Any]
    recorded: bool = False
    claimed_at: float | None = None  # this attempt's claim, when it sent the text (None: a result reused)


def send_context(request: SendRequest) -> dict[str, str]:
    """``SendTextMessage``'s Context (and the ledger's): the caller's, the send key and the campaign run."""
    context = {**request.context, "sendKey": request.idempotency_key}
    if request.campaign is not None:
        context["campaign"] = request.campaign.run_key
    return context


def sent_text(
    request: SendRequest, origination: str, result: dict[str, Any], *, message_type: str, parts: int
) -> SentText:
    """The ledger's entry for ``request``, sent with ``result`` (a SENT one) by the sender."""
    return SentText(
        message_id=result["message_id"],
        destination=request.destination,
        origination=origination,
        context=send_context(request),
        sent_at_ms=int(float(result["at"]) * 1000),
        message_type=message_type,
        estimated_parts=parts,
        sent_by="sender",
    )


class OnceOnlySender:
    """Sends through ``gateway`` from the settings' identity, claiming each send in ``claims`` first."""

    def __init__(
        self,
        *,
        claims: Claims,
        gateway: Sms,
        settings: SenderSettings,
        clock: Clock,
        log: Log,
        records: SentRecords | None = None,
    ) -> None:
        self._claims = claims
        self._records = records  # None: the claim, the outcome and the ledger are always written one by one
        self._gateway = gateway
        self._settings = settings
        self._clock = clock
        self._log = log

    def deliver(self, send: Send, *, deadline: float) -> Delivered:
        """The send's result; ``deadline`` is the invocation's (a claim held past it is a lost outcome).

        Raises ``RetryableSendError`` and ``AccountSpendLimitReached`` (surely not sent: the claim
        is released) and ``SendInFlight`` (another invocation is sending it now).
        """
        key = send.request.idempotency_key
        now = self._clock.now()
        existing = self._claims.claim(key, now=now, until=max(deadline, now))
        if existing is not None:
            if existing.status == DONE and existing.result is not None:
                return Delivered(existing.result)
            if existing.status == SENDING and now < existing.until:
                raise SendInFlight(key)
            self._log.warning("send outcome unknown: its claim outlived its invocation; not sent again")
            return Delivered(self._finish(key, now, {"status": UNKNOWN, "at": now}, claimed=False))
        try:
            result = self._gateway.send(
                OutgoingText(
                    destination=send.request.destination,
                    origination_identity=self._settings.origination_identity,
                    body=send.body,
                    message_type=send.message_type,
                    context=send_context(send.request),
                    max_price=self._settings.max_price_usd,
                    time_to_live_seconds=self._settings.time_to_live_seconds,
                )
            )
        except (RetryableSendError, AccountSpendLimitReached):
            self._finish_claim(key, now, None)  # surely not sent: a retry may claim it again
            raise
        except SendOutcomeUnknown as error:
            self._log.warning("send outcome unknown: its answer was lost; not sent again", code=str(error))
            return Delivered(self._finish(key, now, {"status": UNKNOWN, "at": self._clock.now()}))
        except SendRejected as error:  # (PriceAboveMax is one: the price is above MaxPrice)
            if (error.code, error.reason) == SPEND_LIMIT_ERROR:
                self._finish_claim(key, now, None)
                raise AccountSpendLimitReached(error.reason) from error
            reason = PRICE_ABOVE_MAX if isinstance(error, PriceAboveMax) else REJECTED
            code = f"{error.code}:{error.reason}" if error.reason else error.code
            refused = {"status": REFUSED, "reason": reason, "code": code, "at": self._clock.now()}
            return Delivered(self._finish(key, now, refused))
        if result.blocked_by_opt_out:
            blocked = {
                "status": REFUSED,
                "reason": OPTED_OUT,
                "code": "DESTINATION_PHONE_NUMBER_OPTED_OUT",
                "at": self._clock.now(),
            }
            return Delivered(self._finish(key, now, blocked))
        sent = {"status": SENT, "message_id": result.message_id, "at": self._clock.now()}
        if send.records_with_claim and self._records is not None and self._recorded_with_claim(send, now, sent):
            return Delivered(sent, recorded=True, claimed_at=now)
        return Delivered(self._finish(key, now, sent), claimed_at=now)

    def _recorded_with_claim(self, send: Send, claimed_at: float, result: dict[str, Any]) -> bool:
        """Completes the claim, records the outcome SENT and the ledger entry in one write. False
        when that wrote nothing the caller can count on: it then writes them one by one (after a
        lost answer those writes find theirs done, and the outcome is not counted twice)."""
        assert self._records is not None
        entry = sent_text(
            send.request, self._settings.origination_identity, result, message_type=send.message_type, parts=send.parts
        )
        try:
            return self._records.record(
                send.request.idempotency_key,
                claimed_at=claimed_at,
                result=result,
                sent=entry,
                promotional=send.promotional,
                conversation=None
                if send.conversation is None
                else sent_at(send.conversation, message_id=result["message_id"], at=float(result["at"])),
            )
        except Exception as error:
            self._log.warning(
                "sent text not recorded in one write; recorded one write at a time", reason=failure_reason(error)
            )
            return False

    def _finish(self, key: str, claimed_at: float, result: dict[str, Any], *, claimed: bool = True) -> dict[str, Any]:
        """Keeps the send's result with its claim. A failed write is logged, not raised: the claim left
        behind already keeps the text from going twice, and the result is recorded as the outcome."""
        if claimed:
            try:
                self._finish_claim(key, claimed_at, result)
            except Exception as error:
                self._log.warning(
                    "send result not kept with its claim; the claim keeps it from going twice",
                    reason=failure_reason(error),
                )
        return result

    def _finish_claim(self, key: str, claimed_at: float, result: dict[str, Any] | None) -> None:
        """Completes the claim, trying a few times more. No pause between tries: the batch's next sends
        are booked on slots, and a pause would bunch them past the MPS."""
        for _ in range(1, CLAIM_FINISH_ATTEMPTS):
            try:
                self._claims.finish(key, claimed_at=claimed_at, result=result)
                return
            except Exception:
                continue
        self._claims.finish(key, claimed_at=claimed_at, result=result)
