"""Ordering and backpressure in the support service (docs/spec-notes.md, part 2), through the real service and
pipeline with a fake model that is slow (ordering) or blocks on an asyncio.Event (backpressure).

- Messages of one conversation are answered in the order they arrived, one at a time; different
  conversations run in parallel, never more than the global limit at once.
- When every slot is busy a message waits, stored in the durable inbox, and is never dropped; one
  that waits longer than the threshold gets one "you're in the queue" notice in its thread.
- Shutdown: waiting messages are left in the inbox, `drain()` waits for what is in flight without
  polling, and after a restart each message is answered exactly once.
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from typing import Any

from adapters.memory import MemoryPlatform
from adapters.platform import Inbound, Outbound
from bot.queue_notice import QUEUE_NOTICE
from bot.wiring import open_services
from storage import inbox, inbox_claims
from workflows import telemetry
from workflows.llm.base import LLMRequest
from workflows.llm.scripted import FunctionLLM
from workflows.orchestrator import PlanAnswer

_TAG = re.compile(r"conv(\d+) msg(\d+)")


def inbound(conv: int, msg: int, *, text: str = "") -> Inbound:
    return Inbound(
        platform="shell",
        channel_id="local",
        thread_id=f"t{conv}",
        user_id=f"u{conv}",
        text=text or f"conv{conv} msg{msg} how do I change my newsletter settings?",
        message_id=f"m{conv}-{msg}",
    )


class Recorder:
    """A deliverer that records every reply and notice, and wakes waiters when one arrives."""

    def __init__(self) -> None:
        self.posts: list[Outbound] = []
        self._changed = asyncio.Condition()

    async def deliver(self, out: Outbound) -> str:
        self.posts.append(out)
        async with self._changed:
            self._changed.notify_all()
        return f"p{len(self.posts)}"

    async def wait(self, predicate: Any, *, timeout: float = 10) -> None:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(predicate)

    def notices(self) -> list[Outbound]:
        return [p for p in self.posts if p.text == QUEUE_NOTICE]

    def replies(self) -> list[Outbound]:
        return [p for p in self.posts if p.text != QUEUE_NOTICE]


async def test_one_conversation_in_order_different_ones_in_parallel_under_the_limit(make_settings: Any) -> None:
    events: list[tuple[str, int, int]] = []  # ("start" | "end", conversation, message)
    running = {"now": 0, "max": 0}

    async def respond(request: LLMRequest[Any]) -> Any:
        if request.step == "plan":
            conv, msg = map(int, _TAG.search(request.inputs["text"]).groups())  # type: ignore[union-attr]
            events.append(("start", conv, msg))
            running["now"] += 1
            running["max"] = max(running["max"], running["now"])
            await asyncio.sleep(0.03)  # a slow model
            running["now"] -= 1
            events.append(("end", conv, msg))
            return PlanAnswer(routes=["general"], tasks=[])
        return {"reply": "Here is how to change your newsletter settings."}

    recorder = Recorder()
    async with open_services(make_settings(), llm=FunctionLLM(respond), concurrency=3) as services:
        services.add_platform(MemoryPlatform("shell", recorder.deliver))
        # five conversations, three messages each, all arriving at once (interleaved)
        outcomes = await asyncio.gather(*(services.support.handle(inbound(c, m)) for m in range(3) for c in range(5)))
    assert all(o.result is not None for o in outcomes)
    assert len(recorder.replies()) == 15

    by_conv: defaultdict[int, list[tuple[str, int]]] = defaultdict(list)
    for kind, conv, msg in events:
        by_conv[conv].append((kind, msg))
    for conv, seen in by_conv.items():  # in order and one at a time: start 0, end 0, start 1, end 1, …
        assert seen == [("start", 0), ("end", 0), ("start", 1), ("end", 1), ("start", 2), ("end", 2)], conv
    assert running["max"] == 3  # parallel across conversations, never above the global limit
    # replies went out in each thread in the order of its messages
    for conv in range(5):
        thread = [p.in_reply_to for p in recorder.replies() if p.thread_id == f"t{conv}"]
        assert thread == [f"m{conv}-0", f"m{conv}-1", f"m{conv}-2"]


async def test_saturated_messages_wait_in_the_inbox_and_get_one_queue_notice(make_settings: Any) -> None:
    release = asyncio.Event()
    entered = asyncio.Event()

    async def respond(request: LLMRequest[Any]) -> Any:
        if request.step == "plan":
            entered.set()
            await release.wait()  # the only slot is held until the test lets go
            return PlanAnswer(routes=["general"], tasks=[])
        return {"reply": "Thanks, noted."}

    recorder = Recorder()
    notices_before = telemetry.QUEUE_NOTICES._value.get()
    async with open_services(make_settings(), llm=FunctionLLM(respond), concurrency=1) as services:
        support = services.support
        support.queue_notice_s = 0.05  # the default is 5 s; the timer is the service's own, the test waits on events
        services.add_platform(MemoryPlatform("shell", recorder.deliver))
        first = asyncio.create_task(support.handle(inbound(1, 0)))
        await entered.wait()
        waiting = [asyncio.create_task(support.handle(inbound(c, 0))) for c in (2, 3, 4)]
        # each waiting message is told once that it is queued, in its own thread, before any answer
        await recorder.wait(lambda: len(recorder.notices()) == 3)
        assert recorder.replies() == []
        assert sorted(n.thread_id for n in recorder.notices()) == ["t2", "t3", "t4"]
        assert all(n.reply_id < 0 and n.in_reply_to == "" for n in recorder.notices())  # not a stored reply
        async with services.db.session() as s:  # stored, not dropped: all four are unfinished
            assert await inbox.count_unfinished(s) == 4
        assert not first.done() and not any(t.done() for t in waiting)

        release.set()
        outcomes = await asyncio.gather(first, *waiting)
        assert all(o.result is not None for o in outcomes)
        async with services.db.session() as s:
            assert await inbox.count_unfinished(s) == 0
        # the first message never waited for a slot: no notice for it; nobody got two
        assert len(recorder.notices()) == 3 and "t1" not in {n.thread_id for n in recorder.notices()}
        assert sorted(r.thread_id for r in recorder.replies()) == ["t1", "t2", "t3", "t4"]
        async with services.db.session() as s:  # the transcript keeps the notice, between message and reply
            for outcome, notified in zip(outcomes, (False, True, True, True), strict=True):
                message = await inbox.get_message(s, outcome.message_id)
                assert message is not None
                lines = await inbox.transcript(s, message.conversation_id, include_internal=False)
                expected = ["customer", "bot", "bot"] if notified else ["customer", "bot"]
                assert [m.role for m in lines] == expected
                assert (lines[1].text == QUEUE_NOTICE) is notified and lines[-1].reply_to_id == message.id
        # a message processed again later (resume) is not told a second time
        assert await support.resume() == 0
        assert len(recorder.notices()) == 3
    assert telemetry.QUEUE_NOTICES._value.get() - notices_before == 3


async def test_a_short_wait_gets_no_notice(make_settings: Any) -> None:
    recorder = Recorder()
    async with open_services(make_settings(), concurrency=1) as services:  # default threshold: 5 s
        services.add_platform(MemoryPlatform("shell", recorder.deliver))
        outcomes = await asyncio.gather(
            *(services.support.handle(inbound(c, 0, text="where is order A-1?")) for c in range(4))
        )
    assert all(o.result is not None for o in outcomes)
    assert recorder.notices() == [] and len(recorder.replies()) == 4


async def test_shutdown_leaves_waiting_messages_pending_and_a_restart_answers_each_once(make_settings: Any) -> None:
    release = asyncio.Event()
    entered = asyncio.Event()

    async def respond(request: LLMRequest[Any]) -> Any:
        if request.step == "plan":
            entered.set()
            await release.wait()
            return PlanAnswer(routes=["general"], tasks=[])
        return {"reply": "Thanks, noted."}

    settings = make_settings()
    recorder = Recorder()
    async with open_services(settings, llm=FunctionLLM(respond), concurrency=1) as services:
        support = services.support
        services.add_platform(MemoryPlatform("shell", recorder.deliver))
        in_flight = asyncio.create_task(support.handle(inbound(1, 0)))
        await entered.wait()
        queued = [asyncio.create_task(support.handle(inbound(c, 0))) for c in (2, 3)]
        await asyncio.sleep(0)  # let them reach the slot
        support.accepting = False  # what serve() does on SIGTERM
        late = await support.handle(inbound(4, 0))  # arrives during shutdown: stored, not processed
        assert late.deferred and late.result is None
        assert not await support.drain(timeout_s=0.05)  # bounded: the one in flight is still running
        release.set()
        assert await support.drain(timeout_s=5)  # woken as soon as the last one finished (no polling)
        assert (await in_flight).result is not None
        assert all(o.deferred for o in [await t for t in queued])
        async with services.db.session() as s:
            assert await inbox.count_unfinished(s) == 3
    assert [r.thread_id for r in recorder.replies()] == ["t1"]

    async with open_services(settings) as services:  # the next start
        services.add_platform(MemoryPlatform("shell", recorder.deliver))
        assert await services.support.resume() == 3
        assert await services.support.resume() == 0
        async with services.db.session() as s:
            assert await inbox.count_unfinished(s) == 0
    assert sorted(r.thread_id for r in recorder.replies()) == ["t1", "t2", "t3", "t4"]  # each exactly once


async def test_a_long_running_message_keeps_its_claim(make_settings: Any) -> None:
    """A message whose model call outlasts the lease stays claimed while its service renews the lease:
    another process finds nothing to take over, and the customer gets one reply."""
    from datetime import timedelta

    from sqlalchemy import update

    from bot.service import SupportService
    from storage.models import Message, utcnow

    planning, release, plans = asyncio.Event(), asyncio.Event(), []

    async def respond(request: LLMRequest[Any]) -> Any:
        if request.step == "plan":
            plans.append(request)
            planning.set()
            await release.wait()  # a model call longer than the lease
            return PlanAnswer(routes=["general"], tasks=[])
        return {"reply": "Here is how to change your newsletter settings."}

    recorder = Recorder()
    async with open_services(make_settings(), llm=FunctionLLM(respond)) as services:
        services.add_platform(MemoryPlatform("shell", recorder.deliver))
        other = SupportService(services.db, services.workflow, services.platforms, worker_id="other-host:1:x")
        working = asyncio.create_task(services.support.handle(inbound(1, 0)))
        await asyncio.wait_for(planning.wait(), 10)

        async with services.db.write() as s:  # the lease runs out while the model is still thinking
            await s.execute(
                update(Message).where(Message.role == "customer").values(claimed_until=utcnow() - timedelta(seconds=1))
            )
        async with services.db.session() as s:
            assert len(await inbox_claims.unfinished_messages(s)) == 1  # up for grabs without a renewal

        assert await services.support.renew_claims() == 1
        async with services.db.session() as s:
            assert await inbox_claims.unfinished_messages(s) == []
        assert await other.resume() == 0
        assert len(plans) == 1  # the other service did not start on it

        release.set()
        outcome = await asyncio.wait_for(working, 10)
    assert outcome.result is not None
    assert len(recorder.replies()) == 1
