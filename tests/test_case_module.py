"""`bot.cases`, the one case module: change() with its effects in the same transaction, claim and
release, the staff queue (unclaimed first, then oldest, with SLA age), and a case's own transcript,
paged — through the module, the CLI (`cases list --queue`) and the chat commands (`/cases queue`)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner

from bot import cases
from bot.cases import Actor, CaseNotVisible, NotAllowed, TransitionRefused
from bot.cli import main
from bot.commands.registry import Caller, CommandContext, CommandResult
from bot.wiring import open_services, shell_chat
from storage import inbox
from storage.models import CaseEvent
from tests.harness.cases import events_of, seed_case, seed_in, status_of

S1, S2 = Actor("slack", "S1", is_staff=True), Actor("slack", "S2", is_staff=True)
CUSTOMER = Actor("slack", "C1", is_staff=False)


@pytest.fixture
async def svc(make_settings: Any) -> AsyncIterator[Any]:
    async with open_services(make_settings(SUPPORTBOT_STAFF_SLACK_USER_IDS="S1,S2")) as services:
        yield services


async def run(services: Any, line: str, *, user: str) -> CommandResult:
    name, _, text = line.lstrip("/").partition(" ")
    caller = Caller("slack", user, is_staff=services.is_staff("slack", user))
    return await services.registry.dispatch(name, text, CommandContext(caller=caller, services=services))


async def test_change_records_one_event_and_reports_what_changed(svc: Any) -> None:
    case = await seed_case(svc.db, platform="slack", customer="C1")
    done = await svc.cases.change("claim", case.ref.lower(), S1)
    assert done.changed == {"status": ("open", "in_progress"), "assignee": (None, "slack:S1")}
    assert (done.event.action, done.event.actor, done.event.note) == ("assigned", "slack:S1", "slack:S1")
    noted = await svc.cases.change("note", case.ref, S2, "called the customer")
    assert noted.changed == {} and noted.event.action == "note" and noted.case.assignee == "slack:S1"
    assert [e.action for e in await events_of(svc.db, case.ref)] == ["created", "assigned", "note"]


async def test_claim_is_refused_once_someone_has_the_case_and_release_hands_it_back(svc: Any) -> None:
    case = await seed_case(svc.db, platform="slack", customer="C1")
    await cases.change(svc.db, "claim", case.ref, S1)
    with pytest.raises(TransitionRefused, match="already claimed by slack:S1"):
        await cases.change(svc.db, "claim", case.ref, S2)
    with pytest.raises(TransitionRefused, match="already yours"):
        await cases.change(svc.db, "claim", case.ref, S1)
    released = await cases.change(svc.db, "release", case.ref, S2)
    assert released.changed == {"status": ("in_progress", "open"), "assignee": ("slack:S1", None)}
    assert released.event.action == "released" and released.event.actor == "slack:S2"
    with pytest.raises(TransitionRefused, match="not claimed by anyone"):
        await cases.change(svc.db, "release", case.ref, S1)
    await cases.change(svc.db, "close", case.ref, S1, "done")
    with pytest.raises(TransitionRefused, match="closed; reopen it before claiming it"):
        await cases.change(svc.db, "claim", case.ref, S2)
    assert [e.action for e in await events_of(svc.db, case.ref)] == ["created", "assigned", "released", "closed"]


async def test_a_customer_changes_nothing_and_an_assignee_must_be_staff(svc: Any) -> None:
    case = await seed_case(svc.db, platform="slack", customer="C1")
    for action in cases.ACTIONS:
        with pytest.raises(NotAllowed, match="staff only"):
            await svc.cases.change(action, case.ref, CUSTOMER, "x")
    with pytest.raises(NotAllowed, match="not on the support staff list"):
        await svc.cases.change("assign", case.ref, S1, "C1")
    with pytest.raises(ValueError, match="unknown case action"):
        await svc.cases.change("delete", case.ref, S1)
    assert await status_of(svc.db, case.ref) == "open"
    assert [e.action for e in await events_of(svc.db, case.ref)] == ["created"]


async def test_effects_run_in_the_change_transaction_and_a_failing_one_undoes_it(svc: Any) -> None:
    case = await seed_case(svc.db, platform="slack", customer="C1")
    seen: list[tuple[str, str, str]] = []

    async def outbox(session: Any, changed: Any, event: CaseEvent) -> None:
        seen.append((changed.ref, changed.status, event.action))
        session.add(CaseEvent(case_id=changed.id, action="note", actor="effect", note=f"after {event.action}"))

    svc.cases.effects.append(outbox)
    await svc.cases.change("close", case.ref, S1, "fixed")
    assert seen == [(case.ref, "closed", "closed")]
    assert [(e.action, e.actor) for e in await events_of(svc.db, case.ref)][-2:] == [
        ("closed", "slack:S1"),
        ("note", "effect"),
    ]

    async def broken(session: Any, changed: Any, event: CaseEvent) -> None:
        raise RuntimeError("the outbox is full")

    with pytest.raises(RuntimeError, match="outbox is full"):
        await cases.change(svc.db, "reopen", case.ref, S1, effects=[outbox, broken])
    assert await status_of(svc.db, case.ref) == "closed"  # the reopen, its event and the first effect's row: gone
    assert [e.action for e in await events_of(svc.db, case.ref)] == ["created", "closed", "note"]


async def test_the_queue_lists_unclaimed_first_then_oldest_with_their_age(svc: Any) -> None:
    now = datetime.now(UTC)
    async with svc.db.write() as s:
        old_human = await seed_in(s, kind="human", created_at=now - timedelta(hours=3))
        technical = await seed_in(s, kind="technical", created_at=now - timedelta(minutes=10))
        claimed = await seed_in(s, kind="human", created_at=now - timedelta(hours=5))
        await seed_in(s, kind="return", created_at=now - timedelta(hours=9))  # the bot handles it: not queued
        closed = await seed_in(s, kind="technical", created_at=now - timedelta(hours=8))
    await cases.change(svc.db, "claim", claimed.ref, S1)
    await cases.change(svc.db, "close", closed.ref, S1)

    found = await svc.cases.queue(viewer=S2, now=now)
    assert [e.case.ref for e in found.entries] == [old_human.ref, technical.ref, claimed.ref]
    assert found.total == 3 and found.sla == timedelta(minutes=30)
    assert [e.age for e in found.entries] == [timedelta(hours=3), timedelta(minutes=10), timedelta(hours=5)]
    assert [e.overdue for e in found.entries] == [True, False, False]  # a claimed case is not overdue
    with pytest.raises(NotAllowed):
        await svc.cases.queue(viewer=CUSTOMER)

    chat = await run(svc, "/cases queue", user="S1")
    assert chat.ok and [c["ref"] for c in chat.data["cases"]] == [old_human.ref, technical.ref, claimed.ref]
    assert "unclaimed · past SLA" in chat.text and "claimed by slack:S1" in chat.text
    refused = await run(svc, "/cases queue", user="C1")
    assert not refused.ok and "staff only" in refused.text


def test_cases_list_queue_from_the_terminal(env_clean: Any, db_url: str) -> None:
    import asyncio

    from storage.db import Database
    from storage.migrate import upgrade

    async def _seed() -> list[str]:
        db = Database(db_url)
        try:
            await upgrade(db)
            async with db.write() as s:
                start = datetime.now(UTC) - timedelta(hours=2)
                return [
                    (await seed_in(s, kind=kind, created_at=start + timedelta(minutes=i))).ref
                    for i, kind in enumerate(("technical", "return", "human"))
                ]
        finally:
            await db.aclose()

    technical, _, human = asyncio.run(_seed())
    env = {"SUPPORTBOT_DATABASE_URL": db_url, "SUPPORTBOT_LLM": "offline", "SUPPORTBOT_SLA_FIRST_RESPONSE_MIN": "60"}
    runner = CliRunner()
    listed = runner.invoke(main, ["cases", "list", "--queue", "--json"], env=env, catch_exceptions=False)
    assert listed.exit_code == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [r["ref"] for r in rows] == [technical, human]
    assert all(r["overdue"] and 115 <= r["age_min"] <= 125 for r in rows)
    text = runner.invoke(main, ["cases", "list", "--queue"], env=env, catch_exceptions=False).stdout
    assert technical in text and "PAST SLA" in text
    mixed = runner.invoke(main, ["cases", "list", "--queue", "--kind", "human"], env=env)
    assert mixed.exit_code == 2 and "--queue" in mixed.stderr


async def test_the_transcript_is_the_cases_own_from_its_first_message_and_paged(svc: Any) -> None:
    thread = uuid.uuid4().hex
    async with svc.db.write() as s:
        first = await seed_in(s, customer="C1", platform="slack", thread=thread, text="message 0 opens the first")
        for i in range(1, 25):
            await inbox.store_inbound(
                s,
                platform="slack",
                channel_id="C-support",
                thread_id=thread,
                customer_id="C1",
                platform_message_id=uuid.uuid4().hex,
                author_id="C1",
                text=f"message {i}",
            )
        second = await seed_in(
            s, customer="C1", platform="slack", thread=thread, kind="status", text="message 25 opens the second"
        )

    page1 = await svc.cases.view(first.ref, viewer=CUSTOMER)
    assert page1.transcript[0].text == "message 0 opens the first"  # not the last 20 of the thread
    assert (page1.transcript_total, page1.pages, len(page1.transcript)) == (26, 2, cases.TRANSCRIPT_PAGE)
    page2 = await svc.cases.view(first.ref, viewer=CUSTOMER, page=2)
    assert [m.text for m in page2.transcript] == [f"message {i}" for i in range(20, 25)] + [
        "message 25 opens the second"
    ]
    own = await svc.cases.view(second.ref, viewer=CUSTOMER)
    assert [m.text for m in own.transcript] == ["message 25 opens the second"]

    await cases.change(svc.db, "close", first.ref, S1)
    async with svc.db.write() as s:
        await inbox.store_inbound(
            s,
            platform="slack",
            channel_id="C-support",
            thread_id=thread,
            customer_id="C1",
            platform_message_id=uuid.uuid4().hex,
            author_id="C1",
            text="after the close",
        )
    assert (await svc.cases.view(first.ref, viewer=S1)).transcript_total == 26  # ends at its close
    assert (await svc.cases.view(second.ref, viewer=S1)).transcript_total == 2

    shown = await run(svc, f"/case {first.ref} page=2", user="S1")
    assert shown.ok and "(messages 21–26 of 26, page 2 of 2)" in shown.text and "message 0 opens" not in shown.text
    with pytest.raises(CaseNotVisible):
        await svc.cases.view(first.ref, viewer=Actor("slack", "C2", is_staff=False))


async def test_customers_list_only_their_own_cases(svc: Any) -> None:
    mine = await seed_case(svc.db, platform="slack", customer="C1")
    await seed_case(svc.db, platform="slack", customer="C2")
    listed = await svc.cases.list_cases(viewer=CUSTOMER)
    assert [c.ref for c in listed.cases] == [mine.ref] and listed.total == 1
    with pytest.raises(NotAllowed, match="only list your own"):
        await svc.cases.list_cases(cases.CaseFilter(customer_id="C2"), viewer=CUSTOMER)
    assert (await svc.cases.list_cases(viewer=S1)).total == 2


async def test_case_release_command(svc: Any) -> None:
    case = await seed_case(svc.db, platform="slack", customer="C1")
    assert (await run(svc, f"/case-assign {case.ref}", user="S1")).ok
    refused = await run(svc, f"/case-release {case.ref}", user="C1")
    assert not refused.ok and "staff only" in refused.text
    released = await run(svc, f"/case-release {case.ref} back to the bot", user="S2")
    assert released.ok and released.ephemeral and released.data["case"]["assignee"] is None
    events = await events_of(svc.db, case.ref)
    assert [(e.action, e.actor, e.note) for e in events][-1] == ("released", "slack:S2", "back to the bot")


async def test_a_case_that_waited_for_an_answer_starts_at_the_question(svc: Any) -> None:
    chat = shell_chat(svc, thread_id="t-waited")
    await chat.send("Where is my order #B-1?")  # the thread's earlier request: another case
    asked = (await chat.send("I want to return my headphones")).result
    assert asked is not None and asked.pending and not asked.cases
    answered = (await chat.send("they stopped charging")).result
    assert answered is not None and [c.kind for c in answered.cases] == ["return"]
    view = await svc.cases.view(answered.cases[0].ref, viewer=S1)
    assert [(m.role, m.text) for m in view.transcript if m.role == "customer"] == [
        ("customer", "I want to return my headphones"),
        ("customer", "they stopped charging"),
    ]
