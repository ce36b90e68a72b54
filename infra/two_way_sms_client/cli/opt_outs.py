"""``opt-outs``: the number's End User Messaging opt-out list and the consent history behind it.

- ``list``: every number on the opt-out list (``DescribeOptedOutNumbers``, every page), with the
  contacts table's state beside it;
- ``check NUMBER``: the state in the table and on the list, and the whole consent history
  (time, change, source, the proof's message id);
- ``add NUMBER``: an operator's opt-out: recorded as a proof (source ``OPERATOR``, who: the
  caller's identity from STS, when, ``--note``), then the number goes on the list;
- ``remove NUMBER``: refused (exit code 2) unless the history holds the customer's own opt-in
  (a text of theirs: source ``INBOUND``, such as START) later than the latest opt-out; then the
  removal is recorded the same way and the number leaves the list.

Consent is recorded through the functions' own adapter (``ContactsTable.record_consent``): the
same proof items, the same ordering by time and message id, so the command and the functions
cannot disagree. The operator's identity and note are added to the proof item it wrote.
"""

from __future__ import annotations

import argparse
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any, TextIO

from two_way_sms_client.cli.common import (
    SMS_SERVICE,
    Aws,
    InvalidInput,
    add_json_option,
    e164,
    emit,
    one_line_text,
)

OPERATOR_SOURCE = "OPERATOR"
CUSTOMER_SOURCE = "INBOUND"  # the customer's own text (START, an opt-in keyword), as the inbound function records it
OPTED_OUT, OPTED_IN = "OPTED_OUT", "OPTED_IN"  # two_way_sms.responder.ConsentChange values
CONSENT_PREFIX = "CONSENT#"  # the proof items' sort key: CONSENT#<message id>#<change> (adapters.contacts)
MAX_NOTE_CHARACTERS = 500


def register(commands: Any, where: argparse.ArgumentParser) -> None:
    opt_outs = commands.add_parser("opt-outs", help="the opt-out list and each number's consent history")
    sub = opt_outs.add_subparsers(dest="opt_outs_command", required=True, parser_class=type(opt_outs))

    def command(name: str, help_text: str, handler: Any, *, number: bool = True, json_option: bool = False) -> Any:
        parser = sub.add_parser(name, help=help_text, parents=[where])
        if number:
            parser.add_argument("number", type=e164, help="the customer's number, E.164 (+14255550182)")
        parser.add_argument("--table", help="the contacts table (default: the stack's ContactsTableName)")
        parser.add_argument("--opt-out-list", help="the opt-out list (default: the stack's OptOutListName)")
        if json_option:
            add_json_option(parser)
        parser.set_defaults(handler=handler)
        return parser

    command(
        "list",
        "every number on the opt-out list, with the table's state",
        list_opt_outs,
        number=False,
        json_option=True,
    )
    command("check", "a number's state and its whole consent history", check_number, json_option=True)
    add = command("add", "opt a number out for the customer (recorded with who and when)", add_opt_out)
    add.add_argument("--note", type=one_line_text(MAX_NOTE_CHARACTERS), help="why (kept with the proof)")
    remove = command("remove", "take a number off the list: needs the customer's own later opt-in", remove_opt_out)
    remove.add_argument("--note", type=one_line_text(MAX_NOTE_CHARACTERS), help="why (kept with the proof)")


@dataclass(frozen=True)
class Proof:
    """One consent change on record (a ``CONSENT#`` item of the contacts table)."""

    at: str
    change: str
    source: str
    message_id: str
    keyword: str = ""
    our_number: str = ""
    operator: str = ""
    note: str = ""

    @property
    def order(self) -> tuple[str, str]:
        # As the table orders changes: by the time of the customer's message, ties by message id.
        return (self.at, self.message_id)


def consent_history(table: Any, number: str) -> tuple[dict[str, Any] | None, list[Proof]]:
    """The number's PROFILE item and its consent proofs, oldest first (every page, consistent reads)."""
    profile = table.get_item(Key={"phone_number": number, "record": "PROFILE"}, ConsistentRead=True).get("Item")
    arguments: dict[str, Any] = {
        "KeyConditionExpression": "phone_number = :n AND begins_with(#r, :p)",
        "ExpressionAttributeNames": {"#r": "record"},
        "ExpressionAttributeValues": {":n": number, ":p": CONSENT_PREFIX},
        "ConsistentRead": True,
    }
    proofs: list[Proof] = []
    while True:
        page = table.query(**arguments)
        proofs += [
            Proof(
                at=str(item.get("at", "")),
                change=str(item.get("change", "")),
                source=str(item.get("source", "")),
                message_id=str(item.get("message_id", "")),
                keyword=str(item.get("keyword", "")),
                our_number=str(item.get("our_number", "")),
                operator=str(item.get("operator", "")),
                note=str(item.get("note", "")),
            )
            for item in page.get("Items", [])
        ]
        if "LastEvaluatedKey" not in page:
            return profile, sorted(proofs, key=lambda proof: proof.order)
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def removal_refusal(proofs: list[Proof]) -> str | None:
    """Why the number may not leave the opt-out list (None: the customer opted in again themselves)."""
    opt_outs = [proof for proof in proofs if proof.change == OPTED_OUT]
    latest = max(opt_outs, key=lambda proof: proof.order) if opt_outs else None
    own = [
        proof
        for proof in proofs
        if proof.change == OPTED_IN
        and proof.source == CUSTOMER_SOURCE
        and (latest is None or proof.order > latest.order)
    ]
    if own:
        return None
    if latest is None:
        return "refused: the consent history holds no opt-in of the customer's own (a START text): only they can opt in"
    return (
        f"refused: the latest opt-out ({latest.at}, {latest.source}, proof {latest.message_id}) has no later opt-in "
        "of the customer's own (a START text): only they can opt back in"
    )


# -- the commands ---------------------------------------------------------------------------------------
def list_opt_outs(args: argparse.Namespace, aws: Aws, out: TextIO) -> int:
    from two_way_sms.adapters.contacts import ContactsTable

    list_name = args.opt_out_list or aws.output("OptOutListName")
    contacts = ContactsTable(aws.table(args.table, "ContactsTableName"))
    sms = aws.client(SMS_SERVICE)
    listed: list[dict[str, Any]] = []
    arguments: dict[str, Any] = {"OptOutListName": list_name, "MaxResults": 100}
    while True:
        page = sms.describe_opted_out_numbers(**arguments)
        listed += page.get("OptedOutNumbers", [])
        if not page.get("NextToken"):
            break
        arguments["NextToken"] = page["NextToken"]
    states = contacts.contact_states(entry["OptedOutNumber"] for entry in listed) if listed else {}
    rows = [
        {
            "number": entry["OptedOutNumber"],
            "since": entry["OptedOutTimestamp"].isoformat(timespec="seconds"),
            "byCustomer": bool(entry["EndUserOptedOut"]),
            "tableOptedOut": states[entry["OptedOutNumber"]].opted_out,
        }
        for entry in listed
    ]
    lines = [f"{len(rows)} number(s) on opt-out list {list_name}"]
    lines += [
        f"  {row['number']}  since {row['since']}  {'by the customer' if row['byCustomer'] else 'by the API'}"
        f"  table: {'opted out' if row['tableOptedOut'] else 'NOT opted out'}"
        for row in rows
    ]
    emit(out, args, {"optOutList": list_name, "numbers": rows}, lines)
    return 0


def check_number(args: argparse.Namespace, aws: Aws, out: TextIO) -> int:
    list_name = args.opt_out_list or aws.output("OptOutListName")
    profile, proofs = consent_history(aws.table(args.table, "ContactsTableName"), args.number)
    listed = _listed(aws.client(SMS_SERVICE), list_name, args.number)
    if profile is None or "opted_out" not in profile:
        state = "no consent change on record"
    else:
        state = "opted out" if profile.get("opted_out") else "opted in"
        state += f" since {profile.get('consent_changed_at', '?')} (proof {profile.get('consent_message_id', '?')})"
    on_list = (
        f"on opt-out list {list_name} since {listed['OptedOutTimestamp'].isoformat(timespec='seconds')}"
        f" ({'by the customer' if listed['EndUserOptedOut'] else 'by the API'})"
        if listed
        else f"not on opt-out list {list_name}"
    )
    lines = [f"{args.number}: {state}", f"  {on_list}"]
    if profile is not None and bool(profile.get("opted_out")) != bool(listed):
        lines.append("  note: the table and the list disagree")
    if profile is not None and profile.get("opt_in_at"):
        lines.append(f"  first opt-in on record: {profile['opt_in_at']} ({profile.get('opt_in_source', '?')})")
    lines.append(f"history ({len(proofs)} change(s), oldest first):")
    lines += [_history_line(proof) for proof in proofs]
    data = {
        "number": args.number,
        "optedOut": bool(profile and profile.get("opted_out")),
        "consentChangedAt": (profile or {}).get("consent_changed_at"),
        "optOutList": list_name,
        "onOptOutList": bool(listed),
        "history": [asdict(proof) for proof in proofs],
    }
    emit(out, args, data, lines)
    return 0


def add_opt_out(args: argparse.Namespace, aws: Aws, out: TextIO) -> int:
    from two_way_sms.adapters.sms import SmsGateway

    list_name = args.opt_out_list or aws.output("OptOutListName")
    table = aws.table(args.table, "ContactsTableName")
    proof = _record(table, args.number, OPTED_OUT, who=aws.caller()["Arn"], note=args.note)
    SmsGateway(aws.client(SMS_SERVICE), configuration_set="", opt_out_list=list_name).put_opted_out(args.number)
    print(f"{args.number}: opted out by {proof.operator} (proof {proof.message_id}, {proof.at})", file=out)
    print(f"  on opt-out list {list_name}", file=out)
    return 0


def remove_opt_out(args: argparse.Namespace, aws: Aws, out: TextIO) -> int:
    from two_way_sms.adapters.sms import SmsGateway

    list_name = args.opt_out_list or aws.output("OptOutListName")
    table = aws.table(args.table, "ContactsTableName")
    _, proofs = consent_history(table, args.number)
    refusal = removal_refusal(proofs)
    if refusal:
        raise InvalidInput(f"{args.number}: {refusal}")
    proof = _record(table, args.number, OPTED_IN, who=aws.caller()["Arn"], note=args.note)
    SmsGateway(aws.client(SMS_SERVICE), configuration_set="", opt_out_list=list_name).delete_opted_out(args.number)
    print(f"{args.number}: removal recorded by {proof.operator} (proof {proof.message_id}, {proof.at})", file=out)
    print(f"  off opt-out list {list_name}", file=out)
    return 0


def _listed(sms: Any, list_name: str, number: str) -> dict[str, Any] | None:
    """The number's entry on the opt-out list, or None."""
    from botocore.exceptions import ClientError

    try:
        entries = sms.describe_opted_out_numbers(OptOutListName=list_name, OptedOutNumbers=[number])
    except ClientError as error:  # the service may answer "not found" for a number it does not hold
        if error.response.get("ResourceType") != "opted-out-number":
            raise
        return None
    found: list[dict[str, Any]] = entries.get("OptedOutNumbers", [])
    return found[0] if found else None


def _record(table: Any, number: str, change: str, *, who: str, note: str | None) -> Proof:
    """An operator's consent change, through the functions' own recording, then who and why on its proof."""
    from two_way_sms.adapters.contacts import ContactsTable
    from two_way_sms.instants import iso_timestamp
    from two_way_sms.responder import ConsentChange

    at_ms = int(time.time() * 1000)
    message_id = f"operator-{uuid.uuid4()}"
    recorded = ContactsTable(table).record_consent(
        number=number,
        change=ConsentChange(change),
        at_ms=at_ms,
        message_id=message_id,
        keyword="",
        our_number="",
        source=OPERATOR_SOURCE,
    )
    names, values = {"#operator": "operator"}, {":who": who}
    expression = "SET #operator = :who"
    if note:
        names["#note"], values[":note"] = "note", note
        expression += ", #note = :note"
    table.update_item(  # OPERATOR is one of DynamoDB's reserved words: attribute names go by placeholder
        Key={"phone_number": number, "record": f"{CONSENT_PREFIX}{message_id}#{change}"},
        UpdateExpression=expression,
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
        ConditionExpression="attribute_exists(phone_number)",
    )
    if not recorded.current and ContactsTable(table).is_opted_out(number) != (change == OPTED_OUT):
        # A newer change (by its message time: a clock ahead of ours) stands, and it says otherwise.
        raise InvalidInput(f"{number}: a newer consent change stands; this one is kept as proof only")
    return Proof(iso_timestamp(at_ms), change, OPERATOR_SOURCE, message_id, operator=who, note=note or "")


def _history_line(proof: Proof) -> str:
    line = f"  {proof.at}  {proof.change:<9}  {proof.source:<14}  proof {proof.message_id}"
    if proof.keyword:
        line += f"  keyword {proof.keyword}"
    if proof.operator:
        line += f"  by {proof.operator}"
    if proof.note:
        line += f"  note: {proof.note}"
    return line
