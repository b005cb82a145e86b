"""Case lifecycle in storage: the transition table, append-only events with actor and time, clear
refusals, and one recorded close when two staff members close a case at the same moment."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from storage import cases as case_store
from storage import lifecycle
from tests.harness.cases import events_of, seed_case, status_of

ACTIONS = {
    "assign": lambda s, ref: lifecycle.assign_case(s, ref=ref, assignee="slack:S2", actor="slack:S1"),
    "resolve": lambda s, ref: lifecycle.resolve_case(s, ref=ref, actor="slack:S1"),
    "close": lambda s, ref: lifecycle.close_case(s, ref=ref, actor="slack:S1", reason="done"),
    "reopen": lambda s, ref: lifecycle.reopen_case(s, ref=ref, actor="slack:S1"),
}
# How to bring a fresh (open) case to each starting status.
REACH = {"open": [], "in_progress": ["assign_first"], "resolved": ["resolve"], "closed": ["close"]}

TABLE = [  # (start, action, resulting status or None when refused)
    ("open", "assign", "in_progress"),
    ("open", "resolve", "resolved"),
    ("open", "close", "closed"),
    ("open", "reopen", None),
    ("in_progress", "assign", "in_progress"),
    ("in_progress", "resolve", "resolved"),
    ("in_progress", "close", "closed"),
    ("in_progress", "reopen", None),
    ("resolved", "close", "closed"),
    ("resolved", "reopen", "open"),
    ("resolved", "assign", None),
    ("resolved", "resolve", None),
    ("closed", "reopen", "open"),
    ("closed", "close", None),
    ("closed", "resolve", None),
    ("closed", "assign", None),
]


@pytest.mark.parametrize(("start", "action", "expected"), TABLE)
async def test_transition_table(services: Any, start: str, action: str, expected: str | None) -> None:
    db = services.db
    case = await seed_case(db)
    for step in REACH[start]:
        async with db.write() as s:
            if step == "assign_first":
                await lifecycle.assign_case(s, ref=case.ref, assignee="slack:S9", actor="slack:S1")
            else:
                await ACTIONS[step](s, case.ref)
    assert await status_of(db, case.ref) == start
    before = len(await events_of(db, case.ref))
    if expected is None:
        with pytest.raises(lifecycle.TransitionRefused) as refused:
            async with db.write() as s:
                await ACTIONS[action](s, case.ref)
        assert case.ref in str(refused.value) and refused.value.status == start
        assert await status_of(db, case.ref) == start
        assert len(await events_of(db, case.ref)) == before  # a refusal leaves no trace in the case
    else:
        async with db.write() as s:
            changed = await ACTIONS[action](s, case.ref)
        assert changed.status == expected and await status_of(db, case.ref) == expected
        events = await events_of(db, case.ref)
        assert len(events) == before + 1
        assert (
            events[-1].action
            == {"assign": "assigned", "resolve": "resolved", "close": "closed", "reopen": "reopened"}[action]
        )


async def test_every_change_is_an_event_with_actor_and_time(services: Any) -> None:
    db = services.db
    case = await seed_case(db)
    started = datetime.now(UTC)
    async with db.write() as s:
        await lifecycle.assign_case(s, ref=case.ref, assignee="slack:S2", actor="slack:S1")
    async with db.write() as s:
        await lifecycle.add_case_note(s, ref=case.ref, actor="slack:S2", text='Customer\'s 2nd call — "urgent"')
    async with db.write() as s:
        await lifecycle.resolve_case(s, ref=case.ref, actor="slack:S2", note="replacement shipped")
    async with db.write() as s:
        await lifecycle.close_case(s, ref=case.ref, actor="discord:D7", reason="confirmed by customer")
    async with db.write() as s:
        reopened = await lifecycle.reopen_case(s, ref=case.ref, actor="cli:ops")
    finished = datetime.now(UTC)
    events = await events_of(db, case.ref)
    assert [(e.action, e.actor, e.note) for e in events] == [
        ("created", "bot", None),
        ("assigned", "slack:S1", "slack:S2"),
        ("note", "slack:S2", 'Customer\'s 2nd call — "urgent"'),
        ("resolved", "slack:S2", "replacement shipped"),
        ("closed", "discord:D7", "confirmed by customer"),
        ("reopened", "cli:ops", None),
    ]
    times = [e.created_at for e in events]
    assert all(t.tzinfo is not None for t in times)
    assert times == sorted(times) and started <= times[1] and times[-1] <= finished
    # Reopening an assigned case hands it back to its assignee.
    assert reopened.status == "in_progress" and reopened.assignee == "slack:S2"


async def test_refusals_are_clear(services: Any) -> None:
    db = services.db
    case = await seed_case(db)
    async with db.write() as s:
        await lifecycle.close_case(s, ref=case.ref, actor="slack:S1")
    with pytest.raises(lifecycle.TransitionRefused, match=f"^case {case.ref} is already closed$"):
        async with db.write() as s:
            await lifecycle.close_case(s, ref=case.ref, actor="slack:S1")
    with pytest.raises(lifecycle.CaseNotFound, match="no case RMA-NOPE exists"):
        async with db.write() as s:
            await lifecycle.add_case_note(s, ref="RMA-NOPE", actor="slack:S1", text="hello")
    with pytest.raises(lifecycle.CaseNotFound):
        async with db.write() as s:
            await lifecycle.close_case(s, ref="RMA-NOPE", actor="slack:S1")
    with pytest.raises(lifecycle.CaseError, match="needs some text"):
        async with db.write() as s:
            await lifecycle.add_case_note(s, ref=case.ref, actor="slack:S1", text="   ")
    with pytest.raises(lifecycle.TransitionRefused, match="reopen it before assigning"):
        async with db.write() as s:
            await lifecycle.assign_case(s, ref=case.ref, assignee="slack:S2", actor="slack:S1")
    other = await seed_case(db)
    async with db.write() as s:
        await lifecycle.assign_case(s, ref=other.ref, assignee="slack:S2", actor="slack:S1")
    with pytest.raises(lifecycle.TransitionRefused, match="already assigned to slack:S2"):
        async with db.write() as s:
            await lifecycle.assign_case(s, ref=other.ref, assignee="slack:S2", actor="slack:S3")
    # A note is allowed on a closed case, and changes nothing but the history.
    async with db.write() as s:
        await lifecycle.add_case_note(s, ref=case.ref.lower(), actor="slack:S1", text="audit remark")
    assert await status_of(db, case.ref) == "closed"
    assert [e.action for e in await events_of(db, case.ref)] == ["created", "closed", "note"]


async def test_a_stale_reader_cannot_close_a_case_twice(services: Any) -> None:
    """Staff B loaded the case while it was open; staff A closes it first. B's close is refused."""
    db = services.db
    case = await seed_case(db)
    async with db.session() as b:
        stale = await case_store.get_case(b, case.ref)
        assert stale is not None and stale.status == "open"
        async with db.session() as a:
            await lifecycle.close_case(a, ref=case.ref, actor="slack:A")
        with pytest.raises(lifecycle.TransitionRefused, match="already closed"):
            await lifecycle.close_case(b, ref=case.ref, actor="slack:B")
    events = await events_of(db, case.ref)
    assert [(e.action, e.actor) for e in events] == [("created", "bot"), ("closed", "slack:A")]


async def test_simultaneous_closes_record_one_close(services: Any) -> None:
    db = services.db
    case = await seed_case(db)

    async def close(actor: str) -> str:
        try:
            async with db.write() as s:
                await lifecycle.close_case(s, ref=case.ref, actor=actor)
        except lifecycle.TransitionRefused:
            return "refused"
        return "closed"

    outcomes = await asyncio.gather(*(close(f"slack:S{i}") for i in range(6)))
    assert sorted(outcomes) == ["closed"] + ["refused"] * 5
    assert [e.action for e in await events_of(db, case.ref)] == ["created", "closed"]
