"""`supportbot console link|serve` and the console inside `supportbot run`, as an operator runs them:
real subprocesses, a real HTTP client signing in with the printed link."""

from __future__ import annotations

import asyncio
import re
import subprocess
from pathlib import Path

import aiohttp
import pytest

from bot.bench.console_data import demo_channel, demo_thread
from tests.fakes.slack import FakeSlack
from tests.harness.console import (
    STAFF_SETTINGS,
    events_of_case,
    link_for,
    seeded_database,
    staff_loop_landed,
    wait_for_closing_message,
)
from tests.support import command_line, environment, free_port, start_slack_bot, stop_gracefully, wait_until_healthy

pytestmark = pytest.mark.slow  # subprocesses

CLOSE_REF = "INV_CASE_7K3Q9P2X"  # the first demo case: Slack channel demo_channel(0), thread demo_thread(0)


def console_cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command_line(), "console", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=environment(tmp_path, **STAFF_SETTINGS, **env),
    )


def test_link_is_one_line_on_the_public_url(tmp_path: Path) -> None:
    proc = console_cli(tmp_path, "link", "--user", "U0SAM", SUPPORTBOT_PUBLIC_URL="https://support.example.com/")
    assert proc.returncode == 0, proc.stderr
    assert re.fullmatch(r"https://support\.example\.com/console/signin\?token=[\w-]{40,}\n", proc.stdout)
    default = console_cli(tmp_path, "link", "--user", "slack:U0SAM", "--port", "8080", "--minutes", "5")
    assert default.returncode == 0 and default.stdout.startswith("http://127.0.0.1:8080/console/signin?token=")


def test_link_for_someone_not_staff_is_refused(tmp_path: Path) -> None:
    proc = console_cli(tmp_path, "link", "--user", "U0CUSTOMER")
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "not on the support staff list" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert console_cli(tmp_path, "link", "--user", "shell:local").returncode == 1  # the terminal is not staff here
    assert console_cli(tmp_path, "link", "--user", "U0SAM", "--minutes", "0").returncode == 2


async def sign_in_over_http(http: aiohttp.ClientSession, url: str) -> str:
    """Open the printed link, press Sign in; returns the queue page."""
    async with http.get(url) as form_page:
        html = await form_page.text()
    fields = dict(re.findall(r'name="(token|csrf_token)" value="([^"]*)"', html))
    async with http.post(url.split("?")[0], data=fields) as response:
        assert response.status == 200 and response.url.path == "/console/"
        return await response.text()


async def test_console_serve_alone(tmp_path: Path) -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        *command_line(),
        "console",
        "serve",
        "--port",
        str(port),
        cwd=tmp_path,
        env=environment(tmp_path, **STAFF_SETTINGS),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await wait_until_healthy(process, port)
        link = await asyncio.to_thread(console_cli, tmp_path, "link", "--user", "U0SAM", "--port", str(port))
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.get(f"http://127.0.0.1:{port}/console/cases") as anonymous:
                assert anonymous.status == 401
            queue = await sign_in_over_http(http, link.stdout.strip())
            assert "<h1>Queue</h1>" in queue
    finally:
        await stop_gracefully(process)


async def test_run_serves_the_console_and_a_close_reaches_the_thread(tmp_path: Path, db_url: str) -> None:
    await seeded_database(db_url)
    async with FakeSlack() as fake:
        port = free_port()
        process = await start_slack_bot(tmp_path, fake, port, db_url, **STAFF_SETTINGS)
        try:
            base = f"http://127.0.0.1:{port}"
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                await sign_in_over_http(http, f"{base}/console/signin?token={await link_for(db_url)}")
                async with http.get(f"{base}/console/cases/{CLOSE_REF}") as page:
                    csrf = re.search(r'name="csrf_token" value="([^"]+)"', await page.text())
                assert csrf is not None
                async with http.post(
                    f"{base}/console/cases/{CLOSE_REF}/close",
                    data={"reason": "Refunded the double charge", "csrf_token": csrf.group(1)},
                ) as r:
                    assert r.status == 200 and "Case closed." in await r.text()
            closed = [e for e in await events_of_case(db_url, CLOSE_REF) if e.action == "closed"]
            assert [(e.actor, e.note) for e in closed] == [("slack:U0SAM", "Refunded the double charge")]
            if staff_loop_landed():  # the staff loop tells the customer in their thread
                await wait_for_closing_message(fake, demo_channel(0), demo_thread(0), CLOSE_REF)
        finally:
            await stop_gracefully(process)
