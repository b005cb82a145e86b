"""The case actions behind the staff buttons (claim, close, note, release), on the case lifecycle.

Each is one write transaction that records a case event with actor and time; the staff loop turns the
event into its effects (card update, takeover, closing message). Thin on purpose: when the case module
(`bot.cases.change`) is on main, `change` below delegates to it.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import cases as case_store
from storage import lifecycle
from storage.db import Database
from storage.lifecycle import CaseError, CaseNotFound, TransitionRefused
from storage.models import Case, CaseEvent, utcnow

__all__ = ["CaseError", "change"]


async def change(db: Database, action: str, ref: str, actor: str, text: str | None = None) -> Case:
    """Apply `action` (claim | close | note | release) to the case `ref` as `actor` ("platform:user")."""
    async with db.write() as s:
        if action == "claim":
            case = await case_store.get_case(s, ref)
            if case is None:
                raise CaseNotFound(ref)
            if case.assignee and case.assignee != actor:
                raise TransitionRefused(f"case {case.ref} is already claimed by {case.assignee}", ref=case.ref,
                                        status=case.status)
            return await lifecycle.assign_case(s, ref=ref, assignee=actor, actor=actor)
        if action == "close":
            return await lifecycle.close_case(s, ref=ref, actor=actor, reason=text)
        if action == "note":
            await lifecycle.add_case_note(s, ref=ref, actor=actor, text=text or "")
            case = await case_store.get_case(s, ref)
            assert case is not None
            return case
        if action == "release":
            return await _release(s, ref, actor)
    raise ValueError(f"unknown case action {action!r}")


async def _release(s: AsyncSession, ref: str, actor: str) -> Case:
    case = await case_store.get_case(s, ref)
    if case is None:
        raise CaseNotFound(ref)
    result = await s.execute(update(Case).where(Case.id == case.id, Case.status == "in_progress",
                                                Case.assignee.is_not(None))
                             .values(status="open", assignee=None, updated_at=utcnow())
                             .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        status = (await s.execute(select(Case.status).where(Case.id == case.id))).scalar_one()
        raise TransitionRefused(f"case {case.ref} is not claimed by anyone; there is nothing to release",
                                ref=case.ref, status=status)
    s.add(CaseEvent(case_id=case.id, action="released", actor=actor))
    await s.flush()
    await s.refresh(case)
    return case
