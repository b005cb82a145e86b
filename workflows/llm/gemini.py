"""Gemini (google-genai) behind the provider-neutral `LLMClient`; with `gemini_answers` (decoding its
answers and errors), the only modules importing google.genai.

One `generate()` call goes through these layers::

    context cache (explicit, once per context key)  →  tenacity retries (429, 5xx, connection errors)
      →  asyncio.Semaphore (calls in flight)  →  RequestBudget (requests per minute)  →  asyncio.timeout
        →  client.aio.models.generate_content

Vendor errors are translated here (`raise … from e`), see `workflows.llm.base` for the hierarchy:
429 after retries → LLMRateLimited, other HTTP or network failures → LLMUnavailable, the per-request
timeout → LLMTimeout, a blocked prompt or answer → LLMBlocked, text that is not the schema's JSON →
LLMBadOutput. Timeouts are not retried: the caller (StepRunner) falls back to the offline engine at
once, so a hung provider costs one `timeout_s`, not `max_attempts` of them.

Explicit context caches are made on the first call that sends a large shared `context` (above
`cache_min_tokens`), referenced by every later call with the same key, and deleted when the work
holding the key ends (`hold_context`, e.g. one FAQ) or at `aclose()`; their TTL is the backstop. When
creation fails the context is sent with each call instead.

The SDK's own retries are switched off (`HttpRetryOptions(attempts=1)`); with no retry options it
would silently retry a refused connection after sleeping 1–10 s.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol, cast
from urllib.parse import urlsplit

from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from pydantic import BaseModel, SecretStr
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from .base import (
    LLMError,
    LLMRateLimited,
    LLMRequest,
    LLMResult,
    LLMTimeout,
    LLMUnavailable,
    RealRequestsBlocked,
    T,
)
from .budget import RequestBudget
from .gemini_answers import describe, is_transient, parse_answer, retry_delay, usage_of

_log = logging.getLogger(__name__)

#: When False, any request to a non-loopback base URL raises RealRequestsBlocked before network I/O.
ALLOW_REAL_REQUESTS: bool = True

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
API_VERSION = "v1beta"
# Explicit caches pay off (and are accepted) only above a model-dependent minimum (1,024–4,096 tokens).
# Below it, the shared context goes first in every call, where implicit caching may still discount it.
# Above it, one cache pays off from the second call that uses it: creating it bills the context once,
# each call then bills the cached part at the cached rate, and storage is billed only while the cache
# lives (its holder deletes it when done, see `hold_context`; the TTL is the backstop).
EXPLICIT_CACHE_MIN_TOKENS = 4096
CACHE_TTL_S = 600
_CACHE_REFRESH_MARGIN_S = 60  # recreate a cache this long before its TTL runs out


def block_real_requests(block: bool = True) -> None:
    """Forbid (or allow again) requests to any non-loopback Gemini endpoint — tests call this."""
    global ALLOW_REAL_REQUESTS
    ALLOW_REAL_REQUESTS = not block


def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class GeminiSettings(Protocol):
    """The fields of `bot.settings.Settings` this client reads (workflows do not import bot)."""

    gemini_api_key: SecretStr | None
    gemini_base_url: str | None
    model: str
    router_model: str
    llm_rpm: int
    llm_concurrency: int
    llm_timeout_s: float


@dataclass
class GeminiStats:
    """Running totals over the client's lifetime."""

    calls: int = 0  # generate() calls
    requests: int = 0  # generateContent requests sent (calls + retries)
    retries: int = 0
    failures: int = 0  # generate() calls that raised an LLMError
    prompt_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    caches_created: int = 0
    cache_tokens: int = 0  # tokens stored by the caches created (each billed once, at creation)
    caches_deleted: int = 0


@dataclass(frozen=True)
class _Cache:
    name: str
    expires_at: float  # event-loop time


class GeminiClient:
    name = "gemini"

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        router_model: str,
        base_url: str | None = None,
        rpm: int = 60,
        rpm_period_s: float = 60.0,
        concurrency: int = 8,
        timeout_s: float = 30,
        max_attempts: int = 4,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 8,
        cache_min_tokens: int | None = EXPLICIT_CACHE_MIN_TOKENS,
    ) -> None:
        self.model = model
        self.router_model = router_model
        self.base_url = base_url or DEFAULT_BASE_URL
        self.rpm = rpm
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.max_attempts = max(1, max_attempts)
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.cache_min_tokens = cache_min_tokens  # None: no explicit context caches
        self.stats = GeminiStats()
        self._loopback = is_loopback_url(self.base_url)
        # attempts=1: retries are ours (with the budget and stats); the SDK must not add hidden ones.
        self._genai = genai.Client(
            api_key=api_key,
            vertexai=False,
            http_options=types.HttpOptions(
                base_url=base_url, api_version=API_VERSION, retry_options=types.HttpRetryOptions(attempts=1)
            ),
        )
        self._limiter = RequestBudget(rpm, rpm_period_s)  # never more than rpm in any window
        self._slots = asyncio.Semaphore(concurrency)
        self._backoff = wait_exponential_jitter(initial=backoff_initial_s, max=backoff_max_s, jitter=backoff_initial_s)
        self._caches: dict[tuple[str, str, str], asyncio.Task[_Cache | None]] = {}
        self._created_caches: dict[str, str] = {}  # cache name → context key, until deleted
        self._holders: Counter[str] = Counter()  # context key → work in progress that uses it

    @classmethod
    def from_settings(cls, settings: GeminiSettings, **overrides: Any) -> GeminiClient:
        if settings.gemini_api_key is None:
            raise LLMUnavailable("Gemini needs GEMINI_API_KEY or GOOGLE_API_KEY")
        kwargs: dict[str, Any] = dict(
            api_key=settings.gemini_api_key.get_secret_value(),
            model=settings.model,
            router_model=settings.router_model,
            base_url=settings.gemini_base_url,
            rpm=settings.llm_rpm,
            concurrency=settings.llm_concurrency,
            timeout_s=settings.llm_timeout_s,
        )
        return cls(**(kwargs | overrides))

    def __repr__(self) -> str:  # never shows the key
        return f"GeminiClient(model={self.model!r}, router_model={self.router_model!r}, base_url={self.base_url!r})"

    # --- LLMClient --------------------------------------------------------------------------
    async def generate(self, request: LLMRequest[T]) -> LLMResult[T]:
        self._check_allowed()
        model = self.router_model if request.role == "router" else self.model
        self.stats.calls += 1
        try:
            cache = await self._context_cache(request, model)
            contents, config = self._build(request, cache)
            response = await self._send_with_retries(request.step, model, contents, config)
            usage = usage_of(response)  # counted even when the answer turns out unusable: it was paid for
            self.stats.prompt_tokens += usage.prompt_tokens
            self.stats.output_tokens += usage.output_tokens
            self.stats.cached_tokens += usage.cached_tokens
            value = parse_answer(request, response)
        except LLMError:
            self.stats.failures += 1
            raise
        _log.debug(
            "step %s: %s answered (prompt %d, output %d, cached %d tokens)",
            request.step,
            model,
            usage.prompt_tokens,
            usage.output_tokens,
            usage.cached_tokens,
        )
        return LLMResult(value=value, usage=usage, model=response.model_version or model)

    async def aclose(self) -> None:
        """Deletes the explicit caches this client created (best effort) and closes the HTTP sessions."""
        for task in self._caches.values():
            task.cancel()
        await asyncio.gather(*self._caches.values(), return_exceptions=True)
        self._caches.clear()
        names, self._created_caches = list(self._created_caches), {}
        for name in names:
            await self._delete_cache(name)
        await self._genai.aio.aclose()
        self._genai.close()

    # --- request building ---------------------------------------------------------------------
    def _build(
        self, request: LLMRequest[Any], cache: _Cache | None
    ) -> tuple[list[types.Content], types.GenerateContentConfig]:
        parts = [types.Part(text=request.prompt)]
        if request.context and cache is None:
            # Shared content first: an identical prefix across the calls of one FAQ is implicitly cached.
            parts.insert(0, types.Part(text=request.context))
        config = types.GenerateContentConfig(
            response_mime_type="application/json",
            response_json_schema=_json_schema(cast("type[BaseModel]", request.schema)),
            # With cached_content the system instruction lives in the cache; sending it too is a 400.
            system_instruction=None if cache else (request.system or None),
            cached_content=cache.name if cache else None,
        )
        return [types.Content(role="user", parts=parts)], config

    # --- explicit context caching -------------------------------------------------------------
    @asynccontextmanager
    async def hold_context(self, context_key: str) -> AsyncIterator[None]:
        """Marks the calls made inside as one piece of work sharing the context `context_key` (one FAQ).

        When the last holder of a key leaves, the explicit caches made for that context are deleted at
        once instead of being billed for storage until their TTL runs out. Holders of the same key
        (two FAQs on the same pages at the same time) share the cache; the last one deletes it.
        """
        self._holders[context_key] += 1
        try:
            yield
        finally:
            self._holders[context_key] -= 1
            if self._holders[context_key] <= 0:
                del self._holders[context_key]
                await self._release(context_key)

    async def _release(self, context_key: str) -> None:
        tasks = [self._caches.pop(k) for k in [k for k in self._caches if k[0] == context_key]]
        await asyncio.gather(*tasks, return_exceptions=True)  # a creation under way finishes and is recorded
        for name in [n for n, key in self._created_caches.items() if key == context_key]:
            del self._created_caches[name]
            await self._delete_cache(name)

    async def _delete_cache(self, name: str) -> None:
        if not (ALLOW_REAL_REQUESTS or self._loopback):
            return
        try:
            async with asyncio.timeout(self.timeout_s):
                await self._genai.aio.caches.delete(name=name)
        except Exception as exc:  # expired or already gone: the TTL cleans up anyway
            _log.debug("could not delete context cache %s: %s", name, type(exc).__name__)
            return
        self.stats.caches_deleted += 1
        _log.debug("context cache %s deleted", name)

    async def _context_cache(self, request: LLMRequest[Any], model: str) -> _Cache | None:
        if not (request.context and request.context_key) or self.cache_min_tokens is None:
            return None
        if (len(request.context) + len(request.system)) // 4 < self.cache_min_tokens:
            return None
        # The cache holds the system instruction and is bound to one model, so both are part of the key.
        key = (request.context_key, model, request.system)
        task = self._caches.get(key)
        if task is not None and task.done():
            cache = None if task.cancelled() else task.result()
            if task.cancelled() or (cache is not None and cache.expires_at <= asyncio.get_running_loop().time()):
                task = None  # about to expire (or never finished): make a fresh one
        if task is None:
            task = asyncio.create_task(self._create_cache(request, model))
            self._caches[key] = task
        # shield: a cancelled caller must not cancel the creation other calls are waiting for
        return await asyncio.shield(task)

    async def _create_cache(self, request: LLMRequest[Any], model: str) -> _Cache | None:
        config = types.CreateCachedContentConfig(
            contents=[types.Content(role="user", parts=[types.Part(text=request.context)])],
            system_instruction=request.system or None,
            ttl=f"{CACHE_TTL_S}s",
            display_name=f"supportbot {request.context_key}"[:128],
        )
        try:
            async with self._slots, self._limiter:
                async with asyncio.timeout(self.timeout_s):
                    cache = await self._genai.aio.caches.create(model=model, config=config)
        except Exception as exc:
            # Too small for this model, not supported, quota…: implicit caching still applies.
            _log.info(
                "context %s: explicit cache not created (%s); sending the context with each call",
                request.context_key,
                describe(exc),
            )
            return None
        if not cache.name:
            return None
        self.stats.caches_created += 1
        usage = cache.usage_metadata
        self.stats.cache_tokens += (
            usage.total_token_count
            if usage and usage.total_token_count
            else (len(request.context or "") + len(request.system)) // 4
        )
        self._created_caches[cache.name] = request.context_key or ""
        _log.debug("context %s: cached as %s", request.context_key, cache.name)
        expires_at = asyncio.get_running_loop().time() + CACHE_TTL_S - _CACHE_REFRESH_MARGIN_S
        return _Cache(cache.name, expires_at)

    # --- sending ------------------------------------------------------------------------------
    async def _send_with_retries(
        self, step: str, model: str, contents: list[types.Content], config: types.GenerateContentConfig
    ) -> types.GenerateContentResponse:
        def log_retry(state: RetryCallState) -> None:
            self.stats.retries += 1
            exc = state.outcome.exception() if state.outcome else None
            delay = state.next_action.sleep if state.next_action else 0.0
            _log.warning(
                "step %s: %s failed (%s); retry %d/%d in %.2fs",
                step,
                model,
                describe(exc),
                state.attempt_number,
                self.max_attempts - 1,
                delay,
            )

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=retry_if_exception(is_transient),
            before_sleep=log_retry,
            reraise=True,
        )
        try:
            return await retrying(self._send_once, model, contents, config)
        except TimeoutError as e:
            raise LLMTimeout(f"{model} did not answer within {self.timeout_s:g}s") from e
        except genai_errors.APIError as e:
            if e.code == 429:
                raise LLMRateLimited(f"{model} rate limited (429 {e.status})", retry_after=retry_delay(e)) from e
            raise LLMUnavailable(f"{model} failed: {e.code} {e.status}: {e.message}") from e
        except LLMError:
            raise
        except Exception as e:  # network errors and anything unexpected: the step falls back, never crashes
            raise LLMUnavailable(f"{model} unreachable: {describe(e)}") from e

    async def _send_once(
        self, model: str, contents: list[types.Content], config: types.GenerateContentConfig
    ) -> types.GenerateContentResponse:
        # Slot before budget: a request leaves as soon as it has its budget token, so tokens cannot
        # pile up behind the semaphore and go out in a burst above the rate.
        async with self._slots, self._limiter:
            self.stats.requests += 1
            async with asyncio.timeout(self.timeout_s):
                return await self._genai.aio.models.generate_content(model=model, contents=contents, config=config)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, genai_errors.APIError) and exc.code == 429:
            hint = retry_delay(exc)
            if hint is not None:  # the server knows when the quota frees up; jitter spreads the herd
                return min(hint + random.uniform(0, self.backoff_initial_s), self.backoff_max_s)
        return self._backoff(state)

    def _check_allowed(self) -> None:
        if not ALLOW_REAL_REQUESTS and not self._loopback:
            raise RealRequestsBlocked(f"real model requests are blocked (base URL {self.base_url})")


@cache
def _json_schema(schema: type[BaseModel]) -> dict[str, Any]:
    """A step's JSON schema, built once per model class (about a millisecond each time otherwise, on the
    critical path of every parallel call; the SDK copies the config, so the dict is never changed)."""
    return schema.model_json_schema()
