"""The sandbox in a terminal: you are a customer texting the business number, and the business too.

A line of text is texted to the business number from the current customer's phone; the texts
that arrive (replies, End User Messaging's keyword answers) print with their encoding, parts
and cost, and delivery statuses print as they change. Commands start with ``/``::

    /as NUMBER                     become another customer (E.164, or a US number)
    /send TEMPLATE k=v ...         the business sends a template to the current customer
    /text BODY                     the business sends a free text
    /flow NAME [k=v ...] [SLOT ...] the business opens a conversation (quote what has spaces)
    /carrier deliver|fail|opted_out what the carrier does with the next texts to this customer
    /wait SECONDS                  move the sandbox clock on (holds release, statuses arrive)
    /state                         consent, conversations, outcomes, business events, dead letters
    /help, /quit

Everything goes through ``Sandbox``'s public methods, the ones the page uses.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from typing import Any, TextIO

from two_way_sms_local.sandbox.contract import Refused, SandboxApi, TextView

HELP = __doc__.split("::", 1)[1].rstrip() if __doc__ else ""


class Chat:
    def __init__(self, sandbox: SandboxApi, out: TextIO, customer: str | None = None) -> None:
        self.sandbox, self.out = sandbox, out
        description = sandbox.describe()
        self.business = description["business_number"]
        self.customer = customer or description["sample_customers"][0]
        self._shown: set[str] = set()  # message ids printed
        self._statuses: dict[str, str | None] = {}  # message id -> the last status printed
        self._catch_up(quiet=True)
        self.say(
            f"Texting {self.business} ({description['number_type']}, {description['mps']:g} MPS) "
            f"as {self.customer}. /help for commands."
        )

    # -- the loop ------------------------------------------------------------------------------------
    def run(self, lines: Iterable[str], *, prompt: bool = False) -> int:
        if prompt:
            self._prompt()
        for raw in lines:
            line = raw.strip()
            if not line:
                continue
            try:
                if not self.handle(line):
                    return 0
            except Refused as error:
                self.say(f"! {error}")
            if prompt:
                self._prompt()
        return 0

    def handle(self, line: str) -> bool:
        """Acts on one line; False to stop."""
        if not line.startswith("/"):
            self.sandbox.text_in(self.customer, line)
            self._catch_up()
            return True
        try:
            command, *args = shlex.split(line)
        except ValueError as error:
            raise Refused(f"cannot read the command: {error}") from None
        command = command.lower()
        if command in ("/quit", "/exit"):
            return False
        if command == "/help":
            self.say(HELP)
        elif command == "/as":
            self._need(args, 1, "/as NUMBER")
            self.customer = self._customer(args[0])
            self._catch_up(quiet=True)
            self.say(f"now texting as {self.customer}")
        elif command == "/send":
            self._need(args, 1, "/send TEMPLATE k=v ...")
            variables, rest = _split(args[1:])
            if rest:
                raise Refused(f"/send takes k=v pairs after the template, not {rest[0]!r}")
            key = self.sandbox.send(self.customer, template_id=args[0], variables=variables)
            self._outcome(key)
        elif command == "/text":
            self._need(args, 1, "/text BODY")
            key = self.sandbox.send(self.customer, body=line.split(None, 1)[1])
            self._outcome(key)
        elif command == "/flow":
            self._need(args, 1, "/flow NAME [k=v ...] [SLOT ...]")
            variables, slots = _split(args[1:])
            key = self.sandbox.send(self.customer, flow=args[0], variables=variables, slots=slots or None)
            self._outcome(key)
        elif command == "/carrier":
            self._need(args, 1, "/carrier deliver|fail|opted_out")
            self.sandbox.set_carrier(self.customer, args[0])  # type: ignore[arg-type]
            self.say(f"the carrier will {args[0].replace('_', ' ')} the next texts to {self.customer}")
        elif command == "/wait":
            self._need(args, 1, "/wait SECONDS")
            try:
                seconds = float(args[0])
            except ValueError:
                raise Refused(f"/wait takes seconds, not {args[0]!r}") from None
            self.sandbox.advance(seconds)
            self._catch_up()
            self.say(f"(clock: {self.sandbox.state()['now']})")
        elif command == "/state":
            self._state()
        else:
            raise Refused(f"unknown command {command}: /help lists them")
        return True

    # -- printing ------------------------------------------------------------------------------------
    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def _prompt(self) -> None:
        print(f"{self.customer}> ", end="", file=self.out, flush=True)

    def _catch_up(self, *, quiet: bool = False) -> None:
        """Prints the texts that arrived, and the status changes of texts already shown, for every customer."""
        state = self.sandbox.state(self.customer)
        for number, customer in state["customers"].items():
            for text in customer["texts"]:
                message_id = text["message_id"] or ""
                if message_id not in self._shown:
                    self._shown.add(message_id)
                    self._statuses[message_id] = text["status"]
                    if not quiet and text["direction"] == "out":
                        self.say(self._arrived(number, text))
                elif text["direction"] == "out" and text["status"] != self._statuses.get(message_id):
                    self._statuses[message_id] = text["status"]
                    if not quiet:
                        who = "" if number == self.customer else f" to {number}"
                        self.say(f"   ({text['body'][:30]}...{who}: {text['status']})")

    def _arrived(self, number: str, text: TextView) -> str:
        to = "" if number == self.customer else f" [to {number}]"
        price = text["price_usd"] or "-"
        estimate = "~" if text["price_estimated"] else ""
        status = f", {text['status']}" if text["status"] else ""
        return (
            f"< {text['body']}{to}\n"
            f"   ({text['sent_by']}: {text['encoding']}, {text['parts']} part(s), {estimate}${price}{status})"
        )

    def _outcome(self, key: str) -> None:
        self._catch_up()
        for outcome in self.sandbox.state()["outbound"]:
            if outcome["key"] == key:
                if outcome["status"] != "SENT":
                    release = f", released at {outcome['release_at']}" if outcome["release_at"] else ""
                    self.say(f"   request {outcome['status']}: {outcome['reason'] or '-'}{release}")
                return
        self.say("   request queued")

    def _state(self) -> None:
        state = self.sandbox.state(self.customer)
        me = state["customers"][self.customer]
        consent = me["consent"]
        self.say(f"clock {state['now']} (x{state['speed']:g})")
        self.say(
            f"{self.customer}: {'opted out' if consent['opted_out'] else 'not opted out'}"
            f"{', on the opt-out list' if consent['on_opt_out_list'] else ''}; carrier: {me['carrier']}"
        )
        for proof in consent["proofs"]:
            self.say(
                f"  proof {proof['change']} at {proof['at']} ({proof['source']}, {proof['detail'].get('keyword', '')})"
            )
        for conversation in me["conversations"]:
            self.say(f"  conversation {conversation['flow']} at step {conversation['step']}: {conversation['status']}")
        for outcome in state["outbound"][:5]:
            reason = outcome["reason"] or ""
            self.say(f"  request {outcome['key'][:24]} to {outcome['destination']}: {outcome['status']} {reason}")
        for event in state["bus_events"][:5]:
            self.say(f"  bus {event['at']} {event['detail_type']}")
        for run in state["campaigns"]:
            self.say(f"  campaign {run['campaign_id']} {run['status']}: {run['counts']}")
        for label, parked in state["dead_letters"].items():
            for letter in parked:
                self.say(f"  dead letter [{label}] {letter['reason']} ({letter['source']})")

    # -- input -------------------------------------------------------------------------------------------
    @staticmethod
    def _customer(text: str) -> str:
        from two_way_sms.phone import InvalidPhoneNumber, to_e164

        try:
            return to_e164(text)
        except InvalidPhoneNumber as error:
            raise Refused(f"{text!r} is not a phone number: {error}") from None

    @staticmethod
    def _need(args: list[str], count: int, usage: str) -> None:
        if len(args) < count:
            raise Refused(f"usage: {usage}")


def _split(tokens: list[str]) -> tuple[dict[str, str], list[str]]:
    """``k=v`` tokens as variables, the others as they are (slots)."""
    variables, rest = {}, []
    for token in tokens:
        name, equals, value = token.partition("=")
        if equals and name.isidentifier():
            variables[name] = value
        else:
            rest.append(token)
    return variables, rest


def main(args: Any) -> int:
    """``python -m two_way_sms_local.sandbox chat``: builds the sandbox, then reads lines from stdin."""
    import sys

    from two_way_sms_local.sandbox.engine import Sandbox

    options: dict[str, Any] = {}
    if getattr(args, "start", None):
        from datetime import datetime

        options["start"] = datetime.fromisoformat(args.start.replace("Z", "+00:00"))
    print("Synthesizing the stack and starting the sandbox...", file=sys.stderr, flush=True)
    with Sandbox.from_config(args.config, **options) as sandbox:
        chat = Chat(sandbox, sys.stdout, customer=getattr(args, "customer", None))
        return chat.run(sys.stdin, prompt=sys.stdin.isatty())
