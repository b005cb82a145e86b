"""Settings and start-up as a new user meets them, through the real `supportbot` command: each mistake
gives one line that says what to fix (exit 1), and a normal start says nothing it should not."""

from __future__ import annotations

import asyncio
import os
import pty
import signal
import subprocess
from pathlib import Path

import pytest

from tests.fakes.site import serve_site
from tests.fakes.slack import FakeSlack
from tests.support import command_line, environment, free_port, start_slack_bot

pytestmark = pytest.mark.slow  # the real `supportbot` in subprocesses
KILLBILL = "/shared/killbill/latest/faq.html"


async def run_faq(tmp_path: Path, *args: str, **env: str) -> tuple[int, str, str]:
    """`supportbot faq …` as a subprocess (this event loop keeps serving the pages meanwhile)."""
    process = await asyncio.create_subprocess_exec(
        *command_line(),
        "faq",
        *args,
        cwd=tmp_path,
        env=environment(tmp_path, **env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 90)
    return int(process.returncode or 0), out.decode(), err.decode()


def supportbot(
    tmp_path: Path, *args: str, stdin: int | None = subprocess.DEVNULL, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command_line(), *args],
        cwd=tmp_path,
        env=environment(tmp_path, **env),
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


def test_slack_without_app_token_or_signing_secret_names_both(tmp_path: Path) -> None:
    line = one_line_error(supportbot(tmp_path, "run", "--slack", SLACK_BOT_TOKEN="xoxb-1"))
    assert "SLACK_APP_TOKEN" in line and "SLACK_SIGNING_SECRET" in line and "Socket Mode" in line
    # The same when Slack is started because its token is set, not named.
    line = one_line_error(supportbot(tmp_path, "run", SLACK_BOT_TOKEN="xoxb-1"))
    assert "SLACK_APP_TOKEN" in line and "SLACK_SIGNING_SECRET" in line


async def test_a_slack_start_logs_no_token_warning(tmp_path: Path) -> None:
    async with FakeSlack() as fake:
        process = await start_slack_bot(tmp_path, fake, free_port(), f"sqlite+aiosqlite:///{tmp_path / 'b.db'}")
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()
    assert "will be unused" not in stderr.decode()


def test_a_postgresql_url_that_does_not_answer_is_named_without_its_password(tmp_path: Path) -> None:
    port = free_port()
    line = one_line_error(
        supportbot(
            tmp_path, "ask", "hi", SUPPORTBOT_DATABASE_URL=f"postgresql+asyncpg://bot:hunter2@127.0.0.1:{port}/support"
        )
    )
    assert (
        f"cannot connect to the database at SUPPORTBOT_DATABASE_URL=postgresql://bot:***@127.0.0.1:{port}/support "
        "(connection refused)"
    ) in line
    assert "hunter2" not in line


def test_a_bad_sqlite_path_is_named(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "folder" / "bot.db"
    line = one_line_error(supportbot(tmp_path, "ask", "hi", SUPPORTBOT_DATABASE_URL=f"sqlite+aiosqlite:///{path}"))
    assert f"cannot open the SQLite database {path} (SUPPORTBOT_DATABASE_URL)" in line
    assert f"the folder {path.parent} does not exist" in line


def test_faq_allowed_hosts_refuses_a_url_and_says_why(tmp_path: Path) -> None:
    line = one_line_error(
        supportbot(tmp_path, "faq", "http://127.0.0.1:8799/a", SUPPORTBOT_FAQ_ALLOWED_HOSTS="http://127.0.0.1:8799")
    )
    assert "SUPPORTBOT_FAQ_ALLOWED_HOSTS" in line and "host:port" in line


async def test_faq_allowed_hosts_accepts_host_and_port(tmp_path: Path, shared_data: Path) -> None:
    async with serve_site() as base:
        port = base.rsplit(":", 1)[1].split("/")[0]
        code, out, err = await run_faq(
            tmp_path, base + KILLBILL, "--questions", "2", SUPPORTBOT_FAQ_ALLOWED_HOSTS=f"127.0.0.1:{port}"
        )
        assert code == 0, err
        assert out.strip()
        # The port is part of the permission: the same host on another port stays refused.
        code, _, err = await run_faq(
            tmp_path, base + KILLBILL, "--questions", "2", SUPPORTBOT_FAQ_ALLOWED_HOSTS=f"127.0.0.1:{int(port) + 1}"
        )
        assert code == 1 and "SUPPORTBOT_FAQ_ALLOWED_HOSTS" in err


def test_run_with_nothing_configured_and_no_terminal_says_so(tmp_path: Path) -> None:
    line = one_line_error(supportbot(tmp_path, "run"))
    assert "nothing is configured" in line and "SLACK_BOT_TOKEN" in line and "DISCORD_BOT_TOKEN" in line


def test_run_with_nothing_configured_in_a_terminal_opens_the_chat(tmp_path: Path) -> None:
    controller, terminal = pty.openpty()
    try:
        os.write(controller, b"/quit\n")
        done = supportbot(tmp_path, "run", stdin=terminal)
    finally:
        os.close(terminal)
        os.close(controller)
    assert done.returncode == 0, done.stderr
    assert "supportbot chat" in done.stdout


@pytest.mark.parametrize("args", [("run", "--discord"), ("run", "--slack")])
def test_naming_an_adapter_without_its_token_is_one_line(tmp_path: Path, args: tuple[str, ...]) -> None:
    line = one_line_error(supportbot(tmp_path, *args))
    assert ("DISCORD_BOT_TOKEN" if "--discord" in args else "SLACK_BOT_TOKEN") in line
