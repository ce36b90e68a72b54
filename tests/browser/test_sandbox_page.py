"""What the sandbox page shows while the real handlers answer: each assertion reads the DOM.

The page only feeds the emulated stack (texts in, send requests, carrier outcomes, the clock)
and draws ``/api/state``; so these are end-to-end tests of the handlers as a person sees them.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any

from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import SCREENSHOTS


def text(page: Page, body: str) -> None:
    """The customer types ``body`` on the phone and presses Enter."""
    page.get_by_test_id("phone-input").fill(body)
    page.get_by_test_id("phone-input").press("Enter")


def replies_saying(page: Page, words: str) -> Locator:
    """The business's texts on the phone that contain ``words``."""
    return page.get_by_test_id("bubble-out").filter(has_text=words)


def a_minute_later(page: Page) -> None:
    """The clock is paused in the tests: a customer reads a text for a minute before answering (the
    number's 1 MPS would throttle a reply in the same second as the text it answers)."""
    before = page.get_by_test_id("clock-now").inner_text()
    page.get_by_test_id("advance-minute").click()
    expect(page.get_by_test_id("clock-now")).not_to_have_text(before)


def open_at_a_new_minute(open_page: Any, customer: str) -> Page:
    """The page for ``customer``, a minute after the previous test: the tests share the business
    number and its 1 MPS, so a test's first send must not fall in the second of another's last."""
    page = open_page(customer)
    a_minute_later(page)
    return page


def outbound_row(page: Page, customer: str) -> Locator:
    """The newest send request to ``customer`` in the Outbound card."""
    return page.locator(f'[data-testid="outbound-row"][data-destination="{customer}"]').first


def test_stop_confirms_once_flips_consent_and_refuses_the_next_send(open_page: Any, replies: dict[str, Any]) -> None:
    customer = "+13035550123"
    page = open_at_a_new_minute(open_page, customer)

    text(page, "STOP")
    expect(replies_saying(page, replies["stop_reply"])).to_have_count(1)
    consent = page.get_by_test_id("consent-card")
    expect(consent.get_by_test_id("consent-status")).to_have_text("Opted out")
    expect(consent.get_by_test_id("consent-list")).to_have_text("Yes")
    proof = consent.get_by_test_id("consent-proof")
    expect(proof).to_have_count(1)
    expect(proof).to_contain_text("Opted out")
    expect(proof).to_contain_text("STOP")

    a_minute_later(page)  # late events would show up now: still one confirmation
    expect(replies_saying(page, replies["stop_reply"])).to_have_count(1)

    page.get_by_test_id("send-submit").click()  # the appointment reminder template, to the opted-out number
    expect(page.get_by_test_id("send-result")).to_contain_text("refused (OPTED_OUT)")
    row = outbound_row(page, customer)
    expect(row).to_have_attribute("data-status", "REFUSED")
    expect(row.get_by_test_id("outbound-status")).to_have_text("Refused")
    expect(row.get_by_test_id("outbound-reason")).to_contain_text("OPTED_OUT")
    expect(page.get_by_test_id("bubble-out")).to_have_count(1)  # nothing reached the phone


def test_help_gets_the_help_reply_on_a_typed_number(open_page: Any, replies: dict[str, Any]) -> None:
    page = open_at_a_new_minute(open_page, "+12065550123")
    page.get_by_test_id("customer-number").fill("(312) 555-0199")
    page.get_by_test_id("customer-number").press("Enter")
    expect(page.get_by_test_id("send-to")).to_have_text("+13125550199")

    text(page, "help")
    expect(page.get_by_test_id("bubble-in").get_by_test_id("bubble-text")).to_have_text(["help"])
    reply = replies_saying(page, replies["help_reply"])
    expect(reply).to_have_count(1)
    expect(reply.get_by_test_id("bubble-badges")).to_have_text(re.compile(r"^GSM-7 · 1 part · ≈?\$0\.\d+$"))


def test_start_opts_the_customer_back_in(open_page: Any, replies: dict[str, Any]) -> None:
    page = open_at_a_new_minute(open_page, "+14155550166")
    text(page, "STOP")
    consent = page.get_by_test_id("consent-card").get_by_test_id("consent-status")
    expect(consent).to_have_text("Opted out")

    text(page, "START")
    expect(replies_saying(page, replies["opt_in_reply"])).to_have_count(1)
    expect(consent).to_have_text("Opted in")
    expect(page.get_by_test_id("consent-list")).to_have_text("No")
    expect(page.get_by_test_id("consent-proof")).to_have_count(2)


def test_appointment_reminder_cancelled_then_rebooked(open_page: Any) -> None:
    customer = "+12125550123"
    page = open_at_a_new_minute(open_page, customer)
    page.get_by_test_id("guide-appointment").click()  # the appointment flow, Alex, two times to offer
    expect(page.get_by_test_id("send-flow")).to_have_value("appointment")
    page.get_by_test_id("send-submit").click()

    expect(replies_saying(page, "Reply 1 to confirm or 2 to cancel")).to_have_count(1)
    expect(replies_saying(page, "Tue 10 Mar at 9:30")).to_have_count(1)
    conversation = page.get_by_test_id("conversation-row").first
    expect(conversation.get_by_test_id("conversation-step")).to_have_text("confirm")

    a_minute_later(page)
    text(page, "2")
    offer = replies_saying(page, "Wed 11 Mar 9:00")
    expect(offer).to_have_count(1)
    expect(offer).to_contain_text("Thu 12 Mar 14:30")
    expect(conversation.get_by_test_id("conversation-step")).to_have_text("rebook")

    a_minute_later(page)
    text(page, "A")
    expect(replies_saying(page, "You are booked for Wed 11 Mar 9:00")).to_have_count(1)
    events = page.get_by_test_id("events-card")
    expect(events.locator('[data-type="appointment.cancelled"]').filter(has_text=customer)).to_have_count(1)
    expect(events.locator('[data-type="appointment.rebooked"]').filter(has_text=customer)).to_have_count(1)
    expect(conversation.get_by_test_id("conversation-status")).to_have_text("Closed")
    page.screenshot(path=str(SCREENSHOTS / "appointment_flow.png"))


def test_a_text_the_carrier_fails_shows_failed_on_the_phone_and_in_the_ledger(open_page: Any) -> None:
    page = open_at_a_new_minute(open_page, "+17205550188")
    page.locator("label[for=carrier-fail]").click()
    expect(page.get_by_test_id("carrier-fail")).to_be_checked()
    page.get_by_test_id("send-submit").click()
    expect(page.get_by_test_id("send-result")).to_contain_text(": sent.")  # the sender sent it; the carrier fails it
    page.get_by_test_id("advance-minute").click()

    status = page.get_by_test_id("bubble-out").last.get_by_test_id("bubble-status")
    expect(status).to_have_attribute("data-outcome", "failed")
    expect(status).to_contain_text("failed")
    ledger = page.get_by_test_id("ledger-card").get_by_test_id("ledger-row")
    expect(ledger).to_have_count(1)
    expect(ledger).to_have_attribute("data-outcome", "failed")
    expect(ledger).to_contain_text("failed")
    ledger.scroll_into_view_if_needed()  # the screenshot shows the ledger card


def test_a_number_the_stack_refuses_shows_its_one_line(open_page: Any) -> None:
    page = open_at_a_new_minute(open_page, "+12065550123")
    page.get_by_test_id("customer-number").fill("12345")
    page.get_by_test_id("customer-open").click()
    expect(page.get_by_test_id("toast")).to_contain_text("is not a phone number")
    expect(page.get_by_test_id("send-to")).to_have_text("+12065550123")


def test_the_clock_jumps_to_8_and_changes_speed(open_page: Any) -> None:
    # Seattle: the sandbox starts at 09:00 there (17:00 UTC), so the next 8:00 is tomorrow's, 16:00 UTC.
    page = open_at_a_new_minute(open_page, "+12065550123")
    page.get_by_test_id("advance-8am").click()
    expect(page.get_by_test_id("clock-now")).to_have_text("Sat 7 Mar 2026 16:00:00")
    expect(page.get_by_test_id("clock-local")).to_contain_text("08:00")
    page.get_by_test_id("speed-3600").click()
    expect(page.get_by_test_id("speed-3600")).to_have_attribute("aria-pressed", "true")
    page.get_by_test_id("speed-0").click()
    expect(page.get_by_test_id("speed-0")).to_have_attribute("aria-pressed", "true")


def test_the_api_answers_errors_in_one_line_and_keeps_serving(server: Any, sandbox: Any) -> None:
    from two_way_sms_local.sandbox.server import SandboxServer

    def call(url: str, path: str, body: Any = None, content_type: str = "application/json") -> tuple[int, Any]:
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        request = urllib.request.Request(url + path.lstrip("/"), data=data, headers={"Content-Type": content_type})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)

    assert call(server.url, "/api/nowhere")[0] == 404
    assert call(server.url, "/api/text", b"{not json")[0] == 400
    assert call(server.url, "/api/text", {"customer": "+12065550123", "body": "hi"}, "text/plain")[0] == 400
    assert call(server.url, "/api/speed", {"speed": -1}) == (400, {"error": "speed -1.0 must be 0 (paused) or more"})
    status, answer = call(server.url, "/api/text", {"customer": "12345", "body": "hi"})
    assert status == 400 and "is not a phone number" in answer["error"]

    class DescribeFails:  # the real sandbox, but describe() breaks
        def __getattr__(self, name: str) -> Any:
            return getattr(sandbox, name)

        def describe(self) -> Any:
            raise RuntimeError("the template\nhas no number")

    broken = SandboxServer(DescribeFails(), port=0, speed=0).start()  # type: ignore[arg-type]
    try:
        assert call(broken.url, "/api/describe") == (500, {"error": "RuntimeError: the template has no number"})
        assert call(broken.url, "/api/state")[0] == 200
    finally:
        broken.close()
