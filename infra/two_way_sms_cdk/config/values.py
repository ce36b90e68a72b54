"""The values a config is made of: choices, texts, words and countries, each with what a wrong one is told.

``explained`` gives a field the phrase a wrong value gets (``'8am' must be a 24-hour time like
"08:00"``), in ``errors``' one-line messages and, as ``errorMessage``, in editors. Words and
countries are checked by the domain's rules (``two_way_sms.keywords``, the SMS countries).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from two_way_sms.inbound import MAX_BODY_CHARACTERS
from two_way_sms.keywords import keyword_problem, normalise_keyword
from two_way_sms.outbound.request import MESSAGE_TYPES
from two_way_sms.responder import KeywordAction
from two_way_sms_cdk.config.errors import problem, rule
from two_way_sms_cdk.config.model import CAPABILITIES, NUMBER_TYPES, ORIGINATION_TYPES, STREAM_MODES
from two_way_sms_cdk.sms_countries import SMS_COUNTRY_CODES


class Section(BaseModel):
    """A part of the config: unknown keys are errors, and no value is converted (a "6" is not 6)."""

    model_config = ConfigDict(extra="forbid", strict=True)


def one_of(values: Iterable[str]) -> Any:
    """A Literal of ``values`` (the schema's enum), from the constants that state them."""
    return Literal[tuple(values)]


def explained(message: str, **settings: Any) -> Any:
    """A Field whose wrong values get ``message`` (after the value: ``'8am' must be ...``), in errors and editors."""
    return Field(json_schema_extra={"errorMessage": message}, **settings)


NumberType = one_of(NUMBER_TYPES)
MessageType = one_of(MESSAGE_TYPES)
Capability = one_of(CAPABILITIES)
OriginationType = one_of(ORIGINATION_TYPES)
StreamMode = one_of(STREAM_MODES)
Action = one_of(action.value for action in KeywordAction)
Text = Annotated[str, explained("must be non-empty text", pattern=r"\S")]
Reply = Annotated[str, explained("must be non-empty text", pattern=r"\S", max_length=MAX_BODY_CHARACTERS)]
ClockTime = Annotated[str, explained('must be a 24-hour time like "08:00"', pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
_WINDOW_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$"
_NOT_A_WINDOW = 'must be a window like "09:00-19:00" (24-hour times, the start before the end)'
WindowText = Annotated[str, explained(_NOT_A_WINDOW, pattern=_WINDOW_PATTERN), AfterValidator(lambda v: window_text(v))]
DateText = Annotated[
    str,
    explained('must be a date like "2026-12-24"', pattern=r"^\d{4}-\d{2}-\d{2}$"),
    AfterValidator(lambda value: _real_date(value)),
]
_NOT_A_COUNTRY = 'is not an ISO 3166-1 alpha-2 country code End User Messaging sends to (such as "US", "CA" or "GB")'


def window_text(value: str) -> str:
    """``value`` when it is a window "HH:MM-HH:MM" that starts before it ends."""
    start, _, end = value.partition("-")
    if not re.fullmatch(_WINDOW_PATTERN, value) or not start < end:  # "HH:MM" compares as the times do
        raise problem(_NOT_A_WINDOW)
    return value


def _real_date(value: str) -> str:
    try:
        date.fromisoformat(value)
    except ValueError:
        raise problem("is not a date of the calendar") from None
    return value


def _word(value: str) -> str:
    """A keyword, opt-out or opt-in word as the domain allows it (``keywords.keyword_problem``), upper case."""
    if message := keyword_problem(value):
        raise rule(message)
    return normalise_keyword(value)


def _sms_country(value: str) -> str:
    code = value.strip().upper()
    if code not in SMS_COUNTRY_CODES:
        raise problem(_NOT_A_COUNTRY)
    return code


def repeats(values: list[Any]) -> list[Any]:
    """``values``, or an error naming those given more than once."""
    seen = sorted({value for index, value in enumerate(values) if value in values[:index]})
    if seen:
        raise problem(f"repeat {seen}", shown="")
    return values


Word = Annotated[str, AfterValidator(_word), Field(description="One word of 1-30 characters (any case).")]
Country = Annotated[str, explained(_NOT_A_COUNTRY, pattern=r"^\s*[A-Za-z]{2}\s*$"), AfterValidator(_sms_country)]


def no_default(schema: dict[str, Any]) -> None:
    """Leaves a field's default out of the schema: one that depends on another setting."""
    schema.pop("default", None)
