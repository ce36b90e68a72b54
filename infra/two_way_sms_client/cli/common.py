"""What every command shares: where things are (the stack's outputs), checks of input, and output.

Every check here runs before any AWS call and raises :class:`InvalidInput` (exit code 2, one
line). Nothing here imports boto3: ``config`` commands and ``--help`` stay fast.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn, TextIO

from two_way_sms.instants import parse_instant
from two_way_sms.phone import InvalidPhoneNumber, mask, to_e164

QUEUE_URL_VARIABLE = "TWO_WAY_SMS_OUTBOUND_QUEUE_URL"
STACK_VARIABLE = "TWO_WAY_SMS_STACK"
SMS_SERVICE = "pinpoint-sms-voice-v2"

Handler = Callable[[argparse.Namespace, "Aws", TextIO], int]


class InvalidInput(ValueError):
    """A command line that cannot be carried out as given (exit code 2)."""


class AwsFailure(RuntimeError):
    """AWS did part of the work and refused the rest (exit code 1, one line)."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit code 2), not the whole usage text."""

    def error(self, message: str) -> NoReturn:
        raise InvalidInput(f"{self.prog}: {message}")


class Aws:
    """boto3 clients for one region, and the stack's outputs (read once, only when an option is missing)."""

    def __init__(self, region: str | None, stack: str | None, session: Callable[..., Any] | None = None) -> None:
        self._region, self._stack = region, stack
        self._session_factory = session
        self._session: Any = None
        self._outputs: dict[str, str] | None = None
        self._caller: dict[str, str] | None = None

    def _boto(self) -> Any:
        if self._session is None:
            if self._session_factory is None:
                import boto3

                self._session_factory = boto3.Session
            self._session = self._session_factory(region_name=self._region) if self._region else self._session_factory()
        return self._session

    def client(self, name: str) -> Any:
        return self._boto().client(name)

    def resource(self, name: str) -> Any:
        return self._boto().resource(name)

    def table(self, option: str | None, output: str) -> Any:
        """A DynamoDB Table resource: the option's name, else the stack's output."""
        return self.resource("dynamodb").Table(option or self.output(output))

    def output(self, name: str) -> str:
        if not self._stack:
            raise InvalidInput(f"say where {name} is: pass its option or --stack NAME (or set ${STACK_VARIABLE})")
        outputs = self.outputs()
        if name not in outputs:
            raise InvalidInput(f"stack {self._stack} has no output {name}")
        return outputs[name]

    def outputs(self) -> dict[str, str]:
        if not self._stack:
            raise InvalidInput(f"this command reads the stack's outputs: pass --stack NAME (or set ${STACK_VARIABLE})")
        if self._outputs is None:
            stacks = self.client("cloudformation").describe_stacks(StackName=self._stack)["Stacks"]
            self._outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
        return self._outputs

    def caller(self) -> dict[str, str]:
        """Who runs the command (STS GetCallerIdentity): ``Arn`` and ``Account``."""
        if self._caller is None:
            identity = self.client("sts").get_caller_identity()
            self._caller = {"Arn": str(identity["Arn"]), "Account": str(identity["Account"])}
        return self._caller

    def queue_url(self, value: str) -> str:
        """A queue's URL from its URL or its ARN (``ScheduleDeadLetterQueueArn`` is an ARN)."""
        if not value.startswith("arn:"):
            return value
        *_, account, name = value.split(":")
        return str(self.client("sqs").get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])


# -- checks (argparse ``type=`` functions raise ArgumentTypeError: one line, exit code 2) --------------
def e164(text: str) -> str:
    """A phone number that is E.164 as given (``+14255550182``)."""
    try:
        number = to_e164(text)
    except InvalidPhoneNumber as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if number != text:
        raise argparse.ArgumentTypeError(f"{mask(text)} is not E.164: write it as {mask(number)}")
    return number


def pattern(regex: str, what: str) -> Callable[[str], str]:
    """An argparse type accepting text that fully matches ``regex`` (``what`` names the shape)."""
    compiled = re.compile(regex)

    def check(text: str) -> str:
        if not compiled.fullmatch(text):
            raise argparse.ArgumentTypeError(f"{text[:70]!r} is not {what}")
        return text

    return check


def bounded(low: int, high: int) -> Callable[[str], int]:
    def check(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    return check


def one_line_text(limit: int) -> Callable[[str], str]:
    def check(text: str) -> str:
        if not text.strip() or len(text) > limit or "\n" in text or "\r" in text:
            raise argparse.ArgumentTypeError(f"must be one line of 1-{limit} characters")
        return text.strip()

    return check


def pair(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name.strip():
        raise argparse.ArgumentTypeError(f"{text[:40]!r} must be NAME=VALUE")
    return name.strip(), value


def read_text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except (FileNotFoundError, NotADirectoryError):
        raise InvalidInput(f"file {path} does not exist") from None
    except IsADirectoryError:
        raise InvalidInput(f"{path} is a directory, not a file") from None
    except PermissionError:
        raise InvalidInput(f"file {path} cannot be read (permission denied)") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"file {path} is not UTF-8 text") from None


def read_json(path: str) -> Any:
    try:
        return json.loads(read_text(path))
    except ValueError as error:
        if isinstance(error, InvalidInput):
            raise
        raise InvalidInput(f"file {path} is not JSON ({one_line(error)})") from None


def instant(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_instant(text, option)
    except ValueError as error:
        raise InvalidInput(str(error)) from None


def one_line(error: object) -> str:
    text = getattr(error, "reason", None) or str(error)
    return " ".join(str(text).split())


# -- output -----------------------------------------------------------------------------------------
def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON for programs instead of text")


def emit(out: TextIO, args: argparse.Namespace, data: Any, lines: Iterable[str]) -> None:
    """``data`` as JSON with ``--json``, else the human-readable ``lines``."""
    if getattr(args, "json", False):
        print(json.dumps(data, indent=2, default=_json_default, ensure_ascii=False), file=out)
    else:
        for line in lines:
            print(line, file=out)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def epoch_ms_text(value: Any) -> str:
    """An SQS timestamp attribute (epoch milliseconds, as text) as ISO 8601 UTC."""
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=timezone.utc).isoformat(timespec="seconds")
    except (TypeError, ValueError):
        return "?"


_E164_LIKE = re.compile(r"\+\d{7,15}\b")
_BARE_NUMBER = re.compile(r"(?<![\w.-])\d{10,15}(?![\w.-])")


def mask_numbers(text: str) -> str:
    """``text`` with every phone-number-like run masked the way ``two_way_sms.phone.mask`` does."""
    text = _E164_LIKE.sub(lambda match: mask(match.group()), text)
    return _BARE_NUMBER.sub(lambda match: mask(match.group()), text)


def money(value: Any) -> str:
    """US dollars with at least cents and at most five decimals (``$0.00581``, ``$12.50``)."""
    if value is None:
        return "-"
    amount = Decimal(str(value))
    text = f"{amount:.5f}".rstrip("0")
    return "$" + (text if len(text.partition(".")[2]) >= 2 else f"{amount:.2f}")


def plain(item: Mapping[str, Any]) -> dict[str, Any]:
    """A DynamoDB item with Decimals and sets made JSON-friendly."""
    made: dict[str, Any] = json.loads(json.dumps(dict(item), default=_json_default))
    return made
