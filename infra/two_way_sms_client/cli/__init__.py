"""The operator's command line, ``two-way-sms``: what an operator does every day against a deployed stack.

    two-way-sms send --to +14255550182 --body "Your order shipped" --stack TwoWaySms
    two-way-sms campaigns schedule --id spring-sale --template spring --csv spring.csv --stack TwoWaySms
    two-way-sms campaigns list | status ID | cancel ID | report --id ID --run RUN
    two-way-sms contacts import contacts.csv --stack TwoWaySms
    two-way-sms opt-outs list | check NUMBER | add NUMBER [--note ...] | remove NUMBER
    two-way-sms dlq list | show QUEUE | redrive QUEUE
    two-way-sms ledger message ID | ledger number NUMBER ;  two-way-sms spend
    two-way-sms simulate inbound --from +12065550142 --body STOP --stack TwoWaySms
    two-way-sms conversations show NUMBER
    two-way-sms config validate | schema | explain

One module per command group (``outbound``, ``campaigns``, ``contacts``, ``opt_outs``, ``dlq``,
``ledger``, ``simulate``, ``conversations``, ``config``); each registers its commands here and
uses the runtime package's own adapters, so the command line and the functions cannot disagree.

Where things are: ``--stack NAME`` reads the deployed stack's outputs; explicit options win
over them; ``TWO_WAY_SMS_OUTBOUND_QUEUE_URL`` and ``TWO_WAY_SMS_STACK`` are the defaults of
``--queue-url`` and ``--stack``. ``--json`` prints JSON where a program may read the answer.

Exit codes: 0 done; 2 invalid input (one line on stderr, checked before any AWS call; also a
refusal such as removing an opt-out without the customer's own opt-in); 1 AWS refused or failed.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from two_way_sms_client.cli import (
    campaigns,
    config,
    contacts,
    conversations,
    dlq,
    ledger,
    opt_outs,
    outbound,
    simulate,
)
from two_way_sms_client.cli.common import (
    QUEUE_URL_VARIABLE,
    STACK_VARIABLE,
    Aws,
    AwsFailure,
    InvalidInput,
    Parser,
    one_line,
)

__all__ = ["QUEUE_URL_VARIABLE", "STACK_VARIABLE", "Aws", "InvalidInput", "build_parser", "main"]

_GROUPS = (outbound, campaigns, contacts, opt_outs, dlq, ledger, simulate, conversations, config)


def build_parser() -> argparse.ArgumentParser:
    # --region and --stack go before or after the command; given after it, they win.
    where = Parser(add_help=False)
    where.add_argument("--region", default=argparse.SUPPRESS, help="AWS region (default: your AWS configuration's)")
    where.add_argument(
        "--stack",
        default=argparse.SUPPRESS,
        help=f"the deployed stack whose outputs say where things are (default ${STACK_VARIABLE})",
    )
    parser = Parser(prog="two-way-sms", description="Operate a deployed two-way SMS stack.", parents=[where])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for group in _GROUPS:
        group.register(commands, where)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    session: Callable[..., Any] | None = None,
) -> int:
    """Runs one command; returns the exit code (``session``: a boto3.Session factory, for tests)."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        args = build_parser().parse_args(argv)
        for name in ("variables", "context", "where"):  # NAME=VALUE options, repeated
            if hasattr(args, name) and isinstance(getattr(args, name), list):
                setattr(args, name, dict(getattr(args, name)))
        aws = Aws(
            getattr(args, "region", None), getattr(args, "stack", None) or os.environ.get(STACK_VARIABLE), session
        )
        return int(args.handler(args, aws, out))
    except ValueError as error:  # InvalidInput, InvalidSendRequest, InvalidCampaign, TemplateError, ...
        print(f"error: {one_line(error)}", file=err)
        return 2
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0)
    except Exception as error:  # AWS said no, or is unreachable: one line, never a traceback
        return _aws_failure(error, err)


def _aws_failure(error: Exception, err: TextIO) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from two_way_sms.adapters.sms import RetryableSendError, SendRejected

    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        print(f"error: AWS refused: {details.get('Code', 'Unknown')}: {one_line(details.get('Message', ''))}", file=err)
        return 1
    if isinstance(error, (SendRejected, RetryableSendError)):  # the SMS adapter's words for a ClientError
        print(f"error: AWS refused: {one_line(error)}", file=err)
        return 1
    if isinstance(error, (AwsFailure, BotoCoreError, OSError)) or type(error).__name__ == "OutboundQueueError":
        print(f"error: {one_line(error)}", file=err)
        return 1
    raise error
