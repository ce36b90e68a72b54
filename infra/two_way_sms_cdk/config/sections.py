"""The configuration's JSON form, ``ConfigDocument``, and the sections of the stack's own resources.

``ConfigDocument`` is the top of the document: the replies, the words, and one key per section.
The sections here are the number (``origination``), the delivery events, their archive, the
monitoring, the protect configuration and the inbound path; what the number says and sends is in
``messaging``. Each key has its type, default (the typed model's or the domain's), range and a
line on what it does; the checks that belong to one section are its validators, calling the
domain's rules; checks across sections are the builder's (``parsing``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import phonenumbers
from pydantic import AfterValidator, ConfigDict, Field, field_validator, model_validator

from two_way_sms.compliance import EMAIL, help_reply_problem, stop_reply_problem
from two_way_sms.languages import LANGUAGES, OTHER_LANGUAGES
from two_way_sms.reply_log import ReplyLimits as DomainReplyLimits
from two_way_sms.responder import ResponderSettings
from two_way_sms_cdk.config.errors import problem, rule
from two_way_sms_cdk.config.messaging import Conversations, Keyword, LanguageReplies, Outbound
from two_way_sms_cdk.config.model import (
    MAX_LEDGER_RETENTION_DAYS,
    MAX_SHARD_COUNT,
    ArchiveConfig,
    DeliveryEventsConfig,
    ExistingOrigination,
    MonitoringConfig,
    NewNumber,
    ProtectConfig,
    TwoWaySmsConfig,
)
from two_way_sms_cdk.config.values import (
    Capability,
    Country,
    MessageType,
    NumberType,
    OriginationType,
    Reply,
    Section,
    StreamMode,
    Text,
    Word,
    explained,
    no_default,
    repeats,
)

MAX_ARCHIVE_DAYS = 36500  # a hundred years: S3 takes more, no archive needs it


# -- origination -------------------------------------------------------------------------------------
class NewNumberBody(Section):
    """A number End User Messaging provisions for this stack."""

    iso_country_code: str = explained(
        'must be an ISO 3166-1 alpha-2 country code, such as "US"',
        default=NewNumber.iso_country_code,
        pattern=r"^[A-Za-z]{2}$",
        description="ISO 3166-1 alpha-2 country of the number to request.",
    )
    number_type: NumberType = Field(NewNumber.number_type, description="SIMULATOR needs no registration (US only).")
    capabilities: list[Capability] = Field(
        list(NewNumber.capabilities), examples=[["SMS"]], description="What the number can do; SMS among them."
    )

    @field_validator("iso_country_code")
    @classmethod
    def _a_region(cls, value: str) -> str:
        if value.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise problem("is not an ISO 3166-1 alpha-2 code", shown=repr(value.upper()))
        return value.upper()

    @field_validator("capabilities")
    @classmethod
    def _sms_among_them(cls, value: list[str]) -> list[str]:
        if "SMS" not in value:
            raise problem("must include 'SMS'")
        return value

    @model_validator(mode="after")
    def _us_only_types(self) -> NewNumberBody:
        if self.number_type in ("SIMULATOR", "TOLL_FREE", "TEN_DLC") and self.iso_country_code != "US":
            raise problem(
                f"exists in the US only, not {self.iso_country_code!r}",
                field="number_type",
                shown=repr(self.number_type),
            )
        return self


# DescribePhoneNumbers / DescribePools ids: "phone-" or "pool-" and 32 hex digits (letters and digits accepted).
_ID = "[0-9A-Za-z]{1,64}"
_ID_PATTERNS = {"phone-number": re.compile(f"^phone-{_ID}$"), "pool": re.compile(f"^pool-{_ID}$")}


class ExistingBody(Section):
    """A number or pool you already have, configured in place; its settings are restored on delete."""

    origination_type: OriginationType = Field(description="A phone number or a pool.")
    origination_id: str = explained(
        "must be a phone number id (phone-...) or a pool id (pool-...)",
        pattern=f"^(phone|pool)-{_ID}$",
        description="The phone number id (phone-...) or pool id (pool-...), not the number or an ARN.",
    )
    number_type: NumberType = Field(
        ExistingOrigination.number_type, description="How opt-outs behave: TOLL_FREE leaves STOP to the carrier."
    )

    @model_validator(mode="before")
    @classmethod
    def _an_id_of_its_type(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("origination_type") in _ID_PATTERNS and "origination_id" in data:
            value = data["origination_id"]
            if phrase := _origination_id_problem(value, data["origination_type"]):
                raise problem(phrase, field="origination_id", shown=repr(value))
        return data


def _origination_id_problem(value: Any, origination_type: str) -> str | None:
    """What is wrong with ``value`` as the id of a ``origination_type``, with a hint for what people give instead."""
    prefix = "phone-" if origination_type == "phone-number" else "pool-"
    hint = f"give the {origination_type}'s id ({prefix}...): `aws pinpoint-sms-voice-v2 describe-{origination_type}s`"
    if isinstance(value, str) and _ID_PATTERNS[origination_type].match(value):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"is a number, not an id: {hint}"
    if not isinstance(value, str):
        return f"must be a string: {hint}"
    if value.startswith("arn:"):
        return f"is an ARN: give the id after its last '/' ({value.rsplit('/', 1)[-1]!r})"
    if value.startswith("+") or value.replace(" ", "").replace("-", "").isdigit():
        return f"is a phone number, not its id: {hint}"
    other = "pool" if origination_type == "phone-number" else "phone-number"
    if _ID_PATTERNS[other].match(value):
        return f"is a {other} id, but origination_type is {origination_type!r}"
    return f"is not a {origination_type} id ({prefix} and letters or digits): {hint}"


class Origination(Section):
    """Where texts come from: exactly one of a new number or an existing number or pool."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1, "maxProperties": 1})

    # None when absent (exactly one is given); a null given is not an object, and fails.
    new_number: NewNumberBody = Field(
        None,  # type: ignore[assignment]
        json_schema_extra=no_default,
        description="Request a new phone number with this stack.",
    )
    existing: ExistingBody = Field(
        None,  # type: ignore[assignment]
        json_schema_extra=no_default,
        description="Use a number or pool you already have; its settings are restored on delete.",
    )

    @model_validator(mode="before")
    @classmethod
    def _exactly_one(cls, data: Any) -> Any:
        if isinstance(data, dict) and len(data) != 1 and set(data) <= {"new_number", "existing"}:
            raise problem('must be {"new_number": {...}} or {"existing": {...}}')
        return data


# -- delivery events, archive, monitoring ------------------------------------------------------------
class DeliveryEvents(Section):
    """The delivery event stream and the message ledger."""

    stream_mode: StreamMode = Field(
        DeliveryEventsConfig.stream_mode, description="PROVISIONED (shard_count shards) or ON_DEMAND (sizes itself)."
    )
    shard_count: int | None = Field(
        None, ge=1, le=MAX_SHARD_COUNT, description="PROVISIONED only; 1 when null (1,000 records a second)."
    )
    ledger_retention_days: int = Field(
        DeliveryEventsConfig.ledger_retention_days,
        ge=1,
        le=MAX_LEDGER_RETENTION_DAYS,
        description="How long the message ledger keeps a text.",
    )

    @model_validator(mode="after")
    def _shards_are_provisioned(self) -> DeliveryEvents:
        if self.stream_mode == "ON_DEMAND" and self.shard_count is not None:
            raise problem(
                "is only for a PROVISIONED stream, not ON_DEMAND (an on-demand stream sizes itself)",
                field="shard_count",
                shown=repr(self.shard_count),
            )
        return self


class Archive(Section):
    """The S3 archive of every delivery event: when objects move to cheaper storage, and expire."""

    infrequent_access_after_days: int = Field(
        ArchiveConfig.infrequent_access_after_days,
        ge=30,  # S3 moves objects to Standard-IA after 30 days at the earliest
        le=MAX_ARCHIVE_DAYS,
        description="Days before Standard-IA (30 at the earliest).",
    )
    glacier_instant_retrieval_after_days: int = Field(
        ArchiveConfig.glacier_instant_retrieval_after_days,
        ge=31,
        le=MAX_ARCHIVE_DAYS,
        description="Days before Glacier Instant Retrieval: later than infrequent_access_after_days.",
    )
    expire_after_days: int | None = Field(
        None, ge=32, le=MAX_ARCHIVE_DAYS, description="Delete archived events after this many days; never if null."
    )

    @model_validator(mode="after")
    def _in_order(self) -> Archive:
        steps = [
            ("infrequent_access_after_days", self.infrequent_access_after_days),
            ("glacier_instant_retrieval_after_days", self.glacier_instant_retrieval_after_days),
            ("expire_after_days", self.expire_after_days),
        ]
        for (before, earlier), (name, days) in zip(steps, steps[1:]):
            if days is not None and days <= earlier:
                raise problem(f"must be later than {before} ({earlier})", field=name, shown=repr(days))
        return self


class Monitoring(Section):
    """Who hears about alarms, and the thresholds that raise them."""

    alarm_topic_arn: str | None = explained(
        "is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)",
        default=None,
        pattern=r"^arn:aws[\w-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$",
        description="Your SNS topic for alarms; a new encrypted one when null.",
    )
    alarm_emails: list[Annotated[str, explained("is not an e-mail address", pattern=f"^(?:{EMAIL.pattern})$")]] = Field(
        [], examples=[["ops@example.com"]], description="Addresses subscribed to the alarm topic."
    )
    monthly_budget_usd: float | None = Field(
        MonitoringConfig.monthly_budget_usd,
        gt=0,
        allow_inf_nan=False,
        description=(
            "US dollars: at this month's spend, an alarm, and promotional and campaign texts wait; null: neither."
        ),
    )
    delivery_failure_rate_percent: float = Field(
        MonitoringConfig.delivery_failure_rate_percent,
        gt=0,
        le=100,
        allow_inf_nan=False,
        description="Alarm when this share of an hour's finished texts (20 at least) failed, in percent.",
    )
    hard_stop: bool = Field(
        MonitoringConfig.hard_stop, description="At the budget, hold every text but HELP and opt-out confirmations."
    )
    dashboard: bool = Field(
        MonitoringConfig.dashboard,
        description="A CloudWatch dashboard of the whole system ($3 a month); the alarms work without it.",
    )
    function_error_alarms: bool = Field(
        MonitoringConfig.function_error_alarms,
        description=(
            "An alarm per function that keeps failing ($0.40 a month); without it, its failures alarm when they "
            "reach its dead-letter queue (up to 30 minutes later)."
        ),
    )

    @model_validator(mode="after")
    def _a_budget_to_stop_at(self) -> Monitoring:
        if self.hard_stop and self.monthly_budget_usd is None:
            raise problem("needs a monthly_budget_usd to stop at (it is null)", field="hard_stop", shown="true")
        return self


# -- protect and inbound -----------------------------------------------------------------------------------
class Protect(Section):
    """The protect configuration: which countries texts may go to."""

    allowed_countries: Annotated[list[Country], AfterValidator(repeats)] | None = explained(
        "must name at least one country: an empty list would block every text",
        default=None,
        min_length=1,
        examples=[["US", "CA"]],
        description="Countries texts may go to (every other is blocked); the new number's own, or US, if null.",
    )
    deletion_protection: bool = Field(
        ProtectConfig.deletion_protection,
        json_schema_extra=no_default,
        description="Protect the protect configuration from deletion; the stack's deletion_protection when not set.",
    )
    account_default: bool = Field(
        ProtectConfig.account_default, description="Also make it the account's default protect configuration."
    )


_REPLY_LIMITS = DomainReplyLimits()


class ReplyLimits(Section):
    """The automatic replies one customer number can get (consent confirmations are exempt)."""

    per_window: int = Field(_REPLY_LIMITS.per_window, ge=1, le=1000, description="Replies in one window.")
    window_minutes: int = Field(
        _REPLY_LIMITS.window_seconds // 60, ge=0, le=1440, description="The window, in minutes."
    )
    per_day: int = Field(_REPLY_LIMITS.per_day, ge=1, le=1000, description="Replies in 24 hours.")
    same_text_minutes: int = Field(
        _REPLY_LIMITS.same_text_seconds // 60, ge=0, le=1440, description="No same reply again within this."
    )


class Inbound(Section):
    """The inbound path."""

    test_publisher_role_arn: str | None = explained(
        "is not an IAM role ARN (arn:aws:iam::123456789012:role/name)",
        default=None,
        pattern=r"^arn:aws[\w-]*:iam::\d{12}:role/[A-Za-z0-9_+=,.@/-]{1,512}$",
        description="A role of this account that may publish test messages to the inbound topic.",
    )
    reply_limits: ReplyLimits = ReplyLimits()


# -- the document -----------------------------------------------------------------------------------
class ConfigDocument(Section):
    """The ``two-way-sms`` value of cdk.json's context, or a file named by ``-c configFile=``."""

    model_config = ConfigDict(title="two-way-sms configuration", populate_by_name=True)

    schema_: str | None = Field(None, alias="$schema", description="This schema, for editors.")
    origination: Origination = Field(
        {"new_number": NewNumberBody().model_dump()},  # type: ignore[arg-type]  (validated, as a config's is)
        validate_default=True,
        description="Where texts come from: a new number, or a number or pool you already have.",
    )
    help_reply: Reply = Field(description="The HELP answer: who you are and a phone number, URL or e-mail address.")
    stop_reply: Reply = Field(description="The STOP confirmation: it must say that messages stop.")
    opt_in_reply: Reply = Field(description="The confirmation of START and the other opt-in words.")
    keywords: list[Keyword] = Field([], description="Words the number answers, beside HELP, STOP and START.")
    extra_opt_out_words: list[Word] = Field([], description="Words read as STOP, beside the usual ones.")
    extra_opt_in_words: list[Word] = Field([], description="Words read as START, beside the usual ones.")
    opt_out_phrases: list[Text] = Field([], description="Phrases read as an opt-out, beside the built-in ones.")
    default_reply: Reply | None = Field(None, description="The answer to anything else; no answer when null.")
    languages: dict[str, LanguageReplies] = Field(
        {},
        json_schema_extra={"propertyNames": {"enum": list(OTHER_LANGUAGES)}},
        examples=[{"es": {"help_reply": "...", "stop_reply": "...", "opt_in_reply": "..."}}],
        description="Replies in more languages, by code (es, fr): their words are answered in them.",
    )
    self_managed_opt_outs: bool = Field(
        ResponderSettings.self_managed_opt_outs,
        description="false: AWS answers HELP/STOP and keeps the opt-out list; true: the handler does it all.",
    )
    message_type: MessageType = Field(
        TwoWaySmsConfig.message_type, description="What the number sends: a SIMULATOR sends TRANSACTIONAL only."
    )
    opt_out_list_name: str | None = explained(
        "must be 1-64 letters, digits, '_' or '-'",
        default=None,
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="Use an existing opt-out list; the stack makes one when null.",
    )
    deletion_protection: bool = Field(
        TwoWaySmsConfig.deletion_protection,
        description="Protect a new number (and the conversations' table) from deletion; kept when the stack is.",
    )
    delivery_events: DeliveryEvents = DeliveryEvents()
    archive: Archive = Archive()
    monitoring: Monitoring = Monitoring()
    outbound: Outbound = Outbound()
    conversations: Conversations = Conversations()
    protect: Protect = Protect()
    inbound: Inbound = Inbound()

    @field_validator("help_reply")
    @classmethod
    def _help_gives_contact_details(cls, value: str) -> str:
        if message := help_reply_problem(value):
            raise rule(message, prefixed=False)
        return value

    @field_validator("stop_reply")
    @classmethod
    def _stop_confirms(cls, value: str) -> str:
        if message := stop_reply_problem(value):
            raise rule(message, prefixed=False)
        return value

    @field_validator("keywords")
    @classmethod
    def _each_keyword_once(cls, value: list[Keyword]) -> list[Keyword]:
        repeats([keyword.keyword for keyword in value])
        return value

    @field_validator("languages")
    @classmethod
    def _languages_answer_like_english(cls, value: dict[str, LanguageReplies]) -> dict[str, LanguageReplies]:
        """Each a language the domain has words for, its replies checked as the English ones are."""
        for code, replies in value.items():
            if code not in OTHER_LANGUAGES:
                raise problem(
                    f"is not a language with consent words: one of {', '.join(OTHER_LANGUAGES)} (English is "
                    "help_reply, stop_reply and opt_in_reply)",
                    shown=repr(code),
                )
            name = f"languages.{code}"
            if message := help_reply_problem(replies.help_reply, name=f"{name}.help_reply"):
                raise rule(message, prefixed=False)
            if message := stop_reply_problem(replies.stop_reply, language=code, name=f"{name}.stop_reply"):
                raise rule(message, prefixed=False)
            words = LANGUAGES[code].opt_in_words
            if words and replies.opt_in_reply is None:
                message = f"{name}.opt_in_reply is required: it answers the opt-in words {list(words)}"
                raise rule(message, prefixed=False)
            if not words and replies.opt_in_reply is not None:
                raise rule(
                    f"{name}.opt_in_reply would never be sent: {LANGUAGES[code].name} has no opt-in word (START "
                    "and UNSTOP get opt_in_reply); leave it out",
                    prefixed=False,
                )
        return value
