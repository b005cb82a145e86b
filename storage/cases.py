"""Cases and their append-only event history."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from .models import Case, CaseEvent, Conversation, Message, PendingTask
from .statements import PerDialect

REF_PREFIXES = {"billing": "INV_CASE_", "return": "RMA-", "status": "STS-", "technical": "TEC-", "human": "HUM-"}
# Crockford base32 without I, L, O, U: unambiguous when read aloud or retyped by a customer.
_REF_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_REF_LENGTH = 8
# The one definition of a case's statuses (the lifecycle module holds the transitions between them).
STATUSES = ("open", "in_progress", "resolved", "closed")
OPEN_STATUSES = ("open", "in_progress")


def new_ref(kind: str) -> str:
    # 32 symbols: the low five bits of a random byte pick one uniformly (one call instead of eight).
    return REF_PREFIXES.get(kind, "CASE-") + "".join(_REF_ALPHABET[b & 31] for b in secrets.token_bytes(_REF_LENGTH))


@dataclass(frozen=True)
class CaseFilter:
    platform: str | None = None
    customer_id: str | None = None
    status: str | None = None
    kind: str | None = None
    since: datetime | None = None
    assignee: str | None = None


@dataclass(frozen=True)
class CaseSpec:
    """One task's case for `open_cases`."""

    kind: str
    task_key: str
    details: dict[str, Any]
    subject_key: str | None = None
    needs_staff: bool = False
    ref: str | None = None  # decided beforehand (sent to a back office); a new one when None


_cases = cast(Table, Case.__table__)
_CASE_COLUMNS = (
    _cases.c.id,
    _cases.c.ref,
    _cases.c.kind,
    _cases.c.status,
    _cases.c.task_key,
    _cases.c.subject_key,
    _cases.c.details,
)
_CASES_OF_TASKS = select(*_CASE_COLUMNS).where(
    _cases.c.message_id == bindparam("b_message"), _cases.c.task_key.in_(bindparam("b_keys", expanding=True))
)
_OPEN_BY_SUBJECT = (
    select(*_CASE_COLUMNS)
    .where(
        _cases.c.platform == bindparam("b_platform"),
        _cases.c.customer_id == bindparam("b_customer"),
        _cases.c.subject_key.in_(bindparam("b_subjects", expanding=True)),
        _cases.c.status.in_(OPEN_STATUSES),
    )
    .order_by(_cases.c.id)
)
_NEW_CASES = PerDialect(
    lambda insert: insert(_cases).on_conflict_do_nothing().returning(_cases.c.id, _cases.c.task_key)
)
_NEW_EVENTS = insert(cast(Table, CaseEvent.__table__))


@dataclass(frozen=True)
class CaseRow:
    """A case as `open_cases` returns it: plain columns, no ORM object."""

    id: int
    ref: str
    kind: str
    status: str
    task_key: str
    subject_key: str | None
    details: dict[str, Any]

    @classmethod
    def of(cls, case: Any) -> CaseRow:
        """From a `Case` or a result row with the same columns."""
        return cls(
            id=case.id,
            ref=case.ref,
            kind=case.kind,
            status=case.status,
            task_key=case.task_key,
            subject_key=case.subject_key,
            details=case.details,
        )


async def open_cases(
    session: AsyncSession,
    specs: Sequence[CaseSpec],
    *,
    platform: str,
    customer_id: str,
    conversation_id: int,
    message_id: int,
    actor: str = "bot",
    first_attempt: bool = False,
) -> list[tuple[CaseRow, bool]]:
    """Open the cases of one message's tasks, once: the one way a case is opened. Returns (case,
    created) per task, in order.

    Idempotent per (message, task): reprocessing a message returns the cases it already opened. A task
    about a subject that already has an open case of this customer (the same order, product or invoice)
    returns that case, so an RMA number is issued once per return request. Two queries and one insert of
    all new cases (plus one of their events); a conflict on insert (a reference collision, a concurrent
    writer) falls back to one task at a time. `first_attempt`: the message was never processed before, so
    none of its tasks has a case yet (that query is skipped)."""
    if not specs:
        return []
    existing = (
        {}
        if first_attempt
        else {
            row.task_key: CaseRow.of(row)
            for row in (
                await session.execute(_CASES_OF_TASKS, {"b_message": message_id, "b_keys": [s.task_key for s in specs]})
            )
        }
    )
    subjects = {s.subject_key for s in specs if s.subject_key is not None and s.task_key not in existing}
    open_by_subject: dict[tuple[str, str], CaseRow] = {}
    if subjects:
        for row in await session.execute(
            _OPEN_BY_SUBJECT, {"b_platform": platform, "b_customer": customer_id, "b_subjects": sorted(subjects)}
        ):
            open_by_subject.setdefault((row.kind, row.subject_key or ""), CaseRow.of(row))
    results: list[tuple[CaseRow, bool]] = []
    new: dict[str, dict[str, Any]] = {}  # task key → the new case's columns
    for spec in specs:
        found = existing.get(spec.task_key)
        if found is None and spec.subject_key is not None:
            found = open_by_subject.get((spec.kind, spec.subject_key))
        if found is not None:
            results.append((found, False))
            continue
        ref = spec.ref or new_ref(spec.kind)
        values: dict[str, Any] = {
            "ref": ref,
            "kind": spec.kind,
            "status": "open",
            "platform": platform,
            "customer_id": customer_id,
            "conversation_id": conversation_id,
            "message_id": message_id,
            "task_key": spec.task_key,
            "subject_key": spec.subject_key,
            "needs_staff": spec.needs_staff,
            "assignee": None,
            "details": _filled(spec.details, ref),
        }
        case = CaseRow(
            id=0,
            ref=ref,
            kind=spec.kind,
            status="open",
            task_key=spec.task_key,
            subject_key=spec.subject_key,
            details=values["details"],
        )
        if spec.subject_key is not None:  # a later task about the same subject reuses it
            open_by_subject[(spec.kind, spec.subject_key)] = case
        new[spec.task_key] = values
        results.append((case, True))
    if not new:
        return results
    ids = {row.task_key: row.id for row in await session.execute(_NEW_CASES(session), list(new.values()))}
    if ids:
        await session.execute(
            _NEW_EVENTS,
            [
                {
                    "case_id": ids[key],
                    "action": "created",
                    "actor": actor,
                    "note": "flagged for staff" if values["needs_staff"] else None,
                }
                for key, values in new.items()
                if key in ids
            ],
        )
    if len(ids) < len(new):  # one at a time (it finds the ones inserted above)
        return [
            await _open_one(
                session,
                spec,
                inserted=spec.task_key in ids,
                platform=platform,
                customer_id=customer_id,
                conversation_id=conversation_id,
                message_id=message_id,
                actor=actor,
            )
            for spec in specs
        ]
    by_ref = {values["ref"]: ids[key] for key, values in new.items()}
    return [
        (dataclasses.replace(case, id=by_ref[case.ref]) if case.id == 0 else case, created) for case, created in results
    ]


async def _open_one(
    session: AsyncSession,
    spec: CaseSpec,
    *,
    inserted: bool,
    platform: str,
    customer_id: str,
    conversation_id: int,
    message_id: int,
    actor: str,
) -> tuple[CaseRow, bool]:
    """One task's case, the slow and careful way (ORM, a savepoint per attempt): the fallback of
    `open_cases` after a conflict. `inserted`: `open_cases` already inserted this task's case."""
    existing = (
        await session.execute(select(Case).where(Case.message_id == message_id, Case.task_key == spec.task_key))
    ).scalar_one_or_none()
    if existing is not None:
        return CaseRow.of(existing), inserted
    if spec.subject_key is not None:
        same_subject = (
            await session.execute(
                select(Case)
                .where(
                    Case.platform == platform,
                    Case.customer_id == customer_id,
                    Case.kind == spec.kind,
                    Case.subject_key == spec.subject_key,
                    Case.status.in_(OPEN_STATUSES),
                )
                .order_by(Case.id)
                .limit(1)
            )
        ).scalar_one_or_none()
        if same_subject is not None:
            return CaseRow.of(same_subject), False
    wanted = spec.ref  # decided beforehand (sent to a back office): tried first
    for _ in range(5):  # a reference collision is astronomically rare; retry with a fresh one
        ref, wanted = wanted or new_ref(spec.kind), None
        case = Case(
            ref=ref,
            kind=spec.kind,
            status="open",
            platform=platform,
            customer_id=customer_id,
            conversation_id=conversation_id,
            message_id=message_id,
            task_key=spec.task_key,
            subject_key=spec.subject_key,
            details=_filled(spec.details, ref),
            needs_staff=spec.needs_staff,
        )
        try:
            async with session.begin_nested():
                session.add(case)
                await session.flush()
                session.add(
                    CaseEvent(
                        case_id=case.id,
                        action="created",
                        actor=actor,
                        note="flagged for staff" if spec.needs_staff else None,
                    )
                )
                await session.flush()
        except IntegrityError:
            again = (
                await session.execute(select(Case).where(Case.message_id == message_id, Case.task_key == spec.task_key))
            ).scalar_one_or_none()
            if again is not None:
                return CaseRow.of(again), False
            continue
        return CaseRow.of(case), True
    raise RuntimeError("could not allocate a unique case reference")


def _filled(details: dict[str, Any], ref: str) -> dict[str, Any]:
    """A worker may quote its own reference (the RMA number is the return's reference): "{ref}"."""
    return {k: (ref if v == "{ref}" else v) for k, v in details.items()}


async def get_case(session: AsyncSession, ref: str) -> Case | None:
    ref = (ref or "").strip().upper()
    if not ref or len(ref) > 32:
        return None
    return (await session.execute(select(Case).where(Case.ref == ref))).scalar_one_or_none()


def _filtered(query: Any, flt: CaseFilter) -> Any:
    if flt.platform:
        query = query.where(Case.platform == flt.platform)
    if flt.customer_id:
        query = query.where(Case.customer_id == flt.customer_id)
    if flt.status:
        query = query.where(Case.status == flt.status)
    if flt.kind:
        query = query.where(Case.kind == flt.kind)
    if flt.since:
        query = query.where(Case.created_at >= flt.since)
    if flt.assignee:
        query = query.where(Case.assignee == flt.assignee)
    return query


async def list_cases(
    session: AsyncSession, flt: CaseFilter = CaseFilter(), *, limit: int | None = 50, offset: int = 0
) -> list[Case]:
    """Cases newest first."""
    query = _filtered(select(Case), flt).order_by(Case.created_at.desc(), Case.id.desc()).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list((await session.execute(query)).scalars())


async def count_cases(session: AsyncSession, flt: CaseFilter = CaseFilter()) -> int:
    return int((await session.execute(_filtered(select(func.count()).select_from(Case), flt))).scalar_one())


async def case_events(session: AsyncSession, case_id: int, *, newest: int | None = None) -> list[CaseEvent]:
    """A case's history, oldest first; `newest=n`: only the last n events, newest first."""
    query = select(CaseEvent).where(CaseEvent.case_id == case_id)
    query = query.order_by(CaseEvent.id) if newest is None else query.order_by(CaseEvent.id.desc()).limit(newest)
    return list((await session.execute(query)).scalars())


async def iter_cases(
    session: AsyncSession, flt: CaseFilter = CaseFilter(), *, batch_size: int = 500, limit: int | None = None
) -> AsyncIterator[list[Case]]:
    """Every matching case, newest first (by id), in batches: an export of many thousands of cases
    holds one batch in memory at a time. Keyset paging (id < last seen) keeps each query cheap."""
    remaining = limit
    last_id: int | None = None
    while remaining is None or remaining > 0:
        size = batch_size if remaining is None else min(batch_size, remaining)
        query = _filtered(select(Case), flt).order_by(Case.id.desc()).limit(size)
        if last_id is not None:
            query = query.where(Case.id < last_id)
        rows = list((await session.execute(query)).scalars())
        if not rows:
            return
        yield rows
        last_id = rows[-1].id
        if remaining is not None:
            remaining -= len(rows)


@dataclass(frozen=True)
class CaseActivity:
    """What an export row needs from a case's history and conversation, without loading the events."""

    events: int = 0
    last_action: str | None = None
    last_at: datetime | None = None
    closed_at: datetime | None = None
    close_reason: str | None = None
    channel_id: str = ""
    thread_id: str = ""


async def case_activity(session: AsyncSession, cases: Sequence[Case]) -> dict[int, CaseActivity]:
    """Event counts, the last event, the latest close and the conversation's thread of each case."""
    ids = [c.id for c in cases]
    if not ids:
        return {}
    counts = dict(
        (
            await session.execute(
                select(CaseEvent.case_id, func.count()).where(CaseEvent.case_id.in_(ids)).group_by(CaseEvent.case_id)
            )
        ).all()
    )
    last_ids = select(func.max(CaseEvent.id)).where(CaseEvent.case_id.in_(ids)).group_by(CaseEvent.case_id)
    last = {
        e.case_id: e for e in (await session.execute(select(CaseEvent).where(CaseEvent.id.in_(last_ids)))).scalars()
    }
    close_ids = (
        select(func.max(CaseEvent.id))
        .where(CaseEvent.case_id.in_(ids), CaseEvent.action == "closed")
        .group_by(CaseEvent.case_id)
    )
    closes = {
        e.case_id: e for e in (await session.execute(select(CaseEvent).where(CaseEvent.id.in_(close_ids)))).scalars()
    }
    threads = {
        row.id: row
        for row in (
            await session.execute(
                select(Conversation.id, Conversation.channel_id, Conversation.thread_id).where(
                    Conversation.id.in_(sorted({c.conversation_id for c in cases}))
                )
            )
        ).all()
    }
    out: dict[int, CaseActivity] = {}
    for c in cases:
        ev, thread = last.get(c.id), threads.get(c.conversation_id)
        closed = closes.get(c.id) if c.status == "closed" else None  # a reopened case has no current close
        out[c.id] = CaseActivity(
            events=int(counts.get(c.id, 0)),
            last_action=ev.action if ev else None,
            last_at=ev.created_at if ev else None,
            closed_at=closed.created_at if closed else None,
            close_reason=closed.note if closed else None,
            channel_id=thread.channel_id if thread else "",
            thread_id=thread.thread_id if thread else "",
        )
    return out


# --- a case's own transcript --------------------------------------------------------------------


async def case_messages(
    session: AsyncSession, case: Case, *, include_internal: bool, limit: int, offset: int = 0
) -> tuple[list[Message], int]:
    """The messages of one case, oldest first, one page, and how many there are in all.

    A case's messages start at the customer message that opened it (or, for a task that waited for the
    customer's answer, at the message that asked for it) and end at its latest close, if it is closed;
    the thread's earlier and later messages belong to other cases."""
    first = (
        await session.execute(
            select(func.min(PendingTask.message_id)).where(
                PendingTask.conversation_id == case.conversation_id,
                PendingTask.resolved_by_message_id == case.message_id,
                PendingTask.kind == case.kind,
            )
        )
    ).scalar()
    query = select(Message).where(
        Message.conversation_id == case.conversation_id, Message.id >= min(case.message_id, first or case.message_id)
    )
    if case.status == "closed":
        closed_at = (
            await session.execute(
                select(func.max(CaseEvent.created_at)).where(CaseEvent.case_id == case.id, CaseEvent.action == "closed")
            )
        ).scalar()
        if closed_at is not None:
            query = query.where(Message.created_at <= closed_at)
    if not include_internal:
        query = query.where(Message.internal.is_(False))
    total = int((await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one())
    rows = await session.execute(query.order_by(Message.created_at, Message.id).limit(limit).offset(offset))
    return list(rows.scalars()), total


# --- the staff queue -----------------------------------------------------------------------------

STAFF_KINDS = ("human", "technical")  # a hand-off, or a problem the bot cannot fix, always needs a person


def _needs_staff(query: Any) -> Any:
    return query.where(Case.status.in_(OPEN_STATUSES), or_(Case.needs_staff.is_(True), Case.kind.in_(STAFF_KINDS)))


async def staff_queue(session: AsyncSession, *, limit: int | None = 50, offset: int = 0) -> tuple[list[Case], int]:
    """Open cases that need staff: unclaimed first, then oldest first. Returns (page, total)."""
    query = _needs_staff(select(Case)).order_by(Case.assignee.is_not(None), Case.created_at, Case.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    total = int((await session.execute(_needs_staff(select(func.count()).select_from(Case)))).scalar_one())
    return list((await session.execute(query)).scalars()), total
