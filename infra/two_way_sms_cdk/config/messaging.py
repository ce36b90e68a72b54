"""The sections of what the number says and sends: keywords, the outbound sender, its templates, the conversations.

Each key with its type, default (the typed model's or the domain's), range and a line on what it
does; the checks that belong to one section are its validators.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, Field, field_validator, model_validator

from two_way_sms.conversations.ready_flows import READY_FLOWS
from two_way_sms.keywords import MANDATORY_KEYWORDS
from two_way_sms.outbound.policy import (
    MAX_PARTS_LIMIT,
    MAX_PRICE_PATTERN,
    MAX_TIME_TO_LIVE_SECONDS,
    MIN_TIME_TO_LIVE_SECONDS,
)
from two_way_sms.outbound.request import TEMPLATE_ID_PATTERN, TRANSACTIONAL
from two_way_sms.quiet_hours import WAIVABLE_RULES
from two_way_sms.responder import KeywordAction
from two_way_sms.rules import load_rules
from two_way_sms_cdk.config.errors import problem, rule
from two_way_sms_cdk.config.model import DEFAULT_MAX_PRICE_USD, MAX_CONCURRENCY, OutboundConfig, QuietHoursConfig
from two_way_sms_cdk.config.values import (
    Action,
    ClockTime,
    DateText,
    MessageType,
    Reply,
    Section,
    Text,
    WindowText,
    Word,
    explained,
    one_of,
    repeats,
)

JURISDICTIONS = tuple(load_rules().jurisdictions)
Jurisdiction = one_of(JURISDICTIONS)
WaivableRule = one_of(WAIVABLE_RULES)


class Keyword(Section):
    """A word the number answers with a reply, and what it does to consent."""

    keyword: Word = Field(description="A word the number answers (not HELP or STOP: those are help_reply, stop_reply).")
    reply: Reply = Field(description="The answer, up to 1,600 characters.")
    action: Action = Field(
        KeywordAction.AUTOMATIC_RESPONSE.value, description="OPT_OUT and OPT_IN also change the sender's consent."
    )

    @field_validator("keyword")
    @classmethod
    def _not_mandatory(cls, value: str) -> str:
        if value in MANDATORY_KEYWORDS:
            raise problem("is a mandatory keyword: set help_reply or stop_reply instead", shown=repr(value))
        return value


class LanguageReplies(Section):
    """The replies in one more language: its consent and help words (two_way_sms.languages) get them."""

    help_reply: Reply = Field(description="The answer to its help words (AYUDA, AIDE), with contact details.")
    stop_reply: Reply = Field(description="The confirmation of its opt-out words (ALTO, ARRET), in the language.")
    opt_in_reply: Reply | None = Field(
        None, description="The confirmation of its opt-in words (Spanish INICIO); only for a language that has some."
    )


# -- outbound -----------------------------------------------------------------------------------------
_DAY_HELP = "Left out: the law's window that day; null: no promotional text that day."


class DailyWindows(Section):
    """A window per day of the week, in the recipient's local time."""

    mon: WindowText | None = Field(None, description=_DAY_HELP)
    tue: WindowText | None = Field(None, description=_DAY_HELP)
    wed: WindowText | None = Field(None, description=_DAY_HELP)
    thu: WindowText | None = Field(None, description=_DAY_HELP)
    fri: WindowText | None = Field(None, description=_DAY_HELP)
    sat: WindowText | None = Field(None, description=_DAY_HELP)
    sun: WindowText | None = Field(None, description=_DAY_HELP)


class JurisdictionRules(Section):
    """The operator's rules for one jurisdiction's numbers: stricter than the law's unless an override names one."""

    window: WindowText | None = Field(None, description='One window every day ("09:00-19:00"), within the law\'s.')
    windows: DailyWindows | None = Field(None, description="A window by day (instead of window), within the law's.")
    blackout_dates: Annotated[list[DateText], AfterValidator(repeats)] = Field(
        [], examples=[["2026-12-24"]], description="Local dates with no promotional text (a day a governor declares)."
    )
    cap: int | None = Field(
        None, ge=1, description="At most this many promotional texts per 24 h on the same subject; not above the law's."
    )

    @model_validator(mode="after")
    def _one_way(self) -> JurisdictionRules:
        if self.window is not None and self.windows is not None:
            raise rule("give window (every day) or windows (by day), not both")
        return self


class Override(Section):
    """A legal rule of the rules table lifted on purpose: synth warns of each, with its reason."""

    jurisdiction: Jurisdiction = Field(description="The jurisdiction whose rule is lifted (US, US-RI, CA, ...).")
    rule: WaivableRule = Field(
        description="window: its hours and closed days give way to jurisdictions.<code>.window(s); sundays: its "
        "Sunday ban; holidays: its legal holidays; cap: its frequency cap."
    )
    reason: Text = Field(description="Why the rule does not apply to your texts (counsel's advice, an exemption).")


class QuietHours(Section):
    """When and how often PROMOTIONAL texts may reach a recipient, in the recipient's local time."""

    start: ClockTime = Field(
        QuietHoursConfig.start.strftime("%H:%M"),
        description="Numbers of countries without rules in the table (US and CA have theirs): the window's start.",
    )
    end: ClockTime = Field(QuietHoursConfig.end.strftime("%H:%M"), description="Later than start, the same day.")
    state_rules: bool = Field(
        QuietHoursConfig.state_rules, description="Kept for configs that set it: the rules table always applies."
    )
    jurisdictions: dict[str, JurisdictionRules] = Field(
        {},
        json_schema_extra={"propertyNames": {"enum": list(JURISDICTIONS)}},
        description="Your stricter windows, blackout dates and caps, by jurisdiction of the rules table.",
    )
    blackout_dates: Annotated[list[DateText], AfterValidator(repeats)] = Field(
        [], examples=[["2026-12-24"]], description="Dates with no promotional text to any number (recipient's date)."
    )
    overrides: list[Override] = Field(
        [], description="Legal rules lifted by name, each with its reason (synth warns of each)."
    )

    @field_validator("state_rules")
    @classmethod
    def _always(cls, value: bool) -> bool:
        if not value:
            raise problem(
                "would drop the states' legal rules: the rules table always applies; lift a rule by name "
                'under overrides ({"jurisdiction": "US-RI", "rule": "sundays", "reason": "..."})'
            )
        return value

    @field_validator("jurisdictions")
    @classmethod
    def _of_the_table(cls, value: dict[str, JurisdictionRules]) -> dict[str, JurisdictionRules]:
        for code in value:
            if code not in JURISDICTIONS:
                codes = ", ".join(JURISDICTIONS)
                raise problem(f"is not a jurisdiction of the rules table ({codes})", shown=repr(code))
        return value

    @model_validator(mode="after")
    def _within_a_day(self) -> QuietHours:
        if not self.start < self.end:  # "HH:MM" compares as the times do
            raise problem(
                f"must be later than start {self.start!r} (a window within one day)", field="end", shown=repr(self.end)
            )
        return self


class Template(Section):
    """A text your app sends by id, with {variables}."""

    body: Reply = Field(
        description="Text with {variables}; checked for encoding, parts and a STOP line if promotional."
    )
    message_type: MessageType = Field(TRANSACTIONAL, description="PROMOTIONAL texts get a STOP line and quiet hours.")


class Outbound(Section):
    """The outbound sender: pacing, cost guards, consent limits, quiet hours and templates."""

    mps: float | None = Field(
        None, gt=0, allow_inf_nan=False, description="Parts per second; the number type's default when null."
    )
    max_price_usd: str | None = explained(
        "must look like \"0.05\" (up to 2 digits, '.', 1-5 digits)",
        default=DEFAULT_MAX_PRICE_USD,
        pattern=f"^{MAX_PRICE_PATTERN.pattern}$",
        description='MaxPrice of every text, in US dollars, as a string ("0.10"); null for no ceiling.',
    )
    time_to_live_seconds: int = Field(
        OutboundConfig.time_to_live_seconds,
        ge=MIN_TIME_TO_LIVE_SECONDS,
        le=MAX_TIME_TO_LIVE_SECONDS,
        description="How long End User Messaging keeps trying to deliver a text.",
    )
    replace_lookalikes: bool = Field(
        OutboundConfig.replace_lookalikes, description="Swap look-alike characters for GSM-7 ones (cheaper parts)."
    )
    max_parts: int = Field(OutboundConfig.max_parts, ge=1, le=MAX_PARTS_LIMIT, description="Refuse longer texts.")
    promotional_daily_limit: int | None = Field(
        OutboundConfig.promotional_daily_limit, ge=1, description="PROMOTIONAL texts a recipient gets in 24 hours."
    )
    quiet_hours: QuietHours = QuietHours()
    max_concurrency: int | None = Field(
        OutboundConfig.max_concurrency,
        ge=2,
        le=MAX_CONCURRENCY,
        description="Sender batches at once (SQS's least: 2); null: sized from mps (2 up to 25 MPS, 8 at 100).",
    )
    templates: dict[str, Template] = Field(
        {},
        json_schema_extra={"propertyNames": {"pattern": f"^{TEMPLATE_ID_PATTERN.pattern}$"}},
        description="Template id -> template, sent by id from your app.",
    )

    @field_validator("max_price_usd", mode="before")
    @classmethod
    def _a_string_of_dollars(cls, value: Any) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise problem(
                f'must be a string of dollars, such as "{value:.2f}" (a JSON number may not keep the exact decimal)'
            )
        return value


# -- conversations ---------------------------------------------------------------------------------------
class Extensions(Section):
    """Your own handlers, bundled as a Lambda layer."""

    directory: str = explained(
        "must be a directory path",
        pattern=r"\S",
        description="A directory holding python/<module>/, bundled as a layer.",
    )
    module: str = explained(
        "must be a Python module name (clinic_handlers)",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$",
        description="The Python module whose decorators register your handlers.",
    )

    @model_validator(mode="after")
    def _laid_out_as_a_layer(self) -> Extensions:
        base = Path(self.directory) / "python" / self.module.replace(".", "/")
        if not (base / "__init__.py").is_file() and not base.with_suffix(".py").is_file():
            raise rule(
                f"{self.directory!r} has no python/{self.module.replace('.', '/')} package "
                "or .py file: lay the directory out as a Lambda layer (python/<module>)"
            )
        return self


ReadyFlow = Annotated[
    one_of(READY_FLOWS),
    explained(f"is not a ready flow: the ready flows are {', '.join(sorted(READY_FLOWS))}"),
]


class Conversations(Section):
    """Conversation flows and where their business events go."""

    ready_flows: Annotated[list[ReadyFlow], AfterValidator(repeats)] = Field(
        [], examples=[["appointment", "support"]], description="Ready flows to switch on, by name."
    )
    flows: dict[str, dict[str, Any]] = Field({}, description="Your own flows, by name (see the README).")
    event_bus_name: str | None = explained(
        "must be the name (not the ARN) of an event bus: 1-256 letters, digits, '.', '-', '_' or '/'",
        default=None,
        pattern=r"^[/.\-_A-Za-z0-9]{1,256}$",  # EventBridge's own pattern for a bus name
        description='Publish business events on this bus ("default" is the account\'s); a new one when null.',
    )
    extensions: Extensions | None = Field(None, description="Your own handlers (python/<module> in a directory).")
