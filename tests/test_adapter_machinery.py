"""The machinery every adapter shares (adapters/delivery.py, recent.py, progress.py, tasks.py) as pure
units, and the Slack adapter alone behind the platform contract: built from a `Handlers` of plain
callables (no application), its `Platform` methods driven against the fake Slack Web API."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError

from adapters.delivery import Delivery, error_reason
from adapters.platform import (
    Caller,
    Card,
    CommandResult,
    Handlers,
    Inbound,
    Interaction,
    InteractionReply,
    Outbound,
    Progress,
    ProgressFn,
)
from adapters.progress import ThrottledProgress
from adapters.recent import Recent
from adapters.slack import SlackAdapter
from adapters.tasks import TaskGroup
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack

OUT = Outbound(platform="test", channel_id="C", thread_id="T", text="hi", reply_id=7)


# --- error_reason: any shape of failed response -----------------------------------------------------
class _TextResponse:
    """A slack_sdk response whose body was not JSON: `get` fails like slack_sdk's does on a str body."""

    status_code = 403

    def get(self, key: str) -> Any:
        return "403: Forbidden".get(key)  # type: ignore[attr-defined]


def test_error_reason_reads_a_code_a_status_or_the_type_and_never_raises() -> None:
    assert error_reason(SlackApiError("x", {"ok": False, "error": "missing_scope"})) == "missing_scope"
    assert error_reason(SlackApiError("x", _TextResponse())) == "HTTP 403"
    assert error_reason(SlackApiError("x", b"\x00binary")) == "SlackApiError"
    assert error_reason(ConnectionResetError()) == "ConnectionResetError"


# --- the delivery loop ------------------------------------------------------------------------------
async def test_delivery_posts_only_missing_pieces_and_posts_anyway_when_the_look_up_fails() -> None:
    delivery = Delivery("test")
    posts: list[int] = []
    fail_at = {1}

    async def post(index: int, piece: str) -> str:
        if index in fail_at:
            fail_at.clear()
            raise ConnectionError("dropped")
        posts.append(index)
        return f"m{index}"

    async def found_first() -> dict[int, str]:
        return {0: "old0"}

    with pytest.raises(ConnectionError):
        await delivery.deliver(OUT, ["a", "b", "c"], post=post, look_up=found_first)
    assert posts == [0]  # a first attempt (not maybe_posted): no look-up
    assert await delivery.deliver(OUT, ["a", "b", "c"], post=post, look_up=found_first) == "m0"
    assert posts == [0, 1, 2]  # the retry in this process remembered piece 0

    async def broken() -> dict[int, str]:
        raise SlackApiError("not json", _TextResponse())

    resumed = Outbound(platform="test", channel_id="C", thread_id="T", text="hi", reply_id=8, maybe_posted=True)
    assert await delivery.deliver(resumed, ["a", "b"], post=post, look_up=found_first) == "old0"
    assert posts == [0, 1, 2, 1]  # piece 0 was in the thread
    assert await delivery.deliver(resumed, ["a"], post=post, look_up=broken) == "m0"


# --- the bounded memory, throttled progress, the task group -----------------------------------------
def test_recent_forgets_the_least_recently_seen_first() -> None:
    recent: Recent[str, int] = Recent(maxsize=2)
    assert recent.first_sight("a", 1) and recent.first_sight("b", 2)
    assert not recent.first_sight("a", 9)  # seen: refreshed, value kept
    recent.put("c", 3)  # "b" was seen least recently
    assert "b" not in recent and recent.get("a") == 1 and recent.get("c") == 3 and len(recent) == 2


async def test_progress_shows_the_first_and_last_report_and_throttles_between() -> None:
    now = [0.0]
    shown: list[str] = []

    async def show(text: str) -> None:
        shown.append(text)

    progress = ThrottledProgress("faq", show, interval_s=1.0, clock=lambda: now[0])
    await progress.report(Progress("fetching", 0, 3))
    await progress.report(Progress("fetching", 1, 3))  # within the second: skipped
    now[0] = 1.5
    await progress.report(Progress("answering", 2, 3, message="x" * 400))
    await progress.report(Progress("answering", 3, 3))  # the last one: shown at once
    await progress.finish(CommandResult(text="done"))
    assert shown[0] == "⏳ /faq: fetching 0/3" and len(shown) == 4
    assert shown[1].endswith("…") and len(shown[1]) < 340
    assert shown[-1] == "✅ /faq: done — the result is below"


async def test_task_group_waits_for_its_work_then_cancels_what_overruns() -> None:
    tasks = TaskGroup("test")
    release = asyncio.Event()
    done: list[str] = []

    async def work(name: str) -> None:
        await release.wait()
        done.append(name)

    tasks.spawn(work("a"), name="a")
    assert not await tasks.idle(timeout=0.01)
    release.set()
    assert await tasks.idle(timeout=5) and done == ["a"]
    stuck = tasks.spawn(asyncio.Event().wait(), name="stuck")
    await tasks.close(grace_s=0.01)
    await asyncio.gather(stuck, return_exceptions=True)
    assert stuck.cancelled() and len(tasks) == 0


# --- the Slack adapter alone, behind the contract -----------------------------------------------
class _NoCommands:
    def get(self, name: str) -> None:
        return None

    def all(self) -> list[Any]:
        return []

    async def run(
        self, name: str, text: str, caller: Caller, *, channel_id: str = "", progress: ProgressFn | None = None
    ) -> CommandResult:
        return CommandResult(text="none", ok=False)


def _handlers() -> Handlers:
    async def on_message(inbound: Inbound) -> Any:
        raise AssertionError("no message expected")

    async def on_staff_message(inbound: Inbound) -> bool:
        return False

    async def on_interaction(interaction: Interaction) -> InteractionReply:
        return InteractionReply()

    return Handlers(
        on_message=on_message,
        on_staff_message=on_staff_message,
        on_interaction=on_interaction,
        is_staff=lambda platform, user, roles: False,
        commands=_NoCommands(),
    )


async def test_slack_adapter_posts_and_updates_a_card_and_links_a_thread() -> None:
    card = Card(
        ref="RMA-1",
        kind="return",
        status="open",
        customer_id="UCUST",
        summary="Aurora lamp flickers",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    async with FakeSlack() as fake:
        slack = SlackAdapter(
            _handlers(), token=BOT_TOKEN, signing_secret=SIGNING_SECRET, api_url=fake.base_url, mode="http"
        )
        ts = await slack.post_card(card, channel_id="CSTAFF", key=3)
        [post] = fake.calls_to("chat.postMessage")
        assert post.args["channel"] == "CSTAFF" and "RMA-1" in post.args["text"] and ts == fake.posted[0]["ts"]
        await slack.update_card(
            Card(**{**card.__dict__, "status": "closed", "closed_reason": "refunded"}),
            channel_id="CSTAFF",
            message_id=ts,
        )
        [update] = fake.calls_to("chat.update")
        assert update.args["ts"] == ts and "closed" in update.args["text"] and "refunded" in update.args["text"]
        link = await slack.permalink("CSUPPORT", "1700000000.000100")
        assert link.endswith("/archives/CSUPPORT/p1700000000000100")
        await slack.notify("case RMA-1 waits", channel_id="CSTAFF", thread_id=ts)
        assert fake.calls_to("chat.postMessage")[-1].args["thread_ts"] == ts
