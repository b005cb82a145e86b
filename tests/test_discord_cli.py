"""`supportbot run --discord` and `supportbot discord sync` as real subprocesses, pointed at the fake
Discord by SUPPORTBOT_DISCORD_API_URL and SUPPORTBOT_DISCORD_GATEWAY_URL: a thread and one reply with
every case reference, a redelivered MESSAGE_CREATE ignored, an app command served, a graceful exit;
the commands PUT to a guild or globally; a bad token explained in one line."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.wiring import build_registry
from tests.fakes.discord import (
    APP_ID,
    BOT_TOKEN,
    SUPPORT_CHANNEL,
    FakeDiscord,
    interaction_payload,
    message_payload,
)
from tests.harness import EXAMPLE
from tests.support import command_line, environment, free_port, stop_gracefully, stored_cases

pytestmark = pytest.mark.slow  # subprocesses


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


def discord_environment(tmp_path: Path, fake: FakeDiscord, **extra: str) -> dict[str, str]:
    return environment(
        tmp_path,
        **{
            "DISCORD_BOT_TOKEN": BOT_TOKEN,
            "SUPPORTBOT_DISCORD_API_URL": fake.api_url,
            "SUPPORTBOT_DISCORD_GATEWAY_URL": fake.gateway_url,
            "SUPPORTBOT_DISCORD_CHANNEL_IDS": SUPPORT_CHANNEL,
            **extra,
        },
    )


async def supportbot(tmp_path: Path, fake: FakeDiscord, *args: str, **extra: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *command_line(),
        *args,
        cwd=tmp_path,
        env=discord_environment(tmp_path, fake, **extra),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@asynccontextmanager
async def supportbot_run(tmp_path: Path, fake: FakeDiscord) -> AsyncIterator[asyncio.subprocess.Process]:
    """`supportbot run --discord` until the fake has seen it identify; SIGTERM afterwards, and a check of
    the graceful exit (code 0: work in flight finished first)."""
    process = await asyncio.create_subprocess_exec(
        *command_line(),
        "run",
        "--discord",
        "--host",
        "127.0.0.1",
        "--port",
        str(free_port()),
        cwd=tmp_path,
        env=discord_environment(tmp_path, fake),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    waiting = asyncio.create_task(fake.ready.wait())
    exited = asyncio.create_task(process.wait())
    await asyncio.wait({waiting, exited}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    exited.cancel()
    if not fake.ready.is_set():
        if process.returncode is None:
            process.kill()
        async with asyncio.timeout(30):
            _, stderr = await process.communicate()
        pytest.fail(f"supportbot did not connect: {stderr.decode()}")
    try:
        await fake.round_trip(timeout=30)  # it has read READY and GUILD_CREATE
        yield process
    finally:
        await stop_gracefully(process)


async def test_supportbot_run_discord_answers_once_in_a_thread(tmp_path: Path, fake: FakeDiscord) -> None:
    message = message_payload(EXAMPLE)
    async with supportbot_run(tmp_path, fake):
        assert fake.calls_to("commands") == []  # no resync on start
        await fake.dispatch("MESSAGE_CREATE", message)
        [reply] = await fake.wait_for("message", timeout=30)
        await fake.dispatch("MESSAGE_CREATE", message)  # redelivered (a resume, a reconnect)
        await fake.round_trip()
        command = interaction_payload("cases")
        await fake.dispatch("INTERACTION_CREATE", command)
        [listing] = await fake.wait_for("callback", timeout=30)
    # stopped gracefully: the duplicate was handled before the exit
    [thread] = fake.calls_to("thread")
    assert thread.params["message"] == message["id"] and reply.params["channel"] == message["id"]
    cases = await stored_cases(tmp_path)
    assert len(cases) == 3 and all(c.ref in reply.json["content"] for c in cases)
    assert len(fake.posts_in(message["id"])) == 1 and len(fake.calls_to("message")) == 1
    assert reply.json["allowed_mentions"]["parse"] == []
    assert listing.params["interaction"] == command["id"] and listing.json["data"]["flags"] & 64
    assert all(c.ref in json.dumps(listing.json["data"]["embeds"]) for c in cases)


async def test_discord_sync_to_a_guild_puts_every_command(tmp_path: Path, fake: FakeDiscord) -> None:
    code, out, err = await supportbot(tmp_path, fake, "discord", "sync", "--guild", "123")
    assert code == 0, err
    [put] = fake.calls_to("commands")
    assert put.method == "PUT" and put.path == f"applications/{APP_ID}/guilds/123/commands"
    names = {c["name"] for c in put.json}
    assert {c.name for c in build_registry().all()} <= names
    cases = next(c for c in put.json if c["name"] == "cases")
    assert [o["name"] for o in cases["options"]][:1] == ["user"] and cases["options"][0]["type"] == 6
    assert "synced" in out and "guild 123" in out and "/case-close" in out
    assert fake.identify is None  # REST only: no gateway connection for a sync


async def test_discord_sync_globally_and_a_bad_token(tmp_path: Path, fake: FakeDiscord) -> None:
    code, out, err = await supportbot(tmp_path, fake, "discord", "sync")
    assert code == 0, err
    [put] = fake.calls_to("commands")
    assert put.path == f"applications/{APP_ID}/commands" and "global" in out
    code, out, err = await supportbot(
        tmp_path, fake, "discord", "sync", "--guild", "123", DISCORD_BOT_TOKEN="wrong-token"
    )
    assert code == 1 and "DISCORD_BOT_TOKEN" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert len(fake.calls_to("commands")) == 1
