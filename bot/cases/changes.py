"""Changing a case: one staff action, its case event and every effect, in one write transaction (see the
package docstring for effects)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Literal, get_args

from storage import cases as case_store
from storage import lifecycle
from storage.lifecycle import CaseError, CaseNotFound

from .access import OPERATOR_PLATFORMS, NotAllowed, Viewer, may_be_staff
from .results import CaseInfo, ChangeResult, EventInfo

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from storage.db import Database
    from storage.models import Case, CaseEvent

    from ..settings import Settings

_log = logging.getLogger(__name__)

Action = Literal["claim", "assign", "release", "note", "close", "reopen", "resolve"]
ACTIONS: tuple[str, ...] = get_args(Action)
Effect = Callable[["AsyncSession", "Case", "CaseEvent"], Awaitable[None]]


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
