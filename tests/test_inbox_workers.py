"""Scale-out behind one receiver: worker processes claim batches of waiting messages from the durable
inbox, in conversation order, each message once (bot/inbox_worker.py)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import timedelta
from pathlib import Path

import aiohttp
from sqlalchemy import select, update

from storage import dead_letters, inbox, inbox_claims, migrate
from storage.db import Database
from storage.models import Message, utcnow
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, Call, FakeSlack, event_callback, message_event, signed_headers
from tests.support import command_line, environment, free_port, stop_gracefully, wait_until_healthy


async def _store(db: Database, thread: str, n: int) -> int:
    async with db.write() as s:
        return (
            await inbox.store_inbound(
                s,
                platform="slack",
                channel_id="C",
                thread_id=thread,
                customer_id="U",
                platform_message_id=f"{thread}-{n}",
                author_id="U",
                text=f"hi {n}",
            )
        ).id


async def test_a_batch_claim_takes_each_message_once_and_a_conversation_in_order(db_url: str) -> None:
    db = Database(db_url)
    await migrate.upgrade(db)
    try:
        first = await _store(db, "t1", 1)
        second = await _store(db, "t1", 2)  # the same conversation: waits for the first to be answered
        other = await _store(db, "t2", 1)
        async with db.write() as s:
            a = await inbox_claims.claim_waiting(s, worker="a", lease_s=60, limit=1, platforms=("slack",))
        async with db.write() as s:
            b = await inbox_claims.claim_waiting(s, worker="b", lease_s=60, limit=10, platforms=("slack",))
            none_for_discord = await inbox_claims.claim_waiting(
                s, worker="c", lease_s=60, limit=10, platforms=("discord",)
            )
        assert [m for m, _ in a] == [first] and [m for m, _ in b] == [other] and none_for_discord == []
        async with db.write() as s:
            assert await inbox_claims.claim_waiting(s, worker="b", lease_s=60, limit=10, platforms=("slack",)) == []
            await inbox.finish_message(s, first, status="replied")
        async with db.write() as s:
            later = await inbox_claims.claim_waiting(s, worker="b", lease_s=60, limit=10, platforms=("slack",))
        assert [m for m, _ in later] == [second]
        async with db.session() as s:
            claimed_by = {m: w for m, w in (await s.execute(select(Message.id, Message.claimed_by))).all()}
        assert claimed_by[second] == "b" and claimed_by[other] == "b"
    finally:
        await db.aclose()


async def test_a_batch_claim_leaves_a_message_in_its_backoff(db_url: str) -> None:
    """A message given back after a failed attempt waits out its backoff in a worker's batch too."""
    db = Database(db_url)
    await migrate.upgrade(db)
    try:
        failed = await _store(db, "t1", 1)
        async with db.write() as s:
            assert await inbox_claims.claim_message(s, failed, worker="a", lease_s=60)
            retry_at = utcnow() + timedelta(minutes=5)
            assert await dead_letters.record_failure(s, failed, error="boom", give_up=False, retry_at=retry_at)
        async with db.write() as s:
            assert await inbox_claims.claim_waiting(s, worker="b", lease_s=60, limit=10, platforms=("slack",)) == []
            await s.execute(update(Message).where(Message.id == failed).values(next_attempt_at=utcnow()))
        async with db.write() as s:
            due = await inbox_claims.claim_waiting(s, worker="b", lease_s=60, limit=10, platforms=("slack",))
        assert [m for m, _ in due] == [failed]
    finally:
        await db.aclose()


async def test_run_with_two_workers_answers_every_event_once_in_order(tmp_path: Path, postgres_url: str) -> None:
    db = Database(postgres_url)
    await migrate.upgrade(db)
    await db.aclose()
    threads = [f"1700003{i:03d}.000100" for i in range(12)]
    events = [message_event("Where is my order #A-5512?", user=f"UC{i}", ts=ts) for i, ts in enumerate(threads)]
    # A follow-up in the first thread: answered after the first message, by whichever worker takes it.
    events.append(
        {**message_event("And invoice INV-20431 too", user="UC0", ts="1700003999.000200"), "thread_ts": threads[0]}
    )
    port = free_port()
    async with FakeSlack() as fake:
        env = environment(
            tmp_path,
            SUPPORTBOT_DATABASE_URL=postgres_url,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SUPPORTBOT_SLACK_API_URL=fake.base_url,
        )
        process = await asyncio.create_subprocess_exec(
            *command_line(),
            "run",
            "--slack",
            "--slack-mode",
            "http",
            "--port",
            str(port),
            "--workers",
            "2",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await wait_until_healthy(process, port)
            async with aiohttp.ClientSession() as http:
                for i, event in enumerate(events):
                    body = json.dumps(event_callback(event, event_id=f"EvW{i}"))
                    async with http.post(
                        f"http://127.0.0.1:{port}/slack/events", data=body, headers=signed_headers(body)
                    ) as response:
                        assert response.status == 200

            # Queue notices (workers still starting, "it's in the queue") carry a negative reply id.
            def replies() -> list[Call]:
                return [
                    c for c in fake.calls_to("chat.postMessage") if c.args["metadata"]["event_payload"]["reply_id"] > 0
                ]

            await fake.wait_until(lambda: len(replies()) >= len(events), timeout=60)
        finally:
            await stop_gracefully(process)
    assert Counter(c.args["thread_ts"] for c in replies()) == Counter({threads[0]: 2, **{t: 1 for t in threads[1:]}})
    first_thread = [c.args["text"] for c in replies() if c.args["thread_ts"] == threads[0]]
    assert "INV" not in first_thread[0] and "INV" in first_thread[1]  # the follow-up answered second
    db = Database(postgres_url)
    try:
        async with db.session() as s:
            rows = (await s.execute(select(Message.status, Message.attempts).where(Message.role == "customer"))).all()
    finally:
        await db.aclose()
    assert len(rows) == len(events) and {tuple(r) for r in rows} == {("replied", 1)}
