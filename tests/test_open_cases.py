"""`open_cases` (all tasks of one message at once): the same case again for the same task, an open case
of the same subject reused, a subject shared by two tasks of one message opened once, and a history
event for every new case."""

from __future__ import annotations

from storage import case_open, inbox, migrate
from storage import cases as case_store
from storage.case_open import CaseSpec
from storage.db import Database


async def _setup(db_url: str) -> tuple[Database, int, int, int]:
    db = Database(db_url)
    await migrate.upgrade(db)
    async with db.write() as s:
        first, second = [
            await inbox.store_inbound(
                s,
                platform="shell",
                channel_id="c",
                thread_id="t",
                customer_id="u1",
                platform_message_id=mid,
                author_id="u1",
                text=text,
            )
            for mid, text in (("m1", "one"), ("m2", "two"))
        ]
    return db, first.conversation_id, first.id, second.id


def _spec(key: str, kind: str = "status", subject: str | None = None) -> CaseSpec:
    return CaseSpec(kind=kind, task_key=key, details={"ref_copy": "{ref}", "x": key}, subject_key=subject)


async def test_new_cases_are_opened_with_their_events(db_url: str) -> None:
    db, conv, first, _ = await _setup(db_url)
    try:
        async with db.write() as s:
            opened = await case_open.open_cases(
                s,
                [
                    _spec("0:status", subject="order:a"),
                    _spec("1:return", "return", "product:b"),
                    _spec("2:technical", "technical"),
                ],
                platform="shell",
                customer_id="u1",
                conversation_id=conv,
                message_id=first,
            )
        assert [created for _, created in opened] == [True, True, True]
        assert [c.kind for c, _ in opened] == ["status", "return", "technical"]
        assert len({c.ref for c, _ in opened}) == 3
        assert all(c.details["ref_copy"] == c.ref for c, _ in opened)
        async with db.session() as s:
            for case, _ in opened:
                assert [e.action for e in await case_store.case_events(s, case.id)] == ["created"]
    finally:
        await db.aclose()


async def test_same_task_and_same_subject_reuse_cases(db_url: str) -> None:
    db, conv, first, second = await _setup(db_url)
    try:
        async with db.write() as s:
            [(order, _)] = await case_open.open_cases(
                s,
                [_spec("0:status", subject="order:a")],
                platform="shell",
                customer_id="u1",
                conversation_id=conv,
                message_id=first,
            )
        async with db.write() as s:  # the same message again: the same case
            [(again, created)] = await case_open.open_cases(
                s,
                [_spec("0:status", subject="order:a")],
                platform="shell",
                customer_id="u1",
                conversation_id=conv,
                message_id=first,
            )
        assert (again.ref, created) == (order.ref, False)
        async with db.write() as s:  # a later message: the open order is reused, a new subject shared once
            opened = await case_open.open_cases(
                s,
                [
                    _spec("0:status", subject="order:a"),
                    _spec("1:return", "return", "product:z"),
                    _spec("2:return", "return", "product:z"),
                ],
                platform="shell",
                customer_id="u1",
                conversation_id=conv,
                message_id=second,
            )
        assert (opened[0][0].ref, opened[0][1]) == (order.ref, False)
        assert opened[1][1] is True and (opened[2][0].ref, opened[2][1]) == (opened[1][0].ref, False)
        async with db.write() as s:  # and a single task agrees
            [(single, created)] = await case_open.open_cases(
                s,
                [CaseSpec(kind="return", task_key="9:return", details={}, subject_key="product:z")],
                platform="shell",
                customer_id="u1",
                conversation_id=conv,
                message_id=second,
            )
        assert (single.ref, created) == (opened[1][0].ref, False)
    finally:
        await db.aclose()
