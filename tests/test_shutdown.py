"""Graceful shutdown under load (docs/spec-notes.md, part 5): a real `supportbot run --slack --slack-mode http`
subprocess against the fake Slack, SIGTERM while replies are in flight.

The fake holds every chat.postMessage, so the bot's 32 slots are all busy delivering and the rest of
the messages wait in the inbox. On SIGTERM the bot stops taking work (messages arriving now are stored,
not processed), finishes the replies in flight within its bound once Slack answers, leaves the waiting
messages pending, closes its clients and database, and exits 0. After a restart every message has been
answered exactly once: nothing lost, nothing doubled (counted per thread at the fake).
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from storage import inbox
from storage.db import Database
from tests.fakes.slack import (
    FakeSlack,
    event_callback,
    message_event,
    signed_headers,
)
from tests.support import free_port, start_slack_bot

pytestmark = pytest.mark.slow  # subprocesses

WARNINGS = "default::ResourceWarning"  # unclosed sockets or sessions would show in stderr
SLOTS = 32  # SupportService's default concurrency, as `supportbot run` wires it
WAITING = 4
LATE = 2


async def post_events(port: int, first: int, count: int) -> None:
    async with aiohttp.ClientSession() as http:

        async def one(i: int) -> None:
            ts = f"1700001{i:03d}.000100"
            body = json.dumps(event_callback(message_event(f"where is my order #A-{1000 + i}?", ts=ts)))
            async with http.post(
                f"http://127.0.0.1:{port}/slack/events", data=body, headers=signed_headers(body)
            ) as response:
                assert response.status == 200

        await asyncio.gather(*(one(i) for i in range(first, first + count)))


async def stop(process: asyncio.subprocess.Process) -> str:
    process.send_signal(signal.SIGTERM)
    async with asyncio.timeout(40):
        _, stderr = await process.communicate()
    text = stderr.decode()
    assert process.returncode == 0, text
    assert "Traceback" not in text and "nclosed" not in text and "ResourceWarning" not in text, text
    return text


async def inbox_state(db_url: str) -> tuple[int, int]:
    """(customer messages still unfinished, replies marked sent)."""
    from sqlalchemy import func, select

    from storage.models import Message

    db = Database(db_url)
    try:
        async with db.session() as s:
            pending = await inbox.count_unfinished(s)
            sent = (
                await s.execute(
                    select(func.count())
                    .select_from(Message)
                    .where(Message.role == "bot", Message.status == "sent", Message.reply_to_id.is_not(None))
                )
            ).scalar_one()
        return pending, int(sent)
    finally:
        await db.aclose()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM")
async def test_sigterm_under_load_finishes_in_flight_keeps_the_rest_and_a_restart_answers_each_once(
    tmp_path: Path, db_url: str
) -> None:
    async with FakeSlack() as fake:
        port = free_port()
        process = await start_slack_bot(tmp_path, fake, port, db_url, PYTHONWARNINGS=WARNINGS)
        fake.hold("chat.postMessage")
        await post_events(port, 0, SLOTS + WAITING)
        await fake.wait_for("chat.postMessage", SLOTS, timeout=30)  # every slot is busy delivering

        process.send_signal(signal.SIGTERM)
        await post_events(port, SLOTS + WAITING, LATE)  # arriving during shutdown: stored, not processed
        with pytest.raises(TimeoutError):  # it waits for the replies in flight instead of dropping them
            await asyncio.wait_for(asyncio.shield(process.wait()), 0.5)
        signalled = time.monotonic()
        fake.release("chat.postMessage")
        await stop(process)
        took = time.monotonic() - signalled
        assert took < 20  # within the shutdown bound

        first_run = fake.calls_to("chat.postMessage")
        assert len(first_run) == SLOTS  # the in-flight replies finished; no new work was started
        pending, sent = await inbox_state(db_url)
        assert (pending, sent) == (WAITING + LATE, SLOTS)

        port = free_port()
        # The next start resumes what was left.
        process = await start_slack_bot(tmp_path, fake, port, db_url, PYTHONWARNINGS=WARNINGS)
        await fake.wait_for("chat.postMessage", SLOTS + WAITING + LATE, timeout=30)
        await stop(process)

        threads = Counter(c.args["thread_ts"] for c in fake.calls_to("chat.postMessage"))
        assert len(threads) == SLOTS + WAITING + LATE  # every message answered
        assert set(threads.values()) == {1}  # exactly once
        assert await inbox_state(db_url) == (0, SLOTS + WAITING + LATE)
        print(
            f"\nSIGTERM → exit {took:.2f}s; first run answered {len(first_run)}, "
            f"left {WAITING + LATE} pending; after restart all {len(threads)} answered once"
        )
