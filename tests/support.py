"""Helpers for the tests that run `supportbot` as a real subprocess: a free port, the command line, an
environment without the developer's settings, the graceful-stop check and the cases left in its database."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from storage import cases as case_store
from storage.cases import CaseFilter


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def command_line() -> list[str]:
    """The installed `supportbot` script next to this interpreter, else `python -m bot`."""
    exe = Path(sys.executable).with_name("supportbot")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "bot"]


def database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"


def environment(tmp_path: Path, **values: str) -> dict[str, str]:
    """This process's environment without any supportbot, Slack, Discord or Gemini variable, plus `values`
    (an SQLite database in `tmp_path` and the offline engine unless given)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SUPPORTBOT_", "SLACK_", "DISCORD_")) and k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    }
    env.update({"SUPPORTBOT_DATABASE_URL": database_url(tmp_path), "SUPPORTBOT_LLM": "offline", **values})
    return env


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
    """Poll the bot's /healthz until it answers 200 (the process has no other way to say it is ready);
    fail with its stderr if it exits first."""
    import aiohttp

    async with aiohttp.ClientSession() as http, asyncio.timeout(timeout_s):
        while True:
            if process.returncode is not None:
                raise AssertionError((await process.stderr.read()).decode())  # type: ignore[union-attr]
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)


async def start_slack_bot(
    tmp_path: Path, fake: Any, port: int, db_url: str, *, timeout_s: float = 30, **extra: str
) -> asyncio.subprocess.Process:
    """`supportbot run --slack --slack-mode http` against the fake Slack, returned once /healthz answers 200."""
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
        *command_line(),
        "run",
        "--slack",
        "--slack-mode",
        "http",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    await wait_until_healthy(process, port, timeout_s=timeout_s)
    return process
