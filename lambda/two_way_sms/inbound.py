"""The inbound message a two-way number publishes, parsed defensively.

End User Messaging publishes JSON to the SNS topic; with raw message delivery the SQS
body is that JSON, without it the body is an SNS envelope whose ``Message`` holds it.
Fields can be missing and numbers can lack their ``+``, so nothing is trusted as is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from two_way_sms.instants import parse_instant
from two_way_sms.phone import InvalidPhoneNumber, to_e164

MAX_BODY_CHARACTERS = 1600


class MalformedInboundMessage(ValueError):
    """The record cannot be understood; ``reason`` says why (never the body itself)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class InboundMessage:
    inbound_message_id: str
    customer_number: str  # E.164, the sender (``originationNumber``)
    our_number: str  # E.164, the number they texted (``destinationNumber``)
    body: str
    registered_keyword: str | None  # ``messageKeyword``: the number's keyword, if any
    previous_published_message_id: str | None
    # When the service published it (the SNS envelope's ``Timestamp``): the same on every
    # redelivery, unlike the queue's ``SentTimestamp``. None for a raw (envelope-less) body.
    published_at_ms: int | None = None
    # False for a sender we must never text: a short code, an alphanumeric sender id,
    # anything that is not a phone number (``customer_number`` is then the raw value).
    answerable: bool = True


def parse_inbound(raw: str | dict[str, Any]) -> InboundMessage:
    """Parses a raw inbound JSON, or an SNS notification envelope containing it."""
    payload = _load_object(raw)
    published_at_ms = None
    if payload.get("Type") == "Notification" and "Message" in payload:
        published_at_ms = _timestamp_ms(payload.get("Timestamp"))
        payload = _load_object(payload["Message"])

    message_id = _required_text(payload, "inboundMessageId")
    body = payload.get("messageBody")
    if not isinstance(body, str):
        raise MalformedInboundMessage("messageBody is missing or not text")
    if len(body) > MAX_BODY_CHARACTERS:
        raise MalformedInboundMessage(f"messageBody has {len(body)} characters, more than {MAX_BODY_CHARACTERS}")
    sender = _required_text(payload, "originationNumber")
    try:
        # phonenumbers would read letters as a vanity number (a number's digits: no letter to look for)
        if not sender.lstrip("+").isdigit() and any(ch.isalpha() for ch in sender):
            raise InvalidPhoneNumber("a sender id, not a phone number")
        customer_number, answerable = to_e164(sender), True
    except InvalidPhoneNumber:
        customer_number, answerable = sender, False
    return InboundMessage(
        inbound_message_id=message_id,
        customer_number=customer_number,
        our_number=_phone(payload, "destinationNumber"),
        body=body,
        registered_keyword=_optional_text(payload, "messageKeyword"),
        previous_published_message_id=_optional_text(payload, "previousPublishedMessageId"),
        published_at_ms=published_at_ms,
        answerable=answerable,
    )


def _timestamp_ms(value: Any) -> int | None:
    """SNS's ``Timestamp`` (ISO 8601, UTC) in epoch milliseconds; None when absent or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        return int(parse_instant(value, "Timestamp").timestamp() * 1000)
    except ValueError:
        return None


def _load_object(raw: Any) -> dict[str, Any]:
    if isinstance(raw, (str, bytes)):
        try:
            raw = json.loads(raw)
        except ValueError as error:
            raise MalformedInboundMessage(f"body is not JSON ({error.__class__.__name__})") from None
    if not isinstance(raw, dict):
        raise MalformedInboundMessage(f"body is a JSON {type(raw).__name__}, not an object")
    return raw


def _required_text(payload: dict[str, Any], field: str) -> str:
    value = payload.get(field)
    if not isinstance(value, str) or not value.strip():
        raise MalformedInboundMessage(f"{field} is missing or empty")
    return value.strip()


def _optional_text(payload: dict[str, Any], field: str) -> str | None:
    value = payload.get(field)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _phone(payload: dict[str, Any], field: str) -> str:
    try:
        return to_e164(_required_text(payload, field))
    except InvalidPhoneNumber as error:
        raise MalformedInboundMessage(f"{field}: {error}") from None
