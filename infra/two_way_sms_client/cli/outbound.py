"""``send``: queue one text on the outbound queue (the sender decides whether, when and how it goes)."""

from __future__ import annotations

import argparse
import os
from typing import Any, TextIO

from two_way_sms.encoding import analyse
from two_way_sms.outbound.request import MESSAGE_TYPES
from two_way_sms.outbound.templates import render
from two_way_sms.phone import mask
from two_way_sms_client.cli import config_files
from two_way_sms_client.cli.common import QUEUE_URL_VARIABLE, Aws, InvalidInput, pair


def register(commands: Any, where: argparse.ArgumentParser) -> None:
    send = commands.add_parser("send", help="queue one text", parents=[where])
    send.add_argument("--to", required=True, help="the destination, E.164 (+14255550182)")
    send.add_argument("--body", help="the text")
    send.add_argument("--template", help="a template id (instead of --body)")
    send.add_argument(
        "--var",
        dest="variables",
        action="append",
        type=pair,
        default=[],
        metavar="NAME=VALUE",
        help="a template variable (repeat)",
    )
    send.add_argument("--type", choices=MESSAGE_TYPES, default="TRANSACTIONAL")
    send.add_argument("--after", help="send no earlier than this (ISO 8601 with an offset)")
    send.add_argument("--key", help="the idempotency key (default: a new UUID)")
    send.add_argument(
        "--context",
        action="append",
        type=pair,
        default=[],
        metavar="NAME=VALUE",
        help="echoed in the delivery events (repeat; at most 3)",
    )
    send.add_argument("--queue-url", help=f"the outbound queue (default ${QUEUE_URL_VARIABLE} or the stack's)")
    send.add_argument(
        "--templates",
        metavar="FILE",
        help="the templates, to show the rendered text's size: a config file, a cdk.json, the config's "
        "outbound.templates object or the functions' form (default: ./cdk.json's, with --template)",
    )
    send.set_defaults(handler=send_text)


def send_text(args: argparse.Namespace, aws: Aws, out: TextIO) -> int:
    from two_way_sms_client.client import OutboundClient, build_send_request

    if args.body is None and args.template is None:
        raise InvalidInput("send needs --body TEXT or --template ID")
    if args.body is not None and args.variables:
        raise InvalidInput("--var goes with --template, not --body")
    body = args.body
    if args.template is not None or args.templates is not None:
        templates, source = config_files.templates(args.templates)
        if args.template is not None and templates is not None:
            template = templates.get(args.template)
            if template is None:
                raise InvalidInput(f"no template {args.template} in {source}")
            body = render(template, args.variables)  # TemplateError names the missing variables
    request: dict[str, Any] = {
        "body": args.body,
        "template_id": args.template,
        "variables": args.variables or None,
        "message_type": args.type,
        "send_after": args.after,
        "context": args.context or None,
    }
    # The sender's own parse, before any AWS call (InvalidSendRequest: exit code 2); the key is kept.
    key = build_send_request(args.to, idempotency_key=args.key, **request).idempotency_key
    queue_url = args.queue_url or os.environ.get(QUEUE_URL_VARIABLE) or aws.output("OutboundQueueUrl")
    OutboundClient(queue_url, sqs_client=aws.client("sqs")).send(args.to, idempotency_key=key, **request)
    print(f"queued for {mask(args.to)}", file=out)
    print(f"idempotency key: {key}", file=out)
    if body is not None:
        print(
            f"body: {analyse(body).describe()}"
            + (" before the footer and look-alike replacement" if args.type == "PROMOTIONAL" else ""),
            file=out,
        )
    else:
        print(
            f"body: template {args.template}, rendered by the sender (pass --templates FILE to see its size)", file=out
        )
    return 0
