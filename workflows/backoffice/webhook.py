"""The webhook back office: each task is POSTed, signed, to the team's own system.

    POST SUPPORTBOT_BACKOFFICE_URL
    {"kind", "params", "case_ref", "customer": {"platform", "id"}, "conversation": {...}, "idempotency_key"}
    → 2xx {"details": {...}, "message": "optional text for the customer", "needs_staff": false}

The whole call, retries included, has `timeout_s`. Connection errors, 408, 429 and 5xx are retried
with exponential backoff while time is left, with the same idempotency key (and a fresh timestamp and
signature). Any failure — non-2xx, invalid answer, timeout, no connection — makes the task a case
that needs staff, counted in `supportbot_backoffice_failures_total`; the customer is told a person
will follow up. The contract is documented in docs/backoffice.md and docs/backoffice.openapi.yaml.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from .. import telemetry
from ..types import Task
from .answers import InvalidAnswer, parse_answer
from .base import Outcome, TaskContext, needs_staff, task_params
from .signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signature

_log = logging.getLogger(__name__)

NAME = "webhook"
MAX_ANSWER_BYTES = 1_000_000


class _Failed(Exception):
    """One attempt failed; `reason` is the metric label, the message says what happened."""

    reason = "http_status"


class _Retryable(_Failed):
    pass


class _Unreachable(_Retryable):
    reason = "unreachable"


def request_body(task: Task, ctx: TaskContext) -> bytes:
    """The exact bytes that are signed and sent."""
    payload = {
        "kind": task.kind,
        "params": task_params(task),
        "case_ref": ctx.case_ref,
        "customer": {"platform": ctx.platform, "id": ctx.customer_id},
        "conversation": {"id": str(ctx.conversation_id)},
        "idempotency_key": ctx.idempotency_key,
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


class WebhookBackOffice:
    name = NAME

    def __init__(
        self, *, url: str, secret: str, timeout_s: float, attempts: int = 3, clock: Callable[[], float] = time.time
    ) -> None:
        self.url = url
        self._secret = secret
        self.timeout_s = timeout_s
        self.attempts = attempts
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def handle(self, task: Task, ctx: TaskContext) -> Outcome:
        body = request_body(task, ctx)
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.timeout_s):
                answer, details = await self._call(task.kind, body, ctx.idempotency_key)
        except TimeoutError:
            return self._failed(task, ctx, "timeout", f"no answer within {self.timeout_s:g}s")
        except InvalidAnswer as exc:
            return self._failed(task, ctx, "invalid_answer", f"invalid answer ({exc})")
        except _Failed as exc:
            return self._failed(task, ctx, exc.reason, str(exc))
        telemetry.STEP_LATENCY.labels("backoffice").observe(time.monotonic() - started)
        _log.info(
            "case=%s kind=%s back office answered%s",
            ctx.case_ref,
            task.kind,
            " (needs staff)" if answer.needs_staff else "",
        )
        return Outcome(
            details={**task_params(task), **details},
            source=NAME,
            message=answer.message,
            needs_staff=answer.needs_staff,
        )

    def _failed(self, task: Task, ctx: TaskContext, reason: str, what: str) -> Outcome:
        telemetry.BACKOFFICE_FAILURES.labels(task.kind, reason).inc()
        _log.warning(
            "case=%s kind=%s conversation=%s back office failed: %s; the case goes to staff",
            ctx.case_ref,
            task.kind,
            ctx.conversation_id,
            what,
        )
        return needs_staff(task, source=NAME, error=what)

    async def _call(self, kind: str, body: bytes, key: str) -> tuple[Any, dict[str, Any]]:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.attempts),
            reraise=True,
            wait=wait_exponential(multiplier=0.25, max=2.0),
            retry=retry_if_exception_type(_Retryable),
        )
        async for attempt in retrying:
            with attempt:
                raw = await self._post(body, key)
        return parse_answer(kind, raw)

    async def _post(self, body: bytes, key: str) -> bytes:
        if self._session is None:  # made in the running loop, on first use
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        timestamp = str(int(self._clock()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(self._secret, timestamp, body),
            IDEMPOTENCY_HEADER: key,
        }
        try:
            async with self._session.post(self.url, data=body, headers=headers, allow_redirects=False) as resp:
                status = resp.status
                raw = await resp.read()
        except aiohttp.ClientError as exc:  # refused, reset, DNS: the request may not have arrived
            raise _Unreachable(f"unreachable ({type(exc).__name__})") from None
        if status in (408, 429) or status >= 500:
            raise _Retryable(f"HTTP {status}")
        if not 200 <= status < 300:
            raise _Failed(f"HTTP {status}")
        if len(raw) > MAX_ANSWER_BYTES:
            raise InvalidAnswer(f"answer larger than {MAX_ANSWER_BYTES} bytes")
        return raw
