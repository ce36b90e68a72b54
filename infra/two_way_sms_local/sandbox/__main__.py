"""``python -m two_way_sms_local.sandbox chat|serve``: the sandbox in a terminal, or behind its page.

``chat`` (``sandbox.chat``) reads lines from stdin: texts from a customer, or /commands.
``serve`` runs the page's HTTP server (``sandbox.server.main``), imported only when asked.
Both synthesize the stack from ``cdk.json`` (or ``--config FILE``) and build it on emulated AWS.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def parser() -> argparse.ArgumentParser:
    parsed = argparse.ArgumentParser(prog="python -m two_way_sms_local.sandbox", description=__doc__.splitlines()[0])
    commands = parsed.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="serve the sandbox's page (its options: serve --help)", add_help=False)
    chat = commands.add_parser("chat", help="text the business number from a terminal")
    chat.add_argument("--config", help="a config file (default: cdk.json's two-way-sms context value)")
    chat.add_argument("--start", help="the sandbox clock's first instant, ISO 8601 (default: now)")
    chat.add_argument("--customer", help="the number you text from (default: the first sample customer)")
    return parsed


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["serve"]:
        # The server reads its own options (``server.add_arguments``): imported only when asked.
        from two_way_sms_local.sandbox.server import main as serve

        return int(serve(arguments[1:]) or 0)
    args = parser().parse_args(arguments)
    from two_way_sms_local.sandbox.chat import main as chat

    return chat(args)


if __name__ == "__main__":
    sys.exit(main())
