"""Checks across sections: texts that could never be sent whole, and settings too big for a function's environment.

Each runs on the domain's own objects once they are built (``ResponderSettings``,
``SenderSettings``, templates, flows) and raises a one-line ``ConfigError`` naming the text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from two_way_sms.conversations.flows import Flow, step_texts
from two_way_sms.encoding import analyse, replace_lookalikes
from two_way_sms.languages import LANGUAGES
from two_way_sms.outbound.policy import PROMOTIONAL, SenderSettings, with_opt_out_instruction
from two_way_sms.outbound.templates import Template, parse_template, render, templates_to_json
from two_way_sms.responder import ResponderSettings
from two_way_sms_cdk.config.environment_limits import (
    INBOUND_SETTINGS_BYTES,
    RESOLVED_ARN_BYTES,
    SENDER_SETTINGS_BYTES,
    largest,
)
from two_way_sms_cdk.config.model import ConfigError, OutboundConfig

# Checked by the settings only: the identity is the number or pool of the stack, known at deploy.
VALIDATION_IDENTITY = "arn:aws:sms-voice:us-east-1:123456789012:phone-number/phone-0123456789abcdef0123456789abcdef"


def language_words(responder: ResponderSettings) -> None:
    """A configured language's words are its replies' to answer: no keyword or extra word may take one."""
    for code in sorted(responder.configured_languages):
        language = LANGUAGES[code]
        for index, keyword in enumerate(responder.keywords):
            if keyword.keyword in language.words:
                raise ConfigError(
                    f"keywords[{index}].keyword {keyword.keyword!r} is a {language.name} consent or help word: "
                    f"languages.{code} answers it; remove the keyword"
                )
        for setting in ("extra_opt_out_words", "extra_opt_in_words"):
            for word in getattr(responder, setting):
                if word in language.words:
                    raise ConfigError(f"{setting} {word!r} is a {language.name} word already: remove it")


def inbound_environment(responder: ResponderSettings) -> None:
    """The replies (in every language) and keywords fit the inbound function's environment."""
    size = len(responder.to_json().encode())
    if size > INBOUND_SETTINGS_BYTES:
        sizes = {name: len(json.dumps(text, ensure_ascii=False).encode()) for name, text in responder.replies.items()}
        raise ConfigError(
            f"the replies and keywords take {size:,} bytes of the inbound function's environment, more than the "
            f"{INBOUND_SETTINGS_BYTES:,} that fit (Lambda's 4 KB with the rest): shorten the largest: {largest(sizes)}"
        )


def template_parts(templates: Mapping[str, Template], settings: SenderSettings) -> None:
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


def _fewest_parts_text(body: str, variables: frozenset[str], message_type: str, settings: SenderSettings) -> str:
    """What the sender would send with every variable empty: the shortest text any send of it can be."""
    text = render(parse_template("check", body, message_type), {name: "" for name in variables})
    if message_type == PROMOTIONAL:
        text = with_opt_out_instruction(text)
    return replace_lookalikes(text) if settings.replace_lookalikes else text


def sender_environment(templates: Mapping[str, Template], settings: SenderSettings) -> None:
    """The templates and the sender settings fit the sender function's environment."""
    # The settings as the construct ships them: the origination ARN resolved at deploy, at most RESOLVED_ARN_BYTES.
    settings_bytes = len(settings.to_json().encode()) - len(VALIDATION_IDENTITY) + RESOLVED_ARN_BYTES
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


def flow_parts(flows: Mapping[str, Flow], outbound: OutboundConfig) -> None:
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


def start_words(flows: Mapping[str, Flow], responder: ResponderSettings) -> None:
    """A start word the number answers by itself (a keyword) or that changes consent never reaches a flow."""
    taken = {k.keyword: "a keyword" for k in responder.keywords}
    taken.update({word: "an opt-out word" for word in responder.opt_out_words})
    taken.update({word: "an opt-in word" for word in responder.opt_in_words})
    taken.update({word: "a help word" for word in responder.help_words})
    for flow in flows.values():
        for word in flow.start_words:
            if word in taken:
                raise ConfigError(
                    f"conversations: flow {flow.name}: start word {word} is also {taken[word]}; "
                    "choose another start word"
                )
