"""Two `supportbot run` processes on one PostgreSQL database deliver each case card and fire each
first-response SLA reminder exactly once: events are applied under a one-row mark, outbox rows are
claimed with a lease, timers are fired by a conditional update. Skipped when PostgreSQL does not answer.

To see both processes at work, the fake holds chat.postMessage until two posts wait at once: a process
sends one outbox row at a time, so two waiting posts come from two processes.
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from pathlib import Path

import pytest

from storage import case_open, inbox, migrate
from storage.db import Database
from tests.fakes.slack import BOT_TOKEN, FakeSlack
from tests.support import free_port, start_slack_bot, stop_gracefully

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM")]

CASES = 30
SECOND_TOKEN = "xoxb-test-second-staff-process"
CHANNEL, STAFF_CHANNEL = "CSUPPORT", "CSTAFF"


async def seed(url: str) -> list[str]:
    """CASES hand-off cases, their customers' messages already answered (as after the bot's reply)."""
    db = Database(url)
    refs = []
    try:
        async with db.write() as s:
            for i in range(CASES):
                stored = await inbox.store_inbound(
                    s,
                    platform="slack",
                    channel_id=CHANNEL,
                    thread_id=f"17000030{i:02d}.000100",
                    customer_id=f"UC{i}",
                    platform_message_id=f"{CHANNEL}:17000030{i:02d}.000100",
                    author_id=f"UC{i}",
                    text=f"customer {i} wants a person",
                )
                await inbox.finish_message(s, stored.id, status="replied")
                [(case, _)] = await case_open.open_cases(
                    s,
                    [case_open.CaseSpec(kind="human", task_key="0:human", details={}, needs_staff=True)],
                    platform="slack",
                    customer_id=f"UC{i}",
                    conversation_id=stored.conversation_id,
                    message_id=stored.id,
                )
                refs.append(case.ref)
    finally:
        await db.aclose()
    return refs


def card_ref(call_args: dict[str, object]) -> str:
    metadata = call_args.get("metadata") or {}
    return str((metadata.get("event_payload") or {}).get("ref", ""))  # type: ignore[union-attr]


async def test_two_processes_post_each_card_and_reminder_once(tmp_path: Path, postgres_url: str) -> None:
    pg_url = postgres_url
    db = Database(pg_url)
    try:
        await migrate.upgrade(db)
    finally:
        await db.aclose()
    refs = await seed(pg_url)
    env = {"SUPPORTBOT_SLACK_STAFF_CHANNEL": STAFF_CHANNEL, "SUPPORTBOT_SLA_FIRST_RESPONSE_MIN": "0.05"}
    async with FakeSlack(more_bot_tokens=(SECOND_TOKEN,)) as fake:
        fake.hold("chat.postMessage")
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        first, second = await asyncio.gather(
            start_slack_bot(tmp_path / "a", fake, free_port(), pg_url, **env),
            start_slack_bot(tmp_path / "b", fake, free_port(), pg_url, SLACK_BOT_TOKEN=SECOND_TOKEN, **env),
        )
        await fake.wait_for("chat.postMessage", 2, timeout=60)  # one waiting post from each process
        fake.release("chat.postMessage")

        def posts() -> list[object]:
            return [c for c in fake.calls_to("chat.postMessage") if c.args["channel"] == STAFF_CHANNEL]

        # every card, then (3 s after each case needed staff) one SLA reminder per case
        await fake.wait_until(lambda: len(posts()) >= 2 * CASES, timeout=90)
        await asyncio.gather(stop_gracefully(first), stop_gracefully(second))

    calls = [c for c in fake.calls_to("chat.postMessage") if c.args["channel"] == STAFF_CHANNEL]
    cards = [c for c in calls if not c.args.get("thread_ts")]
    reminders = [c for c in calls if c.args.get("thread_ts")]
    assert Counter(card_ref(c.args) for c in cards) == Counter({ref: 1 for ref in refs})
    assert len(reminders) == CASES and all(any(ref in c.args["text"] for ref in refs) for c in reminders)
    assert Counter(next(r for r in refs if r in c.args["text"]) for c in reminders) == Counter({r: 1 for r in refs})
    by_token = Counter(c.token for c in calls)
    assert by_token[BOT_TOKEN] >= 1 and by_token[SECOND_TOKEN] >= 1  # both processes delivered
    print(
        f"\ntwo processes, one PostgreSQL: {len(cards)} cards and {len(reminders)} reminders for {CASES} cases, "
        f"split {by_token[BOT_TOKEN]}/{by_token[SECOND_TOKEN]}"
    )
