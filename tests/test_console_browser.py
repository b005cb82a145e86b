"""The console in a real browser: Playwright driving Debian's Chromium (/usr/bin/chromium) against
`supportbot run` on the Slack fake. Without Chromium or Playwright these tests skip with the reason —
except in CI (CI=true), where a missing browser is a failure, not a silent skip."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.bench.console_data import HOSTILE_TEXT, demo_channel, demo_thread
from tests.fakes.slack import FakeSlack
from tests.harness.console import (
    STAFF_SETTINGS,
    events_of_case,
    link_for,
    seeded_database,
    staff_loop_landed,
    wait_for_closing_message,
)
from tests.support import free_port, start_slack_bot, stop_gracefully

pytestmark = pytest.mark.slow  # subprocesses

CHROMIUM = "/usr/bin/chromium"
CLOSE_REF = "INV_CASE_7K3Q9P2X"
HOSTILE_REF = "TEC-9XW3RTB1"


def _missing() -> str | None:
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    reason = _missing()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests cannot run in CI: {reason}")
        pytest.skip(reason)
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--disable-gpu"])
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def bot(tmp_path: Path, db_url: str) -> AsyncIterator[tuple[str, FakeSlack, str]]:
    """`supportbot run --slack` (HTTP mode) on the Slack fake, over a database with the demo cases;
    yields (base URL, the fake, the database URL)."""
    await seeded_database(db_url)
    async with FakeSlack() as fake:
        port = free_port()
        process = await start_slack_bot(tmp_path, fake, port, db_url, **STAFF_SETTINGS)
        try:
            yield f"http://127.0.0.1:{port}", fake, db_url
        finally:
            await stop_gracefully(process)


async def signed_in_page(browser: Any, base: str, db_url: str, *, bypass_csp: bool = False) -> tuple[Any, list[str]]:
    """A new browser context signed in with a one-time link; returns the page and the dialogs it saw."""
    context = await browser.new_context(bypass_csp=bypass_csp, viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    dialogs: list[str] = []

    async def on_dialog(dialog: Any) -> None:  # must dismiss, or the page would hang
        dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    await page.goto(f"{base}/console/signin?token={await link_for(db_url)}")
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{base}/console/")
    return page, dialogs


async def test_sign_in_queue_search_open_and_close(browser: Any, bot: tuple[str, FakeSlack, str]) -> None:
    base, fake, db_url = bot
    page, dialogs = await signed_in_page(browser, base, db_url)
    assert await page.locator("h1").inner_text() == "Queue"
    queue_refs = await page.locator("table.cases tbody tr td:first-child").all_inner_texts()
    assert queue_refs[0] == CLOSE_REF and "STS-2PQ8ZK4N" not in queue_refs  # unclaimed first; closed not queued

    await page.get_by_role("link", name="Cases", exact=True).click()
    await page.get_by_label("Search").fill("charged twice")
    await page.get_by_role("button", name="Show").click()
    await page.wait_for_url("**/console/cases?*q=charged*")
    assert await page.locator("table.cases tbody tr td:first-child").all_inner_texts() == [CLOSE_REF]

    await page.get_by_role("link", name=CLOSE_REF).click()
    await page.wait_for_url(f"**/console/cases/{CLOSE_REF}")
    assert "charged twice for invoice INV-2024-0042" in await page.locator("ol.transcript").inner_text()
    await page.get_by_label("Reason for closing").fill("Refunded the second charge")
    await page.get_by_role("button", name="Close case").click()
    await page.wait_for_url(f"**/console/cases/{CLOSE_REF}?done=close")
    assert await page.get_by_role("status").inner_text() == "Case closed."
    assert "closed by slack:U0SAM: Refunded the second charge" in await page.locator("ol.timeline").inner_text()
    closed = [e for e in await events_of_case(db_url, CLOSE_REF) if e.action == "closed"]
    assert [(e.actor, e.note) for e in closed] == [("slack:U0SAM", "Refunded the second charge")]
    if staff_loop_landed():  # the customer's Slack thread gets the closing message
        await wait_for_closing_message(fake, demo_channel(0), demo_thread(0), CLOSE_REF)
    assert dialogs == []


@pytest.mark.parametrize("bypass_csp", [False, True], ids=["with-csp", "escaping-alone"])
async def test_hostile_transcript_shows_as_text(
    browser: Any, bot: tuple[str, FakeSlack, str], bypass_csp: bool
) -> None:
    base, _fake, db_url = bot
    page, dialogs = await signed_in_page(browser, base, db_url, bypass_csp=bypass_csp)
    await page.goto(f"{base}/console/cases/{HOSTILE_REF}")
    first = page.locator("ol.transcript li.msg .text").first
    assert await first.inner_text() == HOSTILE_TEXT
    await first.hover()
    assert await page.locator("ol.transcript img, ol.transcript script, ol.transcript a, dl.facts img").count() == 0
    assert await page.locator("script").count() == 0
    await page.goto(f"{base}/console/faqs")
    assert await page.locator("a[href^='javascript:' i]").count() == 0
    assert dialogs == []


async def test_every_page_loads_under_the_csp(browser: Any, bot: tuple[str, FakeSlack, str]) -> None:
    """No page needs anything the CSP forbids (no console error), and the charts draw as images."""
    base, _fake, db_url = bot
    page, dialogs = await signed_in_page(browser, base, db_url)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    for path in (
        "/console/",
        "/console/cases?q=refund",
        f"/console/cases/{HOSTILE_REF}",
        "/console/customers/slack:U0ALICE",
        "/console/faqs",
        "/console/insights",
    ):
        response = await page.goto(base + path)
        assert response is not None and response.status == 200, path
        await page.wait_for_load_state("networkidle")
    charts = page.locator(".charts img")
    assert await charts.count() >= 4
    for i in range(await charts.count()):
        assert await charts.nth(i).evaluate("img => img.complete && img.naturalWidth > 0")
    assert errors == [] and dialogs == []
