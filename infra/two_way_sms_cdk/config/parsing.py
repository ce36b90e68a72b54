"""Reading the configuration: its JSON form validated by ``ConfigDocument``, then built into the typed model.

Filled from the ``two-way-sms`` key of ``cdk.json`` context, or from a JSON file named by the
``configFile`` context value. The document checks each key and each section; building the
``TwoWaySmsConfig`` checks what spans sections, with the domain's own objects (the responder's
and the sender's settings, templates, flows, reply limits) and the functions' environment
limits. Every failure is a ``ConfigError`` of one line naming the bad value; replies are also
reported with their encoding and parts.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ValidationError

from two_way_sms.conversations.flows import FlowError, parse_flows
from two_way_sms.conversations.ready_flows import READY_FLOWS
from two_way_sms.encoding import analyse
from two_way_sms.outbound.templates import Template, TemplateError, parse_template
from two_way_sms.pacing import DEFAULT_MPS
from two_way_sms.reply_log import ReplyLimits
from two_way_sms.responder import KeywordAction, KeywordRule, LanguageReplies, ResponderSettings
from two_way_sms_cdk.config import checks, quiet_hours
from two_way_sms_cdk.config.errors import one_line
from two_way_sms_cdk.config.messaging import Conversations, Outbound
from two_way_sms_cdk.config.model import (
    CONTEXT_KEY,
    DEFAULT_MAX_PRICE_USD,
    ArchiveConfig,
    ConfigError,
    ConfigWarning,
    ConversationsConfig,
    DeliveryEventsConfig,
    ExistingOrigination,
    ExtensionsConfig,
    InboundConfig,
    MonitoringConfig,
    NewNumber,
    OutboundConfig,
    ProtectConfig,
    ReplyReport,
    TwoWaySmsConfig,
)
from two_way_sms_cdk.config.sections import ConfigDocument, DeliveryEvents, Inbound, Protect


def load_config(context: dict[str, Any] | None, config_file: str | None = None) -> TwoWaySmsConfig:
    """Reads the config from a file (when named) or the context value, and validates it."""
    if config_file:
        path = Path(config_file)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ConfigError(f"config file {config_file!r} cannot be read as JSON: {error}") from None
    else:
        raw = context
    if not isinstance(raw, dict):
        raise ConfigError(f"the {CONTEXT_KEY!r} context value must be an object, got {type(raw).__name__}")
    return parse_config(raw)


def parse_config(raw: dict[str, Any]) -> TwoWaySmsConfig:
    """The typed config from its JSON form; ConfigError names the first bad value."""
    document = _validated(ConfigDocument, raw)
    origination = _origination(document)
    if origination.number_type == "SIMULATOR" and document.message_type != "TRANSACTIONAL":
        raise ConfigError(
            f"message_type {document.message_type!r}: a SIMULATOR number sends TRANSACTIONAL messages only"
        )
    responder = _responder(document, origination)
    outbound = _outbound(document.outbound, origination)
    protect = _protect(document.protect, origination, document.deletion_protection)
    return TwoWaySmsConfig(
        origination=origination,
        responder=responder,
        message_type=document.message_type,
        opt_out_list_name=document.opt_out_list_name,
        deletion_protection=document.deletion_protection,
        delivery_events=_delivery_events(document.delivery_events),
        archive=ArchiveConfig(**document.archive.model_dump()),
        monitoring=MonitoringConfig(
            **{**document.monitoring.model_dump(), "alarm_emails": tuple(document.monitoring.alarm_emails)}
        ),
        outbound=outbound,
        conversations=_conversations(document.conversations, responder, outbound),
        protect=protect,
        inbound=_inbound(document.inbound),
        reply_reports=tuple(_report(name, text) for name, text in responder.replies.items()),
        rules_reports=quiet_hours.rules_report(outbound.quiet_hours, protect.allowed_countries),
        warnings=(
            *_warnings(origination, protect, document.outbound),
            *quiet_hours.override_warnings(outbound.quiet_hours),
        ),
    )


def parse_templates(raw: Any) -> dict[str, Template]:
    """The config's ``outbound.templates`` object on its own (the operator's command reads one), checked alike."""
    return _built_templates(_validated(Outbound, {"templates": raw}, prefix=("outbound",)))


_templates = parse_templates  # the name two_way_sms_client.cli.config_files imports; parse_templates is public


def _validated(model: type[BaseModel], raw: Any, prefix: tuple[str, ...] = ()) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(one_line(error, model, prefix)) from None


def default_mps(origination: NewNumber | ExistingOrigination) -> float:
    """The identity's default throughput (parts per second) by number type; see ``OutboundConfig``."""
    if origination.number_type == "LONG_CODE":
        country = origination.iso_country_code if isinstance(origination, NewNumber) else None
        # A long code in the US or Canada, or of an unknown country, gets the safe 1 MPS.
        return DEFAULT_MPS["LONG_CODE"] if country not in (None, "US", "CA") else DEFAULT_MPS["LONG_CODE_CA"]
    return DEFAULT_MPS[origination.number_type]


def _origination(document: ConfigDocument) -> NewNumber | ExistingOrigination:
    new, existing = document.origination.new_number, document.origination.existing
    if new is not None:
        return NewNumber(new.iso_country_code, new.number_type, tuple(new.capabilities))
    assert existing is not None  # the document has exactly one
    return ExistingOrigination(existing.origination_type, existing.origination_id, existing.number_type)


def _delivery_events(section: DeliveryEvents) -> DeliveryEventsConfig:
    shard_count = None if section.stream_mode == "ON_DEMAND" else section.shard_count or 1
    return DeliveryEventsConfig(section.stream_mode, shard_count, section.ledger_retention_days)


def _responder(document: ConfigDocument, origination: NewNumber | ExistingOrigination) -> ResponderSettings:
    responder = ResponderSettings(
        help_reply=document.help_reply,
        stop_reply=document.stop_reply,
        opt_in_reply=document.opt_in_reply,
        keywords=tuple(KeywordRule(k.keyword, k.reply, KeywordAction(k.action)) for k in document.keywords),
        extra_opt_out_words=tuple(document.extra_opt_out_words),
        extra_opt_in_words=tuple(document.extra_opt_in_words),
        opt_out_phrases=tuple(document.opt_out_phrases),
        default_reply=document.default_reply,
        self_managed_opt_outs=document.self_managed_opt_outs,
        number_type=origination.number_type,
        languages=tuple(
            LanguageReplies(code, replies.help_reply, replies.stop_reply, replies.opt_in_reply)
            for code, replies in document.languages.items()
        ),
    )
    clash = set(responder.opt_out_words) & set(responder.opt_in_words)
    if clash:
        raise ConfigError(f"words {sorted(clash)} are both opt-out and opt-in words")
    checks.language_words(responder)
    checks.inbound_environment(responder)
    return responder


def _outbound(section: Outbound, origination: NewNumber | ExistingOrigination) -> OutboundConfig:
    outbound = OutboundConfig(
        mps=float(default_mps(origination) if section.mps is None else section.mps),
        max_price_usd=section.max_price_usd,
        time_to_live_seconds=section.time_to_live_seconds,
        replace_lookalikes=section.replace_lookalikes,
        max_parts=section.max_parts,
        promotional_daily_limit=section.promotional_daily_limit,
        quiet_hours=quiet_hours.quiet_hours_config(section.quiet_hours),
        max_concurrency=section.max_concurrency,
        templates=MappingProxyType(_built_templates(section)),
    )
    try:  # the sender's own checks (two_way_sms.outbound.policy), on everything it will be given
        settings = outbound.sender_settings(checks.VALIDATION_IDENTITY)
    except ValueError as error:
        raise ConfigError(f"outbound.{error}") from None
    checks.template_parts(outbound.templates, settings)
    checks.sender_environment(outbound.templates, settings)
    return outbound


def _built_templates(section: Outbound) -> dict[str, Template]:
    templates = {}
    for template_id, entry in section.templates.items():
        try:
            templates[template_id] = parse_template(template_id, entry.body, entry.message_type)
        except (TemplateError, ValueError) as error:
            raise ConfigError(f"outbound.templates.{template_id}: {error}") from None
    return templates


def _conversations(
    section: Conversations, responder: ResponderSettings, outbound: OutboundConfig
) -> ConversationsConfig:
    # A custom flow named like a ready one replaces it (that is how a ready flow is edited).
    specs = {**{name: copy.deepcopy(READY_FLOWS[name]) for name in section.ready_flows}, **copy.deepcopy(section.flows)}
    try:
        flows = parse_flows(specs)
    except FlowError as error:
        raise ConfigError(f"conversations: {error}") from None
    checks.flow_parts(flows, outbound)
    checks.start_words(flows, responder)
    extensions = section.extensions
    return ConversationsConfig(
        flows=MappingProxyType(flows),
        specs=MappingProxyType(specs),
        event_bus_name=section.event_bus_name,
        extensions=None
        if extensions is None
        else ExtensionsConfig(directory=str(Path(extensions.directory).resolve()), module=extensions.module),
    )


def _protect(
    section: Protect, origination: NewNumber | ExistingOrigination, deletion_protection: bool
) -> ProtectConfig:
    own_country = origination.iso_country_code if isinstance(origination, NewNumber) else None
    countries = tuple(section.allowed_countries or (own_country or "US",))
    if section.allowed_countries is not None and own_country is not None and own_country not in countries:
        raise ConfigError(
            f"protect.allowed_countries {list(countries)!r} leaves out {own_country!r}, the "
            "country of the stack's own number: replies to its customers would be blocked"
        )
    given = section.model_fields_set
    return ProtectConfig(
        allowed_countries=countries,
        deletion_protection=section.deletion_protection if "deletion_protection" in given else deletion_protection,
        account_default=section.account_default,
        defaulted=section.allowed_countries is None,
    )


def _inbound(section: Inbound) -> InboundConfig:
    limits = section.reply_limits
    try:
        reply_limits = ReplyLimits(
            per_window=limits.per_window,
            window_seconds=limits.window_minutes * 60,
            per_day=limits.per_day,
            same_text_seconds=limits.same_text_minutes * 60,
        )
    except ValueError as error:
        raise ConfigError(f"inbound.reply_limits: {error}") from None
    return InboundConfig(test_publisher_role_arn=section.test_publisher_role_arn, reply_limits=reply_limits)


def _warnings(
    origination: NewNumber | ExistingOrigination, protect: ProtectConfig, outbound: Outbound
) -> tuple[ConfigWarning, ...]:
    warnings = []
    if isinstance(origination, ExistingOrigination) and protect.defaulted:
        warnings.append(
            ConfigWarning(
                "two-way-sms:protect-countries-defaulted",
                f"protect.allowed_countries is not set: texts may go to {', '.join(protect.allowed_countries)} only, "
                "since the country of an existing number or pool is not known at synth; set it to the countries your "
                "customers are in",
            )
        )
    country = origination.iso_country_code if isinstance(origination, NewNumber) else "US"
    if country != "US" and "max_price_usd" not in outbound.model_fields_set:
        warnings.append(
            ConfigWarning(
                "two-way-sms:max-price-defaulted",
                f"outbound.max_price_usd is not set: every text may cost at most ${DEFAULT_MAX_PRICE_USD}, a ceiling "
                f"derived from US prices; set it for the prices of {country}",
            )
        )
    return tuple(warnings)


def _report(name: str, text: str) -> ReplyReport:
    report = analyse(text)
    warning = None
    if report.ucs2_only_because_of_lookalikes:
        shown = " ".join(repr(c) for c in report.lookalikes)
        warning = f"{name} is UCS-2 only because of {shown}: use the plain GSM-7 character to cut the cost per part"
    elif report.is_multipart:
        warning = f"{name} is sent as {report.parts} parts (billed per part)"
        if report.encoding == "UCS-2":  # accented letters GSM-7 lacks (Spanish á í ó ú, French â ê î ô û)
            warning += f", UCS-2 because of {' '.join(repr(c) for c in report.non_gsm_characters)}"
    return ReplyReport(name, report, warning)
