"""``config``: check a config the way the synth does, print its JSON Schema, explain what its texts cost.

- ``validate``: the synth's own parse (``two_way_sms_cdk.config.load_config``) of ``--config FILE``
  (a config file or a cdk.json) or ./cdk.json: "valid" (and the synth's warnings), or its
  one-line error with exit code 2;
- ``schema``: the published JSON Schema (``two_way_sms_cdk.config.document``);
- ``explain``: every reply, keyword reply, template and flow text, as it will be sent (templates
  and flow texts with their variables empty: each variable adds its own length), with its
  encoding, parts and an estimated cost per send for the number type and country
  (``two_way_sms_client.prices``, clearly an estimate).

None of this calls AWS, and nothing imports ``aws_cdk``.
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from two_way_sms_client.cli import config_files
from two_way_sms_client.cli.common import Aws, add_json_option, emit, money, pattern

NUMBER_TYPES = ("LONG_CODE", "TOLL_FREE", "TEN_DLC", "SIMULATOR")  # two_way_sms_cdk.config.model.NUMBER_TYPES


def register(commands: Any, where: argparse.ArgumentParser) -> None:
    config = commands.add_parser("config", help="validate the config, print its schema, explain its texts' cost")
    sub = config.add_subparsers(dest="config_command", required=True, parser_class=type(config))
    validate = sub.add_parser("validate", help="the synth's own checks, without synth")
    validate.add_argument("--config", metavar="FILE", help="a config file or a cdk.json (default: ./cdk.json)")
    validate.set_defaults(handler=validate_config)
    schema = sub.add_parser("schema", help="print the config's JSON Schema")
    schema.set_defaults(handler=print_schema)
    explain = sub.add_parser("explain", help="each text's encoding, parts and estimated cost per send")
    explain.add_argument("--config", metavar="FILE", help="a config file or a cdk.json (default: ./cdk.json)")
    explain.add_argument(
        "--number-type", choices=NUMBER_TYPES, help="price as this number type (default: the config's)"
    )
    explain.add_argument(
        "--country",
        type=pattern(r"[A-Z]{2}", "an ISO 3166-1 alpha-2 country code (US)"),
        help="price texts to this country (default: the new number's country; US for an existing number)",
    )
    explain.add_argument(
        "--idle-cost",
        action="store_true",
        help="also price what the stack costs while idle (synthesizes it: a few seconds, after `make synth`)",
    )
    add_json_option(explain)
    explain.set_defaults(handler=explain_config)


def validate_config(args: argparse.Namespace, aws: Aws, out: TextIO) -> int:
    config, _ = config_files.load(args.config)
    print("valid", file=out)
    for warning in config.warnings:
        print(f"warning: {warning.id}: {warning.message}", file=out)
    return 0


def print_schema(args: argparse.Namespace, aws: Aws, out: TextIO) -> int:
    from two_way_sms_cdk.config.document import schema_text

    print(schema_text(), end="", file=out)
    return 0


def explain_config(args: argparse.Namespace, aws: Aws, out: TextIO) -> int:
    from two_way_sms.encoding import analyse
    from two_way_sms_client import prices

    config, source = config_files.load(args.config)
    number_type = args.number_type or config.number_type
    country = args.country or getattr(config.origination, "iso_country_code", "US")
    rows = []
    for kind, name, text, templated in _texts(config):
        report = analyse(text)
        cost = prices.estimate(report.parts, number_type=number_type, country=country)
        rows.append(
            {
                "kind": kind,
                "name": name,
                "encoding": report.encoding,
                "characters": report.characters,
                "parts": report.parts,
                "describe": report.describe(),
                "variablesEmpty": templated,
                "estimatedUsdPerSend": cost.usd if cost is not None else None,
            }
        )
    priced = prices.estimate(1, number_type=number_type, country=country)
    header = f"{source}: a {number_type} number, texts to {country}; cost per send is an {prices.LABEL}"
    if priced is None:
        header = f"{source}: a {number_type} number, texts to {country}; no price estimate for {country} (US only)"
    lines = [header]
    for row in rows:
        cost_text = f"  ~{money(row['estimatedUsdPerSend'])} per send" if row["estimatedUsdPerSend"] is not None else ""
        lines.append(
            f"  {row['kind']} {row['name']}: {row['describe']}{cost_text}"
            + (" (variables empty)" if row["variablesEmpty"] else "")
        )
    if priced is not None:
        lines.append(
            f"per part: {money(priced.per_part.aws_usd)} End User Messaging + {money(priced.per_part.carrier_fee_usd)} "
            "carrier fee; templates and flow texts cost more with long variables"
        )
    if args.idle_cost:  # opt-in: it synthesizes the stack (aws_cdk, Node), the rest of `config` never does
        from two_way_sms_cdk.costs import idle_cost_lines

        lines += idle_cost_lines(config)
    data = {
        "config": source,
        "numberType": number_type,
        "country": country,
        "prices": prices.LABEL if priced is not None else None,
        "texts": rows,
    }
    emit(out, args, data, lines)
    return 0


def _texts(config: Any) -> list[tuple[str, str, str, bool]]:
    """(kind, name, text as sent, has variables) for every text the config can send."""
    from two_way_sms.conversations.flows import step_texts
    from two_way_sms.encoding import replace_lookalikes
    from two_way_sms.outbound.policy import with_opt_out_instruction
    from two_way_sms.outbound.request import PROMOTIONAL
    from two_way_sms.outbound.templates import parse_template, render

    def as_sent(body: str, message_type: str | None = None) -> tuple[str, bool]:
        # What the sender sends with every variable empty (as the synth checks it): footer, then look-alikes.
        template = parse_template("explain", body)
        text = render(template, {name: "" for name in template.placeholders})
        if message_type == PROMOTIONAL:
            text = with_opt_out_instruction(text)
        if config.outbound.replace_lookalikes:
            text = replace_lookalikes(text)
        return text, bool(template.placeholders)

    texts: list[tuple[str, str, str, bool]] = []
    for name, text in config.responder.replies.items():  # as the inbound function sends them (and synth reports)
        kind, _, label = name.partition(" ") if name.startswith("keyword ") else ("reply", "", name)
        texts.append((kind, label, text, False))
    for template_id, template in sorted(config.outbound.templates.items()):
        rendered, templated = as_sent(template.body, template.message_type)
        texts.append(("template", template_id, rendered, templated))
    for flow in config.conversations.flows.values():
        for step in flow.steps.values():
            replies = 0
            for field_name, text in step_texts(step):
                label = field_name
                if field_name == "reply":  # one per answer (and one without slots): numbered in order
                    replies += 1
                    label = f"reply{replies}"
                if text is not None:
                    rendered, templated = as_sent(text)
                    texts.append(("flow", f"{flow.name}.{step.name}.{label}", rendered, templated))
    return texts
