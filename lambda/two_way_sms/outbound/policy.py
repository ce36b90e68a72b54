"""The sender's decision for one request: send it now, hold it until later, or refuse it.

Pure: the sender reads the contact's state, calls :func:`plan_send` with an injected
``now``, and carries out the plan. The order of the checks matters and is fixed:

1. opted out -> REFUSE OPTED_OUT, whatever the message type (a STOP is a STOP);
2. render the body (unknown template / missing variables -> REFUSE); a conversation
   request's body is its flow's start prompt, which the sender renders with the engine and
   passes as ``prompt`` (None: the flow is not switched on -> REFUSE UNKNOWN_FLOW);
3. PROMOTIONAL: add the opt-out instruction when missing; no recorded opt-in -> REFUSE NO_OPT_IN;
4. replace GSM-7 look-alikes (when on), then count parts: more than ``max_parts`` -> REFUSE
   TOO_MANY_PARTS (the footer and the replacement both change the count, so count last);
   a body left empty (empty variables, only invisible characters) is refused too;
5. ``send_after`` in the future -> HOLD until then;
6. the month's budget (``budget.py``) reached: PROMOTIONAL and campaign texts (and, with a
   hard stop, every other one) -> HOLD until the month turns (BUDGET_REACHED,
   BUDGET_HARD_STOP); the sender parks them until the budget is raised or the month turns;
7. PROMOTIONAL: zone unknown (or no common window within ``quiet_hours.SEARCH_DAYS``) -> REFUSE
   UNKNOWN_TIME_ZONE; outside the recipient's windows (the rules table of ``two_way_sms.rules``
   for US and Canadian numbers: hours, closed weekdays, legal holidays; the default window for
   other countries) -> HOLD until one opens; over a limit (``limits.py``: the table's caps, the
   daily limit, the campaign's) -> REFUSE with the limit in ``detail``;
8. otherwise SEND.

TRANSACTIONAL messages skip quiet hours and the limits. A template declared PROMOTIONAL is
treated as PROMOTIONAL even when the request says TRANSACTIONAL: marketing copy does not
escape the consent and quiet-hours rules by a wrong field (``SendPlan.message_type`` says
which type the plan applied, for the ``MessageType`` of the send).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import Enum
from typing import Any

from two_way_sms.encoding import analyse, replace_lookalikes
from two_way_sms.outbound.budget import (
    ACCOUNT_SPEND_LIMIT,
    BUDGET_HARD_STOP,
    BUDGET_REACHED,
    BudgetState,
    next_month_start,
)
from two_way_sms.outbound.contact_state import ContactState  # noqa: F401  (part of the policy's interface)
from two_way_sms.outbound.limits import OVER_CAMPAIGN_LIMIT, OVER_DAILY_LIMIT, OVER_STATE_LIMIT, limit_check
from two_way_sms.outbound.request import PROMOTIONAL, SendRequest
from two_way_sms.outbound.templates import Template, TemplateError, render
from two_way_sms.quiet_hours import DailyWindow, QuietHoursRules, Week, locate, next_allowed

# Refusal reasons (also metric dimension values and stored on the request outcome).
OPTED_OUT = "OPTED_OUT"
NO_OPT_IN = "NO_OPT_IN"
TOO_MANY_PARTS = "TOO_MANY_PARTS"
UNKNOWN_TEMPLATE = "UNKNOWN_TEMPLATE"
MISSING_VARIABLES = "MISSING_VARIABLES"
UNKNOWN_TIME_ZONE = "UNKNOWN_TIME_ZONE"  # promotional, and the number's zone cannot be told
PRICE_ABOVE_MAX = "PRICE_ABOVE_MAX"  # adapter-level: End User Messaging said the price is above MaxPrice
REJECTED = "REJECTED"  # adapter-level: End User Messaging said no
UNKNOWN_FLOW = "UNKNOWN_FLOW"  # a conversation request names a flow that is not switched on
REFUSAL_REASONS = (
    OPTED_OUT,
    NO_OPT_IN,
    OVER_DAILY_LIMIT,
    OVER_STATE_LIMIT,
    OVER_CAMPAIGN_LIMIT,
    TOO_MANY_PARTS,
    UNKNOWN_TEMPLATE,
    MISSING_VARIABLES,
    UNKNOWN_TIME_ZONE,
    PRICE_ABOVE_MAX,
    REJECTED,
    UNKNOWN_FLOW,
)

# Hold reasons (SendPlan.reason when the outcome is HOLD).
SEND_AFTER = "SEND_AFTER"
QUIET_HOURS = "QUIET_HOURS"
# (ACCOUNT_SPEND_LIMIT: the sender's, when End User Messaging says the account's spend limit is reached.)
HOLD_REASONS = (SEND_AFTER, QUIET_HOURS, BUDGET_REACHED, BUDGET_HARD_STOP, ACCOUNT_SPEND_LIMIT)

OPT_OUT_INSTRUCTION = "Reply STOP to opt out"
# STOP as a word of its own ("non-stop" and "stopping" are not instructions), or an
# opt-out / unsubscribe phrase.
_OPT_OUT_INSTRUCTION_PATTERN = re.compile(
    r"(?<![\w-])stop(?![\w-])|(?<![\w-])opt[\s-]?out(?![\w-])|(?<![\w-])unsubscribe(?![\w-])",
    re.IGNORECASE,
)

# The SendTextMessage model's limits.
MAX_PRICE_PATTERN = re.compile(r"[0-9]{0,2}\.[0-9]{1,5}")
MIN_TIME_TO_LIVE_SECONDS = 5
MAX_TIME_TO_LIVE_SECONDS = 259200
MAX_PARTS_LIMIT = 10  # 10 GSM-7 parts are 1,530 characters: below the 1,600-character body limit


def has_opt_out_instruction(body: str) -> bool:
    """True when ``body`` already tells the recipient how to opt out (STOP, opt out, unsubscribe)."""
    return _OPT_OUT_INSTRUCTION_PATTERN.search(body) is not None


def with_opt_out_instruction(body: str) -> str:
    """``body`` with "\\nReply STOP to opt out" appended, unless it already has an instruction."""
    return body if has_opt_out_instruction(body) else f"{body}\n{OPT_OUT_INSTRUCTION}"


# -- settings -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SenderSettings:
    """How the sender sends: identity, throughput, quiet hours and cost guards (shipped as JSON)."""

    origination_identity: str  # what SendTextMessage gets as OriginationIdentity
    mps: float  # parts per second of the origination identity
    # The rules table ships in the package; these are the default window (other countries) and the tightening.
    quiet_hours: QuietHoursRules = field(default_factory=QuietHoursRules)
    max_price_usd: str | None = None  # per message, passed to SendTextMessage MaxPrice ("0.05")
    time_to_live_seconds: int = 259200  # 5 .. 259,200
    replace_lookalikes: bool = True
    max_parts: int = 6  # refuse larger messages (cost guard)
    promotional_daily_limit: int | None = 2  # per recipient, rolling 24 h; None = unlimited

    def __post_init__(self) -> None:
        if not isinstance(self.origination_identity, str) or not self.origination_identity.strip():
            raise ValueError(f"origination_identity {self.origination_identity!r} must be a non-empty string")
        if not _is_number(self.mps) or not self.mps > 0 or not math.isfinite(self.mps):
            raise ValueError(f"mps {self.mps!r} must be a positive number")
        if not isinstance(self.quiet_hours, QuietHoursRules):
            raise ValueError(f"quiet_hours {type(self.quiet_hours).__name__} must be QuietHoursRules")
        if self.max_price_usd is not None and (
            not isinstance(self.max_price_usd, str) or not MAX_PRICE_PATTERN.fullmatch(self.max_price_usd)
        ):
            raise ValueError(
                f"max_price_usd {self.max_price_usd!r} must look like \"0.05\" (up to 2 digits, '.', 1-5 digits)"
            )
        if not _is_int(self.time_to_live_seconds) or not (
            MIN_TIME_TO_LIVE_SECONDS <= self.time_to_live_seconds <= MAX_TIME_TO_LIVE_SECONDS
        ):
            raise ValueError(
                f"time_to_live_seconds {self.time_to_live_seconds!r} must be an integer from "
                f"{MIN_TIME_TO_LIVE_SECONDS} to {MAX_TIME_TO_LIVE_SECONDS:,}"
            )
        if not isinstance(self.replace_lookalikes, bool):
            raise ValueError(f"replace_lookalikes {self.replace_lookalikes!r} must be true or false")
        if not _is_int(self.max_parts) or not 1 <= self.max_parts <= MAX_PARTS_LIMIT:
            raise ValueError(f"max_parts {self.max_parts!r} must be an integer from 1 to {MAX_PARTS_LIMIT}")
        if self.promotional_daily_limit is not None and (
            not _is_int(self.promotional_daily_limit) or self.promotional_daily_limit < 1
        ):
            raise ValueError(
                f"promotional_daily_limit {self.promotional_daily_limit!r} must be None or an integer >= 1"
            )

    def to_json(self) -> str:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["quiet_hours"] = quiet_hours_to_dict(self.quiet_hours)
        return json.dumps(data, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> SenderSettings:
        data: Any = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError(f"sender settings must be a JSON object, not {type(data).__name__}")
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"sender settings have unknown fields: {', '.join(unknown)}")
        if "quiet_hours" in data:
            data["quiet_hours"] = quiet_hours_from_dict(data["quiet_hours"])
        return cls(**data)


def quiet_hours_to_dict(rules: QuietHoursRules) -> dict[str, Any]:
    """Compact, because the settings travel in a 4 KB Lambda environment, and only what the
    package's rules table does not hold: the default window (numbers of other countries), the
    operator's weeks by jurisdiction, the blackout dates, the lower caps and the waived rules.
    A window is ``"08:00-21:00"``; a week is one window when every day is the same, else 7 of
    them, Monday first, ``null`` for a closed day. ``{"default": "08:00-21:00", "jurisdictions":
    {"US-FL": "09:00-19:00"}, "blackout_dates": {"*": ["2026-12-24"]}, "caps": {"US-FL": 2},
    "waivers": ["US-RI:sundays"]}``."""
    data: dict[str, Any] = {"default": _window_text(rules.default)}
    if rules.states:
        data["jurisdictions"] = {code: _week_json(week) for code, week in sorted(rules.states.items())}
    if rules.blackout_dates:
        data["blackout_dates"] = {
            code: sorted(day.isoformat() for day in days) for code, days in sorted(rules.blackout_dates.items())
        }
    if rules.caps:
        data["caps"] = dict(sorted(rules.caps.items()))
    if rules.waivers:
        data["waivers"] = sorted(f"{code}:{rule}" for code, rule in rules.waivers)
    return data


def quiet_hours_from_dict(data: Mapping[str, Any]) -> QuietHoursRules:
    """The rules of ``quiet_hours_to_dict``. The shape before the rules table (``"states"``: the
    code's own copy of the state windows, all or none) is read too, for the functions of a
    deployment being updated: its ``states`` are ignored, the package's table replaces them."""
    if not isinstance(data, Mapping):
        raise ValueError(f"quiet_hours must be an object, not {type(data).__name__}")
    unknown = sorted(set(data) - {"default", "states", "jurisdictions", "blackout_dates", "caps", "waivers"})
    if unknown:
        raise ValueError(f"quiet_hours has unknown fields: {', '.join(unknown)}")
    if not isinstance(data.get("states", {}), Mapping):
        raise ValueError(f"quiet_hours states must be an object by state, not {type(data['states']).__name__}")
    jurisdictions = data.get("jurisdictions", {})
    if not isinstance(jurisdictions, Mapping):
        raise ValueError(f"quiet_hours jurisdictions must be an object, not {type(jurisdictions).__name__}")
    weeks = {code: _week_from_json(code, value) for code, value in jurisdictions.items()}
    blackouts = data.get("blackout_dates", {})
    if not isinstance(blackouts, Mapping):
        raise ValueError(f"quiet_hours blackout_dates must be an object, not {type(blackouts).__name__}")
    dates = {code: _dates_from_json(code, value) for code, value in blackouts.items()}
    caps = data.get("caps", {})
    if not isinstance(caps, Mapping):
        raise ValueError(f"quiet_hours caps must be an object, not {type(caps).__name__}")
    waivers = data.get("waivers", [])
    if not isinstance(waivers, list) or not all(isinstance(text, str) and ":" in text for text in waivers):
        raise ValueError(f'quiet_hours waivers {waivers!r} must be a list of "<jurisdiction>:<rule>"')
    default = _window_from_text(data["default"]) if "default" in data else QuietHoursRules.default
    return QuietHoursRules(
        default=default,
        states=weeks,
        blackout_dates=dates,
        caps=dict(caps),
        waivers=frozenset(_waiver(text) for text in waivers),
    )


def _waiver(text: str) -> tuple[str, str]:
    code, _, rule = text.rpartition(":")
    return code, rule


def _week_json(week: Week) -> str | list[str | None]:
    texts = [_window_text(window) if window is not None else None for window in week]
    return texts[0] if len(set(texts)) == 1 and texts[0] is not None else texts


def _week_from_json(code: str, value: Any) -> Week:
    if isinstance(value, str):
        return (_window_from_text(value),) * 7
    if isinstance(value, list):
        return tuple(None if text is None else _window_from_text(text) for text in value)  # QuietHoursRules counts 7
    raise ValueError(f'quiet_hours jurisdiction {code!r} must be a window "HH:MM-HH:MM" or a list of 7')


def _dates_from_json(code: str, value: Any) -> frozenset[date]:
    if not isinstance(value, list) or not all(isinstance(text, str) for text in value):
        raise ValueError(f"quiet_hours blackout_dates {code!r} must be a list of YYYY-MM-DD dates")
    try:
        return frozenset(date.fromisoformat(text) for text in value)
    except ValueError as error:
        raise ValueError(f"quiet_hours blackout_dates {code!r}: {error}") from None


def _window_text(window: DailyWindow) -> str:
    return f"{_time_text(window.start)}-{_time_text(window.end)}"


def _window_from_text(text: Any) -> DailyWindow:
    start, _, end = text.partition("-") if isinstance(text, str) else ("", "", "")
    try:
        return DailyWindow(time.fromisoformat(start), time.fromisoformat(end))
    except ValueError as error:
        raise ValueError(f'quiet hours window {text!r} must be "HH:MM-HH:MM" ({error})') from None


def _time_text(moment: time) -> str:
    return moment.isoformat(timespec="minutes" if not moment.second and not moment.microsecond else "auto")


# -- the contact and the plan ---------------------------------------------------------------


class Outcome(str, Enum):
    SEND = "SEND"
    HOLD = "HOLD"
    REFUSE = "REFUSE"


@dataclass(frozen=True)
class SendPlan:
    outcome: Outcome
    body: str | None = None  # final text (rendered, footer, look-alikes replaced): SEND and HOLD
    parts: int = 0
    encoding: str | None = None
    hold_until: datetime | None = None  # when HOLD
    reason: str | None = None  # REFUSE: one of REFUSAL_REASONS; HOLD: one of HOLD_REASONS
    message_type: str | None = None  # the type the plan applied (PROMOTIONAL when the template says so)
    detail: str | None = None  # why, in one line for logs (no numbers, no bodies)


def plan_send(
    request: SendRequest,
    *,
    contact: ContactState,
    now: datetime,
    settings: SenderSettings,
    templates: Mapping[str, Template],
    prompt: str | None = None,
    budget: BudgetState | None = None,
) -> SendPlan:
    """What to do with ``request`` at ``now`` (timezone-aware); see the module docstring for the order.

    ``budget`` is the month's budget against its counted spend (None: no budget).
    """
    if now.tzinfo is None:
        raise ValueError(f"now {now.isoformat()} must be timezone-aware")
    message_type = request.message_type

    def refuse(reason: str, detail: str | None = None) -> SendPlan:
        return SendPlan(Outcome.REFUSE, reason=reason, message_type=message_type, detail=detail)

    if contact.opted_out:
        return refuse(OPTED_OUT)

    if request.conversation is not None:
        if prompt is None:
            return refuse(UNKNOWN_FLOW, f"flow {request.conversation.flow} is not switched on or sends no prompt")
        body = prompt
    elif request.body is not None:
        body = request.body
    else:
        template = templates.get(request.template_id)  # type: ignore[arg-type]
        if template is None:
            return refuse(UNKNOWN_TEMPLATE, f"no template {request.template_id}")
        if template.message_type == PROMOTIONAL:
            message_type = PROMOTIONAL
        try:
            body = render(template, request.variables)
        except TemplateError as error:
            return refuse(MISSING_VARIABLES, str(error))

    promotional = message_type == PROMOTIONAL
    if promotional:
        body = with_opt_out_instruction(body)
        if not contact.opted_in:
            return refuse(NO_OPT_IN)

    if settings.replace_lookalikes:
        body = replace_lookalikes(body)
    if not body.strip():
        # Empty variables, or nothing but invisible characters: SendTextMessage would reject it.
        reason = REJECTED if request.body is not None else MISSING_VARIABLES
        return refuse(reason, "the message is empty")
    report = analyse(body)
    if report.parts > settings.max_parts:
        return refuse(TOO_MANY_PARTS, f"{report.parts} parts ({report.encoding}); the limit is {settings.max_parts}")

    def hold(until: datetime, reason: str) -> SendPlan:
        return SendPlan(
            Outcome.HOLD,
            body=body,
            parts=report.parts,
            encoding=report.encoding,
            hold_until=until,
            reason=reason,
            message_type=message_type,
        )

    if request.send_after is not None and request.send_after > now:
        return hold(request.send_after, SEND_AFTER)

    if budget is not None:
        waits = budget.hold_reason(promotional=promotional, campaign=request.campaign is not None)
        if waits is not None:
            return hold(next_month_start(now), waits)

    if promotional:
        allowed = next_allowed(request.destination, now, settings.quiet_hours)
        if allowed is None:
            return refuse(UNKNOWN_TIME_ZONE)
        if allowed != now:
            return hold(allowed, QUIET_HOURS)
        # limits.py counts by the request's type: give it the type this plan applies.
        as_planned = request
        if message_type != request.message_type:
            as_planned = request.with_changes(message_type=message_type)
        over = limit_check(
            as_planned,
            contact,
            now,
            daily_limit=settings.promotional_daily_limit,
            state=locate(request.destination).jurisdiction,
            rules=settings.quiet_hours,
        )
        if over is not None:
            return refuse(over.reason, over.detail)

    return SendPlan(Outcome.SEND, body=body, parts=report.parts, encoding=report.encoding, message_type=message_type)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
