"""The case lifecycle: assign, claim, release, resolve, close, reopen and note, each recorded as a case
event.

Statuses and the transitions allowed between them::

    open         ──assign──▶ in_progress      open / in_progress ──resolve──▶ resolved
    in_progress  ──assign──▶ in_progress      open / in_progress / resolved ──close──▶ closed
    open         ──claim───▶ in_progress      (claim: assign to oneself, only when nobody has it)
    in_progress  ──release─▶ open             (the assignee is removed: the bot answers again)
    resolved / closed ──reopen──▶ open, or in_progress when the case has an assignee

A note may be added in any status (an audit remark on a closed case is still useful). Everything else
is refused: closing a closed case, resolving a closed one, assigning a resolved or closed case (reopen
it first), reopening a case that is still open, assigning a case to the person who already has it,
claiming a case someone else has, releasing a case nobody has.

Every change adds one `CaseEvent` (actor, time, note) in the same transaction as the change; the case
row keeps only the current status and assignee, so its whole past is the event history.

Concurrency: the status change is a conditional ``UPDATE … WHERE status IN (allowed)``. When two staff
members close a case at the same moment, one UPDATE matches and records the close; the other matches
no row and is refused with the status it found, so exactly one `closed` event exists.

Errors::

    CaseError            a lifecycle request that cannot be carried out (message is user-facing)
     ├── CaseNotFound    no case has this reference
     └── TransitionRefused   the case's status does not allow the change
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import case as sql_case
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .cases import STATUSES, get_case
from .models import Case, CaseEvent, utcnow
from .statements import affected

_log = logging.getLogger(__name__)

__all__ = ["STATUSES", "CaseError", "CaseNotFound", "TransitionRefused"]
MAX_NOTE_CHARS = 4000
# Where each action may start from.
ASSIGNABLE = ("open", "in_progress")
RESOLVABLE = ("open", "in_progress")
CLOSABLE = ("open", "in_progress", "resolved")
REOPENABLE = ("resolved", "closed")


class CaseError(Exception):
    """A lifecycle request that cannot be carried out; the message is safe to show to staff."""


class CaseNotFound(CaseError):
    def __init__(self, ref: str) -> None:
        super().__init__(f"no case {ref.strip()[:40]} exists")
        self.ref = ref


class TransitionRefused(CaseError):
    def __init__(self, message: str, *, ref: str, status: str) -> None:
        super().__init__(message)
        self.ref = ref
        self.status = status


def _status_words(status: str) -> str:
    return status.replace("_", " ")


async def _require(session: AsyncSession, ref: str) -> Case:
    case = await get_case(session, ref)
    if case is None:
        raise CaseNotFound(ref)
    return case


async def _current_status(session: AsyncSession, case_id: int) -> str:
    return str((await session.execute(select(Case.status).where(Case.id == case_id))).scalar_one())


async def _change(
    session: AsyncSession, case: Case, *, allowed_from: tuple[str, ...], values: dict[str, Any], extra_where: Any = None
) -> str | None:
    """Apply `values` only if the case is still in an allowed status. Returns None on success, else the
    status found (the change was refused)."""
    query = update(Case).where(Case.id == case.id, Case.status.in_(allowed_from))
    if extra_where is not None:
        query = query.where(extra_where)
    result = await session.execute(
        query.values(**values, updated_at=utcnow()).execution_options(synchronize_session=False)
    )
    if affected(result) == 1:
        return None
    return await _current_status(session, case.id)


async def _record(session: AsyncSession, case: Case, *, action: str, actor: str, note: str | None) -> Case:
    session.add(CaseEvent(case_id=case.id, action=action, actor=actor, note=note))
    await session.flush()
    await session.refresh(case)  # the UPDATE bypassed the ORM object
    _log.info("case=%s %s by %s; status now %s", case.ref, action, actor, case.status)
    return case


async def close_case(session: AsyncSession, *, ref: str, actor: str, reason: str | None = None) -> Case:
    """Close a case (from open, in progress or resolved), with an optional reason."""
    case = await _require(session, ref)
    found = await _change(session, case, allowed_from=CLOSABLE, values={"status": "closed"})
    if found is not None:
        raise TransitionRefused(f"case {case.ref} is already closed", ref=case.ref, status=found)
    return await _record(session, case, action="closed", actor=actor, note=_clean(reason))


async def resolve_case(session: AsyncSession, *, ref: str, actor: str, note: str | None = None) -> Case:
    """Mark an open or in-progress case resolved (the customer's problem is solved; not yet closed)."""
    case = await _require(session, ref)
    found = await _change(session, case, allowed_from=RESOLVABLE, values={"status": "resolved"})
    if found == "resolved":
        raise TransitionRefused(f"case {case.ref} is already resolved", ref=case.ref, status=found)
    if found is not None:
        raise TransitionRefused(
            f"case {case.ref} is {_status_words(found)}; reopen it first", ref=case.ref, status=found
        )
    return await _record(session, case, action="resolved", actor=actor, note=_clean(note))


async def reopen_case(session: AsyncSession, *, ref: str, actor: str, note: str | None = None) -> Case:
    """Reopen a resolved or closed case: back to open, or to in_progress if someone is assigned."""
    case = await _require(session, ref)
    back_to = sql_case((Case.assignee.is_(None), "open"), else_="in_progress")
    found = await _change(session, case, allowed_from=REOPENABLE, values={"status": back_to})
    if found is not None:
        raise TransitionRefused(
            f"case {case.ref} is {_status_words(found)}, not closed or resolved; there is nothing to reopen",
            ref=case.ref,
            status=found,
        )
    return await _record(session, case, action="reopened", actor=actor, note=_clean(note))


async def assign_case(session: AsyncSession, *, ref: str, assignee: str, actor: str) -> Case:
    """Give a case to a staff member; an open case moves to in_progress. Reassigning is allowed."""
    assignee = assignee.strip()[:128]
    if not assignee:
        raise CaseError("say who the case is assigned to")
    case = await _require(session, ref)
    found = await _change(
        session,
        case,
        allowed_from=ASSIGNABLE,
        values={"status": "in_progress", "assignee": assignee},
        extra_where=Case.assignee.is_distinct_from(assignee),
    )
    if found in ASSIGNABLE:
        raise TransitionRefused(f"case {case.ref} is already assigned to {assignee}", ref=case.ref, status=found)
    if found is not None:
        raise TransitionRefused(
            f"case {case.ref} is {_status_words(found)}; reopen it before assigning it", ref=case.ref, status=found
        )
    return await _record(session, case, action="assigned", actor=actor, note=assignee)


async def claim_case(session: AsyncSession, *, ref: str, actor: str) -> Case:
    """`actor` takes a case nobody has (an open one moves to in_progress); a claimed case is refused."""
    case = await _require(session, ref)
    found = await _change(
        session,
        case,
        allowed_from=ASSIGNABLE,
        values={"status": "in_progress", "assignee": actor},
        extra_where=Case.assignee.is_(None),
    )
    if found in ASSIGNABLE:
        holder = (await session.execute(select(Case.assignee).where(Case.id == case.id))).scalar_one()
        mine = holder == actor
        raise TransitionRefused(
            f"case {case.ref} is already {'yours' if mine else f'claimed by {holder}'}", ref=case.ref, status=found
        )
    if found is not None:
        raise TransitionRefused(
            f"case {case.ref} is {_status_words(found)}; reopen it before claiming it", ref=case.ref, status=found
        )
    return await _record(session, case, action="assigned", actor=actor, note=actor)


async def release_case(session: AsyncSession, *, ref: str, actor: str, note: str | None = None) -> Case:
    """Hand a claimed case back to the bot: no assignee, status open."""
    case = await _require(session, ref)
    found = await _change(
        session,
        case,
        allowed_from=("in_progress",),
        values={"status": "open", "assignee": None},
        extra_where=Case.assignee.is_not(None),
    )
    if found is not None:
        state = "not claimed by anyone" if found in ASSIGNABLE else _status_words(found)
        raise TransitionRefused(f"case {case.ref} is {state}; there is nothing to release", ref=case.ref, status=found)
    return await _record(session, case, action="released", actor=actor, note=_clean(note))


async def add_case_note(session: AsyncSession, *, ref: str, actor: str, text: str) -> CaseEvent:
    """An internal note (staff only, never shown to the customer), in any status."""
    note = _clean(text)
    if not note:
        raise CaseError("a note needs some text")
    case = await _require(session, ref)
    event = CaseEvent(case_id=case.id, action="note", actor=actor, note=note)
    session.add(event)
    # Touch updated_at through a plain UPDATE so a concurrent status change is not overwritten.
    await session.execute(
        update(Case).where(Case.id == case.id).values(updated_at=utcnow()).execution_options(synchronize_session=False)
    )
    await session.flush()
    _log.info("case=%s note by %s", case.ref, actor)
    return event


def _clean(text: str | None) -> str | None:
    text = (text or "").replace("\x00", "").strip()
    return text[:MAX_NOTE_CHARS] or None
