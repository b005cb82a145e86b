"""One customer's data: everything stored about them (right of access) and erasing it (right to erasure,
retention).

Erasing keeps the shape of the history so statistics hold: rows stay, with their references, kinds,
statuses and timestamps; what the customer wrote, what the bot and staff answered, the free text in case
details, notes and pending tasks, and names are replaced by `ERASED`. Platform ids stay: they are how a
later request about the same person is found. Making the old text unreadable in the database file is
`storage.maintenance`'s job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import MetaData, String, Table, Text, bindparam, exists, func, inspect, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .models import Case, CaseEvent, Conversation, Message, PendingTask, utcnow
from .statements import affected

ERASED = "[erased]"
# Keys whose string values are references or labels, not free text: kept by `scrub`.
KEPT_KEYS = frozenset({"ref", "kind", "status", "route", "routes", "notice", "about", "missing", "rma_number"})
# The staff loop's tables are read when present (reflected, so this module does not depend on them):
# ratings of the customer's cases, and queued staff posts whose payload may quote the customer.
RATINGS_TABLE = "case_ratings"
OUTBOX_TABLE = "staff_outbox"
_RATING_FREE_TEXT = ("comment", "text", "note", "feedback", "user_name")
_BATCH = 500


def scrub(value: Any, *, keep: frozenset[str] = KEPT_KEYS, key: str = "") -> Any:
    """`value` with every string replaced by ERASED, except under the keys in `keep`; numbers, booleans,
    None and the structure (keys, list lengths) stay."""
    if isinstance(value, dict):
        return {k: scrub(v, keep=keep, key=str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, keep=keep, key=key) for v in value]
    if isinstance(value, str) and key not in keep and value:
        return ERASED
    return value


def scrub_details(details: dict[str, Any], *, ref: str) -> dict[str, Any]:
    """A case's details without free text; a field that quotes the case's own reference keeps it."""
    return {k: (v if v == ref else scrub(v, key=k)) for k, v in (details or {}).items()}


@dataclass(frozen=True)
class CustomerData:
    """Every row about one customer, as ORM objects and reflected rows."""

    conversations: list[Conversation]
    messages: list[Message]
    cases: list[Case]
    events: dict[int, list[CaseEvent]]  # case id → its events, oldest first
    pending: list[PendingTask]
    ratings: list[dict[str, Any]]


def _of_customer(platform: str, customer_id: str) -> Any:
    return (Conversation.platform == platform) & (Conversation.customer_id == customer_id)


def _messages_of(platform: str, customer_id: str) -> Any:
    """Messages of the customer's conversations, and anything they wrote elsewhere."""
    in_theirs = Message.conversation_id.in_(select(Conversation.id).where(_of_customer(platform, customer_id)))
    theirs = (Message.platform == platform) & (Message.author_id == customer_id) & (Message.role == "customer")
    return or_(in_theirs, theirs)


async def _optional_table(session: AsyncSession, name: str) -> Table | None:
    def reflect(sync_session: Any) -> Table | None:
        connection = sync_session.connection()
        if not inspect(connection).has_table(name):
            return None
        return Table(name, MetaData(), autoload_with=connection)

    return await session.run_sync(reflect)


def _rows_of(table: Table, platform: str, customer_id: str, case_ids: Sequence[int]) -> Any:
    """The rows of an optional table about this customer: by case, or by customer and platform."""
    columns = table.c
    clauses: list[Any] = []
    if "case_id" in columns and case_ids:
        clauses.append(columns.case_id.in_(list(case_ids)))
    if "customer_id" in columns and "platform" in columns:
        clauses.append((columns.customer_id == customer_id) & (columns.platform == platform))
    return or_(*clauses) if clauses else None


async def load_customer(session: AsyncSession, *, platform: str, customer_id: str) -> CustomerData:
    conversations = list(
        (
            await session.execute(
                select(Conversation).where(_of_customer(platform, customer_id)).order_by(Conversation.id)
            )
        ).scalars()
    )
    messages = list(
        (
            await session.execute(select(Message).where(_messages_of(platform, customer_id)).order_by(Message.id))
        ).scalars()
    )
    cases = list(
        (
            await session.execute(
                select(Case).where(Case.platform == platform, Case.customer_id == customer_id).order_by(Case.id)
            )
        ).scalars()
    )
    events: dict[int, list[CaseEvent]] = {c.id: [] for c in cases}
    if cases:
        for event in (
            await session.execute(select(CaseEvent).where(CaseEvent.case_id.in_(list(events))).order_by(CaseEvent.id))
        ).scalars():
            events[event.case_id].append(event)
    pending = (
        list(
            (
                await session.execute(
                    select(PendingTask)
                    .where(PendingTask.conversation_id.in_([c.id for c in conversations]))
                    .order_by(PendingTask.id)
                )
            ).scalars()
        )
        if conversations
        else []
    )
    ratings: list[dict[str, Any]] = []
    table = await _optional_table(session, RATINGS_TABLE)
    where = _rows_of(table, platform, customer_id, list(events)) if table is not None else None
    if table is not None and where is not None:
        ratings = [dict(row._mapping) for row in (await session.execute(select(table).where(where)))]
    return CustomerData(
        conversations=conversations, messages=messages, cases=cases, events=events, pending=pending, ratings=ratings
    )


@dataclass(frozen=True)
class Erased:
    """What an erasure changed."""

    messages: int = 0
    cases: int = 0
    notes: int = 0
    pending: int = 0
    ratings: int = 0


async def _erase_messages(session: AsyncSession, where: Any) -> int:
    """Replace the text and scrub the metadata of every message matching `where` (not yet erased)."""
    rows = (await session.execute(select(Message.id, Message.meta).where(where, Message.text != ERASED))).all()
    messages = cast(Table, Message.__table__)
    statement = (
        update(messages)
        .where(messages.c.id == bindparam("b_id"))
        .values(text=ERASED, meta=bindparam("b_meta"), updated_at=bindparam("b_now"))
    )
    now = utcnow()
    for start in range(0, len(rows), _BATCH):
        await session.execute(
            statement,
            [{"b_id": r.id, "b_meta": scrub(r.meta or {}), "b_now": now} for r in rows[start : start + _BATCH]],
        )
    return len(rows)


async def _record_erased(session: AsyncSession, case_ids: Sequence[int], *, actor: str, note: str) -> None:
    if case_ids:
        await session.execute(
            cast(Table, CaseEvent.__table__).insert(),
            [
                {"case_id": cid, "action": "erased", "actor": actor[:160], "note": note, "created_at": utcnow()}
                for cid in case_ids
            ],
        )


async def erase_customer(session: AsyncSession, *, platform: str, customer_id: str, actor: str) -> Erased:
    """Erase one customer's texts and names (see the module docstring), and record an `erased` event
    with `actor` on each of their cases. Idempotent: a second run changes only what arrived since."""
    messages = await _erase_messages(session, _messages_of(platform, customer_id))
    cases = list(
        (
            await session.execute(select(Case).where(Case.platform == platform, Case.customer_id == customer_id))
        ).scalars()
    )
    for case in cases:
        case.details = scrub_details(case.details, ref=case.ref)
    case_ids = [c.id for c in cases]
    notes = 0
    if case_ids:
        notes = affected(
            await session.execute(
                update(CaseEvent)
                .where(
                    CaseEvent.case_id.in_(case_ids),
                    CaseEvent.note.is_not(None),
                    CaseEvent.note != ERASED,
                    CaseEvent.action.not_in(("assigned", "erased")),
                )
                .values(note=ERASED)
                .execution_options(synchronize_session=False)
            )
        )
    pending_rows = list(
        (
            await session.execute(
                select(PendingTask).where(
                    PendingTask.conversation_id.in_(select(Conversation.id).where(_of_customer(platform, customer_id)))
                )
            )
        ).scalars()
    )
    for task in pending_rows:
        task.params = scrub(task.params or {})
    ratings = await _erase_ratings(session, platform, customer_id, case_ids)
    await _scrub_outbox(session, platform, customer_id, case_ids)
    await session.flush()
    await _record_erased(session, case_ids, actor=actor, note="customer data erased")
    return Erased(messages=messages, cases=len(cases), notes=notes, pending=len(pending_rows), ratings=ratings)


async def _erase_ratings(session: AsyncSession, platform: str, customer_id: str, case_ids: Sequence[int]) -> int:
    """Free text of the customer's ratings removed (scores stay). Returns how many ratings there are."""
    table = await _optional_table(session, RATINGS_TABLE)
    where = _rows_of(table, platform, customer_id, case_ids) if table is not None else None
    if table is None or where is None:
        return 0
    values = {
        name: None for name in _RATING_FREE_TEXT if name in table.c and isinstance(table.c[name].type, (String, Text))
    }
    if values:
        await session.execute(update(table).where(where).values(**values))
    return int((await session.execute(select(func.count()).select_from(table).where(where))).scalar_one())


async def _scrub_outbox(session: AsyncSession, platform: str, customer_id: str, case_ids: Sequence[int]) -> None:
    """Queued or sent staff posts about the customer keep their shape, not their text."""
    table = await _optional_table(session, OUTBOX_TABLE)
    if table is None or "payload" not in table.c:
        return
    message_ids = select(Message.id).where(_messages_of(platform, customer_id))
    clauses = [table.c.case_id.in_(list(case_ids))] if case_ids and "case_id" in table.c else []
    if "message_id" in table.c:
        clauses.append(table.c.message_id.in_(message_ids))
    if not clauses:
        return
    rows = (await session.execute(select(table.c.id, table.c.payload).where(or_(*clauses)))).all()
    for row in rows:
        await session.execute(
            update(table)
            .where(table.c.id == row.id)
            .values(payload=scrub(row.payload or {}, keep=KEPT_KEYS | {"channel_id"}))
        )


async def expired_conversations(session: AsyncSession, *, closed_before: datetime, limit: int = _BATCH) -> list[int]:
    """Conversations whose transcript retention allows erasing: every case in them closed before
    `closed_before`, no message since, and some text not yet erased."""
    last_close = (
        select(func.max(CaseEvent.created_at))
        .join(Case, Case.id == CaseEvent.case_id)
        .where(Case.conversation_id == Conversation.id, CaseEvent.action == "closed")
        .scalar_subquery()
    )
    query = (
        select(Conversation.id)
        .where(
            exists().where(Case.conversation_id == Conversation.id),
            ~exists().where(Case.conversation_id == Conversation.id, Case.status != "closed"),
            last_close < closed_before,
            ~exists().where(Message.conversation_id == Conversation.id, Message.created_at >= closed_before),
            exists().where(Message.conversation_id == Conversation.id, Message.text != ERASED),
        )
        .order_by(Conversation.id)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def erase_transcripts(session: AsyncSession, conversation_ids: Sequence[int], *, actor: str, note: str) -> int:
    """Erase the messages of these conversations (their cases stay as they are) and record `erased` on
    their cases. Returns how many messages were erased."""
    if not conversation_ids:
        return 0
    erased = await _erase_messages(session, Message.conversation_id.in_(list(conversation_ids)))
    case_ids = list(
        (await session.execute(select(Case.id).where(Case.conversation_id.in_(list(conversation_ids))))).scalars()
    )
    await _record_erased(session, case_ids, actor=actor, note=note)
    return erased
