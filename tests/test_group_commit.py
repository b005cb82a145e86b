"""Group commit's together-writes: one run for every caller of a batch, each caller its own result, in
the order of the batch; a failing batch is run again item by item, so an error reaches only its caller.
And the two writes the message path makes that way: a batch claim that takes only what is claimable,
and finishing answered messages with their replies marked sent."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from storage import inbox, inbox_claims, migrate
from storage.db import Database
from storage.group_commit import Together


@pytest.fixture
async def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'group.db'}")
    await migrate.upgrade(database)
    yield database  # type: ignore[misc]
    await database.aclose()


async def test_callers_of_one_batch_share_one_run_in_batch_order(db: Database) -> None:
    runs: list[list[int]] = []
    order: list[str] = []

    async def double(session: AsyncSession, items: list[int]) -> list[int]:
        runs.append(items)
        order.append("together")
        return [2 * i for i in items]

    together = Together("double", double)

    async def plain(session: AsyncSession) -> str:
        order.append("plain")
        return "plain"

    results = await asyncio.gather(
        db.grouped(plain), *(db.grouped.together(together, i) for i in (1, 2, 3)), db.grouped(plain)
    )
    assert results == ["plain", 2, 4, 6, "plain"]
    assert runs == [[1, 2, 3]]  # queued before the flusher ran: one batch, one run
    assert order == ["plain", "together", "plain"]  # run where its first item sits


async def test_a_failing_batch_is_run_item_by_item(db: Database) -> None:
    runs: list[list[int]] = []

    async def picky(session: AsyncSession, items: list[int]) -> list[int]:
        runs.append(items)
        if 13 in items:
            raise ValueError("13 is refused")
        return items

    together = Together("picky", picky)
    results = await asyncio.gather(*(db.grouped.together(together, i) for i in (12, 13, 14)), return_exceptions=True)
    assert results[0] == 12 and results[2] == 14
    assert isinstance(results[1], ValueError)
    assert runs == [[12, 13, 14], [12], [13], [14]]


async def _stored(db: Database, n: int) -> list[int]:
    ids = []
    async with db.write() as s:
        for i in range(n):
            stored = await inbox.store_inbound(
                s,
                platform="shell",
                channel_id="c",
                thread_id=f"t{i}",
                customer_id=f"u{i}",
                platform_message_id=f"m{i}",
                author_id=f"u{i}",
                text="hello",
            )
            ids.append(stored.id)
    return ids


async def test_a_batch_claim_takes_only_what_is_claimable(db: Database) -> None:
    first, second, third = await _stored(db, 3)
    async with db.write() as s:
        assert await inbox_claims.claim_messages(s, [first], worker="other", lease_s=60) == {first}
        await inbox.finish_message(s, third, status="replied")
    async with db.write() as s:
        assert await inbox_claims.claim_messages(s, [first, second, third], worker="me", lease_s=60) == {second}
        assert await inbox_claims.claim_messages(s, [], worker="me", lease_s=60) == set()
    async with db.session() as s:
        rows = (await s.execute(text("SELECT id, claimed_by, attempts FROM messages ORDER BY id"))).all()
    assert [tuple(r) for r in rows] == [(first, "other", 1), (second, "me", 1), (third, None, 0)]


async def test_finishing_marks_replies_sent_and_messages_replied(db: Database) -> None:
    first, second = await _stored(db, 2)
    async with db.write() as s:
        replies = {}
        for message_id in (first, second):
            row = await inbox.load_inbound(s, message_id)
            assert row is not None
            reply_id = await inbox.add_reply(s, inbound=row, text="answer", meta={})
            assert reply_id is not None
            replies[message_id] = reply_id
    async with db.write() as s:  # the first reply was just posted; the second was marked sent before
        await inbox.finish_replied(s, [(first, replies[first], "P1"), (second, replies[second], None)])
    async with db.session() as s:
        rows = (await s.execute(text("SELECT id, status, platform_message_id FROM messages ORDER BY id"))).all()
    by_id = {r.id: (r.status, r.platform_message_id) for r in rows}
    assert by_id[first] == ("replied", "m0") and by_id[second] == ("replied", "m1")
    assert by_id[replies[first]] == ("sent", "P1")
    assert by_id[replies[second]][1] is None  # not posted by this finish: left as it was
