"""Cases and their append-only event history."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from .models import Case, CaseEvent, Conversation, utcnow
from .statements import PerDialect

REF_PREFIXES = {"billing": "INV_CASE_", "return": "RMA-", "status": "STS-", "technical": "TEC-", "human": "HUM-"}
# Crockford base32 without I, L, O, U: unambiguous when read aloud or retyped by a customer.
_REF_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_REF_LENGTH = 8
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


async def open_case(session: AsyncSession, *, kind: str, platform: str, customer_id: str, conversation_id: int,
                    message_id: int, task_key: str, details: dict[str, Any], subject_key: str | None = None,
                    needs_staff: bool = False, actor: str = "bot") -> tuple[Case, bool]:
    """Open the case of one task, once. Returns (case, created).

    Idempotent per (message, task): reprocessing a message returns the case it already opened. A task
    about a subject that already has an open case of this customer (the same order, product or invoice)
    returns that case, so an RMA number is issued once per return request.
    """
    existing = (await session.execute(
        select(Case).where(Case.message_id == message_id, Case.task_key == task_key))).scalar_one_or_none()
    if existing is not None:
        return existing, False
    if subject_key is not None:
        same_subject = (await session.execute(
            select(Case).where(Case.platform == platform, Case.customer_id == customer_id, Case.kind == kind,
                               Case.subject_key == subject_key, Case.status.in_(OPEN_STATUSES))
            .order_by(Case.id).limit(1))).scalar_one_or_none()
        if same_subject is not None:
            return same_subject, False
    for _ in range(5):  # a reference collision is astronomically rare; retry with a fresh one
        ref = new_ref(kind)
        # A worker may quote its own reference (the RMA number is the return's reference).
        filled = {k: (ref if v == "{ref}" else v) for k, v in details.items()}
        case = Case(ref=ref, kind=kind, status="open", platform=platform, customer_id=customer_id,
                    conversation_id=conversation_id, message_id=message_id, task_key=task_key,
                    subject_key=subject_key, details=filled, needs_staff=needs_staff)
        try:
            async with session.begin_nested():
                session.add(case)
                await session.flush()
                session.add(CaseEvent(case_id=case.id, action="created", actor=actor,
                                      note="flagged for staff" if needs_staff else None))
                await session.flush()
        except IntegrityError:
            again = (await session.execute(
                select(Case).where(Case.message_id == message_id, Case.task_key == task_key))).scalar_one_or_none()
            if again is not None:
                return again, False
            continue
        return case, True
    raise RuntimeError("could not allocate a unique case reference")


@dataclass(frozen=True)
class CaseSpec:
    """One task's case for `open_cases`: the arguments of `open_case` that differ per task."""

    kind: str
    task_key: str
    details: dict[str, Any]
    subject_key: str | None = None
    needs_staff: bool = False
    ref: str | None = None  # decided beforehand (sent to a back office); a new one when None


_cases = Case.__table__
_CASE_COLUMNS = (_cases.c.id, _cases.c.ref, _cases.c.kind, _cases.c.status, _cases.c.task_key, _cases.c.subject_key,
                 _cases.c.details)
_CASES_OF_TASKS = select(*_CASE_COLUMNS).where(_cases.c.message_id == bindparam("b_message"),
                                               _cases.c.task_key.in_(bindparam("b_keys", expanding=True)))
_OPEN_BY_SUBJECT = (select(*_CASE_COLUMNS)
                    .where(_cases.c.platform == bindparam("b_platform"),
                           _cases.c.customer_id == bindparam("b_customer"),
                           _cases.c.subject_key.in_(bindparam("b_subjects", expanding=True)),
                           _cases.c.status.in_(OPEN_STATUSES))
                    .order_by(_cases.c.id))
_NEW_CASES = PerDialect(lambda insert: insert(_cases).on_conflict_do_nothing()
                        .returning(_cases.c.id, _cases.c.task_key))
_NEW_EVENTS = insert(CaseEvent.__table__)


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
        return cls(id=case.id, ref=case.ref, kind=case.kind, status=case.status, task_key=case.task_key,
                   subject_key=case.subject_key, details=case.details)


async def open_cases(session: AsyncSession, specs: Sequence[CaseSpec], *, platform: str, customer_id: str,
                     conversation_id: int, message_id: int, actor: str = "bot",
                     first_attempt: bool = False) -> list[tuple[CaseRow, bool]]:
    """`open_case` for every task of one message, in order, with the same results — in two queries
    and one insert of all new cases (plus one of their events) instead of six ORM statements per
    case. A conflict on insert (a reference collision, a concurrent writer) falls back to `open_case`
    for the tasks not inserted. `first_attempt`: the message was never processed before, so none of its
    tasks has a case yet (that query is skipped)."""
    if not specs:
        return []
    existing = {} if first_attempt else {row.task_key: CaseRow.of(row) for row in (await session.execute(
        _CASES_OF_TASKS, {"b_message": message_id, "b_keys": [s.task_key for s in specs]}))}
    subjects = {s.subject_key for s in specs if s.subject_key is not None and s.task_key not in existing}
    open_by_subject: dict[tuple[str, str], CaseRow] = {}
    if subjects:
        for row in await session.execute(_OPEN_BY_SUBJECT, {"b_platform": platform, "b_customer": customer_id,
                                                            "b_subjects": sorted(subjects)}):
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
            "ref": ref, "kind": spec.kind, "status": "open", "platform": platform, "customer_id": customer_id,
            "conversation_id": conversation_id, "message_id": message_id, "task_key": spec.task_key,
            "subject_key": spec.subject_key, "needs_staff": spec.needs_staff, "assignee": None,
            "details": {k: (ref if v == "{ref}" else v) for k, v in spec.details.items()}}
        case = CaseRow(id=0, ref=ref, kind=spec.kind, status="open", task_key=spec.task_key,
                       subject_key=spec.subject_key, details=values["details"])
        if spec.subject_key is not None:  # a later task about the same subject reuses it, as open_case would
            open_by_subject[(spec.kind, spec.subject_key)] = case
        new[spec.task_key] = values
        results.append((case, True))
    if not new:
        return results
    ids = {row.task_key: row.id for row in await session.execute(_NEW_CASES(session), list(new.values()))}
    if ids:
        await session.execute(_NEW_EVENTS, [
            {"case_id": ids[key], "action": "created", "actor": actor,
             "note": "flagged for staff" if values["needs_staff"] else None}
            for key, values in new.items() if key in ids])
    if len(ids) < len(new):  # one at a time, as open_case does (it finds the ones inserted above)
        return [await _open_one(session, spec, inserted=spec.task_key in ids, platform=platform,
                                customer_id=customer_id, conversation_id=conversation_id, message_id=message_id,
                                actor=actor) for spec in specs]
    by_ref = {values["ref"]: ids[key] for key, values in new.items()}
    return [(dataclasses.replace(case, id=by_ref[case.ref]) if case.id == 0 else case, created)
            for case, created in results]


async def _open_one(session: AsyncSession, spec: CaseSpec, *, inserted: bool, platform: str, customer_id: str,
                    conversation_id: int, message_id: int, actor: str) -> tuple[CaseRow, bool]:
    case, created = await open_case(session, kind=spec.kind, platform=platform, customer_id=customer_id,
                                    conversation_id=conversation_id, message_id=message_id, task_key=spec.task_key,
                                    details=spec.details, subject_key=spec.subject_key,
                                    needs_staff=spec.needs_staff, actor=actor)
    return CaseRow.of(case), created or inserted


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


async def list_cases(session: AsyncSession, flt: CaseFilter = CaseFilter(), *, limit: int | None = 50,
                     offset: int = 0) -> list[Case]:
    """Cases newest first."""
    query = _filtered(select(Case), flt).order_by(Case.created_at.desc(), Case.id.desc()).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list((await session.execute(query)).scalars())


async def count_cases(session: AsyncSession, flt: CaseFilter = CaseFilter()) -> int:
    return int((await session.execute(_filtered(select(func.count()).select_from(Case), flt))).scalar_one())


async def cases_of_message(session: AsyncSession, message_id: int) -> list[Case]:
    return list((await session.execute(select(Case).where(Case.message_id == message_id).order_by(Case.id))).scalars())


async def case_events(session: AsyncSession, case_id: int) -> list[CaseEvent]:
    query = select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
    return list((await session.execute(query)).scalars())


async def add_event(session: AsyncSession, case: Case, *, action: str, actor: str, note: str | None = None) -> CaseEvent:
    event = CaseEvent(case_id=case.id, action=action, actor=actor, note=note)
    session.add(event)
    case.updated_at = utcnow()
    await session.flush()
    return event


async def cases_by_refs(session: AsyncSession, refs: Sequence[str]) -> list[Case]:
    return list((await session.execute(select(Case).where(Case.ref.in_(list(refs))))).scalars())


async def iter_cases(session: AsyncSession, flt: CaseFilter = CaseFilter(), *, batch_size: int = 500,
                     limit: int | None = None) -> AsyncIterator[list[Case]]:
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
    counts = dict((await session.execute(
        select(CaseEvent.case_id, func.count()).where(CaseEvent.case_id.in_(ids)).group_by(CaseEvent.case_id))).all())
    last_ids = select(func.max(CaseEvent.id)).where(CaseEvent.case_id.in_(ids)).group_by(CaseEvent.case_id)
    last = {e.case_id: e
            for e in (await session.execute(select(CaseEvent).where(CaseEvent.id.in_(last_ids)))).scalars()}
    close_ids = (select(func.max(CaseEvent.id)).where(CaseEvent.case_id.in_(ids), CaseEvent.action == "closed")
                 .group_by(CaseEvent.case_id))
    closes = {e.case_id: e for e in (await session.execute(select(CaseEvent).where(CaseEvent.id.in_(close_ids))))
              .scalars()}
    threads = {row.id: row for row in (await session.execute(
        select(Conversation.id, Conversation.channel_id, Conversation.thread_id)
        .where(Conversation.id.in_(sorted({c.conversation_id for c in cases}))))).all()}
    out: dict[int, CaseActivity] = {}
    for c in cases:
        ev, closed, thread = last.get(c.id), closes.get(c.id), threads.get(c.conversation_id)
        is_closed = c.status == "closed" and closed is not None  # a reopened case has no current close
        out[c.id] = CaseActivity(
            events=int(counts.get(c.id, 0)), last_action=ev.action if ev else None,
            last_at=ev.created_at if ev else None, closed_at=closed.created_at if is_closed else None,
            close_reason=closed.note if is_closed else None,
            channel_id=thread.channel_id if thread else "", thread_id=thread.thread_id if thread else "")
    return out
