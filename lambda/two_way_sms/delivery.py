"""Delivery events: what End User Messaging reports about a text we sent, and which report wins.

Events for one message arrive out of order and more than once (EventBridge and the
stream are at-least-once; carriers report up to 72 hours later). The ledger keeps the
event with the greatest ``status_key``: a final event beats every non-final one, then
the later ``eventTimestamp`` wins, then the further status. Taking a maximum does not
depend on the order or the number of times events arrive, so any interleaving of the
same events ends in the same state, and a late non-final event never overwrites a
final status.

Pure Python: parsing and ordering only; ``two_way_sms.adapters.ledger`` stores them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from two_way_sms.instants import iso_timestamp
from two_way_sms.phone import InvalidPhoneNumber, to_e164

SOURCE = "aws.sms-voice"
DETAIL_TYPE = "Text Message Delivery Status Updated"

IN_FLIGHT = frozenset({"TEXT_QUEUED", "TEXT_PENDING"})
SUCCESSES = frozenset({"TEXT_SUCCESSFUL", "TEXT_DELIVERED"})
# Further along the way to the handset ranks higher; used only to break timestamp ties.
_PROGRESS = {"TEXT_QUEUED": 1, "TEXT_PENDING": 2, "TEXT_SUCCESSFUL": 3, "TEXT_DELIVERED": 4}
_FAILURE_PROGRESS = 5  # a failure is the end of the road, whatever its type
_BLOCKED = frozenset({"TEXT_BLOCKED", "TEXT_CARRIER_BLOCKED"})
_OPT_OUT_WORDS = re.compile(r"opt(ed)?[\s_-]*out", re.IGNORECASE)

# The ledger status of a message we sent and have heard nothing about yet: below any event.
SENT_STATUS = "SENT"
SENT_STATUS_KEY = "0|000000000000000|00|SENT"


class MalformedDeliveryEvent(ValueError):
    """A record that is not a usable delivery event; ``reason`` says why (no numbers or bodies)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class DeliveryEvent:
    message_id: str
    event_type: str  # TEXT_DELIVERED, TEXT_BLOCKED, ...
    event_timestamp_ms: int
    is_final: bool
    message_status: str  # DELIVERED, SUCCESSFUL, BLOCKED, ... (derived from event_type when missing)
    status_description: str | None = None
    origination_number: str | None = None
    destination_number: str | None = None
    iso_country_code: str | None = None
    is_international: bool | None = None
    mcc: str | None = None
    mnc: str | None = None
    carrier_name: str | None = None
    request_timestamp_ms: int | None = None
    encoding: str | None = None
    message_type: str | None = None
    context: dict[str, str] = field(default_factory=dict)
    parts: int | None = None
    price_usd: Decimal | None = None
    carrier_fee_usd: Decimal | None = None

    @property
    def status_key(self) -> str:
        """Sorts like the events' authority: final first, then time, then progress (fixed width)."""
        progress = _PROGRESS.get(self.event_type, _FAILURE_PROGRESS)
        return f"{int(self.is_final)}|{self.event_timestamp_ms:015d}|{progress:02d}|{self.event_type}"

    @property
    def history_entry(self) -> str:
        """One line of the status history; the same event always gives the same line."""
        return f"{iso_timestamp(self.event_timestamp_ms)} {self.event_type} {self.message_status}"

    @property
    def succeeded(self) -> bool:
        return self.event_type in SUCCESSES

    @property
    def outcome(self) -> str | None:
        """``DELIVERED`` or ``FAILED`` for a final event, None while the message is on its way."""
        if not self.is_final:
            return None
        return "DELIVERED" if self.succeeded else "FAILED"

    @property
    def shows_opt_out(self) -> bool:
        """The carrier or the service blocked the text because the recipient opted out."""
        if self.message_status.upper().replace("-", "_") in ("OPTED_OUT", "OPT_OUT"):
            return True
        return self.event_type in _BLOCKED and bool(_OPT_OUT_WORDS.search(self.status_description or ""))

    @property
    def spend_usd(self) -> Decimal:
        return (self.price_usd or Decimal(0)) + (self.carrier_fee_usd or Decimal(0))

    @property
    def billing_month(self) -> str:
        """The UTC month the message was requested in (``2026-11``): where its spend is counted."""
        return datetime.fromtimestamp(
            (self.request_timestamp_ms or self.event_timestamp_ms) / 1000, tz=timezone.utc
        ).strftime("%Y-%m")

    @property
    def requested_at(self) -> str | None:
        return iso_timestamp(self.request_timestamp_ms) if self.request_timestamp_ms is not None else None

    @property
    def reported_at(self) -> str:
        return iso_timestamp(self.event_timestamp_ms)


def parse_delivery_event(data: bytes | str | dict[str, Any]) -> DeliveryEvent:
    """Reads an EventBridge event (``source = aws.sms-voice``) or its bare ``detail``
    (one line of the Firehose archive) into a ``DeliveryEvent``.

    Tolerates what real traffic does: missing optional fields, numbers without ``+``,
    numbers given as strings. Raises ``MalformedDeliveryEvent`` when a required field
    (messageId, eventType, eventTimestamp) is missing or unusable.
    """
    if isinstance(data, (bytes, str)):
        try:
            data = json.loads(data, parse_float=Decimal)
        except (UnicodeDecodeError, ValueError):
            raise MalformedDeliveryEvent("record is not JSON") from None
    if not isinstance(data, dict):
        raise MalformedDeliveryEvent(f"record is a JSON {type(data).__name__}, not an object")
    detail: Any = data
    if "detail" in data or "detail-type" in data:
        if data.get("source") != SOURCE or data.get("detail-type") != DETAIL_TYPE:
            raise MalformedDeliveryEvent(
                f"event is {data.get('source')!r}/{data.get('detail-type')!r}, not {SOURCE!r}/{DETAIL_TYPE!r}"
            )
        detail = data.get("detail")
        if not isinstance(detail, dict):
            raise MalformedDeliveryEvent("event has no detail object")

    message_id = _text(detail, "messageId")
    event_type = _text(detail, "eventType")
    if message_id is None or event_type is None:
        raise MalformedDeliveryEvent("event has no messageId or no eventType")
    if not event_type.startswith("TEXT_"):
        raise MalformedDeliveryEvent(f"eventType {event_type!r} is not a text message event")
    event_timestamp = _integer(detail, "eventTimestamp")
    if event_timestamp is None or event_timestamp <= 0:
        raise MalformedDeliveryEvent("event has no usable eventTimestamp")

    is_final = detail.get("isFinal")
    if not isinstance(is_final, bool):
        # Not reported: only the in-flight types and SUCCESSFUL (a delivery receipt may follow) are not final.
        is_final = event_type not in IN_FLIGHT and event_type != "TEXT_SUCCESSFUL"
    return DeliveryEvent(
        message_id=message_id,
        event_type=event_type,
        event_timestamp_ms=event_timestamp,
        is_final=is_final,
        message_status=_text(detail, "messageStatus") or event_type.removeprefix("TEXT_"),
        status_description=_text(detail, "messageStatusDescription"),
        origination_number=_number(detail, "originationPhoneNumber"),
        destination_number=_number(detail, "destinationPhoneNumber"),
        iso_country_code=_text(detail, "isoCountryCode"),
        is_international=detail.get("isInternationalSend")
        if isinstance(detail.get("isInternationalSend"), bool)
        else None,
        mcc=_text(detail, "mcc"),
        mnc=_text(detail, "mnc"),
        carrier_name=_text(detail, "carrierName"),
        request_timestamp_ms=_integer(detail, "messageRequestTimestamp"),
        encoding=_text(detail, "messageEncoding"),
        message_type=_text(detail, "messageType"),
        context=_context(detail.get("context")),
        parts=_integer(detail, "totalMessageParts"),
        price_usd=_amount(detail, "totalMessagePrice"),
        carrier_fee_usd=_amount(detail, "totalCarrierFee"),
    )


def _text(detail: dict[str, Any], key: str) -> str | None:
    value = detail.get(key)
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        value = str(value)  # mcc/mnc are sometimes numbers
    if not isinstance(value, str):
        return None
    return value.strip() or None


def _integer(detail: dict[str, Any], key: str) -> int | None:
    value = detail.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, int) or (isinstance(value, Decimal) and value == value.to_integral_value()):
        return int(value)
    return None


def _amount(detail: dict[str, Any], key: str) -> Decimal | None:
    value = detail.get(key)
    if isinstance(value, bool) or value is None:
        return None
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        return None
    return amount if amount.is_finite() and amount >= 0 else None


def _number(detail: dict[str, Any], key: str) -> str | None:
    value = _text(detail, key)
    if value is None:
        return None
    try:
        return to_e164(value)
    except InvalidPhoneNumber:
        return value  # a sender ID or short code: keep it as reported


def _context(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items() if isinstance(v, (str, int, Decimal)) and not isinstance(v, bool)}
