"""The simulated model: `FunctionLLM` with a fixed latency per call, answering every step from the
offline engine so each answer is valid and realistic (the pipeline cannot tell it from a model)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from workflows.llm.base import LLMBadOutput, LLMRequest, LLMResult, T
from workflows.llm.scripted import FunctionLLM
from workflows.offline.planner import plan as offline_plan
from workflows.offline.routing import classify
from workflows.orchestrator import PlanAnswer, TaskAnswer
from workflows.router import RouteAnswer
from workflows.synthesizer import ReplyAnswer
from workflows.types import Task

EXAMPLE = (
    "Hi, I'm writing to you because I have a question about invoice #INV-7890. It seems higher than I "
    "expected. Also, I would like to return the 'SuperWidget 5000' I bought because it's not compatible "
    "with my system. Finally, can you give me an update on my order #A-12345?"
)


async def plan_answer(text: str, *, pending: list[Task] | None = None, history: list[str] | None = None) -> PlanAnswer:
    p = await offline_plan(text, pending=pending or [], history=history or [])
    return PlanAnswer(
        routes=p.routes or ["general"], tasks=[TaskAnswer(kind=t.kind, **t.params.model_dump()) for t in p.tasks]
    )


def reply_answer(refs: list[str]) -> ReplyAnswer:
    quoted = ", ".join(f"`{ref}`" for ref in refs)
    return ReplyAnswer(reply=f"All done: {quoted}." if refs else "Thanks for your message! How can I help?")


async def answer_support_step(request: LLMRequest[Any]) -> BaseModel | Exception:
    """The support pipeline's steps (and the router), answered by the offline engine."""
    inputs = request.inputs
    match request.step:
        case "plan":
            return await plan_answer(
                inputs.get("text", ""),
                history=list(inputs.get("history", [])),
                pending=[Task.model_validate(t) for t in inputs.get("pending", [])],
            )
        case "route":
            return RouteAnswer(routes=classify(inputs.get("text", "")))
        case "synthesize":
            return reply_answer(list(inputs.get("refs", [])))
    return LLMBadOutput(f"the simulated model has no answer for step {request.step!r}")


@dataclass(frozen=True)
class Span:
    step: str
    start: float
    end: float


class SimulatedLLM(FunctionLLM):
    """Every call takes `latency_s` from the moment it is made: the answer is computed first and the
    rest of the time is slept, so the offline engine's own CPU time is inside the latency, as a real
    model's is. Records when each call started and ended, to find the calls on the critical path."""

    name = "simulated"

    def __init__(
        self, latency_s: float, *, extra: dict[str, Any] | None = None, concurrency: int | None = None
    ) -> None:
        self._extra = dict(extra or {})
        self.spans: list[Span] = []
        # Like the real client's cap on calls in flight (None: no cap).
        self._slots = asyncio.Semaphore(concurrency) if concurrency else None
        super().__init__(self._respond)
        self.call_latency_s = latency_s

    def _respond(self, request: LLMRequest[Any]) -> Any:
        if request.step in self._extra:
            return self._extra[request.step](request)
        return answer_support_step(request)

    async def generate(self, request: LLMRequest[T]) -> LLMResult[T]:
        if self._slots is None:
            return await self._timed(request)
        async with self._slots:
            return await self._timed(request)

    async def _timed(self, request: LLMRequest[T]) -> LLMResult[T]:
        start = time.perf_counter()
        try:
            result = await super().generate(request)
            await _until(start + self.call_latency_s)
            return result
        finally:
            self.spans.append(Span(request.step, start, time.perf_counter()))

    def reset(self) -> None:
        self.spans.clear()
        self.requests.clear()


async def _until(deadline: float) -> None:
    """Wake at `deadline`, not up to a millisecond after it: asyncio's timers go through epoll's
    millisecond timeouts, while a real answer arriving on a socket wakes the loop at once. The last
    2 ms are yielded away in steps (other tasks keep running)."""
    remaining = deadline - time.perf_counter()
    if remaining > 0.002:
        await asyncio.sleep(remaining - 0.002)
    while time.perf_counter() < deadline:
        await asyncio.sleep(0)


def call_depth(spans: list[Span]) -> int:
    """The most calls that ran one after another (each starting after the previous ended): the
    number of call latencies on the critical path. Greedy by end time finds the longest such chain."""
    depth, last_end = 0, float("-inf")
    for span in sorted(spans, key=lambda s: s.end):
        if span.start >= last_end:
            depth, last_end = depth + 1, span.end
    return depth
