"""The case use cases, once for every entry point (CLI, chat commands, web console, staff-channel buttons):
view a case, list cases, the staff queue, and change a case. Entry points parse and render; the rules
(who may see or do what) and the transactions live here.

    STATUSES, KINDS, ACTIONS          the one definition of each
    is_staff(settings, platform, user_id, role_ids)   the staff policy
    view(db, ref, viewer=…)           -> CaseView (fields, events, the case's own transcript, paged)
    list_cases(db, flt, viewer=…)     -> CaseList (newest first, paged, with the total)
    queue(db, viewer=…)               -> CaseQueue (cases needing staff: unclaimed first, then oldest)
    change(db, action, ref, actor, text)  -> ChangeResult (claim assign release note close reopen resolve)
    CaseService(db, settings, effects=…)  the same, bound to a database, settings and effects

Who: a `Viewer` is anything with `platform`, `user_id`, `is_staff` and `actor` ("platform:user_id", the
name recorded in case events); the chat commands' `Caller` is one, `Actor` builds one. Staff see and
change every case; a customer sees only their own cases, without internal notes, and changes none.

Effects in the same transaction: `change()` runs the lifecycle change, its case event and then every
effect, in order, in ONE write transaction. An effect is an async callable `(session, case, event)`:
the refreshed ORM case and the event just recorded (`event.action` is created/note/assigned/released/
closed/reopened/resolved). Use effects for what must happen if and only if the change is committed —
outbox rows (update the case card, post the closing message to the customer). The bot and the CLI
build their `CaseService` with `bot.case_effects.case_service`, whose `effects()` lists them: add an
effect there and every entry point runs it. (`change(effects=…)` takes a list directly.) An effect
that raises rolls the whole change back and the error reaches the caller; effects must not talk to
the network (write an outbox row; a worker delivers it after the commit).

Errors (all `CaseError`: the message is safe to show to the person who asked)::

    CaseError                 storage.lifecycle: a request that cannot be carried out
     ├── CaseNotFound         no case has this reference (staff)
     ├── TransitionRefused    the case's status does not allow the change
     ├── CaseNotVisible       not found or not the viewer's (the same words: nothing leaks)
     └── NotAllowed           staff only, or a customer asking for someone else's cases
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args

from storage import cases as case_store
from storage import lifecycle
from storage.cases import STATUSES, CaseFilter
from storage.lifecycle import CaseError, CaseNotFound, TransitionRefused
from workflows.types import TaskKind

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from storage.db import Database
    from storage.models import Case, CaseEvent, Message

    from .settings import Settings

_log = logging.getLogger(__name__)

__all__ = [
    "ACTIONS",
    "KINDS",
    "STATUSES",
    "TRANSCRIPT_PAGE",
    "Action",
    "Actor",
    "CaseError",
    "CaseFilter",
    "CaseInfo",
    "CaseList",
    "CaseNotFound",
    "CaseNotVisible",
    "CaseQueue",
    "CaseService",
    "CaseView",
    "ChangeResult",
    "Effect",
    "EventInfo",
    "MessageInfo",
    "NotAllowed",
    "QueueEntry",
    "TransitionRefused",
    "Viewer",
    "change",
    "is_staff",
    "list_cases",
    "may_be_staff",
    "queue",
    "view",
]

KINDS: tuple[str, ...] = get_args(TaskKind)
Action = Literal["claim", "assign", "release", "note", "close", "reopen", "resolve"]
ACTIONS: tuple[str, ...] = get_args(Action)
TRANSCRIPT_PAGE = 20  # messages per page of a case's transcript
OPERATOR_PLATFORMS = ("cli", "shell")  # the local terminal: its operator is staff


# --- who -----------------------------------------------------------------------------------------


class Viewer(Protocol):
    """Whoever views or changes a case (the chat commands' `Caller` is one)."""

    @property
    def platform(self) -> str: ...
    @property
    def user_id(self) -> str: ...
    @property
    def is_staff(self) -> bool: ...
    @property
    def actor(self) -> str: ...


@dataclass(frozen=True)
class Actor:
    platform: str
    user_id: str
    is_staff: bool

    @property
    def actor(self) -> str:
        return f"{self.platform}:{self.user_id}"


def is_staff(settings: Settings, platform: str, user_id: str, role_ids: Sequence[str] = ()) -> bool:
    """The staff policy: the settings' lists; the local terminal (shell, CLI) is the operator's."""
    if platform in OPERATOR_PLATFORMS:
        return True
    if platform == "slack":
        return user_id in settings.staff_slack_user_ids
    if platform == "discord":
        return user_id in settings.staff_discord_user_ids or any(r in settings.staff_discord_role_ids for r in role_ids)
    return False


def may_be_staff(settings: Settings, platform: str, user_id: str) -> bool:
    """For an assignee named by id alone: False only when the settings say for certain that this user is
    not staff (a Discord member may be staff through a role an id does not show)."""
    if platform == "slack":
        return user_id in settings.staff_slack_user_ids
    if platform == "discord":
        return user_id in settings.staff_discord_user_ids or bool(settings.staff_discord_role_ids)
    return True


class CaseNotVisible(CaseError):
    """No such case among those the viewer may see (missing and someone else's read the same)."""

    def __init__(self, ref: str) -> None:
        super().__init__(f"No case {ref.strip()[:40]} found among the cases you can see.")
        self.ref = ref


class NotAllowed(CaseError):
    """The viewer lacks the right (staff only; a customer asking for another customer's cases)."""


# --- results -------------------------------------------------------------------------------------


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
        return {
            "ref": self.ref,
            "kind": self.kind,
            "status": self.status,
            "platform": self.platform,
            "customer_id": self.customer_id,
            "conversation_id": self.conversation_id,
            "assignee": self.assignee,
            "needs_staff": self.needs_staff,
            "details": self.details,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


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
        return {"action": self.action, "actor": self.actor, "note": self.note, "at": self.at.isoformat()}


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
        return {
            "role": self.role,
            "author": self.author,
            "text": self.text,
            "internal": self.internal,
            "at": self.at.isoformat(),
        }


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


Effect = Callable[["AsyncSession", "Case", "CaseEvent"], Awaitable[None]]


# --- view and list -------------------------------------------------------------------------------


def can_view(viewer: Viewer, case: Case) -> bool:
    return viewer.is_staff or (case.platform == viewer.platform and case.customer_id == viewer.user_id)


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


# --- change --------------------------------------------------------------------------------------


def _assignee(actor: Viewer, target: str, settings: Settings | None) -> str:
    """`slack:U123` as given, or a bare id on the actor's platform; checked against the staff policy
    unless the local operator names it."""
    target = target.strip()
    if not target or len(target) > 128 or any(c.isspace() for c in target):
        raise CaseError("say who the case is assigned to")
    platform, sep, user_id = target.partition(":")
    if not sep:
        platform, user_id = actor.platform, target
        if platform in OPERATOR_PLATFORMS and settings is not None:  # the terminal names a staff id: theirs
            platform = next(
                (
                    name
                    for name, ids in (
                        ("slack", settings.staff_slack_user_ids),
                        ("discord", settings.staff_discord_user_ids),
                    )
                    if user_id in ids
                ),
                platform,
            )
    if (
        settings is not None
        and actor.platform not in OPERATOR_PLATFORMS
        and not may_be_staff(settings, platform, user_id)
    ):
        _log.warning("refused assigning to %s by %s: not staff", target[:40], actor.actor)
        raise NotAllowed(f"{user_id} is not on the support staff list, so cases cannot be assigned to them.")
    return f"{platform}:{user_id}"


async def _apply(
    s: AsyncSession, action: str, ref: str, actor: Viewer, text: str | None, settings: Settings | None
) -> Case:
    who = actor.actor
    if action == "claim":
        return await lifecycle.claim_case(s, ref=ref, actor=who)
    if action == "assign":
        return await lifecycle.assign_case(s, ref=ref, assignee=_assignee(actor, text or "", settings), actor=who)
    if action == "release":
        return await lifecycle.release_case(s, ref=ref, actor=who, note=text)
    if action == "close":
        return await lifecycle.close_case(s, ref=ref, actor=who, reason=text)
    if action == "reopen":
        return await lifecycle.reopen_case(s, ref=ref, actor=who, note=text)
    if action == "resolve":
        return await lifecycle.resolve_case(s, ref=ref, actor=who, note=text)
    await lifecycle.add_case_note(s, ref=ref, actor=who, text=text or "")  # "note"
    case = await case_store.get_case(s, ref)
    assert case is not None  # the note was just added to it
    return case


async def _recorded_event(s: AsyncSession, case: Case) -> CaseEvent:
    """The event this transaction just recorded: the case's newest. Every lifecycle change updates the
    case row first, so its lock keeps any other change from committing an event in between."""
    return (await case_store.case_events(s, case.id, newest=1))[0]


async def change(
    db: Database,
    action: str,
    ref: str,
    actor: Viewer,
    text: str | None = None,
    *,
    settings: Settings | None = None,
    effects: Sequence[Effect] = (),
) -> ChangeResult:
    """Apply one staff action to a case and record it as a case event with actor and time; then run
    `effects` — all in one write transaction. `text`: the assignee for `assign` (a bare id is on the
    actor's platform; `settings` enables the staff check), the reason for `close`, the note for `note`,
    an optional remark otherwise. Raises CaseError (NotAllowed for a non-staff actor)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown case action {action!r}; one of {', '.join(ACTIONS)}")
    if not actor.is_staff:
        _log.warning("refused %s of case %s to %s: staff only", action, ref[:40], actor.actor)
        raise NotAllowed(f"Sorry, changing a case is for support staff only ({action}).")
    async with db.write() as s:
        current = await case_store.get_case(s, ref)
        if current is None:
            raise CaseNotFound(ref)
        before = CaseInfo.of(current)
        case = await _apply(s, action, ref, actor, text, settings)
        event = await _recorded_event(s, case)
        for effect in effects:
            await effect(s, case, event)
        result = ChangeResult(action=action, before=before, case=CaseInfo.of(case), event=EventInfo.of(event))
    _log.info("case=%s %s by %s: %s", result.case.ref, action, actor.actor, result.changed or "no field changed")
    return result


@dataclass
class CaseService:
    """The use cases bound to one database, the settings (staff policy, SLA) and the effects every
    change runs in its transaction (see the module docstring)."""

    db: Database
    settings: Settings
    effects: list[Effect] = field(default_factory=list)

    def is_staff(self, platform: str, user_id: str, role_ids: Sequence[str] = ()) -> bool:
        return is_staff(self.settings, platform, user_id, role_ids)

    async def view(self, ref: str, *, viewer: Viewer, page: int = 1, page_size: int = TRANSCRIPT_PAGE) -> CaseView:
        return await view(self.db, ref, viewer=viewer, page=page, page_size=page_size)

    async def list_cases(
        self, flt: CaseFilter = CaseFilter(), *, viewer: Viewer, limit: int | None = 50, offset: int = 0
    ) -> CaseList:
        return await list_cases(self.db, flt, viewer=viewer, limit=limit, offset=offset)

    async def queue(
        self, *, viewer: Viewer, limit: int | None = 50, offset: int = 0, now: datetime | None = None
    ) -> CaseQueue:
        return await queue(
            self.db,
            viewer=viewer,
            sla_minutes=self.settings.sla_first_response_min,
            limit=limit,
            offset=offset,
            now=now,
        )

    async def change(self, action: str, ref: str, actor: Viewer, text: str | None = None) -> ChangeResult:
        return await change(self.db, action, ref, actor, text, settings=self.settings, effects=self.effects)
