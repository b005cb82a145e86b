"""Reading cases: one case with its history and transcript, a filtered list, and the staff queue — each as
the viewer may see it."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from storage import cases as case_store
from storage.cases import CaseFilter

from .access import CaseNotVisible, NotAllowed, Viewer, can_view
from .results import TRANSCRIPT_PAGE, CaseInfo, CaseList, CaseQueue, CaseView, EventInfo, MessageInfo, QueueEntry

if TYPE_CHECKING:
    from storage.db import Database

_log = logging.getLogger(__name__)


async def view(db: Database, ref: str, *, viewer: Viewer, page: int = 1, page_size: int = TRANSCRIPT_PAGE) -> CaseView:
    """A case with its events and its own transcript (page `page`, oldest first), as `viewer` may see it:
    internal notes and note events only for staff. Raises CaseNotVisible."""
    page, page_size = max(1, page), max(1, page_size)
    async with db.session() as s:
        case = await case_store.get_case(s, ref)
        if case is None or not can_view(viewer, case):
            if case is not None:
                _log.warning("refused case=%s to %s: not their case", case.ref, viewer.actor)
            raise CaseNotVisible(ref)
        events = await case_store.case_events(s, case.id)
        messages, total = await case_store.case_messages(
            s, case, include_internal=viewer.is_staff, limit=page_size, offset=(page - 1) * page_size
        )
    if not viewer.is_staff:
        events = [e for e in events if e.action != "note"]
    return CaseView(
        case=CaseInfo.of(case),
        events=[EventInfo.of(e) for e in events],
        transcript=[MessageInfo.of(m) for m in messages],
        transcript_total=total,
        page=page,
        page_size=page_size,
    )


def _visible_filter(flt: CaseFilter, viewer: Viewer) -> CaseFilter:
    if viewer.is_staff:
        return flt
    if (flt.customer_id and flt.customer_id != viewer.user_id) or (flt.platform and flt.platform != viewer.platform):
        _log.warning("refused the cases of %s to %s: not their cases", (flt.customer_id or "")[:40], viewer.actor)
        raise NotAllowed("You can only list your own cases.")
    return replace(flt, platform=viewer.platform, customer_id=viewer.user_id)


async def list_cases(
    db: Database,
    flt: CaseFilter = CaseFilter(),
    *,
    viewer: Viewer,
    limit: int | None = 50,
    offset: int = 0,
    count: bool = True,
) -> CaseList:
    """Cases newest first: every case for staff, a customer's own otherwise (asking for another
    customer's is refused). `count=False` skips counting (`total` is then the page's length)."""
    flt = _visible_filter(flt, viewer)
    async with db.session() as s:
        rows = await case_store.list_cases(s, flt, limit=limit, offset=offset)
        total = await case_store.count_cases(s, flt) if count else len(rows)
    return CaseList(cases=[CaseInfo.of(c) for c in rows], total=total, limit=limit, offset=offset)


async def queue(
    db: Database,
    *,
    viewer: Viewer,
    sla_minutes: float = 30,
    limit: int | None = 50,
    offset: int = 0,
    now: datetime | None = None,
) -> CaseQueue:
    """The open cases that need staff (hand-offs, technical, flagged): unclaimed first, then oldest first,
    each with its age and whether it is unclaimed past the first-response SLA. Staff only."""
    if not viewer.is_staff:
        _log.warning("refused the case queue to %s: staff only", viewer.actor)
        raise NotAllowed("The case queue is for support staff only.")
    now = now or datetime.now(UTC)
    sla = timedelta(minutes=sla_minutes)
    async with db.session() as s:
        rows, total = await case_store.staff_queue(s, limit=limit, offset=offset)
    entries = [
        QueueEntry(case=CaseInfo.of(c), age=now - c.created_at, overdue=c.assignee is None and now - c.created_at > sla)
        for c in rows
    ]
    return CaseQueue(entries=entries, total=total, sla=sla)
