"""Dead letters in storage and on the command line: a failed attempt waits out its backoff (the periodic
retry does not pick it up meanwhile), a given-up message is kept, listed by `supportbot inbox failed`,
counted in /metrics and put back by `supportbot inbox retry ID|--all`."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

from storage import dead_letters, inbox, migrate
from storage.db import Database
from storage.models import utcnow
from tests.test_case_cli import cli  # noqa: F401 — the in-process `supportbot` fixture


async def _failed_once(db: Database, mid: str, *, give_up: bool, retry_in_s: float = 60.0) -> int:
    async with db.write() as s:
        stored = await inbox.store_inbound(s, platform="slack", channel_id="CGONE", thread_id=f"t-{mid}",
                                           customer_id="UCUST", platform_message_id=mid, author_id="UCUST",
                                           text=f"help with {mid}")
    async with db.write() as s:
        assert await inbox.claim_message(s, stored.id, worker="w1", lease_s=60)
    async with db.write() as s:
        assert await dead_letters.record_failure(s, stored.id, error="SlackApiError: channel_not_found",
                                                 give_up=give_up, retry_at=utcnow() + timedelta(seconds=retry_in_s))
    return stored.id


def test_backoff_doubles_up_to_a_bound() -> None:
    waits = [dead_letters.backoff(n, base_s=30, max_s=300).total_seconds() for n in range(1, 7)]
    assert waits == [30, 60, 120, 240, 300, 300]


async def test_a_failed_attempt_waits_out_its_backoff(db_url: str) -> None:
    db = Database(db_url)
    try:
        await migrate.upgrade(db)
        waiting = await _failed_once(db, "m1", give_up=False, retry_in_s=60)
        due = await _failed_once(db, "m2", give_up=False, retry_in_s=-1)
        async with db.session() as s:
            assert [m.id for m in await inbox.unfinished_messages(s)] == [due]
            assert await inbox.count_unfinished(s) == 2  # both still to be answered
            assert (await inbox.get_message(s, waiting)).status == "received"  # type: ignore[union-attr]
    finally:
        await db.aclose()


async def test_a_given_up_message_is_kept_and_never_picked_up_again(db_url: str) -> None:
    db = Database(db_url)
    try:
        await migrate.upgrade(db)
        gone = await _failed_once(db, "m1", give_up=True)
        async with db.session() as s:
            assert await inbox.unfinished_messages(s) == [] and await inbox.count_unfinished(s) == 0
            [letter] = await dead_letters.dead_letters(s)
            assert letter.id == gone and letter.error == "SlackApiError: channel_not_found" and letter.attempts == 1
            assert await dead_letters.count_dead_letters(s) == 1
        async with db.write() as s:  # a second failure report of a message no longer in processing changes nothing
            assert not await dead_letters.record_failure(s, gone, error="x", give_up=False, retry_at=None)
    finally:
        await db.aclose()


def test_inbox_failed_and_retry_from_the_terminal(cli: Any) -> None:
    async def seed() -> list[int]:
        db = Database(cli.db_url)
        try:
            await migrate.upgrade(db)
            return [await _failed_once(db, mid, give_up=True) for mid in ("m1", "m2", "m3")]
        finally:
            await db.aclose()

    ids = asyncio.run(seed())
    listed = cli("inbox", "failed", "--json")
    assert listed.exit_code == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [r["id"] for r in rows] == ids and rows[0]["error"] == "SlackApiError: channel_not_found"
    assert rows[0]["channel_id"] == "CGONE" and rows[0]["text"] == "help with m1"
    text = cli("inbox", "failed").stdout
    assert str(ids[0]) in text and "channel_not_found" in text

    assert cli("inbox", "retry").exit_code == 2
    missing = cli("inbox", "retry", "999999")
    assert missing.exit_code == 1 and "not a failed message" in missing.stderr
    one = cli("inbox", "retry", str(ids[0]))
    assert one.exit_code == 0 and "queued 1 message" in one.stdout
    assert [r["id"] for r in json.loads(cli("inbox", "failed", "--json").stdout)] == ids[1:]
    assert "queued 2 message" in cli("inbox", "retry", "--all").stdout
    assert cli("inbox", "failed").stdout.strip() == "No failed messages."

    async def state() -> list[tuple[str, int]]:
        db = Database(cli.db_url)
        try:
            async with db.session() as s:
                return [(m.status, m.attempts) for m in await inbox.unfinished_messages(s)]
        finally:
            await db.aclose()

    assert asyncio.run(state()) == [("received", 0)] * 3  # a fresh set of attempts each


async def test_metrics_count_dead_letters(services: Any) -> None:
    import aiohttp

    from bot.runtime import serve
    from tests.support import free_port

    await _failed_once(services.db, "m1", give_up=True)
    port, stop = free_port(), asyncio.Event()
    running = asyncio.create_task(serve(services, [], host="127.0.0.1", port=port, stop=stop))
    try:
        async with aiohttp.ClientSession() as http, asyncio.timeout(20):
            while True:
                try:
                    async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
                        body = await response.text()
                        break
                except aiohttp.ClientConnectionError:
                    assert not running.done()
                    await asyncio.sleep(0.05)
    finally:
        stop.set()
        await running
    assert "supportbot_messages_failed 1.0" in body
