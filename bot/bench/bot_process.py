"""The real bot as a child process: its command line, an environment without the operator's settings, a
free port, the wait for /healthz, and a restartable `supportbot run --slack` in HTTP mode.

The soak drives the bot through these, and so do the tests that start `supportbot` as a subprocess (they
import them from here: the benchmark cannot import the tests).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import psutil


def command_line() -> list[str]:
    """The installed `supportbot` script next to this interpreter, else `python -m bot`."""
    exe = Path(sys.executable).with_name("supportbot")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "bot"]


def slack_http_command(port: int, *, debug: bool = False) -> list[str]:
    """`supportbot [--debug] run --slack --slack-mode http` listening on 127.0.0.1:`port`."""
    run = ["run", "--slack", "--slack-mode", "http", "--host", "127.0.0.1", "--port", str(port)]
    return [*command_line(), *(["--debug"] if debug else []), *run]


def bench_environment(**values: str) -> dict[str, str]:
    """This process's environment without the operator's bot settings, plus `values`: for a bot started
    as a subprocess (never the configured database or services)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SUPPORTBOT_", "SLACK_", "DISCORD_")) and k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    }
    env.update(values)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BotExited(RuntimeError):
    """The bot's process ended before its /healthz answered."""


async def wait_until_healthy(process: asyncio.subprocess.Process, port: int, *, timeout_s: float = 30) -> None:
    """Poll the bot's /healthz until it answers 200 (the process has no other way to say it is ready);
    `BotExited` if the process ends first."""
    async with aiohttp.ClientSession() as http, asyncio.timeout(timeout_s):
        while True:
            if process.returncode is not None:
                raise BotExited(f"the bot exited with {process.returncode}")
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)


@dataclass
class Sample:
    at_s: float
    rss_mb: float
    open_fds: int


class Bot:
    """`supportbot run --slack --slack-mode http` as a subprocess; restartable on the same database."""

    def __init__(self, folder: Path, env: dict[str, str], port: int) -> None:
        self.folder, self.env, self.port = folder, env, port
        self.process: asyncio.subprocess.Process | None = None
        self.log = folder / "bot.log"

    async def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                *slack_http_command(self.port),
                cwd=self.folder,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        try:
            await wait_until_healthy(self.process, self.port, timeout_s=60)
        except BotExited as e:
            raise BotExited(f"{e}; see {self.log}") from None

    def sample(self, started: float) -> Sample:
        assert self.process is not None
        proc = psutil.Process(self.process.pid)
        return Sample(
            at_s=round(time.monotonic() - started, 1),
            rss_mb=round(proc.memory_info().rss / 2**20, 1),
            open_fds=proc.num_fds(),
        )

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 40)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
