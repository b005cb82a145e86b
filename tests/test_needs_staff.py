"""One definition of "needs staff": the case module's queue, the console's queue and the staff loop's
cards all read the `needs_staff` flag, which opening a hand-off or technical case sets; migration 0006
sets it on the cases opened before."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text, update

from bot.cases import Actor
from bot.console import queries as console
from bot.staff.cards import needs_staff
from bot.wiring import shell_chat
from storage import cases as case_store
from storage import migrate
from storage.db import Database
from storage.models import Case
from tests.harness.cases import events_of, seed_in

STAFF = Actor("shell", "S1", is_staff=True)


async def _both_queues(services: Any) -> tuple[list[str], list[str]]:
    found = await services.cases.queue(viewer=STAFF)
    async with services.db.session() as s:
        rows = await console.queue(s)
        size = await console.queue_size(s)
    assert found.total == size == len(rows)
    return [e.case.ref for e in found.entries], [r.ref for r in rows]


async def test_a_technical_case_is_in_both_queues(services: Any) -> None:
    tech = (await shell_chat(services).send("The app crashes with error 0x80070005 every time I open settings")).result
    assert tech is not None and [c.kind for c in tech.cases] == ["technical"]
    ref = tech.cases[0].ref
    async with services.db.session() as s:
        case = await case_store.get_case(s, ref)
    assert case is not None and case.needs_staff and needs_staff(case)  # the staff loop cards it
    module_queue, console_queue = await _both_queues(services)
    assert module_queue == console_queue == [ref]
    # The technical worker did not flag it: its history says it was opened, not flagged.
    [created] = await events_of(services.db, ref)
    assert created.action == "created" and created.note is None


async def test_the_queues_agree_on_every_kind(services: Any) -> None:
    async with services.db.write() as s:
        human = await seed_in(s, kind="human")
        technical = await seed_in(s, kind="technical")
        await seed_in(s, kind="return")  # the bot settled it: in neither queue
        flagged = await seed_in(s, kind="billing")
        await s.execute(update(Case).where(Case.id == flagged.id).values(needs_staff=True))
        closed = await seed_in(s, kind="technical")
        await s.execute(update(Case).where(Case.id == closed.id).values(status="closed"))
    module_queue, console_queue = await _both_queues(services)
    assert module_queue == console_queue == [human.ref, technical.ref, flagged.ref]


async def _revision(db: Database, revision: str) -> None:
    """The database at `revision`, down or up (PostgreSQL test databases arrive migrated to head)."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    def _move(connection: Any) -> None:
        current = MigrationContext.configure(connection).get_current_revision()
        cfg = migrate.alembic_config(db.url)
        cfg.attributes["connection"] = connection
        if current is not None and current > revision:
            command.downgrade(cfg, revision)
        else:
            command.upgrade(cfg, revision)

    async with db.connection() as conn, conn.begin():
        await conn.run_sync(_move)


async def test_migration_0006_flags_the_staff_kinds_opened_before(db_url: str) -> None:
    db = Database(db_url)
    try:
        await _revision(db, "0005")
        async with db.write() as s:
            cases = {kind: await seed_in(s, kind=kind) for kind in ("human", "technical", "return")}
            # As opened before 0006: a staff kind was in the queue by its kind alone, unflagged.
            await s.execute(text("UPDATE cases SET needs_staff = false"))
        await migrate.upgrade(db)
        async with db.session() as s:
            flags = {kind: (await case_store.get_case(s, c.ref)).needs_staff for kind, c in cases.items()}  # type: ignore[union-attr]
            queued, total = await case_store.staff_queue(s)
        assert flags == {"human": True, "technical": True, "return": False}
        assert total == 2 and {c.ref for c in queued} == {cases["human"].ref, cases["technical"].ref}
    finally:
        await db.aclose()
