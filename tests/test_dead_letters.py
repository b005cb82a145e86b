"""Dead letters in storage and on the command line: a failed attempt waits out its backoff (the periodic
retry does not pick it up meanwhile), a given-up message is kept, listed by `supportbot inbox failed`,
counted in /metrics and put back by `supportbot inbox retry ID|--all`."""

from __future__ import annotations

import asyncio
import gc
import json
from datetime import timedelta
from typing import Any

import pytest

from storage import dead_letters, inbox, inbox_claims, migrate
from storage.db import Database
from storage.models import utcnow


async def _failed_once(db: Database, mid: str, *, give_up: bool, retry_in_s: float = 60.0) -> int:
    async with db.write() as s:
        stored = await inbox.store_inbound(
            s,
            platform="slack",
            channel_id="CGONE",
            thread_id=f"t-{mid}",
            customer_id="UCUST",
            platform_message_id=mid,
            author_id="UCUST",
            text=f"help with {mid}",
        )
    async with db.write() as s:
        assert await inbox_claims.claim_message(s, stored.id, worker="w1", lease_s=60)
    async with db.write() as s:
        assert await dead_letters.record_failure(
            s,
            stored.id,
            error="SlackApiError: channel_not_found",
            give_up=give_up,
            retry_at=utcnow() + timedelta(seconds=retry_in_s),
        )
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
            assert [m.id for m in await inbox_claims.unfinished_messages(s)] == [due]
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
            assert await inbox_claims.unfinished_messages(s) == [] and await inbox.count_unfinished(s) == 0
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
                return [(m.status, m.attempts) for m in await inbox_claims.unfinished_messages(s)]
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
            while not gc.get_freeze_count():  # once started, serve() freezes the start-up heap (bot/heap.py)
                assert not running.done()
                await asyncio.sleep(0.01)
    finally:
        stop.set()
        await running
    assert "supportbot_messages_failed 1.0" in body
    assert gc.get_freeze_count() == 0  # thawed when it stops


# --- the core: attempts, backoff, giving up, staff ----------------------------------------------------


def _inbound(channel: str, n: int) -> Any:
    from adapters.platform import Inbound

    return Inbound(
        platform="slack",
        channel_id=channel,
        thread_id=f"17000000{n}.000100",
        user_id=f"U{n}",
        text="Where is my order #A-12345?",
        message_id=f"{channel}:17000000{n}.000100",
    )


async def _flaky_slack(services: Any, error: Exception) -> list[str]:
    """A Slack platform that cannot post in CGONE (raising `error`) and posts anywhere else."""
    from adapters.memory import MemoryPlatform

    tried: list[str] = []

    async def deliver(out: Any) -> str:
        tried.append(out.channel_id)
        if out.channel_id == "CGONE":
            raise error
        return f"ts-{out.reply_id}"

    services.add_platform(MemoryPlatform("slack", deliver))
    return tried


async def _staff_cases(services: Any) -> list[Any]:
    from storage import cases as case_store
    from storage.cases import CaseFilter

    async with services.db.session() as s:
        return [c for c in await case_store.list_cases(s, CaseFilter(kind="human"), limit=None) if c.needs_staff]


async def test_a_failing_delivery_gets_a_bounded_number_of_attempts(services: Any) -> None:
    from bot.dead_letters import RetryPolicy

    tried = await _flaky_slack(services, RuntimeError("HTTP 503"))
    services.support.retry = RetryPolicy(max_attempts=3, base_s=0.0)  # no wait between attempts in a test
    outcome = await services.handlers().on_message(_inbound("CGONE", 1))
    assert outcome.error == "RuntimeError"
    for _ in range(5):  # the periodic retry, five rounds
        await services.support.resume()
    assert tried.count("CGONE") == 3
    async with services.db.session() as s:
        [letter] = await dead_letters.dead_letters(s)
        assert letter.attempts == 3 and "HTTP 503" in letter.error
        assert await inbox_claims.unfinished_messages(s) == []
    [case] = await _staff_cases(services)
    assert "failed 3 time(s)" in case.details["reason"] and "HTTP 503" in case.details["reason"]


async def test_a_backoff_keeps_the_periodic_retry_from_trying_again_at_once(services: Any) -> None:
    tried = await _flaky_slack(services, RuntimeError("HTTP 503"))  # default policy: 30 s after a failure
    await services.handlers().on_message(_inbound("CGONE", 1))
    for _ in range(3):
        await services.support.resume()
    assert tried == ["CGONE"]
    async with services.db.session() as s:
        [message] = [m for m in await inbox.messages_since(s, utcnow() - timedelta(hours=1)) if m.role == "customer"]
        assert message.status == "received" and message.next_attempt_at is not None
        assert message.next_attempt_at > utcnow() + timedelta(seconds=20)


async def test_a_permanent_error_stops_at_once_and_others_are_still_answered(services: Any) -> None:
    from adapters.platform import PermanentDeliveryError

    tried = await _flaky_slack(services, PermanentDeliveryError("slack", "not_in_channel"))
    gone = await services.handlers().on_message(_inbound("CGONE", 1))
    fine = await services.handlers().on_message(_inbound("COK", 2))
    assert gone.error == "PermanentDeliveryError" and fine.result is not None and not fine.error
    for _ in range(3):
        await services.support.resume()
    assert tried == ["CGONE", "COK"]
    async with services.db.session() as s:
        [letter] = await dead_letters.dead_letters(s)
        assert letter.attempts == 1 and "not_in_channel" in letter.error and letter.channel_id == "CGONE"
    [case] = await _staff_cases(services)
    assert "could not be delivered" in case.details["reason"] and "not_in_channel" in case.details["reason"]
    # Put back by the operator, it is tried once more (and given up again: the bot is still not in the channel).
    async with services.db.write() as s:
        assert await dead_letters.retry(s) == [letter.id]
    await services.support.resume()
    assert tried == ["CGONE", "COK", "CGONE"]
    assert len(await _staff_cases(services)) == 1  # the same hand-off case, flagged again


async def test_a_message_whose_worker_keeps_dying_is_given_up(services: Any) -> None:
    from bot.dead_letters import RetryPolicy

    tried = await _flaky_slack(services, RuntimeError("unused"))
    services.support.retry = RetryPolicy(max_attempts=2, base_s=0.0)
    async with services.db.write() as s:  # stored and claimed twice by workers that died (SIGKILL, OOM)
        stored = await inbox.store_inbound(
            s,
            platform="slack",
            channel_id="COK",
            thread_id="t",
            customer_id="U1",
            platform_message_id="COK:1",
            author_id="U1",
            text="hi",
        )
    for worker in ("dead1", "dead2"):
        async with services.db.write() as s:
            assert await inbox_claims.claim_message(s, stored.id, worker=worker, lease_s=60)
            assert await inbox_claims.release_message(s, stored.id, error="worker died", worker=worker)
    await services.support.resume()
    assert tried == []  # not tried a third time: given up
    async with services.db.session() as s:
        [letter] = await dead_letters.dead_letters(s)
        assert letter.id == stored.id and "worker stopped" in letter.error


# --- the real bot: a channel it was removed from ------------------------------------------------------


@pytest.mark.slow  # the real `supportbot` in a subprocess
async def test_a_channel_the_bot_cannot_post_to_is_given_up_while_others_are_answered(tmp_path: Any) -> None:
    import signal
    import subprocess

    import aiohttp

    from tests.fakes.slack import FakeSlack, event_callback, message_event, signed_headers
    from tests.support import command_line, environment, free_port, start_slack_bot

    db_url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    events = [
        ("CGONE", "1700000300.000100"),
        ("CSUPPORT", "1700000301.000100"),
        ("CGONE", "1700000302.000100"),
        ("COTHER", "1700000303.000100"),
    ]
    async with FakeSlack(gone_channels={"CGONE"}) as fake:
        for run in range(2):  # the second start resumes what is unfinished: nothing for CGONE
            port = free_port()
            process = await start_slack_bot(tmp_path, fake, port, db_url)
            if run == 0:
                async with aiohttp.ClientSession() as http:
                    for channel, ts in events:
                        body = json.dumps(
                            event_callback(
                                message_event("Where is my order #A-12345?", channel=channel, ts=ts), event_id=f"Ev{ts}"
                            )
                        )
                        async with http.post(
                            f"http://127.0.0.1:{port}/slack/events", data=body, headers=signed_headers(body)
                        ) as response:
                            assert response.status == 200
                await fake.wait_until(lambda: len(fake.posted) == 2, timeout=30)  # CSUPPORT and COTHER
                await fake.wait_until(lambda: len(fake.calls_to("chat.postMessage")) == 4, timeout=30)
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.communicate(), 30)
            assert process.returncode == 0
        posts = fake.calls_to("chat.postMessage")
    assert sorted(p.args["channel"] for p in posts) == ["CGONE", "CGONE", "COTHER", "CSUPPORT"]  # one try each
    assert {p["channel"] for p in fake.posted} == {"CSUPPORT", "COTHER"}

    failed = subprocess.run(
        [*command_line(), "inbox", "failed", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=environment(tmp_path, SUPPORTBOT_DATABASE_URL=db_url),
        timeout=60,
    )
    assert failed.returncode == 0, failed.stderr
    rows = json.loads(failed.stdout)
    assert [(r["channel_id"], r["attempts"]) for r in rows] == [("CGONE", 1), ("CGONE", 1)]
    assert all("not_in_channel" in r["error"] for r in rows)


async def test_discord_missing_access_and_unknown_channel_stop_at_once(make_settings: Any) -> None:
    from tests.fakes.discord import FakeDiscord
    from tests.harness.discord import discord_bot, discord_settings

    async with FakeDiscord() as fake, discord_bot(discord_settings(make_settings, fake), fake) as bot:
        fake.fail("message", 403, code=50001, message="Missing Access")
        first = await bot.send("where is my order #A-501?")
        fake.fail("message", 404, code=10003, message="Unknown Channel")
        second = await bot.send("where is my order #A-502?")
        for _ in range(3):
            await bot.services.support.resume()
        assert len(fake.posts_in(first["id"])) == 1 and len(fake.posts_in(second["id"])) == 1  # one try each
        third = await bot.send("where is my order #A-503?")  # the channel works again for others
        assert len(fake.posts_in(third["id"])) == 1
        async with bot.services.db.session() as s:
            letters = await dead_letters.dead_letters(s)
    assert [("Missing Access" in d.error, "Unknown Channel" in d.error) for d in letters] == [
        (True, False),
        (False, True),
    ]
