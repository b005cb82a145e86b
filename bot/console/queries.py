"""What the console's pages read: the queue, filtered and searched case lists with paging, one case with
its events and transcript, a customer's history and the FAQ sets. Plain rows (no ORM objects), few
queries per page, each served by an index (see migration 0004)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage import cases as case_store
from storage import faqs as faq_store
from storage import inbox
from storage.console import search_cases
from storage.models import Case, CaseEvent, Conversation, Message

from ..cases import KINDS, STATUSES

PAGE_SIZE = 50
COUNT_CAP = 10_000  # beyond this a list says "10,000+" instead of counting every row
QUEUE_LIMIT = 100
TRANSCRIPT_LIMIT = 500
PLATFORMS = ("slack", "discord", "shell")
_cases = cast(Table, Case.__table__)
LIST_COLUMNS = (
    _cases.c.id,
    _cases.c.ref,
    _cases.c.kind,
    _cases.c.status,
    _cases.c.platform,
    _cases.c.customer_id,
    _cases.c.assignee,
    _cases.c.needs_staff,
    _cases.c.details,
    _cases.c.created_at,
    _cases.c.updated_at,
)


@dataclass(frozen=True)
class CaseQuery:
    """The list page's filters, as given in its query string."""

    status: str = ""
    kind: str = ""
    assignee: str = ""
    customer: str = ""  # a user id, or platform:id
    platform: str = ""
    date_from: str = ""  # YYYY-MM-DD, inclusive
    date_to: str = ""  # YYYY-MM-DD, inclusive
    q: str = ""
    page: int = 1

    @classmethod
    def from_params(cls, params: Any) -> CaseQuery:
        def get(name: str, allowed: tuple[str, ...] | None = None) -> str:
            value = str(params.get(name, "") or "").strip()[:200]
            return value if allowed is None or value in allowed else ""

        try:
            page = max(1, min(10_000, int(params.get("page", "1") or 1)))
        except ValueError:
            page = 1
        return cls(
            status=get("status", STATUSES),
            kind=get("kind", KINDS),
            assignee=get("assignee"),
            customer=get("customer"),
            platform=get("platform", PLATFORMS),
            date_from=_date_text(get("from")),
            date_to=_date_text(get("to")),
            q=get("q"),
            page=page,
        )

    def params(self, **changes: Any) -> dict[str, str]:
        """The non-empty filters as query parameters (for links to other pages and the CSV)."""
        values = {
            "status": self.status,
            "kind": self.kind,
            "assignee": self.assignee,
            "customer": self.customer,
            "platform": self.platform,
            "from": self.date_from,
            "to": self.date_to,
            "q": self.q,
            "page": str(self.page) if self.page > 1 else "",
        }
        values.update({k: str(v) for k, v in changes.items()})
        return {k: v for k, v in values.items() if v}


def _date_text(value: str) -> str:
    try:
        return datetime.strptime(value, "%Y-%m-%d").strftime("%Y-%m-%d")
    except ValueError:
        return ""


def day_start(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)


@dataclass
class CaseList:
    rows: list[Any]
    total: int
    capped: bool
    page: int
    pages: int
    searched: bool = False


def _where(query: Any, cq: CaseQuery, hits: list[int] | None) -> Any:
    if cq.status:
        query = query.where(_cases.c.status == cq.status)
    if cq.kind:
        query = query.where(_cases.c.kind == cq.kind)
    if cq.assignee:
        query = query.where(_cases.c.assignee == cq.assignee)
    if cq.customer:
        platform, _, user = cq.customer.partition(":")
        if user and platform in PLATFORMS:
            query = query.where(_cases.c.platform == platform, _cases.c.customer_id == user)
        else:  # a bare id: on any platform (through the customer index, which starts with the platform)
            query = query.where(_cases.c.platform.in_(PLATFORMS), _cases.c.customer_id == cq.customer)
    if cq.platform:
        query = query.where(_cases.c.platform == cq.platform)
    if cq.date_from:
        query = query.where(_cases.c.created_at >= day_start(cq.date_from))
    if cq.date_to:
        query = query.where(_cases.c.created_at < day_start(cq.date_to) + timedelta(days=1))
    if hits is not None:
        query = query.where(_cases.c.id.in_(hits))
    return query


async def list_cases(session: AsyncSession, cq: CaseQuery, *, page_size: int = PAGE_SIZE) -> CaseList:
    """Newest first; the total is counted up to COUNT_CAP. A search (`cq.q`) lists the cases of its
    newest hits (see `storage.console.search_cases`); `capped` says when there were more."""
    hits, search_capped = None, False
    if cq.q:
        found = await search_cases(session, cq.q)
        hits, search_capped = found.case_ids, found.capped
    counted = _where(select(_cases.c.id), cq, hits).limit(COUNT_CAP + 1).subquery()
    total = int((await session.execute(select(func.count()).select_from(counted))).scalar_one())
    pages = max(1, -(-min(total, COUNT_CAP) // page_size))
    page = min(cq.page, pages)
    # The page's ids first (from the index alone, however deep the page), then only those rows.
    page_ids = (
        _where(select(_cases.c.id), cq, hits)
        .order_by(_cases.c.created_at.desc(), _cases.c.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    rows = (
        await session.execute(
            select(*LIST_COLUMNS)
            .where(_cases.c.id.in_(page_ids.scalar_subquery()))
            .order_by(_cases.c.created_at.desc(), _cases.c.id.desc())
        )
    ).all()
    return CaseList(
        rows=list(rows),
        total=min(total, COUNT_CAP),
        capped=total > COUNT_CAP or search_capped,
        page=page,
        pages=pages,
        searched=bool(cq.q),
    )


def _queue_from(session: AsyncSession) -> str:
    # SQLite keeps no statistics here (nothing runs ANALYZE), so it would rather walk a status index than
    # the small partial one: name the index.
    return "cases INDEXED BY ix_cases_queue" if session.get_bind().dialect.name == "sqlite" else "cases"


async def queue_size(session: AsyncSession) -> int:
    query = text(f"SELECT count(*) FROM {_queue_from(session)} WHERE {case_store.STAFF_QUEUE_WHERE.text}")
    return int((await session.execute(query)).scalar_one())


async def queue(session: AsyncSession, *, limit: int = QUEUE_LIMIT) -> list[Any]:
    """Cases that need staff and are not finished: unclaimed first, then claimed; oldest first in each.
    Both reads walk the partial index ix_cases_queue in time order and stop at `limit`."""
    rows: list[Any] = []
    names = ", ".join(c.name for c in LIST_COLUMNS)
    waiting = case_store.STAFF_QUEUE_WHERE.text
    for assignee in ("assignee IS NULL", "assignee IS NOT NULL"):
        query = text(
            f"SELECT {names} FROM {_queue_from(session)} WHERE {waiting} AND {assignee} "
            "ORDER BY created_at, id LIMIT :n"
        ).columns(*LIST_COLUMNS)
        rows += (await session.execute(query, {"n": limit - len(rows)})).all()
        if len(rows) >= limit:
            break
    return rows


@dataclass
class CaseView:
    case: Any
    events: list[Any]
    transcript: list[Any]
    conversation: Any
    siblings: list[Any] = field(default_factory=list)  # other cases from the same conversation
    transcript_total: int = 0  # messages in the conversation (the page shows the newest TRANSCRIPT_LIMIT)


async def case_view(
    session: AsyncSession, ref: str, *, transcript_limit: int | None = TRANSCRIPT_LIMIT
) -> CaseView | None:
    case = await case_store.get_case(session, ref)
    if case is None:
        return None
    events = await case_store.case_events(session, case.id)
    msgs = cast(Table, Message.__table__)
    in_conversation = msgs.c.conversation_id == case.conversation_id
    transcript_total = int((await session.execute(select(func.count()).where(in_conversation))).scalar_one())
    newest = (
        await session.execute(select(Message).where(in_conversation).order_by(msgs.c.id.desc()).limit(transcript_limit))
    ).scalars()
    transcript = sorted(newest, key=lambda m: (m.created_at, m.id))
    conversation = await inbox.get_conversation(session, case.conversation_id)
    siblings = (
        await session.execute(
            select(_cases.c.ref, _cases.c.kind, _cases.c.status)
            .where(_cases.c.conversation_id == case.conversation_id, _cases.c.id != case.id)
            .order_by(_cases.c.id)
            .limit(50)
        )
    ).all()
    return CaseView(
        case=case,
        events=events,
        transcript=transcript,
        conversation=conversation,
        siblings=list(siblings),
        transcript_total=transcript_total,
    )


@dataclass
class CustomerView:
    platform: str
    customer_id: str
    cases: CaseList
    conversations: int
    messages: int
    first_seen: datetime | None


async def customer_view(session: AsyncSession, platform: str, customer_id: str, page: int) -> CustomerView:
    cases = await list_cases(session, CaseQuery(customer=f"{platform}:{customer_id}", page=page))
    conv = cast(Table, Conversation.__table__)
    row = (
        await session.execute(
            select(func.count(), func.min(conv.c.created_at)).where(
                conv.c.platform == platform, conv.c.customer_id == customer_id
            )
        )
    ).one()
    msgs = cast(Table, Message.__table__)
    messages = int(
        (
            await session.execute(
                select(func.count())
                .select_from(msgs)
                .join(conv, conv.c.id == msgs.c.conversation_id)
                .where(conv.c.platform == platform, conv.c.customer_id == customer_id, msgs.c.role == "customer")
            )
        ).scalar_one()
    )
    first = row[1]
    if first is not None and first.tzinfo is None:
        first = first.replace(tzinfo=UTC)
    return CustomerView(
        platform=platform,
        customer_id=customer_id,
        cases=cases,
        conversations=int(row[0]),
        messages=messages,
        first_seen=first,
    )


async def faq_sets(session: AsyncSession, *, limit: int = 20) -> list[tuple[Any, list[Any]]]:
    out = []
    for faq_set in await faq_store.list_faq_sets(session, limit=limit):
        found = await faq_store.get_faq_set(session, faq_set.id)
        if found is not None:
            out.append(found)
    return out


def last_event(events: list[CaseEvent], action: str) -> CaseEvent | None:
    return next((e for e in reversed(events) if e.action == action), None)
