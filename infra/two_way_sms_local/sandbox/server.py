"""The sandbox's page on localhost: static files from ``page/`` and one JSON route per ``SandboxApi`` method.

``make sandbox`` (``python -m two_way_sms_local.sandbox serve``) builds the emulated stack and
calls ``main``. The page only feeds the stack events and shows its state: every route maps
to one method of ``contract.SandboxApi`` and returns its JSON.

- GET ``/`` and ``/<file>``: the page (package data, read with ``importlib.resources``);
- GET ``/api/describe``, ``/api/state?customer=+1...``;
- POST ``/api/text`` {customer, body}, ``/api/send`` {to, template_id?, variables?, body?,
  message_type?, flow?, slots?}, ``/api/campaign`` {csv, template_id, local_time?},
  ``/api/carrier`` {customer, outcome}, ``/api/advance`` {seconds} or {until_local: "08:00",
  customer}, ``/api/speed`` {speed}.

``Refused`` (a bad input) answers 400 with its one line; anything else 500 with one line
(the traceback goes to the terminal) and the server keeps running. The engine is not
thread-safe: one lock around every call into it. A ticker thread moves the sandbox's clock
by speed x elapsed real time every half second while the speed is above 0.

It listens on 127.0.0.1 only, answers only requests addressed to it by that name (no DNS
rebinding) and takes POSTs only as ``application/json`` (no cross-site form posts).
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from two_way_sms.phone import InvalidPhoneNumber, to_e164
from two_way_sms.quiet_hours import locate
from two_way_sms_local.sandbox.contract import Refused, SandboxApi

HOST = "127.0.0.1"
DEFAULT_PORT = 8642
TICK_SECONDS = 0.5
# A stall longer than this (a laptop asleep) does not jump the sandbox's clock by days.
MAX_TICK_SECONDS = 5.0
MAX_BODY_BYTES = 1_000_000
PAGE = "page"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
STATIC_NAME = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9]+)$")
LOCAL_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class BadRequest(Exception):
    """A request the server cannot map to a call (bad JSON, a missing field): 400 with one line."""


class NoRoute(Exception):
    """A path the server has no route for: 404."""


class SandboxServer:
    """The HTTP server, the lock around the sandbox and the clock's ticker."""

    def __init__(
        self,
        sandbox: SandboxApi,
        *,
        host: str = HOST,
        port: int = DEFAULT_PORT,
        speed: float = 1.0,
        tick_seconds: float = TICK_SECONDS,
    ) -> None:
        self.sandbox = sandbox
        self.lock = threading.Lock()
        self._speed = float(speed)
        self._tick_seconds = tick_seconds
        self._stopped = threading.Event()
        self._ticker: threading.Thread | None = None
        self._serving: threading.Thread | None = None
        self.set_speed(self._speed)
        self.httpd = ThreadingHTTPServer((host, port), _handler_class(self))
        self.httpd.daemon_threads = True

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    @property
    def speed(self) -> float:
        return self._speed

    def call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """One call into the sandbox, holding the lock."""
        with self.lock:
            return method(*args, **kwargs)

    def set_speed(self, speed: float) -> None:
        """0 pauses the ticker (the engine keeps its last running speed); above 0 the engine is told too."""
        with self.lock:
            if speed > 0:
                self.sandbox.set_speed(speed)
            self._speed = speed

    # -- running ---------------------------------------------------------------------------
    def start(self) -> SandboxServer:
        """Serves and ticks in background threads (the tests); ``serve_forever`` blocks instead."""
        self._start_ticker()
        self._serving = threading.Thread(target=self.httpd.serve_forever, name="sandbox-http", daemon=True)
        self._serving.start()
        return self

    def serve_forever(self) -> None:
        self._start_ticker()
        try:
            self.httpd.serve_forever()
        finally:
            self.close()

    def close(self) -> None:
        self._stopped.set()
        if self._serving is not None:
            self.httpd.shutdown()
            self._serving.join()
            self._serving = None
        self.httpd.server_close()
        if self._ticker is not None:
            self._ticker.join()
            self._ticker = None

    def _start_ticker(self) -> None:
        if self._ticker is None:
            self._ticker = threading.Thread(target=self._tick, name="sandbox-clock", daemon=True)
            self._ticker.start()

    def _tick(self) -> None:
        last = time.monotonic()
        while not self._stopped.wait(self._tick_seconds):
            now = time.monotonic()
            elapsed, last = min(now - last, MAX_TICK_SECONDS), now
            try:
                with self.lock:
                    if self._speed > 0:
                        self.sandbox.advance(self._speed * elapsed)
            except Exception as error:  # the clock keeps ticking; the terminal shows why one tick failed
                _log(f"clock tick failed: {_one_line(error)}")
                traceback.print_exc(file=sys.stderr)

    # -- routes ----------------------------------------------------------------------------
    def get(self, path: str, query: Mapping[str, list[str]]) -> Any:
        if path == "/api/describe":
            return self.call(self.sandbox.describe)
        if path == "/api/state":
            customer = _first(query, "customer")
            state = dict(self.call(self.sandbox.state, customer))
            state["speed"] = self._speed
            if customer:
                number = _e164(customer)
                state["selected"] = {"number": number, "zones": _zones(number)}
            return state
        raise NoRoute(path)

    def post(self, path: str, body: Mapping[str, Any]) -> Any:
        sandbox = self.sandbox
        if path == "/api/text":
            return {"message_id": self.call(sandbox.text_in, _text(body, "customer"), _text(body, "body"))}
        if path == "/api/send":
            options = {
                "template_id": _optional_text(body, "template_id"),
                "variables": _optional_strings(body, "variables"),
                "body": _optional_text(body, "body"),
                "message_type": _optional_text(body, "message_type"),
                "flow": _optional_text(body, "flow"),
                "slots": _optional_list(body, "slots"),
            }
            given = {name: value for name, value in options.items() if value is not None}
            return {"key": self.call(sandbox.send, _text(body, "to"), **given)}
        if path == "/api/campaign":
            campaign_id = self.call(
                sandbox.start_campaign,
                _text(body, "csv"),
                _text(body, "template_id"),
                local_time=_optional_text(body, "local_time"),
            )
            return {"campaign_id": campaign_id}
        if path == "/api/carrier":
            outcome = _text(body, "outcome")
            if outcome not in ("deliver", "fail", "opted_out"):
                raise BadRequest(f"outcome {outcome!r} is not one of deliver, fail, opted_out")
            self.call(sandbox.set_carrier, _text(body, "customer"), outcome)
            return {"customer": body["customer"], "outcome": outcome}
        if path == "/api/advance":
            return self._advance(body)
        if path == "/api/speed":
            speed = _number(body, "speed")
            if speed < 0:
                raise BadRequest(f"speed {speed} must be 0 (paused) or more")
            self.set_speed(speed)
            return {"speed": speed}
        raise NoRoute(path)

    def _advance(self, body: Mapping[str, Any]) -> Any:
        with self.lock:
            if "until_local" in body:
                now = datetime.fromisoformat(self.sandbox.state()["now"].replace("Z", "+00:00"))
                seconds = _seconds_until_local(now, _text(body, "until_local"), _text(body, "customer"))
            else:
                seconds = _number(body, "seconds")
                if seconds < 0:
                    raise BadRequest(f"seconds {seconds} must not be negative: the clock only moves forward")
            self.sandbox.advance(seconds)
        return {"advanced_seconds": seconds}


def _seconds_until_local(now: datetime, local_time: str, customer: str) -> float:
    """Seconds from ``now`` to the next ``HH:MM`` in every one of the customer's time zones (UTC if unknown)."""
    match = LOCAL_TIME.match(local_time)
    if match is None:
        raise BadRequest(f"until_local {local_time!r} is not a time like 08:00")
    hour, minute = int(match.group(1)), int(match.group(2))
    zones = _zones(customer) or ["UTC"]
    moments = []
    for name in zones:
        local = now.astimezone(ZoneInfo(name))
        target = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if target <= local:
            target = (local + timedelta(days=1)).replace(hour=hour, minute=minute, second=0, microsecond=0)
        moments.append(target.astimezone(timezone.utc))
    return (max(moments) - now).total_seconds()


def _e164(number: str) -> str:
    """The number as the engine keys it (``two_way_sms.phone``), so the page finds it in ``customers``."""
    try:
        return to_e164(number)
    except InvalidPhoneNumber:
        return number


def _zones(number: str) -> list[str]:
    """The customer's time zones, as the sender's quiet hours read them (empty when unknown)."""
    try:
        return list(locate(number).zones)
    except Exception:  # not a number the sender could locate: the page shows UTC only
        return []


# -- request values -------------------------------------------------------------------------
def _first(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0].strip() or None if values else None


def _text(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{name} is missing")
    return value.strip() if name != "body" and name != "csv" else value


def _optional_text(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string, not {value!r}")
    return value


def _optional_strings(body: Mapping[str, Any], name: str) -> dict[str, str] | None:
    value = body.get(name)
    if not value:
        return None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise BadRequest(f"{name} must map names to strings, not {value!r}")
    return {str(k): v for k, v in value.items()}


def _optional_list(body: Mapping[str, Any], name: str) -> list[str] | None:
    value = body.get(name)
    if not value:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest(f"{name} must be a list of strings, not {value!r}")
    return [v.strip() for v in value if v.strip()] or None


def _number(body: Mapping[str, Any], name: str) -> float:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(f"{name} must be a number, not {value!r}")
    return float(value)


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _log(line: str) -> None:
    print(f"[sandbox] {line}", file=sys.stderr, flush=True)


# -- HTTP -----------------------------------------------------------------------------------
def _handler_class(server: SandboxServer) -> type[BaseHTTPRequestHandler]:
    page = resources.files("two_way_sms_local.sandbox").joinpath(PAGE)

    class Handler(BaseHTTPRequestHandler):
        server_version = "TwoWaySmsSandbox"
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if not self._addressed_to_us():
                return
            url = urlsplit(self.path)
            if url.path.startswith("/api/"):
                self._api(lambda: server.get(url.path, parse_qs(url.query)))
                return
            self._static(url.path)

        def do_POST(self) -> None:  # noqa: N802
            if not self._addressed_to_us():
                return
            url = urlsplit(self.path)
            self._api(lambda: server.post(url.path, self._json_body()))

        def _api(self, answer: Callable[[], Any]) -> None:
            try:
                self._send_json(HTTPStatus.OK, answer())
            except (Refused, BadRequest) as error:
                self._send_json(HTTPStatus.BAD_REQUEST, {"error": " ".join(str(error).split())})
            except NoRoute as error:
                self._send_json(HTTPStatus.NOT_FOUND, {"error": f"no route {self.command} {error}"})
            except Exception as error:
                self._failed(error)

        def _failed(self, error: Exception) -> None:
            _log(f"{self.command} {self.path} failed: {_one_line(error)}")
            traceback.print_exc(file=sys.stderr)
            self._send_json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": _one_line(error)})

        def _json_body(self) -> Mapping[str, Any]:
            if self.headers.get_content_type() != "application/json":
                raise BadRequest("send the request as application/json")
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                raise BadRequest(f"the request has {length} bytes; at most {MAX_BODY_BYTES}")
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError as error:
                raise BadRequest(f"the request is not JSON: {error}") from None
            if not isinstance(body, dict):
                raise BadRequest("the request must be a JSON object")
            return body

        def _static(self, path: str) -> None:
            name = "index.html" if path in ("/", "/index.html") else path.removeprefix("/")
            match = STATIC_NAME.match(name)
            resource = page.joinpath(name) if match else None
            if match is None or match.group(1) not in CONTENT_TYPES or resource is None or not resource.is_file():
                self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")
                return
            self._send(HTTPStatus.OK, resource.read_bytes(), CONTENT_TYPES[match.group(1)])

        def _send_json(self, status: HTTPStatus, value: Any) -> None:
            self._send(status, json.dumps(value, default=str).encode(), "application/json")

        def _send(self, status: HTTPStatus, payload: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            self.wfile.write(payload)

        def _addressed_to_us(self) -> bool:
            host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
            if host in (HOST, "localhost"):
                return True
            self._send(HTTPStatus.MISDIRECTED_REQUEST, b"open the sandbox at 127.0.0.1\n", "text/plain; charset=utf-8")
            return False

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's name)
            pass  # the page polls every second: the terminal shows failures only (_failed, _log)

    return Handler


# -- command --------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``serve``'s options (``__main__`` may add them to its own sub-command)."""
    parser.add_argument("--config", help="a config file instead of cdk.json's (as `-c configFile=`)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"the port on {HOST} (default {DEFAULT_PORT})")
    parser.add_argument("--speed", type=float, default=1.0, help="sandbox seconds per real second (1; 0 paused)")
    parser.add_argument("--start", help="the sandbox clock's first instant, ISO 8601 (default: now)")
    parser.add_argument("--open", action="store_true", help="print the page's address only (no browser is launched)")
    return parser


def main(args: argparse.Namespace | list[str] | None = None) -> int:
    """``python -m two_way_sms_local.sandbox serve [--config FILE] [--port N]``: builds the stack, serves the page."""
    if not isinstance(args, argparse.Namespace):
        args = add_arguments(argparse.ArgumentParser(prog="two_way_sms_local.sandbox serve")).parse_args(args)
    started = time.monotonic()
    from two_way_sms_local.sandbox.engine import Sandbox  # heavy (moto, the handlers): after the arguments

    options: dict[str, Any] = {}
    if getattr(args, "start", None):
        try:
            options["start"] = datetime.fromisoformat(args.start.replace("Z", "+00:00"))
        except ValueError:
            _log(f"--start {args.start!r} is not an ISO 8601 instant like 2026-03-06T17:00:00Z")
            return 2
        if options["start"].tzinfo is None:
            options["start"] = options["start"].replace(tzinfo=timezone.utc)
    sandbox = Sandbox.from_config(getattr(args, "config", None), **options)
    try:
        try:
            server = SandboxServer(
                sandbox, port=getattr(args, "port", None) or DEFAULT_PORT, speed=getattr(args, "speed", 1.0)
            )
        except OSError as error:
            _log(f"cannot listen on {HOST}:{getattr(args, 'port', DEFAULT_PORT)}: {error.strerror} (try --port)")
            return 1
        described = server.call(sandbox.describe)
        if getattr(args, "open", False):
            print(server.url, flush=True)
        else:
            print(
                f"Sandbox of {described['stack_name']} ({described['config_source']}), business number "
                f"{described['business_number']}: open {server.url}  (ready in {time.monotonic() - started:.1f} s; "
                "Ctrl+C stops it)",
                flush=True,
            )
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops it as Ctrl+C does: the sandbox closes
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("\nsandbox stopped", flush=True)
        return 0
    finally:
        close = getattr(sandbox, "close", None)
        if callable(close):
            close()


if __name__ == "__main__":
    sys.exit(main())
