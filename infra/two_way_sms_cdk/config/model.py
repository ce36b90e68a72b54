"""The configuration's typed model: what a stack is built from, each field with its default."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from types import MappingProxyType
from typing import Any

from two_way_sms.conversations.flows import Flow
from two_way_sms.encoding import EncodingReport
from two_way_sms.outbound.policy import SenderSettings
from two_way_sms.outbound.request import MESSAGE_TYPES  # the domain's; part of this package's API
from two_way_sms.outbound.templates import Template
from two_way_sms.pacing import DEFAULT_MPS
from two_way_sms.quiet_hours import DailyWindow, QuietHoursRules, Week
from two_way_sms.reply_log import ReplyLimits
from two_way_sms.responder import ResponderSettings

__all__ = [
    "CAPABILITIES",
    "CONFIG_FILE_CONTEXT_KEY",
    "CONTEXT_KEY",
    "DEFAULT_MAX_PRICE_USD",
    "MAX_CONCURRENCY",
    "MAX_LEDGER_RETENTION_DAYS",
    "MAX_SHARD_COUNT",
    "MESSAGE_TYPES",
    "NUMBER_TYPES",
    "ORIGINATION_TYPES",
    "STREAM_MODES",
    "ArchiveConfig",
    "ConfigError",
    "ConfigWarning",
    "ConversationsConfig",
    "DeliveryEventsConfig",
    "ExistingOrigination",
    "ExtensionsConfig",
    "InboundConfig",
    "MonitoringConfig",
    "NewNumber",
    "OutboundConfig",
    "ProtectConfig",
    "QuietHoursConfig",
    "ReplyReport",
    "RuleOverride",
    "TwoWaySmsConfig",
]

CONTEXT_KEY = "two-way-sms"
CONFIG_FILE_CONTEXT_KEY = "configFile"

NUMBER_TYPES = ("LONG_CODE", "TOLL_FREE", "TEN_DLC", "SIMULATOR")
CAPABILITIES = ("SMS", "VOICE", "MMS")
ORIGINATION_TYPES = ("phone-number", "pool")
STREAM_MODES = ("PROVISIONED", "ON_DEMAND")
MAX_SHARD_COUNT = 500  # Kinesis's default shard quota in the largest regions; more takes a quota increase
MAX_LEDGER_RETENTION_DAYS = 3650

# The default price ceiling of every text, per message part, in US dollars (SendTextMessage
# MaxPrice). End User Messaging's published US price (aws.amazon.com/end-user-messaging/pricing,
# "SMS", United States) is about $0.00581 a part plus the carriers' pass-through fees of up to
# about $0.005 a part: about $0.011 at most. The API reference words MaxPrice "per each text
# message", so the ceiling must also let a whole message of max_parts (6) US parts through
# (6 x $0.011 = $0.066): $0.10 is both, with headroom for the carriers' yearly fee rises, and
# still refuses the premium-rate destinations SMS pumping goes for ($0.20 and more a part).
# Outside the US, set outbound.max_price_usd to your destinations' prices.
DEFAULT_MAX_PRICE_USD = "0.10"
MAX_CONCURRENCY = 1000  # an SQS event source mapping's ceiling


class ConfigError(ValueError):
    """The configuration cannot be deployed; the message names the bad value."""


@dataclass(frozen=True)
class NewNumber:
    """A number End User Messaging provisions for this stack."""

    iso_country_code: str = "US"
    number_type: str = "SIMULATOR"
    capabilities: tuple[str, ...] = ("SMS",)


@dataclass(frozen=True)
class ExistingOrigination:
    """A number or pool you already own, configured in place and restored on delete."""

    origination_type: str  # "phone-number" or "pool"
    origination_id: str
    number_type: str = "LONG_CODE"  # how opt-outs behave: TOLL_FREE leaves STOP to the carrier


@dataclass(frozen=True)
class DeliveryEventsConfig:
    """The delivery event stream and the message ledger.

    ``shard_count`` is for a PROVISIONED stream only (None for ON_DEMAND). One provisioned
    shard takes 1,000 records a second, far above what an SMS number sends.
    """

    stream_mode: str = "PROVISIONED"
    shard_count: int | None = 1
    ledger_retention_days: int = 400


@dataclass(frozen=True)
class ArchiveConfig:
    """The S3 archive of every delivery event: when objects move to cheaper storage, and expire."""

    infrequent_access_after_days: int = 30
    glacier_instant_retrieval_after_days: int = 90
    expire_after_days: int | None = None  # None: kept for ever


@dataclass(frozen=True)
class MonitoringConfig:
    """Who hears about alarms, and the thresholds that raise them."""

    alarm_topic_arn: str | None = None  # None: the stack creates an encrypted alarm topic
    alarm_emails: tuple[str, ...] = ()
    monthly_budget_usd: float | None = 100.0  # None: no spend alarm, and no budget that holds texts
    delivery_failure_rate_percent: float = 10.0
    hard_stop: bool = False  # at the budget, transactional texts wait too (consent confirmations never do)
    # Off by default: $3 a month of the idle cost's $15 goal, and nothing is lost without it (the
    # alarms notify; the metrics stay in CloudWatch). On, it is one screen of the whole system.
    dashboard: bool = False
    # Off by default: $0.40 a month (4 alarms). Each function's failures already end in a
    # dead-letter queue that alarms (inbound after about 15 minutes, the sender 30, campaigns 3-15)
    # or age the stream (iterator age, 15 minutes); on, a function that keeps failing alarms after
    # 15 minutes whatever its input's retries.
    function_error_alarms: bool = False


@dataclass(frozen=True)
class RuleOverride:
    """A legal rule of the rules table lifted on purpose: ``rule`` (one of
    ``two_way_sms.quiet_hours.WAIVABLE_RULES``) of ``jurisdiction``, and why. Synth warns of each."""

    jurisdiction: str
    rule: str
    reason: str


@dataclass(frozen=True)
class QuietHoursConfig:
    """When and how often PROMOTIONAL texts may reach a recipient, in the recipient's local time.

    The rules table shipped in ``two_way_sms.rules`` governs US and Canadian numbers;
    ``start``-``end`` is the window of every other country's numbers (8:00-21:00 by default).
    The operator's tightening: ``jurisdictions`` (a stricter week per jurisdiction, ``None``
    for a closed day), ``blackout_dates`` (per jurisdiction, or ``"*"`` for every number) and
    ``caps`` (a lower count per jurisdiction). ``overrides`` lift legal rules by name.
    ``state_rules`` is kept for configs that set it: the table always applies.
    """

    start: time = time(8)
    end: time = time(21)
    state_rules: bool = True
    jurisdictions: Mapping[str, Week] = field(default_factory=lambda: MappingProxyType({}))
    blackout_dates: Mapping[str, frozenset[date]] = field(default_factory=lambda: MappingProxyType({}))
    caps: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    overrides: tuple[RuleOverride, ...] = ()

    def rules(self) -> QuietHoursRules:
        return QuietHoursRules(
            default=DailyWindow(self.start, self.end),
            states=self.jurisdictions,
            blackout_dates=self.blackout_dates,
            caps=self.caps,
            waivers=frozenset((override.jurisdiction, override.rule) for override in self.overrides),
        )


@dataclass(frozen=True)
class OutboundConfig:
    """The outbound sender: pacing, cost guards, consent limits, quiet hours and templates.

    ``mps`` is the origination identity's throughput in message parts per second; None
    takes the number type's default (``two_way_sms.pacing.DEFAULT_MPS``): SIMULATOR 1,
    TEN_DLC 1, TOLL_FREE 3, LONG_CODE 10 outside the US and Canada and 1 in them or when
    the country is not known (an existing number or pool). Set it for a pool (the sum of
    its numbers') or a number whose throughput was raised.
    ``max_price_usd``: the most one message may cost (SendTextMessage MaxPrice), as text
    like ``"0.05"``; default ``DEFAULT_MAX_PRICE_USD`` ("0.10", from the US price); None
    (set on purpose): no cap. The inbound function's replies get it and
    ``time_to_live_seconds`` too. ``promotional_daily_limit``: PROMOTIONAL messages per
    recipient in a rolling 24 hours; None: unlimited. ``max_concurrency``: concurrent
    sender batches (at least 2, the least an SQS event source takes); None: sized from
    ``mps`` (``constructs.outbound_sender.sized_max_concurrency``).
    """

    mps: float
    max_price_usd: str | None = DEFAULT_MAX_PRICE_USD
    time_to_live_seconds: int = 259200
    replace_lookalikes: bool = True
    max_parts: int = 6
    promotional_daily_limit: int | None = 2
    quiet_hours: QuietHoursConfig = QuietHoursConfig()
    max_concurrency: int | None = None
    templates: Mapping[str, Template] = field(default_factory=lambda: MappingProxyType({}))

    def sender_settings(self, origination_identity: str) -> SenderSettings:
        """The sender's settings for the stack's number or pool (its ARN, a token at synth)."""
        return SenderSettings(
            origination_identity=origination_identity,
            mps=self.mps,
            quiet_hours=self.quiet_hours.rules(),
            max_price_usd=self.max_price_usd,
            time_to_live_seconds=self.time_to_live_seconds,
            replace_lookalikes=self.replace_lookalikes,
            max_parts=self.max_parts,
            promotional_daily_limit=self.promotional_daily_limit,
        )


@dataclass(frozen=True)
class ExtensionsConfig:
    """Your own handlers (``two_way_sms.conversations.router``), bundled as a Lambda layer:
    ``directory`` holds ``python/<module>`` (a package or a ``.py`` file) and the inbound
    function imports ``module`` when it starts."""

    directory: str
    module: str


@dataclass(frozen=True)
class ConversationsConfig:
    """Conversation flows and where their business events go.

    ``flows``: every flow switched on, parsed (``two_way_sms.conversations.flows``): the
    ready flows named in ``ready_flows``, then the custom ``flows`` (a custom flow named like
    a ready one replaces it: that is how a ready flow is edited). ``specs``: the same flows
    as configured (plain JSON data). ``event_bus_name``: publish business events on this
    existing bus of the stack's account and region ("default" is the account's default
    bus); None: the stack creates an encrypted bus.
    """

    flows: Mapping[str, Flow] = field(default_factory=lambda: MappingProxyType({}))
    specs: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), compare=False)
    event_bus_name: str | None = None
    extensions: ExtensionsConfig | None = None

    @property
    def needs_a_code(self) -> bool:
        return any(flow.needs_a_code for flow in self.flows.values())


@dataclass(frozen=True)
class ProtectConfig:
    """The protect configuration on the reply configuration set: which countries texts may go to.

    ``allowed_countries``: ISO 3166-1 alpha-2 codes ALLOWed; every other country End User
    Messaging sends to is BLOCKed (default: the new number's country; ``US`` for an existing
    number or pool). ``deletion_protection``: default the stack's ``deletion_protection``.
    ``account_default``: also make it the account's default protect configuration (every
    send of the account that names none, SNS and Cognito texts too). ``defaulted``: the
    countries were not configured.
    """

    allowed_countries: tuple[str, ...] = ("US",)
    deletion_protection: bool = False
    account_default: bool = False
    defaulted: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class InboundConfig:
    """The inbound path. ``test_publisher_role_arn``: a role of this account that may publish test
    messages to the inbound topic (nobody but End User Messaging may otherwise); None: none.
    ``reply_limits``: the automatic replies one customer number can get (``reply_log.ReplyLimits``)."""

    test_publisher_role_arn: str | None = None
    reply_limits: ReplyLimits = ReplyLimits()


@dataclass(frozen=True)
class ConfigWarning:
    """Deployable, but worth a look: shown as a synth warning (``id`` names it)."""

    id: str
    message: str


@dataclass(frozen=True)
class ReplyReport:
    name: str
    report: EncodingReport
    warning: str | None


@dataclass(frozen=True)
class TwoWaySmsConfig:
    origination: NewNumber | ExistingOrigination
    responder: ResponderSettings
    message_type: str = "TRANSACTIONAL"
    opt_out_list_name: str | None = None  # None: the stack creates its own opt-out list
    deletion_protection: bool = False
    delivery_events: DeliveryEventsConfig = DeliveryEventsConfig()
    archive: ArchiveConfig = ArchiveConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
    outbound: OutboundConfig = OutboundConfig(mps=DEFAULT_MPS["SIMULATOR"])
    conversations: ConversationsConfig = ConversationsConfig()
    protect: ProtectConfig = ProtectConfig()
    inbound: InboundConfig = InboundConfig()
    reply_reports: tuple[ReplyReport, ...] = field(default=(), compare=False)
    rules_reports: tuple[str, ...] = field(default=(), compare=False)  # the rules in force, one line each
    warnings: tuple[ConfigWarning, ...] = field(default=(), compare=False)

    @property
    def number_type(self) -> str:
        return self.origination.number_type

    @classmethod
    def from_config(cls, raw: dict[str, Any]) -> TwoWaySmsConfig:
        """The config from its JSON form (``cdk.json``'s ``two-way-sms`` value), validated; ConfigError names
        the bad value."""
        from two_way_sms_cdk.config.parsing import parse_config  # parsing builds on this model

        return parse_config(raw)
