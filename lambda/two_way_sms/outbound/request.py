"""A request to send one text: what the outbound queue carries, validated once at the edge.

Everything that reaches the queue has been through :func:`parse_send_request` or the
:class:`SendRequest` constructor, so the sender can trust the shape and only has to decide
*whether* and *when* to send. The wire format is camelCase JSON; unknown fields are
rejected, because a typo ("sendafter") must not silently drop a setting.

A request may open a conversation (``conversation``: which flow, the business reference,
the slots offered): its text is then the flow's start prompt, rendered with ``variables``,
so a reply can only be answered by the flow that asked the question.

The limits come from the ``SendTextMessage`` model (FACTS.md "Sending"): a body of
1-1,600 characters that is not only whitespace; a Context of at most 5 entries, of which
the sender keeps two ("sendKey", "campaign") for itself.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any

from two_way_sms.instants import parse_instant
from two_way_sms.phone import InvalidPhoneNumber, mask, to_e164

MESSAGE_TYPES = ("TRANSACTIONAL", "PROMOTIONAL")
TRANSACTIONAL, PROMOTIONAL = MESSAGE_TYPES
MAX_CALLER_CONTEXT_ENTRIES = 3  # SendTextMessage allows 5; the sender adds "sendKey" and "campaign"
RESERVED_CONTEXT_KEYS = ("sendKey", "campaign")

MAX_BODY_CHARACTERS = 1600
MAX_CONTEXT_KEY_CHARACTERS = 100
MAX_CONTEXT_VALUE_CHARACTERS = 800

IDEMPOTENCY_KEY_PATTERN = re.compile(r"[A-Za-z0-9_.:#/@+=-]{1,128}")
TEMPLATE_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
CAMPAIGN_ID_PATTERN = TEMPLATE_ID_PATTERN
# A run id appears in "<campaign id>/<run id>" (the Context value and the contact's
# per-run counter key), so it must not contain "/".
RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9_.:#@+=-]{1,64}")
_CONTEXT_KEY_PATTERN = re.compile(r"\S+")
FLOW_NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,39}")  # conversations.flows.NAME
MAX_REFERENCE_CHARACTERS = 128
MAX_SLOTS = 9  # conversations.flows.MAX_SLOTS: letters A-I
MAX_SLOT_CHARACTERS = 60

_EMPTY: Mapping[str, str] = MappingProxyType({})


class InvalidSendRequest(ValueError):
    """A send request that cannot be queued; ``reason`` is one line naming the bad value (number masked)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CampaignRef:
    """Set on the requests a campaign run produced: which run, and its per-recipient and MPS caps."""

    campaign_id: str
    run_id: str
    max_per_recipient: int = 1  # per campaign run
    mps: float | None = None  # the campaign's overall cap (<= the number's MPS)

    def __post_init__(self) -> None:
        if not isinstance(self.campaign_id, str) or not CAMPAIGN_ID_PATTERN.fullmatch(self.campaign_id):
            raise InvalidSendRequest(f"campaign id {self.campaign_id!r} must be 1-64 characters of [A-Za-z0-9_-]")
        if not isinstance(self.run_id, str) or not RUN_ID_PATTERN.fullmatch(self.run_id):
            raise InvalidSendRequest(f"campaign run id {self.run_id!r} must be 1-64 characters of [A-Za-z0-9_.:#@+=-]")
        if not _is_int(self.max_per_recipient) or self.max_per_recipient < 1:
            raise InvalidSendRequest(f"campaign maxPerRecipient {self.max_per_recipient!r} must be an integer >= 1")
        if self.mps is not None and (not _is_number(self.mps) or not self.mps > 0 or not math.isfinite(self.mps)):
            raise InvalidSendRequest(f"campaign mps {self.mps!r} must be a positive number")

    @property
    def run_key(self) -> str:
        """``"<campaign id>/<run id>"``: the Context value and the contact's per-run counter key."""
        return f"{self.campaign_id}/{self.run_id}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "campaignId": self.campaign_id,
            "runId": self.run_id,
            "maxPerRecipient": self.max_per_recipient,
            "mps": self.mps,
        }


@dataclass(frozen=True)
class ConversationRef:
    """The conversation a request opens: the flow, the business's reference, the slots offered."""

    flow: str
    reference: str | None = None  # an appointment or transaction id: in every business event
    slots: tuple[str, ...] = ()  # offered times, lettered A, B, C... in this order

    def __post_init__(self) -> None:
        if not isinstance(self.flow, str) or not FLOW_NAME_PATTERN.fullmatch(self.flow):
            raise InvalidSendRequest(
                f"conversation flow {_shorten(self.flow)!r} must be 1-40 characters of "
                "a-z, 0-9 and _, starting with a letter"
            )
        if self.reference is not None and (
            not isinstance(self.reference, str) or not 1 <= len(self.reference) <= MAX_REFERENCE_CHARACTERS
        ):
            raise InvalidSendRequest(
                f"conversation reference {_shorten(self.reference)!r} must be a string of "
                f"1-{MAX_REFERENCE_CHARACTERS} characters"
            )
        if isinstance(self.slots, (str, bytes)) or not isinstance(self.slots, (list, tuple)):
            raise InvalidSendRequest(f"conversation slots must be a list of strings, not {type(self.slots).__name__}")
        if len(self.slots) > MAX_SLOTS:
            raise InvalidSendRequest(f"conversation offers {len(self.slots)} slots; at most {MAX_SLOTS} (A-I)")
        for slot in self.slots:
            if not isinstance(slot, str) or not 1 <= len(slot.strip()) <= MAX_SLOT_CHARACTERS:
                raise InvalidSendRequest(
                    f"conversation slot {_shorten(slot)!r} must be a string of 1-{MAX_SLOT_CHARACTERS} characters"
                )
        object.__setattr__(self, "slots", tuple(slot.strip() for slot in self.slots))

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"flow": self.flow}
        if self.reference is not None:
            data["reference"] = self.reference
        if self.slots:
            data["slots"] = list(self.slots)
        return data


@dataclass(frozen=True)
class SendRequest:
    """One text to send. Construction validates and normalises (E.164 destination, UTC send_after)."""

    destination: str  # E.164 (normalised with to_e164)
    message_type: str  # TRANSACTIONAL | PROMOTIONAL
    idempotency_key: str  # 1-128 chars of [A-Za-z0-9_.:#/@+=-]
    body: str | None = None  # exactly one of body / template_id, or neither with a conversation
    template_id: str | None = None
    variables: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    send_after: datetime | None = None  # timezone-aware UTC
    context: Mapping[str, str] = field(default_factory=lambda: _EMPTY)  # <= 3 entries
    campaign: CampaignRef | None = None
    conversation: ConversationRef | None = None  # its flow's start prompt is the text

    def __post_init__(self) -> None:
        # Frozen: normalised values are stored with object.__setattr__.
        object.__setattr__(self, "destination", _destination(self.destination))
        if self.message_type not in MESSAGE_TYPES:
            raise InvalidSendRequest(f"message type {self.message_type!r} must be one of {', '.join(MESSAGE_TYPES)}")
        if not isinstance(self.idempotency_key, str) or not IDEMPOTENCY_KEY_PATTERN.fullmatch(self.idempotency_key):
            raise InvalidSendRequest(
                f"idempotency key {_shorten(self.idempotency_key)!r} must be 1-128 characters of [A-Za-z0-9_.:#/@+=-]"
            )
        if self.conversation is not None and not isinstance(self.conversation, ConversationRef):
            raise InvalidSendRequest(f"conversation {type(self.conversation).__name__} must be a ConversationRef")
        if self.conversation is not None:
            if self.body is not None or self.template_id is not None:
                raise InvalidSendRequest(
                    "a conversation request takes neither body nor templateId: its text is the flow's start prompt"
                )
        elif (self.body is None) == (self.template_id is None):
            raise InvalidSendRequest("exactly one of body and templateId must be set")
        if self.body is not None:
            _check_body(self.body)
        if self.template_id is not None and (
            not isinstance(self.template_id, str) or not TEMPLATE_ID_PATTERN.fullmatch(self.template_id)
        ):
            raise InvalidSendRequest(
                f"template id {_shorten(self.template_id)!r} must be 1-64 characters of [A-Za-z0-9_-]"
            )
        object.__setattr__(self, "variables", _variables(self.variables))
        object.__setattr__(self, "send_after", _send_after(self.send_after))
        object.__setattr__(self, "context", _context(self.context))
        if self.campaign is not None and not isinstance(self.campaign, CampaignRef):
            raise InvalidSendRequest(f"campaign {type(self.campaign).__name__} must be a CampaignRef")

    def to_dict(self) -> dict[str, Any]:
        """The wire format as a dict (camelCase; optional fields only when set)."""
        data: dict[str, Any] = {
            "destination": self.destination,
            "messageType": self.message_type,
            "idempotencyKey": self.idempotency_key,
        }
        if self.body is not None:
            data["body"] = self.body
        if self.template_id is not None:
            data["templateId"] = self.template_id
        if self.variables:
            data["variables"] = dict(self.variables)
        if self.send_after is not None:
            data["sendAfter"] = self.send_after.isoformat()
        if self.context:
            data["context"] = dict(self.context)
        if self.campaign is not None:
            data["campaign"] = self.campaign.to_dict()
        if self.conversation is not None:
            data["conversation"] = self.conversation.to_dict()
        return data

    def to_json(self) -> str:
        """The queue message body; :func:`parse_send_request` reads it back to an equal request."""
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True, ensure_ascii=False)

    def with_changes(self, **changes: Any) -> SendRequest:
        return dataclasses.replace(self, **changes)


_FIELDS = {
    "destination": "destination",
    "messageType": "message_type",
    "idempotencyKey": "idempotency_key",
    "body": "body",
    "templateId": "template_id",
    "variables": "variables",
    "sendAfter": "send_after",
    "context": "context",
    "campaign": "campaign",
    "conversation": "conversation",
}
_REQUIRED = ("destination", "messageType", "idempotencyKey")
_CAMPAIGN_FIELDS = {
    "campaignId": "campaign_id",
    "runId": "run_id",
    "maxPerRecipient": "max_per_recipient",
    "mps": "mps",
}
_CONVERSATION_FIELDS = {"flow": "flow", "reference": "reference", "slots": "slots"}


def parse_send_request(raw: str | bytes | Mapping[str, Any]) -> SendRequest:
    """Reads the wire format (a JSON string or an already-decoded mapping); raises InvalidSendRequest."""
    if isinstance(raw, (str, bytes)):
        try:
            raw = json.loads(raw)
        except ValueError as error:  # JSONDecodeError, UnicodeDecodeError: positions only, no content
            raise InvalidSendRequest(f"request is not JSON ({error})") from None
    if not isinstance(raw, Mapping):
        raise InvalidSendRequest(f"request must be a JSON object, not {type(raw).__name__}")
    _reject_unknown(raw, _FIELDS, "request")
    missing = [name for name in _REQUIRED if raw.get(name) is None]
    if missing:
        raise InvalidSendRequest(f"request is missing {', '.join(missing)}")
    values = {_FIELDS[name]: value for name, value in raw.items() if value is not None}
    for name in ("destination", "messageType", "idempotencyKey", "body", "templateId"):
        if name in raw and raw[name] is not None and not isinstance(raw[name], str):
            raise InvalidSendRequest(f"{name} must be a string, not {type(raw[name]).__name__}")
    if "send_after" in values:
        values["send_after"] = _parse_instant(values["send_after"])
    if "campaign" in values:
        values["campaign"] = _parse_campaign(values["campaign"])
    if "conversation" in values:
        values["conversation"] = _parse_conversation(values["conversation"])
    return SendRequest(**values)


# -- validation helpers -------------------------------------------------------------------


def _destination(raw: Any) -> str:
    try:
        return to_e164(raw)
    except InvalidPhoneNumber as error:
        # to_e164's message already masks the number.
        raise InvalidSendRequest(f"destination: {error}") from None
    except TypeError:
        raise InvalidSendRequest(f"destination {mask(raw)} must be a string") from None


def _check_body(body: Any) -> None:
    if not isinstance(body, str):
        raise InvalidSendRequest(f"body must be a string, not {type(body).__name__}")
    # Never echo the body itself: only its size.
    if not 1 <= len(body) <= MAX_BODY_CHARACTERS:
        raise InvalidSendRequest(f"body has {len(body)} characters; it must have 1-{MAX_BODY_CHARACTERS:,}")
    if not body.strip():
        raise InvalidSendRequest("body is only whitespace")


def _variables(raw: Any) -> Mapping[str, str]:
    if not isinstance(raw, Mapping):
        raise InvalidSendRequest(f"variables must be an object of strings, not {type(raw).__name__}")
    for name, value in raw.items():
        if not isinstance(name, str) or not name:
            raise InvalidSendRequest(f"variable name {name!r} must be a non-empty string")
        if not isinstance(value, str):
            raise InvalidSendRequest(f"variable {name!r} must be a string, not {type(value).__name__}")
    return MappingProxyType(dict(raw))


def _context(raw: Any) -> Mapping[str, str]:
    if not isinstance(raw, Mapping):
        raise InvalidSendRequest(f"context must be an object of strings, not {type(raw).__name__}")
    if len(raw) > MAX_CALLER_CONTEXT_ENTRIES:
        raise InvalidSendRequest(f"context has {len(raw)} entries; at most {MAX_CALLER_CONTEXT_ENTRIES} are allowed")
    for key, value in raw.items():
        if key in RESERVED_CONTEXT_KEYS:
            raise InvalidSendRequest(f"context key {key!r} is reserved for the sender")
        if (
            not isinstance(key, str)
            or not 1 <= len(key) <= MAX_CONTEXT_KEY_CHARACTERS
            or not _CONTEXT_KEY_PATTERN.fullmatch(key)
        ):
            raise InvalidSendRequest(
                f"context key {_shorten(key)!r} must be 1-{MAX_CONTEXT_KEY_CHARACTERS} characters without whitespace"
            )
        if not isinstance(value, str) or not 1 <= len(value) <= MAX_CONTEXT_VALUE_CHARACTERS:
            raise InvalidSendRequest(
                f"context value of {key!r} must be a string of 1-{MAX_CONTEXT_VALUE_CHARACTERS} characters"
            )
        if value != value.strip():
            raise InvalidSendRequest(f"context value of {key!r} must not start or end with whitespace")
    return MappingProxyType(dict(raw))


def _send_after(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise InvalidSendRequest(f"sendAfter {value!r} must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidSendRequest(f"sendAfter {value.isoformat()} must carry a UTC offset")
    return value.astimezone(timezone.utc)


def _parse_instant(raw: Any) -> datetime:
    if not isinstance(raw, str):
        raise InvalidSendRequest(f"sendAfter {raw!r} must be an ISO 8601 string with an offset")
    try:
        return parse_instant(raw, "sendAfter")
    except ValueError as error:
        raise InvalidSendRequest(str(error)) from None


def _parse_campaign(raw: Any) -> CampaignRef:
    if not isinstance(raw, Mapping):
        raise InvalidSendRequest(f"campaign must be an object, not {type(raw).__name__}")
    _reject_unknown(raw, _CAMPAIGN_FIELDS, "campaign")
    missing = [name for name in ("campaignId", "runId") if raw.get(name) is None]
    if missing:
        raise InvalidSendRequest(f"campaign is missing {', '.join(missing)}")
    return CampaignRef(**{_CAMPAIGN_FIELDS[name]: value for name, value in raw.items() if value is not None})


def _parse_conversation(raw: Any) -> ConversationRef:
    if not isinstance(raw, Mapping):
        raise InvalidSendRequest(f"conversation must be an object, not {type(raw).__name__}")
    _reject_unknown(raw, _CONVERSATION_FIELDS, "conversation")
    if raw.get("flow") is None:
        raise InvalidSendRequest("conversation is missing flow")
    return ConversationRef(**{_CONVERSATION_FIELDS[name]: value for name, value in raw.items() if value is not None})


def _reject_unknown(raw: Mapping[str, Any], known: Mapping[str, str], what: str) -> None:
    unknown = sorted(str(name) for name in raw if name not in known)
    if unknown:
        raise InvalidSendRequest(f"{what} has unknown fields: {', '.join(unknown)}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _shorten(value: Any, limit: int = 40) -> Any:
    # Keeps error messages to one short line whatever was sent.
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + "..."
    return value
