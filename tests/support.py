"""Helpers for the tests that run `supportbot` as a real subprocess: a free port, the command line, an
environment without the developer's settings, the graceful-stop check and the cases left in its database.
The command line, the port and the wait for /healthz are the benchmark's (bot.bench.bot_process)."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

from bot.bench import bot_process
from bot.bench.bot_process import bench_environment, slack_http_command
from bot.bench.bot_process import command_line as command_line
from bot.bench.bot_process import free_port as free_port
from storage import cases as case_store
from storage.cases import CaseFilter


def database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"


def environment(tmp_path: Path, **values: str) -> dict[str, str]:
    """This process's environment without any supportbot, Slack, Discord or Gemini variable, plus `values`
    (an SQLite database in `tmp_path` and the offline engine unless given)."""
    return bench_environment(
        **{"SUPPORTBOT_DATABASE_URL": database_url(tmp_path), "SUPPORTBOT_LLM": "offline", **values}
    )


async def stop_gracefully(process: asyncio.subprocess.Process) -> None:
    """SIGTERM (unless it already exited), then check the exit: code 0 and no traceback."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    async with asyncio.timeout(30):
        _, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    assert "Traceback" not in stderr.decode(), stderr.decode()


async def stored_cases(tmp_path: Path) -> list[Any]:
    """Every case in the subprocess's SQLite database."""
    from storage.db import Database

    db = Database(database_url(tmp_path))
    try:
        async with db.session() as s:
            return await case_store.list_cases(s, CaseFilter(), limit=None)
    finally:
        await db.aclose()


async def wait_until_healthy(process: asyncio.subprocess.Process, port: int, *, timeout_s: float = 30) -> None:
    """The bot's /healthz answers 200; fail with its stderr if it exits first."""
    try:
        await bot_process.wait_until_healthy(process, port, timeout_s=timeout_s)
    except bot_process.BotExited:
        raise AssertionError((await process.stderr.read()).decode()) from None  # type: ignore[union-attr]


async def start_slack_bot(
    tmp_path: Path, fake: Any, port: int, db_url: str, *, timeout_s: float = 30, debug: bool = False, **extra: str
) -> asyncio.subprocess.Process:
    """`supportbot [--debug] run --slack --slack-mode http` against the fake Slack, returned once /healthz
    answers 200."""
    from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET

    env = environment(
        tmp_path,
        **{
            "SUPPORTBOT_DATABASE_URL": db_url,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SUPPORTBOT_SLACK_API_URL": fake.base_url,
            **extra,
        },
    )
    process = await asyncio.create_subprocess_exec(
        *slack_http_command(port, debug=debug),
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    await wait_until_healthy(process, port, timeout_s=timeout_s)
    return process


def spin_cpu(seconds: float) -> None:
    """Keep the calling thread on the CPU for `seconds` of its own CPU time."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass
