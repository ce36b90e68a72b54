"""Reading the configuration from its JSON form: every check fails the synth with a message naming the bad value.

Filled from the ``two-way-sms`` key of ``cdk.json`` context, or from a JSON file named
by the ``configFile`` context value; replies are also reported with their encoding and parts.
"""

from __future__ import annotations

import copy
import json
import math
import re
from datetime import time
from pathlib import Path
from types import MappingProxyType
from typing import Any

import phonenumbers

from two_way_sms.compliance import EMAIL, help_reply_problem, stop_reply_problem
from two_way_sms.conversations.flows import Flow, FlowError, parse_flows, step_texts
from two_way_sms.conversations.ready_flows import READY_FLOWS
from two_way_sms.encoding import analyse, replace_lookalikes
from two_way_sms.inbound import MAX_BODY_CHARACTERS
from two_way_sms.keywords import MANDATORY_KEYWORDS, keyword_problem, normalise_keyword
from two_way_sms.outbound.policy import PROMOTIONAL, SenderSettings, with_opt_out_instruction
from two_way_sms.outbound.templates import Template, TemplateError, parse_template, render, templates_to_json
from two_way_sms.pacing import DEFAULT_MPS
from two_way_sms.reply_log import ReplyLimits
from two_way_sms.responder import KeywordAction, KeywordRule, ResponderSettings
from two_way_sms_cdk.config.environment_limits import (
    INBOUND_SETTINGS_BYTES,
    RESOLVED_ARN_BYTES,
    SENDER_SETTINGS_BYTES,
    largest,
)
from two_way_sms_cdk.config.model import (
    CAPABILITIES,
    CONTEXT_KEY,
    DEFAULT_MAX_PRICE_USD,
    MAX_CONCURRENCY,
    MAX_LEDGER_RETENTION_DAYS,
    MAX_SHARD_COUNT,
    MESSAGE_TYPES,
    NUMBER_TYPES,
    ORIGINATION_TYPES,
    STREAM_MODES,
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
    QuietHoursConfig,
    ReplyReport,
    TwoWaySmsConfig,
)
from two_way_sms_cdk.sms_countries import SMS_COUNTRY_CODES

# DescribePhoneNumbers / DescribePools ids: "phone-" or "pool-" and 32 hex digits (letters and digits accepted).
_ORIGINATION_IDS = {
    "phone-number": re.compile(r"^phone-[0-9A-Za-z]{1,64}$"),
    "pool": re.compile(r"^pool-[0-9A-Za-z]{1,64}$"),
}
_SNS_TOPIC_ARN = re.compile(r"^arn:aws[\w-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")
_OPT_OUT_LIST_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_CLOCK_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_EVENT_BUS_NAME = re.compile(r"[/.\-_A-Za-z0-9]{1,256}")  # EventBridge's own pattern for a bus name
_ROLE_ARN = re.compile(r"^arn:aws[\w-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
# Checked by the settings only: the identity is the number or pool of the stack, known at deploy.
_VALIDATION_IDENTITY = "arn:aws:sms-voice:us-east-1:123456789012:phone-number/phone-0123456789abcdef0123456789abcdef"


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
    _reject_unknown(
        raw,
        {
            "$schema",  # the published JSON Schema, for editors; nothing to the stack
            "origination",
            "help_reply",
            "stop_reply",
            "opt_in_reply",
            "keywords",
            "extra_opt_out_words",
            "extra_opt_in_words",
            "opt_out_phrases",
            "default_reply",
            "self_managed_opt_outs",
            "message_type",
            "opt_out_list_name",
            "deletion_protection",
            "delivery_events",
            "archive",
            "monitoring",
            "outbound",
            "conversations",
            "protect",
            "inbound",
        },
        "config",
    )
    origination = _origination(raw.get("origination", {"new_number": {}}))
    message_type = _choice(raw.get("message_type", "TRANSACTIONAL"), MESSAGE_TYPES, "message_type")
    if origination.number_type == "SIMULATOR" and message_type != "TRANSACTIONAL":
        raise ConfigError(f"message_type {message_type!r}: a SIMULATOR number sends TRANSACTIONAL messages only")

    keywords = tuple(_keyword(entry, i) for i, entry in enumerate(_list(raw, "keywords")))
    _reject_duplicates([k.keyword for k in keywords], "keywords")
    responder = ResponderSettings(
        help_reply=_reply(raw, "help_reply"),
        stop_reply=_reply(raw, "stop_reply"),
        opt_in_reply=_reply(raw, "opt_in_reply"),
        keywords=keywords,
        extra_opt_out_words=tuple(_word(w, "extra_opt_out_words") for w in _list(raw, "extra_opt_out_words")),
        extra_opt_in_words=tuple(_word(w, "extra_opt_in_words") for w in _list(raw, "extra_opt_in_words")),
        **(
            {"opt_out_phrases": tuple(_text(p, "opt_out_phrases") for p in _list(raw, "opt_out_phrases"))}
            if "opt_out_phrases" in raw
            else {}
        ),
        default_reply=_reply(raw, "default_reply") if raw.get("default_reply") is not None else None,
        self_managed_opt_outs=_bool(raw.get("self_managed_opt_outs", False), "self_managed_opt_outs"),
        number_type=origination.number_type,
    )
    clash = set(responder.opt_out_words) & set(responder.opt_in_words)
    if clash:
        raise ConfigError(f"words {sorted(clash)} are both opt-out and opt-in words")

    _check_help_reply(responder.help_reply)
    _check_stop_reply(responder.stop_reply)
    _check_inbound_environment(responder)
    opt_out_list_name = raw.get("opt_out_list_name")
    if opt_out_list_name is not None and not _OPT_OUT_LIST_NAME.match(str(opt_out_list_name)):
        raise ConfigError(f"opt_out_list_name {opt_out_list_name!r} must be 1-64 letters, digits, '_' or '-'")
    deletion_protection = _bool(raw.get("deletion_protection", False), "deletion_protection")
    raw_outbound = raw.get("outbound", {})
    outbound = _outbound(raw_outbound, origination)
    protect = _protect(raw.get("protect", {}), origination, deletion_protection)
    return TwoWaySmsConfig(
        origination=origination,
        responder=responder,
        message_type=message_type,
        opt_out_list_name=opt_out_list_name,
        deletion_protection=deletion_protection,
        delivery_events=_delivery_events(raw.get("delivery_events", {})),
        archive=_archive(raw.get("archive", {})),
        monitoring=_monitoring(raw.get("monitoring", {})),
        outbound=outbound,
        conversations=_conversations(raw.get("conversations", {}), responder, outbound),
        protect=protect,
        inbound=_inbound(raw.get("inbound", {})),
        reply_reports=tuple(_report(name, text) for name, text in responder.replies.items()),
        warnings=_warnings(origination, protect, raw_outbound),
    )


def _check_inbound_environment(responder: ResponderSettings) -> None:
    size = len(responder.to_json().encode())
    if size > INBOUND_SETTINGS_BYTES:
        sizes = {name: len(json.dumps(text, ensure_ascii=False).encode()) for name, text in responder.replies.items()}
        raise ConfigError(
            f"the replies and keywords take {size:,} bytes of the inbound function's environment, more than the "
            f"{INBOUND_SETTINGS_BYTES:,} that fit (Lambda's 4 KB with the rest): shorten the largest: {largest(sizes)}"
        )


def _warnings(
    origination: NewNumber | ExistingOrigination, protect: ProtectConfig, raw_outbound: Any
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
    if country != "US" and isinstance(raw_outbound, dict) and "max_price_usd" not in raw_outbound:
        warnings.append(
            ConfigWarning(
                "two-way-sms:max-price-defaulted",
                f"outbound.max_price_usd is not set: every text may cost at most ${DEFAULT_MAX_PRICE_USD}, a ceiling "
                f"derived from US prices; set it for the prices of {country}",
            )
        )
    return tuple(warnings)


# -- origination ---------------------------------------------------------------------------
def _origination(raw: Any) -> NewNumber | ExistingOrigination:
    if not isinstance(raw, dict) or len(raw) != 1 or next(iter(raw)) not in ("new_number", "existing"):
        raise ConfigError(f"origination {raw!r} must be {{'new_number': {{...}}}} or {{'existing': {{...}}}}")
    kind, body = next(iter(raw.items()))
    if not isinstance(body, dict):
        raise ConfigError(f"origination.{kind} {body!r} must be an object")
    if kind == "new_number":
        _reject_unknown(body, {"iso_country_code", "number_type", "capabilities"}, "origination.new_number")
        country = str(body.get("iso_country_code", "US")).upper()
        if country not in phonenumbers.SUPPORTED_REGIONS:
            raise ConfigError(f"origination.new_number.iso_country_code {country!r} is not an ISO 3166-1 alpha-2 code")
        number_type = _choice(body.get("number_type", "SIMULATOR"), NUMBER_TYPES, "origination.new_number.number_type")
        if number_type in ("SIMULATOR", "TOLL_FREE", "TEN_DLC") and country != "US":
            raise ConfigError(
                f"origination.new_number.number_type {number_type!r} exists in the US only, not {country!r}"
            )
        raw_capabilities = body.get("capabilities", ["SMS"])
        if not isinstance(raw_capabilities, list):
            raise ConfigError(
                f'origination.new_number.capabilities {raw_capabilities!r} must be a list, such as ["SMS"]'
            )
        capabilities = tuple(raw_capabilities)
        for capability in capabilities:
            _choice(capability, CAPABILITIES, "origination.new_number.capabilities")
        if "SMS" not in capabilities:
            raise ConfigError(f"origination.new_number.capabilities {list(capabilities)!r} must include 'SMS'")
        return NewNumber(country, number_type, capabilities)
    _reject_unknown(body, {"origination_type", "origination_id", "number_type"}, "origination.existing")
    origination_type = _choice(body.get("origination_type"), ORIGINATION_TYPES, "origination.existing.origination_type")
    origination_id = _origination_id(body.get("origination_id"), origination_type)
    number_type = _choice(body.get("number_type", "LONG_CODE"), NUMBER_TYPES, "origination.existing.number_type")
    return ExistingOrigination(origination_type, origination_id, number_type)


def _origination_id(value: Any, origination_type: str) -> str:
    """The id of an existing phone number (``phone-`` + 32 hex digits) or pool (``pool-`` ...), with a hint for
    what people give instead: the number itself, its ARN, the other kind's id."""
    where = "origination.existing.origination_id"
    prefix = "phone-" if origination_type == "phone-number" else "pool-"
    hint = f"give the {origination_type}'s id ({prefix}...): `aws pinpoint-sms-voice-v2 describe-{origination_type}s`"
    if isinstance(value, str) and _ORIGINATION_IDS[origination_type].match(value):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ConfigError(f"{where} {value!r} is a number, not an id: {hint}")
    if not isinstance(value, str):
        raise ConfigError(f"{where} {value!r} must be a string: {hint}")
    if value.startswith("arn:"):
        tail = value.rsplit("/", 1)[-1]
        raise ConfigError(f"{where} {value!r} is an ARN: give the id after its last '/' ({tail!r})")
    if value.startswith("+") or value.replace(" ", "").replace("-", "").isdigit():
        raise ConfigError(f"{where} {value!r} is a phone number, not its id: {hint}")
    other = "pool" if origination_type == "phone-number" else "phone-number"
    if _ORIGINATION_IDS[other].match(value):
        raise ConfigError(f"{where} {value!r} is a {other} id, but origination_type is {origination_type!r}")
    raise ConfigError(f"{where} {value!r} is not a {origination_type} id ({prefix} and letters or digits): {hint}")


# -- delivery events --------------------------------------------------------------------------
def _delivery_events(raw: Any) -> DeliveryEventsConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"delivery_events {raw!r} must be an object")
    _reject_unknown(raw, {"stream_mode", "shard_count", "ledger_retention_days"}, "delivery_events")
    stream_mode = _choice(raw.get("stream_mode", "PROVISIONED"), STREAM_MODES, "delivery_events.stream_mode")
    shard_count = raw.get("shard_count")
    if stream_mode == "ON_DEMAND":
        if shard_count is not None:
            raise ConfigError(
                f"delivery_events.shard_count {shard_count!r} is only for a PROVISIONED stream, "
                "not ON_DEMAND (an on-demand stream sizes itself)"
            )
    else:
        shard_count = _int(1 if shard_count is None else shard_count, 1, MAX_SHARD_COUNT, "delivery_events.shard_count")
    retention_days = _int(
        raw.get("ledger_retention_days", 400), 1, MAX_LEDGER_RETENTION_DAYS, "delivery_events.ledger_retention_days"
    )
    return DeliveryEventsConfig(stream_mode, shard_count, retention_days)


# -- archive and monitoring -----------------------------------------------------------------
def _archive(raw: Any) -> ArchiveConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"archive {raw!r} must be an object")
    _reject_unknown(
        raw, {"infrequent_access_after_days", "glacier_instant_retrieval_after_days", "expire_after_days"}, "archive"
    )
    # S3 moves objects to Standard-IA after 30 days at the earliest.
    infrequent = _int(raw.get("infrequent_access_after_days", 30), 30, 36500, "archive.infrequent_access_after_days")
    glacier = _int(
        raw.get("glacier_instant_retrieval_after_days", 90),
        infrequent + 1,
        36500,
        "archive.glacier_instant_retrieval_after_days",
    )
    expire = raw.get("expire_after_days")
    if expire is not None:
        expire = _int(expire, glacier + 1, 36500, "archive.expire_after_days")
    return ArchiveConfig(infrequent, glacier, expire)


def _monitoring(raw: Any) -> MonitoringConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"monitoring {raw!r} must be an object")
    _reject_unknown(
        raw,
        {"alarm_topic_arn", "alarm_emails", "monthly_budget_usd", "delivery_failure_rate_percent", "hard_stop"},
        "monitoring",
    )
    topic_arn = raw.get("alarm_topic_arn")
    if topic_arn is not None and (not isinstance(topic_arn, str) or not _SNS_TOPIC_ARN.match(topic_arn)):
        raise ConfigError(f"monitoring.alarm_topic_arn {topic_arn!r} is not an SNS topic ARN")
    emails = tuple(_list(raw, "alarm_emails"))
    for email in emails:
        if not isinstance(email, str) or not EMAIL.fullmatch(email):
            raise ConfigError(f"monitoring.alarm_emails entry {email!r} is not an e-mail address")
    budget = raw.get("monthly_budget_usd", 100.0)
    if budget is not None and (
        isinstance(budget, bool) or not isinstance(budget, (int, float)) or not math.isfinite(budget) or budget <= 0
    ):
        raise ConfigError(f"monitoring.monthly_budget_usd {budget!r} must be a positive number of dollars or null")
    hard_stop = _bool(raw.get("hard_stop", False), "monitoring.hard_stop")
    if hard_stop and budget is None:
        raise ConfigError("monitoring.hard_stop true needs a monthly_budget_usd to stop at (it is null)")
    rate = raw.get("delivery_failure_rate_percent", 10.0)
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate <= 100:
        raise ConfigError(f"monitoring.delivery_failure_rate_percent {rate!r} must be a number above 0, at most 100")
    return MonitoringConfig(topic_arn, emails, None if budget is None else float(budget), float(rate), hard_stop)


# -- outbound -------------------------------------------------------------------------------
_OUTBOUND_KEYS = {
    "mps",
    "max_price_usd",
    "time_to_live_seconds",
    "replace_lookalikes",
    "max_parts",
    "promotional_daily_limit",
    "quiet_hours",
    "max_concurrency",
    "templates",
}


def default_mps(origination: NewNumber | ExistingOrigination) -> float:
    """The identity's default throughput (parts per second) by number type; see ``OutboundConfig``."""
    if origination.number_type == "LONG_CODE":
        country = origination.iso_country_code if isinstance(origination, NewNumber) else None
        # A long code in the US or Canada, or of an unknown country, gets the safe 1 MPS.
        return DEFAULT_MPS["LONG_CODE"] if country not in (None, "US", "CA") else DEFAULT_MPS["LONG_CODE_CA"]
    return DEFAULT_MPS[origination.number_type]


def _outbound(raw: Any, origination: NewNumber | ExistingOrigination) -> OutboundConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"outbound {raw!r} must be an object")
    _reject_unknown(raw, _OUTBOUND_KEYS, "outbound")
    quiet_hours = _quiet_hours(raw.get("quiet_hours", {}))
    mps = raw.get("mps")
    price = raw.get("max_price_usd")
    if isinstance(price, (int, float)) and not isinstance(price, bool):
        raise ConfigError(
            f'outbound.max_price_usd {price!r} must be a string of dollars, such as "{price:.2f}" '
            "(a JSON number may not keep the exact decimal)"
        )
    try:  # the sender's own checks (two_way_sms.outbound.policy), on everything it will be given
        settings = SenderSettings(
            origination_identity=_VALIDATION_IDENTITY,
            mps=default_mps(origination) if mps is None else mps,
            quiet_hours=quiet_hours.rules(),
            max_price_usd=raw.get("max_price_usd", DEFAULT_MAX_PRICE_USD),
            time_to_live_seconds=raw.get("time_to_live_seconds", 259200),
            replace_lookalikes=raw.get("replace_lookalikes", True),
            max_parts=raw.get("max_parts", 6),
            promotional_daily_limit=raw.get("promotional_daily_limit", 2),
        )
    except ValueError as error:
        raise ConfigError(f"outbound.{error}") from None
    templates = _templates(raw.get("templates", {}))
    _check_template_parts(templates, settings)
    _check_sender_environment(templates, settings)
    return OutboundConfig(
        mps=float(settings.mps),
        max_price_usd=settings.max_price_usd,
        time_to_live_seconds=settings.time_to_live_seconds,
        replace_lookalikes=settings.replace_lookalikes,
        max_parts=settings.max_parts,
        promotional_daily_limit=settings.promotional_daily_limit,
        quiet_hours=quiet_hours,
        max_concurrency=_int(raw.get("max_concurrency", 2), 2, MAX_CONCURRENCY, "outbound.max_concurrency"),
        templates=MappingProxyType(templates),
    )


def _fewest_parts_text(body: str, variables: frozenset[str], message_type: str, settings: SenderSettings) -> str:
    """What the sender would send with every variable empty: the shortest text any send of it can be."""
    text = render(parse_template("check", body, message_type), {name: "" for name in variables})
    if message_type == PROMOTIONAL:
        text = with_opt_out_instruction(text)
    return replace_lookalikes(text) if settings.replace_lookalikes else text


def _check_template_parts(templates: dict[str, Template], settings: SenderSettings) -> None:
    """A template the sender would refuse on every send (more than max_parts) fails the config, not the sends."""
    for template_id, template in templates.items():
        text = _fewest_parts_text(template.body, template.placeholders, template.message_type, settings)
        report = analyse(text)
        if report.parts > settings.max_parts:
            raise ConfigError(
                f"outbound.templates.{template_id} takes {report.parts} parts ({report.encoding}, "
                f"{report.characters:,} characters with its variables empty), more than outbound.max_parts "
                f"{settings.max_parts}: every send would be refused; shorten it or raise max_parts"
            )


def _check_sender_environment(templates: dict[str, Template], settings: SenderSettings) -> None:
    # The settings as the construct ships them: the origination ARN resolved at deploy, at most RESOLVED_ARN_BYTES.
    settings_bytes = len(settings.to_json().encode()) - len(_VALIDATION_IDENTITY) + RESOLVED_ARN_BYTES
    size = settings_bytes + len(templates_to_json(templates).encode())
    if size > SENDER_SETTINGS_BYTES:
        sizes = {
            template_id: len(templates_to_json([template]).encode()) for template_id, template in templates.items()
        }
        raise ConfigError(
            f"outbound.templates and the sender settings take {size:,} bytes of the sender function's environment, "
            f"more than the {SENDER_SETTINGS_BYTES:,} that fit (Lambda's 4 KB with the rest): shorten or remove the "
            f"largest templates: {largest(sizes)}"
        )


def _quiet_hours(raw: Any) -> QuietHoursConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"outbound.quiet_hours {raw!r} must be an object")
    _reject_unknown(raw, {"start", "end", "state_rules"}, "outbound.quiet_hours")
    start = _clock_time(raw.get("start", "08:00"), "outbound.quiet_hours.start")
    end = _clock_time(raw.get("end", "21:00"), "outbound.quiet_hours.end")
    if not start < end:
        raise ConfigError(
            f"outbound.quiet_hours.end {raw.get('end')!r} must be later than start "
            f"{raw.get('start', '08:00')!r} (a window within one day)"
        )
    return QuietHoursConfig(start, end, _bool(raw.get("state_rules", True), "outbound.quiet_hours.state_rules"))


def _clock_time(value: Any, where: str) -> time:
    if not isinstance(value, str) or not _CLOCK_TIME.match(value):
        raise ConfigError(f'{where} {value!r} must be a 24-hour time like "08:00"')
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def _templates(raw: Any) -> dict[str, Template]:
    if not isinstance(raw, dict):
        raise ConfigError(f"outbound.templates {raw!r} must be an object of template id -> {{body, message_type}}")
    templates = {}
    for template_id, entry in raw.items():
        where = f"outbound.templates.{template_id}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where} {entry!r} must be an object with body and message_type")
        _reject_unknown(entry, {"body", "message_type"}, where)
        body = entry.get("body")
        if not isinstance(body, str) or not body.strip():
            raise ConfigError(f"{where}.body {body!r} must be non-empty text")
        if len(body) > MAX_BODY_CHARACTERS:
            raise ConfigError(f"{where}.body has {len(body)} characters, more than {MAX_BODY_CHARACTERS}")
        message_type = _choice(entry.get("message_type", "TRANSACTIONAL"), MESSAGE_TYPES, f"{where}.message_type")
        try:
            templates[template_id] = parse_template(template_id, body, message_type)
        except (TemplateError, ValueError) as error:
            raise ConfigError(f"{where}: {error}") from None
    return templates


# -- protection -------------------------------------------------------------------------------
def _protect(raw: Any, origination: NewNumber | ExistingOrigination, deletion_protection: bool) -> ProtectConfig:
    if not isinstance(raw, dict):
        raise ConfigError(
            f"protect {raw!r} must be an object with allowed_countries, deletion_protection and account_default"
        )
    _reject_unknown(raw, {"allowed_countries", "deletion_protection", "account_default"}, "protect")
    own_country = origination.iso_country_code if isinstance(origination, NewNumber) else None
    defaulted = raw.get("allowed_countries") is None
    if defaulted:
        countries: tuple[str, ...] = (own_country or "US",)
    else:
        value = raw["allowed_countries"]
        if not isinstance(value, list):
            raise ConfigError(
                f"protect.allowed_countries {value!r} must be a list of ISO 3166-1 alpha-2 country "
                'codes, such as ["US", "CA"]'
            )
        if not value:
            raise ConfigError(
                "protect.allowed_countries [] must name at least one country: an empty list would block every text"
            )
        for code in value:
            if not isinstance(code, str) or code.strip().upper() not in SMS_COUNTRY_CODES:
                raise ConfigError(
                    f"protect.allowed_countries entry {code!r} is not an ISO 3166-1 alpha-2 country "
                    'code End User Messaging sends to (such as "US", "CA" or "GB")'
                )
        countries = tuple(code.strip().upper() for code in value)
        _reject_duplicates(list(countries), "protect.allowed_countries")
        if own_country is not None and own_country not in countries:
            raise ConfigError(
                f"protect.allowed_countries {list(countries)!r} leaves out {own_country!r}, the "
                "country of the stack's own number: replies to its customers would be blocked"
            )
    return ProtectConfig(
        allowed_countries=countries,
        deletion_protection=_bool(raw.get("deletion_protection", deletion_protection), "protect.deletion_protection"),
        account_default=_bool(raw.get("account_default", False), "protect.account_default"),
        defaulted=defaulted,
    )


def _inbound(raw: Any) -> InboundConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"inbound {raw!r} must be an object")
    _reject_unknown(raw, {"test_publisher_role_arn", "reply_limits"}, "inbound")
    role_arn = raw.get("test_publisher_role_arn")
    if role_arn is not None and (not isinstance(role_arn, str) or not _ROLE_ARN.match(role_arn)):
        raise ConfigError(
            f"inbound.test_publisher_role_arn {role_arn!r} is not an IAM role ARN (arn:aws:iam::123456789012:role/name)"
        )
    return InboundConfig(test_publisher_role_arn=role_arn, reply_limits=_reply_limits(raw.get("reply_limits", {})))


def _reply_limits(raw: Any) -> ReplyLimits:
    """``{per_window, window_minutes, per_day, same_text_minutes}``, each defaulted (5, 10, 20, 5)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"inbound.reply_limits {raw!r} must be an object")
    _reject_unknown(raw, {"per_window", "window_minutes", "per_day", "same_text_minutes"}, "inbound.reply_limits")
    default = ReplyLimits()
    values = {
        "per_window": raw.get("per_window", default.per_window),
        "window_seconds": _minutes(raw.get("window_minutes", default.window_seconds // 60), "window_minutes"),
        "per_day": raw.get("per_day", default.per_day),
        "same_text_seconds": _minutes(
            raw.get("same_text_minutes", default.same_text_seconds // 60), "same_text_minutes"
        ),
    }
    for name in ("per_window", "per_day"):
        if isinstance(values[name], bool) or not isinstance(values[name], int) or not 1 <= values[name] <= 1000:
            raise ConfigError(f"inbound.reply_limits.{name} {values[name]!r} must be a whole number from 1 to 1,000")
    try:
        return ReplyLimits(**values)
    except ValueError as error:
        raise ConfigError(f"inbound.reply_limits: {error}") from None


def _minutes(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1440:
        raise ConfigError(f"inbound.reply_limits.{name} {value!r} must be a whole number of minutes from 0 to 1,440")
    return value * 60


# -- conversations ------------------------------------------------------------------------
def _conversations(raw: Any, responder: ResponderSettings, outbound: OutboundConfig) -> ConversationsConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"conversations {raw!r} must be an object")
    _reject_unknown(raw, {"ready_flows", "flows", "event_bus_name", "extensions"}, "conversations")
    ready = raw.get("ready_flows", [])
    if not isinstance(ready, list):
        raise ConfigError(f"conversations.ready_flows {ready!r} must be a list of ready flow names")
    for name in ready:
        if not isinstance(name, str) or name not in READY_FLOWS:
            raise ConfigError(
                f"conversations.ready_flows entry {name!r} is not a ready flow: the ready flows are "
                f"{', '.join(sorted(READY_FLOWS))}"
            )
    _reject_duplicates(ready, "conversations.ready_flows")
    custom = raw.get("flows", {})
    if not isinstance(custom, dict):
        raise ConfigError(f"conversations.flows {custom!r} must be an object of flow name -> flow")
    # A custom flow named like a ready one replaces it (that is how a ready flow is edited).
    specs = {**{name: copy.deepcopy(READY_FLOWS[name]) for name in ready}, **copy.deepcopy(custom)}
    try:
        flows = parse_flows(specs)
    except FlowError as error:
        raise ConfigError(f"conversations: {error}") from None
    _check_flow_parts(flows, outbound)
    # A start word the number answers by itself (a keyword) or that changes consent never reaches a flow.
    taken = {k.keyword: "a keyword" for k in responder.keywords}
    taken.update({word: "an opt-out word" for word in responder.opt_out_words})
    taken.update({word: "an opt-in word" for word in responder.opt_in_words})
    for flow in flows.values():
        for word in flow.start_words:
            if word in taken:
                raise ConfigError(
                    f"conversations: flow {flow.name}: start word {word} is also {taken[word]}; "
                    "choose another start word"
                )
    bus_name = raw.get("event_bus_name")
    if bus_name is not None and (not isinstance(bus_name, str) or not _EVENT_BUS_NAME.fullmatch(bus_name)):
        raise ConfigError(
            f"conversations.event_bus_name {bus_name!r} must be the name (not the ARN) of an event bus: "
            "1-256 letters, digits, '.', '-', '_' or '/'"
        )
    extensions = _extensions(raw["extensions"]) if raw.get("extensions") is not None else None
    return ConversationsConfig(
        flows=MappingProxyType(flows), specs=MappingProxyType(specs), event_bus_name=bus_name, extensions=extensions
    )


def _check_flow_parts(flows: dict[str, Flow], outbound: OutboundConfig) -> None:
    """A flow's text that is longer than max_parts with its variables empty could never be sent whole."""
    for flow in flows.values():
        for step in flow.steps.values():
            for field_name, text in step_texts(step):
                if text is None:
                    continue
                variables = parse_template("check", text).placeholders
                shortest = render(parse_template("check", text), {name: "" for name in variables})
                report = analyse(replace_lookalikes(shortest) if outbound.replace_lookalikes else shortest)
                if report.parts > outbound.max_parts:
                    raise ConfigError(
                        f"conversations: flow {flow.name}: step {step.name}: {field_name} takes {report.parts} parts "
                        f"({report.encoding}, {report.characters:,} characters with its variables empty), more than "
                        f"outbound.max_parts {outbound.max_parts}: shorten it or raise max_parts"
                    )


def _extensions(raw: Any) -> ExtensionsConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"conversations.extensions {raw!r} must be an object with directory and module")
    _reject_unknown(raw, {"directory", "module"}, "conversations.extensions")
    directory, module = raw.get("directory"), raw.get("module")
    if not isinstance(module, str) or not _MODULE_NAME.fullmatch(module):
        raise ConfigError(f"conversations.extensions.module {module!r} must be a Python module name (clinic_handlers)")
    if not isinstance(directory, str) or not directory:
        raise ConfigError(f"conversations.extensions.directory {directory!r} must be a directory path")
    base = Path(directory) / "python" / module.replace(".", "/")
    if not (base / "__init__.py").is_file() and not base.with_suffix(".py").is_file():
        raise ConfigError(
            f"conversations.extensions: {directory!r} has no python/{module.replace('.', '/')} package "
            "or .py file: lay the directory out as a Lambda layer (python/<module>)"
        )
    return ExtensionsConfig(directory=str(Path(directory).resolve()), module=module)


# -- keywords and replies -----------------------------------------------------------------
def _keyword(raw: Any, index: int) -> KeywordRule:
    where = f"keywords[{index}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} {raw!r} must be an object with keyword, reply and action")
    _reject_unknown(raw, {"keyword", "reply", "action"}, where)
    word = _word(raw.get("keyword"), f"{where}.keyword")
    if word in MANDATORY_KEYWORDS:
        raise ConfigError(f"{where}.keyword {word!r} is a mandatory keyword: set help_reply or stop_reply instead")
    action = _choice(raw.get("action", "AUTOMATIC_RESPONSE"), tuple(a.value for a in KeywordAction), f"{where}.action")
    return KeywordRule(word, _reply(raw, "reply", where=where), KeywordAction(action))


def _word(raw: Any, where: str) -> str:
    problem = keyword_problem(raw) if isinstance(raw, str) else f"keyword {raw!r} must be text"
    if problem:
        raise ConfigError(f"{where}: {problem}")
    return normalise_keyword(raw)


def _reply(raw: dict[str, Any], key: str, *, where: str = "config") -> str:
    text = raw.get(key)
    name = key if where == "config" else f"{where}.{key}"
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{name} {text!r} must be non-empty text")
    if len(text) > MAX_BODY_CHARACTERS:
        raise ConfigError(f"{name} has {len(text)} characters, more than {MAX_BODY_CHARACTERS}")
    return text


def _check_help_reply(text: str) -> None:
    problem = help_reply_problem(text)
    if problem:
        raise ConfigError(problem)


def _check_stop_reply(text: str) -> None:
    problem = stop_reply_problem(text)
    if problem:
        raise ConfigError(problem)


def _report(name: str, text: str) -> ReplyReport:
    report = analyse(text)
    warning = None
    if report.ucs2_only_because_of_lookalikes:
        shown = " ".join(repr(c) for c in report.lookalikes)
        warning = f"{name} is UCS-2 only because of {shown}: use the plain GSM-7 character to cut the cost per part"
    elif report.is_multipart:
        warning = f"{name} is sent as {report.parts} parts (billed per part)"
    return ReplyReport(name, report, warning)


# -- small checks ---------------------------------------------------------------------------
def _choice(value: Any, allowed: tuple[str, ...], where: str) -> str:
    if value not in allowed:
        raise ConfigError(f"{where} {value!r} must be one of {', '.join(allowed)}")
    return value


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where} {value!r} must be true or false")
    return value


def _int(value: Any, low: int, high: int, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{where} {value!r} must be a whole number from {low} to {high}")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where} {value!r} must be non-empty text")
    return value


def _list(raw: dict[str, Any], key: str) -> list[Any]:
    value = raw.get(key, [])
    if not isinstance(value, list):
        raise ConfigError(f"{key} {value!r} must be a list")
    return value


def _reject_unknown(raw: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ConfigError(f"{where} has unknown settings {unknown}: allowed are {sorted(allowed)}")


def _reject_duplicates(words: list[str], where: str) -> None:
    seen = [w for i, w in enumerate(words) if w in words[:i]]
    if seen:
        raise ConfigError(f"{where} repeat {sorted(set(seen))}")
