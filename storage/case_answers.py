"""Cases answered by a team's back office: which open case a new request about the same subject (the
same order, product or invoice) will reuse — its reference is sent to the back office — and that
case's details refreshed with the back office's latest answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .case_open import OPEN_ABOUT_SUBJECTS
from .models import Case, utcnow

_cases = Case.__table__
_OPEN_REFS = select(_cases.c.kind, _cases.c.subject_key, _cases.c.ref).where(*OPEN_ABOUT_SUBJECTS).order_by(_cases.c.id)


async def open_refs_by_subject(
    session: AsyncSession, *, platform: str, customer_id: str, subjects: Sequence[str]
) -> dict[tuple[str, str], str]:
    """(kind, subject key) → the reference of the customer's oldest open case about it."""
    if not subjects:
        return {}
    refs: dict[tuple[str, str], str] = {}
    for row in await session.execute(
        _OPEN_REFS, {"b_platform": platform, "b_customer": customer_id, "b_subjects": sorted(set(subjects))}
    ):
        refs.setdefault((row.kind, row.subject_key), row.ref)
    return refs


async def refresh_details(session: AsyncSession, case_id: int, details: dict[str, Any], *, needs_staff: bool) -> None:
    """The back office's latest answer replaces the case's details; a case that needs staff keeps needing them."""
    values: dict[str, Any] = {"details": details, "updated_at": utcnow()}
    if needs_staff:
        values["needs_staff"] = True
    await session.execute(update(Case).where(Case.id == case_id).values(**values))
