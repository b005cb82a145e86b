"""Storage: migrations, SQLite settings, inbox deduplication and claiming, idempotent cases."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from storage import case_open, inbox, inbox_claims, migrate
from storage import cases as case_store
from storage.case_open import CaseSpec
from storage.db import Database


async def _db(url: str) -> Database:
    db = Database(url)
    await migrate.upgrade(db)
    return db


async def _message(db: Database, mid: str = "m1"):  # type: ignore[no-untyped-def]
    async with db.write() as s:
        stored = await inbox.store_inbound(
            s,
            platform="shell",
            channel_id="c",
            thread_id="t",
            customer_id="u1",
            platform_message_id=mid,
            author_id="u1",
            text="hi",
        )
        return stored, stored.created


async def test_migration_creates_schema_and_is_current(db_url: str) -> None:
    db = await _db(db_url)
    try:
        assert await migrate.is_current(db)
        from sqlalchemy import inspect

        async with db.engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
            if db.is_sqlite:
                mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar_one()
                timeout = (await conn.execute(text("PRAGMA busy_timeout"))).scalar_one()
                assert mode == "wal" and (timeout >= 5000 or (timeout == 0 and db.busy_timeout_s >= 5))
        assert {"conversations", "messages", "cases", "case_events", "pending_tasks", "faq_sets"} <= tables
        await migrate.upgrade(db)  # idempotent
    finally:
        await db.aclose()


async def test_inbound_message_is_stored_once(db_url: str) -> None:
    db = await _db(db_url)
    try:
        first, created = await _message(db)
        again, created_again = await _message(db)
        assert created and not created_again and first.id == again.id
    finally:
        await db.aclose()


async def test_claim_is_exclusive_until_the_lease_expires(db_url: str) -> None:
    db = await _db(db_url)
    try:
        message, _ = await _message(db)
        async with db.write() as s:
            assert await inbox_claims.claim_message(s, message.id, worker="a", lease_s=60)
        async with db.write() as s:
            assert not await inbox_claims.claim_message(s, message.id, worker="b", lease_s=60)
        async with db.write() as s:  # worker a died: its lease is in the past
            from datetime import UTC, datetime

            from storage.models import Message

            row = await s.get(Message, message.id)
            row.claimed_until = datetime(2000, 1, 1, tzinfo=UTC)
        async with db.session() as s:
            assert [m.id for m in await inbox_claims.unfinished_messages(s)] == [message.id]
        async with db.write() as s:
            assert await inbox_claims.claim_message(s, message.id, worker="b", lease_s=60)
    finally:
        await db.aclose()


async def test_case_is_opened_once_per_task_with_unique_refs(db_url: str) -> None:
    db = await _db(db_url)
    try:
        message, _ = await _message(db)

        async def open_one(key: str):  # type: ignore[no-untyped-def]
            async with db.write() as s:
                [opened] = await case_open.open_cases(
                    s,
                    [CaseSpec(kind="return", task_key=key, details={"rma_number": "{ref}"})],
                    platform="shell",
                    customer_id="u1",
                    conversation_id=message.conversation_id,
                    message_id=message.id,
                )
                return opened

        results = await asyncio.gather(open_one("0:return"), open_one("0:return"), open_one("1:return"))
        refs = {case.ref for case, _ in results}
        assert len(refs) == 2
        assert sum(1 for _, created in results if created) == 2
        for case, _ in results:
            assert case.ref.startswith("RMA-") and case.details["rma_number"] == case.ref
            async with db.session() as s:
                events = await case_store.case_events(s, case.id)
            assert [e.action for e in events] == ["created"]
    finally:
        await db.aclose()


async def test_one_reply_per_inbound_message(db_url: str) -> None:
    db = await _db(db_url)
    try:
        stored, _ = await _message(db)
        async with db.write() as s:
            message = await inbox.load_inbound(s, stored.id)
            assert message is not None
            first = await inbox.add_reply(s, inbound=message, text="one")
        async with db.write() as s:
            second = await inbox.add_reply(s, inbound=message, text="two")
            reply = await inbox.reply_for(s, message.id)
        assert first is not None and second is None  # the second reply was not stored
        assert reply is not None and reply.id == first and reply.text == "one"
    finally:
        await db.aclose()


async def test_a_batch_claim_on_postgresql_is_planned_afresh(db_url: str) -> None:
    """A worker polls an empty inbox; PostgreSQL must not keep a plan costed on that empty table for the
    claim (docs/performance.md: 72 ms a claim instead of 16 with 2,000 waiting)."""
    db = await _db(db_url)
    try:
        message, _ = await _message(db)
        async with db.write() as s:
            claimed = await inbox_claims.claim_waiting(s, worker="w", lease_s=60, limit=4, platforms=("shell",))
            assert [m for m, _ in claimed] == [message.id]
            if db_url.startswith("postgresql"):
                mode = (await s.execute(text("SHOW plan_cache_mode"))).scalar_one()
                assert mode == "force_custom_plan"  # for this transaction only
        if db_url.startswith("postgresql"):
            async with db.session() as s:
                assert (await s.execute(text("SHOW plan_cache_mode"))).scalar_one() == "auto"
    finally:
        await db.aclose()
