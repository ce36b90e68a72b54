"""``ledger``: what became of a text (by message id, or the recent texts to a number), and ``spend``.

The message ledger (``two_way_sms.adapters.ledger``) holds one item per text sent, brought up to
date by every delivery event, and ``SPEND#<yyyy-mm>`` items totalling each month's counted spend.
``ledger number`` reads its ``ByDestination`` index (destination number, time requested), newest
first.
"""

from __future__ import annotations

import argparse
import re
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, TextIO

from two_way_sms_client.cli import config_files
from two_way_sms_client.cli.common import (
    Aws,
    InvalidInput,
    add_json_option,
    bounded,
    e164,
    emit,
    money,
    pattern,
    plain,
)

BY_DESTINATION_INDEX = "ByDestination"  # two_way_sms_cdk.constructs.message_ledger.BY_DESTINATION_INDEX
# End User Messaging's message ids (and the emulator's): never a ledger summary key (SPEND#...).
message_id = pattern(r"[A-Za-z0-9_.:/-]{1,128}", "a message id (1-128 characters of [A-Za-z0-9_.:/-])")
_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


def month(text: str) -> str:
    if not _MONTH.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a month like 2026-11")
    return text


def budget(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not an amount of US dollars") from None
    if not value.is_finite() or value <= 0:
        raise argparse.ArgumentTypeError(f"{text[:20]!r} must be a positive amount of US dollars")
    return value


def register(commands: Any, where: argparse.ArgumentParser) -> None:
    ledger = commands.add_parser("ledger", help="what became of a text, or of the recent texts to a number")
    sub = ledger.add_subparsers(dest="ledger_command", required=True, parser_class=type(ledger))
    message = sub.add_parser("message", help="one text's fate, by End User Messaging's message id", parents=[where])
    message.add_argument("id", type=message_id, help="the MessageId SendTextMessage returned")
    message.add_argument("--table", help="the ledger table (default: the stack's LedgerTableName)")
    add_json_option(message)
    message.set_defaults(handler=show_message)
    number = sub.add_parser("number", help="the recent texts to a number and their fate", parents=[where])
    number.add_argument("number", type=e164, help="the destination, E.164 (+14255550182)")
    number.add_argument("--limit", type=bounded(1, 1000), default=20, help="at most this many, newest first (20)")
    number.add_argument("--table", help="the ledger table (default: the stack's LedgerTableName)")
    add_json_option(number)
    number.set_defaults(handler=show_number)

    spend = commands.add_parser("spend", help="the month's counted SMS spend, parts and texts", parents=[where])
    spend.add_argument("--month", type=month, help="YYYY-MM (default: this UTC month)")
    spend.add_argument("--months", type=bounded(1, 24), default=1, help="this many months, back from --month (1)")
    spend.add_argument(
        "--budget", type=budget, help="compare with this budget in USD (default: the config's monthly_budget_usd)"
    )
    spend.add_argument("--config", metavar="FILE", help="the config to read the budget from (default: ./cdk.json)")
    spend.add_argument("--table", help="the ledger table (default: the stack's LedgerTableName)")
    add_json_option(spend)
    spend.set_defaults(handler=show_spend)


# -- the commands ---------------------------------------------------------------------------------------
def show_message(args: argparse.Namespace, aws: Aws, out: TextIO) -> int:
    from two_way_sms.adapters.ledger import MessageLedger

    item = MessageLedger(aws.table(args.table, "LedgerTableName"), retention_days=1).get(args.id)
    if item is None:
        raise InvalidInput(f"message {args.id} is not in the ledger (expired, or not sent by this stack)")
    emit(out, args, plain(item), _message_lines(item))
    return 0


def show_number(args: argparse.Namespace, aws: Aws, out: TextIO) -> int:
    table = aws.table(args.table, "LedgerTableName")
    items: list[dict[str, Any]] = []
    arguments: dict[str, Any] = {
        "IndexName": BY_DESTINATION_INDEX,
        "KeyConditionExpression": "destination_number = :n",
        "ExpressionAttributeValues": {":n": args.number},
        "ScanIndexForward": False,
    }
    while len(items) < args.limit:
        page = table.query(Limit=args.limit - len(items), **arguments)
        items += page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            break
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    lines = [f"{len(items)} text(s) to {args.number}, newest first"]
    for item in items:
        lines.append(
            f"  {item.get('requested_at', '?')}  {item['message_id']}  {item.get('status', '?')}"
            + (" (final)" if item.get("is_final") else "")
            + f"  {_parts(item)}  {_price(item)}"
            + (f"  context {_context(item)}" if item.get("context") else "")
        )
    emit(out, args, {"number": args.number, "texts": [plain(item) for item in items]}, lines)
    return 0


def show_spend(args: argparse.Namespace, aws: Aws, out: TextIO) -> int:
    from two_way_sms.adapters.ledger import SPEND_PREFIX

    limit, limit_source, note = args.budget, "--budget", None
    if limit is None and (args.config is not None or config_files.has_default()):
        try:
            config, limit_source = config_files.load(args.config)
        except InvalidInput as error:
            if args.config is not None:
                raise
            config, note = None, f"no budget shown: {error}"  # ./cdk.json was only a default
        budget_usd = config.monitoring.monthly_budget_usd if config is not None else None
        limit = Decimal(str(budget_usd)) if budget_usd is not None else None
    last = args.month or datetime.now(timezone.utc).strftime("%Y-%m")
    months = _months_back(last, args.months)
    table = aws.table(args.table, "LedgerTableName")
    rows = []
    for name in months:
        item = table.get_item(Key={"message_id": SPEND_PREFIX + name}, ConsistentRead=True).get("Item", {})
        rows.append(
            {
                "month": name,
                "spendUsd": Decimal(item.get("spend_usd", 0)),
                "parts": int(item.get("parts", 0)),
                "messages": int(item.get("messages", 0)),
            }
        )
    lines = []
    for row in rows:
        line = f"{row['month']}: {money(row['spendUsd'])} for {row['messages']} text(s), {row['parts']} part(s)"
        if limit is not None:
            line += f"; {row['spendUsd'] / limit * 100:.1f}% of the {money(limit)} budget"
        lines.append(line)
    lines.append(
        "counted when each text reaches its final status (price + carrier fee), so the latest texts are not in yet"
    )
    if note:
        lines.append(note)
    data = {"budgetUsd": limit, "budgetSource": limit_source if limit is not None else None, "months": rows}
    emit(out, args, data, lines)
    return 0


# -- formatting -----------------------------------------------------------------------------------------
def _message_lines(item: dict[str, Any]) -> list[str]:
    lines = [
        f"message {item['message_id']}: {item.get('status', '?')}" + (" (final)" if item.get("is_final") else ""),
        f"  to {item.get('destination_number', '?')} from {item.get('origination_number', '?')}"
        f"  {item.get('message_type', '')}"
        + (f", sent by the {item['sent_by']} function" if "sent_by" in item else ""),
        f"  requested {item.get('requested_at', '-')}, sent {item.get('sent_at', '-')}, "
        f"last report {item.get('reported_at', '-')}",
        f"  {_parts(item)}, {_price(item)}",
    ]
    if item.get("status_description"):
        lines.append(f"  {item['status_description']}")
    if item.get("iso_country_code") or item.get("carrier_name"):
        lines.append(f"  country {item.get('iso_country_code', '?')}, carrier {item.get('carrier_name', '?')}")
    if item.get("context"):
        lines.append(f"  context {_context(item)}")
    lines.append("  history:")
    lines += [f"    {entry}" for entry in sorted(item.get("history", ()))]
    return lines


def _parts(item: dict[str, Any]) -> str:
    if "parts" in item:
        return f"{int(item['parts'])} part(s)"
    if "estimated_parts" in item:
        return f"{int(item['estimated_parts'])} part(s) (estimated)"
    return "parts unknown"


def _price(item: dict[str, Any]) -> str:
    if "price_usd" not in item:
        return "price not reported yet"
    fee = Decimal(item.get("carrier_fee_usd", 0))
    return f"{money(item['price_usd'])} + carrier fee {money(fee)}"


def _context(item: dict[str, Any]) -> str:
    return ", ".join(f"{name}={value}" for name, value in sorted(item["context"].items()))


def _months_back(last: str, count: int) -> list[str]:
    year, number = (int(part) for part in last.split("-"))
    found = []
    for _ in range(count):
        found.append(f"{year:04d}-{number:02d}")
        year, number = (year, number - 1) if number > 1 else (year - 1, 12)
    return list(reversed(found))
