"""A customer's data: `supportbot customers export` (right of access), `customers erase --yes` and
`/customer-erase` (right to erasure: texts and names gone — from the database file too — references,
statuses and times kept), and the retention run."""

from __future__ import annotations

import asyncio
import getpass
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from bot.customers import CustomerId, apply_retention
from bot.wiring import open_services, shell_chat
from storage import cases as case_store
from storage import lifecycle
from storage.customers import ERASED
from storage.models import CaseEvent, Message
from storage.staff_models import CaseRating

ALICE_SECRET = "Zebulon-Quixote-7731"  # a marker that must leave the database file
BOB_TEXT = "Bob-Keeps-His-Words-4410"
ACTOR = f"cli:{getpass.getuser()}"


async def _seed(make_settings: Any) -> list[str]:
    """Alice and Bob each talk to the bot (cases are opened); a staff note and a close on Alice's case."""
    async with open_services(make_settings()) as services:
        alice = shell_chat(services, user_id="alice")
        await alice.send(f"I was charged twice on invoice INV-20931, my name is {ALICE_SECRET}")
        await alice.send(f"Also I want to return my blender, it broke. {ALICE_SECRET} again")
        bob = shell_chat(services, user_id="bob")
        await bob.send(f"Where is my order A-55120? {BOB_TEXT}")
        export = await _export(services.db, "shell:alice")
        refs = [c["ref"] for c in export["cases"]]
        async with services.db.write() as s:
            await lifecycle.add_case_note(s, ref=refs[0], actor="shell:staff", text=f"called {ALICE_SECRET}")
            await lifecycle.close_case(s, ref=refs[0], actor="shell:staff", reason=f"refunded {ALICE_SECRET}")
            case = await case_store.get_case(s, refs[0])
            assert case is not None
            s.add(CaseRating(case_id=case.id, customer_id="alice", score=5, scale="thumbs"))  # the staff loop's
        return refs


async def _export(db: Any, who: str) -> dict[str, Any]:
    from bot.customers import export_customer

    return await export_customer(db, CustomerId.parse(who))


def _file_bytes(db_url: str) -> bytes:
    path = Path(db_url.split("///", 1)[1])
    return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def test_export_holds_every_message_case_and_event_of_that_customer(cli: Any, make_settings: Any) -> None:
    refs = asyncio.run(_seed(make_settings))
    result = cli("customers", "export", "shell:alice")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["customer"] == {"platform": "shell", "id": "alice"}
    texts = [m["text"] for m in data["messages"]]
    assert sum(ALICE_SECRET in t for t in texts if t) >= 2 and not any(BOB_TEXT in t for t in texts)
    assert {m["role"] for m in data["messages"]} == {"customer", "bot"}  # her messages and the bot's replies
    assert [c["ref"] for c in data["cases"]] == refs and len(refs) >= 2
    first = data["cases"][0]
    assert [e["action"] for e in first["events"]] == ["created", "note", "closed"]
    assert [(r["score"], r["scale"]) for r in data["ratings"]] == [(5, "thumbs")]
    bob = json.loads(cli("customers", "export", "shell:bob").stdout)
    assert bob["cases"] and not set(c["ref"] for c in bob["cases"]) & set(refs)


def test_a_bad_customer_id_is_a_usage_error(cli: Any) -> None:
    result = cli("customers", "export", "alice")
    assert result.exit_code == 2 and "PLATFORM:ID" in result.stderr


def test_erase_without_yes_is_refused_and_changes_nothing(cli: Any, make_settings: Any) -> None:
    asyncio.run(_seed(make_settings))
    before = json.loads(cli("customers", "export", "shell:alice").stdout)
    result = cli("customers", "erase", "shell:alice")
    assert result.exit_code == 1 and "--yes" in result.stderr and "cannot be undone" in result.stderr
    after = json.loads(cli("customers", "export", "shell:alice").stdout)
    before.pop("exported_at"), after.pop("exported_at")
    assert after == before


def test_erase_removes_texts_keeps_refs_and_leaves_nothing_in_the_file(
    cli: Any, make_settings: Any, db_url: str
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("reads the SQLite file")
    refs = asyncio.run(_seed(make_settings))
    before = json.loads(cli("customers", "export", "shell:alice").stdout)
    assert ALICE_SECRET.encode() in _file_bytes(db_url)

    result = cli("customers", "erase", "shell:alice", "--yes")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("erased shell:alice:")

    after = json.loads(cli("customers", "export", "shell:alice").stdout)
    assert ALICE_SECRET not in json.dumps(after)
    assert all(m["text"] == ERASED and m["name"] is None for m in after["messages"])
    # What statistics need stays: every row, reference, kind, status and time.
    assert [(m["id"], m["role"], m["status"], m["at"]) for m in after["messages"]] == [
        (m["id"], m["role"], m["status"], m["at"]) for m in before["messages"]
    ]
    assert [(c["ref"], c["kind"], c["status"], c["created_at"], sorted(c["details"])) for c in after["cases"]] == [
        (c["ref"], c["kind"], c["status"], c["created_at"], sorted(c["details"])) for c in before["cases"]
    ]
    for case in after["cases"]:
        assert case["events"][-1]["action"] == "erased" and case["events"][-1]["actor"] == ACTOR
        assert [e["action"] for e in case["events"][:-1]] == [
            e["action"] for e in next(c for c in before["cases"] if c["ref"] == case["ref"])["events"]
        ]
    assert [c["ref"] for c in after["cases"]] == refs
    assert [r["score"] for r in after["ratings"]] == [5]  # a score is no free text: statistics keep it

    assert ALICE_SECRET.encode() not in _file_bytes(db_url)  # the database file and its -wal
    assert b"zebulon" not in _file_bytes(db_url).lower()  # nor a word of it in a full-text index
    assert BOB_TEXT.encode() in _file_bytes(db_url)
    bob = json.loads(cli("customers", "export", "shell:bob").stdout)
    assert any(BOB_TEXT in m["text"] for m in bob["messages"])
    assert all(e["action"] != "erased" for c in bob["cases"] for e in c["events"])


async def test_customer_erase_command_asks_for_confirmation_first(services: Any, db_url: str) -> None:
    alice = shell_chat(services, user_id="alice")
    await alice.send(f"I want to return my kettle, it leaks. {ALICE_SECRET}")
    staff = shell_chat(services, user_id="staff1")

    first = await staff.command("/customer-erase shell:alice")
    assert first.ephemeral and "cannot be undone" in first.text and first.data["messages"] == 2
    assert any(ALICE_SECRET in m["text"] for m in (await _export(services.db, "shell:alice"))["messages"])

    wrong = await staff.command("/customer-erase shell:alice confirm=000000")
    assert not wrong.ok and "not valid" in wrong.text
    assert any(ALICE_SECRET in m["text"] for m in (await _export(services.db, "shell:alice"))["messages"])

    done = await staff.command(f"/customer-erase shell:alice confirm={first.data['confirm']}")
    assert done.ok and "Erased shell:alice" in done.text, done.text
    data = await _export(services.db, "shell:alice")
    assert all(m["text"] == ERASED for m in data["messages"])
    assert [e["actor"] for c in data["cases"] for e in c["events"] if e["action"] == "erased"] == ["shell:staff1"]
    if db_url.startswith("sqlite"):
        assert ALICE_SECRET.encode() not in _file_bytes(db_url)

    usage = await staff.command("/customer-erase alice")
    assert not usage.ok and "PLATFORM:ID" in usage.text


async def test_customer_erase_is_for_staff_only(services: Any) -> None:
    from bot.commands.registry import Caller, CommandContext

    ctx = CommandContext(caller=Caller("slack", "U999", is_staff=False), services=services)
    result = await services.registry.dispatch("customer-erase", "shell:alice", ctx)
    assert not result.ok and "staff" in result.text


async def _seed_retention(services: Any) -> None:
    """Three customers with a billing case each: closed 40 days ago, closed just now, still open."""
    chats = {name: shell_chat(services, user_id=name) for name in ("old", "recent", "open")}
    for name, chat in chats.items():
        await chat.send(f"I was charged twice on invoice INV-20931. {name}-words")
    cases = {name: (await _export(services.db, f"shell:{name}"))["cases"] for name in chats}
    long_ago = datetime.now(UTC) - timedelta(days=40)
    async with services.db.write() as s:
        for name in ("old", "recent"):
            for case in cases[name]:
                await lifecycle.close_case(s, ref=case["ref"], actor="shell:staff")
        old_ids = [c["conversation_id"] for c in cases["old"]]
        await s.execute(update(Message).where(Message.conversation_id.in_(old_ids)).values(created_at=long_ago))
        await s.execute(
            update(CaseEvent)
            .where(
                CaseEvent.action == "closed", CaseEvent.case_id.in_([await _case_id(s, c["ref"]) for c in cases["old"]])
            )
            .values(created_at=long_ago)
        )


async def test_retention_erases_transcripts_of_cases_closed_long_ago(services: Any) -> None:
    await _seed_retention(services)
    erased = await apply_retention(services.db, days=30)
    assert erased == 2  # the old conversation's message and its reply
    old = await _export(services.db, "shell:old")
    assert all(m["text"] == ERASED for m in old["messages"])
    assert [c["status"] for c in old["cases"]] == ["closed"] * len(old["cases"])
    assert all(c["events"][-1]["action"] == "erased" and c["events"][-1]["actor"] == "retention" for c in old["cases"])
    for name in ("recent", "open"):
        assert any(f"{name}-words" in m["text"] for m in (await _export(services.db, f"shell:{name}"))["messages"])
    assert await apply_retention(services.db, days=30) == 0  # nothing left to do; no second event
    old_again = await _export(services.db, "shell:old")
    assert [len(c["events"]) for c in old_again["cases"]] == [len(c["events"]) for c in old["cases"]]


async def _case_id(s: Any, ref: str) -> int:
    from storage import cases as case_store

    case = await case_store.get_case(s, ref)
    assert case is not None
    return case.id


async def test_the_running_bot_applies_retention(make_settings: Any) -> None:
    from bot.runtime import serve
    from tests.support import free_port

    async with open_services(make_settings(SUPPORTBOT_RETENTION_DAYS="30")) as services:
        await _seed_retention(services)
        stop = asyncio.Event()
        running = asyncio.create_task(serve(services, [], host="127.0.0.1", port=free_port(), stop=stop))
        async with asyncio.timeout(20):
            while any(m["text"] != ERASED for m in (await _export(services.db, "shell:old"))["messages"]):
                assert not running.done()
                await asyncio.sleep(0.05)
        stop.set()
        await running
        assert any("recent-words" in m["text"] for m in (await _export(services.db, "shell:recent"))["messages"])


async def test_the_retention_run_is_scheduled_in_the_database_once_a_day(make_settings: Any, db_url: str) -> None:
    from bot.customers import retention_if_due
    from storage.db import Database

    async with open_services(make_settings()) as services:
        await _seed_retention(services)
        other = Database(db_url)  # a second bot process on the same database
        try:
            now = datetime.now(UTC)
            first = await asyncio.gather(
                retention_if_due(services.db, days=30, now=now), retention_if_due(other, days=30, now=now)
            )
            assert sorted(first, key=lambda r: r is None) == [2, None]  # one process ran it, once
            for later in (timedelta(hours=1), timedelta(hours=23)):
                assert await retention_if_due(other, days=30, now=now + later) is None  # not due again yet
            assert await retention_if_due(other, days=30, now=now + timedelta(hours=25)) == 0  # the next day's run
        finally:
            await other.aclose()
