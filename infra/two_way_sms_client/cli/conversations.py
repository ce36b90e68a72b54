"""``conversations show NUMBER``: a customer's conversations (flows), open, closed and expired.

Read with the functions' own store (``two_way_sms.adapters.conversations.ConversationStore``).
Variables are shown by name only: their values are the business's data about the customer.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timezone
from typing import Any, TextIO

from two_way_sms_client.cli.common import Aws, add_json_option, e164, emit


def register(commands: Any, where: argparse.ArgumentParser) -> None:
    conversations = commands.add_parser("conversations", help="a customer's conversations (flows)")
    sub = conversations.add_subparsers(dest="conversations_command", required=True, parser_class=type(conversations))
    show = sub.add_parser("show", help="every conversation kept for a number, newest first", parents=[where])
    show.add_argument("number", type=e164, help="the customer's number, E.164 (+14255550182)")
    show.add_argument("--table", help="the conversations table (default: the stack's ConversationsTableName)")
    add_json_option(show)
    show.set_defaults(handler=show_conversations)


def show_conversations(args: argparse.Namespace, aws: Aws, out: TextIO) -> int:
    from two_way_sms.adapters.conversations import ConversationStore
    from two_way_sms.conversations.engine import OPEN

    stored = ConversationStore(aws.table(args.table, "ConversationsTableName")).for_number(args.number)
    stored.sort(key=lambda s: s.conversation.opened_at, reverse=True)
    now = time.time()
    rows: list[dict[str, Any]] = []
    for entry in stored:
        c = entry.conversation
        rows.append(
            {
                "conversationId": c.conversation_id,
                "flow": c.flow,
                "step": c.step,
                "status": "EXPIRED" if c.status == OPEN and now >= c.expires_at else c.status,
                "openedAt": _time(c.opened_at),
                "expiresAt": _time(c.expires_at),
                "reference": c.reference,
                "variables": sorted(c.variables),
                "slots": len(c.slots),
                "chosenSlot": c.chosen_slot,
                "takesCode": c.takes_code,
                "wrongCodes": c.wrong_codes,
                "prompts": list(c.prompt_message_ids),
                "lastTurn": entry.last_turn.inbound_message_id if entry.last_turn else None,
                "version": entry.version,
            }
        )
    lines = [f"{len(rows)} conversation(s) with {args.number}, newest first"]
    for row in rows:
        lines.append(f"  {row['conversationId']}  flow {row['flow']}  step {row['step']}  {row['status']}")
        lines.append(
            f"    opened {row['openedAt']}, expires {row['expiresAt']}"
            + (f", reference {row['reference']}" if row["reference"] else "")
        )
        details = []
        if row["variables"]:
            details.append(f"variables {', '.join(row['variables'])}")
        if row["slots"]:
            chosen = f", chose {row['chosenSlot']}" if row["chosenSlot"] else ""
            details.append(f"{row['slots']} slot(s) offered{chosen}")
        if row["takesCode"]:
            details.append(f"takes a code ({row['wrongCodes']} wrong so far)")
        if row["lastTurn"]:
            details.append(f"last answer {row['lastTurn']}")
        if details:
            lines.append("    " + "; ".join(details))
    emit(out, args, {"number": args.number, "conversations": rows}, lines)
    return 0


def _time(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, tz=timezone.utc).isoformat(timespec="seconds")
