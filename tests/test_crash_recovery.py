"""Exactly once across crashes (docs/spec-notes.md, part 1): a real `supportbot run` subprocess with a fail point
armed (`SUPPORTBOT_FAILPOINTS`, workflows/faults.py) kills itself with SIGKILL at one step of the
message path; a restart without fail points must finish the message so that the customer sees exactly
one reply (counted at the fake platform, not in our database), each case exists once, the message is
`replied` and its reply `sent` with the platform's id.

Slack: every fail point (`after_store` … `after_mark_sent`). The hard one is `after_post`: the reply is
on Slack but not marked sent; the restart finds it in the thread by its message metadata
(`conversations.replies` with `include_all_metadata`) instead of posting it again.
Discord: `after_reply_stored` and `after_post`: the restart reads the channel's history after the
customer's message and finds the reply; when it cannot (no permission), the re-post carries the same
nonce with `enforce_nonce` and Discord (the fake, as documented) answers with the message it already
has; when the nonce is forgotten too (a restart later than Discord's few minutes), the customer sees
the reply twice — the documented limit, asserted so that it stays known.

Waits are on observable conditions with a deadline: the process's exit code, calls at the fake, the
database state — never a fixed sleep.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from storage import cases as case_store
from storage.cases import CaseFilter
from storage.db import Database
from storage.models import Message
from tests.fakes.discord import BOT_TOKEN as DISCORD_TOKEN
from tests.fakes.discord import SUPPORT_CHANNEL, FakeDiscord, message_payload
from tests.fakes.slack import (
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    event_callback,
    message_event,
    signed_headers,
)
from tests.harness import EXAMPLE
from tests.support import command_line, environment, free_port, start_slack_bot

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")]

FAILPOINTS = ["after_store", "after_claim", "after_cases", "after_reply_stored", "after_post", "after_mark_sent"]
CHANNEL, TS = "CSUPPORT", "1700000500.000100"
KINDS = ["billing", "return", "status"]
DEADLINE_S = 30.0


async def send_slack_event(port: int, body: str) -> bool:
    """Deliver one event as Slack does; True if it was acknowledged (HTTP 200)."""
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"http://127.0.0.1:{port}/slack/events", data=body, headers=signed_headers(body)) as response,
        ):
            return response.status == 200
    except aiohttp.ClientConnectionError:  # killed before the acknowledgement went out: Slack retries
        return False


async def killed(process: asyncio.subprocess.Process) -> str:
    """Wait (bounded) for the fail point's SIGKILL; returns stderr."""
    try:
        async with asyncio.timeout(DEADLINE_S):
            _, stderr = await process.communicate()
    except TimeoutError:
        process.kill()
        _, stderr = await process.communicate()
        raise AssertionError(
            f"the fail point did not fire within {DEADLINE_S:.0f}s:\n{stderr.decode()[-3000:]}"
        ) from None
    assert process.returncode == -signal.SIGKILL, (process.returncode, stderr.decode()[-3000:])
    return stderr.decode()


async def stopped(process: asyncio.subprocess.Process) -> str:
    """SIGTERM and a graceful exit (0): the first resume round and all work in flight have finished."""
    process.send_signal(signal.SIGTERM)
    async with asyncio.timeout(DEADLINE_S):
        _, stderr = await process.communicate()
    text = stderr.decode()
    assert process.returncode == 0, text[-3000:]
    assert "Traceback" not in text, text[-3000:]
    return text


async def until(condition: Callable[[], Awaitable[bool]], *, what: str) -> None:
    """Poll an observable condition (the database) until it holds, within the deadline."""
    try:
        async with asyncio.timeout(DEADLINE_S):
            while not await condition():
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"not within {DEADLINE_S:.0f}s: {what}") from None


async def db_state(db_url: str) -> dict[str, Any]:
    db = Database(db_url)
    try:
        async with db.session() as s:
            messages = list((await s.execute(select(Message).order_by(Message.id))).scalars())
            cases = await case_store.list_cases(s, CaseFilter(), limit=None)
        customer = [m for m in messages if m.role == "customer"]
        replies = [m for m in messages if m.role == "bot"]
        return {
            "customer": [(m.status, m.attempts) for m in customer],
            "replies": [(m.status, m.platform_message_id, m.text) for m in replies],
            "cases": sorted((c.kind, c.ref) for c in cases),
        }
    finally:
        await db.aclose()


async def answered(db_url: str) -> bool:
    state = await db_state(db_url)
    return [s for s, _ in state["customer"]] == ["replied"] and [s for s, _, _ in state["replies"]] == ["sent"]


def check_final(state: dict[str, Any], posted_ids: list[str], posted_texts: list[str]) -> None:
    """One message, replied; one reply, sent with the id of the one post; each expected case once,
    every reference quoted in what the customer saw."""
    assert [s for s, _ in state["customer"]] == ["replied"]
    [(status, platform_id, _text)] = state["replies"]
    assert status == "sent" and platform_id == posted_ids[0]
    assert [kind for kind, _ in state["cases"]] == KINDS
    seen = "\n".join(posted_texts)
    assert all(ref in seen for _, ref in state["cases"]), (state["cases"], seen)


@pytest.mark.parametrize("point", FAILPOINTS)
async def test_slack_sigkill_at_each_step_then_restart_answers_exactly_once(
    tmp_path: Path, db_url: str, point: str
) -> None:
    body = json.dumps(event_callback(message_event(EXAMPLE, channel=CHANNEL, ts=TS)))
    async with FakeSlack() as fake:
        port = free_port()
        process = await start_slack_bot(tmp_path, fake, port, db_url, SUPPORTBOT_FAILPOINTS=point)
        acknowledged = await send_slack_event(port, body)
        first_stderr = await killed(process)
        assert f"fail points armed: {point}" in first_stderr
        first_posts = len(fake.calls_to("chat.postMessage"))
        assert first_posts == (1 if point in ("after_post", "after_mark_sent") else 0)
        crashed = await db_state(db_url)

        port = free_port()
        process = await start_slack_bot(tmp_path, fake, port, db_url)  # no fail points
        if not acknowledged:  # Slack redelivers an event it got no 200 for
            assert await send_slack_event(port, body)
        await until(lambda: answered(db_url), what="the message replied and its reply marked sent")
        await stopped(process)

        posts = fake.calls_to("chat.postMessage")
        in_thread = [c for c in posts if c.args.get("thread_ts") == TS]
        assert len(posts) == len(in_thread) == 1, [c.args.get("text", "")[:60] for c in posts]  # exactly once
        [post] = in_thread
        meta = post.args["metadata"]
        assert meta["event_type"] == "supportbot_reply" and meta["event_payload"]["piece"] == 0
        final = await db_state(db_url)
        check_final(final, [p["ts"] for p in fake.thread(CHANNEL, TS)], [post.args["text"]])
        assert meta["event_payload"]["reply_id"] > 0
        # A reply that may have been posted (an earlier attempt claimed the message) is looked up first.
        lookups = fake.calls_to("conversations.replies")
        expected_lookups = 0 if point in ("after_store", "after_mark_sent") else 1
        assert len(lookups) == expected_lookups
        if lookups:
            assert lookups[0].args["include_all_metadata"] in ("1", "true", True) and lookups[0].args["ts"] == TS
        attempts = final["customer"][0][1]
        print(
            f"\n{point}: acknowledged={acknowledged} crashed-state customer={crashed['customer']} "
            f"replies={[(s, i) for s, i, _ in crashed['replies']]} cases={len(crashed['cases'])}; "
            f"after restart: {len(posts)} post(s) in the thread ({first_posts} before the kill), "
            f"{len(final['cases'])} cases, attempts={attempts}, lookups={len(lookups)}"
        )


async def test_slack_restart_answers_once_when_the_thread_lookup_returns_plain_text(
    tmp_path: Path, db_url: str
) -> None:
    """Killed with the reply stored but not posted; after the restart the look-up in the thread
    (`conversations.replies`) meets a proxy that answers a plain-text `403: Forbidden` (not JSON). The
    reply is posted anyway — exactly once — instead of failing at delivery on every retry."""
    body = json.dumps(event_callback(message_event(EXAMPLE, channel=CHANNEL, ts=TS)))
    async with FakeSlack() as fake:
        port = free_port()
        process = await start_slack_bot(tmp_path, fake, port, db_url, SUPPORTBOT_FAILPOINTS="after_reply_stored")
        acknowledged = await send_slack_event(port, body)
        await killed(process)
        assert fake.calls_to("chat.postMessage") == []

        fake.server_error("conversations.replies", status=403, body="403: Forbidden", times=5)
        port = free_port()
        process = await start_slack_bot(tmp_path, fake, port, db_url)
        if not acknowledged:
            assert await send_slack_event(port, body)
        await until(lambda: answered(db_url), what="the message replied and its reply marked sent")
        stderr = await stopped(process)

        assert len(fake.calls_to("conversations.replies")) == 1  # the look-up was made, and failed
        posts = fake.calls_to("chat.postMessage")
        assert len(posts) == 1 and posts[0].args["thread_ts"] == TS  # exactly one reply
        check_final(await db_state(db_url), [p["ts"] for p in fake.thread(CHANNEL, TS)], [posts[0].args["text"]])
        assert "could not look for it in the thread (HTTP 403); posting it" in stderr


# --- Discord -------------------------------------------------------------------------------------
async def start_discord_bot(tmp_path: Path, fake: FakeDiscord, db_url: str, **extra: str) -> asyncio.subprocess.Process:
    """`supportbot run --discord`, returned once it has identified and read READY + GUILD_CREATE."""
    fake.ready.clear()
    env = environment(
        tmp_path,
        **{
            "SUPPORTBOT_DATABASE_URL": db_url,
            "DISCORD_BOT_TOKEN": DISCORD_TOKEN,
            "SUPPORTBOT_DISCORD_API_URL": fake.api_url,
            "SUPPORTBOT_DISCORD_GATEWAY_URL": fake.gateway_url,
            "SUPPORTBOT_DISCORD_CHANNEL_IDS": SUPPORT_CHANNEL,
            **extra,
        },
    )
    process = await asyncio.create_subprocess_exec(
        *command_line(),
        "run",
        "--discord",
        "--host",
        "127.0.0.1",
        "--port",
        str(free_port()),
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    ready = asyncio.create_task(fake.ready.wait())
    exited = asyncio.create_task(process.wait())
    await asyncio.wait({ready, exited}, timeout=DEADLINE_S, return_when=asyncio.FIRST_COMPLETED)
    ready.cancel()
    exited.cancel()
    if not fake.ready.is_set():
        if process.returncode is None:
            process.kill()
        _, stderr = await process.communicate()
        pytest.fail(f"supportbot did not connect: {stderr.decode()[-3000:]}")
    await fake.round_trip(timeout=DEADLINE_S)
    return process


DISCORD_CASES = {  # id: (fail point, history readable on restart, nonce still remembered, messages the customer sees)
    "after_reply_stored": ("after_reply_stored", True, True, 1),
    "after_post": ("after_post", True, True, 1),  # found in the history: not posted again
    "after_post-no_history": ("after_post", False, True, 1),  # re-posted; Discord's nonce check dedups it
    "after_post-no_history-nonce_expired": ("after_post", False, False, 2),  # the documented limit: a duplicate
}


@pytest.mark.parametrize("case", list(DISCORD_CASES))
async def test_discord_sigkill_then_restart(tmp_path: Path, db_url: str, case: str) -> None:
    point, history, nonce, visible = DISCORD_CASES[case]
    message = message_payload(EXAMPLE)
    thread = message["id"]  # the bot answers in a thread created from the message
    async with FakeDiscord() as fake:
        process = await start_discord_bot(tmp_path, fake, db_url, SUPPORTBOT_FAILPOINTS=point)
        await fake.dispatch("MESSAGE_CREATE", message)
        await killed(process)
        first_posts = len(fake.calls_to("message"))
        assert first_posts == (1 if point == "after_post" else 0)

        if not history:  # no Read Message History permission (or Discord failing): 403, raised at once
            fake.fail("history", 403, code=50001, message="Missing Access")
        if not nonce:  # the restart came later than Discord remembers nonces ("the past few minutes")
            fake.nonce_window_s = 0.0
        process = await start_discord_bot(tmp_path, fake, db_url)
        await until(lambda: answered(db_url), what="the message replied and its reply marked sent")
        await stopped(process)

        calls = fake.calls_to("message")
        new_posts = fake.posts_in(thread)
        assert len(new_posts) == visible and len(fake.posts_in(SUPPORT_CHANNEL)) == 0
        assert len(fake.calls_to("history")) == (1 if point != "after_store" else 0)  # attempts > 1: looked first
        assert len({c.json["nonce"] for c in calls}) == 1 and all(c.json["enforce_nonce"] for c in calls)
        expected_calls = {"after_reply_stored": 1, "after_post": 1}.get(case, 2)
        assert len(calls) == expected_calls
        deduplicated = sum(c.deduplicated for c in calls)
        assert deduplicated == (1 if case == "after_post-no_history" else 0)
        final = await db_state(db_url)
        if visible == 1:
            assert len({c.answer["id"] for c in calls}) == 1  # any re-post was answered with the first message
        check_final(
            final,
            [new_posts[-1].answer["id"] if visible == 1 else calls[-1].answer["id"]],
            [new_posts[0].json["content"]],
        )
        print(
            f"\ndiscord {case}: {len(calls)} POST(s), {len(new_posts)} message(s) in the thread, "
            f"{deduplicated} deduplicated by nonce, {len(fake.calls_to('history'))} history read(s), "
            f"{len(final['cases'])} cases"
        )


# --- Slack: a reply in several pieces ------------------------------------------------------------
async def test_slack_multi_piece_reply_after_a_crash_posts_only_the_missing_pieces(
    make_settings: Any, db_url: str
) -> None:
    """A reply too long for one message is posted in pieces, each with its index in the metadata. The
    process dies after piece 0 of 3 (simulated: the second post fails and a new adapter, with no memory,
    delivers again): the restart finds piece 0 in the thread and posts pieces 1 and 2 only. Without
    `maybe_posted` (a first attempt) no lookup is made; when the lookup itself fails the reply is posted
    (at least once beats never)."""
    from slack_sdk.errors import SlackApiError

    from adapters.platform import Outbound
    from adapters.slack.blocks import text_pages
    from bot.runtime import slack_adapter
    from bot.wiring import open_services

    text = "\n\n".join(f"Paragraph {i}: " + "word " * 500 for i in range(6))  # ~15,000 characters
    pieces = len(text_pages(text))
    assert pieces >= 3
    async with FakeSlack() as fake:
        settings = make_settings(
            SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, SUPPORTBOT_SLACK_API_URL=fake.base_url
        )
        out = Outbound(
            platform="slack", channel_id=CHANNEL, thread_id=TS, text=text, reply_id=41, in_reply_to=f"{CHANNEL}:{TS}"
        )
        async with open_services(settings) as services:
            fake.fail("chat.postMessage", "fatal_error", after=1)  # piece 0 posted, then the "crash"
            with pytest.raises(SlackApiError):
                await slack_adapter(services, mode="http").deliver(out)
            assert [m["metadata"]["event_payload"]["piece"] for m in fake.thread(CHANNEL, TS)] == [0]

            restarted = slack_adapter(services, mode="http")  # a new process: nothing in memory
            first_ts = await restarted.deliver(replace(out, maybe_posted=True))
            posted = fake.thread(CHANNEL, TS)
            assert [m["metadata"]["event_payload"]["piece"] for m in posted] == list(range(pieces))  # each once
            assert first_ts == posted[0]["ts"]
            [lookup] = fake.calls_to("conversations.replies")
            assert lookup.args["oldest"] == TS and int(lookup.args["limit"]) <= 200

            other = replace(out, reply_id=42, thread_id="1700000600.000100", in_reply_to=f"{CHANNEL}:1700000600.000100")
            await restarted.deliver(other)  # a first attempt: no lookup
            assert len(fake.calls_to("conversations.replies")) == 1
            fake.fail("conversations.replies", "missing_scope")
            third = replace(other, reply_id=43, thread_id="1700000700.000100", maybe_posted=True)
            await restarted.deliver(third)  # the lookup fails: posted anyway
            assert len(fake.thread(CHANNEL, "1700000700.000100")) == pieces
