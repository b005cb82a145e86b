"""Two processes, one PostgreSQL database (docs/spec-notes.md, part 6): two real `supportbot run --slack
--slack-mode http` processes share the database and the fake Slack. 200 customer messages are waiting
in the inbox (stored, never processed — as after an outage); both processes resume them at start.

Claims are row updates (`UPDATE … WHERE status = 'received' OR lease expired`, one row each), not
in-process state, so each message is processed by exactly one process: every thread gets exactly one
reply at the fake and every case exists once. To make the split observable and deterministic, the fake
holds chat.postMessage until 64 posts are waiting — 32 slots per process, so each process holds 32 —
and only then lets Slack answer. The 136 messages still waiting meanwhile get exactly one "you're in the
queue" notice each, although both processes wait on them (the notice is claimed by a row update too).
Skipped when PostgreSQL does not answer.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from adapters.slack.events import message_key
from storage import inbox, migrate
from storage.db import Database
from storage.models import Case, Message
from tests.fakes.slack import BOT_TOKEN, Call, FakeSlack
from tests.support import free_port, start_slack_bot

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM")]

MESSAGES = 200
SLOTS = 32  # SupportService's default concurrency, as `supportbot run` wires it
CHANNEL = "CSUPPORT"
SECOND_TOKEN = "xoxb-test-second-process"


def replies(fake: FakeSlack) -> list[Call]:
    """The replies posted (queue notices — "it's in the queue" — carry a negative reply id)."""
    return [c for c in fake.calls_to("chat.postMessage") if c.args["metadata"]["event_payload"]["reply_id"] > 0]


def thread_ts(i: int) -> str:
    return f"1700002{i:03d}.000100"


@pytest.fixture
def pg_url(postgres_url: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database (skips with the reason when PostgreSQL is not there)."""

    async def upgrade() -> None:
        db = Database(postgres_url)
        try:
            await migrate.upgrade(db)
        finally:
            await db.aclose()

    asyncio.run(upgrade())
    yield postgres_url


async def seed(url: str) -> None:
    """200 unanswered messages of 200 customers, each asking about an invoice and an order."""
    db = Database(url)
    try:
        async with db.write() as s:
            for i in range(MESSAGES):
                await inbox.store_inbound(
                    s,
                    platform="slack",
                    channel_id=CHANNEL,
                    thread_id=thread_ts(i),
                    customer_id=f"UC{i:04d}",
                    platform_message_id=message_key(CHANNEL, thread_ts(i)),
                    author_id=f"UC{i:04d}",
                    meta={"user_name": f"customer{i}", "is_dm": False},
                    text=f"I have a question about invoice #INV-{5000 + i}, it looks too high. "
                    f"Also, where is my order #A-{20000 + i}?",
                )
    finally:
        await db.aclose()


async def final_state(url: str) -> tuple[Counter[str], Counter[str], int, Counter[tuple[int, str]], int]:
    db = Database(url)
    try:
        async with db.session() as s:
            customer = Counter((await s.execute(select(Message.status).where(Message.role == "customer"))).scalars())
            replies = Counter(
                (
                    await s.execute(
                        select(Message.status).where(Message.role == "bot", Message.reply_to_id.is_not(None))
                    )
                ).scalars()
            )  # not the queue notices
            attempts = int((await s.execute(select(func.max(Message.attempts)))).scalar_one())
            cases = Counter((m, k) for m, k in (await s.execute(select(Case.message_id, Case.kind))).all())
            notices = int(
                (
                    await s.execute(
                        select(func.count())
                        .select_from(Message)
                        .where(Message.role == "bot", Message.reply_to_id.is_(None))
                    )
                ).scalar_one()
            )
        return customer, replies, attempts, cases, notices
    finally:
        await db.aclose()


async def test_two_processes_share_the_inbox_and_answer_each_message_once(tmp_path: Path, pg_url: str) -> None:
    await seed(pg_url)
    async with FakeSlack(more_bot_tokens=(SECOND_TOKEN,)) as fake:
        fake.hold("chat.postMessage")  # Slack is slow: each process fills its slots and waits
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        first, second = await asyncio.gather(  # a token each: the fake tells their calls apart
            start_slack_bot(tmp_path / "a", fake, free_port(), pg_url),
            start_slack_bot(tmp_path / "b", fake, free_port(), pg_url, SLACK_BOT_TOKEN=SECOND_TOKEN),
        )
        await fake.wait_until(lambda: len(replies(fake)) >= 2 * SLOTS, timeout=60)  # one process holds only 32
        # The other 136 wait for a slot in both processes; after QUEUE_NOTICE_S each gets its one notice.
        await fake.wait_until(lambda: len(fake.calls_to("chat.postMessage")) >= MESSAGES, timeout=60)
        fake.release("chat.postMessage")
        await fake.wait_until(lambda: len(replies(fake)) >= MESSAGES, timeout=120)

        async def stop(process: asyncio.subprocess.Process) -> str:
            process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(60):
                _, stderr = await process.communicate()
            text = stderr.decode()
            assert process.returncode == 0, text[-3000:]
            assert "Traceback" not in text, text[-3000:]
            return text

        await asyncio.gather(stop(first), stop(second))

    posts = replies(fake)
    notices = [c for c in fake.calls_to("chat.postMessage") if c not in posts]
    threads = Counter(c.args["thread_ts"] for c in posts)
    assert len(posts) == MESSAGES and set(threads) == {thread_ts(i) for i in range(MESSAGES)}
    assert set(threads.values()) == {1}  # every message answered exactly once
    # Queue notices ("it's in the queue", Slack was slow): at most one per thread, always before its reply,
    # never for a message the other process was already answering.
    noticed = Counter(c.args["thread_ts"] for c in notices)
    assert len(notices) == MESSAGES - 2 * SLOTS and set(noticed.values()) == {1}
    reply_at = {c.args["thread_ts"]: c.at for c in posts}
    assert all(c.at < reply_at[c.args["thread_ts"]] for c in notices)
    customer, reply_status, attempts, cases, kept_notices = await final_state(pg_url)
    assert kept_notices == len(notices)  # each notice posted is in its transcript
    assert customer == Counter({"replied": MESSAGES}) and reply_status == Counter({"sent": MESSAGES})
    assert attempts == 1  # no message was claimed twice
    assert len(cases) == 2 * MESSAGES and set(cases.values()) == {1}  # billing + status per message, once each
    assert Counter(kind for _, kind in cases) == Counter({"billing": MESSAGES, "status": MESSAGES})
    by_token = Counter(c.token for c in posts)
    split = [by_token[BOT_TOKEN], by_token[SECOND_TOKEN]]
    assert sum(split) == MESSAGES
    assert min(split) >= SLOTS  # both processes did work (each held a full set of slots)
    print(
        f"\ntwo processes, one PostgreSQL: {MESSAGES} messages, {len(posts)} posts, split {split[0]}/{split[1]}, "
        f"{len(cases)} cases, max attempts {attempts}, {len(notices)} queue notices"
    )
