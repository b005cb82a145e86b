"""Opening the cases of one message's tasks, once: the one way a case is opened (idempotent per message
and task; one case per open subject of a customer)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from .cases import OPEN_STATUSES, new_ref, opens_needing_staff
from .models import Case, CaseEvent
from .statements import PerDialect


@dataclass(frozen=True)
class CaseSpec:
    """One task's case for `open_cases`."""

    kind: str
    task_key: str
    details: dict[str, Any]
    subject_key: str | None = None
    needs_staff: bool = False  # flagged by its worker or back office; a staff kind needs staff anyway
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
# A customer's open cases about some subjects (bound as b_platform, b_customer, b_subjects).
OPEN_ABOUT_SUBJECTS = (
    _cases.c.platform == bindparam("b_platform"),
    _cases.c.customer_id == bindparam("b_customer"),
    _cases.c.subject_key.in_(bindparam("b_subjects", expanding=True)),
    _cases.c.status.in_(OPEN_STATUSES),
)
_OPEN_BY_SUBJECT = select(*_CASE_COLUMNS).where(*OPEN_ABOUT_SUBJECTS).order_by(_cases.c.id)
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
    flagged = {s.task_key for s in specs if s.needs_staff}  # by the task itself (its created event says so)
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
            "needs_staff": opens_needing_staff(spec.kind, flagged=spec.needs_staff),
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
                    "note": "flagged for staff" if key in flagged else None,
                }
                for key in new
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
            needs_staff=opens_needing_staff(spec.kind, flagged=spec.needs_staff),
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
