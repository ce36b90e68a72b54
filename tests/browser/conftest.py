"""The sandbox page in headless Chromium (Debian's ``chromium``, driven by Playwright).

One sandbox for the session: the real engine built from the repository's ``cdk.json``, its
clock fixed at a Friday 17:00 UTC (09:00 in Seattle, noon in New York) and paused; a test
moves it with the page's own buttons. Each test texts from its own customer number, so the
tests do not depend on each other's state. Screenshots go to ``build/screenshots/``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "build" / "screenshots"
START = datetime(2026, 3, 6, 17, 0, tzinfo=timezone.utc)  # a Friday: inside every US quiet-hours window
VIEWPORT = {"width": 1280, "height": 800}
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def replies() -> dict[str, Any]:
    """The configured replies (cdk.json's context): what the handlers are expected to answer."""
    return json.loads((REPO / "cdk.json").read_text())["context"]["two-way-sms"]


@pytest.fixture(scope="package")  # closed before other packages' tests: one moto world at a time
def sandbox() -> Iterator[Any]:
    from two_way_sms_local.sandbox.engine import Sandbox

    with Sandbox.from_config(None, repo_root=REPO, start=START) as built:
        yield built


@pytest.fixture(scope="package")  # closed before other packages' tests: one moto world at a time
def server(sandbox: Any) -> Iterator[Any]:
    from two_way_sms_local.sandbox.server import SandboxServer

    running = SandboxServer(sandbox, port=0, speed=0).start()  # paused: the tests move the clock
    try:
        yield running
    finally:
        running.close()


@pytest.fixture(scope="package")  # closed before other packages' tests: one moto world at a time
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `.ci/run` installs it (apt-get install -y chromium)", pytrace=False)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=10_000)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),  # a fresh --user-data-dir
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=VIEWPORT,
            locale="en-GB",
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def open_page(browser: Any, server: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """``open_page(customer)``: the page with ``customer`` selected; a screenshot of it when the test ends."""
    pages: list[Any] = []
    errors: list[str] = []

    def opening(customer: str) -> Any:
        page = browser.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{server.url}#{customer}")
        page.get_by_test_id("business-number").filter(has_text="+1").wait_for()
        pages.append(page)
        return page

    yield opening
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for page in pages:
        page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"))
        page.close()
    assert not errors, f"the page raised: {errors}"
