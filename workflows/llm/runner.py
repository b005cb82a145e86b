"""Runs one language step: the model when there is one, else (or when it fails) the offline engine.

Every workflow step calls `StepRunner.run(request, offline)`. A model failure of any kind is logged,
counted, and answered by `offline()` for that step only. A circuit breaker stops a provider outage
from adding retry delays to every message: after `failure_threshold` consecutive failures the model
is skipped for `reset_timeout_s`, then one trial call decides whether it closes again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Generic, Literal

from .. import telemetry
from .base import LLMClient, LLMError, LLMRequest, T

_log = logging.getLogger(__name__)

Source = Literal["llm", "offline"]


@dataclass
class Tally:
    """Counts the model calls made on behalf of one message or one FAQ (shared by concurrent steps)."""

    llm_calls: int = 0
    fallbacks: int = 0
    steps: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StepOutcome(Generic[T]):
    value: T
    source: Source


class CircuitBreaker:
    """Closed → open after N consecutive failures → half-open after a cool-down → closed on success."""

    def __init__(
        self, *, failure_threshold: int = 5, reset_timeout_s: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failure_threshold = failure_threshold
        self.reset_timeout_s = reset_timeout_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> Literal["closed", "open", "half-open"]:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.reset_timeout_s:
            return "half-open"
        return "open"

    def allow(self) -> bool:
        state = self.state
        if state == "closed":
            return True
        if state == "half-open" and not self._trial_in_flight:
            self._trial_in_flight = True
            return True
        return False

    def record_success(self) -> None:
        if self._opened_at is not None:
            _log.info("model circuit closed again")
        self._failures = 0
        self._opened_at = None
        self._trial_in_flight = False

    def record_failure(self) -> None:
        self._failures += 1
        self._trial_in_flight = False
        if self._opened_at is not None or self._failures >= self.failure_threshold:
            if self._opened_at is None:
                _log.warning("model circuit opened after %d consecutive failures", self._failures)
            self._opened_at = self._clock()


class StepRunner:
    """`record_metrics=False` for a one-shot command: it has no /metrics to serve, and recording would
    load prometheus_client for nothing."""

    def __init__(
        self, client: LLMClient | None, *, breaker: CircuitBreaker | None = None, record_metrics: bool = True
    ) -> None:
        self.client = client
        self.breaker = breaker or CircuitBreaker()
        self.record_metrics = record_metrics

    @property
    def uses_model(self) -> bool:
        return self.client is not None

    def hold_context(self, context_key: str) -> AbstractAsyncContextManager[None]:
        """The client's hold on a shared context (`LLMClient.hold_context`); nothing when offline."""
        return self.client.hold_context(context_key) if self.client is not None else nullcontext()

    async def run(
        self,
        request: LLMRequest[T],
        offline: Callable[[], T | Awaitable[T]],
        *,
        tally: Tally | None = None,
        accept: Callable[[T], bool] | None = None,
    ) -> StepOutcome[T]:
        """`accept` rejects a well-formed but unusable answer (e.g. a reply that drops a case reference)."""
        started = time.perf_counter()
        try:
            if self.client is not None:
                reason = "circuit_open"
                if self.breaker.allow():
                    if tally is not None:
                        tally.llm_calls += 1
                        tally.steps.append(request.step)
                    try:
                        result = await self.client.generate(request)
                    except LLMError as exc:
                        self.breaker.record_failure()
                        reason = type(exc).__name__
                        if self.record_metrics:
                            telemetry.LLM_CALLS.labels(request.step, "error").inc()
                            telemetry.ERRORS.labels(request.step).inc()
                        _log.warning(
                            "step %s: model failed (%s: %s); using the offline engine", request.step, reason, exc
                        )
                    else:
                        self.breaker.record_success()
                        if self.record_metrics:
                            telemetry.LLM_CALLS.labels(request.step, "ok").inc()
                            telemetry.TOKENS.labels("prompt").inc(result.usage.prompt_tokens)
                            telemetry.TOKENS.labels("output").inc(result.usage.output_tokens)
                        if accept is None or accept(result.value):
                            return StepOutcome(result.value, "llm")
                        reason = "unusable"
                        _log.warning("step %s: model answer unusable; using the offline engine", request.step)
                if self.record_metrics:
                    telemetry.FALLBACKS.labels(request.step, reason).inc()
                if tally is not None:
                    tally.fallbacks += 1
            value = offline()
            if asyncio.iscoroutine(value):
                value = await value
            return StepOutcome(value, "offline")  # type: ignore[arg-type]
        finally:
            if self.record_metrics:
                telemetry.STEP_LATENCY.labels(request.step).observe(time.perf_counter() - started)
