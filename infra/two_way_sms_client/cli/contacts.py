"""``contacts import``: a contacts CSV (opt-in proof, attributes) into the contacts table."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from two_way_sms_client.cli.common import Aws, read_text


def register(commands: Any, where: argparse.ArgumentParser) -> None:
    contacts = commands.add_parser("contacts", help="manage contacts")
    sub = contacts.add_subparsers(dest="contacts_command", required=True, parser_class=type(contacts))
    importer = sub.add_parser("import", help="import a contacts CSV (opt-in proof, attributes)", parents=[where])
    importer.add_argument("file", help="phone_number, opt_in_source, opt_in_at and attribute columns")
    importer.add_argument("--table", help="the contacts table (default: the stack's)")
    importer.set_defaults(handler=import_contacts)


def import_contacts(args: argparse.Namespace, aws: Aws, out: TextIO) -> int:
    from two_way_sms_client.client import ContactsImporter

    text = read_text(args.file)
    summary = ContactsImporter(aws.table(args.table, "ContactsTableName")).import_csv(text.splitlines(keepends=True))
    print(
        f"imported {summary.imported} contact(s); {summary.without_opt_in} without opt-in (no promotional texts); "
        f"{summary.new_opt_ins} new opt-in(s) recorded; {len(summary.rejected)} row(s) rejected",
        file=out,
    )
    for row, reason in summary.rejected:
        print(f"  rejected {reason}" if reason.startswith("row ") else f"  rejected row {row}: {reason}", file=out)
    return 0
