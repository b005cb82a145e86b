"""What the case use cases return: plain frozen records of a case, its events and its messages (no ORM
object leaves the case module), with their JSON form."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, get_args

from workflows.types import TaskKind

if TYPE_CHECKING:
    from storage.models import Case, CaseEvent, Message

KINDS: tuple[str, ...] = get_args(TaskKind)
TRANSCRIPT_PAGE = 20  # messages per page of a case's transcript


def _as_json(record: Any) -> dict[str, Any]:
    """A record's fields in order, times in ISO 8601."""
    return {f.name: v.isoformat() if isinstance(v := getattr(record, f.name), datetime) else v for f in fields(record)}


@dataclass(frozen=True)
class CaseInfo:
    ref: str
    kind: str
    status: str
    platform: str
    customer_id: str
    conversation_id: int
    assignee: str | None
    needs_staff: bool
    details: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, case: Case) -> CaseInfo:
        return cls(
            ref=case.ref,
            kind=case.kind,
            status=case.status,
            platform=case.platform,
            customer_id=case.customer_id,
            conversation_id=case.conversation_id,
            assignee=case.assignee,
            needs_staff=case.needs_staff,
            details=dict(case.details or {}),
            created_at=case.created_at,
            updated_at=case.updated_at,
        )

    @property
    def customer(self) -> str:
        return f"{self.platform}:{self.customer_id}"

    @property
    def subject(self) -> str:
        """A short name for what the case is about (an invoice, a product, an order, an issue)."""
        d = self.details
        return str(d.get("invoice_number") or d.get("product_name") or d.get("order_id") or d.get("issue") or "")

    def as_json(self) -> dict[str, Any]:
        return _as_json(self)


@dataclass(frozen=True)
class EventInfo:
    action: str
    actor: str
    note: str | None
    at: datetime

    @classmethod
    def of(cls, event: CaseEvent) -> EventInfo:
        return cls(action=event.action, actor=event.actor, note=event.note, at=event.created_at)

    def as_json(self) -> dict[str, Any]:
        return _as_json(self)


@dataclass(frozen=True)
class MessageInfo:
    role: str  # customer | bot | staff
    author: str
    text: str
    internal: bool
    at: datetime

    @classmethod
    def of(cls, message: Message) -> MessageInfo:
        return cls(
            role=message.role,
            author=message.author_id,
            text=message.text,
            internal=message.internal,
            at=message.created_at,
        )

    def as_json(self) -> dict[str, Any]:
        return _as_json(self)


@dataclass(frozen=True)
class CaseView:
    """A case as one viewer may see it; `transcript` is one page (`page` of `pages`, oldest first)."""

    case: CaseInfo
    events: list[EventInfo]
    transcript: list[MessageInfo]
    transcript_total: int
    page: int = 1
    page_size: int = TRANSCRIPT_PAGE

    @property
    def pages(self) -> int:
        return max(1, -(-self.transcript_total // self.page_size))

    def as_json(self) -> dict[str, Any]:
        return {
            "case": self.case.as_json(),
            "events": [e.as_json() for e in self.events],
            "transcript": [m.as_json() for m in self.transcript],
            "transcript_page": {
                "page": self.page,
                "pages": self.pages,
                "page_size": self.page_size,
                "total": self.transcript_total,
            },
        }


@dataclass(frozen=True)
class CaseList:
    cases: list[CaseInfo]
    total: int
    limit: int | None
    offset: int


@dataclass(frozen=True)
class QueueEntry:
    case: CaseInfo
    age: timedelta  # since the case was opened
    overdue: bool  # unclaimed past the first-response SLA

    def as_json(self) -> dict[str, Any]:
        return {**self.case.as_json(), "age_min": int(self.age.total_seconds() // 60), "overdue": self.overdue}


@dataclass(frozen=True)
class CaseQueue:
    entries: list[QueueEntry]
    total: int
    sla: timedelta


@dataclass(frozen=True)
class ChangeResult:
    """What a change did: the case before and after, and the event recorded."""

    action: str
    before: CaseInfo
    case: CaseInfo
    event: EventInfo

    @property
    def changed(self) -> dict[str, tuple[Any, Any]]:
        """The fields that changed, as (before, after): status and assignee (a note changes neither)."""
        return {
            name: (getattr(self.before, name), getattr(self.case, name))
            for name in ("status", "assignee")
            if getattr(self.before, name) != getattr(self.case, name)
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "case": self.case.as_json(),
            "event": self.event.as_json(),
            "changed": {k: list(v) for k, v in self.changed.items()},
        }
