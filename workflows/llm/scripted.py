"""Offline test models: a function model answering each request, with an optional fixed latency.

Used by tests (scripted answers, injected errors) and by the benchmark (a simulated LLM with a fixed
call latency). Never touches the network.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any

from pydantic import BaseModel

from .base import LLMBadOutput, LLMRequest, LLMResult, T, Usage

Answer = BaseModel | dict[str, Any] | Exception
Responder = Callable[[LLMRequest[Any]], Answer | Awaitable[Answer]]


class FunctionLLM:
    """Calls `responder(request)` for every request; records the requests it saw."""

    name = "function"

    def __init__(self, responder: Responder, *, latency_s: float = 0.0) -> None:
        self._responder = responder
        self.latency_s = latency_s
        self.requests: list[LLMRequest[Any]] = []

    async def generate(self, request: LLMRequest[T]) -> LLMResult[T]:
        self.requests.append(request)
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        answer = self._responder(request)
        if asyncio.iscoroutine(answer) or isinstance(answer, Awaitable):
            answer = await answer
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, request.schema):
            value = answer
        else:
            try:
                data = answer.model_dump() if isinstance(answer, BaseModel) else answer
                value = request.schema.model_validate(data)
            except Exception as exc:  # a scripted answer that does not fit the schema is bad output
                raise LLMBadOutput(f"scripted answer does not fit {request.schema.__name__}") from exc
        return LLMResult(value=value, usage=Usage(prompt_tokens=len(request.prompt) // 4), model=self.name)

    def hold_context(self, context_key: str) -> AbstractAsyncContextManager[None]:
        return nullcontext()  # nothing is cached between calls

    def calls(self, step: str | None = None) -> int:
        return sum(1 for r in self.requests if step is None or r.step == step)

    async def aclose(self) -> None:
        return None


class ScriptedLLM(FunctionLLM):
    """Answers from a per-step script: a list of answers consumed in order, or one answer for every call."""

    name = "scripted"

    def __init__(self, script: dict[str, list[Answer] | Answer], *, latency_s: float = 0.0) -> None:
        self._script = {k: (list(v) if isinstance(v, list) else v) for k, v in script.items()}
        super().__init__(self._next, latency_s=latency_s)

    def _next(self, request: LLMRequest[Any]) -> Answer:
        entry = self._script.get(request.step)
        if entry is None:
            return LLMBadOutput(f"no scripted answer for step {request.step!r}")
        if isinstance(entry, list):
            if not entry:
                return LLMBadOutput(f"script for step {request.step!r} is exhausted")
            return entry.pop(0)
        return entry
